/*
** peers.c: the coordinator's peer registry.
**
** A peer exists from its Ready until it goes silent for liveness x interval,
** its route fails, or it announces itself again.  Any frame from a peer is a
** sign of life.  Frames from identities that never sent Ready get a
** Disconnect telling them to announce themselves (a coordinator restart
** looks like this to its workers).  Malformed frames are counted, logged
** once per peer, and dropped.
*/
#include "coord_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errf.h"
#include "hash.h"
#include "log.h"
#include "sock.h"

#define MAX_CREDIT         65536
#define MAX_LOGGED_UNKNOWN 1024


const char *
coord_intern(coord_t *c, const char *s)
{
    for (int i = 0; i < c->n_names; i++)
        if (strcmp(c->names[i], s) == 0)
            return c->names[i];
    if (c->n_names == c->cap_names) {
        int cap = c->cap_names ? c->cap_names * 2 : 16;
        char **n = realloc(c->names, (size_t)cap * sizeof *n);
        if (n == NULL)
            return "?";
        c->names = n;
        c->cap_names = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL)
        return "?";
    c->names[c->n_names++] = copy;
    return copy;
}


static uint64_t
id_key(const unsigned char *id, size_t idlen)
{
    uint64_t k = hash_bytes(0x70656572, id, idlen);
    return k ? k : 1;
}


static int
find_peer(coord_t *c, const unsigned char *id, size_t idlen)
{
    void *v = u64map_get(c->peer_index, id_key(id, idlen));
    if (v == NULL)
        return -1;
    int slot = (int)((intptr_t)v - 1);
    cpeer_t *p = &c->peers[slot];
    if (!p->alive || p->idlen != idlen || memcmp(p->id, id, idlen) != 0)
        return -1;
    return slot;
}


/* Drop a peer and requeue every request it held. */
static void
drop_peer(coord_t *c, int slot, const char *why)
{
    cpeer_t *peer = &c->peers[slot];
    size_t pos = 0;
    uint64_t key;
    void *v;
    int requeued = 0;

    if (!peer->alive)
        return;
    peer->alive = 0;
    u64map_del(c->peer_index, peer->idkey);
    c->stats.peers[peer->role]--;
    c->stats.credit[peer->role] -= peer->credit;
    /* Items batched for it this turn are in the problems' state too. */
    peer->n_out = 0;
    peer->out_bytes = 0;
    while (u64map_next(c->problems, &pos, &key, &v)) {
        cproblem_t *p = v;
        if (p->peer == slot && !p->queued) {
            p->peer = -1;
            coord_requeue(c, p);
            requeued++;
        }
    }
    tlog(TLOG_WARN, "coordinator", "dropped %s peer %s (%s); requeued %d",
         env_role_name(peer->role), peer->name, why, requeued);
}


static void
send_heartbeat(coord_t *c, int slot)
{
    Trim__Heartbeat beat = TRIM__HEARTBEAT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    env.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &beat;
    coord_send(c, slot, &env);
}


/* Register a peer from its Ready; an identity seen before starts over. */
static void
on_ready(coord_t *c, const unsigned char *id, size_t idlen,
         const Trim__Ready *r, int64_t now)
{
    int slot = find_peer(c, id, idlen);

    if (slot >= 0)
        drop_peer(c, slot, "announced itself again");
    if (r->role < TRIM__ROLE__ROLE_SMALL || r->role > TRIM__ROLE__ROLE_ROUTER ||
        r->credit == 0) {
        tlog(TLOG_WARN, "coordinator",
             "refused peer %s: role %d, credit %u is not a valid announce",
             r->name, (int)r->role, r->credit);
        c->stats.bad_messages++;
        return;
    }
    for (slot = 0; slot < c->n_peers; slot++)
        if (!c->peers[slot].alive)
            break;
    if (slot == c->n_peers) {
        if (c->n_peers == c->cap_peers) {
            int cap = c->cap_peers ? c->cap_peers * 2 : 16;
            cpeer_t *np = realloc(c->peers, (size_t)cap * sizeof *np);
            if (np == NULL) {
                tlog(TLOG_ERROR, "coordinator", "out of memory for peers");
                return;
            }
            memset(np + c->cap_peers, 0,
                   (size_t)(cap - c->cap_peers) * sizeof *np);
            c->peers = np;
            c->cap_peers = cap;
        }
        c->n_peers++;
    }
    cpeer_t *p = &c->peers[slot];
    void **out = p->out;
    size_t cap_out = p->cap_out;
    memset(p, 0, sizeof *p);
    p->out = out;
    p->cap_out = cap_out;
    p->alive = 1;
    memcpy(p->id, id, idlen);
    p->idlen = idlen;
    p->idkey = id_key(id, idlen);
    p->role = r->role;
    p->credit = r->credit > MAX_CREDIT ? MAX_CREDIT : r->credit;
    p->name = coord_intern(c, r->name[0] ? r->name : "unnamed");
    p->last_recv_ms = now;
    p->last_send_ms = now;
    u64map_put(c->peer_index, p->idkey, (void *)(intptr_t)(slot + 1));
    c->stats.peers[p->role]++;
    c->stats.credit[p->role] += p->credit;
    tlog(TLOG_INFO, "coordinator", "%s peer %s joined (credit %u, %s)",
         env_role_name(p->role), p->name, p->credit, r->backend);
    /* Answer at once: a peer that started before this coordinator listened
    ** has been counting the wait against our liveness since it started,
    ** and would give up and reconnect before our first heartbeat. */
    send_heartbeat(c, slot);
}


/* Tell an unannounced identity to announce itself; log it once. */
static void
on_unknown(coord_t *c, const unsigned char *id, size_t idlen, const char *what)
{
    Trim__Disconnect d = TRIM__DISCONNECT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    uint64_t key = id_key(id, idlen);

    c->stats.unknown_peers++;
    if (u64map_size(c->logged_unknown) < MAX_LOGGED_UNKNOWN &&
        u64map_get(c->logged_unknown, key) == NULL) {
        u64map_put(c->logged_unknown, key, (void *)1);
        tlog(TLOG_WARN, "coordinator",
             "%s from an unknown peer (id %016llx); asked it to announce "
             "itself",
             what, (unsigned long long)key);
    }
    d.reason = "unknown peer: send Ready";
    env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &d;
    sock_send_env(c->sock, id, idlen, &env);
}


void
coord_on_frame(coord_t *c, const unsigned char *id, size_t idlen,
               const void *data, size_t len, int extra)
{
    char err[256];
    int64_t now = clock_now_ms();
    int slot = find_peer(c, id, idlen);
    Trim__Envelope *env = NULL;

    if (slot >= 0)
        c->peers[slot].last_recv_ms = now;
    if (extra)
        errf(err, sizeof err, "a multi-frame message");
    else
        env = env_unpack_in(c->in_arena, data, len, err, sizeof err);
    if (env == NULL) {
        c->stats.bad_messages++;
        uint64_t key = id_key(id, idlen);
        int first =
            slot >= 0 ? !c->peers[slot].logged_bad++
                      : (u64map_size(c->logged_unknown) < MAX_LOGGED_UNKNOWN &&
                         u64map_get(c->logged_unknown, key) == NULL);
        if (slot < 0 && first)
            u64map_put(c->logged_unknown, key, (void *)1);
        if (first)
            tlog(TLOG_WARN, "coordinator",
                 "dropped a bad frame from %s (id %016llx): %s",
                 slot >= 0 ? c->peers[slot].name : "an unknown peer",
                 (unsigned long long)key, err);
        return;
    }
    if (coord_on_client(c, id, idlen, env)) {
        /* Clients need no announcement. */
    } else if (env->body_case == TRIM__ENVELOPE__BODY_READY) {
        on_ready(c, id, idlen, env->ready, now);
    } else if (slot < 0) {
        if (env->body_case != TRIM__ENVELOPE__BODY_DISCONNECT)
            on_unknown(c, id, idlen, "a message");
    } else {
        switch (env->body_case) {
        case TRIM__ENVELOPE__BODY_HEARTBEAT:
            break;
        case TRIM__ENVELOPE__BODY_DISCONNECT:
            errf(err, sizeof err, "it disconnected: %s",
                 env->disconnect->reason);
            drop_peer(c, slot, err);
            break;
        case TRIM__ENVELOPE__BODY_STEP_RESULTS:
            coord_on_step_results(c, slot, env->step_results);
            break;
        case TRIM__ENVELOPE__BODY_STEP_SCORES:
            coord_on_step_scores(c, slot, env->step_scores);
            break;
        case TRIM__ENVELOPE__BODY_DECISIONS:
            coord_on_decisions(c, slot, env->decisions);
            break;
        default:
            c->stats.bad_messages++;
            if (!c->peers[slot].logged_bad++)
                tlog(TLOG_WARN, "coordinator",
                     "dropped a message of type %d from %s: peers do not "
                     "send it",
                     (int)env->body_case, c->peers[slot].name);
            break;
        }
    }
}


int
coord_send(coord_t *c, int slot, Trim__Envelope *env)
{
    cpeer_t *p = &c->peers[slot];

    if (sock_send_env(c->sock, p->id, p->idlen, env) < 0) {
        char why[128];
        errf(why, sizeof why, "send failed: %s", zmq_strerror(errno));
        drop_peer(c, slot, why);
        return -1;
    }
    p->last_send_ms = clock_now_ms();
    return 0;
}


void
coord_check_peers(coord_t *c, int64_t now)
{
    int64_t hb = c->opts.heartbeat_ms;
    int64_t dead_after = hb * c->opts.liveness;

    for (int i = 0; i < c->n_peers; i++) {
        cpeer_t *p = &c->peers[i];
        if (!p->alive)
            continue;
        if (now - p->last_recv_ms > dead_after) {
            drop_peer(c, i, "silent past its liveness");
            continue;
        }
        if (now - p->last_send_ms >= hb)
            send_heartbeat(c, i);
    }
}


int
coord_pick_peer(coord_t *c, Trim__Role role)
{
    int best = -1;
    int64_t best_free = 0;

    for (int i = 0; i < c->n_peers; i++) {
        cpeer_t *p = &c->peers[i];
        if (!p->alive || p->role != role)
            continue;
        int64_t free_credit = (int64_t)p->credit - p->outstanding;
        if (free_credit > best_free) {
            best = i;
            best_free = free_credit;
        }
    }
    return best;
}


void
coord_shutdown_peers(coord_t *c)
{
    Trim__Disconnect d = TRIM__DISCONNECT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    d.reason = "run complete";
    d.shutdown = 1;
    env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &d;
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i].alive)
            sock_send_env(c->sock, c->peers[i].id, c->peers[i].idlen, &env);
}
