/*
** writer_loop.c: the writer thread.
**
** It swaps the whole queue out under the lock, then writes without it, so
** producers never wait on SQLite, only on a full queue.  Rows go into the
** open transaction through persistent prepared statements (bind, step,
** reset); the transaction commits at batch_rows rows, batch_ms after it
** began, as soon as it holds the ticket in flush_to (someone waits for it or
** flushed), or on stop.  flush_to is read under the lock the writer takes
** anyway: when it takes the queue and when it gives back each chunk.  After
** each commit the notify fd is signalled.  One failed statement or commit
** rolls the transaction back and stops the writer for good: the rows of that
** transaction are not in the database, and every put and wait from then on
** returns -1 with the reason.
*/
#include "store_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "prom.h"

static const char s_insert_run[] =
    "INSERT INTO runs (" STORE_RUN_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (run_id) DO UPDATE SET finished_ms = excluded.finished_ms";

/*
** A problem is written when queued and again when it ends; the second write
** keeps what only the first one knows (created_ms, seed, the text, key_id).
*/
static const char s_insert_problem[] =
    "INSERT INTO problems (" STORE_PROBLEM_COLUMNS ") "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (problem_id) DO UPDATE SET "
    "status = excluded.status, final_answer = excluded.final_answer, "
    "correct = excluded.correct, steps = excluded.steps, "
    "regenerated_steps = excluded.regenerated_steps, "
    "weak_tokens = excluded.weak_tokens, "
    "strong_tokens = excluded.strong_tokens, "
    "discarded_tokens = excluded.discarded_tokens, "
    "prm_tokens = excluded.prm_tokens, error = excluded.error, "
    "finished_ms = excluded.finished_ms";

/* The first write of a step wins; a redelivered one changes nothing. */
static const char s_insert_step[] =
    "INSERT INTO steps (" STORE_STEP_COLUMNS ") "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT DO NOTHING";

/* An unused speculative draft (store_bind_wasted's order); first wins. */
static const char s_insert_wasted[] =
    "INSERT INTO wasted_drafts (problem_id, step_index, attempt, text,"
    " prompt_tokens, completion_tokens, finish, latency_us, worker,"
    " created_ms, cached_tokens) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT DO NOTHING";


static int
s_prepare(store_writer_t *w, const char *sql, sqlite3_stmt **st, char *err,
          size_t errlen)
{
    if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                           NULL) != SQLITE_OK) {
        store_conn_error(w->db, w->path, "preparing the writer's statements",
                         err, errlen);
        return -1;
    }
    return 0;
}


int
store_writer_prepare(store_writer_t *w, char *err, size_t errlen)
{
    /* Before the statements: it changes what they are compiled to (see
    ** s_broken_check), and setting it expires those prepared already. */
    if (store_conn_exec(w->db, "PRAGMA ignore_check_constraints=ON", w->path,
                        "setting the writer's pragmas", err, errlen) < 0)
        return -1;
    if (s_prepare(w, s_insert_run, &w->insert[STORE_REC_RUN], err, errlen) <
            0 ||
        s_prepare(w, s_insert_problem, &w->insert[STORE_REC_PROBLEM], err,
                  errlen) < 0 ||
        s_prepare(w, s_insert_step, &w->insert[STORE_REC_STEP], err, errlen) <
            0 ||
        s_prepare(w, STORE_USAGE_PUT_SQL, &w->insert[STORE_REC_USAGE], err,
                  errlen) < 0 ||
        s_prepare(w, s_insert_wasted, &w->insert[STORE_REC_WASTED], err,
                  errlen) < 0 ||
        s_prepare(w, "BEGIN IMMEDIATE", &w->begin, err, errlen) < 0 ||
        s_prepare(w, "COMMIT", &w->commit, err, errlen) < 0)
        return -1;
    return 0;
}


/*
** Roll back what is open and record why the writer stopped: why, or SQLite's
** message when why is NULL.
*/
static void
s_fail(store_writer_t *w, const char *what, const char *why)
{
    char reason[256];

    /* Take the message before ROLLBACK replaces it. */
    snprintf(reason, sizeof reason, "%s", why ? why : sqlite3_errmsg(w->db));
    if (!sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    w->in_txn = 0;
    store_writer_fail(w, "%s: %s: %s", w->path, what, reason);
}


/* Step a statement that returns no rows, then reset it. */
static int
s_run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}


static int
s_begin(store_writer_t *w)
{
    if (s_run(w->begin) < 0) {
        s_fail(w, "starting a transaction", NULL);
        return -1;
    }
    w->in_txn = 1;
    w->txn_rows = 0;
    w->txn_deadline = clock_now_ms() + w->opts.batch_ms;
    return 0;
}


static int
s_commit(store_writer_t *w)
{
    int64_t start_us = clock_now_us();

    if (s_run(w->commit) < 0) {
        s_fail(w, "committing", NULL);
        return -1;
    }
    prom_histogram_observe(w->opts.commit_seconds,
                           (double)(clock_now_us() - start_us) / 1e6);
    w->in_txn = 0;
    if (w->commit_at <= w->txn_last)
        w->commit_at = INT64_MAX; /* done; flush_to is read again later */
    pthread_mutex_lock(&w->mu);
    w->durable = w->txn_last;
    w->committed += w->txn_rows;
    if (w->waiting > 0)
        pthread_cond_broadcast(&w->done);
    store_notify_signal(w->notify_fd, w->path); /* under mu: see notify.c */
    pthread_mutex_unlock(&w->mu);
    return 0;
}


/* Read flush_to into commit_at (called under mu). */
static void
s_read_flush(store_writer_t *w)
{
    w->commit_at = w->flush_to > w->durable ? w->flush_to : INT64_MAX;
}


/*
** Name the row that failed, with a hint for the usual foreign-key mistake;
** why as in s_fail.
*/
static void
s_fail_row(store_writer_t *w, const store_rec_t *r, const char *why)
{
    char what[160];
    int fk = why == NULL &&
             sqlite3_extended_errcode(w->db) == SQLITE_CONSTRAINT_FOREIGNKEY;

    switch (r->type) {
    case STORE_REC_RUN:
        snprintf(what, sizeof what, "writing run %lld",
                 (long long)r->u.run.run_id);
        break;
    case STORE_REC_PROBLEM:
        snprintf(what, sizeof what, "writing problem %lld of run %lld%s",
                 (long long)r->u.problem.problem_id,
                 (long long)r->u.problem.run_id,
                 fk ? " (is its run written?)" : "");
        break;
    case STORE_REC_STEP:
        snprintf(what, sizeof what, "writing step %d (%s) of problem %lld%s",
                 (int)r->u.step.step_index, store_kind_name(r->u.step.kind),
                 (long long)r->u.step.problem_id,
                 fk ? " (is its problem written?)" : "");
        break;
    case STORE_REC_USAGE:
        snprintf(what, sizeof what, "writing the usage of problem %lld%s",
                 (long long)r->u.usage.problem_id,
                 fk ? " (is the problem written?)" : "");
        break;
    case STORE_REC_WASTED:
        snprintf(what, sizeof what,
                 "writing the wasted draft of step %d of problem %lld%s",
                 (int)r->u.step.step_index, (long long)r->u.step.problem_id,
                 fk ? " (is its problem written?)" : "");
        break;
    }
    s_fail(w, what, why);
}


/*
** The schema's CHECK constraints on the rows the writer puts, tested here
** instead of by SQLite (the writer's connection sets
** ignore_check_constraints).  SQLite tests an IN list of more than two
** constants against a b-tree it builds each time the statement runs:
** problems' status and correct lists cost 6 such b-trees a problem (two
** for its first write, four for its upsert at the end), 38% of the
** writer's instructions (callgrind, bench_pipeline, 1,000 problems: 513M
** -> 320M).  A CHECK a migration adds to these tables goes here too.
** Returns the constraint r breaks, in SQLite's words, or NULL.
*/
static const char *
s_broken_check(const store_rec_t *r)
{
    const store_problem_t *p = &r->u.problem;
    const store_step_t *s = &r->u.step;

    switch (r->type) {
    case STORE_REC_RUN:
        return r->u.run.run_id > 0 ? NULL : "run_id > 0";
    case STORE_REC_PROBLEM:
        if (p->problem_id <= 0)
            return "problem_id > 0";
        if ((unsigned)p->status > STORE_CANCELLED)
            return "status IN ('queued', 'running', 'finished', 'failed',"
                   " 'cancelled')";
        return p->correct >= -1 && p->correct <= 1 ? NULL
                                                   : "correct IN (-1, 0, 1)";
    case STORE_REC_STEP:
        if ((unsigned)s->kind > STORE_STRONG)
            return "kind IN ('draft', 'strong')";
        if (s->decision < STORE_NO_DECISION || s->decision > STORE_REGENERATE)
            return "decision IN ('keep', 'regenerate')";
        if (s->accepted != 0 && s->accepted != 1)
            return "accepted IN (0, 1)";
        if (s->speculative != 0 && s->speculative != 1)
            return "speculative IN (0, 1)";
        if (s->has_prm_cached &&
            (s->prm_cached_tokens < 0 || s->prm_cached_tokens > s->prm_tokens))
            return "prm_cached_tokens BETWEEN 0 AND prm_tokens";
        /* A step row's other checks are a wasted draft's too. */
        /* fall through */
    case STORE_REC_WASTED:
        if (s->has_cached &&
            (s->cached_tokens < 0 || s->cached_tokens > s->prompt_tokens))
            return "cached_tokens BETWEEN 0 AND prompt_tokens";
        return s->step_index >= 0 ? NULL : "step_index >= 0";
    default:
        return NULL;
    }
}


/* Whether problem problem_id's usage totals are to be stored. */
static int
s_usage_wanted(const store_writer_t *w, int64_t problem_id)
{
    if (w->no_usage)
        return 0;
    for (size_t i = 0; i < w->n_twice; i++)
        if (w->twice[i] == problem_id)
            return 0;
    return 1;
}


/*
** A step row already in the store (a redelivery, a replay) was counted again
** by its caller's usage totals (store_writer_put_usage): note its problem,
** whose totals are then not stored.  Rare, so a short list; out of memory,
** no totals are stored from then on.  Reads sum the steps of a problem
** without totals, so they are exact either way.
*/
static void
s_note_twice(store_writer_t *w, int64_t problem_id)
{
    int64_t *v;

    if (!s_usage_wanted(w, problem_id))
        return;
    if (w->n_twice == w->cap_twice) {
        size_t cap = w->cap_twice ? 2 * w->cap_twice : 16;
        if ((v = realloc(w->twice, cap * sizeof *v)) == NULL) {
            w->no_usage = 1;
            return;
        }
        w->twice = v;
        w->cap_twice = cap;
    }
    w->twice[w->n_twice++] = problem_id;
}


static int
s_bind_usage(sqlite3_stmt *st, const store_usage_row_t *u)
{
    const int64_t v[] = {u->problem_id,
                         u->t.input[STORE_DRAFT],
                         u->t.input[STORE_STRONG],
                         u->t.cached[STORE_DRAFT],
                         u->t.cached[STORE_STRONG],
                         u->t.output[STORE_DRAFT],
                         u->t.output[STORE_STRONG],
                         u->t.prm,
                         u->t.prm_cached,
                         u->t.solution_input,
                         u->t.solution_cached,
                         u->t.solution_output};
    int rc = 0;

    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        rc |= sqlite3_bind_int64(st, i + 1, v[i]);
    return rc;
}


static int
s_insert(store_writer_t *w, const store_rec_t *r)
{
    sqlite3_stmt *st = w->insert[r->type];
    const char *broken = s_broken_check(r);
    char why[160];
    int rc;

    if (broken != NULL) {
        snprintf(why, sizeof why, "CHECK constraint failed: %s", broken);
        s_fail_row(w, r, why);
        return -1;
    }
    switch (r->type) {
    case STORE_REC_RUN:
        rc = store_bind_run(st, &r->u.run);
        break;
    case STORE_REC_PROBLEM:
        rc = store_bind_problem(st, &r->u.problem);
        break;
    case STORE_REC_STEP:
        rc = store_bind_step(st, &r->u.step);
        break;
    case STORE_REC_WASTED:
        rc = store_bind_wasted(st, &r->u.step);
        break;
    default:
        if (!s_usage_wanted(w, r->u.usage.problem_id))
            return 0;
        rc = s_bind_usage(st, &r->u.usage);
        break;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        s_fail_row(w, r, NULL); /* before reset: the message is the step's */
        sqlite3_reset(st);
        return -1;
    }
    if (r->type == STORE_REC_STEP && sqlite3_changes(w->db) == 0)
        s_note_twice(w, r->u.step.problem_id);
    sqlite3_reset(st);
    return 0;
}


/*
** Rows wait in a full queue long enough to leave the cache (100,000 rows are
** ~35 MB), so the writer would stall on memory before SQLite sees each row.
** Asking for the bytes 4 KiB ahead while SQLite works on this row hides most
** of that: bench_storage on tmpfs went from ~0.8 to ~0.9 of the raw insert.
*/
#define PREFETCH_AHEAD 4096

static void
s_prefetch(const store_chunk_t *c, size_t from, size_t len)
{
    for (size_t k = from; k < from + len && k < c->used; k += 64)
        __builtin_prefetch(c->data + k);
}


/*
** Write the chunks taken from the queue, giving each back once its rows are
** in the transaction (the statements no longer point into it after reset).
** On error the rest is freed.
*/
static int
s_write(store_writer_t *w, store_chunk_t *list)
{
    while (list != NULL) {
        store_chunk_t *c = list;

        list = c->next;
        for (size_t off = 0; off < c->used;) {
            const store_rec_t *r = (const store_rec_t *)(c->data + off);

            off += r->size;
            s_prefetch(c, off + PREFETCH_AHEAD, r->size);
            if ((!w->in_txn && s_begin(w) < 0) || s_insert(w, r) < 0) {
                c->next = list;
                store_chunks_destroy(&c);
                return -1;
            }
            w->txn_rows++;
            w->txn_last = r->ticket;
            if ((w->txn_rows >= w->opts.batch_rows ||
                 r->ticket >= w->commit_at) &&
                s_commit(w) < 0) {
                c->next = list;
                store_chunks_destroy(&c);
                return -1;
            }
        }
        pthread_mutex_lock(&w->mu);
        store_queue_recycle(&w->queue, c);
        s_read_flush(w);
        pthread_mutex_unlock(&w->mu);
    }
    return 0;
}


/* Whether the writer has something to do (called under mu). */
static int
s_ready(const store_writer_t *w)
{
    if (w->queue.head != NULL || w->stop)
        return 1;
    return w->in_txn &&
           (w->flush_to > w->durable || clock_now_ms() >= w->txn_deadline);
}


/* Sleep under mu until woken, or until the open transaction is due. */
static void
s_sleep(store_writer_t *w)
{
    struct timespec ts;

    w->idle = 1;
    if (w->in_txn) {
        ts.tv_sec = w->txn_deadline / 1000;
        ts.tv_nsec = (long)(w->txn_deadline % 1000) * 1000000L;
        pthread_cond_timedwait(&w->wake, &w->mu, &ts);
    } else {
        pthread_cond_wait(&w->wake, &w->mu);
    }
    w->idle = 0;
}


void
store_writer_close_db(store_writer_t *w)
{
    for (int i = 0; i < STORE_REC_TYPES; i++) {
        sqlite3_finalize(w->insert[i]);
        w->insert[i] = NULL;
    }
    sqlite3_finalize(w->begin);
    sqlite3_finalize(w->commit);
    w->begin = w->commit = NULL;
    sqlite3_close(w->db); /* the last connection also checkpoints the WAL */
    w->db = NULL;
}


void *
store_writer_main(void *arg)
{
    store_writer_t *w = arg;

    for (;;) {
        store_chunk_t *list;
        int stop, took;

        pthread_mutex_lock(&w->mu);
        while (!s_ready(w))
            s_sleep(w);
        if (w->queue.rows >= w->opts.queue_rows)
            pthread_cond_broadcast(&w->room);
        list = store_queue_take(&w->queue);
        took = list != NULL;
        stop = w->stop;
        s_read_flush(w);
        pthread_mutex_unlock(&w->mu);

        /* A ticket asked for may be in the open transaction already. */
        if (w->in_txn && w->txn_last >= w->commit_at && s_commit(w) < 0)
            break;
        if (s_write(w, list) < 0)
            break;
        if (w->in_txn && (stop || w->txn_last >= w->commit_at ||
                          clock_now_ms() >= w->txn_deadline))
            if (s_commit(w) < 0)
                break;
        if (stop && !took)
            break;
    }
    store_writer_close_db(w);
    return NULL;
}
