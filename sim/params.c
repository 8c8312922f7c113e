/*
** params.c: the simulator's default parameters, and their validation.
**
** Figures from qwen2.5-math-prm-7b.json (data files of the official TRIM code
** release, github.com/Vansh28Kapoor/TRIM, commit 5ec6323, MIT):
**   next_step_accuracy: Qwen2.5-1.5B-Instruct 0.866, Qwen2.5-7B-Instruct
**     0.9704 (next step correct given a correct prefix, MATH train);
**   token_usage_math500: strong-only 494.84 tokens and 8.02 steps per
**     question, weak-only 400.946 tokens per question (MATH-500).
** The weak model's steps per question are not in the file; we divide its
** tokens by the mean of the measured solution-length distribution (8.28).
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
    p->accuracy[SIM_WEAK] = 0.866;
    p->accuracy[SIM_STRONG] = 0.9704;
    p->tokens_per_step[SIM_WEAK] = WEAK_TOKENS_PER_QUESTION / sim_length_mean();
    p->tokens_per_step[SIM_STRONG] =
        STRONG_TOKENS_PER_QUESTION / STRONG_STEPS_PER_QUESTION;
    /* Hardness: one step in five is critical, erring four times as often. */
    p->critical_fraction = 0.2;
    p->critical_factor = 4.0;
}

static int
in_range(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
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
        if (!in_range(p->accuracy[m], 0, 1)) {
            sim_errf(err, errlen, "sim params: accuracy[%s] = %g not in [0,1]",
                     model[m], p->accuracy[m]);
            return -1;
        }
        if (!in_range(p->tokens_per_step[m], 1, 1e6)) {
            sim_errf(err, errlen,
                     "sim params: tokens_per_step[%s] = %g not in [1,1e6]",
                     model[m], p->tokens_per_step[m]);
            return -1;
        }
        if (!in_range(p->base_us[m], 0, 1e12) ||
            !in_range(p->prefill_us[m], 0, 1e12) ||
            !in_range(p->decode_us[m], 0, 1e12)) {
            sim_errf(err, errlen,
                     "sim params: latency model of the %s model must be "
                     "finite and >= 0",
                     model[m]);
            return -1;
        }
    }
    if (!in_range(p->critical_fraction, 0, 1)) {
        sim_errf(err, errlen, "sim params: critical_fraction = %g not in [0,1]",
                 p->critical_fraction);
        return -1;
    }
    if (!in_range(p->critical_factor, 1e-9, 1e6)) {
        sim_errf(err, errlen, "sim params: critical_factor = %g not in (0,1e6]",
                 p->critical_factor);
        return -1;
    }
    if (!in_range(p->prm_base_us, 0, 1e12) ||
        !in_range(p->prm_prefill_us, 0, 1e12)) {
        sim_errf(err, errlen,
                 "sim params: PRM latency model must be finite and >= 0");
        return -1;
    }
    return 0;
}
