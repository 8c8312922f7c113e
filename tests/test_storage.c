/*
** test_storage.c: the audit store: migrations (v1 to v2 and v5 to v6
** included), the batched writer (tickets, idempotent steps, problem updates,
** strong steps' scores, failure), its non-blocking side (flush, durable,
** the notify fd), and the read queries (recovery's unfinished problems and
** runs included).
**
** Every test gets its own temporary directory under /tmp, removed after.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_testing.h"

typedef struct {
    char dir[64];
    char path[128];
} tmpdb_t;


static int
setup(void **state)
{
    tmpdb_t *t = calloc(1, sizeof *t);

    if (t == NULL)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/trim-store-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/audit.db", t->dir);
    *state = t;
    return 0;
}


static int
teardown(void **state)
{
    tmpdb_t *t = *state;
    DIR *d = opendir(t->dir);
    struct dirent *e;
    char p[512];

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(t->dir);
    free(t);
    return 0;
}


/* ---- helpers ------------------------------------------------------------- */

/* One integer from a query on a fresh connection (-999 on error). */
static int64_t
q_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -999;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}


/* One text from a query, copied into out. */
static void
q_text(const char *path, const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    snprintf(out, n, "(error)");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}


/* The details of EXPLAIN QUERY PLAN for sql, joined with "; ", into out. */
static void
q_plan(const char *path, const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char eqp[1024];
    size_t used = 0;

    snprintf(out, n, "(error)");
    snprintf(eqp, sizeof eqp, "EXPLAIN QUERY PLAN %s", sql);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK)
        goto done;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && used < n)
        used += (size_t)snprintf(out + used, n - used, "%s%s", used ? "; " : "",
                                 (const char *)sqlite3_column_text(st, 3));
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
}


static void
q_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}


static store_run_t
make_run(int64_t id)
{
    store_run_t r = {0};

    r.run_id = id;
    r.policy = "thr:0.5";
    r.seed = 0xfedcba9876543210ULL; /* over INT64_MAX: stored as its bits */
    r.config = "{\"policy\":\"thr:0.5\"}";
    r.started_ms = 1700000000000 + id;
    return r;
}


static store_problem_t
make_problem(int64_t id, int64_t run)
{
    store_problem_t p = {0};

    p.problem_id = id;
    p.run_id = run;
    p.source = "sim:42:17";
    p.text = "Ann has 3 apples and buys 4 more. How many?";
    p.ground_truth = "7";
    p.status = STORE_QUEUED;
    p.correct = -1;
    p.created_ms = 1700000000100 + id;
    return p;
}


static store_step_t
make_step(int64_t problem, int index, store_kind_t kind)
{
    store_step_t s = {0};

    s.problem_id = problem;
    s.step_index = index;
    s.kind = kind;
    s.attempt = 1;
    s.text = "Ann starts with 3 apples; 3 + 4 = 7.";
    s.prompt_tokens = 100 + index;
    s.completion_tokens = 20;
    s.prm_score = 0.75;
    s.min_prev_score = 0.5;
    s.prod_prev_score = 0.25;
    s.prm_tokens = 130;
    s.decision = kind == STORE_DRAFT ? STORE_KEEP : STORE_NO_DECISION;
    s.policy = kind == STORE_DRAFT ? "thr:0.5" : NULL;
    s.reason = "score 0.75 >= 0.5";
    s.action_prob = 1.0;
    s.belief = NULL;
    s.decided_by = "router:r1";
    s.accepted = 1;
    s.latency_us = 1234;
    s.worker = "small-1";
    s.created_ms = 1700000000200 + index;
    return s;
}


/* A writer with a run and problems 1..n queued, waited for. */
static store_writer_t *
writer_with(const char *path, const store_writer_opts_t *o, int n)
{
    char err[512];
    store_writer_t *w = store_writer_new(path, o, err, sizeof err);

    if (w == NULL)
        fail_msg("writer: %s", err);
    store_run_t run = make_run(1);
    assert_true(store_writer_put_run(w, &run) > 0);
    for (int i = 1; i <= n; i++) {
        store_problem_t p = make_problem(i, 1);
        assert_true(store_writer_put_problem(w, &p) > 0);
    }
    assert_int_equal(store_writer_wait(w, 0), 0);
    return w;
}


static store_reader_t *
reader(const char *path)
{
    char err[512];
    store_reader_t *r = store_reader_new(path, err, sizeof err);

    if (r == NULL)
        fail_msg("reader: %s", err);
    return r;
}


/* Collects the steps store_each_step yields. */
typedef struct {
    int n;
    int index[16];
    store_kind_t kind[16];
    int attempt[16];
    char text[16][64];
    int nan_ok[16];
    int null_ok[16];
} steps_seen_t;


static int
collect_step(void *ctx, const store_step_t *s)
{
    steps_seen_t *c = ctx;

    if (c->n < 16) {
        c->index[c->n] = s->step_index;
        c->kind[c->n] = s->kind;
        c->attempt[c->n] = s->attempt;
        snprintf(c->text[c->n], sizeof c->text[0], "%s",
                 s->text ? s->text : "(null)");
        c->nan_ok[c->n] = isnan(s->prm_score) && isnan(s->min_prev_score) &&
                          isnan(s->prod_prev_score) && isnan(s->action_prob);
        c->null_ok[c->n] = s->text == NULL && s->policy == NULL &&
                           s->reason == NULL && s->belief == NULL &&
                           s->decided_by == NULL && s->worker == NULL;
    }
    c->n++;
    return 0;
}


static int
count_problem(void *ctx, const store_problem_t *p)
{
    (void)p;
    ++*(int *)ctx;
    return 0;
}


/* ---- migrations ---------------------------------------------------------- */

static void
test_migrate_fresh(void **state)
{
    tmpdb_t *t = *state;
    char err[512], mode[32];

    assert_int_equal(access(t->path, F_OK), -1);
    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM sqlite_schema"
                                    " WHERE name = 'problems_unfinished'"
                                    " AND sql LIKE '%WHERE status IN%'"),
                     1);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM"
                                    " pragma_table_info('problems')"
                                    " WHERE name = 'seed' AND \"notnull\" = 1"
                                    " AND dflt_value = '0'"),
                     1);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM pragma_table_list"
                                    " WHERE name IN ('runs', 'problems',"
                                    " 'steps') AND strict = 1"),
                     3);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM sqlite_schema"
                                    " WHERE name IN ('problems_by_run',"
                                    " 'steps_key')"),
                     2);
    assert_int_equal(q_int(t->path, "SELECT \"unique\" FROM"
                                    " pragma_index_list('steps')"
                                    " WHERE name = 'steps_key'"),
                     1);
    assert_int_equal(q_int(t->path, "PRAGMA application_id"), 0x5452494d);
    q_text(t->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
}


static void
test_migrate_twice(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    int64_t objects;

    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    store_writer_t *w = writer_with(t->path, NULL, 2);
    store_writer_destroy(&w);
    objects = q_int(t->path, "SELECT count(*) FROM sqlite_schema");
    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM sqlite_schema"),
                     objects);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 2);
}


/* Rows as a v1 build wrote them: two runs, problems in every status. */
static const char s_v1_rows[] =
    "INSERT INTO runs VALUES (1, 'thr:0.5', -81985529216486896, '{}', 10, 0);"
    "INSERT INTO runs VALUES (2, 'rand:0.3', 5, '{\"a\":1}', 20, 30);"
    "INSERT INTO problems VALUES (1, 1, 'sim:1', 'one', '7', 'finished', '7',"
    " 1, 3, 1, 30, 10, 5, 90, NULL, 100, 200);"
    "INSERT INTO problems VALUES (2, 1, 'sim:2', 'two', '8', 'running', NULL,"
    " -1, 1, 0, 10, 0, 0, 30, NULL, 101, 0);"
    "INSERT INTO problems VALUES (3, 2, 'sim:3', 'three', NULL, 'queued', NULL,"
    " -1, 0, 0, 0, 0, 0, 0, NULL, 102, 0);"
    "INSERT INTO problems VALUES (4, 2, 'sim:4', 'four', '9', 'failed', NULL,"
    " -1, 0, 0, 0, 0, 0, 0, 'HTTP 503', 103, 300);"
    "INSERT INTO steps (problem_id, step_index, kind, attempt, text,"
    " prompt_tokens, completion_tokens, finish, prm_tokens, accepted,"
    " latency_us, created_ms) VALUES"
    " (1, 0, 'draft', 1, 'a', 5, 5, 0, 9, 1, 1, 1),"
    " (1, 1, 'draft', 1, 'b', 5, 5, 1, 9, 1, 1, 2),"
    " (2, 0, 'draft', 1, 'c', 5, 5, 0, 9, 1, 1, 3);";


/* A file as a v1 build left it: the v1 migration alone, then v1 rows. */
static void
make_v1(const char *path)
{
    char err[512];

    if (store_migrate_to(path, 1, err, sizeof err) < 0)
        fail_msg("v1: %s", err);
    assert_int_equal(q_int(path, "PRAGMA user_version"), 1);
    assert_int_equal(q_int(path, "SELECT count(*) FROM"
                                 " pragma_table_info('problems')"
                                 " WHERE name = 'seed'"),
                     0);
    q_exec(path, s_v1_rows);
}


/* Collects the problems a scan yields. */
typedef struct {
    int n;
    int64_t ids[16];
    store_status_t status[16];
    uint64_t seed[16];
    char text[16][64];
    int stop_after; /* return non-zero after this many (0: never) */
    store_reader_t *r;
    int inner; /* problems seen by a scan nested in the callback */
} unfinished_seen_t;


static int
collect_unfinished(void *ctx, const store_problem_t *p)
{
    unfinished_seen_t *c = ctx;
    char err[256];

    if (c->n < 16) {
        c->ids[c->n] = p->problem_id;
        c->status[c->n] = p->status;
        c->seed[c->n] = p->seed;
        snprintf(c->text[c->n], sizeof c->text[0], "%s",
                 p->text ? p->text : "(null)");
    }
    c->n++;
    if (c->r != NULL && store_each_unfinished(c->r, count_problem, &c->inner,
                                              err, sizeof err) < 0)
        return 1;
    return c->stop_after > 0 && c->n >= c->stop_after;
}


static void
test_migrate_v1_to_v2(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    unfinished_seen_t seen = {0};
    store_problem_t p;
    store_reader_t *r;
    int64_t a, b;

    make_v1(t->path);
    /* Readers refuse a file that is not migrated yet. */
    assert_null(store_reader_new(t->path, err, sizeof err));
    char expect[64];
    snprintf(expect, sizeof expect, "schema version 1, expected %d",
             STORE_SCHEMA_VERSION);
    assert_non_null(strstr(err, expect));
    assert_int_equal(store_next_ids(t->path, &a, &b, err, sizeof err), -1);

    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 4);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 3);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"
                                    " WHERE seed = 0"),
                     4);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM sqlite_schema"
                                    " WHERE name = 'problems_unfinished'"),
                     1);
    char ok[16];
    q_text(t->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(store_next_ids(t->path, &a, &b, err, sizeof err), 0);
    assert_int_equal(a, 3);
    assert_int_equal(b, 5);

    r = reader(t->path);
    assert_int_equal(store_get_problem(r, 1, &p, err, sizeof err), 1);
    assert_string_equal(p.text, "one");
    assert_int_equal(p.status, STORE_FINISHED);
    assert_int_equal(p.finished_ms, 200);
    assert_int_equal(p.seed, 0);
    assert_int_equal(
        store_each_unfinished(r, collect_unfinished, &seen, err, sizeof err),
        0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], 2);
    assert_int_equal(seen.status[0], STORE_RUNNING);
    assert_int_equal(seen.ids[1], 3);
    assert_int_equal(seen.status[1], STORE_QUEUED);
    store_reader_destroy(&r);

    /* The migrated file takes new rows, seeds included. */
    store_writer_t *w = store_writer_new(t->path, NULL, err, sizeof err);
    assert_non_null(w);
    store_problem_t np = make_problem(5, 2);
    np.seed = 42;
    assert_true(store_writer_put_problem(w, &np) > 0);
    store_writer_destroy(&w);
    assert_int_equal(q_int(t->path, "SELECT seed FROM problems"
                                    " WHERE problem_id = 5"),
                     42);
}


/* A v2 migration that fails leaves the file exactly at v1. */
static void
test_migrate_v2_atomic(void **state)
{
    tmpdb_t *t = *state;
    char err[512];

    make_v1(t->path);
    /* Something already holds the name of the v2 index. */
    q_exec(t->path, "CREATE TABLE problems_unfinished (x INTEGER)");
    err[0] = '\0';
    assert_int_equal(store_migrate(t->path, err, sizeof err), -1);
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "schema v2"));
    assert_non_null(strstr(err, "problems_unfinished"));
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 1);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM"
                                    " pragma_table_info('problems')"
                                    " WHERE name = 'seed'"),
                     0);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 4);
    assert_null(store_writer_new(t->path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "problems_unfinished"));

    /* Once the obstacle is gone the same file migrates. */
    q_exec(t->path, "DROP TABLE problems_unfinished");
    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 4);
    /* store_migrate_to never goes down, nor past what this build knows. */
    assert_int_equal(store_migrate_to(t->path, 1, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(
        store_migrate_to(t->path, STORE_SCHEMA_VERSION + 1, err, sizeof err),
        -1);
    char expect[64];
    snprintf(expect, sizeof expect, "no schema version %d",
             STORE_SCHEMA_VERSION + 1);
    assert_non_null(strstr(err, expect));
}


static void
test_newer_refused(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    int64_t a, b;

    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    q_exec(t->path, "PRAGMA user_version = 99");

    err[0] = '\0';
    assert_int_equal(store_migrate(t->path, err, sizeof err), -1);
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "schema version 99"));
    char expect[64];
    snprintf(expect, sizeof expect, "this build's %d", STORE_SCHEMA_VERSION);
    assert_non_null(strstr(err, expect));
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 99);

    assert_null(store_writer_new(t->path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "schema version 99"));
    assert_null(store_reader_new(t->path, err, sizeof err));
    assert_non_null(strstr(err, "schema version 99"));
    assert_int_equal(store_next_ids(t->path, &a, &b, err, sizeof err), -1);
}


static void
test_not_sqlite(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    FILE *f = fopen(t->path, "w");

    assert_non_null(f);
    for (int i = 0; i < 64; i++)
        fputs("this is a problem file, not a database\n", f);
    fclose(f);

    assert_int_equal(store_migrate(t->path, err, sizeof err), -1);
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "not an SQLite database"));
    assert_null(store_reader_new(t->path, err, sizeof err));
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "not an SQLite database"));
    assert_null(store_writer_new(t->path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "not an SQLite database"));
}


static void
test_foreign_sqlite_refused(void **state)
{
    tmpdb_t *t = *state;
    char err[512];

    q_exec(t->path, "CREATE TABLE notes (x TEXT)");
    assert_int_equal(store_migrate(t->path, err, sizeof err), -1);
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "not a trim store"));
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 0);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM sqlite_schema"), 1);
}


static void
test_other_application_refused(void **state)
{
    tmpdb_t *t = *state;
    char err[512];

    q_exec(t->path, "PRAGMA application_id = 123");
    assert_int_equal(store_migrate(t->path, err, sizeof err), -1);
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "application_id"));
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 0);
}


static void
test_missing_and_bad_paths(void **state)
{
    tmpdb_t *t = *state;
    char err[512], bad[256];
    int64_t a, b;

    assert_null(store_reader_new(t->path, err, sizeof err));
    assert_non_null(strstr(err, t->path));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(store_next_ids(t->path, &a, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, t->path));

    snprintf(bad, sizeof bad, "%s/no/such/dir/audit.db", t->dir);
    assert_null(store_writer_new(bad, NULL, err, sizeof err));
    assert_non_null(strstr(err, bad));
}


static void
test_null_safe(void **state)
{
    (void)state;
    store_writer_t *w = NULL;
    store_reader_t *r = NULL;

    store_writer_destroy(&w);
    store_writer_destroy(NULL);
    store_reader_destroy(&r);
    store_reader_destroy(NULL);
}


/* ---- the writer ---------------------------------------------------------- */

static void
test_next_ids(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    int64_t run, prob;

    assert_int_equal(store_migrate(t->path, err, sizeof err), 0);
    assert_int_equal(store_next_ids(t->path, &run, &prob, err, sizeof err), 0);
    assert_int_equal(run, 1);
    assert_int_equal(prob, 1);
    store_writer_t *w = writer_with(t->path, NULL, 10);
    store_run_t r3 = make_run(3);
    assert_true(store_writer_put_run(w, &r3) > 0);
    store_writer_destroy(&w);
    assert_null(w);
    assert_int_equal(store_next_ids(t->path, &run, &prob, err, sizeof err), 0);
    assert_int_equal(run, 4);
    assert_int_equal(prob, 11);
}


static void
test_step_idempotent(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    steps_seen_t seen = {0};
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t s = make_step(1, 0, STORE_DRAFT);
    char text[64] = "first delivery";

    s.text = text;
    assert_true(store_writer_put_step(w, &s) > 0);
    /* The caller's buffer may change right after put: the row was copied. */
    snprintf(text, sizeof text, "redelivered");
    s.attempt = 2;
    s.completion_tokens = 99;
    assert_true(store_writer_put_step(w, &s) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    /* And again in a later transaction. */
    s.attempt = 3;
    assert_true(store_writer_put_step(w, &s) > 0);
    store_writer_destroy(&w);

    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 1);
    assert_int_equal(q_int(t->path, "SELECT completion_tokens FROM steps"), 20);
    store_reader_t *r = reader(t->path);
    assert_int_equal(
        store_each_step(r, 1, collect_step, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.attempt[0], 1);
    assert_string_equal(seen.text[0], "first delivery");
    store_reader_destroy(&r);
    assert_null(r);
}


static void
test_problem_update(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_problem_t got;
    store_writer_t *w = writer_with(t->path, NULL, 0);
    store_problem_t p = make_problem(5, 1);
    store_reader_t *r;

    assert_true(store_writer_put_problem(w, &p) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    r = reader(t->path);
    assert_int_equal(store_get_problem(r, 5, &got, err, sizeof err), 1);
    assert_int_equal(got.status, STORE_QUEUED);
    assert_null(got.final_answer);
    assert_null(got.error);
    assert_int_equal(got.correct, -1);
    assert_int_equal(got.finished_ms, 0);
    assert_string_equal(got.text, p.text);
    assert_string_equal(got.ground_truth, "7");

    p.status = STORE_FINISHED;
    p.final_answer = "7";
    p.correct = 1;
    p.steps = 4;
    p.regenerated_steps = 1;
    p.weak_tokens = 80;
    p.strong_tokens = 25;
    p.discarded_tokens = 20;
    p.prm_tokens = 900;
    p.created_ms = 1; /* the update keeps the first created_ms */
    p.finished_ms = 1700000009999;
    assert_true(store_writer_put_problem(w, &p) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_int_equal(store_get_problem(r, 5, &got, err, sizeof err), 1);
    assert_int_equal(got.status, STORE_FINISHED);
    assert_string_equal(got.final_answer, "7");
    assert_int_equal(got.correct, 1);
    assert_int_equal(got.steps, 4);
    assert_int_equal(got.regenerated_steps, 1);
    assert_int_equal(got.weak_tokens, 80);
    assert_int_equal(got.strong_tokens, 25);
    assert_int_equal(got.discarded_tokens, 20);
    assert_int_equal(got.prm_tokens, 900);
    assert_int_equal(got.created_ms, 1700000000105);
    assert_int_equal(got.finished_ms, 1700000009999);
    assert_string_equal(got.source, "sim:42:17");

    /* A failure writes its reason. */
    p.status = STORE_FAILED;
    p.error = "strong model: HTTP 503 after 5 tries";
    assert_true(store_writer_put_problem(w, &p) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_int_equal(store_get_problem(r, 5, &got, err, sizeof err), 1);
    assert_int_equal(got.status, STORE_FAILED);
    assert_string_equal(got.error, "strong model: HTTP 503 after 5 tries");
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 1);

    /* The strings stay valid across other calls, until the next get. */
    store_summary_t sum;
    int count = 0;
    assert_int_equal(store_summary(r, 0, &sum, err, sizeof err), 0);
    assert_int_equal(
        store_each_problem(r, 0, count_problem, &count, err, sizeof err), 0);
    assert_int_equal(count, 1);
    assert_string_equal(got.error, "strong model: HTTP 503 after 5 tries");
    assert_string_equal(got.text, p.text);

    assert_int_equal(store_get_problem(r, 6, &got, err, sizeof err), 0);
    store_reader_destroy(&r);
    store_writer_destroy(&w);

    /* The run's finish is an update too; the seed keeps its 64 bits. */
    w = writer_with(t->path, NULL, 0);
    store_run_t run = make_run(1);
    run.finished_ms = 1700000099999;
    assert_true(store_writer_put_run(w, &run) > 0);
    store_writer_destroy(&w);
    assert_int_equal(q_int(t->path, "SELECT finished_ms FROM runs"),
                     1700000099999);
    assert_int_equal((uint64_t)q_int(t->path, "SELECT seed FROM runs"),
                     0xfedcba9876543210ULL);
}


static void
test_tickets_and_wait(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    /* Batches that never fill and never time out: only waits commit. */
    store_writer_opts_t o = {.batch_rows = 1000000, .batch_ms = 600000};
    store_writer_t *w = store_writer_new(t->path, &o, err, sizeof err);
    int64_t last = 0, t_problem, tk;

    assert_non_null(w);
    store_run_t run = make_run(1);
    tk = store_writer_put_run(w, &run);
    assert_true(tk > last);
    last = tk;
    store_problem_t p = make_problem(1, 1);
    t_problem = store_writer_put_problem(w, &p);
    assert_true(t_problem > last);
    last = t_problem;
    assert_int_equal(store_writer_wait(w, t_problem), 0);
    assert_true(store_writer_committed(w) >= 2);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 1);

    for (int i = 0; i < 10; i++) {
        store_step_t s = make_step(1, i, STORE_DRAFT);
        tk = store_writer_put_step(w, &s);
        assert_true(tk > last);
        last = tk;
    }
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_int_equal(store_writer_committed(w), 12);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 10);
    /* Waiting on something already committed returns at once. */
    assert_int_equal(store_writer_wait(w, t_problem), 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_null(store_writer_error(w));

    /* destroy commits what is still queued. */
    for (int i = 10; i < 20; i++) {
        store_step_t s = make_step(1, i, STORE_STRONG);
        assert_true(store_writer_put_step(w, &s) > 0);
    }
    store_writer_destroy(&w);
    assert_null(w);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 20);
}


/* Rows bigger than a queue chunk, and many rows across chunk boundaries. */
static void
test_large_rows(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_writer_opts_t o = {.batch_rows = 100000, .batch_ms = 600000};
    store_writer_t *w = writer_with(t->path, &o, 1);
    size_t n = 200000;
    char *text = malloc(n + 1);
    steps_seen_t seen = {0};

    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + i % 26);
    text[n] = '\0';
    for (int i = 0; i < 3000; i++) {
        store_step_t s = make_step(1, i, STORE_DRAFT);
        if (i == 1500)
            s.text = text;
        assert_true(store_writer_put_step(w, &s) > 0);
    }
    memset(text, 'z', n); /* the queued copy must not see this */
    assert_int_equal(store_writer_wait(w, 0), 0);
    store_writer_destroy(&w);
    free(text);

    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 3000);
    assert_int_equal(q_int(t->path, "SELECT length(text) FROM steps"
                                    " WHERE step_index = 1500"),
                     (int64_t)n);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"
                                    " WHERE step_index = 1500"
                                    " AND substr(text, 1, 3) = 'abc'"
                                    " AND instr(text, 'z') > 0"),
                     1);
    store_reader_t *r = reader(t->path);
    assert_int_equal(
        store_each_step(r, 1, collect_step, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 3000);
    store_reader_destroy(&r);
}


static void
test_nan_and_null(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    steps_seen_t seen = {0};
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t s = make_step(1, 0, STORE_STRONG);
    store_step_t d = make_step(1, 1, STORE_DRAFT);

    s.prm_score = s.min_prev_score = s.prod_prev_score = NAN;
    s.action_prob = NAN;
    s.text = s.policy = s.reason = s.belief = s.decided_by = s.worker = NULL;
    d.prm_score = 0.125;
    d.belief = "{\"S0\":0.9,\"S1\":0.05,\"S2\":0.05}";
    d.decision = STORE_REGENERATE;
    assert_true(store_writer_put_step(w, &s) > 0);
    assert_true(store_writer_put_step(w, &d) > 0);
    store_writer_destroy(&w);

    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps WHERE"
                                    " step_index = 0 AND prm_score IS NULL"
                                    " AND min_prev_score IS NULL"
                                    " AND prod_prev_score IS NULL"
                                    " AND action_prob IS NULL AND text IS NULL"
                                    " AND decision IS NULL AND worker IS NULL"),
                     1);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps WHERE"
                                    " step_index = 1 AND prm_score = 0.125"
                                    " AND decision = 'regenerate'"),
                     1);
    store_reader_t *r = reader(t->path);
    assert_int_equal(
        store_each_step(r, 1, collect_step, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 2);
    assert_true(seen.nan_ok[0]);
    assert_true(seen.null_ok[0]);
    assert_false(seen.nan_ok[1]);
    assert_false(seen.null_ok[1]);
    store_reader_destroy(&r);
}


/* Rows as a v5 build wrote them: a cancelled problem, a strong step. */
static const char s_v5_rows[] =
    "INSERT INTO runs VALUES (1, 'thr:0.5', 7, '{}', 10, 0, 0, 0, 0);"
    "INSERT INTO problems VALUES (1, 1, 'sim:1', 'one', '7', 'finished', '7',"
    " 1, 2, 1, 5, 7, 5, 90, NULL, 100, 200, 3, 'k1');"
    "INSERT INTO problems VALUES (2, 1, 'sim:2', 'two', '8', 'finished', '9',"
    " 0, 1, 0, 5, 0, 0, 30, NULL, 101, 201, 4, NULL);"
    "INSERT INTO problems VALUES (3, 1, 'sim:3', 'three', '8', 'cancelled',"
    " NULL, -1, 0, 0, 0, 0, 0, 0, 'client gone', 102, 202, 5, NULL);"
    "INSERT INTO steps (problem_id, step_index, kind, attempt, text,"
    " prompt_tokens, completion_tokens, finish, prm_tokens, accepted,"
    " latency_us, created_ms) VALUES"
    " (1, 0, 'draft', 1, 'a', 5, 5, 0, 9, 1, 1, 1),"
    " (1, 1, 'draft', 1, 'b', 5, 5, 1, 9, 0, 1, 2),"
    " (1, 1, 'strong', 1, 'B', 5, 7, 1, 0, 1, 1, 3),"
    " (2, 0, 'draft', 1, 'c', 5, 5, 1, 9, 1, 1, 4);";


/*
** v5 to v6: a file a v5 build wrote keeps its rows; its steps read 0 for
** the new timings; the console's filter over a run reads the new index.
*/
static void
test_migrate_v5_to_v6(void **state)
{
    tmpdb_t *t = *state;
    char err[512], plan[512];

    assert_int_equal(store_migrate_to(t->path, 5, err, sizeof err), 0);
    q_exec(t->path, s_v5_rows);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM"
                                    " pragma_table_info('steps')"
                                    " WHERE name = 'queue_us'"),
                     0);
    assert_int_equal(store_migrate_to(t->path, 6, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 6);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"), 3);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 4);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps WHERE"
                                    " queue_us = 0 AND prm_us = 0"
                                    " AND route_us = 0"),
                     4);
    char ok[16];
    q_text(t->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    q_plan(t->path,
           "SELECT problem_id FROM problems WHERE run_id = 1 AND"
           " status = 'finished' AND correct = 0 AND problem_id > 0"
           " ORDER BY problem_id LIMIT 50",
           plan, sizeof plan);
    assert_non_null(strstr(plan, "problems_by_outcome"));
    assert_null(strstr(plan, "TEMP B-TREE"));
}


/*
** v6 to v7: the ended problems' usage totals are backfilled from their steps
** (problem 3 ended with none: no row), as the writer would store them.
*/
static void
test_migrate_v6_to_v7(void **state)
{
    tmpdb_t *t = *state;
    char err[512], row[256];

    assert_int_equal(store_migrate_to(t->path, 6, err, sizeof err), 0);
    q_exec(t->path, s_v5_rows);
    assert_int_equal(store_migrate_to(t->path, 7, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 7);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problem_usage"), 2);
    q_text(t->path,
           "SELECT draft_input || ',' || strong_input || ','"
           " || draft_cached || ',' || strong_cached || ','"
           " || draft_output || ',' || strong_output || ','"
           " || prm_input || ',' || prm_cached || ','"
           " || solution_input || ',' || solution_cached || ','"
           " || solution_output"
           " FROM problem_usage WHERE problem_id = 1",
           row, sizeof row);
    assert_string_equal(row, "10,5,5,0,10,7,18,9,10,5,12");
}


/*
** v7 to v8: problems_totals, now with problem_id after the outcome, pages a
** run's problems by outcome in id order (no sort) in place of the dropped
** problems_by_outcome, and still covers a run's totals.
*/
static void
test_migrate_v7_to_v8(void **state)
{
    tmpdb_t *t = *state;
    char err[512], plan[1024], ok[16];

    assert_int_equal(store_migrate_to(t->path, 7, err, sizeof err), 0);
    q_exec(t->path, s_v5_rows);
    assert_int_equal(store_migrate_to(t->path, 8, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 8);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM sqlite_schema WHERE"
                                    " name = 'problems_by_outcome'"),
                     0);
    q_text(t->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems WHERE"
                                    " run_id = 1 AND status = 'finished'"
                                    " AND correct = 1 AND problem_id > 0"),
                     q_int(t->path, "SELECT count(*) FROM problems NOT INDEXED"
                                    " WHERE run_id = 1 AND status ="
                                    " 'finished' AND correct = 1"));
    q_plan(t->path,
           "SELECT problem_id FROM problems WHERE run_id = 1 AND"
           " status = 'finished' AND correct = 0 AND problem_id > 0"
           " ORDER BY problem_id LIMIT 50",
           plan, sizeof plan);
    assert_non_null(strstr(plan, "COVERING INDEX problems_totals"));
    assert_null(strstr(plan, "TEMP B-TREE"));
    q_plan(t->path,
           "SELECT count(*), sum(steps), sum(prm_tokens) FROM problems"
           " WHERE run_id = 1",
           plan, sizeof plan);
    assert_non_null(strstr(plan, "COVERING INDEX problems_totals"));
}


/*
** v8 to v9: a v8 file's steps read as not speculative; a wasted speculative
** draft is written once per step, and speculative_drafts lists both kinds
** with whether each was used.
*/
static void
test_migrate_v8_to_v9(void **state)
{
    tmpdb_t *t = *state;
    char err[512], ok[16];

    assert_int_equal(store_migrate_to(t->path, 8, err, sizeof err), 0);
    q_exec(t->path, s_v5_rows);
    assert_int_equal(store_migrate_to(t->path, 9, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 9);
    q_text(t->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(
        q_int(t->path, "SELECT count(*) FROM steps WHERE speculative = 0"), 4);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM speculative_drafts"),
                     0);

    store_writer_t *w = store_writer_new(t->path, NULL, err, sizeof err);
    assert_non_null(w);
    store_step_t used = make_step(2, 1, STORE_DRAFT);
    store_step_t wasted = make_step(1, 2, STORE_DRAFT);
    used.speculative = 1;
    wasted.completion_tokens = 11;
    assert_true(store_writer_put_step(w, &used) > 0);
    assert_true(store_writer_put_wasted(w, &wasted) > 0);
    wasted.completion_tokens = 99; /* a replay: the first row stays */
    assert_true(store_writer_put_wasted(w, &wasted) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    store_writer_destroy(&w);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM speculative_drafts"),
                     2);
    assert_int_equal(q_int(t->path, "SELECT completion_tokens FROM"
                                    " speculative_drafts WHERE used = 0 AND"
                                    " problem_id = 1 AND step_index = 2"),
                     11);
    assert_int_equal(q_int(t->path, "SELECT step_index FROM speculative_drafts"
                                    " WHERE used = 1 AND problem_id = 2"),
                     1);
    store_reader_t *r = reader(t->path);
    store_rows_t rows = {0};
    assert_int_equal(
        store_each_step(r, 2, store_rows_collect, &rows, err, sizeof err), 0);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.v[0].speculative, 0);
    assert_int_equal(rows.v[1].speculative, 1);
    store_rows_clear(&rows);
    store_reader_destroy(&r);
}


/*
** v9 to v10: a v9 file's steps read 0 for the pools' queue waits and the
** whole step time; rows written after round-trip them.
*/
static void
test_migrate_v9_to_v10(void **state)
{
    tmpdb_t *t = *state;
    char err[512], ok[16];
    store_rows_t rows = {0};

    assert_int_equal(store_migrate_to(t->path, 9, err, sizeof err), 0);
    q_exec(t->path, s_v5_rows);
    assert_int_equal(store_migrate_to(t->path, 10, err, sizeof err), 0);
    assert_int_equal(q_int(t->path, "PRAGMA user_version"), 10);
    q_text(t->path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps WHERE"
                                    " prm_queue_us = 0 AND route_queue_us = 0"
                                    " AND step_us = 0"),
                     4);

    store_writer_t *w = store_writer_new(t->path, NULL, err, sizeof err);
    assert_non_null(w);
    store_step_t d = make_step(2, 1, STORE_DRAFT);
    d.queue_us = 50;
    d.prm_queue_us = 20;
    d.route_queue_us = 10;
    d.step_us = 900;
    assert_true(store_writer_put_step(w, &d) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    store_writer_destroy(&w);
    store_reader_t *r = reader(t->path);
    assert_int_equal(
        store_each_step(r, 2, store_rows_collect, &rows, err, sizeof err), 0);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.v[0].step_us, 0);
    assert_int_equal(rows.v[1].queue_us, 50);
    assert_int_equal(rows.v[1].prm_queue_us, 20);
    assert_int_equal(rows.v[1].route_queue_us, 10);
    assert_int_equal(rows.v[1].step_us, 900);
    store_rows_clear(&rows);
    store_reader_destroy(&r);
}


/*
** The timings round trip; a strong step's score is filled once, never
** overwritten, and a score for a row not written creates nothing.
*/
static void
test_step_timings(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_rows_t rows = {0};
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t d = make_step(1, 0, STORE_DRAFT);
    store_step_t s = make_step(1, 0, STORE_STRONG);

    d.queue_us = 11;
    d.prm_us = 22;
    d.route_us = 33;
    s.prm_score = s.min_prev_score = s.prod_prev_score = NAN;
    s.queue_us = 44;
    assert_true(store_writer_put_step(w, &d) > 0);
    assert_true(store_writer_put_step(w, &s) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_null(store_writer_error(w));
    store_writer_destroy(&w);

    store_reader_t *r = reader(t->path);
    assert_int_equal(
        store_each_step(r, 1, store_rows_collect, &rows, err, sizeof err), 0);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.v[0].kind, STORE_DRAFT);
    assert_int_equal(rows.v[0].queue_us, 11);
    assert_int_equal(rows.v[0].prm_us, 22);
    assert_int_equal(rows.v[0].route_us, 33);
    assert_true(rows.v[0].prm_score == 0.75); /* the draft's own, kept */
    assert_int_equal(rows.v[1].kind, STORE_STRONG);
    assert_int_equal(rows.v[1].queue_us, 44);
    assert_int_equal(rows.v[1].prm_us, 0);
    assert_true(isnan(rows.v[1].prm_score));
    assert_true(isnan(rows.v[1].min_prev_score));
    store_rows_clear(&rows);
    store_reader_destroy(&r);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 2);
}


/* Full step rows as the reader returns them. */
typedef struct {
    int n;
    store_decision_t decision;
    double prm;
    char belief[64];
} one_step_t;


static int
keep_step(void *ctx, const store_step_t *s)
{
    one_step_t *o = ctx;

    o->n++;
    o->decision = s->decision;
    o->prm = s->prm_score;
    snprintf(o->belief, sizeof o->belief, "%s", s->belief ? s->belief : "");
    return 1; /* stop after the first */
}


static void
test_step_roundtrip(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    one_step_t o = {0};
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t d = make_step(1, 0, STORE_DRAFT);

    d.decision = STORE_REGENERATE;
    d.prm_score = 0.3125;
    d.belief = "{\"S0\":0.5}";
    assert_true(store_writer_put_step(w, &d) > 0);
    d.step_index = 1;
    assert_true(store_writer_put_step(w, &d) > 0);
    store_writer_destroy(&w);

    store_reader_t *r = reader(t->path);
    assert_int_equal(store_each_step(r, 1, keep_step, &o, err, sizeof err), 0);
    assert_int_equal(o.n, 1); /* fn's non-zero stopped the scan */
    assert_int_equal(o.decision, STORE_REGENERATE);
    assert_true(o.prm == 0.3125);
    assert_string_equal(o.belief, "{\"S0\":0.5}");
    store_reader_destroy(&r);
}


static void
test_step_order(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    steps_seen_t seen = {0};
    store_writer_t *w = writer_with(t->path, NULL, 2);
    const struct {
        int index;
        store_kind_t kind;
    } order[] = {{2, STORE_STRONG}, {0, STORE_DRAFT}, {10, STORE_DRAFT},
                 {2, STORE_DRAFT},  {1, STORE_DRAFT}, {0, STORE_STRONG},
                 {3, STORE_DRAFT}};

    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        store_step_t s = make_step(1, order[i].index, order[i].kind);
        assert_true(store_writer_put_step(w, &s) > 0);
    }
    store_step_t other = make_step(2, 0, STORE_DRAFT);
    assert_true(store_writer_put_step(w, &other) > 0);
    store_writer_destroy(&w);

    store_reader_t *r = reader(t->path);
    assert_int_equal(
        store_each_step(r, 1, collect_step, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 7);
    const int want_index[] = {0, 0, 1, 2, 2, 3, 10};
    const store_kind_t want_kind[] = {STORE_DRAFT, STORE_STRONG, STORE_DRAFT,
                                      STORE_DRAFT, STORE_STRONG, STORE_DRAFT,
                                      STORE_DRAFT};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(seen.index[i], want_index[i]);
        assert_int_equal(seen.kind[i], want_kind[i]);
    }
    memset(&seen, 0, sizeof seen);
    assert_int_equal(
        store_each_step(r, 3, collect_step, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 0);
    store_reader_destroy(&r);
}


/* ---- summary and problem scans ------------------------------------------- */

typedef struct {
    int n;
    int64_t ids[16];
    store_reader_t *r; /* for calls back into the reader */
    int inner_steps;
    int inner_problems;
} problems_seen_t;


static int
count_step(void *ctx, const store_step_t *s)
{
    (void)s;
    ++*(int *)ctx;
    return 0;
}


static int
collect_problem(void *ctx, const store_problem_t *p)
{
    problems_seen_t *c = ctx;
    char err[256];

    if (c->n < 16)
        c->ids[c->n] = p->problem_id;
    c->n++;
    if (c->r != NULL) {
        /* Calling back into the reader, even the same query, works. */
        if (store_each_step(c->r, p->problem_id, count_step, &c->inner_steps,
                            err, sizeof err) < 0 ||
            store_each_problem(c->r, p->run_id, count_problem,
                               &c->inner_problems, err, sizeof err) < 0)
            return 1;
    }
    return 0;
}


static void
put_problem(store_writer_t *w, int64_t id, int64_t run, store_status_t st,
            int correct, int steps, int regen, int64_t weak, int64_t strong,
            int64_t disc, int64_t prm)
{
    store_problem_t p = make_problem(id, run);

    p.status = st;
    p.correct = correct;
    p.steps = steps;
    p.regenerated_steps = regen;
    p.weak_tokens = weak;
    p.strong_tokens = strong;
    p.discarded_tokens = disc;
    p.prm_tokens = prm;
    assert_true(store_writer_put_problem(w, &p) > 0);
}


static void
test_summary(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_summary_t s;
    problems_seen_t seen = {0};
    store_reader_t *r;
    store_writer_t *w = store_writer_new(t->path, NULL, err, sizeof err);

    assert_non_null(w);
    r = reader(t->path);
    /* No run yet: run 0 resolves to nothing and everything is zero. */
    assert_int_equal(store_summary(r, 0, &s, err, sizeof err), 0);
    assert_int_equal(s.run_id, 0);
    assert_int_equal(s.problems, 0);
    assert_int_equal(s.strong_tokens, 0);

    store_run_t r1 = make_run(1), r2 = make_run(2);
    assert_true(store_writer_put_run(w, &r1) > 0);
    assert_true(store_writer_put_run(w, &r2) > 0);
    /* run 1 */
    put_problem(w, 1, 1, STORE_FINISHED, 1, 5, 1, 100, 30, 20, 1000);
    put_problem(w, 2, 1, STORE_FINISHED, 0, 7, 2, 140, 60, 40, 1500);
    put_problem(w, 3, 1, STORE_FAILED, -1, 2, 0, 40, 0, 0, 300);
    put_problem(w, 4, 1, STORE_RUNNING, -1, 1, 0, 20, 0, 0, 100);
    put_problem(w, 5, 1, STORE_FINISHED, -1, 3, 0, 60, 0, 0, 400);
    /* run 2 */
    put_problem(w, 6, 2, STORE_FINISHED, 1, 4, 4, 0, 90, 80, 800);
    put_problem(w, 7, 2, STORE_QUEUED, -1, 0, 0, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        store_step_t st = make_step(6, i, STORE_DRAFT);
        assert_true(store_writer_put_step(w, &st) > 0);
    }
    assert_int_equal(store_writer_wait(w, 0), 0);

    assert_int_equal(store_summary(r, 1, &s, err, sizeof err), 0);
    assert_int_equal(s.run_id, 1);
    assert_int_equal(s.problems, 5);
    assert_int_equal(s.finished, 3);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.correct, 1);
    assert_int_equal(s.graded, 2);
    assert_int_equal(s.steps, 5 + 7 + 2 + 1 + 3);
    assert_int_equal(s.regenerated_steps, 3);
    assert_int_equal(s.weak_tokens, 100 + 140 + 40 + 20 + 60);
    assert_int_equal(s.strong_tokens, 90);
    assert_int_equal(s.discarded_tokens, 60);
    assert_int_equal(s.prm_tokens, 1000 + 1500 + 300 + 100 + 400);

    /* store_totals: the same counters, and no walk of the steps. */
    store_summary_t totals;
    assert_int_equal(store_totals(r, 1, &totals, err, sizeof err), 0);
    s.routed_steps = 0;
    assert_memory_equal(&totals, &s, sizeof s);

    assert_int_equal(store_summary(r, 0, &s, err, sizeof err), 0);
    assert_int_equal(s.run_id, 2);
    assert_int_equal(s.problems, 2);
    assert_int_equal(s.finished, 1);
    assert_int_equal(s.failed, 0);
    assert_int_equal(s.correct, 1);
    assert_int_equal(s.graded, 1);
    assert_int_equal(s.steps, 4);
    assert_int_equal(s.regenerated_steps, 4);
    assert_int_equal(s.weak_tokens, 0);
    assert_int_equal(s.strong_tokens, 90);
    assert_int_equal(s.discarded_tokens, 80);
    assert_int_equal(s.prm_tokens, 800);

    assert_int_equal(store_summary(r, 99, &s, err, sizeof err), 0);
    assert_int_equal(s.run_id, 99);
    assert_int_equal(s.problems, 0);

    assert_int_equal(
        store_each_problem(r, 1, collect_problem, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen.ids[i], i + 1);
    memset(&seen, 0, sizeof seen);
    seen.r = r;
    assert_int_equal(
        store_each_problem(r, 0, collect_problem, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 7);
    assert_int_equal(seen.ids[6], 7);
    assert_int_equal(seen.inner_steps, 3);
    assert_int_equal(seen.inner_problems, 5 * 5 + 2 * 2);

    store_reader_destroy(&r);
    store_writer_destroy(&w);
}


/* ---- recovery readers ---------------------------------------------------- */

static void
test_problem_seed(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_problem_t got;
    store_writer_t *w = writer_with(t->path, NULL, 0);
    store_problem_t p = make_problem(1, 1);
    store_reader_t *r;

    p.seed = 0xfedcba9876543210ULL; /* over INT64_MAX: stored as its bits */
    assert_true(store_writer_put_problem(w, &p) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_int_equal((uint64_t)q_int(t->path, "SELECT seed FROM problems"),
                     0xfedcba9876543210ULL);
    r = reader(t->path);
    assert_int_equal(store_get_problem(r, 1, &got, err, sizeof err), 1);
    assert_int_equal(got.seed, 0xfedcba9876543210ULL);

    /* The finishing write does not know the seed; the first one is kept. */
    p.seed = 0;
    p.status = STORE_FINISHED;
    p.final_answer = "7";
    assert_true(store_writer_put_problem(w, &p) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_int_equal(store_get_problem(r, 1, &got, err, sizeof err), 1);
    assert_int_equal(got.status, STORE_FINISHED);
    assert_int_equal(got.seed, 0xfedcba9876543210ULL);
    store_reader_destroy(&r);
    store_writer_destroy(&w);
}


static void
test_each_unfinished(void **state)
{
    tmpdb_t *t = *state;
    char err[512], plan[256];
    unfinished_seen_t seen = {0};
    store_writer_t *w = store_writer_new(t->path, NULL, err, sizeof err);
    store_reader_t *r;
    const store_status_t st[] = {STORE_FINISHED, STORE_QUEUED,  STORE_FAILED,
                                 STORE_RUNNING,  STORE_RUNNING, STORE_FINISHED,
                                 STORE_QUEUED};

    assert_non_null(w);
    r = reader(t->path);
    /* An empty store has nothing to resume. */
    assert_int_equal(
        store_each_unfinished(r, collect_unfinished, &seen, err, sizeof err),
        0);
    assert_int_equal(seen.n, 0);

    store_run_t r1 = make_run(1), r2 = make_run(2);
    assert_true(store_writer_put_run(w, &r1) > 0);
    assert_true(store_writer_put_run(w, &r2) > 0);
    /* Problems 1..7 alternate between the runs; written out of id order. */
    for (int i = 7; i >= 1; i--) {
        store_problem_t p = make_problem(i, i % 2 ? 1 : 2);
        p.status = st[i - 1];
        p.seed = 1000 + (uint64_t)i;
        assert_true(store_writer_put_problem(w, &p) > 0);
    }
    assert_int_equal(store_writer_wait(w, 0), 0);

    assert_int_equal(
        store_each_unfinished(r, collect_unfinished, &seen, err, sizeof err),
        0);
    assert_int_equal(seen.n, 4);
    const int64_t want[] = {2, 4, 5, 7};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen.ids[i], want[i]);
        assert_int_equal(seen.seed[i], 1000 + (uint64_t)want[i]);
        assert_string_equal(seen.text[i], make_problem(1, 1).text);
    }
    assert_int_equal(seen.status[0], STORE_QUEUED);
    assert_int_equal(seen.status[1], STORE_RUNNING);

    /* Finishing one takes it out of the set. */
    store_problem_t done = make_problem(4, 2);
    done.status = STORE_FINISHED;
    assert_true(store_writer_put_problem(w, &done) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);
    memset(&seen, 0, sizeof seen);
    seen.stop_after = 2; /* fn's non-zero stops the scan */
    seen.r = r;          /* and the callback may scan again */
    assert_int_equal(
        store_each_unfinished(r, collect_unfinished, &seen, err, sizeof err),
        0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], 2);
    assert_int_equal(seen.ids[1], 5);
    assert_int_equal(seen.inner, 2 * 3);

    /* The query reads the partial index, not every problem. */
    q_plan(t->path, store_unfinished_sql(), plan, sizeof plan);
    if (strstr(plan, "problems_unfinished") == NULL)
        fail_msg("plan does not use the partial index: %s", plan);
    store_reader_destroy(&r);
    store_writer_destroy(&w);
}


/* Collects the runs store_each_run yields. */
typedef struct {
    int n;
    int64_t ids[8];
    uint64_t seed[8];
    char policy[8][32];
    int stop_after;
} runs_seen_t;


static int
collect_run(void *ctx, const store_run_t *run)
{
    runs_seen_t *c = ctx;

    if (c->n < 8) {
        c->ids[c->n] = run->run_id;
        c->seed[c->n] = run->seed;
        snprintf(c->policy[c->n], sizeof c->policy[0], "%s",
                 run->policy ? run->policy : "(null)");
    }
    c->n++;
    return c->stop_after > 0 && c->n >= c->stop_after;
}


static void
test_runs(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    runs_seen_t seen = {0};
    store_run_t got;
    store_problem_t prob;
    store_writer_t *w = store_writer_new(t->path, NULL, err, sizeof err);
    store_reader_t *r;

    assert_non_null(w);
    r = reader(t->path);
    assert_int_equal(store_get_run(r, 1, &got, err, sizeof err), 0);
    assert_int_equal(store_each_run(r, collect_run, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 0);

    /* Written out of order; run 2 has no policy and is finished. */
    store_run_t r3 = make_run(3), r1 = make_run(1), r2 = make_run(2);
    r3.policy = "rand:0.3";
    r3.seed = 3;
    r2.policy = NULL;
    r2.config = NULL;
    r2.seed = 2;
    r2.finished_ms = 1700000099999;
    assert_true(store_writer_put_run(w, &r3) > 0);
    assert_true(store_writer_put_run(w, &r1) > 0);
    assert_true(store_writer_put_run(w, &r2) > 0);
    store_problem_t p = make_problem(1, 1);
    assert_true(store_writer_put_problem(w, &p) > 0);
    assert_int_equal(store_writer_wait(w, 0), 0);

    assert_int_equal(store_get_run(r, 1, &got, err, sizeof err), 1);
    assert_int_equal(got.run_id, 1);
    assert_string_equal(got.policy, "thr:0.5");
    assert_int_equal(got.seed, 0xfedcba9876543210ULL);
    assert_string_equal(got.config, "{\"policy\":\"thr:0.5\"}");
    assert_int_equal(got.started_ms, 1700000000001);
    assert_int_equal(got.finished_ms, 0);
    /* Its strings outlive other calls on the reader... */
    assert_int_equal(store_get_problem(r, 1, &prob, err, sizeof err), 1);
    assert_int_equal(store_each_run(r, collect_run, &seen, err, sizeof err), 0);
    assert_string_equal(got.policy, "thr:0.5");
    assert_string_equal(got.config, "{\"policy\":\"thr:0.5\"}");
    assert_string_equal(prob.text, p.text);
    /* ... and every run comes in id order. */
    assert_int_equal(seen.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(seen.ids[i], i + 1);
    assert_string_equal(seen.policy[1], "(null)");
    assert_string_equal(seen.policy[2], "rand:0.3");
    assert_int_equal(seen.seed[2], 3);

    assert_int_equal(store_get_run(r, 2, &got, err, sizeof err), 1);
    assert_null(got.policy);
    assert_null(got.config);
    assert_int_equal(got.finished_ms, 1700000099999);
    assert_int_equal(store_get_run(r, 9, &got, err, sizeof err), 0);

    memset(&seen, 0, sizeof seen);
    seen.stop_after = 1;
    assert_int_equal(store_each_run(r, collect_run, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 1);
    store_reader_destroy(&r);
    store_writer_destroy(&w);
}


/* ---- the non-blocking side: flush, durable, the notify fd ------------------
 */

/* Whether fd is readable within ms (-1 on a poll error). */
static int
readable(int fd, int ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int n;

    do
        n = poll(&pf, 1, ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    return n == 1 && (pf.revents & POLLIN) != 0;
}


/* Poll, drain and read durable until it reaches ticket or ms pass. */
static int64_t
await_durable(store_writer_t *w, int64_t ticket, int ms)
{
    int64_t deadline = ms, d = store_writer_durable(w);

    while (d < ticket && deadline > 0 && store_writer_error(w) == NULL) {
        if (readable(store_writer_notify_fd(w), 50) == 1)
            store_writer_notify_drain(w);
        d = store_writer_durable(w);
        deadline -= 50; /* at least; a wake-up may come sooner */
    }
    return d;
}


static void
test_flush_and_notify(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    /* Batches that never fill and never time out: only flushes commit. */
    store_writer_opts_t o = {.batch_rows = 1000000, .batch_ms = 600000};
    store_writer_t *w = store_writer_new(t->path, &o, err, sizeof err);
    int64_t tk = 0;
    int fd;

    assert_non_null(w);
    fd = store_writer_notify_fd(w);
    assert_true(fd >= 0);
    assert_int_equal(readable(fd, 0), 0);
    assert_int_equal(store_writer_durable(w), 0);
    store_writer_flush(w); /* nothing queued: nothing happens */
    assert_int_equal(readable(fd, 50), 0);

    store_run_t run = make_run(1);
    assert_true(store_writer_put_run(w, &run) > 0);
    store_problem_t p = make_problem(1, 1);
    assert_true(store_writer_put_problem(w, &p) > 0);
    for (int i = 0; i < 10; i++) {
        store_step_t s = make_step(1, i, STORE_DRAFT);
        tk = store_writer_put_step(w, &s);
        assert_true(tk > 0);
    }
    /* Without a flush nothing commits (batch_ms is ten minutes). */
    assert_int_equal(readable(fd, 100), 0);
    assert_int_equal(store_writer_durable(w), 0);

    store_writer_flush(w);
    assert_int_equal(readable(fd, 10000), 1);
    /* Level-triggered: still readable until drained. */
    assert_int_equal(readable(fd, 0), 1);
    store_writer_notify_drain(w);
    assert_int_equal(readable(fd, 0), 0);
    store_writer_notify_drain(w); /* harmless when empty */
    assert_true(await_durable(w, tk, 10000) >= tk);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 10);

    /* A flush per put, as an event loop acknowledging submissions does. */
    for (int i = 10; i < 510; i++) {
        store_step_t s = make_step(1, i, STORE_DRAFT);
        tk = store_writer_put_step(w, &s);
        assert_true(tk > 0);
        store_writer_flush(w);
    }
    assert_int_equal(await_durable(w, tk, 10000), tk);
    assert_int_equal(store_writer_committed(w), 2 + 510);
    /* Everything is committed: a flush now commits nothing more. */
    store_writer_notify_drain(w);
    store_writer_flush(w);
    assert_int_equal(readable(fd, 50), 0);
    assert_null(store_writer_error(w));

    /* destroy closes the fd. */
    store_writer_destroy(&w);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 510);
}


static void
test_notify_without_flush(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_writer_opts_t o = {.batch_rows = 1000000, .batch_ms = 20};
    store_writer_t *w = store_writer_new(t->path, &o, err, sizeof err);
    int64_t tk;

    assert_non_null(w);
    store_run_t run = make_run(1);
    tk = store_writer_put_run(w, &run);
    assert_true(tk > 0);
    /* Nobody waits or flushes: batch_ms later the row is committed all the
    ** same, and the commit rings the fd. */
    assert_int_equal(readable(store_writer_notify_fd(w), 10000), 1);
    store_writer_notify_drain(w);
    assert_true(store_writer_durable(w) >= tk);
    assert_int_equal(store_writer_committed(w), 1);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM runs"), 1);
    store_writer_destroy(&w);
}


/*
** Wait (bounded) until another connection holds the write lock of the
** database at path: the writer has begun a transaction.  Polled, since
** SQLite has no way to be told.
*/
static void
await_write_lock(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (int i = 0; i < 10000; i++) {
        int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_BUSY) {
            sqlite3_close(db);
            return;
        }
        assert_int_equal(rc, SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
                         SQLITE_OK);
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    sqlite3_close(db);
    fail_msg("the writer never began a transaction on %s", path);
}


/* A flush for rows already in the open transaction commits it. */
static void
test_flush_open_transaction(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_writer_opts_t o = {.batch_rows = 1000000, .batch_ms = 600000};
    store_writer_t *w = store_writer_new(t->path, &o, err, sizeof err);
    int64_t first, last;

    assert_non_null(w);
    store_run_t run = make_run(1);
    assert_true(store_writer_put_run(w, &run) > 0);
    store_problem_t p = make_problem(1, 1);
    first = store_writer_put_problem(w, &p);
    assert_int_equal(store_writer_wait(w, first), 0);
    /* One row, alone in the queue: once the writer holds the write lock it
    ** has begun a transaction with that row in it, and keeps it open. */
    store_step_t s = make_step(1, 0, STORE_DRAFT);
    last = store_writer_put_step(w, &s);
    await_write_lock(t->path);
    assert_int_equal(store_writer_durable(w), first);
    store_writer_notify_drain(w);
    store_writer_flush(w);
    assert_int_equal(await_durable(w, last, 10000), last);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 1);
    store_writer_destroy(&w);
}


static void
test_notify_on_failure(void **state)
{
    tmpdb_t *t = *state;
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t good = make_step(1, 0, STORE_DRAFT);
    store_step_t orphan = make_step(999, 0, STORE_DRAFT);
    int fd = store_writer_notify_fd(w);
    int64_t committed, tk;

    tk = store_writer_put_step(w, &good);
    assert_int_equal(store_writer_wait(w, tk), 0);
    committed = store_writer_durable(w);
    assert_int_equal(committed, tk);
    store_writer_notify_drain(w);
    assert_int_equal(readable(fd, 0), 0);

    assert_true(store_writer_put_step(w, &orphan) > 0);
    store_writer_flush(w);
    assert_int_equal(readable(fd, 10000), 1);
    store_writer_notify_drain(w);
    assert_non_null(store_writer_error(w));
    assert_non_null(strstr(store_writer_error(w), "problem 999"));
    /* durable stays at the last committed ticket. */
    assert_int_equal(store_writer_durable(w), committed);
    /* A failed writer takes nothing; flush and drain still return. */
    assert_int_equal(store_writer_put_step(w, &good), -1);
    store_writer_flush(w);
    store_writer_notify_drain(w);
    assert_int_equal(store_writer_durable(w), committed);
    store_writer_destroy(&w);
}


/* ---- failure ------------------------------------------------------------- */

static int64_t
rows_in(const char *path)
{
    return q_int(path, "SELECT (SELECT count(*) FROM runs)"
                       " + (SELECT count(*) FROM problems)"
                       " + (SELECT count(*) FROM steps)");
}


static void
test_writer_fails_on_fk(void **state)
{
    tmpdb_t *t = *state;
    char err[512];
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t good = make_step(1, 0, STORE_DRAFT);
    store_step_t orphan = make_step(999, 0, STORE_DRAFT);
    int64_t tk;
    const char *e;

    assert_true(store_writer_put_step(w, &good) > 0);
    tk = store_writer_put_step(w, &orphan);
    assert_true(tk > 0);
    assert_int_equal(store_writer_wait(w, tk), -1);
    e = store_writer_error(w);
    assert_non_null(e);
    assert_non_null(strstr(e, t->path));
    assert_non_null(strstr(e, "step 0 (draft) of problem 999"));
    assert_non_null(strstr(e, "FOREIGN KEY"));
    /* Everything after fails fast; nothing hangs. */
    assert_int_equal(store_writer_put_step(w, &good), -1);
    assert_int_equal(store_writer_wait(w, 0), -1);
    /* What was committed is exactly what the writer says it committed. */
    assert_int_equal(rows_in(t->path), store_writer_committed(w));
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 0);
    store_writer_destroy(&w);
    assert_null(w);

    /* A problem whose run was never written. */
    w = store_writer_new(t->path, NULL, err, sizeof err);
    assert_non_null(w);
    store_problem_t p = make_problem(50, 77);
    tk = store_writer_put_problem(w, &p);
    assert_int_equal(store_writer_wait(w, tk), -1);
    assert_non_null(strstr(store_writer_error(w), "problem 50 of run 77"));
    store_writer_destroy(&w);
}


static void
test_writer_fails_on_bad_enum(void **state)
{
    tmpdb_t *t = *state;
    store_writer_t *w = writer_with(t->path, NULL, 1);
    store_step_t s = make_step(1, 0, STORE_DRAFT);

    s.kind = (store_kind_t)7;
    assert_true(store_writer_put_step(w, &s) > 0);
    assert_int_equal(store_writer_wait(w, 0), -1);
    assert_non_null(strstr(store_writer_error(w), "CHECK constraint"));
    store_writer_destroy(&w);
}


/*
** The writer tests the schema's CHECK constraints itself (SQLite's are off
** on its connection): a problem ending with a status or outcome the schema
** refuses stops the writer with the constraint, and its row keeps what was
** committed before.
*/
static void
test_writer_checks_problem_rows(void **state)
{
    tmpdb_t *t = *state;
    const struct {
        store_status_t status;
        int correct;
        const char *check;
    } bad[] = {
        {STORE_FINISHED, 2, "correct IN (-1, 0, 1)"},
        {(store_status_t)5, 1, "status IN ("},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_writer_t *w = writer_with(t->path, NULL, 1);
        store_problem_t p = make_problem(1, 1);

        p.status = bad[i].status;
        p.correct = bad[i].correct;
        assert_true(store_writer_put_problem(w, &p) > 0);
        assert_int_equal(store_writer_wait(w, 0), -1);
        assert_non_null(strstr(store_writer_error(w), "problem 1 of run 1"));
        assert_non_null(strstr(store_writer_error(w), bad[i].check));
        store_writer_destroy(&w);
        assert_int_equal(q_int(t->path, "SELECT count(*) FROM problems"
                                        " WHERE status = 'queued'"
                                        " AND correct = -1"),
                         1);
    }
}


/*
** The checks later migrations added to step rows (v9's speculative, v11's
** reported cached counts) hold too: each bad row stops the writer with the
** check it breaks, and no step row is stored.
*/
static void
test_writer_checks_step_rows(void **state)
{
    tmpdb_t *t = *state;
    const char *checks[] = {"speculative IN (0, 1)",
                            "prm_cached_tokens BETWEEN 0 AND prm_tokens",
                            "cached_tokens BETWEEN 0 AND prompt_tokens"};

    for (int i = 0; i < 3; i++) {
        store_writer_t *w = writer_with(t->path, NULL, 1);
        store_step_t s = make_step(1, 0, STORE_DRAFT);

        s.speculative = i == 0 ? 2 : 1;
        s.has_prm_cached = i == 1;
        s.prm_cached_tokens = s.prm_tokens + 1;
        s.has_cached = i == 2;
        s.cached_tokens = -1;
        assert_true(store_writer_put_step(w, &s) > 0);
        assert_int_equal(store_writer_wait(w, 0), -1);
        assert_non_null(strstr(store_writer_error(w), checks[i]));
        store_writer_destroy(&w);
        assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 0);
    }
}

/* ---- concurrency --------------------------------------------------------- */

typedef struct {
    store_writer_t *w;
    int64_t problem;
    int n;
    int flush; /* flush after every put */
    int bad;   /* tickets not increasing, or a failed put */
} producer_t;


static void *
produce(void *arg)
{
    producer_t *p = arg;
    int64_t last = 0;

    for (int i = 0; i < p->n; i++) {
        store_step_t s =
            make_step(p->problem, i / 2, i % 2 ? STORE_STRONG : STORE_DRAFT);
        int64_t tk = store_writer_put_step(p->w, &s);
        if (tk <= last)
            p->bad++;
        last = tk;
        if (p->flush)
            store_writer_flush(p->w);
    }
    return NULL;
}


/* An event loop's view: poll the fd, drain, read durable. */
typedef struct {
    store_writer_t *w;
    int64_t until; /* stop once durable reaches this */
    int wakes;
    int went_back; /* durable decreased */
    int timed_out;
} poller_t;


static void *
poll_durable(void *arg)
{
    poller_t *c = arg;
    int64_t last = 0, d = 0;
    int idle_ms = 0;

    while (d < c->until && idle_ms < 20000) {
        if (readable(store_writer_notify_fd(c->w), 10) == 1) {
            store_writer_notify_drain(c->w);
            c->wakes++;
            idle_ms = 0;
        } else {
            idle_ms += 10;
        }
        d = store_writer_durable(c->w);
        if (d < last)
            c->went_back++;
        last = d;
    }
    c->timed_out = d < c->until;
    return NULL;
}


static void
test_many_producers_flushing(void **state)
{
    tmpdb_t *t = *state;
    store_writer_opts_t o = {
        .batch_rows = 1000000, .batch_ms = 600000, .queue_rows = 64};
    store_writer_t *w = writer_with(t->path, &o, 4);
    int64_t base = store_writer_durable(w);
    poller_t c = {.w = w, .until = base + 4 * 1000};
    producer_t p[4];
    pthread_t th[4], pt;

    store_writer_notify_drain(w);
    assert_int_equal(pthread_create(&pt, NULL, poll_durable, &c), 0);
    for (int i = 0; i < 4; i++) {
        p[i] = (producer_t){.w = w, .problem = i + 1, .n = 1000, .flush = 1};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(p[i].bad, 0);
    }
    /* Only flushes commit here, and the poller sees every row durable. */
    pthread_join(pt, NULL);
    assert_int_equal(c.timed_out, 0);
    assert_int_equal(c.went_back, 0);
    assert_true(c.wakes > 0);
    assert_int_equal(store_writer_durable(w), base + 4000);
    assert_int_equal(store_writer_committed(w), 1 + 4 + 4000);
    store_writer_destroy(&w);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 4000);
}


static void
test_many_producers_small_queue(void **state)
{
    tmpdb_t *t = *state;
    /* A queue of 8 keeps producers blocking on a full queue. */
    store_writer_opts_t o = {.batch_rows = 16, .batch_ms = 5, .queue_rows = 8};
    store_writer_t *w = writer_with(t->path, &o, 4);
    producer_t p[4];
    pthread_t th[4];

    for (int i = 0; i < 4; i++) {
        p[i] = (producer_t){.w = w, .problem = i + 1, .n = 2000};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(p[i].bad, 0);
    }
    assert_int_equal(store_writer_wait(w, 0), 0);
    assert_int_equal(store_writer_committed(w), 1 + 4 + 8000);
    store_writer_destroy(&w);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"), 8000);
}


typedef struct {
    const char *path;
    atomic_int stop;
    int reads;
    int errors;
    int went_back; /* a later read saw fewer rows than an earlier one */
    char err[512];
} watcher_t;


static void *
watch(void *arg)
{
    watcher_t *c = arg;
    store_reader_t *r = store_reader_new(c->path, c->err, sizeof c->err);
    int64_t last = 0;

    if (r == NULL) {
        c->errors++;
        return NULL;
    }
    while (!atomic_load(&c->stop)) {
        store_summary_t s;
        int steps = 0;

        if (store_summary(r, 1, &s, c->err, sizeof c->err) < 0 ||
            store_each_step(r, 1, count_step, &steps, c->err, sizeof c->err) <
                0) {
            c->errors++;
            break;
        }
        if (s.problems < last)
            c->went_back++;
        last = s.problems;
        c->reads++;
    }
    store_reader_destroy(&r);
    return NULL;
}


static void
test_reader_while_writing(void **state)
{
    tmpdb_t *t = *state;
    store_writer_opts_t o = {.batch_rows = 100, .batch_ms = 1};
    store_writer_t *w = writer_with(t->path, &o, 1);
    watcher_t c = {.path = t->path};
    pthread_t th;

    assert_int_equal(pthread_create(&th, NULL, watch, &c), 0);
    for (int i = 2; i <= 400; i++) {
        store_problem_t p = make_problem(i, 1);
        assert_true(store_writer_put_problem(w, &p) > 0);
        for (int k = 0; k < 20; k++) {
            store_step_t s = make_step(i % 2 ? 1 : i, k, STORE_DRAFT);
            assert_true(store_writer_put_step(w, &s) > 0);
        }
        if (i % 50 == 0)
            assert_int_equal(store_writer_wait(w, 0), 0);
    }
    assert_int_equal(store_writer_wait(w, 0), 0);
    atomic_store(&c.stop, 1);
    pthread_join(th, NULL);
    if (c.errors)
        fail_msg("reader: %s", c.err);
    assert_true(c.reads > 0);
    assert_int_equal(c.went_back, 0);
    store_writer_destroy(&w);

    store_reader_t *r = reader(t->path);
    store_summary_t s;
    char err[512];
    assert_int_equal(store_summary(r, 1, &s, err, sizeof err), 0);
    assert_int_equal(s.problems, 400);
    store_reader_destroy(&r);
    assert_int_equal(q_int(t->path, "SELECT count(*) FROM steps"),
                     20 + 200 * 20);
}


#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_migrate_fresh),
        T(test_migrate_twice),
        T(test_migrate_v1_to_v2),
        T(test_migrate_v2_atomic),
        T(test_migrate_v5_to_v6),
        T(test_step_timings),
        T(test_newer_refused),
        T(test_not_sqlite),
        T(test_foreign_sqlite_refused),
        T(test_other_application_refused),
        T(test_missing_and_bad_paths),
        T(test_null_safe),
        T(test_next_ids),
        T(test_step_idempotent),
        T(test_problem_update),
        T(test_tickets_and_wait),
        T(test_large_rows),
        T(test_nan_and_null),
        T(test_step_roundtrip),
        T(test_step_order),
        T(test_summary),
        T(test_problem_seed),
        T(test_each_unfinished),
        T(test_runs),
        T(test_flush_and_notify),
        T(test_notify_without_flush),
        T(test_flush_open_transaction),
        T(test_notify_on_failure),
        T(test_writer_fails_on_fk),
        T(test_writer_fails_on_bad_enum),
        T(test_writer_checks_problem_rows),
        T(test_writer_checks_step_rows),
        T(test_many_producers_small_queue),
        T(test_migrate_v6_to_v7),
        T(test_migrate_v7_to_v8),
        T(test_migrate_v8_to_v9),
        T(test_migrate_v9_to_v10),
        T(test_many_producers_flushing),
        T(test_reader_while_writing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
