/*
** peer.c: DEALER-side connection with Ready, heartbeats and reconnection
** (see peer.h).  The pattern is the zguide's Paranoid Pirate worker.
*/
#include "peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "log.h"
#include "sock.h"

#define RECONNECT_MIN_MS 1000

struct peer {
    void *zctx;
    void *sock; /* NULL while waiting to reconnect */
    peer_opts_t opts;
    char *endpoint, *name, *backend; /* owned copies of the opts strings */
    curve_keys_t curve; /* copy of the key pair, when CURVE is on */
    char server_key[41];
    int64_t last_recv_ms; /* any message from the coordinator */
    int64_t last_send_ms;
    int64_t reconnect_at_ms;
    int backoff_ms;
    int finished;
    int logged_malformed; /* log the first bad frame only */
    arena_t *arena;       /* the last received envelope lives here */
    peer_stats_t stats;
};


static int
send_ready(peer_t *p)
{
    Trim__Ready ready = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    ready.role = p->opts.role;
    ready.credit = p->opts.credit;
    ready.name = p->name;
    ready.version = TRIM_VERSION;
    ready.backend = p->backend;
    ready.deadline_ms = p->opts.deadline_ms;
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    return peer_send(p, &env);
}


static int
open_socket(peer_t *p, char *err, size_t errlen)
{
    p->sock = sock_new(p->zctx, ZMQ_DEALER, err, errlen);
    if (p->sock == NULL)
        return -1;
    if (p->opts.curve != NULL &&
        curve_client(p->sock, &p->curve, p->server_key, err, errlen) < 0) {
        sock_destroy(&p->sock);
        return -1;
    }
    if (sock_ipv6_for(p->sock, p->endpoint) != 0 ||
        zmq_connect(p->sock, p->endpoint) != 0) {
        errf(err, errlen, "cannot connect to %s: %s", p->endpoint,
             zmq_strerror(errno));
        sock_destroy(&p->sock);
        return -1;
    }
    p->last_recv_ms = clock_now_ms();
    return send_ready(p);
}


peer_t *
peer_new(void *zctx, const peer_opts_t *opts, char *err, size_t errlen)
{
    peer_t *p = calloc(1, sizeof *p);

    if (p == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    p->zctx = zctx;
    p->opts = *opts;
    if (p->opts.heartbeat_ms <= 0)
        p->opts.heartbeat_ms = 1000;
    if (p->opts.liveness <= 0)
        p->opts.liveness = 3;
    if (p->opts.reconnect_max_ms <= 0)
        p->opts.reconnect_max_ms = 32000;
    p->endpoint = strdup(opts->endpoint);
    p->name = strdup(opts->name ? opts->name : "peer");
    p->backend = strdup(opts->backend ? opts->backend : "");
    p->backoff_ms = RECONNECT_MIN_MS;
    if (opts->curve != NULL) {
        p->curve = *opts->curve;
        snprintf(p->server_key, sizeof p->server_key, "%s",
                 opts->server_key ? opts->server_key : "");
    }
    p->arena = arena_new(64 << 10);
    if (p->endpoint == NULL || p->name == NULL || p->backend == NULL ||
        p->arena == NULL) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if (open_socket(p, err, errlen) < 0)
        goto fail;
    return p;
fail:
    peer_destroy(&p);
    return NULL;
}


void
peer_destroy(peer_t **pp)
{
    if (pp && *pp) {
        peer_t *p = *pp;
        sock_destroy(&p->sock);
        free(p->endpoint);
        free(p->name);
        free(p->backend);
        arena_destroy(&p->arena);
        curve_keys_clear(&p->curve);
        free(p);
        *pp = NULL;
    }
}


void *
peer_socket(peer_t *p)
{
    return p->sock;
}


int
peer_send(peer_t *p, Trim__Envelope *env)
{
    if (p->sock == NULL)
        return -1;
    if (sock_send_env(p->sock, NULL, 0, env) < 0) {
        tlog(TLOG_WARN, p->name, "cannot send to %s: %s", p->endpoint,
             zmq_strerror(errno));
        return -1;
    }
    p->last_send_ms = clock_now_ms();
    p->stats.sent++;
    return 0;
}


/*
** Drop the connection; peer_tick reconnects after delay_ms.  backoff says
** whether the delay grows for the next time (a silent coordinator) or not
** (a coordinator that asked us to announce ourselves again).
*/
static void
schedule_reconnect(peer_t *p, const char *why, int delay_ms, int backoff)
{
    tlog(TLOG_WARN, p->name, "%s; reconnecting to %s in %d ms", why,
         p->endpoint, delay_ms);
    sock_destroy(&p->sock);
    p->reconnect_at_ms = clock_now_ms() + delay_ms;
    if (backoff && p->backoff_ms < p->opts.reconnect_max_ms) {
        p->backoff_ms *= 2;
        if (p->backoff_ms > p->opts.reconnect_max_ms)
            p->backoff_ms = p->opts.reconnect_max_ms;
    }
}


int
peer_recv(peer_t *p, Trim__Envelope **out)
{
    zmq_msg_t msg;
    int extra;
    char err[256];

    arena_reset(p->arena);
    while (p->sock != NULL && !p->finished) {
        int rc = sock_recv(p->sock, 0, NULL, NULL, &msg, &extra);
        if (rc <= 0)
            return 0;
        p->last_recv_ms = clock_now_ms();
        p->backoff_ms = RECONNECT_MIN_MS;
        Trim__Envelope *env = NULL;
        if (extra)
            errf(err, sizeof err, "multi-frame message");
        else
            env = env_unpack_in(p->arena, zmq_msg_data(&msg),
                                zmq_msg_size(&msg), err, sizeof err);
        zmq_msg_close(&msg);
        if (env == NULL) {
            arena_reset(p->arena);
            p->stats.malformed++;
            if (!p->logged_malformed++)
                tlog(TLOG_WARN, p->name, "dropped a bad frame from %s: %s",
                     p->endpoint, err);
            continue;
        }
        switch (env->body_case) {
        case TRIM__ENVELOPE__BODY_HEARTBEAT:
            p->stats.heard++;
            arena_reset(p->arena);
            continue;
        case TRIM__ENVELOPE__BODY_DISCONNECT:
            if (env->disconnect->shutdown) {
                tlog(TLOG_INFO, p->name, "coordinator shut down: %s",
                     env->disconnect->reason);
                p->finished = 1;
            } else {
                errf(err, sizeof err, "coordinator disconnected us (%s)",
                     env->disconnect->reason);
                schedule_reconnect(p, err, 0, 0);
            }
            arena_reset(p->arena);
            return 0;
        default:
            p->stats.heard++;
            p->stats.received++;
            *out = env;
            return 1;
        }
    }
    return 0;
}


int
peer_tick(peer_t *p)
{
    int64_t now = clock_now_ms();
    int64_t hb = p->opts.heartbeat_ms;
    int64_t next;
    char err[256];

    if (p->finished)
        return 0;
    if (p->sock == NULL) {
        if (now < p->reconnect_at_ms)
            return (int)(p->reconnect_at_ms - now);
        p->stats.reconnects++;
        if (open_socket(p, err, sizeof err) < 0) {
            schedule_reconnect(p, err, p->backoff_ms, 1);
            return (int)(p->reconnect_at_ms - now);
        }
    }
    if (now - p->last_recv_ms >= hb * p->opts.liveness) {
        schedule_reconnect(p, "coordinator silent", p->backoff_ms, 1);
        return (int)(p->reconnect_at_ms - now);
    }
    if (now - p->last_send_ms >= hb) {
        Trim__Heartbeat beat = TRIM__HEARTBEAT__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        env.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &beat;
        peer_send(p, &env);
    }
    next = p->last_send_ms + hb - now;
    if (p->last_recv_ms + hb * p->opts.liveness - now < next)
        next = p->last_recv_ms + hb * p->opts.liveness - now;
    return next < 1 ? 1 : (int)next;
}


int
peer_goodbye(peer_t *p, const char *reason, int linger_ms)
{
    Trim__Disconnect d = TRIM__DISCONNECT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    if (p->sock == NULL || p->finished)
        return -1;
    d.reason = (char *)reason;
    env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &d;
    if (peer_send(p, &env) < 0)
        return -1;
    /* sock_new's linger is 0, which would drop the goodbye on close. */
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    return 0;
}


int
peer_finished(const peer_t *p)
{
    return p->finished;
}


const peer_stats_t *
peer_stats(const peer_t *p)
{
    return &p->stats;
}
