/*
** pomdp_solve.c: the finite-horizon dynamic program and the belief filter
** of TRIM-POMDP (see pomdp.h).
**
** Planning sees what acting sees.  The filter reads each draft's score
** through its likelihood given the minimum score of the accepted steps
** before it, so the planner's state is (c, i): the probability c that the
** accepted prefix is correct, and the bin i of that minimum, which the next
** draft is scored against.  Keeping a draft with score bin j moves i to
** min(i, j); a strong step's own score (the PRM scores it in the next
** draft's history) moves i to min(i, j') with j' drawn from the strong
** step's state given i.  Acting does not update c on the strong step's
** score, and neither does planning: both carry c = pomdp_after.
**
** W_t(c, i), the value after acting at step t, is kept on a grid of GRID + 1
** points of c for each i and read by linear interpolation.  Each backward
** step computes, for every grid point and i, the exact expectation over the
** next draft's score bin of the better action's value.  GRID = 256 keeps
** interpolation error far below the differences between actions; a solve
** is 30 steps x 20 i x 257 points x 20 bins.
*/
#include "pomdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

#define GRID 256

/* W_t(c, i) on the grid, for one step t. */
typedef double wgrid_t[POMDP_BINS][GRID + 1];

struct pomdp {
    pomdp_model_t model;
    double lambda;
    double cost; /* lambda x strong tokens per step */
    wgrid_t *w;  /* max_steps of them */
};

void
pomdp_prior(const pomdp_model_t *m, double c, double out[3])
{
    out[POMDP_S0] = c * m->p_weak;
    out[POMDP_S1] = 1.0 - c;
    out[POMDP_S2] = c * (1.0 - m->p_weak);
}


/* Normalise b times likelihood l into out; keep b when all mass vanishes. */
static void
bayes(const double b[3], const double l[3], double out[3])
{
    double z = b[0] * l[0] + b[1] * l[1] + b[2] * l[2];
    for (int s = 0; s < 3; s++)
        out[s] = z > 0 ? b[s] * l[s] / z : b[s];
}


void
pomdp_update(const pomdp_model_t *m, const double prior[3], double score,
             double min_prev, double out[3])
{
    int i = pomdp_bin(min_prev), j = pomdp_bin(score);
    double l[3] = {m->cond[0][i][j], m->cond[1][i][j], m->cond[2][i][j]};
    bayes(prior, l, out);
}


double
pomdp_after(const pomdp_model_t *m, const double b[3], int regenerate)
{
    if (!regenerate)
        return b[POMDP_S0];
    /* The strong step is right with p_strong where the prefix was right,
    ** and repairs a derailed prefix with probability repair. */
    return m->p_strong * (b[POMDP_S0] + b[POMDP_S2]) + m->repair * b[POMDP_S1];
}


/* Linear interpolation of g at c in [0,1]. */
static double
interp(const double g[GRID + 1], double c)
{
    double x = c * GRID;
    int k = (int)x;
    if (k >= GRID)
        return g[GRID];
    if (k < 0)
        return g[0];
    double f = x - k;
    return g[k] * (1 - f) + g[k + 1] * f;
}


/*
** The strong step's state distribution after regenerating on belief b: S0
** when it is right on a right prefix or repairs a derailed one, S2 when it
** is the first error, S1 when the prefix stays derailed.
*/
static void
strong_states(const pomdp_model_t *m, const double b[3], double q[3])
{
    double right = b[POMDP_S0] + b[POMDP_S2];
    q[POMDP_S0] = m->p_strong * right + m->repair * b[POMDP_S1];
    q[POMDP_S2] = (1 - m->p_strong) * right;
    q[POMDP_S1] = (1 - m->repair) * b[POMDP_S1];
}


/*
** E[W(c, min(i, j'))] over the strong step's score bin j' given its state
** s and min-previous bin i, on the grid (u) or at one c (u_at).
*/
static void
strong_grid(const pomdp_model_t *m, const wgrid_t w, int s, int i,
            double u[GRID + 1])
{
    memset(u, 0, (GRID + 1) * sizeof *u);
    for (int j = 0; j < POMDP_BINS; j++) {
        double pj = m->cond[s][i][j];
        const double *g = w[j < i ? j : i];
        if (pj > 0)
            for (int k = 0; k <= GRID; k++)
                u[k] += pj * g[k];
    }
}


static double
u_at(const pomdp_model_t *m, const wgrid_t w, int s, int i, double c)
{
    double v = 0;
    for (int j = 0; j < POMDP_BINS; j++)
        if (m->cond[s][i][j] > 0)
            v += m->cond[s][i][j] * interp(w[j < i ? j : i], c);
    return v;
}


/*
** The values of keeping and regenerating with posterior b at a step whose
** draft scored in bin j against min-previous bin i, W being that step's
** values after acting and cost the price of this regeneration; u, when
** given, holds strong_grid for every state and i (the solver's cache),
** else it is computed here.
*/
static void
act_values(const struct pomdp *p, const wgrid_t w,
           double (*u)[POMDP_BINS][GRID + 1], const double b[3], int i, int j,
           double cost, double *keep, double *regen)
{
    const pomdp_model_t *m = &p->model;
    double q[3], c = pomdp_after(m, b, 1), v = 0;

    *keep = interp(w[j < i ? j : i], pomdp_after(m, b, 0));
    strong_states(m, b, q);
    for (int s = 0; s < 3; s++)
        if (q[s] > 0)
            v += q[s] * (u ? interp(u[s][i], c) : u_at(m, w, s, i, c));
    *regen = -cost + v;
}


/* W_t from W_{t+1} (next) and its strong-step cache u. */
static void
backward(const struct pomdp *p, int t, const wgrid_t next,
         double (*u)[POMDP_BINS][GRID + 1], wgrid_t out)
{
    const pomdp_model_t *m = &p->model;
    double h = m->hazard[t];

    for (int i = 0; i < POMDP_BINS; i++)
        for (int k = 0; k <= GRID; k++) {
            double c = (double)k / GRID, prior[3], future = 0;
            pomdp_prior(m, c, prior);
            for (int j = 0; j < POMDP_BINS; j++) {
                double l[3] = {m->cond[0][i][j], m->cond[1][i][j],
                               m->cond[2][i][j]};
                double po = prior[0] * l[0] + prior[1] * l[1] + prior[2] * l[2];
                if (po <= 0)
                    continue;
                double post[3], keep, regen;
                bayes(prior, l, post);
                act_values(p, next, u, post, i, j, p->cost, &keep, &regen);
                future += po * (keep > regen ? keep : regen);
            }
            out[i][k] = h * c + (1 - h) * future;
        }
}


pomdp_t *
pomdp_solve(const pomdp_model_t *m, double lambda, char *err, size_t errlen)
{
    struct pomdp *p = NULL;
    double(*u)[POMDP_BINS][GRID + 1] = NULL;

    if (!(lambda >= 0)) {
        errf(err, errlen, "lambda must be >= 0");
        return NULL;
    }
    if (pomdp_model_check(m, err, errlen) < 0)
        return NULL;
    p = calloc(1, sizeof *p);
    u = p ? malloc(3 * sizeof *u) : NULL;
    if (u == NULL || (p->w = malloc(m->max_steps * sizeof *p->w)) == NULL) {
        errf(err, errlen, "out of memory");
        free(u);
        pomdp_destroy(&p);
        return NULL;
    }
    p->model = *m;
    p->lambda = lambda;
    p->cost = lambda * m->strong_tokens;
    int last = m->max_steps - 1;
    /* At the step limit the solution ends: the value is c itself. */
    for (int i = 0; i < POMDP_BINS; i++)
        for (int k = 0; k <= GRID; k++)
            p->w[last][i][k] = (double)k / GRID;
    for (int t = last - 1; t >= 0; t--) {
        for (int s = 0; s < 3; s++)
            for (int i = 0; i < POMDP_BINS; i++)
                strong_grid(m, p->w[t + 1], s, i, u[s][i]);
        backward(p, t, p->w[t + 1], u, p->w[t]);
    }
    free(u);
    return p;
}


void
pomdp_destroy(pomdp_t **p)
{
    if (p && *p) {
        free((*p)->w);
        free(*p);
        *p = NULL;
    }
}


const pomdp_model_t *
pomdp_model(const pomdp_t *p)
{
    return &p->model;
}


void
pomdp_values(const pomdp_t *p, int step_index, const double b[3], double score,
             double min_prev, double draft_tokens, double *keep,
             double *regenerate)
{
    const pomdp_model_t *m = &p->model;
    int t = step_index < 0               ? 0
            : step_index >= m->max_steps ? m->max_steps - 1
                                         : step_index;
    double cost =
        draft_tokens > 0
            ? p->lambda * (m->strong_tokens +
                           m->draft_weight * (draft_tokens - m->strong_tokens))
            : p->cost;
    act_values(p, p->w[t], NULL, b, pomdp_bin(min_prev), pomdp_bin(score), cost,
               keep, regenerate);
}
