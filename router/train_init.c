/*
** train_init.c: initial TRIM-Agg parameters (see train.h).
**
** Random weights are Gaussian with standard deviation gain / sqrt(fan in)
** (gains as the paper's code: sqrt 2 for hidden layers, 0.01 for the
** actor's output, 1 for the critic's), biases zero.  The threshold path is
** unit 0 of each hidden layer: the first computes tanh(threshold - score),
** each next one tanh of the one before, and the actor's output reads it
** with weight sharpness, so d ~= sharpness * (threshold - score) near the
** threshold and saturates away from it (at sharpness 10, p(regenerate) is
** 0.73 at 0.1 below the threshold and 0.94 at 0.3 below).
*/
#include <math.h>
#include <string.h>

#include "hash.h"
#include "train.h"


static double
gaussian(rng_t *r)
{
    double u = rng_uniform(r), v = rng_uniform(r);

    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}


static void
random_net(mlp_t *m, double out_gain, rng_t *r)
{
    for (int l = 0; l < m->n_layers; l++) {
        int nin = m->size[l], nout = m->size[l + 1];
        double gain = l + 1 < m->n_layers ? sqrt(2.0) : out_gain;
        float *w = m->params + mlp_weight_offset(m, l);
        float *b = m->params + mlp_bias_offset(m, l);
        for (int i = 0; i < nout * nin; i++)
            w[i] = (float)(gaussian(r) * gain / sqrt((double)nin));
        memset(b, 0, (size_t)nout * sizeof *b);
    }
}


void
mlp_init_policy(mlp_t *a, mlp_t *critic, int score_input, double threshold,
                double sharpness, uint64_t seed)
{
    rng_t r = rng_seeded(hash_combine(seed, 0x696e6974ULL));
    int L = a->n_layers;

    random_net(a, 0.01, &r);
    random_net(critic, 1.0, &r);
    critic->params[mlp_bias_offset(critic, critic->n_layers - 1)] = 0.5f;
    if (threshold < 0 || L < 2)
        return;
    for (int l = 0; l < L; l++) {
        int nin = a->size[l], nout = a->size[l + 1];
        float *w = a->params + mlp_weight_offset(a, l);
        float *b = a->params + mlp_bias_offset(a, l);
        /* weights are [in][out]: w[i * nout + o] links input i to o */
        if (l + 1 < L) {
            /* unit 0: tanh(threshold - score) in the first layer, tanh(unit
            ** 0 before) in the next ones */
            for (int i = 0; i < nin; i++)
                w[(size_t)i * (size_t)nout] = 0;
            w[(size_t)(l == 0 ? score_input : 0) * (size_t)nout] =
                l == 0 ? -1.0f : 1.0f;
            b[0] = l == 0 ? (float)threshold : 0.0f;
        } else {
            /* outputs (keep, regenerate) read unit 0 with -+sharpness/2 */
            for (int o = 0; o < nout; o++)
                b[o] = 0;
            w[0] = (float)(-sharpness / 2);
            w[1] = (float)(sharpness / 2);
        }
    }
}


void
agg_init(agg_model_t *m, double threshold, double sharpness, uint64_t seed)
{
    /* the score is feature 2 */
    mlp_init_policy(m->actor, m->critic, 2, threshold, sharpness, seed);
}
