/*
** gateway.h: the OpenAI-compatible HTTP gateway (`trim gateway`).
**
** An HTTP server (libmicrohttpd) in front of a running coordinator: each
** POST /v1/chat/completions or /v1/completions becomes one audited problem,
** submitted with notify set so the coordinator pushes every accepted step
** back; the answer is the accepted steps, whole or streamed as Server-Sent
** Events as they come.  `model` names a route, a policy fixed at start;
** GET /v1/models lists them.  docs/gateway.md is the user's contract.
**
** Threads: libmicrohttpd runs a thread per connection, which waits for its
** problem (and for its client going away) without holding up others; one
** thread owns the coordinator's DEALER socket, batches submissions, routes
** pushes to the waiting requests and sends cancels.
*/
#ifndef TRIM_GATEWAY_H
#define TRIM_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "curve.h"
#include "prices.h"
#include "prom.h"

typedef struct gateway gateway_t;

#define GATEWAY_NAME_MAX   64  /* a route's name (the request's model) */
#define GATEWAY_POLICY_MAX 128 /* a route's policy spec */

/* One route: what a request naming it as its model runs with. */
typedef struct gateway_route {
    char name[GATEWAY_NAME_MAX + 1];
    char policy[GATEWAY_POLICY_MAX + 1];
    uint64_t max_strong_tokens; /* per-problem cap; 0: none */
    double target_share;        /* strong-token share to hold; 0: none */
    const prices_t *prices;     /* its answers' trim object gains "usd"
                                   (borrowed; outlives the gateway); NULL:
                                   none */
    char speculate[8];          /* "off", "on", "guard": speculative
                                   drafting of its run; "": the
                                   coordinator's --speculate */
} gateway_route_t;

/*
** Parse a --route value
** "NAME=POLICY[,max-strong-tokens=N][,target-share=X][,speculate=MODE]"
** into *out.  The policy is not checked here (the coordinator checks it when
** the route's run opens).  Returns 0, or -1 with err naming the part.
*/
int gateway_route_parse(const char *spec, gateway_route_t *out, char *err,
                        size_t errlen);

/* Gateway-wide counters and gauges, read by the metrics exporter. */
typedef struct gateway_stats {
    int64_t requests;       /* HTTP requests answered */
    int64_t in_flight;      /* requests being served now */
    int64_t streams_open;   /* SSE responses open now */
    int64_t problems;       /* problems submitted */
    int64_t cancels;        /* problems cancelled for a departed client */
    int64_t coordinator_up; /* 1 when the coordinator answered lately */
} gateway_stats_t;

typedef struct gateway_config {
    const char *listen;       /* HOST:PORT, port 0: any free port */
    const char *connect;      /* the coordinator's endpoint */
    const curve_keys_t *keys; /* this client's key pair; NULL: no CURVE */
    const char *server_key;   /* the coordinator's public key (Z85) */
    const gateway_route_t *routes;
    size_t n_routes;            /* at least one */
    const char *api_keys;       /* the key file; NULL or "": no auth */
    size_t max_body_bytes;      /* a larger body gets 413 */
    int max_concurrent;         /* requests served at once, in total */
    int max_concurrent_per_key; /* ... and per API key */
    uint64_t seed;              /* problem seeds derive from it */
    int heartbeat_ms;           /* coordinator liveness probe interval */
    prom_registry_t *metrics;   /* trim_gateway_* go here; may be NULL */
    console_t *console; /* served read-only under /console/ (borrowed; it
                           outlives the gateway); NULL: none */
} gateway_config_t;

/* Fill *cfg with the defaults of `trim gateway`'s flags. */
void gateway_config_defaults(gateway_config_t *cfg);

/*
** Load the key file, bind the listener, connect to the coordinator and
** start serving.  Nothing of cfg is kept but copies.  Returns the gateway,
** or NULL with err naming what failed (a bad key file line as FILE:LINE).
*/
gateway_t *gateway_new(const gateway_config_t *cfg, char *err, size_t errlen);

/* The port the gateway listens on (the one picked for port 0). */
int gateway_port(const gateway_t *g);

/*
** 1 when the coordinator answered within the last few heartbeats, else 0
** with a one-line reason in why.
*/
int gateway_ready(gateway_t *g, char *why, size_t whylen);

/* A snapshot of the counters. */
void gateway_stats(gateway_t *g, gateway_stats_t *out);

/*
** Stop: refuse new requests, cancel the problems of open ones, close every
** connection, disconnect; free and clear the pointer.  NULL-safe.
*/
void gateway_destroy(gateway_t **g);

#endif
