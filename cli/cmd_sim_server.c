/*
** cmd_sim_server.c: `trim sim-server --sim-model weak|strong|prm`, the built-in
** simulator served over HTTP in vLLM's request and response shapes.
**
** The HTTP backends of the workers are tested end to end against it: it
** answers /v1/completions and /v1/chat/completions (weak, strong) or
** /pooling (prm), plus /health and /v1/models; its latency model really
** delays responses, and it injects faults at configured rates.  Runs until
** SIGINT or SIGTERM.
*/
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "signals.h"
#include "sim.h"
#include "sim_server.h"

static const char description[] =
    "Serve the simulated weak or strong model (POST /v1/completions,\n"
    "/v1/chat/completions) or the simulated PRM (POST /pooling) over HTTP,\n"
    "with vLLM's shapes, plus GET /health and /v1/models.  Prompts are read\n"
    "back with trim's templates, so answers equal the in-process simulator's\n"
    "for the same seed.  The latency model really delays responses; faults\n"
    "are injected at the given rates, chosen by (fault seed, request number)\n"
    "on the POST endpoints only.";


/* Wait for SIGINT or SIGTERM. */
static void
wait_for_stop(atomic_int *stop)
{
    while (!atomic_load(stop)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a signal cuts it short */
    }
}


typedef struct sim_server_args {
    const char *model, *bind, *served, *calibration, *record, *log_level;
    const char *sim_profile;
    int64_t threads, retry_after, slow_ms, fault_seed, max_body;
    double base_ms, ms_per_token;
    sim_server_faults_t f; /* the fault shares */
} sim_server_args_t;


/* Parse the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, sim_server_args_t *a)
{
    const flag_t flags[] = {
        {"sim-model", FLAG_STRING, &a->model, 0, 0,
         "the simulated model served: weak, strong or prm"},
        {"bind", FLAG_STRING, &a->bind, 0, 0,
         "HOST:PORT to listen on (port 0 picks a free one)"},
        {"served-model-name", FLAG_STRING, &a->served, 0, 0,
         "the model name clients must use; empty: sim-MODEL"},
        {"calibration", FLAG_STRING, &a->calibration, 0, 0,
         "PRM calibration grids; empty: the embedded fit"},
        {"sim-profile", FLAG_STRING, &a->sim_profile, 0, 0,
         "simulator profile: math500 (fitted) or another of trim eval --help; "
         "the same for "
         "every server of a run"},
        {"threads", FLAG_INT, &a->threads, 1, 1024,
         "requests served at once (others wait their turn)"},
        {"base-ms", FLAG_DOUBLE, &a->base_ms, 0, 600000,
         "latency model: fixed delay per request"},
        {"ms-per-token", FLAG_DOUBLE, &a->ms_per_token, 0, 60000,
         "latency model: per completion token (PRM: per input token)"},
        {"fail-500", FLAG_DOUBLE, &a->f.fail_500, 0, 1,
         "fault: share of requests answered 500"},
        {"fail-429", FLAG_DOUBLE, &a->f.fail_429, 0, 1,
         "fault: share of requests answered 429 with Retry-After"},
        {"retry-after", FLAG_INT, &a->retry_after, 0, 86400,
         "fault: the Retry-After seconds of a 429"},
        {"malformed", FLAG_DOUBLE, &a->f.malformed, 0, 1,
         "fault: share of 200s whose body is not JSON"},
        {"truncate", FLAG_DOUBLE, &a->f.truncate, 0, 1,
         "fault: share of 200s cut in half (Content-Length of the cut)"},
        {"drop", FLAG_DOUBLE, &a->f.drop, 0, 1,
         "fault: share of connections closed without a response"},
        {"slow", FLAG_DOUBLE, &a->f.slow, 0, 1,
         "fault: share of requests delayed by --slow-ms more"},
        {"slow-ms", FLAG_INT, &a->slow_ms, 0, 3600000,
         "fault: the extra delay of a slow request"},
        {"fault-seed", FLAG_INT, &a->fault_seed, 0, 9e18,
         "which requests get faults: a function of (seed, request number)"},
        {"record", FLAG_STRING, &a->record, 0, 0,
         "append each request as a JSON line {method,path,body} to FILE"},
        {"max-body-bytes", FLAG_INT, &a->max_body, 1024, 1 << 30,
         "larger request bodies are refused with 413"},
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };

    return cli_parse("sim-server", "--sim-model weak|strong|prm [FLAGS]",
                     description, flags, sizeof flags / sizeof *flags, argc,
                     argv, NULL);
}


/* The server's options from the arguments (strings borrowed from a). */
static void
server_opts(const sim_server_args_t *a, sim_server_opts_t *o)
{
    o->bind = a->bind;
    o->served_name = a->served;
    o->threads = (int)a->threads;
    o->max_body = (size_t)a->max_body;
    o->record_path = a->record;
    o->faults = a->f;
    o->faults.retry_after_s = (int)a->retry_after;
    o->faults.slow_ms = (int)a->slow_ms;
    o->faults.seed = (uint64_t)a->fault_seed;
}


/*
** Start the server with threads that do not take SIGINT and SIGTERM, so
** the signals reach this thread and cut its sleep short.
*/
static sim_server_t *
start_server(sim_world_t *world, const sim_server_opts_t *o, char *err,
             size_t errlen)
{
    sigset_t block, old;
    sim_server_t *server;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    server = sim_server_new(world, o, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return server;
}


int
cmd_sim_server(int argc, char **argv)
{
    sim_server_args_t a = {
        .model = "",
        .bind = "127.0.0.1:8000",
        .served = "",
        .calibration = "",
        .record = "",
        .log_level = "info",
        .sim_profile = "math500",
        .threads = 8,
        .retry_after = 1,
        .slow_ms = 10000,
        .max_body = 8 << 20,
    };
    sim_server_opts_t o = {0};
    sim_world_t *world = NULL;
    sim_server_t *server = NULL;
    char err[512];
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    if (sim_server_parse_model(a.model, &o.model) < 0) {
        fprintf(stderr,
                "trim sim-server: --sim-model expects weak, strong or prm, "
                "got '%s'\n",
                a.model);
        return 2;
    }
    if (cli_log_level("sim-server", a.log_level) < 0)
        return 2;
    rc = cli_sim_world("sim-server", a.sim_profile,
                       o.model == SIM_SERVER_PRM      ? -1
                       : o.model == SIM_SERVER_STRONG ? SIM_STRONG
                                                      : SIM_WEAK,
                       a.base_ms, a.ms_per_token, 0, 0, a.calibration, &world);
    if (rc != 0)
        return rc;
    server_opts(&a, &o);
    atomic_int *stop = signals_stop_flag();
    server = start_server(world, &o, err, sizeof err);
    if (server == NULL) {
        fprintf(stderr, "trim sim-server: %s\n", err);
        rc = 1;
    } else {
        printf("sim-server %s listening on %s\n", a.model,
               sim_server_url(server));
        fflush(stdout);
        wait_for_stop(stop);
        tlog(TLOG_INFO, "sim-server", "stopping");
    }
    sim_server_destroy(&server);
    sim_world_destroy(&world);
    return rc;
}
