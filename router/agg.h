/*
** agg.h: the TRIM-Agg model: features, network and policy file.
**
** TRIM-Agg routes a draft on five aggregated features, in this order and
** scale (the order the paper's code feeds its network):
**
**   x[0] = minimum PRM score over the accepted steps (1 at the first step)
**   x[1] = product of those scores (1 at the first step)
**   x[2] = the draft's own PRM score
**   x[3] = the draft's completion tokens / 300
**   x[4] = the 0-based step index / 30
**
** An actor network maps x to two logits (keep, regenerate); p(regenerate) is
** the logistic of their difference d.  A budget controller's bias b in
** [-1, 1] is added as d + policy_bias_push(b, AGG_BIAS_SCALE): one logit at
** b = 0.5, forcing either action at b = +-1, monotone in b.  A critic
** network (training only) maps x to the expected return from that step.
**
** The policy file is text: a magic and version line, the lambda it was
** trained for, the feature names in order, each network's layer sizes and
** parameters, and a checksum over everything before the checksum line.
**
**   trim-agg 1
**   lambda 0.0008
**   features 5 min_prev prod_prev score draft_tokens/300 step/30
**   actor 5 64 64 2
**   <parameters of the actor, 8 a line>
**   critic 5 64 64 1
**   <parameters of the critic>
**   checksum 0123456789abcdef
*/
#ifndef TRIM_AGG_H
#define TRIM_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"
#include "policy.h"

#define AGG_FEATURES      5
#define AGG_MAGIC         "trim-agg"
#define AGG_VERSION       1
#define AGG_BIAS_SCALE    1.0
#define AGG_TOKEN_SCALE   300.0f
#define AGG_STEP_SCALE    30.0f
#define AGG_FEATURE_NAMES "min_prev prod_prev score draft_tokens/300 step/30"

typedef struct agg_model {
    double lambda; /* penalty per strong token it was trained for */
    mlp_t *actor;  /* AGG_FEATURES -> ... -> 2 logits (keep, regenerate) */
    mlp_t *critic; /* AGG_FEATURES -> ... -> 1 value */
} agg_model_t;

/*
** A model with n_hidden hidden layers of width units in both networks,
** every parameter zero (p(regenerate) = 0.5).  NULL with a reason in err.
*/
agg_model_t *agg_model_new(int n_hidden, int width, double lambda, char *err,
                           size_t errlen);

/* A deep copy, or NULL when out of memory. */
agg_model_t *agg_model_clone(const agg_model_t *m);

/* Free a model and clear the pointer; NULL-safe. */
void agg_model_destroy(agg_model_t **m);

/* The five features of a draft, scaled as above. */
void agg_features(const route_features_t *f, float x[AGG_FEATURES]);

/* The same from the values an audit row holds. */
void agg_features_of(float min_prev, float prod_prev, float score,
                     uint32_t draft_tokens, uint32_t step_index,
                     float x[AGG_FEATURES]);

/* The actor's logit difference d = z(regenerate) - z(keep) for x. */
float agg_logit(const agg_model_t *m, const float x[AGG_FEATURES]);

/* p(regenerate) = logistic(d + policy_bias_push(bias, AGG_BIAS_SCALE)). */
double agg_prob(float logit, float bias);

/*
** Load a policy file, checking the magic, version, checksum, feature list,
** layer sizes and that every number is finite.  Returns 0 with *out set
** (the caller destroys it), or -1 with err naming the file and the problem.
*/
int agg_model_load(const char *path, agg_model_t **out, char *err,
                   size_t errlen);

/*
** Write m to path atomically (a temporary file beside it, fsync, rename).
** Returns 0, or -1 with err naming the file.
*/
int agg_model_save(const agg_model_t *m, const char *path, char *err,
                   size_t errlen);

/* The checksum the file's last line holds, over the bytes before it. */
uint64_t agg_file_checksum(const void *data, size_t len);

#endif
