/*
** http.c: the gateway's HTTP server on libmicrohttpd (see
** gateway_internal.h).
**
** Thread per connection.  A request is checked as soon as its headers are
** in (path, method, key, declared size, concurrency), so a refusal costs
** no body; the body is then gathered, parsed, and the problem handed to
** the coordinator thread.  The connection's thread waits in poll() on the
** job's eventfd, the client's socket (POLLRDHUP: the client closed its
** end) and the gateway's stop eventfd, so a client that leaves is seen at
** once and its problem cancelled.
**
** A stream is a response from a content-reader callback.  libmicrohttpd
** forbids a reader returning 0 bytes under internal polling (it would
** spin), and suspending is not available with a thread per connection;
** but in this mode the reader runs on the connection's own thread, so it
** blocks in the same poll() until the next step is accepted, which holds
** up no other connection.
*/
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "errf.h"
#include "hash.h"
#include "http_body.h"
#include "listen.h"
#include "log.h"
#include "envelope.h"
#include "trim.pb-c.h"

#include "gateway_internal.h"

#define STACK_SIZE     (1u << 20) /* jansson parses nested JSON recursively */
#define IDLE_TIMEOUT_S 60
#define RETRY_AFTER_S  "1"

struct gw_http {
    gw_http_opts_t o;
    struct MHD_Daemon *mhd;
    int fd, port;             /* the listening socket */
    int stop_efd;             /* readable once the gateway stops */
    _Atomic uint64_t counter; /* requests seen: seeds of unseeded ones */
    _Atomic int64_t requests, streams;

    pthread_mutex_t mu; /* guards the counts below */
    int in_flight;
    int *per_key; /* by key index; the last slot: no key */
};

/* One request (MHD's con_cls). */
typedef struct conn {
    gw_http_t *h;
    char *body;
    size_t len, cap;
    int too_big;
    int answered; /* a response is queued: ignore the rest of the body */
    int slot;     /* holds an in-flight slot for key `key` */
    int key;      /* key index, -1: no keys configured */
    int64_t t0_us;
    size_t route; /* for the metrics: a route's index, or n_routes */
    int status;
} conn_t;

/* A stream's state (the content reader's closure). */
typedef struct stream {
    gw_http_t *h;
    gw_job_t *job;
    int fd; /* the client's socket */
    gw_request_t req;
    const gateway_route_t *route;
    char id[48];
    int64_t created;
    size_t steps_sent;
    enum { S_OPEN, S_STEPS, S_CLOSE, S_USAGE, S_DONE, S_END } phase;
    char *buf;
    size_t len, off;
} stream_t;


/* ---- replies ----------------------------------------------------------- */

/* Queue a JSON (or SSE) body; body's ownership moves to MHD. */
static void give_slot(gw_http_t *h, conn_t *st);


static enum MHD_Result
send_body(conn_t *st, struct MHD_Connection *c, int status, char *body,
          const char *content_type, const char *retry_after, const char *allow)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    st->status = status;
    st->answered = 1;
    /* A whole reply ends the request's work: free its slot now, not when
       the reply has been sent, so a client's next request never meets
       its own finished one (a per-key limit of 1 would answer 429) */
    give_slot(st->h, st);
    if (body == NULL) {
        st->status = 500;
        status = 500;
        body = strdup("{\"error\":{\"message\":\"out of memory\","
                      "\"type\":\"server_error\",\"param\":null,"
                      "\"code\":null}}");
        if (body == NULL)
            return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(strlen(body), body,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* An error in OpenAI's body; message is printf-style. */
static enum MHD_Result
send_error(conn_t *st, struct MHD_Connection *c, int status, const char *type,
           const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return send_body(
        st, c, status, gw_render_error(message, type, code), "application/json",
        status == 429 || status == 503 ? RETRY_AFTER_S : NULL, NULL);
}


/* ---- limits and keys --------------------------------------------------- */

/*
** The key of the request's Authorization header into st->key.  Returns 0,
** or -1 when keys are configured and it is missing or unknown.
*/
static int
authenticate(gw_http_t *h, struct MHD_Connection *c, conn_t *st)
{
    const char *auth;

    st->key = -1;
    if (h->o.keys == NULL)
        return 0;
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return -1;
    auth += 7;
    while (*auth == ' ')
        auth++;
    st->key = gw_keys_find(h->o.keys, auth, strlen(auth));
    return st->key < 0 ? -1 : 0;
}


/* The slot of requests without a key: after the keys'. */
static int
n_keys(const gw_http_t *h)
{
    return h->o.keys ? gw_keys_count(h->o.keys) : 0;
}


/* Take an in-flight slot; 0, or -1 (with which limit) when full. */
static int
take_slot(gw_http_t *h, conn_t *st, const char **which)
{
    int k = st->key >= 0 ? st->key : n_keys(h);
    int rc = 0;

    pthread_mutex_lock(&h->mu);
    if (h->in_flight >= h->o.max_concurrent) {
        *which = "the gateway's --max-concurrent";
        rc = -1;
    } else if (st->key >= 0 && h->per_key[k] >= h->o.max_concurrent_per_key) {
        *which = "this key's --max-concurrent-per-key";
        rc = -1;
    } else {
        h->in_flight++;
        h->per_key[k]++;
        st->slot = 1;
        gw_metrics_in_flight(h->o.metrics, 1);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}


static void
give_slot(gw_http_t *h, conn_t *st)
{
    int k = st->key >= 0 ? st->key : n_keys(h);

    if (!st->slot)
        return;
    pthread_mutex_lock(&h->mu);
    h->in_flight--;
    h->per_key[k]--;
    gw_metrics_in_flight(h->o.metrics, -1);
    pthread_mutex_unlock(&h->mu);
    st->slot = 0;
}


/* ---- waiting ----------------------------------------------------------- */

/* The client's socket of connection c, or -1. */
static int
client_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

    return ci ? ci->connect_fd : -1;
}


/*
** Wait until job j changes.  Returns 1 when it did, 0 when the client
** closed its end or the gateway is stopping.
*/
static int
wait_job(gw_http_t *h, gw_job_t *j, int fd)
{
    struct pollfd p[3] = {
        {j->efd, POLLIN, 0}, {fd, POLLRDHUP, 0}, {h->stop_efd, POLLIN, 0}};
    uint64_t count;

    for (;;) {
        int rc = poll(p, 3, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || p[2].revents ||
            (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
            return 0;
        if (p[0].revents) {
            if (read(j->efd, &count, sizeof count) < 0) {
                /* EAGAIN: another wake consumed it; look anyway */
            }
            return 1;
        }
    }
}


/* The job's state under its lock. */
static gw_job_state_t
job_state(gw_job_t *j)
{
    pthread_mutex_lock(&j->mu);
    gw_job_state_t s = j->state;
    pthread_mutex_unlock(&j->mu);
    return s;
}


/* ---- answers ----------------------------------------------------------- */

static void
answer_of(gw_answer_t *a, const gw_request_t *req, const gateway_route_t *route,
          gw_job_t *j, const char *id, int64_t created)
{
    memset(a, 0, sizeof *a);
    a->req = req;
    a->id = id;
    a->created = created;
    a->route = route;
    a->run_id = j->run_id;
    a->problem_id = j->problem_id;
    a->steps = j->steps;
    a->n_steps = j->n_steps;
    a->result = j->state == JOB_ENDED ? &j->result : NULL;
}


/* The error a problem that did not finish gets (j locked). */
static enum MHD_Result
send_job_error(conn_t *st, struct MHD_Connection *c, gw_job_t *j)
{
    if (j->state == JOB_REFUSED)
        return send_error(
            st, c, j->http_status,
            j->http_status == 400 ? "invalid_request_error" : "server_error",
            j->http_status == 503 ? "coordinator_unavailable" : NULL, "%s",
            j->error);
    switch (j->result.end) {
    case TRIM__PROBLEM_END__END_CANCELLED:
        return send_error(st, c, 502, "server_error", "problem_cancelled",
                          "problem %llu was cancelled: %s",
                          (unsigned long long)j->problem_id, j->result.error);
    case TRIM__PROBLEM_END__END_UNKNOWN:
        return send_error(st, c, 502, "server_error", "problem_lost",
                          "the coordinator has no record of problem %llu",
                          (unsigned long long)j->problem_id);
    default:
        return send_error(st, c, 502, "server_error", "problem_failed",
                          "problem %llu failed: %s",
                          (unsigned long long)j->problem_id, j->result.error);
    }
}


static void
make_id(char *out, size_t len, const gw_request_t *req, gw_job_t *j)
{
    snprintf(out, len, "%s-trim-%llu", req->chat ? "chatcmpl" : "cmpl",
             (unsigned long long)j->problem_id);
}


/* Wait for the problem's end and answer it whole. */
static enum MHD_Result
answer_whole(gw_http_t *h, conn_t *st, struct MHD_Connection *c,
             const gw_request_t *req, const gateway_route_t *route, gw_job_t *j)
{
    int fd = client_fd(c);
    enum MHD_Result ret;

    for (;;) {
        gw_job_state_t s = job_state(j);
        if (s == JOB_ENDED || s == JOB_REFUSED)
            break;
        if (!wait_job(h, j, fd)) {
            st->status = 499; /* the client went away (nginx's code) */
            upstream_release(h->o.upstream, j);
            return MHD_NO;
        }
    }
    pthread_mutex_lock(&j->mu);
    if (j->state == JOB_ENDED &&
        j->result.end == TRIM__PROBLEM_END__END_FINISHED) {
        gw_answer_t a;
        char id[48];
        make_id(id, sizeof id, req, j);
        answer_of(&a, req, route, j, id, (int64_t)time(NULL));
        ret = send_body(st, c, 200, gw_render_answer(&a), "application/json",
                        NULL, NULL);
    } else {
        ret = send_job_error(st, c, j);
    }
    pthread_mutex_unlock(&j->mu);
    upstream_release(h->o.upstream, j);
    return ret;
}


/* ---- streams ----------------------------------------------------------- */

/* "data: {error}\n\n": how a stream reports a problem that did not finish. */
static char *
error_event(gw_job_t *j)
{
    char message[700], *body, *ev = NULL;

    snprintf(message, sizeof message, "problem %llu %s: %s",
             (unsigned long long)j->problem_id,
             j->result.end == TRIM__PROBLEM_END__END_CANCELLED ? "was cancelled"
                                                               : "failed",
             j->result.error);
    body = gw_render_error(message, "server_error", "problem_failed");
    if (body != NULL && (ev = malloc(strlen(body) + 9)) != NULL)
        sprintf(ev, "data: %s\n\n", body);
    free(body);
    return ev;
}


/*
** Render the stream's next event into s->buf.  Returns 1 with one, 0 when
** it must wait for the job, -1 at the end, -2 when out of memory.
*/
static int
next_event(stream_t *s)
{
    gw_job_t *j = s->job;
    gw_answer_t a;
    int rc = 1, none = 0;

    pthread_mutex_lock(&j->mu);
    answer_of(&a, &s->req, s->route, j, s->id, s->created);
    if (s->phase == S_OPEN) {
        s->phase = S_STEPS;
        s->buf = gw_render_open(&a, &none);
        if (!none)
            goto out;
    }
    if (s->phase == S_STEPS) {
        if (s->steps_sent < j->n_steps) {
            s->buf = gw_render_step(&a, s->steps_sent++);
            goto out;
        }
        if (j->state != JOB_ENDED) {
            rc = 0;
            goto out;
        }
        if (j->result.end != TRIM__PROBLEM_END__END_FINISHED) {
            s->buf = error_event(j);
            s->phase = S_END;
            goto out;
        }
        s->phase = S_CLOSE;
    }
    switch (s->phase) {
    case S_CLOSE:
        s->buf = gw_render_close(&a);
        s->phase = s->req.include_usage ? S_USAGE : S_DONE;
        break;
    case S_USAGE:
        s->buf = gw_render_usage(&a);
        s->phase = S_DONE;
        break;
    case S_DONE:
        s->buf = strdup(GW_SSE_DONE);
        s->phase = S_END;
        break;
    default:
        rc = -1;
        break;
    }
out:
    pthread_mutex_unlock(&j->mu);
    if (rc == 1 && s->buf == NULL)
        return -2;
    s->len = rc == 1 ? strlen(s->buf) : 0;
    s->off = 0;
    return rc;
}


/* libmicrohttpd's content reader: the next bytes of the stream. */
static ssize_t
read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *s = cls;
    size_t n;

    (void)pos;
    while (s->off == s->len) {
        free(s->buf);
        s->buf = NULL;
        s->len = s->off = 0;
        int rc = next_event(s);
        if (rc == -1)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rc < -1)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0 && !wait_job(s->h, s->job, s->fd))
            return MHD_CONTENT_READER_END_WITH_ERROR; /* the client left */
    }
    n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}


/* The stream is over (or never started): give its job back. */
static void
free_stream(void *cls)
{
    stream_t *s = cls;

    upstream_release(s->h->o.upstream, s->job);
    s->h->streams--;
    gw_metrics_streams(s->h->o.metrics, -1);
    gw_request_clear(&s->req);
    free(s->buf);
    free(s);
}


/*
** Wait for the coordinator to take the problem, then answer with a stream
** (req's contents move into it).
*/
static enum MHD_Result
answer_stream(gw_http_t *h, conn_t *st, struct MHD_Connection *c,
              gw_request_t *req, const gateway_route_t *route, gw_job_t *j)
{
    int fd = client_fd(c);
    struct MHD_Response *resp;
    enum MHD_Result ret;
    stream_t *s;

    while (job_state(j) == JOB_WAITING)
        if (!wait_job(h, j, fd)) {
            st->status = 499;
            upstream_release(h->o.upstream, j);
            return MHD_NO;
        }
    pthread_mutex_lock(&j->mu);
    if (j->state == JOB_REFUSED ||
        (j->state == JOB_ENDED && j->n_steps == 0 &&
         j->result.end != TRIM__PROBLEM_END__END_FINISHED)) {
        ret = send_job_error(st, c, j);
        pthread_mutex_unlock(&j->mu);
        upstream_release(h->o.upstream, j);
        return ret;
    }
    pthread_mutex_unlock(&j->mu);
    if ((s = calloc(1, sizeof *s)) == NULL) {
        upstream_release(h->o.upstream, j);
        return MHD_NO;
    }
    s->h = h;
    s->job = j;
    s->fd = fd;
    s->req = *req;
    memset(req, 0, sizeof *req);
    s->route = route;
    s->created = (int64_t)time(NULL);
    make_id(s->id, sizeof s->id, &s->req, j);
    h->streams++;
    gw_metrics_streams(h->o.metrics, 1);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                             read_stream, s, free_stream);
    if (resp == NULL) {
        free_stream(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    st->status = 200;
    st->answered = 1;
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp); /* frees s when the stream is done */
    return ret;
}


/* ---- requests ---------------------------------------------------------- */

enum { EP_CHAT, EP_COMPLETIONS, EP_MODELS };

static const struct endpoint {
    const char *path, *method;
    int kind;
} endpoints[] = {
    {"/v1/chat/completions", "POST", EP_CHAT},
    {"/v1/completions", "POST", EP_COMPLETIONS},
    {"/v1/models", "GET", EP_MODELS},
};


static const struct endpoint *
endpoint_of(const char *url)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof *endpoints; i++)
        if (strcmp(url, endpoints[i].path) == 0)
            return &endpoints[i];
    return NULL;
}


static const gateway_route_t *
route_named(const gw_http_t *h, const char *name, size_t *index)
{
    for (size_t i = 0; i < h->o.n_routes; i++)
        if (strcmp(h->o.routes[i].name, name) == 0) {
            *index = i;
            return &h->o.routes[i];
        }
    return NULL;
}


/* The problem's seed: from the request's seed, or from the count. */
static uint64_t
problem_seed(gw_http_t *h, const gw_request_t *req)
{
    uint64_t base = hash_combine(h->o.seed, req->has_seed ? 1 : 2);

    return hash_combine(base,
                        req->has_seed ? (uint64_t)req->seed : h->counter++);
}


/* The body is in: parse it, submit the problem, answer. */
static enum MHD_Result
serve(gw_http_t *h, conn_t *st, struct MHD_Connection *c, int chat)
{
    gw_request_t req;
    const gateway_route_t *route;
    Trim__ProblemSpec spec = TRIM__PROBLEM_SPEC__INIT;
    char err[600];
    size_t index = 0;
    gw_job_t *j;
    enum MHD_Result ret;

    if (gw_request_parse(st->body ? st->body : "", st->len, chat, &req, err,
                         sizeof err) < 0)
        return send_error(st, c, 400, "invalid_request_error", NULL, "%s", err);
    if ((route = route_named(h, req.model, &index)) == NULL) {
        ret = send_error(st, c, 404, "invalid_request_error", "model_not_found",
                         "The model '%.200s' does not exist: GET /v1/models "
                         "lists this gateway's routes",
                         req.model);
        gw_request_clear(&req);
        return ret;
    }
    st->route = index;
    spec.text = req.problem;
    if (env_check_problem(&spec, err, sizeof err) < 0) {
        ret = send_error(st, c, 400, "invalid_request_error", NULL, "%s: %s",
                         chat ? "messages" : "prompt", err);
        gw_request_clear(&req);
        return ret;
    }
    if (!upstream_reachable(h->o.upstream)) {
        gw_request_clear(&req);
        return send_error(st, c, 503, "server_error", "coordinator_unavailable",
                          "the coordinator does not answer; retry later");
    }
    j = job_new(index, req.problem, problem_seed(h, &req),
                st->key >= 0 ? gw_keys_id(h->o.keys, st->key) : "");
    if (j == NULL) {
        gw_request_clear(&req);
        return send_error(st, c, 503, "server_error", NULL,
                          "the gateway is out of memory or file descriptors");
    }
    j->stream = req.stream;
    if (upstream_submit(h->o.upstream, j) < 0) {
        job_destroy(&j);
        gw_request_clear(&req);
        return send_error(st, c, 503, "server_error", NULL,
                          "the gateway is stopping");
    }
    ret = req.stream ? answer_stream(h, st, c, &req, route, j)
                     : answer_whole(h, st, c, &req, route, j);
    gw_request_clear(&req);
    return ret;
}


/*
** /console/...: the console's pages, and its API for a key of the gateway
** when keys are configured (the page sends the one it is given).
*/
static enum MHD_Result
answer_console(gw_http_t *h, conn_t *st, struct MHD_Connection *c,
               const char *path, const char *method)
{
    unsigned status = 0;
    enum MHD_Result ret;

    if (strncmp(path, "/api/", 5) == 0 && authenticate(h, c, st) < 0)
        return send_error(st, c, 401, "invalid_request_error",
                          "invalid_api_key",
                          "Incorrect or missing API key: send "
                          "'Authorization: Bearer KEY' with a key of this "
                          "gateway");
    ret = console_answer(h->o.console, c, method, path, &status);
    st->answered = 1;
    st->status = (int)status;
    return ret;
}


/* The headers are in: check path, method, key, size and limits. */
static enum MHD_Result
first_call(gw_http_t *h, conn_t *st, struct MHD_Connection *c, const char *url,
           const char *method)
{
    const struct endpoint *ep = endpoint_of(url);
    const char *cl, *which = NULL;

    if (h->o.console != NULL && strncmp(url, "/console/", 9) == 0)
        return answer_console(h, st, c, url + 8, method);
    if (ep == NULL)
        return send_error(st, c, 404, "invalid_request_error", "unknown_url",
                          "Invalid URL (%.8s %.200s)", method, url);
    if (strcmp(method, ep->method) != 0) {
        char *body = gw_render_error("method not allowed: use the other "
                                     "method of this path",
                                     "invalid_request_error", NULL);
        return send_body(st, c, 405, body, "application/json", NULL,
                         ep->method);
    }
    if (authenticate(h, c, st) < 0)
        return send_error(st, c, 401, "invalid_request_error",
                          "invalid_api_key",
                          "Incorrect or missing API key: send "
                          "'Authorization: Bearer KEY' with a key of this "
                          "gateway");
    if (ep->kind == EP_MODELS)
        return send_body(
            st, c, 200,
            gw_render_models(h->o.routes, h->o.n_routes, (int64_t)time(NULL)),
            "application/json", NULL, NULL);
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && strtoull(cl, NULL, 10) > h->o.max_body_bytes)
        return send_error(st, c, 413, "invalid_request_error",
                          "request_too_large",
                          "the request body (%.20s bytes) exceeds the limit "
                          "of %zu bytes",
                          cl, h->o.max_body_bytes);
    if (take_slot(h, st, &which) < 0)
        return send_error(st, c, 429, "requests", "rate_limit_exceeded",
                          "too many concurrent requests: %s is reached; "
                          "retry later",
                          which);
    return MHD_YES;
}


/* Append a piece of the body, or note that it is over the limit. */
static void
gather(gw_http_t *h, conn_t *st, const char *data, size_t n)
{
    if (!st->too_big && http_body_append(&st->body, &st->len, &st->cap, data, n,
                                         h->o.max_body_bytes) < 0)
        st->too_big = 1; /* over the limit, or we cannot hold it */
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **con_cls)
{
    gw_http_t *h = cls;
    conn_t *st = *con_cls;

    (void)version;
    if (st == NULL) {
        if ((st = calloc(1, sizeof *st)) == NULL)
            return MHD_NO;
        *con_cls = st;
        st->h = h;
        st->key = -1;
        st->route = h->o.n_routes;
        st->t0_us = clock_now_us();
        return first_call(h, st, c, url, method);
    }
    if (*upload_size > 0) {
        if (!st->answered)
            gather(h, st, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->answered)
        return MHD_YES;
    if (st->too_big)
        return send_error(st, c, 413, "invalid_request_error",
                          "request_too_large",
                          "the request body exceeds the limit of %zu bytes",
                          h->o.max_body_bytes);
    return serve(h, st, c, endpoint_of(url)->kind == EP_CHAT);
}


static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    gw_http_t *h = cls;
    conn_t *st = *con_cls;

    (void)c;
    (void)toe;
    if (st == NULL)
        return;
    give_slot(h, st);
    h->requests++;
    /* No answer sent: the client closed first (nginx's 499). */
    gw_metrics_request(h->o.metrics, st->route, st->status ? st->status : 499,
                       (double)(clock_now_us() - st->t0_us) / 1e6);
    free(st->body);
    free(st);
    *con_cls = NULL;
}


gw_http_t *
gw_http_new(const gw_http_opts_t *o, char *err, size_t errlen)
{
    gw_http_t *h = calloc(1, sizeof *h);
    char url[300];

    if (h == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    h->o = *o;
    pthread_mutex_init(&h->mu, NULL);
    h->fd = -1;
    h->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h->per_key = calloc((size_t)n_keys(h) + 1, sizeof *h->per_key);
    if (h->stop_efd < 0 || h->per_key == NULL) {
        errf(err, errlen, "out of memory or file descriptors");
        goto fail;
    }
    h->fd = listen_on(o->listen, "--listen", &h->port, url, sizeof url, err,
                      errlen);
    if (h->fd < 0)
        goto fail;
    h->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_POLL | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(2 * o->max_concurrent + 256),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)STACK_SIZE,
        MHD_OPTION_EXTERNAL_LOGGER, listen_mhd_log, "gateway", MHD_OPTION_END);
    if (h->mhd == NULL) {
        errf(err, errlen, "cannot start the HTTP server on %s", url);
        goto fail;
    }
    return h;
fail:
    gw_http_destroy(&h);
    return NULL;
}


int
gw_http_port(const gw_http_t *h)
{
    return h->port;
}


void
gw_http_counts(gw_http_t *h, int64_t *in_flight, int64_t *streams,
               int64_t *requests)
{
    pthread_mutex_lock(&h->mu);
    *in_flight = h->in_flight;
    pthread_mutex_unlock(&h->mu);
    *streams = h->streams;
    *requests = h->requests;
}


void
gw_http_destroy(gw_http_t **hp)
{
    if (hp && *hp) {
        gw_http_t *h = *hp;
        uint64_t one = 1;
        if (h->stop_efd >= 0 && write(h->stop_efd, &one, sizeof one) < 0) {
            /* cannot fail on a fresh eventfd */
        }
        if (h->mhd)
            MHD_stop_daemon(h->mhd); /* closes the listening socket too */
        else if (h->fd >= 0)
            close(h->fd);
        if (h->stop_efd >= 0)
            close(h->stop_efd);
        free(h->per_key);
        pthread_mutex_destroy(&h->mu);
        free(h);
        *hp = NULL;
    }
}
