/*
** cmd_eval_sweep.c: `trim eval sweep`, one policy kind's knob against a
** real reference sweep.
**
**   trim eval sweep --policy thr --from 0 --to 1 --by 0.05 --problems N
**
** runs the same problems once per threshold and prints, per threshold, the
** accuracy and token costs; --reference FILE prints a real sweep's figures
** next to each threshold.  As in the TRIM release's sweeps, threshold 0 is
** run as weak-only and threshold 1 as strong-only (the PRM is not called).
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arg_checks.h"
#include "cli.h"
#include "run_progress.h"
#include "local.h"
#include "policy.h"
#include "reference.h"

static const char description[] =
    "Run the same simulated problems once per threshold and print accuracy,\n"
    "strong tokens per problem, strong-token share, draft and discarded\n"
    "tokens per problem.  Threshold 0 runs weak-only and 1 strong-only.\n"
    "With --reference, a real sweep in the TRIM release's summary.jsonl\n"
    "layout is printed next to each threshold (from the repository root:\n"
    "data/reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl).";

typedef struct sweep_row {
    double threshold;
    char policy[64];
    double accuracy, strong, share, draft, discarded; /* per problem */
    int64_t failed;
} sweep_row_t;


static void
print_text_header(const reference_t *ref, const char *seed_info)
{
    printf("# %s\n", seed_info);
    printf("%-9s %8s %10s %8s %9s %10s", "threshold", "accuracy", "strong/q",
           "share", "draft/q", "discard/q");
    if (ref)
        printf("  | %8s %10s %9s %10s", "ref acc", "ref str/q", "ref drf/q",
               "ref dsc/q");
    printf("\n");
}


static void
print_row(const sweep_row_t *r, const reference_t *ref, int json)
{
    const reference_point_t *pt =
        ref ? reference_find(ref, r->threshold) : NULL;
    if (json) {
        json_t *j = json_pack(
            "{s:f, s:s, s:f, s:f, s:f, s:f, s:f, s:I}", "threshold",
            r->threshold, "policy", r->policy, "accuracy", r->accuracy,
            "strong_tokens_per_problem", r->strong, "strong_token_share",
            r->share, "draft_tokens_per_problem", r->draft,
            "discarded_tokens_per_problem", r->discarded, "failed",
            (json_int_t)r->failed);
        if (pt) {
            json_t *rj =
                json_pack("{s:f, s:f}", "accuracy", pt->accuracy,
                          "strong_tokens_per_problem", pt->strong_tokens);
            if (!isnan(pt->draft_tokens))
                json_object_set_new(rj, "draft_tokens_per_problem",
                                    json_real(pt->draft_tokens));
            if (!isnan(pt->discarded_tokens))
                json_object_set_new(rj, "discarded_tokens_per_problem",
                                    json_real(pt->discarded_tokens));
            json_object_set_new(j, "reference", rj);
        }
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
        puts(s ? s : "{}");
        free(s);
        json_decref(j);
        return;
    }
    printf("%-9.3g %8.3f %10.1f %8.3f %9.1f %10.1f", r->threshold, r->accuracy,
           r->strong, r->share, r->draft, r->discarded);
    if (pt)
        printf("  | %8.3f %10.1f %9.1f %10.1f", pt->accuracy, pt->strong_tokens,
               pt->draft_tokens, pt->discarded_tokens);
    else if (ref)
        printf("  | %8s", "-");
    printf("\n");
}


typedef struct sweep_args {
    const char *kind, *ref_path, *db, *calibration, *log_level, *sim_profile;
    double from, to, by;
    int64_t problems, seed;
    int json;
} sweep_args_t;


/* Parse and check the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, sweep_args_t *a)
{
    const flag_t flags[] = {
        {"policy", FLAG_STRING, &a->kind, 0, 0, "policy family to sweep: thr"},
        {"from", FLAG_DOUBLE, &a->from, 0, 1, "first threshold"},
        {"to", FLAG_DOUBLE, &a->to, 0, 1, "last threshold"},
        {"by", FLAG_DOUBLE, &a->by, 0.001, 1, "threshold step"},
        {"problems", FLAG_INT, &a->problems, 1, 1e7, "problems per threshold"},
        {"seed", FLAG_INT, &a->seed, 0, 9.2e18,
         "problem set and sampling seed"},
        {"db", FLAG_STRING, &a->db, 0, 0, "audit database (a run per point)"},
        {"reference", FLAG_STRING, &a->ref_path, 0, 0,
         "real sweep to print beside (summary.jsonl layout)"},
        {"calibration", FLAG_STRING, &a->calibration, 0, 0,
         "PRM calibration grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &a->sim_profile, 0, 0,
         "simulator profile: math500 (fitted) or another of trim eval --help"},
        {"json", FLAG_BOOL, &a->json, 0, 0, "one JSON object per threshold"},
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };
    int rc = cli_parse("eval sweep", "--policy thr [FLAGS]", description, flags,
                       sizeof flags / sizeof *flags, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if (cli_log_level("eval", a->log_level) < 0)
        return 2;
    if (strcmp(a->kind, "thr") != 0) {
        fprintf(stderr,
                "trim eval sweep: --policy %s cannot be swept yet (thr can)\n",
                a->kind);
        return 2;
    }
    if (a->from > a->to) {
        fprintf(stderr, "trim eval sweep: --from %g is above --to %g\n",
                a->from, a->to);
        return 2;
    }
    if (arg_check_profile("eval sweep", "--sim-profile", a->sim_profile) < 0)
        return 2;
    return CLI_GO;
}


/*
** Solve o's problems with threshold r->threshold (0 runs as weak, 1 as
** strong) and fill r's figures.  0, or -1 with err.
*/
static int
measure_row(local_opts_t *o, sweep_row_t *r, char *err, size_t errlen)
{
    local_result_t res;

    if (r->threshold <= 0)
        snprintf(r->policy, sizeof r->policy, "weak");
    else if (r->threshold >= 1)
        snprintf(r->policy, sizeof r->policy, "strong");
    else
        snprintf(r->policy, sizeof r->policy, "thr:%g", r->threshold);
    o->policy = r->policy;
    if (local_run(o, &res, err, errlen) < 0)
        return -1;
    double q = (double)res.stats.submitted;
    int64_t all = res.stats.weak_tokens + res.stats.strong_tokens +
                  res.stats.discarded_tokens;
    r->accuracy =
        res.stats.graded ? (double)res.stats.correct / res.stats.graded : 0.0;
    r->strong = res.stats.strong_tokens / q;
    r->share = all ? (double)res.stats.strong_tokens / all : 0.0;
    r->draft = res.stats.weak_tokens / q;
    r->discarded = res.stats.discarded_tokens / q;
    r->failed = res.stats.failed;
    return 0;
}


int
cmd_eval_sweep(int argc, char **argv)
{
    sweep_args_t a = {
        .kind = "thr",
        .ref_path = "",
        .db = "trim-sweep.db",
        .calibration = "",
        .log_level = "warn",
        .sim_profile = "math500",
        .to = 1,
        .by = 0.05,
        .problems = 500,
        .seed = 1,
    };
    local_opts_t o = {0};
    reference_t *ref = NULL;
    char err[512], info[256];
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    if (*a.ref_path &&
        (ref = reference_load(a.ref_path, err, sizeof err)) == NULL) {
        fprintf(stderr, "trim eval sweep: %s\n", err);
        return 1;
    }
    o.problems = a.problems;
    o.seed = (uint64_t)a.seed;
    o.db = a.db;
    o.calibration = *a.calibration ? a.calibration : NULL;
    o.sim_profile = a.sim_profile;
    snprintf(info, sizeof info,
             "TRIM-Thr sweep: %lld simulated problems (profile %s), seed "
             "%llu, database %s",
             (long long)o.problems, a.sim_profile, (unsigned long long)o.seed,
             o.db);
    if (!a.json)
        print_text_header(ref, info);
    int points = (int)floor((a.to - a.from) / a.by + 1e-9) + 1;
    rc = 0;
    run_progress_t progress;
    run_progress_open(&progress, "trim eval sweep", 0);
    for (int i = 0; i < points && rc == 0; i++) {
        sweep_row_t r = {0};
        char knob[48];
        /* Round to the step so 0.1 + 0.2 prints and matches as 0.3. */
        r.threshold = round((a.from + i * a.by) * 1e6) / 1e6;
        snprintf(knob, sizeof knob, "threshold %g", r.threshold);
        eval_progress_point(&progress, &o, knob, (size_t)i, (size_t)points);
        int measured = measure_row(&o, &r, err, sizeof err);
        run_progress_clear(&progress); /* before the row or the error */
        if (measured < 0) {
            fprintf(stderr, "trim eval sweep: threshold %g: %s\n", r.threshold,
                    err);
            rc = 1;
        } else {
            print_row(&r, ref, a.json);
            fflush(stdout);
        }
    }
    run_progress_close(&progress);
    reference_destroy(&ref);
    return rc;
}
