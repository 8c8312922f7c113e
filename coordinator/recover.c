/*
** recover.c: resuming unfinished problems after a restart.
**
** Everything the coordinator acts on is in the audit store before it acts
** on it, so a restarted coordinator rebuilds each unfinished problem from its
** rows: the accepted steps (a kept draft or a strong step per index, with no
** gap), the totals they imply, and one possible loose end, a draft the
** router sent to the large pool whose strong step never arrived; that
** problem resumes waiting for the strong step.  Anything after the last
** committed row is simply done again, and the step key makes any row that
** does get written twice a no-op.
*/
#include "coord_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "log.h"


typedef struct recover_ctx {
    coord_t *c;
    store_reader_t *reader;
    char *err;
    size_t errlen;
    int64_t resumed;
    int64_t only_run; /* resume this run's problems only; 0: every run */
    int failed;       /* a read error stops the walk */
} recover_ctx_t;


/*
** The tokens run run_id's rows paid for so far (store_usage_run: the totals
** store_usage_add keeps up) into *u; left zero when the store cannot say
** (the run's dollars then miss what came before).
*/
static void
recover_usage(store_reader_t *r, int64_t run_id, store_usage_total_t *u)
{
    char err[256];

    if (store_usage_run(r, run_id, u, err, sizeof err) < 0) {
        memset(u, 0, sizeof *u);
        tlog(TLOG_WARN, "coordinator", "recovery: run %lld: %s",
             (long long)run_id, err);
    }
}


/* The run of a recovered problem, loaded from the store on first sight. */
static crun_t *
run_for(recover_ctx_t *x, int64_t run_id)
{
    coord_t *c = x->c;
    crun_t *run = coord_find_run(c, run_id);
    store_run_t row;
    store_summary_t sum;
    char err[512];

    if (run != NULL)
        return run;
    int found = store_get_run(x->reader, run_id, &row, err, sizeof err);
    if (found == 0)
        errf(err, sizeof err, "not in the store");
    if (found != 1) {
        tlog(TLOG_ERROR, "coordinator", "recovery: run %lld: %s",
             (long long)run_id, err);
        return NULL;
    }
    coord_run_opts_t o = {0};
    o.policy = row.policy ? row.policy : "";
    o.seed = row.seed;
    o.explore = row.explore;
    o.max_strong_tokens = row.max_strong_tokens;
    o.target_share = row.target_share;
    run = coord_make_run(c, run_id, &o, row.started_ms, err, sizeof err);
    if (run == NULL) {
        tlog(TLOG_ERROR, "coordinator", "recovery: run %lld: %s",
             (long long)run_id, err);
        return NULL;
    }
    /* Totals of what the run finished before the restart. */
    if (store_summary(x->reader, run_id, &sum, err, sizeof err) == 0) {
        run->t = (totals_t){.problems = sum.problems,
                            .finished = sum.finished,
                            .failed = sum.failed,
                            .cancelled = sum.cancelled,
                            .correct = sum.correct,
                            .graded = sum.graded,
                            .steps = sum.steps,
                            .routed = sum.routed_steps,
                            .regenerated = sum.regenerated_steps,
                            .weak_tokens = sum.weak_tokens,
                            .strong_tokens = sum.strong_tokens,
                            .discarded_tokens = sum.discarded_tokens,
                            .prm_tokens = sum.prm_tokens};
        recover_usage(x->reader, run_id, &run->t.usage);
        /* The controller resumes from the run's tokens so far. */
        budget_observe(&run->budget, sum.strong_tokens,
                       sum.weak_tokens + sum.discarded_tokens);
    }
    return run;
}


/*
** What the push of a recovered step says (AcceptedStep), from its rows: the
** draft (NULL if none) and the strong step that replaced it (NULL if kept).
** A draft with a decision that no anchor made was routed.
*/
static caccept_t
accepted_as(const store_step_t *draft, const store_step_t *strong)
{
    const store_step_t *decided = draft ? draft : strong;
    const store_step_t *took = strong ? strong : draft;
    caccept_t a = {0};

    a.routed = draft != NULL && draft->decision != STORE_NO_DECISION &&
               !(draft->decided_by && strcmp(draft->decided_by, "anchor") == 0);
    a.score =
        a.routed && !isnan(draft->prm_score) ? (float)draft->prm_score : -1.0f;
    a.strong = strong != NULL;
    a.tokens = took->completion_tokens;
    a.prompt_tokens = took->prompt_tokens;
    a.discarded_tokens = strong && draft ? draft->completion_tokens : 0;
    a.prm_tokens = draft ? draft->prm_tokens : 0;
    if (decided->decided_by || decided->reason)
        a.why = coord_why(decided->decided_by, decided->reason);
    return a;
}


/*
** Rebuild p's accepted steps and loose end from its rows.  Returns 0, or -1
** with a reason in why when the rows do not make a step sequence.
*/
static int
replay_rows(cproblem_t *p, store_rows_t *r, char *why, size_t whylen)
{
    size_t i = 0;

    for (size_t k = 0; k < r->n; k++)
        store_usage_add(&p->usage, &r->v[k]);
    while (i < r->n) {
        const store_step_t *draft = NULL, *strong = NULL;
        int32_t index = r->v[i].step_index;
        size_t first = i;
        for (; i < r->n && r->v[i].step_index == index; i++) {
            if (r->v[i].kind == STORE_DRAFT)
                draft = &r->v[i];
            else
                strong = &r->v[i];
        }
        if (index != p->n_steps)
            return errf(why, whylen, "rows jump from step %d to step %d",
                        p->n_steps, index);
        if (draft != NULL && !draft->accepted) {
            p->discarded_tokens += draft->completion_tokens;
            p->prm_tokens += draft->prm_tokens;
        }
        if (first == 0)
            p->first_prompt_tokens = r->v[0].prompt_tokens;
        if (strong != NULL) {
            if (draft != NULL)
                p->regenerated++;
            p->strong_tokens += strong->completion_tokens;
            caccept_t a = accepted_as(draft, strong);
            if (coord_push_step(p, r->texts[strong - r->v], strong->finish, &a))
                return errf(why, whylen, "out of memory");
            r->texts[strong - r->v] = NULL;
        } else if (draft != NULL && draft->accepted) {
            p->weak_tokens += draft->completion_tokens;
            p->prm_tokens += draft->prm_tokens;
            caccept_t a = accepted_as(draft, NULL);
            if (coord_push_step(p, r->texts[draft - r->v], draft->finish, &a))
                return errf(why, whylen, "out of memory");
            r->texts[draft - r->v] = NULL;
        } else if (draft != NULL && i == r->n) {
            /* Sent to the large pool; the strong step never came back. */
            p->draft = r->texts[draft - r->v];
            r->texts[draft - r->v] = NULL;
            p->draft_prompt_tokens = draft->prompt_tokens;
            p->draft_tokens = draft->completion_tokens;
            p->draft_finish = draft->finish;
            p->draft_attempt = (uint32_t)draft->attempt;
            p->draft_latency_us = draft->latency_us;
            p->draft_prm_tokens = draft->prm_tokens;
            p->score =
                isnan(draft->prm_score) ? -1.0f : (float)draft->prm_score;
            p->decision = coord_why(draft->decided_by, draft->reason);
            p->stage = STAGE_STRONG;
        } else {
            return errf(why, whylen, "step %d (row %zu) was never accepted",
                        index, first);
        }
    }
    return 0;
}


/* A problem as its row describes it, before replay; NULL when out of memory. */
static cproblem_t *
problem_from_row(const store_problem_t *row)
{
    cproblem_t *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    p->id = row->problem_id;
    p->seed = row->seed;
    p->source = strdup(row->source ? row->source : "");
    p->text = strdup(row->text ? row->text : "");
    p->truth = row->ground_truth ? strdup(row->ground_truth) : NULL;
    p->key_id = row->key_id ? strdup(row->key_id) : NULL;
    p->created_ms = row->created_ms;
    p->peer = -1;
    if (!p->source || !p->text || (row->ground_truth && !p->truth) ||
        (row->key_id && !p->key_id))
        coord_problem_destroy(&p);
    else
        p->text_bytes = strlen(p->text);
    return p;
}


/* Forget what replay rebuilt: the problem starts again at its first step. */
static void
start_over(cproblem_t *p)
{
    coord_drop_steps(p);
    free(p->draft);
    p->draft = NULL;
    p->stage = STAGE_QUEUED;
    free(p->decision);
    p->decision = NULL;
    p->first_prompt_tokens = 0;
    p->regenerated = 0;
    p->weak_tokens = p->strong_tokens = 0;
    p->discarded_tokens = p->prm_tokens = 0;
    memset(&p->usage, 0, sizeof p->usage);
}


cproblem_t *
coord_restore_problem(store_reader_t *r, crun_t *run,
                      const store_problem_t *row, int replay, char *err,
                      size_t errlen)
{
    store_rows_t rows = {0};
    char why[256];
    cproblem_t *p = problem_from_row(row);

    if (p == NULL) {
        errf(err, errlen, "out of memory recovering problem %lld",
             (long long)row->problem_id);
        return NULL;
    }
    p->run = run;
    if (!replay)
        return p;
    if (store_each_step(r, p->id, store_rows_collect, &rows, err, errlen) < 0) {
        store_rows_clear(&rows);
        coord_problem_destroy(&p);
        return NULL;
    }
    /* A cascade's weak rows are written only with its decision, so a
    ** cascade starts over: the models are deterministic, and the rows it
    ** writes again are ignored by their key. */
    if (run->shape != POLICY_CASCADE &&
        replay_rows(p, &rows, why, sizeof why) < 0) {
        tlog(TLOG_ERROR, "coordinator",
             "recovery: problem %lld cannot resume (%s); it starts over",
             (long long)p->id, why);
        start_over(p);
    }
    store_rows_clear(&rows);
    return p;
}


/*
** An unfinished problem of the store: into the admission window while it
** has room, else counted as paged (its row stays the only copy).
*/
static int
recover_problem(void *ctx, const store_problem_t *row)
{
    recover_ctx_t *x = ctx;
    coord_t *c = x->c;
    crun_t *run;
    cproblem_t *p;

    if (x->only_run != 0 && row->run_id != x->only_run)
        return 0;
    run = run_for(x, row->run_id);
    if (run == NULL)
        return 0; /* logged; the rest recovers */
    if (c->stats.paged > 0 || coord_waiting(c) >= c->opts.queue_window) {
        if (c->stats.paged == 0)
            c->page_from = row->problem_id;
        c->page_to = row->problem_id;
        c->page_run = x->only_run;
        c->stats.paged++;
    } else {
        p = coord_restore_problem(x->reader, run, row, 1, x->err, x->errlen);
        if (p == NULL || u64map_put(c->queued, (uint64_t)p->id, p) < 0) {
            if (p != NULL)
                errf(x->err, x->errlen, "out of memory recovering problem %lld",
                     (long long)p->id);
            coord_problem_destroy(&p);
            x->failed = 1;
            return 1;
        }
        pool_queue_push(&c->admission, p);
        coord_note_window(c);
    }
    c->stats.submitted++;
    c->stats.queued++;
    c->stats.recovered++;
    if (row->problem_id >= c->next_problem_id)
        c->next_problem_id = row->problem_id + 1;
    x->resumed++;
    return 0;
}


static int
recover_run(void *ctx, const store_run_t *row)
{
    run_for(ctx, row->run_id);
    return 0;
}


int64_t
coord_recover(coord_t *c, char *err, size_t errlen)
{
    return coord_recover_run(c, 0, err, errlen);
}


int64_t
coord_recover_run(coord_t *c, int64_t run_id, char *err, size_t errlen)
{
    recover_ctx_t x = {0};

    x.c = c;
    x.only_run = run_id;
    x.err = err;
    x.errlen = errlen;
    x.reader = store_reader_new(c->db, err, errlen);
    if (x.reader == NULL)
        return -1;
    /* Every run, so status and wait know finished ones too; or the one
    ** run asked for, even with no problem left to resume. */
    if (run_id != 0 && run_for(&x, run_id) == NULL) {
        errf(err, errlen, "run %lld cannot be resumed (see the log)",
             (long long)run_id);
        x.failed = 1;
    }
    if (run_id == 0 &&
        store_each_run(x.reader, recover_run, &x, err, errlen) < 0)
        x.failed = 1;
    if (!x.failed &&
        store_each_unfinished(x.reader, recover_problem, &x, err, errlen) < 0 &&
        !x.failed)
        x.failed = 1;
    store_reader_destroy(&x.reader);
    if (x.failed)
        return -1;
    if (x.resumed > 0)
        tlog(TLOG_INFO, "coordinator",
             "recovered %lld unfinished problems from %s", (long long)x.resumed,
             c->db);
    return x.resumed;
}
