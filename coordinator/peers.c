/*
** peers.c: the coordinator's peer registry.
**
** A peer exists from its Ready until it goes silent for liveness x interval,
** its route fails, or it announces itself again.  Any frame from a peer is a
** sign of life.  Frames from identities that never sent Ready get a
** Disconnect telling them to announce themselves (a coordinator restart
** looks like this to its workers).  Malformed frames are counted and dropped;
** those a sender can act on are answered first (coord_on_refused: another
** protocol version, an invalid Submit).
**
** Nothing a peer sends can grow the coordinator without bound: at most
** MAX_PEERS peers are live at once (past that a newcomer evicts the oldest
** peer that has never answered and holds nothing, or is refused), names that
** no peer or row-to-be-written holds are freed (sweep_names), and log lines
** about peers go through one limiter per kind of event: a peer's first
** event of each kind in a 10 s window is logged, the rest are counted and
** summed up in one line per window.
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

#define MAX_CREDIT    65536
#define MAX_PEERS     1024  /* live peers at once (make_room) */
#define NAMES_SLACK   1024  /* names kept past those in use before a sweep */
#define LOG_WINDOW_MS 10000 /* per peer and kind: one log line a window */
#define LOG_SOURCES   256   /* peers with lines of their own, per window */


int
coord_peers_init(coord_t *c)
{
    static const char *const what[PEER_LOG_KINDS] = {
        [PEER_LOG_READY] = "Ready",
        [PEER_LOG_DROP] = "peer drops",
        [PEER_LOG_UNKNOWN] = "messages from unknown peers",
        [PEER_LOG_BAD] = "bad messages",
        [PEER_LOG_STALE] = "stale replies",
    };

    c->peer_index = u64map_new();
    c->name_index = u64map_new();
    c->names_limit = NAMES_SLACK;
    if (c->peer_index == NULL || c->name_index == NULL)
        return -1;
    for (int k = 0; k < PEER_LOG_KINDS; k++) {
        c->peer_logs[k] =
            log_limit_new("coordinator", what[k], LOG_WINDOW_MS, LOG_SOURCES);
        if (c->peer_logs[k] == NULL)
            return -1;
    }
    return 0;
}


void
coord_peers_free(coord_t *c)
{
    for (int k = 0; k < PEER_LOG_KINDS; k++)
        log_limit_destroy(&c->peer_logs[k]);
    u64map_destroy(&c->peer_index);
    u64map_destroy(&c->name_index);
    for (int i = 0; i < c->n_peers; i++)
        free(c->peers[i].out);
    free(c->peers);
    c->peers = NULL;
    c->n_peers = c->cap_peers = 0;
    for (int i = 0; i < c->n_names; i++)
        free(c->names[i]);
    free(c->names);
    c->names = NULL;
    c->n_names = c->cap_names = 0;
}


/* ---- names -------------------------------------------------------------- */

static uint64_t
name_key(const char *s)
{
    uint64_t k = hash_bytes(0x6e616d65, s, strlen(s));
    return k ? k : 1;
}


/* The next key of a probe sequence (keys that collide take the next one). */
static uint64_t
next_key(uint64_t k)
{
    return k + 1 ? k + 1 : 1;
}


/*
** The index in c->names of the name s, or -1 with *free_key set to where s
** would go in c->name_index.  The index is rebuilt whole by each sweep and
** never loses a single key, so a probe sequence has no holes.
*/
static int
find_name(const coord_t *c, const char *s, uint64_t *free_key)
{
    for (uint64_t k = name_key(s);; k = next_key(k)) {
        void *v = u64map_get(c->name_index, k);
        if (v == NULL) {
            *free_key = k;
            return -1;
        }
        int i = (int)((intptr_t)v - 1);
        if (strcmp(c->names[i], s) == 0)
            return i;
    }
}


static int
hold(u64map_t *held, const char *name)
{
    return name == NULL
               ? 0
               : u64map_put(held, (uint64_t)(uintptr_t)name, (void *)1);
}


/*
** Free the names nothing holds any more, so that peers announcing themselves
** under ever new names cannot grow the table.  The holders are exactly
** these: live peers, the draft of each problem in flight, and the weak steps
** of a cascade in its first phase (their rows are written when the solution
** is judged; after a regenerate the meta is never read again).  Problems
** waiting for admission have never had a draft.  Pointers are compared,
** never followed.  Any failure leaves every name in place.
*/
static void
sweep_names(coord_t *c)
{
    u64map_t *held = u64map_new(), *index = u64map_new();
    int failed = held == NULL || index == NULL, kept = 0;
    size_t pos = 0;
    uint64_t id;
    void *v;

    for (int i = 0; i < c->n_peers && !failed; i++)
        if (c->peers[i].alive)
            failed = hold(held, c->peers[i].name) < 0;
    while (!failed && u64map_next(c->problems, &pos, &id, &v)) {
        const cproblem_t *p = v;
        failed =
            hold(held, p->draft_worker) < 0 || hold(held, p->spec.worker) < 0;
        if (p->run->shape == POLICY_CASCADE && !p->cascade_strong)
            for (int k = 0; k < p->n_steps && !failed; k++)
                failed = hold(held, p->meta[k].worker) < 0;
    }
    /* The new index first, so that nothing is freed if it fails. */
    for (int i = 0; i < c->n_names && !failed; i++) {
        if (u64map_get(held, (uint64_t)(uintptr_t)c->names[i]) == NULL)
            continue;
        uint64_t k = name_key(c->names[i]);
        while (u64map_get(index, k) != NULL)
            k = next_key(k);
        failed = u64map_put(index, k, (void *)(intptr_t)(++kept)) < 0;
    }
    if (failed) {
        /* Try again once the table has grown by half. */
        c->names_limit = c->n_names + c->n_names / 2 + 1;
        goto done;
    }
    kept = 0;
    for (int i = 0; i < c->n_names; i++) {
        if (u64map_get(held, (uint64_t)(uintptr_t)c->names[i]) != NULL)
            c->names[kept++] = c->names[i];
        else
            free(c->names[i]);
    }
    c->n_names = kept;
    u64map_destroy(&c->name_index);
    c->name_index = index;
    index = NULL;
    /* Sweeping again only after as many new names as kept ones (and the
    ** problems in flight) keeps the cost per new name constant. */
    c->names_limit = 2 * kept + (int)c->stats.in_flight + NAMES_SLACK;
done:
    u64map_destroy(&held);
    u64map_destroy(&index);
}


const char *
coord_intern(coord_t *c, const char *s)
{
    uint64_t key = 0; /* set by find_name when it returns -1 */
    int i = find_name(c, s, &key);

    if (i >= 0)
        return c->names[i];
    if (c->n_names >= c->names_limit) {
        sweep_names(c);
        find_name(c, s, &key); /* the index may be new */
    }
    if (c->n_names == c->cap_names) {
        int cap = c->cap_names ? c->cap_names * 2 : 16;
        char **n = realloc(c->names, (size_t)cap * sizeof *n);
        if (n == NULL)
            return "?";
        c->names = n;
        c->cap_names = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL || u64map_put(c->name_index, key,
                                   (void *)(intptr_t)(c->n_names + 1)) < 0) {
        free(copy);
        return "?";
    }
    c->names[c->n_names++] = copy;
    return copy;
}


/* ---- peers -------------------------------------------------------------- */

/* Whether a line about an event of this kind from this identity is due. */
static int
may_log(coord_t *c, int kind, uint64_t idkey)
{
    return log_limit_allow(c->peer_logs[kind], idkey, clock_now_ms());
}


int
coord_peer_log_due(coord_t *c, int kind, int slot)
{
    return may_log(c, kind, c->peers[slot].idkey);
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
    /* Items batched for it this turn are in the problems' state too; a
    ** peer holding nothing (every request adds to outstanding) needs no walk
    ** over the problems, which keeps a flood of Readys cheap. */
    peer->n_out = 0;
    peer->out_bytes = 0;
    while (peer->outstanding > 0 && u64map_next(c->problems, &pos, &key, &v)) {
        cproblem_t *p = v;
        if (p->peer == slot && !p->queued) {
            p->peer = -1;
            coord_requeue(c, p);
            requeued++;
        }
        coord_spec_peer_lost(p, slot);
    }
    if (may_log(c, PEER_LOG_DROP, peer->idkey))
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


void
coord_send_disconnect(coord_t *c, const unsigned char *id, size_t idlen,
                      const char *reason, int shutdown)
{
    Trim__Disconnect d = TRIM__DISCONNECT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    d.reason = (char *)reason;
    d.shutdown = shutdown != 0;
    env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &d;
    sock_send_env(c->sock, id, idlen, &env);
}


static int
live_peers(const coord_t *c)
{
    int n = 0;
    for (int role = 0; role < ROLE_COUNT; role++)
        n += c->stats.peers[role];
    return n;
}


/*
** The peer table is full: evict the peer that announced itself first of
** those that have never answered a request and hold none, so that a flood
** of Readys cannot lock real workers out (an evicted peer that is real
** announces itself again).  Returns 0, or -1 when every peer has answered
** or holds work: the newcomer (name) is refused.
*/
static int
make_room(coord_t *c, const unsigned char *id, size_t idlen, const char *name,
          int log)
{
    int old = -1;

    for (int i = 0; i < c->n_peers; i++) {
        const cpeer_t *p = &c->peers[i];
        if (p->alive && !p->answered && p->outstanding == 0 &&
            (old < 0 || p->joined < c->peers[old].joined))
            old = i;
    }
    if (old < 0) {
        c->stats.peers_refused++;
        if (log)
            tlog(TLOG_WARN, "coordinator",
                 "refused peer %s: %d peers are live, the most there may be, "
                 "and each has answered or holds work",
                 name, MAX_PEERS);
        coord_send_disconnect(c, id, idlen, "too many peers", 0);
        return -1;
    }
    c->stats.peers_evicted++;
    coord_send_disconnect(c, c->peers[old].id, c->peers[old].idlen,
                          "evicted: the peer table is full and this peer "
                          "never answered; announce again",
                          0);
    drop_peer(c, old, "evicted for a newcomer: the peer table is full");
    return 0;
}


/* Register a peer from its Ready; an identity seen before starts over. */
static void
on_ready(coord_t *c, const unsigned char *id, size_t idlen,
         const Trim__Ready *r, int64_t now)
{
    int slot = find_peer(c, id, idlen);
    int log = may_log(c, PEER_LOG_READY, id_key(id, idlen));

    if (slot >= 0)
        drop_peer(c, slot, "announced itself again");
    if (r->role < TRIM__ROLE__ROLE_SMALL || r->role > TRIM__ROLE__ROLE_ROUTER ||
        r->credit == 0) {
        if (log)
            tlog(TLOG_WARN, "coordinator",
                 "refused peer %s: role %d, credit %u is not a valid announce",
                 r->name, (int)r->role, r->credit);
        c->stats.bad_messages++;
        /* Announcing again the same way would be refused the same way. */
        coord_send_disconnect(c, id, idlen,
                              r->credit == 0 ? "credit 0: announce at least 1"
                                             : "unknown role",
                              1);
        return;
    }
    if (live_peers(c) >= MAX_PEERS && make_room(c, id, idlen, r->name, log) < 0)
        return;
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
    p->deadline_ms = r->deadline_ms;
    p->sim = strncmp(r->backend, "sim", 3) == 0;
    p->joined = ++c->peer_joins;
    p->last_recv_ms = now;
    p->last_send_ms = now;
    u64map_put(c->peer_index, p->idkey, (void *)(intptr_t)(slot + 1));
    c->stats.peers[p->role]++;
    c->stats.credit[p->role] += p->credit;
    if (log)
        tlog(TLOG_INFO, "coordinator", "%s peer %s joined (credit %u, %s)",
             env_role_name(p->role), p->name, p->credit, r->backend);
    /* Answer at once: a peer that started before this coordinator listened
    ** has been counting the wait against our liveness since it started,
    ** and would give up and reconnect before our first heartbeat. */
    send_heartbeat(c, slot);
}


/* Tell an unannounced identity to announce itself. */
static void
on_unknown(coord_t *c, const unsigned char *id, size_t idlen, const char *what)
{
    uint64_t key = id_key(id, idlen);

    c->stats.unknown_peers++;
    if (may_log(c, PEER_LOG_UNKNOWN, key))
        tlog(TLOG_WARN, "coordinator",
             "%s from an unknown peer (id %016llx); asked it to announce "
             "itself",
             what, (unsigned long long)key);
    coord_send_disconnect(c, id, idlen, "unknown peer: send Ready", 0);
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
        if (!extra)
            coord_on_refused(c, id, idlen, data, len, err);
        c->stats.bad_messages++;
        uint64_t key = id_key(id, idlen);
        if (may_log(c, PEER_LOG_BAD, key))
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
            coord_count_cached(c, slot, env);
            coord_on_step_results(c, slot, env->step_results);
            break;
        case TRIM__ENVELOPE__BODY_STEP_SCORES:
            coord_count_cached(c, slot, env);
            coord_on_step_scores(c, slot, env->step_scores);
            break;
        case TRIM__ENVELOPE__BODY_DECISIONS:
            coord_on_decisions(c, slot, env->decisions);
            break;
        default:
            c->stats.bad_messages++;
            if (coord_peer_log_due(c, PEER_LOG_BAD, slot))
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

    for (int k = 0; k < PEER_LOG_KINDS; k++)
        log_limit_tick(c->peer_logs[k], now);

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
coord_pick_peer(coord_t *c, Trim__Role role, int avoid, uint64_t prefer)
{
    int best = -1, fallback = -1, spare = -1, healthy = 0;
    int64_t best_free = 0, spare_free = 0, now = 0;

    for (int i = 0; i < c->n_peers; i++) {
        cpeer_t *p = &c->peers[i];
        if (!p->alive || p->role != role)
            continue;
        int64_t free_credit = (int64_t)p->credit - p->outstanding;
        /* The clock is read only when a peer was ever quarantined: this
        ** runs for every request, and the answer is the same. */
        if (p->quarantine_until_ms > 0 && now == 0)
            now = clock_now_ms();
        if (p->quarantine_until_ms > now) {
            /* Asked only when all of the pool is quarantined. */
            if (free_credit > spare_free) {
                spare = i;
                spare_free = free_credit;
            }
            continue;
        }
        healthy = 1;
        if (free_credit > 0 && p->joined == prefer && i != avoid)
            return i;
        if (free_credit > 0 && i == avoid) {
            fallback = i;
        } else if (free_credit > best_free) {
            best = i;
            best_free = free_credit;
        }
    }
    if (!healthy)
        return spare;
    return best >= 0 ? best : fallback;
}


/* One reply's prompt tokens and the part its server's cache held, counted
** for the pool and for the run of its problem while it is held. */
static void
count_reply(coord_t *c, int role, const Trim__Key *key, uint32_t prompt,
            uint32_t cached)
{
    int64_t held = cached < prompt ? cached : prompt;
    cproblem_t *p = coord_find_problem(c, (int64_t)key->problem_id);

    c->stats.prompt_tokens[role] += prompt;
    c->stats.cached_tokens[role] += held;
    if (p != NULL) {
        p->run->t.pool_prompt[role] += prompt;
        p->run->t.pool_cached[role] += held;
    }
}


void
coord_count_cached(coord_t *c, int slot, const Trim__Envelope *env)
{
    int role = c->peers[slot].role;

    if (env->body_case == TRIM__ENVELOPE__BODY_STEP_RESULTS) {
        for (size_t i = 0; i < env->step_results->n_items; i++) {
            const Trim__StepResult *r = env->step_results->items[i];
            count_reply(c, role, r->key, r->prompt_tokens, r->cached_tokens);
        }
    } else if (env->body_case == TRIM__ENVELOPE__BODY_STEP_SCORES) {
        for (size_t i = 0; i < env->step_scores->n_items; i++) {
            const Trim__StepScores *r = env->step_scores->items[i];
            count_reply(c, role, r->key, r->input_tokens, r->cached_tokens);
        }
    }
}


int32_t
coord_reported_cached(uint32_t cached, uint32_t total, int reported)
{
    if (!reported)
        return -1;
    return (int32_t)(cached < total ? cached : total);
}


void
coord_row_cached(store_step_t *row, int32_t cached, int32_t prm_cached)
{
    row->has_cached = cached >= 0;
    row->cached_tokens = cached >= 0 ? cached : 0;
    row->has_prm_cached = prm_cached >= 0;
    row->prm_cached_tokens = prm_cached >= 0 ? prm_cached : 0;
}


void
coord_shutdown_peers(coord_t *c, const char *reason)
{
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i].alive)
            coord_send_disconnect(c, c->peers[i].id, c->peers[i].idlen, reason,
                                  1);
}


void
coord_peer_answered(coord_t *c, int slot, int64_t sent_us)
{
    cpeer_t *peer = &c->peers[slot];

    if (peer->outstanding > 0)
        peer->outstanding--;
    peer->missed = 0;
    peer->quarantines = 0;
    peer->answered = 1;
    coord_metrics_reply(c, peer->role, sent_us);
}
