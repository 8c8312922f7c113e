/*
** policy.c: parsing specs and dispatching to the policy kinds (policy.h).
**
** Each kind is a row in a table: a name, a parser for its argument and a
** decide function.  Adding a policy means one row and one file.
*/
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "policy_kinds.h"

static const policy_kind_t *const kinds[] = {
    &policy_kind_weak, &policy_kind_strong, &policy_kind_random,
    &policy_kind_thr,  &policy_kind_pomdp,  &policy_kind_cascade,
    &policy_kind_agg,  &policy_kind_seq,
};


int
policy_number_arg(policy_t *p, const char *arg, double lo, double hi, char *err,
                  size_t errlen)
{
    char *end;
    double v;

    if (arg == NULL || *arg == '\0')
        goto bad;
    v = strtod(arg, &end);
    if (*end != '\0' || !isfinite(v) || v < lo || v > hi)
        goto bad;
    p->arg = v;
    p->arg_shown = v + 0.0; /* the threshold while the bias is 0 */
    snprintf(p->arg_g, sizeof p->arg_g, "%g", p->arg_shown);
    snprintf(p->spec, sizeof p->spec, "%s:%g", p->kind->name, v);
    return 0;
bad:
    return errf(err, errlen, "needs a number in [%g, %g] after the colon (%s)",
                lo, hi, p->kind->usage);
}


int
policy_no_arg(policy_t *p, const char *arg, char *err, size_t errlen)
{
    if (arg != NULL)
        return errf(err, errlen, "takes no argument");
    snprintf(p->spec, sizeof p->spec, "%s", p->kind->name);
    return 0;
}


policy_t *
policy_new(const char *spec, const pomdp_model_t *pomdp_default, char *err,
           size_t errlen)
{
    const char *colon;
    size_t namelen;
    char why[POLICY_SPEC_MAX + 128];

    if (spec == NULL || *spec == '\0') {
        errf(err, errlen, "empty policy spec");
        return NULL;
    }
    if (strlen(spec) >= POLICY_SPEC_MAX) {
        errf(err, errlen, "policy spec longer than %d bytes",
             POLICY_SPEC_MAX - 1);
        return NULL;
    }
    colon = strchr(spec, ':');
    namelen = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const policy_kind_t *k = kinds[i];
        if (strlen(k->name) != namelen || strncmp(spec, k->name, namelen))
            continue;
        policy_t *p = calloc(1, sizeof *p);
        if (p == NULL) {
            errf(err, errlen, "out of memory");
            return NULL;
        }
        p->kind = k;
        p->shape = k->shape;
        p->pomdp_default = pomdp_default;
        int rc = k->init(p, colon ? colon + 1 : NULL, why, sizeof why);
        p->pomdp_default = NULL; /* the caller's, not kept */
        if (rc < 0) {
            errf(err, errlen, "policy '%s': %s", spec, why);
            policy_destroy(&p);
            return NULL;
        }
        return p;
    }
    errf(err, errlen, "unknown policy '%s' (known: %s)", spec,
         "weak, strong, random:P, thr:K, pomdp:LAMBDA, cascade:K, "
         "agg:FILE, seq:FILE");
    return NULL;
}


int
policy_check_spec(const char *spec, char *err, size_t errlen)
{
    const char *colon = spec ? strchr(spec, ':') : NULL;

    /* agg:, seq: and pomdp:FILE name files on the host that loads them;
    ** pomdp:LAMBDA needs a model only to plan, not to be parsed. */
    if (colon && colon[1] != '\0' && strlen(spec) < POLICY_SPEC_MAX &&
        (strncmp(spec, "agg:", 4) == 0 || strncmp(spec, "pomdp:", 6) == 0 ||
         strncmp(spec, "seq:", 4) == 0))
        return 0;
    policy_t *p = policy_new(spec, NULL, err, errlen);
    if (p == NULL)
        return -1;
    policy_destroy(&p);
    return 0;
}


void
policy_destroy(policy_t **pp)
{
    if (pp && *pp) {
        policy_t *p = *pp;
        if (p->state && p->kind->destroy_state)
            p->kind->destroy_state(p->state);
        free(p);
        *pp = NULL;
    }
}


const char *
policy_spec(const policy_t *p)
{
    return p->spec;
}


policy_shape_t
policy_shape(const policy_t *p)
{
    return p->shape;
}


int
policy_decide(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    out->n_belief = 0;
    out->reason[0] = '\0';
    if (p->shape == POLICY_ROUTED && !(f->score >= 0.0f && f->score <= 1.0f))
        return errf(out->reason, sizeof out->reason, "score %g is not in [0,1]",
                    (double)f->score);
    return p->kind->decide(p, f, out);
}


double
policy_bias_push(float bias, double scale)
{
    double m = fabs((double)bias);

    if (m >= 1)
        return bias > 0 ? HUGE_VAL : -HUGE_VAL;
    return scale * (double)bias / (1 - m);
}
