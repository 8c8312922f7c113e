/*
** agg_es.c: evolution strategies for TRIM-Agg (see agg_es.h).
*/
#include "agg_es.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_sim.h"
#include "hash.h"


void
agg_es_opts_default(agg_es_opts_t *o)
{
    o->pairs = 8;
    o->sigma = 0.05;
    o->lr = 0.02;
    o->problems = 500;
}


/* Direction k of a step: n standard normal draws, seeded. */
static void
direction(float *eps, size_t n, uint64_t seed, int k)
{
    rng_t r = rng_seeded(hash_combine(seed, (uint64_t)k));

    for (size_t i = 0; i < n; i += 2) {
        double u = rng_uniform(&r), v = rng_uniform(&r);
        double rad = sqrt(-2.0 * log(1.0 - u));
        eps[i] = (float)(rad * cos(2.0 * M_PI * v));
        if (i + 1 < n)
            eps[i + 1] = (float)(rad * sin(2.0 * M_PI * v));
    }
}


/* Centred ranks in [-0.5, 0.5] of v[0..n) (ties by index). */
static void
centred_ranks(const double *v, double *rank, int n)
{
    for (int i = 0; i < n; i++) {
        int below = 0;
        for (int j = 0; j < n; j++)
            below += v[j] < v[i] || (v[j] == v[i] && j < i);
        rank[i] = n > 1 ? (double)below / (double)(n - 1) - 0.5 : 0;
    }
}


int
agg_es_step(agg_model_t *m, const agg_es_opts_t *eo, adam_t *adam,
            uint64_t problem_seed, uint64_t noise_seed, const sim_params_t *sim,
            const char *dir, agg_es_info_t *info, char *err, size_t errlen)
{
    mlp_t *a = m->actor;
    size_t n = a->n_params;
    int np = eo->pairs, rc = -1;
    float *theta = malloc(n * sizeof *theta), *eps = malloc(n * sizeof *eps);
    double *f = calloc((size_t)(2 * np), sizeof *f);
    double *rank = calloc((size_t)(2 * np), sizeof *rank);
    double *grad = calloc(n, sizeof *grad);
    char path[320], db[320];
    agg_sim_point_t pt;

    if (!theta || !eps || !f || !rank || !grad) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "%s/es.agg", dir);
    snprintf(db, sizeof db, "%s/es.db", dir);
    memcpy(theta, a->params, n * sizeof *theta);
    for (int k = 0; k < np; k++) {
        direction(eps, n, noise_seed, k);
        for (int side = 0; side < 2; side++) {
            double s = side ? -eo->sigma : eo->sigma;
            for (size_t i = 0; i < n; i++)
                a->params[i] = theta[i] + (float)(s * (double)eps[i]);
            if (agg_model_save(m, path, err, errlen) < 0 ||
                agg_sim_evaluate(path, m->lambda, problem_seed, eo->problems,
                                 sim, db, &pt, err, errlen) < 0)
                goto done;
            f[2 * k + side] = pt.objective;
        }
    }
    centred_ranks(f, rank, 2 * np);
    info->mean_objective = info->best_objective = f[0];
    for (int k = 0; k < 2 * np; k++) {
        info->best_objective = fmax(info->best_objective, f[k]);
        info->mean_objective += k ? f[k] : 0;
    }
    info->mean_objective /= 2 * np;
    for (int k = 0; k < np; k++) {
        double w = rank[2 * k] - rank[2 * k + 1];
        direction(eps, n, noise_seed, k);
        /* Adam minimises: hand it the negated ascent direction */
        for (size_t i = 0; i < n; i++)
            grad[i] -= w * (double)eps[i] / (2.0 * np * eo->sigma);
    }
    memcpy(a->params, theta, n * sizeof *theta);
    adam_step(adam, a->params, grad, eo->lr);
    rc = 0;
done:
    if (rc < 0 && theta != NULL)
        memcpy(a->params, theta, n * sizeof *theta);
    remove(path);
    free(theta);
    free(eps);
    free(f);
    free(rank);
    free(grad);
    return rc;
}
