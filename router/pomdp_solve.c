/*
** pomdp_solve.c: the finite-horizon dynamic program and the belief filter
** of TRIM-POMDP (see pomdp.h).
**
** W_t(c), the value after acting at step t when the accepted prefix is
** correct with probability c, is kept on a grid of GRID + 1 points over
** [0,1] and read by linear interpolation.  Each backward step computes, for
** every grid point, the exact expectation over the next draft's score bin
** of the better action's value.  GRID = 4096 keeps interpolation error far
** below the differences between actions; a solve is 30 steps x 4097 points
** x 20 bins, a few milliseconds.
*/
#include "pomdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

#define GRID 4096

struct pomdp {
    pomdp_model_t model;
    double lambda;
    double cost;                         /* lambda x strong tokens per step */
    double w[POMDP_MAX_STEPS][GRID + 1]; /* W_t on the grid */
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
    return m->p_strong * (b[POMDP_S0] + b[POMDP_S2]) +
           m->repair * m->p_strong * b[POMDP_S1];
}


/* W_t(c) by linear interpolation on the grid. */
static double
w_at(const struct pomdp *p, int t, double c)
{
    double x = c * GRID;
    int k = (int)x;
    if (k >= GRID)
        return p->w[t][GRID];
    if (k < 0)
        return p->w[t][0];
    double f = x - k;
    return p->w[t][k] * (1 - f) + p->w[t][k + 1] * f;
}


/* The better action's value at step t for posterior b. */
static double
v_at(const struct pomdp *p, int t, const double b[3])
{
    double keep = w_at(p, t, pomdp_after(&p->model, b, 0));
    double regen = -p->cost + w_at(p, t, pomdp_after(&p->model, b, 1));
    return keep > regen ? keep : regen;
}


pomdp_t *
pomdp_solve(const pomdp_model_t *m, double lambda, char *err, size_t errlen)
{
    struct pomdp *p;

    if (!(lambda >= 0)) {
        errf(err, errlen, "lambda must be >= 0");
        return NULL;
    }
    if (pomdp_model_check(m, err, errlen) < 0)
        return NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    p->model = *m;
    p->lambda = lambda;
    p->cost = lambda * m->strong_tokens;
    int last = m->max_steps - 1;
    /* At the step limit the solution ends: the value is c itself. */
    for (int k = 0; k <= GRID; k++)
        p->w[last][k] = (double)k / GRID;
    for (int t = last - 1; t >= 0; t--) {
        double h = m->hazard[t];
        for (int k = 0; k <= GRID; k++) {
            double c = (double)k / GRID, prior[3], future = 0;
            pomdp_prior(m, c, prior);
            for (int j = 0; j < POMDP_BINS; j++) {
                double l[3] = {m->marg[0][j], m->marg[1][j], m->marg[2][j]};
                double po = prior[0] * l[0] + prior[1] * l[1] + prior[2] * l[2];
                if (po <= 0)
                    continue;
                double post[3];
                bayes(prior, l, post);
                future += po * v_at(p, t + 1, post);
            }
            p->w[t][k] = h * c + (1 - h) * future;
        }
    }
    return p;
}


void
pomdp_destroy(pomdp_t **p)
{
    if (p && *p) {
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
pomdp_values(const pomdp_t *p, int step_index, const double b[3], double *keep,
             double *regenerate)
{
    int t = step_index < 0                     ? 0
            : step_index >= p->model.max_steps ? p->model.max_steps - 1
                                               : step_index;
    *keep = w_at(p, t, pomdp_after(&p->model, b, 0));
    *regenerate = -p->cost + w_at(p, t, pomdp_after(&p->model, b, 1));
}
