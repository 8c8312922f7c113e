/*
** test_http_cluster.c: the step loop against model servers over real HTTP.
**
** Three `trim sim-server` processes (weak, strong, PRM) stand in for vLLM;
** `trim run` points its pools at them with the HTTP backends.  The same
** problems solved with the in-process simulator must come out identical,
** and each fault a server can inject must leave a finished run with every
** problem either solved or failed with its reason.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sqlite3.h>

#include "cluster.h"
#include "sim.h"
#include "testutil.h"

typedef struct server {
    int pid;
    int port;
    char url[64];
} server_t;

typedef struct world {
    char dir[256];
    server_t weak, strong, prm;
} world_t;


static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}


/* 1 when GET url/health answers 200 within 200 ms. */
static int
healthy(const char *url)
{
    char health[128];
    long code = 0;
    CURL *h = curl_easy_init();
    snprintf(health, sizeof health, "%s/health", url);
    curl_easy_setopt(h, CURLOPT_URL, health);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 200L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return code == 200;
}


/* A response body kept in a fixed buffer (the rest dropped). */
typedef struct keep {
    char *buf;
    size_t cap, *len;
} keep_t;


static size_t
keep(char *p, size_t size, size_t n, void *ctx)
{
    keep_t *k = ctx;
    size_t bytes = size * n, room = k->cap - 1 - *k->len;
    memcpy(k->buf + *k->len, p, bytes < room ? bytes : room);
    *k->len += bytes < room ? bytes : room;
    k->buf[*k->len] = '\0';
    return bytes;
}


/*
** Start a sim-server for model with extra flags (NULL-terminated list), and
** wait (bounded) until it answers /health.
*/
static void
start_server(world_t *w, server_t *s, const char *model,
             const char *const *extra)
{
    char bind[64], log[400];
    char *argv[40];
    int n = 0;

    s->port = test_free_port();
    snprintf(bind, sizeof bind, "127.0.0.1:%d", s->port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    snprintf(log, sizeof log, "%s/%s.log", w->dir, model);
    argv[n++] = (char *)test_bin();
    argv[n++] = "sim-server";
    argv[n++] = "--sim-model";
    argv[n++] = (char *)model;
    argv[n++] = "--bind";
    argv[n++] = bind;
    for (; extra && *extra && n < 38; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    s->pid = test_spawn(log, argv);
    for (int tries = 0; tries < 200; tries++) {
        if (healthy(s->url))
            return;
        struct timespec ts = {0, 25000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("sim-server %s did not come up (see %s)", model, log);
}


static void
world_init(world_t *w, const char *const *weak_extra)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/trim-http-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    start_server(w, &w->weak, "weak", weak_extra);
    start_server(w, &w->strong, "strong", NULL);
    start_server(w, &w->prm, "prm", NULL);
}


static void
world_stop(world_t *w)
{
    test_stop_child(w->weak.pid, SIGTERM);
    test_stop_child(w->strong.pid, SIGTERM);
    test_stop_child(w->prm.pid, SIGTERM);
}


/* `trim run` with the pools on the servers; returns its JSON summary. */
static json_t *
run_http(world_t *w, const char *db, const char *flags, int *status)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s run --json --no-progress --db %s --small-url %s "
             "--large-url %s --prm-url %s %s",
             test_bin(), db, w->weak.url, w->strong.url, w->prm.url, flags);
    char *out = test_capture(cmd, status);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    return j;
}


/* Every problem finished or failed with a reason; steps whole. */
static void
check_outcomes(const char *db, int64_t problems)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems"), problems);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE status "
                                "NOT IN ('finished','failed')"),
                     0);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "status='failed' AND (error IS NULL OR "
                                "error = '')"),
                     0);
    /* Accepted steps 0..n-1, one per index, for every finished problem. */
    sql_check_one_accepted(h);
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM problems p WHERE "
                   "p.status='finished' AND (p.steps <> (SELECT COUNT(*) FROM "
                   "steps s WHERE s.problem_id=p.problem_id AND "
                   "s.accepted=1) OR p.steps - 1 <> (SELECT MAX(step_index) "
                   "FROM steps s WHERE s.problem_id=p.problem_id AND "
                   "s.accepted=1))"),
        0);
    sqlite3_close(h);
}


static void
test_http_matches_in_process(void **state)
{
    (void)state;
    world_t w;
    char db[400], local[400], cmd[1024], sql[1024];
    int st;

    world_init(&w, NULL);
    snprintf(db, sizeof db, "%s/http.db", w.dir);
    snprintf(local, sizeof local, "%s/local.db", w.dir);
    json_t *http = run_http(&w, db, "--problems 200 --seed 4", &st);
    assert_int_equal(st, 0);
    assert_non_null(http);
    snprintf(cmd, sizeof cmd,
             "%s run --json --no-progress --db %s --problems 200 --seed 4",
             test_bin(), local);
    char *out = test_capture(cmd, &st);
    json_t *one = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(one);
    const char *keys[] = {"problems",          "correct",     "steps",
                          "regenerated_steps", "weak_tokens", "strong_tokens",
                          "discarded_tokens",  "prm_tokens",  "routed_steps"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (jint(http, keys[i]) != jint(one, keys[i]))
            fail_msg("%s: over HTTP %lld, in process %lld", keys[i],
                     (long long)jint(http, keys[i]),
                     (long long)jint(one, keys[i]));
    /* Step by step: the same texts, scores and decisions. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS b", local);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM (SELECT problem_id, step_index, kind, "
                   "text, completion_tokens, decision, accepted, prm_score "
                   "FROM steps EXCEPT SELECT problem_id, step_index, kind, "
                   "text, completion_tokens, decision, accepted, prm_score "
                   "FROM b.steps)"),
        0);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps"),
                     sql_int(h, "SELECT COUNT(*) FROM b.steps"));
    sqlite3_close(h);
    json_decref(http);
    json_decref(one);
    world_stop(&w);
}


/*
** Run 30 problems with the weak server misbehaving as fault says.  Every
** problem must end finished or failed; a failed one's error must contain
** reason (when given); at least min_finished must finish.  Returns how many
** recorded steps took more than one coordinator attempt.
*/
static int
run_with_weak_faults(const char *const *fault, const char *run_flags,
                     int min_finished, const char *reason)
{
    world_t w;
    char db[400], flags[512];
    int st, retried;
    sqlite3 *h;

    world_init(&w, fault);
    snprintf(db, sizeof db, "%s/faults.db", w.dir);
    snprintf(flags, sizeof flags,
             "--problems 30 --seed 8 --retries 3 --backoff-ms 10 "
             "--backoff-max-ms 100 --cooldown-ms 200 %s",
             run_flags ? run_flags : "");
    json_t *sum = run_http(&w, db, flags, &st);
    assert_int_equal(st, 0);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "problems"), 30);
    assert_int_equal(jint(sum, "finished") + jint(sum, "failed"), 30);
    assert_true(jint(sum, "finished") >= min_finished);
    check_outcomes(db, 30);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    retried = (int)sql_int(h, "SELECT COUNT(*) FROM steps WHERE attempt > 0");
    if (reason != NULL && jint(sum, "failed") > 0) {
        assert_int_equal(sql_int(h,
                                 "SELECT COUNT(*) FROM problems WHERE "
                                 "status='failed' AND error NOT LIKE '%%%s%%'",
                                 reason),
                         0);
    }
    sqlite3_close(h);
    json_decref(sum);
    world_stop(&w);
    return retried;
}


static void
test_fault_500(void **state)
{
    (void)state;
    /* Retried by the backend: with 3 retries nearly every call gets
    ** through; any problem that does not says HTTP 500. */
    run_with_weak_faults((const char *const[]){"--fail-500", "0.3", NULL}, NULL,
                         25, "HTTP 500");
}


static void
test_fault_429_retry_after(void **state)
{
    (void)state;
    run_with_weak_faults(
        (const char *const[]){"--fail-429", "0.2", "--retry-after", "1", NULL},
        NULL, 25, "HTTP 429");
}


static void
test_fault_timeout(void **state)
{
    (void)state;
    /* A slow call holds one of the server's slots after the client gave
    ** up, as an overloaded server would. */
    run_with_weak_faults((const char *const[]){"--slow", "0.05", "--slow-ms",
                                               "1500", "--threads", "64", NULL},
                         "--request-timeout-ms 500", 20, "timed out");
}


static void
test_fault_malformed_and_truncated(void **state)
{
    (void)state;
    /* Retried with backoff inside the worker, like a 5xx (a bad call fails
    ** 9 times in a row with p = 0.2^9): every problem finishes, and no
    ** request needed the coordinator's second attempt. */
    int retried = run_with_weak_faults(
        (const char *const[]){"--malformed", "0.1", "--truncate", "0.1", NULL},
        "--retries 8", 30, "JSON");
    assert_int_equal(retried, 0);
}


static void
test_connection_refused_fails_with_reason(void **state)
{
    (void)state;
    world_t w;
    char db[400], cmd[2048];
    int st;

    world_init(&w, NULL);
    snprintf(db, sizeof db, "%s/refused.db", w.dir);
    /* The strong pool points at a port nobody listens on. */
    snprintf(cmd, sizeof cmd,
             "%s run --json --no-progress --db %s --problems 10 --policy "
             "strong --retries 2 --backoff-ms 10 --cooldown-ms 50 --small-url "
             "%s --large-url "
             "http://127.0.0.1:%d --prm-url %s",
             test_bin(), db, w.weak.url, test_free_port(), w.prm.url);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *sum = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "failed"), 10);
    json_decref(sum);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE error "
                                "LIKE '%%refused%%'"),
                     10);
    sqlite3_close(h);
    world_stop(&w);
}


static void
test_request_bodies_as_documented(void **state)
{
    (void)state;
    world_t w;
    char db[400], rec[400], cmd[600];
    int st;

    memset(&w, 0, sizeof w);
    snprintf(w.dir, sizeof w.dir, "/tmp/trim-http-XXXXXX");
    assert_non_null(mkdtemp(w.dir));
    snprintf(rec, sizeof rec, "%s/weak.requests", w.dir);
    start_server(&w, &w.weak, "weak",
                 (const char *const[]){"--record", rec, NULL});
    start_server(&w, &w.strong, "strong", NULL);
    char prm_rec[400];
    snprintf(prm_rec, sizeof prm_rec, "%s/prm.requests", w.dir);
    start_server(&w, &w.prm, "prm",
                 (const char *const[]){"--record", prm_rec, NULL});
    snprintf(db, sizeof db, "%s/bodies.db", w.dir);
    json_t *sum = run_http(&w, db, "--problems 1 --seed 2 --top-k 20", &st);
    assert_int_equal(st, 0);
    json_decref(sum);
    world_stop(&w);

    /* The first draft request: vLLM's completions shape with the ChatML
    ** prompt of the TRIM release, its stop string and sampling fields. */
    snprintf(cmd, sizeof cmd, "grep -m1 '\"/v1/completions\"' %s", rec);
    char *line = test_capture(cmd, &st);
    json_t *r = json_loads(line, 0, NULL);
    free(line);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "path")),
                        "/v1/completions");
    json_t *body =
        json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
    assert_non_null(body);
    const char *prompt = json_string_value(json_object_get(body, "prompt"));
    assert_non_null(prompt);
    const char *head = "<|im_start|>system\nYou are Qwen, created by Alibaba "
                       "Cloud. You are a helpful assistant.<|im_end|>\n"
                       "<|im_start|>user\nSolve the following math problem "
                       "step by step";
    assert_int_equal(strncmp(prompt, head, strlen(head)), 0);
    assert_non_null(strstr(prompt, "\nQuestion: "));
    const char *tail = "<|im_end|>\n<|im_start|>assistant\nSolution:\n\n";
    assert_string_equal(prompt + strlen(prompt) - strlen(tail), tail);
    json_t *stop = json_object_get(body, "stop");
    assert_true(json_is_array(stop) && json_array_size(stop) == 1);
    assert_string_equal(json_string_value(json_array_get(stop, 0)), "\n\n");
    assert_true(json_is_integer(json_object_get(body, "max_tokens")));
    assert_true(json_is_integer(json_object_get(body, "seed")));
    assert_int_equal(json_integer_value(json_object_get(body, "top_k")), 20);
    assert_true(json_is_number(json_object_get(body, "temperature")));
    json_decref(body);
    json_decref(r);

    /* The first PRM request: /pooling with the Qwen2.5-Math-PRM input. */
    snprintf(cmd, sizeof cmd, "grep -m1 '\"/pooling\"' %s", prm_rec);
    line = test_capture(cmd, &st);
    r = json_loads(line, 0, NULL);
    free(line);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "path")),
                        "/pooling");
    body = json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
    const char *input = json_string_value(json_object_get(body, "input"));
    assert_non_null(input);
    assert_int_equal(
        strncmp(input, "<|im_start|>system\nSolve the following", 37), 0);
    const char *end = "<extra_0><|im_end|>\n";
    assert_string_equal(input + strlen(input) - strlen(end), end);
    json_decref(body);
    json_decref(r);
}


static void
test_server_killed_mid_run(void **state)
{
    (void)state;
    world_t w;
    char db[400], log[400], bind[64];
    int st;

    /* 20 ms a call, so the run is still going when the server dies. */
    world_init(&w, (const char *const[]){"--base-ms", "20", NULL});
    snprintf(db, sizeof db, "%s/killed.db", w.dir);
    snprintf(log, sizeof log, "%s/run.log", w.dir);
    char *argv[] = {(char *)test_bin(),
                    "run",
                    "--json",
                    "--no-progress",
                    "--db",
                    db,
                    "--problems",
                    "60",
                    "--retries",
                    "5",
                    "--backoff-ms",
                    "100",
                    "--backoff-max-ms",
                    "1000",
                    "--cooldown-ms",
                    "200",
                    "--small-url",
                    w.weak.url,
                    "--large-url",
                    w.strong.url,
                    "--prm-url",
                    w.prm.url,
                    NULL};
    int run = test_spawn(log, argv);

    /* Wait (bounded) until some problems are done, then kill the weak
    ** server and bring it back on the same port a moment later. */
    for (int tries = 0; tries < 400; tries++) {
        sqlite3 *h;
        int64_t done = 0;
        if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_stmt *q;
            if (sqlite3_prepare_v2(h,
                                   "SELECT COUNT(*) FROM problems WHERE "
                                   "status='finished'",
                                   -1, &q, NULL) == SQLITE_OK &&
                sqlite3_step(q) == SQLITE_ROW)
                done = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
        sqlite3_close(h);
        if (done >= 5)
            break;
        struct timespec ts = {0, 25000000L};
        nanosleep(&ts, NULL);
    }
    kill(w.weak.pid, SIGKILL);
    test_wait_child(w.weak.pid, 10000);
    /* Back on the same port: the pool's URL does not change. */
    snprintf(bind, sizeof bind, "127.0.0.1:%d", w.weak.port);
    snprintf(log, sizeof log, "%s/weak-again.log", w.dir);
    char *again[] = {
        (char *)test_bin(), "sim-server", "--sim-model", "weak", "--bind", bind,
        "--base-ms",        "20",         NULL};
    w.weak.pid = test_spawn(log, again);
    snprintf(log, sizeof log, "%s/run.log", w.dir);
    assert_int_equal(test_wait_child(run, 120000), 0);
    char cmd[500];
    snprintf(cmd, sizeof cmd, "grep '^{' %s | tail -1", log);
    char *out = test_capture(cmd, &st);
    json_t *sum = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "finished") + jint(sum, "failed"), 60);
    json_decref(sum);
    check_outcomes(db, 60);
    world_stop(&w);
}


/*
** The score the simulated PRM gives the newest of steps[0..n) when it is
** sent all but the first dropped of them: what trim must store for it.
*/
static float
sim_prm_score(const sim_world_t *w, const char *problem,
              const char *const *steps, size_t n, size_t dropped)
{
    float scores[256];
    char err[256];

    assert_true(dropped < n && n - dropped <= 256);
    if (sim_score(w, problem, steps + dropped, n - dropped, scores, NULL, NULL,
                  NULL, err, sizeof err) < 0)
        fail_msg("sim_score: %s", err);
    return scores[n - dropped - 1];
}


/*
** A PRM cuts its input to truncate_prompt_tokens by keeping the first
** tokens (the sim-server as vLLM).  trim fits the input first, so every
** stored draft score is the one the PRM gave that step, and the audit
** counts the leading steps the PRM did not see.
*/
static void
test_prm_truncation_scores_each_step(void **state)
{
    (void)state;
    world_t w;
    char db[400], err[256];
    int st;
    sim_params_t params;
    sqlite3 *h;
    sqlite3_stmt *q, *hist;

    world_init(&w, NULL);
    snprintf(db, sizeof db, "%s/truncate.db", w.dir);
    json_t *sum =
        run_http(&w, db, "--problems 50 --seed 3 --truncate-tokens 230", &st);
    assert_int_equal(st, 0);
    assert_non_null(sum);
    json_decref(sum);
    world_stop(&w);
    check_outcomes(db, 50);

    assert_int_equal(sim_profile_resolve("math500", &params, err, sizeof err),
                     0);
    sim_world_t *sw = sim_world_new(&params, NULL, err, sizeof err);
    assert_non_null(sw);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    /* Only a problem whose first step alone is too long may fail. */
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "status='failed' AND error NOT LIKE '%%the "
                                "problem and the newest step alone are%%'"),
                     0);
    assert_int_equal(
        sqlite3_prepare_v2(h,
                           "SELECT p.text, s.problem_id, s.step_index, "
                           "s.text, s.prm_score, s.prm_padded FROM steps s "
                           "JOIN problems p USING (problem_id) WHERE "
                           "s.kind = 'draft'",
                           -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT text FROM steps WHERE "
                                        "problem_id = ? AND accepted = 1 AND "
                                        "step_index < ? ORDER BY step_index",
                                        -1, &hist, NULL),
                     SQLITE_OK);
    int drafts = 0, wrong = 0, unseen = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        char *steps[256];
        size_t n = 0;
        int k = sqlite3_column_int(q, 2);
        sqlite3_bind_int64(hist, 1, sqlite3_column_int64(q, 1));
        sqlite3_bind_int(hist, 2, k);
        while (sqlite3_step(hist) == SQLITE_ROW && n < 255)
            steps[n++] = strdup((const char *)sqlite3_column_text(hist, 0));
        sqlite3_reset(hist);
        assert_int_equal(n, (size_t)k); /* the history the PRM was sent */
        steps[n++] = strdup((const char *)sqlite3_column_text(q, 3));
        int dropped = sqlite3_column_int(q, 5);
        float want =
            sim_prm_score(sw, (const char *)sqlite3_column_text(q, 0),
                          (const char *const *)steps, n, (size_t)dropped);
        double got = sqlite3_column_double(q, 4);
        drafts++;
        wrong += fabs(got - want) > 1e-6;
        unseen += dropped > 0;
        for (size_t i = 0; i < n; i++)
            free(steps[i]);
    }
    sqlite3_finalize(hist);
    sqlite3_finalize(q);
    sqlite3_close(h);
    sim_world_destroy(&sw);
    printf("# --truncate-tokens 230, 50 problems: %d of %d draft scores "
           "misattributed; %d drafts scored without leading steps\n",
           wrong, drafts, unseen);
    assert_true(drafts > 300);
    assert_int_equal(wrong, 0);
    assert_true(unseen > 0); /* the limit did bite */
}


/* A PRM stand-in whose every answer has no score rows. */
static enum MHD_Result
no_rows(void *cls, struct MHD_Connection *c, const char *url,
        const char *method, const char *version, const char *upload,
        size_t *upload_size, void **con_cls)
{
    static const char body[] = "{\"object\":\"list\",\"data\":[{\"index\":0,"
                               "\"object\":\"pooling\",\"data\":[]}]}";
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (*con_cls == NULL) { /* headers only so far */
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* the body: read and ignored */
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}


/*
** A PRM answering with an empty data[0].data scores nothing: every problem
** fails with the reason once its attempts are used up, and no draft is
** kept on a score it never got.
*/
static void
test_prm_missing_rows_fail_the_problem(void **state)
{
    (void)state;
    world_t w;
    char db[400], cmd[2048];
    int st, port = test_free_port();
    struct sockaddr_in addr = {0};

    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *prm = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, no_rows,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    assert_non_null(prm);
    world_init(&w, NULL);
    snprintf(db, sizeof db, "%s/norows.db", w.dir);
    snprintf(cmd, sizeof cmd,
             "%s run --json --no-progress --db %s --problems 5 --seed 2 "
             "--retries 1 --backoff-ms 10 --small-url %s --large-url %s "
             "--prm-url http://127.0.0.1:%d",
             test_bin(), db, w.weak.url, w.strong.url, port);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *sum = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "failed"), 5);
    json_decref(sum);
    world_stop(&w);
    MHD_stop_daemon(prm);
    check_outcomes(db, 5);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE error "
                                "NOT LIKE '%%the PRM returned 0 scores for 1 "
                                "steps%%'"),
                     0);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps"), 0);
    sqlite3_close(h);
}


/*
** A cluster whose small pool is an openai worker on a `trim sim-server`:
** the worker learns from /v1/models that it talks to the simulator and
** says so in its Ready, so a Submit of text the simulator never generated
** is refused at once with what to send instead (not failed later as a
** model error after retries), and the sim-server's own 400 says the same.
*/
static void
test_sim_server_text_check(void **state)
{
    (void)state;
    world_t w;
    cluster_t k;
    char cmd[1200], file[400], errlog[400];
    int st;

    memset(&w, 0, sizeof w);
    snprintf(w.dir, sizeof w.dir, "/tmp/trim-http-XXXXXX");
    assert_non_null(mkdtemp(w.dir));
    start_server(&w, &w.weak, "weak", NULL);
    cluster_init(&k);
    cluster_start_coordinator(&k, NULL);
    const char *extra[] = {"--backend", "openai", "--base-url", w.weak.url,
                           NULL};
    cluster_start_worker(&k, "small", "small-1", "0", "4", extra);
    cluster_wait_pools(&k, 1, 0, 0, 0);

    cluster_path(&k, "problems.jsonl", file, sizeof file);
    cluster_path(&k, "submit.err", errlog, sizeof errlog);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("{\"problem\":\"What is 1+1?\",\"answer\":\"2\"}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s submit --json --connect %s %s 2>%s",
             test_bin(), k.endpoint, file, errlog);
    char *out = test_capture(cmd, &st);
    assert_int_not_equal(st, 0);
    free(out);
    assert_true(test_file_contains(
        errlog, "problems[0]: the built-in simulator solves only problems it "
                "generated (print some with `trim sim-problems`)"));
    cluster_stop(&k);

    char url[128], body[4096] = "";
    size_t got = 0;
    long code = 0;
    struct curl_slist *hdr =
        curl_slist_append(NULL, "Content-Type: application/json");
    CURL *h = curl_easy_init();
    snprintf(url, sizeof url, "%s/v1/completions", w.weak.url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     "{\"prompt\": \"<|im_start|>user\\nQuestion: What is "
                     "1+1?<|im_end|>\\n<|im_start|>assistant\\nSolution:"
                     "\\n\\n\"}");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    keep_t kept = {body, sizeof body, &got};
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &kept);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    assert_int_equal(code, 400);
    assert_non_null(strstr(body, "print some with `trim sim-problems`"));
    test_stop_child(w.weak.pid, SIGTERM);
}


int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_matches_in_process),
        cmocka_unit_test(test_fault_500),
        cmocka_unit_test(test_fault_429_retry_after),
        cmocka_unit_test(test_fault_timeout),
        cmocka_unit_test(test_fault_malformed_and_truncated),
        cmocka_unit_test(test_connection_refused_fails_with_reason),
        cmocka_unit_test(test_request_bodies_as_documented),
        cmocka_unit_test(test_server_killed_mid_run),
        cmocka_unit_test(test_prm_truncation_scores_each_step),
        cmocka_unit_test(test_prm_missing_rows_fail_the_problem),
        cmocka_unit_test(test_sim_server_text_check),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
