/*
** worker.c: the worker loop (see worker.h).
*/
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "health.h"
#include "log.h"
#include "peer.h"

#define MAX_POLL    64
#define REPLY_BATCH 1024 /* results per reply message */

struct worker {
    peer_t *peer;
    backend_t *backend;
    Trim__Role role;
    char name[TRIM_MAX_NAME];
    int drain_ms;
    health_t health;
    uint64_t completed;
    uint64_t in_flight; /* handed to the backend, result not yet sent */
    backend_result_t results[REPLY_BATCH];
    /* Reply messages are built here, pointing into results. */
    Trim__Key keys[REPLY_BATCH];
    Trim__StepResult gen[REPLY_BATCH], *genp[REPLY_BATCH];
    Trim__StepScores sco[REPLY_BATCH], *scop[REPLY_BATCH];
};


worker_t *
worker_new(void *zctx, const worker_opts_t *o, backend_t *backend, char *err,
           size_t errlen)
{
    worker_t *w = calloc(1, sizeof *w);
    peer_opts_t po = {0};

    if (w == NULL) {
        errf(err, errlen, "out of memory");
        backend_destroy(&backend);
        return NULL;
    }
    w->backend = backend;
    w->role = o->role;
    w->drain_ms = o->drain_ms;
    snprintf(w->name, sizeof w->name, "%s",
             o->name ? o->name : env_role_name(o->role));
    w->health.path = o->health_file;
    w->health.name = w->name;
    po.endpoint = o->endpoint;
    po.role = o->role;
    po.credit = o->credit ? o->credit : 1;
    po.name = w->name;
    po.backend = backend->name;
    po.heartbeat_ms = o->heartbeat_ms;
    po.liveness = o->liveness;
    po.reconnect_max_ms = o->reconnect_max_ms;
    po.curve = o->curve;
    po.server_key = o->server_key;
    po.deadline_ms = o->deadline_ms;
    w->peer = peer_new(zctx, &po, err, errlen);
    if (w->peer == NULL)
        worker_destroy(&w);
    return w;
}


void
worker_destroy(worker_t **wp)
{
    if (wp && *wp) {
        worker_t *w = *wp;
        peer_destroy(&w->peer);
        backend_destroy(&w->backend);
        free(w);
        *wp = NULL;
    }
}


uint64_t
worker_completed(const worker_t *w)
{
    return w->completed;
}


/*
** Hand a request to the backend.  A backend answers failures with an error
** result; it refuses outright only when out of memory, and then the
** coordinator's request deadline brings the request back.
*/
static void
submit(worker_t *w, const backend_request_t *req)
{
    if (w->backend->submit(w->backend, req) < 0)
        tlog(TLOG_ERROR, w->name, "backend refused problem %llu step %u",
             (unsigned long long)req->key.problem_id, req->key.step_index);
    else
        w->in_flight++;
}


/* What generation and scoring requests have in common. */
static backend_request_t
request(backend_job_t job, const Trim__Key *key, const char *problem,
        char **steps, size_t n_steps, uint64_t seed)
{
    backend_request_t req = {0};

    req.job = job;
    req.key = *key;
    req.problem = problem;
    req.steps = (const char *const *)steps;
    req.n_steps = n_steps;
    req.seed = seed;
    return req;
}


static void
handle_generate(worker_t *w, const Trim__GenerateBatch *batch)
{
    for (size_t i = 0; i < batch->n_items; i++) {
        const Trim__GenerateStep *g = batch->items[i];
        backend_request_t req = request(BACKEND_GENERATE, g->key, g->problem,
                                        g->steps, g->n_steps, g->seed);
        req.max_tokens = (int)g->max_tokens;
        req.temperature = g->temperature;
        req.top_p = g->top_p;
        submit(w, &req);
    }
}


static void
handle_score(worker_t *w, const Trim__ScoreBatch *batch)
{
    for (size_t i = 0; i < batch->n_items; i++) {
        const Trim__ScoreSteps *s = batch->items[i];
        backend_request_t req = request(BACKEND_SCORE, s->key, s->problem,
                                        s->steps, s->n_steps, s->seed);
        submit(w, &req);
    }
}


/* Send the n collected results, generation and scoring in separate batches. */
static void
send_results(worker_t *w, size_t n)
{
    Trim__Key *keys = w->keys;
    Trim__StepResult *gen = w->gen, **genp = w->genp;
    Trim__StepScores *sco = w->sco, **scop = w->scop;
    size_t ng = 0, ns = 0;

    for (size_t i = 0; i < n; i++) {
        backend_result_t *r = &w->results[i];
        keys[i] = r->key;
        keys[i].base.unknown_fields = NULL;
        keys[i].base.n_unknown_fields = 0;
        if (r->job == BACKEND_GENERATE) {
            Trim__StepResult *g = &gen[ng];
            trim__step_result__init(g);
            g->key = &keys[i];
            g->text = r->text ? r->text : "";
            g->prompt_tokens = (uint32_t)r->prompt_tokens;
            g->completion_tokens = (uint32_t)r->completion_tokens;
            g->finish = r->error ? TRIM__FINISH__FINISH_ERROR : r->finish;
            g->latency_us = (uint32_t)r->latency_us;
            g->cached_tokens = (uint32_t)r->cached_tokens;
            g->cached_reported = r->cached_reported != 0;
            g->error = r->error ? r->error : "";
            genp[ng++] = g;
        } else {
            Trim__StepScores *s = &sco[ns];
            trim__step_scores__init(s);
            s->key = &keys[i];
            s->n_scores = r->error ? 0 : r->n_scores;
            s->scores = r->scores;
            s->input_tokens = (uint32_t)r->input_tokens;
            s->padded = r->error ? 0 : (uint32_t)r->padded;
            s->latency_us = (uint32_t)r->latency_us;
            s->cached_tokens = (uint32_t)r->cached_tokens;
            s->cached_reported = r->cached_reported != 0;
            s->error = r->error ? r->error : "";
            scop[ns++] = s;
        }
    }
    if (ng > 0) {
        Trim__StepResultBatch b = TRIM__STEP_RESULT_BATCH__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        b.n_items = ng;
        b.items = genp;
        env.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
        env.step_results = &b;
        peer_send(w->peer, &env);
    }
    if (ns > 0) {
        Trim__StepScoresBatch b = TRIM__STEP_SCORES_BATCH__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        b.n_items = ns;
        b.items = scop;
        env.body_case = TRIM__ENVELOPE__BODY_STEP_SCORES;
        env.step_scores = &b;
        peer_send(w->peer, &env);
    }
    for (size_t i = 0; i < n; i++)
        backend_result_clear(&w->results[i]);
    w->completed += n;
    w->in_flight -= n;
}


/* Poll timeout: the sooner of the peer's next duty and the next result. */
static int
poll_timeout(worker_t *w, int peer_ms)
{
    int64_t due = w->backend->next_due_us(w->backend);
    int timeout = peer_ms;

    if (due != INT64_MAX) {
        int64_t wait_us = due - clock_now_us();
        int ms = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
        if (ms < timeout)
            timeout = ms;
    }
    return timeout > 100 ? 100 : timeout; /* notice *stop promptly */
}


/* Hand the requests of a work message to the backend. */
static void
handle(worker_t *w, const Trim__Envelope *env)
{
    if (env->body_case == TRIM__ENVELOPE__BODY_GENERATE &&
        w->role != TRIM__ROLE__ROLE_PRM)
        handle_generate(w, env->generate);
    else if (env->body_case == TRIM__ENVELOPE__BODY_SCORE &&
             w->role == TRIM__ROLE__ROLE_PRM)
        handle_score(w, env->score);
    else
        tlog(TLOG_WARN, w->name,
             "ignored a message of type %d not meant for a %s worker",
             (int)env->body_case, env_role_name(w->role));
}


/* Requests in a work message (left to the coordinator while draining). */
static size_t
requests_in(const Trim__Envelope *env)
{
    if (env->body_case == TRIM__ENVELOPE__BODY_GENERATE)
        return env->generate->n_items;
    if (env->body_case == TRIM__ENVELOPE__BODY_SCORE)
        return env->score->n_items;
    return 0;
}


/*
** Tell the coordinator this worker is leaving and why: it requeues what
** the worker still holds at once, and logs the reason.
*/
static void
say_goodbye(worker_t *w, size_t held)
{
    char reason[256];

    errf(reason, sizeof reason,
         "worker stopping: %llu calls unfinished after the drain, %zu "
         "requests not started",
         (unsigned long long)w->in_flight, held);
    tlog(TLOG_INFO, w->name, "%s", reason);
    peer_goodbye(w->peer, reason, PEER_GOODBYE_MS);
}


int
worker_run(worker_t *w, const atomic_int *stop)
{
    zmq_pollitem_t items[MAX_POLL];
    Trim__Envelope *env;
    int64_t drain_end = -1; /* ms; -1 until asked to stop */
    size_t held = 0;        /* requests that arrived while draining */

    while (!peer_finished(w->peer)) {
        if (atomic_load(stop) && drain_end < 0) {
            drain_end = clock_now_ms() + w->drain_ms;
            if (w->in_flight > 0)
                tlog(TLOG_INFO, w->name,
                     "asked to stop: finishing %llu calls in flight (at most "
                     "%d ms)",
                     (unsigned long long)w->in_flight, w->drain_ms);
        }
        /* The backend's pending, not in_flight: a request a backend lost
        ** (out of memory, logged there) must not hold the drain. */
        if (drain_end >= 0 &&
            (w->backend->pending(w->backend) == 0 ||
             clock_now_ms() >= drain_end || atomic_load(stop) > 1 ||
             peer_socket(w->peer) == NULL)) {
            say_goodbye(w, held);
            break;
        }
        int peer_ms = peer_tick(w->peer);
        int n = 0;
        void *s = peer_socket(w->peer);
        if (s != NULL) {
            items[0] = (zmq_pollitem_t){s, 0, ZMQ_POLLIN, 0};
            n = 1;
        }
        n += w->backend->poll_items(w->backend, items + n, MAX_POLL - n);
        if (zmq_poll(n ? items : NULL, n, poll_timeout(w, peer_ms)) < 0 &&
            errno != EINTR) {
            tlog(TLOG_ERROR, w->name, "poll: %s", zmq_strerror(errno));
            return -1;
        }
        while (peer_recv(w->peer, &env) == 1) {
            if (drain_end >= 0)
                held += requests_in(env);
            else
                handle(w, env);
        }
        health_beat(&w->health, peer_stats(w->peer)->heard);
        size_t got;
        while ((got = w->backend->collect(w->backend, w->results,
                                          REPLY_BATCH)) > 0)
            send_results(w, got);
    }
    return 0;
}
