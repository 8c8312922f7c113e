/*
** clients.c: requests from trim's user commands.
**
** Submit opens or extends a run and is acknowledged only once the run and
** every problem it added are committed: the acknowledgement waits in the
** pending list until the writer's durable ticket passes the submission's
** last row.  Wait is answered once its run has finished and the run's last
** row is committed (run 0: the newest).  Status is answered at once from
** memory.  A Submit that fails validation is answered too, with the reason,
** so a client never waits on silence; so is one of text the built-in
** simulator could never solve, when it is all the small pool runs.
** Clients never announce themselves; they are identified by their socket
** identity only for the reply.
*/
#include "coord_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "log.h"
#include "sim.h"
#include "sock.h"

#define STATUS_RUNS 20 /* most recent runs listed by status */


static void
reply(coord_t *c, const unsigned char *id, size_t idlen, Trim__Envelope *env)
{
    /* A client that left cannot be answered; that is its business. */
    sock_send_env(c->sock, id, idlen, env);
}


static void
send_ack(coord_t *c, const unsigned char *id, size_t idlen, uint64_t request,
         int64_t run_id, uint64_t *ids, size_t n, const char *error)
{
    Trim__SubmitAck ack = TRIM__SUBMIT_ACK__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    ack.request_id = request;
    ack.run_id = run_id > 0 ? (uint64_t)run_id : 0;
    ack.n_problem_ids = n;
    ack.problem_ids = ids;
    ack.error = (char *)(error ? error : "");
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT_ACK;
    env.submit_ack = &ack;
    reply(c, id, idlen, &env);
}


static void
send_wait_reply(coord_t *c, const unsigned char *id, size_t idlen,
                uint64_t request, const crun_t *run, const char *error)
{
    Trim__WaitReply wr = TRIM__WAIT_REPLY__INIT;
    Trim__RunStatus rs;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    wr.request_id = request;
    if (run != NULL) {
        coord_run_status(run, &rs);
        wr.run = &rs;
    }
    wr.error = (char *)(error ? error : "");
    env.body_case = TRIM__ENVELOPE__BODY_WAIT_REPLY;
    env.wait_reply = &wr;
    reply(c, id, idlen, &env);
}


pending_t *
coord_add_pending(coord_t *c, const unsigned char *id, size_t idlen)
{
    if (c->n_pending == c->cap_pending) {
        size_t cap = c->cap_pending ? c->cap_pending * 2 : 16;
        pending_t *p = realloc(c->pending, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        c->pending = p;
        c->cap_pending = cap;
    }
    pending_t *p = &c->pending[c->n_pending++];
    memset(p, 0, sizeof *p);
    memcpy(p->id, id, idlen);
    p->idlen = idlen;
    return p;
}


/*
** Whether text is refused at Submit: every live small-pool peer runs the
** built-in simulator (and there is one), and it cannot parse text.  1 with
** sim_problem_check's reason in why, else 0.
*/
static int
sim_refuses(coord_t *c, const char *text, char *why, size_t whylen)
{
    int sims = 0;

    for (int i = 0; i < c->n_peers; i++) {
        const cpeer_t *peer = &c->peers[i];
        if (!peer->alive || peer->role != TRIM__ROLE__ROLE_SMALL)
            continue;
        if (!peer->sim)
            return 0;
        sims++;
    }
    return sims > 0 && sim_problem_check(text, why, whylen) < 0;
}


static void
on_submit(coord_t *c, const unsigned char *id, size_t idlen,
          const Trim__Submit *s)
{
    char err[512], why[256], hint[480];
    int64_t run_id = (int64_t)s->run_id;
    uint64_t *ids = NULL;
    int client = 0;

    if (c->stats.queued + c->stats.in_flight + (int64_t)s->n_problems >
        c->opts.max_queued) {
        errf(err, sizeof err,
             "queue full: %lld problems waiting or in flight, %zu more "
             "would pass the limit of %lld; retry later",
             (long long)(c->stats.queued + c->stats.in_flight), s->n_problems,
             (long long)c->opts.max_queued);
        send_ack(c, id, idlen, s->request_id, run_id, NULL, 0, err);
        return;
    }
    /* On the built-in simulator, text it did not generate can only fail:
    ** refuse it now, saying what to send instead. */
    for (size_t i = 0; i < s->n_problems; i++) {
        if (!sim_refuses(c, s->problems[i]->text, why, sizeof why))
            continue;
        errf(err, sizeof err, "problems[%zu]: %s", i,
             sim_refusal(why, hint, sizeof hint));
        send_ack(c, id, idlen, s->request_id, run_id, NULL, 0, err);
        return;
    }
    if (s->notify && (client = coord_client(c, id, idlen)) == 0) {
        send_ack(c, id, idlen, s->request_id, run_id, NULL, 0, "out of memory");
        return;
    }
    if (run_id == 0) {
        coord_run_opts_t o = {0};
        coord_speculate_t speculate = c->opts.speculate;
        if (*s->speculate &&
            coord_speculate_parse(s->speculate, &speculate) < 0) {
            errf(err, sizeof err, "speculate: '%s' is not off, on or guard",
                 s->speculate);
            send_ack(c, id, idlen, s->request_id, 0, NULL, 0, err);
            return;
        }
        o.policy = s->policy;
        o.seed = s->seed;
        o.config = s->config;
        o.explore = s->explore;
        o.max_strong_tokens = (int64_t)s->max_strong_tokens;
        o.target_share = s->target_share;
        run_id = coord_add_run(c, &o, err, sizeof err);
        if (run_id < 0) {
            send_ack(c, id, idlen, s->request_id, 0, NULL, 0, err);
            return;
        }
        coord_find_run(c, run_id)->speculate = speculate;
    } else if (coord_find_run(c, run_id) == NULL) {
        errf(err, sizeof err, "no run %lld on this coordinator",
             (long long)run_id);
        send_ack(c, id, idlen, s->request_id, run_id, NULL, 0, err);
        return;
    }
    if (s->n_problems > 0 &&
        (ids = calloc(s->n_problems, sizeof *ids)) == NULL) {
        send_ack(c, id, idlen, s->request_id, run_id, NULL, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < s->n_problems; i++) {
        const Trim__ProblemSpec *ps = s->problems[i];
        coord_problem_t p = {0};
        p.seed = ps->seed;
        p.source = ps->source;
        p.text = ps->text;
        p.ground_truth = ps->has_ground_truth ? ps->ground_truth : NULL;
        p.key_id = ps->key_id;
        p.in_memory = client > 0;
        int64_t pid = coord_submit(c, run_id, &p, err, sizeof err);
        if (pid < 0) {
            /* Only a store failure gets here: the coordinator stops. */
            free(ids);
            return;
        }
        ids[i] = (uint64_t)pid;
        if (client > 0)
            coord_set_client(c, coord_find_problem(c, pid), client);
    }
    pending_t *pa = coord_add_pending(c, id, idlen);
    if (pa == NULL) {
        free(ids);
        return;
    }
    pa->request_id = s->request_id;
    pa->run_id = run_id;
    pa->ticket = coord_find_run(c, run_id)->last_ticket;
    pa->problem_ids = ids;
    pa->n_ids = s->n_problems;
    store_writer_flush(c->writer);
    tlog(TLOG_INFO, "coordinator", "run %lld: %zu problems submitted",
         (long long)run_id, s->n_problems);
}


static void
on_wait(coord_t *c, const unsigned char *id, size_t idlen,
        const Trim__WaitRequest *w)
{
    crun_t *run =
        coord_find_run(c, w->run_id ? (int64_t)w->run_id : c->newest_run_id);
    char err[128];

    if (run == NULL) {
        if (w->run_id == 0)
            errf(err, sizeof err, "no run on this coordinator yet");
        else
            errf(err, sizeof err, "no run %llu on this coordinator",
                 (unsigned long long)w->run_id);
        send_wait_reply(c, id, idlen, w->request_id, NULL, err);
        return;
    }
    /* A client asking again (after a reconnect, say) replaces its entry. */
    for (size_t i = 0; i < c->n_pending; i++) {
        pending_t *p = &c->pending[i];
        if (p->is_wait && p->run_id == run->id && p->idlen == idlen &&
            memcmp(p->id, id, idlen) == 0) {
            p->request_id = w->request_id;
            return;
        }
    }
    pending_t *p = coord_add_pending(c, id, idlen);
    if (p == NULL)
        return;
    p->is_wait = 1;
    p->request_id = w->request_id;
    p->run_id = run->id;
}


static void
on_status(coord_t *c, const unsigned char *id, size_t idlen,
          const Trim__StatusRequest *r)
{
    Trim__Status st = TRIM__STATUS__INIT;
    Trim__PoolStatus pools[ROLE_COUNT - 1], *pool_ptrs[ROLE_COUNT - 1];
    Trim__RunStatus runs[STATUS_RUNS], *run_ptrs[STATUS_RUNS];
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    size_t n_runs = 0;

    st.request_id = r->request_id;
    st.queued = (uint64_t)c->stats.queued;
    st.in_flight = (uint64_t)c->stats.in_flight;
    st.finished = (uint64_t)c->stats.finished;
    st.failed = (uint64_t)c->stats.failed;
    st.cancelled = (uint64_t)c->stats.cancelled;
    st.max_queued = (uint64_t)c->opts.max_queued;
    st.steps_per_s = coord_rate(c);
    st.bad_messages = (uint64_t)c->stats.bad_messages;
    st.requeues = (uint64_t)c->stats.requeues;
    st.fallback_decisions = (uint64_t)c->stats.fallbacks;
    st.stale_replies = (uint64_t)c->stats.stale_replies;
    st.unknown_peers = (uint64_t)c->stats.unknown_peers;
    st.peer_names = (uint64_t)c->n_names;
    st.expired = (uint64_t)c->stats.expired;
    st.quarantines = (uint64_t)c->stats.quarantines;
    for (int role = 1; role < ROLE_COUNT; role++) {
        Trim__PoolStatus *ps = &pools[role - 1];
        trim__pool_status__init(ps);
        ps->role = (Trim__Role)role;
        ps->queued = (uint64_t)c->pools[role].length;
        ps->prompt_tokens = (uint64_t)c->stats.prompt_tokens[role];
        ps->cached_tokens = (uint64_t)c->stats.cached_tokens[role];
        ps->affinity_same = (uint64_t)c->stats.affinity_same[role];
        ps->affinity_moved = (uint64_t)c->stats.affinity_moved[role];
        for (int i = 0; i < c->n_peers; i++) {
            const cpeer_t *peer = &c->peers[i];
            if (!peer->alive || (int)peer->role != role)
                continue;
            ps->peers++;
            ps->credit += peer->credit;
            ps->outstanding += peer->outstanding;
        }
        pool_ptrs[role - 1] = ps;
    }
    st.n_pools = ROLE_COUNT - 1;
    st.pools = pool_ptrs;
    /* The most recent runs, newest first. */
    for (int64_t rid = c->newest_run_id; rid > 0 && n_runs < STATUS_RUNS;
         rid--) {
        const crun_t *run = coord_find_run(c, rid);
        if (run == NULL)
            continue;
        coord_run_status(run, &runs[n_runs]);
        run_ptrs[n_runs] = &runs[n_runs];
        n_runs++;
    }
    st.n_runs = n_runs;
    st.runs = run_ptrs;
    env.body_case = TRIM__ENVELOPE__BODY_STATUS;
    env.status = &st;
    reply(c, id, idlen, &env);
}


/* Cancel: answered with the ids it cancelled once their rows are durable,
** after the pushes of their ends (so a notify client has every result when
** the ack comes); notify.c queues it behind them. */
static void
on_cancel(coord_t *c, const unsigned char *id, size_t idlen,
          const Trim__Cancel *r)
{
    uint64_t *done =
        calloc(r->n_problem_ids ? r->n_problem_ids : 1, sizeof *done);
    size_t n = 0;

    if (done == NULL)
        return;
    for (size_t i = 0; i < r->n_problem_ids && !c->fatal; i++)
        if (coord_cancel(c, (int64_t)r->problem_ids[i], r->reason))
            done[n++] = r->problem_ids[i];
    if (coord_push_cancel_ack(c, id, idlen, r->request_id, done, n) < 0)
        tlog(TLOG_ERROR, "coordinator", "cancel: out of memory for its ack");
    free(done);
}


void
coord_on_refused(coord_t *c, const unsigned char *id, size_t idlen,
                 const void *data, size_t len, const char *why)
{
    Trim__Envelope *env;
    char err[512];

    /* Decoded again without the checks, to learn what the sender asked
    ** (libzmq has cut frames past ZMQ_MAXMSGSIZE already).  A frame that is
    ** not even an Envelope cannot be answered usefully. */
    env = trim__envelope__unpack(NULL, len, data);
    if (env == NULL)
        return;
    if (env->version != TRIM_PROTOCOL_VERSION) {
        /* Reconnecting would not help, so shutdown is set. */
        coord_send_disconnect(c, id, idlen, why, 1);
    } else if (env->body_case == TRIM__ENVELOPE__BODY_SUBMIT) {
        errf(err, sizeof err, "invalid Submit, nothing recorded: %s", why);
        send_ack(c, id, idlen, env->submit->request_id,
                 (int64_t)env->submit->run_id, NULL, 0, err);
    }
    trim__envelope__free_unpacked(env, NULL);
}


int
coord_on_client(coord_t *c, const unsigned char *id, size_t idlen,
                const Trim__Envelope *env)
{
    switch (env->body_case) {
    case TRIM__ENVELOPE__BODY_SUBMIT:
        on_submit(c, id, idlen, env->submit);
        return 1;
    case TRIM__ENVELOPE__BODY_STATUS_REQUEST:
        on_status(c, id, idlen, env->status_request);
        return 1;
    case TRIM__ENVELOPE__BODY_WAIT_REQUEST:
        on_wait(c, id, idlen, env->wait_request);
        return 1;
    case TRIM__ENVELOPE__BODY_CANCEL:
        on_cancel(c, id, idlen, env->cancel);
        return 1;
    case TRIM__ENVELOPE__BODY_WATCH:
        coord_on_watch(c, id, idlen, env->watch);
        return 1;
    default:
        return 0;
    }
}


void
coord_answer_pending(coord_t *c)
{
    int64_t durable = store_writer_durable(c->writer);
    size_t keep = 0;

    c->more = 0;
    for (size_t i = 0; i < c->n_pending; i++) {
        pending_t *p = &c->pending[i];
        crun_t *run = coord_find_run(c, p->run_id);
        int answered = 0;
        if (p->is_watch) {
            if (durable >= p->ticket) {
                answered = coord_watch_ended(c, p);
                c->more |= !answered;
            }
        } else if (!p->is_wait) {
            if (durable >= p->ticket) {
                send_ack(c, p->id, p->idlen, p->request_id, p->run_id,
                         p->problem_ids, p->n_ids, NULL);
                answered = 1;
            }
        } else if (run != NULL && run->finished_ms > 0) {
            if (durable >= run->last_ticket) {
                send_wait_reply(c, p->id, p->idlen, p->request_id, run, NULL);
                answered = 1;
            } else {
                store_writer_flush(c->writer);
            }
        }
        if (answered)
            free(p->problem_ids);
        else
            c->pending[keep++] = *p;
    }
    c->n_pending = keep;
}


void
coord_pending_clear(coord_t *c)
{
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i].problem_ids);
    free(c->pending);
    c->pending = NULL;
    c->n_pending = c->cap_pending = 0;
}
