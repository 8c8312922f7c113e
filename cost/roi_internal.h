/*
** roi_internal.h: the curve that roi_curve.c loads and roi_project.c and
** roi_svg.c read; nothing outside cost/ includes it.
*/
#ifndef TRIM_ROI_INTERNAL_H
#define TRIM_ROI_INTERNAL_H

#include "metrics.h"
#include "roi.h"

/* One measured setting of a policy: what it scored and what it paid. */
typedef struct roi_point {
    char spec[256];
    double accuracy; /* NAN: not measured (left out) */
    int64_t problems;
    cost_usage_t usage; /* tokens over its problems */
} roi_point_t;

typedef struct roi_policy {
    char name[64];
    roi_point_t *pts;
    size_t n, cap;
} roi_policy_t;

struct roi_curve {
    char *source;             /* file name, or "store PATH" */
    roi_point_t weak, strong; /* anchors; accuracy NAN when absent */
    roi_policy_t *pol;
    size_t n, cap;
};

/* USD per problem of pt under p; NAN without problems. */
double roi_point_usd(const roi_point_t *pt, const prices_t *p);

/*
** The dollar frontier of policy i of c under p (its points and both
** anchors; metrics_frontier with cost = USD per problem) into a malloc'd
** array (*f, *n), with the point behind each vertex in *src (may be NULL).
** 0, or -1 when out of memory.
*/
int roi_frontier(const roi_curve_t *c, size_t i, const prices_t *p,
                 metric_point_t **f, const roi_point_t ***src, size_t *n);

#endif
