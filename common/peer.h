/*
** peer.h: a service's connection to the coordinator (the DEALER side).
**
** Workers and router services talk to the coordinator through one peer_t.
** It connects, announces the service with Ready (role, credit, name), sends
** a Heartbeat whenever it has been quiet for the heartbeat interval, and
** treats any message from the coordinator as a sign of life.  When the
** coordinator has been silent for liveness x interval, or tells the peer it
** is unknown, the peer closes its socket and reconnects on a fresh one after
** an exponential backoff (1 s doubling to reconnect_max_ms), announcing
** itself again.  A Disconnect with shutdown set ends the peer for good.
**
** The caller owns the loop: poll peer_socket() (when not NULL) with the
** timeout peer_tick() returns, then drain peer_recv().
*/
#ifndef TRIM_PEER_H
#define TRIM_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "curve.h"
#include "trim.pb-c.h"

typedef struct peer_opts {
    const char *endpoint; /* coordinator address, e.g. tcp://host:5555 */
    Trim__Role role;
    uint32_t credit;           /* most requests held at once */
    const char *name;          /* shown in logs and the audit */
    const char *backend;       /* description sent in Ready */
    int heartbeat_ms;          /* default 1000 */
    int liveness;              /* missed intervals before reconnecting; 3 */
    int reconnect_max_ms;      /* backoff cap; default 32000 */
    const curve_keys_t *curve; /* own key pair for CURVE, or NULL */
    const char *server_key;    /* the coordinator's public key (Z85) */
    uint32_t deadline_ms;      /* longest answer to one request, sent in Ready;
                                  0: not stated */
} peer_opts_t;

/* How long a goodbye (peer_goodbye's linger_ms) may take to leave. */
#define PEER_GOODBYE_MS 1000

typedef struct peer_stats {
    uint64_t heard;    /* heartbeats and work messages from the coordinator */
    uint64_t received; /* work messages handed to the caller */
    uint64_t sent;
    uint64_t malformed; /* frames from the coordinator that were dropped */
    uint64_t reconnects;
} peer_stats_t;

typedef struct peer peer_t;

/*
** Create the peer and start connecting (the Ready goes out at once; libzmq
** delivers it when the connection is up).  zctx is borrowed.  Returns NULL
** with a reason in err.
*/
peer_t *peer_new(void *zctx, const peer_opts_t *opts, char *err, size_t errlen);

/* Close the socket, free the peer and clear the pointer; NULL-safe. */
void peer_destroy(peer_t **p);

/* The socket to poll for input, or NULL while waiting to reconnect. */
void *peer_socket(peer_t *p);

/*
** Send one envelope to the coordinator.  Returns 0, or -1 when it could not
** be queued (no connection and a full queue, or too big); the caller's
** requests will then be requeued by the coordinator after its timeout.
*/
int peer_send(peer_t *p, Trim__Envelope *env);

/*
** Read the next work message without blocking.  Heartbeats, Disconnects and
** malformed frames are handled here.  Returns 1 with *env set, 0 when
** nothing more is waiting.  The envelope belongs to the peer and stays valid
** until the next peer_recv call; do not free it.
*/
int peer_recv(peer_t *p, Trim__Envelope **env);

/*
** Do what is due (heartbeat, liveness check, reconnect) and return the
** milliseconds until the next duty, for the caller's poll timeout.
*/
int peer_tick(peer_t *p);

/*
** Say goodbye before the caller destroys the peer: send a Disconnect with
** reason, so the coordinator requeues at once whatever this peer still
** holds, and let the socket's close wait up to linger_ms for it (and the
** replies queued before it) to leave.  Returns 0, or -1 when it could not be
** queued (no connection: the coordinator then notices by liveness) or need
** not be: after peer_finished(), the coordinator has said goodbye itself.
** A linger the socket refuses is ignored: the goodbye may then be lost,
** and the coordinator notices by liveness.
*/
int peer_goodbye(peer_t *p, const char *reason, int linger_ms);

/* 1 once the coordinator has said the cluster is shutting down. */
int peer_finished(const peer_t *p);

/* Counters since peer_new. */
const peer_stats_t *peer_stats(const peer_t *p);

#endif
