/*
** test_gateway.c: `trim gateway` in front of a cluster of real processes
** on the simulator, over 127.0.0.1.
**
** Two gateways share the cluster: an open one (no keys, metrics on) for
** the answers, streams, cancels and the official openai npm client, and a
** guarded one (--api-keys, tiny limits) for 401, 413 and 429.  The small
** pool takes 150 ms per step, so a problem runs for a second or more:
** long enough to disconnect in the middle of it, and for a stream's first
** step to arrive while the problem is still running.
*/
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "sim.h"
#include "http_reply.h"
#include "skip.h"
#include "testutil.h"

#define OPENAI_VERSION "5.12.0" /* the npm package, pinned */

typedef struct gw {
    int pid, port, metrics_port;
} gw_t;

static cluster_t K;
static gw_t OPEN, GUARDED;
static char KEYS[400];
static char **PROBLEMS; /* simulated problem texts, one per use */
static int N_PROBLEMS, NEXT_PROBLEM;

/* ---- HTTP ---------------------------------------------------------------- */

/* METHOD path on port with body (NULL: none) and an optional key. */
static test_reply_t
http(int port, const char *method, const char *path, const char *body,
     const char *key)
{
    test_reply_t r;
    char url[256], auth[300];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    test_reply_capture(c, &r);
    h = curl_slist_append(h, "Content-Type: application/json");
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    test_reply_finish(c, curl_easy_perform(c), &r);
    if (r.rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(r.rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}


/* The reply's JSON body, which must be an OpenAI error with this status,
** type and code (NULL: JSON null) whose message contains says. */
static void
expect_error(test_reply_t r, long status, const char *type, const char *code,
             const char *says)
{
    json_t *j = json_loads(r.body, 0, NULL), *e;

    if (r.status != status || j == NULL)
        fail_msg("expected %ld, got %ld: %s", status, r.status, r.body);
    e = json_object_get(j, "error");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "type")), type);
    if (code)
        assert_string_equal(json_string_value(json_object_get(e, "code")),
                            code);
    else
        assert_true(json_is_null(json_object_get(e, "code")));
    if (strstr(json_string_value(json_object_get(e, "message")), says) == NULL)
        fail_msg("message '%s' does not say '%s'",
                 json_string_value(json_object_get(e, "message")), says);
    json_decref(j);
    free(r.body);
}


/* A chat body for text (JSON-escaped here), streamed or not. */
static char *
chat_body(const char *model, const char *text, int stream)
{
    json_t *j =
        json_pack("{s:s, s:[{s:s, s:s}], s:b}", "model", model, "messages",
                  "role", "user", "content", text, "stream", stream);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}


/* A connected socket to port. */
static int
raw_connect(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}


static void
raw_send(int fd, const char *text)
{
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
}


/* Read from fd until needle has arrived (bounded by the socket timeout). */
static void
raw_read_until(int fd, const char *needle)
{
    char buf[65536];
    size_t len = 0;
    struct timeval tv = {30, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            fail_msg("connection ended before '%s' (got: %.*s)", needle,
                     (int)len, buf);
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, needle))
            return;
    }
    fail_msg("no '%s' in the first %zu bytes", needle, len);
}


/* Send a whole POST of body to path over fd. */
static void
raw_post(int fd, const char *path, const char *body)
{
    char head[512];
    snprintf(head, sizeof head,
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\n\r\n",
             path, strlen(body));
    raw_send(fd, head);
    raw_send(fd, body);
}

/* ---- the cluster --------------------------------------------------------- */

/* The next unused simulated problem. */
static const char *
problem(void)
{
    assert_true(NEXT_PROBLEM < N_PROBLEMS);
    return PROBLEMS[NEXT_PROBLEM++];
}


static void
make_problems(int n)
{
    sim_params_t p;
    char err[256];
    sim_world_t *w;

    assert_int_equal(sim_profile_resolve("math500", &p, err, sizeof err), 0);
    w = sim_world_new(&p, NULL, err, sizeof err);
    assert_non_null(w);
    PROBLEMS = calloc((size_t)n, sizeof *PROBLEMS);
    for (int i = 0; i < n; i++) {
        sim_problem_t sp = {0};
        assert_int_equal(sim_problem_make(w, 1212, (uint64_t)i, &sp), 0);
        PROBLEMS[i] = strdup(sp.text);
        sim_problem_clear(&sp);
    }
    N_PROBLEMS = n;
    sim_world_destroy(&w);
}


/* A metric's value in the gateway's /metrics (the first matching line). */
static double
metric(const gw_t *g, const char *series)
{
    test_reply_t r = http(g->metrics_port, "GET", "/metrics", NULL, NULL);
    const char *p = r.body;
    double v = -1;
    size_t n = strlen(series);

    assert_int_equal(r.status, 200);
    while ((p = strstr(p, series)) != NULL) {
        if ((p == r.body || p[-1] == '\n') && p[n] == ' ') {
            v = atof(p + n + 1);
            break;
        }
        p += n;
    }
    free(r.body);
    return v;
}


/* Wait (bounded) until the metric has value v. */
static void
wait_metric(const gw_t *g, const char *series, double v)
{
    for (int i = 0; i < 400; i++) {
        if (metric(g, series) == v)
            return;
        cluster_pause_ms(25);
    }
    fail_msg("%s never became %g (is %g)", series, v, metric(g, series));
}


static gw_t
start_gateway(const char *log, const char *const *extra)
{
    gw_t g = {0};
    char port[16], mport[16], listen[64], mlisten[64];
    const char *argv[40];
    int n = 0;

    g.port = test_free_port();
    g.metrics_port = test_free_port();
    snprintf(port, sizeof port, "%d", g.port);
    snprintf(mport, sizeof mport, "%d", g.metrics_port);
    snprintf(listen, sizeof listen, "127.0.0.1:%s", port);
    snprintf(mlisten, sizeof mlisten, "127.0.0.1:%s", mport);
    const char *base[] = {"gateway",
                          "--listen",
                          listen,
                          "--connect",
                          K.endpoint,
                          "--metrics-listen",
                          mlisten,
                          "--heartbeat-ms",
                          CLUSTER_HB,
                          "--route",
                          "trim=thr:0.5",
                          "--route",
                          "trim-cheap=pomdp:0.004"};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        argv[n++] = base[i];
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    char log_path[400];
    cluster_path(&K, log, log_path, sizeof log_path);
    char *full[42];
    full[0] = (char *)test_bin();
    for (int i = 0; i <= n; i++)
        full[i + 1] = (char *)argv[i];
    g.pid = test_spawn(log_path, full);
    /* Up when /readyz says the coordinator answers. */
    for (int i = 0; i < 400; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", g.metrics_port);
        CURL *c = curl_easy_init();
        test_reply_t r;
        curl_easy_setopt(c, CURLOPT_URL, url);
        test_reply_capture(c, &r);
        test_reply_finish(c, curl_easy_perform(c), &r);
        curl_easy_cleanup(c);
        free(r.body);
        if (r.rc == CURLE_OK && r.status == 200)
            return g;
        cluster_pause_ms(25);
    }
    fail_msg("the gateway did not get ready (see %s)", log_path);
    return g;
}


static int
setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_problems(64);
    cluster_init(&K);
    cluster_start_one_each(&K, NULL, "150", "16");
    cluster_path(&K, "keys", KEYS, sizeof KEYS);
    test_write_file(KEYS, "# id key\nalice sk-alice-0123456789\n"
                          "bob sk-bob-9876543210\n");
    OPEN = start_gateway("gateway-open.log", NULL);
    const char *guarded[] = {"--api-keys",
                             KEYS,
                             "--max-body-bytes",
                             "4096",
                             "--max-concurrent",
                             "2",
                             "--max-concurrent-per-key",
                             "1",
                             NULL};
    GUARDED = start_gateway("gateway-guarded.log", guarded);
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    if (OPEN.pid > 0)
        assert_int_equal(cluster_signal(&K, OPEN.pid, SIGTERM), 0);
    if (GUARDED.pid > 0)
        assert_int_equal(cluster_signal(&K, GUARDED.pid, SIGTERM), 0);
    cluster_stop(&K);
    for (int i = 0; i < N_PROBLEMS; i++)
        free(PROBLEMS[i]);
    free(PROBLEMS);
    curl_global_cleanup();
    return 0;
}


static sqlite3 *
db(void)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(K.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    return h;
}


/* The problem id of the row whose text is text (0 until it is there). */
static int64_t
problem_of(const char *text)
{
    sqlite3 *h = db();
    sqlite3_stmt *st;
    int64_t id = 0;

    sqlite3_prepare_v2(h, "SELECT problem_id FROM problems WHERE text = ?1", -1,
                       &st, NULL);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return id;
}


/* Wait (bounded) until problem pid's status is status. */
static void
wait_status(int64_t pid, const char *status)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM problems WHERE problem_id = %lld AND "
             "status = '%s'",
             (long long)pid, status);
    for (int i = 0; i < 600; i++) {
        sqlite3 *h = db();
        int64_t n = sql_int(h, "%s", sql);
        sqlite3_close(h);
        if (n == 1)
            return;
        cluster_pause_ms(50);
    }
    fail_msg("problem %lld never became %s", (long long)pid, status);
}


/* The accepted steps of pid joined by the delimiter, from the store. */
static char *
stored_answer(int64_t pid)
{
    sqlite3 *h = db();
    sqlite3_stmt *st;
    size_t len = 0;
    char *out = calloc(1, 1);

    sqlite3_prepare_v2(h,
                       "SELECT text FROM steps WHERE problem_id = ?1 AND "
                       "accepted = 1 ORDER BY step_index",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, pid);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t n = strlen(t) + (len ? 2 : 0);
        char *grown = realloc(out, len + n + 1);
        assert_non_null(grown);
        out = grown;
        snprintf(out + len, n + 1, "%s%s", len ? "\n\n" : "", t);
        len += n;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}


/* Usage and trim object of an answer against pid's row. */
static void
check_against_store(json_t *usage, json_t *trim, int64_t pid)
{
    sqlite3 *h = db();
    int64_t accepted = sql_int(h,
                               "SELECT weak_tokens + strong_tokens FROM "
                               "problems WHERE "
                               "problem_id = %lld",
                               (long long)pid);
    int64_t summed = sql_int(h,
                             "SELECT sum(completion_tokens) FROM steps "
                             "WHERE problem_id = %lld AND accepted = 1",
                             (long long)pid);
    int64_t strong = sql_int(h,
                             "SELECT strong_tokens FROM problems WHERE "
                             "problem_id = %lld",
                             (long long)pid);
    int64_t steps =
        sql_int(h, "SELECT steps FROM problems WHERE problem_id = %lld",
                (long long)pid);
    sqlite3_close(h);
    assert_int_equal(accepted, summed);
    assert_int_equal(jint(usage, "completion_tokens"), accepted);
    assert_int_equal(jint(usage, "total_tokens"),
                     jint(usage, "prompt_tokens") + accepted);
    assert_true(jint(usage, "prompt_tokens") > 0);
    assert_int_equal(jint(trim, "problem_id"), pid);
    assert_int_equal(jint(trim, "strong_tokens"), strong);
    assert_int_equal(jint(trim, "steps"), steps);
}

/* ---- the tests ----------------------------------------------------------- */

static void
test_chat_answer_matches_the_audit(void **state)
{
    const char *text = problem();
    char *body = chat_body("trim", text, 0);
    test_reply_t r;
    json_t *j;

    (void)state;
    r = http(OPEN.port, "POST", "/v1/chat/completions", body, NULL);
    free(body);
    if (r.status != 200)
        fail_msg("status %ld: %s", r.status, r.body);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    json_t *trim = json_object_get(j, "trim");
    int64_t pid = jint(trim, "problem_id");
    assert_int_equal(pid, problem_of(text));
    wait_status(pid, "finished");
    char *stored = stored_answer(pid);
    json_t *msg = json_object_get(
        json_array_get(json_object_get(j, "choices"), 0), "message");
    assert_string_equal(json_string_value(json_object_get(msg, "content")),
                        stored);
    check_against_store(json_object_get(j, "usage"), trim, pid);
    free(stored);
    json_decref(j);
    free(r.body);
}


static void
test_completions_and_models(void **state)
{
    const char *text = problem();
    json_t *req =
        json_pack("{s:s, s:s}", "model", "trim-cheap", "prompt", text);
    char *body = json_dumps(req, JSON_COMPACT);
    test_reply_t r;
    json_t *j;

    (void)state;
    json_decref(req);
    r = http(OPEN.port, "POST", "/v1/completions", body, NULL);
    free(body);
    if (r.status != 200)
        fail_msg("status %ld: %s", r.status, r.body);
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "object")),
                        "text_completion");
    json_t *trim = json_object_get(j, "trim");
    assert_string_equal(json_string_value(json_object_get(trim, "policy")),
                        "pomdp:0.004");
    wait_status(jint(trim, "problem_id"),
                "finished"); /* rows commit after the push */
    char *stored = stored_answer(jint(trim, "problem_id"));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "choices"), 0), "text")),
        stored);
    free(stored);
    json_decref(j);
    free(r.body);

    r = http(OPEN.port, "GET", "/v1/models", NULL, NULL);
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(data, 1), "id")),
        "trim-cheap");
    json_decref(j);
    free(r.body);
}


static void
test_bad_requests(void **state)
{
    char *body;

    (void)state;
    expect_error(
        http(OPEN.port, "POST", "/v1/chat/completions", "{\"model\":", NULL),
        400, "invalid_request_error", NULL, "not valid JSON");
    expect_error(http(OPEN.port, "POST", "/v1/chat/completions",
                      "{\"model\":\"trim\",\"messages\":[{\"role\":\"user\","
                      "\"content\":[{\"type\":\"image_url\"}]}]}",
                      NULL),
                 400, "invalid_request_error", NULL,
                 "messages[0].content[0].type");
    expect_error(http(OPEN.port, "POST", "/v1/chat/completions",
                      "{\"model\":\"trim\",\"messages\":[{\"role\":"
                      "\"system\",\"content\":\"x\"}]}",
                      NULL),
                 400, "invalid_request_error", NULL, "no message with role");
    body = chat_body("gpt-4o", problem(), 0);
    expect_error(http(OPEN.port, "POST", "/v1/chat/completions", body, NULL),
                 404, "invalid_request_error", "model_not_found", "gpt-4o");
    free(body);
    /* Not a problem the simulator made: refused up front, not failed. */
    body = chat_body("trim", "What is the capital of France?", 0);
    expect_error(http(OPEN.port, "POST", "/v1/chat/completions", body, NULL),
                 400, "invalid_request_error", NULL, "sim-problems");
    free(body);
    expect_error(http(OPEN.port, "POST", "/v1/embeddings", "{}", NULL), 404,
                 "invalid_request_error", "unknown_url", "/v1/embeddings");
    test_reply_t r = http(OPEN.port, "GET", "/v1/chat/completions", NULL, NULL);
    assert_int_equal(r.status, 405);
    free(r.body);
}


static void
test_keys_and_body_limit(void **state)
{
    char big[8192];

    (void)state;
    expect_error(http(GUARDED.port, "GET", "/v1/models", NULL, NULL), 401,
                 "invalid_request_error", "invalid_api_key", "API key");
    expect_error(http(GUARDED.port, "GET", "/v1/models", NULL, "sk-alice-0"),
                 401, "invalid_request_error", "invalid_api_key", "API key");
    test_reply_t r =
        http(GUARDED.port, "GET", "/v1/models", NULL, "sk-alice-0123456789");
    assert_int_equal(r.status, 200);
    free(r.body);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_error(http(GUARDED.port, "POST", "/v1/chat/completions", big,
                      "sk-bob-9876543210"),
                 413, "invalid_request_error", "request_too_large", "4096");
    /* A served request records the key's id, never the key. */
    const char *text = problem();
    char *body = chat_body("trim", text, 0);
    r = http(GUARDED.port, "POST", "/v1/chat/completions", body,
             "sk-alice-0123456789");
    free(body);
    if (r.status != 200)
        fail_msg("status %ld: %s", r.status, r.body);
    free(r.body);
    int64_t pid = problem_of(text);
    wait_status(pid, "finished");
    sqlite3 *h = db();
    assert_int_equal(sql_int(h,
                             "SELECT count(*) FROM problems WHERE problem_id "
                             "= %lld AND key_id = 'alice'",
                             (long long)pid),
                     1);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM problems WHERE key_id "
                                "LIKE '%%sk-%%' OR text LIKE '%%sk-alice%%'"),
                     0);
    sqlite3_close(h);
    /* Keys never reach the logs. */
    char log[400];
    cluster_path(&K, "gateway-guarded.log", log, sizeof log);
    assert_false(test_file_contains(log, "sk-alice"));
}


/* Headers of a POST whose body never comes: it holds a slot. */
static int
hold(const char *key)
{
    int fd = raw_connect(GUARDED.port);
    char head[300];
    snprintf(head, sizeof head,
             "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\nContent-Length: 100\r\n\r\n",
             key);
    raw_send(fd, head);
    return fd;
}


static void
test_concurrency_limits(void **state)
{
    test_reply_t r;

    (void)state;
    int a = hold("sk-alice-0123456789");
    wait_metric(&GUARDED, "trim_gateway_requests_in_flight", 1);
    /* alice's one slot is taken; bob still gets through (to a 400) */
    r = http(GUARDED.port, "POST", "/v1/chat/completions", "{}",
             "sk-alice-0123456789");
    assert_string_equal(r.retry_after, "1");
    expect_error(r, 429, "requests", "rate_limit_exceeded",
                 "--max-concurrent-per-key");
    /* a finished request frees its slot before its reply is sent: bob's
       back-to-back requests never meet his previous one */
    for (int i = 0; i < 20; i++)
        expect_error(http(GUARDED.port, "POST", "/v1/chat/completions", "{}",
                          "sk-bob-9876543210"),
                     400, "invalid_request_error", NULL, "messages");
    int b = hold("sk-bob-9876543210");
    wait_metric(&GUARDED, "trim_gateway_requests_in_flight", 2);
    r = http(GUARDED.port, "POST", "/v1/chat/completions", "{}",
             "sk-bob-9876543210");
    assert_string_equal(r.retry_after, "1");
    expect_error(r, 429, "requests", "rate_limit_exceeded", "--max-concurrent");
    close(a);
    close(b);
    wait_metric(&GUARDED, "trim_gateway_requests_in_flight", 0);
}


static void
test_disconnect_cancels(void **state)
{
    const char *whole = problem(), *streamed = problem();
    char *body;
    int fd;

    (void)state;
    /* Streamed: leave after the first step. */
    fd = raw_connect(OPEN.port);
    body = chat_body("trim", streamed, 1);
    raw_post(fd, "/v1/chat/completions", body);
    free(body);
    raw_read_until(fd, "\"delta\":{\"content\"");
    close(fd);
    wait_status(problem_of(streamed), "cancelled");

    /* Whole: leave once the problem runs. */
    fd = raw_connect(OPEN.port);
    body = chat_body("trim", whole, 0);
    raw_post(fd, "/v1/chat/completions", body);
    free(body);
    int64_t pid = 0;
    for (int i = 0; i < 400 && pid == 0; i++) {
        pid = problem_of(whole);
        if (pid == 0)
            cluster_pause_ms(25);
    }
    assert_true(pid > 0);
    close(fd);
    wait_status(pid, "cancelled");
    assert_true(metric(&OPEN, "trim_gateway_requests_total{route=\"trim\","
                              "code=\"499\"}") >=
                1); /* the whole one: a stream had sent its 200 */
}


/* A gateway stopped while a request is open cancels its problem. */
static void
test_stop_cancels(void **state)
{
    const char *text = problem();
    gw_t g = start_gateway("gateway-stopped.log", NULL);
    int fd = raw_connect(g.port);
    char *body = chat_body("trim", text, 1);

    (void)state;
    raw_post(fd, "/v1/chat/completions", body);
    free(body);
    raw_read_until(fd, "\"delta\":{\"content\"");
    assert_int_equal(cluster_signal(&K, g.pid, SIGTERM), 0);
    close(fd);
    wait_status(problem_of(text), "cancelled");
}


static void
test_openai_client(void **state)
{
    char prefix[512], cmd[8192], log[400], base[64];
    int st;

    (void)state;
    if (system("command -v node >/dev/null && command -v npm >/dev/null") !=
        0) {
        test_skip("node or npm is missing (Debian: apt-get install nodejs "
                  "npm)");
        return;
    }
    snprintf(prefix, sizeof prefix, "%s/openai-" OPENAI_VERSION,
             getenv("TRIM_NODE_PREFIX"));
    snprintf(cmd, sizeof cmd,
             "test -f %s/node_modules/openai/package.json || "
             "npm install --prefix %s openai@" OPENAI_VERSION
             " --no-audit --no-fund --no-save >/dev/null 2>&1",
             prefix, prefix);
    if (system(cmd) != 0)
        fail_msg("npm install openai@%s failed: %s", OPENAI_VERSION, cmd);
    cluster_path(&K, "openai.log", log, sizeof log);
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", OPEN.port);
    const char *text = problem();
    char quoted[4096];
    /* the problem as one shell word */
    size_t q = 0;
    quoted[q++] = '\'';
    for (const char *p = text; *p && q < sizeof quoted - 8; p++) {
        if (*p == '\'') {
            memcpy(quoted + q, "'\\''", 4);
            q += 4;
        } else {
            quoted[q++] = *p;
        }
    }
    quoted[q++] = '\'';
    quoted[q] = '\0';
    snprintf(cmd, sizeof cmd,
             "OPENAI_PREFIX=%s timeout 120 node %s/tests/gateway/"
             "openai_client.mjs %s %s %s 2>%s",
             prefix, TRIM_SOURCE_DIR, base, K.db, quoted, log);
    char *out = test_capture(cmd, &st);
    if (st != 0)
        fail_msg("openai_client.mjs failed (%d): %s (see %s)", st, out, log);
    char *second = strchr(out, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *whole = json_loads(out, 0, NULL),
           *stream = json_loads(second, 0, NULL);
    assert_non_null(whole);
    assert_non_null(stream);

    json_t *trim = json_object_get(whole, "trim");
    int64_t pid = jint(trim, "problem_id");
    wait_status(pid, "finished");
    char *stored = stored_answer(pid);
    assert_string_equal(json_string_value(json_object_get(whole, "content")),
                        stored);
    assert_string_equal(json_string_value(json_object_get(whole, "role")),
                        "assistant");
    check_against_store(json_object_get(whole, "usage"), trim, pid);
    free(stored);

    trim = json_object_get(stream, "trim");
    pid = jint(trim, "problem_id");
    assert_true(pid > 0);
    wait_status(pid, "finished");
    stored = stored_answer(pid);
    assert_string_equal(json_string_value(json_object_get(stream, "content")),
                        stored);
    assert_string_equal(json_string_value(json_object_get(stream, "role")),
                        "assistant");
    check_against_store(json_object_get(stream, "usage"), trim, pid);
    /* The first step came while the problem had not ended: its row was
    ** still "queued" or "running" (the store records the end only). */
    const char *then =
        json_string_value(json_object_get(stream, "status_at_first_step"));
    if (strcmp(then, "queued") != 0 && strcmp(then, "running") != 0)
        fail_msg("the first step came when the problem was %s", then);
    assert_true(jint(stream, "chunks") >= 3 + jint(trim, "steps") - 1);
    free(stored);
    json_decref(whole);
    json_decref(stream);
    free(out);
}


/* Bad flags and key files stop the start, saying where. */
static void
test_start_up_errors(void **state)
{
    char bad[400], cmd[1200];
    int st;

    (void)state;
    cluster_path(&K, "bad-keys", bad, sizeof bad);
    test_write_file(bad, "# keys\nalice sk-1\nbob\n");
    snprintf(cmd, sizeof cmd,
             "%s gateway --listen 127.0.0.1:0 --api-keys %s "
             "2>&1",
             test_bin(), bad);
    char *out = test_capture(cmd, &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, ":3: expected \"ID KEY\", found no key"));
    assert_null(strstr(out, "sk-1"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s gateway --listen 0.0.0.0:0 2>&1", test_bin());
    out = test_capture(cmd, &st);
    assert_int_equal(st, 2);
    assert_non_null(strstr(out, "--http-insecure"));
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s gateway --listen 127.0.0.1:0 --route trim 2>&1", test_bin());
    out = test_capture(cmd, &st);
    assert_int_equal(st, 2);
    assert_non_null(strstr(out, "NAME=POLICY"));
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_answer_matches_the_audit),
        cmocka_unit_test(test_completions_and_models),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_keys_and_body_limit),
        cmocka_unit_test(test_concurrency_limits),
        cmocka_unit_test(test_disconnect_cancels),
        cmocka_unit_test(test_stop_cancels),
        cmocka_unit_test(test_openai_client),
        cmocka_unit_test(test_start_up_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
