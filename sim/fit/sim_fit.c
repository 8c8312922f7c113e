/*
** sim_fit.c: fit the simulator's physical parameters to a real TRIM-Thr
** sweep, and print simulated sweeps beside it.
**
** It replays, in one process and without the cluster, exactly the control
** loop the coordinator runs (same per-request seeds, same termination, same
** token accounting: see coordinator/steps.c), so its numbers equal those of
** `trim eval sweep` for the same parameters, seed and problems; only much
** faster, and with the parameters settable.
**
** Rerun the fit that gave the defaults in params.c (about 15 minutes on
** two idle cores in a Release build; docs/sim-vs-real.md gives the point
** it started from):
**
**   cmake -S . -B build-fit-rel -DCMAKE_BUILD_TYPE=Release
**   cmake --build build-fit-rel --target sim_fit
**   REF=data/reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl
**   build-fit-rel/sim/sim_fit fit --thin 1 --seeds 101,102 --problems 700 \
**       --reference $REF
**
** (--reference defaults to that path, from the repository root).  It
** starts from the current defaults (--set overrides them), minimises the
** misfit (below) with Nelder-Mead (--iters per run, --restarts runs) over
** the coordinates of fit_coords (18 numbers) and prints the best parameters
** as the C lines of sim_params_default().  params.c says which value was
** then set by hand.  The real TRIM-POMDP sweep is never read here: it is
** the held-out test (tests/test_sim_heldout.c).  Other commands:
**
**   sim_fit sweep [--profile NAME] [--problems N] [--seed S] [--set K=V]...
**       print the simulated sweep 0, 0.05, ..., 1 beside the reference,
**       then regenerations by state and accuracy by problem class;
**   sim_fit check [--seeds A,B,..] [--problems N] [--set K=V]...
**       the same, and the target: exit 1 unless every reference point lies
**       within the simulator's 95% interval for a run of its size (1.96 sd
**       over the seeds, scaled; binomial with fewer than 3 seeds) or 2
**       points, strong tokens within 25%, and the reference's CPT(50/80/95%)
**       inside the simulated intervals;
**   sim_fit measure [--seed S] [--problems N]
**       the next-step accuracies and located-error shares measured the way
**       the TRIM release did, beside the release's;
**   sim_fit params [--profile NAME] [--set K=V]...
**       the parameters, by the names --set takes.
**
** --set takes a parameter name as printed by `sim_fit params` (e.g.
** repair=0.4, class_share.hard=0.35); --fix NAME holds one of the fitted
** coordinates (fit_coords) at its start value; --threads N splits the problems;
** --grid-weight W weighs the prior on the PRM's report transform (1).
**
** The misfit (misfit_of) is in PGR space, each real point weighted by its
** sampling error, with the gap to strong-only at thresholds >= 0.85,
** CPT(50/80/95%) and tokens per problem; the fit adds the release's
** per-step measurements (measured_misfit) and the transform's prior
** (grid_misfit).  --thin 1 keeps 0.05 and every 0.1 of the reference.
*/
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sim.h"

#define MAX_STEPS  30   /* the coordinator's default step limit */
#define MAX_TOKENS 2048 /* the coordinator's per-call completion limit */
#define MAX_POINTS 64
#define SEED_SMALL 1 /* coordinator/steps.c: seeds per request */
#define SEED_LARGE 2
#define MAX_PARAMS 32


/* ------------------------------------------------------------ reference */

typedef struct {
    double thr, acc, strong, draft, discarded;
    double problems; /* num_correct / accuracy (500 on MATH-500) */
} point_t;

typedef struct {
    int n;
    point_t p[MAX_POINTS];
} curve_t;

static int
load_reference(const char *path, curve_t *c)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    c->n = 0;
    if (!f) {
        fprintf(stderr, "sim_fit: cannot open %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof line, f) && c->n < MAX_POINTS) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        point_t *p = &c->p[c->n];
        if (!j)
            continue;
        p->thr = json_number_value(json_object_get(j, "threshold"));
        p->acc = json_number_value(json_object_get(j, "accuracy"));
        p->strong = json_number_value(
            json_object_get(j, "avg_target_tokens_per_question"));
        p->draft = json_number_value(
            json_object_get(j, "avg_draft_tokens_per_question"));
        p->discarded = json_number_value(
            json_object_get(j, "avg_discarded_draft_tokens_per_question"));
        p->problems =
            p->acc > 0
                ? json_number_value(json_object_get(j, "num_correct")) / p->acc
                : 0;
        if (!(p->problems >= 1))
            p->problems = 500;
        c->n++;
        json_decref(j);
    }
    fclose(f);
    return c->n > 0 ? 0 : -1;
}

/* ------------------------------------------------------------ the loop */

typedef struct {
    long correct, problems, strong, weak, discarded, calls;
    long flagged[3]; /* regenerated drafts by their state */
    long by_class[3], correct_by_class[3];
} tally_t;

static uint64_t
step_seed(uint64_t problem_seed, int n_steps, int which)
{
    return hash_combine(hash_combine(problem_seed, (uint64_t)n_steps),
                        (uint64_t)which);
}

/* The last \boxed{...} of the steps equals the answer (sim values need no
** normalisation: integers and up to two decimals, no trailing zeros). */
static int
graded_correct(char **steps, int n, const char *answer)
{
    for (int i = n - 1; i >= 0; i--) {
        const char *b = strstr(steps[i], "\\boxed{"), *last = NULL;
        while (b) {
            last = b;
            b = strstr(b + 1, "\\boxed{");
        }
        if (last) {
            const char *s = last + 7, *e = strchr(s, '}');
            size_t len = strlen(answer);
            return e && (size_t)(e - s) == len && memcmp(s, answer, len) == 0;
        }
    }
    return 0;
}

/*
** One problem under TRIM-Thr with threshold thr (0: weak-only, 1:
** strong-only, as in the sweeps), added to *t.
*/
static void
solve(const sim_world_t *w, const sim_problem_t *p, uint64_t pseed, double thr,
      tally_t *t)
{
    char *steps[MAX_STEPS + 1];
    float scores[MAX_STEPS + 1];
    sim_state_t states[MAX_STEPS + 1];
    char err[256];
    int n = 0, done = 0, cls = sim_problem_class(w, p->text), right;

    while (!done) {
        sim_step_t s;
        int strong_only = thr >= 1, weak_only = thr <= 0;
        sim_generate(w, strong_only ? SIM_STRONG : SIM_WEAK, p->text,
                     (const char *const *)steps, (size_t)n, MAX_TOKENS,
                     step_seed(pseed, n, strong_only ? SEED_LARGE : SEED_SMALL),
                     &s, err, sizeof err);
        if (strong_only) {
            t->strong += s.completion_tokens;
        } else if (weak_only) {
            t->weak += s.completion_tokens;
        } else {
            steps[n] = s.text;
            sim_score(w, p->text, (const char *const *)steps, (size_t)n + 1,
                      scores, states, NULL, NULL, err, sizeof err);
            if ((double)scores[n] < thr) {
                t->discarded += s.completion_tokens;
                t->calls++;
                t->flagged[states[n]]++;
                sim_step_clear(&s);
                sim_generate(w, SIM_STRONG, p->text, (const char *const *)steps,
                             (size_t)n, MAX_TOKENS,
                             step_seed(pseed, n, SEED_LARGE), &s, err,
                             sizeof err);
                t->strong += s.completion_tokens;
            } else {
                t->weak += s.completion_tokens;
            }
        }
        steps[n++] = s.text;
        done = strstr(s.text, "\\boxed{") != NULL ||
               s.finish != SIM_FINISH_STEP || n >= MAX_STEPS;
    }
    right = graded_correct(steps, n, p->answer);
    t->correct += right;
    t->problems++;
    if (cls >= 0 && cls < 3) {
        t->by_class[cls]++;
        t->correct_by_class[cls] += right;
    }
    for (int i = 0; i < n; i++)
        free(steps[i]);
}

typedef struct {
    const sim_world_t *w;
    const double *thr;
    int n_thr;
    uint64_t seed;
    long from, to;
    tally_t *out; /* n_thr */
} job_t;

static void *
run_job(void *arg)
{
    job_t *j = arg;
    for (long i = j->from; i < j->to; i++) {
        sim_problem_t p;
        uint64_t ps = sim_problem_seed(j->seed, (uint64_t)i);
        if (sim_problem_make(j->w, j->seed, (uint64_t)i, &p) < 0)
            continue;
        for (int k = 0; k < j->n_thr; k++)
            solve(j->w, &p, ps, j->thr[k], &j->out[k]);
        sim_problem_clear(&p);
    }
    return NULL;
}

/* Simulate problems [0, n) of seed at every threshold into out[], on
** threads threads. */
static int
sweep(const sim_params_t *prm, const double *thr, int n_thr, uint64_t seed,
      long n, int threads, tally_t *out)
{
    char err[256];
    sim_world_t *w = sim_world_new(prm, NULL, err, sizeof err);
    job_t jobs[16];
    pthread_t th[16];
    int nt = threads < 1 ? 1 : threads > 16 ? 16 : threads;

    if (!w) {
        fprintf(stderr, "sim_fit: %s\n", err);
        return -1;
    }
    for (int i = 0; i < nt; i++) {
        jobs[i] = (job_t){w,
                          thr,
                          n_thr,
                          seed,
                          n * i / nt,
                          n * (i + 1) / nt,
                          calloc((size_t)n_thr, sizeof(tally_t))};
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    }
    memset(out, 0, sizeof(tally_t) * (size_t)n_thr);
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < n_thr; k++) {
            out[k].correct += jobs[i].out[k].correct;
            out[k].problems += jobs[i].out[k].problems;
            out[k].strong += jobs[i].out[k].strong;
            out[k].weak += jobs[i].out[k].weak;
            out[k].discarded += jobs[i].out[k].discarded;
            out[k].calls += jobs[i].out[k].calls;
            for (int c = 0; c < 3; c++) {
                out[k].flagged[c] += jobs[i].out[k].flagged[c];
                out[k].by_class[c] += jobs[i].out[k].by_class[c];
                out[k].correct_by_class[c] +=
                    jobs[i].out[k].correct_by_class[c];
            }
        }
        free(jobs[i].out);
    }
    sim_world_destroy(&w);
    return 0;
}

/* ------------------------------------------------------------ parameters */

typedef struct {
    const char *name;
    size_t offset;
    double lo, hi;
} pdef_t;

#define PF(field) offsetof(sim_params_t, field)
static const pdef_t pdefs[] = {
    {"accuracy.weak", PF(accuracy[0]), 0.3, 0.999},
    {"accuracy.strong", PF(accuracy[1]), 0.5, 0.9999},
    {"tokens_per_step.weak", PF(tokens_per_step[0]), 1, 1e4},
    {"tokens_per_step.strong", PF(tokens_per_step[1]), 1, 1e4},
    {"critical_fraction", PF(critical_fraction), 0.01, 0.99},
    {"critical_factor", PF(critical_factor), 1, 1000},
    {"class_share.easy", PF(class_share[0]), 0, 1},
    {"class_share.medium", PF(class_share[1]), 0, 1},
    {"class_share.hard", PF(class_share[2]), 0, 1},
    {"class_logit.easy", PF(class_logit[0]), -20, 20},
    {"class_logit.medium", PF(class_logit[1]), -20, 20},
    {"class_logit.hard", PF(class_logit[2]), -20, 20},
    {"repair", PF(repair), 0, 1},
    {"prm_blind.easy", PF(prm_blind[0]), 0, 1},
    {"prm_blind.medium", PF(prm_blind[1]), 0, 1},
    {"prm_blind.hard", PF(prm_blind[2]), 0, 1},
    {"prm_noise.easy", PF(prm_noise[0]), 0, 1},
    {"prm_noise.medium", PF(prm_noise[1]), 0, 1},
    {"prm_noise.hard", PF(prm_noise[2]), 0, 1},
    {"prm_sharpness", PF(prm_sharpness), 0.05, 20},
    {"prm_shift.s0", PF(prm_shift[0]), -10, 10},
    {"prm_shift.s1", PF(prm_shift[1]), -10, 10},
    {"prm_shift.s2", PF(prm_shift[2]), -10, 10},
    {"critical_tokens", PF(critical_tokens), 1, 4},
    {"tokens_corr", PF(tokens_corr), 0, 1},
    {"mean_steps", PF(mean_steps), 0, 29},
};
#define N_PDEFS ((int)(sizeof pdefs / sizeof pdefs[0]))

static double *
pfield(sim_params_t *p, int i)
{
    return (void *)((char *)p + pdefs[i].offset);
}

static int
find_param(const char *name)
{
    for (int i = 0; i < N_PDEFS; i++)
        if (strcmp(pdefs[i].name, name) == 0)
            return i;
    return -1;
}

static int
set_param(sim_params_t *p, const char *kv)
{
    char name[64];
    const char *eq = strchr(kv, '=');
    int i;
    if (!eq || (size_t)(eq - kv) >= sizeof name) {
        fprintf(stderr, "sim_fit: --set wants NAME=VALUE, not '%s'\n", kv);
        return -1;
    }
    memcpy(name, kv, (size_t)(eq - kv));
    name[eq - kv] = '\0';
    if ((i = find_param(name)) < 0) {
        fprintf(stderr, "sim_fit: no parameter '%s' (see sim_fit params)\n",
                name);
        return -1;
    }
    *pfield(p, i) = atof(eq + 1);
    return 0;
}

static void
print_params(const sim_params_t *p)
{
    for (int i = 0; i < N_PDEFS; i++)
        printf("  %-24s %.6g\n", pdefs[i].name, *pfield((sim_params_t *)p, i));
}

/* ------------------------------------------------------------ misfit */

/* What a parameter set is simulated on and compared with. */
typedef struct {
    double thr[MAX_POINTS];
    int n;
    const curve_t *ref;
    long problems;
    int n_seeds;
    uint64_t seeds[8];
    int threads;        /* --threads */
    double grid_weight; /* the PRM transform's prior (--grid-weight) */
} target_t;

static const point_t *
ref_at(const curve_t *c, double thr)
{
    for (int i = 0; i < c->n; i++)
        if (fabs(c->p[i].thr - thr) < 1e-6)
            return &c->p[i];
    return NULL;
}

/* Mean of the tallies over seeds: acc, strong/q, draft/q, discarded/q;
** and each seed's accuracy and strong tokens per problem. */
typedef struct {
    double acc, strong, draft, discarded, calls;
    double flagged[3], class_share[3], class_acc[3];
    double seed_acc[8], seed_strong[8];
} sim_point_t;

static int
simulate(const sim_params_t *p, const target_t *t, sim_point_t *out)
{
    tally_t tal[MAX_POINTS];
    memset(out, 0, sizeof(sim_point_t) * (size_t)t->n);
    for (int s = 0; s < t->n_seeds; s++) {
        if (sweep(p, t->thr, t->n, t->seeds[s], t->problems, t->threads, tal) <
            0)
            return -1;
        for (int k = 0; k < t->n; k++) {
            double q = (double)tal[k].problems * t->n_seeds;
            out[k].seed_acc[s] = (double)tal[k].correct / tal[k].problems;
            out[k].seed_strong[s] = (double)tal[k].strong / tal[k].problems;
            out[k].acc += tal[k].correct / q;
            out[k].strong += tal[k].strong / q;
            out[k].draft += tal[k].weak / q;
            out[k].discarded += tal[k].discarded / q;
            out[k].calls += tal[k].calls / q;
            for (int c = 0; c < 3; c++) {
                out[k].flagged[c] += tal[k].flagged[c] / q;
                out[k].class_share[c] += tal[k].by_class[c] / q;
                out[k].class_acc[c] +=
                    tal[k].by_class[c] ? (double)tal[k].correct_by_class[c] /
                                             tal[k].by_class[c] / t->n_seeds
                                       : 0;
            }
        }
    }
    return 0;
}

/* Index of threshold thr in t, or -1. */
static int
thr_index(const target_t *t, double thr)
{
    for (int k = 0; k < t->n; k++)
        if (fabs(t->thr[k] - thr) < 1e-6)
            return k;
    return -1;
}

/*
** CPT: the lowest cost share at which the upper-left Pareto frontier of n
** points (cost[i] a share of strong-only's tokens, acc[i]) and the anchors
** (0, w), (1, s) reaches PGR target, linear between the frontier's vertices
** (eval/metrics.h's definition).  NAN when it never does.
*/
static double
cpt_of(const double *cost, const double *acc, int n, double w, double s,
       double target)
{
    double c[MAX_POINTS + 2], a[MAX_POINTS + 2], level = w + target * (s - w);
    double pc = 0, pa = 0;
    int m = 0, have = 0;

    c[m] = 0, a[m++] = w;
    c[m] = 1, a[m++] = s;
    for (int i = 0; i < n && m < MAX_POINTS + 2; i++)
        c[m] = cost[i], a[m++] = acc[i];
    for (;;) { /* the frontier, cheapest first: each step the cheapest
                  point above the last vertex (the most accurate of equals) */
        int next = -1;
        for (int i = 0; i < m; i++)
            if ((!have || a[i] > pa) && (next < 0 || c[i] < c[next] ||
                                         (c[i] == c[next] && a[i] > a[next])))
                next = i;
        if (next < 0)
            return NAN;
        if (a[next] >= level)
            return have ? pc + (c[next] - pc) * (level - pa) / (a[next] - pa)
                        : c[next];
        pc = c[next], pa = a[next], have = 1;
    }
}

/* CPT(50/80/95%) of the routed points of a curve (acc[k], strong[k] at
** t->thr[k]), with its anchors at thresholds 0 and 1. */
static const double cpt_targets[3] = {0.5, 0.8, 0.95};

static void
cpts(const target_t *t, const double *acc, const double *strong, double out[3])
{
    double c[MAX_POINTS], a[MAX_POINTS];
    int n = 0, iw = thr_index(t, 0), is = thr_index(t, 1);

    for (int k = 0; k < t->n; k++)
        if (k != iw && k != is && strong[is] > 0) {
            c[n] = strong[k] / strong[is];
            a[n++] = acc[k];
        }
    for (int i = 0; i < 3; i++)
        out[i] = iw < 0 || is < 0
                     ? NAN
                     : cpt_of(c, a, n, acc[iw], acc[is], cpt_targets[i]);
}

/* The reference's accuracies and strong tokens at t's thresholds. */
static void
ref_curve(const target_t *t, double *acc, double *strong)
{
    for (int k = 0; k < t->n; k++) {
        const point_t *r = ref_at(t->ref, t->thr[k]);
        acc[k] = r ? r->acc : NAN;
        strong[k] = r ? r->strong : NAN;
    }
}

#define ANCHOR_WEIGHT 2.0   /* the anchors set every point's PGR */
#define GAP_SIGMA     0.012 /* the gap to strong-only: paired, so ~1.2 points */
#define CPT_SIGMA     0.04  /* CPT, a share of strong-only's tokens */
#define TOK_UNIT      0.14  /* log ratio of tokens per problem: ~15% */

/*
** The misfit of a simulated curve, in PGR space: at each routed threshold
** the gap between simulated and real PGR (each on its own anchors) in units
** of the real point's sampling error (binomial over its problems, divided
** by the real weak-to-strong gap); at the anchors the accuracy gap in the
** same units; at thresholds >= 0.85 the gap to strong-only (in GAP_SIGMA);
** CPT(50/80/95%) (in CPT_SIGMA); strong tokens per problem (log ratio in
** TOK_UNIT) and, weighted 0.25, discarded draft tokens.
*/
static double
misfit_of(const target_t *t, const sim_point_t *sp)
{
    const point_t *rw = ref_at(t->ref, 0), *rs = ref_at(t->ref, 1);
    int iw = thr_index(t, 0), is = thr_index(t, 1);
    double f = 0, sa[MAX_POINTS], ss[MAX_POINTS], ra[MAX_POINTS],
           rt[MAX_POINTS], sc[3], rc[3];

    if (!rw || !rs || iw < 0 || is < 0)
        return 1e30; /* the anchors are part of every fit */
    for (int k = 0; k < t->n; k++) {
        const point_t *r = ref_at(t->ref, t->thr[k]);
        double sigma, d, x;
        sa[k] = sp[k].acc;
        ss[k] = sp[k].strong;
        if (!r)
            continue;
        sigma = sqrt(fmax(r->acc * (1 - r->acc), 0.01) / r->problems);
        if (k == iw || k == is) {
            d = ANCHOR_WEIGHT * (sp[k].acc - r->acc) / sigma;
        } else {
            double sg = sp[is].acc - sp[iw].acc, rg = rs->acc - rw->acc;
            d = sg > 0 ? ((sp[k].acc - sp[iw].acc) / sg -
                          (r->acc - rw->acc) / rg) /
                             (sigma / rg)
                       : 1e3;
        }
        f += d * d;
        if (t->thr[k] >= 0.85 && k != is) {
            x = ((sp[is].acc - sp[k].acc) - (rs->acc - r->acc)) / GAP_SIGMA;
            f += x * x;
        }
        if (r->strong > 0 && sp[k].strong > 0) {
            x = log(sp[k].strong / r->strong) / TOK_UNIT;
            f += x * x;
        }
        if (r->discarded > 0 && sp[k].discarded > 0) {
            x = log(sp[k].discarded / r->discarded) / TOK_UNIT;
            f += 0.25 * x * x;
        }
    }
    ref_curve(t, ra, rt);
    cpts(t, sa, ss, sc);
    cpts(t, ra, rt, rc);
    for (int i = 0; i < 3; i++) {
        double x = (sc[i] - rc[i]) / CPT_SIGMA;
        if (isnan(sc[i]) != isnan(rc[i]))
            f += 25; /* one reaches the target, the other not */
        else if (!isnan(x))
            f += x * x;
    }
    return f;
}

/* ------------------------------------------------------------ per step */

#define MEASURE_SEED                                                           \
    201 /* the fit's measurement sample: as many problems                      \
           as the sweeps' seeds hold together */

/*
** The next-step accuracy the way the TRIM release measured it (the
** next_step_accuracy of qwen2.5-math-prm-7b.json): a full solution per
** problem by one model alone; its first error is the first step the PRM
** scores below 0.35; the accuracy is the geometric MLE, steps before a first
** error / (those steps + solutions with one), and flagged the share of
** solutions with a first error.  Also the true accuracy, from the hidden
** states.  Problems [0, n) of seed; -1 when the world cannot be made.
*/
typedef struct {
    double acc[2], flagged[2], hidden[2];
} measured_t;

static int
measure(const sim_params_t *prm, uint64_t seed, long n, measured_t *out)
{
    char err[256];
    sim_world_t *w = sim_world_new(prm, NULL, err, sizeof err);
    if (!w) {
        fprintf(stderr, "sim_fit: %s\n", err);
        return -1;
    }
    for (int m = 0; m < 2; m++) {
        long ok = 0, bad = 0, tok = 0, tbad = 0;
        for (long i = 0; i < n; i++) {
            sim_problem_t p;
            char *steps[MAX_STEPS + 1];
            float scores[MAX_STEPS + 1];
            sim_state_t st[MAX_STEPS + 1];
            int k = 0, done = 0;
            uint64_t ps = sim_problem_seed(seed, (uint64_t)i);
            if (sim_problem_make(w, seed, (uint64_t)i, &p) < 0)
                continue;
            while (!done) {
                sim_step_t s;
                sim_generate(w, (sim_model_t)m, p.text,
                             (const char *const *)steps, (size_t)k, MAX_TOKENS,
                             step_seed(ps, k, m ? SEED_LARGE : SEED_SMALL), &s,
                             err, sizeof err);
                steps[k++] = s.text;
                done = strstr(s.text, "\\boxed{") != NULL ||
                       s.finish != SIM_FINISH_STEP || k >= MAX_STEPS;
            }
            sim_score(w, p.text, (const char *const *)steps, (size_t)k, scores,
                      st, NULL, NULL, err, sizeof err);
            for (int j = 0; j < k; j++) {
                if (scores[j] < 0.35f) {
                    bad++;
                    break;
                }
                ok++;
            }
            for (int j = 0; j < k; j++) {
                if (st[j] != SIM_S0) {
                    tbad++;
                    break;
                }
                tok++;
            }
            for (int j = 0; j < k; j++)
                free(steps[j]);
            sim_problem_clear(&p);
        }
        out->acc[m] = (double)ok / (ok + bad);
        out->flagged[m] = (double)bad / n;
        out->hidden[m] = (double)tok / (tok + tbad);
    }
    sim_world_destroy(&w);
    return 0;
}

/*
** What the release measured (qwen2.5-math-prm-7b.json, next_step_accuracy:
** [accuracy, solutions without a located error, solutions with one] over
** 7500 MATH train problems): Qwen2.5-1.5B-Instruct [0.866, 2819, 4681],
** Qwen2.5-7B-Instruct [0.9704, 5785, 1715].  The fit holds the simulated
** world to both figures of both models (sigmas allow for MATH train not
** being MATH-500).
*/
static const double real_step_acc[2] = {0.866, 0.9704};
static const double real_flagged[2] = {4681.0 / 7500, 1715.0 / 7500};
#define STEP_ACC_SIGMA 0.015
#define FLAGGED_SIGMA  0.04

static double
measured_misfit(const measured_t *m)
{
    double f = 0;
    for (int k = 0; k < 2; k++) {
        double a = (m->acc[k] - real_step_acc[k]) / STEP_ACC_SIGMA;
        double b = (m->flagged[k] - real_flagged[k]) / FLAGGED_SIGMA;
        f += a * a + b * b;
    }
    return f;
}

/*
** The simulated PRM reports sigmoid(sharpness logit(x) + shift[s]) for a
** score x drawn from the measured grids; a world whose PRM agrees with the
** grids has sharpness 1 and no shift.  A prior on how far it may depart.
*/
static double
grid_misfit(const sim_params_t *p)
{
    double a = log(p->prm_sharpness) / 0.25, f = a * a;
    for (int s = 0; s < 3; s++)
        f += (p->prm_shift[s] / 1.5) * (p->prm_shift[s] / 1.5);
    return f;
}

static void
print_measured(const sim_params_t *p, uint64_t seed, long n)
{
    measured_t m;
    if (measure(p, seed, n, &m) < 0)
        return;
    for (int k = 0; k < 2; k++)
        printf("%s: next-step accuracy as the release measured it (first "
               "PRM score < 0.35) %.4f (real %.4f), solutions with a first "
               "error %.3f (real %.3f); from the hidden states %.4f (set "
               "%.4f)\n",
               k ? "strong" : "weak", m.acc[k], real_step_acc[k], m.flagged[k],
               real_flagged[k], m.hidden[k], p->accuracy[k]);
}

/* ------------------------------------------------------------ the search */

/* The fitted coordinates: a transform of some fields to an unbounded x. */
typedef enum { X_LOGIT, X_LOG, X_LIN, X_SHARES } xform_t;

typedef struct {
    const char *name; /* a pdefs name, or "class_share" for the simplex */
    xform_t how;
} coord_t;

static const coord_t fit_coords[] = {
    {"accuracy.weak", X_LOGIT},    {"accuracy.strong", X_LOGIT},
    {"class_share", X_SHARES},     {"class_logit.easy", X_LIN},
    {"class_logit.hard", X_LIN},   {"repair", X_LOGIT},
    {"prm_blind.medium", X_LOGIT}, {"prm_blind.hard", X_LOGIT},
    {"prm_noise.medium", X_LOGIT}, {"prm_noise.hard", X_LOGIT},
    {"prm_sharpness", X_LOG},      {"prm_shift.s0", X_LIN},
    {"prm_shift.s1", X_LIN},       {"prm_shift.s2", X_LIN},
    {"critical_tokens", X_LOG},    {"critical_factor", X_LOG},
};
#define N_COORDS ((int)(sizeof fit_coords / sizeof fit_coords[0]))

static double
clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* The coordinates of p in x but those whose bit is set in fixed (held at
** p's value); returns how many (class_share takes two). */
static int
to_x(const sim_params_t *p, unsigned fixed, double *x)
{
    int d = 0;
    for (int i = 0; i < N_COORDS; i++) {
        const coord_t *c = &fit_coords[i];
        if (fixed & 1u << i)
            continue;
        if (c->how == X_SHARES) {
            double e = clampd(p->class_share[0], 1e-4, 1);
            double m = clampd(p->class_share[1], 1e-4, 1);
            double h = clampd(p->class_share[2], 1e-4, 1);
            x[d++] = log(e / m);
            x[d++] = log(h / m);
            continue;
        }
        double v = *pfield((sim_params_t *)p, find_param(c->name));
        if (c->how == X_LOGIT) {
            v = clampd(v, 1e-4, 1 - 1e-4);
            x[d++] = log(v / (1 - v));
        } else if (c->how == X_LOG) {
            x[d++] = log(v);
        } else {
            x[d++] = v;
        }
    }
    return d;
}

static void
from_x(const double *x, unsigned fixed, sim_params_t *p)
{
    int d = 0;
    for (int i = 0; i < N_COORDS; i++) {
        const coord_t *c = &fit_coords[i];
        if (fixed & 1u << i)
            continue;
        if (c->how == X_SHARES) {
            double e = exp(clampd(x[d], -30, 30)),
                   h = exp(clampd(x[d + 1], -30, 30));
            p->class_share[0] = e / (1 + e + h);
            p->class_share[2] = h / (1 + e + h);
            p->class_share[1] = 1 - p->class_share[0] - p->class_share[2];
            d += 2;
            continue;
        }
        int k = find_param(c->name);
        double v = x[d++];
        if (c->how == X_LOGIT)
            v = 1 / (1 + exp(-clampd(v, -30, 30)));
        else if (c->how == X_LOG)
            v = exp(clampd(v, -30, 30));
        *pfield(p, k) = clampd(v, pdefs[k].lo, pdefs[k].hi);
    }
}

/* One search: the parameters it starts from and varies, what it fits. */
typedef struct {
    const sim_params_t *base;
    const target_t *t;
    unsigned fixed; /* fit_coords held at base's values (--fix) */
    int n_dims;     /* coordinates (to_x) */
    long evals;     /* objective evaluations so far */
} search_t;

static double
objective(const double *x, search_t *se)
{
    sim_params_t p = *se->base;
    sim_point_t sp[MAX_POINTS];
    measured_t m;
    from_x(x, se->fixed, &p);
    se->evals++;
    if (simulate(&p, se->t, sp) < 0 ||
        measure(&p, MEASURE_SEED, se->t->problems * se->t->n_seeds, &m) < 0)
        return 1e30;
    return misfit_of(se->t, sp) + measured_misfit(&m) +
           se->t->grid_weight * grid_misfit(&p);
}

/* A Nelder-Mead simplex: n + 1 vertices and their misfits. */
typedef struct {
    int n;
    double s[MAX_PARAMS + 1][MAX_PARAMS], f[MAX_PARAMS + 1];
} simplex_t;

/* Index of the best vertex (the first of equals). */
static int
best_vertex(const simplex_t *sx)
{
    int lo = 0;
    for (int i = 0; i <= sx->n; i++)
        if (sx->f[i] < sx->f[lo])
            lo = i;
    return lo;
}

/* The worst vertex in *hi and the worst of the others in *nh. */
static void
worst_vertices(const simplex_t *sx, int lo, int *hi, int *nh)
{
    *hi = 0;
    for (int i = 0; i <= sx->n; i++)
        if (sx->f[i] > sx->f[*hi])
            *hi = i;
    *nh = lo;
    for (int i = 0; i <= sx->n; i++)
        if (i != *hi && sx->f[i] > sx->f[*nh])
            *nh = i;
}

/* out = c + k (c - from): reflection (k 1), expansion (2), contraction
** (-0.5) of from through the centroid c. */
static void
through(const double *c, const double *from, double k, int n, double *out)
{
    for (int d = 0; d < n; d++)
        out[d] = c[d] + k * (c[d] - from[d]);
}

static void
replace(simplex_t *sx, int i, const double *x, double f)
{
    memcpy(sx->s[i], x, sizeof(double) * (size_t)sx->n);
    sx->f[i] = f;
}

/* One Nelder-Mead step on the worst vertex hi (lo best, nh second
** worst). */
static void
nm_step(simplex_t *sx, int lo, int hi, int nh, search_t *se)
{
    int n = sx->n;
    double c[MAX_PARAMS], xr[MAX_PARAMS], xe[MAX_PARAMS], fr, fe;

    for (int d = 0; d < n; d++) {
        c[d] = 0;
        for (int i = 0; i <= n; i++)
            if (i != hi)
                c[d] += sx->s[i][d] / n;
    }
    through(c, sx->s[hi], 1, n, xr);
    fr = objective(xr, se);
    if (fr < sx->f[lo]) {
        through(c, sx->s[hi], 2, n, xe);
        fe = objective(xe, se);
        if (fe < fr)
            replace(sx, hi, xe, fe);
        else
            replace(sx, hi, xr, fr);
    } else if (fr < sx->f[nh]) {
        replace(sx, hi, xr, fr);
    } else {
        through(c, sx->s[hi], -0.5, n, xe);
        fe = objective(xe, se);
        if (fe < sx->f[hi]) {
            replace(sx, hi, xe, fe);
            return;
        }
        for (int i = 0; i <= n; i++) { /* shrink towards the best */
            if (i == lo)
                continue;
            for (int d = 0; d < n; d++)
                sx->s[i][d] = sx->s[lo][d] + 0.5 * (sx->s[i][d] - sx->s[lo][d]);
            sx->f[i] = objective(sx->s[i], se);
        }
    }
}

/* Nelder-Mead from x (updated in place), simplex steps of size step. */
static double
nelder_mead(double *x, double step, int iters, search_t *se)
{
    simplex_t sx;
    int lo, hi, nh;

    sx.n = se->n_dims;
    for (int i = 0; i <= sx.n; i++) {
        memcpy(sx.s[i], x, sizeof(double) * (size_t)sx.n);
        if (i > 0)
            sx.s[i][i - 1] += step;
        sx.f[i] = objective(sx.s[i], se);
    }
    for (int it = 0; it < iters; it++) {
        lo = best_vertex(&sx);
        worst_vertices(&sx, lo, &hi, &nh);
        if (it % 10 == 0) {
            printf("  iter %3d  evals %4ld  best misfit %.3f\n", it, se->evals,
                   sx.f[lo]);
            fflush(stdout);
        }
        nm_step(&sx, lo, hi, nh, se);
    }
    lo = best_vertex(&sx);
    memcpy(x, sx.s[lo], sizeof(double) * (size_t)sx.n);
    return sx.f[lo];
}

/* ------------------------------------------------------------ output */

/*
** The half-width of the simulator's 95% interval for a run of the real
** point's size at point k: 1.96 sd over seeds scaled to r's problems (with
** at least 3 seeds), else the binomial sd at the simulated accuracy.
*/
static double
interval(const target_t *t, const sim_point_t *sp, int k, const point_t *r)
{
    double m = sp[k].acc, v = 0;
    if (t->n_seeds < 3)
        return 1.96 * sqrt(m * (1 - m) / r->problems);
    for (int s = 0; s < t->n_seeds; s++)
        v += (sp[k].seed_acc[s] - m) * (sp[k].seed_acc[s] - m);
    return 1.96 * sqrt(v / (t->n_seeds - 1) * t->problems / r->problems);
}

#define ACC_FLOOR 0.02 /* the interval, or 2 points, whichever is larger */
#define TOK_TOL   0.25 /* strong tokens per problem, relative */

/* Whether point k lies within the target (accuracy inside the interval or
** ACC_FLOOR, strong tokens within TOK_TOL). */
static int
point_ok(const target_t *t, const sim_point_t *sp, int k, const point_t *r)
{
    return fabs(sp[k].acc - r->acc) <= fmax(ACC_FLOOR, interval(t, sp, k, r)) &&
           (r->strong <= 0 || fabs(sp[k].strong / r->strong - 1) <= TOK_TOL);
}

static void
print_table(const target_t *t, const sim_point_t *sp)
{
    printf("%-9s %8s %9s %9s %9s %6s | %8s %9s %9s %9s | %7s %7s %7s\n",
           "threshold", "accuracy", "strong/q", "draft/q", "discard/q", "calls",
           "ref acc", "ref str/q", "ref drf/q", "ref dsc/q", "d acc", "+-95%",
           "d str");
    for (int k = 0; k < t->n; k++) {
        const point_t *r = ref_at(t->ref, t->thr[k]);
        printf("%-9g %8.3f %9.1f %9.1f %9.1f %6.2f", t->thr[k], sp[k].acc,
               sp[k].strong, sp[k].draft, sp[k].discarded, sp[k].calls);
        if (r) {
            printf(" | %8.3f %9.1f %9.1f %9.1f | %+6.1f %7.1f", r->acc,
                   r->strong, r->draft, r->discarded,
                   100 * (sp[k].acc - r->acc), 100 * interval(t, sp, k, r));
            if (r->strong > 0)
                printf(" %+6.1f%%", 100 * (sp[k].strong / r->strong - 1));
            else
                printf(" %7s", "-");
            if (!point_ok(t, sp, k, r))
                printf("  <- outside");
        }
        printf("\n");
    }
}

/*
** The target: every reference point within point_ok, and the reference's
** CPT(50/80/95%) inside the simulated 95% interval over seeds (scaled to
** 500 problems; with fewer than 3 seeds, within CPT_SIGMA).  Prints the
** CPTs.  Returns 1 when all hold.
*/
static int
check_target(const target_t *t, const sim_point_t *sp)
{
    double ra[MAX_POINTS], rt[MAX_POINTS], rc[3], sc[8][3];
    double a[MAX_POINTS], st[MAX_POINTS];
    int ok = 1;

    for (int k = 0; k < t->n; k++) {
        const point_t *r = ref_at(t->ref, t->thr[k]);
        if (r && !point_ok(t, sp, k, r))
            ok = 0;
    }
    ref_curve(t, ra, rt);
    cpts(t, ra, rt, rc);
    for (int s = 0; s < t->n_seeds; s++) {
        for (int k = 0; k < t->n; k++) {
            a[k] = sp[k].seed_acc[s];
            st[k] = sp[k].seed_strong[s];
        }
        cpts(t, a, st, sc[s]);
    }
    for (int i = 0; i < 3; i++) {
        double m = 0, v = 0, half;
        int n = 0;
        for (int s = 0; s < t->n_seeds; s++)
            if (!isnan(sc[s][i]))
                m += sc[s][i], n++;
        m = n ? m / n : NAN;
        for (int s = 0; s < t->n_seeds; s++)
            if (!isnan(sc[s][i]))
                v += (sc[s][i] - m) * (sc[s][i] - m);
        half =
            n >= 3 ? 1.96 * sqrt(v / (n - 1) * t->problems / 500.0) : CPT_SIGMA;
        int in = !isnan(rc[i]) && n == t->n_seeds && fabs(m - rc[i]) <= half;
        printf("CPT(%.0f%%): simulated %.1f%% +- %.1f (%d of %d seeds reach "
               "it), real %.1f%%%s\n",
               100 * cpt_targets[i], 100 * m, 100 * half, n, t->n_seeds,
               100 * rc[i], in ? "" : "  <- outside");
        ok &= in || (isnan(rc[i]) && n == 0);
    }
    return ok;
}

static void
print_c(const sim_params_t *p)
{
    static const char *const cls[3] = {"SIM_EASY", "SIM_MEDIUM", "SIM_HARD"};
    printf("    p->accuracy[SIM_WEAK] = %.4f;\n", p->accuracy[0]);
    printf("    p->accuracy[SIM_STRONG] = %.4f;\n", p->accuracy[1]);
    for (int k = 0; k < 3; k++)
        printf("    p->class_share[%s] = %.4f;\n", cls[k], p->class_share[k]);
    for (int k = 0; k < 3; k++)
        printf("    p->class_logit[%s] = %.4f;\n", cls[k], p->class_logit[k]);
    printf("    p->repair = %.4f;\n", p->repair);
    for (int k = 0; k < 3; k++)
        printf("    p->prm_blind[%s] = %.4f;\n", cls[k], p->prm_blind[k]);
    for (int k = 0; k < 3; k++)
        printf("    p->prm_noise[%s] = %.4f;\n", cls[k], p->prm_noise[k]);
    printf("    p->prm_sharpness = %.4f;\n", p->prm_sharpness);
    for (int k = 0; k < 3; k++)
        printf("    p->prm_shift[SIM_S%d] = %.4f;\n", k, p->prm_shift[k]);
    printf("    p->critical_factor = %.4f;\n", p->critical_factor);
    printf("    p->critical_tokens = %.4f;\n", p->critical_tokens);
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
    fprintf(stderr,
            "usage: sim_fit fit|sweep|check|params [--reference FILE] "
            "[--profile NAME]\n"
            "       [--problems N] [--seed S] [--seeds A,B,..] [--iters N]\n"
            "       [--restarts N] [--threads N] [--set NAME=VALUE]...\n"
            "       [--fix NAME]...\n");
}

/* The command line, and what it leaves at the defaults (-1). */
typedef struct {
    const char *cmd, *ref_path, *profile;
    const char *sets[64];
    int n_sets, iters, restarts, thin, n_seeds;
    unsigned fixed; /* --fix: bits of fit_coords */
    long problems;
    uint64_t seeds[8];
} args_t;

/* "A,B,..." into a->seeds (at most 8). */
static void
parse_seeds(const char *v, args_t *a)
{
    char *end;

    a->n_seeds = 0;
    for (const char *s = v; *s && a->n_seeds < 8; s = end) {
        a->seeds[a->n_seeds++] = strtoull(s, &end, 10);
        if (*end == ',')
            end++;
        else if (*end)
            break;
    }
}

/* One flag and its value into a (or t); -1 for an unknown flag. */
static int
parse_flag(const char *f, const char *v, args_t *a, target_t *t)
{
    if (strcmp(f, "--reference") == 0)
        a->ref_path = v;
    else if (strcmp(f, "--profile") == 0)
        a->profile = v;
    else if (strcmp(f, "--problems") == 0)
        a->problems = atol(v);
    else if (strcmp(f, "--seed") == 0) {
        a->seeds[0] = strtoull(v, NULL, 10);
        a->n_seeds = 1;
    } else if (strcmp(f, "--seeds") == 0)
        parse_seeds(v, a);
    else if (strcmp(f, "--grid-weight") == 0)
        t->grid_weight = atof(v);
    else if (strcmp(f, "--thin") == 0)
        a->thin = atoi(v);
    else if (strcmp(f, "--iters") == 0)
        a->iters = atoi(v);
    else if (strcmp(f, "--restarts") == 0)
        a->restarts = atoi(v);
    else if (strcmp(f, "--threads") == 0)
        t->threads = atoi(v);
    else if (strcmp(f, "--fix") == 0) {
        int i = 0;
        while (i < N_COORDS && strcmp(fit_coords[i].name, v) != 0)
            i++;
        if (i == N_COORDS)
            return -1;
        a->fixed |= 1u << i;
    } else if (strcmp(f, "--set") == 0 && a->n_sets < 64)
        a->sets[a->n_sets++] = v;
    else
        return -1;
    return 0;
}

/* The command and its flags (each with a value); -1 when they are not. */
static int
parse_args(int argc, char **argv, args_t *a, target_t *t)
{
    *a = (args_t){.ref_path = "data/reference-runs/"
                              "trim-thr-math500-qwen1.5b-7b.jsonl",
                  .profile = "math500",
                  .iters = 150,
                  .restarts = 3,
                  .problems = -1,
                  .n_seeds = -1,
                  .seeds = {101, 102, 103}};
    t->threads = 2;
    t->grid_weight = 1.0;
    if (argc < 2)
        return -1;
    a->cmd = argv[1];
    for (int i = 2; i < argc; i += 2)
        if (i + 1 >= argc || parse_flag(argv[i], argv[i + 1], a, t) < 0)
            return -1;
    return 0;
}

/* The profile with the --set values; -1 (said) when one is wrong. */
static int
load_params(const args_t *a, sim_params_t *p)
{
    if (sim_params_profile(a->profile, p) < 0) {
        fprintf(stderr, "sim_fit: no profile '%s'\n", a->profile);
        return -1;
    }
    for (int i = 0; i < a->n_sets; i++)
        if (set_param(p, a->sets[i]) < 0)
            return -1;
    return 0;
}

/* The thresholds, problems and seeds cmd simulates, against ref. */
static void
set_target(args_t *a, const curve_t *ref, target_t *t)
{
    int fit = strcmp(a->cmd, "fit") == 0;

    t->ref = ref;
    t->n = 0;
    /* --thin 1: every 0.1 and 0.05 (faster). */
    for (int i = 0; i < ref->n; i++) {
        double x = ref->p[i].thr * 10;
        if (!a->thin || fabs(ref->p[i].thr - 0.05) < 1e-6 ||
            fabs(x - round(x)) < 1e-6)
            t->thr[t->n++] = ref->p[i].thr;
    }
    t->problems = a->problems > 0 ? a->problems : fit ? 1000 : 500;
    t->n_seeds = a->n_seeds > 0 ? a->n_seeds : fit ? 3 : 1;
    if (!fit && a->n_seeds < 0)
        a->seeds[0] = 1;
    memcpy(t->seeds, a->seeds, sizeof a->seeds);
}

/* sim_fit sweep and check: the simulated sweep beside the reference. */
static int
run_sweep(const args_t *a, const sim_params_t *p, const target_t *t)
{
    sim_point_t sp[MAX_POINTS];
    int ok;

    if (simulate(p, t, sp) < 0)
        return 1;
    printf("# %ld problems x %d seed(s), profile %s\n", t->problems, t->n_seeds,
           a->profile);
    print_table(t, sp);
    printf("\n%-9s %22s | %26s\n", "threshold", "regenerated S0 S1 S2",
           "accuracy easy medium hard");
    for (int k = 0; k < t->n; k++)
        printf("%-9g %8.2f %6.2f %6.2f | %8.3f %8.3f %8.3f\n", t->thr[k],
               sp[k].flagged[0], sp[k].flagged[1], sp[k].flagged[2],
               sp[k].class_acc[0], sp[k].class_acc[1], sp[k].class_acc[2]);
    printf("class shares %.3f %.3f %.3f\n", sp[0].class_share[0],
           sp[0].class_share[1], sp[0].class_share[2]);
    ok = check_target(t, sp);
    printf("misfit %.3f; target (every point within its 95%% interval or 2 "
           "points and 25%% of strong tokens, CPTs inside their intervals): "
           "%s\n",
           misfit_of(t, sp), ok ? "pass" : "FAIL");
    return ok || strcmp(a->cmd, "sweep") == 0 ? 0 : 1;
}

/* sim_fit fit: Nelder-Mead restarts from p, then the fit's sweep and its
** C lines. */
static int
run_fit(const args_t *a, sim_params_t *p, const target_t *t)
{
    search_t se = {p, t, a->fixed, 0, 0};
    sim_point_t sp[MAX_POINTS];
    double x[MAX_PARAMS], best;

    se.n_dims = to_x(p, se.fixed, x);
    best = objective(x, &se);
    printf("start misfit %.3f over %ld problems x %d seeds\n", best,
           t->problems, t->n_seeds);
    for (int r = 0; r < a->restarts; r++) {
        best = nelder_mead(x, r == 0 ? 0.5 : 0.25, a->iters, &se);
        printf("restart %d: misfit %.3f after %ld evaluations\n", r, best,
               se.evals);
        from_x(x, se.fixed, p);
        print_params(p);
        fflush(stdout);
    }
    from_x(x, se.fixed, p);
    simulate(p, t, sp);
    print_table(t, sp);
    printf("misfit %.3f; target on the fit's own sample: %s\n",
           misfit_of(t, sp), check_target(t, sp) ? "pass" : "FAIL");
    print_measured(p, MEASURE_SEED, 7500);
    printf("\nC (sim_params_default):\n");
    print_c(p);
    return 0;
}

int
main(int argc, char **argv)
{
    args_t a;
    target_t t = {0};
    curve_t ref;
    sim_params_t p;

    if (parse_args(argc, argv, &a, &t) < 0) {
        usage();
        return 2;
    }
    if (load_params(&a, &p) < 0)
        return 2;
    if (strcmp(a.cmd, "params") == 0) {
        print_params(&p);
        return 0;
    }
    if (strcmp(a.cmd, "measure") == 0) {
        print_measured(&p, a.n_seeds > 0 ? a.seeds[0] : 1,
                       a.problems > 0 ? a.problems : 7500);
        return 0;
    }
    if (strcmp(a.cmd, "fit") != 0 && strcmp(a.cmd, "sweep") != 0 &&
        strcmp(a.cmd, "check") != 0) {
        usage();
        return 2;
    }
    if (load_reference(a.ref_path, &ref) < 0) {
        fprintf(stderr, "sim_fit: no reference sweep in %s\n", a.ref_path);
        return 1;
    }
    set_target(&a, &ref, &t);
    if (strcmp(a.cmd, "fit") == 0)
        return run_fit(&a, &p, &t);
    return run_sweep(&a, &p, &t);
}
