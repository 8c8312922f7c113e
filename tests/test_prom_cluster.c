/*
** test_prom_cluster.c: --metrics-listen on a TCP cluster of real processes.
**
** - A coordinator with no peers answers /healthz 200 and /readyz 503 naming
**   the pool it lacks; once every pool has joined, 200.
** - A real Prometheus (Debian's prometheus) scrapes the coordinator, the
**   router and a worker every second; after a run, PromQL through its HTTP
**   API returns counters equal to the run's summary from `trim wait`, and
**   promtool accepts every process's /metrics.
** - A worker whose model server is dead says 503 on /readyz after its first
**   call fails, and counts the failure as a connect error.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "skip.h"
#include "testutil.h"

#define POLL_LIMIT_MS 60000 /* every wait below is bounded by this */


/* GET http://127.0.0.1:port/path: the status (0: no answer), body into b. */
static long
get(int port, const char *path, char *b, size_t blen)
{
    char url[128];

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    return test_http("GET", url, b, blen, NULL, 0);
}


/*
** Poll port/path (bounded) until it answers status with a body holding
** needle (NULL: any); there is no event to wait on from outside the process.
*/
static void
wait_http(int port, const char *path, long status, const char *needle)
{
    char b[4096];
    long got = 0;

    for (int ms = 0; ms < POLL_LIMIT_MS; ms += 50) {
        got = get(port, path, b, sizeof b);
        if (got == status && (needle == NULL || strstr(b, needle)))
            return;
        cluster_pause_ms(50);
    }
    fail_msg("%s on port %d: wanted %ld with '%s', last %ld '%s'", path, port,
             status, needle ? needle : "", got, b);
}


/* Poll port's /metrics (bounded, as wait_http) until series (`name{labels}`)
** is there with a value other than 0. */
static void
wait_nonzero(int port, const char *series)
{
    static char b[65536];
    char zero[256];

    snprintf(zero, sizeof zero, "%s 0\n", series);
    for (int ms = 0; ms < POLL_LIMIT_MS; ms += 50) {
        if (get(port, "/metrics", b, sizeof b) == 200 && strstr(b, series) &&
            !strstr(b, zero))
            return;
        cluster_pause_ms(50);
    }
    fail_msg("%s on port %d: still 0 or missing", series, port);
}


/* Fail unless `promtool check metrics` accepts what port/metrics serves. */
static void
check_promtool(const cluster_t *k, int port)
{
    char b[65536], path[400], cmd[512];
    int status;
    FILE *f;

    assert_int_equal(get(port, "/metrics", b, sizeof b), 200);
    assert_true(strlen(b) < sizeof b - 1); /* all of it */
    cluster_path(k, "metrics.txt", path, sizeof path);
    assert_non_null(f = fopen(path, "w"));
    fputs(b, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' 2>&1", path);
    char *out = test_capture(cmd, &status);
    if (status != 0)
        fail_msg("promtool check metrics on port %d: %s", port, out);
    free(out);
}


/* router-1 and one worker per pool (small-1 with small_extra and
** small_credit); returns once all have joined. */
static void
start_peers(cluster_t *k, const char *const *router_extra,
            const char *const *small_extra, const char *small_credit)
{
    cluster_start_router(k, "router-1", router_extra);
    cluster_start_worker(k, "small", "small-1", "0", small_credit, small_extra);
    cluster_start_worker(k, "large", "large-1", "0", "16", NULL);
    cluster_start_worker(k, "prm", "prm-1", "0", "16", NULL);
    cluster_wait_pools(k, 1, 1, 1, 1);
}


static void
test_coordinator_ready_with_every_pool(void **state)
{
    cluster_t k;
    char port[16], listen[32], b[4096];
    int mport = test_free_port();

    (void)state;
    cluster_init(&k);
    snprintf(port, sizeof port, "%d", mport);
    snprintf(listen, sizeof listen, "127.0.0.1:%s", port);
    const char *const extra[] = {"--metrics-listen", listen, NULL};
    cluster_start_coordinator(&k, extra);

    wait_http(mport, "/healthz", 200, "ok");
    wait_http(mport, "/readyz", 503, "no live peer in the small pool");
    assert_int_equal(get(mport, "/nope", b, sizeof b), 404);

    start_peers(&k, NULL, NULL, "16");
    wait_http(mport, "/readyz", 200, "ready");
    assert_int_equal(get(mport, "/healthz", b, sizeof b), 200);
    cluster_stop(&k);
    test_remove_tree(k.dir);
}


/* The value of a PromQL query's single sample, or -1 when none came. */
static double
promql(int port, const char *query)
{
    char url[512], b[65536];
    CURL *c = curl_easy_init();
    char *q = curl_easy_escape(c, query, 0);
    double v = -1;

    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/query?query=%s", port,
             q);
    curl_free(q);
    curl_easy_cleanup(c);
    if (test_http("GET", url, b, sizeof b, NULL, 0) != 200)
        return -1;
    json_t *j = json_loads(b, 0, NULL);
    json_t *r = json_object_get(json_object_get(j, "data"), "result");
    if (json_array_size(r) == 1) {
        const char *s = json_string_value(
            json_array_get(json_object_get(json_array_get(r, 0), "value"), 1));
        v = s ? strtod(s, NULL) : -1;
    }
    json_decref(j);
    return v;
}


/* Start prometheus (at path) scraping the targets every second; its pid. */
static int
start_prometheus(cluster_t *k, const char *path, int web_port,
                 const int *targets, int n)
{
    char cfg[400], tsdb[400], log[400], web[64], cfg_flag[440], tsdb_flag[440];
    FILE *f;

    cluster_path(k, "prometheus.yml", cfg, sizeof cfg);
    cluster_path(k, "tsdb", tsdb, sizeof tsdb);
    cluster_path(k, "prometheus.log", log, sizeof log);
    assert_non_null(f = fopen(cfg, "w"));
    fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
               "scrape_configs:\n  - job_name: trim\n    static_configs:\n"
               "      - targets: [");
    for (int i = 0; i < n; i++)
        fprintf(f, "%s'127.0.0.1:%d'", i ? ", " : "", targets[i]);
    fprintf(f, "]\n");
    fclose(f);
    snprintf(cfg_flag, sizeof cfg_flag, "--config.file=%s", cfg);
    snprintf(tsdb_flag, sizeof tsdb_flag, "--storage.tsdb.path=%s", tsdb);
    snprintf(web, sizeof web, "--web.listen-address=127.0.0.1:%d", web_port);
    char *const argv[] = {(char *)path, cfg_flag, tsdb_flag, web, NULL};
    return test_spawn(log, argv);
}


/* Poll (bounded) until query returns want: Prometheus scraped a sample
** taken after the run finished. */
static void
wait_promql(int port, const char *query, double want)
{
    double got = -1;

    for (int ms = 0; ms < POLL_LIMIT_MS; ms += 200) {
        if ((got = promql(port, query)) == want)
            return;
        cluster_pause_ms(200);
    }
    fail_msg("PromQL %s: wanted %.0f, got %.0f", query, want, got);
}


static void
test_prometheus_scrapes_the_run(void **state)
{
    cluster_t k;
    int ports[3], web = test_free_port(), status;
    char listen[3][32];

    (void)state;
    char *which = test_capture("command -v promtool >/dev/null && "
                               "command -v prometheus",
                               &status);
    if (status != 0)
        test_skip("prometheus or promtool is not installed (scripts/deps "
                  "installs Debian's prometheus)");
    which[strcspn(which, "\n")] = '\0';
    cluster_init(&k);
    for (int i = 0; i < 3; i++) {
        ports[i] = test_free_port();
        snprintf(listen[i], sizeof listen[i], "127.0.0.1:%d", ports[i]);
    }
    const char *const coord[] = {"--metrics-listen", listen[0], NULL};
    const char *const router[] = {"--metrics-listen", listen[1], NULL};
    const char *const small[] = {"--metrics-listen", listen[2], NULL};
    cluster_start_coordinator(&k, coord);
    start_peers(&k, router, small, "16");
    wait_http(ports[0], "/readyz", 200, "ready");
    wait_http(ports[1], "/readyz", 200, "ready");
    wait_http(ports[2], "/readyz", 200, "ready");

    int64_t run = cluster_submit_sim(&k, 60, 7, "thr:0.5");
    json_t *sum = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    assert_int_equal(jint(sum, "finished"), 60);
    for (int i = 0; i < 3; i++)
        check_promtool(&k, ports[i]);

    int prom = start_prometheus(&k, which, web, ports, 3);
    wait_promql(web, "trim_problems_finished_total", 60);
    wait_promql(web, "trim_problems_failed_total", 0);
    wait_promql(web, "sum(trim_steps_routed_total{policy=\"thr:0.5\"})",
                (double)jint(sum, "routed_steps"));
    wait_promql(web, "sum(trim_steps_regenerated_total)",
                (double)jint(sum, "regenerated_steps"));
    wait_promql(web, "trim_steps_total", (double)jint(sum, "steps"));
    wait_promql(web, "trim_pool_outstanding_requests{pool=\"small\"}", 0);
    wait_promql(web, "trim_tokens_total{role=\"strong\"}",
                (double)jint(sum, "strong_tokens"));
    wait_promql(web, "trim_tokens_total{role=\"weak\"}",
                (double)jint(sum, "weak_tokens"));
    wait_promql(web, "sum(trim_router_decisions_total)",
                (double)jint(sum, "routed_steps"));
    wait_promql(web, "trim_build_info{role=\"worker\"}", 1);
    wait_promql(web, "trim_pool_peers{pool=\"small\"}", 1);
    test_stop_child(prom, SIGTERM);
    free(which);
    json_decref(sum);
    cluster_stop(&k);
    test_remove_tree(k.dir);
}


static void
test_worker_with_dead_model_server_is_not_ready(void **state)
{
    cluster_t k;
    int mport = test_free_port(), dead = test_free_port();
    char listen[32], url[64], b[65536];

    (void)state;
    cluster_init(&k);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", mport);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", dead); /* nobody */
    const char *const small[] = {
        "--backend",    "openai", "--base-url",       url,    "--retries", "1",
        "--backoff-ms", "10",     "--metrics-listen", listen, NULL};
    cluster_start_coordinator(&k, NULL);
    start_peers(&k, NULL, small, "4");
    /* Not ready before any call: its probe of /health got no answer. */
    wait_http(mport, "/readyz", 503, "the model server does not answer");

    cluster_submit_sim(&k, 1, 1, "thr:0.5");
    wait_nonzero(mport,
                 "trim_backend_errors_total{pool=\"small\",kind=\"connect\"}");
    wait_http(mport, "/readyz", 503, "the model server does not answer");
    assert_int_equal(get(mport, "/metrics", b, sizeof b), 200);
    assert_non_null(strstr(b, "trim_backend_up{pool=\"small\"} 0\n"));
    assert_non_null(strstr(b, "trim_backend_retries_total{pool=\"small\","
                              "kind=\"connect\"} "));
    assert_null(strstr(b, "trim_backend_retries_total{pool=\"small\","
                          "kind=\"connect\"} 0\n"));
    assert_null(
        strstr(b, "trim_backend_errors_total{pool=\"small\",kind=\"connect\"} "
                  "0\n"));
    assert_int_equal(get(mport, "/healthz", b, sizeof b), 200);
    cluster_stop(&k);
    test_remove_tree(k.dir);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coordinator_ready_with_every_pool),
        cmocka_unit_test(test_prometheus_scrapes_the_run),
        cmocka_unit_test(test_worker_with_dead_model_server_is_not_ready),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
