/*
** cmd_gateway.c: `trim gateway`, the OpenAI-compatible HTTP gateway in
** front of a running coordinator (gateway/gateway.h, docs/gateway.md).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "arg_checks.h"
#include "cli.h"
#include "client.h"
#include "console.h"
#include "gateway.h"
#include "listen.h"
#include "log.h"
#include "metrics_serve.h"
#include "signals.h"

#define MAX_ROUTES 64

static const char description[] =
    "Serve the OpenAI API (POST /v1/chat/completions, POST /v1/completions,\n"
    "GET /v1/models) over HTTP in front of a running coordinator: every\n"
    "request is one audited problem, routed by the policy of the route its\n"
    "'model' names, answered whole or streamed step by step.  --route\n"
    "NAME=POLICY[,max-strong-tokens=N][,target-share=X][,speculate=MODE] is\n"
    "repeatable (TRIM_ROUTE: routes separated by ';'; default trim=thr:0.5).\n"
    "--speculate off|on|guard: speculative next-step drafting of the routes\n"
    "that do not say (default: the coordinator's --speculate).  Plain\n"
    "HTTP: --listen beyond loopback needs --http-insecure (put TLS in\n"
    "front).  --console serves `trim console`'s read-only view of --db under\n"
    "/console/ (its API needs a key when --api-keys is given).  See\n"
    "docs/gateway.md and docs/console.md.";

typedef struct gateway_args {
    client_flags_t cf;
    const char *listen, *api_keys, *log_level, *routes_env, *metrics_listen;
    const char *prices;    /* price book, "": no dollars */
    const char *db;        /* the audit store --console shows */
    const char *speculate; /* routes without their own: off, on, guard */
    const char *routes[MAX_ROUTES];
    int n_routes;
    int64_t max_body, max_concurrent, max_per_key, seed, heartbeat_ms;
    int http_insecure, console;
} gateway_args_t;


/* Move the --route flags out of argv into a->routes; the new argc or -1. */
static int
take_routes(int argc, char **argv, gateway_args_t *a)
{
    int out = 1;

    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--route") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "trim gateway: --route needs a value\n");
                return -1;
            }
            v = argv[++i];
        } else if (strncmp(argv[i], "--route=", 8) == 0) {
            v = argv[i] + 8;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (a->n_routes == MAX_ROUTES) {
            fprintf(stderr, "trim gateway: more than %d --route flags\n",
                    MAX_ROUTES);
            return -1;
        }
        a->routes[a->n_routes++] = v;
    }
    return out;
}


static int
parse_args(int argc, char **argv, gateway_args_t *a)
{
    const flag_t flags[] = {
        {"listen", FLAG_STRING, &a->listen, 0, 0, "HOST:PORT to serve HTTP on"},
        CLIENT_FLAG_CONNECT(&a->cf.connect),
        {"route", FLAG_STRING, &a->routes_env, 0, 0,
         "NAME=POLICY[,max-strong-tokens=N][,target-share=X]"
         "[,speculate=MODE] (repeatable)"},
        {"speculate", FLAG_STRING, &a->speculate, 0, 0,
         "speculative next-step drafting of the routes that do not say: "
         "off, on or guard (default: the coordinator's --speculate)"},
        {"api-keys", FLAG_STRING, &a->api_keys, 0, 0,
         "file of 'ID KEY' lines; requests need 'Authorization: Bearer "
         "KEY' (default: no auth)"},
        {"max-body-bytes", FLAG_INT, &a->max_body, 1024, 1 << 30,
         "a larger request body gets 413"},
        {"max-concurrent", FLAG_INT, &a->max_concurrent, 1, 1e6,
         "requests served at once; more get 429"},
        {"max-concurrent-per-key", FLAG_INT, &a->max_per_key, 1, 1e6,
         "requests served at once per API key; more get 429"},
        {"seed", FLAG_INT, &a->seed, 0, 9.2e18,
         "problem seeds derive from it and the request's seed"},
        {"heartbeat-ms", FLAG_INT, &a->heartbeat_ms, 10, 60000,
         "how often the coordinator is asked whether it is there"},
        {"prices", FLAG_STRING, &a->prices, 0, 0,
         "price book: each answer's trim object gains \"usd\" "
         "(docs/roi.md)"},
        {"http-insecure", FLAG_BOOL, &a->http_insecure, 0, 0,
         "allow --listen and --metrics-listen beyond loopback (plain HTTP; "
         "logged at every start)"},
        CLI_FLAG_METRICS_LISTEN(&a->metrics_listen),
        {"console", FLAG_BOOL, &a->console, 0, 0,
         "serve the console (trim console) of --db under /console/"},
        {"db", FLAG_STRING, &a->db, 0, 0,
         "audit database the console shows (read-only)"},
        CLIENT_FLAGS_CURVE_OF(&a->cf),
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };

    argc = take_routes(argc, argv, a);
    if (argc < 0)
        return 2;
    return cli_parse("gateway", "[FLAGS]", description, flags,
                     sizeof flags / sizeof *flags, argc, argv, NULL);
}


/*
** The routes: the --route flags, else TRIM_ROUTE split at ';', else the
** default.  Returns how many, or -1 after printing why.
*/
static int
parse_routes(gateway_args_t *a, gateway_route_t *out, char *env_copy)
{
    char err[512];
    int n = 0;
    coord_speculate_t mode;

    if (*a->speculate &&
        arg_check_speculate("gateway", a->speculate, &mode) < 0)
        return -1;
    if (a->n_routes == 0 && a->routes_env && *a->routes_env) {
        for (char *save = NULL, *p = strtok_r(env_copy, ";", &save); p;
             p = strtok_r(NULL, ";", &save))
            if (*p && a->n_routes < MAX_ROUTES)
                a->routes[a->n_routes++] = p;
    }
    if (a->n_routes == 0)
        a->routes[a->n_routes++] = "trim=thr:0.5";
    for (int i = 0; i < a->n_routes; i++, n++) {
        if (gateway_route_parse(a->routes[i], &out[i], err, sizeof err) < 0) {
            cli_error("gateway", err);
            return -1;
        }
        if (out[i].speculate[0] == '\0')
            snprintf(out[i].speculate, sizeof out[i].speculate, "%s",
                     a->speculate);
    }
    return n;
}


/* /readyz: the coordinator answered within the last few heartbeats. */
static int
gateway_readyz(void *ctx, char *reason, size_t reasonlen)
{
    return gateway_ready(ctx, reason, reasonlen) ? 0 : -1;
}


/* Room for a thread and two descriptors per connection. */
static void
raise_fd_limit(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}


/* The gateway's configuration from the arguments (the keys: NULL, no CURVE). */
static void
make_config(const gateway_args_t *a, gateway_route_t *routes, int n,
            curve_keys_t *keys, const char *server_public,
            gateway_config_t *cfg)
{
    gateway_config_defaults(cfg);
    cfg->listen = a->listen;
    cfg->connect = a->cf.connect;
    cfg->keys = keys;
    cfg->server_key = server_public;
    cfg->routes = routes;
    cfg->n_routes = (size_t)n;
    cfg->api_keys = a->api_keys;
    cfg->max_body_bytes = (size_t)a->max_body;
    cfg->max_concurrent = (int)a->max_concurrent;
    cfg->max_concurrent_per_key = (int)a->max_per_key;
    cfg->seed = (uint64_t)a->seed;
    cfg->heartbeat_ms = (int)a->heartbeat_ms;
}


/* Until SIGINT or SIGTERM. */
static void
wait_for_stop(void)
{
    atomic_int *stop = signals_stop_flag();

    while (!atomic_load(stop)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a signal cuts it short */
    }
    tlog(TLOG_INFO, "gateway", "stopping");
}


int
cmd_gateway(int argc, char **argv)
{
    gateway_args_t a = {
        .cf = {.connect = CLIENT_CONNECT_DEFAULT,
               .curve_secret = "",
               .server_key = ""},
        .listen = "127.0.0.1:8000",
        .api_keys = "",
        .log_level = "info",
        .routes_env = "",
        .metrics_listen = "",
        .prices = "",
        .speculate = "",
        .db = "trim.db",
        .max_body = 1 << 20,
        .max_concurrent = 1024,
        .max_per_key = 256,
        .heartbeat_ms = 1000,
    };
    gateway_route_t routes[MAX_ROUTES];
    gateway_config_t cfg;
    gateway_t *g = NULL;
    prices_t *prices = NULL;
    metrics_serve_t metrics = {0};
    console_t *console = NULL;
    curve_keys_t keys = {0};
    char server_public[41] = "", err[640], *env_copy = NULL;
    int curve_on = 0, n, rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    rc = 2; /* usage errors first */
    if (cli_log_level("gateway", a.log_level) < 0 ||
        (env_copy = strdup(a.routes_env ? a.routes_env : "")) == NULL ||
        (n = parse_routes(&a, routes, env_copy)) < 0)
        goto done;
    if (listen_check("gateway", "--listen", a.listen, a.http_insecure, err,
                     sizeof err) < 0) {
        cli_error("gateway", err);
        goto done;
    }
    if (client_curve("gateway", a.cf.curve_secret, a.cf.server_key, &keys,
                     server_public, &curve_on) < 0)
        goto done;
    rc = 1;
    if (*a.prices &&
        (prices = prices_load(a.prices, err, sizeof err)) == NULL) {
        cli_error("gateway", err);
        goto done;
    }
    for (int i = 0; i < n; i++)
        routes[i].prices = prices;
    raise_fd_limit();
    make_config(&a, routes, n, curve_on ? &keys : NULL, server_public, &cfg);
    if (a.console) {
        console_opts_t co = {.db = a.db, .prices = a.prices};
        if ((cfg.console = console = console_new(&co, err, sizeof err)) ==
            NULL) {
            cli_error("gateway", err);
            goto done;
        }
    }
    if (metrics_serve_open(&metrics, "gateway", a.metrics_listen, err,
                           sizeof err) == 0) {
        cfg.metrics = metrics.registry;
        g = gateway_new(&cfg, err, sizeof err);
    }
    curve_keys_clear(&keys);
    if (g == NULL ||
        metrics_serve_start(&metrics, a.http_insecure, gateway_readyz, g, err,
                            sizeof err) < 0) {
        cli_error("gateway", err);
        goto done;
    }
    printf("gateway listening on http://%.*s:%d (coordinator %s)\n",
           (int)(strrchr(a.listen, ':') - a.listen), a.listen, gateway_port(g),
           a.cf.connect);
    fflush(stdout);
    wait_for_stop();
    rc = 0;
done:
    curve_keys_clear(&keys);
    free(env_copy);
    metrics_serve_stop(&metrics); /* it asks the gateway */
    gateway_destroy(&g);
    console_destroy(&console); /* after the gateway: it serves it */
    metrics_serve_close(&metrics);
    prices_destroy(&prices);
    return rc;
}
