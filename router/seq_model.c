/*
** seq_model.c: the TRIM-Seq model in memory: inputs, one step of a network,
** initial parameters (see seq.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "hash.h"
#include "seq.h"
#include "train.h"

#define SEQ_HEAD_MAX_IN (SEQ_MAX_HIDDEN + SEQ_INPUTS)


/* A network of a GRU and a head with `outputs` outputs; 0 or -1 with err. */
static int
net_new(seq_net_t *net, int hidden, int n_hidden, int width, int outputs,
        char *err, size_t errlen)
{
    int size[MLP_MAX_LAYERS + 1];

    if (n_hidden < 0 || n_hidden > MLP_MAX_LAYERS - 1)
        return errf(err, errlen, "%d hidden layers (0 to %d allowed)", n_hidden,
                    MLP_MAX_LAYERS - 1);
    size[0] = hidden + SEQ_INPUTS;
    for (int l = 1; l <= n_hidden; l++)
        size[l] = width;
    size[n_hidden + 1] = outputs;
    if ((net->gru = gru_new(SEQ_INPUTS, hidden, err, errlen)) == NULL ||
        (net->head = mlp_new(n_hidden + 1, size, err, errlen)) == NULL)
        return -1;
    return 0;
}


seq_model_t *
seq_model_new(int hidden, int n_hidden, int width, double lambda, char *err,
              size_t errlen)
{
    seq_model_t *m;

    if (!isfinite(lambda) || lambda < 0) {
        errf(err, errlen, "lambda %g is not a number >= 0", lambda);
        return NULL;
    }
    if ((m = calloc(1, sizeof *m)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    m->lambda = lambda;
    if (net_new(&m->actor, hidden, n_hidden, width, 2, err, errlen) < 0 ||
        net_new(&m->critic, hidden, n_hidden, width, 1, err, errlen) < 0)
        seq_model_destroy(&m);
    return m;
}


seq_model_t *
seq_model_clone(const seq_model_t *m)
{
    seq_model_t *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->lambda = m->lambda;
    c->actor.gru = gru_clone(m->actor.gru);
    c->actor.head = mlp_clone(m->actor.head);
    c->critic.gru = gru_clone(m->critic.gru);
    c->critic.head = mlp_clone(m->critic.head);
    if (!c->actor.gru || !c->actor.head || !c->critic.gru || !c->critic.head)
        seq_model_destroy(&c);
    return c;
}


void
seq_model_destroy(seq_model_t **mp)
{
    if (mp && *mp) {
        gru_destroy(&(*mp)->actor.gru);
        mlp_destroy(&(*mp)->actor.head);
        gru_destroy(&(*mp)->critic.gru);
        mlp_destroy(&(*mp)->critic.head);
        free(*mp);
        *mp = NULL;
    }
}


void
seq_input(const float agg_x[5], int prev_regenerated, float x[SEQ_INPUTS])
{
    x[0] = agg_x[2]; /* score */
    x[1] = agg_x[3]; /* draft tokens / 300 */
    x[2] = agg_x[4]; /* step / 30 */
    x[3] = prev_regenerated ? 1.0f : 0.0f;
}


void
seq_net_step(const seq_net_t *net, const float *h, const float *x,
             float *h_next, float *out)
{
    int H = net->gru->hidden;
    float trace[GRU_TRACE(SEQ_MAX_HIDDEN)], in[SEQ_HEAD_MAX_IN];

    gru_forward_trace(net->gru, h, x, trace);
    memcpy(h_next, trace + 3 * H, (size_t)H * sizeof *h_next);
    memcpy(in, h_next, (size_t)H * sizeof *in);
    memcpy(in + H, x, SEQ_INPUTS * sizeof *in);
    mlp_forward(net->head, in, out);
}


static double
gaussian(rng_t *r)
{
    double u = rng_uniform(r), v = rng_uniform(r);

    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}


/* Gaussian weights of sd 1 / sqrt(fan in), biases zero. */
static void
random_gru(gru_t *g, rng_t *r)
{
    size_t nw = 3 * (size_t)g->hidden * (size_t)(g->inputs + g->hidden);
    double sd = 1.0 / sqrt((double)(g->inputs + g->hidden));

    for (size_t i = 0; i < g->n_params; i++)
        g->params[i] = i < nw ? (float)(gaussian(r) * sd) : 0.0f;
}


void
seq_init(seq_model_t *m, double threshold, double sharpness, uint64_t seed)
{
    rng_t r = rng_seeded(hash_combine(seed, 0x67727531ULL)); /* "gru1" */

    /* the head reads [h, x]: the current score is input hidden + 0 */
    mlp_init_policy(m->actor.head, m->critic.head, m->actor.gru->hidden,
                    threshold, sharpness, seed);
    random_gru(m->actor.gru, &r);
    random_gru(m->critic.gru, &r);
}
