/*
** eval_print.c: `trim eval`'s report on stdout (see eval_print.h).
*/
#include "eval_print.h"

#include <math.h>
#include <stdio.h>


/* "12.3%" of a share, or "-" for NAN. */
static const char *
pct(char *b, size_t n, double share)
{
    if (isnan(share))
        return "-";
    snprintf(b, n, "%.1f%%", 100 * share);
    return b;
}


/* v with prec decimals, or "-" for NAN. */
static const char *
dec(char *b, size_t n, double v, int prec)
{
    if (isnan(v))
        return "-";
    snprintf(b, n, "%.*f", prec, v);
    return b;
}


/*
** A figure with its interval: "43.2% [38.1, 50.2]" (percent 1, prec 1) or
** "2.31 [1.90, 2.75]" (percent 0, prec 2); an end that is NAN (not
** reached in some replicates) prints as "n/r"; no interval, the figure
** alone.
*/
static const char *
with_iv(char *b, size_t n, double v, const boot_interval_t *iv, int percent,
        int prec)
{
    char m[24], lo[24], hi[24];
    double k = percent ? 100 : 1;

    if (isnan(v))
        snprintf(m, sizeof m, "-");
    else
        snprintf(m, sizeof m, "%.*f%s", prec, k * v, percent ? "%" : "");
    if (iv == NULL || (isnan(iv->lo) && isnan(iv->hi))) {
        snprintf(b, n, "%s", m);
        return b;
    }
    snprintf(lo, sizeof lo, "%.*f", prec, k * iv->lo);
    snprintf(hi, sizeof hi, "%.*f", prec, k * iv->hi);
    snprintf(b, n, "%s [%s, %s]", m, isnan(iv->lo) ? "n/r" : lo,
             isnan(iv->hi) ? "n/r" : hi);
    return b;
}


static void
print_curve(const sweep_curve_t *c)
{
    const metrics_summary_t *m = &c->summary;
    char b1[96], b2[96], b3[96], b4[32];

    if (c->error[0]) {
        printf("\n%s: not evaluated: %s\n", c->name, c->error);
        return;
    }
    printf("\n%s: %zu points (* on the Pareto frontier)\n", c->name, c->n);
    printf("  %-8s %-22s %9s %-22s %7s %6s %8s %9s   %s\n", "knob", "accuracy",
           "strong/q", "cost", "PGR", "dIBC", "draft/q", "discard/q", "spec");
    for (size_t k = 0; k < c->n; k++) {
        const sweep_point_t *p = &c->points[k];
        printf(
            "  %-8.4g %-22s %9.1f %-22s %7s %6s %8.1f %9.1f %c %s\n", p->knob,
            with_iv(b1, sizeof b1, p->accuracy, &p->iv_accuracy, 0, 3),
            p->strong, with_iv(b2, sizeof b2, p->cost, &p->iv_cost, 1, 1),
            dec(b3, sizeof b3, p->pgr, 3), dec(b4, sizeof b4, p->delta_ibc, 2),
            p->draft, p->discarded, p->on_frontier ? '*' : ' ', p->spec);
    }
    printf("  CPT(50%%) %s  CPT(80%%) %s  CPT(95%%) %s\n",
           with_iv(b1, sizeof b1, m->cpt50, &c->iv[SWEEP_CPT50], 1, 1),
           with_iv(b2, sizeof b2, m->cpt80, &c->iv[SWEEP_CPT80], 1, 1),
           with_iv(b3, sizeof b3, m->cpt95, &c->iv[SWEEP_CPT95], 1, 1));
    printf("  dIBC %s (mean of %d targets)  APGR %s\n",
           with_iv(b1, sizeof b1, m->delta_ibc, &c->iv[SWEEP_DIBC], 0, 2),
           m->delta_ibc_targets,
           with_iv(b2, sizeof b2, m->apgr, &c->iv[SWEEP_APGR], 0, 3));
    if (c->n_per_seed > 1) {
        printf("  per seed: CPT(95%%)");
        for (size_t i = 0; i < c->n_per_seed; i++)
            printf(" %s", pct(b1, sizeof b1, c->per_seed[i].cpt95));
        printf("; dIBC");
        for (size_t i = 0; i < c->n_per_seed; i++)
            printf(" %s", dec(b1, sizeof b1, c->per_seed[i].delta_ibc, 2));
        printf("\n");
    }
}


/* The comparisons with the baselines, one line each. */
static void
print_comparisons(const sweep_t *s)
{
    char b[96];

    if (s->n_diffs == 0)
        return;
    printf("\npaired comparisons (%.0f%% intervals over the same resampled "
           "problems; a side is\nnamed better only when the interval of "
           "the difference excludes zero):\n",
           100 * s->boot_level);
    for (size_t d = 0; d < s->n_diffs; d++) {
        const sweep_diff_t *df = &s->diffs[d];
        int percent = df->figure <= SWEEP_CPT95;
        const char *what =
            df->ratio ? "dIBC ratio" : sweep_figure_name(df->figure);
        printf("  %-10s vs %-8s %-10s %s %-28s", df->policy, df->baseline, what,
               df->ratio ? "=" : "diff",
               with_iv(b, sizeof b, df->iv.mean, &df->iv, percent && !df->ratio,
                       percent && !df->ratio ? 1 : 2));
        if (df->ratio)
            printf("\n");
        else if (df->verdict > 0)
            printf(" %s better\n", df->policy);
        else if (df->verdict < 0)
            printf(" %s better\n", df->baseline);
        else
            printf(" not shown either way\n");
    }
}


void
eval_print(const sweep_t *s, const char *dir)
{
    char b1[96], b2[96], b3[96], b4[96], b5[96];
    size_t seeds = s->n_seeds ? s->n_seeds : 1;

    printf("# trim eval: %lld problems", (long long)s->problems);
    if (seeds == 1)
        printf(", seed %llu", (unsigned long long)s->seed);
    else
        printf(" x %zu seeds (", seeds);
    for (size_t i = 0; seeds > 1 && i < seeds; i++)
        printf("%s%llu", i ? ", " : "", (unsigned long long)s->seeds[i]);
    printf("%s, test set %s, train set %s\n", seeds > 1 ? ")" : "", s->test_set,
           s->train_set[0] ? s->train_set : "(not stated)");
    printf("# cost = strong tokens per problem as a share of strong-only's; "
           "figures on the\n# upper-left Pareto frontier with both anchors, "
           "linearly interpolated, over\n# every seed's problems\n");
    if (s->boot_reps > 0)
        printf("# [lo, hi]: %.0f%% percentile bootstrap, %d replicates of "
               "the problems resampled\n# within each seed, the same for "
               "every policy; n/r: not reached in some replicates\n",
               100 * s->boot_level, s->boot_reps);
    else
        printf("# no intervals (--bootstrap 0, or outcomes not read)\n");
    printf("anchors: weak-only accuracy %s; strong-only accuracy %s at "
           "%.1f strong tokens/problem\n",
           with_iv(b1, sizeof b1, s->weak.accuracy, &s->weak.iv_accuracy, 0, 3),
           with_iv(b2, sizeof b2, s->strong.accuracy, &s->strong.iv_accuracy, 0,
                   3),
           s->strong.strong);
    for (size_t i = 0; i < s->n_curves; i++)
        print_curve(&s->curves[i]);
    printf("\n%-12s %6s %-20s %-20s %-20s %-20s %-20s\n", "policy", "points",
           "CPT(50%)", "CPT(80%)", "CPT(95%)", "dIBC", "APGR");
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *c = &s->curves[i];
        const metrics_summary_t *m = &c->summary;
        if (c->error[0]) {
            printf("%-12s %6s   not evaluated (see above)\n", c->name, "-");
            continue;
        }
        printf("%-12s %6zu %-20s %-20s %-20s %-20s %-20s\n", c->name, c->n,
               with_iv(b1, sizeof b1, m->cpt50, &c->iv[SWEEP_CPT50], 1, 1),
               with_iv(b2, sizeof b2, m->cpt80, &c->iv[SWEEP_CPT80], 1, 1),
               with_iv(b3, sizeof b3, m->cpt95, &c->iv[SWEEP_CPT95], 1, 1),
               with_iv(b4, sizeof b4, m->delta_ibc, &c->iv[SWEEP_DIBC], 0, 2),
               with_iv(b5, sizeof b5, m->apgr, &c->iv[SWEEP_APGR], 0, 3));
    }
    print_comparisons(s);
    printf("\nfiles: %s/curves.csv %s/summary.csv %s/eval.json "
           "%s/curves.svg %s/comparisons.csv\n",
           dir, dir, dir, dir, dir);
}
