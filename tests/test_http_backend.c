/*
** test_http_backend.c: the HTTP model backends against a scripted server.
**
** A small HTTP/1.1 server runs in threads of this process on 127.0.0.1
** (one thread per connection, keep-alive).  Each test scripts its replies
** (status, extra headers, body, hang up, truncate, a huge body, or held
** until the test releases it or enough requests have arrived) and
** reads back what the backend sent (request line, headers, body, arrival
** time).  The backends are driven through their interface exactly as the
** worker does: poll_items, zmq_poll until next_due_us, collect.  The last
** test runs a real worker against a hand-played coordinator to show that
** heartbeats flow while a call is in progress.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <zmq.h>

#include "backend_openai.h"
#include "backend_pooling.h"
#include "clock.h"
#include "envelope.h"
#include "log.h"
#include "pooling_fit.h"
#include "sock.h"
#include "testutil.h"
#include "worker.h"

#define MAX_SCRIPT 32
#define MAX_REC    256
#define MAX_CONN   256
#define KEY        "sk-test-secret-123"
#define KEY_VAR    "TRIM_TEST_HTTP_KEY"

/* What the ChatML prompt of the problem below with steps A and B must be,
** byte for byte (the TRIM release's format). */
static const char chatml_prompt[] =
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a "
    "helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nSolve the following math problem step by step, given "
    "in LaTeX format, clearly and concisely, and present the final answer as "
    "\\boxed{X}, where X is the fully simplified solution.\nQuestion: What is "
    "2+3?<|im_end|>\n"
    "<|im_start|>assistant\nSolution: Step A\n\nStep B\n\n";

static const char prm_input[] =
    "<|im_start|>system\nSolve the following math problem step by step, "
    "given in LaTeX format, clearly and concisely, and present the final "
    "answer as \\boxed{X}, where X is the fully simplified "
    "solution.<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+3?<|im_end|>\n"
    "<|im_start|>assistant\nStep A<extra_0>Step B<extra_0>Step "
    "C<extra_0><|im_end|>\n";

static const char *const steps3[] = {"Step A", "Step B", "Step C"};

#define COMPLETION_OK                                                          \
    "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{"         \
    "\"index\":0,\"text\":\"Step C\",\"finish_reason\":\"stop\","              \
    "\"stop_reason\":\"\\n\\n\"}],\"usage\":{\"prompt_tokens\":12,"            \
    "\"completion_tokens\":3,\"total_tokens\":15}}"

/* ---- the scripted server ------------------------------------------------ */

typedef struct reply {
    int status;          /* 0: 200 */
    const char *headers; /* extra header lines, each ending "\r\n" */
    const char *body;
    size_t huge;     /* > 0: a body of this many 'x' instead */
    int hold;        /* answer only once the test calls release() */
    size_t wait_for; /* answer only once this many requests have arrived */
    int hangup;      /* close the connection without answering */
    int truncate;    /* announce 100 bytes more than are sent, then close */
} reply_t;

typedef struct record {
    char *head; /* request line and headers */
    char *body;
    int64_t at_us;
} record_t;

typedef struct server {
    int fd, port;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t changed; /* a request arrived, a release, or stop */
    int released;
    reply_t script[MAX_SCRIPT];
    size_t n_script, next;
    reply_t fallback;
    record_t rec[MAX_REC];
    size_t n_rec;
    pthread_t conn[MAX_CONN];
    size_t n_conn;
    char url[64];
} server_t;

typedef struct conn_arg {
    server_t *s;
    int fd;
} conn_arg_t;


static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}


static reply_t
reply_copy(reply_t r)
{
    r.headers = dup_or_null(r.headers);
    r.body = dup_or_null(r.body);
    return r;
}


static void
reply_free(reply_t *r)
{
    free((char *)r->headers);
    free((char *)r->body);
    memset(r, 0, sizeof *r);
}


/* Queue a reply: the next request not yet answered gets it. */
static void
script(server_t *s, reply_t r)
{
    pthread_mutex_lock(&s->mu);
    assert_true(s->n_script < MAX_SCRIPT);
    s->script[s->n_script++] = reply_copy(r);
    pthread_mutex_unlock(&s->mu);
}


/* The reply once the script has run out. */
static void
set_fallback(server_t *s, reply_t r)
{
    pthread_mutex_lock(&s->mu);
    reply_free(&s->fallback);
    s->fallback = reply_copy(r);
    pthread_mutex_unlock(&s->mu);
}


static size_t
n_requests(server_t *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_rec;
    pthread_mutex_unlock(&s->mu);
    return n;
}


static size_t
n_connections(server_t *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_conn;
    pthread_mutex_unlock(&s->mu);
    return n;
}


static int
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}


/*
** Wait until r may be answered: held replies once the test has released
** them, and not before r->wait_for requests have arrived.  0, or -1 when
** the server is stopping.
*/
static int
gate(server_t *s, const reply_t *r)
{
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop) &&
           ((r->hold && !s->released) || s->n_rec < r->wait_for))
        pthread_cond_wait(&s->changed, &s->mu);
    int rc = atomic_load(&s->stop) ? -1 : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}


/* Let every held reply go. */
static void
release(server_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}


/* The value of header name (lowercase) in head, or -1. */
static long
content_length(const char *head)
{
    for (const char *p = head; *p; p++) {
        if (p != head && p[-1] != '\n')
            continue;
        const char *want = "content-length:";
        size_t i = 0;
        while (want[i] && p[i] && (p[i] | 0x20) == want[i])
            i++;
        if (want[i] == '\0')
            return strtol(p + i, NULL, 10);
    }
    return 0;
}


/* Answer one request with r; returns -1 when the connection must close. */
static int
respond(int fd, const reply_t *r)
{
    char head[1024];
    const char *body = r->body ? r->body : "";
    size_t len = r->huge ? r->huge : strlen(body);

    if (r->hangup)
        return -1;
    snprintf(head, sizeof head,
             "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n%s\r\n",
             r->status ? r->status : 200, len + (r->truncate ? 100 : 0),
             r->headers ? r->headers : "");
    if (send_all(fd, head, strlen(head)) < 0)
        return -1;
    if (r->huge) {
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (size_t sent = 0; sent < len; sent += sizeof chunk) {
            size_t k = len - sent < sizeof chunk ? len - sent : sizeof chunk;
            if (send_all(fd, chunk, k) < 0)
                return -1;
        }
        return 0;
    }
    if (send_all(fd, body, len) < 0)
        return -1;
    return r->truncate ? -1 : 0;
}


static void *
conn_main(void *arg)
{
    conn_arg_t *a = arg;
    server_t *s = a->s;
    int fd = a->fd;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);

    free(a);
    if (buf == NULL)
        goto done;
    while (!atomic_load(&s->stop)) {
        char *end = NULL;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        long need = end ? (long)(end + 4 - buf) + content_length(buf) : -1;
        if (end == NULL || (long)len < need) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0)
                continue;
            if (len + 4096 + 1 > cap) {
                char *nb = realloc(buf, cap * 2);
                if (nb == NULL)
                    break;
                buf = nb;
                cap *= 2;
            }
            ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
            if (k <= 0)
                break;
            len += (size_t)k;
            continue;
        }
        /* One whole request: record it, then answer. */
        reply_t r;
        size_t hlen = (size_t)(end - buf);
        pthread_mutex_lock(&s->mu);
        if (s->n_rec < MAX_REC) {
            record_t *rec = &s->rec[s->n_rec++];
            rec->head = strndup(buf, hlen);
            rec->body = strndup(end + 4, (size_t)need - hlen - 4);
            rec->at_us = clock_now_us();
        }
        pthread_cond_broadcast(&s->changed);
        r = s->next < s->n_script ? s->script[s->next++] : s->fallback;
        r = reply_copy(r);
        pthread_mutex_unlock(&s->mu);
        memmove(buf, buf + need, len - (size_t)need);
        len -= (size_t)need;
        int rc = gate(s, &r) < 0 ? -1 : respond(fd, &r);
        reply_free(&r);
        if (rc < 0)
            break;
    }
done:
    free(buf);
    close(fd);
    return NULL;
}


static void *
accept_main(void *arg)
{
    server_t *s = arg;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        conn_arg_t *a = malloc(sizeof *a);
        assert_non_null(a);
        a->s = s;
        a->fd = fd;
        pthread_mutex_lock(&s->mu);
        if (s->n_conn < MAX_CONN &&
            pthread_create(&s->conn[s->n_conn], NULL, conn_main, a) == 0) {
            s->n_conn++;
        } else {
            close(fd);
            free(a);
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}


static int
server_setup(void **state)
{
    server_t *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {0};
    socklen_t alen = sizeof addr;
    int one = 1;

    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(s->fd, 128), 0);
    getsockname(s->fd, (struct sockaddr *)&addr, &alen);
    s->port = ntohs(addr.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    s->fallback.body = strdup(COMPLETION_OK);
    assert_int_equal(pthread_create(&s->thread, NULL, accept_main, s), 0);
    *state = s;
    return 0;
}


static int
server_teardown(void **state)
{
    server_t *s = *state;

    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, 1);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n_conn; i++)
        pthread_join(s->conn[i], NULL);
    close(s->fd);
    for (size_t i = 0; i < s->n_script; i++)
        reply_free(&s->script[i]);
    reply_free(&s->fallback);
    for (size_t i = 0; i < s->n_rec; i++) {
        free(s->rec[i].head);
        free(s->rec[i].body);
    }
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return 0;
}


/* The body of request i as JSON (the caller decrefs). */
static json_t *
request_json(server_t *s, size_t i)
{
    json_error_t jerr;
    pthread_mutex_lock(&s->mu);
    assert_true(i < s->n_rec);
    json_t *j = json_loads(s->rec[i].body, 0, &jerr);
    pthread_mutex_unlock(&s->mu);
    if (j == NULL)
        fail_msg("request %zu is not JSON: %s", i, jerr.text);
    return j;
}


static int
request_head_has(server_t *s, size_t i, const char *needle)
{
    pthread_mutex_lock(&s->mu);
    assert_true(i < s->n_rec);
    int has = strstr(s->rec[i].head, needle) != NULL;
    pthread_mutex_unlock(&s->mu);
    return has;
}


static int64_t
request_at(server_t *s, size_t i)
{
    pthread_mutex_lock(&s->mu);
    assert_true(i < s->n_rec);
    int64_t at = s->rec[i].at_us;
    pthread_mutex_unlock(&s->mu);
    return at;
}

/* ---- driving a backend ----------------------------------------------------
 */

/* Options for the test server: fast retries, no cooldown. */
static void
test_opts(http_backend_opts_t *o, const server_t *s)
{
    http_opts_default(o);
    o->base_url = s->url;
    o->model = "m";
    o->retries = 2;
    o->backoff_ms = 10;
    o->backoff_max_ms = 40;
    o->request_timeout_ms = 10000;
    o->cooldown_after = 0;
}


static backend_request_t
gen_request(uint64_t problem, size_t n_steps)
{
    backend_request_t r = {0};
    r.job = BACKEND_GENERATE;
    r.key.problem_id = problem;
    r.key.step_index = (uint32_t)n_steps;
    r.key.role = TRIM__ROLE__ROLE_SMALL;
    r.problem = "What is 2+3?";
    r.steps = steps3;
    r.n_steps = n_steps;
    r.max_tokens = 100;
    r.seed = 0xFEDCBA9876543210ULL; /* above INT64_MAX on purpose */
    r.temperature = 0.7f;
    r.top_p = 0.8f;
    return r;
}


static backend_request_t
score_request(uint64_t problem)
{
    backend_request_t r = {0};
    r.job = BACKEND_SCORE;
    r.key.problem_id = problem;
    r.key.step_index = 2;
    r.key.role = TRIM__ROLE__ROLE_PRM;
    r.problem = "What is 2+3?";
    r.steps = steps3;
    r.n_steps = 3;
    return r;
}


/*
** Run the worker's loop on b until want results are in out or timeout_ms
** passes; returns how many came.  Each poll waits until the backend's next
** due time (at most 1 s), so a backend that fails to report a descriptor or
** a timer shows up as a slow or failed test.
*/
static size_t
drive(backend_t *b, backend_result_t *out, size_t want, int timeout_ms)
{
    int64_t end = clock_now_ms() + timeout_ms;
    size_t got = 0;

    while (got < want && clock_now_ms() < end) {
        zmq_pollitem_t items[8];
        int n = b->poll_items(b, items, 8);
        int64_t due = b->next_due_us(b);
        int64_t left = end - clock_now_ms();
        int t = left > 1000 ? 1000 : (int)left;
        if (due != INT64_MAX) {
            int64_t wait = (due - clock_now_us() + 999) / 1000;
            if (wait < t)
                t = wait < 0 ? 0 : (int)wait;
        }
        assert_true(zmq_poll(n ? items : NULL, n, t) >= 0);
        got += b->collect(b, out + got, want - got);
    }
    return got;
}


/* Submit req and wait for its one result. */
static void
call_once(backend_t *b, const backend_request_t *req, backend_result_t *r)
{
    assert_int_equal(b->submit(b, req), 0);
    assert_int_equal(drive(b, r, 1, 20000), 1);
    assert_int_equal(b->pending(b), 0);
}


static void
expect_error(const backend_result_t *r, const char *needle)
{
    if (r->error == NULL)
        fail_msg("expected an error with \"%s\", got none", needle);
    if (strstr(r->error, needle) == NULL)
        fail_msg("expected an error with \"%s\", got \"%s\"", needle, r->error);
    assert_int_equal(r->finish, TRIM__FINISH__FINISH_ERROR);
    assert_null(strstr(r->error, KEY));
}


static const char *
jstr(json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (v == NULL)
        fail_msg("no string \"%s\" in the request", key);
    return v;
}


static json_int_t
jint(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v))
        fail_msg("no integer \"%s\" in the request", key);
    return json_integer_value(v);
}

/* ---- request shapes ------------------------------------------------------ */

static void
test_openai_request(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], name[128];

    test_opts(&o, s);
    o.api_key_env = KEY_VAR;
    o.top_k = 20;
    o.max_tokens = 50;
    setenv(KEY_VAR, KEY, 1);
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    snprintf(name, sizeof name, "openai:%s", s->url);
    assert_string_equal(b->name, name);
    backend_request_t req = gen_request(7, 2);
    call_once(b, &req, &r);

    assert_true(request_head_has(s, 0, "POST /v1/completions HTTP/1.1\r\n"));
    assert_true(request_head_has(s, 0, "Authorization: Bearer " KEY "\r\n"));
    assert_true(request_head_has(s, 0, "Content-Type: application/json\r\n"));
    json_t *j = request_json(s, 0);
    assert_string_equal(jstr(j, "model"), "m");
    assert_string_equal(jstr(j, "prompt"), chatml_prompt);
    assert_int_equal(jint(j, "max_tokens"), 50); /* 100 capped at 50 */
    assert_true(json_real_value(json_object_get(j, "temperature")) == 0.7);
    assert_true(json_real_value(json_object_get(j, "top_p")) == 0.8);
    assert_int_equal(jint(j, "top_k"), 20);
    assert_true((uint64_t)jint(j, "seed") == req.seed);
    json_t *stop = json_object_get(j, "stop");
    assert_int_equal(json_array_size(stop), 1);
    assert_string_equal(json_string_value(json_array_get(stop, 0)), "\n\n");
    assert_int_equal(json_object_size(j), 8);
    json_decref(j);

    assert_null(r.error);
    assert_int_equal(r.job, BACKEND_GENERATE);
    assert_int_equal(r.key.problem_id, 7);
    assert_int_equal(r.key.step_index, 2);
    assert_string_equal(r.text, "Step C");
    assert_int_equal(r.finish, TRIM__FINISH__FINISH_STEP);
    assert_int_equal(r.prompt_tokens, 12);
    assert_int_equal(r.completion_tokens, 3);
    assert_true(r.latency_us > 0);
    backend_result_clear(&r);
    backend_destroy(&b);
    assert_null(b);
    unsetenv(KEY_VAR);
}


static void
test_chat_request(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], base[96];

    test_opts(&o, s);
    snprintf(base, sizeof base, "%s/v1/", s->url); /* as OpenAI SDKs take it */
    o.base_url = base;
    o.system_prompt = "Be brief.";
    script(s, (reply_t){.body = "{\"choices\":[{\"index\":0,\"message\":{"
                                "\"role\":\"assistant\",\"content\":"
                                "\"\\\\boxed{5}\"},\"finish_reason\":\"stop\","
                                "\"stop_reason\":null}],\"usage\":{"
                                "\"prompt_tokens\":40,\"completion_tokens\":"
                                "4,\"prompt_tokens_details\":{"
                                "\"cached_tokens\":32}}}"});
    backend_t *b = backend_openai_chat_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(8, 1);
    call_once(b, &req, &r);

    assert_true(
        request_head_has(s, 0, "POST /v1/chat/completions HTTP/1.1\r\n"));
    assert_false(request_head_has(s, 0, "Authorization:"));
    json_t *j = request_json(s, 0);
    json_t *m = json_object_get(j, "messages");
    assert_int_equal(json_array_size(m), 3);
    assert_string_equal(jstr(json_array_get(m, 0), "role"), "system");
    assert_string_equal(jstr(json_array_get(m, 0), "content"), "Be brief.");
    assert_string_equal(jstr(json_array_get(m, 1), "role"), "user");
    assert_string_equal(jstr(json_array_get(m, 1), "content"),
                        "Solve the following math problem step by step, "
                        "given in LaTeX format, clearly and concisely, and "
                        "present the final answer as \\boxed{X}, where X is "
                        "the fully simplified solution.\nQuestion: What is "
                        "2+3?");
    assert_string_equal(jstr(json_array_get(m, 2), "role"), "assistant");
    assert_string_equal(jstr(json_array_get(m, 2), "content"),
                        "Solution: Step A\n\n");
    assert_true(json_is_false(json_object_get(j, "add_generation_prompt")));
    assert_true(json_is_true(json_object_get(j, "continue_final_message")));
    assert_int_equal(jint(j, "max_tokens"), 100);
    assert_null(json_object_get(j, "top_k")); /* not set: not sent */
    assert_true((uint64_t)jint(j, "seed") == req.seed);
    json_decref(j);

    assert_null(r.error);
    assert_string_equal(r.text, "\\boxed{5}");
    assert_int_equal(r.finish, TRIM__FINISH__FINISH_END);
    assert_int_equal(r.prompt_tokens, 40);
    assert_int_equal(r.completion_tokens, 4);
    assert_int_equal(r.cached_tokens, 32); /* prompt_tokens_details */
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_pooling_request(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], base[96];

    /* The rendered text, with the optional fields. */
    test_opts(&o, s);
    snprintf(base, sizeof base, "%s/v1", s->url); /* /pooling is at root */
    o.base_url = base;
    o.model = "prm";
    o.pooling_task = "token_classify";
    o.truncate_tokens = 4096;
    /* The input is counted first (/tokenize, same root), then scored. */
    script(s, (reply_t){.body = "{\"count\":77,\"max_model_len\":4096,"
                                "\"tokens\":[]}"});
    script(s, (reply_t){.body = "{\"object\":\"list\",\"data\":[{\"index\":0,"
                                "\"object\":\"pooling\",\"data\":[[0.1,0.9],"
                                "[0.25,0.75],[0.5,0.5]]}],\"usage\":{"
                                "\"prompt_tokens\":77,\"total_tokens\":77}}"});
    backend_t *b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = score_request(9);
    call_once(b, &req, &r);
    assert_true(request_head_has(s, 0, "POST /tokenize HTTP/1.1\r\n"));
    json_t *j = request_json(s, 0);
    assert_string_equal(jstr(j, "model"), "prm");
    assert_string_equal(jstr(j, "prompt"), prm_input);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
    assert_true(request_head_has(s, 1, "POST /pooling HTTP/1.1\r\n"));
    j = request_json(s, 1);
    assert_string_equal(jstr(j, "model"), "prm");
    assert_string_equal(jstr(j, "input"), prm_input);
    assert_string_equal(jstr(j, "task"), "token_classify");
    assert_int_equal(jint(j, "truncate_prompt_tokens"), 4096);
    assert_int_equal(json_object_size(j), 4);
    json_decref(j);
    assert_null(r.error);
    assert_int_equal(r.job, BACKEND_SCORE);
    assert_int_equal(r.key.problem_id, 9);
    assert_int_equal(r.n_scores, 3);
    assert_true(r.scores[0] == 0.9f && r.scores[1] == 0.75f &&
                r.scores[2] == 0.5f);
    assert_int_equal(r.padded, 0);
    assert_int_equal(r.input_tokens, 77);
    backend_result_clear(&r);
    backend_destroy(&b);

    /* Chat messages; scores nested under outputs (older vLLM). */
    test_opts(&o, s);
    o.prm_input = HTTP_PRM_MESSAGES;
    script(s, (reply_t){.body = "{\"data\":[{\"outputs\":{\"data\":[[0.1,0.9]"
                                ",[0.2,0.8],[0.3,0.7]]}}]}"});
    b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    call_once(b, &req, &r);
    j = request_json(s, 2);
    json_t *m = json_object_get(j, "messages");
    assert_int_equal(json_array_size(m), 3);
    assert_string_equal(jstr(json_array_get(m, 0), "role"), "system");
    assert_non_null(strstr(jstr(json_array_get(m, 0), "content"),
                           "present the final answer as \\boxed{X}"));
    assert_string_equal(jstr(json_array_get(m, 1), "content"), "What is 2+3?");
    assert_string_equal(jstr(json_array_get(m, 2), "role"), "assistant");
    assert_string_equal(jstr(json_array_get(m, 2), "content"),
                        "Step A<extra_0>Step B<extra_0>Step C<extra_0>");
    assert_null(json_object_get(j, "task"));
    assert_null(json_object_get(j, "truncate_prompt_tokens"));
    assert_null(json_object_get(j, "input"));
    json_decref(j);
    assert_null(r.error);
    assert_int_equal(r.n_scores, 3);
    assert_true(r.scores[2] == 0.7f);
    assert_true(r.input_tokens > 0); /* no usage: estimated from the input */
    backend_result_clear(&r);

    /* A generation request to a scoring backend is answered, not sent. */
    backend_request_t wrong = gen_request(10, 1);
    call_once(b, &wrong, &r);
    expect_error(&r, "cannot generate");
    assert_int_equal(n_requests(s), 3);
    backend_result_clear(&r);
    backend_destroy(&b);
}

/* ---- reading responses -----------------------------------------------------
 */

static void
test_finish_reasons(void **state)
{
    server_t *s = *state;
    static const struct {
        const char *choice; /* the fields after "index":0, */
        Trim__Finish finish;
        const char *text;
    } cases[] = {
        {"\"text\":\"x = 5\",\"finish_reason\":\"stop\",\"stop_reason\":"
         "\"\\n\\n\"",
         TRIM__FINISH__FINISH_STEP, "x = 5"},
        {"\"text\":\"x = 5\",\"finish_reason\":\"stop\",\"stop_reason\":null",
         TRIM__FINISH__FINISH_END, "x = 5"},
        {"\"text\":\"x = 5\",\"finish_reason\":\"stop\",\"stop_reason\":"
         "151643",
         TRIM__FINISH__FINISH_END, "x = 5"},
        {"\"text\":\"x = 5 and\",\"finish_reason\":\"length\","
         "\"stop_reason\":null",
         TRIM__FINISH__FINISH_LENGTH, "x = 5 and"},
        /* servers without stop_reason */
        {"\"text\":\"x = 5\",\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_STEP, "x = 5"},
        /* (the coordinator, not the backend, ends on \boxed{}) */
        {"\"text\":\"so \\\\boxed{5}\",\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_STEP, "so \\boxed{5}"},
        {"\"text\":\"\",\"finish_reason\":\"stop\"", TRIM__FINISH__FINISH_END,
         ""},
        /* the stop string included in the text is removed */
        {"\"text\":\"x = 5\\n\\n\",\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_STEP, "x = 5"},
    };
    const size_t n = sizeof cases / sizeof *cases;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], body[512];

    test_opts(&o, s);
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        snprintf(body, sizeof body,
                 "{\"choices\":[{\"index\":0,%s}],\"usage\":{"
                 "\"prompt_tokens\":5,\"completion_tokens\":2}}",
                 cases[i].choice);
        script(s, (reply_t){.body = body});
        backend_request_t req = gen_request(i, 2);
        call_once(b, &req, &r);
        if (r.error)
            fail_msg("case %zu: %s", i, r.error);
        assert_int_equal(r.finish, cases[i].finish);
        assert_string_equal(r.text, cases[i].text);
        backend_result_clear(&r);
    }

    /* No usage: estimated as bytes/4, rounded up. */
    script(s, (reply_t){.body = "{\"choices\":[{\"text\":\"abcdefghi\","
                                "\"finish_reason\":\"stop\"}]}"});
    backend_request_t req = gen_request(50, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_int_equal(r.completion_tokens, 3);
    assert_int_equal(r.prompt_tokens, (int)(strlen(chatml_prompt) + 3) / 4);
    backend_result_clear(&r);

    /* A finish the step loop cannot read is an error, after retries. */
    set_fallback(s, (reply_t){.body = "{\"choices\":[{\"text\":\"x\","
                                      "\"finish_reason\":\"abort\"}]}"});
    call_once(b, &req, &r);
    expect_error(&r, "the server ended the call with finish_reason "
                     "\"abort\" (3 attempts)");
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_prm_rows(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];

    test_opts(&o, s);
    o.retries = 0; /* a refused answer would be retried: one attempt each */
    backend_t *b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = score_request(1);

    /* Missing rows: which step a row scores is unknown, so no score at
    ** all, never 1.0 in their place (vLLM cuts an input on the right, so
    ** the rows that came would be the first steps', not the last). */
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[[0.1,0.9],[0.2,0.8]]}],"
                                "\"usage\":{\"prompt_tokens\":4096}}"});
    call_once(b, &req, &r);
    expect_error(&r, "the PRM returned 2 scores for 3 steps (was its input "
                     "cut to truncate_prompt_tokens?)");
    assert_int_equal(r.n_scores, 0);
    assert_null(r.scores);
    backend_result_clear(&r);
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[]}]}"});
    call_once(b, &req, &r);
    expect_error(&r, "the PRM returned 0 scores for 3 steps");
    assert_int_equal(r.n_scores, 0);
    backend_result_clear(&r);

    /* More pairs than steps: an error, not a guess. */
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[[0.1,0.9],[0.2,0.8],"
                                "[0.3,0.7],[0.4,0.6]]}]}"});
    call_once(b, &req, &r);
    expect_error(&r, "the PRM returned 4 scores for 3 steps");
    assert_int_equal(r.n_scores, 0);
    backend_result_clear(&r);

    /* Not pairs, not probabilities, no data. */
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[0.9,0.8,0.7]}]}"});
    call_once(b, &req, &r);
    expect_error(&r, "data[0].data[0] is not a [p_negative, p_positive] pair");
    backend_result_clear(&r);
    script(s, (reply_t){
                  .body =
                      "{\"data\":[{\"data\":[[0.1,7],[0.5,0.5],[0.5,0.5]]}]}"});
    call_once(b, &req, &r);
    expect_error(&r, "data[0].data[0][1] = 7 is not a probability");
    backend_result_clear(&r);
    script(s, (reply_t){.body = "{\"object\":\"list\"}"});
    call_once(b, &req, &r);
    expect_error(&r, "no data[0] in the response");
    backend_result_clear(&r);
    assert_int_equal(n_requests(s), 6);
    backend_destroy(&b);
}

/*
** With truncate_prompt_tokens trim fits the input itself: /tokenize counts
** it, leading steps are dropped until it fits, the newest step always
** stays, and the rows map to the steps sent.
*/
static void
test_prm_fit(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];

    test_opts(&o, s);
    o.truncate_tokens = 100;
    backend_t *b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = score_request(3);

    /* All three steps are 150 tokens; the newest alone 90 fits; the last
    ** two 120 do not: one step is sent, two were not seen. */
    script(s, (reply_t){.body = "{\"count\":150}"});
    script(s, (reply_t){.body = "{\"count\":90}"});
    script(s, (reply_t){.body = "{\"count\":120}"});
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[[0.3,0.7]]}]}"});
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_int_equal(r.n_scores, 3);
    assert_true(r.scores[0] == 1.0f && r.scores[1] == 1.0f &&
                r.scores[2] == 0.7f);
    assert_int_equal(r.padded, 2);
    backend_result_clear(&r);
    assert_int_equal(n_requests(s), 4);
    const char *tags[] = {"Step A<extra_0>Step B<extra_0>Step C<extra_0>",
                          "assistant\nStep C<extra_0><|im_end|>",
                          "assistant\nStep B<extra_0>Step C<extra_0>"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(request_head_has(s, i, "POST /tokenize HTTP/1.1\r\n"));
        json_t *j = request_json(s, i);
        assert_non_null(strstr(jstr(j, "prompt"), tags[i]));
        json_decref(j);
    }
    assert_true(request_head_has(s, 3, "POST /pooling HTTP/1.1\r\n"));
    json_t *j = request_json(s, 3);
    assert_non_null(
        strstr(jstr(j, "input"), "assistant\nStep C<extra_0><|im_end|>"));
    assert_int_equal(jint(j, "truncate_prompt_tokens"), 100);
    json_decref(j);

    /* Not even the newest step fits: an error that says so, no scores. */
    script(s, (reply_t){.body = "{\"count\":150}"});
    script(s, (reply_t){.body = "{\"count\":120}"});
    call_once(b, &req, &r);
    expect_error(&r, "the problem and the newest step alone are 120 tokens, "
                     "more than truncate_prompt_tokens = 100");
    assert_int_equal(r.n_scores, 0);
    backend_result_clear(&r);
    assert_int_equal(n_requests(s), 6);

    /* An answer without a count is retried with backoff, as a 5xx. */
    script(s, (reply_t){.body = "{\"tokens\":[1,2]}"});
    script(s, (reply_t){.body = "{\"count\":50}"});
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[[0.1,0.9],[0.2,0.8],"
                                "[0.3,0.7]]}]}"});
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_int_equal(r.n_scores, 3);
    assert_int_equal(r.padded, 0);
    backend_result_clear(&r);
    assert_int_equal(n_requests(s), 9);

    /* A server without /tokenize: the error names it and the flag. */
    script(s, (reply_t){.status = 404, .body = "{\"detail\":\"Not Found\"}"});
    call_once(b, &req, &r);
    expect_error(&r, "/tokenize");
    expect_error(&r, "--truncate-tokens 0 turns that off");
    backend_result_clear(&r);
    backend_destroy(&b);

    /* Chat messages are counted without a generation prompt (vLLM's
    ** TokenizeChatRequest adds one by default; /pooling adds none). */
    o.prm_input = HTTP_PRM_MESSAGES;
    b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    script(s, (reply_t){.body = "{\"count\":50}"});
    script(s, (reply_t){.body = "{\"data\":[{\"data\":[[0.1,0.9],[0.2,0.8],"
                                "[0.3,0.7]]}]}"});
    call_once(b, &req, &r);
    assert_null(r.error);
    backend_result_clear(&r);
    json_t *t = request_json(s, n_requests(s) - 2);
    assert_true(json_is_array(json_object_get(t, "messages")));
    assert_true(json_is_false(json_object_get(t, "add_generation_prompt")));
    json_decref(t);
    backend_destroy(&b);
}


/* Tokens of a toy input without its first d steps: step i costs (i % 5 + 1)
** tokens per byte, so the bytes estimate is off, in both directions. */
static int
toy_tokens(const char *const *steps, size_t n, size_t d, size_t *bytes)
{
    int tokens = 20;

    *bytes = 40;
    for (size_t i = d; i < n; i++) {
        size_t len = strlen(steps[i]) + strlen(TPL_STEP_TAG);
        tokens += (int)(len * (i % 5 + 1));
        *bytes += len;
    }
    return tokens;
}


/*
** The search for the leading steps to drop ends within
** pooling_fit_max_probes counts for every history length and limit, with
** the largest window that fits, or FIT_NONE exactly when the newest step
** alone does not.
*/
static void
test_fit_search(void **state)
{
    (void)state;
    static const char *const text[] = {
        "a", "bbbbbbbbbbbb", "cc", "ddddddd", "eeeeeeeeeeeeeeeeeeeeeeeee", "f"};
    const char *steps[TRIM_MAX_STEPS];
    size_t bytes;

    for (size_t i = 0; i < TRIM_MAX_STEPS; i++)
        steps[i] = text[(i * 7) % 6];
    assert_int_equal(pooling_fit_max_probes(TRIM_MAX_STEPS), 11);
    for (size_t n = 1; n <= TRIM_MAX_STEPS; n = n < 40 ? n + 1 : n * 2) {
        int all = toy_tokens(steps, n, 0, &bytes);
        for (int limit = 20; limit <= all + 1; limit += n < 40 ? 3 : 97) {
            fit_search_t s;
            int rc, probes = 0;
            fit_search_init(&s, n);
            do {
                int tokens = toy_tokens(steps, n, s.probe, &bytes);
                rc = fit_search_count(&s, tokens, bytes, limit, steps);
                probes++;
            } while (rc == FIT_NEXT && probes <= 64);
            assert_true(probes <= pooling_fit_max_probes(n));
            size_t best = 0; /* the fewest steps to drop */
            while (best < n && toy_tokens(steps, n, best, &bytes) > limit)
                best++;
            if (best >= n) {
                assert_int_equal(rc, FIT_NONE);
            } else {
                assert_int_equal(rc, FIT_DONE);
                assert_int_equal(s.hi, best);
            }
        }
    }
}

/* ---- failures and retries ------------------------------------------------ */

static void
test_retry_500_then_success(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];

    test_opts(&o, s);
    script(s, (reply_t){.status = 500,
                        .body = "{\"error\":{\"message\":\"boom\"}}"});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_string_equal(r.text, "Step C");
    assert_int_equal(n_requests(s), 2);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_retries_exhausted(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], want[256];

    test_opts(&o, s);
    o.retries = 3;
    set_fallback(s, (reply_t){.status = 503,
                              .body = "{\"object\":\"error\",\"message\":"
                                      "\"overloaded\\nplease wait\"}"});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    snprintf(want, sizeof want,
             "POST %s/v1/completions: HTTP 503 after 4 attempts: overloaded "
             "please wait",
             s->url);
    assert_non_null(r.error);
    assert_string_equal(r.error, want);
    assert_int_equal(r.finish, TRIM__FINISH__FINISH_ERROR);
    assert_null(r.text);
    assert_int_equal(n_requests(s), 4);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_429_retry_after(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];

    test_opts(&o, s);
    script(s, (reply_t){.status = 429,
                        .headers = "Retry-After: 1\r\n",
                        .body = "{\"error\":{\"message\":\"slow down\"}}"});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_int_equal(n_requests(s), 2);
    /* The backoff alone is 10-40 ms: the retry waited for the server. */
    assert_true(request_at(s, 1) - request_at(s, 0) >= 900000);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_timeout(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], want[256];

    test_opts(&o, s);
    o.retries = 1;
    o.request_timeout_ms = 200;
    /* The server never answers: only the timeout ends the calls. */
    set_fallback(s, (reply_t){.hold = 1, .body = COMPLETION_OK});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    snprintf(want, sizeof want,
             "POST %s/v1/completions: request timed out after 200 ms waiting "
             "for the response (request timeout, new connection) (2 attempts)",
             s->url);
    assert_non_null(r.error);
    assert_string_equal(r.error, want);
    assert_int_equal(n_requests(s), 2);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_connection_refused(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], url[64], want[256];
    struct sockaddr_in addr = {0};
    socklen_t alen = sizeof addr;

    /* A port that was free a moment ago, with nobody listening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(addr.sin_port));

    test_opts(&o, s);
    o.base_url = url;
    o.retries = 1;
    backend_t *b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = score_request(1);
    call_once(b, &req, &r);
    snprintf(want, sizeof want,
             "POST %s/pooling: connection refused (2 attempts)", url);
    assert_non_null(r.error);
    assert_string_equal(r.error, want);
    assert_int_equal(r.job, BACKEND_SCORE);
    assert_int_equal(r.n_scores, 0);
    backend_result_clear(&r);
    backend_destroy(&b);
}


/* The arrival gap between requests i and i + 1 is at least ms. */
static void
expect_gap(server_t *s, size_t i, int64_t ms)
{
    int64_t gap = request_at(s, i + 1) - request_at(s, i);
    if (gap < ms * 1000)
        fail_msg("requests %zu and %zu came %lld us apart, under %lld ms", i,
                 i + 1, (long long)gap, (long long)ms);
}


static void
test_bad_bodies(void **state)
{
    server_t *s = *state;
    /* HTTP 200 with an answer that cannot be used. */
    static const struct {
        reply_t reply;
        const char *error;
    } bad[] = {
        {{.body = "{\"choices\": [{\"text\": \"x\""},
         "response is not JSON (line 1 col "},
        {{.body = COMPLETION_OK, .truncate = 1}, "response truncated ("},
        {{.body = "{\"choices\": []}"}, "no choices[0].text in the response"},
        {{.body = "{\"choices\": [{\"text\": 5}]}"},
         "no choices[0].text in the response"},
        {{.body = "[1, 2]"}, "response is not a JSON object"},
        {{.body = ""}, "response is not JSON (line 1 col "},
        {{.huge = 20u << 20}, "response larger than 4194304 bytes"},
    };
    /* The server's word on the request itself. */
    static const struct {
        reply_t reply;
        const char *error;
    } refused[] = {
        {{.status = 400,
          .body = "{\"error\":{\"message\":\"max_tokens must "
                  "be at least 1\",\"code\":400}}"},
         "HTTP 400: max_tokens must be at least 1"},
        {{.status = 404, .body = "<html>not found</html>"},
         "HTTP 404: <html>not found</html>"},
        /* a 4xx too large to read is a 4xx all the same */
        {{.status = 400, .huge = 20u << 20},
         "response larger than 4194304 bytes"},
    };
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];
    size_t sent = 0;

    test_opts(&o, s);
    o.backoff_ms = o.backoff_max_ms = 60; /* each wait 30..60 ms */
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* Two bad answers, then a good one: the backend retries after a
        ** backoff, as after a 5xx, and the call succeeds; the coordinator
        ** never sees the bad answers. */
        script(s, bad[i].reply);
        script(s, bad[i].reply);
        backend_request_t req = gen_request(i, 2);
        call_once(b, &req, &r);
        if (r.error != NULL)
            fail_msg("case %zu: %s", i, r.error);
        assert_string_equal(r.text, "Step C");
        backend_result_clear(&r);
        assert_int_equal(n_requests(s), sent + 3);
        expect_gap(s, sent, 30);
        expect_gap(s, sent + 1, 30);
        sent += 3;

        /* Bad every time: the last reason, after every attempt. */
        set_fallback(s, bad[i].reply);
        call_once(b, &req, &r);
        expect_error(&r, bad[i].error);
        expect_error(&r, "(3 attempts)");
        assert_null(r.text);
        backend_result_clear(&r);
        assert_int_equal(n_requests(s), sent + 3);
        sent += 3;
        set_fallback(s, (reply_t){.body = COMPLETION_OK});
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        /* Not retried by the backend: the coordinator decides. */
        script(s, refused[i].reply);
        backend_request_t req = gen_request(i, 2);
        call_once(b, &req, &r);
        expect_error(&r, refused[i].error);
        assert_int_equal(n_requests(s), ++sent);
        backend_result_clear(&r);
    }
    /* The backend still works after all that. */
    backend_request_t req = gen_request(99, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_string_equal(r.text, "Step C");
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_hangup_retried(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];

    test_opts(&o, s);
    script(s, (reply_t){.hangup = 1});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_int_equal(n_requests(s), 2);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_api_key(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], path[64], want[256];

    /* From a file: the first line. */
    snprintf(path, sizeof path, "/tmp/trim-test-key-%d", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(KEY "\nsecond line\n", f);
    fclose(f);
    test_opts(&o, s);
    o.api_key_file = path;
    script(s, (reply_t){.status = 401,
                        .body = "{\"error\":{\"message\":\"Incorrect API key "
                                "provided: " KEY "\"}}"});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_true(request_head_has(s, 0, "Authorization: Bearer " KEY "\r\n"));
    /* The server echoed the key: the error names the failure, not the key */
    snprintf(want, sizeof want,
             "POST %s/v1/completions: HTTP 401: Incorrect API key provided: "
             "***",
             s->url);
    assert_string_equal(r.error, want);
    assert_int_equal(n_requests(s), 1); /* a 4xx is not retried */
    backend_result_clear(&r);
    backend_destroy(&b);
    unlink(path);

    /* Missing sources fail at creation, naming the source only. */
    test_opts(&o, s);
    o.api_key_file = path;
    assert_null(backend_openai_new(&o, 4, err, sizeof err));
    assert_non_null(strstr(err, path));
    test_opts(&o, s);
    o.api_key_env = KEY_VAR;
    unsetenv(KEY_VAR);
    assert_null(backend_openai_new(&o, 4, err, sizeof err));
    assert_string_equal(err, "API key variable " KEY_VAR " is not set");
    test_opts(&o, s);
    o.base_url = "ftp://127.0.0.1";
    assert_null(backend_openai_new(&o, 4, err, sizeof err));
    assert_non_null(strstr(err, "http:// or https://"));
}

/* ---- concurrency and cooldown ------------------------------------------- */

static void
test_many_in_flight(void **state)
{
    server_t *s = *state;
    enum { N = 16 };
    http_backend_opts_t o;
    backend_result_t r[N];
    char err[256];

    test_opts(&o, s);
    backend_t *b = backend_openai_new(&o, N, err, sizeof err);
    assert_non_null(b);
    for (int round = 0; round < 2; round++) {
        /* No answer until all N calls of the round have arrived: a backend
        ** that made them one after another would never get its first. */
        set_fallback(s, (reply_t){.wait_for = (size_t)(round + 1) * N,
                                  .body = COMPLETION_OK});
        for (int i = 0; i < N; i++) {
            backend_request_t req = gen_request((uint64_t)i, 2);
            assert_int_equal(b->submit(b, &req), 0);
        }
        assert_int_equal(b->pending(b), N);
        assert_int_equal(drive(b, r, N, 10000), N);
        uint32_t seen = 0;
        for (int i = 0; i < N; i++) {
            assert_null(r[i].error);
            seen |= 1u << r[i].key.problem_id;
            backend_result_clear(&r[i]);
        }
        assert_int_equal(seen, (1u << N) - 1);
    }
    /* The second round reused the first round's connections. */
    assert_int_equal(n_requests(s), 2 * N);
    assert_true(n_connections(s) <= N);
    backend_destroy(&b);
}


static void
test_cooldown(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r[2];
    char err[256];

    test_opts(&o, s);
    o.retries = 0;
    o.cooldown_after = 2;
    o.cooldown_ms = 600;
    script(s, (reply_t){.status = 503, .body = "busy"});
    script(s, (reply_t){.status = 503, .body = "busy"});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    for (int i = 0; i < 2; i++) {
        backend_request_t req = gen_request((uint64_t)i, 2);
        assert_int_equal(b->submit(b, &req), 0);
    }
    assert_int_equal(drive(b, r, 2, 5000), 2);
    for (int i = 0; i < 2; i++) {
        expect_error(&r[i], "HTTP 503: busy");
        backend_result_clear(&r[i]);
    }
    /* Two failures in a row: the server gets a rest; new calls wait. */
    for (int i = 0; i < 2; i++) {
        backend_request_t req = gen_request((uint64_t)i + 2, 2);
        assert_int_equal(b->submit(b, &req), 0);
    }
    assert_int_equal(b->pending(b), 2);
    assert_int_equal(drive(b, r, 2, 5000), 2);
    for (int i = 0; i < 2; i++) {
        assert_null(r[i].error); /* they waited; they did not fail */
        backend_result_clear(&r[i]);
    }
    assert_int_equal(n_requests(s), 4);
    /* Sent no sooner than the rest allows (a lower bound: a slow machine
    ** only makes the gap longer). */
    assert_true(request_at(s, 2) - request_at(s, 1) >= 600000);
    assert_true(request_at(s, 3) - request_at(s, 1) >= 600000);
    backend_destroy(&b);
}

/* ---- each server's way of saying why it stopped (docs/servers.md) ------ */

/* A completions response with choice c (its fields) in the given server's
** outer shape. */
static void
shape(char *out, size_t outlen, const char *outer, const char *c)
{
    snprintf(out, outlen,
             "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",%s"
             "\"choices\":[{\"index\":0,%s}],\"usage\":{\"prompt_tokens\":5,"
             "\"completion_tokens\":2,\"total_tokens\":7}}",
             outer, c);
}


static void
test_server_stop_fields(void **state)
{
    server_t *s = *state;
    static const char vllm[] = "\"model\":\"m\",";
    static const char sglang[] = "\"model\":\"m\",\"metadata\":{"
                                 "\"weight_version\":\"default\"},";
    static const char tgi[] = "\"model\":\"m\",\"system_fingerprint\":"
                              "\"3.0.0-native\",";
    static const char llama[] = "\"model\":\"m\",\"system_fingerprint\":"
                                "\"b5000-abc\",";
    static const char llama_eos[] = "\"model\":\"m\",\"__verbose\":{"
                                    "\"stop_type\":\"eos\",\"stopping_word\":"
                                    "\"\"},";
    static const char llama_word[] = "\"model\":\"m\",\"__verbose\":{"
                                     "\"stop_type\":\"word\",\"stopping_word\":"
                                     "\"\\n\\n\"},";
    static const char ollama[] = "\"model\":\"m\",\"system_fingerprint\":"
                                 "\"fp_ollama\",";
    static const struct {
        const char *server, *outer, *choice;
        Trim__Finish finish;
    } ok[] = {
        {"vLLM step", vllm,
         "\"text\":\"x = 5\",\"finish_reason\":\"stop\",\"stop_reason\":"
         "\"\\n\\n\"",
         TRIM__FINISH__FINISH_STEP},
        {"vLLM EOS", vllm,
         "\"text\":\"x = 5\",\"finish_reason\":\"stop\",\"stop_reason\":null",
         TRIM__FINISH__FINISH_END},
        {"vLLM repetition", vllm,
         "\"text\":\"x = 5\",\"finish_reason\":\"repetition\","
         "\"stop_reason\":null",
         TRIM__FINISH__FINISH_LENGTH},
        {"SGLang step", sglang,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":\"stop\","
         "\"matched_stop\":\"\\n\\n\"",
         TRIM__FINISH__FINISH_STEP},
        {"SGLang EOS", sglang,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":\"stop\","
         "\"matched_stop\":151645",
         TRIM__FINISH__FINISH_END},
        {"SGLang length", sglang,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":\"length\","
         "\"matched_stop\":null",
         TRIM__FINISH__FINISH_LENGTH},
        {"TGI stop sequence", tgi,
         "\"text\":\"x = 5\\n\\n\",\"logprobs\":null,\"finish_reason\":"
         "\"stop_sequence\"",
         TRIM__FINISH__FINISH_STEP},
        {"TGI EOS", tgi,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":"
         "\"eos_token\"",
         TRIM__FINISH__FINISH_END},
        {"llama.cpp --verbose EOS", llama_eos,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_END},
        {"llama.cpp --verbose step", llama_word,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_STEP},
        /* The server does not say which stop: a step, unless empty. */
        {"llama.cpp", llama,
         "\"text\":\"x = 5\",\"logprobs\":null,\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_STEP},
        {"Ollama", ollama, "\"text\":\"x = 5\",\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_STEP},
        {"Ollama empty", ollama, "\"text\":\"\",\"finish_reason\":\"stop\"",
         TRIM__FINISH__FINISH_END},
    };
    /* Unusable: retried by the backend, then an error. */
    static const struct {
        const char *server, *outer, *choice, *error;
    } bad[] = {
        {"SGLang abort", sglang,
         "\"text\":\"x\",\"finish_reason\":\"abort\",\"matched_stop\":null",
         "finish_reason \"abort\""},
        {"vLLM error", vllm,
         "\"text\":\"x\",\"finish_reason\":\"error\",\"stop_reason\":null",
         "finish_reason \"error\""},
        {"SGLang NaN", sglang,
         "\"text\":\"x\",\"finish_reason\":\"stop\",\"matched_stop\":"
         "\"NaN happened\"",
         "stopped at \"NaN happened\", not at the step delimiter"},
        {"Ollama, no reason", ollama, "\"text\":\"x\",\"finish_reason\":null",
         "no choices[0].finish_reason"},
    };
    http_backend_opts_t o;
    backend_result_t r;
    char err[256], body[1024];

    test_opts(&o, s);
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        shape(body, sizeof body, ok[i].outer, ok[i].choice);
        script(s, (reply_t){.body = body});
        backend_request_t req = gen_request(i, 2);
        call_once(b, &req, &r);
        if (r.error != NULL)
            fail_msg("%s: %s", ok[i].server, r.error);
        if (r.finish != ok[i].finish)
            fail_msg("%s: finish %d, want %d", ok[i].server, (int)r.finish,
                     (int)ok[i].finish);
        /* every text is "x = 5" (delimiter removed) but the empty one */
        assert_string_equal(
            r.text, strstr(ok[i].choice, "\"text\":\"\",") ? "" : "x = 5");
        backend_result_clear(&r);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t before = n_requests(s);
        shape(body, sizeof body, bad[i].outer, bad[i].choice);
        set_fallback(s, (reply_t){.body = body});
        backend_request_t req = gen_request(i, 2);
        call_once(b, &req, &r);
        if (r.error == NULL)
            fail_msg("%s: accepted an unusable answer", bad[i].server);
        expect_error(&r, bad[i].error);
        assert_int_equal(n_requests(s), before + 3);
        backend_result_clear(&r);
    }
    backend_destroy(&b);

    /* The chat format reads the same fields (SGLang's chat choice). */
    set_fallback(s, (reply_t){.body = COMPLETION_OK});
    script(s, (reply_t){.body = "{\"choices\":[{\"index\":0,\"message\":{"
                                "\"role\":\"assistant\",\"content\":\"x = 5\"},"
                                "\"finish_reason\":\"stop\",\"matched_stop\":"
                                "151645}]}"});
    b = backend_openai_chat_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_int_equal(r.finish, TRIM__FINISH__FINISH_END);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_abort_retried(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    char err[256];

    /* SGLang answers 200 with finish_reason "abort" when it drops a request
    ** (/abort_request, a scheduler reset): another attempt, after a backoff,
    ** not a failed call for the coordinator. */
    test_opts(&o, s);
    o.backoff_ms = o.backoff_max_ms = 60;
    script(s, (reply_t){.body = "{\"choices\":[{\"index\":0,\"text\":\"\","
                                "\"finish_reason\":\"abort\",\"matched_stop\":"
                                "null}]}"});
    backend_t *b = backend_openai_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    assert_string_equal(r.text, "Step C");
    assert_int_equal(r.finish, TRIM__FINISH__FINISH_STEP);
    assert_int_equal(n_requests(s), 2);
    expect_gap(s, 0, 30);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_timeout_names_the_limit(void **state)
{
    server_t *s = *state;
    http_backend_opts_t o;
    backend_result_t r;
    test_redirect_t log;
    char err[256], want[512];

    test_opts(&o, s);
    o.retries = 0;
    o.request_timeout_ms = 200; /* the connect timeout stays 5000 */
    o.cooldown_after = 1;
    o.cooldown_ms = 10;
    backend_t *b = backend_openai_new(&o, 1, err, sizeof err);
    assert_non_null(b);
    /* One call opens the connection; the next goes out on it, and the
    ** server sits on it until the request timeout. */
    backend_request_t req = gen_request(1, 2);
    call_once(b, &req, &r);
    assert_null(r.error);
    backend_result_clear(&r);
    script(s, (reply_t){.hold = 1, .body = COMPLETION_OK});
    tlog_set_level(TLOG_WARN);
    test_redirect_begin(&log, 2);
    call_once(b, &req, &r);
    char *text = test_redirect_end(&log);
    tlog_set_level(TLOG_ERROR);
    release(s);
    assert_int_equal(n_connections(s), 1);
    snprintf(want, sizeof want,
             "POST %s/v1/completions: request timed out after 200 ms waiting "
             "for the response (request timeout, reused connection)",
             s->url);
    assert_non_null(r.error);
    assert_string_equal(r.error, want);
    /* The cooldown's WARN names it the same way. */
    if (strstr(text, "(last: request timed out after 200 ms waiting for the "
                     "response (request timeout, reused connection))") == NULL)
        fail_msg("no cooldown WARN naming the request timeout in: %s", text);
    assert_null(strstr(text, "connect timed out"));
    free(text);
    backend_result_clear(&r);
    backend_destroy(&b);
}


static void
test_cooldown_warns_once(void **state)
{
    server_t *s = *state;
    enum { N = 8 };
    http_backend_opts_t o;
    backend_result_t r[N];
    test_redirect_t log;
    char err[256];

    /* N calls in flight all fail together: one cooldown, one WARN (the
    ** failures that land during the cooldown start no other). */
    test_opts(&o, s);
    o.retries = 0;
    o.cooldown_after = 2;
    o.cooldown_ms = 300;
    set_fallback(s, (reply_t){.status = 503, .body = "busy", .wait_for = N});
    backend_t *b = backend_openai_new(&o, N, err, sizeof err);
    assert_non_null(b);
    tlog_set_level(TLOG_WARN);
    test_redirect_begin(&log, 2);
    for (int i = 0; i < N; i++) {
        backend_request_t req = gen_request((uint64_t)i, 2);
        assert_int_equal(b->submit(b, &req), 0);
    }
    size_t got = drive(b, r, N, 10000);
    char *text = test_redirect_end(&log);
    tlog_set_level(TLOG_ERROR);
    assert_int_equal(got, N);
    for (int i = 0; i < N; i++) {
        expect_error(&r[i], "HTTP 503: busy");
        backend_result_clear(&r[i]);
    }
    const char *warn = strstr(text, "failed calls in a row");
    if (warn == NULL || strstr(warn + 1, "failed calls in a row") != NULL)
        fail_msg("not one cooldown WARN for one cooldown:\n%s", text);
    free(text);
    backend_destroy(&b);
}


/* ---- heartbeats during a long call ------------------------------------- */

typedef struct worker_thread {
    worker_t *w;
    atomic_int stop;
} worker_thread_t;


static void *
worker_main(void *arg)
{
    worker_thread_t *t = arg;
    worker_run(t->w, &t->stop);
    return NULL;
}


/* Next envelope on the coordinator's socket within ms, or NULL. */
static Trim__Envelope *
coord_recv(void *sock, unsigned char *id, size_t *idlen, int ms)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    zmq_msg_t payload;
    char err[256];
    int extra = 0;

    if (zmq_poll(&item, 1, ms) <= 0)
        return NULL;
    if (sock_recv(sock, 1, id, idlen, &payload, &extra) != 1)
        return NULL;
    Trim__Envelope *env = env_unpack(zmq_msg_data(&payload),
                                     zmq_msg_size(&payload), err, sizeof err);
    zmq_msg_close(&payload);
    assert_non_null(env);
    return env;
}


static void
test_heartbeats_during_long_call(void **state)
{
    server_t *s = *state;
    enum { HEARTBEAT_MS = 100, BEATS = 3 };
    const char *endpoint = "inproc://http-backend-test";
    http_backend_opts_t o;
    unsigned char id[256];
    size_t idlen = 0;
    char err[256];
    worker_thread_t t = {0};
    pthread_t thread;
    Trim__Envelope *env;

    void *zctx = zmq_ctx_new();
    void *coord = sock_new(zctx, ZMQ_ROUTER, err, sizeof err);
    assert_non_null(coord);
    assert_int_equal(zmq_bind(coord, endpoint), 0);

    test_opts(&o, s);
    /* The call lasts until the test has seen the worker beat BEATS times. */
    set_fallback(s, (reply_t){.hold = 1,
                              .body = "{\"data\":[{\"data\":[[0.5,0.5],"
                                      "[0.4,0.6],[0.3,0.7]]}]}"});
    backend_t *b = backend_pooling_new(&o, 4, err, sizeof err);
    assert_non_null(b);
    worker_opts_t wo = {0};
    wo.endpoint = endpoint;
    wo.role = TRIM__ROLE__ROLE_PRM;
    wo.credit = 4;
    wo.name = "prm-test";
    wo.heartbeat_ms = HEARTBEAT_MS;
    wo.liveness = 3;
    t.w = worker_new(zctx, &wo, b, err, sizeof err);
    assert_non_null(t.w);
    assert_int_equal(pthread_create(&thread, NULL, worker_main, &t), 0);

    /* The worker announces itself with its backend. */
    env = coord_recv(coord, id, &idlen, 5000);
    assert_non_null(env);
    assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_READY);
    assert_non_null(strstr(env->ready->backend, "vllm-pooling:"));
    env_destroy(&env);

    /* One scoring request, held by the server. */
    Trim__Key key = TRIM__KEY__INIT;
    Trim__ScoreSteps item = TRIM__SCORE_STEPS__INIT;
    Trim__ScoreSteps *items[1] = {&item};
    Trim__ScoreBatch batch = TRIM__SCORE_BATCH__INIT;
    Trim__Envelope out = TRIM__ENVELOPE__INIT;
    key.problem_id = 42;
    key.step_index = 2;
    key.role = TRIM__ROLE__ROLE_PRM;
    item.key = &key;
    item.problem = "What is 2+3?";
    item.steps = (char **)steps3;
    item.n_steps = 3;
    batch.items = items;
    batch.n_items = 1;
    out.body_case = TRIM__ENVELOPE__BODY_SCORE;
    out.score = &batch;
    assert_int_equal(sock_send_env(coord, id, idlen, &out), 0);
    int64_t sent = clock_now_ms(), last_beat = sent;

    int heartbeats = 0, readys = 0, released = 0;
    Trim__Envelope *scores = NULL;
    while (scores == NULL && clock_now_ms() - sent < 10000) {
        /* Play a live coordinator: beat every half interval. */
        if (clock_now_ms() - last_beat >= HEARTBEAT_MS / 2) {
            Trim__Heartbeat hb = TRIM__HEARTBEAT__INIT;
            Trim__Envelope h = TRIM__ENVELOPE__INIT;
            h.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
            h.heartbeat = &hb;
            sock_send_env(coord, id, idlen, &h);
            last_beat = clock_now_ms();
        }
        env = coord_recv(coord, id, &idlen, HEARTBEAT_MS / 4);
        if (env == NULL)
            continue;
        if (env->body_case == TRIM__ENVELOPE__BODY_HEARTBEAT) {
            /* Beats while the call is at the server; enough, and it ends. */
            heartbeats += n_requests(s) > 0;
            if (heartbeats >= BEATS && !released++)
                release(s);
        } else if (env->body_case == TRIM__ENVELOPE__BODY_READY)
            readys++;
        else if (env->body_case == TRIM__ENVELOPE__BODY_STEP_SCORES) {
            scores = env;
            continue;
        }
        env_destroy(&env);
    }
    if (scores == NULL)
        fail_msg("%d heartbeats in 10 s while the call was held (interval "
                 "%d ms)",
                 heartbeats, HEARTBEAT_MS);
    assert_int_equal(n_requests(s), 1);
    assert_int_equal(readys, 0); /* never took the coordinator for dead */

    /* The result on the wire. */
    Trim__StepScores *sc = scores->step_scores->items[0];
    assert_int_equal(sc->key->problem_id, 42);
    assert_string_equal(sc->error, "");
    assert_int_equal(sc->n_scores, 3);
    assert_true(sc->scores[0] == 0.5f && sc->scores[1] == 0.6f &&
                sc->scores[2] == 0.7f);
    assert_int_equal(sc->padded, 0);
    assert_true(sc->latency_us > 0);
    env_destroy(&scores);

    atomic_store(&t.stop, 1);
    pthread_join(thread, NULL);
    worker_destroy(&t.w);
    sock_destroy(&coord);
    zmq_ctx_term(zctx);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, server_setup, server_teardown)
        /* clang-format off */
        T(test_server_stop_fields),      T(test_abort_retried),
        T(test_timeout_names_the_limit), T(test_cooldown_warns_once),
        T(test_openai_request),    T(test_chat_request),
        T(test_pooling_request),   T(test_finish_reasons),
        T(test_prm_rows),          T(test_prm_fit), T(test_fit_search),
        T(test_retry_500_then_success),
        T(test_retries_exhausted), T(test_429_retry_after),
        T(test_timeout),           T(test_connection_refused),
        T(test_bad_bodies),        T(test_hangup_retried),
        T(test_api_key),           T(test_many_in_flight),
        T(test_cooldown),          T(test_heartbeats_during_long_call),
    /* clang-format on */
#undef T
    };
    /* A proxy from the environment must not sit between us and 127.0.0.1. */
    const char *proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                             "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
        unsetenv(proxies[i]);
    tlog_set_level(TLOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
