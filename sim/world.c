/*
** world.c: the world object: parameters, per-model error rates and the PRM
** score distributions, fixed at creation and read-only afterwards.
*/
#include <stdlib.h>

#include "sim_internal.h"

/*
** Error rates per model and step hardness.  A step is critical with
** probability f and errs c times as often as a routine one; the routine rate
** e_r solves (1 - f) e_r + f c e_r = 1 - accuracy, so the average next-step
** accuracy is exactly the configured one.  When c e_r would exceed 1,
** critical steps always fail and the routine rate takes the rest.
*/
static void
set_error_rates(sim_world_t *w)
{
    double f = w->p.critical_fraction, c = w->p.critical_factor;
    for (int m = 0; m < 2; m++) {
        double e = 1.0 - w->p.accuracy[m];
        double routine = e / (1.0 - f + c * f);
        double critical = c * routine;
        if (critical > 1.0) {
            critical = 1.0;
            routine = f < 1.0 ? (e - f) / (1.0 - f) : 0.0;
        }
        w->err_rate[m][0] = routine;
        w->err_rate[m][1] = critical;
    }
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
        sim_errf(err, errlen, "sim world: out of memory");
        return NULL;
    }
    w->p = *p;
    set_error_rates(w);
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
