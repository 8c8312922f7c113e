/*
** test_pomdp_model.c: loading TRIM-POMDP's model from a calibration file.
**
** A small file in the format `trim calibrate` writes (built here) loads
** into the numbers it holds: each row of score counts becomes a
** conditional distribution, a row never observed takes the state's
** marginal, the last step's hazard is 1.  Each malformed or out-of-range
** field is refused with the file and the field named, and
** pomdp_model_check refuses each impossible model.
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

#include "pomdp.h"

static const char *const states[3] = {
    "S0_correct_so_far", "S1_derailed_earlier", "S2_latest_step_first_error"};
static char g_path[64];


/* A valid calibration document: counts (i + j + s) per cell, except an
** empty row 3 for S1; five steps. */
static json_t *
calibration(void)
{
    json_t *obs = json_object();
    for (int s = 0; s < 3; s++) {
        json_t *grid = json_array();
        for (int i = 0; i < POMDP_BINS; i++) {
            json_t *row = json_array();
            for (int j = 0; j < POMDP_BINS; j++)
                json_array_append_new(
                    row, json_integer(s == 1 && i == 3 ? 0 : i + j + s));
            json_array_append_new(grid, row);
        }
        json_object_set_new(obs, states[s], json_pack("{s:o}", "grid", grid));
    }
    return json_pack(
        "{s:{s:o}, s:{s:[f], s:f, s:f}, s:{s:{s:i, s:{s:f, s:f, s:f, s:f, "
        "s:f}}}, s:{s:f, s:f}}",
        "observation_model", "math_train", obs, "next_step_accuracy", "weak",
        0.8, "strong", 0.95, "repair", 0.25, "solution_length",
        "weak_and_strong", "max_steps", 5, "hazard_by_step", "1", 0.0, "2", 0.1,
        "3", 0.2, "4", 0.3, "5", 0.4, "token_usage_math500",
        "strong_only_tokens_per_question", 300.0,
        "strong_only_steps_per_question", 6.0);
}


/* Write doc (stolen) to g_path and load it. */
static int
load(json_t *doc, pomdp_model_t *m, char *err, size_t errlen)
{
    assert_int_equal(json_dump_file(doc, g_path, 0), 0);
    json_decref(doc);
    return pomdp_model_load(g_path, m, err, errlen);
}


static int
setup(void **state)
{
    (void)state;
    snprintf(g_path, sizeof g_path, "/tmp/trim-pomdp-model-%d.json",
             (int)getpid());
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    unlink(g_path);
    return 0;
}


static void
test_loads_what_the_file_holds(void **state)
{
    (void)state;
    pomdp_model_t m;
    char err[512];

    if (load(calibration(), &m, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_true(m.p_weak == 0.8);
    assert_true(m.p_strong == 0.95);
    assert_true(m.repair == 0.25);
    assert_int_equal(m.max_steps, 5);
    assert_true(m.hazard[1] == 0.1);
    assert_true(m.hazard[4] == 1.0); /* the solution ends by the limit */
    assert_true(fabs(m.strong_tokens - 50) < 1e-12);
    /* Row i of state s: counts i + j + s, normalised. */
    double row = 0;
    for (int j = 0; j < POMDP_BINS; j++)
        row += 7 + j + 2;
    assert_true(fabs(m.cond[2][7][4] - (7 + 4 + 2) / row) < 1e-12);
    /* S1's empty row 3 takes S1's column totals, normalised. */
    double col = 0, all = 0;
    for (int i = 0; i < POMDP_BINS; i++) {
        col += i == 3 ? 0 : i + 11 + 1;
        for (int j = 0; j < POMDP_BINS; j++)
            all += i == 3 ? 0 : i + j + 1;
    }
    assert_true(fabs(m.cond[1][3][11] - col / all) < 1e-12);
    assert_int_equal(pomdp_model_check(&m, err, sizeof err), 0);
}


/* Replace the value at a dotted path of doc (stolen value). */
static json_t *
with(const char *dotted, json_t *value)
{
    json_t *doc = calibration(), *at = doc;
    char path[256], *save = NULL;

    snprintf(path, sizeof path, "%s", dotted);
    char *key = strtok_r(path, ".", &save), *next;
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        at = json_is_array(at) ? json_array_get(at, (size_t)atoi(key))
                               : json_object_get(at, key);
        assert_non_null(at);
        key = next;
    }
    if (json_is_array(at))
        json_array_set_new(at, (size_t)atoi(key), value);
    else if (value == NULL)
        json_object_del(at, key);
    else
        json_object_set_new(at, key, value);
    return doc;
}


static void
test_bad_fields_are_named(void **state)
{
    (void)state;
    const struct {
        const char *path;
        json_t *value; /* NULL: removed */
        const char *message;
    } cases[] = {
        {"observation_model.math_train.S1_derailed_earlier.grid", json_array(),
         "observation_model.S1_derailed_earlier.grid is not a 20x20 array"},
        {"observation_model.math_train.S0_correct_so_far.grid.4",
         json_pack("[i]", 1), "S0_correct_so_far.grid[4] is not 20 numbers"},
        {"observation_model.math_train.S2_latest_step_first_error.grid.2.5",
         json_string("x"),
         "S2_latest_step_first_error.grid[2][5] is not a number"},
        {"observation_model.math_train.S0_correct_so_far.grid.0.0",
         json_integer(-1), "S0_correct_so_far.grid[0][0] is negative"},
        {"next_step_accuracy.weak", NULL,
         "next_step_accuracy has no entry for the Qwen2.5-1.5B-Instruct "
         "model"},
        {"next_step_accuracy.strong", json_string("high"),
         "strong is not a number"},
        {"next_step_accuracy.strong", json_real(1.5),
         "accuracies must be in (0,1), repair in [0,1]"},
        {"solution_length.weak_and_strong.max_steps", json_integer(0),
         "solution_length max_steps 0 is out of range"},
        {"solution_length.weak_and_strong.hazard_by_step.3", NULL,
         "solution_length hazard_by_step.3 is missing"},
        {"solution_length.weak_and_strong.hazard_by_step.2", json_real(1.5),
         "hazard at step 2 is not in [0,1]"},
        {"token_usage_math500.strong_only_steps_per_question", NULL,
         "token_usage strong_only_steps_per_question is missing"},
        {"token_usage_math500.strong_only_tokens_per_question", json_real(0),
         "strong tokens per step must be positive and the step limit in [1, "
         "64]"},
    };
    pomdp_model_t m;
    char err[512];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = load(with(cases[i].path, cases[i].value), &m, err, sizeof err);
        if (rc != -1 || strncmp(err, g_path, strlen(g_path)) != 0 ||
            strstr(err, cases[i].message) == NULL)
            fail_msg("%s: rc %d, '%s'; want '%s'", cases[i].path, rc, err,
                     cases[i].message);
    }
    /* Not JSON at all: file, line and column. */
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    fputs("{\n  oops\n", f);
    fclose(f);
    assert_int_equal(pomdp_model_load(g_path, &m, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2:", g_path);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
}


static void
test_check_refuses_impossible_models(void **state)
{
    (void)state;
    pomdp_model_t good, m;
    char err[512];

    assert_int_equal(load(calibration(), &good, err, sizeof err), 0);
    m = good;
    m.cond[1][2][3] = -0.1;
    assert_int_equal(pomdp_model_check(&m, err, sizeof err), -1);
    assert_string_equal(err, "S1_derailed_earlier likelihood [2][3] is "
                             "negative");
    m = good;
    m.cond[0][5][0] += 0.5;
    assert_int_equal(pomdp_model_check(&m, err, sizeof err), -1);
    assert_non_null(strstr(err, "S0_correct_so_far likelihood row 5 sums to"));
    m = good;
    m.marg[2][0] += 0.5;
    assert_int_equal(pomdp_model_check(&m, err, sizeof err), -1);
    assert_non_null(
        strstr(err, "S2_latest_step_first_error score distribution sums to"));
    m = good;
    m.max_steps = POMDP_MAX_STEPS + 1;
    assert_int_equal(pomdp_model_check(&m, err, sizeof err), -1);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loads_what_the_file_holds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_fields_are_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_check_refuses_impossible_models,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
