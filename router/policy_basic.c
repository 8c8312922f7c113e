/*
** policy_basic.c: the anchors (weak, strong), the random floor and TRIM-Thr.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
** "%.3f" of a score in [0, 1] into out, as snprintf writes it.  Returns 0,
** or -1 for any other value (negative zero, out of range, NaN), left to
** snprintf.  score x 1000 is exact in a double (a float's 24 bits times 10
** bits fit in 53), so rounding it to nearest, ties to even, is snprintf's
** rounding of the exact value: the same digits for every float in [0, 1]
** (checked one by one).  snprintf's float formatting was most of the
** router's time a decision.
*/
static int
score3(float score, char out[6])
{
    uint64_t q;

    if (!(score >= 0.0f && score <= 1.0f) || signbit(score))
        return -1;
    q = (uint64_t)nearbyint((double)score * 1000.0);
    out[0] = (char)('0' + q / 1000);
    out[1] = '.';
    out[2] = (char)('0' + q / 100 % 10);
    out[3] = (char)('0' + q / 10 % 10);
    out[4] = (char)('0' + q % 10);
    out[5] = '\0';
    return 0;
}


/*
** TRIM-Thr: regenerate when the draft's PRM score is below the threshold
** (moved by the budget controller's bias).  The reason is
** "score %.3f %s %g", put together by hand when the score is in [0, 1] and
** the threshold is the spec's (its "%g" kept by policy_number_arg).
*/
static int
decide_thr(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    double arg = p->arg + f->bias;
    char s3[6];

    out->regenerate = (double)f->score < arg;
    out->prob = 1.0f;
    if (memcmp(&arg, &p->arg_shown, sizeof arg) == 0 &&
        score3(f->score, s3) == 0) {
        const char *op = out->regenerate ? " < " : " >= ";
        size_t no = strlen(op), ng = strlen(p->arg_g);
        char *o = out->reason;
        /* "score " 6 + 5 + " >= " 4 + "%g" < 32: fits in the 128 bytes */
        memcpy(o, "score ", 6);
        memcpy(o + 6, s3, 5);
        memcpy(o + 11, op, no);
        memcpy(o + 11 + no, p->arg_g, ng + 1);
        return 0;
    }
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
