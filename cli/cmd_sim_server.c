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
#include "flags.h"
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


int
cmd_sim_server(int argc, char **argv)
{
    const char *model = "", *bind = "127.0.0.1:8000", *served = "";
    const char *calibration = "", *record = "", *log_level = "info";
    const char *sim_profile = "math500";
    int64_t threads = 8, retry_after = 1, slow_ms = 10000, fault_seed = 0;
    int64_t max_body = 8 << 20;
    double base_ms = 0, ms_per_token = 0;
    sim_server_faults_t f = {0};
    const flag_t flags[] = {
        {"sim-model", FLAG_STRING, &model, 0, 0,
         "the simulated model served: weak, strong or prm"},
        {"bind", FLAG_STRING, &bind, 0, 0,
         "HOST:PORT to listen on (port 0 picks a free one)"},
        {"served-model-name", FLAG_STRING, &served, 0, 0,
         "the model name clients must use; empty: sim-MODEL"},
        {"calibration", FLAG_STRING, &calibration, 0, 0,
         "PRM calibration grids; empty: the embedded fit"},
        {"sim-profile", FLAG_STRING, &sim_profile, 0, 0,
         "simulator profile: math500 (fitted), hard or easy; the same for "
         "every server of a run"},
        {"threads", FLAG_INT, &threads, 1, 1024,
         "requests served at once (others wait their turn)"},
        {"base-ms", FLAG_DOUBLE, &base_ms, 0, 600000,
         "latency model: fixed delay per request"},
        {"ms-per-token", FLAG_DOUBLE, &ms_per_token, 0, 60000,
         "latency model: per completion token (PRM: per input token)"},
        {"fail-500", FLAG_DOUBLE, &f.fail_500, 0, 1,
         "fault: share of requests answered 500"},
        {"fail-429", FLAG_DOUBLE, &f.fail_429, 0, 1,
         "fault: share of requests answered 429 with Retry-After"},
        {"retry-after", FLAG_INT, &retry_after, 0, 86400,
         "fault: the Retry-After seconds of a 429"},
        {"malformed", FLAG_DOUBLE, &f.malformed, 0, 1,
         "fault: share of 200s whose body is not JSON"},
        {"truncate", FLAG_DOUBLE, &f.truncate, 0, 1,
         "fault: share of 200s cut in half (Content-Length of the cut)"},
        {"drop", FLAG_DOUBLE, &f.drop, 0, 1,
         "fault: share of connections closed without a response"},
        {"slow", FLAG_DOUBLE, &f.slow, 0, 1,
         "fault: share of requests delayed by --slow-ms more"},
        {"slow-ms", FLAG_INT, &slow_ms, 0, 3600000,
         "fault: the extra delay of a slow request"},
        {"fault-seed", FLAG_INT, &fault_seed, 0, 9e18,
         "which requests get faults: a function of (seed, request number)"},
        {"record", FLAG_STRING, &record, 0, 0,
         "append each request as a JSON line {method,path,body} to FILE"},
        {"max-body-bytes", FLAG_INT, &max_body, 1024, 1 << 30,
         "larger request bodies are refused with 413"},
        {"log-level", FLAG_STRING, &log_level, 0, 0,
         "debug, info, warn, error or off"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    sim_server_opts_t o = {0};
    sim_params_t params;
    sim_world_t *world = NULL;
    sim_server_t *server = NULL;
    sigset_t block, old;
    char err[512];
    int npos, rc = 1;

    switch (flags_parse("sim-server", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "sim-server", "--sim-model weak|strong|prm [FLAGS]",
                    description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim sim-server: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (sim_server_parse_model(model, &o.model) < 0) {
        fprintf(stderr,
                "trim sim-server: --sim-model expects weak, strong or prm, "
                "got '%s'\n",
                model);
        return 2;
    }
    if (cli_log_level("sim-server", log_level) < 0)
        return 2;

    if (sim_profile_resolve(sim_profile, &params, err, sizeof err) < 0) {
        fprintf(stderr, "trim sim-server: --sim-profile: %s\n", err);
        return 2;
    }
    sim_params_latency(&params,
                       o.model == SIM_SERVER_PRM      ? -1
                       : o.model == SIM_SERVER_STRONG ? SIM_STRONG
                                                      : SIM_WEAK,
                       base_ms, ms_per_token);
    world = sim_world_new(&params, *calibration ? calibration : NULL, err,
                          sizeof err);
    if (world == NULL)
        goto fail;

    f.retry_after_s = (int)retry_after;
    f.slow_ms = (int)slow_ms;
    f.seed = (uint64_t)fault_seed;
    o.bind = bind;
    o.served_name = served;
    o.threads = (int)threads;
    o.max_body = (size_t)max_body;
    o.record_path = record;
    o.faults = f;

    /* The server's threads inherit a mask without the stop signals, so
    ** they reach this thread and cut its sleep short. */
    atomic_int *stop = signals_stop_flag();
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    server = sim_server_new(world, &o, err, sizeof err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (server == NULL)
        goto fail;
    printf("sim-server %s listening on %s\n", model, sim_server_url(server));
    fflush(stdout);
    wait_for_stop(stop);
    tlog(TLOG_INFO, "sim-server", "stopping");
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "trim sim-server: %s\n", err);
done:
    sim_server_destroy(&server);
    sim_world_destroy(&world);
    return rc;
}
