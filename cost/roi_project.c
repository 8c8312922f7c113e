/*
** roi_project.c: projected monthly cost and savings from a curve (roi.h;
** the formulas with a worked example are in docs/roi.md).
*/
#include "roi_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

/* The strong model's prices are scaled by these in the sensitivity table. */
static const double s_scales[ROI_SENSITIVITY] = {0.125, 0.25, 0.5, 1, 2, 4, 8};


double
roi_point_usd(const roi_point_t *pt, const prices_t *p)
{
    cost_usd_t usd;

    if (pt->problems <= 0 || isnan(pt->accuracy))
        return NAN;
    prices_cost(p, &pt->usage, &usd);
    return usd.total / (double)pt->problems;
}


int
roi_frontier(const roi_curve_t *c, size_t i, const prices_t *p,
             metric_point_t **fp, const roi_point_t ***srcp, size_t *np)
{
    const roi_policy_t *pol = &c->pol[i];
    size_t n = 0, m;
    metric_point_t *pts = malloc((pol->n + 2) * sizeof *pts);
    metric_point_t *f = malloc((pol->n + 2) * sizeof *f);
    const roi_point_t **src = malloc((pol->n + 2) * sizeof *src);
    const roi_point_t **all = malloc((pol->n + 2) * sizeof *all);

    if (pts == NULL || f == NULL || src == NULL || all == NULL) {
        free(pts);
        free(f);
        free(src);
        free(all);
        return -1;
    }
    /* The anchors are settings of every policy, as in eval's frontiers. */
    all[0] = &c->weak;
    all[1] = &c->strong;
    for (size_t k = 0; k < pol->n; k++)
        all[k + 2] = &pol->pts[k];
    for (size_t k = 0; k < pol->n + 2; k++) {
        pts[n] = (metric_point_t){roi_point_usd(all[k], p), all[k]->accuracy};
        all[n++] = all[k];
    }
    /* NAN anchors: no cost-0 weak or cost-1 strong vertex is added; the
    ** anchors are among the points at their real dollar cost. */
    m = metrics_frontier(pts, n, NAN, NAN, f);
    for (size_t v = 0; v < m; v++) {
        src[v] = NULL;
        for (size_t k = 0; k < n && src[v] == NULL; k++)
            if (pts[k].cost == f[v].cost && pts[k].accuracy == f[v].accuracy)
                src[v] = all[k];
    }
    free(pts);
    free(all);
    *fp = f;
    *np = m;
    if (srcp)
        *srcp = src;
    else
        free(src);
    return 0;
}


/* A frontier vertex's name: the anchors by what they are. */
static const char *
vertex_name(const roi_curve_t *c, const roi_point_t *pt)
{
    if (pt == &c->weak)
        return "weak-only";
    if (pt == &c->strong)
        return "strong-only";
    return pt ? pt->spec : "?";
}


/*
** The cheapest point on eval's frontier of policy i (not the cheapest
** mixture, which the concave hull would give; docs/roi.md §4) at target
** accuracy t under p into *ch.
** 0, or -1 when out of memory.
*/
static int
choose(const roi_curve_t *c, size_t i, const prices_t *p, double t,
       roi_choice_t *ch)
{
    metric_point_t *f;
    const roi_point_t **src;
    size_t n;

    memset(ch, 0, sizeof *ch);
    snprintf(ch->policy, sizeof ch->policy, "%s", c->pol[i].name);
    ch->per_problem = ch->accuracy = ch->mix = NAN;
    if (roi_frontier(c, i, p, &f, &src, &n) < 0)
        return -1;
    /* metrics_cpt with anchors 0 and 1 turns a PGR target into an
    ** accuracy target: the lowest cost at which the frontier reaches t. */
    double usd = metrics_cpt(f, n, 0.0, 1.0, t);
    if (!isnan(usd)) {
        size_t v = 0;
        while (v + 1 < n && f[v].cost < usd)
            v++;
        const roi_point_t *hi = src[v], *lo = src[v > 0 ? v - 1 : 0];
        ch->reached = 1;
        ch->per_problem = usd;
        ch->accuracy = metrics_frontier_at(f, n, usd);
        if (f[v].cost == usd || v == 0) {
            lo = hi;
            ch->mix = 1;
        } else {
            ch->mix = (usd - f[v - 1].cost) / (f[v].cost - f[v - 1].cost);
        }
        snprintf(ch->spec_lo, sizeof ch->spec_lo, "%s", vertex_name(c, lo));
        snprintf(ch->spec_hi, sizeof ch->spec_hi, "%s", vertex_name(c, hi));
    }
    free(f);
    free(src);
    return 0;
}


/* The cheapest policy at t under p: fills choices (c->n) and returns the
** index of the cheapest, -1 when none reaches t, -2 when out of memory. */
static int
choose_all(const roi_curve_t *c, const prices_t *p, double t,
           roi_choice_t *choices)
{
    int best = -1;

    for (size_t i = 0; i < c->n; i++) {
        if (choose(c, i, p, t, &choices[i]) < 0)
            return -2;
        if (choices[i].reached &&
            (best < 0 || choices[i].per_problem < choices[best].per_problem))
            best = (int)i;
    }
    return best;
}


/* monthly = volume * per problem (+ the fixed cost for a routed setup). */
static double
monthly(const roi_query_t *q, double per_problem, int routed)
{
    return q->volume * per_problem + (routed ? q->fixed_monthly : 0);
}


int
roi_project(const roi_curve_t *c, const prices_t *p, const roi_query_t *q,
            roi_projection_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->query = *q;
    out->acc_weak = c->weak.accuracy;
    out->acc_strong = c->strong.accuracy;
    out->strong_per_problem = roi_point_usd(&c->strong, p);
    out->weak_per_problem = roi_point_usd(&c->weak, p);
    out->best = -1;
    if (!(q->volume > 0) || !(q->fixed_monthly >= 0)) {
        errf(err, errlen,
             "the volume must be positive and the fixed monthly "
             "cost not negative");
        return -1;
    }
    if (isnan(out->strong_per_problem)) {
        errf(err, errlen, "%s: no strong-only anchor to compare with",
             c->source);
        return -1;
    }
    if (isfinite(q->target_accuracy)) {
        out->target = q->target_accuracy;
    } else if (isfinite(q->target_pgr)) {
        if (!(out->acc_strong > out->acc_weak)) {
            errf(err, errlen,
                 "%s: a PGR target needs a weak-only anchor below "
                 "strong-only's accuracy",
                 c->source);
            return -1;
        }
        out->target =
            out->acc_weak + q->target_pgr * (out->acc_strong - out->acc_weak);
    } else {
        errf(err, errlen, "give a target accuracy or a target PGR");
        return -1;
    }
    if ((out->policies = calloc(c->n ? c->n : 1, sizeof *out->policies)) ==
        NULL)
        goto oom;
    out->n_policies = c->n;
    if ((out->best = choose_all(c, p, out->target, out->policies)) == -2)
        goto oom;

    double pp = out->best >= 0 ? out->policies[out->best].per_problem : NAN;
    double acc = out->best >= 0 ? out->policies[out->best].accuracy : NAN;
    out->monthly_strong = monthly(q, out->strong_per_problem, 0);
    out->monthly_policy = monthly(q, pp, 1);
    out->savings = out->monthly_strong - out->monthly_policy;
    out->savings_pct = 100 * out->savings / out->monthly_strong;
    out->per_correct_strong = out->strong_per_problem / out->acc_strong;
    out->per_correct_policy = out->monthly_policy / (q->volume * acc);
    out->strong_only_better = out->monthly_policy > out->monthly_strong;
    out->break_even_volume =
        out->strong_per_problem > pp
            ? q->fixed_monthly / (out->strong_per_problem - pp)
            : NAN;

    for (int k = 0; k < ROI_SENSITIVITY; k++) {
        struct roi_sensitivity *s = &out->sensitivity[k];
        prices_t scaled = *p;
        roi_choice_t *tmp = calloc(c->n ? c->n : 1, sizeof *tmp);

        if (tmp == NULL)
            goto oom;
        scaled.role[COST_STRONG].input *= s_scales[k];
        scaled.role[COST_STRONG].cached *= s_scales[k];
        scaled.role[COST_STRONG].output *= s_scales[k];
        s->strong_scale = s_scales[k];
        s->ratio =
            p->role[COST_WEAK].output > 0
                ? scaled.role[COST_STRONG].output / p->role[COST_WEAK].output
                : NAN;
        s->best = choose_all(c, &scaled, out->target, tmp);
        s->per_problem = s->best >= 0 ? tmp[s->best].per_problem : NAN;
        free(tmp);
        if (s->best == -2)
            goto oom;
        s->monthly_strong = monthly(q, roi_point_usd(&c->strong, &scaled), 0);
        s->monthly_policy = monthly(q, s->per_problem, 1);
        s->savings_pct =
            100 * (s->monthly_strong - s->monthly_policy) / s->monthly_strong;
        s->strong_only_better = s->monthly_policy > s->monthly_strong;
    }
    return 0;
oom:
    errf(err, errlen, "out of memory projecting %s", c->source);
    roi_projection_clear(out);
    return -1;
}


void
roi_projection_clear(roi_projection_t *pr)
{
    if (pr == NULL)
        return;
    free(pr->policies);
    pr->policies = NULL;
    pr->n_policies = 0;
}
