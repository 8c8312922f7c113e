/*
** cmd_router.c: `trim router`, the router service of a cluster.
**
** Connects to the coordinator as a router, answers scored steps with
** decisions, and publishes every decision on its own PUB endpoint for
** `trim watch` and dashboards.
*/
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "client.h"
#include "flags.h"
#include "signals.h"
#include "service.h"
#include "zap.h"

static const char description[] =
    "Serve routing decisions: connect to the coordinator, decide keep or\n"
    "regenerate for each scored draft with the policy its run names, and\n"
    "publish every decision on --pub.  With CURVE, the feed is encrypted\n"
    "with this router's key and admits the keys in --curve-clients.";


int
cmd_router(int argc, char **argv)
{
    const char *connect = "tcp://127.0.0.1:5555", *pub = "tcp://0.0.0.0:5556";
    const char *name = "", *log_level = "info", *curve_secret = "";
    const char *server_key = "", *curve_clients = "";
    int64_t credit = 1024, heartbeat = 1000, liveness = 3;
    const flag_t flags[] = {
        {"connect", FLAG_STRING, &connect, 0, 0, "coordinator address"},
        {"pub", FLAG_STRING, &pub, 0, 0,
         "where to publish decisions (empty: nowhere)"},
        {"credit", FLAG_INT, &credit, 1, 65536, "scored steps held at once"},
        {"name", FLAG_STRING, &name, 0, 0,
         "name in logs and the audit (default router-HOST-PID)"},
        {"heartbeat-ms", FLAG_INT, &heartbeat, 10, 600000,
         "heartbeat interval"},
        {"liveness", FLAG_INT, &liveness, 1, 100,
         "missed heartbeats before reconnecting"},
        {"curve-secret", FLAG_STRING, &curve_secret, 0, 0,
         "this router's key pair (.secret file)"},
        {"curve-server-key", FLAG_STRING, &server_key, 0, 0,
         "the coordinator's public key, or its file"},
        {"curve-clients", FLAG_STRING, &curve_clients, 0, 0,
         "public keys allowed to subscribe to the feed"},
        {"log-level", FLAG_STRING, &log_level, 0, 0,
         "debug, info, warn, error or off"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    int npos, curve_on, rc = 1;
    char err[512], host[64], default_name[128], server_pub[41];
    curve_keys_t keys = {0};
    router_service_t *r = NULL;
    zap_t *zap = NULL;
    void *zctx = NULL;

    switch (flags_parse("router", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "router", "[FLAGS]", description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (npos > 0) {
        fprintf(stderr, "trim router: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (cli_log_level("router", log_level) < 0 ||
        client_curve("router", curve_secret, server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    if (curve_on && *pub && !*curve_clients) {
        fprintf(stderr, "trim router: with CURVE the feed needs "
                        "--curve-clients (CURVE alone admits any "
                        "subscriber)\n");
        return 2;
    }
    if (*name == '\0') {
        gethostname(host, sizeof host);
        host[sizeof host - 1] = '\0';
        snprintf(default_name, sizeof default_name, "router-%s-%d", host,
                 (int)getpid());
        name = default_name;
    }
    atomic_int *stop = signals_stop_flag();
    zctx = zmq_ctx_new();
    if (curve_on && *pub) {
        zap = zap_new(zctx, curve_clients, "router", err, sizeof err);
        if (zap == NULL)
            goto fail;
    }
    router_opts_t o = {0};
    o.endpoint = connect;
    o.pub_endpoint = *pub ? pub : NULL;
    o.name = name;
    o.credit = (uint32_t)credit;
    o.heartbeat_ms = (int)heartbeat;
    o.liveness = (int)liveness;
    o.curve = curve_on ? &keys : NULL;
    o.server_key = server_pub;
    r = router_service_new(zctx, &o, err, sizeof err);
    if (r == NULL)
        goto fail;
    rc = router_service_run(r, stop) < 0 ? 1 : 0;
    goto done;
fail:
    fprintf(stderr, "trim router: %s\n", err);
done:
    router_service_destroy(&r);
    zap_destroy(&zap);
    curve_keys_clear(&keys);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
