/*
** test_calibrate.c: `trim calibrate` fits a model that TRIM-POMDP loads.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "pomdp.h"
#include "testutil.h"


static void
test_fit_and_plan_with_it(void **state)
{
    (void)state;
    char db[256], out[256], cmd[1024], err[512];
    int st;
    pomdp_model_t m;

    test_tmp_path(db, sizeof db, "calibrate.db");
    test_tmp_path(out, sizeof out, "calibration.json");
    snprintf(cmd, sizeof cmd,
             "%s run --no-progress --json --db %s --problems 300 --seed 4 "
             "--policy random:0.3 >/dev/null && %s calibrate --db %s --out %s",
             test_bin(), db, test_bin(), db, out);
    char *text = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(text, "labelled drafts"));
    free(text);

    assert_int_equal(pomdp_model_load(out, &m, err, sizeof err), 0);
    assert_true(m.p_weak > 0.5 && m.p_weak < 1);
    assert_true(m.p_strong > m.p_weak);
    assert_true(m.strong_tokens > 5);
    assert_true(m.max_steps >= 2);
    /* Derailed drafts score lower than correct ones on average. */
    double mean[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++)
        for (int j = 0; j < POMDP_BINS; j++)
            mean[s] += m.marg[s][j] * (j + 0.5) / POMDP_BINS;
    assert_true(mean[POMDP_S0] > mean[POMDP_S2]);

    /* The policy plans with the file. */
    snprintf(cmd, sizeof cmd,
             "%s run --no-progress --json --db %s --problems 50 --seed 5 "
             "--policy pomdp:0.001:%s",
             test_bin(), db, out);
    text = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(text, "\"finished\":50"));
    free(text);

    /* A database without graded runs cannot be fitted, and says why. */
    snprintf(cmd, sizeof cmd, "%s calibrate --db /nonexistent.db --out %s 2>&1",
             test_bin(), out);
    text = test_capture(cmd, &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(text, "/nonexistent.db"));
    free(text);
    test_remove_db(db);
}


/*
** A run of problems the simulator did not make (real benchmarks, real
** models) has no hidden states: each accepted draft is labelled from the
** grade and the PRM's first low score instead, and discarded drafts, whose
** truth is unknown, are left out.  Made here by renaming a simulated run's
** problems; the count of labelled drafts shows which rule was used.
*/
static void
test_fit_without_hidden_states(void **state)
{
    (void)state;
    char db[256], out[256], cmd[1024], err[512], want[128];
    int st;
    pomdp_model_t m;
    sqlite3 *h;

    test_tmp_path(db, sizeof db, "benchmark.db");
    test_tmp_path(out, sizeof out, "benchmark.json");
    snprintf(cmd, sizeof cmd,
             "%s run --no-progress --json --db %s --problems 60 --seed 6 "
             "--policy thr:0.5",
             test_bin(), db);
    free(test_capture(cmd, &st));
    assert_int_equal(st, 0);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE problems SET text = 'Benchmark "
                                  "question ' || problem_id",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    int64_t accepted = sql_int(h, "SELECT count(*) FROM steps WHERE kind = "
                                  "'draft' AND accepted = 1 AND prm_score IS "
                                  "NOT NULL");
    int64_t all = sql_int(h, "SELECT count(*) FROM steps WHERE kind = 'draft' "
                             "AND prm_score IS NOT NULL");
    sqlite3_close(h);
    assert_true(accepted < all); /* some drafts were discarded */

    snprintf(cmd, sizeof cmd, "%s calibrate --method first-low --db %s --out %s", test_bin(), db,
             out);
    char *text = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    snprintf(want, sizeof want, ": 60 problems, %lld labelled drafts;",
             (long long)accepted);
    if (strstr(text, want) == NULL)
        fail_msg("want '%s' in: %s", want, text);
    free(text);
    assert_int_equal(pomdp_model_load(out, &m, err, sizeof err), 0);
    assert_true(m.p_weak > 0.5 && m.p_weak < 1);
    test_remove_db(db);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_and_plan_with_it),
        cmocka_unit_test(test_fit_without_hidden_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
