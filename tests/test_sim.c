/*
** test_sim.c: the simulated world: problems, models, PRM, calibration.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sim.h"
#include "skip.h"

#define MAX_PATH_STEPS 40

static const char *const state_key[3] = {
    "S0_correct_so_far", "S1_derailed_earlier", "S2_latest_step_first_error"};

/* ---------------------------------------------------------------- helpers */

static sim_world_t *
world(void)
{
    char err[256];
    sim_world_t *w = sim_world_new(NULL, NULL, err, sizeof err);
    if (!w)
        fail_msg("sim_world_new: %s", err);
    return w;
}

/* The state the PRM gives the last of steps[0..n). */
static sim_state_t
last_state(const sim_world_t *w, const char *problem, const char *const *steps,
           size_t n)
{
    float scores[MAX_PATH_STEPS + 1];
    sim_state_t states[MAX_PATH_STEPS + 1];
    char err[256];
    assert_true(n >= 1 && n <= MAX_PATH_STEPS + 1);
    if (sim_score(w, problem, steps, n, scores, states, NULL, NULL, err,
                  sizeof err) != 0)
        fail_msg("sim_score: %s", err);
    return states[n - 1];
}

/* A correct step n after the correct steps[0..n): strong, resampled. */
static char *
correct_step(const sim_world_t *w, const char *problem, const char **steps,
             size_t n, uint64_t salt, sim_finish_t *finish)
{
    char err[256];
    for (uint64_t seed = salt * 1000; seed < salt * 1000 + 100; seed++) {
        sim_step_t s;
        if (sim_generate(w, SIM_STRONG, problem, steps, n, 0, seed, &s, err,
                         sizeof err) != 0)
            fail_msg("sim_generate: %s", err);
        steps[n] = s.text;
        if (last_state(w, problem, steps, n + 1) == SIM_S0) {
            if (finish)
                *finish = s.finish;
            return s.text;
        }
        sim_step_clear(&s);
    }
    fail_msg("no correct step in 100 tries");
    return NULL;
}

/* The whole correct solution of problem into steps[0..p->n_steps). */
static void
correct_path(const sim_world_t *w, const sim_problem_t *p, const char **steps,
             sim_finish_t *finish, uint64_t salt)
{
    assert_true(p->n_steps <= MAX_PATH_STEPS);
    for (int i = 0; i < p->n_steps; i++)
        steps[i] = correct_step(w, p->text, steps, (size_t)i,
                                salt + (uint64_t)i, finish ? &finish[i] : NULL);
}

static void
free_steps(const char **steps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)steps[i]);
}

/* The value a step writes after its last "= ", as text, into out. */
static void
written_value(const char *step, char *out, size_t outlen)
{
    const char *at = NULL;
    size_t n = 0;
    for (const char *p = step; (p = strstr(p, "= ")) != NULL; p++)
        at = p + 2;
    out[0] = '\0';
    if (!at)
        return;
    while (at[n] && at[n] != ' ')
        n++;
    snprintf(out, outlen, "%.*s", (int)n, at);
}

/* ------------------------------------------------------------- problems */

static void
test_problem_determinism(void **state)
{
    (void)state;
    sim_world_t *w = world();
    sim_problem_t a, b, c;
    double steps = 0;
    int n = 20000;

    assert_int_equal(sim_problem_make(w, 1, 5, &a), 0);
    assert_int_equal(sim_problem_make(w, 1, 5, &b), 0);
    assert_int_equal(sim_problem_make(w, 2, 5, &c), 0);
    assert_string_equal(a.text, b.text);
    assert_string_equal(a.answer, b.answer);
    assert_int_equal(a.n_steps, b.n_steps);
    assert_string_not_equal(a.text, c.text);
    printf("  example problem (%d steps, answer %s):\n  %s\n", a.n_steps,
           a.answer, a.text);
    sim_problem_clear(&a);
    sim_problem_clear(&a); /* idempotent */
    sim_problem_clear(&b);
    sim_problem_clear(&c);
    sim_problem_clear(NULL);

    /* Lengths follow the measured distribution: 2..30 steps, mean 8.28. */
    for (int i = 0; i < n; i++) {
        assert_int_equal(sim_problem_make(w, 3, (uint64_t)i, &a), 0);
        assert_in_range(a.n_steps, 2, 30);
        assert_true(atol(a.answer) >= 2 && atol(a.answer) < 10000000);
        steps += a.n_steps;
        sim_problem_clear(&a);
    }
    printf("  mean steps per problem %.3f (distribution mean %.3f)\n",
           steps / n, sim_world_mean_steps(w));
    /* +-5 sigma (the lengths' sd is about 3.9) */
    assert_true(fabs(steps / n - sim_world_mean_steps(w)) < 0.14);
    sim_world_destroy(&w);
    assert_null(w);
    sim_world_destroy(&w);
    sim_world_destroy(NULL);
}

/* --------------------------------------------------------------- models */

static void
test_generate_determinism(void **state)
{
    (void)state;
    sim_world_t *w = world();
    sim_problem_t p;
    sim_step_t a, b;
    char err[256];
    const char *steps[MAX_PATH_STEPS];
    int differ = 0;

    assert_int_equal(sim_problem_make(w, 4, 0, &p), 0);
    correct_path(w, &p, steps, NULL, 1);
    for (size_t n = 0; n < (size_t)p.n_steps; n++) {
        for (int m = 0; m < 2; m++) {
            assert_int_equal(sim_generate(w, (sim_model_t)m, p.text, steps, n,
                                          0, 9, &a, err, sizeof err),
                             0);
            assert_int_equal(sim_generate(w, (sim_model_t)m, p.text, steps, n,
                                          0, 9, &b, err, sizeof err),
                             0);
            assert_string_equal(a.text, b.text);
            assert_int_equal(a.completion_tokens, b.completion_tokens);
            assert_int_equal(a.prompt_tokens, b.prompt_tokens);
            assert_int_equal(a.finish, b.finish);
            assert_null(strstr(a.text, "\n\n"));
            sim_step_clear(&b);
            assert_int_equal(sim_generate(w, (sim_model_t)m, p.text, steps, n,
                                          0, 10, &b, err, sizeof err),
                             0);
            differ += a.completion_tokens != b.completion_tokens ||
                      strcmp(a.text, b.text) != 0;
            sim_step_clear(&a);
            sim_step_clear(&a);
            sim_step_clear(&b);
        }
    }
    assert_true(differ > 0);
    free_steps(steps, (size_t)p.n_steps);
    sim_problem_clear(&p);
    sim_world_destroy(&w);
}

/*
** From correct prefixes, each model's next step is right with its configured
** accuracy, the population mean over the steps of problems of every class;
** mean tokens per step match; hard problems and steps are shared by the
** models.
*/
static void
test_next_step_accuracy(void **state)
{
    (void)state;
    sim_world_t *w = world();
    const sim_params_t *prm = sim_world_params(w);
    long n = 0, right[2] = {0, 0}, both_wrong = 0;
    long cls_n[SIM_CLASSES] = {0}, cls_right[2][SIM_CLASSES] = {{0}};
    double tokens[2] = {0, 0};
    char err[256];

    for (uint64_t k = 0; n < 20000; k++) {
        sim_problem_t p;
        const char *steps[MAX_PATH_STEPS + 1];
        int cls;
        assert_int_equal(sim_problem_make(w, 11, k, &p), 0);
        cls = sim_problem_class(w, p.text);
        assert_in_range(cls, 0, SIM_CLASSES - 1);
        for (int i = 0; i < p.n_steps; i++) {
            int ok[2];
            for (int m = 0; m < 2; m++) {
                sim_step_t s;
                assert_int_equal(sim_generate(w, (sim_model_t)m, p.text, steps,
                                              (size_t)i, 0, 77 + k, &s, err,
                                              sizeof err),
                                 0);
                steps[i] = s.text;
                ok[m] = last_state(w, p.text, steps, (size_t)i + 1) == SIM_S0;
                right[m] += ok[m];
                cls_right[m][cls] += ok[m];
                tokens[m] += s.completion_tokens;
                sim_step_clear(&s);
            }
            both_wrong += !ok[0] && !ok[1];
            cls_n[cls]++;
            n++;
            steps[i] =
                correct_step(w, p.text, steps, (size_t)i, k * 64 + 5, NULL);
        }
        free_steps(steps, (size_t)p.n_steps);
        sim_problem_clear(&p);
    }
    for (int m = 0; m < 2; m++) {
        double acc = (double)right[m] / n, tok = tokens[m] / n;
        printf("  %s: next-step accuracy %.4f (set %.4f) over %ld steps, "
               "%.2f tokens/step (set %.2f)\n",
               m ? "strong" : "weak", acc, prm->accuracy[m], n, tok,
               prm->tokens_per_step[m]);
        /* Steps of one problem share its class: the spread is wider than
        ** for independent steps (about 0.006 here). */
        assert_true(acc > prm->accuracy[m] - 0.02 &&
                    acc < prm->accuracy[m] + 0.02);
        for (int c = 0; c < SIM_CLASSES; c++) {
            double set = 1.0 - ((1.0 - prm->critical_fraction) *
                                    sim_world_error_rate(w, m, c, 0) +
                                prm->critical_fraction *
                                    sim_world_error_rate(w, m, c, 1));
            double got = (double)cls_right[m][c] / cls_n[c];
            printf("    class %d: %.4f (set %.4f) over %ld steps\n", c, got,
                   set, cls_n[c]);
            assert_true(fabs(got - set) < 0.03);
        }
        assert_true(tok > 0.97 * prm->tokens_per_step[m] &&
                    tok < 1.03 * prm->tokens_per_step[m]);
    }
    /* Hardness is shared: the strong model errs more where the weak did. */
    {
        double p_strong = 1.0 - (double)right[1] / n;
        double p_weak = 1.0 - (double)right[0] / n;
        double lift = (double)both_wrong / n / (p_weak * p_strong);
        printf("  P(both wrong) / (P(weak wrong) P(strong wrong)) = %.2f\n",
               lift);
        assert_true(lift > 1.15);
    }
    sim_world_destroy(&w);
}

/*
** After a wrong step every later weak step is wrong too, and labelled S1
** (only a strong step can repair a derailment: test_strong_repairs).
*/
static void
test_errors_cascade(void **state)
{
    (void)state;
    sim_world_t *w = world();
    int cases = 0;
    char err[256];

    for (uint64_t k = 0; cases < 60; k++) {
        sim_problem_t p;
        const char *truth[MAX_PATH_STEPS], *steps[MAX_PATH_STEPS + 1];
        int first = -1;
        assert_int_equal(sim_problem_make(w, 21, k, &p), 0);
        if (p.n_steps < 4) {
            sim_problem_clear(&p);
            continue;
        }
        correct_path(w, &p, truth, NULL, k * 64 + 1);
        /* A wrong weak step somewhere before the last two steps. */
        for (int i = 0; i < p.n_steps - 2 && first < 0; i++) {
            memcpy(steps, truth, sizeof(char *) * (size_t)i);
            for (uint64_t seed = 0; seed < 40; seed++) {
                sim_step_t s;
                assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps,
                                              (size_t)i, 0, seed, &s, err,
                                              sizeof err),
                                 0);
                steps[i] = s.text;
                if (last_state(w, p.text, steps, (size_t)i + 1) == SIM_S2) {
                    first = i;
                    break;
                }
                sim_step_clear(&s);
            }
        }
        if (first < 0) { /* an easy problem: no weak slip in 40 tries */
            free_steps(truth, (size_t)p.n_steps);
            sim_problem_clear(&p);
            continue;
        }
        for (int j = first + 1; j <= p.n_steps; j++) {
            sim_step_t s;
            char got[64], want[64];
            float scores[MAX_PATH_STEPS + 1];
            sim_state_t states[MAX_PATH_STEPS + 1];
            assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, (size_t)j,
                                          0, 5 + (uint64_t)j, &s, err,
                                          sizeof err),
                             0);
            steps[j] = s.text;
            assert_int_equal(sim_score(w, p.text, steps, (size_t)j + 1, scores,
                                       states, NULL, NULL, err, sizeof err),
                             0);
            assert_int_equal(states[first], SIM_S2);
            for (int i = 0; i < first; i++)
                assert_int_equal(states[i], SIM_S0);
            assert_int_equal(states[j], SIM_S1);
            written_value(s.text, got, sizeof got);
            written_value(truth[j < p.n_steps ? j : p.n_steps - 1], want,
                          sizeof want);
            if (j < p.n_steps)
                assert_string_not_equal(got, want);
        }
        /* The derailed answer is not the problem's answer. */
        {
            char boxed[64];
            snprintf(boxed, sizeof boxed, "\\boxed{%s}", p.answer);
            assert_null(strstr(steps[p.n_steps - 1], boxed));
        }
        if (cases == 0) {
            printf("  example derailment at step %d:\n", first);
            for (int j = first; j < p.n_steps && j < first + 3; j++)
                printf("    [%d] %s\n", j, steps[j]);
            printf("    truth: %s\n", truth[first]);
        }
        free_steps(truth, (size_t)p.n_steps);
        free_steps(steps + first, (size_t)(p.n_steps + 1 - first));
        sim_problem_clear(&p);
        cases++;
    }
    sim_world_destroy(&w);
}

/*
** A strong step written after a derailment goes back to the problem with
** probability repair (its own step may still err): the value is the true one
** again, the text says so, and the PRM labels it S0.  The weak model never
** repairs.
*/
static void
test_strong_repairs(void **state)
{
    (void)state;
    sim_world_t *w = world();
    const sim_params_t *prm = sim_world_params(w);
    long tries = 0, repaired = 0, weak_repaired = 0;
    char err[256];

    for (uint64_t k = 0; tries < 3000; k++) {
        sim_problem_t p;
        const char *steps[MAX_PATH_STEPS + 1];
        int first = -1;
        assert_int_equal(sim_problem_make(w, 23, k, &p), 0);
        if (p.n_steps < 3) {
            sim_problem_clear(&p);
            continue;
        }
        /* Derail at step 0 with a wrong weak step. */
        for (uint64_t seed = 0; seed < 200 && first < 0; seed++) {
            sim_step_t s;
            assert_int_equal(sim_generate(w, SIM_WEAK, p.text, NULL, 0, 0, seed,
                                          &s, err, sizeof err),
                             0);
            steps[0] = s.text;
            if (last_state(w, p.text, steps, 1) == SIM_S2)
                first = 0;
            else
                sim_step_clear(&s);
        }
        if (first < 0) { /* an easy problem: the weak model would not err */
            sim_problem_clear(&p);
            continue;
        }
        for (uint64_t seed = 0; seed < 10; seed++, tries++) {
            sim_step_t s, ws;
            sim_state_t st;
            assert_int_equal(sim_generate(w, SIM_STRONG, p.text, steps, 1, 0,
                                          seed, &s, err, sizeof err),
                             0);
            steps[1] = s.text;
            st = last_state(w, p.text, steps, 2);
            assert_true(st == SIM_S0 || st == SIM_S1);
            if (strstr(s.text, "Going back to the problem")) {
                repaired++;
                if (repaired == 1)
                    printf("  example repair: %s\n  after: %s\n", s.text,
                           steps[0]);
            } else {
                assert_int_equal(st, SIM_S1);
            }
            sim_step_clear(&s);
            assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, 1, 0,
                                          seed, &ws, err, sizeof err),
                             0);
            steps[1] = ws.text;
            weak_repaired += last_state(w, p.text, steps, 2) != SIM_S1;
            sim_step_clear(&ws);
        }
        free((char *)steps[0]);
        sim_problem_clear(&p);
    }
    printf("  strong repairs %.3f of %ld derailed steps (set %.3f)\n",
           (double)repaired / tries, tries, prm->repair);
    assert_true(fabs((double)repaired / tries - prm->repair) < 0.03);
    assert_int_equal(weak_repaired, 0);
    sim_world_destroy(&w);
}

/* A correct solution ends with the boxed answer; max_tokens cuts. */
static void
test_final_step_and_length(void **state)
{
    (void)state;
    sim_world_t *w = world();
    char err[256];

    for (uint64_t k = 0; k < 40; k++) {
        sim_problem_t p;
        const char *steps[MAX_PATH_STEPS + 1];
        sim_finish_t finish[MAX_PATH_STEPS];
        char boxed[64];
        sim_step_t s, full;
        const char *first;
        int n;

        assert_int_equal(sim_problem_make(w, 31, k, &p), 0);
        n = p.n_steps;
        correct_path(w, &p, steps, finish, k * 64 + 3);
        snprintf(boxed, sizeof boxed, "\\boxed{%s}", p.answer);
        for (int i = 0; i < n - 1; i++) {
            assert_int_equal(finish[i], SIM_FINISH_STEP);
            assert_null(strstr(steps[i], "\\boxed{"));
        }
        assert_int_equal(finish[n - 1], SIM_FINISH_END);
        assert_non_null(strstr(steps[n - 1], boxed));
        if (k == 0)
            printf("  final step: %s\n", steps[n - 1]);

        /* Past the end: a closing step restating the answer. */
        assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, (size_t)n, 0,
                                      1, &s, err, sizeof err),
                         0);
        assert_int_equal(s.finish, SIM_FINISH_END);
        assert_non_null(strstr(s.text, boxed));
        steps[n] = s.text;
        assert_int_equal(last_state(w, p.text, steps, (size_t)n + 1), SIM_S0);
        sim_step_clear(&s);

        /* max_tokens below the step's length cuts it. */
        first = steps[0];
        assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, 0, 0, 2,
                                      &full, err, sizeof err),
                         0);
        assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, 0, 1, 2, &s,
                                      err, sizeof err),
                         0);
        assert_int_equal(s.finish, SIM_FINISH_LENGTH);
        assert_int_equal(s.completion_tokens, 1);
        assert_true(strlen(s.text) < strlen(full.text));
        steps[0] = s.text;
        assert_int_equal(last_state(w, p.text, steps, 1), SIM_S2);
        steps[0] = first;
        sim_step_clear(&s);
        /* A roomy max_tokens changes nothing. */
        assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, 0, 100000, 2,
                                      &s, err, sizeof err),
                         0);
        assert_string_equal(s.text, full.text);
        assert_int_equal(s.completion_tokens, full.completion_tokens);
        assert_int_not_equal(s.finish, SIM_FINISH_LENGTH);
        sim_step_clear(&s);
        sim_step_clear(&full);

        free_steps(steps, (size_t)n);
        sim_problem_clear(&p);
    }
    sim_world_destroy(&w);
}

/*
** Correlation of the log lengths of the weak and the strong model's first
** step of problems [0, n) of seed 33 in world p.
*/
static double
length_correlation(const sim_params_t *p, int n)
{
    char err[256];
    sim_world_t *w = sim_world_new(p, NULL, err, sizeof err);
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;

    assert_non_null(w);
    for (int k = 0; k < n; k++) {
        sim_problem_t pr;
        sim_step_t a, b;
        assert_int_equal(sim_problem_make(w, 33, (uint64_t)k, &pr), 0);
        assert_int_equal(sim_generate(w, SIM_WEAK, pr.text, NULL, 0, 0, 1, &a,
                                      err, sizeof err),
                         0);
        assert_int_equal(sim_generate(w, SIM_STRONG, pr.text, NULL, 0, 0, 2, &b,
                                      err, sizeof err),
                         0);
        double x = log(a.completion_tokens), y = log(b.completion_tokens);
        sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
        sim_step_clear(&a);
        sim_step_clear(&b);
        sim_problem_clear(&pr);
    }
    sim_world_destroy(&w);
    return (sxy - sx * sy / n) /
           sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
}

/*
** A strong step's length follows the draft's at the same prompt by
** tokens_corr (critical steps, longer for both, made equally long here so
** that only tokens_corr links them).
*/
static void
test_length_follows_draft(void **state)
{
    (void)state;
    sim_params_t p;

    sim_params_default(&p);
    p.critical_tokens = 1.0;
    p.tokens_corr = 0.0;
    double r0 = length_correlation(&p, 2000);
    p.tokens_corr = 0.8;
    double r8 = length_correlation(&p, 2000);
    printf("  log length correlation: %.3f at tokens_corr 0, %.3f at 0.8\n", r0,
           r8);
    assert_true(fabs(r0) < 0.1);
    assert_true(r8 > 0.72 && r8 < 0.88);
}

static void
test_latency_model(void **state)
{
    (void)state;
    sim_params_t prm;
    sim_world_t *w;
    sim_problem_t p;
    sim_step_t s;
    char err[256];
    float scores[2];
    int in_tokens;
    int64_t lat;
    const char *steps[2];

    sim_params_default(&prm);
    prm.base_us[SIM_STRONG] = 1000;
    prm.prefill_us[SIM_STRONG] = 0.5;
    prm.decode_us[SIM_STRONG] = 20;
    prm.prm_base_us = 300;
    prm.prm_prefill_us = 0.25;
    w = sim_world_new(&prm, NULL, err, sizeof err);
    assert_non_null(w);
    assert_true(sim_world_params(w)->decode_us[SIM_STRONG] == 20);
    assert_int_equal(sim_problem_make(w, 41, 0, &p), 0);
    assert_int_equal(
        sim_generate(w, SIM_STRONG, p.text, NULL, 0, 0, 1, &s, err, sizeof err),
        0);
    assert_true(s.prompt_tokens == (int)strlen(p.text) / 4);
    assert_int_equal(s.latency_us, (int64_t)(1000 + 0.5 * s.prompt_tokens +
                                             20.0 * s.completion_tokens + 0.5));
    steps[0] = s.text;
    assert_int_equal(sim_score(w, p.text, steps, 1, scores, NULL, &in_tokens,
                               &lat, err, sizeof err),
                     0);
    assert_int_equal(in_tokens, (int)(strlen(p.text) + strlen(s.text) + 2) / 4);
    assert_int_equal(lat, (int64_t)(300 + 0.25 * in_tokens + 0.5));
    sim_step_clear(&s);
    sim_problem_clear(&p);
    sim_world_destroy(&w);

    /* Bad parameters are refused with the field named. */
    sim_params_default(&prm);
    prm.accuracy[SIM_WEAK] = 1.5;
    assert_null(sim_world_new(&prm, NULL, err, sizeof err));
    assert_non_null(strstr(err, "accuracy"));
    sim_params_default(&prm);
    prm.critical_fraction = -0.1;
    assert_null(sim_world_new(&prm, NULL, err, sizeof err));
    assert_non_null(strstr(err, "critical_fraction"));
}

/*
** Problems fall into the classes with the configured shares; error rates
** grow with the class for both models, the strong one below the weak one.
*/
static void
test_problem_classes(void **state)
{
    (void)state;
    sim_world_t *w = world();
    const sim_params_t *prm = sim_world_params(w);
    long count[SIM_CLASSES] = {0};
    int n = 20000;

    for (int i = 0; i < n; i++) {
        sim_problem_t p;
        int c;
        assert_int_equal(sim_problem_make(w, 13, (uint64_t)i, &p), 0);
        c = sim_problem_class(w, p.text);
        assert_in_range(c, 0, SIM_CLASSES - 1);
        count[c]++;
        sim_problem_clear(&p);
    }
    for (int c = 0; c < SIM_CLASSES; c++) {
        printf("  class %d: share %.3f (set %.3f), step error weak %.3f/%.3f "
               "strong %.3f/%.3f (routine/critical)\n",
               c, (double)count[c] / n, prm->class_share[c],
               sim_world_error_rate(w, SIM_WEAK, c, 0),
               sim_world_error_rate(w, SIM_WEAK, c, 1),
               sim_world_error_rate(w, SIM_STRONG, c, 0),
               sim_world_error_rate(w, SIM_STRONG, c, 1));
        assert_true(fabs((double)count[c] / n - prm->class_share[c]) < 0.02);
        for (int m = 0; m < 2; m++)
            assert_true(sim_world_error_rate(w, m, c, 1) >=
                        sim_world_error_rate(w, m, c, 0));
        assert_true(sim_world_error_rate(w, SIM_STRONG, c, 0) <
                    sim_world_error_rate(w, SIM_WEAK, c, 0));
        if (c > 0)
            assert_true(sim_world_error_rate(w, SIM_WEAK, c, 0) >
                        sim_world_error_rate(w, SIM_WEAK, c - 1, 0));
    }
    assert_int_equal(sim_problem_class(w, "not a problem"), -1);
    assert_true(sim_world_error_rate(w, SIM_WEAK, 3, 0) < 0);
    sim_world_destroy(&w);
}

/* The named profiles: known, documented, valid, shifted as described. */
static void
test_profiles(void **state)
{
    (void)state;
    sim_params_t def, p, q;
    const char *const *names = sim_profile_names();
    char err[256];
    int n = 0, seen_hard = 0, seen_easy = 0;

    sim_params_default(&def);
    assert_int_equal(sim_params_profile("math500", &p), 0);
    assert_memory_equal(&p, &def, sizeof p);
    assert_int_equal(sim_params_profile(NULL, &p), 0);
    assert_memory_equal(&p, &def, sizeof p);
    for (; names[n]; n++) {
        sim_world_t *w;
        assert_int_equal(sim_params_profile(names[n], &p), 0);
        assert_non_null(sim_profile_about(names[n]));
        w = sim_world_new(&p, NULL, err, sizeof err);
        if (!w)
            fail_msg("profile %s: %s", names[n], err);
        printf("  %-8s hard share %.3f, mean steps %.2f: %s\n", names[n],
               p.class_share[SIM_HARD], sim_world_mean_steps(w),
               sim_profile_about(names[n]));
        {
            /* The same models: per-class error rates as in math500 (a
            ** benchmark harder than the hard class allows makes it
            ** harder). */
            sim_world_t *d = sim_world_new(&def, NULL, err, sizeof err);
            assert_non_null(d);
            for (int m = 0; m < 2; m++)
                for (int c = 0; c < SIM_CLASSES; c++)
                    assert_true(
                        c == SIM_HARD
                            ? sim_world_error_rate(w, m, c, 0) >=
                                  sim_world_error_rate(d, m, c, 0) - 1e-12
                            : fabs(sim_world_error_rate(w, m, c, 0) -
                                   sim_world_error_rate(d, m, c, 0)) < 1e-9);
            sim_world_destroy(&d);
        }
        if (strcmp(names[n], "hard") == 0) {
            seen_hard = 1;
            assert_true(p.class_share[SIM_HARD] > def.class_share[SIM_HARD]);
            assert_true(sim_world_mean_steps(w) > def.mean_steps + 1);
        }
        if (strcmp(names[n], "easy") == 0) {
            seen_easy = 1;
            assert_true(p.class_share[SIM_HARD] < def.class_share[SIM_HARD]);
            assert_true(sim_world_mean_steps(w) < def.mean_steps - 1);
        }
        sim_world_destroy(&w);
    }
    assert_true(n >= 3 && seen_hard && seen_easy);
    q = def;
    assert_int_equal(sim_params_profile("nope", &q), -1);
    assert_memory_equal(&q, &def, sizeof q); /* left alone */
    assert_null(sim_profile_about("nope"));
    assert_int_equal(sim_profile_resolve("nope", &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "nope"));
    assert_non_null(strstr(err, "math500"));
    assert_non_null(strstr(err, "hard"));
}

/* ------------------------------------------------------------------ PRM */

static void
test_prm_scores(void **state)
{
    (void)state;
    sim_world_t *w = world();
    char err[256];

    for (uint64_t k = 0; k < 200; k++) {
        sim_problem_t p;
        const char *steps[MAX_PATH_STEPS];
        float all[MAX_PATH_STEPS], again[MAX_PATH_STEPS], pre[MAX_PATH_STEPS];
        sim_state_t st[MAX_PATH_STEPS];
        size_t n;
        assert_int_equal(sim_problem_make(w, 51, k, &p), 0);
        n = (size_t)p.n_steps;
        for (size_t i = 0; i < n; i++) { /* a weak-only trajectory */
            sim_step_t s;
            assert_int_equal(sim_generate(w, SIM_WEAK, p.text, steps, i, 0, k,
                                          &s, err, sizeof err),
                             0);
            steps[i] = s.text;
        }
        assert_int_equal(sim_score(w, p.text, steps, n, all, st, NULL, NULL,
                                   err, sizeof err),
                         0);
        assert_int_equal(sim_score(w, p.text, steps, n, again, NULL, NULL, NULL,
                                   err, sizeof err),
                         0);
        for (size_t i = 0; i < n; i++) {
            assert_true(all[i] >= 0.0f && all[i] <= 1.0f);
            assert_true(all[i] == again[i]);
            assert_true(st[i] == SIM_S0 || st[i] == SIM_S1 || st[i] == SIM_S2);
            if (i > 0 && st[i - 1] != SIM_S0)
                assert_int_equal(st[i], SIM_S1);
        }
        for (size_t m = 1; m <= n; m++) {
            assert_int_equal(sim_score(w, p.text, steps, m, pre, NULL, NULL,
                                       NULL, err, sizeof err),
                             0);
            for (size_t i = 0; i < m; i++)
                assert_true(pre[i] == all[i]);
        }
        free_steps(steps, n);
        sim_problem_clear(&p);
    }
    {
        sim_problem_t p;
        assert_int_equal(sim_problem_make(w, 51, 0, &p), 0);
        assert_int_equal(sim_score(w, p.text, NULL, 0, NULL, NULL, NULL, NULL,
                                   err, sizeof err),
                         0);
        sim_problem_clear(&p);
    }
    sim_world_destroy(&w);
}

/*
** First-step scores of correct steps follow P(. | bin 19, S0) once the
** reported score's sharpening is undone (in a world where the PRM can always
** tell, prm_noise 0).
*/
static void
test_prm_score_distribution(void **state)
{
    (void)state;
    sim_params_t prm;
    sim_world_t *w;
    double hist[SIM_BINS] = {0}, pmf[SIM_BINS], tvd = 0;
    long n = 0;
    char err[256];

    sim_params_default(&prm);
    for (int c = 0; c < SIM_CLASSES; c++)
        prm.prm_noise[c] = 0;
    w = sim_world_new(&prm, NULL, err, sizeof err);
    assert_non_null(w);

    for (uint64_t k = 0; n < 6000; k++) {
        sim_problem_t p;
        sim_step_t s;
        float score;
        sim_state_t st;
        const char *steps[1];
        assert_int_equal(sim_problem_make(w, 61, k, &p), 0);
        assert_int_equal(sim_generate(w, SIM_STRONG, p.text, NULL, 0, 0, k, &s,
                                      err, sizeof err),
                         0);
        steps[0] = s.text;
        assert_int_equal(sim_score(w, p.text, steps, 1, &score, &st, NULL, NULL,
                                   err, sizeof err),
                         0);
        if (st == SIM_S0) {
            /* reported = sigmoid(g logit(x) + a): x back from it */
            double l = (log(score / (1.0 - score)) - prm.prm_shift[0]) /
                       prm.prm_sharpness;
            int bin = (int)(SIM_BINS / (1.0 + exp(-l)));
            hist[bin < SIM_BINS ? bin : SIM_BINS - 1] += 1;
            n++;
        }
        sim_step_clear(&s);
        sim_problem_clear(&p);
    }
    sim_world_score_pmf(w, SIM_S0, 19, pmf);
    for (int j = 0; j < SIM_BINS; j++)
        tvd += 0.5 * (hist[j] / n > pmf[j] ? hist[j] / n - pmf[j]
                                           : pmf[j] - hist[j] / n);
    printf("  sampled first-step S0 scores vs pmf: TVD %.4f over %ld\n", tvd,
           n);
    assert_true(tvd < 0.04);
    sim_world_destroy(&w);
}

/* ---------------------------------------------------------- calibration */

/* The measured calibration in data/; skips the test when it is absent. */
static const char *
calibration_path(void)
{
    static char path[4096];
    return test_data_path(path, sizeof path,
                          "calibration/qwen2.5-math-prm-7b.json");
}

static json_t *
load_calibration(void)
{
    const char *path = calibration_path();
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root)
        fail_msg("%s:%d: %s", path, e.line, e.text);
    return root;
}

static json_t *
state_obj(json_t *root, int s)
{
    return json_object_get(
        json_object_get(json_object_get(root, "observation_model"),
                        "math_train"),
        state_key[s]);
}

/* The embedded fit implies each state's measured current-score marginal. */
static void
test_embedded_fit_matches_file(void **state)
{
    (void)state;
    json_t *root = load_calibration();
    sim_world_t *w = world();
    for (int s = 0; s < 3; s++) {
        json_t *obj = state_obj(root, s);
        json_t *mprev = json_object_get(obj, "marginal_min_previous");
        json_t *mcur = json_object_get(obj, "marginal_current");
        double implied[SIM_BINS] = {0}, pmf[SIM_BINS], tvd = 0, wsum = 0;
        assert_int_equal(json_array_size(mprev), SIM_BINS);
        assert_int_equal(json_array_size(mcur), SIM_BINS);
        for (int i = 0; i < SIM_BINS; i++) {
            double wi = json_number_value(json_array_get(mprev, (size_t)i));
            sim_world_score_pmf(w, (sim_state_t)s, i, pmf);
            for (int j = 0; j < SIM_BINS; j++)
                implied[j] += wi * pmf[j];
            wsum += wi;
        }
        for (int j = 0; j < SIM_BINS; j++) {
            double want = json_number_value(json_array_get(mcur, (size_t)j));
            double got = implied[j] / wsum;
            tvd += 0.5 * (got > want ? got - want : want - got);
        }
        printf("  %s: TVD(embedded-implied marginal, file marginal_current) "
               "= %.5f\n",
               state_key[s], tvd);
        assert_true(tvd <= 0.1);
        /* How well each row's conditional is kept (reported, loosely held). */
        {
            json_t *grid = json_object_get(obj, "grid");
            double worst = 0, mean = 0, mass = 0;
            for (int i = 0; i < SIM_BINS; i++) {
                json_t *row = json_array_get(grid, (size_t)i);
                double total = 0, d = 0;
                for (int j = 0; j < SIM_BINS; j++)
                    total += json_number_value(json_array_get(row, (size_t)j));
                sim_world_score_pmf(w, (sim_state_t)s, i, pmf);
                for (int j = 0; j < SIM_BINS; j++) {
                    double want =
                        json_number_value(json_array_get(row, (size_t)j)) /
                        total;
                    d += 0.5 * (pmf[j] > want ? pmf[j] - want : want - pmf[j]);
                }
                worst = d > worst ? d : worst;
                mean += total * d;
                mass += total;
            }
            printf("    row conditionals: mass-weighted TVD %.4f, worst row "
                   "%.4f\n",
                   mean / mass, worst);
            assert_true(worst < 0.15);
        }
    }
    sim_world_destroy(&w);
    json_decref(root);
}

/* Loading the file uses its grids exactly. */
static void
test_file_grids_exact(void **state)
{
    (void)state;
    json_t *root = load_calibration();
    char err[512];
    sim_world_t *w = sim_world_new(NULL, calibration_path(), err, sizeof err);
    if (!w)
        fail_msg("%s", err);
    for (int s = 0; s < 3; s++) {
        json_t *grid = json_object_get(state_obj(root, s), "grid");
        for (int i = 0; i < SIM_BINS; i++) {
            json_t *row = json_array_get(grid, (size_t)i);
            double pmf[SIM_BINS], total = 0;
            for (int j = 0; j < SIM_BINS; j++)
                total += json_number_value(json_array_get(row, (size_t)j));
            sim_world_score_pmf(w, (sim_state_t)s, i, pmf);
            for (int j = 0; j < SIM_BINS; j++) {
                double want =
                    json_number_value(json_array_get(row, (size_t)j)) / total;
                assert_true(pmf[j] - want < 1e-12 && want - pmf[j] < 1e-12);
            }
        }
    }
    sim_world_destroy(&w);
    json_decref(root);
}

/* Write a calibration file; bad_* inject one defect (-1 = none). */
static void
write_calibration(const char *path, int rows, int neg_row, int zero_row,
                  int drop_state)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"observation_model\": {\"math_train\": {");
    for (int s = 0, first = 1; s < 3; s++) {
        if (s == drop_state)
            continue;
        fprintf(f, "%s\"%s\": {\"grid\": [", first ? "" : ",", state_key[s]);
        first = 0;
        for (int i = 0; i < rows; i++) {
            fprintf(f, "%s[", i ? "," : "");
            for (int j = 0; j < SIM_BINS; j++) {
                double v = (i == zero_row) ? 0.0 : 0.01 * (1 + (i + j) % 5);
                if (i == neg_row && j == 4)
                    v = -0.5;
                fprintf(f, "%s%g", j ? "," : "", v);
            }
            fprintf(f, "]");
        }
        fprintf(f, "]}");
    }
    fprintf(f, "}}}\n");
    fclose(f);
}

static void
expect_rejected(const char *path, const char *what)
{
    char err[512];
    sim_world_t *w = sim_world_new(NULL, path, err, sizeof err);
    assert_null(w);
    printf("  rejected: %s\n", err);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, what));
}

static void
test_malformed_calibration(void **state)
{
    (void)state;
    char path[] = "/tmp/test_sim_calib_XXXXXX";
    char err[512];
    int fd = mkstemp(path);
    sim_world_t *w;
    double pmf[SIM_BINS];
    FILE *f;

    assert_true(fd >= 0);
    close(fd);

    write_calibration(path, SIM_BINS, -1, -1, -1); /* a good one */
    w = sim_world_new(NULL, path, err, sizeof err);
    if (!w)
        fail_msg("%s", err);
    sim_world_score_pmf(w, SIM_S1, 3, pmf);
    assert_true(pmf[0] > 0.0 && pmf[0] < 1.0);
    sim_world_destroy(&w);

    write_calibration(path, SIM_BINS - 1, -1, -1, -1);
    expect_rejected(path, "S0_correct_so_far.grid must be an array of 20 rows");
    write_calibration(path, SIM_BINS, 3, -1, -1);
    expect_rejected(path, "grid[3][4] = -0.5 is negative");
    write_calibration(path, SIM_BINS, -1, 7, -1);
    expect_rejected(path, "grid[7] sums to zero");
    write_calibration(path, SIM_BINS, -1, -1, 2);
    expect_rejected(path, "missing observation_model.math_train."
                          "S2_latest_step_first_error.grid");

    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"observation_model\": {\"math_train\":\n  [1, 2,]}}\n");
    fclose(f);
    expect_rejected(path, ":2:");

    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"about\": \"no grids here\"}\n");
    fclose(f);
    expect_rejected(path, "missing object observation_model.math_train");

    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"observation_model\": {\"math_train\": {\"S0_correct_so_far"
               "\": {\"grid\": [[1]");
    for (int i = 1; i < SIM_BINS; i++)
        fprintf(f, ",[1, 2, \"x\"]");
    fprintf(f, "]}}}}\n");
    fclose(f);
    expect_rejected(path, "grid[0] must be an array of 20 numbers");
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"observation_model\": {\"math_train\": {\"S0_correct_so_far"
               "\": {\"grid\": [");
    for (int i = 0; i < SIM_BINS; i++) {
        fprintf(f, "%s[", i ? "," : "");
        for (int j = 0; j < SIM_BINS; j++)
            fprintf(f, "%s%s", j ? "," : "", i == 5 && j == 6 ? "\"x\"" : "1");
        fprintf(f, "]");
    }
    fprintf(f, "]}}}}\n");
    fclose(f);
    expect_rejected(path, "grid[5][6] is not a number");

    unlink(path);
    expect_rejected(path, "No such file");
}

/* ---------------------------------------------------------- text cache */

/* One call of each kind, with and without the cache, gives the same. */
static void
same_cached(const sim_world_t *w, sim_cache_t *c, const char *problem,
            const char *const *steps, size_t n, uint64_t seed)
{
    sim_step_t a, b;
    float sa[MAX_PATH_STEPS], sb[MAX_PATH_STEPS];
    int ta = 0, tb = 0;
    int64_t la = 0, lb = 0;
    char err[256];

    assert_int_equal(sim_generate(w, SIM_WEAK, problem, steps, n, 0, seed, &a,
                                  err, sizeof err),
                     0);
    assert_int_equal(sim_generate_cached(w, c, SIM_WEAK, problem, steps, n, 0,
                                         seed, &b, err, sizeof err),
                     0);
    assert_string_equal(a.text, b.text);
    assert_int_equal(a.prompt_tokens, b.prompt_tokens);
    assert_int_equal(a.completion_tokens, b.completion_tokens);
    assert_int_equal(a.finish, b.finish);
    assert_int_equal(a.latency_us, b.latency_us);
    sim_step_clear(&a);
    sim_step_clear(&b);
    assert_int_equal(
        sim_score(w, problem, steps, n, sa, NULL, &ta, &la, err, sizeof err),
        0);
    assert_int_equal(sim_score_cached(w, c, problem, steps, n, sb, NULL, &tb,
                                      &lb, err, sizeof err),
                     0);
    for (size_t i = 0; i < n; i++)
        assert_true(sa[i] == sb[i]);
    assert_int_equal(ta, tb);
    assert_int_equal(la, lb);
}

/*
** The cache of problem texts changes nothing: every call through it, a hit
** or a miss, in a cache small enough that problems evict each other, gives
** what the uncached call gives; a copy of a text at another address hits.
*/
static void
test_text_cache(void **state)
{
    (void)state;
    sim_world_t *w = world();
    sim_cache_t *c = sim_cache_new(8);
    char err[256];
    enum { N = 24 };
    sim_problem_t p[N];
    const char *steps[N][MAX_PATH_STEPS];
    sim_step_t s;

    assert_non_null(c);
    for (int k = 0; k < N; k++)
        assert_int_equal(sim_problem_make(w, 77, (uint64_t)k, &p[k]), 0);
    for (int i = 0; i < 8; i++) {
        for (int k = 0; k < N; k++) { /* in turn, as a worker sees them */
            char *copy;
            if (i >= p[k].n_steps)
                continue;
            same_cached(w, c, p[k].text, steps[k], (size_t)i, (uint64_t)k);
            copy = strdup(p[k].text);
            same_cached(w, c, copy, steps[k], (size_t)i, (uint64_t)k + 1);
            free(copy);
            assert_int_equal(sim_generate(w, SIM_WEAK, p[k].text, steps[k],
                                          (size_t)i, 0, (uint64_t)k, &s, err,
                                          sizeof err),
                             0);
            steps[k][i] = s.text;
        }
    }
    assert_int_equal(sim_generate_cached(w, c, SIM_WEAK, "Mia has 3 apples.",
                                         NULL, 0, 0, 1, &s, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "not a simulated problem"));
    assert_int_equal(sim_generate_cached(w, c, SIM_WEAK, NULL, NULL, 0, 0, 1,
                                         &s, err, sizeof err),
                     -1);
    for (int k = 0; k < N; k++) {
        free_steps(steps[k], (size_t)(p[k].n_steps < 8 ? p[k].n_steps : 8));
        sim_problem_clear(&p[k]);
    }
    sim_cache_destroy(&c);
    assert_null(c);
    sim_cache_destroy(&c);
    sim_world_destroy(&w);
}

/* -------------------------------------------------------- foreign text */

static void
test_not_a_simulated_problem(void **state)
{
    (void)state;
    sim_world_t *w = world();
    sim_problem_t p;
    sim_step_t s;
    char err[256], bad[4096];
    float score;
    const char *steps[1] = {"x"};
    const char *texts[] = {
        "What is 2+2?",
        "",
        "Mia has 12 marbles. How many marbles does Mia have now?",
        "Mia has 12 marbles. She eats 3 marbles. How many marbles does Mia "
        "have now?",
        "Mia has 12 marbles. She finds 3 more marbles.",
        "Mia has 12 marbles. She finds 3 more marbles. How many marbles does "
        "Mia have now? Extra.",
    };

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        err[0] = '\0';
        assert_int_equal(sim_generate(w, SIM_WEAK, texts[i], NULL, 0, 0, 1, &s,
                                      err, sizeof err),
                         -1);
        assert_null(s.text);
        assert_non_null(strstr(err, "not a simulated problem: "));
        err[0] = '\0';
        assert_int_equal(sim_score(w, texts[i], steps, 1, &score, NULL, NULL,
                                   NULL, err, sizeof err),
                         -1);
        assert_non_null(strstr(err, "not a simulated problem: "));
    }
    printf("  e.g. %s\n", err);
    assert_int_equal(
        sim_generate(w, SIM_WEAK, NULL, NULL, 0, 0, 1, &s, err, sizeof err),
        -1);

    /* A real problem with one sentence changed. */
    assert_int_equal(sim_problem_make(w, 71, 0, &p), 0);
    snprintf(bad, sizeof bad, "%s", p.text);
    memcpy(strstr(bad, ". ") + 2, "Zzz", 3); /* "She finds" -> "Zzz finds" */
    assert_int_equal(
        sim_generate(w, SIM_STRONG, bad, NULL, 0, 0, 1, &s, err, sizeof err),
        -1);
    printf("  e.g. %s\n", err);
    assert_non_null(strstr(err, "sentence 2"));
    sim_problem_clear(&p);
    sim_world_destroy(&w);
}

/* ----------------------------------------------------------------- cost */

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_determinism),
        cmocka_unit_test(test_generate_determinism),
        cmocka_unit_test(test_next_step_accuracy),
        cmocka_unit_test(test_errors_cascade),
        cmocka_unit_test(test_strong_repairs),
        cmocka_unit_test(test_final_step_and_length),
        cmocka_unit_test(test_length_follows_draft),
        cmocka_unit_test(test_latency_model),
        cmocka_unit_test(test_problem_classes),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_prm_scores),
        cmocka_unit_test(test_prm_score_distribution),
        cmocka_unit_test(test_embedded_fit_matches_file),
        cmocka_unit_test(test_file_grids_exact),
        cmocka_unit_test(test_malformed_calibration),
        cmocka_unit_test(test_text_cache),
        cmocka_unit_test(test_not_a_simulated_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
