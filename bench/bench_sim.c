/*
** bench_sim.c: the simulated world's speed.
**
**   bench_sim [--rounds R]
**
** 1. In process: microseconds per sim_generate call (weak and strong in
**    turn, 64 problems, every prefix of up to 8 steps) and per sim_score
**    call (those 64 histories), R rounds (default 40).  Sanitizer builds
**    are several times slower.
** 2. Over HTTP: `trim sim-server --base-ms 300 --threads 4`; the time of one
**    completions request and of four sent at once.  The latency is slept
**    in parallel, not one request after another, so four take about one
**    latency (serialised: four).
**
** Both were tests once (test_sim's test_cost printed the first; test_sim_
** server asserted four concurrent requests under 900 ms); they are figures.
** Prints; asserts nothing.
*/
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "sim.h"
#include "prompt.h"

#ifndef TRIM_BIN_PATH
#define TRIM_BIN_PATH "trim"
#endif

#define PROBLEMS  64
#define MAX_STEPS 8
#define LATENCY   "300"


static sim_world_t *
world(void)
{
    char err[256];
    sim_world_t *w = sim_world_new(NULL, NULL, err, sizeof err);
    if (w == NULL) {
        fprintf(stderr, "bench_sim: %s\n", err);
        exit(1);
    }
    return w;
}


/* Section 1: the in-process simulator's cost per call. */
static void
in_process(int rounds)
{
    sim_world_t *w = world();
    sim_problem_t p[PROBLEMS];
    const char *steps[PROBLEMS][MAX_STEPS];
    int n[PROBLEMS];
    float scores[MAX_STEPS];
    char err[256];
    long calls = 0;

    for (int k = 0; k < PROBLEMS; k++) {
        if (sim_problem_make(w, 81, (uint64_t)k, &p[k]) < 0)
            exit(1);
        n[k] = p[k].n_steps < MAX_STEPS ? p[k].n_steps : MAX_STEPS;
        for (int i = 0; i < n[k]; i++) {
            sim_step_t s;
            if (sim_generate(w, SIM_WEAK, p[k].text, steps[k], (size_t)i, 0, 1,
                             &s, err, sizeof err) < 0) {
                fprintf(stderr, "bench_sim: %s\n", err);
                exit(1);
            }
            steps[k][i] = s.text; /* kept: freed below */
        }
    }
    int64_t t0 = clock_now_us();
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < PROBLEMS; k++)
            for (int i = 0; i < n[k]; i++) {
                sim_step_t s;
                sim_generate(w, (sim_model_t)(r & 1), p[k].text, steps[k],
                             (size_t)i, 0, (uint64_t)r, &s, err, sizeof err);
                sim_step_clear(&s);
                calls++;
            }
    double gen_us = (double)(clock_now_us() - t0) / (double)calls;
    t0 = clock_now_us();
    calls = 0;
    for (int r = 0; r < 5 * rounds; r++)
        for (int k = 0; k < PROBLEMS; k++) {
            sim_score(w, p[k].text, steps[k], (size_t)n[k], scores, NULL, NULL,
                      NULL, err, sizeof err);
            calls++;
        }
    double score_us = (double)(clock_now_us() - t0) / (double)calls;
    printf("in process:\n  sim_generate %.2f us/call, sim_score (up to %d "
           "steps) %.2f us/call\n",
           gen_us, MAX_STEPS, score_us);
    for (int k = 0; k < PROBLEMS; k++) {
        for (int i = 0; i < n[k]; i++)
            free((char *)steps[k][i]);
        sim_problem_clear(&p[k]);
    }
    sim_world_destroy(&w);
}


static size_t
discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}


static CURL *
easy(const char *url, const char *body, struct curl_slist *h)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    return c;
}


/* Send count requests at once; ms until the last answer, or -1. */
static double
send_at_once(const char *url, const char *body, int count)
{
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/json");
    CURLM *m = curl_multi_init();
    CURL *e[8];
    int running, ok = 1;

    for (int i = 0; i < count; i++) {
        e[i] = easy(url, body, h);
        curl_multi_add_handle(m, e[i]);
    }
    int64_t t0 = clock_now_us();
    do {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    } while (running);
    double ms = (double)(clock_now_us() - t0) / 1000.0;
    for (int i = 0; i < count; i++) {
        long status = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &status);
        ok &= status == 200;
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    return ok ? ms : -1.0;
}


/* A completions request for the first step of a simulated problem. */
static char *
request_body(void)
{
    sim_world_t *w = world();
    sim_problem_t p;
    tpl_t t = {TPL_CHATML, NULL, NULL};

    if (sim_problem_make(w, 1, 1, &p) < 0)
        exit(1);
    char *prompt = tpl_prompt(&t, p.text, NULL, 0);
    json_t *req =
        json_pack("{s:s, s:s, s:[s], s:i, s:i}", "model", "sim-weak", "prompt",
                  prompt, "stop", "\n\n", "max_tokens", 256, "seed", 1);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    free(prompt);
    sim_problem_clear(&p);
    sim_world_destroy(&w);
    return body;
}


/* Section 2: the HTTP server's latency, one request and four at once. */
static void
over_http(void)
{
    char line[256], url[300];
    int out[2];

    /* Port 0: the server prints where it listens once it does. */
    fflush(NULL);
    if (pipe(out) < 0) {
        perror("bench_sim: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(TRIM_BIN_PATH, TRIM_BIN_PATH, "sim-server", "--sim-model", "weak",
              "--bind", "127.0.0.1:0", "--base-ms", LATENCY, "--threads", "4",
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    const char *at = NULL;
    if (f != NULL && fgets(line, sizeof line, f) != NULL)
        at = strstr(line, "http://");
    if (at == NULL) {
        fprintf(stderr, "bench_sim: the sim-server did not start\n");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        exit(1);
    }
    line[strcspn(line, "\n")] = '\0';
    snprintf(url, sizeof url, "%s/v1/completions", at);
    char *body = request_body();
    double one = send_at_once(url, body, 1);
    double four = send_at_once(url, body, 4);
    printf("trim sim-server --base-ms %s --threads 4:\n  one request %.0f ms, "
           "four at once %.0f ms (serialised would be about %d ms)\n",
           LATENCY, one, four, 4 * atoi(LATENCY));
    free(body);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fclose(f);
}


int
main(int argc, char **argv)
{
    int rounds = 40;

    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    in_process(rounds);
    over_http();
    curl_global_cleanup();
    return 0;
}
