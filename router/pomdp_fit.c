/*
** pomdp_fit.c: counts to a calibration file (see pomdp_fit.h).
*/
#include "pomdp_fit.h"

#include <stdio.h>
#include <string.h>

/* The release's strong-only run: 494.84 tokens over 8.02 steps. */
#define RELEASE_STRONG_TOKENS_STEP (494.84 / 8.02)
#define RELEASE_P_STRONG           0.9704

static const char *const state_keys[3] = {
    "S0_correct_so_far", "S1_derailed_earlier", "S2_latest_step_first_error"};


double
pomdp_counts_scored(const pomdp_counts_t *c)
{
    double n = 0;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < POMDP_BINS; i++)
            for (int j = 0; j < POMDP_BINS; j++)
                n += c->grid[s][i][j];
    return n;
}


/* State s's grid (smoothed, normalised) with its two marginals. */
static json_t *
state_json(const double g[POMDP_BINS][POMDP_BINS])
{
    json_t *grid = json_array(), *mc = json_array(), *mp = json_array();
    double sum = 0, col[POMDP_BINS] = {0};

    for (int i = 0; i < POMDP_BINS; i++)
        for (int j = 0; j < POMDP_BINS; j++)
            sum += g[i][j] + 0.5;
    for (int i = 0; i < POMDP_BINS; i++) {
        json_t *row = json_array();
        double rs = 0;
        for (int j = 0; j < POMDP_BINS; j++) {
            double v = (g[i][j] + 0.5) / sum;
            json_array_append_new(row, json_real(v));
            rs += v;
            col[j] += v;
        }
        json_array_append_new(grid, row);
        json_array_append_new(mp, json_real(rs));
    }
    for (int j = 0; j < POMDP_BINS; j++)
        json_array_append_new(mc, json_real(col[j]));
    return json_pack("{s:o, s:o, s:o}", "grid", grid, "marginal_current", mc,
                     "marginal_min_previous", mp);
}


/* solution_length and token_usage_math500 from the lengths and tokens. */
static void
length_json(const pomdp_counts_t *c, const pomdp_fit_info_t *info, json_t *root)
{
    int max_len = 1;
    long total = 0;
    double mean_len = 0;

    for (int k = 1; k <= POMDP_MAX_STEPS; k++)
        if (c->lengths[k] > 0) {
            max_len = k;
            total += c->lengths[k];
            mean_len += (double)k * c->lengths[k];
        }
    mean_len = total ? mean_len / total : 0;
    json_t *hazard = json_object();
    long left = total;
    for (int k = 1; k <= max_len; k++) {
        char key[16];
        snprintf(key, sizeof key, "%d", k);
        json_object_set_new(hazard, key,
                            json_real(k == max_len ? 1.0
                                      : left > 0 ? (double)c->lengths[k] / left
                                                 : 0.0));
        left -= c->lengths[k];
    }
    json_object_set_new(root, "solution_length",
                        json_pack("{s:{s:i, s:o}}", "weak_and_strong",
                                  "max_steps", max_len, "hazard_by_step",
                                  hazard));
    double per_step = c->strong_steps ? c->strong_tokens / c->strong_steps
                      : info->strong_tokens_step > 0
                          ? info->strong_tokens_step
                          : RELEASE_STRONG_TOKENS_STEP;
    json_object_set_new(root, "token_usage_math500",
                        json_pack("{s:f, s:f}",
                                  "strong_only_tokens_per_question",
                                  per_step * mean_len,
                                  "strong_only_steps_per_question", mean_len));
}


json_t *
pomdp_counts_json(const pomdp_counts_t *c, const pomdp_fit_info_t *info)
{
    json_t *obs = json_object(), *root = json_object();
    int oracle = strcmp(info->method, "oracle") == 0;

    if (obs == NULL || root == NULL) {
        json_decref(obs);
        json_decref(root);
        return NULL;
    }
    for (int s = 0; s < 3; s++)
        json_object_set_new(obs, state_keys[s], state_json(c->grid[s]));
    json_object_set_new(root, "about", json_string(info->about));
    json_object_set_new(root, "fit",
                        json_pack("{s:s, s:b, s:I}", "method", info->method,
                                  "oracle", oracle, "problems",
                                  (json_int_t)c->problems));
    json_object_set_new(root, "bin_size", json_real(0.05));
    json_object_set_new(root, "observation_model",
                        json_pack("{s:o}", "math_train", obs));
    double pw = c->weak_ok / (c->weak_ok + c->weak_bad);
    double ps = c->strong_ok + c->strong_bad > 0
                    ? c->strong_ok / (c->strong_ok + c->strong_bad)
                    : RELEASE_P_STRONG;
    json_object_set_new(
        root, "next_step_accuracy",
        json_pack("{s:[f,f,f], s:[f,f,f], s:f}", "weak", pw, c->weak_ok,
                  c->weak_bad, "strong", ps, c->strong_ok, c->strong_bad,
                  "repair", c->derailed > 0 ? c->repaired / c->derailed : 0.0));
    length_json(c, info, root);
    return root;
}
