/*
** length.c: how many steps a simulated problem's solution has.
**
** The measured distribution, optionally tilted (P(n) ~ pmf(n) exp(tilt n))
** so a profile can ask for shorter or longer solutions with the same shape.
*/
#include <math.h>

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
#define TILT_MAX  3.0 /* |tilt| bound: means from about 2.05 to 29.9 */

/* The mean of the pmf tilted by exp(tilt * n). */
static double
tilted_mean(double tilt)
{
    double sum = 0, total = 0;
    for (int k = 0; k < N_LENGTHS; k++) {
        double q = length_pmf[k] * exp(tilt * k);
        sum += (k + SIM_MIN_STEPS) * q;
        total += q;
    }
    return sum / total;
}

/* The mean number of steps of the measured distribution (about 8.28). */
double
sim_length_mean(void)
{
    return tilted_mean(0.0);
}

/*
** The tilt that gives the distribution the wanted mean: 0 for mean_steps 0
** (the measured pmf), else found by bisection (the tilted mean increases
** with the tilt), clamped to [-TILT_MAX, TILT_MAX].
*/
double
sim_length_tilt(double mean_steps)
{
    double lo = -TILT_MAX, hi = TILT_MAX;
    if (mean_steps <= 0)
        return 0.0;
    for (int i = 0; i < 100; i++) {
        double mid = 0.5 * (lo + hi);
        if (tilted_mean(mid) < mean_steps)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/*
** Fill cdf[k] = P(solution has at most k + SIM_MIN_STEPS steps) under the
** tilt (the last entry exactly 1) and return the distribution's mean.
*/
double
sim_length_cdf(double tilt, double cdf[SIM_N_LENGTHS])
{
    double total = 0, acc = 0;
    for (int k = 0; k < N_LENGTHS; k++)
        total += length_pmf[k] * exp(tilt * k);
    for (int k = 0; k < N_LENGTHS; k++) {
        acc += length_pmf[k] * exp(tilt * k) / total;
        cdf[k] = k == N_LENGTHS - 1 ? 1.0 : acc;
    }
    return tilted_mean(tilt);
}

/* Draw a solution length (SIM_MIN_STEPS..SIM_MAX_STEPS steps) from r. */
int
sim_length_sample(const sim_world_t *w, rng_t *r)
{
    double u = rng_uniform(r);
    for (int k = 0; k < N_LENGTHS - 1; k++)
        if (u < w->length_cdf[k])
            return k + SIM_MIN_STEPS;
    return SIM_MAX_STEPS;
}
