/*
** metrics_serve.h: --metrics-listen for the long-running commands.
**
** A command opens the registry first (its components register their
** series while they are built), then starts the endpoint once what its
** /readyz asks about exists, and closes both at the end: the endpoint
** before the components it reads, the registry last.
*/
#ifndef TRIM_METRICS_SERVE_H
#define TRIM_METRICS_SERVE_H

#include <stddef.h>

#include "prom_http.h"

#define CLI_FLAG_METRICS_LISTEN(value)                                         \
    {                                                                          \
        "metrics-listen", FLAG_STRING, (value), 0, 0,                          \
            "serve /metrics, /healthz and /readyz on HOST:PORT (loopback "     \
            "unless --http-insecure; default: off)"                            \
    }

/* --http-insecure: plain HTTP listeners beyond loopback; never ZeroMQ. */
#define CLI_FLAG_HTTP_INSECURE(value)                                          \
    {                                                                          \
        "http-insecure", FLAG_BOOL, (value), 0, 0,                             \
            "allow the plain HTTP listeners (--metrics-listen) beyond "        \
            "loopback (logged at every start); --insecure does not"            \
    }

typedef struct metrics_serve {
    prom_registry_t *registry; /* NULL when --metrics-listen is off */
    prom_http_t *http;
    const char *role, *listen; /* borrowed from metrics_serve_open */
} metrics_serve_t;

/*
** With listen set (non-empty), a registry holding trim_build_info for role
** and the start time; without, nothing.  0, or -1 with err (memory).
*/
int metrics_serve_open(metrics_serve_t *m, const char *role, const char *listen,
                       char *err, size_t errlen);

/*
** Serve m's registry on the address given to open (no-op without a
** registry), beyond loopback only with http_insecure, /readyz asking
** ready(ctx) (NULL: always ready).  0, or -1 with err (address refused or
** in use).
*/
int metrics_serve_start(metrics_serve_t *m, int http_insecure,
                        prom_ready_fn ready, void *ctx, char *err,
                        size_t errlen);

/*
** Stop the endpoint (no-op when not started): before destroying what its
** /readyz asks about.  The registry stays, for metrics_serve_close.
*/
void metrics_serve_stop(metrics_serve_t *m);

/* Stop the endpoint, then free the registry. */
void metrics_serve_close(metrics_serve_t *m);

#endif
