/*
** train_ppo.h: the PPO pieces TRIM-Agg's update (train_ppo.c) and TRIM-Seq's
** (seq_ppo.c) share (router-private).  Both learn from the same batches
** (train.h); they differ in how a step's logit difference d and value v are
** computed from the model, and so in how gradients reach the parameters.
*/
#ifndef TRIM_TRAIN_PPO_H
#define TRIM_TRAIN_PPO_H

#include <stddef.h>

#include "hash.h"
#include "train.h"

/* What the last epoch's samples add up. */
typedef struct ppo_sums {
    double policy, value, entropy;
    size_t clipped, n;
} ppo_sums_t;

/* Check the batch (episodes, actions, probabilities, rewards, features);
** 0 or -1 with err. */
int ppo_check_batch(const agg_batch_t *b, char *err, size_t errlen);

/*
** From the old values v_old: log behaviour probabilities, advantages by GAE
** over each episode (the value after an episode's last step is 0), returns
** = advantages + old values, then the advantages normalised over the batch.
*/
void ppo_gae(const agg_batch_t *b, const ppo_opts_t *o, const double *v_old,
             double *logp_old, double *adv, double *ret);

/*
** One sample's loss (clipped surrogate, entropy bonus, clipped value loss)
** at logit difference d and value v: its gradient in d (*gd) and in v
** (*gv), unscaled; the loss terms are added to *s.
*/
void ppo_sample_grads(const ppo_opts_t *o, int action, double d,
                      double logp_old, double A, double v, double v_old,
                      double ret, double *gd, double *gv, ppo_sums_t *s);

/* log pi(action) at logit difference d. */
double ppo_log_prob(int action, double d);

/* Scale k gradient arrays so their joint norm is at most max (0: off). */
void ppo_clip_grads(double *const *g, const size_t *n, int k, double max);

/* Shuffle idx[0..n) in place. */
void ppo_shuffle(size_t *idx, size_t n, rng_t *rng);

/* The last epoch's means into st. */
void ppo_finish(ppo_stats_t *st, const ppo_sums_t *s);

#endif
