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

/* The counters of store_summary_t over a run's problems, in its order. */
#define S_TOTALS                                                               \
    " count(*), coalesce(sum(status = 'finished'), 0),"                        \
    " coalesce(sum(status = 'failed'), 0),"                                    \
    " coalesce(sum(status = 'cancelled'), 0),"                                 \
    " coalesce(sum(correct = 1), 0), coalesce(sum(correct >= 0), 0),"          \
    " coalesce(sum(steps), 0), coalesce(sum(regenerated_steps), 0),"           \
    " coalesce(sum(weak_tokens), 0), coalesce(sum(strong_tokens), 0),"         \
    " coalesce(sum(discarded_tokens), 0), coalesce(sum(prm_tokens), 0)"

/*
** A wasted_drafts row in STORE_STEP_COLUMNS' order (keep the two alike):
** an unscored, undecided, unaccepted speculative draft (it has no PRM,
** routing or queue figures: its step was regenerated before it was needed).
*/
#define S_WASTED_AS_STEPS                                                      \
    "SELECT problem_id, step_index, 'draft' AS kind, attempt, text,"           \
    " prompt_tokens, completion_tokens, finish, NULL AS prm_score,"            \
    " NULL AS min_prev_score, NULL AS prod_prev_score, 0 AS prm_tokens,"       \
    " NULL AS decision, NULL AS policy, NULL AS reason, NULL AS action_prob,"  \
    " NULL AS belief, NULL AS decided_by, 0 AS accepted, latency_us, worker,"  \
    " created_ms, 0 AS prm_padded, 0 AS queue_us, 0 AS prm_us, 0 AS route_us," \
    " 1 AS speculative, 0 AS prm_queue_us, 0 AS route_queue_us, 0 AS step_us," \
    " cached_tokens, NULL AS prm_cached_tokens FROM wasted_drafts"

static const char *const s_sql[STORE_Q_COUNT] = {
    [STORE_Q_PROBLEM] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems WHERE problem_id = ?1",
    [STORE_Q_PROBLEMS] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems WHERE run_id = ?1"
        " ORDER BY problem_id",
    [STORE_Q_ALL_PROBLEMS] =
        "SELECT " STORE_PROBLEM_COLUMNS " FROM problems ORDER BY problem_id",
    /* The WHERE of the partial index problems_unfinished, to the letter. */
    [STORE_Q_UNFINISHED] = "SELECT " STORE_PROBLEM_COLUMNS
                           " FROM problems WHERE " STORE_UNFINISHED_WHERE
                           " AND problem_id >= ?1 ORDER BY problem_id",
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
        "SELECT (SELECT id FROM r)," S_TOTALS ","
        /* Drafts a router (or the fallback) decided, finished or not. */
        " (SELECT count(*) FROM steps s JOIN problems q USING (problem_id)"
        "   WHERE q.run_id = (SELECT id FROM r) AND s.kind = 'draft'"
        "   AND s.decision IS NOT NULL AND s.decided_by <> 'anchor') "
        "FROM problems WHERE run_id = (SELECT id FROM r)",
    /* The same without the count of routed drafts (the step walk), from
    ** the problems_totals index alone. */
    [STORE_Q_TOTALS] = "SELECT ?1," S_TOTALS ", 0 FROM problems"
                       " WHERE run_id = ?1",
    /* Both read problems_by_run only (problem_id is its rowid). */
    [STORE_Q_NTH] = "SELECT problem_id FROM problems WHERE run_id = ?1"
                    " ORDER BY problem_id LIMIT 1 OFFSET ?2 - 1",
    [STORE_Q_RANK] = "SELECT count(*), sum(problem_id = ?2) FROM problems"
                     " WHERE run_id = ?1 AND problem_id <= ?2",
    /*
    ** The subquery names the step columns in STORE_STEP_COLUMNS order, so
    ** that s.* reads like a step row though problems and runs have columns
    ** of the same names.  Steps come in steps_key order: no sort, no temp
    ** table, however many rows.
    */
    [STORE_Q_CONTEXT] =
        "SELECT s.*, p.run_id, r.policy, p.source, p.status, p.correct"
        " FROM (SELECT " STORE_STEP_COLUMNS " FROM steps) AS s"
        " JOIN problems p USING (problem_id) JOIN runs r USING (run_id)"
        " ORDER BY s.problem_id, s.step_index, s.kind",
    [STORE_Q_CONTEXT_RUN] =
        "SELECT s.*, p.run_id, r.policy, p.source, p.status, p.correct"
        " FROM problems p JOIN runs r USING (run_id)"
        " JOIN (SELECT " STORE_STEP_COLUMNS " FROM steps) AS s"
        " USING (problem_id) WHERE p.run_id = ?1"
        " ORDER BY p.problem_id, s.step_index, s.kind",
    [STORE_Q_WASTED] =
        "SELECT s.*, p.run_id, r.policy, p.source, p.status, p.correct"
        " FROM (" S_WASTED_AS_STEPS ") AS s"
        " JOIN problems p USING (problem_id) JOIN runs r USING (run_id)"
        " ORDER BY s.problem_id, s.step_index",
    [STORE_Q_WASTED_RUN] =
        "SELECT s.*, p.run_id, r.policy, p.source, p.status, p.correct"
        " FROM problems p JOIN runs r USING (run_id)"
        " JOIN (" S_WASTED_AS_STEPS ") AS s"
        " USING (problem_id) WHERE p.run_id = ?1"
        " ORDER BY p.problem_id, s.step_index",
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


struct sqlite3 *
store_reader_sqlite(store_reader_t *r)
{
    return r->db;
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


/* Run query q (STORE_Q_SUMMARY or STORE_Q_TOTALS) for run_id into *s. */
static int
s_summary(store_reader_t *r, store_query_t q, int64_t run_id,
          store_summary_t *s, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int fresh, rc = -1;

    st = store_reader_stmt(r, q, &fresh, err, errlen);
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
    s->cancelled = sqlite3_column_int64(st, 4);
    s->correct = sqlite3_column_int64(st, 5);
    s->graded = sqlite3_column_int64(st, 6);
    s->steps = sqlite3_column_int64(st, 7);
    s->regenerated_steps = sqlite3_column_int64(st, 8);
    s->routed_steps = sqlite3_column_int64(st, 13);
    s->weak_tokens = sqlite3_column_int64(st, 9);
    s->strong_tokens = sqlite3_column_int64(st, 10);
    s->discarded_tokens = sqlite3_column_int64(st, 11);
    s->prm_tokens = sqlite3_column_int64(st, 12);
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


int
store_summary(store_reader_t *r, int64_t run_id, store_summary_t *s, char *err,
              size_t errlen)
{
    return s_summary(r, STORE_Q_SUMMARY, run_id, s, err, errlen);
}


int
store_totals(store_reader_t *r, int64_t run_id, store_summary_t *s, char *err,
             size_t errlen)
{
    return s_summary(r, STORE_Q_TOTALS, run_id, s, err, errlen);
}


/*
** The callback of a scan, whichever kind of row it reads: one of the four
** is set.
*/
typedef struct s_each {
    int (*problem)(void *ctx, const store_problem_t *p);
    int (*step)(void *ctx, const store_step_t *s);
    int (*run)(void *ctx, const store_run_t *run);
    int (*context)(void *ctx, const store_step_context_t *row);
    void *ctx;
} s_each_t;


/* Read the current row of st as its kind and hand it to the callback. */
static int
s_each_row(sqlite3_stmt *st, const s_each_t *e)
{
    store_problem_t p;
    store_step_t s;
    store_run_t run;

    if (e->problem != NULL) {
        store_read_problem(st, &p);
        return e->problem(e->ctx, &p);
    }
    if (e->step != NULL) {
        store_read_step(st, &s);
        return e->step(e->ctx, &s);
    }
    if (e->context != NULL) {
        store_step_context_t row;
        store_read_step_context(st, &row);
        return e->context(e->ctx, &row);
    }
    store_read_run(st, &run);
    return e->run(e->ctx, &run);
}


/*
** Call e's callback per row of query q (id bound to ?1 when q has it) until
** it returns non-zero.  what names the scan in errors.
*/
static int
s_scan(store_reader_t *r, store_query_t q, int64_t id, const s_each_t *e,
       const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, q, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (s_each_row(st, e) != 0)
            break;
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
    s_each_t e = {.problem = fn, .ctx = ctx};

    return s_scan(r, q, run_id, &e, "reading problems", err, errlen);
}


int
store_each_unfinished(store_reader_t *r,
                      int (*fn)(void *ctx, const store_problem_t *p), void *ctx,
                      char *err, size_t errlen)
{
    return store_each_unfinished_from(r, 0, fn, ctx, err, errlen);
}


int
store_each_unfinished_from(store_reader_t *r, int64_t from_id,
                           int (*fn)(void *ctx, const store_problem_t *p),
                           void *ctx, char *err, size_t errlen)
{
    s_each_t e = {.problem = fn, .ctx = ctx};

    return s_scan(r, STORE_Q_UNFINISHED, from_id, &e,
                  "reading unfinished problems", err, errlen);
}


const char *
store_unfinished_sql(void)
{
    return s_sql[STORE_Q_UNFINISHED];
}


/*
** Copy the strings of rec (a record of type) into b and point them at the
** copies, so they outlive the statement they came from.  Returns 0, or -1
** when out of memory (nothing changed).
*/
static int
s_keep_strings(store_strbuf_t *b, store_rec_type_t type, void *rec)
{
    const store_rec_layout_t *l = store_rec_layout(type);
    size_t need = 0, len;
    char *at;

    for (size_t i = 0; i < l->n_strings; i++) {
        const char *s = *store_rec_string(rec, l->strings[i]);
        need += s ? strlen(s) + 1 : 0;
    }
    if (need > b->cap) {
        char *buf = realloc(b->buf, need);
        if (buf == NULL)
            return -1;
        b->buf = buf;
        b->cap = need;
    }
    at = b->buf;
    for (size_t i = 0; i < l->n_strings; i++) {
        const char **f = store_rec_string(rec, l->strings[i]);
        if (*f == NULL)
            continue;
        len = strlen(*f) + 1;
        *f = memcpy(at, *f, len);
        at += len;
    }
    return 0;
}


/*
** Read the one row of query q for id into rec (a problem or a run, as type
** says), its strings kept in b.  Returns 1, 0 when there is no row, or -1
** with err; noun names the record in errors.
*/
static int
s_get(store_reader_t *r, store_query_t q, int64_t id, store_rec_type_t type,
      void *rec, store_strbuf_t *b, const char *noun, char *err, size_t errlen)
{
    char what[32];
    sqlite3_stmt *st;
    int fresh, step, rc;

    st = store_reader_stmt(r, q, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (type == STORE_REC_PROBLEM)
            store_read_problem(st, rec);
        else
            store_read_run(st, rec);
        rc = 1;
        if (s_keep_strings(b, type, rec) < 0)
            rc = errf(err, errlen, "%s: out of memory reading %s %lld", r->path,
                      noun, (long long)id);
    } else if (step == SQLITE_DONE) {
        rc = 0;
    } else {
        snprintf(what, sizeof what, "reading a %s", noun);
        store_conn_error(r->db, r->path, what, err, errlen);
        rc = -1;
    }
    store_reader_release(st, fresh);
    return rc;
}


int
store_get_problem(store_reader_t *r, int64_t problem_id, store_problem_t *p,
                  char *err, size_t errlen)
{
    return s_get(r, STORE_Q_PROBLEM, problem_id, STORE_REC_PROBLEM, p,
                 &r->problem, "problem", err, errlen);
}


int
store_each_step(store_reader_t *r, int64_t problem_id,
                int (*fn)(void *ctx, const store_step_t *s), void *ctx,
                char *err, size_t errlen)
{
    s_each_t e = {.step = fn, .ctx = ctx};

    return s_scan(r, STORE_Q_STEPS, problem_id, &e, "reading steps", err,
                  errlen);
}


int
store_get_run(store_reader_t *r, int64_t run_id, store_run_t *out, char *err,
              size_t errlen)
{
    return s_get(r, STORE_Q_RUN, run_id, STORE_REC_RUN, out, &r->run, "run",
                 err, errlen);
}


int
store_each_run(store_reader_t *r, int (*fn)(void *ctx, const store_run_t *run),
               void *ctx, char *err, size_t errlen)
{
    s_each_t e = {.run = fn, .ctx = ctx};

    return s_scan(r, STORE_Q_RUNS, 0, &e, "reading runs", err, errlen);
}


int
store_each_step_context(store_reader_t *r, int64_t run_id,
                        int (*fn)(void *ctx, const store_step_context_t *row),
                        void *ctx, char *err, size_t errlen)
{
    store_query_t q = run_id > 0 ? STORE_Q_CONTEXT_RUN : STORE_Q_CONTEXT;
    s_each_t e = {.context = fn, .ctx = ctx};

    return s_scan(r, q, run_id, &e, "reading step rows", err, errlen);
}


int
store_each_wasted_context(store_reader_t *r, int64_t run_id,
                          int (*fn)(void *ctx, const store_step_context_t *row),
                          void *ctx, char *err, size_t errlen)
{
    store_query_t q = run_id > 0 ? STORE_Q_WASTED_RUN : STORE_Q_WASTED;
    s_each_t e = {.context = fn, .ctx = ctx};

    return s_scan(r, q, run_id, &e, "reading wasted drafts", err, errlen);
}


/*
** Run query q with a and b bound to ?1 and ?2; *found says whether it gave
** a row, whose first two integers go to *x and *y (y may be NULL).
** Returns 0, or -1 with err (what names the query).
*/
static int
s_ints(store_reader_t *r, store_query_t q, int64_t a, int64_t b, int64_t *x,
       int64_t *y, int *found, const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int fresh, step, rc = -1;

    st = store_reader_stmt(r, q, &fresh, err, errlen);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, what, err, errlen);
        goto done;
    }
    *found = step == SQLITE_ROW;
    if (*found) {
        *x = sqlite3_column_int64(st, 0);
        if (y != NULL)
            *y = sqlite3_column_int64(st, 1);
    }
    rc = 0;
done:
    store_reader_release(st, fresh);
    return rc;
}


int
store_problem_at(store_reader_t *r, int64_t run_id, int64_t nth,
                 int64_t *problem_id, char *err, size_t errlen)
{
    int found;

    if (nth < 1)
        return 0;
    if (s_ints(r, STORE_Q_NTH, run_id, nth, problem_id, NULL, &found,
               "finding a problem of a run", err, errlen) < 0)
        return -1;
    return found;
}


int
store_problem_rank(store_reader_t *r, int64_t run_id, int64_t problem_id,
                   int64_t *nth, char *err, size_t errlen)
{
    int64_t n = 0, in_run = 0;
    int found;

    if (s_ints(r, STORE_Q_RANK, run_id, problem_id, &n, &in_run, &found,
               "ranking a problem in its run", err, errlen) < 0)
        return -1;
    if (in_run != 1)
        return 0;
    *nth = n;
    return 1;
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
    char *reason = s->reason ? strdup(s->reason) : NULL;
    char *decided_by = s->decided_by ? strdup(s->decided_by) : NULL;
    if (text == NULL || (s->reason && !reason) ||
        (s->decided_by && !decided_by)) {
        free(text);
        free(reason);
        free(decided_by);
        return 1;
    }
    store_step_t *row = &r->v[r->n];
    *row = *s;
    row->text = r->texts[r->n] = text;
    row->reason = reason;
    row->decided_by = decided_by;
    row->policy = row->belief = row->worker = NULL;
    r->n++;
    return 0;
}


void
store_rows_clear(store_rows_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->texts[i]);
        free((char *)r->v[i].reason);
        free((char *)r->v[i].decided_by);
    }
    free(r->texts);
    free(r->v);
    memset(r, 0, sizeof *r);
}
