/*
** train_ppo.c: one PPO update of a TRIM-Agg model from logged episodes
** (see train.h).
**
** The actor's two logits enter the loss only through their difference d,
** so p(regenerate) = logistic(d), log pi(a) = log logistic(+-d), and every
** per-sample gradient is a gradient in d, pushed as (-g, +g) onto the
** (keep, regenerate) logits.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "hash.h"
#include "train.h"
#include "train_ppo.h"

/* Scratch for one update. */
typedef struct work {
    double *logp_old, *v_old, *adv, *ret;
    size_t *idx;
    float *trace_a, *trace_c;
    double *grad_a, *grad_c;
    adam_t adam_a, adam_c;
} work_t;


void
ppo_opts_default(ppo_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 4;
    o->minibatch = 64;
    o->lr = 3e-4;
    o->adam_eps = 1e-5;
    o->clip = 0.2;
    o->value_clip = 0.2;
    o->gamma = 1.0;
    o->gae_lambda = 0.95;
    o->value_coef = 0.5;
    o->entropy_coef = 0.01;
    o->max_grad_norm = 0.5;
    o->seed = 1;
}


/* log logistic(d), without overflow. */
static double
log_sigmoid(double d)
{
    return d < 0 ? d - log1p(exp(d)) : -log1p(exp(-d));
}


static double
sigmoid(double d)
{
    return 1.0 / (1.0 + exp(-d));
}


/* Entropy of a Bernoulli(p) with logit d, in nats. */
static double
entropy_of(double d)
{
    double p = sigmoid(d);

    return -(p * log_sigmoid(d) + (1.0 - p) * log_sigmoid(-d));
}


static double
actor_d(const mlp_t *actor, const float *x, float *trace)
{
    const float *z = trace + mlp_trace_size(actor) - 2;

    mlp_forward_trace(actor, x, trace);
    return (double)z[1] - (double)z[0];
}


static double
critic_v(const mlp_t *critic, const float *x, float *trace)
{
    mlp_forward_trace(critic, x, trace);
    return (double)trace[mlp_trace_size(critic) - 1];
}


int
ppo_check_batch(const agg_batch_t *b, char *err, size_t errlen)
{
    if (b->n == 0 || b->episodes == 0)
        return errf(err, errlen, "no episodes to train on");
    if (!b->steps[b->n - 1].last)
        return errf(err, errlen, "the batch ends inside an episode");
    for (size_t i = 0; i < b->n; i++) {
        const agg_step_t *s = &b->steps[i];
        int ok = (s->action == 0 || s->action == 1) && s->prob > 0.0f &&
                 s->prob <= 1.0f && isfinite(s->reward);
        for (int k = 0; k < AGG_FEATURES; k++)
            ok = ok && isfinite(s->x[k]);
        if (!ok)
            return errf(err, errlen,
                        "step %zu of the batch has a bad action, "
                        "probability, reward or feature",
                        i);
    }
    return 0;
}


/* Free the buffers and zero *w; idempotent. */
static void
work_clear(work_t *w)
{
    free(w->logp_old);
    free(w->v_old);
    free(w->adv);
    free(w->ret);
    free(w->idx);
    free(w->trace_a);
    free(w->trace_c);
    free(w->grad_a);
    free(w->grad_c);
    adam_clear(&w->adam_a);
    adam_clear(&w->adam_c);
    memset(w, 0, sizeof *w);
}


/* Buffers for a batch of n steps and both networks; 0 or -1 (memory). */
static int
work_init(work_t *w, const agg_model_t *m, size_t n, double eps)
{
    memset(w, 0, sizeof *w);
    w->logp_old = calloc(n, sizeof *w->logp_old);
    w->v_old = calloc(n, sizeof *w->v_old);
    w->adv = calloc(n, sizeof *w->adv);
    w->ret = calloc(n, sizeof *w->ret);
    w->idx = calloc(n, sizeof *w->idx);
    w->trace_a = calloc(mlp_trace_size(m->actor), sizeof *w->trace_a);
    w->trace_c = calloc(mlp_trace_size(m->critic), sizeof *w->trace_c);
    w->grad_a = calloc(m->actor->n_params, sizeof *w->grad_a);
    w->grad_c = calloc(m->critic->n_params, sizeof *w->grad_c);
    if (!w->logp_old || !w->v_old || !w->adv || !w->ret || !w->idx ||
        !w->trace_a || !w->trace_c || !w->grad_a || !w->grad_c ||
        adam_init(&w->adam_a, m->actor->n_params, eps) < 0 ||
        adam_init(&w->adam_c, m->critic->n_params, eps) < 0) {
        work_clear(w);
        return -1;
    }
    return 0;
}


void
ppo_gae(const agg_batch_t *b, const ppo_opts_t *o, const double *v_old,
        double *logp_old, double *adv, double *ret)
{
    double next_v = 0, next_adv = 0, sum = 0, sq = 0;
    size_t n = b->n;

    for (size_t i = 0; i < n; i++)
        logp_old[i] = log((double)b->steps[i].prob);
    for (size_t k = n; k-- > 0;) {
        const agg_step_t *s = &b->steps[k];
        if (s->last)
            next_v = next_adv = 0;
        double delta = s->reward + o->gamma * next_v - v_old[k];
        adv[k] = delta + o->gamma * o->gae_lambda * next_adv;
        ret[k] = adv[k] + v_old[k];
        next_v = v_old[k];
        next_adv = adv[k];
    }
    for (size_t i = 0; i < n; i++)
        sum += adv[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sq += (adv[i] - mean) * (adv[i] - mean);
    double sd = sqrt(sq / (double)n);
    for (size_t i = 0; i < n; i++)
        adv[i] = (adv[i] - mean) / (sd + 1e-8);
}


/* The critic's old values, then ppo_gae. */
static void
advantages(const agg_model_t *m, const agg_batch_t *b, const ppo_opts_t *o,
           work_t *w)
{
    for (size_t i = 0; i < b->n; i++)
        w->v_old[i] = critic_v(m->critic, b->steps[i].x, w->trace_c);
    ppo_gae(b, o, w->v_old, w->logp_old, w->adv, w->ret);
}


void
ppo_sample_grads(const ppo_opts_t *o, int action, double d, double logp_old,
                 double A, double v, double v_old, double ret, double *gd_out,
                 double *gv_out, ppo_sums_t *s)
{
    double p = sigmoid(d);
    double logp = action ? log_sigmoid(d) : log_sigmoid(-d);
    double ratio = exp(logp - logp_old);
    double rc = ratio < 1 - o->clip   ? 1 - o->clip
                : ratio > 1 + o->clip ? 1 + o->clip
                                      : ratio;
    double s1 = ratio * A, s2 = rc * A, gd = 0, gv;

    /* -min(s1, s2): the unclipped term carries the gradient when it is
    ** the smaller; the clipped one is flat in d. */
    if (s1 <= s2)
        gd -= A * ratio * ((double)action - p);
    /* - entropy_coef * H, with dH/dd = -d p (1 - p). */
    gd += o->entropy_coef * d * p * (1.0 - p);

    double l1 = (v - ret) * (v - ret);
    if (o->value_clip > 0) {
        double dv = v - v_old;
        double vc = v_old + (dv < -o->value_clip  ? -o->value_clip
                             : dv > o->value_clip ? o->value_clip
                                                  : dv);
        double l2 = (vc - ret) * (vc - ret);
        if (l1 >= l2) {
            gv = o->value_coef * (v - ret);
        } else {
            gv = vc == v ? o->value_coef * (v - ret) : 0;
            l1 = l2;
        }
    } else {
        gv = o->value_coef * (v - ret);
    }
    *gd_out = gd;
    *gv_out = gv;
    s->policy += -(s1 < s2 ? s1 : s2);
    s->value += 0.5 * l1;
    s->entropy += entropy_of(d);
    s->clipped += fabs(ratio - 1) > o->clip;
    s->n++;
}


/* Loss gradients of one sample into the gradient sums; adds to *s. */
static void
one_sample(const agg_model_t *m, const agg_step_t *st, size_t i,
           const ppo_opts_t *o, double scale, work_t *w, ppo_sums_t *s)
{
    double d = actor_d(m->actor, st->x, w->trace_a);
    double v = critic_v(m->critic, st->x, w->trace_c), gd, gv;

    ppo_sample_grads(o, st->action, d, w->logp_old[i], w->adv[i], v,
                     w->v_old[i], w->ret[i], &gd, &gv, s);
    double ga[2] = {-gd * scale, gd * scale};
    mlp_backward(m->actor, w->trace_a, ga, w->grad_a);
    gv *= scale;
    mlp_backward(m->critic, w->trace_c, &gv, w->grad_c);
}


void
ppo_clip_grads(double *const *g, const size_t *n, int k, double max)
{
    double sq = 0;

    for (int j = 0; j < k; j++)
        for (size_t i = 0; i < n[j]; i++)
            sq += g[j][i] * g[j][i];
    double norm = sqrt(sq);
    if (max <= 0 || norm <= max)
        return;
    double f = max / (norm + 1e-12);
    for (int j = 0; j < k; j++)
        for (size_t i = 0; i < n[j]; i++)
            g[j][i] *= f;
}


double
ppo_log_prob(int action, double d)
{
    return action ? log_sigmoid(d) : log_sigmoid(-d);
}


void
ppo_shuffle(size_t *idx, size_t n, rng_t *rng)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(rng, i + 1);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}


void
ppo_finish(ppo_stats_t *st, const ppo_sums_t *s)
{
    if (s->n > 0) {
        st->policy_loss = s->policy / (double)s->n;
        st->value_loss = s->value / (double)s->n;
        st->entropy = s->entropy / (double)s->n;
        st->clip_fraction = (double)s->clipped / (double)s->n;
    }
}


/* Mean |log pi(a|s) - log behaviour| and the KL estimate over the batch. */
static void
ratio_stats(const agg_model_t *m, const agg_batch_t *b, work_t *w,
            double *abs_log_ratio, double *kl)
{
    double sa = 0, sk = 0;

    for (size_t i = 0; i < b->n; i++) {
        const agg_step_t *s = &b->steps[i];
        double d = actor_d(m->actor, s->x, w->trace_a);
        double lr = ppo_log_prob(s->action, d) - w->logp_old[i];
        sa += fabs(lr);
        /* (r - 1) - log r; expm1 keeps the digits of r - 1 near r = 1 */
        sk += expm1(lr) - lr;
    }
    *abs_log_ratio = sa / (double)b->n;
    *kl = sk / (double)b->n;
}


int
ppo_update(agg_model_t *m, const agg_batch_t *b, const ppo_opts_t *o,
           ppo_stats_t *st, char *err, size_t errlen)
{
    work_t w;
    ppo_sums_t s = {0};
    ppo_stats_t stats = {0};
    size_t n = b->n, mb = o->minibatch > 0 ? (size_t)o->minibatch : 64;
    rng_t rng = rng_seeded(hash_combine(o->seed, 0x70706fULL));
    double kl;

    if (ppo_check_batch(b, err, errlen) < 0)
        return -1;
    if (work_init(&w, m, n, o->adam_eps) < 0)
        return errf(err, errlen, "out of memory for a batch of %zu steps", n);
    advantages(m, b, o, &w);
    for (size_t i = 0; i < n; i++) {
        w.idx[i] = i;
        stats.mean_return += b->steps[i].reward;
    }
    stats.steps = n;
    stats.episodes = b->episodes;
    stats.mean_return /= (double)b->episodes;
    ratio_stats(m, b, &w, &stats.start_log_ratio, &kl);

    for (int e = 0; e < o->epochs; e++) {
        memset(&s, 0, sizeof s);
        ppo_shuffle(w.idx, n, &rng);
        for (size_t start = 0; start < n; start += mb) {
            size_t end = start + mb < n ? start + mb : n;
            double scale = 1.0 / (double)(end - start);
            memset(w.grad_a, 0, m->actor->n_params * sizeof *w.grad_a);
            memset(w.grad_c, 0, m->critic->n_params * sizeof *w.grad_c);
            for (size_t k = start; k < end; k++)
                one_sample(m, &b->steps[w.idx[k]], w.idx[k], o, scale, &w, &s);
            double *g[2] = {w.grad_a, w.grad_c};
            size_t ng[2] = {m->actor->n_params, m->critic->n_params};
            ppo_clip_grads(g, ng, 2, o->max_grad_norm);
            adam_step(&w.adam_a, m->actor->params, w.grad_a, o->lr);
            adam_step(&w.adam_c, m->critic->params, w.grad_c, o->lr);
        }
    }
    ppo_finish(&stats, &s);
    double dummy;
    ratio_stats(m, b, &w, &dummy, &stats.approx_kl);
    if (st != NULL)
        *st = stats;
    work_clear(&w);
    return 0;
}
