/*
** profile_mix.c: the difficulty mix behind a benchmark profile.
**
** Working alone, a model solves a problem when the value after its last step
** is right.  In this world that is a two-state chain per step: from a right
** value a step errs with the class's mean step error e (routine and critical
** steps mixed), and a wrong value stays wrong, except that a strong step
** goes back to the problem with probability `repair` and is then right with
** probability 1 - e.  Averaged over the solution-length distribution this
** gives each class's weak-only and strong-only accuracy: three points in
** the (weak, strong) plane whose mixes are every pair of accuracies the
** world can have.  A benchmark's pair is the mix of the three classes that
** hits it; a pair below what the hard class allows (the strong model
** solving less than the hard class's 43%) makes the hard class harder until
** the pair lies on the edge between it and the easy class.
*/
#include <math.h>

#include "profile_mix.h"
#include "sim_internal.h"

#define DELTA_MAX 12.0 /* most the hard class's log-odds may move */
#define EPS       1e-12

typedef struct {
    double x[2][SIM_CLASSES];  /* routine-step error log-odds */
    double lc, f, repair;      /* critical log-odds shift, share; repair */
    double len[SIM_N_LENGTHS]; /* P(solution has k + SIM_MIN_STEPS steps) */
} mix_t;

static double
sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* The per-class error rates and length distribution of the world p. */
static int
mix_load(mix_t *m, const sim_params_t *p)
{
    char err[256];
    sim_world_t *w = sim_world_new(p, NULL, err, sizeof err);
    double prev = 0;

    if (!w)
        return -1;
    for (int model = 0; model < 2; model++)
        for (int k = 0; k < SIM_CLASSES; k++) {
            double e = w->err_rate[model][k][0];
            m->x[model][k] = log(e) - log1p(-e);
        }
    m->lc = log(p->critical_factor);
    m->f = p->critical_fraction;
    m->repair = p->repair;
    for (int k = 0; k < SIM_N_LENGTHS; k++) {
        m->len[k] = w->length_cdf[k] - prev;
        prev = w->length_cdf[k];
    }
    sim_world_destroy(&w);
    return 0;
}

/* P(the model alone ends right) when its routine steps err at log-odds x. */
static double
solve_rate(const mix_t *m, int model, double x)
{
    double e = (1 - m->f) * sigmoid(x) + m->f * sigmoid(x + m->lc);
    double fix = model == SIM_STRONG ? m->repair * (1 - e) : 0;
    double right = 1, total = 0;

    for (int n = 1; n <= SIM_MAX_STEPS; n++) {
        right = right * (1 - e) + (1 - right) * fix;
        if (n >= SIM_MIN_STEPS)
            total += m->len[n - SIM_MIN_STEPS] * right;
    }
    return total;
}

/* The classes' (weak, strong) accuracies, the hard class delta harder. */
static void
vertices(const mix_t *m, double delta, double v[SIM_CLASSES][2])
{
    for (int k = 0; k < SIM_CLASSES; k++)
        for (int model = 0; model < 2; model++)
            v[k][model] =
                solve_rate(m, model, m->x[model][k] + (k == SIM_HARD) * delta);
}

/* The shares s that mix the vertices v into t; -1 when v is degenerate. */
static int
barycentric(double v[SIM_CLASSES][2], const double t[2], double s[SIM_CLASSES])
{
    const double *h = v[SIM_HARD];
    double ax = v[SIM_EASY][0] - h[0], ay = v[SIM_EASY][1] - h[1];
    double bx = v[SIM_MEDIUM][0] - h[0], by = v[SIM_MEDIUM][1] - h[1];
    double tx = t[0] - h[0], ty = t[1] - h[1], det = ax * by - ay * bx;

    if (fabs(det) < EPS)
        return -1;
    s[SIM_EASY] = (tx * by - ty * bx) / det;
    s[SIM_MEDIUM] = (ax * ty - ay * tx) / det;
    s[SIM_HARD] = 1 - s[SIM_EASY] - s[SIM_MEDIUM];
    return 0;
}

static int
feasible(const double s[SIM_CLASSES])
{
    return s[0] >= -EPS && s[1] >= -EPS && s[2] >= -EPS;
}

/* Shares clipped to [0,1] and summing to 1. */
static void
clip(double s[SIM_CLASSES])
{
    double total = 0;
    for (int k = 0; k < SIM_CLASSES; k++) {
        s[k] = s[k] < 0 ? 0 : s[k];
        total += s[k];
    }
    for (int k = 0; k < SIM_CLASSES; k++)
        s[k] = total > 0 ? s[k] / total : (k == SIM_MEDIUM);
}

/* Set p's mix for the target accuracies; see profile_mix.h. */
int
sim_mix_solve(sim_params_t *p, const double target[2])
{
    sim_params_t before = *p;
    double v[SIM_CLASSES][2], s[SIM_CLASSES], delta = 0;
    mix_t m;

    if (mix_load(&m, p) < 0)
        return -1;
    vertices(&m, 0, v);
    if (barycentric(v, target, s) < 0)
        return -1;
    if (s[SIM_HARD] < 0) {
        /* Above the easy-medium edge: the weak accuracy on that edge. */
        double wE = v[SIM_EASY][0], wM = v[SIM_MEDIUM][0];
        s[SIM_EASY] = wE > wM ? (target[0] - wM) / (wE - wM) : 1;
        s[SIM_MEDIUM] = 1 - s[SIM_EASY];
        s[SIM_HARD] = 0;
    } else if (!feasible(s)) {
        /* Below what the hard class allows: the least harder hard class
        ** that reaches the target (the region grows with delta). */
        double lo = 0, hi = DELTA_MAX;
        vertices(&m, hi, v);
        if (barycentric(v, target, s) == 0 && feasible(s)) {
            for (int i = 0; i < 60; i++) {
                double mid = 0.5 * (lo + hi);
                vertices(&m, mid, v);
                if (barycentric(v, target, s) == 0 && feasible(s))
                    hi = mid;
                else
                    lo = mid;
            }
            vertices(&m, hi, v);
            barycentric(v, target, s);
        }
        delta = hi;
    }
    clip(s);
    for (int k = 0; k < SIM_CLASSES; k++)
        p->class_share[k] = s[k];
    p->class_logit[SIM_HARD] += delta;
    sim_params_rebase(p, &before);
    return 0;
}
