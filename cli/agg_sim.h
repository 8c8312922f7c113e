/*
** agg_sim.h: training a TRIM-Agg policy on the simulator, run after run.
**
** Each iteration solves a fresh set of simulated problems with the current
** policy exploring (local_run, a temporary audit database), reads the
** episodes back (agg_episodes.h), makes one PPO update (train.h) and
** evaluates the greedy policy on a fixed validation set drawn from another
** seed.  The best policy by accuracy - lambda * strong tokens per problem
** on that set is kept and written; training stops after `iterations`, or
** when `patience` iterations in a row did not improve it.
*/
#ifndef TRIM_AGG_SIM_H
#define TRIM_AGG_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "sim.h"
#include "train.h"

typedef struct agg_sim_opts {
    double lambda;
    const char *out;          /* where the best policy goes */
    const agg_model_t *start; /* initial policy (borrowed) */
    int sweep;                /* start instead from the best threshold rule
                                 (agg_init of start's shape, sharpness and
                                 init_seed) on the validation set */
    double sharpness;
    uint64_t init_seed;
    int iterations;
    int patience;
    int64_t problems;        /* per exploring run */
    int64_t val_problems;    /* validation set */
    uint64_t seed;           /* training sets: seed + 1, + 2, ...; validation:
                                seed + 1000003 */
    const sim_params_t *sim; /* NULL: the default simulator */
    const char *work_dir;    /* keep runs here; NULL: a temporary folder,
                                removed at the end */
    ppo_opts_t ppo;          /* lr and entropy_coef are the first
                                iteration's; both decay linearly */
    int calibrate;           /* at the end, shift the best policy's decision
                                boundary to the best greedy validation objective */
    FILE *log;               /* one line per iteration; NULL: quiet */
} agg_sim_opts_t;

typedef struct agg_sim_point {
    double accuracy, strong_per_problem, objective;
} agg_sim_point_t;

typedef struct agg_sim_result {
    agg_sim_point_t initial, best;
    int best_iteration; /* 0: the initial policy stayed best */
    int iterations;     /* run */
    double offset;      /* logit offset the calibration added (0: none) */
} agg_sim_result_t;

/*
** Train as above and write the best policy to o->out.  Returns 0 with *res
** filled, or -1 with err.
*/
int agg_train_sim(const agg_sim_opts_t *o, agg_sim_result_t *res, char *err,
                  size_t errlen);

/*
** Evaluate the greedy policy in the file at path on problems simulated
** problems of set seed; the audit goes to db (removed afterwards).
** Returns 0 with *pt filled, or -1 with err.
*/
int agg_sim_evaluate(const char *path, double lambda, uint64_t seed,
                     int64_t problems, const sim_params_t *sim, const char *db,
                     agg_sim_point_t *pt, char *err, size_t errlen);

#endif
