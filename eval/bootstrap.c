/*
** bootstrap.c: seeded, stratified percentile bootstrap (see bootstrap.h).
*/
#include "bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "hash.h"


/* Ascending, NAN above every number. */
static int
by_value_nan_last(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}


double
boot_percentile(double *v, size_t n, double q)
{
    if (n == 0 || isnan(q))
        return NAN;
    qsort(v, n, sizeof *v, by_value_nan_last);
    double at = q <= 0 ? 0 : q >= 1 ? (double)(n - 1) : q * (double)(n - 1);
    size_t i = (size_t)at;
    double t = at - (double)i;
    if (i + 1 >= n || t == 0)
        return v[i];
    return v[i] + t * (v[i + 1] - v[i]); /* NAN when v[i + 1] is */
}


int
boot_sign(const boot_interval_t *iv)
{
    if (iv->lo > 0)
        return 1;
    if (iv->hi < 0)
        return -1;
    return 0;
}


/* Draw one replicate's weights: within each stratum, its size in draws. */
static void
resample(const boot_plan_t *p, rng_t *r, double *w)
{
    size_t start = 0, n_strata = p->strata ? p->n_strata : 1;

    memset(w, 0, p->n * sizeof *w);
    for (size_t s = 0; s < n_strata; s++) {
        size_t size = p->strata ? p->strata[s] : p->n;
        for (size_t k = 0; k < size; k++)
            w[start + rng_below(r, size)] += 1;
        start += size;
    }
}


int
boot_run(const boot_plan_t *plan, boot_stat_t stat, void *ctx, size_t m,
         boot_interval_t *out, char *err, size_t errlen)
{
    int reps = plan->reps > 0 ? plan->reps : BOOT_REPS_DEFAULT;
    double level =
        plan->level > 0 && plan->level < 1 ? plan->level : BOOT_LEVEL_DEFAULT;
    double *w = NULL, *vals = NULL, *all = NULL;
    size_t sum = 0;
    int rc = -1;

    if (plan->n == 0 || m == 0)
        return errf(err, errlen, "bootstrap: no units or no statistic");
    for (size_t s = 0; plan->strata && s < plan->n_strata; s++)
        sum += plan->strata[s];
    if (plan->strata && sum != plan->n)
        return errf(err, errlen, "bootstrap: strata hold %zu units, not %zu",
                    sum, plan->n);
    w = malloc(plan->n * sizeof *w);
    vals = malloc(m * sizeof *vals);
    all = malloc((size_t)reps * m * sizeof *all); /* all[j * reps + r] */
    if (w == NULL || vals == NULL || all == NULL) {
        errf(err, errlen, "bootstrap: out of memory");
        goto done;
    }
    for (size_t i = 0; i < plan->n; i++)
        w[i] = 1;
    if (stat(ctx, w, plan->n, vals, m) < 0) {
        errf(err, errlen, "bootstrap: the statistic failed");
        goto done;
    }
    for (size_t j = 0; j < m; j++)
        out[j].mean = vals[j];
    rng_t r = rng_seeded(plan->seed);
    for (int k = 0; k < reps; k++) {
        resample(plan, &r, w);
        if (stat(ctx, w, plan->n, vals, m) < 0) {
            errf(err, errlen, "bootstrap: the statistic failed");
            goto done;
        }
        for (size_t j = 0; j < m; j++)
            all[j * (size_t)reps + (size_t)k] = vals[j];
    }
    for (size_t j = 0; j < m; j++) {
        double *v = all + j * (size_t)reps;
        size_t nans = 0;
        for (int k = 0; k < reps; k++)
            nans += isnan(v[k]) != 0;
        out[j].nan_share = (double)nans / reps;
        out[j].lo = boot_percentile(v, (size_t)reps, (1 - level) / 2);
        out[j].hi = boot_percentile(v, (size_t)reps, (1 + level) / 2);
    }
    rc = 0;
done:
    free(w);
    free(vals);
    free(all);
    return rc;
}


typedef struct pair {
    const double *a, *b; /* b NULL: the mean of a */
} pair_t;

static int
weighted_mean(void *ctx, const double *w, size_t n, double *vals, size_t m)
{
    const pair_t *p = ctx;
    double sum = 0, total = 0;

    (void)m;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0)
            continue;
        sum += w[i] * (p->b ? p->a[i] - p->b[i] : p->a[i]);
        total += w[i];
    }
    vals[0] = sum / total;
    return 0;
}


int
boot_mean(const double *x, size_t n, int reps, uint64_t seed, double level,
          boot_interval_t *out, char *err, size_t errlen)
{
    boot_plan_t plan = {.n = n, .reps = reps, .level = level, .seed = seed};
    pair_t p = {x, NULL};
    return boot_run(&plan, weighted_mean, &p, 1, out, err, errlen);
}


int
boot_paired_diff(const double *a, const double *b, size_t n, int reps,
                 uint64_t seed, double level, boot_interval_t *out, char *err,
                 size_t errlen)
{
    boot_plan_t plan = {.n = n, .reps = reps, .level = level, .seed = seed};
    pair_t p = {a, b};
    return boot_run(&plan, weighted_mean, &p, 1, out, err, errlen);
}
