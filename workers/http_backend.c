/*
** http_backend.c: the backend interface on top of an HTTP engine (see
** http_backend.h).
**
** Requests become engine calls at once (the engine queues what it cannot
** start yet).  Requests that fail before any call (the wrong job for this
** pool, out of memory) wait in a small FIFO of ready results, so every
** submitted request comes back through collect exactly once.
*/
#include "http_backend.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "errf.h"
#include "http_engine.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

typedef struct http_backend {
    backend_t base; /* first, so a backend_t * is an http_backend * */
    const http_format_t *fmt;
    http_backend_opts_t opts; /* own copy */
    http_engine_t *engine;
    char *name;
    backend_result_t *ready; /* results made without a call, FIFO */
    size_t ready_head, n_ready, cap_ready;
} http_backend_t;


int
http_usage_tokens(json_t *root, const char *field, size_t bytes)
{
    json_t *v = json_object_get(json_object_get(root, "usage"), field);

    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= INT_MAX)
        return (int)json_integer_value(v);
    size_t estimate = (bytes + 3) / 4;
    return estimate > (size_t)INT_MAX ? INT_MAX : (int)estimate;
}


const char *
http_model(const http_backend_opts_t *o)
{
    return o->model && *o->model ? o->model : NULL;
}


json_t *
http_real(float x)
{
    char text[32];

    snprintf(text, sizeof text, "%.7g", (double)x);
    return json_real(strtod(text, NULL));
}


int
http_set(json_t *obj, const char *key, json_t *value)
{
    if (value == NULL)
        return -1;
    return json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}


/* Queue a result made without a call: an error with message err. */
static int
ready_error(http_backend_t *h, const backend_request_t *req, const char *err)
{
    backend_result_t *r;

    if (h->ready_head > 0 && h->ready_head == h->n_ready)
        h->ready_head = h->n_ready = 0;
    if (h->n_ready == h->cap_ready) {
        size_t cap = h->cap_ready ? h->cap_ready * 2 : 16;
        r = realloc(h->ready, cap * sizeof *r);
        if (r == NULL)
            return -1;
        h->ready = r;
        h->cap_ready = cap;
    }
    r = &h->ready[h->n_ready];
    memset(r, 0, sizeof *r);
    r->job = req->job;
    r->key = req->key;
    r->finish = TRIM__FINISH__FINISH_ERROR;
    if ((r->error = strdup(err)) == NULL)
        return -1;
    h->n_ready++;
    return 0;
}


static int
hb_submit(backend_t *b, const backend_request_t *req)
{
    http_backend_t *h = (http_backend_t *)b;
    http_job_t *job;
    json_t *body;
    char *text;

    if (req->job != h->fmt->job)
        return ready_error(h, req,
                           req->job == BACKEND_SCORE
                               ? "this worker cannot score steps"
                               : "this worker cannot generate steps");
    if ((job = calloc(1, sizeof *job)) == NULL)
        return ready_error(h, req, "out of memory");
    job->job = req->job;
    job->key = req->key;
    job->n_steps = req->n_steps;
    body = h->fmt->build(&h->opts, req, &job->input_bytes);
    text = body ? json_dumps(body, JSON_FLAGS) : NULL;
    json_decref(body);
    if (text == NULL) {
        free(job);
        return ready_error(h, req, "out of memory building the request");
    }
    if (http_engine_post(h->engine, text, strlen(text), job) < 0) {
        free(job);
        return ready_error(h, req, "out of memory queueing the request");
    }
    return 0;
}


static int
hb_poll_items(backend_t *b, zmq_pollitem_t *items, int max)
{
    return http_engine_poll_items(((http_backend_t *)b)->engine, items, max);
}


static int64_t
hb_next_due(backend_t *b)
{
    http_backend_t *h = (http_backend_t *)b;
    return h->n_ready > h->ready_head ? 0 : http_engine_next_due_us(h->engine);
}


/* Free a job and what was parsed into it (the engine's free_user). */
static void
job_free(void *p)
{
    http_job_t *job = p;

    backend_result_clear(&job->result);
    free(job);
}


int
http_parse_body(const http_format_t *f, const http_backend_opts_t *o,
                const http_job_t *job, const char *body, size_t len,
                backend_result_t *r, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    int rc = -1;

    memset(r, 0, sizeof *r);
    r->job = job->job;
    r->key = job->key;
    if (root == NULL)
        errf(why, whylen, "response is not JSON (line %d col %d: %s)",
             jerr.line, jerr.column, jerr.text);
    else if (!json_is_object(root))
        errf(why, whylen, "response is not a JSON object");
    else
        rc = f->parse(o, job, root, r, why, whylen);
    json_decref(root);
    if (rc < 0)
        backend_result_clear(r);
    return rc < 0 ? -1 : 0;
}


/*
** The engine's body check: parse a 2xx answer into job->result.  Any
** failure makes the engine retry the call.
*/
static int
check_body(void *ctx, void *user, const char *body, size_t len, char *why,
           size_t whylen)
{
    http_backend_t *h = ctx;
    http_job_t *job = user;

    backend_result_clear(&job->result); /* an earlier attempt's */
    return http_parse_body(h->fmt, &h->opts, job, body, len, &job->result, why,
                           whylen);
}


/* Turn a finished call into a result (what check_body parsed, or the
** engine's final error). */
static void
to_result(http_outcome_t *oc, backend_result_t *r)
{
    http_job_t *job = oc->user;

    if (oc->error != NULL) {
        memset(r, 0, sizeof *r);
        r->finish = TRIM__FINISH__FINISH_ERROR;
        r->error = oc->error;
        oc->error = NULL;
    } else {
        *r = job->result;
        memset(&job->result, 0, sizeof job->result);
    }
    r->job = job->job;
    r->key = job->key;
    r->latency_us = oc->latency_us;
}


static size_t
hb_collect(backend_t *b, backend_result_t *out, size_t max)
{
    http_backend_t *h = (http_backend_t *)b;
    http_outcome_t oc;
    size_t k = 0;

    while (k < max && h->ready_head < h->n_ready)
        out[k++] = h->ready[h->ready_head++];
    if (http_engine_pending(h->engine) == 0)
        return k;
    http_engine_drive(h->engine);
    while (k < max && http_engine_done(h->engine, &oc)) {
        to_result(&oc, &out[k++]);
        job_free(oc.user);
        http_outcome_clear(&oc);
    }
    return k;
}


static size_t
hb_pending(backend_t *b)
{
    http_backend_t *h = (http_backend_t *)b;
    return (h->n_ready - h->ready_head) + http_engine_pending(h->engine);
}


static void
hb_destroy(backend_t *b)
{
    http_backend_t *h = (http_backend_t *)b;

    http_engine_destroy(&h->engine);
    for (size_t i = h->ready_head; i < h->n_ready; i++)
        backend_result_clear(&h->ready[i]);
    free(h->ready);
    http_opts_clear(&h->opts);
    free(h->name);
    free(h);
}


/* A /v1/models body, kept up to MODELS_BYTES. */
#define MODELS_BYTES 65536
typedef struct body {
    char buf[MODELS_BYTES];
    size_t len;
} body_t;


static size_t
keep_body(char *p, size_t size, size_t n, void *ctx)
{
    body_t *b = ctx;
    size_t bytes = size * n;
    if (bytes > sizeof b->buf - 1 - b->len)
        return 0; /* too long for a model list: not a sim-server */
    memcpy(b->buf + b->len, p, bytes);
    b->len += bytes;
    return bytes;
}


/*
** Whether base_url is a `trim sim-server`: its GET /v1/models answers
** within 2 s with a first model owned_by "trim-sim".  Any failure: no.
*/
static int
is_sim_server(const char *base_url)
{
    char *url = http_url_join(base_url, "/v1/models");
    body_t *b = calloc(1, sizeof *b);
    CURL *c = curl_easy_init();
    long code = 0;
    int yes = 0;

    if (url && b && c) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    }
    if (code == 200) {
        json_t *j = json_loadb(b->buf, b->len, 0, NULL);
        json_t *m = json_array_get(json_object_get(j, "data"), 0);
        const char *owner = json_string_value(json_object_get(m, "owned_by"));
        yes = owner != NULL && strcmp(owner, "trim-sim") == 0;
        json_decref(j);
    }
    curl_easy_cleanup(c);
    free(b);
    free(url);
    return yes;
}


backend_t *
http_backend_new(const http_format_t *f, const http_backend_opts_t *opts,
                 uint32_t credit, char *err, size_t errlen)
{
    http_backend_t *h;
    char *url = NULL;
    size_t n;

    if (http_opts_check(opts, err, errlen) < 0)
        return NULL;
    if ((h = calloc(1, sizeof *h)) == NULL)
        goto oom;
    h->fmt = f;
    h->base.submit = hb_submit;
    h->base.poll_items = hb_poll_items;
    h->base.next_due_us = hb_next_due;
    h->base.collect = hb_collect;
    h->base.pending = hb_pending;
    h->base.destroy = hb_destroy;
    if (http_opts_copy(&h->opts, opts) < 0) {
        free(h);
        goto oom;
    }
    const char *kind =
        opts->identify && is_sim_server(opts->base_url) ? "sim-http" : f->kind;
    n = strlen(kind) + strlen(opts->base_url) + 2;
    if ((h->name = malloc(n)) == NULL ||
        (url = http_url_join(opts->base_url, f->path)) == NULL) {
        hb_destroy(&h->base);
        goto oom;
    }
    snprintf(h->name, n, "%s:%s", kind, opts->base_url);
    h->base.name = h->name;
    h->engine = http_engine_new(&h->opts, url, h->name, credit ? credit : 1,
                                job_free, err, errlen);
    free(url);
    if (h->engine == NULL) {
        hb_destroy(&h->base);
        return NULL;
    }
    http_engine_set_check(h->engine, check_body, h);
    return &h->base;
oom:
    errf(err, errlen, "out of memory");
    return NULL;
}
