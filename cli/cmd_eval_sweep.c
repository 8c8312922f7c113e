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

#include "cli.h"
#include "flags.h"
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


int
cmd_eval_sweep(int argc, char **argv)
{
    const char *kind = "thr", *ref_path = "", *db = "trim-sweep.db";
    const char *calibration = "", *log_level = "warn";
    const char *sim_profile = "math500";
    double from = 0, to = 1, by = 0.05;
    int64_t problems = 500, seed = 1;
    int json = 0, npos, rc = 1;
    const flag_t flags[] = {
        {"policy", FLAG_STRING, &kind, 0, 0, "policy family to sweep: thr"},
        {"from", FLAG_DOUBLE, &from, 0, 1, "first threshold"},
        {"to", FLAG_DOUBLE, &to, 0, 1, "last threshold"},
        {"by", FLAG_DOUBLE, &by, 0.001, 1, "threshold step"},
        {"problems", FLAG_INT, &problems, 1, 1e7, "problems per threshold"},
        {"seed", FLAG_INT, &seed, 0, 9.2e18, "problem set and sampling seed"},
        {"db", FLAG_STRING, &db, 0, 0, "audit database (a run per point)"},
        {"reference", FLAG_STRING, &ref_path, 0, 0,
         "real sweep to print beside (summary.jsonl layout)"},
        {"calibration", FLAG_STRING, &calibration, 0, 0,
         "PRM calibration grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &sim_profile, 0, 0,
         "simulator profile: math500 (fitted), hard or easy"},
        {"json", FLAG_BOOL, &json, 0, 0, "one JSON object per threshold"},
        {"log-level", FLAG_STRING, &log_level, 0, 0,
         "debug, info, warn, error or off"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    local_opts_t o = {0};
    reference_t *ref = NULL;
    sweep_row_t *rows = NULL;
    char err[512], info[256];

    switch (flags_parse("eval sweep", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "eval sweep", "--policy thr [FLAGS]", description,
                    flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim eval sweep: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (cli_log_level("eval", log_level) < 0)
        return 2;
    o.problems = problems;
    o.seed = (uint64_t)seed;
    o.db = db;
    o.calibration = *calibration ? calibration : NULL;
    o.sim_profile = sim_profile;
    if (strcmp(kind, "thr") != 0) {
        fprintf(stderr,
                "trim eval sweep: --policy %s cannot be swept yet (thr can)\n",
                kind);
        return 2;
    }
    if (from > to) {
        fprintf(stderr, "trim eval sweep: --from %g is above --to %g\n", from,
                to);
        return 2;
    }
    if (*ref_path &&
        (ref = reference_load(ref_path, err, sizeof err)) == NULL) {
        fprintf(stderr, "trim eval sweep: %s\n", err);
        return 1;
    }
    int points = (int)floor((to - from) / by + 1e-9) + 1;
    rows = calloc((size_t)points, sizeof *rows);
    if (rows == NULL)
        goto done;
    snprintf(info, sizeof info,
             "TRIM-Thr sweep: %lld simulated problems (profile %s), seed "
             "%llu, database %s",
             (long long)o.problems, sim_profile, (unsigned long long)o.seed,
             o.db);
    if (!json)
        print_text_header(ref, info);
    for (int i = 0; i < points; i++) {
        sweep_row_t *r = &rows[i];
        local_result_t res;
        /* Round to the step so 0.1 + 0.2 prints and matches as 0.3. */
        r->threshold = round((from + i * by) * 1e6) / 1e6;
        if (r->threshold <= 0)
            snprintf(r->policy, sizeof r->policy, "weak");
        else if (r->threshold >= 1)
            snprintf(r->policy, sizeof r->policy, "strong");
        else
            snprintf(r->policy, sizeof r->policy, "thr:%g", r->threshold);
        o.policy = r->policy;
        o.progress = 0;
        if (local_run(&o, &res, err, sizeof err) < 0) {
            fprintf(stderr, "trim eval sweep: threshold %g: %s\n", r->threshold,
                    err);
            goto done;
        }
        double q = (double)res.stats.submitted;
        int64_t all = res.stats.weak_tokens + res.stats.strong_tokens +
                      res.stats.discarded_tokens;
        r->accuracy = res.stats.graded
                          ? (double)res.stats.correct / res.stats.graded
                          : 0.0;
        r->strong = res.stats.strong_tokens / q;
        r->share = all ? (double)res.stats.strong_tokens / all : 0.0;
        r->draft = res.stats.weak_tokens / q;
        r->discarded = res.stats.discarded_tokens / q;
        r->failed = res.stats.failed;
        print_row(r, ref, json);
        fflush(stdout);
    }
    rc = 0;
done:
    free(rows);
    reference_destroy(&ref);
    return rc;
}
