/*
** pomdp.h: TRIM-POMDP, routing as a partially observed decision process.
**
** Hidden state of the draft under decision:
**   S0  the solution so far and this draft are correct
**   S1  an earlier step was wrong (derailed; regenerating this one does not
**       help unless the strong model repairs the derailment)
**   S2  this draft is the first wrong step (regenerating it can fix it)
** Actions: keep the draft, or regenerate the step with the strong model at
** a cost of lambda x (the strong step's tokens).  The steps after the one
** being decided, whose drafts are not yet seen, are priced at the mean
** strong step; the step being decided at the mean moved draft_weight of
** the way to its draft's token count.  draft_weight 1 is the release's
** pricing (its action table is keyed by the draft's token count and its
** solver prices every later step at 60 tokens: get_pomdp_policy.py); the
** release calibration file says so, other models default to 0, the mean
** (on the simulator a strong step's length hardly follows its draft's, and
** pricing by the draft costs the built-in model dIBC 4.76 -> 3.39 in `trim
** eval`).  The solution ends
** after step t with the measured hazard h[t]; the reward is 1 if it ends
** correct.  The PRM's score of each draft is the observation, with
** per-state likelihoods measured for Qwen2.5-Math-PRM-7B.
**
** After the action, the future depends on the past only through c, the
** probability that the accepted prefix is correct (the next draft is S0
** with probability c·p_weak, S2 with c·(1 - p_weak), S1 with 1 - c), and
** i, the bin of the minimum score of the accepted steps, which the PRM
** likelihoods are conditioned on.  So the belief DP collapses to one value
** function per step over (c, i), c in [0,1]:
**
**   W_t(c,i) = h_t c + (1 - h_t) sum_j P(j | c, i) V_{t+1}(b', i, j)
**   V_t(b,i,j) = max( W_t(b0, min(i,j)),
**                     -lambda T_s + E_j'[ W_t(p_strong (b0 + b2) + rho b1,
**                                          min(i,j')) ] )
**
** with b' the posterior of prior(c) after score bin j given i, and j' the
** strong step's own score bin (drawn from its state's likelihood given i;
** the PRM scores it in the next draft's history).  Solved backwards from
** the step limit on a fine grid of c with exact expectations over the
** bins.  T_s is the mean strong step inside the recursion and the priced
** one above at the step being decided (pomdp_values): the cost is paid
** now and W_t does not depend on it, so the decision stays exact for this
** pricing; only the constant on the regenerate branch moves.
** At run time a Bayes filter carries the belief from step to step:
** the prior predicted from the previous step's action, updated with the
** draft's score through its likelihood given the minimum previous score,
** the same likelihoods the planner used.
*/
#ifndef TRIM_POMDP_H
#define TRIM_POMDP_H

#include <stddef.h>

#define POMDP_BINS      20 /* score bins of width 0.05 */
#define POMDP_MAX_STEPS 64

typedef enum { POMDP_S0 = 0, POMDP_S1 = 1, POMDP_S2 = 2 } pomdp_state_t;

/* The measured world the policy plans in. */
typedef struct pomdp_model {
    double p_weak;        /* next-step accuracy of the weak model */
    double p_strong;      /* ... of the strong model */
    double repair;        /* P(a strong step on a derailed prefix is right:
                             it repairs the solution) */
    double strong_tokens; /* expected strong tokens per regenerated step */
    double draft_weight;  /* pricing of the step being decided: its expected
                             strong tokens are strong_tokens + draft_weight x
                             (draft tokens - strong_tokens); 1 prices it by
                             the draft's count as the release does, 0 at the
                             mean (the file's regeneration_price) */
    int max_steps;        /* step limit: the solution ends by then */
    double hazard[POMDP_MAX_STEPS]; /* P(ends after step t+1 | reached it) */
    /* P(current score in bin j | min previous score in bin i, state s). */
    double cond[3][POMDP_BINS][POMDP_BINS];
    /* P(current score in bin j | state s), over the min previous score
    ** (a summary: planning and acting both use cond). */
    double marg[3][POMDP_BINS];
    int oracle; /* fitted on the simulator's hidden states (the file's
                   "fit": {"oracle": true}), labels no deployment has */
} pomdp_model_t;

typedef struct pomdp pomdp_t;

/*
** The TRIM release's measured world around the PRM likelihoods cond
** (cond[s][i][j] = P(score bin j | min previous bin i, state s)): the
** accuracies (0.866 weak, 0.9704 strong), the solution-length hazard, the
** strong tokens per step and each state's distribution of the minimum
** previous score.  `pomdp:LAMBDA` without a file plans in this world with
** the simulator's embedded PRM fit as cond (cli/pomdp_default.c).  Returns
** 0, or -1 with err.
*/
int pomdp_model_release(pomdp_model_t *m,
                        const double cond[3][POMDP_BINS][POMDP_BINS], char *err,
                        size_t errlen);

/*
** Load a model from a calibration file in the format of
** data/calibration/qwen2.5-math-prm-7b.json (what `trim
** calibrate` writes).  Returns 0, or -1 with a reason naming the file and
** the field.
*/
int pomdp_model_load(const char *path, pomdp_model_t *m, char *err,
                     size_t errlen);

/* Check a model (probabilities in range, rows summing to 1).  0 or -1. */
int pomdp_model_check(const pomdp_model_t *m, char *err, size_t errlen);

/*
** Solve the model for cost lambda per strong token.  Returns the solution
** (free with pomdp_destroy) or NULL with err.
*/
pomdp_t *pomdp_solve(const pomdp_model_t *m, double lambda, char *err,
                     size_t errlen);

/* Free a solution and clear the pointer; NULL-safe. */
void pomdp_destroy(pomdp_t **p);

/* The model a solution was made from. */
const pomdp_model_t *pomdp_model(const pomdp_t *p);

/*
** The prior over the next draft's state when the accepted prefix is correct
** with probability c (1 before the first step): S0 c·p_weak, S1 1 - c,
** S2 c·(1 - p_weak).  c is all a router carries from one step to the next.
*/
void pomdp_prior(const pomdp_model_t *m, double c, double out[3]);

/*
** Bayes update of prior with the draft's score: posterior (out) proportional
** to prior(s) x P(score bin | min previous bin, s).  A prior that the score
** rules out entirely falls back to the prior itself.
*/
void pomdp_update(const pomdp_model_t *m, const double prior[3], double score,
                  double min_prev, double out[3]);

/* Probability the accepted prefix is correct after acting on belief b. */
double pomdp_after(const pomdp_model_t *m, const double b[3], int regenerate);

/*
** The values of keeping and regenerating at step step_index for posterior
** b of a draft that scored score against the minimum previous score
** min_prev (expected reward minus lambda-weighted strong tokens, to the
** end).  draft_tokens, the draft's token count, prices this regeneration
** through the model's draft_weight; <= 0 prices it at the mean strong
** step.  Later steps are priced at the mean either way.
*/
void pomdp_values(const pomdp_t *p, int step_index, const double b[3],
                  double score, double min_prev, double draft_tokens,
                  double *keep, double *regenerate);

/* The bin of a score in [0,1] (1 falls in the last bin). */
int pomdp_bin(double score);

#endif
