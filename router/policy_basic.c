/*
** policy_basic.c: the anchors (weak, strong), the random floor and TRIM-Thr.
*/
#include <stdio.h>

#include "hash.h"
#include "policy_kinds.h"


static int
decide_weak(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    (void)p;
    (void)f;
    out->regenerate = 0;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason, "weak-only: always keep");
    return 0;
}


static int
decide_strong(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    (void)p;
    (void)f;
    out->regenerate = 1;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason, "strong-only: always strong");
    return 0;
}


/*
** Regenerate with probability arg (plus the budget controller's bias),
** drawn from the step's own seed.
*/
static int
decide_random(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    rng_t rng = rng_seeded(hash_combine(f->seed, 0x72616e646f6dULL));
    double u = rng_uniform(&rng);
    double arg = p->arg + f->bias;

    arg = arg < 0 ? 0 : arg > 1 ? 1 : arg;
    out->regenerate = u < arg;
    out->prob = (float)(out->regenerate ? arg : 1.0 - arg);
    snprintf(out->reason, sizeof out->reason, "coin %.3f %s %g", u,
             out->regenerate ? "<" : ">=", arg);
    return 0;
}


/*
** TRIM-Thr: regenerate when the draft's PRM score is below the threshold
** (moved by the budget controller's bias).
*/
static int
decide_thr(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    double arg = p->arg + f->bias;

    out->regenerate = (double)f->score < arg;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason, "score %.3f %s %g",
             (double)f->score, out->regenerate ? "<" : ">=", arg);
    return 0;
}


/*
** Query-level baseline: regenerate the whole solution when its score (the
** minimum over its steps) is below the threshold.
*/
static int
decide_cascade(const policy_t *p, const route_features_t *f,
               route_result_t *out)
{
    double arg = p->arg + f->bias;

    out->regenerate = (double)f->score < arg;
    out->prob = 1.0f;
    snprintf(out->reason, sizeof out->reason,
             "cascade: solution score %.3f %s %g", (double)f->score,
             out->regenerate ? "<" : ">=", arg);
    return 0;
}


static int
init_unit(policy_t *p, const char *arg, char *err, size_t errlen)
{
    return policy_number_arg(p, arg, 0, 1, err, errlen);
}


const policy_kind_t policy_kind_weak = {"weak",        POLICY_WEAK_ONLY, "weak",
                                        policy_no_arg, decide_weak,      NULL};
const policy_kind_t policy_kind_strong = {
    "strong", POLICY_STRONG_ONLY, "strong", policy_no_arg, decide_strong, NULL};
const policy_kind_t policy_kind_random = {
    "random",  POLICY_ROUTED, "random:P, P in [0,1]",
    init_unit, decide_random, NULL};
const policy_kind_t policy_kind_cascade = {
    "cascade", POLICY_CASCADE, "cascade:K, K in [0,1]",
    init_unit, decide_cascade, NULL};
const policy_kind_t policy_kind_thr = {
    "thr", POLICY_ROUTED, "thr:K, K in [0,1]", init_unit, decide_thr, NULL};
