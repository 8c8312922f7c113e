/*
** world.c: the world object: parameters, per-model, per-class error rates,
** step lengths, the solution-length and class tables and the PRM score
** distributions, fixed at creation and read-only afterwards.
*/
#include <math.h>
#include <stdlib.h>

#include "sim_internal.h"

static double
sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Mean step error rate over classes and hardness for base log-odds b. */
static double
mean_error(const sim_params_t *p, double b)
{
    double f = p->critical_fraction, lc = log(p->critical_factor), e = 0;
    for (int k = 0; k < SIM_CLASSES; k++) {
        double x = b + p->class_logit[k];
        e += p->class_share[k] * ((1.0 - f) * sigmoid(x) + f * sigmoid(x + lc));
    }
    return e;
}

/*
** Error rates per model, problem class and step hardness.  On the log-odds
** scale a model's rate is its base b_m plus the class's shift plus, on a
** critical step, log(critical_factor): both models find the same problems
** and the same steps hard.  b_m solves, by bisection (the mean increases
** with b), mean over classes and hardness = 1 - accuracy[m], so the
** configured accuracy is the mean next-step accuracy over every step of every
** problem.  Accuracy 1 (0) makes every rate 0 (1) exactly.
*/
static double
base_logit(const sim_params_t *p, int m)
{
    double target = 1.0 - p->accuracy[m], lo = -60, hi = 60;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (mean_error(p, mid) < target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void
set_error_rates(sim_world_t *w)
{
    const sim_params_t *p = &w->p;
    double lc = log(p->critical_factor);
    for (int m = 0; m < 2; m++) {
        double target = 1.0 - p->accuracy[m], b = base_logit(p, m);
        for (int k = 0; k < SIM_CLASSES; k++) {
            double x = b + p->class_logit[k];
            w->err_rate[m][k][0] = sigmoid(x);
            w->err_rate[m][k][1] = sigmoid(x + lc);
            if (target <= 0 || target >= 1)
                w->err_rate[m][k][0] = w->err_rate[m][k][1] = target;
        }
    }
}

/*
** Set p->accuracy so that p's classes keep from's per-class error rates
** (same class_logit, critical_fraction and critical_factor) under p's class
** shares: a profile that changes the mix of problems changes the mean
** accuracy, not how hard each kind of problem is.
*/
void
sim_params_rebase(sim_params_t *p, const sim_params_t *from)
{
    for (int m = 0; m < 2; m++) {
        if (from->accuracy[m] <= 0 || from->accuracy[m] >= 1)
            continue; /* every rate 0 or 1 in every mix */
        p->accuracy[m] = 1.0 - mean_error(p, base_logit(from, m));
    }
}

/*
** Mean tokens per step and hardness: a critical step is critical_tokens
** times as long as a routine one, and the mean over steps stays
** tokens_per_step.
*/
static void
set_step_tokens(sim_world_t *w)
{
    const sim_params_t *p = &w->p;
    double f = p->critical_fraction, l = p->critical_tokens;
    for (int m = 0; m < 2; m++) {
        double routine = p->tokens_per_step[m] / (1.0 - f + f * l);
        w->step_tokens[m][0] = routine;
        w->step_tokens[m][1] = routine * l;
    }
}

/* Cumulative class shares (the last exactly 1) and the length table. */
static void
set_problem_tables(sim_world_t *w)
{
    double acc = 0;
    for (int k = 0; k < SIM_CLASSES; k++) {
        acc += w->p.class_share[k];
        w->class_cut[k] = k == SIM_CLASSES - 1 ? 1.0 : acc;
    }
    w->length_mean =
        sim_length_cdf(sim_length_tilt(w->p.mean_steps), w->length_cdf);
}

/* Normalise each row of the grids and build the sampling tables. */
static void
set_score_tables(sim_world_t *w, double grid[3][SIM_BINS][SIM_BINS])
{
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < SIM_BINS; i++) {
            double total = 0, acc = 0;
            int last = 0;
            for (int j = 0; j < SIM_BINS; j++) {
                total += grid[s][i][j];
                if (grid[s][i][j] > 0)
                    last = j;
            }
            for (int j = 0; j < SIM_BINS; j++) {
                w->pmf[s][i][j] = grid[s][i][j] / total;
                acc += w->pmf[s][i][j];
                /* From the last bin with mass on, the cdf is exactly 1, so a
                ** rounding shortfall can never select an empty bin. */
                w->cdf[s][i][j] = j >= last ? 1.0 : acc;
            }
        }
    }
}

/*
** Create a world; see sim.h.  p NULL means the defaults.  The grids of the
** file at calibration_path replace the embedded fit when it is given.
*/
sim_world_t *
sim_world_new(const sim_params_t *p, const char *calibration_path, char *err,
              size_t errlen)
{
    double grid[3][SIM_BINS][SIM_BINS];
    sim_world_t *w = NULL;
    sim_params_t def;

    if (!p) {
        sim_params_default(&def);
        p = &def;
    }
    if (sim_params_check(p, err, errlen) < 0)
        return NULL;
    if (calibration_path) {
        if (sim_calib_load(calibration_path, grid, err, errlen) < 0)
            return NULL;
    } else {
        sim_fit_grid(grid);
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        errf(err, errlen, "sim world: out of memory");
        return NULL;
    }
    w->p = *p;
    set_error_rates(w);
    set_step_tokens(w);
    set_problem_tables(w);
    set_score_tables(w, grid);
    return w;
}

/* Free a world and clear the pointer; NULL-safe. */
void
sim_world_destroy(sim_world_t **w)
{
    if (!w || !*w)
        return;
    free(*w);
    *w = NULL;
}

/* The parameters the world was made with. */
const sim_params_t *
sim_world_params(const sim_world_t *w)
{
    return &w->p;
}

/*
** out[j] = P(current score bin j | min previous bin, state).  An out-of-range
** bin is clamped to [0, SIM_BINS); an unknown state gives all zeros.
*/
void
sim_world_score_pmf(const sim_world_t *w, sim_state_t state, int minprev_bin,
                    double out[SIM_BINS])
{
    int s = (int)state;
    if (minprev_bin < 0)
        minprev_bin = 0;
    if (minprev_bin >= SIM_BINS)
        minprev_bin = SIM_BINS - 1;
    for (int j = 0; j < SIM_BINS; j++)
        out[j] = (s >= 0 && s < 3) ? w->pmf[s][minprev_bin][j] : 0.0;
}

/* The mean number of steps of the world's problems. */
double
sim_world_mean_steps(const sim_world_t *w)
{
    return w->length_mean;
}

/*
** The probability that a model's step errs from a right value, by problem
** class and step hardness; see set_error_rates.  -1 for bad arguments.
*/
double
sim_world_error_rate(const sim_world_t *w, sim_model_t model, int cls,
                     int critical)
{
    if ((model != SIM_WEAK && model != SIM_STRONG) || cls < 0 ||
        cls >= SIM_CLASSES || critical < 0 || critical > 1)
        return -1;
    return w->err_rate[model][cls][critical];
}
