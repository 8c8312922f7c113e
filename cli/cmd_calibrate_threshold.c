/*
** cmd_calibrate_threshold.c: `trim calibrate threshold`, TRIM-Thr's k from
** the PRM scores a store recorded, offline.
**
**   trim calibrate threshold --db FILE --target-strong-share S [--run N]
**   trim calibrate threshold --db FILE --target-pgr X --baseline-run M
**                            --weak-run W [--run N]
**
** Like RouteLLM's calibrate_threshold, which scores a fixed set of prompts
** with its router once and takes the (1 - strong share) quantile of those
** scores as the threshold, so that share of the prompts scores above it and
** goes to the strong model.  Here the scores are the recorded drafts' PRM
** scores and thr:k regenerates a draft scoring below k; the target is a
** share of tokens, not of calls, so k is where the replayed strong-token
** share (strong tokens over every generated token, as `trim run` reports
** it) first reaches S: a token-weighted quantile.  RouteLLM gives a point;
** here a percentile bootstrap over problems gives an interval for k.
**
** The replay holds each problem's recorded drafts fixed (see description).
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cli.h"
#include "errf.h"
#include "store.h"

#define BOOT_SEED 1 /* the resampling is part of the answer: fixed */

static const char description[] =
    "Pick TRIM-Thr's threshold k from the PRM scores of recorded drafts\n"
    "(runs --run N, default every run with scored drafts but the\n"
    "baselines), offline, like RouteLLM's calibrate_threshold.  thr:k\n"
    "regenerates a draft scoring below k, so replaying k over the recorded\n"
    "drafts gives its strong-token share: every draft's tokens are\n"
    "generated, and a draft below k adds its strong step's (the recorded\n"
    "one where the run regenerated it, else the mean recorded strong step).\n"
    "--target-strong-share S: the smallest k whose replayed share reaches S.\n"
    "--target-pgr X: the smallest k whose replayed PGR reaches X, against\n"
    "--baseline-run M (strong-only) and --weak-run W (weak-only) of the same\n"
    "problems (matched by source): each problem's recorded outcome moves\n"
    "towards its weak-only outcome by the share of its regenerations k\n"
    "drops, and towards its strong-only outcome by the share of its kept\n"
    "drafts k regenerates.  95% intervals: a bootstrap over problems, for k\n"
    "and for the target's figure at k.\n"
    "Caveat: after a regenerated step the real run drafts on a different\n"
    "prefix, so its later drafts and their scores would differ; the replay\n"
    "keeps the recorded ones.  It is exact at the recorded run's own\n"
    "decisions and drifts as k moves away from them (on the simulator, from\n"
    "a thr:0.5 run: 2-3 share points at shares 0.1 and 0.5): record with a\n"
    "threshold near the target, or run thr:k and calibrate again on that\n"
    "run.  The intervals cover the sampling of problems, not that drift.";

/* A scored draft: its score, its tokens and its strong step's (-1: none
** recorded), its step and its problem (unit). */
typedef struct draft {
    double score;
    int64_t tokens, strong;
    int32_t step;
    int regenerated; /* in the recorded run */
    size_t unit;
} draft_t;

/*
** A recorded problem with scored drafts: its outcome, its drafts the run
** regenerated and kept, and its baselines' outcomes (--target-pgr; -1: not
** graded there).
*/
typedef struct unit {
    char *source;
    int ok, n_regenerated, n_kept;
    int weak_ok, strong_ok;
} unit_t;

/* A baseline run's graded problems, by source. */
typedef struct outcomes {
    unit_t *v; /* source and weak_ok (the outcome) used */
    size_t n, cap;
} outcomes_t;

typedef struct calib {
    int64_t run, baseline, weak_run;
    double target_share, target_pgr;
    draft_t *d; /* by score once read */
    size_t n_d, cap_d;
    unit_t *u;
    size_t n_u, cap_u;
    int64_t last_problem; /* of the last unit */
    double strong_sum[2]; /* strong steps' tokens: [1] of the replayed
                             runs, [0] of the baseline run */
    int64_t strong_rows[2];
    double mean_strong; /* tokens of a strong step not recorded */
    double k;           /* the choice on every problem once, NAN: none */
    int failed;         /* out of memory */
} calib_t;


/* Room for one more of size bytes at v[n]; 0, or -1 out of memory. */
static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 256;
    void *p = realloc(*v, c * size);
    if (p == NULL)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}


/* Whether the rows of run run_id are replayed. */
static int
replayed(const calib_t *c, int64_t run_id)
{
    if (c->run > 0)
        return run_id == c->run;
    return run_id != c->baseline && run_id != c->weak_run;
}


/* A new unit for row's problem; 0, or -1 out of memory. */
static int
new_unit(calib_t *c, const store_step_context_t *row)
{
    if (grow((void **)&c->u, &c->cap_u, c->n_u, sizeof *c->u) < 0)
        return -1;
    unit_t *u = &c->u[c->n_u];
    memset(u, 0, sizeof *u);
    u->ok = row->correct;
    if ((u->source = strdup(row->source ? row->source : "")) == NULL)
        return -1;
    c->n_u++;
    c->last_problem = row->step.problem_id;
    return 0;
}


/* store_each_step_context: rows come by problem, step, draft first. */
static int
take_row(void *ctx, const store_step_context_t *row)
{
    calib_t *c = ctx;
    const store_step_t *s = &row->step;
    int mine = replayed(c, row->run_id);
    draft_t *last = c->n_d > 0 ? &c->d[c->n_d - 1] : NULL;

    if (s->kind == STORE_STRONG) {
        /* Strong steps of replayed problems (with scored drafts), or of
        ** the strong-only baseline. */
        int unit = mine && c->n_u > 0 && c->last_problem == s->problem_id;
        if (unit || row->run_id == c->baseline) {
            c->strong_sum[unit] += (double)s->completion_tokens;
            c->strong_rows[unit]++;
        }
        /* The strong step that replaced the draft just before it. */
        if (unit && last && last->unit == c->n_u - 1 &&
            last->step == s->step_index)
            last->strong = s->completion_tokens;
        return 0;
    }
    if (!mine || isnan(s->prm_score))
        return 0;
    if ((c->n_u == 0 || c->last_problem != s->problem_id) &&
        new_unit(c, row) < 0)
        goto oom;
    if (grow((void **)&c->d, &c->cap_d, c->n_d, sizeof *c->d) < 0)
        goto oom;
    c->d[c->n_d++] = (draft_t){.score = s->prm_score,
                               .tokens = s->completion_tokens,
                               .strong = -1,
                               .step = s->step_index,
                               .regenerated = !s->accepted,
                               .unit = c->n_u - 1};
    if (s->accepted)
        c->u[c->n_u - 1].n_kept++;
    else
        c->u[c->n_u - 1].n_regenerated++;
    return 0;
oom:
    c->failed = 1;
    return 1;
}


static int
take_outcome(void *ctx, const store_problem_t *p)
{
    outcomes_t *o = ctx;

    if (p->correct < 0)
        return 0;
    if (grow((void **)&o->v, &o->cap, o->n, sizeof *o->v) < 0 ||
        (o->v[o->n].source = strdup(p->source ? p->source : "")) == NULL)
        return 1;
    o->v[o->n++].weak_ok = p->correct;
    return 0;
}


static int
by_source(const void *a, const void *b)
{
    return strcmp(((const unit_t *)a)->source, ((const unit_t *)b)->source);
}


/* Run run_id's graded outcomes into *o, sorted by source; 0 or -1. */
static int
read_outcomes(store_reader_t *r, int64_t run_id, outcomes_t *o, char *err,
              size_t errlen)
{
    if (store_each_problem(r, run_id, take_outcome, o, err, errlen) < 0)
        return -1;
    if (o->n == 0)
        return errf(err, errlen, "run %lld has no graded problem",
                    (long long)run_id);
    qsort(o->v, o->n, sizeof *o->v, by_source);
    return 0;
}


/* The outcome of source in o, or -1. */
static int
outcome_of(const outcomes_t *o, const char *source)
{
    unit_t key = {.source = (char *)source};
    const unit_t *f =
        o->n ? bsearch(&key, o->v, o->n, sizeof *o->v, by_source) : NULL;
    return f ? f->weak_ok : -1;
}


static void
outcomes_clear(outcomes_t *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].source);
    free(o->v);
    memset(o, 0, sizeof *o);
}


/*
** Keep the units graded in both baselines (by source), with their drafts;
** the others are dropped.  0, or -1 with err when none is left.
*/
static int
match_baselines(calib_t *c, store_reader_t *r, char *err, size_t errlen)
{
    outcomes_t strong = {0}, weak = {0};
    size_t *to = NULL, n = 0, nd = 0;
    int rc = -1;

    if (read_outcomes(r, c->baseline, &strong, err, errlen) < 0 ||
        read_outcomes(r, c->weak_run, &weak, err, errlen) < 0)
        goto done;
    if ((to = malloc((c->n_u + 1) * sizeof *to)) == NULL) {
        errf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c->n_u; i++) {
        unit_t u = c->u[i];
        u.strong_ok = outcome_of(&strong, u.source);
        u.weak_ok = outcome_of(&weak, u.source);
        to[i] = SIZE_MAX;
        if (u.strong_ok < 0 || u.weak_ok < 0 || u.ok < 0) {
            free(u.source);
            continue;
        }
        to[i] = n;
        c->u[n++] = u;
    }
    c->n_u = n;
    for (size_t i = 0; i < c->n_d; i++)
        if (to[c->d[i].unit] != SIZE_MAX) {
            c->d[nd] = c->d[i];
            c->d[nd++].unit = to[c->d[i].unit];
        }
    c->n_d = nd;
    if (n == 0)
        errf(err, errlen,
             "no replayed problem is graded in both run %lld and run %lld "
             "(problems are matched by source: the same problems and seed)",
             (long long)c->baseline, (long long)c->weak_run);
    else
        rc = 0;
done:
    free(to);
    outcomes_clear(&strong);
    outcomes_clear(&weak);
    return rc;
}


static int
by_score(const void *a, const void *b)
{
    double x = ((const draft_t *)a)->score, y = ((const draft_t *)b)->score;
    return (x > y) - (x < y);
}


/* A draft's strong step: recorded, or the mean one. */
static double
strong_tokens(const calib_t *c, const draft_t *d)
{
    return d->strong >= 0 ? (double)d->strong : c->mean_strong;
}


/*
** The threshold between score s, the last one regenerated, and next, the
** first one kept (INFINITY: none); NAN when no k <= 1 is above s.
*/
static double
between(double s, double next)
{
    if (isfinite(next))
        return (s + next) / 2;
    return s < 1 ? (s + 1) / 2 : NAN;
}


/* The replayed strong-token share of thr:k with problem weights w. */
static double
share_at(const calib_t *c, const double *w, double k)
{
    double all = 0, strong = 0;

    for (size_t i = 0; i < c->n_d; i++) {
        const draft_t *d = &c->d[i];
        all += w[d->unit] * (double)d->tokens;
        if (d->score < k)
            strong += w[d->unit] * strong_tokens(c, d);
    }
    return all + strong > 0 ? strong / (all + strong) : 0;
}


/* The smallest k whose replayed share reaches the target; NAN: none. */
static double
k_for_share(const calib_t *c, const double *w)
{
    double all = 0, strong = 0;

    if (c->target_share <= 0)
        return 0;
    for (size_t i = 0; i < c->n_d; i++)
        all += w[c->d[i].unit] * (double)c->d[i].tokens;
    for (size_t i = 0; i < c->n_d;) {
        double s = c->d[i].score;
        for (; i < c->n_d && c->d[i].score == s; i++)
            strong += w[c->d[i].unit] * strong_tokens(c, &c->d[i]);
        if (strong / (all + strong) >= c->target_share)
            return between(s, i < c->n_d ? c->d[i].score : INFINITY);
    }
    return NAN;
}


/*
** A problem's outcome when thr:k regenerates `more` of the drafts its run
** kept and keeps `fewer` of those it regenerated: its recorded outcome,
** moved towards the weak-only run's by the share of its regenerations
** dropped and towards the strong-only run's by the share of its kept
** drafts regenerated (so none regenerated gives weak-only, all gives
** strong-only, the recorded decisions the recorded outcome).
*/
static double
outcome_at(const unit_t *u, int more, int fewer)
{
    double o = u->ok;

    if (fewer > 0)
        o += (u->weak_ok - u->ok) * (double)fewer / u->n_regenerated;
    if (more > 0)
        o += (u->strong_ok - u->ok) * (double)more / u->n_kept;
    return o < 0 ? 0 : o > 1 ? 1 : o;
}


/*
** The smallest k whose replayed PGR (weights w) reaches the target, or with
** at >= 0 the PGR of thr:at.  NAN when strong-only is not more accurate
** than weak-only, or the target is not reached.  Walks the drafts up the
** scores, each one regenerated from there on.
*/
static double
pgr_scan(const calib_t *c, const double *w, double at)
{
    double weak = 0, strong = 0, sum = 0, k = NAN;
    int *more = calloc(c->n_u + 1, sizeof *more);
    int *fewer = calloc(c->n_u + 1, sizeof *fewer);

    for (size_t i = 0; more && fewer && i < c->n_u; i++) {
        weak += w[i] * c->u[i].weak_ok;
        strong += w[i] * c->u[i].strong_ok;
        fewer[i] = c->u[i].n_regenerated; /* k = 0 regenerates none */
        sum += w[i] * c->u[i].weak_ok;
    }
    if (!more || !fewer || strong <= weak)
        goto done;
    if (at < 0 && c->target_pgr <= 0) {
        k = 0;
        goto done;
    }
    for (size_t i = 0; i < c->n_d;) {
        double s = c->d[i].score;
        if (at >= 0 && s >= at)
            break;
        for (; i < c->n_d && c->d[i].score == s; i++) {
            const draft_t *d = &c->d[i];
            const unit_t *u = &c->u[d->unit];
            double before = outcome_at(u, more[d->unit], fewer[d->unit]);
            if (d->regenerated)
                fewer[d->unit]--;
            else
                more[d->unit]++;
            sum += w[d->unit] *
                   (outcome_at(u, more[d->unit], fewer[d->unit]) - before);
        }
        if (at < 0 && (sum - weak) / (strong - weak) >= c->target_pgr) {
            k = between(s, i < c->n_d ? c->d[i].score : INFINITY);
            goto done;
        }
    }
    if (at >= 0)
        k = (sum - weak) / (strong - weak);
done:
    free(more);
    free(fewer);
    return k;
}


/* The chosen k with weights w; NAN when the target is not reached. */
static double
k_for(const calib_t *c, const double *w)
{
    return c->target_pgr > 0 ? pgr_scan(c, w, -1) : k_for_share(c, w);
}


/* The target's figure (share or PGR) of thr:k with weights w. */
static double
figure_at(const calib_t *c, const double *w, double k)
{
    if (isnan(k))
        return NAN;
    return c->target_pgr > 0 ? pgr_scan(c, w, k) : share_at(c, w, k);
}


/* A replicate: its own k, and the figure of the full sample's k. */
static int
boot_k(void *ctx, const double *w, size_t n, double *vals, size_t m)
{
    const calib_t *c = ctx;

    (void)n;
    (void)m;
    vals[0] = k_for(c, w);
    vals[1] = figure_at(c, w, c->k);
    return 0;
}


/* Read the replayed drafts (and the baselines' outcomes); 0 or -1. */
static int
read_store(calib_t *c, store_reader_t *r, const char *db, char *err,
           size_t errlen)
{
    if (store_each_step_context(r, c->run, take_row, c, err, errlen) < 0)
        return -1;
    /* A strong-only baseline says how long a strong step is. */
    if (c->run > 0 && c->baseline > 0 && c->strong_rows[1] == 0 &&
        store_each_step_context(r, c->baseline, take_row, c, err, errlen) < 0)
        return -1;
    if (c->failed)
        return errf(err, errlen, "out of memory reading %s", db);
    if (c->n_d == 0)
        return errf(err, errlen, "%s: no scored draft in %s", db,
                    c->run > 0 ? "that run" : "any run");
    int k = c->strong_rows[1] > 0;
    if (c->strong_rows[k] == 0)
        return errf(err, errlen,
                    "%s: no strong step recorded to tell a strong step's "
                    "length: give --baseline-run M (a strong-only run)",
                    db);
    c->mean_strong = c->strong_sum[k] / (double)c->strong_rows[k];
    if (c->target_pgr > 0 && match_baselines(c, r, err, errlen) < 0)
        return -1;
    qsort(c->d, c->n_d, sizeof *c->d, by_score);
    return 0;
}


/* A number for JSON, null for NAN. */
static json_t *
real_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}


/* iv: k's interval and the target figure's at k, over reps resamples. */
static void
report(const calib_t *c, const double *one, const boot_interval_t iv[2],
       int reps, int json)
{
    double share = share_at(c, one, c->k);
    const char *metric = c->target_pgr > 0 ? "pgr" : "strong_share";
    size_t regenerated = 0;

    for (size_t i = 0; i < c->n_d; i++)
        regenerated += c->d[i].score < c->k;
    if (json) {
        json_t *j = json_pack(
            "{s:o, s:o, s:o, s:s, s:f, s:o, s:o, s:o, s:o, s:I, s:I, s:I, "
            "s:f, s:i}",
            "k", real_or_null(c->k), "lo", real_or_null(iv[0].lo), "hi",
            real_or_null(iv[0].hi), "metric", metric, "target",
            c->target_pgr > 0 ? c->target_pgr : c->target_share, "at_k",
            real_or_null(iv[1].mean), "at_k_lo", real_or_null(iv[1].lo),
            "at_k_hi", real_or_null(iv[1].hi), "share", real_or_null(share),
            "problems", (json_int_t)c->n_u, "drafts", (json_int_t)c->n_d,
            "regenerated", (json_int_t)regenerated, "mean_strong_tokens",
            c->mean_strong, "reps", reps);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(j);
        return;
    }
    printf("%zu problems, %zu scored drafts; an unrecorded strong step "
           "counts %.1f tokens\n",
           c->n_u, c->n_d, c->mean_strong);
    if (isnan(c->k))
        return;
    printf("thr:%.4f   95%% interval %.4f - %.4f (%d bootstrap resamples of "
           "the problems)\n",
           c->k, iv[0].lo, iv[0].hi, reps);
    printf("replayed at k: %s %.3f (95%% interval %.3f - %.3f), ",
           c->target_pgr > 0 ? "PGR" : "strong-token share", iv[1].mean,
           iv[1].lo, iv[1].hi);
    if (c->target_pgr > 0)
        printf("strong-token share %.3f, ", share);
    printf("%zu of %zu drafts regenerated\n", regenerated, c->n_d);
}


static void
calib_clear(calib_t *c)
{
    for (size_t i = 0; i < c->n_u; i++)
        free(c->u[i].source);
    free(c->u);
    free(c->d);
}


int
cmd_calibrate_threshold(int argc, char **argv)
{
    const char *db = "trim.db";
    int64_t reps = BOOT_REPS_DEFAULT;
    int json = 0;
    calib_t c = {0};
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "the store with the recorded runs"},
        {"run", FLAG_INT, &c.run, 0, 9.2e18,
         "replay this run only (0: every run with scored drafts but the "
         "baselines)"},
        {"target-strong-share", FLAG_DOUBLE, &c.target_share, 0, 1,
         "strong tokens over all generated tokens to reach"},
        {"target-pgr", FLAG_DOUBLE, &c.target_pgr, 0, 1,
         "performance gap recovered to reach (with --baseline-run, "
         "--weak-run)"},
        {"baseline-run", FLAG_INT, &c.baseline, 0, 9.2e18,
         "a strong-only run of the same problems"},
        {"weak-run", FLAG_INT, &c.weak_run, 0, 9.2e18,
         "a weak-only run of the same problems"},
        {"reps", FLAG_INT, &reps, 100, 100000, "bootstrap resamples"},
        {"json", FLAG_BOOL, &json, 0, 0, "one JSON object"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    store_reader_t *r = NULL;
    boot_interval_t iv[2];
    double *one = NULL;
    char err[512];
    int rc = cli_parse("calibrate threshold",
                       "--db FILE (--target-strong-share S | --target-pgr X "
                       "--baseline-run M --weak-run W) [--run N]",
                       description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if ((c.target_share > 0) == (c.target_pgr > 0) ||
        (c.target_pgr > 0 && (c.baseline == 0 || c.weak_run == 0))) {
        fprintf(stderr, "trim calibrate threshold: give --target-strong-share "
                        "S, or --target-pgr X with --baseline-run M and "
                        "--weak-run W\n");
        return 2;
    }
    rc = 1;
    if ((r = store_reader_new(db, err, sizeof err)) == NULL ||
        read_store(&c, r, db, err, sizeof err) < 0)
        goto done;
    if ((one = malloc(c.n_u * sizeof *one)) == NULL) {
        errf(err, sizeof err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c.n_u; i++)
        one[i] = 1;
    c.k = k_for(&c, one);
    boot_plan_t plan = {.n = c.n_u, .reps = (int)reps, .seed = BOOT_SEED};
    if (boot_run(&plan, boot_k, &c, 2, iv, err, sizeof err) < 0)
        goto done;
    report(&c, one, iv, (int)reps, json);
    rc = isnan(c.k) ? 1 : 0;
    if (rc != 0)
        errf(err, sizeof err, "the target is not reached by any k <= 1");
done:
    if (rc != 0)
        fprintf(stderr, "trim calibrate threshold: %s\n", err);
    store_reader_destroy(&r);
    calib_clear(&c);
    free(one);
    return rc;
}
