/*
** mlp.c: the forward pass of a small perceptron (see mlp.h).
*/
#include "mlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

#define MLP_BLOCK 16


/*
** tanh as a rational function (the odd 13/6 minimax form Eigen uses for
** float): at most 4e-7 from tanh everywhere, about 1/20 the time of
** glibc's tanhf, and it vectorises.  Training and routing both use it, so a
** trained network routes exactly as it trained.
*/
static inline float
fast_tanh(float x)
{
    const float c = 7.90531110763549805f; /* tanh rounds to 1 beyond */
    float xc = x > c ? c : x < -c ? -c : x;
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return xc * p / q;
}


mlp_t *
mlp_new(int n_layers, const int *size, char *err, size_t errlen)
{
    mlp_t *m;
    size_t n = 0;

    if (n_layers < 1 || n_layers > MLP_MAX_LAYERS) {
        errf(err, errlen, "%d layers (1 to %d allowed)", n_layers,
             MLP_MAX_LAYERS);
        return NULL;
    }
    for (int l = 0; l <= n_layers; l++)
        if (size[l] < 1 || size[l] > MLP_MAX_WIDTH) {
            errf(err, errlen, "layer size %d (1 to %d allowed)", size[l],
                 MLP_MAX_WIDTH);
            return NULL;
        }
    for (int l = 0; l < n_layers; l++)
        n += (size_t)size[l + 1] * (size_t)(size[l] + 1);
    m = calloc(1, sizeof *m);
    if (m == NULL || (m->params = calloc(n, sizeof *m->params)) == NULL) {
        free(m);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    m->n_layers = n_layers;
    memcpy(m->size, size, (size_t)(n_layers + 1) * sizeof *size);
    m->n_params = n;
    return m;
}


mlp_t *
mlp_clone(const mlp_t *m)
{
    char err[64];
    mlp_t *c = mlp_new(m->n_layers, m->size, err, sizeof err);

    if (c != NULL)
        memcpy(c->params, m->params, m->n_params * sizeof *m->params);
    return c;
}


void
mlp_destroy(mlp_t **mp)
{
    if (mp && *mp) {
        free((*mp)->params);
        free(*mp);
        *mp = NULL;
    }
}


size_t
mlp_weight_offset(const mlp_t *m, int layer)
{
    size_t off = 0;

    for (int l = 0; l < layer; l++)
        off += (size_t)m->size[l + 1] * (size_t)(m->size[l] + 1);
    return off;
}


size_t
mlp_bias_offset(const mlp_t *m, int layer)
{
    return mlp_weight_offset(m, layer) +
           (size_t)m->size[layer + 1] * (size_t)m->size[layer];
}


size_t
mlp_trace_size(const mlp_t *m)
{
    size_t n = 0;

    for (int l = 0; l <= m->n_layers; l++)
        n += (size_t)m->size[l];
    return n;
}


void
mlp_forward_trace(const mlp_t *m, const float *in, float *trace)
{
    const float *p = m->params;
    const float *a = trace;
    float *z = trace + m->size[0];

    memcpy(trace, in, (size_t)m->size[0] * sizeof *in);
    for (int l = 0; l < m->n_layers; l++) {
        int nin = m->size[l], nout = m->size[l + 1];
        const float *w = p, *b = p + (size_t)nout * (size_t)nin;
        int o0 = 0;
        /* Sixteen outputs at a time, held in registers: every sum still
        ** adds in input order, and the block vectorises across outputs. */
        for (; o0 + MLP_BLOCK <= nout; o0 += MLP_BLOCK) {
            float acc[MLP_BLOCK];
            memcpy(acc, b + o0, sizeof acc);
            for (int i = 0; i < nin; i++) {
                const float *row = w + (size_t)i * (size_t)nout + o0;
                float ai = a[i];
                for (int k = 0; k < MLP_BLOCK; k++)
                    acc[k] += row[k] * ai;
            }
            memcpy(z + o0, acc, sizeof acc);
        }
        if (o0 < nout) {
            memcpy(z + o0, b + o0, (size_t)(nout - o0) * sizeof *z);
            for (int i = 0; i < nin; i++) {
                const float *row = w + (size_t)i * (size_t)nout;
                float ai = a[i];
                for (int o = o0; o < nout; o++)
                    z[o] += row[o] * ai;
            }
        }
        if (l + 1 < m->n_layers)
            for (int o = 0; o < nout; o++)
                z[o] = fast_tanh(z[o]);
        p = b + nout;
        a = z;
        z += nout;
    }
}


void
mlp_forward(const mlp_t *m, const float *in, float *out)
{
    float trace[MLP_MAX_WIDTH * (MLP_MAX_LAYERS + 1)];
    size_t n = mlp_trace_size(m);
    int nout = m->size[m->n_layers];

    mlp_forward_trace(m, in, trace);
    memcpy(out, trace + n - (size_t)nout, (size_t)nout * sizeof *out);
}
