/*
** pomdp_model.c: the measured world TRIM-POMDP plans in (see pomdp.h):
** the TRIM release's around given PRM likelihoods, and loading one from a
** calibration file.
*/
#include "pomdp.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errf.h"

/*
** From data/calibration/qwen2.5-math-prm-7b.json, the data files
** of the TRIM code release (github.com/Vansh28Kapoor/TRIM, MIT):
** solution_length.weak_and_strong.hazard_by_step[1..30], P(the solution
** ends after step t | it reached step t).
*/
static const double default_hazard[30] = {
    0.0,      0.0201542, 0.0358867, 0.0766547, 0.136576, 0.18658,
    0.211701, 0.228397,  0.224923,  0.230598,  0.229139, 0.247809,
    0.22805,  0.22311,   0.233456,  0.226317,  0.215502, 0.206529,
    0.212266, 0.222033,  0.198206,  0.193521,  0.20564,  0.205908,
    0.173051, 0.139964,  0.1322,    0.207131,  0.270787, 1.0};

/*
** Same file, observation_model.math_train.*.marginal_min_previous: how the
** minimum previous score is distributed in each state, to turn conditional
** likelihoods into each state's marginal one.
*/
static const double default_minprev[3][POMDP_BINS] = {
    {0.004523, 0.00586,  0.007125, 0.006509, 0.004641, 0.003412, 0.003307,
     0.003719, 0.004176, 0.004978, 0.006363, 0.007677, 0.008693, 0.0101,
     0.01238,  0.01675,  0.02971,  0.08437,  0.2637,   0.512},
    {0.2507,  0.2067,  0.1441,  0.08985, 0.05454, 0.03504, 0.02493,
     0.01981, 0.01739, 0.01643, 0.01606, 0.01555, 0.01464, 0.0136,
     0.01286, 0.01259, 0.01275, 0.01334, 0.01423, 0.01494},
    {0.008904, 0.009482, 0.01029, 0.01107, 0.01169, 0.01196, 0.012,
     0.01226,  0.01291,  0.01353, 0.01386, 0.01431, 0.01547, 0.0176,
     0.02196,  0.03443,  0.06868, 0.1399,  0.2403,  0.3194},
};

/* The file's state keys, in pomdp_state_t order. */
static const char *const state_keys[3] = {
    "S0_correct_so_far", "S1_derailed_earlier", "S2_latest_step_first_error"};


int
pomdp_bin(double score)
{
    int b = (int)(score * POMDP_BINS);
    return b < 0 ? 0 : b >= POMDP_BINS ? POMDP_BINS - 1 : b;
}


/* Each state's marginal over the current score: sum_i w_s(i) cond_s(i,·). */
static void
marginals(pomdp_model_t *m, const double w[3][POMDP_BINS])
{
    for (int s = 0; s < 3; s++) {
        double total = 0;
        for (int i = 0; i < POMDP_BINS; i++)
            total += w[s][i];
        for (int j = 0; j < POMDP_BINS; j++) {
            double v = 0;
            for (int i = 0; i < POMDP_BINS; i++)
                v += w[s][i] * m->cond[s][i][j];
            m->marg[s][j] = total > 0 ? v / total : 0;
        }
    }
}


int
pomdp_model_release(pomdp_model_t *m,
                    const double cond[3][POMDP_BINS][POMDP_BINS], char *err,
                    size_t errlen)
{
    memset(m, 0, sizeof *m);
    /* Next-step accuracies of Qwen2.5-1.5B- and 7B-Instruct and the
    ** strong-only run's tokens per step (494.84 tokens over 8.02 steps per
    ** question), from the same calibration file. */
    m->p_weak = 0.866;
    m->p_strong = 0.9704;
    m->repair = 0.0;
    m->strong_tokens = 494.84 / 8.02;
    m->max_steps = 30;
    for (int t = 0; t < 30; t++)
        m->hazard[t] = default_hazard[t];
    memcpy(m->cond, cond, sizeof m->cond);
    marginals(m, default_minprev);
    return pomdp_model_check(m, err, errlen);
}


int
pomdp_model_check(const pomdp_model_t *m, char *err, size_t errlen)
{
    if (!(m->p_weak > 0 && m->p_weak < 1 && m->p_strong > 0 &&
          m->p_strong <= 1 && m->repair >= 0 && m->repair <= 1))
        return errf(err, errlen,
                    "accuracies must be in (0,1), repair in [0,1]");
    if (!(m->draft_weight >= 0 && m->draft_weight <= 1))
        return errf(err, errlen, "draft_weight %g is not in [0,1]",
                    m->draft_weight);
    if (!(m->strong_tokens > 0) || m->max_steps < 1 ||
        m->max_steps > POMDP_MAX_STEPS)
        return errf(err, errlen,
                    "strong tokens per step must be positive and "
                    "the step limit in [1, %d]",
                    POMDP_MAX_STEPS);
    for (int t = 0; t < m->max_steps; t++)
        if (!(m->hazard[t] >= 0 && m->hazard[t] <= 1))
            return errf(err, errlen, "hazard at step %d is not in [0,1]",
                        t + 1);
    for (int s = 0; s < 3; s++) {
        double total = 0;
        for (int j = 0; j < POMDP_BINS; j++)
            total += m->marg[s][j];
        if (fabs(total - 1) > 1e-3)
            return errf(err, errlen, "%s score distribution sums to %g",
                        state_keys[s], total);
        for (int i = 0; i < POMDP_BINS; i++) {
            double row = 0;
            for (int j = 0; j < POMDP_BINS; j++) {
                if (!(m->cond[s][i][j] >= 0))
                    return errf(err, errlen,
                                "%s likelihood [%d][%d] is negative",
                                state_keys[s], i, j);
                row += m->cond[s][i][j];
            }
            if (fabs(row - 1) > 1e-3)
                return errf(err, errlen, "%s likelihood row %d sums to %g",
                            state_keys[s], i, row);
        }
    }
    return 0;
}


/* A number at path in root, or -1 with err naming the file and path. */
static int
get_number(json_t *v, const char *file, const char *what, double *out,
           char *err, size_t errlen)
{
    if (!json_is_number(v))
        return errf(err, errlen, "%s: %s %s", file, what,
                    v ? "is not a number" : "is missing");
    *out = json_number_value(v);
    return 0;
}


/* An accuracy entry: [accuracy, ...] or a bare number. */
static int
get_accuracy(json_t *acc, const char *const *names, const char *file,
             double *out, char *err, size_t errlen)
{
    for (; *names; names++) {
        json_t *v = json_object_get(acc, *names);
        if (json_is_array(v))
            v = json_array_get(v, 0);
        if (v != NULL)
            return get_number(v, file, *names, out, err, errlen);
    }
    return errf(err, errlen,
                "%s: next_step_accuracy has no entry for the %s "
                "model",
                file, names[-1]);
}


/* observation_model.<state s>.grid of obs into grid: POMDP_BINS rows of
** POMDP_BINS counts >= 0, rows by the minimum previous score. */
static int
load_grid(json_t *obs, int s, const char *path,
          double grid[POMDP_BINS][POMDP_BINS], char *err, size_t errlen)
{
    json_t *g = json_object_get(json_object_get(obs, state_keys[s]), "grid");
    char what[160];

    if (!json_is_array(g) || json_array_size(g) != POMDP_BINS)
        return errf(err, errlen,
                    "%s: observation_model.%s.grid is not a %dx%d array", path,
                    state_keys[s], POMDP_BINS, POMDP_BINS);
    for (int i = 0; i < POMDP_BINS; i++) {
        json_t *row = json_array_get(g, (size_t)i);
        if (!json_is_array(row) || json_array_size(row) != POMDP_BINS)
            return errf(err, errlen, "%s: %s.grid[%d] is not %d numbers", path,
                        state_keys[s], i, POMDP_BINS);
        for (int j = 0; j < POMDP_BINS; j++) {
            snprintf(what, sizeof what, "%s.grid[%d][%d]", state_keys[s], i, j);
            if (get_number(json_array_get(row, (size_t)j), path, what,
                           &grid[i][j], err, errlen) < 0)
                return -1;
            if (grid[i][j] < 0)
                return errf(err, errlen, "%s: %s is negative", path, what);
        }
    }
    return 0;
}


/* State s's likelihoods from its grid: each row normalised, a row never
** seen gets the state's marginal.  Its row totals go to w. */
static void
conditionals(pomdp_model_t *m, int s, const double grid[POMDP_BINS][POMDP_BINS],
             double w[POMDP_BINS])
{
    double total = 0;

    for (int i = 0; i < POMDP_BINS; i++) {
        w[i] = 0;
        for (int j = 0; j < POMDP_BINS; j++)
            w[i] += grid[i][j];
    }
    for (int k = 0; k < POMDP_BINS; k++)
        total += w[k];
    for (int i = 0; i < POMDP_BINS; i++)
        for (int j = 0; j < POMDP_BINS; j++) {
            double col = 0;
            for (int k = 0; k < POMDP_BINS; k++)
                col += grid[k][j];
            m->cond[s][i][j] = w[i] > 0    ? grid[i][j] / w[i]
                               : total > 0 ? col / total
                                           : 1.0 / POMDP_BINS;
        }
}


/* The observation model (math_train when there are several). */
static int
load_observation(json_t *root, const char *path, pomdp_model_t *m, char *err,
                 size_t errlen)
{
    json_t *obs = json_object_get(json_object_get(root, "observation_model"),
                                  "math_train");
    double grid[POMDP_BINS][POMDP_BINS], w[3][POMDP_BINS];

    if (obs == NULL)
        obs = json_object_get(root, "observation_model");
    for (int s = 0; s < 3; s++) {
        if (load_grid(obs, s, path, grid, err, errlen) < 0)
            return -1;
        conditionals(m, s, grid, w[s]);
    }
    marginals(m, w);
    return 0;
}


/* next_step_accuracy: the weak and strong models' accuracies, repair. */
static int
load_accuracy(json_t *root, const char *path, pomdp_model_t *m, char *err,
              size_t errlen)
{
    static const char *const weak_names[] = {"weak", "Qwen2.5-1.5B-Instruct",
                                             NULL};
    static const char *const strong_names[] = {"strong", "Qwen2.5-7B-Instruct",
                                               NULL};
    json_t *acc = json_object_get(root, "next_step_accuracy"), *v;

    if (get_accuracy(acc, weak_names, path, &m->p_weak, err, errlen) < 0 ||
        get_accuracy(acc, strong_names, path, &m->p_strong, err, errlen) < 0)
        return -1;
    v = json_object_get(acc, "repair");
    m->repair = json_is_number(v) ? json_number_value(v) : 0.0;
    return 0;
}


/* solution_length.weak_and_strong: the step limit and the hazard of
** ending after each step (1 at the limit). */
static int
load_hazard(json_t *root, const char *path, pomdp_model_t *m, char *err,
            size_t errlen)
{
    json_t *len = json_object_get(json_object_get(root, "solution_length"),
                                  "weak_and_strong");
    json_t *haz = json_object_get(len, "hazard_by_step");
    json_t *v = json_object_get(len, "max_steps");

    m->max_steps = json_is_integer(v) ? (int)json_integer_value(v) : 30;
    if (m->max_steps < 1 || m->max_steps > POMDP_MAX_STEPS)
        return errf(err, errlen,
                    "%s: solution_length max_steps %d is out of range", path,
                    m->max_steps);
    for (int t = 0; t < m->max_steps; t++) {
        char key[16], what[64];
        snprintf(key, sizeof key, "%d", t + 1);
        snprintf(what, sizeof what, "solution_length hazard_by_step.%d", t + 1);
        if (get_number(json_object_get(haz, key), path, what, &m->hazard[t],
                       err, errlen) < 0)
            return -1;
    }
    m->hazard[m->max_steps - 1] = 1.0;
    return 0;
}


/* token_usage_math500: the strong model's tokens per step. */
static int
load_tokens(json_t *root, const char *path, pomdp_model_t *m, char *err,
            size_t errlen)
{
    json_t *tok = json_object_get(root, "token_usage_math500");
    double tokens = 0, steps = 0;

    if (get_number(json_object_get(tok, "strong_only_tokens_per_question"),
                   path, "token_usage strong_only_tokens_per_question", &tokens,
                   err, errlen) < 0 ||
        get_number(json_object_get(tok, "strong_only_steps_per_question"), path,
                   "token_usage strong_only_steps_per_question", &steps, err,
                   errlen) < 0)
        return -1;
    m->strong_tokens = steps > 0 ? tokens / steps : 0;
    return 0;
}


int
pomdp_model_load(const char *path, pomdp_model_t *m, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    char why[160];
    int rc = -1;

    memset(m, 0, sizeof *m);
    if (root == NULL)
        return errf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                    jerr.text);
    if (load_observation(root, path, m, err, errlen) < 0 ||
        load_accuracy(root, path, m, err, errlen) < 0 ||
        load_hazard(root, path, m, err, errlen) < 0 ||
        load_tokens(root, path, m, err, errlen) < 0)
        goto done;
    m->oracle =
        json_is_true(json_object_get(json_object_get(root, "fit"), "oracle"));
    /* Optional: absent prices a regeneration at the mean strong step. */
    json_t *w = json_object_get(json_object_get(root, "regeneration_price"),
                                "draft_weight");
    m->draft_weight = json_is_number(w) ? json_number_value(w) : 0.0;
    if (pomdp_model_check(m, why, sizeof why) < 0) {
        errf(err, errlen, "%s: %s", path, why);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}
