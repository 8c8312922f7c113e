/*
** reader.c: read-only connections and the queries of audit, evaluation,
** training and recovery (the unfinished problems, the runs).
**
** A reader is a read-only WAL connection: it never blocks the writer and
** sees the database as of the last commit when each query starts.  Every
** query is one statement, so each answer is one consistent snapshot.
*/
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

static const char *const s_sql[STORE_Q_COUNT] = {
    [STORE_Q_PROBLEM] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems WHERE problem_id = ?1",
    [STORE_Q_PROBLEMS] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems WHERE run_id = ?1"
        " ORDER BY problem_id",
    [STORE_Q_ALL_PROBLEMS] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems ORDER BY problem_id",
    /* The WHERE of the partial index problems_unfinished, to the letter. */
    [STORE_Q_UNFINISHED] =
        "SELECT " STORE_PROBLEM_COLUMNS
        " FROM problems WHERE " STORE_UNFINISHED_WHERE " ORDER BY problem_id",
    [STORE_Q_RUN] = "SELECT " STORE_RUN_COLUMNS " FROM runs WHERE run_id = ?1",
    [STORE_Q_RUNS] = "SELECT " STORE_RUN_COLUMNS " FROM runs ORDER BY run_id",
    /* 'draft' < 'strong', so key order is draft before strong. */
    [STORE_Q_STEPS] =
        "SELECT " STORE_STEP_COLUMNS " FROM steps WHERE problem_id = ?1"
        " ORDER BY step_index, kind",
    /* ?1 = 0 means the latest run; a run without problems sums to 0. */
    [STORE_Q_SUMMARY] =
        "WITH r (id) AS (SELECT CASE WHEN ?1 > 0 THEN ?1"
        "                ELSE (SELECT max(run_id) FROM runs) END) "
        "SELECT (SELECT id FROM r), count(*),"
        " coalesce(sum(status = 'finished'), 0),"
        " coalesce(sum(status = 'failed'), 0),"
        " coalesce(sum(correct = 1), 0), coalesce(sum(correct >= 0), 0),"
        " coalesce(sum(steps), 0), coalesce(sum(regenerated_steps), 0),"
        " coalesce(sum(weak_tokens), 0), coalesce(sum(strong_tokens), 0),"
        " coalesce(sum(discarded_tokens), 0), coalesce(sum(prm_tokens), 0),"
        /* Drafts a router (or the fallback) decided, finished or not. */
        " (SELECT count(*) FROM steps s JOIN problems q USING (problem_id)"
        "   WHERE q.run_id = (SELECT id FROM r) AND s.kind = 'draft'"
        "   AND s.decision IS NOT NULL AND s.decided_by <> 'anchor') "
        "FROM problems WHERE run_id = (SELECT id FROM r)",
};


store_reader_t *
store_reader_new(const char *path, char *err, size_t errlen)
{
    store_reader_t *r = calloc(1, sizeof *r);
    int v;

    if (r == NULL || (r->path = strdup(path)) == NULL) {
        errf(err, errlen, "%s: out of memory opening a reader", path);
        goto fail;
    }
    r->db = store_conn_open(path, STORE_CONN_READ, err, errlen);
    if (r->db == NULL || store_conn_version(r->db, path, &v, err, errlen) < 0)
        goto fail;
    if (v < STORE_SCHEMA_VERSION) {
        errf(err, errlen,
             "%s: schema version %d, expected %d (not a trim store, or "
             "not migrated yet)",
             path, v, STORE_SCHEMA_VERSION);
        goto fail;
    }
    return r;
fail:
    store_reader_destroy(&r);
    return NULL;
}


void
store_reader_destroy(store_reader_t **rp)
{
    store_reader_t *r;

    if (rp == NULL || *rp == NULL)
        return;
    r = *rp;
    for (int i = 0; i < STORE_Q_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    sqlite3_close(r->db);
    free(r->problem.buf);
    free(r->run.buf);
    free(r->path);
    free(r);
    *rp = NULL;
}


sqlite3_stmt *
store_reader_stmt(store_reader_t *r, store_query_t q, int *fresh, char *err,
                  size_t errlen)
{
    sqlite3_stmt *st = NULL;

    *fresh = r->st[q] != NULL && sqlite3_stmt_busy(r->st[q]);
    if (r->st[q] != NULL && !*fresh)
        return r->st[q];
    if (sqlite3_prepare_v3(r->db, s_sql[q], -1,
                           *fresh ? 0 : SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        store_conn_error(r->db, r->path, "preparing a query", err, errlen);
        return NULL;
    }
    if (!*fresh)
        r->st[q] = st;
    return st;
}


void
store_reader_release(sqlite3_stmt *st, int fresh)
{
    if (fresh)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
}


int
store_summary(store_reader_t *r, int64_t run_id, store_summary_t *s, char *err,
              size_t errlen)
{
    sqlite3_stmt *st;
    int fresh, rc = -1;

    st = store_reader_stmt(r, STORE_Q_SUMMARY, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        store_conn_error(r->db, r->path, "summarising a run", err, errlen);
        goto done;
    }
    s->run_id = sqlite3_column_int64(st, 0); /* 0 when there is no run */
    s->problems = sqlite3_column_int64(st, 1);
    s->finished = sqlite3_column_int64(st, 2);
    s->failed = sqlite3_column_int64(st, 3);
    s->correct = sqlite3_column_int64(st, 4);
    s->graded = sqlite3_column_int64(st, 5);
    s->steps = sqlite3_column_int64(st, 6);
    s->regenerated_steps = sqlite3_column_int64(st, 7);
    s->routed_steps = sqlite3_column_int64(st, 12);
    s->weak_tokens = sqlite3_column_int64(st, 8);
    s->strong_tokens = sqlite3_column_int64(st, 9);
    s->discarded_tokens = sqlite3_column_int64(st, 10);
    s->prm_tokens = sqlite3_column_int64(st, 11);
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


/*
** Call fn per problem row of query q (bound to id when id > 0).  what names
** the scan in errors.
*/
static int
s_scan_problems(store_reader_t *r, store_query_t q, int64_t id,
                int (*fn)(void *ctx, const store_problem_t *p), void *ctx,
                const char *what, char *err, size_t errlen)
{
    store_problem_t p;
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, q, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    if (id > 0)
        sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_read_problem(st, &p);
        if (fn(ctx, &p) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, what, err, errlen);
        goto done;
    }
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


int
store_each_problem(store_reader_t *r, int64_t run_id,
                   int (*fn)(void *ctx, const store_problem_t *p), void *ctx,
                   char *err, size_t errlen)
{
    store_query_t q = run_id > 0 ? STORE_Q_PROBLEMS : STORE_Q_ALL_PROBLEMS;

    return s_scan_problems(r, q, run_id, fn, ctx, "reading problems", err,
                           errlen);
}


int
store_each_unfinished(store_reader_t *r,
                      int (*fn)(void *ctx, const store_problem_t *p), void *ctx,
                      char *err, size_t errlen)
{
    return s_scan_problems(r, STORE_Q_UNFINISHED, 0, fn, ctx,
                           "reading unfinished problems", err, errlen);
}


/*
** Copy the n strings *f[0..n-1] (NULLs stay NULL) into b and point them at
** the copies, so they outlive the statement they came from.  Returns 0, or
** -1 when out of memory (nothing changed).
*/
static int
s_keep_strings(store_strbuf_t *b, const char **f[], size_t n)
{
    size_t need = 0, len;
    char *at;

    for (size_t i = 0; i < n; i++)
        need += *f[i] ? strlen(*f[i]) + 1 : 0;
    if (need > b->cap) {
        char *buf = realloc(b->buf, need);
        if (buf == NULL)
            return -1;
        b->buf = buf;
        b->cap = need;
    }
    at = b->buf;
    for (size_t i = 0; i < n; i++) {
        if (*f[i] == NULL)
            continue;
        len = strlen(*f[i]) + 1;
        *f[i] = memcpy(at, *f[i], len);
        at += len;
    }
    return 0;
}


/*
** Run the one-row query q for id.  Returns 1 with *st on the row (release
** it with store_reader_release(*st, *fresh)), 0 when there is no row, or -1
** with err; on 0 and -1 the statement is already released.
*/
static int
s_one_row(store_reader_t *r, store_query_t q, int64_t id, const char *what,
          sqlite3_stmt **st, int *fresh, char *err, size_t errlen)
{
    int step;

    *st = store_reader_stmt(r, q, fresh, err, errlen);
    if (*st == NULL)
        return -1;
    sqlite3_bind_int64(*st, 1, id);
    step = sqlite3_step(*st);
    if (step == SQLITE_ROW)
        return 1;
    if (step != SQLITE_DONE)
        store_conn_error(r->db, r->path, what, err, errlen);
    store_reader_release(*st, *fresh);
    return step == SQLITE_DONE ? 0 : -1;
}


int
store_get_problem(store_reader_t *r, int64_t problem_id, store_problem_t *p,
                  char *err, size_t errlen)
{
    const char **f[] = {&p->source, &p->text, &p->ground_truth,
                        &p->final_answer, &p->error};
    sqlite3_stmt *st;
    int fresh, rc;

    rc = s_one_row(r, STORE_Q_PROBLEM, problem_id, "reading a problem", &st,
                   &fresh, err, errlen);
    if (rc != 1)
        return rc;
    store_read_problem(st, p);
    if (s_keep_strings(&r->problem, f, sizeof f / sizeof f[0]) < 0) {
        errf(err, errlen, "%s: out of memory reading problem %lld", r->path,
             (long long)problem_id);
        rc = -1;
    }
    store_reader_release(st, fresh);
    return rc;
}


int
store_each_step(store_reader_t *r, int64_t problem_id,
                int (*fn)(void *ctx, const store_step_t *s), void *ctx,
                char *err, size_t errlen)
{
    store_step_t s;
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, STORE_Q_STEPS, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, problem_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_read_step(st, &s);
        if (fn(ctx, &s) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, "reading steps", err, errlen);
        goto done;
    }
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


int
store_get_run(store_reader_t *r, int64_t run_id, store_run_t *out, char *err,
              size_t errlen)
{
    const char **f[] = {&out->policy, &out->config};
    sqlite3_stmt *st;
    int fresh, rc;

    rc = s_one_row(r, STORE_Q_RUN, run_id, "reading a run", &st, &fresh, err,
                   errlen);
    if (rc != 1)
        return rc;
    store_read_run(st, out);
    if (s_keep_strings(&r->run, f, sizeof f / sizeof f[0]) < 0) {
        errf(err, errlen, "%s: out of memory reading run %lld", r->path,
             (long long)run_id);
        rc = -1;
    }
    store_reader_release(st, fresh);
    return rc;
}


int
store_each_run(store_reader_t *r, int (*fn)(void *ctx, const store_run_t *run),
               void *ctx, char *err, size_t errlen)
{
    store_run_t run;
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, STORE_Q_RUNS, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_read_run(st, &run);
        if (fn(ctx, &run) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, "reading runs", err, errlen);
        goto done;
    }
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


int
store_rows_collect(void *ctx, const store_step_t *s)
{
    store_rows_t *r = ctx;

    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        store_step_t *v = realloc(r->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        r->v = v;
        char **t = realloc(r->texts, cap * sizeof *t);
        if (t == NULL)
            return 1;
        r->texts = t;
        r->cap = cap;
    }
    char *text = strdup(s->text ? s->text : "");
    if (text == NULL)
        return 1;
    store_step_t *row = &r->v[r->n];
    *row = *s;
    row->text = r->texts[r->n] = text;
    row->policy = row->reason = row->belief = NULL;
    row->decided_by = row->worker = NULL;
    r->n++;
    return 0;
}


void
store_rows_clear(store_rows_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->texts[i]);
    free(r->texts);
    free(r->v);
    memset(r, 0, sizeof *r);
}
