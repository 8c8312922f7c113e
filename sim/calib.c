/*
** calib.c: load the PRM score grids of a calibration file.
**
** The file has the shape of qwen2.5-math-prm-7b.json:
**   observation_model.math_train.{S0_correct_so_far, S1_derailed_earlier,
**   S2_latest_step_first_error}.grid = 20 rows (min previous score bin) of
**   20 non-negative numbers (current score bin).
** Other keys are ignored.  Every problem is reported with the file name and
** the JSON path (or line and column) where it is.
*/
#include <jansson.h>
#include <math.h>

#include "sim_internal.h"

static const char *const state_key[3] = {
    "S0_correct_so_far", "S1_derailed_earlier", "S2_latest_step_first_error"};

#define GRID_PATH "observation_model.math_train"

static int
load_grid(const char *path, json_t *grid, const char *key,
          double out[SIM_BINS][SIM_BINS], char *err, size_t errlen)
{
    if (!json_is_array(grid) || json_array_size(grid) != SIM_BINS)
        return errf(err, errlen,
                    "%s: " GRID_PATH ".%s.grid must be an array of %d rows",
                    path, key, SIM_BINS);
    for (int i = 0; i < SIM_BINS; i++) {
        json_t *row = json_array_get(grid, (size_t)i);
        double total = 0;
        if (!json_is_array(row) || json_array_size(row) != SIM_BINS)
            return errf(err, errlen,
                        "%s: " GRID_PATH ".%s.grid[%d] must be an array of %d "
                        "numbers",
                        path, key, i, SIM_BINS);
        for (int j = 0; j < SIM_BINS; j++) {
            json_t *x = json_array_get(row, (size_t)j);
            double v;
            if (!json_is_number(x))
                return errf(err, errlen,
                            "%s: " GRID_PATH ".%s.grid[%d][%d] is not a number",
                            path, key, i, j);
            v = json_number_value(x);
            if (!isfinite(v) || v < 0)
                return errf(err, errlen,
                            "%s: " GRID_PATH
                            ".%s.grid[%d][%d] = %g is negative",
                            path, key, i, j, v);
            out[i][j] = v;
            total += v;
        }
        if (!(total > 0))
            return errf(err, errlen,
                        "%s: " GRID_PATH ".%s.grid[%d] sums to zero: no score "
                        "distribution for min-previous bin %d",
                        path, key, i, i);
    }
    return 0;
}

/*
** Read the three state grids of the calibration file at path into
** grid[state][minprev][cur] (unnormalised, as in the file).  Returns 0, or
** -1 with the file name and the problem in err.
*/
int
sim_calib_load(const char *path, double grid[3][SIM_BINS][SIM_BINS], char *err,
               size_t errlen)
{
    json_error_t jerr;
    json_t *root, *model;
    int rc = -1;

    root = json_load_file(path, 0, &jerr);
    if (!root) {
        if (jerr.line > 0) /* a syntax error: say where */
            return errf(err, errlen, "%s:%d:%d: %s", path, jerr.line,
                        jerr.column, jerr.text);
        return errf(err, errlen, "%s: %s", path, jerr.text);
    }
    model = json_object_get(json_object_get(root, "observation_model"),
                            "math_train");
    if (!json_is_object(model)) {
        errf(err, errlen, "%s: missing object " GRID_PATH, path);
        goto out;
    }
    for (int s = 0; s < 3; s++) {
        json_t *state = json_object_get(model, state_key[s]);
        json_t *g = json_object_get(state, "grid");
        if (!g) {
            errf(err, errlen, "%s: missing " GRID_PATH ".%s.grid", path,
                 state_key[s]);
            goto out;
        }
        if (load_grid(path, g, state_key[s], grid[s], err, errlen) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
