/*
** bench_gateway.c: `trim gateway` in front of a cluster on the simulator.
**
**   bench_gateway [--problems N] [--streams N]
**
** 1. `trim submit --sim N` + `trim wait` of the zero-latency cluster: the
**    problems/s of the batch path, measured in the same run.
** 2. One problem at a time straight to the coordinator (a DEALER that
**    submits with notify and waits for the ProblemsDone), and through the
**    gateway with one client: the p50 difference is what the gateway adds.
** 3. Problems/s and p50/p99 latency through the gateway with 1, 64 and 512
**    concurrent clients (libcurl multi, keep-alive), N problems each, and
**    the CPU time per problem of the gateway and of this load generator.
** 4. N streaming requests opened at once against a small pool of 200 ms a
**    step, so they are held open together: errors and the most streams the
**    gateway reported open (trim_gateway_streams_open).
**
** Prints figures; asserts nothing.
*/
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_proc.h"
#include "clock.h"
#include "envelope.h"
#include "sim.h"
#include "sock.h"

#ifndef TRIM_BIN_PATH
#define TRIM_BIN_PATH "trim"
#endif

typedef struct bench {
    char dir[64], endpoint[64], db[128], listen[64], metrics[64];
    int port, mport;
    pid_t pids[16], small, gateway;
    int n;
    char **texts; /* simulated problems */
    int n_texts, next;
} bench_t;


static pid_t
spawn(bench_t *b, const char *name, char **argv)
{
    char log[160];
    snprintf(log, sizeof log, "%s/%s.log", b->dir, name);
    return bench_spawn(log, argv);
}


static pid_t
start_small(bench_t *b, const char *ms)
{
    char *w[] = {
        TRIM_BIN_PATH, "worker",   "--pool", "small",         "--connect",
        b->endpoint,   "--credit", "1024",   "--sim-base-ms", (char *)ms,
        "--log-level", "warn",     NULL};
    return spawn(b, "small", w);
}


/* Wait (bounded) until every pool has a peer and the gateway is ready. */
static void
wait_up(bench_t *b)
{
    char cmd[256];

    if (bench_wait_pools(TRIM_BIN_PATH, b->endpoint) < 0) {
        fprintf(stderr,
                "bench_gateway: the cluster did not come up (logs in %s)\n",
                b->dir);
        exit(1);
    }
    snprintf(cmd, sizeof cmd, "curl -sf http://%s/readyz >/dev/null 2>&1",
             b->metrics);
    for (int k = 0; k < 200 && system(cmd) != 0; k++)
        bench_pause_ms(50);
}


static void
start(bench_t *b)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/trim-bench-gateway-XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(b->db, sizeof b->db, "%s/bench.db", b->dir);
    snprintf(b->endpoint, sizeof b->endpoint, "tcp://127.0.0.1:%d",
             bench_free_port());
    b->port = bench_free_port();
    b->mport = bench_free_port();
    snprintf(b->listen, sizeof b->listen, "127.0.0.1:%d", b->port);
    snprintf(b->metrics, sizeof b->metrics, "127.0.0.1:%d", b->mport);
    char *coord[] = {
        TRIM_BIN_PATH, "coordinator",   "--bind", b->endpoint,    "--db",
        b->db,         "--concurrency", "4096",   "--max-queued", "100000",
        "--log-level", "warn",          NULL};
    b->pids[b->n++] = spawn(b, "coordinator", coord);
    char *router[] = {TRIM_BIN_PATH, "router", "--connect",
                      b->endpoint,   "--pub",  "",
                      "--log-level", "warn",   NULL};
    b->pids[b->n++] = spawn(b, "router", router);
    b->small = start_small(b, "0");
    const char *pools[2] = {"large", "prm"};
    for (int p = 0; p < 2; p++) {
        char *w[] = {
            TRIM_BIN_PATH, "worker",   "--pool", (char *)pools[p], "--connect",
            b->endpoint,   "--credit", "1024",   "--sim-base-ms",  "0",
            "--log-level", "warn",     NULL};
        b->pids[b->n++] = spawn(b, pools[p], w);
    }
    char *gw[] = {TRIM_BIN_PATH,
                  "gateway",
                  "--listen",
                  b->listen,
                  "--connect",
                  b->endpoint,
                  "--metrics-listen",
                  b->metrics,
                  "--max-concurrent",
                  "4096",
                  "--max-concurrent-per-key",
                  "4096",
                  "--log-level",
                  "warn",
                  NULL};
    b->gateway = spawn(b, "gateway", gw);
    wait_up(b);
}


static void
stop(bench_t *b)
{
    char cmd[160];
    kill(b->gateway, SIGTERM);
    waitpid(b->gateway, NULL, 0);
    kill(b->small, SIGTERM);
    waitpid(b->small, NULL, 0);
    for (int i = 0; i < b->n; i++)
        kill(b->pids[i], SIGTERM);
    for (int i = 0; i < b->n; i++)
        waitpid(b->pids[i], NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_gateway: could not remove %s\n", b->dir);
}


static void
make_texts(bench_t *b, int n)
{
    sim_params_t p;
    char err[256];
    sim_world_t *w;

    if (sim_profile_resolve("math500", &p, err, sizeof err) < 0 ||
        (w = sim_world_new(&p, NULL, err, sizeof err)) == NULL) {
        fprintf(stderr, "bench_gateway: %s\n", err);
        exit(1);
    }
    b->texts = calloc((size_t)n, sizeof *b->texts);
    for (int i = 0; i < n; i++) {
        sim_problem_t sp = {0};
        sim_problem_make(w, 77, (uint64_t)i, &sp);
        b->texts[i] = strdup(sp.text);
        sim_problem_clear(&sp);
    }
    b->n_texts = n;
    sim_world_destroy(&w);
}


static const char *
next_text(bench_t *b)
{
    return b->texts[b->next++ % b->n_texts];
}


static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}


static double
pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? v[(int)((n - 1) * p)] : 0;
}

/* ---- 1. the batch path --------------------------------------------------- */

static void
batch(bench_t *b, int n)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "%s submit --connect %s --sim %d --seed 5 --json >/dev/null && "
             "%s wait --connect %s --json",
             TRIM_BIN_PATH, b->endpoint, n, TRIM_BIN_PATH, b->endpoint);
    char *out = bench_run(cmd);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    double secs = json_real_value(json_object_get(j, "elapsed_s"));
    int64_t done = json_integer_value(json_object_get(j, "finished"));
    printf("trim submit + wait     %6d problems  %8.0f problems/s\n", n,
           secs > 0 ? (double)done / secs : 0);
    json_decref(j);
}

/* ---- 2. one at a time, straight to the coordinator ----------------------- */

static double
direct_p50(bench_t *b, int n)
{
    void *ctx = zmq_ctx_new();
    char err[256];
    void *s = sock_new(ctx, ZMQ_DEALER, err, sizeof err);
    double *lat = calloc((size_t)n, sizeof *lat);
    uint64_t run_id = 0, id = 1;

    zmq_connect(s, b->endpoint);
    for (int i = 0; i < n; i++) {
        Trim__ProblemSpec p = TRIM__PROBLEM_SPEC__INIT, *pp = &p;
        Trim__Submit sub = TRIM__SUBMIT__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        p.text = (char *)next_text(b);
        p.seed = (uint64_t)i;
        sub.request_id = ++id;
        sub.run_id = run_id;
        sub.policy = "thr:0.5";
        sub.notify = 1;
        sub.n_problems = 1;
        sub.problems = &pp;
        env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
        env.submit = &sub;
        int64_t t0 = clock_now_us();
        sock_send_env(s, NULL, 0, &env);
        int done = 0;
        while (!done) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, 0) < 0)
                break;
            Trim__Envelope *e =
                env_unpack(zmq_msg_data(&m), zmq_msg_size(&m), err, sizeof err);
            zmq_msg_close(&m);
            if (e && e->body_case == TRIM__ENVELOPE__BODY_SUBMIT_ACK)
                run_id = e->submit_ack->run_id;
            if (e && e->body_case == TRIM__ENVELOPE__BODY_PROBLEMS_DONE)
                done = 1;
            env_destroy(&e);
        }
        lat[i] = (double)(clock_now_us() - t0) / 1000.0;
    }
    sock_destroy(&s);
    zmq_ctx_term(ctx);
    double p50 = pct(lat, n, 0.5);
    printf("direct, 1 at a time    %6d problems  p50 %7.2f ms  p99 %7.2f ms\n",
           n, p50, pct(lat, n, 0.99));
    free(lat);
    return p50;
}

/* ---- 3. through the gateway ---------------------------------------------- */

typedef struct req {
    CURL *h;
    char *body;
    int64_t t0;
    long status;
} req_t;


static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}


static char *
body_of(const char *text, int stream)
{
    json_t *j =
        json_pack("{s:s, s:[{s:s, s:s}], s:b}", "model", "trim", "messages",
                  "role", "user", "content", text, "stream", stream);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}


static void
arm(bench_t *b, req_t *r, struct curl_slist *hdr, int stream)
{
    char url[128];
    snprintf(url, sizeof url, "http://%s/v1/chat/completions", b->listen);
    free(r->body);
    r->body = body_of(next_text(b), stream);
    if (r->h == NULL)
        r->h = curl_easy_init();
    curl_easy_setopt(r->h, CURLOPT_URL, url);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->h, CURLOPT_TIMEOUT, 300L);
    r->t0 = clock_now_us();
}


/*
** total requests by `clients` concurrent clients; latencies in ms into lat.
** Returns the errors (transport or non-200).
*/
static int
load(bench_t *b, int clients, int total, int stream, double *lat, double *secs,
     double *peak_streams)
{
    CURLM *m = curl_multi_init();
    struct curl_slist *hdr =
        curl_slist_append(NULL, "Content-Type: application/json");
    req_t *reqs = calloc((size_t)clients, sizeof *reqs);
    int started = 0, finished = 0, errors = 0, running;
    int64_t t0 = clock_now_us(), last_sample = 0;

    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)clients + 16);
    for (int i = 0; i < clients && started < total; i++, started++) {
        arm(b, &reqs[i], hdr, stream);
        curl_multi_add_handle(m, reqs[i].h);
    }
    do {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            req_t *r;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
                              &status);
            if (msg->data.result != CURLE_OK || status != 200)
                errors++;
            lat[finished++] = (double)(clock_now_us() - r->t0) / 1000.0;
            curl_multi_remove_handle(m, r->h);
            if (started < total) {
                arm(b, r, hdr, stream);
                curl_multi_add_handle(m, r->h);
                started++;
                running = 1;
            }
        }
        if (peak_streams && clock_now_us() - last_sample > 100000) {
            /* sampled from /metrics while the streams are open */
            char cmd[160];
            snprintf(cmd, sizeof cmd,
                     "curl -s http://%s/metrics | awk "
                     "'/^trim_gateway_streams_open /{print $2}'",
                     b->metrics);
            char *out = bench_run(cmd);
            double v = atof(out);
            if (v > *peak_streams)
                *peak_streams = v;
            free(out);
            last_sample = clock_now_us();
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    } while (running || finished < started);
    *secs = (double)(clock_now_us() - t0) / 1e6;
    for (int i = 0; i < clients; i++) {
        curl_easy_cleanup(reqs[i].h);
        free(reqs[i].body);
    }
    free(reqs);
    curl_slist_free_all(hdr);
    curl_multi_cleanup(m);
    return errors;
}


static double
through_gateway(bench_t *b, int clients, int total)
{
    double *lat = calloc((size_t)total, sizeof *lat), secs;
    double gw0 = bench_cpu_s(b->gateway), self0 = bench_cpu_s(getpid());
    int errors = load(b, clients, total, 0, lat, &secs, NULL);
    double p50 = pct(lat, total, 0.5);
    printf("gateway, %3d clients   %6d problems  %8.0f problems/s  p50 %7.2f "
           "ms  p99 %7.2f ms  errors %d\n",
           clients, total, total / secs, p50, pct(lat, total, 0.99), errors);
    /* Both share the machine's cores with the cluster. */
    printf(
        "    cpu per problem: gateway %.0f us, this load generator %.0f us\n",
        (bench_cpu_s(b->gateway) - gw0) * 1e6 / total,
        (bench_cpu_s(getpid()) - self0) * 1e6 / total);
    free(lat);
    return p50;
}


int
main(int argc, char **argv)
{
    int n = 4000, streams = 1000;
    bench_t b = {0};
    struct rlimit rl;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--problems") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--streams") == 0)
            streams = atoi(argv[i + 1]);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_texts(&b, 20000);
    start(&b);
    printf("bench_gateway: zero-latency simulator, coordinator + router + 3 "
           "workers + gateway on 127.0.0.1\n");
    batch(&b, n);
    double direct = direct_p50(&b, 200);
    double one = through_gateway(&b, 1, 200);
    printf("gateway adds at 1 client: %.2f ms p50\n", one - direct);
    through_gateway(&b, 64, n);
    through_gateway(&b, 512, n);

    /* Streams held open: a slow small pool keeps them running together. */
    kill(b.small, SIGTERM);
    waitpid(b.small, NULL, 0);
    b.small = start_small(&b, "200");
    bench_pause_ms(500); /* the coordinator notices the old worker gone */
    wait_up(&b);
    double *lat = calloc((size_t)streams, sizeof *lat), secs, peak = 0;
    int errors = load(&b, streams, streams, 1, lat, &secs, &peak);
    printf("gateway, %d streams at once: errors %d, most open %.0f, p50 %.0f "
           "ms, %.1f s in all\n",
           streams, errors, peak, pct(lat, streams, 0.5), secs);
    free(lat);
    stop(&b);
    for (int i = 0; i < b.n_texts; i++)
        free(b.texts[i]);
    free(b.texts);
    curl_global_cleanup();
    return 0;
}
