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
*/
#ifndef TRIM_SWEEP_H
#define TRIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"

#define SWEEP_SPEC_MAX  256
#define SWEEP_NAME_MAX  64
#define SWEEP_ERROR_MAX 512
#define SWEEP_ROLES     3 /* weak, strong, PRM: the usage of a point */

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
} sweep_point_t;

typedef struct sweep_curve {
    char name[SWEEP_NAME_MAX]; /* family ("thr") or a --curve name */
    sweep_point_t *points;
    size_t n, cap;
    metric_point_t *frontier; /* with the anchors; by sweep_finish */
    size_t n_frontier;
    metrics_summary_t summary;
    char error[SWEEP_ERROR_MAX]; /* set: the curve could not be evaluated */
} sweep_curve_t;

typedef struct sweep {
    /* Settings, recorded in every output. */
    int64_t problems;
    uint64_t seed;
    char test_set[SWEEP_NAME_MAX];  /* simulator profile evaluated on */
    char train_set[SWEEP_NAME_MAX]; /* profile learned policies trained on */
    sweep_point_t weak, strong;     /* the anchors, measured like points */
    sweep_curve_t *curves;
    size_t n_curves, cap;
} sweep_t;

/* A new, empty sweep with NAN anchors; NULL when out of memory. */
sweep_t *sweep_new(void);

/* Free a sweep with its curves and clear the pointer; NULL-safe. */
void sweep_destroy(sweep_t **s);

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
** share of all tokens, on_frontier, problems, failed.  Empty fields for
** NAN.  Returns 0, or -1 on a write error.
*/
int sweep_write_curves_csv(const sweep_t *s, FILE *f);

/*
** summary.csv: a header, then one row per curve: policy, points, CPT(50%),
** CPT(80%), CPT(95%) (cost shares, empty when not reached), dIBC, the
** number of targets it averages, APGR, the anchors' accuracies and
** strong-only's tokens per problem, test and train sets, error.  Returns 0,
** or -1 on a write error.
*/
int sweep_write_summary_csv(const sweep_t *s, FILE *f);

/*
** The whole sweep as one JSON document (settings, anchors, per curve its
** points, frontier, summary or error; NAN as null), malloc'd, or NULL when
** out of memory.  A point with usage carries "usage": {"weak": {"input",
** "cached", "output"}, "strong": {...}, "prm": {...}}, token totals over
** its problems (what `trim roi --curve` prices).
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
