/*
** test_recover.c: a coordinator restarted over a store with problems in
** flight resumes each from its last accepted step.
**
** A crash leaves a store whose unfinished problems end at any committed
** row.  The test makes such a store by hand from a finished one-process run
** (`trim run`, deterministic models), cutting chosen problems back to the
** rows a crash at each kind of moment leaves: after a kept draft, after a
** strong step, after a draft sent to the large pool whose strong step never
** came, after the last step but before the problem's own row, before any
** step; and two whose rows do not form a step sequence (a gap, a rejected
** draft followed by more steps), which start over.  It adds a run whose
** policy no longer parses and a problem of a run that does not exist.
** Then a real cluster (`trim coordinator`, router and three workers over
** TCP on 127.0.0.1) finishes the run.
**
** Each cut problem's accepted rows carry a marker: 1000 tokens added to the
** completion tokens of its step 0.  A problem resumed from its rows counts
** them; one that starts over recomputes its steps and does not.  Everything
** else, the answers, grades, steps and every step row, must equal the
** uninterrupted run's.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "testutil.h"

#define PROBLEMS 24
#define SEED     "5"
#define POLICY   "thr:0.5"
#define MARK     1000 /* tokens planted on a cut problem's step 0 */

typedef struct fixture {
    char dir[64], ref[128], db[128], log[128], endpoint[64];
    int pids[5], n_pids;
} fixture_t;


static void
path_in(const fixture_t *f, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", f->dir, name);
}


static void
exec_sql(sqlite3 *h, const char *fmt, ...)
{
    va_list ap;
    char *err = NULL;

    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    assert_non_null(sql);
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_free(sql);
}


static json_t *
run_json(const char *cmd)
{
    int st;
    char *out = test_capture(cmd, &st);
    json_t *j = st == 0 ? json_loads(out, 0, NULL) : NULL;
    if (j == NULL)
        fail_msg("%s: exit %d, output: %s", cmd, st, out);
    free(out);
    return j;
}


static int64_t
jint(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}


/* A way to cut a finished problem back to what a crash leaves. */
typedef struct cut {
    const char *what;
    /* Selects "problem_id, step_index" of a fitting problem among those not
    ** yet used (the %s is the used list). */
    const char *pick;
    /* Deletes the rows the crash did not commit (%lld: problem, step). */
    const char *cut;
    int resumes; /* 1: resumes from its rows (0: it has none, or starts
                    over) */
    /* Why it starts over, as the coordinator logs it (%lld: the step), or
    ** NULL. */
    const char *over;
} cut_t;

static const cut_t cuts[] = {
    {"after a kept draft",
     "SELECT problem_id, step_index FROM steps s WHERE kind = 'draft' AND "
     "accepted = 1 AND step_index >= 1 AND problem_id NOT IN (%s) AND EXISTS "
     "(SELECT 1 FROM steps t WHERE t.problem_id = s.problem_id AND "
     "t.step_index > s.step_index) ORDER BY problem_id LIMIT 1",
     "DELETE FROM steps WHERE problem_id = %lld AND step_index > %lld", 1,
     NULL},
    {"after a strong step",
     "SELECT problem_id, step_index FROM steps s WHERE kind = 'strong' AND "
     "step_index >= 1 AND problem_id NOT IN (%s) AND EXISTS (SELECT 1 FROM "
     "steps t WHERE t.problem_id = s.problem_id AND t.step_index > "
     "s.step_index) ORDER BY problem_id LIMIT 1",
     "DELETE FROM steps WHERE problem_id = %lld AND step_index > %lld", 1,
     NULL},
    {"waiting for a strong step",
     "SELECT problem_id, step_index FROM steps WHERE kind = 'strong' AND "
     "step_index >= 1 AND problem_id NOT IN (%s) ORDER BY problem_id LIMIT 1",
     "DELETE FROM steps WHERE problem_id = %lld AND (step_index, kind) > "
     "(%lld, 'draft')",
     1, NULL},
    {"after its last step",
     "SELECT problem_id, 0 FROM problems WHERE steps >= 2 AND problem_id NOT "
     "IN (%s) ORDER BY problem_id LIMIT 1",
     NULL, 1, NULL},
    {"before any step",
     "SELECT problem_id, 0 FROM problems WHERE problem_id NOT IN (%s) ORDER "
     "BY problem_id LIMIT 1",
     "DELETE FROM steps WHERE problem_id = %lld AND step_index >= %lld", 0,
     NULL},
    {"with a gap",
     "SELECT problem_id, 1 FROM problems WHERE steps >= 3 AND problem_id NOT "
     "IN (%s) ORDER BY problem_id LIMIT 1",
     "DELETE FROM steps WHERE problem_id = %lld AND step_index = %lld", 0,
     "rows jump from step %lld to step 2"},
    {"with a rejected draft before more steps",
     "SELECT problem_id, step_index FROM steps s WHERE kind = 'strong' AND "
     "step_index >= 1 AND problem_id NOT IN (%s) AND EXISTS (SELECT 1 FROM "
     "steps t WHERE t.problem_id = s.problem_id AND t.step_index > "
     "s.step_index) ORDER BY problem_id LIMIT 1",
     "DELETE FROM steps WHERE problem_id = %lld AND step_index = %lld AND "
     "kind = 'strong'",
     0, "step %lld (row "},
};
#define N_CUTS (sizeof cuts / sizeof cuts[0])


/*
** Cut the chosen problems of the store at h back to a crash's state; id[i]
** receives cut i's problem.  Returns how many resume from their rows.
*/
static int
make_crashed_store(sqlite3 *h, int64_t id[N_CUTS], int64_t at[N_CUTS])
{
    char used[256] = "0", sql[1024];
    int resumes = 0;

    for (size_t i = 0; i < N_CUTS; i++) {
        sqlite3_stmt *st;
        snprintf(sql, sizeof sql, cuts[i].pick, used);
        assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) != SQLITE_ROW)
            fail_msg("no problem of the reference run fits '%s'", cuts[i].what);
        id[i] = sqlite3_column_int64(st, 0);
        at[i] = sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        size_t len = strlen(used);
        snprintf(used + len, sizeof used - len, ",%lld", (long long)id[i]);

        /* The marker on the accepted row of step 0. */
        exec_sql(h,
                 "UPDATE steps SET completion_tokens = completion_tokens + %d "
                 "WHERE problem_id = %lld AND step_index = 0 AND (kind = "
                 "'strong' OR accepted = 1)",
                 MARK, (long long)id[i]);
        if (cuts[i].cut)
            exec_sql(h, cuts[i].cut, (long long)id[i], (long long)at[i]);
        exec_sql(h,
                 "UPDATE problems SET status = 'running', final_answer = "
                 "NULL, correct = -1, steps = 0, regenerated_steps = 0, "
                 "weak_tokens = 0, strong_tokens = 0, discarded_tokens = 0, "
                 "prm_tokens = 0, finished_ms = 0 WHERE problem_id = %lld",
                 (long long)id[i]);
        resumes += cuts[i].resumes;
    }
    exec_sql(h, "UPDATE runs SET finished_ms = 0");

    /* A run whose policy this build no longer knows, and a problem of a
    ** run that is not there: both are logged and left queued. */
    exec_sql(h, "INSERT INTO runs (run_id, policy, seed, started_ms) VALUES "
                "(2, 'retired:1', 1, 1)");
    exec_sql(h,
             "INSERT INTO problems (problem_id, run_id, source, text, "
             "status, correct, steps, regenerated_steps, weak_tokens, "
             "strong_tokens, discarded_tokens, prm_tokens, created_ms, seed) "
             "VALUES (1000, 2, 'sim:2:0', 'What is 1 + 1?', 'queued', -1, "
             "0, 0, 0, 0, 0, 0, 1, 7), (1001, 99, 'sim:99:0', "
             "'What is 2 + 2?', 'queued', -1, 0, 0, 0, 0, 0, 0, 1, 8)");
    return resumes;
}


static void
start(fixture_t *f, const char *log, ...)
{
    char *argv[32], path[160];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)test_bin();
    va_start(ap, log);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    path_in(f, log, path, sizeof path);
    f->pids[f->n_pids++] = test_spawn(path, argv);
}


static void
test_resumes_from_last_accepted_step(void **state)
{
    (void)state;
    fixture_t f = {0};
    char cmd[1024];
    sqlite3 *h;
    int64_t id[N_CUTS], at[N_CUTS];

    test_scratch_dir(f.dir, sizeof f.dir, "recover");
    path_in(&f, "ref.db", f.ref, sizeof f.ref);
    path_in(&f, "crashed.db", f.db, sizeof f.db);
    path_in(&f, "coordinator.log", f.log, sizeof f.log);

    /* The uninterrupted run. */
    snprintf(cmd, sizeof cmd,
             "%s run --json --no-progress --db %s --problems %d --seed " SEED
             " --policy " POLICY,
             test_bin(), f.ref, PROBLEMS);
    json_t *ref = run_json(cmd);

    /* Its store, cut back. */
    assert_int_equal(sqlite3_open(f.ref, &h), SQLITE_OK);
    exec_sql(h, "VACUUM INTO %Q", f.db);
    sqlite3_close(h);
    assert_int_equal(sqlite3_open(f.db, &h), SQLITE_OK);
    int resumes = make_crashed_store(h, id, at);
    sqlite3_close(h);

    /* A cluster over it. */
    snprintf(f.endpoint, sizeof f.endpoint, "tcp://127.0.0.1:%d",
             test_free_port());
    start(&f, "coordinator.log", "coordinator", "--bind", f.endpoint, "--db",
          f.db, "--heartbeat-ms", "100", "--log-level", "info", (char *)NULL);
    start(&f, "router.log", "router", "--connect", f.endpoint, "--pub", "",
          "--name", "router-r", "--heartbeat-ms", "100", (char *)NULL);
    static const char *const pools[] = {"small", "large", "prm"};
    for (int i = 0; i < 3; i++)
        start(&f, "workers.log", "worker", "--pool", pools[i], "--connect",
              f.endpoint, "--heartbeat-ms", "100", "--sim-base-ms", "0",
              (char *)NULL);
    snprintf(cmd, sizeof cmd,
             "%s wait --json --connect %s --run 1 --timeout-ms 120000 "
             "--connect-timeout-ms 60000",
             test_bin(), f.endpoint);
    json_t *done = run_json(cmd);
    for (int i = f.n_pids - 1; i >= 0; i--) {
        kill(f.pids[i], SIGTERM);
        assert_int_equal(test_wait_child(f.pids[i], 30000), 0);
    }

    /* The run's totals went on from the rows: only the planted tokens of
    ** the resumed problems differ. */
    assert_int_equal(jint(done, "problems"), PROBLEMS);
    assert_int_equal(jint(done, "finished"), PROBLEMS);
    static const char *const same[] = {"correct", "steps", "regenerated_steps",
                                       "discarded_tokens", "prm_tokens"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        if (jint(done, same[i]) != jint(ref, same[i]))
            fail_msg("%s: %lld after the restart, %lld uninterrupted", same[i],
                     (long long)jint(done, same[i]),
                     (long long)jint(ref, same[i]));
    assert_int_equal(jint(done, "weak_tokens") + jint(done, "strong_tokens"),
                     jint(ref, "weak_tokens") + jint(ref, "strong_tokens") +
                         MARK * resumes);

    /* Problem by problem, and every step row. */
    assert_int_equal(sqlite3_open(f.db, &h), SQLITE_OK);
    exec_sql(h, "ATTACH %Q AS ref", f.ref);
    for (size_t i = 0; i < N_CUTS; i++) {
        const char *cols = "status, final_answer, correct, steps, "
                           "regenerated_steps, discarded_tokens, prm_tokens";
        if (sql_int(h,
                    "SELECT count(*) FROM (SELECT %s FROM main.problems WHERE "
                    "problem_id = %lld EXCEPT SELECT %s FROM ref.problems "
                    "WHERE problem_id = %lld)",
                    cols, (long long)id[i], cols, (long long)id[i]) != 0)
            fail_msg("problem %lld, cut %s, did not end as uninterrupted",
                     (long long)id[i], cuts[i].what);
        int64_t extra = sql_int(
            h,
            "SELECT m.weak_tokens + m.strong_tokens - r.weak_tokens - "
            "r.strong_tokens FROM main.problems m JOIN ref.problems r USING "
            "(problem_id) WHERE problem_id = %lld",
            (long long)id[i]);
        if (extra != (cuts[i].resumes ? MARK : 0))
            fail_msg("problem %lld, cut %s: %lld tokens more than "
                     "uninterrupted; it %s",
                     (long long)id[i], cuts[i].what, (long long)extra,
                     cuts[i].resumes ? "should have resumed from its rows"
                                     : "should have started over");
    }
    const char *step_cols = "problem_id, step_index, kind, text, decision, "
                            "accepted, prm_score";
    assert_int_equal(sql_int(h,
                             "SELECT count(*) FROM (SELECT %s FROM main.steps "
                             "WHERE problem_id < 1000 EXCEPT SELECT %s FROM "
                             "ref.steps)",
                             step_cols, step_cols),
                     0);
    assert_int_equal(sql_int(h,
                             "SELECT count(*) FROM (SELECT %s FROM ref.steps "
                             "EXCEPT SELECT %s FROM main.steps)",
                             step_cols, step_cols),
                     0);
    /* The problems of the bad runs wait, untouched. */
    assert_int_equal(sql_int(h, "SELECT count(*) FROM problems WHERE "
                                "problem_id >= 1000 AND status = 'queued'"),
                     2);
    sqlite3_close(h);

    /* What the coordinator said. */
    char want[256];
    snprintf(want, sizeof want, "recovered %zu unfinished problems", N_CUTS);
    assert_true(test_file_contains(f.log, want));
    for (size_t i = 0; i < N_CUTS; i++) {
        char why[64];
        if (cuts[i].over == NULL)
            continue;
        snprintf(why, sizeof why, cuts[i].over, (long long)at[i]);
        snprintf(want, sizeof want, "problem %lld cannot resume (%s",
                 (long long)id[i], why);
        if (!test_file_contains(f.log, want))
            fail_msg("the coordinator's log lacks '%s'", want);
    }
    assert_true(test_file_contains(
        f.log, "recovery: run 2: unknown policy 'retired:1'"));
    assert_true(
        test_file_contains(f.log, "recovery: run 99: not in the store"));

    json_decref(ref);
    json_decref(done);
    assert_int_equal(test_remove_tree(f.dir), 0);
}


/*
** Stores a coordinator must not start on: it exits 1, names the file and
** leaves it as it was.
*/
static void
test_refuses_foreign_stores(void **state)
{
    (void)state;
    char dir[64], path[128], cmd[512];
    sqlite3 *h;
    static const struct {
        const char *name, *setup, *message;
    } cases[] = {
        {"other.db", "CREATE TABLE notes (body TEXT)",
         "not a trim store (1 tables or indexes but no schema version); "
         "refusing to migrate"},
        {"app.db", "PRAGMA application_id = 1234",
         "not a trim store (application_id 0x000004d2)"},
        {"newer.db", "PRAGMA user_version = 99",
         "schema version 99 is newer than this build's"},
    };

    test_scratch_dir(dir, sizeof dir, "recover");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
        exec_sql(h, cases[i].setup);
        sqlite3_close(h);
        snprintf(cmd, sizeof cmd,
                 "%s coordinator --bind tcp://127.0.0.1:%d --db %s 2>&1",
                 test_bin(), test_free_port(), path);
        int st;
        char *out = test_capture(cmd, &st);
        assert_int_equal(st, 1);
        if (strstr(out, path) == NULL || strstr(out, cases[i].message) == NULL)
            fail_msg("%s: want '%s', got: %s", cases[i].name, cases[i].message,
                     out);
        free(out);
        /* Nothing was added to it. */
        assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
        assert_int_equal(sql_int(h, "SELECT count(*) FROM sqlite_schema WHERE "
                                    "name = 'runs'"),
                         0);
        sqlite3_close(h);
    }
    assert_int_equal(test_remove_tree(dir), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumes_from_last_accepted_step),
        cmocka_unit_test(test_refuses_foreign_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
