/*
** test_sim_profiles.c: the benchmark profiles (sim/profile.c) are what they
** say: their lengths are the ones measured on data/benchmarks' reference
** solutions, and a few hundred simulated problems solved by the weak model
** alone and by the strong model alone land on the accuracies each profile
** was built for from the published figures, with solutions of the length
** asked for.
*/
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"
#include "sim_profile.h"
#include "skip.h"

#define PROBLEMS 300
#define SEED     424242

/* ------------------------------------------------------ reference lengths */

/* An AoPS author signature ("~name", "-name") ends a solution there. */
static int
signature(const char *t)
{
    return t[0] == '~' || (t[0] == '-' && ((t[1] >= 'a' && t[1] <= 'z') ||
                                           (t[1] >= 'A' && t[1] <= 'Z')));
}

/* Count the non-blank lines of s (up to "####" when stop_hash, to the first
** signature when aops) and their bytes, trimmed of blanks. */
static void
count_lines(const char *s, int stop_hash, int aops, long *lines, long *bytes)
{
    const char *end =
        stop_hash && strstr(s, "####") ? strstr(s, "####") : s + strlen(s);
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end, *b = s;
        while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (e > b) {
            char head[3] = {b[0], e - b > 1 ? b[1] : '\0', '\0'};
            if (aops && signature(head))
                return;
            (*lines)++;
            *bytes += e - b;
        }
        s = nl ? nl + 1 : end;
    }
}

/* The mean non-blank lines per reference solution of a benchmark file and
** the mean bytes per line, as profile.c counts them. */
static void
measure_file(const char *rel, const char *field, int stop_hash, int aops,
             double *steps, double *bytes_per_step)
{
    char path[4096], line[1 << 16];
    long lines = 0, bytes = 0, n = 0;
    FILE *f = fopen(test_data_path(path, sizeof path, rel), "r");

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL), *v;
        assert_non_null(o);
        v = json_object_get(o, field);
        if (json_is_array(v))
            v = json_array_get(v, 0);
        assert_true(json_is_string(v));
        count_lines(json_string_value(v), stop_hash, aops, &lines, &bytes);
        n++;
        json_decref(o);
    }
    fclose(f);
    *steps = (double)lines / (double)n;
    *bytes_per_step = (double)bytes / (double)lines;
}

static void
test_lengths_are_measured(void **state)
{
    (void)state;
    static const struct {
        const char *profile, *file, *field;
        int stop_hash, aops;
    } sets[] = {
        {"math500", "benchmarks/math500/test.jsonl", "solution", 0, 0},
        {"gsm8k", "benchmarks/gsm8k/test.jsonl", "answer", 1, 0},
        {"aime", "benchmarks/aime24/test.jsonl", "solution", 0, 1},
        {"olympiadbench", "benchmarks/olympiadbench/test.jsonl", "solution", 0,
         0},
        {"minerva_math", "benchmarks/minerva_math/test.jsonl", "solution", 0,
         0},
    };
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        sim_profile_info_t info;
        double steps, bytes;
        measure_file(sets[i].file, sets[i].field, sets[i].stop_hash,
                     sets[i].aops, &steps, &bytes);
        assert_int_equal(sim_profile_info(sets[i].profile, &info), 0);
        printf("  %-14s %6.3f lines per solution, %6.2f bytes per line\n",
               sets[i].profile, steps, bytes);
        if (fabs(steps - info.ref_steps) > 0.001 ||
            fabs(bytes - info.ref_bytes_per_step) > 0.01)
            fail_msg("%s: measured %.3f lines, %.2f bytes per line; the "
                     "profile says %.3f and %.2f",
                     sets[i].profile, steps, bytes, info.ref_steps,
                     info.ref_bytes_per_step);
    }
}

/* ------------------------------------------------------ simulated figures */

/* The last step's \boxed{} value equals the answer. */
static int
right(const char *step, const char *answer)
{
    const char *b = strstr(step, "\\boxed{");
    size_t n = strlen(answer);
    return b && strncmp(b + 7, answer, n) == 0 && b[7 + n] == '}';
}

/* Solve problem p with one model at every step: 1 when the answer is
** right. */
static int
solve_alone(const sim_world_t *w, const sim_problem_t *p, sim_model_t model,
            uint64_t seed)
{
    char *steps[64] = {0}, err[256];
    size_t n = 0;
    int ok = 0;

    for (; n < 40; n++) {
        sim_step_t s;
        if (sim_generate(w, model, p->text, (const char *const *)steps, n, 0,
                         seed, &s, err, sizeof err) < 0)
            fail_msg("sim_generate: %s", err);
        steps[n] = s.text;
        if (s.finish != SIM_FINISH_STEP) {
            ok = right(s.text, p->answer);
            n++;
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(steps[i]);
    return ok;
}

static void
test_accuracies_and_steps(void **state)
{
    (void)state;
    static const char *const names[] = {"math500", "aime", "olympiadbench",
                                        "minerva_math", "gsm8k"};
    sim_params_t def;
    sim_params_default(&def);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        sim_profile_info_t info;
        sim_params_t p;
        char err[256];
        double acc[2] = {0, 0}, steps = 0;

        assert_int_equal(sim_profile_info(names[i], &info), 0);
        assert_true(info.benchmark);
        assert_int_equal(sim_params_profile(names[i], &p), 0);
        sim_world_t *w = sim_world_new(&p, NULL, err, sizeof err);
        if (!w)
            fail_msg("%s: %s", names[i], err);
        for (uint64_t k = 0; k < PROBLEMS; k++) {
            sim_problem_t pr;
            assert_int_equal(sim_problem_make(w, SEED, k, &pr), 0);
            steps += pr.n_steps;
            for (int m = 0; m < 2; m++)
                acc[m] += solve_alone(w, &pr, (sim_model_t)m, SEED + k);
            sim_problem_clear(&pr);
        }
        for (int m = 0; m < 2; m++)
            acc[m] /= PROBLEMS;
        steps /= PROBLEMS;
        printf("  %-14s weak %.3f (target %.3f), strong %.3f (target %.3f), "
               "%.2f steps (asked %.2f), %.1f tokens per step\n",
               names[i], acc[0], info.target[0], acc[1], info.target[1], steps,
               p.mean_steps, p.tokens_per_step[SIM_STRONG]);
        /* 300 problems: a binomial standard error of at most 2.9 points;
        ** 7 points is beyond 2.4 of them. */
        for (int m = 0; m < 2; m++)
            if (fabs(acc[m] - info.target[m]) > 0.07)
                fail_msg("%s: %s-only accuracy %.3f, built for %.3f", names[i],
                         m ? "strong" : "weak", acc[m], info.target[m]);
        /* Steps per solution: the asked mean within 10% (its spread is
        ** about 4 steps, so 300 problems' mean is within 0.25 or so). */
        assert_true(fabs(steps - p.mean_steps) < 0.1 * p.mean_steps);
        /* The models are the fitted ones: the easy and medium classes err as
        ** in math500, the hard class at least as often. */
        sim_world_t *d = sim_world_new(&def, NULL, err, sizeof err);
        assert_non_null(d);
        for (int m = 0; m < 2; m++) {
            for (int c = SIM_EASY; c <= SIM_MEDIUM; c++)
                assert_true(fabs(sim_world_error_rate(w, m, c, 0) -
                                 sim_world_error_rate(d, m, c, 0)) < 1e-9);
            assert_true(sim_world_error_rate(w, m, SIM_HARD, 0) >=
                        sim_world_error_rate(d, m, SIM_HARD, 0) - 1e-12);
        }
        sim_world_destroy(&d);
        sim_world_destroy(&w);
    }
}

/* Harder benchmarks are harder: the targets order as the published figures
** do, and every shipped benchmark asked for by name has a profile. */
static void
test_benchmark_order(void **state)
{
    (void)state;
    sim_profile_info_t gsm, math, oly, aime;
    assert_int_equal(sim_profile_info("gsm8k", &gsm), 0);
    assert_int_equal(sim_profile_info("math500", &math), 0);
    assert_int_equal(sim_profile_info("olympiadbench", &oly), 0);
    assert_int_equal(sim_profile_info("aime", &aime), 0);
    for (int m = 0; m < 2; m++) {
        assert_true(gsm.target[m] > math.target[m]);
        assert_true(math.target[m] > oly.target[m]);
        assert_true(oly.target[m] > aime.target[m]);
    }
    assert_true(fabs(math.target[0] - 0.364) < 1e-9);
    assert_true(fabs(math.target[1] - 0.730) < 1e-9);
    assert_int_equal(sim_profile_info("amc23", &aime), 0);
    assert_int_equal(sim_profile_info("hard", &aime), 0);
    assert_false(aime.benchmark);
    assert_int_equal(sim_profile_info("cmimc", &aime), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_are_measured),
        cmocka_unit_test(test_benchmark_order),
        cmocka_unit_test(test_accuracies_and_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
