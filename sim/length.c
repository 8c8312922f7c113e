/*
** length.c: how many steps a simulated problem's solution has.
*/
#include "sim_internal.h"

/*
** P(solution has k + 2 steps), k = 0..28: solution_length.weak_and_strong.
** pmf_from_step_2 of qwen2.5-math-prm-7b.json (data files of the official
** TRIM code release, github.com/Vansh28Kapoor/TRIM, commit 5ec6323, MIT),
** measured on MATH train with steps delimited by a blank line.  Sums to 1
** within 5e-7; sampling normalises.
*/
static const double length_pmf[SIM_MAX_STEPS - SIM_MIN_STEPS + 1] = {
    0.0201542,   0.0351635,   0.0724143,   0.119131,    0.14052,    0.129692,
    0.110298,    0.0838123,   0.0666001,   0.050918,    0.0424487,  0.0293836,
    0.0221914,   0.0180397,   0.0134054,   0.00987588,  0.00742501, 0.0060552,
    0.00498936,  0.00346503,  0.00271256,  0.00232463,  0.001849,   0.00123397,
    0.000825331, 0.000670438, 0.000911578, 0.000944882, 0.00254451};

#define N_LENGTHS ((int)(sizeof length_pmf / sizeof length_pmf[0]))

static double
pmf_total(void)
{
    double total = 0;
    for (int k = 0; k < N_LENGTHS; k++)
        total += length_pmf[k];
    return total;
}

/* Draw a solution length (SIM_MIN_STEPS..SIM_MAX_STEPS steps) from r. */
int
sim_length_sample(rng_t *r)
{
    double u = rng_uniform(r) * pmf_total();
    for (int k = 0; k < N_LENGTHS - 1; k++) {
        u -= length_pmf[k];
        if (u < 0)
            return k + SIM_MIN_STEPS;
    }
    return SIM_MAX_STEPS;
}

/* The mean number of steps of the distribution (about 8.28). */
double
sim_length_mean(void)
{
    double sum = 0;
    for (int k = 0; k < N_LENGTHS; k++)
        sum += (k + SIM_MIN_STEPS) * length_pmf[k];
    return sum / pmf_total();
}
