/*
** policy_pomdp.c: TRIM-POMDP as a policy kind (see pomdp.h).
**
** Spec "pomdp:LAMBDA" plans with the default model policy_new was given;
** "pomdp:LAMBDA:FILE" with a calibration file (what `trim calibrate`
** writes).  The model is solved once, when the spec is first parsed.  What
** a problem carries from step to step is its belief: the posterior over
** S0/S1/S2 at this step (for the audit) and c, the probability that the
** accepted prefix is correct, from which the next step's prior follows.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "policy_kinds.h"
#include "pomdp.h"

/* The budget bias's push on the margin between the two actions' values
** (expected reward, in correct answers) at b = 0.5 (policy_bias_push). */
#define BIAS_SCALE 0.1


static int
init_pomdp(policy_t *p, const char *arg, char *err, size_t errlen)
{
    char number[64], *file = NULL, *end;
    pomdp_model_t *m = NULL;
    double lambda;
    int rc = -1;

    if (arg == NULL || *arg == '\0')
        return errf(err, errlen, "needs a cost per strong token (%s)",
                    p->kind->usage);
    const char *colon = strchr(arg, ':');
    size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
    if (n >= sizeof number)
        return errf(err, errlen, "cost per strong token is too long");
    memcpy(number, arg, n);
    number[n] = '\0';
    lambda = strtod(number, &end);
    if (n == 0 || *end != '\0' || !(lambda >= 0 && lambda <= 1))
        return errf(err, errlen,
                    "'%s' is not a cost per strong token in [0,1] "
                    "(%s)",
                    number, p->kind->usage);
    if (colon != NULL)
        file = (char *)colon + 1;
    const pomdp_model_t *model = p->pomdp_default;
    if (file != NULL) {
        m = malloc(sizeof *m);
        if (m == NULL)
            return errf(err, errlen, "out of memory");
        if (pomdp_model_load(file, m, err, errlen) < 0)
            goto done;
        model = m;
    } else if (model == NULL) {
        return errf(err, errlen,
                    "no default model here: give a calibration file (%s)",
                    p->kind->usage);
    }
    p->state = pomdp_solve(model, lambda, err, errlen);
    if (p->state == NULL)
        goto done;
    p->arg = lambda;
    snprintf(p->spec, sizeof p->spec, "pomdp:%g%s%s", lambda, file ? ":" : "",
             file ? file : "");
    rc = 0;
done:
    free(m);
    return rc;
}


static int
decide_pomdp(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    const pomdp_t *solved = p->state;
    const pomdp_model_t *m = pomdp_model(solved);
    double c = 1.0, prior[3], post[3], keep, regen;

    /* belief = [S0, S1, S2 posterior of the last step, c after acting]. */
    if (f->step_index > 0 && f->n_belief >= 4 && f->belief[3] >= 0 &&
        f->belief[3] <= 1)
        c = f->belief[3];
    pomdp_prior(m, c, prior);
    pomdp_update(m, prior, f->score, f->min_prev, post);
    /* The model's draft_weight says how far the draft's tokens price it. */
    pomdp_values(solved, (int)f->step_index, post, f->score, f->min_prev,
                 (double)f->draft_tokens, &keep, &regen);
    out->regenerate = regen - keep + policy_bias_push(f->bias, BIAS_SCALE) > 0;
    out->prob = 1.0f;
    for (int s = 0; s < 3; s++)
        out->belief[s] = (float)post[s];
    out->belief[3] = (float)pomdp_after(m, post, out->regenerate);
    out->n_belief = 4;
    snprintf(out->reason, sizeof out->reason,
             "belief S0 %.3f S1 %.3f S2 %.3f; value keep %.4f, regenerate "
             "%.4f",
             post[0], post[1], post[2], keep, regen);
    return 0;
}


static void
destroy_pomdp(void *state)
{
    pomdp_t *p = state;
    pomdp_destroy(&p);
}


const policy_kind_t policy_kind_pomdp = {
    "pomdp",
    POLICY_ROUTED,
    "pomdp:LAMBDA or pomdp:LAMBDA:CALIBRATION_FILE, LAMBDA >= 0 the cost of "
    "one strong token against one correct answer",
    init_pomdp,
    decide_pomdp,
    destroy_pomdp};
