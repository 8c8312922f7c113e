/*
** calib_fit.h: the ways `trim calibrate` counts what TRIM-POMDP's model is
** fitted from (pomdp_fit.h), besides the labelled runs of cmd_calibrate.c.
*/
#ifndef TRIM_CALIB_FIT_H
#define TRIM_CALIB_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "labelled_data.h"
#include "pomdp_fit.h"
#include "prm_scorer.h"
#include "store.h"

/*
** Count step-labelled solutions as the TRIM paper fits its observation
** model on ProcessBench: prm scores every solution; each step is S0 before
** the label (or in a solution labelled -1), S2 at it and S1 after it, and
** its score counts in that state's grid with the minimum score of the steps
** before it.  The steps up to the label are a model's steps on a correct
** prefix: those of solutions whose generator is weak_gen ("": every
** solution) count toward the weak accuracy, those of strong_gen ("": none)
** toward the strong one.  Repair is not in such data (solutions are one
** model's).  Returns 0, or -1 with err.
*/
int calib_labelled(const labelled_set_t *set, prm_scorer_t *prm,
                   const char *weak_gen, const char *strong_gen,
                   pomdp_counts_t *c, char *err, size_t errlen);

/* What calib_em_store did. */
typedef struct calib_em_report {
    long solutions; /* fitted */
    long skipped;   /* not step-routed (cascade runs, odd rows) */
    int iterations;
    double loglik;
} calib_em_report_t;

/*
** Count run (0: every run) of the store r from final answers only: each
** finished, graded, step-routed solution's draft and strong-step scores
** and its correctness go to pomdp_em_fit, whose expected counts are added
** to c with the solutions' lengths and strong tokens.  Returns 0, or -1
** with err.
*/
int calib_em_store(store_reader_t *r, int64_t run, pomdp_counts_t *c,
                   calib_em_report_t *rep, char *err, size_t errlen);

#endif
