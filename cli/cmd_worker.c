/*
** cmd_worker.c: `trim worker --pool small|large|prm`, one worker process.
**
** Connects to the coordinator, announces its pool and credit, and serves
** requests with its backend until SIGINT or SIGTERM (or until the
** coordinator shuts the cluster down).  The coordinator may come and go:
** the worker reconnects with backoff and announces itself again.
*/
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "clock.h"
#include "client.h"
#include "envelope.h"
#include "errf.h"
#include "http_flags.h"
#include "metrics_serve.h"
#include "pool_backend.h"
#include "signals.h"
#include "worker.h"

static const char description[] =
    "Serve one pool of a cluster: small drafts steps, large regenerates them,\n"
    "prm scores step histories.  The backend is the built-in simulator\n"
    "(--backend sim; its latency model can make it behave like a loaded\n"
    "model server) or a model server over HTTP: openai (/v1/completions,\n"
    "prompt rendered here) or openai-chat (/v1/chat/completions) for small\n"
    "and large, vllm-pooling (/pooling) for prm.  --credit calls run at once\n"
    "on as many connections; heartbeats go on while they run.  On SIGTERM or\n"
    "SIGINT it starts nothing new, sends what its calls in flight return\n"
    "for up to --drain-ms, then tells the coordinator it is leaving, which\n"
    "requeues the rest at once; a second signal cuts the drain short.";

#define MAX_FLAGS 64


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


typedef struct worker_args {
    const char *connect, *pool, *backend, *name, *calibration, *sim_profile;
    const char *log_level, *curve_secret, *server_key, *health_file;
    const char *metrics_listen;
    int64_t credit, heartbeat, liveness, reconnect, drain;
    int http_insecure;
    double base_ms, ms_per_token, prefill_ms, cache_tokens;
    http_flag_values_t hv;
} worker_args_t;


/* Parse the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, worker_args_t *a)
{
    const flag_t base[] = {
        CLIENT_FLAG_CONNECT(&a->connect),
        {"pool", FLAG_STRING, &a->pool, 0, 0, "small, large or prm"},
        {"backend", FLAG_STRING, &a->backend, 0, 0,
         "sim, openai, openai-chat or vllm-pooling"},
        {"credit", FLAG_INT, &a->credit, 1, 65536, "requests held at once"},
        {"name", FLAG_STRING, &a->name, 0, 0,
         "name in logs and the audit (default POOL-HOST-PID)"},
        {"heartbeat-ms", FLAG_INT, &a->heartbeat, 10, 600000,
         "heartbeat interval"},
        {"liveness", FLAG_INT, &a->liveness, 1, 100,
         "missed heartbeats before reconnecting"},
        {"reconnect-max-ms", FLAG_INT, &a->reconnect, 100, 3600000,
         "longest wait between reconnection attempts"},
        {"drain-ms", FLAG_INT, &a->drain, 0, 86400000,
         "on a stop, how long calls in flight may take to finish"},
        {"calibration", FLAG_STRING, &a->calibration, 0, 0,
         "sim: PRM calibration grids (default: embedded fit)"},
        {"sim-profile", FLAG_STRING, &a->sim_profile, 0, 0,
         "sim: simulator profile, math500 (fitted) or another of trim eval "
         "--help; the same "
         "in every pool"},
        {"sim-base-ms", FLAG_DOUBLE, &a->base_ms, 0, 600000,
         "sim: fixed latency per call"},
        {"sim-ms-per-token", FLAG_DOUBLE, &a->ms_per_token, 0, 60000,
         "sim: latency per generated (PRM: input) token"},
        {"sim-prefill-ms-per-token", FLAG_DOUBLE, &a->prefill_ms, 0, 60000,
         "sim, small and large: latency per prompt token not in the prefix "
         "cache"},
        {"sim-cache-tokens", FLAG_DOUBLE, &a->cache_tokens, 0, 1e12,
         "sim: tokens of prefixes the simulated server keeps (LRU); a "
         "cached prefix costs no prefill time and is reported as cached "
         "(0: no cache)"},
        CLIENT_FLAGS_CURVE(&a->curve_secret, &a->server_key, "worker",
                           "coordinator"),
        CLI_FLAG_HEALTH_FILE(&a->health_file),
        CLI_FLAG_METRICS_LISTEN(&a->metrics_listen),
        CLI_FLAG_HTTP_INSECURE(&a->http_insecure),
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };
    flag_t flags[MAX_FLAGS];
    size_t n = sizeof base / sizeof *base;

    memcpy(flags, base, sizeof base);
    http_flag_values_init(&a->hv);
    n = http_flags_add(flags, n, MAX_FLAGS, &a->hv,
                       HTTP_FLAGS_SERVER | HTTP_FLAGS_SHARED);
    return cli_parse("worker", "--pool small|large|prm [FLAGS]", description,
                     flags, n, argc, argv, NULL);
}


/*
** Check the pool, the backend and its HTTP settings: *role and *http for
** the worker.  Prints why and returns -1 when they do not fit.
*/
static int
check_args(const worker_args_t *a, Trim__Role *role, http_backend_opts_t *http)
{
    int sim = strcmp(a->backend, "sim") == 0;
    char err[512];

    *role = env_role_parse(a->pool);
    if (*role != TRIM__ROLE__ROLE_SMALL && *role != TRIM__ROLE__ROLE_LARGE &&
        *role != TRIM__ROLE__ROLE_PRM) {
        fprintf(stderr,
                "trim worker: --pool expects small, large or prm, "
                "got '%s'\n",
                a->pool);
        return -1;
    }
    if (check_backend(a->backend, *role, a->pool) < 0 ||
        http_flags_to_opts("worker", &a->hv, http) < 0)
        return -1;
    if (!sim && *http->base_url == '\0') {
        fprintf(stderr,
                "trim worker: --backend %s needs --base-url "
                "http://host:port\n",
                a->backend);
        return -1;
    }
    if (!sim && http_opts_check(http, err, sizeof err) < 0) {
        fprintf(stderr, "trim worker: %s\n", err);
        return -1;
    }
    return cli_log_level("worker", a->log_level);
}


/* At most one /health probe per this long; each is bounded by the next. */
#define PROBE_EVERY_MS   2000
#define PROBE_TIMEOUT_MS 1000

/* /readyz of an HTTP backend: its trim_backend_up and a probe of the model
** server's /health. */
typedef struct worker_probe {
    prom_gauge_t *up; /* NULL: the simulator, always ready */
    char *url;        /* BASE_URL/health (vLLM's, and trim sim-server's) */
    _Atomic int64_t next_ms; /* no probe before this (monotonic) */
} worker_probe_t;


/* CURLOPT_WRITEFUNCTION: the probe's body is not needed. */
static size_t
discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}


/* 1 when GET url got any HTTP answer within PROBE_TIMEOUT_MS. */
static int
health_answers(const char *url)
{
    CURL *h = curl_easy_init();
    long status = 0;

    if (h == NULL)
        return 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)PROBE_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status != 0;
}


/*
** /readyz, on the HTTP thread: ready while the model server answered the
** last call (trim_backend_up).  Before the first call, or after one that
** got no answer, ask its /health (at most once per PROBE_EVERY_MS, so
** scrapes wait at most PROBE_TIMEOUT_MS now and then); an answer sets the
** gauge, so a server that comes back turns the worker ready without work.
*/
static int
worker_ready(void *ctx, char *reason, size_t reasonlen)
{
    worker_probe_t *p = ctx;
    int64_t now = clock_now_ms(), due = atomic_load(&p->next_ms);

    if (p->up == NULL || prom_gauge_value(p->up) != 0)
        return 0;
    if (now >= due &&
        atomic_compare_exchange_strong(&p->next_ms, &due,
                                       now + PROBE_EVERY_MS) &&
        health_answers(p->url)) {
        prom_gauge_set(p->up, 1);
        return 0;
    }
    snprintf(reason, reasonlen,
             "the model server does not answer (the last call or GET %s "
             "got no answer; see the log)",
             p->url);
    return -1;
}


/* Serve --metrics-listen (no-op when off) now that the backend registered
** its series; /readyz reads its trim_backend_up and probes (p).  0, or -1
** with err. */
static int
serve_metrics(metrics_serve_t *m, const worker_args_t *a,
              const http_backend_opts_t *http, worker_probe_t *p, char *err,
              size_t errlen)
{
    const char *pool[] = {"pool", a->pool, NULL};

    if (m->registry == NULL)
        return 0;
    if (strcmp(a->backend, "sim") != 0) {
        p->up = prom_gauge(m->registry, "trim_backend_up", HTTP_BACKEND_UP_HELP,
                           pool);
        if ((p->url = http_url_join(http->base_url, "/health")) == NULL)
            return errf(err, errlen, "out of memory");
    }
    return metrics_serve_start(m, a->http_insecure, worker_ready, p, err,
                               errlen);
}


int
cmd_worker(int argc, char **argv)
{
    worker_args_t a = {
        .connect = CLIENT_CONNECT_DEFAULT,
        .pool = "",
        .backend = "sim",
        .name = "",
        .calibration = "",
        .sim_profile = "math500",
        .log_level = "info",
        .curve_secret = "",
        .server_key = "",
        .health_file = "",
        .metrics_listen = "",
        .credit = 64,
        .heartbeat = 1000,
        .liveness = 3,
        .reconnect = 32000,
        .drain = 30000,
    };
    Trim__Role role;
    http_backend_opts_t http;
    worker_opts_t o = {0};
    char err[512], default_name[128], server_pub[41];
    int curve_on;
    curve_keys_t keys = {0};
    sim_world_t *world = NULL;
    worker_t *w = NULL;
    void *zctx = NULL;
    metrics_serve_t metrics = {0};
    worker_probe_t probe = {0};
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    if (check_args(&a, &role, &http) < 0 ||
        client_curve("worker", a.curve_secret, a.server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    if (strcmp(a.backend, "sim") == 0 &&
        (rc = cli_sim_world("worker", a.sim_profile,
                            role == TRIM__ROLE__ROLE_PRM     ? -1
                            : role == TRIM__ROLE__ROLE_LARGE ? SIM_STRONG
                                                             : SIM_WEAK,
                            a.base_ms, a.ms_per_token, a.prefill_ms,
                            a.cache_tokens, a.calibration, &world)) != 0)
        goto done;
    rc = 1;
    backend_t *b = NULL;
    if (metrics_serve_open(&metrics, "worker", a.metrics_listen, err,
                           sizeof err) == 0) {
        http.metrics = metrics.registry;
        http.metrics_pool = a.pool;
        b = pool_backend_new(a.backend, role, world, &http, (uint32_t)a.credit,
                             err, sizeof err);
    }
    if (b == NULL ||
        serve_metrics(&metrics, &a, &http, &probe, err, sizeof err) < 0) {
        fprintf(stderr, "trim worker: %s\n", err);
        backend_destroy(&b);
        goto done;
    }
    atomic_int *stop = signals_stop_flag();
    zctx = zmq_ctx_new();
    o.endpoint = a.connect;
    o.role = role;
    o.credit = (uint32_t)a.credit;
    o.name = *a.name
                 ? a.name
                 : cli_default_name(a.pool, default_name, sizeof default_name);
    o.heartbeat_ms = (int)a.heartbeat;
    o.liveness = (int)a.liveness;
    o.reconnect_max_ms = (int)a.reconnect;
    o.drain_ms = (int)a.drain;
    o.curve = curve_on ? &keys : NULL;
    o.server_key = server_pub;
    o.health_file = a.health_file;
    /* The simulator answers within its latency model: no deadline stated. */
    o.deadline_ms = strcmp(a.backend, "sim") == 0
                        ? 0
                        : pool_backend_deadline_ms(role, &http);
    w = worker_new(zctx, &o, b, err, sizeof err);
    if (w == NULL)
        fprintf(stderr, "trim worker: %s\n", err);
    else
        rc = worker_run(w, stop) < 0 ? 1 : 0;
done:
    metrics_serve_stop(&metrics);
    worker_destroy(&w);
    sim_world_destroy(&world);
    curve_keys_clear(&keys);
    if (zctx)
        zmq_ctx_term(zctx);
    metrics_serve_close(&metrics);
    free(probe.url);
    return rc;
}
