/*
** cmd_calibrate.c: `trim calibrate`, fitting TRIM-POMDP's model.
**
**   trim calibrate --db FILE [--run N] [--method em|oracle|first-low] --out F
**   trim calibrate --processbench FILE [--prm-url URL] --out F
**
** Writes a calibration file in the format of data/calibration/ (what
** `pomdp:LAMBDA:FILE` loads): next-step accuracies of the weak and strong
** models, the chance a strong step repairs a derailed solution, the PRM's
** score distribution per hidden state over (min previous score, score), the
** solution-length hazard, and strong tokens per step (pomdp_fit.h).  Each
** step's hidden state (S0/S1/S2) comes from what a deployment has:
**
**   --processbench  step-labelled solutions (ProcessBench's layout), scored
**                   by the PRM `trim run` would use, as the TRIM paper fits
**                   (calib_labelled.c);
**   --method em     a recorded run's final answers only: EM over the
**                   hidden states (calib_em.c; the default);
**   --method first-low  the TRIM release's rule on a recorded run: a right
**                   answer's steps are S0; in a wrong one the first accepted
**                   step the PRM scored below 0.35 is the first error (S2)
**                   and the rest are S1; discarded drafts are left out;
**   --method oracle the simulator's hidden states of a simulated run,
**                   labels no deployment has: the file, the summary and
**                   what plans with it say "oracle".
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_fit.h"
#include "cli.h"
#include "errf.h"
#include "http_flags.h"
#include "labelled_data.h"
#include "pomdp.h"
#include "pomdp_fit.h"
#include "prm_scorer.h"
#include "sim.h"
#include "store.h"

#define FIRST_ERROR_SCORE 0.35 /* the release's first-error threshold */
#define MAX_LEN           POMDP_MAX_STEPS
#define MAX_FLAGS         64

static const char description[] =
    "Fit TRIM-POMDP's model (next-step accuracies, repair chance, PRM score\n"
    "likelihoods per hidden state, solution-length hazard, strong tokens per\n"
    "step) and write it as a calibration file for pomdp:LAMBDA:FILE.  From\n"
    "step-labelled solutions in ProcessBench's layout (--processbench FILE,\n"
    "scored by the simulator's PRM or --prm-url), or from a recorded run\n"
    "(--db): --method em fits the hidden states from final answers only,\n"
    "first-low labels them as the TRIM release did, oracle reads the\n"
    "simulator's hidden states (labels no deployment has).";

typedef struct fit {
    store_reader_t *reader;
    const sim_world_t *world;
    int oracle; /* hidden states, else the release's first-low rule */
    pomdp_counts_t c;
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
    f->c.grid[state][pomdp_bin(mp)][pomdp_bin(s->prm_score)] += 1;
}


/* One problem's accepted steps and what labelling its rows needs. */
typedef struct labels {
    const store_problem_t *p;
    const char *accepted[MAX_LEN + 1]; /* accepted steps' texts in order */
    size_t n;
    int first_error; /* first-low, in a wrong solution: the first error */
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
    if (f->oracle) {
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
            f->c.weak_ok++;
        else if (prefix_ok)
            f->c.weak_bad++;
        return;
    }
    f->c.strong_tokens += s->completion_tokens;
    f->c.strong_steps++;
    if (prefix_ok && state == SIM_S0)
        f->c.strong_ok++;
    else if (prefix_ok)
        f->c.strong_bad++;
    else
        f->c.derailed++;
    if (!prefix_ok && state == SIM_S0)
        f->c.repaired++;
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
    f->c.problems++;
    if (p->steps >= 1 && p->steps <= MAX_LEN)
        f->c.lengths[p->steps]++;
    /* Accepted steps in order: they are the prefixes drafts were read in. */
    for (size_t i = 0; i < r.n && l.n < MAX_LEN; i++)
        if (r.v[i].accepted)
            l.accepted[l.n++] = r.v[i].text;
    if (f->oracle && (l.n == 0 || sim_state(f, p->text, l.accepted, 1) < 0)) {
        errf(f->err, sizeof f->err,
             "problem %lld is not a simulated one: --method oracle needs "
             "the simulator's hidden states (use em or first-low)",
             (long long)p->problem_id);
        f->failed = 1;
        store_rows_clear(&r);
        return 1;
    }
    if (!f->oracle && !p->correct)
        l.first_error = first_error_of(&r, l.n);
    for (size_t i = 0; i < r.n; i++) {
        int state, prefix_ok;
        if (label_step(f, &l, &r.v[i], &state, &prefix_ok) == 0)
            count_step(f, &r.v[i], state, prefix_ok);
    }
    store_rows_clear(&r);
    return 0;
}


/* The labelled steps of a recorded run (oracle or first-low) into f->c. */
static int
fit_labelled_run(fit_t *f, const char *db, int64_t run)
{
    sim_world_t *world = sim_world_new(NULL, NULL, f->err, sizeof f->err);
    int rc = -1;

    f->reader = world ? store_reader_new(db, f->err, sizeof f->err) : NULL;
    if (f->reader == NULL)
        goto done;
    f->world = world;
    if (store_each_problem(f->reader, run, fit_problem, f, f->err,
                           sizeof f->err) < 0 ||
        f->failed)
        goto done;
    rc = 0;
done:
    store_reader_destroy(&f->reader);
    sim_world_destroy(&world);
    return rc;
}


/* A recorded run's final answers, by EM, into f->c. */
static int
fit_em_run(fit_t *f, const char *db, int64_t run)
{
    calib_em_report_t rep;
    int rc = -1;

    if ((f->reader = store_reader_new(db, f->err, sizeof f->err)) == NULL)
        return -1;
    if (calib_em_store(f->reader, run, &f->c, &rep, f->err, sizeof f->err) ==
        0) {
        printf("em: %ld solutions (%ld not step-routed, left out), %d "
               "iterations, log-likelihood %.1f\n",
               rep.solutions, rep.skipped, rep.iterations, rep.loglik);
        rc = 0;
    }
    store_reader_destroy(&f->reader);
    return rc;
}


/* The settings of the ProcessBench fit. */
typedef struct pb_args {
    const char *file, *weak, *strong, *calibration, *profile;
    const char *prm_url, *prm_model;
    int64_t credit;
    http_flag_values_t hv;
} pb_args_t;


/* Step-labelled solutions scored by the PRM into f->c. */
static int
fit_processbench(fit_t *f, const pb_args_t *a)
{
    labelled_set_t set = {0};
    sim_params_t params;
    sim_world_t *world = NULL;
    prm_scorer_t *prm = NULL;
    http_backend_opts_t http;
    int rc = -1;

    if (*a->prm_url) {
        if (http_flags_to_opts("calibrate", &a->hv, &http) < 0)
            return -1;
        http.base_url = a->prm_url;
        http.model = a->prm_model;
    }
    if (labelled_load(a->file, &set, f->err, sizeof f->err) < 0 ||
        sim_profile_resolve(a->profile, &params, f->err, sizeof f->err) < 0 ||
        (world = sim_world_new(&params, *a->calibration ? a->calibration : NULL,
                               f->err, sizeof f->err)) == NULL ||
        (prm = prm_scorer_new(world, *a->prm_url ? &http : NULL, (int)a->credit,
                              f->err, sizeof f->err)) == NULL)
        goto done;
    rc = calib_labelled(&set, prm, a->weak, a->strong, &f->c, f->err,
                        sizeof f->err);
done:
    prm_scorer_destroy(&prm);
    sim_world_destroy(&world);
    labelled_set_clear(&set);
    return rc;
}


/* Write the fit to out and check it loads; prints the summary. */
static int
write_model(fit_t *f, const pomdp_fit_info_t *info, const char *out)
{
    pomdp_model_t check;
    json_t *j = pomdp_counts_json(&f->c, info);

    if (j == NULL || json_dump_file(j, out, JSON_INDENT(1)) != 0) {
        json_decref(j);
        return errf(f->err, sizeof f->err, "cannot write %s", out);
    }
    json_decref(j);
    if (pomdp_model_load(out, &check, f->err, sizeof f->err) < 0)
        return -1;
    printf("%s%s: %ld problems, %.0f labelled drafts; weak %.4f, strong %.4f, "
           "repair %.3f, %.1f strong tokens per step, up to %d steps\n",
           check.oracle ? "ORACLE (the simulator's hidden states) " : "", out,
           f->c.problems, pomdp_counts_scored(&f->c), check.p_weak,
           check.p_strong, check.repair, check.strong_tokens, check.max_steps);
    return 0;
}


int
cmd_calibrate(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "threshold") == 0) /* its own file */
        return cmd_calibrate_threshold(argc - 1, argv + 1);
    const char *db = "trim.db", *out = "", *method = "em";
    int64_t run = 0;
    pb_args_t pb = {.file = "",
                    .weak = "",
                    .strong = "",
                    .calibration = "",
                    .profile = "",
                    .prm_url = "",
                    .prm_model = "",
                    .credit = 8};
    double tokens_step = 0;
    const flag_t base[] = {
        {"db", FLAG_STRING, &db, 0, 0, "the recorded run's database"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "only this run (0: every run)"},
        {"method", FLAG_STRING, &method, 0, 0,
         "how a recorded run's steps get their hidden states: em (final "
         "answers only), first-low (the TRIM release's rule) or oracle (the "
         "simulator's)"},
        {"processbench", FLAG_STRING, &pb.file, 0, 0,
         "fit from step-labelled solutions in ProcessBench's layout (JSON or "
         "JSONL: problem, steps, label) instead of a run"},
        {"weak-generator", FLAG_STRING, &pb.weak, 0, 0,
         "--processbench: the weak model's solutions (default: all)"},
        {"strong-generator", FLAG_STRING, &pb.strong, 0, 0,
         "--processbench: the strong model's solutions (default: none; the "
         "release's 0.9704)"},
        {"strong-tokens-per-step", FLAG_DOUBLE, &tokens_step, 0, 1e6,
         "--processbench: strong tokens per step (default: the release's "
         "61.7)"},
        {"prm-url", FLAG_STRING, &pb.prm_url, 0, 0,
         "--processbench: PRM server with /pooling (empty: the simulator's)"},
        {"prm-model", FLAG_STRING, &pb.prm_model, 0, 0, "PRM's served name"},
        {"prm-calls", FLAG_INT, &pb.credit, 1, 1024, "PRM calls at once"},
        {"calibration", FLAG_STRING, &pb.calibration, 0, 0,
         "the simulator's PRM grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &pb.profile, 0, 0,
         "simulator profile of the simulator's PRM"},
        {"out", FLAG_STRING, &out, 0, 0, "calibration file to write"},
    };
    flag_t flags[MAX_FLAGS];
    size_t n = sizeof base / sizeof *base;
    fit_t *f = NULL;
    char about[1024];
    int npos, rc;

    memcpy(flags, base, sizeof base);
    http_flag_values_init(&pb.hv);
    n = http_flags_add(flags, n, MAX_FLAGS, &pb.hv, HTTP_FLAGS_SHARED);
    rc = cli_parse("calibrate", "--db FILE | --processbench FILE --out FILE",
                   description, flags, n, argc, argv, &npos);
    if (rc != CLI_GO)
        return rc;
    if (npos > 0 || *out == '\0') {
        fprintf(stderr, "trim calibrate: give --out FILE (and no other "
                        "argument)\n");
        return 2;
    }
    if (strcmp(method, "em") != 0 && strcmp(method, "oracle") != 0 &&
        strcmp(method, "first-low") != 0) {
        fprintf(stderr,
                "trim calibrate: --method: '%s' is not em, first-low "
                "or oracle\n",
                method);
        return 2;
    }
    if ((f = calloc(1, sizeof *f)) == NULL)
        return 1;
    pomdp_fit_info_t info = {.method = *pb.file ? "processbench" : method,
                             .about = about,
                             .strong_tokens_step = tokens_step};
    f->oracle = strcmp(info.method, "oracle") == 0;
    rc = *pb.file                    ? fit_processbench(f, &pb)
         : strcmp(method, "em") == 0 ? fit_em_run(f, db, run)
                                     : fit_labelled_run(f, db, run);
    if (rc == 0 &&
        (f->c.weak_ok + f->c.weak_bad == 0 || pomdp_counts_scored(&f->c) == 0))
        rc = errf(f->err, sizeof f->err,
                  "%s has no graded, finished problem with scored drafts to "
                  "fit from",
                  *pb.file ? pb.file : db);
    snprintf(about, sizeof about, "%sFitted by trim calibrate (%s) from %s.",
             f->oracle ? "ORACLE: fitted on the simulator's hidden states, "
                         "labels no deployment has. "
                       : "",
             info.method, *pb.file ? pb.file : db);
    if (rc == 0)
        rc = write_model(f, &info, out);
    if (rc != 0)
        fprintf(stderr, "trim calibrate: %s\n", f->err);
    free(f);
    return rc == 0 ? 0 : 1;
}
