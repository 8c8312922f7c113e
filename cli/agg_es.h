/*
** agg_es.h: evolution strategies for TRIM-Agg on the simulator, the
** alternative to PPO (agg_sim.h chooses).
**
** One step perturbs the actor's parameters along `pairs` seeded Gaussian
** directions, both ways (theta +- sigma * eps), measures the greedy
** objective accuracy - lambda * strong tokens per problem of each on the
** same simulated problems (common random numbers: the two sides of a pair
** differ only by the policy), estimates the gradient from the rank-shaped
** differences and takes an Adam ascent step.  No critic, no action
** probabilities: it optimises exactly what is evaluated.
*/
#ifndef TRIM_AGG_ES_H
#define TRIM_AGG_ES_H

#include <stdint.h>

#include "sim.h"
#include "train.h"

typedef struct agg_es_opts {
    int pairs;        /* antithetic pairs per step (default 8) */
    double sigma;     /* perturbation scale (default 0.05) */
    double lr;        /* Adam step size (default 0.02) */
    int64_t problems; /* problems per evaluation */
} agg_es_opts_t;

/* Fill *o with the defaults above and problems = 500. */
void agg_es_opts_default(agg_es_opts_t *o);

typedef struct agg_es_info {
    double mean_objective; /* over the 2 * pairs perturbed policies */
    double best_objective;
} agg_es_info_t;

/*
** One ES step on m's actor.  Problems come from set problem_seed, the
** directions from noise_seed; adam (over the actor's parameters) persists
** across steps.  Scratch files go in dir (a policy and a database).
** Returns 0, or -1 with err.
*/
int agg_es_step(agg_model_t *m, const agg_es_opts_t *eo, adam_t *adam,
                uint64_t problem_seed, uint64_t noise_seed,
                const sim_params_t *sim, const char *dir, agg_es_info_t *info,
                char *err, size_t errlen);

#endif
