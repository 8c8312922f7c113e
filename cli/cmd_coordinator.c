/*
** cmd_coordinator.c: `trim coordinator`, the broker of a cluster.
**
** Binds the broker socket, owns the queue and the audit database, resumes
** every unfinished problem found in the database, and serves until SIGINT
** or SIGTERM.
*/
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "coordinator.h"
#include "curve.h"
#include "flags.h"
#include "log.h"
#include "signals.h"
#include "store.h"
#include "zap.h"

static const char description[] =
    "Run the coordinator of a cluster: bind the broker socket that workers,\n"
    "routers and the user commands connect to, keep the queue and the audit\n"
    "database, and resume unfinished problems found there.  With\n"
    "--curve-secret every connection is encrypted and only the client keys\n"
    "listed in --curve-clients may connect.";


int
cmd_coordinator(int argc, char **argv)
{
    const char *bind = "tcp://0.0.0.0:5555", *db = "trim.db";
    const char *fallback = "local", *log_level = "info";
    const char *curve_secret = "", *curve_clients = "";
    int64_t concurrency = 256, max_steps = 30, max_tokens = 2048;
    int64_t heartbeat = 1000, liveness = 3, attempts = 3;
    int64_t max_queued = 1000000, router_timeout = 2000;
    double temperature = 0.7, top_p = 0.8;
    const flag_t flags[] = {
        {"bind", FLAG_STRING, &bind, 0, 0, "broker address to bind"},
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"concurrency", FLAG_INT, &concurrency, 1, 1e6,
         "problems in flight at once"},
        {"max-queued", FLAG_INT, &max_queued, 1, 1e9,
         "problems waiting or in flight before submissions are refused"},
        {"max-steps", FLAG_INT, &max_steps, 1, 200, "step limit per problem"},
        {"max-tokens", FLAG_INT, &max_tokens, 1, 1e6, "tokens per step"},
        {"temperature", FLAG_DOUBLE, &temperature, 0, 5,
         "sampling temperature"},
        {"top-p", FLAG_DOUBLE, &top_p, 0, 1, "sampling top_p"},
        {"heartbeat-ms", FLAG_INT, &heartbeat, 10, 600000,
         "heartbeat interval"},
        {"liveness", FLAG_INT, &liveness, 1, 100,
         "missed heartbeats before a peer is dropped"},
        {"max-attempts", FLAG_INT, &attempts, 1, 100,
         "failed calls per request before the problem fails"},
        {"router-timeout-ms", FLAG_INT, &router_timeout, 1, 3600000,
         "a decision not back by then counts as the router failing"},
        {"router-fallback", FLAG_STRING, &fallback, 0, 0,
         "when the router fails: local (decide in-process) or wait"},
        {"curve-secret", FLAG_STRING, &curve_secret, 0, 0,
         "this server's key pair (.secret file): turns CURVE on"},
        {"curve-clients", FLAG_STRING, &curve_clients, 0, 0,
         "file of client public keys allowed to connect"},
        {"log-level", FLAG_STRING, &log_level, 0, 0,
         "debug, info, warn, error or off"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    int npos, rc = 1;
    char err[512];
    curve_keys_t keys = {0};
    zap_t *zap = NULL;
    store_writer_t *writer = NULL;
    coord_t *coord = NULL;
    void *zctx = NULL;

    switch (flags_parse("coordinator", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "coordinator", "[FLAGS]", description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim coordinator: unexpected argument '%s'\n",
                argv[1]);
        return 2;
    }
    if (cli_log_level("coordinator", log_level) < 0)
        return 2;
    if (strcmp(fallback, "local") != 0 && strcmp(fallback, "wait") != 0) {
        fprintf(stderr,
                "trim coordinator: --router-fallback expects local "
                "or wait, got '%s'\n",
                fallback);
        return 2;
    }
    if (!*curve_secret != !*curve_clients) {
        fprintf(stderr, "trim coordinator: CURVE needs both --curve-secret "
                        "and --curve-clients (CURVE alone admits any "
                        "client)\n");
        return 2;
    }
    atomic_int *stop = signals_stop_flag();
    zctx = zmq_ctx_new();
    if (*curve_secret) {
        if (curve_load_secret(curve_secret, &keys, err, sizeof err) < 0)
            goto fail;
        zap = zap_new(zctx, curve_clients, "coordinator", err, sizeof err);
        if (zap == NULL)
            goto fail;
    }
    if (store_migrate(db, err, sizeof err) < 0)
        goto fail;
    writer = store_writer_new(db, NULL, err, sizeof err);
    if (writer == NULL)
        goto fail;

    coord_opts_t o = {0};
    o.endpoint = bind;
    o.db = db;
    o.concurrency = (int)concurrency;
    o.max_steps = (int)max_steps;
    o.max_tokens = (int)max_tokens;
    o.temperature = (float)temperature;
    o.top_p = (float)top_p;
    o.heartbeat_ms = (int)heartbeat;
    o.liveness = (int)liveness;
    o.max_attempts = (int)attempts;
    o.max_queued = max_queued;
    o.router_timeout_ms = (int)router_timeout;
    o.router_fallback = strcmp(fallback, "local") == 0 ? COORD_FALLBACK_LOCAL
                                                       : COORD_FALLBACK_WAIT;
    o.curve_keys = *curve_secret ? &keys : NULL;
    coord = coord_new(zctx, &o, writer, err, sizeof err);
    if (coord == NULL)
        goto fail;
    if (coord_recover(coord, err, sizeof err) < 0)
        goto fail;
    tlog(TLOG_INFO, "coordinator", "listening on %s%s, database %s", bind,
         *curve_secret ? " (CURVE)" : "", db);
    rc = coord_run(coord, stop, NULL, NULL) < 0 ? 1 : 0;
    tlog(TLOG_INFO, "coordinator", "stopping");
    goto done;
fail:
    fprintf(stderr, "trim coordinator: %s\n", err);
done:
    coord_destroy(&coord);
    if (writer && store_writer_wait(writer, 0) < 0)
        rc = 1;
    store_writer_destroy(&writer);
    zap_destroy(&zap);
    curve_keys_clear(&keys);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
