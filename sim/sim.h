/*
** sim.h: the simulated reasoning world.
**
** A seeded generator writes arithmetic word problems with a known integer
** answer.  Simulated weak and strong models read the prompt (the problem and
** the steps accepted so far), recover the current value from the last step's
** text and write the next step; they err with a probability set per model and
** per step hardness, and errors cascade because later steps compute from the
** value actually written.  A simulated PRM replays the operations, labels each
** step S0/S1/S2 and samples its score from the measured per-state score
** distributions of Qwen2.5-Math-PRM-7B.
**
** Everything is a pure function of its inputs: the same (seed, model, prompt)
** always gives the same step, on any thread or process.  The world object is
** read-only after sim_world_new and may be shared by threads.
*/
#ifndef TRIM_SIM_H
#define TRIM_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SIM_WEAK = 0, SIM_STRONG = 1 } sim_model_t;

/* Hidden state of a step, as the PRM calibration defines it. */
typedef enum {
    SIM_S0 = 0, /* every step so far correct */
    SIM_S1 = 1, /* an earlier step was wrong (derailed) */
    SIM_S2 = 2  /* this step is the first wrong one (fixable) */
} sim_state_t;

typedef enum {
    SIM_FINISH_STEP = 0,  /* stopped at the step delimiter */
    SIM_FINISH_END = 1,   /* the solution is complete (end of sequence) */
    SIM_FINISH_LENGTH = 2 /* cut at max_tokens */
} sim_finish_t;

typedef struct sim_params {
    double accuracy[2];        /* next-step accuracy from a correct prefix */
    double tokens_per_step[2]; /* mean completion tokens per step */
    double critical_fraction;  /* share of steps that are critical */
    double critical_factor;    /* error rate critical / error rate routine */
    double base_us[2];         /* latency model per call: fixed part */
    double prefill_us[2];      /* ... per prompt token */
    double decode_us[2];       /* ... per completion token */
    double prm_base_us;        /* PRM call: fixed part */
    double prm_prefill_us;     /* ... per input token */
} sim_params_t;

typedef struct sim_world sim_world_t;

typedef struct sim_problem {
    char *text;   /* the word problem (malloc'd) */
    char *answer; /* the integer answer as text (malloc'd) */
    int n_steps;  /* steps in a correct solution */
} sim_problem_t;

typedef struct sim_step {
    char *text;            /* the step, without delimiter (malloc'd) */
    int prompt_tokens;     /* estimated tokens of the prompt */
    int completion_tokens; /* tokens the simulated model wrote */
    sim_finish_t finish;
    int64_t latency_us; /* what the latency model says the call took */
} sim_step_t;

/*
** Fill *p with the defaults: next-step accuracies 0.866 (weak) and 0.9704
** (strong), tokens per step from the measured MATH-500 means, and zero
** latency.
*/
void sim_params_default(sim_params_t *p);

/*
** Create a world.  calibration_path NULL uses the embedded fit of the PRM
** score distributions; otherwise the file (in the format of
** qwen2.5-math-prm-7b.json) is loaded and its full grids are used.  Returns
** NULL with a reason in err when the file is missing or malformed.
*/
sim_world_t *sim_world_new(const sim_params_t *p, const char *calibration_path,
                           char *err, size_t errlen);

/* Free a world and clear the pointer; NULL-safe. */
void sim_world_destroy(sim_world_t **w);

/* The parameters a world was made with. */
const sim_params_t *sim_world_params(const sim_world_t *w);

/*
** Write problem number index of the problem set seed into *out (caller frees
** with sim_problem_clear).  Returns 0, or -1 on allocation failure.
*/
int sim_problem_make(const sim_world_t *w, uint64_t seed, uint64_t index,
                     sim_problem_t *out);

/*
** The sampling seed of problem number index of the problem set seed: every
** way of submitting simulated problems uses it, so the same set solved by
** `trim run` or by a cluster samples alike.
*/
uint64_t sim_problem_seed(uint64_t seed, uint64_t index);

/* Free the strings of a problem; NULL-safe, idempotent. */
void sim_problem_clear(sim_problem_t *p);

/*
** The simulated model writes the next step after the given accepted steps.
** seed is the request's sampling seed.  At most max_tokens tokens (0 = no
** limit).  Returns 0 with *out filled (caller frees with sim_step_clear), or
** -1 with a reason in err when the problem text is not a simulated problem.
*/
int sim_generate(const sim_world_t *w, sim_model_t model, const char *problem,
                 const char *const *steps, size_t n_steps, int max_tokens,
                 uint64_t seed, sim_step_t *out, char *err, size_t errlen);

/* Free the text of a step; NULL-safe, idempotent. */
void sim_step_clear(sim_step_t *s);

#define SIM_BINS 20 /* PRM score bins of width 0.05 on [0,1] */

/*
** The distribution the simulated PRM samples a step's score from:
** out[j] = P(score in bin j | min previous score in bin minprev_bin, state).
** Bin i covers [0.05 i, 0.05 (i+1)); a score of 1 falls in bin 19.
*/
void sim_world_score_pmf(const sim_world_t *w, sim_state_t state,
                         int minprev_bin, double out[SIM_BINS]);

/*
** The simulated PRM scores every step of a history: scores[i] in [0,1] for
** i < n_steps, a deterministic function of the problem and steps[0..i].
** states (may be NULL) receives each step's hidden state.  *input_tokens and
** *latency_us (either may be NULL) receive the call's size and modelled
** time.  Returns 0, or -1 with a reason in err when the problem text is not a
** simulated problem.
*/
int sim_score(const sim_world_t *w, const char *problem,
              const char *const *steps, size_t n_steps, float *scores,
              sim_state_t *states, int *input_tokens, int64_t *latency_us,
              char *err, size_t errlen);

#endif
