/*
** test_sim_fit_tool.c: sim_fit, the tool that fits the simulator.
**
** Its sweep replays the coordinator's control loop in one process; its
** header promises the same numbers as the cluster for the same parameters,
** seed and problems, and the fit's defaults rest on that.  Checked here
** against `trim run` at thresholds 0 (weak-only), 0.3 and 1 (strong-only).
** Also: `check` passes a reference equal to the simulator's own sweep and
** fails one 20 points off; a short `fit` never ends worse than it started;
** `measure` reports the accuracies the parameters set; `params` and --set;
** and the tool's usage errors.  References are small files written here.
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

#include "testutil.h"

static char g_dir[64];

static const double six[6] = {0, 0.05, 0.3, 0.5, 0.9, 1}; /* check's points */


static int
setup(void **state)
{
    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "sim-fit");
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


static const char *
sim_fit_bin(void)
{
    const char *b = getenv("SIM_FIT_BIN");
    if (b == NULL || *b == '\0')
        fail_msg("SIM_FIT_BIN is not set (run the tests through ctest)");
    return b;
}


/* Run `sim_fit ARGS` (formatted) with stderr into stdout; *out gets both. */
static int
sim_fit(char **out, const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>&1", g_dir, sim_fit_bin(),
             args);
    *out = test_capture(cmd, &st);
    return st;
}


/* A point of a sweep: threshold, accuracy, tokens per problem. */
typedef struct point {
    double thr, acc, strong, draft, discarded;
} point_t;


/* Write a reference sweep of n points to g_dir/name. */
static void
write_reference(const char *name, const point_t *p, int n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f,
                "{\"threshold\": %g, \"accuracy\": %.6f, "
                "\"avg_target_tokens_per_question\": %.6f, "
                "\"avg_draft_tokens_per_question\": %.6f, "
                "\"avg_discarded_draft_tokens_per_question\": %.6f}\n",
                p[i].thr, p[i].acc, p[i].strong, p[i].draft, p[i].discarded);
    fclose(f);
}


/*
** The simulated columns of sim_fit's table (threshold, accuracy, strong/q,
** draft/q, discard/q), one per threshold line, into p[]; returns how many.
*/
static int
read_table(const char *out, point_t *p, int max)
{
    const char *l = strstr(out, "\nthreshold accuracy");
    int n = 0;

    assert_non_null(l);
    for (l = strchr(l + 1, '\n'); l && n < max; l = strchr(l + 1, '\n')) {
        if (sscanf(l + 1, "%lf %lf %lf %lf %lf", &p[n].thr, &p[n].acc,
                   &p[n].strong, &p[n].draft, &p[n].discarded) != 5)
            break;
        n++;
    }
    return n;
}


static double
jnum(json_t *j, const char *key)
{
    return json_number_value(json_object_get(j, key));
}


static void
test_sweep_equals_trim_run(void **state)
{
    (void)state;
    static const point_t ref[] = {
        {0, 0.4, 0, 500, 0}, {0.3, 0.6, 130, 400, 100}, {1, 0.7, 490, 0, 0}};
    static const char *const policy[] = {"weak", "thr:0.3", "strong"};
    char *out, cmd[1024];
    point_t sim[8];

    write_reference("ref.jsonl", ref, 3);
    assert_int_equal(sim_fit(&out, "sweep --reference ref.jsonl --problems 40 "
                                   "--seed 3"),
                     0);
    assert_non_null(strstr(out, "# 40 problems x 1 seed(s), profile math500"));
    assert_int_equal(read_table(out, sim, 8), 3);
    free(out);

    for (int i = 0; i < 3; i++) {
        int st;
        assert_true(sim[i].thr == ref[i].thr);
        snprintf(cmd, sizeof cmd,
                 "%s run --json --no-progress --problems 40 --seed 3 "
                 "--policy %s --db %s/run%d.db",
                 test_bin(), policy[i], g_dir, i);
        char *js = test_capture(cmd, &st);
        assert_int_equal(st, 0);
        json_t *j = json_loads(js, 0, NULL);
        assert_non_null(j);
        double q = jnum(j, "problems");
        double got[4] = {jnum(j, "correct") / q, jnum(j, "strong_tokens") / q,
                         jnum(j, "weak_tokens") / q,
                         jnum(j, "discarded_tokens") / q};
        double want[4] = {sim[i].acc, sim[i].strong, sim[i].draft,
                          sim[i].discarded};
        /* Half a unit of the table's last digit. */
        const double tol[4] = {0.00051, 0.051, 0.051, 0.051};
        for (int k = 0; k < 4; k++)
            if (fabs(got[k] - want[k]) > tol[k])
                fail_msg("%s, column %d: sim_fit %.4f, trim run %.4f",
                         policy[i], k, want[k], got[k]);
        json_decref(j);
        free(js);
    }
}


static void
test_check_against_itself_and_far_off(void **state)
{
    (void)state;
    point_t any[6], sim[8], off[6];
    char *out;

    /* The simulator's own sweep at the six points... */
    for (int i = 0; i < 6; i++)
        any[i] = (point_t){six[i], 0.5, 100, 100, 10};
    write_reference("any.jsonl", any, 6);
    assert_int_equal(sim_fit(&out, "sweep --reference any.jsonl --problems 30 "
                                   "--seed 2"),
                     0);
    assert_int_equal(read_table(out, sim, 8), 6);
    free(out);

    /* ...as the reference: check passes with no misfit. */
    write_reference("self.jsonl", sim, 6);
    assert_int_equal(sim_fit(&out, "check --reference self.jsonl --problems 30 "
                                   "--seed 2"),
                     0);
    /* Only the table's rounding is left (3 decimals of accuracy). */
    double misfit;
    const char *m = strstr(out, "\nmisfit ");
    assert_non_null(m);
    assert_int_equal(sscanf(m, "\nmisfit %lf", &misfit), 1);
    assert_true(misfit < 0.01);
    assert_non_null(strstr(out, ": pass\n"));
    free(out);

    /* 20 points of accuracy off: check fails (sweep reports, exits 0). */
    for (int i = 0; i < 6; i++) {
        off[i] = sim[i];
        off[i].acc = sim[i].acc > 0.5 ? sim[i].acc - 0.2 : sim[i].acc + 0.2;
    }
    write_reference("off.jsonl", off, 6);
    assert_int_equal(sim_fit(&out, "check --reference off.jsonl --problems 30 "
                                   "--seed 2"),
                     1);
    assert_non_null(strstr(out, ": FAIL\n"));
    free(out);
    assert_int_equal(sim_fit(&out, "sweep --reference off.jsonl --problems 30 "
                                   "--seed 2"),
                     0);
    free(out);
}


static void
test_fit_never_ends_worse(void **state)
{
    (void)state;
    static const point_t ref[] = {{0, 0.30, 0, 450, 0},
                                  {0.3, 0.55, 150, 380, 110},
                                  {0.45, 0.60, 200, 300, 150},
                                  {1, 0.80, 520, 0, 0}};
    double start, end;
    char *out;

    write_reference("ref.jsonl", ref, 4);
    assert_int_equal(sim_fit(&out, "fit --reference ref.jsonl --problems 12 "
                                   "--seeds 1,2 --iters 2 --restarts 1 "
                                   "--thin 1 --threads 2 --grid-weight 1"),
                     0);
    const char *s = strstr(out, "start misfit ");
    const char *r = strstr(out, "restart 0: misfit ");
    assert_non_null(s);
    assert_non_null(r);
    assert_int_equal(sscanf(s, "start misfit %lf", &start), 1);
    assert_int_equal(sscanf(r, "restart 0: misfit %lf", &end), 1);
    if (end > start)
        fail_msg("misfit %.3f after the fit, %.3f before", end, start);
    /* --thin 1 keeps 0.05 and every 0.1: not 0.45. */
    assert_null(strstr(out, "\n0.45 "));
    assert_non_null(strstr(out, "\nC (sim_params_default):\n"));
    assert_non_null(strstr(out, "    p->repair = "));
    assert_non_null(strstr(out, "    p->prm_shift[SIM_S2] = "));
    free(out);
}


/* The value sim_fit params prints for name (fails when absent). */
static double
param(const char *out, const char *name)
{
    char key[64];
    double v;
    snprintf(key, sizeof key, "  %s ", name);
    for (const char *p = out; (p = strstr(p, key)) != NULL; p++)
        if ((p == out || p[-1] == '\n') &&
            sscanf(p + strlen(key), " %lf", &v) == 1)
            return v;
    fail_msg("no parameter %s in:\n%s", name, out);
    return NAN;
}


static void
test_params_set_and_measure(void **state)
{
    (void)state;
    char *def, *set, *hard, *out;
    double acc[2], measured, real, flagged, real_flagged, hidden, said;

    assert_int_equal(sim_fit(&def, "params"), 0);
    assert_int_equal(sim_fit(&set, "params --set repair=0.25 --set "
                                   "prm_shift.s1=-1.5"),
                     0);
    assert_true(param(set, "repair") == 0.25);
    assert_true(param(set, "prm_shift.s1") == -1.5);
    assert_true(param(set, "accuracy.weak") == param(def, "accuracy.weak"));
    assert_int_equal(sim_fit(&hard, "params --profile hard"), 0);
    assert_true(param(hard, "class_share.hard") >
                param(def, "class_share.hard"));
    acc[0] = param(def, "accuracy.weak");
    acc[1] = param(def, "accuracy.strong");
    free(set);
    free(hard);
    free(def);

    /* measure: both models' next-step accuracy, beside what was set. */
    assert_int_equal(sim_fit(&out, "measure --problems 30 --seed 2"), 0);
    static const char *const model[2] = {"weak", "strong"};
    for (int m = 0; m < 2; m++) {
        char key[32];
        snprintf(key, sizeof key, "%s: next-step accuracy", model[m]);
        const char *l = strstr(out, key);
        assert_non_null(l);
        assert_int_equal(sscanf(l,
                                "%*s next-step accuracy as the release "
                                "measured it (first PRM score < 0.35) %lf "
                                "(real %lf), solutions with a first error "
                                "%lf (real %lf); from the hidden states %lf "
                                "(set %lf)",
                                &measured, &real, &flagged, &real_flagged,
                                &hidden, &said),
                         6);
        assert_true(fabs(said - acc[m]) < 5e-5);
        assert_true(measured > 0 && measured <= 1);
        assert_true(flagged >= 0 && flagged <= 1);
        assert_true(real == (m ? 0.9704 : 0.866));
        assert_true(hidden > 0 && hidden <= 1);
    }
    free(out);
}


static void
test_usage_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args;
        int code;
        const char *message;
    } cases[] = {
        {"", 2, "usage: sim_fit fit|sweep|check|params"},
        {"params --bogus 1", 2, "usage: sim_fit"},
        {"params --set repair", 2,
         "sim_fit: --set wants NAME=VALUE, not 'repair'"},
        {"params --set nosuch=1", 2,
         "sim_fit: no parameter 'nosuch' (see sim_fit params)"},
        {"sweep --reference /nonexistent.jsonl", 1,
         "sim_fit: cannot open /nonexistent.jsonl"},
        {"sweep --reference empty.jsonl", 1,
         "sim_fit: no reference sweep in empty.jsonl"},
        {"bogus --reference one.jsonl", 2, "usage: sim_fit"},
    };
    static const point_t one = {0.5, 0.5, 100, 100, 10};
    char path[128], *out;

    write_reference("one.jsonl", &one, 1);
    snprintf(path, sizeof path, "%s/empty.jsonl", g_dir);
    test_write_file(path, "not json\n");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = sim_fit(&out, "%s", cases[i].args);
        if (rc != cases[i].code || strstr(out, cases[i].message) == NULL)
            fail_msg("sim_fit %s: exit %d, output '%s'; want %d and '%s'",
                     cases[i].args, rc, out, cases[i].code, cases[i].message);
        free(out);
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweep_equals_trim_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_check_against_itself_and_far_off,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fit_never_ends_worse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_params_set_and_measure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
