/*
** runs.c: runs, submission and per-run totals.
**
** A run is a set of problems solved under one policy.  Each run keeps the
** parsed policy (the coordinator decides with it when no router answers)
** and totals that status and wait report.
*/
#include "coord_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errf.h"
#include "log.h"


crun_t *
coord_find_run(coord_t *c, int64_t run_id)
{
    return run_id > 0 ? u64map_get(c->runs, (uint64_t)run_id) : NULL;
}


void
coord_run_destroy(crun_t **runp)
{
    if (runp == NULL || *runp == NULL)
        return;
    policy_destroy(&(*runp)->policy);
    free(*runp);
    *runp = NULL;
}


crun_t *
coord_make_run(coord_t *c, int64_t id, const coord_run_opts_t *o,
               int64_t started_ms, char *err, size_t errlen)
{
    crun_t *run = calloc(1, sizeof *run);

    if (run == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if (o->target_share < 0 || o->target_share >= 1 ||
        o->max_strong_tokens < 0) {
        errf(err, errlen,
             "a strong-token share target must be in (0, 1) and a "
             "strong-token cap positive");
        goto fail;
    }
    run->speculate = c->opts.speculate; /* a Submit may say otherwise */
    run->policy = policy_new(o->policy ? o->policy : "", c->opts.pomdp_default,
                             err, errlen);
    if (run->policy == NULL)
        goto fail;
    run->id = id;
    run->spec = policy_spec(run->policy);
    coord_metrics_run(c, run);
    run->shape = policy_shape(run->policy);
    run->seed = o->seed;
    run->started_ms = started_ms;
    run->explore = o->explore;
    run->max_strong_tokens = o->max_strong_tokens;
    run->budget = budget_make(o->target_share);
    if (u64map_put(c->runs, (uint64_t)id, run) < 0) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if (id >= c->next_run_id)
        c->next_run_id = id + 1;
    if (id > c->newest_run_id)
        c->newest_run_id = id;
    return run;
fail:
    coord_run_destroy(&run);
    return NULL;
}


/* The run's row (finished_ms as it stands, no config). */
static void
run_row(const crun_t *run, store_run_t *row)
{
    memset(row, 0, sizeof *row);
    row->run_id = run->id;
    row->policy = run->spec;
    row->seed = run->seed;
    row->config = "{}";
    row->started_ms = run->started_ms;
    row->finished_ms = run->finished_ms;
    row->explore = run->explore;
    row->max_strong_tokens = run->max_strong_tokens;
    row->target_share = run->budget.target;
}


int64_t
coord_add_run(coord_t *c, const coord_run_opts_t *o, char *err, size_t errlen)
{
    store_run_t row;
    crun_t *run =
        coord_make_run(c, c->next_run_id, o, clock_wall_ms(), err, errlen);

    if (run == NULL)
        return -1;
    run_row(run, &row);
    if (o->config && *o->config)
        row.config = o->config;
    if (store_writer_put_run(c->writer, &row) < 0) {
        errf(err, errlen, "audit store: %s", store_writer_error(c->writer));
        c->fatal = 1;
        return -1;
    }
    return run->id;
}


int64_t
coord_submit(coord_t *c, int64_t run_id, const coord_problem_t *in, char *err,
             size_t errlen)
{
    crun_t *run = coord_find_run(c, run_id);
    store_problem_t row;
    cproblem_t *p;

    if (run == NULL)
        return errf(err, errlen, "no run %lld", (long long)run_id);
    if (c->stats.queued + c->stats.in_flight >= c->opts.max_queued)
        return errf(err, errlen,
                    "queue full: %lld problems waiting or in flight (limit "
                    "%lld); retry later",
                    (long long)(c->stats.queued + c->stats.in_flight),
                    (long long)c->opts.max_queued);
    if (coord_page_due(c, in))
        return coord_page_out(c, run, in, err, errlen);
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto oom;
    p->id = c->next_problem_id;
    p->seed = in->seed;
    p->run = run;
    p->source = strdup(in->source ? in->source : "");
    p->text = in->text ? strdup(in->text) : NULL;
    p->truth = in->ground_truth ? strdup(in->ground_truth) : NULL;
    p->key_id = in->key_id && *in->key_id ? strdup(in->key_id) : NULL;
    p->peer = -1;
    p->created_ms = clock_wall_ms();
    if (!p->source || !p->text || (in->ground_truth && !p->truth) ||
        (in->key_id && *in->key_id && !p->key_id) ||
        u64map_put(c->queued, (uint64_t)p->id, p) < 0 ||
        (c->stats.paged > 0 &&
         u64map_put(c->page_skip, (uint64_t)p->id, (void *)1) < 0))
        goto oom;
    p->text_bytes = strlen(p->text);
    coord_problem_row(p, STORE_QUEUED, &row);
    if (coord_put_problem(c, run, &row) < 0) {
        errf(err, errlen, "audit store: %s", store_writer_error(c->writer));
        u64map_del(c->queued, (uint64_t)p->id);
        coord_problem_destroy(&p);
        return -1;
    }
    c->next_problem_id++;
    p->stage = STAGE_QUEUED;
    pool_queue_push(&c->admission, p);
    coord_note_window(c);
    c->stats.submitted++;
    c->stats.queued++;
    run->t.problems++;
    run->finished_ms = 0;
    return p->id;
oom:
    errf(err, errlen, "out of memory");
    if (p != NULL)
        u64map_del(c->queued, (uint64_t)p->id);
    coord_problem_destroy(&p);
    return -1;
}


void
coord_run_account(coord_t *c, crun_t *run, const store_problem_t *row)
{
    totals_t *t = &run->t;

    if (row->status == STORE_FAILED) {
        t->failed++;
    } else if (row->status == STORE_CANCELLED) {
        t->cancelled++;
    } else {
        t->finished++;
        if (row->correct >= 0) {
            t->graded++;
            t->correct += row->correct;
        }
    }
    t->steps += row->steps;
    t->regenerated += row->regenerated_steps;
    t->weak_tokens += row->weak_tokens;
    t->strong_tokens += row->strong_tokens;
    t->discarded_tokens += row->discarded_tokens;
    t->prm_tokens += row->prm_tokens;
    if (t->finished + t->failed + t->cancelled == t->problems) {
        store_run_t r;
        run->finished_ms = clock_wall_ms();
        run_row(run, &r); /* the first write's config stays */
        int64_t ticket = store_writer_put_run(c->writer, &r);
        if (ticket < 0)
            c->fatal = 1;
        else
            run->last_ticket = ticket;
    }
}


void
coord_run_status(const crun_t *run, Trim__RunStatus *out)
{
    const totals_t *t = &run->t;
    int64_t end = run->finished_ms ? run->finished_ms : clock_wall_ms();

    trim__run_status__init(out);
    out->run_id = (uint64_t)run->id;
    out->policy = (char *)run->spec;
    out->seed = run->seed;
    out->problems = (uint64_t)t->problems;
    out->finished = (uint64_t)t->finished;
    out->failed = (uint64_t)t->failed;
    out->correct = (uint64_t)t->correct;
    out->graded = (uint64_t)t->graded;
    out->steps = (uint64_t)t->steps;
    out->routed_steps = (uint64_t)t->routed;
    out->regenerated_steps = (uint64_t)t->regenerated;
    out->weak_tokens = (uint64_t)t->weak_tokens;
    out->strong_tokens = (uint64_t)t->strong_tokens;
    out->discarded_tokens = (uint64_t)t->discarded_tokens;
    out->prm_tokens = (uint64_t)t->prm_tokens;
    out->wasted_tokens = (uint64_t)t->wasted_tokens;
    out->cancelled = (uint64_t)t->cancelled;
    out->weak_prompt_tokens = (uint64_t)t->usage.input[STORE_DRAFT];
    out->weak_cached_tokens = (uint64_t)t->usage.cached[STORE_DRAFT];
    out->strong_prompt_tokens = (uint64_t)t->usage.input[STORE_STRONG];
    out->strong_cached_tokens = (uint64_t)t->usage.cached[STORE_STRONG];
    out->prm_cached_tokens = (uint64_t)t->usage.prm_cached;
    coord_set_pool_cache(out, t->pool_prompt, t->pool_cached);
    out->wasted_prompt_tokens = (uint64_t)t->usage.wasted_input;
    out->wasted_cached_tokens = (uint64_t)t->usage.wasted_cached;
    out->done = t->problems > 0 &&
                t->finished + t->failed + t->cancelled == t->problems;
    out->elapsed_s = (double)(end - run->started_ms) / 1000.0;
}


void
coord_set_pool_cache(Trim__RunStatus *r, const int64_t prompt[5],
                     const int64_t cached[5])
{
    r->small_pool_prompt_tokens = (uint64_t)prompt[TRIM__ROLE__ROLE_SMALL];
    r->small_pool_cached_tokens = (uint64_t)cached[TRIM__ROLE__ROLE_SMALL];
    r->large_pool_prompt_tokens = (uint64_t)prompt[TRIM__ROLE__ROLE_LARGE];
    r->large_pool_cached_tokens = (uint64_t)cached[TRIM__ROLE__ROLE_LARGE];
    r->prm_pool_input_tokens = (uint64_t)prompt[TRIM__ROLE__ROLE_PRM];
    r->prm_pool_cached_tokens = (uint64_t)cached[TRIM__ROLE__ROLE_PRM];
}
