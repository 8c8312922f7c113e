/*
** metrics.h: the cost-quality metrics of a routing policy's sweep.
**
** A curve is a list of points (cost, accuracy), one per setting of the
** policy's knob.  Cost is the strong model's tokens per problem as a share
** of strong-only's (metrics_cost_share): weak-only sits at (0, acc_weak),
** strong-only at (1, acc_strong).  Every figure is read off the curve's
** upper-left Pareto frontier, the anchors included, linearly interpolated
** between its vertices and held flat after its last one:
**
**   PGR(acc)    = (acc - acc_weak) / (acc_strong - acc_weak)
**   CPT(x)      = the lowest cost at which the frontier reaches PGR >= x;
**                 NAN when it never does
**   IBC(point)  = (acc - acc_weak) / cost;  IBC_strong = acc_strong - acc_weak
**   dIBC(point) = (IBC - IBC_strong) / IBC_strong
**   dIBC        = mean over PGR targets 5%, 10%, ..., 95% that the frontier
**                 reaches at a cost above 0 of dIBC at (CPT(x), its
**                 accuracy), which is x / CPT(x) - 1
**   APGR        = the area under PGR(frontier(c)) for c in [0,1]
**                 (trapezoids over the vertices; RouteLLM's normalisation:
**                 (AUC - AUC_weak) / (AUC_strong - AUC_weak))
**
** Everything here is a pure function of its arguments; NAN marks a figure
** that does not exist (no accuracy gap between the anchors, a target never
** reached).  Points with a NAN field or a negative cost are ignored.
*/
#ifndef TRIM_METRICS_H
#define TRIM_METRICS_H

#include <stddef.h>

#define METRICS_DIBC_TARGETS 19 /* PGR 5%, 10%, ..., 95% */

typedef struct metric_point {
    double cost;     /* strong tokens / strong-only's strong tokens */
    double accuracy; /* in [0,1] */
} metric_point_t;

typedef struct metrics_summary {
    double cpt50, cpt80, cpt95; /* cost shares; NAN: not reached */
    double delta_ibc;           /* NAN when no target is reached */
    int delta_ibc_targets;      /* how many of the 19 targets it averages */
    double apgr;
} metrics_summary_t;

/*
** Strong tokens per problem as a share of strong-only's.  NAN when
** strong_only_tokens is not positive.
*/
double metrics_cost_share(double strong_tokens, double strong_only_tokens);

/* Performance gap recovered; NAN when acc_strong <= acc_weak. */
double metrics_pgr(double acc, double acc_weak, double acc_strong);

/*
** The upper-left Pareto frontier of pts plus the anchors (0, acc_weak) and
** (1, acc_strong): the points no other point beats on cost and accuracy at
** once (a point costing no more with no lower accuracy), in ascending cost,
** both cost and accuracy strictly increasing.  out must hold n + 2 points.
** Returns how many were written (at least 1).
*/
size_t metrics_frontier(const metric_point_t *pts, size_t n, double acc_weak,
                        double acc_strong, metric_point_t *out);

/*
** Accuracy of frontier f (n vertices, from metrics_frontier) at cost c:
** linear between vertices, the last vertex's accuracy beyond it, NAN
** before the first.
*/
double metrics_frontier_at(const metric_point_t *f, size_t n, double c);

/*
** CPT: the lowest cost at which frontier f reaches PGR >= target (a share,
** 0.95 for CPT(95%)).  NAN when it never does or the anchors have no gap.
*/
double metrics_cpt(const metric_point_t *f, size_t n, double acc_weak,
                   double acc_strong, double target);

/*
** dIBC of one point: ((acc - acc_weak)/cost - IBC_strong) / IBC_strong.
** NAN at cost <= 0 or without a gap between the anchors.
*/
double metrics_delta_ibc_point(double cost, double acc, double acc_weak,
                               double acc_strong);

/*
** dIBC of a policy: the mean over the PGR targets 5%, ..., 95% that frontier
** f reaches at a positive cost of dIBC at the frontier's lowest-cost point
** reaching the target.  *targets (may be NULL) receives how many targets
** were averaged.  NAN when none.
*/
double metrics_delta_ibc(const metric_point_t *f, size_t n, double acc_weak,
                         double acc_strong, int *targets);

/*
** APGR: the area under the frontier's PGR over cost in [0,1], trapezoids
** between vertices (exact for the linear interpolation), held flat after
** the last vertex up to cost 1.  PGR is not capped: points above strong-only
** accuracy count above 1.  NAN without a gap between the anchors.
*/
double metrics_apgr(const metric_point_t *f, size_t n, double acc_weak,
                    double acc_strong);

/*
** Every summary figure of a curve in one call: builds the frontier of pts
** with the anchors and fills *out.  Returns 0, or -1 (all figures NAN)
** when acc_strong <= acc_weak or an allocation fails.
*/
int metrics_summarise(const metric_point_t *pts, size_t n, double acc_weak,
                      double acc_strong, metrics_summary_t *out);

#endif
