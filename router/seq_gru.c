/*
** seq_gru.c: a gated recurrent unit, one step forward and backward (see
** seq.h).  Steps are small (a few inputs, at most SEQ_MAX_HIDDEN units), so
** the loops are plain; the forward pass allocates nothing.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "seq.h"

#define GRU_MAX_INPUTS 16


gru_t *
gru_new(int inputs, int hidden, char *err, size_t errlen)
{
    gru_t *g;

    if (inputs < 1 || inputs > GRU_MAX_INPUTS) {
        errf(err, errlen, "%d GRU inputs (1 to %d allowed)", inputs,
             GRU_MAX_INPUTS);
        return NULL;
    }
    if (hidden < 1 || hidden > SEQ_MAX_HIDDEN) {
        errf(err, errlen, "%d GRU units (1 to %d allowed)", hidden,
             SEQ_MAX_HIDDEN);
        return NULL;
    }
    if ((g = calloc(1, sizeof *g)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    g->inputs = inputs;
    g->hidden = hidden;
    g->n_params = 3 * (size_t)hidden * (size_t)(inputs + hidden + 1);
    if ((g->params = calloc(g->n_params, sizeof *g->params)) == NULL) {
        errf(err, errlen, "out of memory");
        gru_destroy(&g);
    }
    return g;
}


gru_t *
gru_clone(const gru_t *g)
{
    char err[64];
    gru_t *c = gru_new(g->inputs, g->hidden, err, sizeof err);

    if (c != NULL)
        memcpy(c->params, g->params, g->n_params * sizeof *g->params);
    return c;
}


void
gru_destroy(gru_t **gp)
{
    if (gp && *gp) {
        free((*gp)->params);
        free(*gp);
        *gp = NULL;
    }
}


static float
sigmoidf(float a)
{
    return 1.0f / (1.0f + expf(-a));
}


/* The parameter blocks: W [3H][I], U [3H][H], b [3H]. */
#define W_OF(g) ((g)->params)
#define U_OF(g) ((g)->params + 3 * (size_t)(g)->hidden * (size_t)(g)->inputs)
#define B_OF(g)                                                                \
    ((g)->params +                                                             \
     3 * (size_t)(g)->hidden * (size_t)((g)->inputs + (g)->hidden))


void
gru_forward_trace(const gru_t *g, const float *h, const float *x, float *trace)
{
    int H = g->hidden, I = g->inputs;
    const float *W = W_OF(g), *U = U_OF(g), *b = B_OF(g);
    float *z = trace, *r = trace + H, *n = trace + 2 * H, *hn = trace + 3 * H;
    float rh[SEQ_MAX_HIDDEN];

    for (int gate = 0; gate < 2; gate++) {
        float *out = gate == 0 ? z : r;
        for (int j = 0; j < H; j++) {
            int row = gate * H + j;
            float a = b[row];
            for (int i = 0; i < I; i++)
                a += W[row * I + i] * x[i];
            for (int k = 0; k < H; k++)
                a += U[row * H + k] * h[k];
            out[j] = sigmoidf(a);
        }
    }
    for (int k = 0; k < H; k++)
        rh[k] = r[k] * h[k];
    for (int j = 0; j < H; j++) {
        int row = 2 * H + j;
        float a = b[row];
        for (int i = 0; i < I; i++)
            a += W[row * I + i] * x[i];
        for (int k = 0; k < H; k++)
            a += U[row * H + k] * rh[k];
        n[j] = tanhf(a);
        hn[j] = (1.0f - z[j]) * n[j] + z[j] * h[j];
    }
}


void
gru_backward(const gru_t *g, const float *h, const float *x, const float *trace,
             const double *gh, double *grad, double *gh_prev)
{
    int H = g->hidden, I = g->inputs;
    const float *U = U_OF(g);
    const float *z = trace, *r = trace + H, *n = trace + 2 * H;
    double *gW = grad, *gU = grad + (U_OF(g) - W_OF(g)),
           *gb = grad + (B_OF(g) - W_OF(g));
    double ga[3 * SEQ_MAX_HIDDEN];

    for (int j = 0; j < H; j++) {
        double zj = z[j], nj = n[j];
        ga[j] = gh[j] * ((double)h[j] - nj) * zj * (1 - zj); /* a_z */
        ga[2 * H + j] = gh[j] * (1 - zj) * (1 - nj * nj);    /* a_n */
        gh_prev[j] = gh[j] * zj;
    }
    /* a_n reads r * h through Un: the gradient at r * h, then at r */
    for (int k = 0; k < H; k++) {
        double s = 0;
        for (int j = 0; j < H; j++)
            s += ga[2 * H + j] * (double)U[(2 * H + j) * H + k];
        gh_prev[k] += s * (double)r[k];
        ga[H + k] = s * (double)h[k] * (double)r[k] * (1 - (double)r[k]);
    }
    for (int row = 0; row < 3 * H; row++) {
        int gate_n = row >= 2 * H;
        for (int i = 0; i < I; i++)
            gW[row * I + i] += ga[row] * (double)x[i];
        for (int k = 0; k < H; k++)
            gU[row * H + k] +=
                ga[row] * (gate_n ? (double)r[k] * (double)h[k] : (double)h[k]);
        gb[row] += ga[row];
    }
    /* h reaches a_z and a_r through Uz and Ur */
    for (int k = 0; k < H; k++) {
        double s = 0;
        for (int row = 0; row < 2 * H; row++)
            s += ga[row] * (double)U[row * H + k];
        gh_prev[k] += s;
    }
}
