/*
** sweep.c: sweeps, curves, knob grids and their metrics (see sweep.h).
*/
#include "sweep.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"


static const boot_interval_t no_interval = {NAN, NAN, NAN, NAN};

static void
point_init(sweep_point_t *p)
{
    memset(p, 0, sizeof *p);
    p->knob = NAN;
    p->accuracy = p->strong = p->draft = p->discarded = NAN;
    p->token_share = p->seconds = NAN;
    p->cost = p->pgr = p->delta_ibc = NAN;
    p->iv_accuracy = p->iv_strong = p->iv_cost = no_interval;
}


sweep_t *
sweep_new(void)
{
    sweep_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    point_init(&s->weak);
    point_init(&s->strong);
    snprintf(s->weak.spec, sizeof s->weak.spec, "weak");
    snprintf(s->strong.spec, sizeof s->strong.spec, "strong");
    s->weak.knob = 0;
    s->strong.knob = 1;
    return s;
}


void
sweep_destroy(sweep_t **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    sweep_t *s = *sp;
    free(s->weak.outcomes);
    free(s->strong.outcomes);
    for (size_t i = 0; i < s->n_curves; i++) {
        for (size_t k = 0; k < s->curves[i].n; k++)
            free(s->curves[i].points[k].outcomes);
        free(s->curves[i].points);
        free(s->curves[i].frontier);
    }
    free(s->curves);
    free(s->diffs);
    free(s);
    *sp = NULL;
}


sweep_curve_t *
sweep_add_curve(sweep_t *s, const char *name)
{
    if (s->n_curves == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        sweep_curve_t *c = realloc(s->curves, cap * sizeof *c);
        if (c == NULL)
            return NULL;
        s->curves = c;
        s->cap = cap;
    }
    sweep_curve_t *c = &s->curves[s->n_curves++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->summary = (metrics_summary_t){NAN, NAN, NAN, NAN, 0, NAN};
    for (int f = 0; f < SWEEP_FIGURES; f++)
        c->iv[f] = no_interval;
    return c;
}


sweep_t *
sweep_clone(const sweep_t *s)
{
    sweep_t *t = sweep_new();
    char err[SWEEP_ERROR_MAX];

    if (t == NULL)
        return NULL;
    t->problems = s->problems;
    t->seed = s->seed;
    memcpy(t->test_set, s->test_set, sizeof t->test_set);
    memcpy(t->train_set, s->train_set, sizeof t->train_set);
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *from = &s->curves[i];
        sweep_curve_t *c = sweep_add_curve(t, from->name);
        if (c == NULL)
            goto fail;
        memcpy(c->error, from->error, sizeof c->error);
        for (size_t k = 0; k < from->n; k++)
            if (sweep_curve_add(c, from->points[k].spec, from->points[k].knob,
                                err, sizeof err) == NULL)
                goto fail;
    }
    return t;
fail:
    sweep_destroy(&t);
    return NULL;
}


/* Add the measurements of from to the running totals in to (see
** sweep_pool): per-problem figures are summed as totals over problems and
** divided by pool_point_end. */
static void
pool_point_add(sweep_point_t *to, const sweep_point_t *from, double *graded,
               double *all_tokens)
{
    double q = (double)from->problems;
    double g = (double)(from->problems - from->failed); /* failures */

    if (from->problems <= 0)
        return; /* not measured on this seed */
    if (to->problems == 0) {
        to->accuracy = to->strong = to->draft = to->discarded = 0;
        to->seconds = 0;
        to->has_usage = 1;
    }
    to->accuracy += from->accuracy * g;
    *graded += g;
    to->strong += from->strong * q;
    to->draft += from->draft * q;
    to->discarded += from->discarded * q;
    *all_tokens += (from->strong + from->draft + from->discarded) * q;
    to->problems += from->problems;
    to->failed += from->failed;
    to->seconds += from->seconds;
    to->has_usage &= from->has_usage;
    for (int r = 0; r < SWEEP_ROLES; r++) {
        to->input[r] += from->input[r];
        to->cached[r] += from->cached[r];
        to->output[r] += from->output[r];
    }
}


/*
** Concatenate the seeds' outcomes into p, when every seed has them, and
** take p's accuracy and strong tokens from them (what sweep_bootstrap's
** full sample computes).  -1 when out of memory.
*/
static int
pool_outcomes(sweep_point_t *p, const sweep_point_t *const *from, size_t n)
{
    size_t total = 0, at = 0;
    double correct = 0, graded = 0, strong = 0;

    for (size_t i = 0; i < n; i++) {
        if (from[i]->n_outcomes == 0)
            return 0; /* a seed not read: no intervals for p */
        total += from[i]->n_outcomes;
    }
    p->outcomes = malloc(total * sizeof *p->outcomes);
    if (p->outcomes == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        memcpy(p->outcomes + at, from[i]->outcomes,
               from[i]->n_outcomes * sizeof *p->outcomes);
        at += from[i]->n_outcomes;
    }
    p->n_outcomes = total;
    for (size_t k = 0; k < total; k++) {
        if (!isnan(p->outcomes[k].correct)) {
            correct += p->outcomes[k].correct;
            graded++;
        }
        strong += p->outcomes[k].strong;
    }
    p->accuracy = graded > 0 ? correct / graded : NAN;
    p->strong = strong / (double)total;
    return 0;
}


/* Pool point k of every seed (the anchors, 0 weak and 1 strong, with curve
** SIZE_MAX).  -1 when out of memory. */
static int
pool_point(sweep_t *const *sweeps, size_t n, sweep_point_t *to, size_t curve,
           size_t k)
{
    const sweep_point_t *from[SWEEP_SEEDS_MAX];
    double graded = 0, all_tokens = 0;

    for (size_t i = 0; i < n; i++) {
        const sweep_t *s = sweeps[i];
        from[i] = curve != SIZE_MAX ? &s->curves[curve].points[k]
                  : k == 0          ? &s->weak
                                    : &s->strong;
        pool_point_add(to, from[i], &graded, &all_tokens);
    }
    if (to->problems == 0)
        return 0;
    double q = (double)to->problems;
    to->accuracy = graded > 0 ? to->accuracy / graded : NAN;
    to->strong /= q;
    to->draft /= q;
    to->discarded /= q;
    to->token_share = all_tokens > 0 ? to->strong * q / all_tokens : 0;
    return pool_outcomes(to, from, n);
}


sweep_t *
sweep_pool(sweep_t *const *sweeps, size_t n, char *err, size_t errlen)
{
    sweep_t *t;

    if (n == 0 || n > SWEEP_SEEDS_MAX) {
        errf(err, errlen, "cannot pool %zu seeds (1 to %d)", n,
             SWEEP_SEEDS_MAX);
        return NULL;
    }
    for (size_t i = 1; i < n; i++)
        if (sweeps[i]->n_curves != sweeps[0]->n_curves) {
            errf(err, errlen, "seed %zu has %zu curves, seed 0 %zu", i,
                 sweeps[i]->n_curves, sweeps[0]->n_curves);
            return NULL;
        }
    t = sweep_clone(sweeps[0]);
    if (t == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++)
        t->seeds[i] = sweeps[i]->seed;
    t->n_seeds = n;
    if (pool_point(sweeps, n, &t->weak, SIZE_MAX, 0) < 0 ||
        pool_point(sweeps, n, &t->strong, SIZE_MAX, 1) < 0)
        goto oom;
    for (size_t j = 0; j < t->n_curves; j++) {
        sweep_curve_t *c = &t->curves[j];
        for (size_t i = 0; i < n; i++) {
            const sweep_curve_t *from = &sweeps[i]->curves[j];
            if (from->n < c->n)
                c->n = from->n; /* an interrupted seed: what all have */
            if (from->error[0] && !c->error[0])
                errf(c->error, sizeof c->error, "seed %llu: %s",
                     (unsigned long long)sweeps[i]->seed, from->error);
            c->per_seed[i] = from->summary;
        }
        c->n_per_seed = n;
        for (size_t k = 0; k < c->n && !c->error[0]; k++)
            if (pool_point(sweeps, n, &c->points[k], j, k) < 0)
                goto oom;
    }
    return t;
oom:
    errf(err, errlen, "out of memory pooling %zu seeds", n);
    sweep_destroy(&t);
    return NULL;
}


sweep_point_t *
sweep_curve_add(sweep_curve_t *c, const char *spec, double knob, char *err,
                size_t errlen)
{
    if (strlen(spec) >= SWEEP_SPEC_MAX) {
        errf(err, errlen, "policy spec longer than %d bytes: %.40s...",
             SWEEP_SPEC_MAX - 1, spec);
        return NULL;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        sweep_point_t *p = realloc(c->points, cap * sizeof *p);
        if (p == NULL) {
            errf(err, errlen, "out of memory");
            return NULL;
        }
        c->points = p;
        c->cap = cap;
    }
    sweep_point_t *p = &c->points[c->n++];
    point_init(p);
    snprintf(p->spec, sizeof p->spec, "%s", spec);
    p->knob = knob;
    return p;
}


/*
** Add "name:%g" for knob, with ":suffix" when suffix is set (pomdp's model
** file); the anchors' specs at the ends for thr.
*/
static int
add_knob(sweep_curve_t *c, const char *family, double knob, const char *suffix,
         char *err, size_t errlen)
{
    char spec[SWEEP_SPEC_MAX];
    int n;

    knob = round(knob * 1e9) / 1e9; /* 0.1 + 0.2 prints as 0.3 */
    if (strcmp(family, "thr") == 0 && knob <= 0)
        n = snprintf(spec, sizeof spec, "weak");
    else if (strcmp(family, "thr") == 0 && knob >= 1)
        n = snprintf(spec, sizeof spec, "strong");
    else if (suffix != NULL && *suffix)
        n = snprintf(spec, sizeof spec, "%s:%g:%s", family, knob, suffix);
    else
        n = snprintf(spec, sizeof spec, "%s:%g", family, knob);
    if (n < 0 || (size_t)n >= sizeof spec)
        return errf(err, errlen,
                    "policy spec longer than %d bytes: %s:%g:%.40s",
                    SWEEP_SPEC_MAX - 1, family, knob, suffix ? suffix : "");
    return sweep_curve_add(c, spec, knob, err, errlen) ? 0 : -1;
}


int
sweep_family(sweep_curve_t *c, const char *family, const char *pomdp_model,
             char *err, size_t errlen)
{
    /*
    ** Each grid reaches down to a few percent of strong-only's tokens, so
    ** every family is measured at low budgets too, where dIBC is decided.
    */
    static const double thr[] = {0,   0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25,
                                 0.3, 0.35, 0.4,  0.45, 0.5, 0.55, 0.6, 0.65,
                                 0.7, 0.75, 0.8,  0.85, 0.9, 0.95, 1};
    static const double random[] = {0,   0.1, 0.2, 0.3, 0.4, 0.5,
                                    0.6, 0.7, 0.8, 0.9, 1};
    static const double cascade[] = {0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3,
                                     0.4,   0.5,  0.6,  0.7,  0.8, 0.9, 0.95};
    static const double pomdp[] = {3e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 3e-3,
                                   4e-3, 5e-3, 7e-3, 1e-2, 2e-2, 3e-2};
    static const struct {
        const char *name;
        const double *knobs;
        size_t n;
    } grids[] = {
        {"thr", thr, sizeof thr / sizeof *thr},
        {"random", random, sizeof random / sizeof *random},
        {"cascade", cascade, sizeof cascade / sizeof *cascade},
        {"pomdp", pomdp, sizeof pomdp / sizeof *pomdp},
    };

    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++) {
        if (strcmp(family, grids[g].name) != 0)
            continue;
        const char *suffix = strcmp(family, "pomdp") == 0 ? pomdp_model : NULL;
        for (size_t i = 0; i < grids[g].n; i++)
            if (add_knob(c, family, grids[g].knobs[i], suffix, err, errlen) < 0)
                return -1;
        return 0;
    }
    return errf(err, errlen,
                "unknown policy family '%s' (known: thr, random, cascade, "
                "pomdp, agg)",
                family);
}


double
sweep_agg_lambda(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    double v = NAN;

    if (f == NULL)
        return NAN;
    /* The magic line, then "lambda L" (router/agg.h). */
    for (int i = 0; i < 4 && fgets(line, sizeof line, f); i++) {
        char *end;
        if (strncmp(line, "lambda ", 7) != 0)
            continue;
        double x = strtod(line + 7, &end);
        if (end != line + 7 && isfinite(x))
            v = x;
        break;
    }
    fclose(f);
    return v;
}


/*
** Call each(c, item, position) for each comma-separated item of list; an
** empty item is an error naming what.
*/
static int
each_item(sweep_curve_t *c, const char *list, const char *what,
          int (*each)(sweep_curve_t *, const char *, size_t, char *, size_t),
          char *err, size_t errlen)
{
    char item[SWEEP_SPEC_MAX];
    size_t pos = 0;
    const char *p = list;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return errf(err, errlen, "an empty %s in '%s'", what, list);
        if (len >= sizeof item)
            return errf(err, errlen, "a %s longer than %zu bytes in '%.40s...'",
                        what, sizeof item - 1, list);
        memcpy(item, p, len);
        item[len] = '\0';
        if (each(c, item, pos++, err, errlen) < 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}


static int
add_agg(sweep_curve_t *c, const char *file, size_t pos, char *err,
        size_t errlen)
{
    char spec[SWEEP_SPEC_MAX + 8];
    double lambda = sweep_agg_lambda(file);

    snprintf(spec, sizeof spec, "agg:%s", file);
    return sweep_curve_add(c, spec, isnan(lambda) ? (double)pos : lambda, err,
                           errlen)
               ? 0
               : -1;
}


static int
add_spec(sweep_curve_t *c, const char *spec, size_t pos, char *err,
         size_t errlen)
{
    const char *colon = strchr(spec, ':');
    double knob = (double)pos;

    if (strcmp(spec, "weak") == 0)
        knob = 0;
    else if (strcmp(spec, "strong") == 0)
        knob = 1;
    else if (colon && colon[1]) {
        char *end;
        double v = strtod(colon + 1, &end);
        if (*end == '\0' && isfinite(v))
            knob = v;
    }
    return sweep_curve_add(c, spec, knob, err, errlen) ? 0 : -1;
}


int
sweep_family_agg(sweep_curve_t *c, const char *list, char *err, size_t errlen)
{
    if (list == NULL || *list == '\0')
        return errf(err, errlen,
                    "agg needs trained policy files: --agg FILE,FILE,...");
    return each_item(c, list, "policy file", add_agg, err, errlen);
}


static int
add_seq(sweep_curve_t *c, const char *file, size_t pos, char *err,
        size_t errlen)
{
    char spec[SWEEP_SPEC_MAX + 8];
    double lambda = sweep_agg_lambda(file); /* seq files state it alike */

    snprintf(spec, sizeof spec, "seq:%s", file);
    return sweep_curve_add(c, spec, isnan(lambda) ? (double)pos : lambda, err,
                           errlen)
               ? 0
               : -1;
}


int
sweep_family_seq(sweep_curve_t *c, const char *list, char *err, size_t errlen)
{
    if (list == NULL || *list == '\0')
        return errf(err, errlen,
                    "seq needs trained policy files: --seq FILE,FILE,...");
    return each_item(c, list, "policy file", add_seq, err, errlen);
}


int
sweep_curve_specs(sweep_curve_t *c, const char *list, char *err, size_t errlen)
{
    return each_item(c, list, "policy spec", add_spec, err, errlen);
}


const char *
sweep_figure_name(sweep_figure_t f)
{
    static const char *const names[SWEEP_FIGURES] = {"cpt50", "cpt80", "cpt95",
                                                     "delta_ibc", "apgr"};
    return f < SWEEP_FIGURES ? names[f] : "?";
}


double
sweep_figure(const metrics_summary_t *m, sweep_figure_t f)
{
    switch (f) {
    case SWEEP_CPT50:
        return m->cpt50;
    case SWEEP_CPT80:
        return m->cpt80;
    case SWEEP_CPT95:
        return m->cpt95;
    case SWEEP_DIBC:
        return m->delta_ibc;
    case SWEEP_APGR:
        return m->apgr;
    default:
        return NAN;
    }
}


int
sweep_finish(sweep_t *s, char *err, size_t errlen)
{
    double w = s->weak.accuracy, st = s->strong.accuracy;
    double scale = s->strong.strong;
    metric_point_t *pts = NULL;

    if (isnan(w) || isnan(st) || !(scale > 0))
        return errf(err, errlen,
                    "the anchors are not measured (weak-only accuracy %g, "
                    "strong-only accuracy %g and strong tokens per problem %g)",
                    w, st, scale);
    s->weak.cost = metrics_cost_share(s->weak.strong, scale);
    s->strong.cost = 1.0;
    s->weak.pgr = metrics_pgr(w, w, st);
    s->strong.pgr = metrics_pgr(st, w, st);
    s->strong.delta_ibc = metrics_delta_ibc_point(1.0, st, w, st);
    for (size_t i = 0; i < s->n_curves; i++) {
        sweep_curve_t *c = &s->curves[i];
        if (c->error[0])
            continue;
        free(c->frontier);
        c->frontier = malloc((c->n + 2) * sizeof *c->frontier);
        pts = malloc((c->n + 1) * sizeof *pts);
        if (c->frontier == NULL || pts == NULL) {
            errf(err, errlen, "out of memory");
            free(pts);
            return -1;
        }
        for (size_t k = 0; k < c->n; k++) {
            sweep_point_t *p = &c->points[k];
            p->cost = metrics_cost_share(p->strong, scale);
            p->pgr = metrics_pgr(p->accuracy, w, st);
            p->delta_ibc = metrics_delta_ibc_point(p->cost, p->accuracy, w, st);
            pts[k] = (metric_point_t){p->cost, p->accuracy};
        }
        c->n_frontier = metrics_frontier(pts, c->n, w, st, c->frontier);
        for (size_t k = 0; k < c->n; k++) {
            sweep_point_t *p = &c->points[k];
            p->on_frontier = 0;
            for (size_t v = 0; v < c->n_frontier; v++)
                if (c->frontier[v].cost == p->cost &&
                    c->frontier[v].accuracy == p->accuracy)
                    p->on_frontier = 1;
        }
        metrics_summarise(pts, c->n, w, st, &c->summary);
        free(pts);
        pts = NULL;
    }
    return 0;
}
