/*
** pomdp_em.c: the hidden states of recorded solutions fitted by EM from
** their final answers and PRM scores (see pomdp_fit.h).
**
** Between steps the chain has two states, the accepted prefix correct (C)
** or derailed (D); within a step the draft's and the strong step's states
** (S0/S1/S2) follow from it as pomdp.h describes.  A step is a handful of
** paths (prefix state, draft state, strong state, next prefix state), each
** with a weight from the parameters and the scores' likelihoods, so the
** forward-backward pass enumerates them: alpha and beta over C/D, each
** path's posterior alpha x weight x beta / likelihood.
**
** Problems differ in difficulty, and a single accuracy fitted to final
** answers is biased by it: the share of all-right solutions is the mean of
** p^n, above (mean p)^n, so one p that explains it is too high.  So each
** solution belongs to one of CLASSES latent classes with their own
** accuracies and repair chance (the score likelihoods are shared); the
** counts reported are summed over the classes, the per-step averages a
** labelled fit measures.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "pomdp_fit.h"

#define SMOOTH  0.5 /* pseudo-count per grid cell, as pomdp_counts_json */
#define CLASSES 2   /* latent difficulty classes of problems */

enum { C = 0, D = 1 };

struct pomdp_em {
    pomdp_em_step_t *steps;
    size_t n, cap;
    size_t *end; /* each solution's steps end here */
    int *correct;
    size_t n_sol, cap_sol;
    size_t longest;
};

/* The parameters an iteration works with. */
typedef struct params {
    double share[CLASSES]; /* of the problems */
    double pw[CLASSES], ps[CLASSES], repair[CLASSES];
    double like[3][POMDP_BINS][POMDP_BINS]; /* P(score bin | min bin, s) */
} params_t;

/* One path through a step. */
typedef struct path {
    int from, to;      /* prefix state before and after */
    int draft, strong; /* states, -1 when there is none */
    double w;          /* its probability times its scores' likelihood */
} path_t;


pomdp_em_t *
pomdp_em_new(void)
{
    return calloc(1, sizeof(pomdp_em_t));
}


void
pomdp_em_destroy(pomdp_em_t **e)
{
    if (e == NULL || *e == NULL)
        return;
    free((*e)->steps);
    free((*e)->end);
    free((*e)->correct);
    free(*e);
    *e = NULL;
}


int
pomdp_em_add(pomdp_em_t *e, const pomdp_em_step_t *steps, size_t n, int correct)
{
    if (e->n + n > e->cap) {
        size_t cap = e->cap ? e->cap : 1024;
        while (cap < e->n + n)
            cap *= 2;
        pomdp_em_step_t *v = realloc(e->steps, cap * sizeof *v);
        if (v == NULL)
            return -1;
        e->steps = v;
        e->cap = cap;
    }
    if (e->n_sol == e->cap_sol) {
        size_t cap = e->cap_sol ? e->cap_sol * 2 : 256;
        size_t *end = realloc(e->end, cap * sizeof *end);
        if (end == NULL)
            return -1;
        e->end = end;
        int *ok = realloc(e->correct, cap * sizeof *ok);
        if (ok == NULL)
            return -1;
        e->correct = ok;
        e->cap_sol = cap;
    }
    memcpy(e->steps + e->n, steps, n * sizeof *steps);
    e->n += n;
    e->end[e->n_sol] = e->n;
    e->correct[e->n_sol++] = correct ? 1 : 0;
    if (n > e->longest)
        e->longest = n;
    return 0;
}


/* The likelihood of a score given its minimum previous one in state s. */
static double
like(const params_t *p, int s, float score, float min)
{
    if (isnan(score))
        return 1.0;
    return p->like[s][pomdp_bin(isnan(min) ? 1.0 : min)][pomdp_bin(score)];
}


/* The paths through step st under p for class k into out; returns how
** many. */
static int
paths(const params_t *p, int k, const pomdp_em_step_t *st, path_t out[8])
{
    int n = 0;
    double pw = p->pw[k], ps = p->ps[k], repair = p->repair[k];
    double d[3] = {1, 1, 1}, g[3];

    if (st->has_draft)
        for (int s = 0; s < 3; s++)
            d[s] = like(p, s, st->draft, st->draft_min);
    if (!st->regenerated) {
        out[n++] = (path_t){C, C, POMDP_S0, -1, pw * d[POMDP_S0]};
        out[n++] = (path_t){C, D, POMDP_S2, -1, (1 - pw) * d[POMDP_S2]};
        out[n++] = (path_t){D, D, POMDP_S1, -1, d[POMDP_S1]};
        return n;
    }
    for (int s = 0; s < 3; s++)
        g[s] = like(p, s, st->strong, st->strong_min);
    /* On a correct prefix the draft was S0 or S2 and the strong step is
    ** S0 or the first error; on a derailed one, S1 then repaired or not. */
    int dr = st->has_draft ? POMDP_S0 : -1, dw = st->has_draft ? POMDP_S2 : -1;
    double a = pw * d[POMDP_S0], b = (1 - pw) * d[POMDP_S2];
    out[n++] = (path_t){C, C, dr, POMDP_S0, a * ps * g[POMDP_S0]};
    out[n++] = (path_t){C, D, dr, POMDP_S2, a * (1 - ps) * g[POMDP_S2]};
    out[n++] = (path_t){C, C, dw, POMDP_S0, b * ps * g[POMDP_S0]};
    out[n++] = (path_t){C, D, dw, POMDP_S2, b * (1 - ps) * g[POMDP_S2]};
    int d1 = st->has_draft ? POMDP_S1 : -1;
    double c = d[POMDP_S1];
    out[n++] = (path_t){D, C, d1, POMDP_S0, c * repair * g[POMDP_S0]};
    out[n++] = (path_t){D, D, d1, POMDP_S1, c * (1 - repair) * g[POMDP_S1]};
    return n;
}


/* Add a path's posterior weight q to the counts. */
static void
count_path(pomdp_counts_t *c, const pomdp_em_step_t *st, const path_t *pa,
           double q)
{
    if (st->has_draft && pa->from == C) {
        if (pa->draft == POMDP_S0)
            c->weak_ok += q;
        else
            c->weak_bad += q;
    }
    if (st->has_draft && !isnan(st->draft))
        c->grid[pa->draft]
               [pomdp_bin(isnan(st->draft_min) ? 1.0 : st->draft_min)]
               [pomdp_bin(st->draft)] += q;
    if (pa->strong < 0)
        return;
    if (pa->from == C && pa->strong == POMDP_S0)
        c->strong_ok += q;
    else if (pa->from == C)
        c->strong_bad += q;
    else {
        c->derailed += q;
        if (pa->strong == POMDP_S0)
            c->repaired += q;
    }
}


/*
** Forward-backward over one solution (steps v[0..n)) under p for class k,
** adding its expected counts times weight to c (NULL: only the forward
** pass); returns its log-likelihood.  alpha and beta hold (n + 1) x 2
** values.
*/
static double
solution(const params_t *p, int cls, const pomdp_em_step_t *v, size_t n,
         int correct, double (*alpha)[2], double (*beta)[2], double *scale,
         double weight, pomdp_counts_t *c)
{
    path_t pa[8];
    double ll = 0;

    alpha[0][C] = 1;
    alpha[0][D] = 0;
    for (size_t t = 0; t < n; t++) {
        int k = paths(p, cls, &v[t], pa);
        double a[2] = {0, 0};
        for (int i = 0; i < k; i++)
            a[pa[i].to] += alpha[t][pa[i].from] * pa[i].w;
        scale[t] = a[C] + a[D] > 0 ? a[C] + a[D] : 1e-300;
        alpha[t + 1][C] = a[C] / scale[t];
        alpha[t + 1][D] = a[D] / scale[t];
        ll += log(scale[t]);
    }
    const double end[2] = {correct ? 1 - POMDP_EM_SLIP : POMDP_EM_SLIP,
                           correct ? POMDP_EM_SLIP : 1 - POMDP_EM_SLIP};
    double z = alpha[n][C] * end[C] + alpha[n][D] * end[D];
    ll += log(z > 0 ? z : 1e-300);
    if (c == NULL)
        return ll;
    beta[n][C] = end[C] / z;
    beta[n][D] = end[D] / z;
    for (size_t t = n; t-- > 0;) {
        int k = paths(p, cls, &v[t], pa);
        beta[t][C] = beta[t][D] = 0;
        for (int i = 0; i < k; i++) {
            double q = alpha[t][pa[i].from] * pa[i].w * beta[t + 1][pa[i].to] /
                       scale[t];
            if (q > 0)
                count_path(c, &v[t], &pa[i], q * weight);
            beta[t][pa[i].from] += pa[i].w * beta[t + 1][pa[i].to] / scale[t];
        }
    }
    return ll;
}


/* The M-step: parameters from each class's expected counts c[k] and the
** classes' expected sizes n[k]. */
static void
maximise(const pomdp_counts_t c[CLASSES], const double n[CLASSES], params_t *p)
{
    double all = 0;

    for (int k = 0; k < CLASSES; k++)
        all += n[k];
    for (int k = 0; k < CLASSES; k++) {
        const pomdp_counts_t *ck = &c[k];
        p->share[k] = n[k] / all;
        if (ck->weak_ok + ck->weak_bad > 0)
            p->pw[k] = ck->weak_ok / (ck->weak_ok + ck->weak_bad);
        if (ck->strong_ok + ck->strong_bad > 0)
            p->ps[k] = ck->strong_ok / (ck->strong_ok + ck->strong_bad);
        if (ck->derailed > 0)
            p->repair[k] = ck->repaired / ck->derailed;
    }
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < POMDP_BINS; i++) {
            double row = 0, g[POMDP_BINS];
            for (int j = 0; j < POMDP_BINS; j++) {
                g[j] = SMOOTH;
                for (int k = 0; k < CLASSES; k++)
                    g[j] += c[k].grid[s][i][j];
                row += g[j];
            }
            for (int j = 0; j < POMDP_BINS; j++)
                p->like[s][i][j] = g[j] / row;
        }
}


/* The start: an easy and a hard class; scores rise with the bin in S0 and
** fall in S1 and S2. */
static void
start(params_t *p)
{
    static const double pw[2] = {0.95, 0.65}, ps[2] = {0.97, 0.85};
    for (int k = 0; k < CLASSES; k++) {
        p->share[k] = 1.0 / CLASSES;
        p->pw[k] = pw[k];
        p->ps[k] = ps[k];
        p->repair[k] = 0.3;
    }
    for (int i = 0; i < POMDP_BINS; i++)
        for (int j = 0; j < POMDP_BINS; j++) {
            double up = (j + 1.0) / (POMDP_BINS * (POMDP_BINS + 1) / 2.0);
            double down =
                (POMDP_BINS - j) / (POMDP_BINS * (POMDP_BINS + 1) / 2.0);
            p->like[POMDP_S0][i][j] = up;
            p->like[POMDP_S1][i][j] = p->like[POMDP_S2][i][j] = down;
        }
}


/* The forward-backward pass's buffers, sized for the longest solution. */
typedef struct scratch {
    double (*alpha)[2], (*beta)[2], *scale;
} scratch_t;


/*
** One E-step over every solution of e under p into c[] (per class) and
** n[] (class sizes); returns the log-likelihood.
*/
static double
expect(const pomdp_em_t *e, const params_t *p, scratch_t *w,
       pomdp_counts_t c[CLASSES], double n[CLASSES])
{
    double ll = 0;

    memset(c, 0, CLASSES * sizeof *c);
    memset(n, 0, CLASSES * sizeof *n);
    for (size_t k = 0, from = 0; k < e->n_sol; from = e->end[k++]) {
        const pomdp_em_step_t *v = e->steps + from;
        size_t len = e->end[k] - from;
        double lk[CLASSES], top = -INFINITY, z = 0;
        for (int q = 0; q < CLASSES; q++) {
            lk[q] = log(p->share[q] > 0 ? p->share[q] : 1e-300) +
                    solution(p, q, v, len, e->correct[k], w->alpha, w->beta,
                             w->scale, 0, NULL);
            top = lk[q] > top ? lk[q] : top;
        }
        for (int q = 0; q < CLASSES; q++)
            z += exp(lk[q] - top);
        ll += top + log(z);
        for (int q = 0; q < CLASSES; q++) {
            double r = exp(lk[q] - top) / z;
            n[q] += r;
            if (r > 1e-9)
                solution(p, q, v, len, e->correct[k], w->alpha, w->beta,
                         w->scale, r, &c[q]);
        }
    }
    return ll;
}


int
pomdp_em_fit(const pomdp_em_t *e, int max_iter, pomdp_counts_t *out,
             int *iterations, double *loglik, char *err, size_t errlen)
{
    params_t *p = NULL;
    pomdp_counts_t *c = NULL;
    scratch_t w = {0};
    double last = -INFINITY, ll = 0, n[CLASSES];
    int it = 0, rc = -1;

    if (e == NULL || e->n_sol == 0)
        return errf(err, errlen, "no solution to fit");
    p = malloc(sizeof *p);
    c = calloc(CLASSES, sizeof *c);
    w.alpha = malloc((e->longest + 1) * sizeof *w.alpha);
    w.beta = malloc((e->longest + 1) * sizeof *w.beta);
    w.scale = malloc((e->longest + 1) * sizeof *w.scale);
    if (!p || !c || !w.alpha || !w.beta || !w.scale) {
        errf(err, errlen, "out of memory");
        goto done;
    }
    start(p);
    for (it = 1; it <= max_iter; it++) {
        ll = expect(e, p, &w, c, n);
        maximise(c, n, p);
        if (ll - last < 1e-6 * (double)e->n_sol)
            break;
        last = ll;
    }
    /* c holds the expected counts under the parameters p was fitted from,
    ** one M-step behind p: close enough once converged. */
    for (int k = 0; k < CLASSES; k++) {
        for (int s = 0; s < 3; s++)
            for (int i = 0; i < POMDP_BINS; i++)
                for (int j = 0; j < POMDP_BINS; j++)
                    out->grid[s][i][j] += c[k].grid[s][i][j];
        out->weak_ok += c[k].weak_ok;
        out->weak_bad += c[k].weak_bad;
        out->strong_ok += c[k].strong_ok;
        out->strong_bad += c[k].strong_bad;
        out->repaired += c[k].repaired;
        out->derailed += c[k].derailed;
    }
    if (iterations)
        *iterations = it > max_iter ? max_iter : it;
    if (loglik)
        *loglik = ll;
    rc = 0;
done:
    free(p);
    free(c);
    free(w.alpha);
    free(w.beta);
    free(w.scale);
    return rc;
}
