/*
** test_interrupt.c: Ctrl-C on `trim run`, `trim eval` and `trim train agg
** --sim`, and `trim run --resume`.
**
** Real processes get a real SIGINT (or SIGTERM) once they have shown that
** they are under way (rows in their SQLite file, a progress line); the
** files they leave are then read with plain SQL.  An interrupted run,
** resumed, must give every problem the answer and the totals of the same
** run left alone: seeds are per problem and step, so the simulator is
** deterministic whatever the interruption cut.
*/
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cluster.h"
#include "testutil.h"

#define PROBLEMS "1000"
#define SEED     "5"
#define WAIT_MS  60000


/* Wait (bounded) until the file at path contains needle. */
static void
wait_for_text(const char *path, const char *needle)
{
    for (int waited = 0; waited < WAIT_MS; waited += 20) {
        if (test_file_contains(path, needle))
            return;
        cluster_pause_ms(20);
    }
    fail_msg("%s never showed '%s'", path, needle);
}


/* Run sql on the store at db; fail the test unless it succeeds. */
static void
exec_sql(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    char *msg = NULL;

    if (sqlite3_open(db, &h) != SQLITE_OK ||
        sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s: %s", db, sql, msg ? msg : sqlite3_errmsg(h));
    sqlite3_close(h);
}


/* The one integer that sql selects from the store at db (-1: none). */
static int64_t
exec_count(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}


/* Finished problems in the store at db (-1 while it is not there yet). */
static int64_t
finished_in(const char *db)
{
    return exec_count(
        db, "SELECT COUNT(*) FROM problems WHERE status = 'finished'");
}


/* Wait (bounded) until at least n problems of db have finished. */
static void
wait_for_finished(const char *db, int64_t n)
{
    for (int waited = 0; waited < WAIT_MS; waited += 20) {
        if (finished_in(db) >= n)
            return;
        cluster_pause_ms(20);
    }
    fail_msg("%s never had %lld finished problems", db, (long long)n);
}


/* Run cmd (a trim command line after the binary); its stdout as JSON. */
static json_t *
trim_json(const char *args, int expect_status)
{
    char cmd[1024];
    int status;
    json_error_t jerr;

    snprintf(cmd, sizeof cmd, "%s %s", test_bin(), args);
    char *out = test_capture(cmd, &status);
    assert_int_equal(status, expect_status);
    json_t *j = json_loads(out, 0, &jerr);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, out);
    free(out);
    return j;
}


/* A summary's totals must equal the uninterrupted run's. */
static void
assert_same_totals(json_t *a, json_t *b)
{
    static const char *const keys[] = {
        "problems",          "finished",    "failed",
        "correct",           "steps",       "routed_steps",
        "regenerated_steps", "weak_tokens", "strong_tokens",
        "discarded_tokens",  "prm_tokens",
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (jint(a, keys[i]) != jint(b, keys[i]))
            fail_msg("%s: %lld uninterrupted, %lld interrupted and resumed",
                     keys[i], (long long)jint(a, keys[i]),
                     (long long)jint(b, keys[i]));
}


/* Every problem's outcome in db, one line each, in problem order. */
static char *
outcomes(const char *db)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(h,
                           "SELECT source, status, final_answer, correct, "
                           "steps, regenerated_steps, weak_tokens, "
                           "strong_tokens, discarded_tokens, prm_tokens "
                           "FROM problems ORDER BY problem_id",
                           -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            fprintf(f, "%s|", v ? (const char *)v : "NULL");
        }
        fputc('\n', f);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    fclose(f);
    return text;
}


/*
** The run both tests interrupt, left alone once for reference: its store
** and its summary.
*/
static struct {
    char dir[256], db[300];
    json_t *whole;
} g_ref;


static int
setup_reference(void **state)
{
    char args[512];

    (void)state;
    test_scratch_dir(g_ref.dir, sizeof g_ref.dir, "interrupt-ref");
    snprintf(g_ref.db, sizeof g_ref.db, "%s/ref.db", g_ref.dir);
    snprintf(args, sizeof args,
             "run --problems " PROBLEMS " --seed " SEED
             " --db %s --json --no-progress",
             g_ref.db);
    g_ref.whole = trim_json(args, 0);
    return 0;
}


static int
teardown_reference(void **state)
{
    (void)state;
    json_decref(g_ref.whole);
    return test_remove_tree(g_ref.dir);
}


/* The run to interrupt (pid) in folder dir, its store and its output. */
typedef struct run_case {
    char dir[256], db[300], log[300];
    int pid;
} run_case_t;


/*
** Start the run and wait until it is under way.  One problem at a time,
** and ten times as many as it waits for: the coordinator is still solving
** when the signal comes, however far the audit rows lag behind it.
*/
static void
run_case_start(run_case_t *k, const char *prefix)
{
    test_scratch_dir(k->dir, sizeof k->dir, prefix);
    snprintf(k->db, sizeof k->db, "%s/run.db", k->dir);
    snprintf(k->log, sizeof k->log, "%s/run.log", k->dir);
    char *argv[] = {(char *)test_bin(),
                    "run",
                    "--problems",
                    PROBLEMS,
                    "--seed",
                    SEED,
                    "--concurrency",
                    "1",
                    "--db",
                    k->db,
                    "--json",
                    "--no-progress",
                    NULL};
    k->pid = test_spawn(k->log, argv);
    wait_for_finished(k->db, 10);
}


/* Resume run 1 to the end: its totals must be the run left alone's. */
static void
run_case_resume(run_case_t *k, const char *flags)
{
    char args[512];

    snprintf(args, sizeof args,
             "run --resume 1 %s --db %s --json --no-progress", flags, k->db);
    json_t *resumed = trim_json(args, 0);
    assert_same_totals(g_ref.whole, resumed);
    json_decref(resumed);
}


static void
run_case_end(run_case_t *k)
{
    assert_int_equal(test_remove_tree(k->dir), 0);
}


static void
test_run_interrupt_and_resume(void **state)
{
    (void)state;
    run_case_t k;
    char cmd[700], needle[64];
    int status;

    run_case_start(&k, "interrupt");
    kill(k.pid, SIGINT);
    assert_int_equal(test_wait_child(k.pid, WAIT_MS), 130);

    /* It said what it recorded and how to finish. */
    snprintf(cmd, sizeof cmd, "trim run --resume 1 --db %s", k.db);
    assert_true(test_file_contains(k.log, "interrupted (SIGINT)"));
    assert_true(test_file_contains(k.log, cmd));
    assert_true(test_file_contains(k.log, "problems of run 1 finished"));
    int64_t done = finished_in(k.db);
    assert_true(done >= 10 && done < 1000);
    /* The partial summary counts exactly what the store holds. */
    snprintf(needle, sizeof needle, "\"finished\":%lld", (long long)done);
    assert_true(test_file_contains(k.log, needle));

    /* A flag that contradicts the record is refused, and so is a run that
    ** is not there; neither touches the store. */
    snprintf(cmd, sizeof cmd, "%s run --resume 1 --db %s --seed 6 2>&1",
             test_bin(), k.db);
    char *out = test_capture(cmd, &status);
    assert_int_equal(status, 2);
    assert_non_null(
        strstr(out, "--seed '6' conflicts with the run's recorded '5'"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s run --resume 2 --db %s 2>&1", test_bin(),
             k.db);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 2);
    assert_non_null(strstr(out, "no such run"));
    free(out);
    assert_int_equal(finished_in(k.db), done);

    /* Resumed (the same seed restated is no conflict; concurrency may
    ** change): the same answers and totals as the run left alone. */
    run_case_resume(&k, "--seed " SEED " --concurrency 64");
    char *a = outcomes(g_ref.db), *b = outcomes(k.db);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* A finished run resumes to the same summary, running nothing. */
    run_case_resume(&k, "");
    snprintf(cmd, sizeof cmd, "%s run --resume 1 --db %s 2>&1", test_bin(),
             k.db);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "run 1: nothing left to resume"));
    assert_non_null(strstr(out, "problems            1000"));
    free(out);

    /* A problem the simulator cannot solve is refused before it runs. */
    exec_sql(k.db, "UPDATE problems SET status = 'queued', text = 'What "
                   "is 2+2?' WHERE problem_id = 7");
    out = test_capture(cmd, &status);
    assert_int_equal(status, 1);
    assert_non_null(strstr(out, "problem 7"));
    assert_non_null(strstr(out, "simulator solves only problems it generated"));
    free(out);
    /* A run that `trim submit` or the gateway made is the coordinator's. */
    exec_sql(k.db, "UPDATE runs SET config = '{\"submitted_by\":\"trim "
                   "submit\",\"source\":\"sim\",\"seed\":5}'");
    out = test_capture(cmd, &status);
    assert_int_equal(status, 2);
    assert_non_null(strstr(out, "was not made by `trim run` (trim submit)"));
    assert_non_null(strstr(out, "trim coordinator --db"));
    free(out);
    assert_int_equal(
        exec_count(k.db, "SELECT COUNT(*) FROM problems WHERE problem_id = "
                         "7 AND status = 'queued'"),
        1);
    run_case_end(&k);
}


/* Fail unless SQLite finds the database at path whole. */
static void
assert_integrity(const char *path)
{
    sqlite3 *h;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(h);
}


static void
test_second_signal_exits_at_once(void **state)
{
    (void)state;
    run_case_t k;

    run_case_start(&k, "interrupt2");
    /* Two different signals are never merged into one: the second one
    ** handled ends the process before the first's orderly stop (which
    ** waits for the coordinator's next tick) can finish. */
    kill(k.pid, SIGTERM);
    kill(k.pid, SIGINT);
    int rc = test_wait_child(k.pid, WAIT_MS);
    assert_true(rc == 130 || rc == 143);
    assert_true(test_file_contains(k.log, "second interrupt, exiting now"));
    assert_false(test_file_contains(k.log, "finish it with"));
    /* The store is whole, and the run finishes as if never cut. */
    assert_integrity(k.db);
    run_case_resume(&k, "");
    run_case_end(&k);
}


/* Lines of the file at path (0 when it is not there). */
static int
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;

    if (f == NULL)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}


static void
test_eval_interrupt_writes_what_finished(void **state)
{
    (void)state;
    char dir[256], out[300], log[300], path[400];

    test_scratch_dir(dir, sizeof dir, "interrupt-eval");
    snprintf(out, sizeof out, "%s/eval", dir);
    snprintf(log, sizeof log, "%s/eval.log", dir);
    char *argv[] = {(char *)test_bin(),
                    "eval",
                    "--policies",
                    "thr",
                    "--problems",
                    "60",
                    "--out",
                    out,
                    NULL};
    int pid = test_spawn(log, argv);
    wait_for_text(log, "trim eval: thr 3/23 ");
    kill(pid, SIGINT);
    assert_int_equal(test_wait_child(pid, WAIT_MS), 130);

    /* The points measured before the signal, and no other, are written. */
    int64_t measured = test_count_lines(log, "trim eval: thr ");
    assert_true(measured >= 3 && measured < 23);
    assert_true(test_file_contains(log, "interrupted (SIGINT)"));
    char missing[64];
    snprintf(missing, sizeof missing, "thr: %lld of 23 points measured",
             (long long)measured);
    assert_true(test_file_contains(log, missing));
    assert_true(test_file_contains(log, "missing: "));
    snprintf(path, sizeof path, "%s/summary.csv", out);
    char row[32];
    snprintf(row, sizeof row, "thr,%lld,", (long long)measured);
    assert_true(test_file_contains(path, row));
    snprintf(path, sizeof path, "%s/curves.csv", out);
    assert_int_equal(count_lines(path), 1 + measured + 2); /* + anchors */
    snprintf(path, sizeof path, "%s/eval.json", out);
    assert_true(test_file_contains(path, "\"thr\""));
    assert_int_equal(test_remove_tree(dir), 0);
}


/* Ctrl-C during the weak anchor starts no other point. */
static void
test_eval_interrupt_in_first_anchor(void **state)
{
    (void)state;
    char dir[256], out[300], log[300], db[400];

    test_scratch_dir(dir, sizeof dir, "interrupt-anchor");
    snprintf(out, sizeof out, "%s/eval", dir);
    snprintf(log, sizeof log, "%s/eval.log", dir);
    snprintf(db, sizeof db, "%s/eval.db", out);
    char *argv[] = {
        (char *)test_bin(), "eval",  "--policies", "thr", "--problems",
        "100000",           "--out", out,          NULL};
    int pid = test_spawn(log, argv);
    wait_for_finished(db, 10);
    kill(pid, SIGINT);
    assert_int_equal(test_wait_child(pid, WAIT_MS), 130);
    assert_true(test_file_contains(log, "before the weak-only and "
                                        "strong-only anchors were measured"));
    assert_int_equal(exec_count(db, "SELECT COUNT(*) FROM runs"), 1);
    assert_int_equal(test_remove_tree(dir), 0);
}


/* Entries of the folder at path, . and .. aside. */
static int
entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}


static void
test_train_interrupt_cleans_up(void **state)
{
    (void)state;
    char dir[256], tmp[256], pol[300], log[300], cmd[700];

    test_scratch_dir(dir, sizeof dir, "interrupt-train");
    test_scratch_dir(tmp, sizeof tmp, "tt"); /* short: a TMPDIR the loop uses */
    snprintf(pol, sizeof pol, "%s/agg.pol", dir);
    snprintf(log, sizeof log, "%s/train.log", dir);
    setenv("TMPDIR", tmp, 1);
    char *argv[] = {
        (char *)test_bin(), "train", "agg",   "--sim", "--problems", "150",
        "--val-problems",   "150",   "--out", pol,     NULL};
    int pid = test_spawn(log, argv);
    unsetenv("TMPDIR");
    wait_for_text(log, "iteration   1 of ");
    assert_int_equal(entries(tmp), 1); /* the loop's temporary folder */
    kill(pid, SIGINT);
    assert_int_equal(test_wait_child(pid, WAIT_MS), 130);

    assert_int_equal(entries(tmp), 0);
    assert_true(test_file_contains(log, "holds the best policy so far"));
    assert_true(test_file_contains(log, "the temporary runs were removed"));
    /* What was kept is a whole policy file that a run accepts. */
    snprintf(cmd, sizeof cmd,
             "%s run --policy agg:%s --problems 5 --db %s/check.db "
             "--no-progress >/dev/null",
             test_bin(), pol, dir);
    int status;
    free(test_capture(cmd, &status));
    assert_int_equal(status, 0);
    assert_int_equal(test_remove_tree(tmp), 0);
    assert_int_equal(test_remove_tree(dir), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_interrupt_and_resume),
        cmocka_unit_test(test_second_signal_exits_at_once),
        cmocka_unit_test(test_eval_interrupt_writes_what_finished),
        cmocka_unit_test(test_eval_interrupt_in_first_anchor),
        cmocka_unit_test(test_train_interrupt_cleans_up),
    };
    return cmocka_run_group_tests(tests, setup_reference, teardown_reference);
}
