/*
** cmd_router.c: `trim router`, the router service of a cluster.
**
** Connects to the coordinator as a router, answers scored steps with
** decisions, and publishes every decision on its own PUB endpoint for
** `trim watch` and dashboards.
*/
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "client.h"
#include "metrics_serve.h"
#include "pomdp_default.h"
#include "signals.h"
#include "service.h"
#include "sock.h"
#include "zap.h"

static const char description[] =
    "Serve routing decisions: connect to the coordinator, decide keep or\n"
    "regenerate for each scored draft with the policy its run names, and\n"
    "publish every decision on --pub.  With CURVE, the feed is encrypted\n"
    "with this router's key and admits the keys in --curve-clients; without\n"
    "it, --pub binds only loopback addresses unless --insecure is given.";


typedef struct router_args {
    const char *connect, *pub, *name, *log_level, *curve_secret;
    const char *server_key, *curve_clients, *health_file, *metrics_listen;
    int64_t credit, heartbeat, liveness;
    int insecure, http_insecure;
} router_args_t;


/* Parse the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, router_args_t *a)
{
    const flag_t flags[] = {
        CLIENT_FLAG_CONNECT(&a->connect),
        {"pub", FLAG_STRING, &a->pub, 0, 0,
         "where to publish decisions (empty: nowhere)"},
        {"credit", FLAG_INT, &a->credit, 1, 65536, "scored steps held at once"},
        {"name", FLAG_STRING, &a->name, 0, 0,
         "name in logs and the audit (default router-HOST-PID)"},
        {"heartbeat-ms", FLAG_INT, &a->heartbeat, 10, 600000,
         "heartbeat interval"},
        {"liveness", FLAG_INT, &a->liveness, 1, 100,
         "missed heartbeats before reconnecting"},
        CLIENT_FLAGS_CURVE(&a->curve_secret, &a->server_key, "router",
                           "coordinator"),
        {"curve-clients", FLAG_STRING, &a->curve_clients, 0, 0,
         "public keys allowed to subscribe to the feed"},
        {"insecure", FLAG_BOOL, &a->insecure, 0, 0,
         "allow --pub beyond loopback without CURVE (logged at every "
         "start)"},
        CLI_FLAG_HEALTH_FILE(&a->health_file),
        CLI_FLAG_METRICS_LISTEN(&a->metrics_listen),
        CLI_FLAG_HTTP_INSECURE(&a->http_insecure),
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };

    return cli_parse("router", "[FLAGS]", description, flags,
                     sizeof flags / sizeof *flags, argc, argv, NULL);
}


/* /readyz: connected to a coordinator (router_service_ready). */
static int
router_ready(void *ctx, char *reason, size_t reasonlen)
{
    return router_service_ready(ctx, reason, reasonlen);
}


int
cmd_router(int argc, char **argv)
{
    router_args_t a = {
        .connect = CLIENT_CONNECT_DEFAULT,
        .pub = "tcp://127.0.0.1:5556",
        .name = "",
        .log_level = "info",
        .curve_secret = "",
        .server_key = "",
        .curve_clients = "",
        .health_file = "",
        .metrics_listen = "",
        .credit = 1024,
        .heartbeat = 1000,
        .liveness = 3,
    };
    int curve_on;
    char err[512], default_name[128], server_pub[41];
    curve_keys_t keys = {0};
    pomdp_model_t pomdp;
    router_opts_t o = {0};
    router_service_t *r = NULL;
    zap_t *zap = NULL;
    void *zctx = NULL;
    metrics_serve_t metrics = {0};
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    if (cli_log_level("router", a.log_level) < 0 ||
        client_curve("router", a.curve_secret, a.server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    if (curve_on && *a.pub && !*a.curve_clients) {
        fprintf(stderr, "trim router: with CURVE the feed needs "
                        "--curve-clients (CURVE alone admits any "
                        "subscriber)\n");
        curve_keys_clear(&keys);
        return 2;
    }
    if (*a.pub && sock_check_listen("router", "--pub", a.pub, curve_on,
                                    a.insecure, err, sizeof err) < 0) {
        fprintf(stderr, "trim router: %s\n", err);
        curve_keys_clear(&keys);
        return 2;
    }
    if (metrics_serve_open(&metrics, "router", a.metrics_listen, err,
                           sizeof err) < 0) {
        fprintf(stderr, "trim router: %s\n", err);
        curve_keys_clear(&keys);
        return 1;
    }
    atomic_int *stop = signals_stop_flag();
    zctx = zmq_ctx_new();
    o.endpoint = a.connect;
    o.pub_endpoint = *a.pub ? a.pub : NULL;
    o.name =
        *a.name ? a.name
                : cli_default_name("router", default_name, sizeof default_name);
    o.credit = (uint32_t)a.credit;
    o.heartbeat_ms = (int)a.heartbeat;
    o.liveness = (int)a.liveness;
    o.curve = curve_on ? &keys : NULL;
    o.server_key = server_pub;
    o.pomdp_default = &pomdp;
    o.health_file = a.health_file;
    o.metrics = metrics.registry;
    rc = 1;
    if ((curve_on && *a.pub &&
         (zap = zap_new(zctx, a.curve_clients, "router", err, sizeof err)) ==
             NULL) ||
        pomdp_model_default(&pomdp, err, sizeof err) < 0 ||
        (r = router_service_new(zctx, &o, err, sizeof err)) == NULL ||
        metrics_serve_start(&metrics, a.http_insecure, router_ready, r, err,
                            sizeof err) < 0)
        fprintf(stderr, "trim router: %s\n", err);
    else
        rc = router_service_run(r, stop) < 0 ? 1 : 0;
    metrics_serve_stop(&metrics); /* it reads the service */
    router_service_destroy(&r);
    metrics_serve_close(&metrics);
    zap_destroy(&zap);
    curve_keys_clear(&keys);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
