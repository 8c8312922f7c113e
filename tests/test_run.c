/*
** test_run.c: `trim run` end to end, checked against the audit database.
**
** Runs the real binary (a whole cluster in one process over inproc://) and
** then reads the SQLite file it wrote with plain SQL, independently of the
** storage component's own readers.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cluster.h"
#include "skip.h"
#include "testutil.h"


/* Run `trim run` with extra flags; parse its --json summary. */
static json_t *
run_trim(const char *db, const char *flags)
{
    char cmd[1024], *out;
    json_error_t jerr;
    int status;

    snprintf(cmd, sizeof cmd, "%s run --db %s --json --no-progress %s",
             test_bin(), db, flags);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    json_t *j = json_loads(out, 0, &jerr);
    if (j == NULL)
        fail_msg("summary is not JSON (%s): %s", jerr.text, out);
    free(out);
    return j;
}


static int64_t
summary_int(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v))
        fail_msg("summary has no integer '%s'", key);
    return json_integer_value(v);
}


static double
jreal(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_number(v))
        fail_msg("summary has no number '%s'", key);
    return json_number_value(v);
}


/* The whole database must tell the same story as the summary. */
static void
check_consistency(const char *db, json_t *sum, int expect_routed)
{
    sqlite3 *h;
    long long run = (long long)summary_int(sum, "run_id");

    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);

    /* Every problem finished. */
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM problems WHERE run_id=%lld", run),
        summary_int(sum, "problems"));
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM problems WHERE run_id=%lld "
                             "AND status <> 'finished'",
                             run),
                     0);

    /* Accepted steps are numbered 0..n-1 with no gap and no duplicate:
    ** exactly one accepted row per index, n of them, the largest n-1. */
    assert_int_equal(
        sql_int(
            h,
            "SELECT COUNT(*) FROM (SELECT s.problem_id, s.step_index FROM "
            "steps s JOIN problems p USING (problem_id) WHERE p.run_id=%lld "
            "AND s.accepted=1 GROUP BY 1, 2 HAVING COUNT(*) <> 1)",
            run),
        0);
    assert_int_equal(
        sql_int(h,
                "SELECT COUNT(*) FROM problems p WHERE p.run_id=%lld AND "
                "p.steps <> (SELECT COUNT(*) FROM steps s WHERE "
                "s.problem_id=p.problem_id AND s.accepted=1) OR p.steps - 1 <> "
                "(SELECT MAX(step_index) FROM steps s WHERE "
                "s.problem_id=p.problem_id AND s.accepted=1)",
                run),
        0);

    /* A discarded draft exactly where the decision said regenerate, and a
    ** strong step at each such place. */
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM steps s JOIN problems p "
                             "USING (problem_id) WHERE p.run_id=%lld AND "
                             "s.kind='draft' AND (s.accepted=0) <> "
                             "(s.decision='regenerate')",
                             run),
                     0);
    assert_int_equal(
        sql_int(h,
                "SELECT COUNT(*) FROM steps d JOIN problems p USING "
                "(problem_id) WHERE p.run_id=%lld AND d.kind='draft' AND "
                "d.decision='regenerate' AND NOT EXISTS (SELECT 1 FROM steps "
                "s WHERE s.problem_id=d.problem_id AND "
                "s.step_index=d.step_index AND s.kind='strong' AND "
                "s.accepted=1)",
                run),
        0);
    if (expect_routed) {
        assert_int_equal(
            sql_int(h,
                    "SELECT COUNT(*) FROM steps s JOIN problems p USING "
                    "(problem_id) WHERE p.run_id=%lld AND s.kind='strong' AND "
                    "NOT EXISTS (SELECT 1 FROM steps d WHERE "
                    "d.problem_id=s.problem_id AND d.step_index=s.step_index "
                    "AND d.kind='draft' AND d.decision='regenerate')",
                    run),
            0);
        /* Every routed draft carries its score, reason and decider. */
        assert_int_equal(
            sql_int(h,
                    "SELECT COUNT(*) FROM steps s JOIN problems p USING "
                    "(problem_id) WHERE p.run_id=%lld AND s.kind='draft' AND "
                    "(s.prm_score IS NULL OR s.reason IS NULL OR "
                    "s.decided_by NOT LIKE 'router:%%' OR s.policy IS NULL)",
                    run),
            0);
    }

    /* Problem totals are the sums of their steps. */
    assert_int_equal(
        sql_int(
            h,
            "SELECT COUNT(*) FROM problems p WHERE p.run_id=%lld AND ("
            "p.weak_tokens <> (SELECT IFNULL(SUM(completion_tokens),0) FROM "
            "steps s WHERE s.problem_id=p.problem_id AND s.kind='draft' "
            "AND s.accepted=1) OR "
            "p.strong_tokens <> (SELECT IFNULL(SUM(completion_tokens),0) "
            "FROM steps s WHERE s.problem_id=p.problem_id AND "
            "s.kind='strong') OR "
            "p.discarded_tokens <> (SELECT IFNULL(SUM(completion_tokens),0) "
            "FROM steps s WHERE s.problem_id=p.problem_id AND "
            "s.kind='draft' AND s.accepted=0) OR "
            "p.prm_tokens <> (SELECT IFNULL(SUM(prm_tokens),0) FROM steps "
            "s WHERE s.problem_id=p.problem_id) OR "
            "p.regenerated_steps <> (SELECT COUNT(*) FROM steps s WHERE "
            "s.problem_id=p.problem_id AND s.kind='draft' AND "
            "s.decision='regenerate'))",
            run),
        0);

    /* The summary's figures are what SQL over the database gives. */
    assert_int_equal(summary_int(sum, "correct"),
                     sql_int(h,
                             "SELECT COUNT(*) FROM problems WHERE run_id=%lld "
                             "AND correct=1",
                             run));
    assert_int_equal(summary_int(sum, "steps"),
                     sql_int(h,
                             "SELECT SUM(steps) FROM problems WHERE "
                             "run_id=%lld",
                             run));
    assert_int_equal(summary_int(sum, "regenerated_steps"),
                     sql_int(h,
                             "SELECT SUM(regenerated_steps) FROM problems "
                             "WHERE run_id=%lld",
                             run));
    int64_t weak = sql_int(h,
                           "SELECT SUM(weak_tokens) FROM problems WHERE "
                           "run_id=%lld",
                           run);
    int64_t strong = sql_int(h,
                             "SELECT SUM(strong_tokens) FROM problems WHERE "
                             "run_id=%lld",
                             run);
    int64_t disc = sql_int(h,
                           "SELECT SUM(discarded_tokens) FROM problems WHERE "
                           "run_id=%lld",
                           run);
    assert_int_equal(summary_int(sum, "weak_tokens"), weak);
    assert_int_equal(summary_int(sum, "strong_tokens"), strong);
    assert_int_equal(summary_int(sum, "discarded_tokens"), disc);
    assert_int_equal(summary_int(sum, "prm_tokens"),
                     sql_int(h,
                             "SELECT SUM(prm_tokens) FROM problems WHERE "
                             "run_id=%lld",
                             run));
    double acc = (double)summary_int(sum, "correct") /
                 (double)summary_int(sum, "problems");
    assert_true(fabs(jreal(sum, "accuracy") - acc) < 1e-9);
    double share = (double)strong / (double)(weak + strong + disc);
    assert_true(fabs(jreal(sum, "strong_token_share") - share) < 1e-6);
    /* The run is closed. */
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM runs WHERE run_id=%lld AND "
                             "finished_ms > 0",
                             run),
                     1);
    sqlite3_close(h);
}


static void
test_run_200_problems_is_consistent(void **state)
{
    (void)state;
    char db[256];
    test_tmp_path(db, sizeof db, "run200.db");
    json_t *sum = run_trim(db, "--problems 200 --seed 7 --policy thr:0.5");

    assert_int_equal(summary_int(sum, "problems"), 200);
    assert_int_equal(summary_int(sum, "finished"), 200);
    assert_int_equal(summary_int(sum, "failed"), 0);
    /* thr:0.5 regenerates some drafts and keeps most. */
    assert_true(summary_int(sum, "regenerated_steps") > 0);
    assert_true(summary_int(sum, "regenerated_steps") <
                summary_int(sum, "steps"));
    /* Every accepted step came from a routed draft. */
    assert_int_equal(summary_int(sum, "routed_steps"),
                     summary_int(sum, "steps"));
    check_consistency(db, sum, 1);
    json_decref(sum);
    test_remove_db(db);
}


static void
test_same_seed_same_run(void **state)
{
    (void)state;
    char a[256], b[256];
    test_tmp_path(a, sizeof a, "same-a.db");
    test_tmp_path(b, sizeof b, "same-b.db");
    json_t *ja = run_trim(a, "--problems 60 --seed 3 --concurrency 7");
    json_t *jb = run_trim(b, "--problems 60 --seed 3 --concurrency 60");
    const char *keys[] = {"correct",     "steps",         "regenerated_steps",
                          "weak_tokens", "strong_tokens", "discarded_tokens"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_int_equal(summary_int(ja, keys[i]), summary_int(jb, keys[i]));

    /* Step by step, the same texts and decisions. */
    cluster_same_steps(a, b);
    json_decref(ja);
    json_decref(jb);
    test_remove_db(a);
    test_remove_db(b);
}


static void
test_anchor_policies(void **state)
{
    (void)state;
    char db[256];
    test_tmp_path(db, sizeof db, "anchors.db");

    json_t *weak = run_trim(db, "--problems 50 --policy weak");
    assert_int_equal(summary_int(weak, "strong_tokens"), 0);
    assert_int_equal(summary_int(weak, "routed_steps"), 0);
    assert_true(summary_int(weak, "weak_tokens") > 0);
    check_consistency(db, weak, 0);

    json_t *strong = run_trim(db, "--problems 50 --policy strong");
    assert_int_equal(summary_int(strong, "weak_tokens"), 0);
    assert_int_equal(summary_int(strong, "discarded_tokens"), 0);
    assert_true(summary_int(strong, "strong_tokens") > 0);
    check_consistency(db, strong, 0);

    /* The same problems: the strong model solves more of them. */
    assert_true(summary_int(strong, "correct") > summary_int(weak, "correct"));
    json_decref(weak);
    json_decref(strong);
    test_remove_db(db);
}


/* Count lines of s that start with a positive integer. */
static int
id_lines(const char *s)
{
    int n = 0;
    for (const char *line = s; *line;) {
        if (*line >= '1' && *line <= '9')
            n++;
        const char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    return n;
}


static void
test_audit_lists_and_traces(void **state)
{
    (void)state;
    char db[256], cmd[1024], *out;
    int status;
    test_tmp_path(db, sizeof db, "audit.db");
    json_t *sum = run_trim(db, "--problems 40 --seed 5 --policy thr:0.6");

    snprintf(cmd, sizeof cmd, "%s audit --db %s", test_bin(), db);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    assert_int_equal(id_lines(out), 40);
    assert_non_null(strstr(out, " regen strong_tok "));
    free(out);

    /* The trace of a problem with a regenerated step shows the discarded
    ** draft, its score, the decision with its reason, and the strong step. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    long long id = (long long)sql_int(
        h, "SELECT MIN(problem_id) FROM problems WHERE regenerated_steps > 0");
    long long nsteps = (long long)sql_int(
        h, "SELECT COUNT(*) FROM steps WHERE problem_id=%lld", id);
    sqlite3_close(h);
    snprintf(cmd, sizeof cmd, "%s audit --db %s %lld", test_bin(), db, id);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "DISCARDED"));
    assert_non_null(strstr(out, "REGENERATE"));
    assert_non_null(strstr(out, "replaces the draft"));
    assert_non_null(strstr(out, "< 0.6"));
    assert_non_null(strstr(out, "final answer"));
    int shown = 0;
    for (const char *s = out; (s = strstr(s, "\nstep ")) != NULL; s++)
        shown++;
    assert_int_equal(shown, nsteps);
    free(out);

    snprintf(cmd, sizeof cmd, "%s audit --db %s 999999 2>&1", test_bin(), db);
    out = test_capture(cmd, &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "no problem 999999"));
    free(out);
    json_decref(sum);
    test_remove_db(db);
}


static void
test_sweep_beside_reference(void **state)
{
    (void)state;
    char db[256], cmd[1024], ref[512], *out;
    int status;

    test_data_path(ref, sizeof ref,
                   "reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl");
    test_tmp_path(db, sizeof db, "sweep.db");
    snprintf(cmd, sizeof cmd,
             "%s eval sweep --policy thr --from 0 --to 1 --by 0.5 "
             "--problems 30 --db %s --json --reference %s",
             test_bin(), db, ref);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    /* One object per threshold: 0 (weak), 0.5, 1 (strong), each with the
    ** reference run's figures at that threshold. */
    const double expect_ref[3] = {0.364, 0.674, 0.73};
    const char *expect_policy[3] = {"weak", "thr:0.5", "strong"};
    char *line = out;
    for (int i = 0; i < 3; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "policy")),
                            expect_policy[i]);
        json_t *r = json_object_get(j, "reference");
        assert_non_null(r);
        assert_true(fabs(json_number_value(json_object_get(r, "accuracy")) -
                         expect_ref[i]) < 1e-9);
        json_decref(j);
        line = nl + 1;
    }
    free(out);
    test_remove_db(db);
}


static void
test_bad_flags_are_named(void **state)
{
    (void)state;
    char cmd[512], *out;
    int status;

    snprintf(cmd, sizeof cmd, "%s run --policy thr:2 --db /dev/null 2>&1",
             test_bin());
    out = test_capture(cmd, &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "thr:2"));
    free(out);

    snprintf(cmd, sizeof cmd, "%s run --problems many 2>&1", test_bin());
    out = test_capture(cmd, &status);
    assert_int_equal(status, 2);
    assert_non_null(strstr(out, "--problems"));
    assert_non_null(strstr(out, "many"));
    free(out);

    snprintf(cmd, sizeof cmd,
             "%s run --problems 3 --db /nonexistent-dir/x.db 2>&1", test_bin());
    out = test_capture(cmd, &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "/nonexistent-dir/x.db"));
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_200_problems_is_consistent),
        cmocka_unit_test(test_same_seed_same_run),
        cmocka_unit_test(test_anchor_policies),
        cmocka_unit_test(test_audit_lists_and_traces),
        cmocka_unit_test(test_sweep_beside_reference),
        cmocka_unit_test(test_bad_flags_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
