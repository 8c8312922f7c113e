/*
** console.c: the console's requests, from libmicrohttpd to a handler or an
** embedded asset and back (see console.h).
*/
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errf.h"

/*
** No inline script or style, nothing from elsewhere: a script that slipped
** into the page through recorded text could not run, and could not send
** anything anywhere if it did.
*/
#define CSP                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; "                \
    "img-src 'self'; connect-src 'self'; base-uri 'none'; "                    \
    "form-action 'none'; frame-ancestors 'none'"

static const struct {
    const char *path;
    con_handler_fn fn;
} s_api[] = {
    {"/api/runs", con_api_runs},       {"/api/compare", con_api_compare},
    {"/api/curves", con_api_curves},   {"/api/problems", con_api_problems},
    {"/api/problem", con_api_problem}, {"/api/prices", con_api_prices},
    {"/api/roi", con_api_roi},
};


console_t *
console_new(const console_opts_t *o, char *err, size_t errlen)
{
    console_t *c = calloc(1, sizeof *c);
    json_error_t je;

    if (c == NULL || (c->db_path = strdup(o->db)) == NULL) {
        free(c);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    if ((c->reader = store_reader_new(o->db, err, errlen)) == NULL)
        goto fail;
    c->db = store_reader_sqlite(c->reader);
    if (o->prices && *o->prices &&
        (c->prices = prices_load(o->prices, err, errlen)) == NULL)
        goto fail;
    if (o->curve && *o->curve) {
        c->curve = json_load_file(o->curve, JSON_REJECT_DUPLICATES, &je);
        if (c->curve == NULL) {
            errf(err, errlen, "%s:%d: %s", o->curve, je.line, je.text);
            goto fail;
        }
        if (!json_is_array(json_object_get(c->curve, "policies"))) {
            errf(err, errlen,
                 "%s: not a trim eval result (no \"policies\" array)",
                 o->curve);
            goto fail;
        }
        /* The charts take any eval.json; the calculator needs its points'
        ** usage (trim eval since issue 13), and says why when it is not
        ** there. */
        if ((c->roi_curve = roi_curve_load(o->curve, err, errlen)) == NULL &&
            (c->curve_error = strdup(err)) == NULL) {
            errf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return c;
fail:
    console_destroy(&c);
    return NULL;
}


void
console_destroy(console_t **cp)
{
    console_t *c = cp ? *cp : NULL;

    if (c == NULL)
        return;
    for (int i = 0; i < CON_Q_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    store_reader_destroy(&c->reader);
    json_decref(c->curve);
    roi_curve_destroy(&c->roi_curve);
    roi_curve_destroy(&c->store_curve);
    free(c->curve_error);
    prices_destroy(&c->prices);
    free(c->usage);
    pthread_mutex_destroy(&c->mu);
    free(c->db_path);
    free(c);
    *cp = NULL;
}


/* MHD_get_connection_values' callback: gather the query arguments. */
static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
            const char *value)
{
    con_req_t *q = cls;

    (void)kind;
    if (q->n_args == CON_MAX_ARGS) {
        q->too_many = 1;
        return MHD_NO;
    }
    q->args[q->n_args].key = key;
    q->args[q->n_args].value = value;
    q->n_args++;
    return MHD_YES;
}


/* Answer from the embedded assets, or 404. */
static void
serve_asset(const char *path, con_reply_t *out)
{
    static const char index_path[] = "/index.html";

    if (strcmp(path, "/") == 0)
        path = index_path;
    for (size_t i = 0; i < con_n_assets; i++)
        if (strcmp(con_assets[i].path, path) == 0) {
            out->status = 200;
            out->type = con_assets[i].type;
            out->body = (char *)con_assets[i].data;
            out->len = con_assets[i].len;
            out->body_static = 1;
            return;
        }
    con_reply_error(out, 404, NULL, "no page %.200s", path);
}


/* Answer q into out (the console is locked). */
static void
dispatch(console_t *c, const char *method, const con_req_t *q, con_reply_t *out)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        con_reply_error(out, 405, NULL,
                        "method %.20s not allowed: the console is read-only "
                        "(GET, HEAD)",
                        method);
        return;
    }
    for (size_t i = 0; i < sizeof s_api / sizeof *s_api; i++)
        if (strcmp(q->path, s_api[i].path) == 0) {
            s_api[i].fn(c, q, out);
            return;
        }
    if (strncmp(q->path, "/api/", 5) == 0) {
        con_reply_error(out, 404, NULL, "no API %.200s", q->path);
        return;
    }
    serve_asset(q->path, out);
}


enum MHD_Result
console_answer(console_t *c, struct MHD_Connection *conn, const char *method,
               const char *path, unsigned *status)
{
    con_req_t q = {.path = path};
    con_reply_t out = {0};
    struct MHD_Response *r;
    enum MHD_Result ret;
    char timing[64];
    int64_t t0 = clock_now_us();

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
    pthread_mutex_lock(&c->mu);
    dispatch(c, method, &q, &out);
    pthread_mutex_unlock(&c->mu);
    if (status != NULL)
        *status = out.status;
    r = MHD_create_response_from_buffer(
        out.len, out.body,
        out.body_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        if (!out.body_static)
            free(out.body);
        return MHD_NO;
    }
    /* The server's own time, for the benchmark and the browser's tools. */
    snprintf(timing, sizeof timing, "app;dur=%.3f",
             (double)(clock_now_us() - t0) / 1000.0);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, out.type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Server-Timing", timing);
    if (out.status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(conn, out.status, r);
    MHD_destroy_response(r);
    return ret;
}
