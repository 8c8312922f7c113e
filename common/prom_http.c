/*
** prom_http.c: /metrics, /healthz and /readyz over libmicrohttpd (see
** prom_http.h).
*/
#include "prom_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "errf.h"
#include "http_listener.h"
#include "listen.h"
#include "log.h"

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT    "text/plain; charset=utf-8"

struct prom_http {
    prom_http_opts_t o;
    char who[64];
    http_listener_t l;
};


/* Queue a reply whose body is malloc'd (MHD frees it) or, when body_static,
** a constant string. */
static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
      size_t len, int body_static)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body,
        body_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (r == NULL) {
        if (!body_static)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}


static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return reply(c, status, CONTENT_TYPE_TEXT, (char *)text, strlen(text), 1);
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_len, void **state)
{
    prom_http_t *h = cls;

    (void)version;
    (void)upload;
    if (*state == NULL) { /* first call: headers only; answer on the next */
        *state = h;
        return MHD_YES;
    }
    if (*upload_len != 0) { /* a GET with a body: ignore the body */
        *upload_len = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) {
        size_t len;
        char *body = prom_render(h->o.registry, &len);
        if (body == NULL)
            return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "out of memory\n");
        return reply(c, MHD_HTTP_OK, CONTENT_TYPE_METRICS, body, len, 0);
    }
    if (strcmp(url, "/healthz") == 0)
        return reply_text(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        char reason[256] = "";
        char *body;
        if (h->o.ready == NULL ||
            h->o.ready(h->o.ready_ctx, reason, sizeof reason) == 0)
            return reply_text(c, MHD_HTTP_OK, "ready\n");
        reason[strcspn(reason, "\r\n")] = '\0';
        if (*reason == '\0')
            snprintf(reason, sizeof reason, "not ready");
        if ((body = malloc(strlen(reason) + 2)) == NULL)
            return MHD_NO;
        snprintf(body, strlen(reason) + 2, "%s\n", reason);
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, CONTENT_TYPE_TEXT, body,
                     strlen(body), 0);
    }
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}


prom_http_t *
prom_http_new(const prom_http_opts_t *o, char *err, size_t errlen)
{
    prom_http_t *h;

    if (listen_check(o->who, "--metrics-listen", o->listen, o->insecure, err,
                     errlen) < 0)
        return NULL;
    if ((h = calloc(1, sizeof *h)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    h->o = *o;
    snprintf(h->who, sizeof h->who, "%s", o->who ? o->who : "metrics");
    if (http_listener_bind(&h->l, o->listen, "--metrics-listen", err, errlen) <
        0)
        goto fail;
    /* A few connections: scrapes are rare and small.  PROM_HTTP_PER_IP
    ** keeps one client (a stuck scraper, a flood) from taking every
    ** connection from Prometheus and the probes. */
    if (http_listener_start(&h->l, on_request, h, PROM_HTTP_PER_IP, 10, h->who,
                            "the metrics endpoint", err, errlen) < 0)
        goto fail;
    tlog(TLOG_INFO, h->who, "metrics on %s/metrics", h->l.url);
    return h;
fail:
    prom_http_destroy(&h);
    return NULL;
}


int
prom_http_port(const prom_http_t *h)
{
    return h->l.port;
}


void
prom_http_destroy(prom_http_t **hp)
{
    prom_http_t *h = hp ? *hp : NULL;

    if (h == NULL)
        return;
    http_listener_stop(&h->l);
    free(h);
    *hp = NULL;
}
