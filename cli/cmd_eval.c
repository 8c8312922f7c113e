/*
** cmd_eval.c: `trim eval`, evaluating policies on the simulator.
**
**   trim eval sweep --policy thr --from 0 --to 1 --by 0.05 --problems N
**
** runs the same problems once per threshold and prints, per threshold, the
** accuracy and token costs; --reference FILE prints a real sweep's figures
** next to each threshold.  As in the TRIM release's sweeps, threshold 0 is
** run as weak-only and threshold 1 as strong-only (the PRM is not called).
*/
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "local.h"
#include "reference.h"

static const char usage_text[] =
    "usage: trim eval sweep --policy thr [--from 0] [--to 1] [--by 0.05]\n"
    "                       [--problems N] [--seed S] [--db FILE]\n"
    "                       [--reference FILE] [--calibration FILE] [--json]\n"
    "\n"
    "Run the same simulated problems once per threshold and print accuracy,\n"
    "strong tokens per problem, strong-token share, draft and discarded\n"
    "tokens per problem.  Threshold 0 runs weak-only and 1 strong-only.\n"
    "With --reference, a real sweep in the TRIM release's summary.jsonl\n"
    "layout is printed next to each threshold.\n";

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


static int
sweep(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"by", required_argument, NULL, 'b'},
        {"problems", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"reference", required_argument, NULL, 'r'},
        {"calibration", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kind = "thr", *ref_path = NULL;
    double from = 0, to = 1, by = 0.05;
    int json = 0, opt, rc = 1;
    int64_t v;
    local_opts_t o = {0};
    reference_t *ref = NULL;
    sweep_row_t *rows = NULL;
    char err[512], info[256];

    o.problems = 500;
    o.seed = 1;
    o.db = "trim-sweep.db";
    cli_log_level("eval", "warn");
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            kind = optarg;
            break;
        case 'f':
            if (cli_double("eval sweep", "from", optarg, 0, 1, &from) < 0)
                return 2;
            break;
        case 't':
            if (cli_double("eval sweep", "to", optarg, 0, 1, &to) < 0)
                return 2;
            break;
        case 'b':
            if (cli_double("eval sweep", "by", optarg, 0.001, 1, &by) < 0)
                return 2;
            break;
        case 'n':
            if (cli_int("eval sweep", "problems", optarg, 1, 10000000,
                        &o.problems) < 0)
                return 2;
            break;
        case 's':
            if (cli_int("eval sweep", "seed", optarg, 0, INT64_MAX, &v) < 0)
                return 2;
            o.seed = (uint64_t)v;
            break;
        case 'd':
            o.db = optarg;
            break;
        case 'r':
            ref_path = optarg;
            break;
        case 'k':
            o.calibration = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'l':
            if (cli_log_level("eval", optarg) < 0)
                return 2;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
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
    if (ref_path && (ref = reference_load(ref_path, err, sizeof err)) == NULL) {
        fprintf(stderr, "trim eval sweep: %s\n", err);
        return 1;
    }
    int n = (int)floor((to - from) / by + 1e-9) + 1;
    rows = calloc((size_t)n, sizeof *rows);
    if (rows == NULL)
        goto done;
    snprintf(info, sizeof info,
             "TRIM-Thr sweep: %lld simulated problems, seed %llu, database %s",
             (long long)o.problems, (unsigned long long)o.seed, o.db);
    if (!json)
        print_text_header(ref, info);
    for (int i = 0; i < n; i++) {
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


int
cmd_eval(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "sweep") == 0)
        return sweep(argc - 1, argv + 1);
    fprintf(stderr, "trim eval: unknown subcommand '%s' (known: sweep)\n",
            argv[1]);
    return 2;
}
