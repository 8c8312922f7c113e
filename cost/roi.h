/*
** roi.h: what routing saves, in dollars (docs/roi.md has every formula
** with a hand-worked example).
**
** Measured: the dollars a recorded run spent (the audit store, priced by
** prices_cost), per problem and per correct answer, split by role and by
** input/output, beside what strong-only and weak-only would have spent on
** the same problems: a paired baseline run's cost per problem when one is
** given, otherwise an estimate from the run's own accepted steps priced at
** the strong (weak) model's prices.
**
** Projected: from a curve (a `trim eval` result, eval.json, whose points
** carry their tokens per role), the cheapest point on eval's frontier that
** reaches a target accuracy (or PGR), its monthly cost at a volume against
** strong-only's, the savings, the cost per correct answer, the break-even
** volume for a fixed monthly cost, and the same over a range of strong/weak
** price ratios.  Each policy's points are priced, and the cheapest cost at
** the target is read off their upper-left Pareto frontier in dollars,
** linearly interpolated between vertices with eval's frontier code
** (metrics.h): an interpolated point is a mixture of two settings.
**
** The *_json functions return the document `trim roi --json` prints and the
** console's /api/roi serves, so both agree by construction.
*/
#ifndef TRIM_ROI_H
#define TRIM_ROI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "prices.h"
#include "store.h"

/* ---- measured ------------------------------------------------------------ */

typedef struct roi_measured {
    int64_t run_id;
    char policy[256];
    int64_t problems, correct, graded;
    cost_usage_t usage; /* every call the run paid for */
    cost_usd_t usd;
    double per_problem; /* usd.total / problems; NAN without problems */
    double per_correct; /* usd.total / correct; NAN without a correct one */
    /* Strong-only and weak-only on the same problems, USD in total. */
    int64_t baseline_run_id; /* 0: estimated from this run's tokens */
    double strong_only, weak_only;
    double strong_only_per_correct; /* from the baseline's accuracy; NAN when
                                       estimated (accuracy unknown) */
    double savings;                 /* strong_only - usd.total */
    double savings_pct;             /* 100 * savings / strong_only */
    const char *basis;              /* how strong_only was obtained, in words */
} roi_measured_t;

/*
** Price run run_id (> 0) of the store read by r under p into *out.  With
** baseline_run > 0, strong_only is that run's cost per problem times this
** run's problems (run it with --policy strong on the same problems and
** seed) and weak_only is estimated; otherwise both are estimated from this
** run's accepted steps (cost_usage_solution).  Returns 0; -2 with err
** when the run or the baseline does not exist or has no problems; -1 with
** err when the store could not be read.
*/
int roi_measure(store_reader_t *r, const prices_t *p, int64_t run_id,
                int64_t baseline_run, roi_measured_t *out, char *err,
                size_t errlen);

/* *m as the JSON document of `trim roi --db`, malloc'd (NULL: no memory). */
char *roi_measured_json(const roi_measured_t *m, const prices_t *p);

/* ---- projected ----------------------------------------------------------- */

typedef struct roi_curve roi_curve_t;

/*
** Load a `trim eval` result (eval.json).  Every point must carry "usage"
** (tokens per role over its problems, written by trim eval since issue 13);
** an older file is refused with a message saying what is missing and that
** re-running trim eval writes it.  NULL with err naming the file and key.
*/
roi_curve_t *roi_curve_load(const char *path, char *err, size_t errlen);

/* The same from JSON text; where names it in errors. */
roi_curve_t *roi_curve_parse(const char *json_text, const char *where,
                             char *err, size_t errlen);

/*
** A curve from the runs of an audit store: one point per finished run,
** grouped by policy family (the spec's text before ':'); the anchors are
** the latest runs with policy "weak" and "strong" (NAN when absent: the
** PGR target then cannot be used).  NULL with err.
*/
roi_curve_t *roi_curve_from_store(store_reader_t *r, char *err, size_t errlen);

/* Free a curve and clear the pointer; NULL-safe. */
void roi_curve_destroy(roi_curve_t **c);

/* What to project. */
typedef struct roi_query {
    double volume;          /* problems per month (> 0) */
    double target_accuracy; /* in [0,1]; NAN: use target_pgr */
    double target_pgr;      /* share of the weak-strong gap; NAN: use the
                               accuracy */
    double fixed_monthly;   /* USD a month the routed setup adds (a PRM's
                               GPU, say); 0: none */
} roi_query_t;

#define ROI_SENSITIVITY 7 /* rows of the strong/weak price ratio table */

/* The cheapest point on eval's frontier of one policy at the target (not
** the cheapest mixture of its settings: docs/roi.md §4). */
typedef struct roi_choice {
    char policy[64];
    int reached;        /* 0: no point of the policy reaches the target */
    double per_problem; /* USD per problem at the cheapest point */
    double accuracy;    /* its accuracy (>= the target) */
    char spec_lo[256], spec_hi[256]; /* the frontier vertices it lies
                                        between (equal: a measured point);
                                        the anchors are "weak-only" and
                                        "strong-only" */
    double mix;                      /* share of problems run with spec_hi */
} roi_choice_t;

typedef struct roi_projection {
    roi_query_t query;
    double target; /* the target accuracy used */
    double acc_weak, acc_strong;
    double strong_per_problem, weak_per_problem; /* the anchors, USD */
    roi_choice_t *policies;                      /* one per curve */
    size_t n_policies;
    int best;              /* index of the cheapest, -1 when none reaches */
    double monthly_strong; /* volume * strong_per_problem */
    double monthly_policy; /* volume * best per_problem + fixed_monthly */
    double savings, savings_pct;
    int strong_only_better; /* monthly_policy > monthly_strong: running
                               strong-only is cheaper at this volume */
    double per_correct_strong, per_correct_policy;
    double break_even_volume; /* fixed_monthly / per-problem savings; NAN
                                 when routing saves nothing per problem */
    struct roi_sensitivity {
        double strong_scale; /* the strong model's prices times this */
        double ratio;        /* strong/weak output price it gives */
        int best;            /* index into policies, -1: none */
        double per_problem, monthly_strong, monthly_policy, savings_pct;
        int strong_only_better; /* monthly_policy > monthly_strong */
    } sensitivity[ROI_SENSITIVITY];
} roi_projection_t;

/*
** Project curve c under p for query q into *out (free with
** roi_projection_clear).  Returns 0, or -1 with err (a bad volume, no
** target, a PGR target without both anchors).
*/
int roi_project(const roi_curve_t *c, const prices_t *p, const roi_query_t *q,
                roi_projection_t *out, char *err, size_t errlen);

/* Free what roi_project allocated in *pr; NULL-safe, idempotent. */
void roi_projection_clear(roi_projection_t *pr);

/* *pr as the JSON document of `trim roi --curve`, malloc'd (NULL: no
** memory). */
char *roi_projection_json(const roi_projection_t *pr, const prices_t *p);

/*
** The projection's SVG: monthly cost against target accuracy, each policy's
** dollar frontier beside strong-only's monthly cost.  Returns 0, or -1 on a
** write error.
*/
int roi_write_svg(const roi_curve_t *c, const prices_t *p,
                  const roi_projection_t *pr, FILE *f);

#endif
