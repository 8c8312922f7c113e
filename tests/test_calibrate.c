/*
** test_calibrate.c: `trim calibrate` fits a model that TRIM-POMDP loads,
** from a run's hidden states (oracle), its final answers (EM) or
** ProcessBench-layout labels the simulator writes, and the fits a
** deployment can do come close to the oracle one.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "pomdp.h"
#include "testutil.h"


/* Total variation distance between two states' score distributions. */
static double
tv(const double a[POMDP_BINS], const double b[POMDP_BINS])
{
    double d = 0;
    for (int j = 0; j < POMDP_BINS; j++)
        d += fabs(a[j] - b[j]);
    return d / 2;
}


/* Run `trim calibrate ARGS --out out` and load what it wrote; returns the
** command's output (caller frees). */
static char *
calibrate(const char *args, const char *out, pomdp_model_t *m)
{
    char cmd[1024], err[512];
    int st;
    snprintf(cmd, sizeof cmd, "%s calibrate %s --out %s", test_bin(), args,
             out);
    char *text = test_capture(cmd, &st);
    if (st != 0)
        fail_msg("%s: %s", cmd, text);
    if (pomdp_model_load(out, m, err, sizeof err) != 0)
        fail_msg("%s", err);
    return text;
}


/*
** One simulated run, fitted three ways.  The oracle reads the hidden
** states; EM sees only the final answers and must land near it (its
** accuracies within 0.06, its score distributions within 0.12 in total
** variation: measured 0.032 / 0.007 and <= 0.08 on this run), and nearer
** on the weak accuracy than the TRIM release's first-low-score rule.  The
** simulator's ProcessBench-layout solutions, scored by its PRM, give a
** model as close (measured 0.019 / 0.017, <= 0.09).
*/
static void
test_deployable_fits_near_oracle(void **state)
{
    (void)state;
    char db[256], out[256], pb[256], args[1024], cmd[1024];
    pomdp_model_t oracle, em, low, bench;
    int st;

    test_tmp_path(db, sizeof db, "fits.db");
    test_tmp_path(out, sizeof out, "fits.json");
    test_tmp_path(pb, sizeof pb, "fits-processbench.jsonl");
    snprintf(cmd, sizeof cmd,
             "%s run --no-progress --json --db %s --problems 300 --seed 4 "
             "--policy random:0.3 >/dev/null && %s sim-problems "
             "--processbench --count 400 --seed 3 >%s",
             test_bin(), db, test_bin(), pb);
    free(test_capture(cmd, &st));
    assert_int_equal(st, 0);

    snprintf(args, sizeof args, "--method oracle --db %s", db);
    char *text = calibrate(args, out, &oracle);
    assert_non_null(strstr(text, "ORACLE"));
    assert_true(oracle.oracle);
    free(text);
    snprintf(args, sizeof args, "--db %s", db); /* em, the default */
    text = calibrate(args, out, &em);
    assert_null(strstr(text, "ORACLE"));
    assert_non_null(strstr(text, "em: 300 solutions"));
    assert_false(em.oracle);
    free(text);
    snprintf(args, sizeof args, "--method first-low --db %s", db);
    free(calibrate(args, out, &low));
    snprintf(args, sizeof args,
             "--processbench %s --weak-generator sim-weak "
             "--strong-generator sim-strong",
             pb);
    text = calibrate(args, out, &bench);
    assert_non_null(strstr(text, ": 400 problems"));
    assert_false(bench.oracle);
    free(text);

    const pomdp_model_t *fit[2] = {&em, &bench};
    for (int k = 0; k < 2; k++) {
        print_message("%s: weak %.4f strong %.4f (oracle %.4f %.4f); TV "
                      "%.3f %.3f %.3f\n",
                      k ? "processbench" : "em", fit[k]->p_weak,
                      fit[k]->p_strong, oracle.p_weak, oracle.p_strong,
                      tv(fit[k]->marg[0], oracle.marg[0]),
                      tv(fit[k]->marg[1], oracle.marg[1]),
                      tv(fit[k]->marg[2], oracle.marg[2]));
        assert_true(fabs(fit[k]->p_weak - oracle.p_weak) < 0.06);
        assert_true(fabs(fit[k]->p_strong - oracle.p_strong) < 0.06);
        for (int s = 0; s < 3; s++)
            assert_true(tv(fit[k]->marg[s], oracle.marg[s]) < 0.12);
    }
    assert_true(fabs(em.p_weak - oracle.p_weak) <
                fabs(low.p_weak - oracle.p_weak));
    remove(pb);
    remove(out);
    test_remove_db(db);
}


/* Malformed ProcessBench input is refused naming the file and the line
** (JSONL) or record (a JSON array, ProcessBench's own layout). */
static void
test_processbench_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"problem\":\"p\",\"steps\":[\"a\",\"b\"],\"label\":-1}\n"
         "{\"problem\":\"p\",\"steps\":[\"a\"],\"label\":1}\n",
         ": line 2: \"label\" must be the index of the first wrong step (0 to "
         "0)"},
        {"\n{\"problem\":\"p\",\"steps\":[\"a\"],\"label\":0}\n{oops\n",
         ": line 3: not JSON"},
        {"{\"problem\":\"p\",\"steps\":\"a\",\"label\":0}\n",
         ": line 1: \"steps\" is missing or not a list"},
        {"[{\"problem\":\"p\",\"steps\":[\"a\"],\"label\":0},\n"
         " {\"problem\":\"p\",\"steps\":[\"a\", 3],\"label\":-1}]\n",
         ": record 1: step 1 is not a text"},
    };
    char path[256], cmd[1024], want[512];
    int st;

    test_tmp_path(path, sizeof path, "bad-processbench.jsonl");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        test_write_file(path, cases[i].text);
        snprintf(cmd, sizeof cmd,
                 "%s calibrate --processbench %s --out /dev/null 2>&1",
                 test_bin(), path);
        char *text = test_capture(cmd, &st);
        assert_int_equal(st, 1);
        snprintf(want, sizeof want, "%s%s", path, cases[i].want);
        if (strstr(text, want) == NULL)
            fail_msg("case %zu: want '%s' in: %s", i, want, text);
        free(text);
    }
    remove(path);
}


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

    snprintf(cmd, sizeof cmd,
             "%s calibrate --method first-low --db %s --out %s", test_bin(), db,
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
        cmocka_unit_test(test_deployable_fits_near_oracle),
        cmocka_unit_test(test_processbench_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
