/*
** sweep.h: policy sweeps for `trim eval`: curves of points, their metrics,
** and the files they are written to.
**
** A sweep holds the weak-only and strong-only anchors and one curve per
** policy family (or custom list of specs).  A curve is a list of points,
** one per policy spec with the knob it sets (a threshold, a probability, a
** lambda).  The caller measures each point (runs the spec on the same
** problems) and fills its measured fields; sweep_finish then derives the
** cost shares, PGR, frontiers and metrics (metrics.h) that the writers
** print.  The sweep owns every curve and point.
**
** Several seeds: the caller runs one sweep per problem set (sweep_clone of
** the same layout), finishes each, and pools them into one (sweep_pool)
** over all their problems; sweep_bootstrap then gives every point and
** figure a percentile interval and compares the curves with the
** baselines, pairing them on the same resampled problems.
*/
#ifndef TRIM_SWEEP_H
#define TRIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bootstrap.h"
#include "metrics.h"

#define SWEEP_SPEC_MAX  256
#define SWEEP_NAME_MAX  64
#define SWEEP_ERROR_MAX 512
#define SWEEP_ROLES     3  /* weak, strong, PRM: the usage of a point */
#define SWEEP_SEEDS_MAX 64 /* problem sets pooled in one sweep */

/* The summary figures of a curve, in the order of its intervals. */
typedef enum sweep_figure {
    SWEEP_CPT50,
    SWEEP_CPT80,
    SWEEP_CPT95,
    SWEEP_DIBC,
    SWEEP_APGR,
    SWEEP_FIGURES
} sweep_figure_t;

/* One problem's outcome under a point's policy. */
typedef struct sweep_outcome {
    double correct; /* 1 or 0; NAN when not graded */
    double strong;  /* strong tokens spent on it */
} sweep_outcome_t;

typedef struct sweep_point {
    char spec[SWEEP_SPEC_MAX];
    double knob; /* the family's parameter this spec sets */
    /* Measured (NAN until the caller fills them). */
    double accuracy;    /* correct / graded */
    double strong;      /* strong tokens per problem */
    double draft;       /* accepted draft tokens per problem */
    double discarded;   /* replaced draft tokens per problem */
    double token_share; /* strong tokens / all generated tokens */
    int64_t problems, failed;
    double seconds;
    /* Tokens paid for over the point's problems per role, [0] weak, [1]
    ** strong, [2] PRM (cost/prices.h's cost_usage_t): the prompt tokens of
    ** every call, the part of them a prefix cache could serve, and the
    ** completion tokens.  has_usage 0: not measured (not written). */
    int has_usage;
    int64_t input[SWEEP_ROLES], cached[SWEEP_ROLES], output[SWEEP_ROLES];
    /* Derived by sweep_finish. */
    double cost;      /* strong / strong-only's strong (metrics_cost_share) */
    double pgr;       /* metrics_pgr */
    double delta_ibc; /* metrics_delta_ibc_point; NAN at cost 0 */
    int on_frontier;  /* a vertex of its curve's Pareto frontier */
    /* Every problem's outcome, seed after seed in the order of the sweep's
    ** seeds, problems in index order within a seed; owned by the point
    ** (malloc'd).  NULL: not read (the point gets no interval). */
    sweep_outcome_t *outcomes;
    size_t n_outcomes;
    /* Intervals by sweep_bootstrap (mean: the field above); all NAN
    ** without. */
    boot_interval_t iv_accuracy, iv_strong, iv_cost;
} sweep_point_t;

typedef struct sweep_curve {
    char name[SWEEP_NAME_MAX]; /* family ("thr") or a --curve name */
    sweep_point_t *points;
    size_t n, cap;
    metric_point_t *frontier; /* with the anchors; by sweep_finish */
    size_t n_frontier;
    metrics_summary_t summary;
    boot_interval_t iv[SWEEP_FIGURES]; /* by sweep_bootstrap; NAN without */
    /* The summary of each seed's problems alone (sweep_pool), in the order
    ** of the sweep's seeds; n_per_seed 0 when not pooled. */
    metrics_summary_t per_seed[SWEEP_SEEDS_MAX];
    size_t n_per_seed;
    char error[SWEEP_ERROR_MAX]; /* set: the curve could not be evaluated */
} sweep_curve_t;

/*
** A paired comparison of two curves on one figure, by sweep_bootstrap:
** policy's figure minus baseline's (ratio: policy's dIBC over baseline's),
** each replicate computed on the same resampled problems.
*/
typedef struct sweep_diff {
    char policy[SWEEP_NAME_MAX], baseline[SWEEP_NAME_MAX];
    sweep_figure_t figure;
    int ratio;          /* 1: dIBC ratio, 0: difference */
    boot_interval_t iv; /* mean: the figure of the pooled curves */
    int verdict; /* 1: policy better (the interval excludes zero on its side;
                    a lower CPT, a higher dIBC or APGR), -1: baseline
                    better, 0: not shown (always 0 for a ratio) */
} sweep_diff_t;

typedef struct sweep {
    /* Settings, recorded in every output. */
    int64_t problems;                /* per seed and point */
    uint64_t seed;                   /* the first seed (--seed) */
    uint64_t seeds[SWEEP_SEEDS_MAX]; /* every problem set pooled */
    size_t n_seeds;                  /* 0: one, seed */
    char test_set[SWEEP_NAME_MAX];   /* simulator profile evaluated on */
    char train_set[SWEEP_NAME_MAX];  /* profile learned policies trained on */
    sweep_point_t weak, strong;      /* the anchors, measured like points */
    sweep_curve_t *curves;
    size_t n_curves, cap;
    /* By sweep_bootstrap: reps 0 when there are no intervals. */
    int boot_reps;
    double boot_level;
    sweep_diff_t *diffs;
    size_t n_diffs;
} sweep_t;

/* A new, empty sweep with NAN anchors; NULL when out of memory. */
sweep_t *sweep_new(void);

/* Free a sweep with its curves and clear the pointer; NULL-safe. */
void sweep_destroy(sweep_t **s);

/*
** A new sweep with s's settings and curves (names, specs, knobs, errors),
** nothing measured: the layout to run again on another seed.  NULL when
** out of memory.
*/
sweep_t *sweep_clone(const sweep_t *s);

/*
** The sweep of n finished sweeps of the same layout (sweep_clone) run on
** different seeds, as one over all their problems: a point's problems,
** failures, seconds and usage add up, its accuracy is the share correct of
** every graded problem and its tokens per problem the mean over every
** problem (equal to the seeds' mean at equal problem counts); outcomes are
** concatenated in seed order; a curve has the fewest points any seed
** measured, any seed's error, and each seed's summary in per_seed.  The
** seeds are sweeps[i]->seed.  Call sweep_finish on the result.  NULL with
** err (out of memory, n of 0 or above SWEEP_SEEDS_MAX, layouts differ).
*/
sweep_t *sweep_pool(sweep_t *const *sweeps, size_t n, char *err, size_t errlen);

/*
** Intervals for a finished, pooled sweep (sweep_finish first): resample
** problems within each seed, jointly for every point of every curve (the
** same problems for all; bootstrap.h), recompute each point's accuracy,
** strong tokens and cost share and each curve's figures per replicate, and
** store their percentile intervals; then compare every curve with the
** baselines cascade and thr where present (each figure's paired difference
** and the dIBC ratio; thr against cascade but not the reverse) into
** s->diffs.  Points without outcomes for every problem, and their curves,
** get no interval.  Returns 0, or -1 with err (the anchors have no
** outcomes, out of memory).
*/
int sweep_bootstrap(sweep_t *s, int reps, double level, uint64_t seed,
                    char *err, size_t errlen);

/* "cpt50", "cpt80", "cpt95", "delta_ibc", "apgr". */
const char *sweep_figure_name(sweep_figure_t f);

/* A curve's figure f from its summary. */
double sweep_figure(const metrics_summary_t *m, sweep_figure_t f);

/*
** Add an empty curve named name (truncated to SWEEP_NAME_MAX - 1 bytes).
** Returns it (owned by the sweep; valid until the next sweep_add_curve), or
** NULL when out of memory.
*/
sweep_curve_t *sweep_add_curve(sweep_t *s, const char *name);

/*
** Append a point for spec with its knob; its measured fields are NAN.
** Returns it (valid until the next add on this curve), or NULL with a reason
** in err (out of memory, a spec longer than SWEEP_SPEC_MAX - 1).
*/
sweep_point_t *sweep_curve_add(sweep_curve_t *c, const char *spec, double knob,
                               char *err, size_t errlen);

/*
** Fill curve c with the default knob grid of a policy family:
**   thr      0, 0.01, 0.02, 0.05, 0.1, ..., 0.95, 1  (0 runs as "weak",
**            1 as "strong")
**   random   0, 0.1, ..., 1
**   cascade  0.001, 0.01, 0.02, 0.05, 0.1, 0.2, ..., 0.9, 0.95
**   pomdp    lambda 3e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3,
**            7e-3, 1e-2, 2e-2, 3e-2
** pomdp_model, when not NULL or empty, is the calibration file every pomdp
** spec names ("pomdp:L:FILE"); other families ignore it.  Returns 0, or -1
** with a reason in err (an unknown family, a spec too long; agg takes its
** files from sweep_family_agg).
*/
int sweep_family(sweep_curve_t *c, const char *family, const char *pomdp_model,
                 char *err, size_t errlen);

/*
** Fill curve c with one "agg:FILE" point per comma-separated file in list;
** each point's knob is the file's lambda (sweep_agg_lambda) or, when the
** file does not state one, its position in the list.  Returns 0, or -1
** with err (an empty list or file name).
*/
int sweep_family_agg(sweep_curve_t *c, const char *list, char *err,
                     size_t errlen);

/* The same with "seq:FILE" points, TRIM-Seq policy files (router/seq.h). */
int sweep_family_seq(sweep_curve_t *c, const char *list, char *err,
                     size_t errlen);

/*
** The cost weight a TRIM-Agg policy file was trained for: the number on its
** "lambda L" line, among the first lines (the format of router/agg.h).  NAN
** when the file is unreadable or states none.
*/
double sweep_agg_lambda(const char *path);

/*
** Fill curve c from "SPEC,SPEC,...": each spec's knob is the number after
** its colon ("thr:0.3" -> 0.3), 0 for "weak", 1 for "strong", otherwise its
** position in the list.  Returns 0, or -1 with err (an empty spec).
*/
int sweep_curve_specs(sweep_curve_t *c, const char *list, char *err,
                      size_t errlen);

/*
** Derive every point's cost share, PGR and dIBC against the anchors and
** every curve's frontier and summary.  Curves with an error are left as they
** are.  Returns 0, or -1 with err when the anchors are not measured or
** strong-only spent no strong tokens (no cost scale).
*/
int sweep_finish(sweep_t *s, char *err, size_t errlen);

/*
** curves.csv: a header, then one row per point (the anchors first, as
** policy "anchor"): policy, spec, knob, accuracy, strong tokens per problem,
** cost share, PGR, dIBC, draft and discarded tokens per problem, strong
** share of all tokens, on_frontier, problems, failed, then the 95%
** intervals (sweep_bootstrap) of accuracy, strong tokens and cost share as
** lo,hi pairs.  Empty fields for NAN.  Returns 0, or -1 on a write error.
*/
int sweep_write_curves_csv(const sweep_t *s, FILE *f);

/*
** summary.csv: a header, then one row per curve: policy, points, CPT(50%),
** CPT(80%), CPT(95%) (cost shares, empty when not reached), dIBC, the
** number of targets it averages, APGR, the anchors' accuracies and
** strong-only's tokens per problem, test and train sets, error, the
** number of seeds pooled, then the intervals of CPT(50/80/95%), dIBC and
** APGR as lo,hi pairs (empty without).  Returns 0, or -1 on a write error.
*/
int sweep_write_summary_csv(const sweep_t *s, FILE *f);

/*
** comparisons.csv: a header, then one row per paired comparison
** (s->diffs): policy, baseline, figure, kind (difference or ratio), mean,
** lo, hi, the share of replicates where it was NAN, and "policy better",
** "baseline better" or empty when the interval does not show either.
** Returns 0, or -1 on a write error.
*/
int sweep_write_comparisons_csv(const sweep_t *s, FILE *f);

/*
** The whole sweep as one JSON document (settings, anchors, per curve its
** points, frontier, summary or error; NAN as null), malloc'd, or NULL when
** out of memory.  A point with usage carries "usage": {"weak": {"input",
** "cached", "output"}, "strong": {...}, "prm": {...}}, token totals over
** its problems (what `trim roi --curve` prices).  Every figure keeps its
** name for the pooled value (the mean) with "_lo" and "_hi" beside it;
** each curve lists its per-seed summaries; "comparisons" holds s->diffs.
*/
char *sweep_json(const sweep_t *s);

/*
** curves.svg: every curve's points and frontier on one accuracy-cost plot
** (x = strong tokens as % of strong-only, y = accuracy), with the anchors
** marked, axes, ticks, labels and a legend.  Returns 0, or -1 on a write
** error.
*/
int sweep_write_svg(const sweep_t *s, FILE *f);

#endif
