/*
** prom_http.h: the HTTP endpoint of --metrics-listen.
**
**   GET /metrics   the registry in the text format 0.0.4 (prom_render)
**   GET /healthz   200 "ok": the process runs
**   GET /readyz    200 "ready", or 503 and a one-line reason: the process
**                  can do its job (the ready callback says)
**
** Anything else is 404, another method 405.  One thread of libmicrohttpd
** serves every request, so the ready callback runs on it: it must read only
** atomics or data published for it, never the event loop's state.
*/
#ifndef TRIM_PROM_HTTP_H
#define TRIM_PROM_HTTP_H

#include <stddef.h>

#include "prom.h"

/* Connections one address may hold at once (of 64); more are closed. */
#define PROM_HTTP_PER_IP 8

/* 0 when ready; else -1 with a one-line reason in reason (reasonlen > 0). */
typedef int (*prom_ready_fn)(void *ctx, char *reason, size_t reasonlen);

typedef struct prom_http_opts {
    const char *listen;        /* "HOST:PORT"; port 0 picks a free one */
    const char *who;           /* the role, for logs: "coordinator" */
    int insecure;              /* allow a non-loopback listen (listen_check) */
    prom_registry_t *registry; /* borrowed; must outlive the server */
    prom_ready_fn ready;       /* NULL: always ready */
    void *ready_ctx;
} prom_http_opts_t;

typedef struct prom_http prom_http_t;

/*
** Check the address (listen_check), bind it and start serving on a thread
** of its own.  Returns the server, or NULL with a reason in err.
*/
prom_http_t *prom_http_new(const prom_http_opts_t *o, char *err, size_t errlen);

/* The port it listens on (useful after port 0). */
int prom_http_port(const prom_http_t *h);

/* Stop serving, close the socket, free; NULL-safe, clears *h. */
void prom_http_destroy(prom_http_t **h);

#endif
