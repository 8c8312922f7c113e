/*
** train_episodes.c: reading TRIM-Agg episodes from the audit store (see
** train_runs.h).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "store.h"
#include "train_runs.h"

typedef struct problem_ref {
    int64_t id;
    int correct;
} problem_ref_t;

typedef struct problems {
    problem_ref_t *v;
    size_t n, cap;
    size_t unusable;
    int oom;
} problems_t;

typedef struct routed {
    agg_step_t s;
    int32_t index; /* its step_index */
} routed_t;

/* The rows of one problem, as they come. */
typedef struct rows {
    routed_t *v;     /* routed drafts in step order */
    int64_t *strong; /* strong tokens by step_index, -1 where none */
    size_t n, cap, n_strong;
    int bad; /* a row that cannot be learned from */
    int oom;
} rows_t;


static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}


static int
on_problem(void *ctx, const store_problem_t *p)
{
    problems_t *ps = ctx;

    if (p->status != STORE_FINISHED || p->correct < 0) {
        ps->unusable++;
        return 0;
    }
    if (grow((void **)&ps->v, &ps->cap, ps->n + 1, sizeof *ps->v) < 0) {
        ps->oom = 1;
        return 1;
    }
    ps->v[ps->n].id = p->problem_id;
    ps->v[ps->n].correct = p->correct;
    ps->n++;
    return 0;
}


static int
on_step(void *ctx, const store_step_t *s)
{
    rows_t *r = ctx;

    if (s->kind == STORE_STRONG) {
        size_t k = (size_t)s->step_index;
        if (s->step_index < 0) {
            r->bad = 1;
            return 0;
        }
        if (k >= r->n_strong) {
            size_t cap = r->n_strong;
            if (grow((void **)&r->strong, &cap, k + 1, sizeof *r->strong) < 0) {
                r->oom = 1;
                return 1;
            }
            for (size_t i = r->n_strong; i < cap; i++)
                r->strong[i] = -1;
            r->n_strong = cap;
        }
        r->strong[k] = s->completion_tokens;
        return 0;
    }
    if (s->decision != STORE_KEEP && s->decision != STORE_REGENERATE)
        return 0;
    if (!isfinite(s->action_prob) || !(s->action_prob > 0) ||
        s->action_prob > 1 || !isfinite(s->prm_score) ||
        !isfinite(s->min_prev_score) || !isfinite(s->prod_prev_score) ||
        s->step_index < 0 || s->completion_tokens < 0 ||
        (s->reason != NULL && strncmp(s->reason, "budget:", 7) == 0)) {
        r->bad = 1;
        return 0;
    }
    if (grow((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v) < 0) {
        r->oom = 1;
        return 1;
    }
    agg_step_t *st = &r->v[r->n].s;
    memset(st, 0, sizeof *st);
    agg_features_of((float)s->min_prev_score, (float)s->prod_prev_score,
                    (float)s->prm_score, (uint32_t)s->completion_tokens,
                    (uint32_t)s->step_index, st->x);
    st->action = s->decision == STORE_REGENERATE;
    st->prob = (float)s->action_prob;
    r->v[r->n].index = s->step_index;
    r->n++;
    return 0;
}


/*
** Turn one problem's rows into an episode in b.  Returns 1 if added, 0 if
** the problem is unusable, -1 when out of memory.
*/
static int
add_episode(agg_batch_t *b, rows_t *r, int correct, double lambda,
            int64_t *strong_total)
{
    int64_t strong = 0;

    if (r->bad || r->n == 0)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->v[i].s.action)
            continue;
        size_t k = (size_t)r->v[i].index;
        if (k >= r->n_strong || r->strong[k] < 0)
            return 0; /* a regeneration without its strong step */
        r->v[i].s.reward = -lambda * (double)r->strong[k];
        strong += r->strong[k];
    }
    r->v[r->n - 1].s.last = 1;
    r->v[r->n - 1].s.reward += correct ? 1.0 : 0.0;
    for (size_t i = 0; i < r->n; i++)
        if (agg_batch_add(b, &r->v[i].s) < 0)
            return -1;
    b->correct += correct != 0;
    *strong_total += strong;
    return 1;
}


/*
** The run to read (run_id, 0: the latest) into in: its id, policy and
** whether it held a share.  Fails on a run that did not explore.  0 or -1
** with err.
*/
static int
read_run(store_reader_t *r, const char *db, int64_t run_id, agg_read_info_t *in,
         char *err, size_t errlen)
{
    store_run_t run;
    store_summary_t sum;
    int got;

    if (run_id == 0) {
        if (store_summary(r, 0, &sum, err, errlen) < 0)
            return -1;
        run_id = sum.run_id;
    }
    got = store_get_run(r, run_id, &run, err, errlen);
    if (got == 0)
        return errf(err, errlen, "%s: no run %lld", db, (long long)run_id);
    if (got < 0)
        return -1;
    in->run_id = run_id;
    snprintf(in->policy, sizeof in->policy, "%s", run.policy ? run.policy : "");
    in->controller = run.target_share > 0;
    if (!run.explore)
        return errf(err, errlen,
                    "%s: run %lld (%s) did not explore: train on a run made "
                    "with trim run --explore",
                    db, (long long)run_id, in->policy);
    return 0;
}


/*
** Add an episode to b for each usable problem of ps, counting episodes,
** skipped problems, accuracy and strong tokens in in.  0 or -1 with err.
*/
static int
read_problems(store_reader_t *r, const problems_t *ps, double lambda,
              agg_batch_t *b, agg_read_info_t *in, char *err, size_t errlen)
{
    rows_t rows = {0};
    int64_t strong = 0;
    size_t correct = 0;
    int rc = -1;

    in->skipped = ps->unusable;
    for (size_t i = 0; i < ps->n; i++) {
        rows.n = rows.n_strong = 0;
        rows.bad = 0;
        if (store_each_step(r, ps->v[i].id, on_step, &rows, err, errlen) < 0)
            goto done;
        int added =
            rows.oom ? -1
                     : add_episode(b, &rows, ps->v[i].correct, lambda, &strong);
        if (added < 0) {
            errf(err, errlen, "out of memory");
            goto done;
        }
        if (added) {
            in->problems++;
            correct += ps->v[i].correct != 0;
        } else {
            in->skipped++;
        }
    }
    if (in->problems > 0) {
        in->accuracy = (double)correct / (double)in->problems;
        in->strong_per_problem = (double)strong / (double)in->problems;
    }
    rc = 0;
done:
    free(rows.v);
    free(rows.strong);
    return rc;
}


int
agg_episodes_read(const char *db, int64_t run_id, double lambda, agg_batch_t *b,
                  agg_read_info_t *info, char *err, size_t errlen)
{
    store_reader_t *r = store_reader_new(db, err, errlen);
    problems_t ps = {0};
    agg_read_info_t in = {0};
    int rc = -1;

    if (r == NULL)
        return -1;
    if (read_run(r, db, run_id, &in, err, errlen) < 0 ||
        store_each_problem(r, in.run_id, on_problem, &ps, err, errlen) < 0)
        goto done;
    if (ps.oom) {
        errf(err, errlen, "out of memory");
        goto done;
    }
    if (read_problems(r, &ps, lambda, b, &in, err, errlen) < 0)
        goto done;
    if (in.problems == 0) {
        errf(err, errlen,
             "%s: run %lld has no finished, graded problem with routed steps "
             "to learn from",
             db, (long long)in.run_id);
        goto done;
    }
    if (info != NULL)
        *info = in;
    rc = 0;
done:
    free(ps.v);
    store_reader_destroy(&r);
    return rc;
}
