/*
** cmd_calibrate.c: `trim calibrate`, fitting TRIM-POMDP's model to a run.
**
**   trim calibrate --db FILE [--run N] --out calibration.json
**
** Reads a recorded run whose problems have a ground truth and writes a
** calibration file in the format of data/calibration/ (what
** `pomdp:LAMBDA:FILE` loads): next-step accuracies of the weak and strong
** models, the chance a strong step repairs a derailed solution, the PRM's
** score distribution per hidden state over (min previous score, score), the
** solution-length hazard, and strong tokens per step.
**
** Each step needs a hidden state.  Simulated problems get the exact one: the
** simulator replays the arithmetic and labels every step S0/S1/S2.  Other
** problems are labelled as the TRIM release labelled MATH: a correct
** solution's steps are all S0; in a wrong one the first accepted step the
** PRM scored below 0.35 is the first error (S2) and the rest are derailed
** (S1); their discarded drafts are left out.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "errf.h"
#include "pomdp.h"
#include "sim.h"
#include "store.h"

#define FIRST_ERROR_SCORE 0.35 /* the release's first-error threshold */
#define MAX_LEN           64

static const char description[] =
    "Fit TRIM-POMDP's model (next-step accuracies, repair chance, PRM score\n"
    "likelihoods per hidden state, solution-length hazard, strong tokens per\n"
    "step) to a recorded run with ground truth, and write it as a\n"
    "calibration file for pomdp:LAMBDA:FILE.";

typedef struct fit {
    store_reader_t *reader;
    const sim_world_t *world;
    double grid[3][POMDP_BINS][POMDP_BINS];
    long weak_ok, weak_bad;     /* drafts after a correct prefix */
    long strong_ok, strong_bad; /* strong steps after a correct prefix */
    long repaired, derailed;    /* strong steps after a derailed prefix */
    long lengths[MAX_LEN + 1];  /* finished solutions by step count */
    double strong_tokens;
    long strong_steps;
    long problems, labelled;
    char err[512];
    int failed;
} fit_t;

/*
** The hidden state of the last of n steps (exact, from the simulator), or
** -1 when the problem is not a simulated one.
*/
static int
sim_state(const fit_t *f, const char *problem, const char *const *steps,
          size_t n)
{
    float scores[256];
    sim_state_t states[256];
    char err[128];
    if (n == 0 || n > 256 ||
        sim_score(f->world, problem, steps, n, scores, states, NULL, NULL, err,
                  sizeof err) < 0)
        return -1;
    return (int)states[n - 1];
}


static void
observe(fit_t *f, int state, const store_step_t *s)
{
    if (isnan(s->prm_score))
        return;
    double mp = isnan(s->min_prev_score) ? 1.0 : s->min_prev_score;
    f->grid[state][pomdp_bin(mp)][pomdp_bin(s->prm_score)] += 1;
    f->labelled++;
}


/* One problem's accepted steps and what labelling its rows needs. */
typedef struct labels {
    const store_problem_t *p;
    const char *accepted[MAX_LEN + 1]; /* accepted steps' texts in order */
    size_t n;
    int exact;       /* a simulated problem: states from the simulator */
    int first_error; /* otherwise, in a wrong solution: the first error */
} labels_t;


/*
** The index among the n accepted steps of r of the first one the PRM scored
** below FIRST_ERROR_SCORE, or the last one when none was.
*/
static int
first_error_of(const store_rows_t *r, size_t n)
{
    for (size_t i = 0, k = 0; i < r->n; i++) {
        if (!r->v[i].accepted)
            continue;
        if (!isnan(r->v[i].prm_score) && r->v[i].prm_score < FIRST_ERROR_SCORE)
            return (int)k;
        k++;
    }
    return (int)n - 1;
}


/*
** The hidden state of step s and whether the prefix it was drafted on was
** correct.  Returns -1 for a step that cannot be labelled.
*/
static int
label_step(const fit_t *f, const labels_t *l, const store_step_t *s, int *state,
           int *prefix_ok)
{
    size_t k = (size_t)s->step_index;
    int correct = l->p->correct, first = l->first_error;

    if (k > l->n || k >= MAX_LEN)
        return -1;
    if (l->exact) {
        /* The prefix's own state, then this step's on top of it. */
        const char *hist[MAX_LEN + 1];
        memcpy(hist, l->accepted, k * sizeof *hist);
        hist[k] = s->text;
        *prefix_ok =
            k == 0 || sim_state(f, l->p->text, l->accepted, k) == SIM_S0;
        *state = sim_state(f, l->p->text, hist, k + 1);
        return *state < 0 ? -1 : 0;
    }
    if (!s->accepted)
        return -1; /* a discarded draft's truth is unknown */
    *prefix_ok = correct || (int)k <= first;
    *state = correct || (int)k < first ? SIM_S0
             : (int)k == first         ? SIM_S2
                                       : SIM_S1;
    return 0;
}


/* Count labelled step s into the fit. */
static void
count_step(fit_t *f, const store_step_t *s, int state, int prefix_ok)
{
    if (s->kind == STORE_DRAFT) {
        observe(f, state, s);
        if (prefix_ok && state == SIM_S0)
            f->weak_ok++;
        else if (prefix_ok)
            f->weak_bad++;
        return;
    }
    f->strong_tokens += s->completion_tokens;
    f->strong_steps++;
    if (prefix_ok && state == SIM_S0)
        f->strong_ok++;
    else if (prefix_ok)
        f->strong_bad++;
    else
        f->derailed++;
    if (!prefix_ok && state == SIM_S0)
        f->repaired++;
}


static int
fit_problem(void *ctx, const store_problem_t *p)
{
    fit_t *f = ctx;
    store_rows_t r = {0};
    labels_t l = {.p = p, .first_error = -1};

    if (p->status != STORE_FINISHED || p->correct < 0)
        return 0;
    if (store_each_step(f->reader, p->problem_id, store_rows_collect, &r,
                        f->err, sizeof f->err) < 0) {
        f->failed = 1;
        return 1;
    }
    f->problems++;
    if (p->steps >= 1 && p->steps <= MAX_LEN)
        f->lengths[p->steps]++;
    /* Accepted steps in order: they are the prefixes drafts were read in. */
    for (size_t i = 0; i < r.n && l.n < MAX_LEN; i++)
        if (r.v[i].accepted)
            l.accepted[l.n++] = r.v[i].text;
    l.exact = l.n > 0 && sim_state(f, p->text, l.accepted, 1) >= 0;
    if (!l.exact && !p->correct)
        l.first_error = first_error_of(&r, l.n);
    for (size_t i = 0; i < r.n; i++) {
        int state, prefix_ok;
        if (label_step(f, &l, &r.v[i], &state, &prefix_ok) == 0)
            count_step(f, &r.v[i], state, prefix_ok);
    }
    store_rows_clear(&r);
    return 0;
}


static const char *const state_keys[3] = {
    "S0_correct_so_far", "S1_derailed_earlier", "S2_latest_step_first_error"};


/* The fit as a calibration file's JSON. */
static json_t *
to_json(fit_t *f, const char *db)
{
    json_t *obs = json_object(), *root = json_object();
    int max_len = 1;
    long total = 0;

    for (int s = 0; s < 3; s++) {
        /* Half a count in every cell keeps unseen bins possible. */
        double sum = 0;
        for (int i = 0; i < POMDP_BINS; i++)
            for (int j = 0; j < POMDP_BINS; j++)
                sum += f->grid[s][i][j] + 0.5;
        json_t *grid = json_array(), *mc = json_array(), *mp = json_array();
        double col[POMDP_BINS] = {0};
        for (int i = 0; i < POMDP_BINS; i++) {
            json_t *row = json_array();
            double rs = 0;
            for (int j = 0; j < POMDP_BINS; j++) {
                double v = (f->grid[s][i][j] + 0.5) / sum;
                json_array_append_new(row, json_real(v));
                rs += v;
                col[j] += v;
            }
            json_array_append_new(grid, row);
            json_array_append_new(mp, json_real(rs));
        }
        for (int j = 0; j < POMDP_BINS; j++)
            json_array_append_new(mc, json_real(col[j]));
        json_object_set_new(obs, state_keys[s],
                            json_pack("{s:o, s:o, s:o}", "grid", grid,
                                      "marginal_current", mc,
                                      "marginal_min_previous", mp));
    }
    json_object_set_new(root, "about",
                        json_sprintf("Fitted by trim calibrate from %s: %ld "
                                     "problems, %ld labelled drafts.",
                                     db, f->problems, f->labelled));
    json_object_set_new(root, "bin_size", json_real(0.05));
    json_object_set_new(root, "observation_model",
                        json_pack("{s:o}", "math_train", obs));
    double pw = (double)f->weak_ok / (double)(f->weak_ok + f->weak_bad);
    double ps =
        f->strong_ok + f->strong_bad > 0
            ? (double)f->strong_ok / (double)(f->strong_ok + f->strong_bad)
            : 0.9704;
    json_object_set_new(
        root, "next_step_accuracy",
        json_pack("{s:[f,I,I], s:[f,I,I], s:f}", "weak", pw,
                  (json_int_t)f->weak_ok, (json_int_t)f->weak_bad, "strong", ps,
                  (json_int_t)f->strong_ok, (json_int_t)f->strong_bad, "repair",
                  f->derailed > 0 ? (double)f->repaired / f->derailed : 0.0));
    for (int k = 1; k <= MAX_LEN; k++)
        if (f->lengths[k] > 0) {
            max_len = k;
            total += f->lengths[k];
        }
    json_t *hazard = json_object();
    long left = total;
    for (int k = 1; k <= max_len; k++) {
        char key[16];
        snprintf(key, sizeof key, "%d", k);
        json_object_set_new(hazard, key,
                            json_real(k == max_len ? 1.0
                                      : left > 0 ? (double)f->lengths[k] / left
                                                 : 0.0));
        left -= f->lengths[k];
    }
    double mean_len = 0;
    for (int k = 1; k <= max_len; k++)
        mean_len += (double)k * f->lengths[k];
    mean_len = total ? mean_len / total : 0;
    json_object_set_new(root, "solution_length",
                        json_pack("{s:{s:i, s:o}}", "weak_and_strong",
                                  "max_steps", max_len, "hazard_by_step",
                                  hazard));
    double per_step =
        f->strong_steps ? f->strong_tokens / f->strong_steps : 494.84 / 8.02;
    json_object_set_new(root, "token_usage_math500",
                        json_pack("{s:f, s:f}",
                                  "strong_only_tokens_per_question",
                                  per_step * mean_len,
                                  "strong_only_steps_per_question", mean_len));
    return root;
}


int
cmd_calibrate(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "threshold") == 0) /* its own file */
        return cmd_calibrate_threshold(argc - 1, argv + 1);
    const char *db = "trim.db", *out = "";
    int64_t run = 0;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "the recorded run's database"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "only this run (0: every run)"},
        {"out", FLAG_STRING, &out, 0, 0, "calibration file to write"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    fit_t *f = NULL;
    sim_world_t *world = NULL;
    pomdp_model_t check;
    int npos, rc = cli_parse("calibrate", "--db FILE --out FILE", description,
                             flags, n, argc, argv, &npos);

    if (rc != CLI_GO)
        return rc;
    if (npos > 0 || *out == '\0') {
        fprintf(stderr, "trim calibrate: give --out FILE (and no other "
                        "argument)\n");
        return 2;
    }
    rc = 1;
    if ((f = calloc(1, sizeof *f)) == NULL)
        return 1;
    world = sim_world_new(NULL, NULL, f->err, sizeof f->err);
    f->reader = world ? store_reader_new(db, f->err, sizeof f->err) : NULL;
    if (f->reader == NULL)
        goto done;
    f->world = world;
    if (store_each_problem(f->reader, run, fit_problem, f, f->err,
                           sizeof f->err) < 0 ||
        f->failed)
        goto done;
    if (f->weak_ok + f->weak_bad == 0 || f->labelled == 0) {
        errf(f->err, sizeof f->err,
             "%s has no graded, finished problem with scored drafts to fit "
             "from",
             db);
        goto done;
    }
    json_t *j = to_json(f, db);
    if (j == NULL || json_dump_file(j, out, JSON_INDENT(1)) != 0) {
        errf(f->err, sizeof f->err, "cannot write %s", out);
        json_decref(j);
        goto done;
    }
    json_decref(j);
    /* What was written must load as a model. */
    if (pomdp_model_load(out, &check, f->err, sizeof f->err) < 0)
        goto done;
    printf("%s: %ld problems, %ld labelled drafts; weak %.4f, strong %.4f, "
           "repair %.3f, %.1f strong tokens per step, up to %d steps\n",
           out, f->problems, f->labelled, check.p_weak, check.p_strong,
           check.repair, check.strong_tokens, check.max_steps);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "trim calibrate: %s\n", f->err);
    store_reader_destroy(&f->reader);
    sim_world_destroy(&world);
    free(f);
    return rc;
}
