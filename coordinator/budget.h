/*
** budget.h: holding a run's strong-token share at a target.
**
** The controller keeps the run's token debt: target x (all generated tokens)
** - strong tokens.  Positive debt means the run is under its target and
** should regenerate more; the bias it hands the policy (thr moves its
** threshold by it, random its probability, learned policies their
** decision's margin) is the debt over a fixed scale (budget.c says why
** 10,000 tokens), clamped to [-1, 1].  Because the bias follows the
** accumulated error, the cumulative share converges on the target whatever
** the policy's own rate, the way an integral controller removes steady
** error; the scale sets how hard it pushes per token of debt.
**
** Everything is plain arithmetic on the caller's struct: the coordinator
** keeps one per run, and the test drives one with a scripted stream.
*/
#ifndef TRIM_BUDGET_H
#define TRIM_BUDGET_H

#include <stdint.h>

typedef struct budget {
    double target; /* strong-token share to hold, in (0,1); 0: off */
    double scale;  /* tokens of debt that move the bias by 1 */
    double strong; /* strong tokens so far */
    double total;  /* all generated tokens so far (accepted drafts,
                      discarded drafts and strong steps) */
} budget_t;

/* A controller for target share (0 turns it off) with the default scale. */
budget_t budget_make(double target);

/*
** Count tokens generated in the run: strong ones, and weak ones (accepted or
** discarded drafts).
*/
void budget_observe(budget_t *b, int64_t strong_tokens, int64_t weak_tokens);

/* The bias to hand the policy now: in [-1, 1]; 0 when off. */
float budget_bias(const budget_t *b);

/* The share so far (strong / total), 0 before any token. */
double budget_share(const budget_t *b);

#endif
