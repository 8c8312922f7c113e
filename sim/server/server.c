/*
** server.c: the simulator's HTTP server on libmicrohttpd (see
** sim_server.h).
**
** Thread per connection: a handler may sleep out the latency model without
** holding up other connections, while the request slots bound how many
** requests compute at once.  A request body is gathered whole (up to the
** limit; a larger declared Content-Length is refused with 413 before the
** body is read), recorded, then routed.
*/
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "errf.h"
#include "http_body.h"
#include "listen.h"
#include "log.h"
#include "server_internal.h"
#include "sim_server_testing.h"

#define DEFAULT_MAX_BODY (8u << 20)
#define CONNECTION_LIMIT 1024
#define IDLE_TIMEOUT_S   60

/* The body gathered for one request. */
typedef struct conn {
    char *body;
    size_t len, cap;
    int too_big;
} conn_t;

typedef void (*post_handler_t)(sim_server_t *s, const json_t *req, reply_t *r);

/* The served model names by sim_server_model_t, unless --served-name. */
static const char *const default_names[] = {"sim-weak", "sim-strong",
                                            "sim-prm"};

static const struct route {
    const char *path;
    const char *method;    /* "GET" also answers HEAD */
    post_handler_t handle; /* NULL: a GET endpoint */
} routes[] = {
    {"/health", "GET", NULL},
    {"/v1/models", "GET", NULL},
    {"/v1/completions", "POST", handle_completions},
    {"/v1/chat/completions", "POST", handle_chat},
    {"/pooling", "POST", handle_pooling},
    {"/tokenize", "POST", handle_tokenize},
};

/* Queue r on the connection; the body's ownership moves to MHD. */
static enum MHD_Result
send_reply(struct MHD_Connection *c, reply_t *r, const char *allow, int close)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char value[32];

    if (r->body != NULL)
        resp = MHD_create_response_from_buffer(r->len, r->body,
                                               MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        reply_clear(r);
        return MHD_NO;
    }
    r->body = NULL; /* MHD frees it with the response */
    if (r->len > 0)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json");
    if (r->retry_after_s > 0) {
        snprintf(value, sizeof value, "%d", r->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, value);
    }
    if (allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* Parse the body and run the endpoint; r gets its answer. */
static void
run_post(sim_server_t *s, const struct route *rt, const conn_t *st, reply_t *r)
{
    json_error_t jerr;
    json_t *req = json_loadb(st->body ? st->body : "", st->len, 0, &jerr);

    if (req == NULL)
        reply_error(r, 400, "the body is not valid JSON: %s (line %d)",
                    jerr.text, jerr.line);
    else if (!json_is_object(req))
        reply_error(r, 400, "the body must be a JSON object");
    else
        rt->handle(s, req, r);
    json_decref(req);
}


/*
** An inference request: draw its faults, take a slot, compute, sleep out
** the latency.  Returns 0 with r filled, or -1 to drop the connection.
*/
static int
serve_inference(sim_server_t *s, const struct route *rt, const conn_t *st,
                reply_t *r)
{
    uint64_t n = atomic_fetch_add(&s->n_inference, 1);
    fault_t f = fault_pick(&s->faults, n);

    if (f.drop) {
        tlog(TLOG_DEBUG, "sim-server", "request %llu: dropping (fault)",
             (unsigned long long)n);
        return -1;
    }
    if (slots_take(&s->slots) < 0) {
        reply_error(r, 503, "the server is shutting down");
        return 0;
    }
    if (f.slow)
        sleep_us((int64_t)s->faults.slow_ms * 1000, &s->stopping);
    if (f.fail_500) {
        reply_error(r, 500, "simulated internal server error (injected)");
    } else if (f.fail_429) {
        reply_error(r, 429,
                    "simulated rate limit: too many requests "
                    "(injected)");
        r->retry_after_s = s->faults.retry_after_s;
    } else {
        run_post(s, rt, st, r);
        sleep_us(r->delay_us, &s->stopping);
        if (r->status == 200)
            fault_mangle(r, &f);
    }
    slots_give(&s->slots);
    return 0;
}


/* Route a complete request. */
static enum MHD_Result
dispatch(sim_server_t *s, struct MHD_Connection *c, const char *url,
         const char *method, const conn_t *st)
{
    reply_t r = {0};
    const struct route *rt = NULL;
    int64_t t0 = clock_now_us();
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(url, routes[i].path) == 0)
            rt = &routes[i];
    if (rt == NULL) {
        reply_error(&r, 404, "Not Found: %s", url);
        return send_reply(c, &r, NULL, 0);
    }
    if (strcmp(m, rt->method) != 0) {
        reply_error(&r, 405, "Method Not Allowed: %s %s (use %s)", method, url,
                    rt->method);
        return send_reply(c, &r, rt->method, 0);
    }
    if (rt->handle == NULL) {
        if (strcmp(rt->path, "/v1/models") == 0)
            handle_models(s, &r);
        else
            r.status = 200; /* /health: empty body */
    } else if (serve_inference(s, rt, st, &r) < 0) {
        return MHD_NO; /* MHD closes the connection without a response */
    }
    tlog(TLOG_DEBUG, "sim-server", "%s %s %d (%.1f ms)", method, url, r.status,
         (double)(clock_now_us() - t0) / 1000.0);
    return send_reply(c, &r, NULL, 0);
}


/* Append a piece of the body, or note that it is over the limit. */
static void
gather(sim_server_t *s, conn_t *st, const char *data, size_t n)
{
    if (!st->too_big && http_body_append(&st->body, &st->len, &st->cap, data, n,
                                         s->max_body) < 0)
        st->too_big = 1; /* over the limit, or we cannot hold it */
}


/* 413; size is the declared Content-Length, or NULL for a chunked body. */
static enum MHD_Result
too_large(sim_server_t *s, struct MHD_Connection *c, const char *size)
{
    reply_t r = {0};
    reply_error(&r, 413,
                "the request body (%s%s) exceeds the limit of %zu bytes",
                size ? size : "chunked", size ? " bytes" : "", s->max_body);
    return send_reply(c, &r, NULL, 1);
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **con_cls)
{
    sim_server_t *s = cls;
    conn_t *st = *con_cls;

    (void)version;
    if (st == NULL) { /* the headers are in, the body is not */
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if ((st = calloc(1, sizeof *st)) == NULL)
            return MHD_NO;
        *con_cls = st;
        if (cl != NULL && strtoull(cl, NULL, 10) > s->max_body) {
            recorder_write(s->rec, method, url, NULL, 0);
            st->too_big = 2; /* answered already */
            return too_large(s, c, cl);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        gather(s, st, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->too_big == 2)
        return MHD_YES;
    recorder_write(s->rec, method, url,
                   st->too_big ? NULL
                   : st->body  ? st->body
                               : "",
                   st->len);
    if (st->too_big)
        return too_large(s, c, NULL);
    return dispatch(s, c, url, method, st);
}


static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    conn_t *st = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (st != NULL) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}


/* Check the options; 0, or -1 with err. */
static int
check_opts(const sim_server_opts_t *o, char *err, size_t errlen)
{
    const double p[] = {o->faults.drop,     o->faults.fail_500,
                        o->faults.fail_429, o->faults.malformed,
                        o->faults.truncate, o->faults.slow};

    if ((int)o->model < 0 || o->model > SIM_SERVER_PRM)
        return errf(err, errlen, "unknown model %d", (int)o->model);
    if (o->threads < 1)
        return errf(err, errlen, "threads must be >= 1, got %d", o->threads);
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        if (!(p[i] >= 0 && p[i] <= 1))
            return errf(err, errlen, "fault rates must be in [0,1], got %g",
                        p[i]);
    if (o->faults.slow_ms < 0 || o->faults.retry_after_s < 0)
        return errf(err, errlen, "slow_ms and retry_after_s must be >= 0");
    return 0;
}


int
sim_server_answer(const sim_world_t *w, sim_server_model_t model,
                  const char *path, const char *body, size_t len, char **reply,
                  size_t *reply_len)
{
    sim_server_t s = {.world = w, .model = model};
    conn_t st = {.body = (char *)body, .len = len};
    reply_t r = {0};
    const struct route *rt = NULL;

    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(path, routes[i].path) == 0 && routes[i].handle != NULL)
            rt = &routes[i];
    if ((int)model < 0 || model > SIM_SERVER_PRM)
        reply_error(&r, 400, "unknown model %d", (int)model);
    else if (rt == NULL)
        reply_error(&r, 404, "Not Found: %s", path);
    else {
        s.served_name = default_names[model];
        run_post(&s, rt, &st, &r);
    }
    *reply = r.body;
    *reply_len = r.len;
    return r.status;
}


sim_server_t *
sim_server_new(const sim_world_t *w, const sim_server_opts_t *o, char *err,
               size_t errlen)
{
    sim_server_t *s = NULL;

    if (check_opts(o, err, errlen) < 0)
        return NULL;
    if ((s = calloc(1, sizeof *s)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    s->world = w;
    s->model = o->model;
    s->faults = o->faults;
    s->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
    s->listen_fd = -1;
    atomic_init(&s->stopping, 0);
    atomic_init(&s->n_inference, 0);
    atomic_init(&s->n_ids, 0);
    s->own_name =
        strdup(o->served_name && *o->served_name ? o->served_name
                                                 : default_names[o->model]);
    s->served_name = s->own_name;
    if (s->own_name == NULL ||
        slots_init(&s->slots, o->threads, &s->stopping) < 0) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    s->slots_ready = 1;
    if (o->record_path && *o->record_path &&
        (s->rec = recorder_new(o->record_path, err, errlen)) == NULL)
        goto fail;
    s->listen_fd = listen_on(o->bind ? o->bind : "127.0.0.1:8000", "--bind",
                             &s->port, s->url, sizeof s->url, err, errlen);
    if (s->listen_fd < 0)
        goto fail;
    s->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_POLL | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_EXTERNAL_LOGGER, listen_mhd_log, "sim-server",
        MHD_OPTION_END);
    if (s->mhd == NULL) {
        errf(err, errlen, "cannot start the HTTP server on %s", s->url);
        goto fail;
    }
    return s;
fail:
    sim_server_destroy(&s);
    return NULL;
}


const char *
sim_server_url(const sim_server_t *s)
{
    return s->url;
}


int
sim_server_port(const sim_server_t *s)
{
    return s->port;
}


void
sim_server_destroy(sim_server_t **sp)
{
    sim_server_t *s = sp ? *sp : NULL;

    if (s == NULL)
        return;
    atomic_store(&s->stopping, 1);
    if (s->slots_ready)
        slots_wake(&s->slots);
    if (s->mhd != NULL)
        MHD_stop_daemon(s->mhd); /* closes the listening socket too */
    else if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->slots_ready)
        slots_clear(&s->slots);
    recorder_destroy(&s->rec);
    free(s->own_name);
    free(s);
    *sp = NULL;
}
