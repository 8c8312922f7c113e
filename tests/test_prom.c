/*
** test_prom.c: the metrics registry (common/prom.h) against the text
** exposition format 0.0.4, exactly: HELP and TYPE once per family, labels
** and their escapes, cumulative histogram buckets with +Inf, _sum and
** _count, values Prometheus parses (NaN, +Inf); and the HTTP endpoint
** (common/prom_http.h): /metrics, /healthz, /readyz, 404, 405.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "listen.h"
#include "prom.h"
#include "prom_http.h"
#include "testutil.h"


static void
test_render_exact(void **state)
{
    prom_registry_t *r = prom_registry_new();
    const char *small[] = {"pool", "small", NULL};
    const char *large[] = {"pool", "large", NULL};
    const char *odd[] = {"pool", "a\\b\"c\nd", NULL};
    const double bounds[] = {0.5, 1, 2.5};
    size_t len;
    char *text;

    (void)state;
    assert_non_null(r);
    prom_counter_t *plain = prom_counter(r, "t_done_total", "Done.", NULL);
    prom_counter_t *c1 =
        prom_counter(r, "t_req_total", "Requests\\n\nmore.", small);
    prom_counter_t *c2 =
        prom_counter(r, "t_req_total", "Requests\\n\nmore.", odd);
    prom_gauge_t *g = prom_gauge(r, "t_share_ratio", "A share.", NULL);
    prom_gauge_t *inf = prom_gauge(r, "t_inf", "Infinite.", small);
    prom_histogram_t *h =
        prom_histogram(r, "t_wait_seconds", "Wait.", small, bounds, 3);
    prom_histogram_t *h0 =
        prom_histogram(r, "t_wait_seconds", "Wait.", large, bounds, 3);

    /* asking again gives the same series */
    assert_ptr_equal(
        prom_counter(r, "t_req_total", "Requests\\n\nmore.", small), c1);
    prom_counter_add(plain, 3);
    prom_counter_add(c1, 1);
    prom_counter_add(c1, 41);
    prom_counter_set(c2, 7);
    prom_gauge_set(g, NAN);
    prom_gauge_set(inf, INFINITY);
    prom_histogram_observe(h, 0.5); /* le is inclusive */
    prom_histogram_observe(h, 0.75);
    prom_histogram_observe(h, 100);
    prom_histogram_observe(h0, 0.1);
    assert_int_equal(prom_counter_value(c1), 42);
    assert_int_equal(prom_histogram_count(h), 3);

    text = prom_render(r, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_string_equal(text,
                        "# HELP t_done_total Done.\n"
                        "# TYPE t_done_total counter\n"
                        "t_done_total 3\n"
                        "# HELP t_req_total Requests\\\\n\\nmore.\n"
                        "# TYPE t_req_total counter\n"
                        "t_req_total{pool=\"small\"} 42\n"
                        "t_req_total{pool=\"a\\\\b\\\"c\\nd\"} 7\n"
                        "# HELP t_share_ratio A share.\n"
                        "# TYPE t_share_ratio gauge\n"
                        "t_share_ratio NaN\n"
                        "# HELP t_inf Infinite.\n"
                        "# TYPE t_inf gauge\n"
                        "t_inf{pool=\"small\"} +Inf\n"
                        "# HELP t_wait_seconds Wait.\n"
                        "# TYPE t_wait_seconds histogram\n"
                        "t_wait_seconds_bucket{pool=\"small\",le=\"0.5\"} 1\n"
                        "t_wait_seconds_bucket{pool=\"small\",le=\"1\"} 2\n"
                        "t_wait_seconds_bucket{pool=\"small\",le=\"2.5\"} 2\n"
                        "t_wait_seconds_bucket{pool=\"small\",le=\"+Inf\"} 3\n"
                        "t_wait_seconds_sum{pool=\"small\"} 101.25\n"
                        "t_wait_seconds_count{pool=\"small\"} 3\n"
                        "t_wait_seconds_bucket{pool=\"large\",le=\"0.5\"} 1\n"
                        "t_wait_seconds_bucket{pool=\"large\",le=\"1\"} 1\n"
                        "t_wait_seconds_bucket{pool=\"large\",le=\"2.5\"} 1\n"
                        "t_wait_seconds_bucket{pool=\"large\",le=\"+Inf\"} 1\n"
                        "t_wait_seconds_sum{pool=\"large\"} 0.1\n"
                        "t_wait_seconds_count{pool=\"large\"} 1\n");
    free(text);
    prom_registry_destroy(&r);
    assert_null(r);
    prom_registry_destroy(&r); /* NULL-safe */
}


/* Doubles print as the shortest text that reads back the same. */
static void
test_gauge_values(void **state)
{
    prom_registry_t *r = prom_registry_new();
    prom_gauge_t *g = prom_gauge(r, "t_g", "G.", NULL);
    const struct {
        double v;
        const char *text;
    } cases[] = {{0, "0"},
                 {-0.25, "-0.25"},
                 {1e21, "1e+21"},
                 {1.0 / 3, "0.33333333333333331"},
                 {-INFINITY, "-Inf"},
                 {1700000000.123, "1700000000.123"}};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        char want[128], *text;
        prom_gauge_set(g, cases[i].v);
        text = prom_render(r, &len);
        snprintf(want, sizeof want, "# HELP t_g G.\n# TYPE t_g gauge\nt_g %s\n",
                 cases[i].text);
        assert_string_equal(text, want);
        free(text);
    }
    prom_gauge_add(g, 1);
    prom_gauge_set(g, 2);
    prom_gauge_add(g, 0.5);
    assert_true(prom_gauge_value(g) == 2.5);
    prom_registry_destroy(&r);
}


/* NULL series and registries are no-ops, so code runs without metrics. */
static void
test_null_is_noop(void **state)
{
    (void)state;
    prom_counter_t *c = prom_counter(NULL, "t_x_total", "X.", NULL);
    assert_null(c);
    prom_counter_add(c, 1);
    prom_gauge_set(prom_gauge(NULL, "t_g", "G.", NULL), 1);
    prom_histogram_observe(prom_histogram(NULL, "t_h", "H.", NULL, NULL, 0), 1);
    prom_register_process(NULL, "test");
    assert_int_equal(prom_counter_value(NULL), 0);
}


/* The process series; the default buckets. */
static void
test_process_and_default_buckets(void **state)
{
    prom_registry_t *r = prom_registry_new();
    size_t len;
    char *text;

    (void)state;
    prom_register_process(r, "coordinator");
    prom_histogram_observe(
        prom_histogram(r, "t_h_seconds", "H.", NULL, NULL, 0), 0.003);
    text = prom_render(r, &len);
    assert_non_null(strstr(text, "trim_build_info{version=\"" TRIM_VERSION
                                 "\",role=\"coordinator\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE trim_process_start_time_seconds "
                                 "gauge\ntrim_process_start_time_seconds 1"));
    assert_non_null(strstr(text, "t_h_seconds_bucket{le=\"0.0025\"} 0\n"
                                 "t_h_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "t_h_seconds_bucket{le=\"60\"} 1\n"
                                 "t_h_seconds_bucket{le=\"+Inf\"} 1\n"));
    free(text);
    prom_registry_destroy(&r);
}


/* A client-chosen label keeps its first PROM_LABEL_VALUES values, then
** "other". */
static void
test_label_values_capped(void **state)
{
    prom_label_values_t v = {0};
    char value[32];

    (void)state;
    for (int i = 0; i < PROM_LABEL_VALUES; i++) {
        snprintf(value, sizeof value, "thr:0.%d", i);
        assert_string_equal(prom_label_value(&v, value), value);
    }
    assert_string_equal(prom_label_value(&v, "thr:0.999"), "other");
    assert_string_equal(prom_label_value(&v, "thr:0.0"), "thr:0.0");
    prom_label_values_clear(&v);
    assert_string_equal(prom_label_value(&v, "thr:0.999"), "thr:0.999");
    prom_label_values_clear(&v);
}


/* ---- the HTTP endpoint -------------------------------------------------- */

/* GET (or another method) port/path: the status; body into b, content type
** into type. */
static long
get(int port, const char *method, const char *path, char *b, char *type)
{
    char url[128];

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    return test_http(method, url, b, 4096, type, 128);
}


static int
ready_when_flag(void *ctx, char *reason, size_t reasonlen)
{
    if (atomic_load((atomic_int *)ctx))
        return 0;
    snprintf(reason, reasonlen, "no peer in pool large");
    return -1;
}


static void
test_endpoint(void **state)
{
    prom_registry_t *r = prom_registry_new();
    atomic_int ready = 0;
    prom_http_opts_t o = {.listen = "127.0.0.1:0",
                          .who = "test",
                          .registry = r,
                          .ready = ready_when_flag,
                          .ready_ctx = &ready};
    char err[256], type[128];
    prom_http_t *h;
    char b[4096];

    (void)state;
    prom_counter_add(prom_counter(r, "t_x_total", "X.", NULL), 5);
    h = prom_http_new(&o, err, sizeof err);
    assert_non_null(h);
    int port = prom_http_port(h);
    assert_true(port > 0);

    assert_int_equal(get(port, "GET", "/metrics", b, type), 200);
    assert_string_equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(b, "# HELP t_x_total X.\n# TYPE t_x_total "
                           "counter\nt_x_total 5\n");
    assert_int_equal(get(port, "GET", "/healthz", b, type), 200);
    assert_string_equal(b, "ok\n");
    assert_int_equal(get(port, "GET", "/readyz", b, type), 503);
    assert_string_equal(b, "no peer in pool large\n");
    atomic_store(&ready, 1);
    assert_int_equal(get(port, "GET", "/readyz", b, type), 200);
    assert_string_equal(b, "ready\n");
    assert_int_equal(get(port, "GET", "/nope", b, type), 404);
    assert_int_equal(get(port, "POST", "/metrics", b, type), 405);
    prom_http_destroy(&h);
    assert_null(h);

    /* beyond loopback only with insecure */
    o.listen = "0.0.0.0:0";
    assert_null(prom_http_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "--metrics-listen"));
    assert_non_null(strstr(err, "--http-insecure"));
    o.listen = "127.0.0.1";
    assert_null(prom_http_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "HOST:PORT"));
    prom_registry_destroy(&r);
}


/* GET url until it answers want or deadline_ms passes (no event tells of a
** readiness change); the last status. */
static long
wait_status(const char *url, long want, int deadline_ms, char *b)
{
    int64_t end = clock_now_ms() + deadline_ms;
    long st;

    while ((st = test_http("GET", url, b, 4096, NULL, 0)) != want &&
           clock_now_ms() < end) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return st;
}


/* Plain HTTP beyond loopback needs --http-insecure; what the address
** resolves to decides, not how it is written. */
static void
test_listen_check_resolves(void **state)
{
    const char *loopback[] = {"127.0.0.1:0", "127.0.0.2:9100", "[::1]:0",
                              "localhost:0"};
    const char *beyond[] = {"0.0.0.0:0", "[::]:0"};
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++)
        assert_int_equal(
            listen_check("t", "--listen", loopback[i], 0, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof beyond / sizeof *beyond; i++) {
        assert_int_equal(
            listen_check("t", "--listen", beyond[i], 0, err, sizeof err), -1);
        assert_non_null(strstr(err, "--http-insecure"));
        assert_int_equal(
            listen_check("t", "--listen", beyond[i], 1, err, sizeof err), 0);
    }
    assert_int_equal(
        listen_check("t", "--listen", "localhost", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "HOST:PORT"));
}


/* One address holds at most PROM_HTTP_PER_IP connections: the next is
** closed unanswered, and a freed one can be used again. */
static void
test_connections_per_address(void **state)
{
    prom_registry_t *r = prom_registry_new();
    prom_http_opts_t o = {.listen = "127.0.0.1:0", .registry = r};
    char err[256], url[64], b[4096];
    int fds[PROM_HTTP_PER_IP];
    struct sockaddr_in a = {.sin_family = AF_INET};

    (void)state;
    prom_http_t *h = prom_http_new(&o, err, sizeof err);
    assert_non_null(h);
    a.sin_port = htons((uint16_t)prom_http_port(h));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < PROM_HTTP_PER_IP; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof a), 0);
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", prom_http_port(h));
    /* The idle ones were accepted first (the backlog is in order). */
    assert_int_equal(test_http("GET", url, b, sizeof b, NULL, 0), 0);
    for (int i = 0; i < PROM_HTTP_PER_IP; i++)
        close(fds[i]);
    assert_int_equal(wait_status(url, 200, 10000, b), 200);
    prom_http_destroy(&h);
    prom_registry_destroy(&r);
}


/* --insecure (ZeroMQ) does not open plain HTTP beyond loopback: that takes
** --http-insecure, and the refusal comes before the database is opened. */
static void
test_insecure_is_not_http_insecure(void **state)
{
    char dir[256], cmd[1024], *out;
    int st;

    (void)state;
    test_scratch_dir(dir, sizeof dir, "prom-insecure");
    snprintf(cmd, sizeof cmd,
             "%s coordinator --db %s/trim.db --bind tcp://127.0.0.1:%d "
             "--insecure --metrics-listen 0.0.0.0:0 2>&1",
             test_bin(), dir, test_free_port());
    out = test_capture(cmd, &st);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "refusing to listen on 0.0.0.0:0"));
    assert_non_null(strstr(out, "--http-insecure"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s/trim.db", dir);
    assert_int_equal(access(cmd, F_OK), -1);
    test_remove_tree(dir);
}


/* A worker whose model server is down is not ready, before any call; once
** the server is up it turns ready by probing its /health, with no work
** (there is no coordinator at all). */
static void
test_worker_ready_follows_model_server(void **state)
{
    char dir[256], log[320], base[64], mlisten[64], url[128], connect[64];
    char b[4096];
    int model_port = test_free_port(), metrics_port = test_free_port();

    (void)state;
    test_scratch_dir(dir, sizeof dir, "prom-ready");
    snprintf(log, sizeof log, "%s/worker.log", dir);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", model_port);
    snprintf(mlisten, sizeof mlisten, "127.0.0.1:%d", metrics_port);
    snprintf(connect, sizeof connect, "tcp://127.0.0.1:%d", test_free_port());
    char *const worker[] = {(char *)test_bin(),
                            "worker",
                            "--connect",
                            connect,
                            "--pool",
                            "small",
                            "--backend",
                            "openai",
                            "--base-url",
                            base,
                            "--metrics-listen",
                            mlisten,
                            NULL};
    int wpid = test_spawn(log, worker);

    snprintf(url, sizeof url, "http://%s/healthz", mlisten);
    assert_int_equal(wait_status(url, 200, 20000, b), 200);
    snprintf(url, sizeof url, "http://%s/readyz", mlisten);
    assert_int_equal(test_http("GET", url, b, sizeof b, NULL, 0), 503);
    assert_non_null(strstr(b, "/health"));

    char bind[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%d", model_port);
    snprintf(log, sizeof log, "%s/model.log", dir);
    char *const model[] = {
        (char *)test_bin(), "sim-server", "--sim-model", "weak",
        "--bind",           bind,         NULL};
    int mpid = test_spawn(log, model);
    assert_int_equal(wait_status(url, 200, 20000, b), 200);
    assert_string_equal(b, "ready\n");
    snprintf(url, sizeof url, "http://%s/metrics", mlisten);
    assert_int_equal(test_http("GET", url, b, sizeof b, NULL, 0), 200);
    assert_non_null(strstr(b, "trim_backend_up{pool=\"small\"} 1\n"));
    assert_int_equal(test_http("GET", url, b, sizeof b, NULL, 0), 200);
    assert_non_null(
        strstr(b, "trim_backend_requests_total{pool=\"small\"} 0\n"));
    test_stop_child(wpid, SIGTERM);
    test_stop_child(mpid, SIGTERM);
    test_remove_tree(dir);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_gauge_values),
        cmocka_unit_test(test_null_is_noop),
        cmocka_unit_test(test_process_and_default_buckets),
        cmocka_unit_test(test_label_values_capped),
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_listen_check_resolves),
        cmocka_unit_test(test_connections_per_address),
        cmocka_unit_test(test_insecure_is_not_http_insecure),
        cmocka_unit_test(test_worker_ready_follows_model_server),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
