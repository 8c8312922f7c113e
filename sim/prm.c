/*
** prm.c: the simulated process reward model.
**
** It replays the problem's operations to know every true value, reads the
** value each step wrote, and labels the step: S0 when its value is right, S2
** when it is wrong after a right one (or first), S1 when it is wrong after a
** wrong one.  Without a repair this is the usual "S0 while every step so far
** is right, S2 for the first wrong one, S1 after it"; a strong step that
** repairs a derailment writes the true value again and is S0.  A step that
** states no value counts as wrong.  The score of step i is then drawn from
** P(current bin | min previous bin, state), the measured behaviour of
** Qwen2.5-Math-PRM-7B, where the min previous score is the minimum of this
** PRM's own scores of steps 0..i-1 (1.0 before the first step), and placed
** uniformly inside its 0.05 bin.  The score reported is that calibrated
** score sharpened (see sharpen): the real PRM judges the real weak model's
** steps on MATH-500 more decisively than the ProcessBench steps the
** distributions were fitted on.  On a wrong step (S1 or S2) the PRM is blind
** with the problem class's probability prm_blind: it scores the step from
** the S0 distribution, as if it were right, so errors go unnoticed more often
** on the problems where they are likely.
**
** Like a real PRM it is deterministic: the draw for step i is keyed by the
** hash of the problem and steps[0..i] only, so scoring a longer history
** gives the same earlier scores.
*/
#include <math.h>
#include <string.h>

#include "sim_internal.h"

static int
score_bin(double score)
{
    int bin = (int)(score * SIM_BINS);
    return bin < 0 ? 0 : bin >= SIM_BINS ? SIM_BINS - 1 : bin;
}

/* Draw a score in [0,1) from the row cdf[0..SIM_BINS). */
static double
draw_score(const double *cdf, uint64_t h)
{
    rng_t r = rng_seeded(hash_combine(h, SIM_KEY_PRM));
    double u = rng_uniform(&r);
    int j = 0;
    while (j < SIM_BINS - 1 && u >= cdf[j])
        j++;
    return (j + rng_uniform(&r)) / SIM_BINS;
}

/*
** The score the PRM reports for a calibrated score x: x itself at sharpness
** 1, else sigmoid(sharpness * logit(x)), which pushes scores toward 0 and 1
** (sharpness > 1) and keeps their order, so the minimum previous score is
** the same step either way.
*/
static float
sharpen(double x, double sharpness, double shift)
{
    if ((sharpness == 1.0 && shift == 0.0) || x <= 0.0)
        return (float)x;
    return (float)(1.0 / (1.0 + pow((1.0 - x) / x, sharpness) * exp(-shift)));
}

/* Score every step of a history; see sim.h. */
int
sim_score_cached(const sim_world_t *w, sim_cache_t *cache, const char *problem,
                 const char *const *steps, size_t n_steps, float *scores,
                 sim_state_t *states, int *input_tokens, int64_t *latency_us,
                 char *err, size_t errlen)
{
    sim_text_t t;
    int64_t truth[SIM_MAX_OPS];
    uint64_t h;
    size_t plen, bytes;
    int on_track = 1, tokens;
    double blind, noise, x, minprev = 1.0;

    if (n_steps > 0 && (!steps || !scores))
        return errf(err, errlen, "sim_score: %zu steps but no %s array",
                    n_steps, steps ? "scores" : "steps");
    if (sim_cache_read(cache, problem, &t, &plen, &h, err, errlen) < 0)
        return -1;
    sim_truth(&t, truth);
    bytes = plen;
    blind = w->p.prm_blind[sim_class_of(w, h)];
    noise = w->p.prm_noise[sim_class_of(w, h)];

    for (size_t i = 0; i < n_steps; i++) {
        /* Past the last operation the true value stays the answer. */
        int64_t want = truth[i < (size_t)t.n_ops ? i : (size_t)t.n_ops - 1];
        int64_t got;
        int right = sim_step_value(steps[i], &got) == 0 && got == want;
        sim_state_t s = right ? SIM_S0 : on_track ? SIM_S2 : SIM_S1;
        sim_state_t seen = s;

        on_track = right;
        h = sim_step_hash_bytes(h, steps[i], &bytes);
        if (s != SIM_S0 && blind > 0 && sim_unit(h, SIM_KEY_BLIND) < blind)
            seen = SIM_S0; /* the PRM misses this error */
        if (noise > 0) {
            double u = sim_unit(h, SIM_KEY_NOISE);
            if (u < noise) /* the PRM cannot tell: any state alike */
                seen = (sim_state_t)(int)(3.0 * u / noise);
        }
        x = draw_score(w->cdf[seen][score_bin(minprev)], h);
        if (x < minprev)
            minprev = x;
        scores[i] = sharpen(x, w->p.prm_sharpness, w->p.prm_shift[seen]);
        if (states)
            states[i] = s;
    }

    tokens = sim_prompt_tokens_of(bytes);
    if (input_tokens)
        *input_tokens = tokens;
    if (latency_us)
        *latency_us = llround(w->p.prm_base_us + w->p.prm_prefill_us * tokens);
    return 0;
}

int
sim_score(const sim_world_t *w, const char *problem, const char *const *steps,
          size_t n_steps, float *scores, sim_state_t *states, int *input_tokens,
          int64_t *latency_us, char *err, size_t errlen)
{
    return sim_score_cached(w, NULL, problem, steps, n_steps, scores, states,
                            input_tokens, latency_us, err, errlen);
}
