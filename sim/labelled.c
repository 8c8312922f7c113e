/*
** labelled.c: a simulated model's whole solution with its first wrong step,
** the step-labelled data ProcessBench has (see sim_labelled_solution).
*/
#include <stdlib.h>

#include "sim_internal.h"

#define SIM_KEY_LABELLED 0x6c6162656cULL /* sampling seeds of these runs */


void
sim_labelled_clear(sim_labelled_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_steps; i++)
        free(s->steps[i]);
    free(s->steps);
    sim_problem_clear(&s->problem);
    *s = (sim_labelled_t){0};
}


/* Append the next step of s's solution by model; 0, or -1 with err. */
static int
next_step(const sim_world_t *w, sim_model_t model, uint64_t seed,
          sim_labelled_t *s, int *done, char *err, size_t errlen)
{
    sim_step_t step = {0};
    char **grown = realloc(s->steps, (s->n_steps + 1) * sizeof *grown);

    if (grown == NULL)
        return errf(err, errlen, "out of memory");
    s->steps = grown;
    uint64_t k = hash_combine(hash_combine(seed, SIM_KEY_LABELLED), s->n_steps);
    if (sim_generate(w, model, s->problem.text, (const char *const *)s->steps,
                     s->n_steps, 0, k, &step, err, errlen) < 0)
        return -1;
    s->steps[s->n_steps++] = step.text; /* taken over */
    *done = step.finish == SIM_FINISH_END;
    return 0;
}


int
sim_labelled_solution(const sim_world_t *w, uint64_t seed, uint64_t index,
                      sim_model_t model, sim_labelled_t *out, char *err,
                      size_t errlen)
{
    float scores[SIM_MAX_OPS];
    sim_state_t states[SIM_MAX_OPS];
    int done = 0;

    *out = (sim_labelled_t){.label = -1};
    if (sim_problem_make(w, seed, index, &out->problem) < 0)
        return errf(err, errlen, "out of memory");
    uint64_t sampling = sim_problem_seed(seed, index);
    while (!done && out->n_steps < SIM_MAX_OPS)
        if (next_step(w, model, sampling, out, &done, err, errlen) < 0)
            goto fail;
    if (sim_score(w, out->problem.text, (const char *const *)out->steps,
                  out->n_steps, scores, states, NULL, NULL, err, errlen) < 0)
        goto fail;
    /* The first step not in S0 is the first error, as ProcessBench labels
    ** it (a strong step that later repairs the solution does not undo it). */
    for (size_t i = 0; i < out->n_steps && out->label < 0; i++)
        if (states[i] != SIM_S0)
            out->label = (int)i;
    return 0;
fail:
    sim_labelled_clear(out);
    return -1;
}
