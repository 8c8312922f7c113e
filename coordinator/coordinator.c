/*
** coordinator.c: the coordinator's loop, socket and dispatch.
**
** One thread runs everything: it drains every frame waiting on the ROUTER
** socket, lets the step machine turn replies into new requests, then hands
** queued requests to peers with free credit, building one batch message per
** peer per turn.  Under load a turn carries many requests per message; under
** light load a batch holds one.  The writer's notification descriptor is in
** the same poll, so clients waiting for durability are answered as soon as
** their rows are committed.
*/
#include "coord_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "curve.h"
#include "errf.h"
#include "log.h"
#include "sock.h"

#define DRAIN_MAX   4096      /* frames read per turn before dispatching */
#define BATCH_BYTES (4 << 20) /* flush a peer's batch past this size */
#define PROGRESS_MS 100


/* Fill in the defaults of the options left at 0, and cap max_steps. */
static void
apply_defaults(coord_opts_t *o)
{
    if (o->concurrency <= 0)
        o->concurrency = 256;
    if (o->max_steps <= 0)
        o->max_steps = 30;
    if (o->max_steps > TRIM_MAX_STEPS - 1)
        o->max_steps = TRIM_MAX_STEPS - 1;
    if (o->max_tokens <= 0)
        o->max_tokens = 2048;
    if (o->heartbeat_ms <= 0)
        o->heartbeat_ms = 1000;
    if (o->liveness <= 0)
        o->liveness = 3;
    if (o->max_attempts <= 0)
        o->max_attempts = 3;
    if (o->max_queued <= 0)
        o->max_queued = 1000000;
    if (o->router_timeout_ms <= 0)
        o->router_timeout_ms = 2000;
    if (o->request_deadline_ms <= 0)
        o->request_deadline_ms = COORD_REQUEST_DEADLINE_MS;
    if (o->queue_window <= 0)
        o->queue_window = 4096;
}


/* Make the ROUTER socket (CURVE server if keys are set) and bind it. */
static int
open_socket(coord_t *c, void *zctx, char *err, size_t errlen)
{
    int one = 1;

    c->sock = sock_new(zctx, ZMQ_ROUTER, err, errlen);
    if (c->sock == NULL)
        return -1;
    /* Unroutable sends fail with EHOSTUNREACH instead of vanishing; a
    ** reconnecting peer that reuses an identity takes over the old one. */
    if (zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
        zmq_setsockopt(c->sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one))
        return errf(err, errlen, "zmq_setsockopt: %s", zmq_strerror(errno));
    if (c->opts.curve_keys != NULL &&
        curve_server(c->sock, c->opts.curve_keys, err, errlen) < 0)
        return -1;
    if (sock_ipv6_for(c->sock, c->endpoint) != 0 ||
        zmq_bind(c->sock, c->endpoint) != 0)
        return errf(err, errlen, "cannot bind %s: %s", c->endpoint,
                    zmq_strerror(errno));
    return 0;
}


coord_t *
coord_new(void *zctx, const coord_opts_t *o, store_writer_t *writer, char *err,
          size_t errlen)
{
    coord_t *c = calloc(1, sizeof *c);

    if (c == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    c->opts = *o;
    apply_defaults(&c->opts);
    c->writer = writer;
    c->endpoint = strdup(o->endpoint);
    c->db = strdup(o->db);
    c->opts.endpoint = c->endpoint;
    c->opts.db = c->db;
    c->runs = u64map_new();
    c->problems = u64map_new();
    c->queued = u64map_new();
    c->page_skip = u64map_new();
    c->page_durable = -1;
    c->feeding = o->feed != NULL;
    c->client_index = u64map_new();
    c->arena = arena_new(1 << 20);
    c->in_arena = arena_new(1 << 20);
    if (!c->endpoint || !c->db || !c->runs || !c->problems || !c->queued ||
        !c->page_skip || !c->client_index || !c->arena || !c->in_arena ||
        coord_peers_init(c) < 0 || coord_metrics_init(c) < 0) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if (store_next_ids(c->db, &c->next_run_id, &c->next_problem_id, err,
                       errlen) < 0 ||
        open_socket(c, zctx, err, errlen) < 0)
        goto fail;
    c->fresh_from = c->next_problem_id;
    return c;
fail:
    coord_destroy(&c);
    return NULL;
}


void
coord_destroy(coord_t **cp)
{
    coord_t *c;
    cproblem_t *p;
    size_t pos;
    uint64_t id;
    void *v;

    if (cp == NULL || *cp == NULL)
        return;
    c = *cp;
    sock_destroy(&c->sock);
    while ((p = pool_queue_pop(&c->admission)) != NULL)
        coord_problem_destroy(&p);
    /* Problems in pool queues are in the map too: free each once.  A held
    ** row is put first, so a restart resumes after its step. */
    for (pos = 0; c->problems && u64map_next(c->problems, &pos, &id, &v);) {
        p = v;
        if (!c->fatal)
            coord_put_held(c, p, NAN);
        coord_problem_destroy(&p);
    }
    u64map_destroy(&c->problems);
    u64map_destroy(&c->queued);
    u64map_destroy(&c->page_skip);
    coord_clients_free(c);
    u64map_destroy(&c->client_index);
    store_reader_destroy(&c->reader);
    for (pos = 0; c->runs && u64map_next(c->runs, &pos, &id, &v);) {
        crun_t *run = v;
        coord_run_destroy(&run);
    }
    u64map_destroy(&c->runs);
    coord_peers_free(c);
    coord_pending_clear(c);
    arena_destroy(&c->arena);
    arena_destroy(&c->in_arena);
    free(c->endpoint);
    free(c->db);
    free(c->spec_want);
    coord_metrics_free(c);
    free(c);
    *cp = NULL;
}


const coord_stats_t *
coord_stats(const coord_t *c)
{
    return &c->stats;
}


/* A writer ticket t for run's rows: remembered, or a fatal store error. */
static int64_t
took_ticket(coord_t *c, crun_t *run, int64_t t)
{
    if (t < 0) {
        tlog(TLOG_ERROR, "coordinator", "audit store failed: %s",
             store_writer_error(c->writer));
        c->fatal = 1;
    } else {
        c->last_ticket = t;
        if (run)
            run->last_ticket = t;
    }
    return t;
}


int64_t
coord_put_step(coord_t *c, cproblem_t *p, const store_step_t *row)
{
    store_usage_total_t d;

    if (p->has_held && coord_put_held(c, p, NAN) < 0)
        return -1;
    d = store_usage_add(&p->usage, row);
    store_usage_sum(&p->run->t.usage, &d);
    return took_ticket(c, p->run, store_writer_put_step(c->writer, row));
}


void
coord_hold_step(cproblem_t *p, const store_step_t *row)
{
    p->held = *row;
    p->held.text = NULL; /* steps[step_index] once accepted */
    p->has_held = 1;
}


int64_t
coord_put_held(coord_t *c, cproblem_t *p, double score)
{
    store_step_t row = p->held;
    int64_t t;

    if (!p->has_held)
        return c->last_ticket;
    p->has_held = 0;
    if (row.step_index >= p->n_steps) /* its acceptance failed */
        return c->last_ticket;
    row.text = p->steps[row.step_index];
    row.prm_score = score;
    t = coord_put_step(c, p, &row);
    coord_notify_step(c, p, row.step_index); /* now that the row is put */
    return t;
}


int64_t
coord_put_problem(coord_t *c, crun_t *run, const store_problem_t *row)
{
    return took_ticket(c, run, store_writer_put_problem(c->writer, row));
}


int64_t
coord_put_ended(coord_t *c, const cproblem_t *p, const store_problem_t *row)
{
    int64_t t = coord_put_problem(c, p->run, row);

    if (t < 0 || p->usage.rows == 0)
        return t;
    return took_ticket(c, p->run,
                       store_writer_put_usage(c->writer, p->id, &p->usage.t));
}


/*
** Free the husks of problems cancelled while waiting for admission.  Run
** once they outnumber the problems still waiting, so the walk costs each
** cancel O(1) on average and a saturated coordinator (admitting nothing)
** keeps at most as many husks as it has problems waiting.
*/
static void
drop_husks(coord_t *c)
{
    pool_queue_t keep = {0};
    cproblem_t *p;

    while ((p = pool_queue_pop(&c->admission)) != NULL) {
        if (p->stage == STAGE_DONE)
            coord_problem_destroy(&p);
        else
            pool_queue_push(&keep, p);
    }
    c->admission = keep;
    c->husks = 0;
}


/* Start queued problems while there is room in flight; refill the
** window from the store or the feeder. */
static void
admit(coord_t *c)
{
    coord_page_in(c);
    if (c->husks > c->stats.queued)
        drop_husks(c);
    while (c->admission.head) {
        if (c->admission.head->stage == STAGE_DONE) { /* a husk */
            cproblem_t *p = pool_queue_pop(&c->admission);
            coord_problem_destroy(&p);
            c->husks--;
            continue;
        }
        if (c->stats.in_flight >= c->opts.concurrency)
            break;
        cproblem_t *p = pool_queue_pop(&c->admission);
        u64map_del(c->queued, (uint64_t)p->id);
        if (u64map_put(c->problems, (uint64_t)p->id, p) < 0) {
            tlog(TLOG_ERROR, "coordinator", "out of memory admitting %lld",
                 (long long)p->id);
            c->fatal = 1;
            coord_problem_destroy(&p);
            return;
        }
        c->stats.queued--;
        c->stats.in_flight++;
        coord_start_problem(c, p);
    }
}


/* Send peer slot's pending batch as one message. */
static void
flush_peer(coord_t *c, int slot)
{
    cpeer_t *peer = &c->peers[slot];
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    Trim__GenerateBatch gen = TRIM__GENERATE_BATCH__INIT;
    Trim__ScoreBatch score = TRIM__SCORE_BATCH__INIT;
    Trim__RouteBatch route = TRIM__ROUTE_BATCH__INIT;

    if (peer->n_out == 0)
        return;
    switch (peer->role) {
    case TRIM__ROLE__ROLE_SMALL:
    case TRIM__ROLE__ROLE_LARGE:
        gen.n_items = peer->n_out;
        gen.items = (Trim__GenerateStep **)peer->out;
        env.body_case = TRIM__ENVELOPE__BODY_GENERATE;
        env.generate = &gen;
        break;
    case TRIM__ROLE__ROLE_PRM:
        score.n_items = peer->n_out;
        score.items = (Trim__ScoreSteps **)peer->out;
        env.body_case = TRIM__ENVELOPE__BODY_SCORE;
        env.score = &score;
        break;
    default:
        route.n_items = peer->n_out;
        route.items = (Trim__ScoredStep **)peer->out;
        env.body_case = TRIM__ENVELOPE__BODY_ROUTE;
        env.route = &route;
        break;
    }
    peer->n_out = 0;
    peer->out_bytes = 0;
    /* A failed send drops the peer, which requeues what it held. */
    coord_send(c, slot, &env);
}


/*
** Hand queued requests to peers with free credit, one batch per peer, each
** problem's to the peer that took its previous request in the pool when it
** can (coord_opts_t.no_affinity).
*/
static void
dispatch(coord_t *c)
{
    for (int role = 1; role < ROLE_COUNT; role++) {
        pool_queue_t *q = &c->pools[role];
        while (q->head) {
            /* Routers keep no cache: affinity is for the model pools; and
            ** a request retried after an error reply may go elsewhere. */
            uint64_t last =
                role == TRIM__ROLE__ROLE_ROUTER || q->head->failures > 0
                    ? 0
                    : q->head->affinity[role];
            int slot =
                coord_pick_peer(c, (Trim__Role)role, q->head->expired_on - 1,
                                c->opts.no_affinity ? 0 : last);
            if (slot < 0)
                break;
            cproblem_t *p = pool_queue_pop(q);
            p->queued = 0;
            if (last != 0 && c->peers[slot].joined == last)
                c->stats.affinity_same[role]++;
            else if (last != 0)
                c->stats.affinity_moved[role]++;
            p->affinity[role] = c->peers[slot].joined;
            if (coord_add_request(c, slot, p) < 0) {
                c->fatal = 1;
                return;
            }
            if (c->peers[slot].out_bytes > BATCH_BYTES ||
                c->peers[slot].n_out >= TRIM_MAX_BATCH)
                flush_peer(c, slot);
        }
    }
    coord_spec_dispatch(c); /* what credit is left */
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i].alive)
            flush_peer(c, i);
    arena_reset(c->arena);
}


/* Read every waiting frame (up to DRAIN_MAX). 0, or -1 on socket error. */
static int
drain(coord_t *c)
{
    unsigned char id[PEER_ID_MAX];
    size_t idlen;
    zmq_msg_t msg;
    int extra;

    for (int i = 0; i < DRAIN_MAX; i++) {
        int rc = sock_recv(c->sock, 1, id, &idlen, &msg, &extra);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            if (errno == EINTR)
                return 0;
            tlog(TLOG_ERROR, "coordinator", "receive: %s", zmq_strerror(errno));
            return -1;
        }
        coord_on_frame(c, id, idlen, zmq_msg_data(&msg), zmq_msg_size(&msg),
                       extra);
        zmq_msg_close(&msg);
        arena_reset(c->in_arena);
    }
    return 0;
}


/* Keep one routed-steps sample a second for the status rate. */
static void
sample_rate(coord_t *c, int64_t now)
{
    int last = (int)((now / 1000) % 8);
    if (c->rate_ms[last] / 1000 != now / 1000) {
        c->rate_ms[last] = now;
        c->rate_steps[last] = c->stats.routed_steps;
    }
}


double
coord_rate(const coord_t *c)
{
    int64_t now = clock_now_ms();
    int newest = (int)((now / 1000) % 8), oldest = -1;

    /* The oldest sample still within the last eight seconds. */
    for (int k = 7; k >= 1; k--) {
        int i = (newest + 8 - k) % 8;
        if (c->rate_ms[i] > 0 && now - c->rate_ms[i] <= 8000) {
            oldest = i;
            break;
        }
    }
    if (oldest < 0 || now <= c->rate_ms[oldest])
        return 0.0;
    return (double)(c->stats.routed_steps - c->rate_steps[oldest]) * 1000.0 /
           (double)(now - c->rate_ms[oldest]);
}


static int
all_done(const coord_t *c)
{
    return c->stats.finished + c->stats.failed + c->stats.cancelled ==
               c->stats.submitted &&
           c->n_pending == 0 && !c->feeding;
}


int
coord_run(coord_t *c, const atomic_int *stop,
          void (*progress)(void *ctx, const coord_stats_t *s), void *ctx)
{
    int64_t next_progress = 0;
    int interval = c->opts.heartbeat_ms / 4 > 0 ? c->opts.heartbeat_ms / 4 : 1;
    zmq_pollitem_t items[2] = {
        {c->sock, 0, ZMQ_POLLIN, 0},
        {NULL, store_writer_notify_fd(c->writer), ZMQ_POLLIN, 0},
    };

    c->next_timer_ms = clock_now_ms();
    while (!atomic_load(stop) && !c->fatal) {
        int64_t now = clock_now_ms();
        if (now >= c->next_timer_ms) {
            coord_check_peers(c, now);
            coord_check_deadlines(c, now);
            sample_rate(c, now);
            coord_metrics_publish(c, now);
            c->next_timer_ms = now + interval;
        }
        if (progress && now >= next_progress) {
            progress(ctx, &c->stats);
            next_progress = now + PROGRESS_MS;
        }
        admit(c);
        dispatch(c);
        if (c->n_pending > 0)
            coord_answer_pending(c);
        coord_flush_pushes(c);
        if (c->opts.exit_when_done && all_done(c))
            break;
        int64_t wait = c->more ? 0 : c->next_timer_ms - now;
        if (progress && next_progress - now < wait)
            wait = next_progress - now;
        if (zmq_poll(items, 2, wait < 0 ? 0 : (long)wait) < 0) {
            if (errno == EINTR)
                continue;
            tlog(TLOG_ERROR, "coordinator", "poll: %s", zmq_strerror(errno));
            return -1;
        }
        if (items[1].revents & ZMQ_POLLIN)
            store_writer_notify_drain(c->writer);
        if (drain(c) < 0)
            return -1;
    }
    if (progress)
        progress(ctx, &c->stats);
    coord_metrics_publish(c, clock_now_ms());
    if (c->opts.exit_when_done)
        coord_shutdown_peers(c, atomic_load(stop) ? "interrupted"
                                                  : "run complete");
    return c->fatal ? -1 : 0;
}
