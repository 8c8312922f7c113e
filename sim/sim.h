/*
** sim.h: the simulated reasoning world.
**
** A seeded generator writes arithmetic word problems with a known integer
** answer.  Problems are of mixed difficulty (easy, medium, hard, by a hash of
** the text).  Simulated weak and strong models read the prompt (the problem
** and the steps accepted so far), recover the current value from the last
** step's text and write the next step; they err with a probability set per
** model, problem class and step hardness, and errors cascade because later
** steps compute from the value actually written, unless a strong step goes
** back to the problem and repairs the derailment.  A simulated PRM replays
** the operations, labels each step S0/S1/S2 and samples its score from the
** measured per-state score distributions of Qwen2.5-Math-PRM-7B; on harder
** problems it more often scores a wrong step as a right one.
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

/*
** Hidden state of a step, as the PRM calibration defines it.  A strong step
** that repairs a derailment writes the true value again: it and the right
** steps after it are S0 once more.
*/
typedef enum {
    SIM_S0 = 0, /* every step so far correct (or repaired) */
    SIM_S1 = 1, /* an earlier step was wrong (derailed) */
    SIM_S2 = 2  /* this step is the first wrong one (fixable) */
} sim_state_t;

typedef enum {
    SIM_FINISH_STEP = 0,  /* stopped at the step delimiter */
    SIM_FINISH_END = 1,   /* the solution is complete (end of sequence) */
    SIM_FINISH_LENGTH = 2 /* cut at max_tokens */
} sim_finish_t;

/* Problem difficulty classes: every problem belongs to one, decided by a
** hash of its text, and both models' error rates move with it. */
#define SIM_CLASSES 3
typedef enum { SIM_EASY = 0, SIM_MEDIUM = 1, SIM_HARD = 2 } sim_class_t;

/*
** The world's physical parameters.  sim_params_default() gives the fit to the
** real MATH-500 TRIM-Thr sweep (params.c documents each value and where it
** comes from); sim_params_profile() gives named variants.
*/
typedef struct sim_params {
    double accuracy[2];        /* mean next-step accuracy from a correct
                                  prefix, over steps of all problems */
    double tokens_per_step[2]; /* mean completion tokens per step */
    double critical_fraction;  /* share of steps that are critical */
    double critical_factor;    /* odds of erring, critical / routine step */
    double base_us[2];         /* latency model per call: fixed part */
    double prefill_us[2];      /* ... per prompt token */
    double decode_us[2];       /* ... per completion token */
    double prm_base_us;        /* PRM call: fixed part */
    double prm_prefill_us;     /* ... per input token */
    /* Each simulated server's prefix cache (workers/prefix_cache.h), in
    ** tokens: a prompt's cached prefix costs no prefill time; 0: none. */
    double prefix_cache_tokens;
    /* 1: each simulated server prefills one prompt at a time (prefill is
    ** compute-bound: its calls in flight share it), decoding in parallel;
    ** 0: calls never slow each other. */
    int serial_prefill;
    /* Problems of mixed difficulty (sim_class_t order). */
    double class_share[SIM_CLASSES]; /* share of problems; sums to 1 */
    double class_logit[SIM_CLASSES]; /* log-odds shift of both models' step
                                        error rates in that class */
    double repair; /* P(a strong step written after a derailment goes back to
                      the problem and re-derives the true value) */
    double prm_blind[SIM_CLASSES]; /* P(the PRM scores a wrong step as if it
                                      were right), per class */
    double prm_noise[SIM_CLASSES]; /* P(the PRM cannot tell: it scores the
                                      step as S0, S1 or S2 alike) */
    /* The reported PRM score: sigmoid(prm_sharpness * logit(x) +
    ** prm_shift[s]) for a score x drawn from state s's distribution. */
    double prm_sharpness;
    double prm_shift[3];
    double critical_tokens; /* tokens of a critical step / a routine one */
    /* Correlation of the log lengths of two models' steps written after the
    ** same prefix (a step is long for both when it has much to show); 0
    ** draws each model's length on its own. */
    double tokens_corr;
    /* Mean steps per solution: the measured length pmf tilted by exp(t n)
    ** to this mean; 0 keeps it as measured. */
    double mean_steps;
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
** Fill *p with the defaults: the "math500" profile, fitted so the TRIM-Thr
** sweep matches the real Qwen2.5-1.5B/7B MATH-500 sweep (params.c), with
** zero latency.
*/
void sim_params_default(sim_params_t *p);

/*
** Set the latency model of one served model: model is SIM_WEAK or
** SIM_STRONG (base_ms per call, ms_per_token per completion token), or -1
** for the PRM (base_ms per call, ms_per_token per input token).
*/
void sim_params_latency(sim_params_t *p, int model, double base_ms,
                        double ms_per_token);

/*
** Fill *out with the named profile ("math500", "hard", "easy"; see
** profile.c).  NULL or "" means "math500".  Returns 0, or -1 when the name is
** not known (*out is then left alone).
*/
int sim_params_profile(const char *name, sim_params_t *out);

/*
** The known profile names, NULL-terminated (static), and a one-line
** description of each (NULL for an unknown name).
*/
const char *const *sim_profile_names(void);
const char *sim_profile_about(const char *name);

/*
** sim_params_profile for command-line flags: -1 with "unknown simulator
** profile 'NAME' (known: math500, hard, easy)" in err when the name is not
** known.
*/
int sim_profile_resolve(const char *name, sim_params_t *out, char *err,
                        size_t errlen);

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

/* The mean number of steps of the world's problems' solutions. */
double sim_world_mean_steps(const sim_world_t *w);

/*
** P(the model's step errs | the value before it is right) for problems of
** class cls (sim_class_t) on a routine (critical 0) or critical (1) step;
** -1 for bad arguments.
*/
double sim_world_error_rate(const sim_world_t *w, sim_model_t model, int cls,
                            int critical);

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
** Whether the simulator can solve text: 0 when it is a problem it generated
** (of any world), or -1 with "not a simulated problem: ..." in err.
*/
int sim_problem_check(const char *text, char *err, size_t errlen);

/*
** What to tell whoever sent text the simulator refused with err (from
** sim_problem_check or a model call): for "not a simulated problem: WHY",
** the whole message with the way to get problems it solves, written to out
** (cut to outlen) and returned; any other err is returned as it is.
*/
const char *sim_refusal(const char *err, char *out, size_t outlen);

/*
** The difficulty class the world gives a problem text (a hash of the text
** against the class shares), or -1 when it is not a simulated problem.
*/
int sim_problem_class(const sim_world_t *w, const char *problem);

/*
** The simulated model writes the next step after the given accepted steps.
** seed is the request's sampling seed.  At most max_tokens tokens (0 = no
** limit).  Returns 0 with *out filled (caller frees with sim_step_clear), or
** -1 with a reason in err when the problem text is not a simulated problem.
*/
int sim_generate(const sim_world_t *w, sim_model_t model, const char *problem,
                 const char *const *steps, size_t n_steps, int max_tokens,
                 uint64_t seed, sim_step_t *out, char *err, size_t errlen);

/*
** Problem texts already read, for a caller that asks about the same problems
** many times (a worker: once a step).  sim_cache_new(slots) keeps at most
** slots problems (rounded up to 4 x a power of two: sets of 4, the least
** recently used of a set replaced), each as its text and its operations;
** NULL when out of memory.  One cache serves one thread.  sim_cache_destroy
** is NULL-safe and clears the caller's pointer.
*/
typedef struct sim_cache sim_cache_t;
sim_cache_t *sim_cache_new(size_t slots);
void sim_cache_destroy(sim_cache_t **c);

/*
** sim_generate, reading the problem through cache (NULL: none).  The result
** is the same with or without a cache.
*/
int sim_generate_cached(const sim_world_t *w, sim_cache_t *cache,
                        sim_model_t model, const char *problem,
                        const char *const *steps, size_t n_steps,
                        int max_tokens, uint64_t seed, sim_step_t *out,
                        char *err, size_t errlen);

/* Free the text of a step; NULL-safe, idempotent. */
void sim_step_clear(sim_step_t *s);

#define SIM_BINS 20 /* PRM score bins of width 0.05 on [0,1] */

/*
** The calibrated distribution the simulated PRM samples a step's score from:
** out[j] = P(score in bin j | min previous score in bin minprev_bin, state).
** Bin i covers [0.05 i, 0.05 (i+1)); a score of 1 falls in bin 19.  The
** score sim_score reports is the sampled one passed through
** sigmoid(prm_sharpness * logit(x) + prm_shift[...]) (the identity at
** sharpness 1 and shift 0), and min previous is kept on the calibrated scale.
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

/* sim_score, reading the problem through cache (NULL: none); the same
** result with or without a cache. */
int sim_score_cached(const sim_world_t *w, sim_cache_t *cache,
                     const char *problem, const char *const *steps,
                     size_t n_steps, float *scores, sim_state_t *states,
                     int *input_tokens, int64_t *latency_us, char *err,
                     size_t errlen);

/*
** A simulated model's whole solution of one problem, labelled as ProcessBench
** labels its solutions: label is the index of the first wrong step (the
** first whose hidden state is not S0), or -1 when every step is right.
*/
typedef struct sim_labelled {
    sim_problem_t problem;
    char **steps; /* n_steps steps (malloc'd) */
    size_t n_steps;
    int label;
} sim_labelled_t;

/*
** Let model solve problem number index of the problem set seed to the end
** (sampling deterministically from seed and index) and label it into *out
** (caller frees with sim_labelled_clear).  Returns 0, or -1 with err.
*/
int sim_labelled_solution(const sim_world_t *w, uint64_t seed, uint64_t index,
                          sim_model_t model, sim_labelled_t *out, char *err,
                          size_t errlen);

/* Free a labelled solution and zero it; NULL-safe, idempotent. */
void sim_labelled_clear(sim_labelled_t *s);

#endif
