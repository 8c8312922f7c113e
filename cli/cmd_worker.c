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

#include "backend_sim.h"
#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "flags.h"
#include "signals.h"
#include "worker.h"

static const char description[] =
    "Serve one pool of a cluster: small drafts steps, large regenerates them,\n"
    "prm scores step histories.  The backend is the built-in simulator\n"
    "(--backend sim); its latency model can make it behave like a loaded\n"
    "model server.";


int
cmd_worker(int argc, char **argv)
{
    const char *connect = "tcp://127.0.0.1:5555", *pool = "";
    const char *backend_name = "sim", *name = "", *calibration = "";
    const char *log_level = "info", *curve_secret = "", *server_key = "";
    int64_t credit = 64, heartbeat = 1000, liveness = 3, reconnect = 32000;
    double base_ms = 0, ms_per_token = 0;
    const flag_t flags[] = {
        {"connect", FLAG_STRING, &connect, 0, 0, "coordinator address"},
        {"pool", FLAG_STRING, &pool, 0, 0, "small, large or prm"},
        {"backend", FLAG_STRING, &backend_name, 0, 0,
         "model backend: sim (the built-in simulator)"},
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
    const size_t n = sizeof flags / sizeof *flags;
    int npos, curve_on, rc = 1;
    char err[512], host[64], default_name[128], server_pub[41];
    curve_keys_t keys = {0};
    sim_world_t *world = NULL;
    worker_t *w = NULL;
    void *zctx = NULL;

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
    if (strcmp(backend_name, "sim") != 0) {
        fprintf(stderr,
                "trim worker: --backend '%s' is not known (known: "
                "sim)\n",
                backend_name);
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

    sim_params_t params;
    sim_params_default(&params);
    int m = role == TRIM__ROLE__ROLE_LARGE ? SIM_STRONG : SIM_WEAK;
    if (role == TRIM__ROLE__ROLE_PRM) {
        params.prm_base_us = base_ms * 1000.0;
        params.prm_prefill_us = ms_per_token * 1000.0;
    } else {
        params.base_us[m] = base_ms * 1000.0;
        params.decode_us[m] = ms_per_token * 1000.0;
    }
    world = sim_world_new(&params, *calibration ? calibration : NULL, err,
                          sizeof err);
    if (world == NULL)
        goto fail;
    backend_t *b = backend_sim_new(
        world, role == TRIM__ROLE__ROLE_SMALL   ? BACKEND_SIM_WEAK
               : role == TRIM__ROLE__ROLE_LARGE ? BACKEND_SIM_STRONG
                                                : BACKEND_SIM_PRM);
    if (b == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
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
    curve_wipe(&keys);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
