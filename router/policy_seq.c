/*
** policy_seq.c: TRIM-Seq, a learned recurrent policy over the sequence of
** per-step observations ("seq:FILE"; the model and its file: seq.h).
**
** The GRU's state travels in the belief: [h_1 .. h_H, last action], empty
** at a problem's first step (h = 0, no regeneration before).  Decisions are
** greedy by default and sampled from the step's own seed in exploring runs,
** with the budget bias moving the logit difference, as TRIM-Agg's
** (policy_agg.c).  A budget cap that overrides a regeneration leaves the
** belief saying "regenerated": such problems are not trained on.
*/
#include <math.h>
#include <stdio.h>

#include "agg.h"
#include "errf.h"
#include "hash.h"
#include "policy_kinds.h"
#include "seq.h"

#define SEQ_SEED_TAG 0x7365712d65787000ULL /* "seq-exp" */


static int
init_seq(policy_t *p, const char *arg, char *err, size_t errlen)
{
    seq_model_t *m;

    if (arg == NULL || *arg == '\0')
        return errf(err, errlen, "needs a policy file after the colon (%s)",
                    p->kind->usage);
    if (seq_model_load(arg, &m, err, errlen) < 0)
        return -1;
    p->state = m;
    p->arg = m->lambda;
    snprintf(p->spec, sizeof p->spec, "seq:%s", arg);
    return 0;
}


static int
decide_seq(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    const seq_model_t *m = p->state;
    int H = m->actor.gru->hidden;
    float ax[AGG_FEATURES], x[SEQ_INPUTS], h[SEQ_MAX_HIDDEN] = {0}, z[2];
    int prev = 0;

    if (f->n_belief != 0 && f->n_belief != (size_t)H + 1)
        return errf(out->reason, sizeof out->reason,
                    "seq: a belief of %zu values; this policy carries %d",
                    f->n_belief, H + 1);
    for (size_t i = 0; i < f->n_belief; i++)
        if (!isfinite(f->belief[i]))
            return errf(out->reason, sizeof out->reason,
                        "seq: belief value %zu is not finite", i);
    if (f->n_belief) {
        for (int i = 0; i < H; i++)
            h[i] = f->belief[i];
        prev = f->belief[H] > 0.5f;
    }
    agg_features(f, ax);
    seq_input(ax, prev, x);
    for (int i = 0; i < SEQ_INPUTS; i++)
        if (!isfinite(x[i]))
            return errf(out->reason, sizeof out->reason,
                        "seq: input %d is not a finite number", i);
    if (!isfinite(f->bias))
        return errf(out->reason, sizeof out->reason, "seq: bias is not finite");
    seq_net_step(&m->actor, h, x, out->belief, z);
    double prob = agg_prob(z[1] - z[0], f->bias);
    if (f->explore) {
        rng_t rng = rng_seeded(hash_combine(f->seed, SEQ_SEED_TAG));
        out->regenerate = rng_uniform(&rng) < prob;
    } else {
        out->regenerate = prob > 0.5;
    }
    out->prob = (float)(out->regenerate ? prob : 1.0 - prob);
    out->belief[H] = (float)out->regenerate;
    out->n_belief = (size_t)H + 1;
    snprintf(out->reason, sizeof out->reason,
             "seq p(regenerate)=%.3f (lambda %g)%s", prob, m->lambda,
             f->explore ? " sampled" : "");
    return 0;
}


static void
destroy_seq(void *state)
{
    seq_model_t *m = state;

    seq_model_destroy(&m);
}


const policy_kind_t policy_kind_seq = {
    "seq",    POLICY_ROUTED, "seq:FILE, a policy file from trim train seq",
    init_seq, decide_seq,    destroy_seq};
