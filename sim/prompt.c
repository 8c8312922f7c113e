/*
** prompt.c: what the simulated models and PRM derive from a prompt besides
** its meaning: its identity (hashes keying every random draw), the
** difficulty class of the problem, the hardness of each step, and its size in
** tokens.
*/
#include <string.h>

#include "sim_internal.h"

/* Hash of a problem text, the root of every key derived from a prompt. */
uint64_t
sim_problem_hash(const char *problem, size_t len)
{
    return hash_bytes(SIM_KEY_TEXT, problem, len);
}

/*
** Extend a prompt hash h with one more step, so the hash of problem +
** steps[0..i] is computed once per step and prefixes hash the same way in
** every caller.  A NULL step hashes as empty.  Adds to *bytes what the step
** counts towards sim_prompt_tokens_of (its length and the blank line after
** it), so a caller measures each step once.
*/
uint64_t
sim_step_hash_bytes(uint64_t h, const char *step, size_t *bytes)
{
    size_t n = step ? strlen(step) : 0;
    *bytes += n + 2;
    return hash_combine(h, hash_bytes(SIM_KEY_STEP, step ? step : "", n));
}

/*
** Is step index of this problem critical (hard)?  Decided by the problem and
** the index alone, so both models find the same steps hard.
*/
int
sim_step_critical(const sim_world_t *w, uint64_t problem_hash, size_t index)
{
    uint64_t h = hash_combine(hash_combine(problem_hash, SIM_KEY_CRITICAL),
                              (uint64_t)index);
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    return u < w->p.critical_fraction;
}

/* A uniform number in [0,1) keyed by a prompt hash and a use. */
double
sim_unit(uint64_t h, uint64_t key)
{
    return (double)(hash_combine(h, key) >> 11) * (1.0 / 9007199254740992.0);
}

/*
** The difficulty class of a problem: a uniform draw keyed by the problem
** text against the cumulative class shares, so every model, PRM and process
** that reads the same text under the same parameters agrees.
*/
int
sim_class_of(const sim_world_t *w, uint64_t problem_hash)
{
    double u = sim_unit(problem_hash, SIM_KEY_CLASS);
    for (int k = 0; k < SIM_CLASSES - 1; k++)
        if (u < w->class_cut[k])
            return k;
    return SIM_CLASSES - 1;
}

/*
** Estimated tokens of a prompt of bytes bytes (the problem, the steps and
** a blank line after each: sim_step_hash_bytes): about 4 bytes a token.
*/
int
sim_prompt_tokens_of(size_t bytes)
{
    bytes /= 4;
    return bytes > 0x7fffffff ? 0x7fffffff : (int)(bytes ? bytes : 1);
}
