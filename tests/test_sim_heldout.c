/*
** test_sim_heldout.c: the fitted simulator against a real sweep it was not
** fitted to.
**
** The simulator's defaults are fitted to the real TRIM-Thr sweep only
** (sim/fit/sim_fit.c).  The TRIM release also ran TRIM-POMDP on the same
** problems and models (data/reference-runs/trim-pomdp-math500-qwen1.5b-
** 7b.jsonl); that sweep is never used for fitting, so it tests whether the
** simulated world behaves like the real one beyond the curve it was made
** to trace.  Here TRIM-POMDP plans with the release's own measured model
** (data/calibration/qwen2.5-math-prm-7b.json: next-step accuracies 0.866 /
** 0.9704, the PRM's score grids, the solution-length hazard) at the real
** sweep's costs (cost_per_token with task reward 100, so lambda =
** cost_per_token / 100 per strong token against one correct answer), on
** the simulated world, and each point must land within 3 accuracy points
** and 25% strong tokens per problem of the real one (means over SEEDS
** seeds); and, as in the real data, TRIM-POMDP must reach half the
** weak-to-strong gap (PGR 50%) with fewer strong tokens than TRIM-Thr.
**
** The loop is the coordinator's (coordinator/steps.c), replayed in process
** as sim_fit does: the same per-request seeds, the PRM scoring the whole
** history with each draft, the policy reading the draft's score, the
** minimum score over the accepted steps and its own belief from the step
** before.  Run with an argument N it prints the table over N seeds of 500
** problems (docs/sim-vs-real.md) instead of testing.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "metrics.h"
#include "policy.h"
#include "sim.h"
#include "skip.h"

#define SEEDS      4   /* the test's seeds (the report's default too) */
#define PROBLEMS   500 /* per seed in the test: the real run's size */
#define MAX_STEPS  30  /* the coordinator's default step limit */
#define MAX_TOKENS 2048
#define SEED_SMALL 1 /* coordinator/steps.c: the weak and strong requests */
#define SEED_LARGE 2
#define ACC_TOL    0.03  /* accuracy, absolute */
#define TOK_TOL    0.25  /* strong tokens per problem, relative */
#define MISS_ACC   0.045 /* what a known miss is still held to */
#define MISS_TOK   0.35

/*
** The real TRIM-POMDP sweep (the reference file's cost_per_token, accuracy,
** avg_target_tokens_per_question; test_reference_is_the_file checks it),
** and whether the point is a known miss (docs/sim-vs-real.md, "Held out"):
** at 0.35 the simulated POMDP is 3 points less accurate than the real one
** (the real sweep drops 8 points from 0.35 to 0.45, the simulated one 4),
** at 0.55 it spends 30% fewer strong tokens at about the right accuracy.  A
*known miss is held to MISS_ACC
** and MISS_TOK instead; every other point to the target.
*/
static const struct {
    double cost, acc, strong;
    int known_miss;
} real_pomdp[] = {
    {0.15, 0.684, 172.358, 0}, {0.25, 0.646, 147.644, 0},
    {0.35, 0.662, 127.046, 1}, {0.45, 0.582, 95.084, 0},
    {0.55, 0.556, 79.672, 1},  {0.65, 0.502, 44.524, 0},
    {0.75, 0.510, 34.218, 0},  {0.85, 0.438, 22.888, 0},
};
#define N_POMDP ((int)(sizeof real_pomdp / sizeof real_pomdp[0]))

/* TRIM-Thr to compare costs with: weak-only, the real sweep's thresholds
** 0.05 to 0.5 (its PGR 50% lies near 0.1; the frontier below a crossing
** does not depend on dearer points) and strong-only last. */
#define N_THR 12

typedef struct {
    double correct, strong, problems;
} tally_t;

static uint64_t
step_seed(uint64_t problem_seed, int n_steps, int which)
{
    return hash_combine(hash_combine(problem_seed, (uint64_t)n_steps),
                        (uint64_t)which);
}

/* Whether the last \boxed{...} of the steps is the answer. */
static int
solved(char **steps, int n, const char *answer)
{
    for (int i = n - 1; i >= 0; i--) {
        const char *b = strstr(steps[i], "\\boxed{"), *last = NULL;
        for (; b; b = strstr(b + 1, "\\boxed{"))
            last = b;
        if (last) {
            const char *s = last + 7, *e = strchr(s, '}');
            size_t len = strlen(answer);
            return e && (size_t)(e - s) == len && memcmp(s, answer, len) == 0;
        }
    }
    return 0;
}

/*
** One problem under policy pol (NULL: strong-only), as the coordinator runs
** it, added to *t.
*/
static void
run_problem(const sim_world_t *w, const policy_t *pol, const sim_problem_t *p,
            uint64_t pseed, tally_t *t)
{
    char *steps[MAX_STEPS + 1], err[256];
    float scores[MAX_STEPS + 1], belief[8];
    size_t n_belief = 0;
    int n = 0, done = 0;

    while (!done) {
        sim_step_t s;
        int strong = pol == NULL;
        assert_int_equal(
            sim_generate(w, strong ? SIM_STRONG : SIM_WEAK, p->text,
                         (const char *const *)steps, (size_t)n, MAX_TOKENS,
                         step_seed(pseed, n, strong ? SEED_LARGE : SEED_SMALL),
                         &s, err, sizeof err),
            0);
        if (pol != NULL && policy_shape(pol) == POLICY_ROUTED) {
            route_features_t f = {0};
            route_result_t r;
            float mn = 1.0f;
            steps[n] = s.text;
            assert_int_equal(sim_score(w, p->text, (const char *const *)steps,
                                       (size_t)n + 1, scores, NULL, NULL, NULL,
                                       err, sizeof err),
                             0);
            for (int k = 0; k < n; k++)
                mn = scores[k] < mn ? scores[k] : mn;
            f.score = scores[n];
            f.min_prev = mn;
            f.draft_tokens = (uint32_t)s.completion_tokens;
            f.step_index = (uint32_t)n;
            f.belief = belief;
            f.n_belief = n_belief;
            assert_int_equal(policy_decide(pol, &f, &r), 0);
            n_belief = r.n_belief < 8 ? r.n_belief : 8;
            memcpy(belief, r.belief, n_belief * sizeof *belief);
            if (r.regenerate) {
                sim_step_clear(&s);
                assert_int_equal(sim_generate(w, SIM_STRONG, p->text,
                                              (const char *const *)steps,
                                              (size_t)n, MAX_TOKENS,
                                              step_seed(pseed, n, SEED_LARGE),
                                              &s, err, sizeof err),
                                 0);
                strong = 1;
            }
        }
        if (strong)
            t->strong += s.completion_tokens;
        steps[n++] = s.text;
        done = strstr(s.text, "\\boxed{") != NULL ||
               s.finish != SIM_FINISH_STEP || n >= MAX_STEPS;
    }
    t->correct += solved(steps, n, p->answer);
    t->problems++;
    for (int i = 0; i < n; i++)
        free(steps[i]);
}

/* One point of a sweep: accuracy and strong tokens per problem. */
typedef struct {
    double acc, strong;
} point_t;

/* Policy spec -> its point on problems [0, n) of seed. */
static point_t
run_policy(const sim_world_t *w, const char *spec, uint64_t seed, long n)
{
    char err[256];
    policy_t *pol = NULL;
    tally_t t = {0};

    if (strcmp(spec, "strong") != 0) {
        pol = policy_new(spec, NULL, err, sizeof err);
        if (pol == NULL)
            fail_msg("%s: %s", spec, err);
    }
    for (long i = 0; i < n; i++) {
        sim_problem_t p;
        assert_int_equal(sim_problem_make(w, seed, (uint64_t)i, &p), 0);
        run_problem(w, pol, &p, sim_problem_seed(seed, (uint64_t)i), &t);
        sim_problem_clear(&p);
    }
    policy_destroy(&pol);
    return (point_t){t.correct / t.problems, t.strong / t.problems};
}

/* Both sweeps on one seed, and the CPT(50%) of each. */
typedef struct {
    point_t pomdp[N_POMDP], thr[N_THR];
    double cpt_pomdp, cpt_thr;
} seed_run_t;

static double
cpt50(const point_t *pts, int n, const point_t *weak, const point_t *strong)
{
    metric_point_t m[N_THR], f[N_THR + 2];
    for (int i = 0; i < n; i++)
        m[i] = (metric_point_t){
            metrics_cost_share(pts[i].strong, strong->strong), pts[i].acc};
    size_t nf = metrics_frontier(m, (size_t)n, weak->acc, strong->acc, f);
    return metrics_cpt(f, nf, weak->acc, strong->acc, 0.5);
}

static void
run_seed(const sim_world_t *w, const char *calibration, uint64_t seed, long n,
         seed_run_t *out)
{
    char spec[4400];
    for (int i = 0; i < N_POMDP; i++) {
        snprintf(spec, sizeof spec, "pomdp:%g:%s", real_pomdp[i].cost / 100,
                 calibration);
        out->pomdp[i] = run_policy(w, spec, seed, n);
    }
    for (int i = 0; i < N_THR; i++) {
        snprintf(spec, sizeof spec, i == 0 ? "weak" : "thr:%g", 0.05 * i);
        out->thr[i] = run_policy(w, i == N_THR - 1 ? "strong" : spec, seed, n);
    }
    out->cpt_pomdp =
        cpt50(out->pomdp, N_POMDP, &out->thr[0], &out->thr[N_THR - 1]);
    out->cpt_thr =
        cpt50(out->thr + 1, N_THR - 2, &out->thr[0], &out->thr[N_THR - 1]);
}

/* Mean and a 95% t interval's half-width of x[0..n). */
static void
mean_ci(const double *x, int n, double *mean, double *half)
{
    /* t quantiles for 1..9 degrees of freedom; 1.96 beyond. */
    static const double t975[10] = {0,     12.71, 4.303, 3.182, 2.776,
                                    2.571, 2.447, 2.365, 2.306, 2.262};
    double m = 0, v = 0;
    for (int i = 0; i < n; i++)
        m += x[i] / n;
    for (int i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m) / (n > 1 ? n - 1 : 1);
    *mean = m;
    *half = (n - 1 < 10 ? t975[n - 1] : 1.96) * sqrt(v / n);
}

/* Means over seeds 1..n_seeds of n problems each. */
typedef struct {
    double acc[N_POMDP], acc_ci[N_POMDP], strong[N_POMDP], strong_ci[N_POMDP];
    double cpt_pomdp, cpt_pomdp_ci, cpt_thr, cpt_thr_ci, cpt_diff, cpt_diff_ci;
} summary_t;

static void
summarise(const sim_params_t *p, int n_seeds, long n, summary_t *s)
{
    char calibration[4096], err[256];
    double x[16], y[16];

    /* The path first: a skip here leaves nothing allocated. */
    test_data_path(calibration, sizeof calibration,
                   "calibration/qwen2.5-math-prm-7b.json");
    sim_world_t *w = sim_world_new(p, NULL, err, sizeof err);
    seed_run_t *runs = calloc((size_t)n_seeds, sizeof *runs);
    assert_non_null(w);
    assert_non_null(runs);
    assert_true(n_seeds <= 16);
    for (int k = 0; k < n_seeds; k++)
        run_seed(w, calibration, (uint64_t)k + 1, n, &runs[k]);
    for (int i = 0; i < N_POMDP; i++) {
        for (int k = 0; k < n_seeds; k++) {
            x[k] = runs[k].pomdp[i].acc;
            y[k] = runs[k].pomdp[i].strong;
        }
        mean_ci(x, n_seeds, &s->acc[i], &s->acc_ci[i]);
        mean_ci(y, n_seeds, &s->strong[i], &s->strong_ci[i]);
    }
    for (int k = 0; k < n_seeds; k++) {
        x[k] = runs[k].cpt_pomdp;
        y[k] = runs[k].cpt_thr;
    }
    mean_ci(x, n_seeds, &s->cpt_pomdp, &s->cpt_pomdp_ci);
    mean_ci(y, n_seeds, &s->cpt_thr, &s->cpt_thr_ci);
    for (int k = 0; k < n_seeds; k++)
        x[k] = runs[k].cpt_thr - runs[k].cpt_pomdp;
    mean_ci(x, n_seeds, &s->cpt_diff, &s->cpt_diff_ci);
    free(runs);
    sim_world_destroy(&w);
}

/* The table of s beside the real sweep; returns the points outside the
** target that are not known misses, and the known misses outside their
** looser bounds. */
static int
print_summary(const summary_t *s, int n_seeds, long n)
{
    int bad = 0;
    printf("TRIM-POMDP, release calibration, %d seeds x %ld problems "
           "(mean +- 95%% interval) against the real sweep:\n"
           "| cost/token | lambda | real acc | sim acc | gap | real str/q | "
           "sim str/q | gap |\n|---|---|---|---|---|---|---|---|\n",
           n_seeds, n);
    for (int i = 0; i < N_POMDP; i++) {
        double da = s->acc[i] - real_pomdp[i].acc;
        double ds = s->strong[i] / real_pomdp[i].strong - 1;
        int ok = fabs(da) <= ACC_TOL && fabs(ds) <= TOK_TOL;
        int near = fabs(da) <= MISS_ACC && fabs(ds) <= MISS_TOK;
        printf("| %.2f | %.4f | %.3f | %.3f +- %.3f | %+.1f | %.1f | "
               "%.1f +- %.1f | %+.0f%% |%s\n",
               real_pomdp[i].cost, real_pomdp[i].cost / 100, real_pomdp[i].acc,
               s->acc[i], s->acc_ci[i], 100 * da, real_pomdp[i].strong,
               s->strong[i], s->strong_ci[i], 100 * ds,
               ok                                 ? ""
               : real_pomdp[i].known_miss && near ? " outside (known miss)"
                                                  : " outside");
        bad += real_pomdp[i].known_miss ? !near : !ok;
    }
    printf("CPT(50%%) as a share of strong-only tokens: POMDP %.1f%% +- %.1f, "
           "Thr %.1f%% +- %.1f; Thr - POMDP %+.1f +- %.1f points (real: "
           "14.3%% against 19.7%%)\n",
           100 * s->cpt_pomdp, 100 * s->cpt_pomdp_ci, 100 * s->cpt_thr,
           100 * s->cpt_thr_ci, 100 * s->cpt_diff, 100 * s->cpt_diff_ci);
    return bad;
}

static void
test_pomdp_heldout(void **state)
{
    (void)state;
    summary_t s;

    summarise(NULL, SEEDS, PROBLEMS, &s);
    assert_int_equal(print_summary(&s, SEEDS, PROBLEMS), 0);
    /* Cheaper than TRIM-Thr at PGR 50%, as in the real data: the interval
    ** of the paired difference (same problems) excludes zero. */
    assert_true(s.cpt_diff - s.cpt_diff_ci > 0);
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
                   "reference-runs/trim-pomdp-math500-qwen1.5b-7b.jsonl");
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        double cost, acc, strong;
        const char *c = strstr(line, "\"cost_per_token\": ");
        const char *a = strstr(line, "\"accuracy\": ");
        const char *t = strstr(line, "\"avg_target_tokens_per_question\": ");
        if (!c || !a || !t)
            continue;
        cost = atof(c + 18);
        acc = atof(a + 12);
        strong = atof(t + 34);
        for (int i = 0; i < N_POMDP; i++)
            if (fabs(cost - real_pomdp[i].cost) < 1e-9) {
                assert_true(fabs(acc - real_pomdp[i].acc) < 1e-9);
                assert_true(fabs(strong - real_pomdp[i].strong) < 1e-6);
                found++;
            }
    }
    fclose(f);
    assert_int_equal(found, N_POMDP);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_is_the_file),
        cmocka_unit_test(test_pomdp_heldout),
    };
    if (argc == 3) { /* the report: seeds, problems per seed */
        summary_t s;
        summarise(NULL, atoi(argv[1]), atol(argv[2]), &s);
        print_summary(&s, atoi(argv[1]), atol(argv[2]));
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
