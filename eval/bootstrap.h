/*
** bootstrap.h: percentile bootstrap intervals, deterministic from a seed.
**
** The data are n units (problems), optionally in strata (one per seed's
** problem set, each stratum's units contiguous).  A replicate draws, within
** every stratum, as many units as it holds, with replacement, and hands the
** statistic the weights: w[i] = how many times unit i was drawn (the full
** sample is w[i] = 1 for all i).  The statistic returns m values at once,
** so every figure of one replicate comes from the same resampled problems:
** a difference of two figures computed inside the statistic is a paired
** difference, and its interval keeps the pairing.
**
** Each interval is the percentile interval of the replicates (linear
** interpolation between order statistics).  A statistic may return NAN
** ("not reached": a CPT the curve never attains); NAN sorts above every
** number, so an interval end that falls on NAN replicates is NAN (unbounded)
** and nan_share says how many replicates had it.
**
** Everything is a pure function of the arguments and the seed: the same
** call gives the same intervals on every machine.
*/
#ifndef TRIM_BOOTSTRAP_H
#define TRIM_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_REPS_DEFAULT  1000
#define BOOT_LEVEL_DEFAULT 0.95

typedef struct boot_interval {
    double mean;      /* the statistic on the full sample */
    double lo, hi;    /* percentile interval; NAN: unbounded (see above) */
    double nan_share; /* share of replicates where the statistic was NAN */
} boot_interval_t;

typedef struct boot_plan {
    size_t n;             /* units */
    const size_t *strata; /* sizes of the strata, summing to n, in unit
                             order; NULL: one stratum of n */
    size_t n_strata;
    int reps;      /* replicates; <= 0: BOOT_REPS_DEFAULT */
    double level;  /* e.g. 0.95; <= 0 or >= 1: BOOT_LEVEL_DEFAULT */
    uint64_t seed; /* the resampling seed */
} boot_plan_t;

/*
** A statistic: fill vals[0..m) from the weights w[0..n) (non-negative,
** summing to n).  Returns 0, or -1 to abandon the bootstrap (out of
** memory).
*/
typedef int (*boot_stat_t)(void *ctx, const double *w, size_t n, double *vals,
                           size_t m);

/*
** Run plan: the statistic on the full sample, then on plan->reps
** replicates, and out[0..m) the intervals of its m values.  Returns 0, or
** -1 with a reason in err (no units, strata that do not sum to n, out of
** memory, the statistic failed).
*/
int boot_run(const boot_plan_t *plan, boot_stat_t stat, void *ctx, size_t m,
             boot_interval_t *out, char *err, size_t errlen);

/*
** The mean of x[0..n) with its interval (one stratum).  0, or -1 with err.
*/
int boot_mean(const double *x, size_t n, int reps, uint64_t seed, double level,
              boot_interval_t *out, char *err, size_t errlen);

/*
** The mean of the paired differences a[i] - b[i], i < n, with its interval
** (the pairs resampled together).  0, or -1 with err.
*/
int boot_paired_diff(const double *a, const double *b, size_t n, int reps,
                     uint64_t seed, double level, boot_interval_t *out,
                     char *err, size_t errlen);

/*
** The sign the interval of a difference supports: 1 when lo > 0, -1 when
** hi < 0, 0 when it contains zero or an end is NAN ("A beats B" only at
** +-1).
*/
int boot_sign(const boot_interval_t *iv);

/*
** The percentile of v[0..n) at share q in [0,1], after sorting v in place
** (NAN above every number): linear between order statistics, NAN when the
** interpolation touches a NAN.  NAN for n == 0.
*/
double boot_percentile(double *v, size_t n, double q);

#endif
