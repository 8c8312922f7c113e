/*
** prm.c: the simulated process reward model.
**
** It replays the problem's operations to know every true value, reads the
** value each step wrote, and labels the step: S0 while every step so far is
** right, S2 for the first wrong one, S1 after it.  A step that states no
** value counts as wrong.  The score of step i is then drawn from
** P(current bin | min previous bin, state), the measured behaviour of
** Qwen2.5-Math-PRM-7B, where the min previous score is the minimum of this
** PRM's own scores of steps 0..i-1 (1.0 before the first step), and placed
** uniformly inside its 0.05 bin.
**
** Like a real PRM it is deterministic: the draw for step i is keyed by the
** hash of the problem and steps[0..i] only, so scoring a longer history
** gives the same earlier scores.
*/
#include <math.h>
#include <string.h>

#include "sim_internal.h"

static int
score_bin(float score)
{
    int bin = (int)(score * (float)SIM_BINS);
    return bin < 0 ? 0 : bin >= SIM_BINS ? SIM_BINS - 1 : bin;
}

/* Draw a score in [0,1) from the row cdf[0..SIM_BINS). */
static float
draw_score(const double *cdf, uint64_t h)
{
    rng_t r = rng_seeded(hash_combine(h, SIM_KEY_PRM));
    double u = rng_uniform(&r);
    int j = 0;
    while (j < SIM_BINS - 1 && u >= cdf[j])
        j++;
    return (float)((j + rng_uniform(&r)) / SIM_BINS);
}

/* Score every step of a history; see sim.h. */
int
sim_score(const sim_world_t *w, const char *problem, const char *const *steps,
          size_t n_steps, float *scores, sim_state_t *states, int *input_tokens,
          int64_t *latency_us, char *err, size_t errlen)
{
    sim_text_t t;
    int64_t truth[SIM_MAX_OPS];
    uint64_t h;
    size_t plen;
    int derailed = 0, tokens;
    float minprev = 1.0f;

    if (n_steps > 0 && (!steps || !scores)) {
        sim_errf(err, errlen, "sim_score: %zu steps but no %s array", n_steps,
                 steps ? "scores" : "steps");
        return -1;
    }
    if (sim_text_parse(problem, &t, err, errlen) < 0)
        return -1;
    sim_truth(&t, truth);
    plen = strlen(problem);
    h = sim_problem_hash(problem, plen);

    for (size_t i = 0; i < n_steps; i++) {
        /* Past the last operation the true value stays the answer. */
        int64_t want = truth[i < (size_t)t.n_ops ? i : (size_t)t.n_ops - 1];
        int64_t got;
        int right = sim_step_value(steps[i], &got) == 0 && got == want;
        sim_state_t s = derailed ? SIM_S1 : right ? SIM_S0 : SIM_S2;

        derailed |= !right;
        h = sim_step_hash(h, steps[i]);
        scores[i] = draw_score(w->cdf[s][score_bin(minprev)], h);
        if (scores[i] < minprev)
            minprev = scores[i];
        if (states)
            states[i] = s;
    }

    tokens = sim_prompt_tokens(plen, steps, n_steps);
    if (input_tokens)
        *input_tokens = tokens;
    if (latency_us)
        *latency_us = llround(w->p.prm_base_us + w->p.prm_prefill_us * tokens);
    return 0;
}
