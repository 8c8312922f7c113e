/*
** service.c: the router service loop (see service.h).
*/
#include "service.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "health.h"
#include "log.h"
#include "peer.h"
#include "policy.h"
#include "sock.h"

#define POLICY_CACHE 32

struct router_service {
    peer_t *peer;
    void *pub; /* decision feed, or NULL */
    char name[TRIM_MAX_NAME];
    health_t health;
    /* Parsed policies by spec; a run uses one, a busy router a few. */
    policy_t *policies[POLICY_CACHE];
    size_t n_policies;
    /* Their decisions_total series, keep and regenerate (NULL: none). */
    prom_counter_t *keeps[POLICY_CACHE], *regenerates[POLICY_CACHE];
    prom_registry_t *metrics;
    prom_label_values_t policy_labels; /* capped: a client picks the spec */
    prom_histogram_t *decision_seconds;
    /* For readiness: when the coordinator was last heard (monotonic ms). */
    uint64_t heard;
    _Atomic int64_t heard_ms;
    int64_t live_ms; /* heard within this long: connected */
    /* router_opts_t's model for "pomdp:LAMBDA", borrowed */
    const pomdp_model_t *pomdp_default;
    uint64_t sequence; /* feed sequence number */
    uint64_t decisions;
    /* Reply buffers, grown to the largest batch seen. */
    Trim__RouteDecision *items;
    Trim__RouteDecision **item_ptrs;
    Trim__Key *keys;
    route_result_t *results;
    size_t cap;
};


/* A decision takes microseconds: buckets from 1 us to 10 ms. */
static const double decision_buckets[] = {1e-6,   2.5e-6, 5e-6,   1e-5, 2.5e-5,
                                          5e-5,   1e-4,   2.5e-4, 5e-4, 1e-3,
                                          2.5e-3, 5e-3,   1e-2};


router_service_t *
router_service_new(void *zctx, const router_opts_t *o, char *err, size_t errlen)
{
    router_service_t *r = calloc(1, sizeof *r);
    peer_opts_t po = {0};

    if (r == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(r->name, sizeof r->name, "%s", o->name ? o->name : "router");
    r->pomdp_default = o->pomdp_default;
    r->health.path = o->health_file;
    r->health.name = r->name;
    r->metrics = o->metrics;
    r->decision_seconds = prom_histogram(
        o->metrics, "trim_router_decision_duration_seconds",
        "Time a policy takes to decide one scored step, in seconds", NULL,
        decision_buckets, sizeof decision_buckets / sizeof *decision_buckets);
    atomic_init(&r->heard_ms, INT64_MIN / 2);
    r->live_ms = (int64_t)(o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000) *
                 (o->liveness > 0 ? o->liveness : 3);
    if (o->pub_endpoint != NULL) {
        r->pub = sock_new(zctx, ZMQ_PUB, err, errlen);
        if (r->pub == NULL)
            goto fail;
        if (o->curve != NULL && curve_server(r->pub, o->curve, err, errlen))
            goto fail;
        if (sock_ipv6_for(r->pub, o->pub_endpoint) != 0 ||
            zmq_bind(r->pub, o->pub_endpoint) != 0) {
            errf(err, errlen, "cannot bind decision feed %s: %s",
                 o->pub_endpoint, zmq_strerror(errno));
            goto fail;
        }
    }
    po.endpoint = o->endpoint;
    po.role = TRIM__ROLE__ROLE_ROUTER;
    po.credit = o->credit ? o->credit : 1024;
    po.name = r->name;
    po.backend = "policies";
    po.heartbeat_ms = o->heartbeat_ms;
    po.liveness = o->liveness;
    po.curve = o->curve;
    po.server_key = o->server_key;
    r->peer = peer_new(zctx, &po, err, errlen);
    if (r->peer == NULL)
        goto fail;
    return r;
fail:
    router_service_destroy(&r);
    return NULL;
}


void
router_service_destroy(router_service_t **rp)
{
    if (rp && *rp) {
        router_service_t *r = *rp;
        peer_destroy(&r->peer);
        sock_destroy(&r->pub);
        for (size_t i = 0; i < r->n_policies; i++)
            policy_destroy(&r->policies[i]);
        prom_label_values_clear(&r->policy_labels);
        free(r->items);
        free(r->item_ptrs);
        free(r->keys);
        free(r->results);
        free(r);
        *rp = NULL;
    }
}


uint64_t
router_service_decisions(const router_service_t *r)
{
    return r->decisions;
}


int
router_service_ready(const router_service_t *r, char *reason, size_t reasonlen)
{
    int64_t heard_ms = atomic_load(&((router_service_t *)r)->heard_ms);

    if (clock_now_ms() - heard_ms <= r->live_ms)
        return 0;
    snprintf(reason, reasonlen,
             "not connected: the coordinator was not heard in the last %lld "
             "ms",
             (long long)r->live_ms);
    return -1;
}


/* The decisions_total series of the policy in cache slot i. */
static void
policy_series(router_service_t *r, size_t i)
{
    const char *help = "Decisions the router made, by policy and action";
    const char *spec =
        r->metrics
            ? prom_label_value(&r->policy_labels, policy_spec(r->policies[i]))
            : "";
    const char *keep[] = {"policy", spec, "action", "keep", NULL};
    const char *regen[] = {"policy", spec, "action", "regenerate", NULL};

    r->keeps[i] =
        prom_counter(r->metrics, "trim_router_decisions_total", help, keep);
    r->regenerates[i] =
        prom_counter(r->metrics, "trim_router_decisions_total", help, regen);
}


/* The cache slot of the parsed policy for spec, parsing it on first use;
** -1 with err. */
static int
policy_for(router_service_t *r, const char *spec, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->n_policies; i++)
        if (strcmp(policy_spec(r->policies[i]), spec) == 0)
            return (int)i;
    policy_t *p = policy_new(spec, r->pomdp_default, err, errlen);
    if (p == NULL)
        return -1;
    if (strcmp(policy_spec(p), spec) != 0) {
        /* Non-canonical spelling: look again under the canonical name. */
        for (size_t i = 0; i < r->n_policies; i++)
            if (strcmp(policy_spec(r->policies[i]), policy_spec(p)) == 0) {
                policy_destroy(&p);
                return (int)i;
            }
    }
    if (r->n_policies == POLICY_CACHE) {
        /* A router rarely sees this many specs; start the cache over. */
        for (size_t i = 0; i < r->n_policies; i++)
            policy_destroy(&r->policies[i]);
        r->n_policies = 0;
    }
    r->policies[r->n_policies] = p;
    policy_series(r, r->n_policies);
    return (int)r->n_policies++;
}


static int
reserve(router_service_t *r, size_t n)
{
    if (n <= r->cap)
        return 0;
    size_t cap = n < 64 ? 64 : n;
    void *a = realloc(r->items, cap * sizeof *r->items);
    if (a)
        r->items = a;
    void *b = realloc(r->item_ptrs, cap * sizeof *r->item_ptrs);
    if (b)
        r->item_ptrs = b;
    void *c = realloc(r->keys, cap * sizeof *r->keys);
    if (c)
        r->keys = c;
    void *d = realloc(r->results, cap * sizeof *r->results);
    if (d)
        r->results = d;
    if (!a || !b || !c || !d)
        return -1;
    r->cap = cap;
    return 0;
}


/* Answer one batch of scored steps and publish the decisions. */
static void
handle_route(router_service_t *r, const Trim__RouteBatch *batch)
{
    Trim__DecisionBatch reply = TRIM__DECISION_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    char err[POLICY_REASON_MAX];
    size_t n = batch->n_items;

    if (reserve(r, n) < 0) {
        tlog(TLOG_ERROR, r->name, "out of memory for a batch of %zu", n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const Trim__ScoredStep *s = batch->items[i];
        Trim__RouteDecision *d = &r->items[i];
        route_result_t *res = &r->results[i];
        route_features_t f = {0};

        trim__route_decision__init(d);
        r->keys[i] = *s->key;
        r->keys[i].base.unknown_fields = NULL;
        r->keys[i].base.n_unknown_fields = 0;
        d->key = &r->keys[i];
        r->item_ptrs[i] = d;
        f.score = s->score;
        f.min_prev = s->min_prev;
        f.prod_prev = s->prod_prev;
        f.draft_tokens = s->draft_tokens;
        f.step_index = s->key->step_index;
        f.belief = s->belief;
        f.n_belief = s->n_belief;
        f.seed = s->seed;
        f.bias = s->bias;
        f.explore = s->explore;
        int slot = policy_for(r, s->policy, err, sizeof err);
        if (slot < 0) {
            errf(res->reason, sizeof res->reason, "%s", err);
            d->error = res->reason;
            continue;
        }
        int64_t start_us = r->decision_seconds ? clock_now_us() : 0;
        if (policy_decide(r->policies[slot], &f, res) < 0) {
            d->error = res->reason;
            continue;
        }
        if (r->decision_seconds)
            prom_histogram_observe(r->decision_seconds,
                                   (double)(clock_now_us() - start_us) / 1e6);
        prom_counter_add(
            res->regenerate ? r->regenerates[slot] : r->keeps[slot], 1);
        d->action = res->regenerate ? TRIM__ACTION__ACTION_REGENERATE
                                    : TRIM__ACTION__ACTION_KEEP;
        d->prob = res->prob;
        d->n_belief = res->n_belief;
        d->belief = res->belief;
        d->reason = res->reason;
    }
    r->decisions += n;
    reply.n_items = n;
    reply.items = r->item_ptrs;
    reply.sequence = ++r->sequence;
    env.body_case = TRIM__ENVELOPE__BODY_DECISIONS;
    env.decisions = &reply;
    peer_send(r->peer, &env);
    /* The feed drops rather than blocks when a subscriber lags (PUB). */
    if (r->pub != NULL)
        sock_send_env(r->pub, NULL, 0, &env);
}


int
router_service_run(router_service_t *r, const atomic_int *stop)
{
    Trim__Envelope *env;

    while (!atomic_load(stop) && !peer_finished(r->peer)) {
        int timeout = peer_tick(r->peer);
        void *s = peer_socket(r->peer);
        if (s != NULL) {
            zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
            if (timeout > 100)
                timeout = 100; /* notice *stop promptly */
            if (zmq_poll(&item, 1, timeout) < 0 && errno != EINTR) {
                tlog(TLOG_ERROR, r->name, "poll: %s", zmq_strerror(errno));
                return -1;
            }
        } else if (timeout > 0) {
            zmq_poll(NULL, 0, timeout > 100 ? 100 : timeout);
        }
        while (peer_recv(r->peer, &env) == 1) {
            if (env->body_case == TRIM__ENVELOPE__BODY_ROUTE)
                handle_route(r, env->route);
            else
                tlog(TLOG_WARN, r->name, "ignored a message of type %d",
                     (int)env->body_case);
        }
        health_beat(&r->health, peer_stats(r->peer)->heard);
        if (peer_stats(r->peer)->heard != r->heard) {
            r->heard = peer_stats(r->peer)->heard;
            atomic_store(&r->heard_ms, clock_now_ms());
        }
    }
    /* Decisions are made as requests arrive, so nothing is in flight: tell
    ** the coordinator at once, so it sends scored steps elsewhere (or
    ** decides locally) instead of waiting out this router's liveness. */
    if (!peer_finished(r->peer))
        peer_goodbye(r->peer, "router stopping", PEER_GOODBYE_MS);
    return 0;
}
