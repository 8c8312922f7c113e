/*
** cmd_coordinator.c: `trim coordinator`, the broker of a cluster.
**
** Binds the broker socket, owns the queue and the audit database, resumes
** every unfinished problem found in the database, and serves until SIGINT
** or SIGTERM.
*/
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "arg_checks.h"
#include "cli.h"
#include "coordinator.h"
#include "curve.h"
#include "log.h"
#include "metrics_serve.h"
#include "pomdp_default.h"
#include "signals.h"
#include "sock.h"
#include "store.h"
#include "zap.h"

static const char description[] =
    "Run the coordinator of a cluster: bind the broker socket that workers,\n"
    "routers and the user commands connect to, keep the queue and the audit\n"
    "database, and resume unfinished problems found there.  With\n"
    "--curve-secret every connection is encrypted and only the client keys\n"
    "listed in --curve-clients may connect.  Without CURVE it binds only\n"
    "loopback addresses, unless --insecure says otherwise.";


typedef struct coordinator_args {
    const char *bind, *db, *fallback, *log_level, *curve_secret;
    const char *curve_clients, *metrics_listen, *speculate;
    coord_speculate_t speculate_mode;
    int64_t concurrency, max_steps, max_tokens, heartbeat, liveness;
    int64_t attempts, max_queued, router_timeout, deadline;
    int64_t queue_window;
    double temperature, top_p;
    int insecure, http_insecure, no_affinity;
} coordinator_args_t;


/* Parse and check the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, coordinator_args_t *a)
{
    const flag_t flags[] = {
        {"bind", FLAG_STRING, &a->bind, 0, 0, "broker address to bind"},
        {"db", FLAG_STRING, &a->db, 0, 0, "audit database"},
        {"concurrency", FLAG_INT, &a->concurrency, 1, 1e6,
         "problems in flight at once"},
        {"max-queued", FLAG_INT, &a->max_queued, 1, 1e9,
         "problems waiting or in flight before submissions are refused"},
        {"queue-window", FLAG_INT, &a->queue_window, 1, 1e8,
         "queued problems kept in memory; the rest wait in the audit store "
         "and are read back in order"},
        {"max-steps", FLAG_INT, &a->max_steps, 1, 200,
         "step limit per problem"},
        {"max-tokens", FLAG_INT, &a->max_tokens, 1, 1e6, "tokens per step"},
        {"temperature", FLAG_DOUBLE, &a->temperature, 0, 5,
         "sampling temperature"},
        {"top-p", FLAG_DOUBLE, &a->top_p, 0, 1, "sampling top_p"},
        {"heartbeat-ms", FLAG_INT, &a->heartbeat, 10, 600000,
         "heartbeat interval"},
        {"liveness", FLAG_INT, &a->liveness, 1, 100,
         "missed heartbeats before a peer is dropped"},
        {"max-attempts", FLAG_INT, &a->attempts, 1, 100,
         "failed calls per request before the problem fails"},
        {"no-affinity", FLAG_BOOL, &a->no_affinity, 0, 0,
         "send a problem's next call to any worker of the pool with credit, "
         "not first to the one that served its previous call there (whose "
         "model server may still hold its prefix in cache)"},
        {"router-timeout-ms", FLAG_INT, &a->router_timeout, 1, 3600000,
         "a decision not back by then counts as the router failing"},
        {"request-deadline-ms", FLAG_INT, &a->deadline, 1, 8.64e7,
         "a model request not answered by then goes to another worker: the "
         "deadline each worker states (HTTP timeouts and retries), at most "
         "this (and this if it states none)"},
        {"router-fallback", FLAG_STRING, &a->fallback, 0, 0,
         "when the router fails: local (decide in-process) or wait"},
        {"speculate", FLAG_STRING, &a->speculate, 0, 0,
         "draft the next step while this one is scored and routed: off, on, "
         "or guard (not where the run's record says the draft is likely "
         "regenerated); same results, wasted "
         "drafts counted apart"},
        {"curve-secret", FLAG_STRING, &a->curve_secret, 0, 0,
         "this server's key pair (.secret file): turns CURVE on"},
        {"curve-clients", FLAG_STRING, &a->curve_clients, 0, 0,
         "file of client public keys allowed to connect"},
        {"insecure", FLAG_BOOL, &a->insecure, 0, 0,
         "allow --bind beyond loopback without CURVE (logged at every "
         "start)"},
        CLI_FLAG_METRICS_LISTEN(&a->metrics_listen),
        CLI_FLAG_HTTP_INSECURE(&a->http_insecure),
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };
    int rc = cli_parse("coordinator", "[FLAGS]", description, flags,
                       sizeof flags / sizeof *flags, argc, argv, NULL);
    char err[512];

    if (rc != CLI_GO)
        return rc;
    if (cli_log_level("coordinator", a->log_level) < 0)
        return 2;
    if (strcmp(a->fallback, "local") != 0 && strcmp(a->fallback, "wait") != 0) {
        fprintf(stderr,
                "trim coordinator: --router-fallback expects local "
                "or wait, got '%s'\n",
                a->fallback);
        return 2;
    }
    if (arg_check_speculate("coordinator", a->speculate, &a->speculate_mode) <
        0)
        return 2;
    if (!*a->curve_secret != !*a->curve_clients) {
        fprintf(stderr, "trim coordinator: CURVE needs both --curve-secret "
                        "and --curve-clients (CURVE alone admits any "
                        "client)\n");
        return 2;
    }
    if (sock_check_listen("coordinator", "--bind", a->bind, *a->curve_secret,
                          a->insecure, err, sizeof err) < 0) {
        fprintf(stderr, "trim coordinator: %s\n", err);
        return 2;
    }
    return CLI_GO;
}


/* The coordinator's options from the arguments (strings borrowed). */
static void
coord_options(const coordinator_args_t *a, curve_keys_t *keys, coord_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->endpoint = a->bind;
    o->db = a->db;
    o->no_affinity = a->no_affinity;
    o->concurrency = (int)a->concurrency;
    o->max_steps = (int)a->max_steps;
    o->max_tokens = (int)a->max_tokens;
    o->temperature = (float)a->temperature;
    o->top_p = (float)a->top_p;
    o->heartbeat_ms = (int)a->heartbeat;
    o->liveness = (int)a->liveness;
    o->max_attempts = (int)a->attempts;
    o->max_queued = a->max_queued;
    o->queue_window = a->queue_window;
    o->router_timeout_ms = (int)a->router_timeout;
    o->request_deadline_ms = (int)a->deadline;
    o->router_fallback = strcmp(a->fallback, "local") == 0
                             ? COORD_FALLBACK_LOCAL
                             : COORD_FALLBACK_WAIT;
    o->curve_keys = keys;
    o->speculate = a->speculate_mode;
}


/* What a running coordinator holds; coordinator_clear releases it. */
typedef struct coordinator {
    void *zctx;
    curve_keys_t keys;
    zap_t *zap;
    store_writer_t *writer;
    pomdp_model_t pomdp; /* the default for pomdp:LAMBDA without a file */
    coord_t *coord;
    metrics_serve_t metrics; /* --metrics-listen */
    atomic_int recovered;    /* set once coord is built and has recovered */
} coordinator_t;


/*
** /readyz: "recovering" until the coordinator has resumed what the store
** holds (the endpoint serves /healthz during that, so a long recovery is
** not mistaken for a hung process), then the coordinator's own answer.
*/
static int
coordinator_ready(void *ctx, char *reason, size_t reasonlen)
{
    coordinator_t *c = ctx;

    if (!atomic_load(&c->recovered)) {
        snprintf(reason, reasonlen, "recovering");
        return -1;
    }
    return coord_ready(c->coord, reason, reasonlen);
}


/*
** Open the coordinator of the arguments: CURVE keys and the allowed-keys
** handler, the audit store, the broker socket, and the problems it
** resumes.  0, or -1 with err.
*/
static int
coordinator_open(coordinator_t *c, const coordinator_args_t *a, char *err,
                 size_t errlen)
{
    coord_opts_t o;
    store_writer_opts_t wo = {0};

    if (metrics_serve_open(&c->metrics, "coordinator", a->metrics_listen, err,
                           errlen) < 0)
        return -1;
    wo.commit_seconds = prom_histogram(
        c->metrics.registry, "trim_audit_commit_duration_seconds",
        "Time the audit writer's COMMITs take, in seconds", NULL, NULL, 0);
    if (metrics_serve_start(&c->metrics, a->http_insecure, coordinator_ready, c,
                            err, errlen) < 0)
        return -1;
    c->zctx = zmq_ctx_new();
    if (*a->curve_secret) {
        if (curve_load_secret(a->curve_secret, &c->keys, err, errlen) < 0)
            return -1;
        c->zap = zap_new(c->zctx, a->curve_clients, "coordinator", err, errlen);
        if (c->zap == NULL)
            return -1;
    }
    if (store_migrate(a->db, err, errlen) < 0)
        return -1;
    c->writer = store_writer_new(a->db, &wo, err, errlen);
    if (c->writer == NULL)
        return -1;
    if (pomdp_model_default(&c->pomdp, err, errlen) < 0)
        return -1;
    coord_options(a, *a->curve_secret ? &c->keys : NULL, &o);
    o.pomdp_default = &c->pomdp;
    o.metrics = c->metrics.registry;
    c->coord = coord_new(c->zctx, &o, c->writer, err, errlen);
    if (c->coord == NULL || coord_recover(c->coord, err, errlen) < 0)
        return -1;
    atomic_store(&c->recovered, 1);
    return 0;
}


/*
** Close what c holds, in order: the coordinator, then the writer once its
** last rows are committed.  Returns -1 when they could not be.
*/
static int
coordinator_clear(coordinator_t *c)
{
    int rc = 0;

    metrics_serve_stop(&c->metrics); /* it reads the coordinator */
    coord_destroy(&c->coord);
    if (c->writer && store_writer_wait(c->writer, 0) < 0)
        rc = -1;
    store_writer_destroy(&c->writer);
    zap_destroy(&c->zap);
    curve_keys_clear(&c->keys);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    c->zctx = NULL;
    metrics_serve_close(&c->metrics); /* the writer observed into it */
    return rc;
}


int
cmd_coordinator(int argc, char **argv)
{
    coordinator_args_t a = {
        .bind = "tcp://127.0.0.1:5555",
        .db = "trim.db",
        .fallback = "local",
        .speculate = "off",
        .log_level = "info",
        .curve_secret = "",
        .curve_clients = "",
        .metrics_listen = "",
        .concurrency = 256,
        .max_steps = 30,
        .max_tokens = 2048,
        .heartbeat = 1000,
        .liveness = 3,
        .attempts = 3,
        .max_queued = 1000000,
        .queue_window = 4096,
        .router_timeout = 2000,
        .deadline = COORD_REQUEST_DEADLINE_MS,
        .temperature = 0.7,
        .top_p = 0.8,
    };
    coordinator_t c = {0};
    char err[512];
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    atomic_int *stop = signals_stop_flag();
    if (coordinator_open(&c, &a, err, sizeof err) < 0) {
        fprintf(stderr, "trim coordinator: %s\n", err);
        rc = 1;
    } else {
        tlog(TLOG_INFO, "coordinator", "listening on %s%s, database %s", a.bind,
             *a.curve_secret ? " (CURVE)" : "", a.db);
        rc = coord_run(c.coord, stop, NULL, NULL) < 0 ? 1 : 0;
        tlog(TLOG_INFO, "coordinator", "stopping");
    }
    if (coordinator_clear(&c) < 0)
        rc = 1;
    return rc;
}
