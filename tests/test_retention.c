/*
** test_retention.c: `trim prune` on a store three real runs wrote.
**
** Pruning run 1 with --keep-summaries deletes its step rows only: the
** problem list (`trim audit --json`), its dollars (`trim roi --json`) and
** the console's runs and problem pages read exactly as before, a trace still
*shows
** the problem and its outcome, the other runs export row for row as
** before, and the file shrinks (incremental vacuum: no free page left).
** Pruning without summaries deletes the problems too and keeps the run's
** row.  A store made without incremental vacuum keeps its size and says
** how to convert it; `trim prune --vacuum` converts it and shrinks it.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "console.h"
#include "testutil.h"

static char g_dir[64]; /* scratch directory; commands run inside it */

static const char s_prices[] =
    "{\"models\": {"
    " \"s\": {\"input_usd_per_mtok\": 0.1, \"output_usd_per_mtok\": 0.4},"
    " \"l\": {\"input_usd_per_mtok\": 2.5, \"output_usd_per_mtok\": 10},"
    " \"p\": {\"input_usd_per_mtok\": 0.2, \"output_usd_per_mtok\": 0}},"
    " \"roles\": {\"weak\": \"s\", \"strong\": \"l\", \"prm\": \"p\"}}";


/* `trim ARGS` in the scratch directory, which must exit 0; its stdout. */
static char *
trim_ok(const char *fmt, const char *arg)
{
    char cmd[512], *out, *err;

    snprintf(cmd, sizeof cmd, fmt, arg);
    int rc = test_trim_in(g_dir, &out, &err, "%s", cmd);
    if (rc != 0)
        fail_msg("trim %s: exit %d: %s", cmd, rc, err);
    free(err);
    return out;
}


static int64_t
file_bytes(const char *name)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    assert_int_equal(stat(path, &st), 0);
    return (int64_t)st.st_size;
}


/* The store name, opened as an outside tool would. */
static sqlite3 *
db_open(const char *name)
{
    char path[128];
    sqlite3 *h;

    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    return h;
}


static int64_t
db_int(const char *name, const char *sql)
{
    sqlite3 *h = db_open(name);
    int64_t v = sql_int(h, "%s", sql);
    sqlite3_close(h);
    return v;
}


/* Run sql (no result) on the store name. */
static void
db_exec(const char *name, const char *sql)
{
    sqlite3 *h = db_open(name);

    if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    sqlite3_close(h);
}


/* GET path from a console over name; the body (owned by the caller). */
static char *
console_get(const char *name, const char *path)
{
    char db[128], url[256], err[512];
    char *body = malloc(1 << 20);

    snprintf(db, sizeof db, "%s/%s", g_dir, name);
    console_opts_t o = {.db = db};
    console_t *c = console_new(&o, err, sizeof err);
    if (c == NULL)
        fail_msg("console: %s", err);
    console_http_t *h =
        console_http_new(c, "127.0.0.1:0", NULL, err, sizeof err);
    assert_non_null(h);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", console_http_port(h),
             path);
    assert_non_null(body);
    assert_int_equal(test_http("GET", url, body, 1 << 20, NULL, 0), 200);
    console_http_destroy(&h);
    console_destroy(&c);
    return body;
}


/* What must read the same after run 1 is pruned with its summaries kept. */
#define VIEWS 5

static void
read_views(char *v[VIEWS])
{
    v[0] = trim_ok("audit --db %s --run 1 --json", "store.db");
    v[1] =
        trim_ok("roi --prices prices.json --db %s --run 1 --json", "store.db");
    v[2] = trim_ok("export --db %s --run 2 --format jsonl", "store.db");
    v[3] = console_get("store.db", "/api/problems?run=1");
    v[4] = console_get("store.db", "/api/runs");
}


static int
setup(void **state)
{
    char path[128];

    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "retention");
    snprintf(path, sizeof path, "%s/prices.json", g_dir);
    test_write_file(path, s_prices);
    free(trim_ok("run --problems 60 --seed 5 --policy thr:0.5 --db %s"
                 " --no-progress",
                 "store.db"));
    free(trim_ok("run --problems 30 --seed 6 --policy pomdp:0.5 --db %s"
                 " --no-progress",
                 "store.db"));
    free(trim_ok("run --problems 30 --seed 7 --policy thr:0.7 --db %s"
                 " --no-progress",
                 "store.db"));
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


static void
test_prune_keeps_what_it_kept(void **state)
{
    (void)state;
    int64_t problem =
        db_int("store.db", "SELECT min(problem_id) FROM problems WHERE run_id"
                           " = 1");
    char trace_path[64];
    snprintf(trace_path, sizeof trace_path, "/api/problem?id=%lld",
             (long long)problem);
    char *before_views[VIEWS], *after_views[VIEWS];
    read_views(before_views);
    int64_t steps = db_int("store.db", "SELECT count(*) FROM steps");
    int64_t before = file_bytes("store.db");
    assert_int_equal(db_int("store.db", "PRAGMA auto_vacuum"), 2);

    char *out = trim_ok("prune --db %s --run 1 --keep-summaries", "store.db");
    assert_non_null(strstr(out, "pruned 1 runs: "));
    free(out);
    /* Only run 1's steps went. */
    assert_int_equal(db_int("store.db", "SELECT count(*) FROM steps s JOIN"
                                        " problems p USING (problem_id)"
                                        " WHERE p.run_id = 1"),
                     0);
    assert_true(db_int("store.db", "SELECT count(*) FROM steps") > 0);
    assert_true(db_int("store.db", "SELECT count(*) FROM steps") < steps);
    assert_int_equal(db_int("store.db", "SELECT count(*) FROM problems"), 120);
    /* The file shrank: no free page left inside it. */
    assert_int_equal(db_int("store.db", "PRAGMA freelist_count"), 0);
    assert_true(file_bytes("store.db") < before);

    /* What was kept answers as before. */
    read_views(after_views);
    for (int i = 0; i < VIEWS; i++) {
        assert_string_equal(before_views[i], after_views[i]);
        free(before_views[i]);
        free(after_views[i]);
    }
    out = trim_ok("export --db %s --run 1 --format jsonl", "store.db");
    assert_string_equal(out, "");
    free(out);
    out = trim_ok("audit --db %s --run 1 1", "store.db");
    assert_non_null(strstr(out, "\nfinal answer "));
    assert_null(strstr(out, "step 0 "));
    free(out);
    free(console_get("store.db", trace_path));

    /* Without summaries the problems go; the run's row stays. */
    out = trim_ok("prune --db %s --run 3", "store.db");
    assert_non_null(strstr(out, "30 problem rows"));
    free(out);
    assert_int_equal(db_int("store.db", "SELECT count(*) FROM problems WHERE"
                                        " run_id = 3"),
                     0);
    assert_int_equal(db_int("store.db", "SELECT count(*) FROM runs"), 3);
    assert_int_equal(db_int("store.db", "SELECT count(*) FROM"
                                        " pragma_integrity_check WHERE"
                                        " integrity_check <> 'ok'"),
                     0);
    assert_int_equal(
        db_int("store.db", "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}


/* A run still going, or none: nothing to prune, said so. */
static void
test_prune_refusals(void **state)
{
    char *out, *err;

    (void)state;
    assert_int_equal(
        test_trim_in(g_dir, &out, &err, "prune --db store.db --run 99"), 1);
    assert_non_null(strstr(err, "no finished run 99"));
    free(out);
    free(err);
    assert_int_equal(test_trim_in(g_dir, &out, &err, "prune --db store.db"), 2);
    assert_non_null(strstr(err, "--older-than"));
    free(out);
    free(err);
    /* Problems a finished run took since (a gateway's route is one long
    ** run): one still queued, one ended after the run's row said finished.
    ** Both stay. */
    db_exec("store.db",
            "INSERT INTO problems (problem_id, run_id, status, correct, steps,"
            " regenerated_steps, weak_tokens, strong_tokens,"
            " discarded_tokens, prm_tokens, created_ms, finished_ms)"
            " SELECT 1000 + k, 2, CASE k WHEN 0 THEN 'queued' ELSE"
            " 'finished' END, -1, 0, 0, 0, 0, 0, 0, 1, CASE k WHEN 0 THEN 0"
            " ELSE finished_ms + 1 END FROM runs, (SELECT 0 AS k UNION"
            " SELECT 1) WHERE run_id = 2");
    out = trim_ok("prune --db %s --run 2", "store.db");
    assert_non_null(strstr(out, "pruned 1 runs: "));
    free(out);
    assert_int_equal(db_int("store.db", "SELECT count(*) FROM problems WHERE"
                                        " run_id = 2"),
                     2);
    assert_int_equal(db_int("store.db", "SELECT min(problem_id) FROM problems"
                                        " WHERE run_id = 2"),
                     1000);
    /* Every run here finished moments ago: none is a day old. */
    out = trim_ok("prune --db %s --older-than 1", "store.db");
    assert_non_null(strstr(out, "pruned 0 runs"));
    free(out);
}


/* A store made before incremental vacuum: converted once by --vacuum. */
static void
test_old_store_vacuum(void **state)
{
    (void)state;
    free(trim_ok("run --problems 40 --seed 8 --policy thr:0.5 --db %s"
                 " --no-progress",
                 "old.db"));
    db_exec("old.db", "PRAGMA auto_vacuum = NONE; VACUUM;");
    assert_int_equal(db_int("old.db", "PRAGMA auto_vacuum"), 0);
    int64_t before = file_bytes("old.db");

    char *out = trim_ok("prune --db %s --run 1", "old.db");
    assert_non_null(strstr(out, "--vacuum"));
    free(out);
    assert_true(file_bytes("old.db") >= before); /* it keeps its size */
    assert_true(db_int("old.db", "PRAGMA freelist_count") > 0);

    out = trim_ok("prune --db %s --vacuum", "old.db");
    free(out);
    assert_int_equal(db_int("old.db", "PRAGMA auto_vacuum"), 2);
    assert_int_equal(db_int("old.db", "PRAGMA freelist_count"), 0);
    assert_true(file_bytes("old.db") < before);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_keeps_what_it_kept),
        cmocka_unit_test(test_prune_refusals),
        cmocka_unit_test(test_old_store_vacuum),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
