/*
** test_sim_fit.c: the fitted simulator's TRIM-Thr sweep against the real one.
**
** Runs the real binary (`trim eval sweep --json`, the whole cluster in one
** process) at the anchors, the low thresholds and the top of the curve and
** checks each point against the real MATH-500 sweep of the TRIM release
** (Qwen2.5-1.5B-Instruct drafting, Qwen2.5-7B-Instruct regenerating,
** Qwen2.5-Math-PRM-7B scoring): accuracy within the 95% interval of the
** difference between a simulated run of PROBLEMS and the real run of 500
** (binomial at the simulated accuracy; at least 2 points), strong tokens
** per problem within 25%.  Threshold 0 runs weak-only and 1 strong-only, as
** in the reference.  `sim_fit check` holds the fit itself to the tighter
** target over several seeds (docs/sim-vs-real.md).
**
** The reference figures are embedded (from
** data/reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl), so the check
** needs no file; a second test confirms the embedded figures equal the
** file's.
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

#include "skip.h"
#include "testutil.h"

#define PROBLEMS 600 /* per threshold: the sweep's noise is ~2 points */
#define SEED     1
#define REAL_N   500  /* problems of the real sweep */
#define ACC_MIN  0.02 /* the accuracy band is at least this wide */
#define TOK_TOL  0.25 /* strong tokens per problem, relative */

/* Points of the real sweep: threshold, accuracy, strong tokens per problem
** (avg_target_tokens_per_question). */
static const struct {
    double thr, acc, strong;
} real[] = {
    {0.0, 0.364, 0.0},      {0.05, 0.508, 70.684},  {0.3, 0.654, 133.492},
    {0.5, 0.674, 163.838},  {0.85, 0.706, 204.772}, {0.9, 0.714, 219.062},
    {0.95, 0.716, 233.344}, {1.0, 0.730, 494.84},
};
#define N_POINTS ((int)(sizeof real / sizeof real[0]))

static double
jnum(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_number(v))
        fail_msg("sweep row has no number '%s'", key);
    return json_number_value(v);
}

/* One point of `trim eval sweep --json` at threshold thr. */
static json_t *
sweep_point(double thr, const char *db)
{
    char cmd[1024], *out;
    json_error_t jerr;
    json_t *j;
    int status;

    test_remove_db(db);
    snprintf(cmd, sizeof cmd,
             "%s eval sweep --policy thr --from %g --to %g --by 0.05 "
             "--problems %d --seed %d --db %s --json",
             test_bin(), thr, thr, PROBLEMS, SEED, db);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    j = json_loads(out, 0, &jerr);
    if (j == NULL)
        fail_msg("sweep output is not one JSON row (%s): %s", jerr.text, out);
    free(out);
    test_remove_db(db);
    return j;
}

static void
test_sweep_matches_real(void **state)
{
    (void)state;
    char db[512];
    int bad = 0;

    test_tmp_path(db, sizeof db, "sweep.db");
    printf("  %d problems, seed %d: threshold, accuracy sim/real (gap), "
           "strong tokens per problem sim/real (gap)\n",
           PROBLEMS, SEED);
    for (int i = 0; i < N_POINTS; i++) {
        json_t *j = sweep_point(real[i].thr, db);
        double acc = jnum(j, "accuracy");
        double strong = jnum(j, "strong_tokens_per_problem");
        double gap = real[i].strong > 0 ? strong / real[i].strong - 1 : 0;
        double band =
            fmax(ACC_MIN, 1.96 * sqrt(acc * (1 - acc) *
                                      (1.0 / PROBLEMS + 1.0 / REAL_N)));
        int ok = fabs(acc - real[i].acc) <= band &&
                 (real[i].strong > 0 ? fabs(gap) <= TOK_TOL : strong == 0);

        assert_true(fabs(jnum(j, "threshold") - real[i].thr) < 1e-9);
        assert_int_equal((int)jnum(j, "failed"), 0);
        printf("  %-5g %.3f/%.3f (%+5.1f pts, band %.1f)  %6.1f/%6.1f "
               "(%+5.1f%%)%s\n",
               real[i].thr, acc, real[i].acc, 100 * (acc - real[i].acc),
               100 * band, strong, real[i].strong, 100 * gap,
               ok ? "" : "  <- outside");
        bad += !ok;
        json_decref(j);
    }
    assert_int_equal(bad, 0);
}

/* The embedded figures are the file's. */
static void
test_reference_is_the_file(void **state)
{
    (void)state;
    char path[4096], line[4096];
    int found = 0;
    FILE *f;

    test_data_path(path, sizeof path,
                   "reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl");
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (j == NULL)
            continue;
        double thr = jnum(j, "threshold");
        for (int i = 0; i < N_POINTS; i++) {
            if (fabs(thr - real[i].thr) > 1e-9)
                continue;
            assert_true(fabs(jnum(j, "accuracy") - real[i].acc) < 1e-9);
            assert_true(fabs(jnum(j, "avg_target_tokens_per_question") -
                             real[i].strong) < 1e-6);
            found++;
        }
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(found, N_POINTS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_is_the_file),
        cmocka_unit_test(test_sweep_matches_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
