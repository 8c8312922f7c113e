/*
** cmd_run.c: `trim run`, a whole cluster in this process, on the simulator
** or on model servers over HTTP.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flags.h"
#include "http_flags.h"
#include "local.h"
#include "problems.h"
#include "summary.h"

static const char description[] =
    "Solve problems step by step with a whole cluster (coordinator,\n"
    "router, small/large/prm workers) inside this process, recording every\n"
    "step in the audit database, then print a summary.  The pools use the\n"
    "built-in simulator, or model servers over HTTP: --small-url and\n"
    "--large-url take OpenAI-compatible servers (vLLM, llama.cpp, ...),\n"
    "--prm-url a vLLM /pooling server.\n"
    "--problems N solves N simulated problems; --problems FILE.jsonl the\n"
    "problems of a benchmark file (MATH-500, GSM8K, AIME, OlympiadBench,\n"
    "Minerva or {\"id\",\"problem\",\"answer\"} lines; --format names the\n"
    "layout, auto recognises it), graded like Qwen2.5-Math's math_equal.\n"
    "The built-in simulator fails file problems at their first step (\"not\n"
    "a simulated problem\"): they are for model servers.";

#define MAX_FLAGS 64


/*
** Options for one pool's server from the shared values and its own URL and
** model; NULL (the simulator) when url is empty.
*/
static const http_backend_opts_t *
pool_http(const http_backend_opts_t *shared, const char *url, const char *model,
          http_backend_opts_t *out)
{
    if (*url == '\0')
        return NULL;
    *out = *shared;
    out->base_url = url;
    out->model = model;
    return out;
}


/*
** --problems: a count of simulated problems (*count), or a readable file
** (*count 0).  Prints the error and returns -1 for a bad count, file or
** format.
*/
static int
parse_problems(const char *arg, const char *format, int64_t *count)
{
    char *end;
    long long n;

    if (!problems_format_known(format)) {
        fprintf(stderr,
                "trim run: --format: unknown layout '%s' (one of: %s)\n",
                format, problems_formats());
        return -1;
    }
    if (*arg == '\0' || strspn(arg, "0123456789") != strlen(arg)) {
        *count = 0;
        if (access(arg, R_OK) != 0) {
            fprintf(stderr,
                    "trim run: --problems: '%s' is neither a count nor a "
                    "readable file (%s)\n",
                    arg, *arg ? strerror(errno) : "empty");
            return -1;
        }
        return 0;
    }
    n = strtoll(arg, &end, 10);
    if (n < 1 || n > 100000000) {
        fprintf(stderr,
                "trim run: --problems: %s is not a count in [1, 100000000]\n",
                arg);
        return -1;
    }
    *count = n;
    return 0;
}


int
cmd_run(int argc, char **argv)
{
    const char *policy = "thr:0.5", *db = "trim.db", *calibration = "";
    const char *sim_profile = "math500";
    const char *log_level = "warn";
    int64_t problems = 100, seed = 1, concurrency = 256, max_steps = 30;
    const char *problems_arg = "100", *format = "auto";
    int64_t workers = 1;
    int64_t max_strong = 0;
    double target_share = 0;
    int explore = 0;
    int json = 0, no_progress = 0, chat = 0, npos;
    const char *small_url = "", *large_url = "", *prm_url = "";
    const char *small_model = "", *large_model = "", *prm_model = "";
    http_flag_values_t hv;
    http_backend_opts_t shared, pool[3];
    const flag_t base[] = {
        {"problems", FLAG_STRING, &problems_arg, 0, 0,
         "N simulated problems, or a JSONL file of problems"},
        {"format", FLAG_STRING, &format, 0, 0,
         "layout of a problems file: auto, plain, math, gsm8k, aime, "
         "olympiadbench or minerva"},
        {"seed", FLAG_INT, &seed, 0, 9.2e18, "problem set and sampling seed"},
        {"policy", FLAG_STRING, &policy, 0, 0,
         "weak, strong, random:P, thr:K, pomdp:L[:FILE], agg:FILE or "
         "cascade:K"},
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"concurrency", FLAG_INT, &concurrency, 1, 1e6,
         "problems in flight at once"},
        {"max-steps", FLAG_INT, &max_steps, 1, 200, "step limit per problem"},
        {"calibration", FLAG_STRING, &calibration, 0, 0,
         "PRM calibration grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &sim_profile, 0, 0,
         "simulator profile: math500 (fitted), hard or easy"},
        {"workers", FLAG_INT, &workers, 1, 64, "workers per pool"},
        {"json", FLAG_BOOL, &json, 0, 0,
         "print the summary as one JSON object"},
        {"no-progress", FLAG_BOOL, &no_progress, 0, 0, "no progress bar"},
        {"explore", FLAG_BOOL, &explore, 0, 0,
         "learned policies sample their actions (training runs)"},
        {"max-strong-tokens", FLAG_INT, &max_strong, 0, 1e12,
         "no strong step for a problem past this many strong tokens "
         "(0: no cap)"},
        {"target-strong-share", FLAG_DOUBLE, &target_share, 0, 0.999,
         "hold the run's strong-token share here (0: no controller)"},
        {"log-level", FLAG_STRING, &log_level, 0, 0,
         "debug, info, warn, error or off"},
        {"small-url", FLAG_STRING, &small_url, 0, 0,
         "weak model server, e.g. http://host:8001 (empty: simulator)"},
        {"large-url", FLAG_STRING, &large_url, 0, 0,
         "strong model server (empty: simulator)"},
        {"prm-url", FLAG_STRING, &prm_url, 0, 0,
         "PRM server with /pooling (empty: simulator)"},
        {"small-model", FLAG_STRING, &small_model, 0, 0,
         "weak model's served name"},
        {"large-model", FLAG_STRING, &large_model, 0, 0,
         "strong model's served name"},
        {"prm-model", FLAG_STRING, &prm_model, 0, 0, "PRM's served name"},
        {"chat", FLAG_BOOL, &chat, 0, 0,
         "small/large: /v1/chat/completions instead of /v1/completions"},
    };
    flag_t flags[MAX_FLAGS];
    size_t n = sizeof base / sizeof *base;
    local_opts_t o = {0};
    local_result_t res;
    run_summary_t sum = {0};
    char err[512];

    memcpy(flags, base, sizeof base);
    http_flag_values_init(&hv);
    n = http_flags_add(flags, n, MAX_FLAGS, &hv, HTTP_FLAGS_SHARED);
    switch (flags_parse("run", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "run", "[FLAGS]", description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim run: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (parse_problems(problems_arg, format, &problems) < 0)
        return 2;
    if (cli_log_level("run", log_level) < 0 ||
        http_flags_to_opts("run", &hv, &shared) < 0)
        return 2;
    o.small_http = pool_http(&shared, small_url, small_model, &pool[0]);
    o.large_http = pool_http(&shared, large_url, large_model, &pool[1]);
    o.prm_http = pool_http(&shared, prm_url, prm_model, &pool[2]);
    o.chat = chat;
    o.policy = policy;
    o.seed = (uint64_t)seed;
    o.problems = problems;
    if (problems == 0) {
        o.problems_file = problems_arg;
        o.problems_format = format;
    }
    o.db = db;
    o.concurrency = (int)concurrency;
    o.max_steps = (int)max_steps;
    o.calibration = *calibration ? calibration : NULL;
    o.sim_profile = sim_profile;
    o.small_workers = o.large_workers = o.prm_workers = (int)workers;
    o.explore = explore;
    o.max_strong_tokens = max_strong;
    o.target_share = target_share;
    int progress = !no_progress;
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
