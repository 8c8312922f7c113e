/*
** agg_model.c: the TRIM-Agg model in memory: features and the actor's
** decision figure (see agg.h).
*/
#include "agg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "errf.h"


agg_model_t *
agg_model_new(int n_hidden, int width, double lambda, char *err, size_t errlen)
{
    int size[MLP_MAX_LAYERS + 1];
    agg_model_t *m;

    if (n_hidden < 0 || n_hidden > MLP_MAX_LAYERS - 1) {
        errf(err, errlen, "%d hidden layers (0 to %d allowed)", n_hidden,
             MLP_MAX_LAYERS - 1);
        return NULL;
    }
    if (!isfinite(lambda) || lambda < 0) {
        errf(err, errlen, "lambda %g is not a number >= 0", lambda);
        return NULL;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    m->lambda = lambda;
    size[0] = AGG_FEATURES;
    for (int l = 1; l <= n_hidden; l++)
        size[l] = width;
    size[n_hidden + 1] = 2;
    if ((m->actor = mlp_new(n_hidden + 1, size, err, errlen)) == NULL)
        goto fail;
    size[n_hidden + 1] = 1;
    if ((m->critic = mlp_new(n_hidden + 1, size, err, errlen)) == NULL)
        goto fail;
    return m;
fail:
    agg_model_destroy(&m);
    return NULL;
}


agg_model_t *
agg_model_clone(const agg_model_t *m)
{
    agg_model_t *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->lambda = m->lambda;
    c->actor = mlp_clone(m->actor);
    c->critic = mlp_clone(m->critic);
    if (c->actor == NULL || c->critic == NULL)
        agg_model_destroy(&c);
    return c;
}


void
agg_model_destroy(agg_model_t **mp)
{
    if (mp && *mp) {
        mlp_destroy(&(*mp)->actor);
        mlp_destroy(&(*mp)->critic);
        free(*mp);
        *mp = NULL;
    }
}


void
agg_features_of(float min_prev, float prod_prev, float score,
                uint32_t draft_tokens, uint32_t step_index,
                float x[AGG_FEATURES])
{
    x[0] = min_prev;
    x[1] = prod_prev;
    x[2] = score;
    x[3] = (float)draft_tokens / AGG_TOKEN_SCALE;
    x[4] = (float)step_index / AGG_STEP_SCALE;
}


void
agg_features(const route_features_t *f, float x[AGG_FEATURES])
{
    agg_features_of(f->min_prev, f->prod_prev, f->score, f->draft_tokens,
                    f->step_index, x);
}


float
agg_logit(const agg_model_t *m, const float x[AGG_FEATURES])
{
    float z[2];

    mlp_forward(m->actor, x, z);
    return z[1] - z[0];
}


double
agg_prob(float logit, float bias)
{
    double d = (double)logit + policy_bias_push(bias, AGG_BIAS_SCALE);

    return 1.0 / (1.0 + exp(-d));
}
