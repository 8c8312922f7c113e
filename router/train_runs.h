/*
** train_runs.h: training a TRIM-Agg or TRIM-Seq policy from runs.
**
** Reading a run's episodes: each finished, graded problem of an exploring
** run in the audit store is one episode (train.h): its routed drafts in
** step order, each with the features the router saw, the action and the
** probability the policy gave it, and the reward.
**
** The training loop: each iteration solves a fresh set of problems with the
** current policy exploring, reads the episodes back, makes one PPO update
** and evaluates the greedy policy on a fixed validation set drawn from
** another seed.  The best policy by accuracy - lambda * strong tokens per
** problem on that set is kept and written; training stops after
** `iterations`, or when `patience` iterations in a row did not improve it.
** Who solves the problems (an in-process cluster on the simulator, say) is
** the caller's: the loop asks its runner.
*/
#ifndef TRIM_TRAIN_RUNS_H
#define TRIM_TRAIN_RUNS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "train.h"

typedef struct agg_read_info {
    int64_t run_id;
    char policy[256];          /* the run's policy spec */
    int controller;            /* the run held a strong-token share (its
                                  decisions carry a bias the rows do not
                                  record) */
    size_t problems;           /* episodes read */
    size_t skipped;            /* problems left out: unfinished, ungraded, a
                                  decision overridden by a budget cap, or rows
                                  without a probability */
    double accuracy;           /* over the episodes read */
    double strong_per_problem; /* strong tokens per episode */
} agg_read_info_t;

/*
** Append the episodes of run run_id (0: the latest run) of the store at db
** to b, with rewards for lambda.  Fails on a run that did not explore (its
** actions were not sampled, so there is nothing to weigh them by).
** info may be NULL.  Returns 0, or -1 with err.
*/
int agg_episodes_read(const char *db, int64_t run_id, double lambda,
                      agg_batch_t *b, agg_read_info_t *info, char *err,
                      size_t errlen);

/* What a runner reports of one run. */
typedef struct agg_run_stats {
    int64_t run_id;        /* the run's id in the store */
    int64_t problems;      /* problems solved (or failed) */
    int64_t correct;       /* of them, graded correct */
    int64_t strong_tokens; /* strong tokens they spent */
} agg_run_stats_t;

/*
** Runs for the training loop.  run solves `problems` problems of the
** problem set `seed` with the policy spec ("agg:FILE"), its actions sampled
** when explore is set, recording the run in a new store at db.  Returns 0
** with *out, or -1 with err.
*/
typedef struct agg_runner {
    int (*run)(void *ctx, const char *spec, int explore, uint64_t seed,
               int64_t problems, const char *db, agg_run_stats_t *out,
               char *err, size_t errlen);
    void *ctx;
} agg_runner_t;

/*
** What the loop (and `trim train`) needs of a kind of learned model; models
** are the kind's own type behind void pointers.
*/
typedef struct train_kind {
    const char *name;              /* the policy spec's prefix: "agg", "seq" */
    void *(*clone)(const void *m); /* NULL when out of memory */
    void (*destroy)(void *m);      /* NULL-safe */
    double *(*lambda)(void *m);    /* where the model keeps its lambda */
    int (*save)(const void *m, const char *path, char *err, size_t errlen);
    int (*load)(const char *path, void **m, char *err, size_t errlen);
    /* agg_init, seq_init */
    void (*init)(void *m, double threshold, double sharpness, uint64_t seed);
    /* add delta to the actor's logit difference */
    void (*shift_logit)(void *m, double delta);
    /* ppo_update, seq_ppo_update */
    int (*update)(void *m, const agg_batch_t *b, const ppo_opts_t *o,
                  ppo_stats_t *st, char *err, size_t errlen);
} train_kind_t;

extern const train_kind_t train_kind_agg;
extern const train_kind_t train_kind_seq;

/* The validation runs of the start's sweep (o->sweep: threshold rules) and
** of the calibration (o->calibrate: logit offsets), for a progress line. */
#define AGG_SWEEP_RUNS       16
#define AGG_CALIBRATION_RUNS 12

typedef struct agg_loop_opts {
    agg_runner_t runner;
    const train_kind_t *kind; /* the model's kind; NULL: TRIM-Agg */
    double lambda;
    const char *out;   /* where the best policy goes */
    const void *start; /* initial policy of that kind (borrowed) */
    int sweep;         /* start instead from the best threshold rule
                          (agg_init of start's shape, sharpness and
                          init_seed) on the validation set */
    double sharpness;
    uint64_t init_seed;
    int iterations;
    int patience;
    int64_t problems;     /* per exploring run */
    int64_t val_problems; /* validation set */
    uint64_t seed;        /* training sets: seed + 1, + 2, ...; validation:
                             seed + 1000003 */
    const char *work_dir; /* keep runs here; NULL: a temporary folder,
                             removed at the end */
    ppo_opts_t ppo;       /* lr and entropy_coef are the first
                             iteration's; both decay linearly */
    int calibrate;        /* at the end, shift the best policy's decision
                             boundary to the best greedy validation objective */
    FILE *log;            /* one line per iteration; NULL: quiet */
    /* Told as each part of the loop starts: 0 (the first policy), each
    ** iteration 1.. (an exploring run, then a validation run), and
    ** iterations + 1 (the calibration's validation runs).  NULL: not told. */
    void (*on_iteration)(void *ctx, int iteration);
    void *on_iteration_ctx;
} agg_loop_opts_t;

typedef struct agg_point {
    double accuracy, strong_per_problem, objective;
} agg_point_t;

typedef struct agg_loop_result {
    agg_point_t initial, best;
    int best_iteration; /* 0: the initial policy stayed best */
    int iterations;     /* run */
    double offset;      /* logit offset the calibration added (0: none) */
    int saved;          /* o->out holds this loop's best policy so far */
} agg_loop_result_t;

/*
** Train as above and write the best policy to o->out.  Returns 0 with *res
** filled, or -1 with err (*res then says what o->out holds: a failed run,
** an interrupted one say, leaves the best policy so far, never a
** half-written file).  A temporary folder is removed either way.
*/
int agg_train_loop(const agg_loop_opts_t *o, agg_loop_result_t *res, char *err,
                   size_t errlen);

#endif
