/*
** policy.h: routing policies.
**
** A policy sees the features of one draft step and answers keep or
** regenerate, with an explanation that goes into the audit: the figure it
** compared, the probability of the action it took, and any state (belief)
** it carries to the problem's next step.  Policies are pure functions of
** their features: randomness comes from the per-step seed, so a decision is
** the same on any router process.
**
** Specs: "weak", "strong", "random:P", "thr:K", "pomdp:L", "cascade:K",
** "agg:FILE", "seq:FILE".
*/
#ifndef TRIM_POLICY_H
#define TRIM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "pomdp.h"

#define POLICY_MAX_BELIEF 16 /* TRIM_MAX_BELIEF, what a message carries */
#define POLICY_REASON_MAX 128

/* How the coordinator runs a problem under a policy. */
typedef enum {
    POLICY_ROUTED = 0,      /* draft, score, ask the router, maybe regenerate */
    POLICY_WEAK_ONLY = 1,   /* draft and keep; no PRM, no router */
    POLICY_STRONG_ONLY = 2, /* strong model writes every step; no drafts */
    POLICY_CASCADE = 3      /* weak solves it all; the PRM scores the whole
                               solution; the router may send the problem to
                               the strong model to solve again */
} policy_shape_t;

typedef struct route_features {
    float score;     /* PRM score of the draft, in [0,1] */
    float min_prev;  /* min score over accepted steps (1 at step 0) */
    float prod_prev; /* product of those scores (1 at step 0) */
    uint32_t draft_tokens;
    uint32_t step_index; /* 0-based */
    const float *belief; /* state from the previous step, may be NULL */
    size_t n_belief;
    uint64_t seed; /* per-step seed for stochastic policies */
    float bias;    /* the budget controller's push: > 0 means regenerate
                      more, < 0 less; 0 without a controller */
    int explore;   /* sample the action from the policy's distribution
                      instead of taking the likelier one (learned policies,
                      in training runs) */
} route_features_t;

typedef struct route_result {
    int regenerate; /* 1 regenerate, 0 keep */
    float prob;     /* probability of the action taken */
    float belief[POLICY_MAX_BELIEF];
    size_t n_belief;
    char reason[POLICY_REASON_MAX];
} route_result_t;

typedef struct policy policy_t;

/*
** Parse a spec into a policy.  pomdp_default is the model "pomdp:LAMBDA"
** (no calibration file) plans in, borrowed for the call; NULL refuses such
** a spec.  Returns NULL with a reason in err naming the spec and what is
** wrong with it.
*/
policy_t *policy_new(const char *spec, const pomdp_model_t *pomdp_default,
                     char *err, size_t errlen);

/*
** Check spec's syntax without loading anything: the kind and its numbers;
** agg:FILE and pomdp:FILE|LAMBDA only need an argument (their files may
** live on another host).  For a usage check before a spec is sent.  0, or
** -1 with err as policy_new's.
*/
int policy_check_spec(const char *spec, char *err, size_t errlen);

/* Free a policy and clear the pointer; NULL-safe. */
void policy_destroy(policy_t **p);

/* The canonical spec ("thr:0.5"); owned by the policy. */
const char *policy_spec(const policy_t *p);

/* How problems run under this policy. */
policy_shape_t policy_shape(const policy_t *p);

/*
** Decide one draft.  Fills *out; returns 0, or -1 with a reason in
** out->reason when the features cannot be decided on (a NaN score, say).
*/
int policy_decide(const policy_t *p, const route_features_t *f,
                  route_result_t *out);

/*
** How far a budget bias b in [-1, 1] (route_features_t.bias) moves a
** learned policy's decision margin, in the margin's units per scale:
** scale x b / (1 - |b|).  Near 0 it nudges gently, so a small debt sends the
** strong model to the next-best drafts rather than to whichever come along;
** towards +-1 it grows without bound (+-HUGE_VAL at +-1), so a saturated
** controller can force either action.  Monotone in b.
*/
double policy_bias_push(float bias, double scale);

#endif
