/*
** reader.c: read-only connections and the queries of audit, evaluation and
** training.
**
** A reader is a read-only WAL connection: it never blocks the writer and
** sees the database as of the last commit when each query starts.  Every
** query is one statement, so each answer is one consistent snapshot.
*/
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_sql[STORE_Q_COUNT] = {
    [STORE_Q_PROBLEM] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems WHERE problem_id = ?1",
    [STORE_Q_PROBLEMS] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems WHERE run_id = ?1"
        " ORDER BY problem_id",
    [STORE_Q_ALL_PROBLEMS] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems ORDER BY problem_id",
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
        " coalesce(sum(discarded_tokens), 0), coalesce(sum(prm_tokens), 0) "
        "FROM problems WHERE run_id = (SELECT id FROM r)",
};


store_reader_t *
store_reader_open(const char *path, char *err, size_t errlen)
{
    store_reader_t *r = calloc(1, sizeof *r);
    int v;

    if (r == NULL || (r->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory opening a reader", path);
        goto fail;
    }
    r->db = store_conn_open(path, STORE_CONN_READ, err, errlen);
    if (r->db == NULL || store_conn_version(r->db, path, &v, err, errlen) < 0)
        goto fail;
    if (v < STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "%s: schema version %d, expected %d (not a trim store, or "
                 "not migrated yet)",
                 path, v, STORE_SCHEMA_VERSION);
        goto fail;
    }
    return r;
fail:
    store_reader_close(&r);
    return NULL;
}


void
store_reader_close(store_reader_t **rp)
{
    store_reader_t *r;

    if (rp == NULL || *rp == NULL)
        return;
    r = *rp;
    for (int i = 0; i < STORE_Q_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    sqlite3_close(r->db);
    free(r->buf);
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
    s->weak_tokens = sqlite3_column_int64(st, 8);
    s->strong_tokens = sqlite3_column_int64(st, 9);
    s->discarded_tokens = sqlite3_column_int64(st, 10);
    s->prm_tokens = sqlite3_column_int64(st, 11);
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
    store_problem_t p;
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, q, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    if (run_id > 0)
        sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_read_problem(st, &p);
        if (fn(ctx, &p) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, "reading problems", err, errlen);
        goto done;
    }
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


/* Copy the strings of *p into r->buf so they outlive the statement. */
static int
s_keep_strings(store_reader_t *r, store_problem_t *p)
{
    const char **f[] = {&p->source, &p->text, &p->ground_truth,
                        &p->final_answer, &p->error};
    size_t n = 0;
    char *at;

    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        n += *f[i] ? strlen(*f[i]) + 1 : 0;
    if (n > r->cap) {
        char *buf = realloc(r->buf, n);
        if (buf == NULL)
            return -1;
        r->buf = buf;
        r->cap = n;
    }
    at = r->buf;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (*f[i] == NULL)
            continue;
        n = strlen(*f[i]) + 1;
        *f[i] = memcpy(at, *f[i], n);
        at += n;
    }
    return 0;
}


int
store_get_problem(store_reader_t *r, int64_t problem_id, store_problem_t *p,
                  char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, STORE_Q_PROBLEM, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, problem_id);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = 0;
        goto done;
    }
    if (step != SQLITE_ROW) {
        store_conn_error(r->db, r->path, "reading a problem", err, errlen);
        goto done;
    }
    store_read_problem(st, p);
    if (s_keep_strings(r, p) < 0) {
        snprintf(err, errlen, "%s: out of memory reading problem %lld", r->path,
                 (long long)problem_id);
        goto done;
    }
    rc = 1;
done:
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
