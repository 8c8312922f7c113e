/*
** metrics.c: PGR, CPT, IBC, dIBC and APGR over a sweep (see metrics.h).
*/
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

/* Accuracy slack when testing whether a target is reached: a target equal
** to a vertex's accuracy must count as reached despite rounding. */
#define ACC_EPS 1e-12


double
metrics_cost_share(double strong_tokens, double strong_only_tokens)
{
    if (!(strong_only_tokens > 0) || isnan(strong_tokens))
        return NAN;
    return strong_tokens / strong_only_tokens;
}


double
metrics_pgr(double acc, double acc_weak, double acc_strong)
{
    if (!(acc_strong > acc_weak))
        return NAN;
    return (acc - acc_weak) / (acc_strong - acc_weak);
}


static int
by_cost_then_accuracy(const void *a, const void *b)
{
    const metric_point_t *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    if (x->accuracy != y->accuracy)
        return x->accuracy > y->accuracy ? -1 : 1; /* best first */
    return 0;
}


size_t
metrics_frontier(const metric_point_t *pts, size_t n, double acc_weak,
                 double acc_strong, metric_point_t *out)
{
    size_t m = 0, k = 0;

    if (isfinite(acc_weak))
        out[m++] = (metric_point_t){0.0, acc_weak};
    if (isfinite(acc_strong))
        out[m++] = (metric_point_t){1.0, acc_strong};
    for (size_t i = 0; i < n; i++)
        if (isfinite(pts[i].cost) && isfinite(pts[i].accuracy) &&
            pts[i].cost >= 0)
            out[m++] = pts[i];
    if (m == 0)
        return 0;
    qsort(out, m, sizeof *out, by_cost_then_accuracy);
    /* Walk in ascending cost; a point is on the frontier when it beats the
    ** accuracy of everything at most as costly. */
    for (size_t i = 0; i < m; i++)
        if (k == 0 || out[i].accuracy > out[k - 1].accuracy)
            out[k++] = out[i];
    return k;
}


double
metrics_frontier_at(const metric_point_t *f, size_t n, double c)
{
    if (n == 0 || isnan(c) || c < f[0].cost)
        return NAN;
    for (size_t i = 1; i < n; i++) {
        if (c <= f[i].cost) {
            double t = (c - f[i - 1].cost) / (f[i].cost - f[i - 1].cost);
            return f[i - 1].accuracy + t * (f[i].accuracy - f[i - 1].accuracy);
        }
    }
    return f[n - 1].accuracy;
}


double
metrics_cpt(const metric_point_t *f, size_t n, double acc_weak,
            double acc_strong, double target)
{
    if (!(acc_strong > acc_weak) || isnan(target))
        return NAN;
    double want = acc_weak + target * (acc_strong - acc_weak);
    for (size_t i = 0; i < n; i++) {
        if (f[i].accuracy < want - ACC_EPS)
            continue;
        if (i == 0 || f[i].accuracy <= want)
            return f[i].cost;
        /* The segment from f[i-1] (below the target) to f[i] crosses it. */
        double t =
            (want - f[i - 1].accuracy) / (f[i].accuracy - f[i - 1].accuracy);
        if (t < 0)
            t = 0;
        return f[i - 1].cost + t * (f[i].cost - f[i - 1].cost);
    }
    return NAN;
}


double
metrics_delta_ibc_point(double cost, double acc, double acc_weak,
                        double acc_strong)
{
    if (!(cost > 0) || !(acc_strong > acc_weak) || isnan(acc))
        return NAN;
    double ibc = (acc - acc_weak) / cost;
    double ibc_strong = (acc_strong - acc_weak) / 1.0;
    return (ibc - ibc_strong) / ibc_strong;
}


double
metrics_delta_ibc(const metric_point_t *f, size_t n, double acc_weak,
                  double acc_strong, int *targets)
{
    double sum = 0;
    int k = 0;

    for (int i = 1; i <= METRICS_DIBC_TARGETS; i++) {
        double x = 0.05 * i;
        double c = metrics_cpt(f, n, acc_weak, acc_strong, x);
        if (!(c > 0))
            continue; /* not reached, or reached for free: unbounded */
        double acc = acc_weak + x * (acc_strong - acc_weak);
        sum += metrics_delta_ibc_point(c, acc, acc_weak, acc_strong);
        k++;
    }
    if (targets)
        *targets = k;
    return k ? sum / k : NAN;
}


double
metrics_apgr(const metric_point_t *f, size_t n, double acc_weak,
             double acc_strong)
{
    double area = 0, prev_c = 0, prev_a;

    if (!(acc_strong > acc_weak) || n == 0 || f[0].cost > 0)
        return NAN;
    prev_a = f[0].accuracy;
    for (size_t i = 1; i < n && prev_c < 1; i++) {
        double c = f[i].cost, a = f[i].accuracy;
        if (c > 1) { /* cut the segment at cost 1 */
            a = prev_a + (1 - prev_c) / (c - prev_c) * (a - prev_a);
            c = 1;
        }
        area += (c - prev_c) * (prev_a + a) / 2;
        prev_c = c;
        prev_a = a;
    }
    if (prev_c < 1)
        area += (1 - prev_c) * prev_a; /* held flat after the last vertex */
    /* Accuracy area -> PGR area; the weak anchor's area is acc_weak. */
    return (area - acc_weak) / (acc_strong - acc_weak);
}


int
metrics_summarise(const metric_point_t *pts, size_t n, double acc_weak,
                  double acc_strong, metrics_summary_t *out)
{
    metric_point_t *f;
    size_t m;

    out->cpt50 = out->cpt80 = out->cpt95 = NAN;
    out->delta_ibc = out->apgr = NAN;
    out->delta_ibc_targets = 0;
    if (!(acc_strong > acc_weak))
        return -1;
    f = malloc((n + 2) * sizeof *f);
    if (f == NULL)
        return -1;
    m = metrics_frontier(pts, n, acc_weak, acc_strong, f);
    out->cpt50 = metrics_cpt(f, m, acc_weak, acc_strong, 0.50);
    out->cpt80 = metrics_cpt(f, m, acc_weak, acc_strong, 0.80);
    out->cpt95 = metrics_cpt(f, m, acc_weak, acc_strong, 0.95);
    out->delta_ibc =
        metrics_delta_ibc(f, m, acc_weak, acc_strong, &out->delta_ibc_targets);
    out->apgr = metrics_apgr(f, m, acc_weak, acc_strong);
    free(f);
    return 0;
}
