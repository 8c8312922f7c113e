/*
** policy_agg.c: TRIM-Agg, a learned policy over aggregated features
** ("agg:FILE"; the model and its file: agg.h).
**
** Greedy by default: regenerate when p(regenerate) > 0.5.  In exploring
** runs the action is drawn with that probability from the step's own seed,
** so a training run is reproducible and any router decides alike.  The
** budget controller's bias moves the logit difference (agg.h), so a larger
** bias never regenerates less.  out->prob is the
** probability of the action taken under the (biased) distribution: what
** the audit records and the trainer's importance ratio needs.
*/
#include <math.h>
#include <stdio.h>

#include "agg.h"
#include "errf.h"
#include "hash.h"
#include "policy_kinds.h"

#define AGG_SEED_TAG 0x6167672d65787000ULL /* "agg-exp" */


static int
init_agg(policy_t *p, const char *arg, char *err, size_t errlen)
{
    agg_model_t *m;

    if (arg == NULL || *arg == '\0')
        return errf(err, errlen, "needs a policy file after the colon (%s)",
                    p->kind->usage);
    if (agg_model_load(arg, &m, err, errlen) < 0)
        return -1;
    p->state = m;
    p->arg = m->lambda;
    snprintf(p->spec, sizeof p->spec, "agg:%s", arg);
    return 0;
}


static int
decide_agg(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    const agg_model_t *m = p->state;
    float x[AGG_FEATURES];
    double prob;

    agg_features(f, x);
    for (int i = 0; i < AGG_FEATURES; i++)
        if (!isfinite(x[i]))
            return errf(out->reason, sizeof out->reason,
                        "agg: feature %d is not a finite number", i);
    if (!isfinite(f->bias))
        return errf(out->reason, sizeof out->reason, "agg: bias is not finite");
    prob = agg_prob(agg_logit(m, x), f->bias);
    if (f->explore) {
        rng_t rng = rng_seeded(hash_combine(f->seed, AGG_SEED_TAG));
        out->regenerate = rng_uniform(&rng) < prob;
    } else {
        out->regenerate = prob > 0.5;
    }
    out->prob = (float)(out->regenerate ? prob : 1.0 - prob);
    snprintf(out->reason, sizeof out->reason,
             "agg p(regenerate)=%.3f (lambda %g)%s", prob, m->lambda,
             f->explore ? " sampled" : "");
    return 0;
}


static void
destroy_agg(void *state)
{
    agg_model_t *m = state;

    agg_model_destroy(&m);
}


const policy_kind_t policy_kind_agg = {
    "agg",    POLICY_ROUTED, "agg:FILE, a policy file from trim train agg",
    init_agg, decide_agg,    destroy_agg};
