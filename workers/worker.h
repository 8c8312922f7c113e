/*
** worker.h: the worker process loop.
**
** A worker serves one pool (small, large or prm): it connects to the
** coordinator as a peer with its credit, hands every request it receives to
** its backend, and sends results back in batches as they complete.  One
** zmq_poll waits on the coordinator socket, the backend's descriptors and the
** backend's next due time, so heartbeats keep flowing during long model
** calls.
**
** Asked to stop, a worker drains: it starts nothing new, sends the results
** of the calls it has in flight as they finish (for at most drain_ms), then
** says goodbye with a Disconnect, so the coordinator requeues at once what
** it still holds (unfinished calls, requests that arrived meanwhile)
** instead of waiting out the worker's liveness.
*/
#ifndef TRIM_WORKER_H
#define TRIM_WORKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "curve.h"

typedef struct worker_opts {
    const char *endpoint; /* coordinator address */
    Trim__Role role;      /* ROLE_SMALL, ROLE_LARGE or ROLE_PRM */
    uint32_t credit;      /* requests held at once */
    const char *name;     /* peer name */
    int heartbeat_ms;
    int liveness;
    int reconnect_max_ms;
    int drain_ms; /* after a stop, wait this long for calls in flight */
    const curve_keys_t *curve; /* own key pair for CURVE, or NULL */
    const char *server_key;    /* the coordinator's public key (Z85) */
    uint32_t deadline_ms;      /* longest answer to one request (announced);
                                  0: not stated */
    const char *health_file;   /* touched while connected (health.h), or
                                  NULL */
} worker_opts_t;

typedef struct worker worker_t;

/*
** Create a worker.  Takes ownership of backend (freed by worker_destroy,
** also on failure here).  zctx is borrowed.  Returns NULL with err.
*/
worker_t *worker_new(void *zctx, const worker_opts_t *opts, backend_t *backend,
                     char *err, size_t errlen);

/*
** Serve until the coordinator shuts the cluster down, or *stop becomes
** non-zero; then drain (see above), cut short when *stop reaches 2 (a
** second signal) or the coordinator is out of reach.  Returns 0, or -1 on a
** fatal socket error.
*/
int worker_run(worker_t *w, const atomic_int *stop);

/* Requests completed so far. */
uint64_t worker_completed(const worker_t *w);

/* Free the worker, its backend and its socket; clear the pointer. */
void worker_destroy(worker_t **w);

#endif
