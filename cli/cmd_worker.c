/*
** cmd_worker.c: `trim worker --pool small|large|prm`, one worker process.
**
** Connects to the coordinator, announces its pool and credit, and serves
** requests with its backend until SIGINT or SIGTERM (or until the
** coordinator shuts the cluster down).  The coordinator may come and go:
** the worker reconnects with backoff and announces itself again.
*/
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "backend_openai.h"
#include "backend_pooling.h"
#include "backend_sim.h"
#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "flags.h"
#include "http_flags.h"
#include "signals.h"
#include "worker.h"

static const char description[] =
    "Serve one pool of a cluster: small drafts steps, large regenerates them,\n"
    "prm scores step histories.  The backend is the built-in simulator\n"
    "(--backend sim; its latency model can make it behave like a loaded\n"
    "model server) or a model server over HTTP: openai (/v1/completions,\n"
    "prompt rendered here) or openai-chat (/v1/chat/completions) for small\n"
    "and large, vllm-pooling (/pooling) for prm.  --credit calls run at once\n"
    "on as many connections; heartbeats go on while they run.";

#define MAX_FLAGS 64


/* The backend for pool role; NULL with a reason in err. */
static backend_t *
make_backend(const char *kind, Trim__Role role, const sim_world_t *world,
             const http_backend_opts_t *http, uint32_t credit, char *err,
             size_t errlen)
{
    backend_t *b = NULL;

    if (strcmp(kind, "openai") == 0)
        return backend_openai_new(http, credit, err, errlen);
    if (strcmp(kind, "openai-chat") == 0)
        return backend_openai_chat_new(http, credit, err, errlen);
    if (strcmp(kind, "vllm-pooling") == 0)
        return backend_pooling_new(http, credit, err, errlen);
    b = backend_sim_new(world, role == TRIM__ROLE__ROLE_SMALL ? BACKEND_SIM_WEAK
                               : role == TRIM__ROLE__ROLE_LARGE
                                   ? BACKEND_SIM_STRONG
                                   : BACKEND_SIM_PRM);
    if (b == NULL)
        snprintf(err, errlen, "out of memory");
    return b;
}


/* 0 when backend kind can serve pool role; else prints why and -1. */
static int
check_backend(const char *kind, Trim__Role role, const char *pool)
{
    int generate = role != TRIM__ROLE__ROLE_PRM;

    if (strcmp(kind, "sim") == 0)
        return 0;
    if (strcmp(kind, "openai") == 0 || strcmp(kind, "openai-chat") == 0) {
        if (generate)
            return 0;
        fprintf(stderr,
                "trim worker: --backend %s generates steps: use it with "
                "--pool small or large, not %s (the prm pool takes "
                "vllm-pooling)\n",
                kind, pool);
        return -1;
    }
    if (strcmp(kind, "vllm-pooling") == 0) {
        if (!generate)
            return 0;
        fprintf(stderr,
                "trim worker: --backend vllm-pooling scores steps: use it "
                "with --pool prm, not %s (small and large take openai or "
                "openai-chat)\n",
                pool);
        return -1;
    }
    fprintf(stderr,
            "trim worker: --backend '%s' is not known (known: sim, openai, "
            "openai-chat, vllm-pooling)\n",
            kind);
    return -1;
}


int
cmd_worker(int argc, char **argv)
{
    const char *connect = "tcp://127.0.0.1:5555", *pool = "";
    const char *backend_name = "sim", *name = "", *calibration = "";
    const char *sim_profile = "math500";
    const char *log_level = "info", *curve_secret = "", *server_key = "";
    int64_t credit = 64, heartbeat = 1000, liveness = 3, reconnect = 32000;
    double base_ms = 0, ms_per_token = 0;
    http_flag_values_t hv;
    http_backend_opts_t http;
    const flag_t base[] = {
        {"connect", FLAG_STRING, &connect, 0, 0, "coordinator address"},
        {"pool", FLAG_STRING, &pool, 0, 0, "small, large or prm"},
        {"backend", FLAG_STRING, &backend_name, 0, 0,
         "sim, openai, openai-chat or vllm-pooling"},
        {"credit", FLAG_INT, &credit, 1, 65536, "requests held at once"},
        {"name", FLAG_STRING, &name, 0, 0,
         "name in logs and the audit (default POOL-HOST-PID)"},
        {"heartbeat-ms", FLAG_INT, &heartbeat, 10, 600000,
         "heartbeat interval"},
        {"liveness", FLAG_INT, &liveness, 1, 100,
         "missed heartbeats before reconnecting"},
        {"reconnect-max-ms", FLAG_INT, &reconnect, 100, 3600000,
         "longest wait between reconnection attempts"},
        {"calibration", FLAG_STRING, &calibration, 0, 0,
         "sim: PRM calibration grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &sim_profile, 0, 0,
         "sim: simulator profile, math500 (fitted), hard or easy; the same "
         "in every pool"},
        {"sim-base-ms", FLAG_DOUBLE, &base_ms, 0, 600000,
         "sim: fixed latency per call"},
        {"sim-ms-per-token", FLAG_DOUBLE, &ms_per_token, 0, 60000,
         "sim: latency per generated (PRM: input) token"},
        {"curve-secret", FLAG_STRING, &curve_secret, 0, 0,
         "this worker's key pair (.secret file)"},
        {"curve-server-key", FLAG_STRING, &server_key, 0, 0,
         "the coordinator's public key, or its file"},
        {"log-level", FLAG_STRING, &log_level, 0, 0,
         "debug, info, warn, error or off"},
    };
    flag_t flags[MAX_FLAGS];
    size_t n = sizeof base / sizeof *base;
    int npos, curve_on, rc = 1;
    char err[512], host[64], default_name[128], server_pub[41];
    curve_keys_t keys = {0};
    sim_world_t *world = NULL;
    worker_t *w = NULL;
    void *zctx = NULL;

    memcpy(flags, base, sizeof base);
    http_flag_values_init(&hv);
    n = http_flags_add(flags, n, MAX_FLAGS, &hv,
                       HTTP_FLAGS_SERVER | HTTP_FLAGS_SHARED);
    switch (flags_parse("worker", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "worker", "--pool small|large|prm [FLAGS]",
                    description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim worker: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    Trim__Role role = env_role_parse(pool);
    if (role != TRIM__ROLE__ROLE_SMALL && role != TRIM__ROLE__ROLE_LARGE &&
        role != TRIM__ROLE__ROLE_PRM) {
        fprintf(stderr,
                "trim worker: --pool expects small, large or prm, "
                "got '%s'\n",
                pool);
        return 2;
    }
    if (check_backend(backend_name, role, pool) < 0 ||
        http_flags_to_opts("worker", &hv, &http) < 0)
        return 2;
    if (strcmp(backend_name, "sim") != 0 && *http.base_url == '\0') {
        fprintf(stderr,
                "trim worker: --backend %s needs --base-url "
                "http://host:port\n",
                backend_name);
        return 2;
    }
    if (strcmp(backend_name, "sim") != 0 &&
        http_opts_check(&http, err, sizeof err) < 0) {
        fprintf(stderr, "trim worker: %s\n", err);
        return 2;
    }
    if (cli_log_level("worker", log_level) < 0 ||
        client_curve("worker", curve_secret, server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    if (*name == '\0') {
        gethostname(host, sizeof host);
        host[sizeof host - 1] = '\0';
        snprintf(default_name, sizeof default_name, "%s-%s-%d", pool, host,
                 (int)getpid());
        name = default_name;
    }

    if (strcmp(backend_name, "sim") == 0) {
        sim_params_t params;
        if (sim_profile_resolve(sim_profile, &params, err, sizeof err) < 0) {
            fprintf(stderr, "trim worker: --sim-profile: %s\n", err);
            return 2;
        }
        sim_params_latency(&params,
                           role == TRIM__ROLE__ROLE_PRM     ? -1
                           : role == TRIM__ROLE__ROLE_LARGE ? SIM_STRONG
                                                            : SIM_WEAK,
                           base_ms, ms_per_token);
        world = sim_world_new(&params, *calibration ? calibration : NULL, err,
                              sizeof err);
        if (world == NULL)
            goto fail;
    }
    backend_t *b = make_backend(backend_name, role, world, &http,
                                (uint32_t)credit, err, sizeof err);
    if (b == NULL)
        goto fail;
    atomic_int *stop = signals_stop_flag();
    zctx = zmq_ctx_new();
    worker_opts_t o = {0};
    o.endpoint = connect;
    o.role = role;
    o.credit = (uint32_t)credit;
    o.name = name;
    o.heartbeat_ms = (int)heartbeat;
    o.liveness = (int)liveness;
    o.reconnect_max_ms = (int)reconnect;
    o.curve = curve_on ? &keys : NULL;
    o.server_key = server_pub;
    w = worker_new(zctx, &o, b, err, sizeof err);
    if (w == NULL)
        goto fail;
    rc = worker_run(w, stop) < 0 ? 1 : 0;
    goto done;
fail:
    fprintf(stderr, "trim worker: %s\n", err);
done:
    worker_destroy(&w);
    sim_world_destroy(&world);
    curve_keys_clear(&keys);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
