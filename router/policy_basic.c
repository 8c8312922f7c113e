/*
** policy_basic.c: the anchors (weak, strong), the random floor and TRIM-Thr.
*/
#include <stdio.h>

#include "hash.h"
#include "policy_kinds.h"


static int
decide_weak(double arg, const route_features_t *f, route_result_t *out)
{
    (void)arg;
    (void)f;
    out->regenerate = 0;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason, "weak-only: always keep");
    return 0;
}


static int
decide_strong(double arg, const route_features_t *f, route_result_t *out)
{
    (void)arg;
    (void)f;
    out->regenerate = 1;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason, "strong-only: always strong");
    return 0;
}


/* Regenerate with probability arg, drawn from the step's own seed. */
static int
decide_random(double arg, const route_features_t *f, route_result_t *out)
{
    rng_t rng = rng_seeded(hash_combine(f->seed, 0x72616e646f6dULL));
    double u = rng_uniform(&rng);

    out->regenerate = u < arg;
    out->prob = (float)(out->regenerate ? arg : 1.0 - arg);
    snprintf(out->reason, sizeof out->reason, "coin %.3f %s %g", u,
             out->regenerate ? "<" : ">=", arg);
    return 0;
}


/* TRIM-Thr: regenerate when the draft's PRM score is below the threshold. */
static int
decide_thr(double arg, const route_features_t *f, route_result_t *out)
{
    out->regenerate = (double)f->score < arg;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason, "score %.3f %s %g",
             (double)f->score, out->regenerate ? "<" : ">=", arg);
    return 0;
}


const policy_kind_t policy_kind_weak = {"weak", POLICY_WEAK_ONLY, 0,          0,
                                        0,      "weak",           decide_weak};
const policy_kind_t policy_kind_strong = {"strong", POLICY_STRONG_ONLY, 0, 0, 0,
                                          "strong", decide_strong};
const policy_kind_t policy_kind_random = {"random",     POLICY_ROUTED, 1, 0, 1,
                                          "random:0.2", decide_random};
const policy_kind_t policy_kind_thr = {"thr", POLICY_ROUTED, 1,         0,
                                       1,     "thr:0.5",     decide_thr};
