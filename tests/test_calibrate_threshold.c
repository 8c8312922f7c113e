/*
** test_calibrate_threshold.c: `trim calibrate threshold` on a real store
** made by `trim run` on the simulator: the k it picks for a strong-token
** share, run as thr:k on other seeds, lands near that share; the PGR target
** against strong-only and weak-only runs; the interval holds k; the default
** run set skips the baselines; usage and input errors.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "testutil.h"

#define PROBLEMS "200"

static char g_dir[64];


/* Run `trim ARGS` in the scratch directory (testutil.h). */
#define trim(out, err, ...) test_trim_in(g_dir, out, err, __VA_ARGS__)

/* The number at key of a JSON object (json_check.h). */
#define num(j, key) test_json_num(j, key, NULL)


/* `trim ARGS` must exit 0 and print one JSON object. */
static json_t *
trim_json(const char *args)
{
    char *out, *err;
    int rc = trim(&out, &err, "%s", args);
    if (rc != 0)
        fail_msg("trim %s: exit %d: %s", args, rc, err);
    json_t *j = test_json(out);
    free(out);
    free(err);
    return j;
}


/* Runs 1 (thr:0.5), 2 (strong-only) and 3 (weak-only) of seed 1. */
static int
setup(void **state)
{
    (void)state;
    const char *policies[] = {"thr:0.5", "strong", "weak"};

    test_scratch_dir(g_dir, sizeof g_dir, "calib-thr");
    for (int i = 0; i < 3; i++) {
        char args[160];
        snprintf(args, sizeof args,
                 "run --problems " PROBLEMS " --seed 1 --policy %s --db s.db "
                 "--no-progress --json",
                 policies[i]);
        json_decref(trim_json(args));
    }
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


/*
** The share target: k inside its interval, the replay at k on target, and
** thr:k on three other seeds within a few points of it (the replay keeps
** the recorded drafts, which a different threshold would not see).
*/
static void
test_share(void **state)
{
    (void)state;
    const double target = 0.3;
    json_t *c = trim_json("calibrate threshold --db s.db --run 1 "
                          "--target-strong-share 0.3 --reps 300 --json");
    double k = num(c, "k"), sum = 0;

    assert_true(k > 0 && k < 1);
    assert_true(num(c, "lo") <= k && k <= num(c, "hi"));
    /* k is loose (few drafts score mid-range), the share at k is not. */
    assert_true(fabs(num(c, "share") - target) < 0.01);
    assert_true(num(c, "at_k_lo") <= num(c, "share") &&
                num(c, "share") <= num(c, "at_k_hi"));
    assert_true(num(c, "at_k_hi") - num(c, "at_k_lo") < 0.15);
    assert_int_equal((int)num(c, "problems"), atoi(PROBLEMS));
    assert_true(num(c, "regenerated") > 0 &&
                num(c, "regenerated") < num(c, "drafts"));

    /* Every run with scored drafts by default: run 1 alone here (the
    ** strong-only and weak-only runs score none). */
    json_t *all = trim_json("calibrate threshold --db s.db "
                            "--target-strong-share 0.3 --reps 300 --json");
    assert_true(num(all, "k") == k);
    json_decref(all);

    for (int seed = 11; seed <= 13; seed++) {
        char args[160];
        snprintf(args, sizeof args,
                 "run --problems " PROBLEMS " --seed %d --policy thr:%.6f "
                 "--db v.db --no-progress --json",
                 seed, k);
        json_t *run = trim_json(args);
        double share = num(run, "strong_token_share");
        print_message("seed %d thr:%.4f strong-token share %.3f\n", seed, k,
                      share);
        assert_true(fabs(share - target) < 0.08);
        sum += share;
        json_decref(run);
    }
    assert_true(fabs(sum / 3 - target) < 0.05);
    json_decref(c);
}


/* The PGR target against the strong-only and weak-only runs. */
static void
test_pgr(void **state)
{
    (void)state;
    json_t *c = trim_json("calibrate threshold --db s.db --run 1 "
                          "--target-pgr 0.6 --baseline-run 2 --weak-run 3 "
                          "--reps 300 --json");
    double k = num(c, "k");

    assert_true(k > 0 && k < 1);
    assert_true(num(c, "lo") <= k && k <= num(c, "hi"));
    assert_true(num(c, "at_k") >= 0.6 && num(c, "at_k") < 0.7);
    assert_true(num(c, "at_k_lo") <= num(c, "at_k") &&
                num(c, "at_k") <= num(c, "at_k_hi"));
    assert_string_equal(json_string_value(json_object_get(c, "metric")), "pgr");
    json_decref(c);

    /* A higher target needs a higher threshold. */
    c = trim_json("calibrate threshold --db s.db --run 1 --target-pgr 0.9 "
                  "--baseline-run 2 --weak-run 3 --json");
    assert_true(num(c, "k") >= k);
    json_decref(c);
}


static void
test_errors(void **state)
{
    (void)state;
    char *out, *err;

    /* No target, both targets, PGR without its baselines: usage errors. */
    assert_int_equal(trim(&out, &err, "calibrate threshold --db s.db"), 2);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "calibrate threshold --db s.db --target-pgr 0.5 "
                          "--target-strong-share 0.2"),
                     2);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "calibrate threshold --db s.db --target-pgr 0.5 "
                          "--baseline-run 2"),
                     2);
    free(out);
    free(err);
    /* A run without scored drafts. */
    assert_int_equal(trim(&out, &err,
                          "calibrate threshold --db s.db --run 2 "
                          "--target-strong-share 0.2"),
                     1);
    assert_non_null(strstr(err, "no scored draft"));
    free(out);
    free(err);
    /* More than regenerating every draft gives. */
    assert_int_equal(trim(&out, &err,
                          "calibrate threshold --db s.db --run 1 "
                          "--target-strong-share 0.99"),
                     1);
    assert_non_null(strstr(err, "not reached"));
    free(out);
    free(err);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_pgr),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
