/*
** train_grad.c: backpropagation through an mlp and the Adam optimiser
** (see train.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"


void
mlp_backward(const mlp_t *m, const float *trace, const double *gout,
             double *grad)
{
    mlp_backward_in(m, trace, gout, grad, NULL);
}


void
mlp_backward_in(const mlp_t *m, const float *trace, const double *gout,
                double *grad, double *gin)
{
    double g[MLP_MAX_WIDTH], gprev[MLP_MAX_WIDTH];
    size_t act_off[MLP_MAX_LAYERS + 1], off = 0;
    int L = m->n_layers;

    for (int l = 0; l <= L; l++) {
        act_off[l] = off;
        off += (size_t)m->size[l];
    }
    memcpy(g, gout, (size_t)m->size[L] * sizeof *g);
    for (int l = L - 1; l >= 0; l--) {
        int nin = m->size[l], nout = m->size[l + 1];
        const float *a = trace + act_off[l];
        const float *w = m->params + mlp_weight_offset(m, l);
        double *gw = grad + mlp_weight_offset(m, l);
        double *gb = grad + mlp_bias_offset(m, l);

        for (int o = 0; o < nout; o++)
            gb[o] += g[o];
        for (int i = 0; i < nin; i++) {
            double *grow = gw + (size_t)i * (size_t)nout;
            double ai = (double)a[i];
            for (int o = 0; o < nout; o++)
                grow[o] += g[o] * ai;
        }
        if (l == 0 && gin == NULL)
            break;
        for (int i = 0; i < nin; i++) {
            const float *row = w + (size_t)i * (size_t)nout;
            double s = 0;
            for (int o = 0; o < nout; o++)
                s += g[o] * (double)row[o];
            gprev[i] = s;
        }
        if (l == 0) {
            memcpy(gin, gprev, (size_t)nin * sizeof *gin);
            break;
        }
        /* a is the tanh output of layer l: tanh' = 1 - a^2. */
        for (int i = 0; i < nin; i++)
            g[i] = gprev[i] * (1.0 - (double)a[i] * (double)a[i]);
    }
}


int
adam_init(adam_t *a, size_t n, double eps)
{
    memset(a, 0, sizeof *a);
    a->m = calloc(n ? n : 1, sizeof *a->m);
    a->v = calloc(n ? n : 1, sizeof *a->v);
    if (a->m == NULL || a->v == NULL) {
        adam_clear(a);
        return -1;
    }
    a->n = n;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = eps;
    return 0;
}


void
adam_clear(adam_t *a)
{
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof *a);
}


void
adam_step(adam_t *a, float *params, const double *grad, double lr)
{
    a->t++;
    double c1 = 1.0 - pow(a->beta1, (double)a->t);
    double c2 = 1.0 - pow(a->beta2, (double)a->t);

    for (size_t i = 0; i < a->n; i++) {
        a->m[i] = a->beta1 * a->m[i] + (1.0 - a->beta1) * grad[i];
        a->v[i] = a->beta2 * a->v[i] + (1.0 - a->beta2) * grad[i] * grad[i];
        double mh = a->m[i] / c1, vh = a->v[i] / c2;
        params[i] -= (float)(lr * mh / (sqrt(vh) + a->eps));
    }
}
