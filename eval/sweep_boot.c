/*
** sweep_boot.c: bootstrap intervals of a pooled sweep's points, figures and
** paired comparisons (see sweep.h, sweep_bootstrap).
**
** The unit is the problem: the simulator draws every problem of a seed
** (its text and its sampling seed) independently, so problems are
** independent draws, and every policy solves the same ones.  A replicate
** resamples problems within each seed and recomputes, from the same
** resampled problems, every point of every curve and the anchors, so a
** difference between two curves is a paired difference.
*/
#include "sweep.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

/* Values per point in a replicate: accuracy, strong tokens, cost share. */
#define PER_POINT 3

typedef struct boot_ctx {
    sweep_t *s;
    size_t n;            /* problems in all */
    sweep_point_t **pts; /* the anchors, then each usable curve's */
    size_t n_pts;
    size_t *first;          /* per curve: its first in pts; SIZE_MAX: none */
    size_t fig_at, diff_at; /* where figures and comparisons start */
    metric_point_t *buf;    /* one curve's points */
} boot_ctx_t;


/* Accuracy and strong tokens of p over the weighted problems. */
static void
point_values(const sweep_point_t *p, const double *w, size_t n, double *acc,
             double *strong)
{
    double c = 0, g = 0, st = 0, total = 0;

    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0)
            continue;
        const sweep_outcome_t *o = &p->outcomes[i];
        if (!isnan(o->correct)) {
            c += w[i] * o->correct;
            g += w[i];
        }
        st += w[i] * o->strong;
        total += w[i];
    }
    *acc = g > 0 ? c / g : NAN;
    *strong = total > 0 ? st / total : NAN;
}


static int
sweep_stat(void *arg, const double *w, size_t n, double *vals, size_t m)
{
    boot_ctx_t *x = arg;
    sweep_t *s = x->s;

    (void)m;
    for (size_t j = 0; j < x->n_pts; j++)
        point_values(x->pts[j], w, n, &vals[PER_POINT * j],
                     &vals[PER_POINT * j + 1]);
    double aw = vals[0], as = vals[PER_POINT], scale = vals[PER_POINT + 1];
    for (size_t j = 0; j < x->n_pts; j++)
        vals[PER_POINT * j + 2] =
            metrics_cost_share(vals[PER_POINT * j + 1], scale);
    for (size_t i = 0; i < s->n_curves; i++) {
        double *f = &vals[x->fig_at + SWEEP_FIGURES * i];
        metrics_summary_t sum;
        const sweep_curve_t *c = &s->curves[i];
        if (x->first[i] == SIZE_MAX) {
            for (int k = 0; k < SWEEP_FIGURES; k++)
                f[k] = NAN;
            continue;
        }
        for (size_t k = 0; k < c->n; k++) {
            const double *v = &vals[PER_POINT * (x->first[i] + k)];
            x->buf[k] = (metric_point_t){v[2], v[0]};
        }
        if (metrics_summarise(x->buf, c->n, aw, as, &sum) < 0 && as > aw)
            return -1; /* out of memory; no gap is a NAN replicate */
        for (int k = 0; k < SWEEP_FIGURES; k++)
            f[k] = sweep_figure(&sum, (sweep_figure_t)k);
    }
    for (size_t d = 0; d < s->n_diffs; d++) {
        const sweep_diff_t *df = &s->diffs[d];
        size_t a = SIZE_MAX, b = SIZE_MAX;
        for (size_t i = 0; i < s->n_curves; i++) {
            if (strcmp(s->curves[i].name, df->policy) == 0)
                a = i;
            if (strcmp(s->curves[i].name, df->baseline) == 0)
                b = i;
        }
        double fa = vals[x->fig_at + SWEEP_FIGURES * a + df->figure];
        double fb = vals[x->fig_at + SWEEP_FIGURES * b + df->figure];
        vals[x->diff_at + d] = df->ratio ? fa / fb : fa - fb;
    }
    return 0;
}


/* Whether every point of c (and the anchors) has an outcome per problem. */
static int
usable(const sweep_curve_t *c, size_t n)
{
    if (c->error[0] || c->n == 0)
        return 0;
    for (size_t k = 0; k < c->n; k++)
        if (c->points[k].n_outcomes != n)
            return 0;
    return 1;
}


/* 0 for cascade, 1 for thr, -1 for a curve that is no baseline. */
static int
baseline_rank(const char *name)
{
    return strcmp(name, "cascade") == 0 ? 0 : strcmp(name, "thr") == 0 ? 1 : -1;
}


/* The comparisons of every usable curve with the baselines. */
static int
plan_diffs(sweep_t *s, const size_t *first)
{
    size_t cap = s->n_curves * 2 * (SWEEP_FIGURES + 1);

    free(s->diffs);
    s->n_diffs = 0;
    s->diffs = calloc(cap ? cap : 1, sizeof *s->diffs);
    if (s->diffs == NULL)
        return -1;
    for (size_t b = 0; b < s->n_curves; b++) {
        int rb = baseline_rank(s->curves[b].name);
        if (rb < 0 || first[b] == SIZE_MAX)
            continue;
        for (size_t a = 0; a < s->n_curves; a++) {
            int ra = baseline_rank(s->curves[a].name);
            if (a == b || first[a] == SIZE_MAX || (ra >= 0 && ra <= rb))
                continue;
            for (int f = 0; f <= SWEEP_FIGURES; f++) {
                sweep_diff_t *d = &s->diffs[s->n_diffs++];
                snprintf(d->policy, sizeof d->policy, "%s", s->curves[a].name);
                snprintf(d->baseline, sizeof d->baseline, "%s",
                         s->curves[b].name);
                d->ratio = f == SWEEP_FIGURES;
                d->figure = d->ratio ? SWEEP_DIBC : (sweep_figure_t)f;
            }
        }
    }
    return 0;
}


/* Store the intervals of the run: points, figures, comparisons. */
static void
store(boot_ctx_t *x, const boot_interval_t *iv)
{
    sweep_t *s = x->s;

    for (size_t j = 0; j < x->n_pts; j++) {
        x->pts[j]->iv_accuracy = iv[PER_POINT * j];
        x->pts[j]->iv_strong = iv[PER_POINT * j + 1];
        x->pts[j]->iv_cost = iv[PER_POINT * j + 2];
    }
    for (size_t i = 0; i < s->n_curves; i++)
        if (x->first[i] != SIZE_MAX)
            memcpy(s->curves[i].iv, &iv[x->fig_at + SWEEP_FIGURES * i],
                   sizeof s->curves[i].iv);
    for (size_t d = 0; d < s->n_diffs; d++) {
        sweep_diff_t *df = &s->diffs[d];
        int sign = boot_sign(&iv[x->diff_at + d]);
        df->iv = iv[x->diff_at + d];
        df->verdict = df->ratio                   ? 0
                      : df->figure <= SWEEP_CPT95 ? -sign /* lower wins */
                                                  : sign;
    }
}


int
sweep_bootstrap(sweep_t *s, int reps, double level, uint64_t seed, char *err,
                size_t errlen)
{
    boot_ctx_t x = {.s = s, .n = s->weak.n_outcomes};
    size_t strata[SWEEP_SEEDS_MAX], n_strata = s->n_seeds ? s->n_seeds : 1;
    size_t max_points = 0, total_points = 2;
    boot_interval_t *iv = NULL;
    int rc = -1;

    if (x.n == 0 || s->strong.n_outcomes != x.n || x.n % n_strata != 0)
        return errf(err, errlen,
                    "no intervals: the anchors' outcomes per problem are "
                    "missing or uneven across seeds");
    for (size_t i = 0; i < n_strata; i++)
        strata[i] = x.n / n_strata; /* every seed solved as many problems */
    for (size_t i = 0; i < s->n_curves; i++) {
        total_points += s->curves[i].n;
        if (s->curves[i].n > max_points)
            max_points = s->curves[i].n;
    }
    x.pts = malloc(total_points * sizeof *x.pts);
    x.first = malloc((s->n_curves + 1) * sizeof *x.first);
    x.buf = malloc((max_points + 1) * sizeof *x.buf);
    if (x.pts == NULL || x.first == NULL || x.buf == NULL)
        goto oom;
    x.pts[x.n_pts++] = &s->weak;
    x.pts[x.n_pts++] = &s->strong;
    for (size_t i = 0; i < s->n_curves; i++) {
        sweep_curve_t *c = &s->curves[i];
        x.first[i] = usable(c, x.n) ? x.n_pts : SIZE_MAX;
        for (size_t k = 0; x.first[i] != SIZE_MAX && k < c->n; k++)
            x.pts[x.n_pts++] = &c->points[k];
    }
    if (plan_diffs(s, x.first) < 0)
        goto oom;
    x.fig_at = PER_POINT * x.n_pts;
    x.diff_at = x.fig_at + SWEEP_FIGURES * s->n_curves;
    size_t m = x.diff_at + s->n_diffs;
    iv = malloc(m * sizeof *iv);
    if (iv == NULL)
        goto oom;
    boot_plan_t plan = {.n = x.n,
                        .strata = strata,
                        .n_strata = n_strata,
                        .reps = reps,
                        .level = level,
                        .seed = seed};
    if (boot_run(&plan, sweep_stat, &x, m, iv, err, errlen) < 0)
        goto done;
    store(&x, iv);
    s->boot_reps = reps > 0 ? reps : BOOT_REPS_DEFAULT;
    s->boot_level = level > 0 && level < 1 ? level : BOOT_LEVEL_DEFAULT;
    rc = 0;
    goto done;
oom:
    errf(err, errlen, "out of memory for the bootstrap");
done:
    free(iv);
    free(x.pts);
    free(x.first);
    free(x.buf);
    return rc;
}
