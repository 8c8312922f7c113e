/*
** cmd_run.c: `trim run`, a whole cluster in this process on the simulator.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "local.h"
#include "summary.h"

static const char usage_text[] =
    "usage: trim run [FLAGS]\n"
    "\n"
    "Solve simulated problems step by step with a whole cluster (coordinator,\n"
    "router, small/large/prm workers) inside this process, recording every\n"
    "step in the audit database, then print a summary.\n"
    "\n"
    "  --problems N       problems to solve (default 100)\n"
    "  --seed S           problem set and sampling seed (default 1)\n"
    "  --policy P         weak, strong, random:P or thr:K (default thr:0.5)\n"
    "  --db FILE          audit database (default trim.db)\n"
    "  --concurrency N    problems in flight at once (default 256)\n"
    "  --max-steps N      step limit per problem (default 30)\n"
    "  --calibration FILE PRM calibration grids (default: embedded fit)\n"
    "  --workers N        workers per pool (default 1)\n"
    "  --json             print the summary as one JSON object\n"
    "  --no-progress      no progress bar\n"
    "  --log-level L      debug, info, warn, error, off (default warn)\n";


int
cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"problems", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"policy", required_argument, NULL, 'p'},
        {"db", required_argument, NULL, 'd'},
        {"concurrency", required_argument, NULL, 'c'},
        {"max-steps", required_argument, NULL, 'm'},
        {"calibration", required_argument, NULL, 'k'},
        {"workers", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"no-progress", no_argument, NULL, 'q'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    local_opts_t o = {0};
    local_result_t res;
    run_summary_t sum = {0};
    int json = 0, progress = 1, opt;
    int64_t v;
    char err[512];

    o.policy = "thr:0.5";
    o.seed = 1;
    o.problems = 100;
    o.db = "trim.db";
    cli_log_level("run", "warn");
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (cli_int("run", "problems", optarg, 1, 100000000, &o.problems))
                return 2;
            break;
        case 's':
            if (cli_int("run", "seed", optarg, 0, INT64_MAX, &v))
                return 2;
            o.seed = (uint64_t)v;
            break;
        case 'p':
            o.policy = optarg;
            break;
        case 'd':
            o.db = optarg;
            break;
        case 'c':
            if (cli_int("run", "concurrency", optarg, 1, 1000000, &v))
                return 2;
            o.concurrency = (int)v;
            break;
        case 'm':
            if (cli_int("run", "max-steps", optarg, 1, 200, &v))
                return 2;
            o.max_steps = (int)v;
            break;
        case 'k':
            o.calibration = optarg;
            break;
        case 'w':
            if (cli_int("run", "workers", optarg, 1, 64, &v))
                return 2;
            o.small_workers = o.large_workers = o.prm_workers = (int)v;
            break;
        case 'j':
            json = 1;
            break;
        case 'q':
            progress = 0;
            break;
        case 'l':
            if (cli_log_level("run", optarg) < 0)
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
    if (optind < argc) {
        fprintf(stderr, "trim run: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    o.progress = progress && isatty(STDERR_FILENO);
    if (local_run(&o, &res, err, sizeof err) < 0) {
        fprintf(stderr, "trim run: %s\n", err);
        return 1;
    }
    sum.run_id = res.run_id;
    sum.policy = res.policy;
    sum.seed = o.seed;
    sum.db = o.db;
    sum.problems = res.stats.submitted;
    sum.finished = res.stats.finished;
    sum.failed = res.stats.failed;
    sum.correct = res.stats.correct;
    sum.graded = res.stats.graded;
    sum.steps = res.stats.steps;
    sum.routed_steps = res.stats.routed_steps;
    sum.regenerated_steps = res.stats.regenerated_steps;
    sum.weak_tokens = res.stats.weak_tokens;
    sum.strong_tokens = res.stats.strong_tokens;
    sum.discarded_tokens = res.stats.discarded_tokens;
    sum.prm_tokens = res.stats.prm_tokens;
    sum.seconds = res.seconds;
    summary_print(&sum, json);
    return 0;
}
