/*
** gateway_internal.h: what the gateway's files share (see gateway.h).
**
** A request's life: http.c gathers the body, request.c parses it, limits
** are taken, a job (job.c) goes to the coordinator thread (upstream.c),
** which submits it and fills it with accepted steps and the problem's end
** as they are pushed; http.c waits on the job's eventfd and the client's
** socket, and render.c writes the answer.  A job belongs to upstream.c
** from submission on: the request thread reads it under its lock until it
** hands it back with upstream_release(), and never touches it after.
*/
#ifndef TRIM_GATEWAY_INTERNAL_H
#define TRIM_GATEWAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway.h"
#include "gateway_testing.h"

#define STEP_DELIMITER "\n\n"

/* ---- API keys (keys.c) --------------------------------------------------- */

typedef struct gw_keys gw_keys_t;

/*
** Load the key file: lines "ID KEY", '#' comments and blank lines skipped.
** A line with no key, more than two fields, an over-long or repeated id
** or key fails with "FILE:LINE: ..." in err (never the key).  Returns the
** set, or NULL.
*/
gw_keys_t *gw_keys_load(const char *path, char *err, size_t errlen);

/* Free the set (its keys wiped) and clear the pointer; NULL-safe. */
void gw_keys_destroy(gw_keys_t **k);

/*
** The index of the key equal to the len bytes at key, or -1.  Compares
** every key in full, in time that depends only on the lengths, so the
** answer's timing tells nothing about how much of a key matched.
*/
int gw_keys_find(const gw_keys_t *k, const char *key, size_t len);

/* The id of key i. */
const char *gw_keys_id(const gw_keys_t *k, int i);

/* Number of keys. */
int gw_keys_count(const gw_keys_t *k);

/* ---- the coordinator thread (upstream.c) --------------------------------- */

typedef struct upstream upstream_t;

typedef struct upstream_opts {
    const char *connect;
    const curve_keys_t *keys; /* NULL: no CURVE */
    const char *server_key;
    const gateway_route_t *routes;
    size_t n_routes;
    int heartbeat_ms;
} upstream_opts_t;

/* Connect and start the thread; NULL with err. */
upstream_t *upstream_new(const upstream_opts_t *o, char *err, size_t errlen);

/*
** Stop the thread (cancelling every problem still held), close the socket,
** free every job; clear the pointer.  NULL-safe.
*/
void upstream_destroy(upstream_t **u);

/* Hand j to the coordinator thread to submit.  0, or -1 when stopping. */
int upstream_submit(upstream_t *u, gw_job_t *j);

/*
** Give j back: the thread cancels its problem when it has not ended and
** frees it.  The caller must not touch j afterwards.
*/
void upstream_release(upstream_t *u, gw_job_t *j);

/* 1 when the coordinator answered lately (else 0 and why). */
int upstream_ready(upstream_t *u, char *why, size_t whylen);

/*
** 0 when the coordinator has been silent for a few heartbeats (since the
** gateway started, if it never answered): new requests get 503.
*/
int upstream_reachable(upstream_t *u);

/* Problems submitted and cancelled so far. */
void upstream_counts(upstream_t *u, int64_t *submitted, int64_t *cancelled);

/* ---- metrics (metrics.c) ------------------------------------------------- */

typedef struct gw_metrics gw_metrics_t;

/* The gateway's series in r; NULL when r is NULL (every update then a
** no-op) or out of memory.  routes must outlive it. */
gw_metrics_t *gw_metrics_new(prom_registry_t *r, const gateway_route_t *routes,
                             size_t n);

/* Free (the series stay the registry's); NULL-safe, clears the pointer. */
void gw_metrics_destroy(gw_metrics_t **m);

/* One answered request: its route's index (n_routes or more: none), HTTP
** status and duration. */
void gw_metrics_request(gw_metrics_t *m, size_t route, int status,
                        double seconds);

/* trim_gateway_requests_in_flight went up or down by delta (NULL m: a
** no-op). */
void gw_metrics_in_flight(gw_metrics_t *m, int delta);

/* trim_gateway_streams_open went up or down by delta (NULL m: a no-op). */
void gw_metrics_streams(gw_metrics_t *m, int delta);

/* ---- the HTTP side (http.c) ---------------------------------------------- */

typedef struct gw_http gw_http_t;

typedef struct gw_http_opts {
    const char *listen;
    const gateway_route_t *routes;
    size_t n_routes;
    const gw_keys_t *keys; /* NULL: no auth */
    size_t max_body_bytes;
    int max_concurrent, max_concurrent_per_key;
    uint64_t seed;
    upstream_t *upstream;
    gw_metrics_t *metrics; /* may be NULL */
    console_t *console;    /* served under /console/; NULL: none */
} gw_http_opts_t;

/* Bind and start serving; NULL with err. */
gw_http_t *gw_http_new(const gw_http_opts_t *o, char *err, size_t errlen);

/*
** Wake every waiting request (each releases its job), close every
** connection and join their threads; free and clear.  NULL-safe.
*/
void gw_http_destroy(gw_http_t **h);

/* The TCP port it listens on (the one bound when --listen gave port 0). */
int gw_http_port(const gw_http_t *h);

/* In-flight requests and open streams now, requests answered so far. */
void gw_http_counts(gw_http_t *h, int64_t *in_flight, int64_t *streams,
                    int64_t *requests);

#endif
