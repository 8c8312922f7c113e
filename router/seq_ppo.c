/*
** seq_ppo.c: one PPO update of a TRIM-Seq model from logged episodes (see
** train.h; the loss is TRIM-Agg's, train_ppo.h).
**
** A step's logit difference depends on every earlier step of its episode
** through the GRU, so minibatches are whole episodes (shuffled, filled to
** at least o->minibatch steps) and each episode's gradient is taken by
** backpropagation through time: the head's gradient at h_t plus what step
** t + 1 sends back through the GRU.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "train.h"
#include "train_ppo.h"

#define N_PARTS 4 /* actor GRU, actor head, critic GRU, critic head */

/* One network's trace over an episode. */
typedef struct tape {
    float *gru;   /* GRU_TRACE(hidden) floats a step */
    float *head;  /* mlp_trace_size floats a step */
    double *gout; /* the loss gradient at the head's outputs, a step */
} tape_t;

typedef struct work {
    size_t *start; /* episode e is steps start[e] .. start[e + 1] - 1 */
    size_t *order; /* episodes, shuffled */
    float *x;      /* SEQ_INPUTS a step */
    double *logp_old, *v_old, *adv, *ret;
    tape_t ta, tc;
    double *grad[N_PARTS];
    adam_t adam[N_PARTS];
} work_t;


static float *
params_of(seq_model_t *m, int part)
{
    switch (part) {
    case 0:
        return m->actor.gru->params;
    case 1:
        return m->actor.head->params;
    case 2:
        return m->critic.gru->params;
    default:
        return m->critic.head->params;
    }
}


static size_t
n_params_of(const seq_model_t *m, int part)
{
    switch (part) {
    case 0:
        return m->actor.gru->n_params;
    case 1:
        return m->actor.head->n_params;
    case 2:
        return m->critic.gru->n_params;
    default:
        return m->critic.head->n_params;
    }
}


static void
work_clear(work_t *w)
{
    free(w->start);
    free(w->order);
    free(w->x);
    free(w->logp_old);
    free(w->v_old);
    free(w->adv);
    free(w->ret);
    tape_t *t[2] = {&w->ta, &w->tc};
    for (int k = 0; k < 2; k++) {
        free(t[k]->gru);
        free(t[k]->head);
        free(t[k]->gout);
    }
    for (int p = 0; p < N_PARTS; p++) {
        free(w->grad[p]);
        adam_clear(&w->adam[p]);
    }
    memset(w, 0, sizeof *w);
}


static int
tape_init(tape_t *t, const seq_net_t *net, size_t len)
{
    t->gru = calloc(len * GRU_TRACE(net->gru->hidden), sizeof *t->gru);
    t->head = calloc(len * mlp_trace_size(net->head), sizeof *t->head);
    t->gout = calloc(len * (size_t)net->head->size[net->head->n_layers],
                     sizeof *t->gout);
    return t->gru && t->head && t->gout ? 0 : -1;
}


/*
** Episode bounds, each step's inputs (its previous step's action within the
** episode), buffers for the longest episode.  0 or -1 (memory).
*/
static int
work_init(work_t *w, const seq_model_t *m, const agg_batch_t *b, double eps)
{
    size_t n = b->n, e = 0, longest = 0;

    memset(w, 0, sizeof *w);
    w->start = calloc(b->episodes + 1, sizeof *w->start);
    w->order = calloc(b->episodes, sizeof *w->order);
    w->x = calloc(n * SEQ_INPUTS, sizeof *w->x);
    w->logp_old = calloc(n, sizeof *w->logp_old);
    w->v_old = calloc(n, sizeof *w->v_old);
    w->adv = calloc(n, sizeof *w->adv);
    w->ret = calloc(n, sizeof *w->ret);
    if (!w->start || !w->order || !w->x || !w->logp_old || !w->v_old ||
        !w->adv || !w->ret)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const agg_step_t *s = &b->steps[i];
        int first = i == 0 || b->steps[i - 1].last;
        seq_input(s->x, !first && b->steps[i - 1].action,
                  w->x + i * SEQ_INPUTS);
        if (s->last) {
            w->order[e] = e;
            w->start[++e] = i + 1;
            if (i + 1 - w->start[e - 1] > longest)
                longest = i + 1 - w->start[e - 1];
        }
    }
    if (tape_init(&w->ta, &m->actor, longest) < 0 ||
        tape_init(&w->tc, &m->critic, longest) < 0)
        goto fail;
    for (int p = 0; p < N_PARTS; p++)
        if ((w->grad[p] = calloc(n_params_of(m, p), sizeof *w->grad[p])) ==
                NULL ||
            adam_init(&w->adam[p], n_params_of(m, p), eps) < 0)
            goto fail;
    return 0;
fail:
    work_clear(w);
    return -1;
}


/* Run net over len steps of inputs x, keeping its traces in t. */
static void
tape_forward(const seq_net_t *net, const float *x, size_t len, tape_t *t)
{
    int H = net->gru->hidden;
    size_t gs = GRU_TRACE(H), hs = mlp_trace_size(net->head);
    float zero[SEQ_MAX_HIDDEN] = {0}, in[SEQ_MAX_HIDDEN + SEQ_INPUTS];

    for (size_t k = 0; k < len; k++) {
        const float *h = k ? t->gru + (k - 1) * gs + 3 * H : zero;
        float *g = t->gru + k * gs;
        gru_forward_trace(net->gru, h, x + k * SEQ_INPUTS, g);
        memcpy(in, g + 3 * H, (size_t)H * sizeof *in);
        memcpy(in + H, x + k * SEQ_INPUTS, SEQ_INPUTS * sizeof *in);
        mlp_forward_trace(net->head, in, t->head + k * hs);
    }
}


/* Step k's outputs in t: the last values of its head trace. */
static const float *
tape_out(const seq_net_t *net, const tape_t *t, size_t k)
{
    size_t hs = mlp_trace_size(net->head);

    return t->head + (k + 1) * hs -
           (size_t)net->head->size[net->head->n_layers];
}


/*
** Backpropagate t->gout through the episode's heads and GRU steps, adding
** the gradients to ggru and ghead.
*/
static void
tape_backward(const seq_net_t *net, const float *x, size_t len, const tape_t *t,
              double *ggru, double *ghead)
{
    int H = net->gru->hidden, outs = net->head->size[net->head->n_layers];
    size_t gs = GRU_TRACE(H), hs = mlp_trace_size(net->head);
    double carry[SEQ_MAX_HIDDEN] = {0}, gh[SEQ_MAX_HIDDEN];
    double gin[SEQ_MAX_HIDDEN + SEQ_INPUTS];
    float zero[SEQ_MAX_HIDDEN] = {0};

    for (size_t k = len; k-- > 0;) {
        const float *h = k ? t->gru + (k - 1) * gs + 3 * H : zero;
        mlp_backward_in(net->head, t->head + k * hs, t->gout + k * (size_t)outs,
                        ghead, gin);
        for (int j = 0; j < H; j++)
            gh[j] = gin[j] + carry[j];
        gru_backward(net->gru, h, x + k * SEQ_INPUTS, t->gru + k * gs, gh, ggru,
                     carry);
    }
}


int
seq_net_grad(const seq_net_t *net, const float *x, size_t len,
             const double *gout, double *ggru, double *ghead)
{
    tape_t t;
    size_t outs = (size_t)net->head->size[net->head->n_layers];
    int rc = -1;

    if (tape_init(&t, net, len) == 0) {
        tape_forward(net, x, len, &t);
        memcpy(t.gout, gout, len * outs * sizeof *gout);
        tape_backward(net, x, len, &t, ggru, ghead);
        rc = 0;
    }
    free(t.gru);
    free(t.head);
    free(t.gout);
    return rc;
}


static double
logit_of(const float *z)
{
    return (double)z[1] - (double)z[0];
}


/* The critic's old values over every episode. */
static void
old_values(const seq_model_t *m, const agg_batch_t *b, work_t *w)
{
    for (size_t e = 0; e < b->episodes; e++) {
        size_t s = w->start[e], len = w->start[e + 1] - s;
        tape_forward(&m->critic, w->x + s * SEQ_INPUTS, len, &w->tc);
        for (size_t k = 0; k < len; k++)
            w->v_old[s + k] = (double)tape_out(&m->critic, &w->tc, k)[0];
    }
}


/* Mean |log pi(a|s) - log behaviour| and the KL estimate over the batch. */
static void
ratio_stats(const seq_model_t *m, const agg_batch_t *b, work_t *w,
            double *abs_log_ratio, double *kl)
{
    double sa = 0, sk = 0;

    for (size_t e = 0; e < b->episodes; e++) {
        size_t s = w->start[e], len = w->start[e + 1] - s;
        tape_forward(&m->actor, w->x + s * SEQ_INPUTS, len, &w->ta);
        for (size_t k = 0; k < len; k++) {
            double d = logit_of(tape_out(&m->actor, &w->ta, k));
            double lr =
                ppo_log_prob(b->steps[s + k].action, d) - w->logp_old[s + k];
            sa += fabs(lr);
            sk += expm1(lr) - lr;
        }
    }
    *abs_log_ratio = sa / (double)b->n;
    *kl = sk / (double)b->n;
}


/* Gradients of episode e's samples, each scaled by scale; adds to *s. */
static void
one_episode(const seq_model_t *m, const agg_batch_t *b, size_t e,
            const ppo_opts_t *o, double scale, work_t *w, ppo_sums_t *s)
{
    size_t st = w->start[e], len = w->start[e + 1] - st;
    const float *x = w->x + st * SEQ_INPUTS;

    tape_forward(&m->actor, x, len, &w->ta);
    tape_forward(&m->critic, x, len, &w->tc);
    for (size_t k = 0; k < len; k++) {
        size_t i = st + k;
        double d = logit_of(tape_out(&m->actor, &w->ta, k)), gd, gv;
        double v = (double)tape_out(&m->critic, &w->tc, k)[0];
        ppo_sample_grads(o, b->steps[i].action, d, w->logp_old[i], w->adv[i], v,
                         w->v_old[i], w->ret[i], &gd, &gv, s);
        w->ta.gout[2 * k] = -gd * scale;
        w->ta.gout[2 * k + 1] = gd * scale;
        w->tc.gout[k] = gv * scale;
    }
    tape_backward(&m->actor, x, len, &w->ta, w->grad[0], w->grad[1]);
    tape_backward(&m->critic, x, len, &w->tc, w->grad[2], w->grad[3]);
}


/* One epoch: shuffled episodes in minibatches of >= mb steps. */
static void
epoch(seq_model_t *m, const agg_batch_t *b, const ppo_opts_t *o, size_t mb,
      rng_t *rng, work_t *w, ppo_sums_t *s)
{
    size_t ne = b->episodes;

    ppo_shuffle(w->order, ne, rng);
    for (size_t first = 0; first < ne;) {
        size_t last = first, steps = 0;
        while (last < ne && steps < mb) {
            size_t e = w->order[last++];
            steps += w->start[e + 1] - w->start[e];
        }
        for (int p = 0; p < N_PARTS; p++)
            memset(w->grad[p], 0, n_params_of(m, p) * sizeof *w->grad[p]);
        for (size_t k = first; k < last; k++)
            one_episode(m, b, w->order[k], o, 1.0 / (double)steps, w, s);
        size_t ng[N_PARTS];
        for (int p = 0; p < N_PARTS; p++)
            ng[p] = n_params_of(m, p);
        ppo_clip_grads(w->grad, ng, N_PARTS, o->max_grad_norm);
        for (int p = 0; p < N_PARTS; p++)
            adam_step(&w->adam[p], params_of(m, p), w->grad[p], o->lr);
        first = last;
    }
}


int
seq_ppo_update(seq_model_t *m, const agg_batch_t *b, const ppo_opts_t *o,
               ppo_stats_t *st, char *err, size_t errlen)
{
    work_t w;
    ppo_sums_t s = {0};
    ppo_stats_t stats = {0};
    size_t mb = o->minibatch > 0 ? (size_t)o->minibatch : 64;
    rng_t rng = rng_seeded(hash_combine(o->seed, 0x7365712d70706fULL));
    double kl;

    if (ppo_check_batch(b, err, errlen) < 0)
        return -1;
    if (work_init(&w, m, b, o->adam_eps) < 0)
        return errf(err, errlen, "out of memory for a batch of %zu steps",
                    b->n);
    old_values(m, b, &w);
    ppo_gae(b, o, w.v_old, w.logp_old, w.adv, w.ret);
    for (size_t i = 0; i < b->n; i++)
        stats.mean_return += b->steps[i].reward;
    stats.steps = b->n;
    stats.episodes = b->episodes;
    stats.mean_return /= (double)b->episodes;
    ratio_stats(m, b, &w, &stats.start_log_ratio, &kl);
    for (int e = 0; e < o->epochs; e++) {
        memset(&s, 0, sizeof s);
        epoch(m, b, o, mb, &rng, &w, &s);
    }
    ppo_finish(&stats, &s);
    double dummy;
    ratio_stats(m, b, &w, &dummy, &stats.approx_kl);
    if (st != NULL)
        *st = stats;
    work_clear(&w);
    return 0;
}
