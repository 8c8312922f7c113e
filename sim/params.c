/*
** params.c: the simulator's default parameters, and their validation.
**
** The defaults are the "math500" profile: the simulator fitted so that its
** TRIM-Thr sweep traces the real one of the TRIM release (MATH-500,
** Qwen2.5-1.5B-Instruct drafting, Qwen2.5-7B-Instruct regenerating,
** Qwen2.5-Math-PRM-7B scoring; reference-runs/trim-thr-math500-qwen1.5b-7b
** .jsonl).  Measured figures, from qwen2.5-math-prm-7b.json (data files of
** the official TRIM code release, github.com/Vansh28Kapoor/TRIM, commit
** 5ec6323, MIT):
**   token_usage_math500: strong-only 494.84 tokens and 8.02 steps per
**     question, weak-only 400.946 tokens per question;
**   solution_length.weak_and_strong: the shape of the steps-per-solution
**     distribution (MATH train, mean 8.28), tilted here to the MATH-500 mean
**     of 8.02 (mean_steps);
**   the PRM score grids (prm_fit.c), the distributions scores are drawn from
**     before the report transform (prm_sharpness, prm_shift).
** Both models write the same steps in the simulator, so the weak model's
** tokens per step are its tokens per question over the same 8.02 steps.
**
** Fitted by sim/fit/sim_fit.c (`sim_fit fit --thin 1 --seeds 101,102
** --problems 700`, from the point given in docs/sim-vs-real.md; the misfit
** is in PGR space, each real point weighted by its sampling error, with the
** gap to strong-only at thresholds >= 0.85, CPT(50/80/95%) and the
** release's per-step measurements as constraints), rounded to 4 digits; the
** strong model's accuracy was then lowered from the fit's 0.9315 to 0.915,
** which brings strong-only from 3.6 points above the real 73% to 0.5 on
** other seeds (1-8 x 500 problems) than the fit's:
**   accuracy: the mean next-step accuracy over steps of all problems,
**     0.636 (weak) and 0.915 (strong).  Measured the way the release did
**     (the PRM locating each whole solution's first error, score < 0.35;
**     `sim_fit measure`) this world gives 0.855 and 0.945, with a located
**     error in 63% and 35% of the solutions, against the release's 0.866 and
**     0.9704, 62% and 23% (MATH train, 7500 problems);
**   class_share, class_logit: 57% of the problems easy (both models' step
**     error odds / e^3.31), 15% medium, 28% hard (odds * e^2.59): weak-only
**     solves 66% / 3% / 0% of them, strong-only 99% / 76% / 19%;
**   repair: a strong step written after a derailment re-derives the true
**     value 4% of the time: failures are errors that stay;
**   prm_blind, prm_noise: the PRM scores a wrong step as right 4% (medium)
**     and 6% (hard) of the time, and cannot tell the state at all 1.5% and
**     1.7% of the time; on easy problems it is as informative as its
**     calibration (0, not fitted);
**   prm_sharpness, prm_shift: reported score = sigmoid(1.00 logit(x) +
**     shift), shift +0.37 on a score drawn from the S0 distribution, -1.83
**     from S1 and -1.88 from S2: the real PRM judges this weak model's wrong
**     steps more decisively than the ProcessBench steps its grids were fitted
**     on (the real sweep regenerates about one step per problem already at
**     threshold 0.05), a first error and a derailed step alike;
**   critical_factor, critical_tokens: a critical step (one in five) errs
**     with 8.6 times the odds of a routine one and is 4 times as long (the
**     fit's upper bound): the real regenerated and discarded drafts are long
**     (77 discarded draft tokens per regeneration at threshold 0.05 against
**     50 per step), so the steps that err are the long ones.
** critical_fraction (0.2) is kept, not fitted.
** tokens_corr (0.64) is not fitted either: the thr sweep cannot see it (its
** regenerations are chosen by score, not length, so any correlation gives
** the same expected tokens); it is how far a strong step's length follows
** the draft it replaces, which matters to a planner that prices a
** regeneration by the draft's length (the TRIM release's): most of a step's
** length is what the step has to show, the rest the model's manner (set
** as a shared loading of 0.8 on each model's deviate, which is 0.64).
*/
#include <math.h>

#include "sim_internal.h"

#define WEAK_TOKENS_PER_QUESTION   400.946
#define STRONG_TOKENS_PER_QUESTION 494.84
#define STRONG_STEPS_PER_QUESTION  8.02

/* Fill *p with the defaults; see the file comment for the sources. */
void
sim_params_default(sim_params_t *p)
{
    *p = (sim_params_t){0};
    p->accuracy[SIM_WEAK] = 0.6356;
    p->accuracy[SIM_STRONG] = 0.915;
    p->tokens_per_step[SIM_WEAK] =
        WEAK_TOKENS_PER_QUESTION / STRONG_STEPS_PER_QUESTION;
    p->tokens_per_step[SIM_STRONG] =
        STRONG_TOKENS_PER_QUESTION / STRONG_STEPS_PER_QUESTION;
    p->mean_steps = STRONG_STEPS_PER_QUESTION;
    /* Hardness: one step in five is critical, erring with 8.6 times the
    ** odds and 4 times as long. */
    p->critical_fraction = 0.2;
    p->critical_factor = 8.6441;
    p->critical_tokens = 4.0000;
    p->tokens_corr = 0.64;
    p->class_share[SIM_EASY] = 0.5697;
    p->class_share[SIM_MEDIUM] = 0.1528;
    p->class_share[SIM_HARD] = 0.2775;
    p->class_logit[SIM_EASY] = -3.3051;
    p->class_logit[SIM_MEDIUM] = 0.0;
    p->class_logit[SIM_HARD] = 2.5907;
    p->repair = 0.0434;
    p->prm_blind[SIM_EASY] = 0.0;
    p->prm_blind[SIM_MEDIUM] = 0.0391;
    p->prm_blind[SIM_HARD] = 0.0645;
    p->prm_noise[SIM_EASY] = 0.0;
    p->prm_noise[SIM_MEDIUM] = 0.0152;
    p->prm_noise[SIM_HARD] = 0.0168;
    p->prm_sharpness = 1.0021;
    p->prm_shift[SIM_S0] = 0.3695;
    p->prm_shift[SIM_S1] = -1.8329;
    p->prm_shift[SIM_S2] = -1.8774;
}

static int
in_range(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}


/* sim_params_check's part for the problem classes. */
static int
check_classes(const sim_params_t *p, char *err, size_t errlen)
{
    double total = 0;
    for (int k = 0; k < SIM_CLASSES; k++) {
        if (!in_range(p->class_share[k], 0, 1))
            return errf(err, errlen,
                        "sim params: class_share[%d] = %g not in [0,1]", k,
                        p->class_share[k]);
        if (!in_range(p->class_logit[k], -20, 20))
            return errf(err, errlen,
                        "sim params: class_logit[%d] = %g not in [-20,20]", k,
                        p->class_logit[k]);
        if (!in_range(p->prm_noise[k], 0, 1))
            return errf(err, errlen,
                        "sim params: prm_noise[%d] = %g not in [0,1]", k,
                        p->prm_noise[k]);
        if (!in_range(p->prm_blind[k], 0, 1))
            return errf(err, errlen,
                        "sim params: prm_blind[%d] = %g not in [0,1]", k,
                        p->prm_blind[k]);
        total += p->class_share[k];
    }
    if (fabs(total - 1.0) > 1e-6)
        return errf(err, errlen, "sim params: class_share sums to %g, not 1",
                    total);
    return 0;
}


/*
** Check that every parameter is usable: accuracies and the critical
** fraction in [0,1], tokens per step in [1, 1e6], critical factor in
** (0, 1e6], latencies finite and >= 0.  Returns 0, or -1 naming the first
** bad field in err.
*/
int
sim_params_check(const sim_params_t *p, char *err, size_t errlen)
{
    static const char *const model[2] = {"weak", "strong"};
    for (int m = 0; m < 2; m++) {
        if (!in_range(p->accuracy[m], 0, 1))
            return errf(err, errlen,
                        "sim params: accuracy[%s] = %g not in [0,1]", model[m],
                        p->accuracy[m]);
        if (!in_range(p->tokens_per_step[m], 1, 1e6))
            return errf(err, errlen,
                        "sim params: tokens_per_step[%s] = %g not in [1,1e6]",
                        model[m], p->tokens_per_step[m]);
        if (!in_range(p->base_us[m], 0, 1e12) ||
            !in_range(p->prefill_us[m], 0, 1e12) ||
            !in_range(p->decode_us[m], 0, 1e12))
            return errf(err, errlen,
                        "sim params: latency model of the %s model must be "
                        "finite and >= 0",
                        model[m]);
    }
    if (!in_range(p->critical_fraction, 0, 1))
        return errf(err, errlen,
                    "sim params: critical_fraction = %g not in [0,1]",
                    p->critical_fraction);
    if (!in_range(p->critical_factor, 1e-9, 1e6))
        return errf(err, errlen,
                    "sim params: critical_factor = %g not in (0,1e6]",
                    p->critical_factor);
    if (check_classes(p, err, errlen) < 0)
        return -1;
    if (!in_range(p->repair, 0, 1))
        return errf(err, errlen, "sim params: repair = %g not in [0,1]",
                    p->repair);
    for (int s = 0; s < 3; s++) {
        if (!in_range(p->prm_shift[s], -20, 20))
            return errf(err, errlen,
                        "sim params: prm_shift[S%d] = %g not in "
                        "[-20,20]",
                        s, p->prm_shift[s]);
    }
    if (!in_range(p->prm_sharpness, 0.05, 20))
        return errf(err, errlen,
                    "sim params: prm_sharpness = %g not in [0.05,20]",
                    p->prm_sharpness);
    if (!in_range(p->critical_tokens, 0.01, 100))
        return errf(err, errlen,
                    "sim params: critical_tokens = %g not in [0.01,100]",
                    p->critical_tokens);
    if (!in_range(p->tokens_corr, 0, 1))
        return errf(err, errlen, "sim params: tokens_corr = %g not in [0,1]",
                    p->tokens_corr);
    if (!(p->mean_steps == 0 || in_range(p->mean_steps, 2.5, 29)))
        return errf(err, errlen,
                    "sim params: mean_steps = %g is neither 0 nor in [2.5,29]",
                    p->mean_steps);
    if (!in_range(p->prm_base_us, 0, 1e12) ||
        !in_range(p->prm_prefill_us, 0, 1e12))
        return errf(err, errlen,
                    "sim params: PRM latency model must be finite and >= 0");
    if (!in_range(p->prefix_cache_tokens, 0, 1e12))
        return errf(err, errlen,
                    "sim params: prefix_cache_tokens = %g not in [0,1e12]",
                    p->prefix_cache_tokens);
    return 0;
}


void
sim_params_latency(sim_params_t *p, int model, double base_ms,
                   double ms_per_token)
{
    if (model == SIM_WEAK || model == SIM_STRONG) {
        p->base_us[model] = base_ms * 1000.0;
        p->decode_us[model] = ms_per_token * 1000.0;
    } else {
        p->prm_base_us = base_ms * 1000.0;
        p->prm_prefill_us = ms_per_token * 1000.0;
    }
}
