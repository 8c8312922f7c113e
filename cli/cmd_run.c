/*
** cmd_run.c: `trim run`, a whole cluster in this process, on the simulator
** or on model servers over HTTP.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arg_checks.h"
#include "cli.h"
#include "flags.h"
#include "http_flags.h"
#include "input_file.h"
#include "local.h"
#include "problems.h"
#include "resume.h"
#include "run_progress.h"
#include "signals.h"
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
    "The built-in simulator solves only the problems it generates ('trim\n"
    "sim-problems --json' prints some): a file of other problems needs a\n"
    "model server for every pool, or the run is refused at its start.\n"
    "Ctrl-C (SIGINT) or SIGTERM stops the run: what finished is recorded and\n"
    "summarised, and --resume RUN finishes it later (a second Ctrl-C exits\n"
    "at once).";

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
        return input_file_check("run", arg, "problems");
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


typedef struct run_args {
    const char *problems_arg, *format, *policy, *db, *calibration;
    const char *sim_profile, *log_level;
    const char *prices;    /* price book, "": no dollars */
    const char *speculate; /* off, on or guard */
    int64_t seed, concurrency, max_steps, workers, max_strong, deadline;
    int64_t resume;
    double target_share;
    int json, no_progress, explore, chat;
    const char *url[3], *model[3]; /* small, large, prm */
    http_flag_values_t hv;         /* the flags all three pools share */
} run_args_t;


/* Parse the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, run_args_t *a)
{
    const flag_t base[] = {
        {"problems", FLAG_STRING, &a->problems_arg, 0, 0,
         "N simulated problems, or a JSONL file of problems"},
        {"format", FLAG_STRING, &a->format, 0, 0,
         "layout of a problems file: auto, plain, math, gsm8k, aime, "
         "olympiadbench or minerva"},
        {"seed", FLAG_INT, &a->seed, 0, 9.2e18,
         "problem set and sampling seed"},
        {"policy", FLAG_STRING, &a->policy, 0, 0,
         "weak, strong, random:P, thr:K, pomdp:L[:FILE], agg:FILE, seq:FILE "
         "or cascade:K"},
        {"db", FLAG_STRING, &a->db, 0, 0, "audit database"},
        {"prices", FLAG_STRING, &a->prices, 0, 0,
         "price book: the summary shows dollars (docs/roi.md)"},
        {"concurrency", FLAG_INT, &a->concurrency, 1, 1e6,
         "problems in flight at once"},
        {"max-steps", FLAG_INT, &a->max_steps, 1, 200,
         "step limit per problem"},
        {"calibration", FLAG_STRING, &a->calibration, 0, 0,
         "PRM calibration grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &a->sim_profile, 0, 0,
         "simulator profile: math500 (fitted) or another of trim eval --help"},
        {"workers", FLAG_INT, &a->workers, 1, 64, "workers per pool"},
        {"request-deadline-ms", FLAG_INT, &a->deadline, 1, 8.64e7,
         "a model request not answered by then goes to another worker: the "
         "deadline each worker states (HTTP timeouts and retries), at most "
         "this (and this if it states none)"},
        {"speculate", FLAG_STRING, &a->speculate, 0, 0,
         "draft the next step while this one is scored and routed: off, on, "
         "or guard (not where the run's record says the draft is likely "
         "regenerated); same results, wasted "
         "drafts counted apart"},
        {"resume", FLAG_INT, &a->resume, 0, 9.2e18,
         "finish interrupted run RUN of --db with its recorded configuration "
         "(0: a new run)"},
        {"json", FLAG_BOOL, &a->json, 0, 0,
         "print the summary as one JSON object"},
        {"no-progress", FLAG_BOOL, &a->no_progress, 0, 0,
         "no progress line (on a terminal redrawn in place, elsewhere "
         "one every 5 s)"},
        {"explore", FLAG_BOOL, &a->explore, 0, 0,
         "learned policies sample their actions (training runs)"},
        {"max-strong-tokens", FLAG_INT, &a->max_strong, 0, 1e12,
         "no strong step for a problem past this many strong tokens "
         "(0: no cap)"},
        {"target-strong-share", FLAG_DOUBLE, &a->target_share, 0, 0.999,
         "hold the run's strong-token share here (0: no controller)"},
        CLI_FLAG_LOG_LEVEL(&a->log_level),
        {"small-url", FLAG_STRING, &a->url[0], 0, 0,
         "weak model server, e.g. http://host:8001 (empty: simulator)"},
        {"large-url", FLAG_STRING, &a->url[1], 0, 0,
         "strong model server (empty: simulator)"},
        {"prm-url", FLAG_STRING, &a->url[2], 0, 0,
         "PRM server with /pooling (empty: simulator)"},
        {"small-model", FLAG_STRING, &a->model[0], 0, 0,
         "weak model's served name"},
        {"large-model", FLAG_STRING, &a->model[1], 0, 0,
         "strong model's served name"},
        {"prm-model", FLAG_STRING, &a->model[2], 0, 0, "PRM's served name"},
        {"chat", FLAG_BOOL, &a->chat, 0, 0,
         "small/large: /v1/chat/completions instead of /v1/completions"},
    };
    flag_t flags[MAX_FLAGS];
    size_t n = sizeof base / sizeof *base;

    memcpy(flags, base, sizeof base);
    http_flag_values_init(&a->hv);
    n = http_flags_add(flags, n, MAX_FLAGS, &a->hv, HTTP_FLAGS_SHARED);
    return cli_parse("run", "[FLAGS]", description, flags, n, argc, argv, NULL);
}


/*
** The pools' server URLs (empty: the simulator) with the settings they
** share; -1 after printing why.
*/
static int
check_urls(const run_args_t *a, const http_backend_opts_t *shared)
{
    static const char *const flag[3] = {"--small-url", "--large-url",
                                        "--prm-url"};
    http_backend_opts_t o = *shared;
    char err[512];

    for (int i = 0; i < 3; i++) {
        o.base_url = a->url[i];
        if (*a->url[i] && http_opts_check(&o, err, sizeof err) < 0) {
            fprintf(stderr, "trim run: %s: %s\n", flag[i], err);
            return -1;
        }
    }
    return 0;
}


/*
** The cluster's options from the arguments; pool[3] receives the pools'
** HTTP options (o points into it).  Prints why and returns -1 on a bad
** value.
*/
static int
plan(const run_args_t *a, http_backend_opts_t pool[3], local_opts_t *o)
{
    http_backend_opts_t shared;
    int64_t problems;

    if (parse_problems(a->problems_arg, a->format, &problems) < 0 ||
        cli_log_level("run", a->log_level) < 0 ||
        arg_check_policy("run", a->policy) < 0 ||
        arg_check_profile("run", "--sim-profile", a->sim_profile) < 0 ||
        (*a->calibration &&
         input_flag_file_check("run", "--calibration", a->calibration) < 0) ||
        (*a->prices &&
         input_flag_file_check("run", "--prices", a->prices) < 0) ||
        http_flags_to_opts("run", &a->hv, &shared) < 0 ||
        arg_check_speculate("run", a->speculate, &o->speculate) < 0 ||
        check_urls(a, &shared) < 0)
        return -1;
    coord_speculate_t speculate = o->speculate;
    memset(o, 0, sizeof *o);
    o->speculate = speculate;
    o->small_http = pool_http(&shared, a->url[0], a->model[0], &pool[0]);
    o->large_http = pool_http(&shared, a->url[1], a->model[1], &pool[1]);
    o->prm_http = pool_http(&shared, a->url[2], a->model[2], &pool[2]);
    o->chat = a->chat;
    o->policy = a->policy;
    o->seed = (uint64_t)a->seed;
    o->problems = problems;
    if (problems == 0) {
        o->problems_file = a->problems_arg;
        o->problems_format = a->format;
    }
    o->db = a->db;
    o->concurrency = (int)a->concurrency;
    o->max_steps = (int)a->max_steps;
    o->calibration = *a->calibration ? a->calibration : NULL;
    o->sim_profile = a->sim_profile;
    o->small_workers = o->large_workers = o->prm_workers = (int)a->workers;
    o->explore = a->explore;
    o->max_strong_tokens = a->max_strong;
    o->target_share = a->target_share;
    o->request_deadline_ms = (int)a->deadline;
    return 0;
}


/* The summary of a finished local run, as a coordinator reports a run. */
static void
run_status_of(const local_result_t *res, uint64_t seed, Trim__RunStatus *r)
{
    const coord_stats_t *st = &res->stats;

    trim__run_status__init(r);
    r->run_id = (uint64_t)res->run_id;
    r->policy = (char *)res->policy;
    r->seed = seed;
    r->problems = (uint64_t)st->submitted;
    r->finished = (uint64_t)st->finished;
    r->failed = (uint64_t)st->failed;
    r->correct = (uint64_t)st->correct;
    r->graded = (uint64_t)st->graded;
    r->steps = (uint64_t)st->steps;
    r->routed_steps = (uint64_t)st->routed_steps;
    r->regenerated_steps = (uint64_t)st->regenerated_steps;
    r->weak_tokens = (uint64_t)st->weak_tokens;
    r->strong_tokens = (uint64_t)st->strong_tokens;
    r->discarded_tokens = (uint64_t)st->discarded_tokens;
    r->prm_tokens = (uint64_t)st->prm_tokens;
    r->wasted_tokens = (uint64_t)st->wasted_tokens;
    coord_set_pool_cache(r, st->prompt_tokens, st->cached_tokens);
    r->elapsed_s = res->seconds;
}


int
cmd_run(int argc, char **argv)
{
    run_args_t a = {
        .problems_arg = "100",
        .format = "auto",
        .policy = "thr:0.5",
        .db = "trim.db",
        .prices = "",
        .calibration = "",
        .sim_profile = "math500",
        .speculate = "off",
        .log_level = "warn",
        .seed = 1,
        .concurrency = 256,
        .max_steps = 30,
        .workers = 1,
        .deadline = COORD_REQUEST_DEADLINE_MS,
        .url = {"", "", ""},
        .model = {"", "", ""},
    };
    http_backend_opts_t pool[3];
    local_opts_t o;
    local_result_t res;
    resume_t resumed = {0};
    run_progress_t progress;
    Trim__RunStatus summary;
    prices_t *prices = NULL;
    cost_usd_t usd;
    char err[512];
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    if (plan(&a, pool, &o) < 0 ||
        (a.resume > 0 &&
         resume_plan(a.resume, argc, argv, &a.hv, &o, &resumed) < 0)) {
        resume_clear(&resumed);
        return 2;
    }
    if (*a.prices && (prices = prices_load(a.prices, err, sizeof err)) == NULL)
        goto fail;
    o.interrupt = signals_interrupt_flag();
    run_progress_open(&progress, "trim run", a.no_progress);
    o.progress = progress.line ? run_progress_stats : NULL;
    o.progress_ctx = &progress;
    rc = local_run(&o, &res, err, sizeof err);
    run_progress_close(&progress);
    resume_clear(&resumed);
    if (rc < 0)
        goto fail;
    if (a.resume > 0 || res.interrupted) {
        /* The summary of all the run's problems, from the store. */
        int sig = res.interrupted ? signals_last() : 0;
        rc = resume_report(o.db, res.run_id, res.seconds,
                           a.resume > 0 ? res.resumed : -1,
                           res.stats.routed_steps, sig, a.json, prices);
        prices_destroy(&prices);
        if (rc < 0)
            return 1;
        return sig ? 128 + sig : 0;
    }
    run_status_of(&res, o.seed, &summary);
    if (prices &&
        summary_store_usd(o.db, res.run_id, prices, &usd, err, sizeof err) < 0)
        goto fail;
    summary_print(&summary, o.db, NULL, a.json, prices, prices ? &usd : NULL);
    prices_destroy(&prices);
    return 0;
fail:
    fprintf(stderr, "trim run: %s\n", err);
    resume_clear(&resumed);
    prices_destroy(&prices);
    return 1;
}
