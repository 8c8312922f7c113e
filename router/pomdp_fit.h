/*
** pomdp_fit.h: fitting TRIM-POMDP's model (pomdp.h) from data.
**
** Every way `trim calibrate` fits comes down to the same counts: scored
** drafts per hidden state, the outcomes of weak and strong steps by the
** state of the prefix they were written on, solution lengths and strong
** tokens.  Labelled data (the simulator's hidden states, ProcessBench's
** first-error labels) give whole counts; a store with final answers only
** gives expected counts from an EM fit over the hidden states
** (pomdp_em_fit).  pomdp_counts_json turns counts into a calibration file
** that pomdp_model_load reads.
*/
#ifndef TRIM_POMDP_FIT_H
#define TRIM_POMDP_FIT_H

#include <jansson.h>
#include <stddef.h>

#include "pomdp.h"

typedef struct pomdp_counts {
    /* Scored drafts: [state][min previous score bin][score bin]. */
    double grid[3][POMDP_BINS][POMDP_BINS];
    double weak_ok, weak_bad;          /* weak steps after a correct prefix: S0,
                                          not S0 */
    double strong_ok, strong_bad;      /* strong steps after a correct prefix */
    double repaired, derailed;         /* strong steps after a derailed prefix:
                                          back in S0, all of them */
    long lengths[POMDP_MAX_STEPS + 1]; /* solutions by step count */
    double strong_tokens;              /* over strong_steps strong steps */
    long strong_steps;
    long problems;
} pomdp_counts_t;

/* How a fit labelled its steps; "oracle" marks the simulator's hidden
** states, labels no deployment has. */
typedef struct pomdp_fit_info {
    const char *method;        /* "oracle", "processbench", "em", ... */
    const char *about;         /* one sentence for the file's "about" */
    double strong_tokens_step; /* strong tokens per step when no strong
                                  step was counted (0: the release's) */
} pomdp_fit_info_t;

/*
** The counts as a calibration file's JSON (the layout of
** data/calibration/qwen2.5-math-prm-7b.json, plus "fit": {method, oracle}).
** Half a count in every grid cell keeps unseen bins possible.  Without
** strong steps after a correct prefix the strong accuracy is the release's
** 0.9704.  Returns a new reference, or NULL when out of memory.
*/
json_t *pomdp_counts_json(const pomdp_counts_t *c,
                          const pomdp_fit_info_t *info);

/* The count of scored drafts in c (the sum of its grid). */
double pomdp_counts_scored(const pomdp_counts_t *c);

/*
** One step of a recorded solution for the EM fit: the draft's score with
** the minimum score of the accepted steps before it (NAN when there was no
** draft or it was not scored), whether a strong step replaced it, and the
** strong step's score and minimum previous score (NAN when not scored).
*/
typedef struct pomdp_em_step {
    float draft, draft_min;
    float strong, strong_min;
    int has_draft;
    int regenerated;
} pomdp_em_step_t;

typedef struct pomdp_em pomdp_em_t;

/* An empty data set for the EM fit, or NULL when out of memory. */
pomdp_em_t *pomdp_em_new(void);

/* Free it and clear the pointer; NULL-safe. */
void pomdp_em_destroy(pomdp_em_t **e);

/*
** Add one finished solution: its n steps in order (copied) and whether the
** final answer was correct.  Returns 0, or -1 when out of memory.
*/
int pomdp_em_add(pomdp_em_t *e, const pomdp_em_step_t *steps, size_t n,
                 int correct);

/*
** Fit the hidden states by EM (Baum-Welch): the prefix before each step is
** correct or derailed; a draft on a correct prefix is S0 with p_weak and S2
** otherwise, on a derailed one S1; a strong step on a correct prefix is S0
** with p_strong, on a derailed one S0 (repaired) with repair; each scored
** step's score bin is drawn from its state's distribution given its
** minimum previous score bin; the final answer is correct with probability
** 1 - POMDP_EM_SLIP on a correct prefix and POMDP_EM_SLIP on a derailed
** one.  Starts from scores rising in S0 and falling in S1/S2, runs until
** the log-likelihood gains less than 1e-6 per solution or max_iter
** iterations, and adds the expected counts of the last E-step to out's
** grid and step counts.  *iterations and *loglik (either may be NULL)
** receive how it ended.  Returns 0, or -1 with err (no data).
*/
#define POMDP_EM_SLIP 0.01
int pomdp_em_fit(const pomdp_em_t *e, int max_iter, pomdp_counts_t *out,
                 int *iterations, double *loglik, char *err, size_t errlen);

#endif
