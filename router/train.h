/*
** train.h: training TRIM-Agg (agg.h) and TRIM-Seq (seq.h) policies from
** logged episodes.
**
** An episode is one problem of an exploring run: per routed draft, its
** features, the action taken, the probability the behaviour policy gave
** that action, and the reward: -lambda * (the strong step's completion
** tokens) when it regenerated, plus 1 on the problem's last step when its
** final answer is correct.  The objective is J = E[R - lambda * strong
** tokens] (trim-method.md 2.2).  ppo_update improves a model from a batch
** of episodes with PPO (clipped surrogate, GAE, normalised advantages,
** clipped value loss, entropy bonus, Adam, gradient-norm clipping).
**
** Everything is deterministic in its inputs and seeds.
*/
#ifndef TRIM_TRAIN_H
#define TRIM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "seq.h"

typedef struct agg_step {
    float x[AGG_FEATURES]; /* features (agg_features_of) */
    int action;            /* 1 regenerate, 0 keep */
    float prob;            /* behaviour probability of action, in (0,1] */
    double reward;         /* -lambda * strong tokens if regenerated, plus
                              the terminal reward on the last step */
    int last;              /* 1 on an episode's last step */
} agg_step_t;

/* Episodes back to back, each ending with a step whose last is 1. */
typedef struct agg_batch {
    agg_step_t *steps;
    size_t n, cap;
    size_t episodes;
    size_t correct; /* episodes with the terminal reward */
} agg_batch_t;

/* Append a step (episodes counts steps with last set).  0 or -1 (memory). */
int agg_batch_add(agg_batch_t *b, const agg_step_t *s);

/* Free the steps and zero the batch; idempotent. */
void agg_batch_clear(agg_batch_t *b);

typedef struct ppo_opts {
    int epochs;           /* passes over the batch (default 4) */
    int minibatch;        /* steps per gradient step (default 64) */
    double lr;            /* Adam step size (default 3e-4) */
    double adam_eps;      /* default 1e-5 */
    double clip;          /* ratio clip epsilon (default 0.2) */
    double value_clip;    /* value clip around the old value; 0 off
                             (default 0.2) */
    double gamma;         /* discount (default 1) */
    double gae_lambda;    /* GAE lambda (default 0.95) */
    double value_coef;    /* default 0.5 */
    double entropy_coef;  /* default 0.01 */
    double max_grad_norm; /* default 0.5 */
    uint64_t seed;        /* minibatch shuffling */
} ppo_opts_t;

/* Fill *o with the defaults above (the paper's code where it says). */
void ppo_opts_default(ppo_opts_t *o);

typedef struct ppo_stats {
    size_t steps, episodes;
    double mean_return;     /* undiscounted episode return, per episode */
    double start_log_ratio; /* mean |log pi(a|s) - log behaviour prob| before
                               the update: ~0 when the batch was made by
                               this same model */
    double policy_loss;     /* clipped surrogate, last epoch */
    double value_loss;      /* last epoch */
    double entropy;         /* mean policy entropy, last epoch (nats) */
    double approx_kl;       /* mean KL estimate, behaviour to new, at the end */
    double clip_fraction;   /* share of steps whose ratio was clipped, last
                               epoch */
} ppo_stats_t;

/*
** One PPO update of m (actor and critic) from batch b.  st may be NULL.
** Returns 0, or -1 with err (an empty batch, a bad probability, memory).
*/
int ppo_update(agg_model_t *m, const agg_batch_t *b, const ppo_opts_t *o,
               ppo_stats_t *st, char *err, size_t errlen);

/*
** The same for a TRIM-Seq model (seq_ppo.c): the batch's episodes are the
** sequences its GRU reads; minibatches are whole episodes of at least
** o->minibatch steps together, the gradient taken through time.
*/
int seq_ppo_update(seq_model_t *m, const agg_batch_t *b, const ppo_opts_t *o,
                   ppo_stats_t *st, char *err, size_t errlen);

/*
** The gradient of sum over steps t of gout[t] . (net's outputs at step t)
** over a sequence of len inputs x (SEQ_INPUTS each), by backpropagation
** through time, added into ggru and ghead (the GRU's and head's
** n_params).  What seq_ppo_update's gradients are made of.  0, or -1 when
** out of memory.
*/
int seq_net_grad(const seq_net_t *net, const float *x, size_t len,
                 const double *gout, double *ggru, double *ghead);

/*
** Initialise m's parameters, seeded: small random weights everywhere, with
** one path through the actor that makes it a soft threshold rule,
** d ~= sharpness * (threshold - score) near the threshold (so a greedy
** model behaves like thr:THRESHOLD and an exploring one explores around
** it), and the critic's output bias at 0.5.  threshold < 0 leaves the actor
** random (p(regenerate) ~ 0.5 everywhere).  Needs at least one hidden
** layer for the threshold path.
*/
void agg_init(agg_model_t *m, double threshold, double sharpness,
              uint64_t seed);

/*
** agg_init's work on any actor and critic pair: score_input is the actor
** input the threshold path reads.
*/
void mlp_init_policy(mlp_t *actor, mlp_t *critic, int score_input,
                     double threshold, double sharpness, uint64_t seed);

/* ---- gradient machinery (train_grad.c) ------------------------------- */

/*
** Backward pass for one sample: trace is from mlp_forward_trace, gout the
** loss gradient at the outputs; adds the parameter gradient into grad
** (n_params doubles).
*/
void mlp_backward(const mlp_t *m, const float *trace, const double *gout,
                  double *grad);

/* The same, and the loss gradient at the inputs into gin (size[0]). */
void mlp_backward_in(const mlp_t *m, const float *trace, const double *gout,
                     double *grad, double *gin);

typedef struct adam {
    size_t n;
    double *m, *v;
    double beta1, beta2, eps;
    int64_t t;
} adam_t;

/* Adam state for n parameters; 0 or -1 (memory). */
int adam_init(adam_t *a, size_t n, double eps);

/* Free the moments and zero *a; idempotent. */
void adam_clear(adam_t *a);

/* One Adam step of size lr on params from grad. */
void adam_step(adam_t *a, float *params, const double *grad, double lr);

#endif
