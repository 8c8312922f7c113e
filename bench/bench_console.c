/*
** bench_console.c: the console's server time per page and API call on a
** store of a million step rows (DESIGN §8: <= 200 ms p99).
**
**   bench_console [--problems N] [--requests K] [--db PATH] [--keep]
**                 [--reuse]
**
** Writes a store through the storage writer: two runs ("strong", the ROI
** curve's anchor, and "thr:0.5"; the rows are alike) of N/2 problems
** (default N = 100,000) of ten step rows each (eight drafts and two strong
** steps, or ten drafts), outcomes mixed (70% correct, 20% wrong, 1%
** failed), one problem in a thousand holding the word "zebra".  Then serves
** it with the console in this process (console_http_new on a free port,
** with a price book, so dollars are computed too) and asks each page K
** times (default 50) over HTTP with libcurl, one at a time.  Prints, per
** call, the first (cold) time and the p50, p99 and max of the rest as the
** server measured them (its Server-Timing header), beside the client's
** wall time p99.  Nothing is asserted.  --reuse serves the store a run
** with --keep left at PATH (made with the same N) instead of writing it
** again: builds compared on one store, without the write's minutes.
**
** Build it optimised (the test build's sanitizers slow every query):
**   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release
**   cmake --build build/rel -j2 --target bench_console
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "console.h"
#include "store.h"

#define PER_PROBLEM 10

typedef struct {
    long problems, requests;
    const char *db;
    int keep, reuse;
} args_t;


static const char s_prices[] =
    "{\"models\": {\"s\": {\"input_usd_per_mtok\": 0.2,"
    " \"cached_input_usd_per_mtok\": 0.1, \"output_usd_per_mtok\": 0.6},"
    " \"l\": {\"input_usd_per_mtok\": 2, \"cached_input_usd_per_mtok\": 1,"
    " \"output_usd_per_mtok\": 6},"
    " \"p\": {\"input_usd_per_mtok\": 0.03, \"output_usd_per_mtok\": 0}},"
    " \"roles\": {\"weak\": \"s\", \"strong\": \"l\", \"prm\": \"p\"}}";


/* Problem i of run r and its steps into the writer. */
static void
put_problem(store_writer_t *w, int64_t run, int64_t id, long i)
{
    char text[400], step[200], source[32];
    int regen = i % 3 != 0;

    snprintf(source, sizeof source, "bench:%ld", i);
    snprintf(text, sizeof text,
             "Problem %ld: Ava has %ld apples. She gives away %ld apples. "
             "Then she buys %ld bags with 4 apples in each%s. How many "
             "apples does Ava have now?",
             i, 50 + i % 50, i % 17, i % 9,
             i % 1000 == 500 ? " and feeds a zebra" : "");
    store_problem_t p = {
        .problem_id = id,
        .run_id = run,
        .source = source, /* pairs problem i of both runs */
        .text = text,
        .ground_truth = "42",
        .status = i % 100 == 99 ? STORE_FAILED : STORE_FINISHED,
        .final_answer = "42",
        .correct = i % 100 == 99 ? -1
                   : i % 10 < 7  ? 1
                                 : 0,
        .steps = regen ? 8 : 10, /* accepted: drafts kept + strong */
        .regenerated_steps = regen ? 2 : 0,
        .weak_tokens = 300,
        .strong_tokens = regen ? 80 : 0,
        .discarded_tokens = regen ? 70 : 0,
        .prm_tokens = 2000,
        .error = i % 100 == 99 ? "bench: failed on purpose" : NULL,
        .created_ms = 1,
        .finished_ms = 2,
        .seed = (uint64_t)i,
    };
    /* Queued, then its steps, then its end, as the coordinator writes a
    ** problem (its usage totals are stored with the terminal row). */
    p.status = STORE_RUNNING;
    store_writer_put_problem(w, &p);
    p.status = i % 100 == 99 ? STORE_FAILED : STORE_FINISHED;
    for (int k = 0, index = 0; k < PER_PROBLEM; k++) {
        int strong = regen && (k == 3 || k == 7);
        snprintf(step, sizeof step,
                 "Step %d: she now has %d + %ld = %ld apples, as the "
                 "problem says in its step.",
                 index, 40 + index, i % 13, 40 + index + i % 13);
        store_step_t s = {
            .problem_id = id,
            .step_index = index,
            .kind = strong ? STORE_STRONG : STORE_DRAFT,
            .text = step,
            .prompt_tokens = 80 + 30 * index,
            .completion_tokens = 30,
            .prm_score = strong                          ? 0.9
                         : (regen && (k == 2 || k == 6)) ? 0.2
                                                         : 0.8,
            .min_prev_score = 0.7,
            .prod_prev_score = 0.5,
            .prm_tokens = strong ? 0 : 100 + 30 * index,
            .decision = strong                          ? STORE_NO_DECISION
                        : (regen && (k == 2 || k == 6)) ? STORE_REGENERATE
                                                        : STORE_KEEP,
            .policy = strong ? NULL : "thr:0.5",
            .reason = strong ? NULL : "score against 0.5",
            .action_prob = NAN,
            .decided_by = strong ? NULL : "router:bench",
            .accepted = !(regen && (k == 2 || k == 6)),
            .latency_us = 1000,
            .queue_us = 10,
            .prm_us = 20,
            .route_us = 5,
            .worker = "bench",
            .created_ms = 1,
        };
        store_writer_put_step(w, &s);
        if (!(regen && (k == 2 || k == 6)))
            index++;
    }
    store_writer_put_problem(w, &p);
}


static int
make_store(const args_t *a)
{
    char err[512];
    store_writer_t *w;
    int64_t t0 = clock_now_us();

    store_remove(a->db);
    if ((w = store_writer_new(a->db, NULL, err, sizeof err)) == NULL) {
        fprintf(stderr, "bench_console: %s\n", err);
        return -1;
    }
    for (int64_t run = 1; run <= 2; run++) {
        store_run_t r = {.run_id = run,
                         /* a strong-only anchor, for the ROI curve */
                         .policy = run == 1 ? "strong" : "thr:0.5",
                         .config = "{}",
                         .started_ms = 1,
                         .finished_ms = 2};
        store_writer_put_run(w, &r);
        for (long i = 0; i < a->problems / 2; i++)
            put_problem(w, run, (run - 1) * (a->problems / 2) + i + 1, i);
    }
    if (store_writer_wait(w, 0) < 0) {
        fprintf(stderr, "bench_console: %s\n", store_writer_error(w));
        store_writer_destroy(&w);
        return -1;
    }
    printf("store: %ld problems, %ld step rows, written in %.1f s\n",
           a->problems, a->problems * PER_PROBLEM,
           (double)(clock_now_us() - t0) / 1e6);
    store_writer_destroy(&w);
    return 0;
}


typedef struct {
    double server_ms;
} timing_t;


static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
    timing_t *t = ctx;
    const char *key = "Server-Timing: app;dur=";

    if (size * n > strlen(key) && strncmp(p, key, strlen(key)) == 0)
        t->server_ms = strtod(p + strlen(key), NULL);
    return size * n;
}


static size_t
sink(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}


static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}


/* Ask path k + 1 times; print the cold time and the warm percentiles. */
static void
measure(CURL *c, int port, const char *label, const char *path, long k)
{
    char url[512];
    double *server = calloc((size_t)k, sizeof *server);
    double *wall = calloc((size_t)k, sizeof *wall);
    double cold = 0;
    long status = 0;

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    for (long i = 0; i <= k; i++) {
        timing_t t = {0};
        int64_t t0 = clock_now_us();
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
        if (curl_easy_perform(c) != CURLE_OK) {
            printf("%-24s request failed\n", label);
            goto done;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        double ms = (double)(clock_now_us() - t0) / 1000.0;
        if (i == 0)
            cold = t.server_ms;
        else {
            server[i - 1] = t.server_ms;
            wall[i - 1] = ms;
        }
    }
    qsort(server, (size_t)k, sizeof *server, cmp);
    qsort(wall, (size_t)k, sizeof *wall, cmp);
    printf("%-24s %4ld %9.2f %9.2f %9.2f %9.2f %9.2f\n", label, status, cold,
           server[k / 2], server[(size_t)ceil(0.99 * (double)k) - 1],
           server[k - 1], wall[(size_t)ceil(0.99 * (double)k) - 1]);
done:
    free(server);
    free(wall);
}


int
main(int argc, char **argv)
{
    args_t a = {.problems = 100000, .requests = 50, .db = NULL};
    char db[256], prices[300], err[512], path[256];
    console_t *con = NULL;
    console_http_t *h = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--problems") == 0 && i + 1 < argc)
            a.problems = atol(argv[++i]);
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
            a.requests = atol(argv[++i]);
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            a.db = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            a.keep = 1;
        else if (strcmp(argv[i], "--reuse") == 0)
            a.reuse = a.keep = 1;
        else {
            fprintf(stderr, "usage: bench_console [--problems N] "
                            "[--requests K] [--db PATH] [--keep] [--reuse]\n");
            return 2;
        }
    }
    if (a.problems < 2 || a.requests < 1)
        return 2;
    snprintf(db, sizeof db, "%s", a.db ? a.db : "/tmp/trim-bench-console.db");
    a.db = db;
    snprintf(prices, sizeof prices, "%s.prices.json", db);
    FILE *f = fopen(prices, "w");
    if (f == NULL || fputs(s_prices, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_console: cannot write %s\n", prices);
        return 1;
    }
    if (!(a.reuse && access(db, F_OK) == 0) && make_store(&a) < 0)
        return 1;
    console_opts_t o = {.db = db, .prices = prices};
    if ((con = console_new(&o, err, sizeof err)) == NULL ||
        (h = console_http_new(con, "127.0.0.1:0", NULL, err, sizeof err)) ==
            NULL) {
        fprintf(stderr, "bench_console: %s\n", err);
        console_destroy(&con);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    int port = console_http_port(h);
    long deep = a.problems / 2 - 60; /* the last page of run 1 */

    printf("\nserver ms per call (%ld calls after a cold one; wall: the "
           "client's)\n",
           a.requests);
    printf("%-24s %4s %9s %9s %9s %9s %9s\n", "call", "http", "cold", "p50",
           "p99", "max", "wall p99");
    measure(c, port, "page /", "/", a.requests);
    measure(c, port, "app.js", "/app.js", a.requests);
    measure(c, port, "runs", "/api/runs", a.requests);
    measure(c, port, "problems page 1", "/api/problems?run=1", a.requests);
    snprintf(path, sizeof path, "/api/problems?run=1&after=%ld", deep);
    measure(c, port, "problems last page", path, a.requests);
    measure(c, port, "problems wrong", "/api/problems?run=1&outcome=wrong",
            a.requests);
    measure(c, port, "problems failed (1%)",
            "/api/problems?run=1&outcome=failed", a.requests);
    measure(c, port, "problems regenerated",
            "/api/problems?run=1&regenerated=yes", a.requests);
    measure(c, port, "problems text (0.1%)", "/api/problems?run=1&text=zebra",
            a.requests);
    measure(c, port, "problems text (none)", "/api/problems?run=1&text=giraffe",
            a.requests);
    snprintf(path, sizeof path, "/api/problem?id=%ld", a.problems / 3);
    measure(c, port, "problem trace", path, a.requests);
    measure(c, port, "compare 1 2", "/api/compare?a=1&b=2", a.requests);
    measure(c, port, "curves", "/api/curves", a.requests);
    measure(c, port, "roi (store curve)",
            "/api/roi?source=store&volume=100000&target_accuracy=0.5",
            a.requests);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    console_http_destroy(&h);
    console_destroy(&con);
    if (!a.keep) {
        store_remove(db);
        unlink(prices);
    }
    return 0;
}
