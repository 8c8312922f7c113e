/*
** upstream.c: the gateway's one connection to the coordinator (see
** gateway_internal.h).
**
** One thread owns the DEALER socket.  Request threads hand it jobs and give
** them back through an inbox woken by an eventfd, which zmq_poll watches
** beside the socket.  Each pass of the loop sends everything that arrived
** as one Submit per route (notify set, so the coordinator pushes steps and
** ends back to this socket), which is how a busy gateway batches.
**
** A route is one run: the first Submit opens it (run_id 0) and the next
** ones wait for its acknowledgement, then extend it.  A coordinator that
** answers "no run N" (it restarted on another store, or the run was
** dropped) gets the jobs again with run_id 0.
**
** The coordinator may push a problem's steps before the Submit's
** acknowledgement (the ack waits for the commit): while a Submit is
** unacknowledged, pushes for an unknown problem are kept in an orphan
** placeholder that the ack adopts; otherwise nobody can claim them and
** they are dropped, as are pushes for a problem the gateway cancelled
** (its END_CANCELLED comes after the client went).  A
** problem heard nothing from for a while, and every problem after the
** coordinator comes back from silence, is watched again (Watch) from the
** next step expected, so a restarted coordinator resumes the streams;
** repeated steps are ignored by index.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "log.h"
#include "sock.h"
#include "u64map.h"

#include "gateway_internal.h"

#define SUBMIT_TIMEOUT_MS  10000  /* an unacknowledged Submit fails (503) */
#define ORPHAN_TTL_MS      60000  /* pushes nobody claims are dropped */
#define MAX_ORPHANS        100000 /* and as many cancelled ids remembered */
#define QUIET_HEARTBEATS   5      /* a problem this quiet is watched again */
#define DOWN_HEARTBEATS    3      /* no answer this long: not ready */
#define SHUTDOWN_LINGER_MS 1000   /* for the last Cancel to leave */
/* Submits of a route waiting for their ack at once: requests that come
** meanwhile gather into the next one, so a busy gateway sends few large
** Submits (each costs the coordinator a commit) rather than many small. */
#define MAX_UNACKED 2

typedef enum { OP_SUBMIT, OP_RELEASE } op_kind_t;

typedef struct op {
    op_kind_t kind;
    gw_job_t *job;
} op_t;

/* A Submit waiting for its acknowledgement. */
typedef struct sent {
    uint64_t request_id;
    size_t route;
    uint64_t run_id; /* the run it extends, 0 when it opens one */
    gw_job_t **jobs;
    size_t n;
    int64_t sent_ms;
} sent_t;

typedef struct route_state {
    uint64_t run_id;       /* 0 until the first Submit is acknowledged */
    int opening;           /* a Submit with run_id 0 is out */
    int unacked;           /* its Submits waiting for their ack */
    gw_job_t *head, *tail; /* jobs to submit, in order */
} route_state_t;

struct upstream {
    void *zctx, *sock;
    pthread_t thread;
    int started;
    int inbox_efd;
    gateway_route_t *routes;
    route_state_t *rs;
    size_t n_routes;
    int heartbeat_ms;

    pthread_mutex_t mu; /* guards the inbox, stopping */
    op_t *ops;
    size_t n_ops, cap_ops;
    int stopping;

    /* The thread's own. */
    u64map_t *problems; /* problem id -> job or orphan */
    size_t n_orphans;
    u64map_t *cancelled; /* problem id -> ms cancelled, until its end */
    sent_t *sent;
    size_t n_sent, cap_sent;
    uint64_t *cancels; /* problem ids to cancel in the next Cancel */
    size_t n_cancels, cap_cancels;
    const char *cancel_reason; /* of the next Cancel */
    uint64_t next_id;
    int64_t last_status_ms, last_tick_ms;
    int silent; /* the coordinator missed DOWN_HEARTBEATS */

    _Atomic int64_t last_answer_ms, started_ms;
    _Atomic int64_t n_submitted, n_cancelled;
};


/* ---- sending ----------------------------------------------------------- */

static int
send_env(upstream_t *u, Trim__Envelope *env)
{
    if (sock_send_env(u->sock, NULL, 0, env) < 0) {
        tlog(TLOG_WARN, "gateway", "cannot send to the coordinator: %s",
             zmq_strerror(errno));
        return -1;
    }
    return 0;
}


static void
flush_cancels(upstream_t *u)
{
    Trim__Cancel c = TRIM__CANCEL__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    for (size_t at = 0; at < u->n_cancels; at += TRIM_MAX_BATCH) {
        size_t n = u->n_cancels - at;
        c.request_id = ++u->next_id;
        c.n_problem_ids = n < TRIM_MAX_BATCH ? n : TRIM_MAX_BATCH;
        c.problem_ids = u->cancels + at;
        c.reason = (char *)u->cancel_reason;
        env.body_case = TRIM__ENVELOPE__BODY_CANCEL;
        env.cancel = &c;
        if (send_env(u, &env) == 0)
            u->n_cancelled += (int64_t)c.n_problem_ids;
    }
    u->n_cancels = 0;
}


/* Cancel problem_id in the next Cancel, saying why (a static string; a
** Cancel carries one reason, so one for another reason goes first). */
static void
queue_cancel(upstream_t *u, uint64_t problem_id, const char *why)
{
    if (u64map_size(u->cancelled) < MAX_ORPHANS)
        u64map_put(u->cancelled, problem_id, (void *)(uintptr_t)clock_now_ms());
    if (u->n_cancels > 0 && u->cancel_reason != why)
        flush_cancels(u);
    u->cancel_reason = why;
    if (u->n_cancels == u->cap_cancels) {
        size_t cap = u->cap_cancels ? u->cap_cancels * 2 : 64;
        uint64_t *p = realloc(u->cancels, cap * sizeof *p);
        if (p == NULL)
            return; /* the problem runs to its end unobserved */
        u->cancels = p;
        u->cap_cancels = cap;
    }
    u->cancels[u->n_cancels++] = problem_id;
}


/* Free a job given back; cancel its problem unless it ended. */
static void
drop_job(upstream_t *u, gw_job_t *j)
{
    if (j->where == JOB_AT_MAP) {
        u64map_del(u->problems, j->problem_id);
        if (j->state != JOB_ENDED)
            queue_cancel(u, j->problem_id, "the client went away");
    }
    job_destroy(&j);
}


/* ---- submitting -------------------------------------------------------- */

static sent_t *
add_sent(upstream_t *u)
{
    if (u->n_sent == u->cap_sent) {
        size_t cap = u->cap_sent ? u->cap_sent * 2 : 16;
        sent_t *p = realloc(u->sent, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        u->sent = p;
        u->cap_sent = cap;
    }
    sent_t *s = &u->sent[u->n_sent++];
    memset(s, 0, sizeof *s);
    return s;
}


/* Remove sent record i (its jobs moved elsewhere or freed). */
static void
forget_sent(upstream_t *u, size_t i)
{
    if (u->sent[i].sent_ms > 0)
        u->rs[u->sent[i].route].unacked--;
    free(u->sent[i].jobs);
    u->sent[i] = u->sent[--u->n_sent];
}


/* Refuse j with status and why, and wake its request. */
static void
refuse(gw_job_t *j, int status, const char *why)
{
    job_refuse(j, status, why);
    job_wake(j);
}


/* A job of a Submit that failed leaves it: refused, or freed if given
** back meanwhile. */
static void
refuse_sent(upstream_t *u, gw_job_t *j, int status, const char *why)
{
    j->where = JOB_AT_NONE;
    if (j->released)
        drop_job(u, j);
    else
        refuse(j, status, why);
}


/*
** Take jobs of route r off its list into one Submit and send it.  Returns
** 1 when one was sent, 0 when there was nothing to send.
*/
static int
submit_some(upstream_t *u, size_t r)
{
    route_state_t *rs = &u->rs[r];
    const gateway_route_t *route = &u->routes[r];
    size_t room = TRIM_MAX_MESSAGE - 4096, bytes = 0, n = 0;
    Trim__ProblemSpec *specs = NULL, **ptrs = NULL;
    Trim__Submit sub = TRIM__SUBMIT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    char source[GATEWAY_NAME_MAX + 16], config[GATEWAY_NAME_MAX + 64];
    gw_job_t **jobs;

    while (rs->head && rs->head->released) { /* gone before it was sent */
        gw_job_t *j = rs->head;
        rs->head = j->next;
        drop_job(u, j);
    }
    if (rs->head == NULL) {
        rs->tail = NULL;
        return 0;
    }
    jobs = calloc(TRIM_MAX_BATCH, sizeof *jobs);
    specs = calloc(TRIM_MAX_BATCH, sizeof *specs);
    ptrs = calloc(TRIM_MAX_BATCH, sizeof *ptrs);
    sent_t *s = jobs && specs && ptrs ? add_sent(u) : NULL;
    if (s == NULL) {
        free(jobs);
        free(specs);
        free(ptrs);
        return 0;
    }
    snprintf(source, sizeof source, "gateway:%s", route->name);
    while (rs->head && n < TRIM_MAX_BATCH) {
        gw_job_t *j = rs->head;
        if (j->released) {
            rs->head = j->next;
            drop_job(u, j);
            continue;
        }
        Trim__ProblemSpec *p = &specs[n];
        trim__problem_spec__init(p);
        p->text = j->text;
        p->source = source;
        p->seed = j->seed;
        p->key_id = j->key_id;
        size_t size = trim__problem_spec__get_packed_size(p) + 8;
        if (n > 0 && bytes + size > room)
            break;
        bytes += size;
        rs->head = j->next;
        j->next = NULL;
        ptrs[n] = p;
        jobs[n++] = j;
    }
    if (rs->head == NULL)
        rs->tail = NULL;
    snprintf(config, sizeof config,
             "{\"submitted_by\":\"trim gateway\",\"route\":\"%s\"}",
             route->name);
    sub.request_id = ++u->next_id;
    sub.run_id = rs->run_id;
    sub.policy = (char *)route->policy;
    sub.seed = n > 0 ? jobs[0]->seed : 0;
    sub.config = config;
    sub.max_strong_tokens = route->max_strong_tokens;
    sub.target_share = route->target_share;
    sub.speculate = (char *)route->speculate;
    sub.notify = 1;
    sub.n_problems = n;
    sub.problems = ptrs;
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    s->request_id = sub.request_id;
    s->route = r;
    s->run_id = rs->run_id;
    s->jobs = jobs;
    s->n = n;
    s->sent_ms = clock_now_ms();
    if (n == 0 || send_env(u, &env) < 0) {
        for (size_t i = 0; i < n; i++) {
            jobs[i]->where = JOB_AT_NONE;
            refuse(jobs[i], 503, "cannot send to the coordinator");
        }
        s->sent_ms = 0; /* never out: not unacked */
        forget_sent(u, u->n_sent - 1);
    } else {
        for (size_t i = 0; i < n; i++)
            jobs[i]->where = JOB_AT_SENT;
        u->n_submitted += (int64_t)n;
        if (rs->run_id == 0)
            rs->opening = 1;
        rs->unacked++;
    }
    free(specs);
    free(ptrs);
    return n > 0;
}


static void
submit_pending(upstream_t *u)
{
    for (size_t r = 0; r < u->n_routes; r++) {
        route_state_t *rs = &u->rs[r];
        while (rs->head && rs->unacked < MAX_UNACKED &&
               !(rs->run_id == 0 && rs->opening))
            if (!submit_some(u, r))
                break;
    }
}


/* Put jobs back at the front of their route's list, in order. */
static void
requeue_front(upstream_t *u, size_t r, gw_job_t **jobs, size_t n)
{
    route_state_t *rs = &u->rs[r];

    for (size_t i = n; i-- > 0;) {
        jobs[i]->where = JOB_AT_LIST;
        jobs[i]->next = rs->head;
        rs->head = jobs[i];
        if (rs->tail == NULL)
            rs->tail = jobs[i];
    }
}


/*
** The problem index a refusal names ("problems[3]: why"), or -1; *why is
** set past the prefix (the index means nothing to the HTTP client).
*/
static long
refused_index(const char *error, size_t n, const char **why)
{
    unsigned long i;
    int used = 0;

    if (sscanf(error, "problems[%lu]:%n", &i, &used) == 1 && used > 0 &&
        i < n) {
        *why = error + used + (error[used] == ' ');
        return (long)i;
    }
    return -1;
}


static void
on_submit_ack(upstream_t *u, const Trim__SubmitAck *a)
{
    size_t k;

    for (k = 0; k < u->n_sent; k++)
        if (u->sent[k].request_id == a->request_id)
            break;
    if (k == u->n_sent) {
        /* Acknowledged after it timed out: nobody waits for these. */
        for (size_t i = 0; i < a->n_problem_ids; i++)
            queue_cancel(u, a->problem_ids[i],
                         "acknowledged after the gateway gave up on it");
        return;
    }
    sent_t *s = &u->sent[k];
    route_state_t *rs = &u->rs[s->route];
    if (s->run_id == 0)
        rs->opening = 0;
    if (a->error[0] != '\0') {
        const char *why = a->error;
        long bad = refused_index(a->error, s->n, &why);
        if (s->run_id != 0 && strncmp(a->error, "no run", 6) == 0) {
            tlog(TLOG_INFO, "gateway", "route %s: %s; opening a new run",
                 u->routes[s->route].name, a->error);
            if (rs->run_id == s->run_id)
                rs->run_id = 0;
            requeue_front(u, s->route, s->jobs, s->n);
        } else if (bad >= 0) {
            /* One problem sank the batch: refuse it, send the rest again. */
            refuse(s->jobs[bad], 400, why);
            gw_job_t *j = s->jobs[bad];
            memmove(s->jobs + bad, s->jobs + bad + 1,
                    (s->n - (size_t)bad - 1) * sizeof *s->jobs);
            requeue_front(u, s->route, s->jobs, s->n - 1);
            j->where = JOB_AT_NONE; /* held by nobody but its request */
            if (j->released)
                drop_job(u, j);
        } else {
            int status = strncmp(a->error, "queue full", 10) == 0 ? 503 : 400;
            for (size_t i = 0; i < s->n; i++)
                refuse_sent(u, s->jobs[i], status, a->error);
        }
        forget_sent(u, k);
        return;
    }
    if (a->n_problem_ids != s->n) {
        for (size_t i = 0; i < s->n; i++)
            refuse_sent(u, s->jobs[i], 502,
                        "the coordinator acknowledged another number of "
                        "problems");
        forget_sent(u, k);
        return;
    }
    rs->run_id = a->run_id;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < s->n; i++) {
        gw_job_t *j = s->jobs[i];
        uint64_t pid = a->problem_ids[i];
        gw_job_t *orphan = u64map_get(u->problems, pid);
        pthread_mutex_lock(&j->mu);
        j->run_id = a->run_id;
        j->problem_id = pid;
        if (j->state == JOB_WAITING)
            j->state = JOB_RUNNING;
        pthread_mutex_unlock(&j->mu);
        if (orphan != NULL && orphan->orphan) {
            job_adopt(j, orphan);
            u->n_orphans--;
            job_destroy(&orphan);
        }
        j->where = JOB_AT_MAP;
        j->heard_ms = now;
        u64map_put(u->problems, pid, j);
        if (j->released)
            drop_job(u, j);
        else if (j->stream || j->state == JOB_ENDED) /* ended: adopted */
            job_wake(j);
    }
    forget_sent(u, k);
}


/* ---- pushes ------------------------------------------------------------ */

/*
** The job of a pushed problem, or a new orphan for it when a Submit that
** may claim it is unacknowledged; NULL: nobody wants the push.
*/
static gw_job_t *
pushed_job(upstream_t *u, uint64_t pid)
{
    gw_job_t *j = u64map_get(u->problems, pid);

    if (j != NULL || pid == 0 || u->n_sent == 0 ||
        u->n_orphans >= MAX_ORPHANS || u64map_get(u->cancelled, pid) != NULL)
        return j;
    if ((j = job_new_orphan(pid)) == NULL)
        return NULL;
    j->heard_ms = clock_now_ms();
    if (u64map_put(u->problems, pid, j) < 0) {
        job_destroy(&j);
        return NULL;
    }
    u->n_orphans++;
    return j;
}


static void
on_step_push(upstream_t *u, const Trim__StepPush *p)
{
    int64_t now = clock_now_ms();

    for (size_t i = 0; i < p->n_steps; i++) {
        const Trim__AcceptedStep *a = p->steps[i];
        gw_job_t *j = pushed_job(u, a->problem_id);
        gw_step_t s = {0};
        if (j == NULL)
            continue;
        s.index = a->step_index;
        s.text = a->text;
        s.strong = a->strong;
        s.routed = a->routed;
        s.score = a->score;
        s.decided_by = a->decided_by;
        s.reason = a->reason;
        s.tokens = a->tokens;
        s.finish = a->finish;
        if (job_add_step(j, &s) == 1 && !j->orphan) {
            j->heard_ms = now;
            if (j->stream) /* a whole answer waits for the end only */
                job_wake(j);
        }
    }
}


static void
on_problems_done(upstream_t *u, const Trim__ProblemsDone *d)
{
    for (size_t i = 0; i < d->n_results; i++) {
        const Trim__ProblemResult *p = d->results[i];
        gw_result_t r = {0};
        if (u64map_del(u->cancelled, p->problem_id) != NULL)
            continue; /* its client is gone */
        gw_job_t *j = pushed_job(u, p->problem_id);
        if (j == NULL)
            continue;
        r.end = p->end;
        r.error = p->error;
        r.final_answer = p->final_answer;
        r.correct = p->correct;
        r.steps = p->steps;
        r.regenerated = p->regenerated;
        r.weak_tokens = p->weak_tokens;
        r.strong_tokens = p->strong_tokens;
        r.discarded_tokens = p->discarded_tokens;
        r.prm_tokens = p->prm_tokens;
        r.prompt_tokens = p->prompt_tokens;
        r.finish = p->finish;
        r.weak_prompt_tokens = p->weak_prompt_tokens;
        r.weak_cached_tokens = p->weak_cached_tokens;
        r.strong_prompt_tokens = p->strong_prompt_tokens;
        r.strong_cached_tokens = p->strong_cached_tokens;
        r.prm_cached_tokens = p->prm_cached_tokens;
        r.wasted_tokens = p->wasted_tokens;
        r.wasted_prompt_tokens = p->wasted_prompt_tokens;
        r.wasted_cached_tokens = p->wasted_cached_tokens;
        job_end(j, &r);
        if (!j->orphan)
            job_wake(j);
    }
}


static void
on_message(upstream_t *u, const Trim__Envelope *env)
{
    u->last_answer_ms = clock_now_ms();
    switch (env->body_case) {
    case TRIM__ENVELOPE__BODY_SUBMIT_ACK:
        on_submit_ack(u, env->submit_ack);
        break;
    case TRIM__ENVELOPE__BODY_STEP_PUSH:
        on_step_push(u, env->step_push);
        break;
    case TRIM__ENVELOPE__BODY_PROBLEMS_DONE:
        on_problems_done(u, env->problems_done);
        break;
    case TRIM__ENVELOPE__BODY_DISCONNECT:
        tlog(TLOG_WARN, "gateway", "the coordinator disconnected us: %s",
             env->disconnect->reason);
        break;
    default: /* Status, CancelAck, Heartbeat: liveness only */
        break;
    }
}


static void
receive_all(upstream_t *u)
{
    char why[256];

    for (int n = 0; n < 4096; n++) {
        zmq_msg_t msg;
        int extra;
        int rc = sock_recv(u->sock, 0, NULL, NULL, &msg, &extra);
        if (rc != 1)
            return;
        Trim__Envelope *env =
            extra ? NULL
                  : env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), why,
                               sizeof why);
        zmq_msg_close(&msg);
        if (env == NULL) {
            tlog(TLOG_WARN, "gateway", "bad message from the coordinator: %s",
                 extra ? "more than one frame" : why);
            continue;
        }
        on_message(u, env);
        env_destroy(&env);
    }
}


/* ---- the periodic work ------------------------------------------------- */

/* Watch the given problems again from their next step. */
static void
send_watch(upstream_t *u, gw_job_t **jobs, size_t n)
{
    Trim__Watch w = TRIM__WATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    uint64_t *ids = calloc(n ? n : 1, sizeof *ids);
    uint32_t *from = calloc(n ? n : 1, sizeof *from);

    if (ids && from && n > 0) {
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_lock(&jobs[i]->mu);
            ids[i] = jobs[i]->problem_id;
            from[i] = (uint32_t)jobs[i]->n_steps;
            pthread_mutex_unlock(&jobs[i]->mu);
        }
        w.request_id = ++u->next_id;
        w.n_problem_ids = w.n_from_step = n;
        w.problem_ids = ids;
        w.from_step = from;
        env.body_case = TRIM__ENVELOPE__BODY_WATCH;
        env.watch = &w;
        send_env(u, &env);
    }
    free(ids);
    free(from);
}


/* Forget cancelled ids whose end never came within ORPHAN_TTL_MS. */
static void
forget_cancelled(upstream_t *u, int64_t now)
{
    uint64_t key, *stale = NULL;
    size_t pos = 0, n = 0;
    void *value;

    while (u64map_next(u->cancelled, &pos, &key, &value)) {
        if (now - (int64_t)(uintptr_t)value <= ORPHAN_TTL_MS)
            continue;
        uint64_t *p = realloc(stale, (n + 1) * sizeof *p);
        if (p == NULL)
            break;
        stale = p;
        stale[n++] = key;
    }
    for (size_t i = 0; i < n; i++)
        u64map_del(u->cancelled, stale[i]);
    free(stale);
}


/*
** Watch the problems still running that were quiet for a while, or all of
** them when the coordinator just came back; drop stale orphans.
*/
static void
watch_and_sweep(upstream_t *u, int all, int64_t now)
{
    int64_t quiet = (int64_t)QUIET_HEARTBEATS * u->heartbeat_ms;
    gw_job_t **batch = calloc(TRIM_MAX_BATCH, sizeof *batch);
    uint64_t *stale = NULL, key;
    size_t n = 0, n_stale = 0, pos = 0;
    void *value;

    if (batch == NULL)
        return;
    while (u64map_next(u->problems, &pos, &key, &value)) {
        gw_job_t *j = value;
        if (j->orphan) {
            if (now - j->heard_ms > ORPHAN_TTL_MS) {
                uint64_t *p = realloc(stale, (n_stale + 1) * sizeof *p);
                if (p == NULL)
                    break;
                stale = p;
                stale[n_stale++] = key;
            }
            continue;
        }
        if (j->state != JOB_RUNNING || (!all && now - j->heard_ms < quiet))
            continue;
        j->heard_ms = now;
        batch[n++] = j;
        if (n == TRIM_MAX_BATCH) {
            send_watch(u, batch, n);
            n = 0;
        }
    }
    if (n > 0)
        send_watch(u, batch, n);
    for (size_t i = 0; i < n_stale; i++) {
        gw_job_t *o = u64map_del(u->problems, stale[i]);
        u->n_orphans--;
        job_destroy(&o);
    }
    free(stale);
    free(batch);
    forget_cancelled(u, now);
}


/* Submits unacknowledged too long fail with 503. */
static void
expire_sent(upstream_t *u, int64_t now)
{
    for (size_t k = 0; k < u->n_sent;) {
        sent_t *s = &u->sent[k];
        if (now - s->sent_ms < SUBMIT_TIMEOUT_MS) {
            k++;
            continue;
        }
        if (s->run_id == 0)
            u->rs[s->route].opening = 0;
        for (size_t i = 0; i < s->n; i++)
            refuse_sent(u, s->jobs[i], 503,
                        "the coordinator did not acknowledge the problem "
                        "within 10 s");
        forget_sent(u, k);
    }
}


static void
tick(upstream_t *u, int64_t now)
{
    Trim__StatusRequest req = TRIM__STATUS_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    int64_t heard = u->last_answer_ms;
    int silent = now - heard > (int64_t)DOWN_HEARTBEATS * u->heartbeat_ms;

    if (now - u->last_status_ms >= u->heartbeat_ms) {
        req.request_id = ++u->next_id;
        env.body_case = TRIM__ENVELOPE__BODY_STATUS_REQUEST;
        env.status_request = &req;
        send_env(u, &env);
        u->last_status_ms = now;
    }
    /* Back from silence: the coordinator may have restarted and lost who
    ** to push to. */
    watch_and_sweep(u, u->silent && !silent && heard > 0, now);
    if (silent && !u->silent && heard > 0)
        tlog(TLOG_WARN, "gateway", "the coordinator is silent for %lld ms",
             (long long)(now - heard));
    u->silent = silent;
    expire_sent(u, now);
}


/* ---- the thread -------------------------------------------------------- */

/* Take the inbox; returns 1 when stopping. */
static int
drain_inbox(upstream_t *u)
{
    op_t *ops;
    size_t n;
    uint64_t count;
    int stop;

    if (read(u->inbox_efd, &count, sizeof count) < 0) {
        /* EAGAIN: nothing new */
    }
    pthread_mutex_lock(&u->mu);
    ops = u->ops;
    n = u->n_ops;
    u->ops = NULL;
    u->n_ops = u->cap_ops = 0;
    stop = u->stopping;
    pthread_mutex_unlock(&u->mu);
    for (size_t i = 0; i < n; i++) {
        gw_job_t *j = ops[i].job;
        if (ops[i].kind == OP_SUBMIT) {
            route_state_t *rs = &u->rs[j->route];
            j->where = JOB_AT_LIST;
            j->next = NULL;
            if (rs->tail)
                rs->tail->next = j;
            else
                rs->head = j;
            rs->tail = j;
        } else {
            /* In a list or a Submit: freed when it moves on. */
            j->released = 1;
            if (j->where == JOB_AT_MAP || j->where == JOB_AT_NONE)
                drop_job(u, j);
        }
    }
    free(ops);
    return stop;
}


/* Cancel what is left, free every job. */
static void
shut_down(upstream_t *u)
{
    uint64_t key;
    void *value;
    size_t pos = 0;

    while (u64map_next(u->problems, &pos, &key, &value)) {
        gw_job_t *j = value;
        if (!j->orphan && j->state != JOB_ENDED)
            queue_cancel(u, key, "the gateway is stopping");
        job_destroy(&j);
    }
    u64map_clear(u->problems);
    /* The socket is closed right after: let the Cancel out first (sock.c
    ** sets no linger, right for every other message). */
    zmq_setsockopt(u->sock, ZMQ_LINGER, &(int){SHUTDOWN_LINGER_MS},
                   sizeof(int));
    flush_cancels(u);
    for (size_t k = 0; k < u->n_sent; k++) {
        for (size_t i = 0; i < u->sent[k].n; i++)
            job_destroy(&u->sent[k].jobs[i]);
        free(u->sent[k].jobs);
    }
    u->n_sent = 0;
    for (size_t r = 0; r < u->n_routes; r++)
        while (u->rs[r].head) {
            gw_job_t *j = u->rs[r].head;
            u->rs[r].head = j->next;
            job_destroy(&j);
        }
}


static void *
run(void *arg)
{
    upstream_t *u = arg;
    int tick_ms = u->heartbeat_ms < 400 ? u->heartbeat_ms / 4 : 100;

    for (;;) {
        zmq_pollitem_t items[2] = {{u->sock, 0, ZMQ_POLLIN, 0},
                                   {NULL, u->inbox_efd, ZMQ_POLLIN, 0}};
        int64_t now = clock_now_ms();
        long wait = (long)(u->last_tick_ms + tick_ms - now);
        if (zmq_poll(items, 2, wait > 0 ? wait : 0) < 0 && errno != EINTR)
            break;
        int stop = drain_inbox(u);
        receive_all(u);
        now = clock_now_ms();
        if (now - u->last_tick_ms >= tick_ms) {
            tick(u, now);
            u->last_tick_ms = now;
        }
        if (stop)
            break;
        submit_pending(u);
        flush_cancels(u);
    }
    shut_down(u);
    return NULL;
}


/* ---- the interface ----------------------------------------------------- */

static int
post(upstream_t *u, op_kind_t kind, gw_job_t *j)
{
    uint64_t one = 1;
    int rc = 0, wake = 0;

    pthread_mutex_lock(&u->mu);
    if (u->stopping && kind == OP_SUBMIT) {
        rc = -1;
    } else {
        /* Only the first op of an inbox wakes the thread: it takes the
        ** whole inbox after reading the eventfd. */
        wake = u->n_ops == 0;
        if (u->n_ops == u->cap_ops) {
            size_t cap = u->cap_ops ? u->cap_ops * 2 : 64;
            op_t *p = realloc(u->ops, cap * sizeof *p);
            if (p == NULL) {
                pthread_mutex_unlock(&u->mu);
                return -1;
            }
            u->ops = p;
            u->cap_ops = cap;
        }
        u->ops[u->n_ops++] = (op_t){kind, j};
    }
    pthread_mutex_unlock(&u->mu);
    if (wake && write(u->inbox_efd, &one, sizeof one) < 0) {
        /* the counter is full: the thread is awake anyway */
    }
    return rc;
}


int
upstream_submit(upstream_t *u, gw_job_t *j)
{
    return post(u, OP_SUBMIT, j);
}


void
upstream_release(upstream_t *u, gw_job_t *j)
{
    /* Out of memory for the inbox: leak the job rather than free it
    ** under the thread. */
    post(u, OP_RELEASE, j);
}


int
upstream_ready(upstream_t *u, char *why, size_t whylen)
{
    int64_t heard = u->last_answer_ms, now = clock_now_ms();

    if (heard == 0) {
        errf(why, whylen, "no answer from the coordinator yet");
        return 0;
    }
    if (now - heard > (int64_t)DOWN_HEARTBEATS * u->heartbeat_ms) {
        errf(why, whylen, "no answer from the coordinator for %lld ms",
             (long long)(now - heard));
        return 0;
    }
    return 1;
}


int
upstream_reachable(upstream_t *u)
{
    int64_t heard = u->last_answer_ms, started = u->started_ms;
    int64_t since = heard > started ? heard : started;

    return clock_now_ms() - since <= (int64_t)DOWN_HEARTBEATS * u->heartbeat_ms;
}


void
upstream_counts(upstream_t *u, int64_t *submitted, int64_t *cancelled)
{
    *submitted = u->n_submitted;
    *cancelled = u->n_cancelled;
}


upstream_t *
upstream_new(const upstream_opts_t *o, char *err, size_t errlen)
{
    upstream_t *u = calloc(1, sizeof *u);

    if (u == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&u->mu, NULL);
    u->inbox_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    u->heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
    u->n_routes = o->n_routes;
    u->routes = calloc(o->n_routes, sizeof *u->routes);
    u->rs = calloc(o->n_routes, sizeof *u->rs);
    u->problems = u64map_new();
    u->cancelled = u64map_new();
    u->next_id = ((uint64_t)getpid() << 32) ^ (uint64_t)clock_wall_ms();
    if (u->inbox_efd < 0 || !u->routes || !u->rs || !u->problems ||
        !u->cancelled) {
        errf(err, errlen, "out of memory or file descriptors");
        goto fail;
    }
    memcpy(u->routes, o->routes, o->n_routes * sizeof *u->routes);
    if ((u->zctx = zmq_ctx_new()) == NULL) {
        errf(err, errlen, "cannot create a ZeroMQ context");
        goto fail;
    }
    if ((u->sock = sock_new(u->zctx, ZMQ_DEALER, err, errlen)) == NULL)
        goto fail;
    if (o->keys != NULL &&
        curve_client(u->sock, o->keys, o->server_key, err, errlen) < 0)
        goto fail;
    if (sock_ipv6_for(u->sock, o->connect) != 0 ||
        zmq_connect(u->sock, o->connect) != 0) {
        errf(err, errlen, "--connect %s: %s", o->connect, zmq_strerror(errno));
        goto fail;
    }
    u->started_ms = clock_now_ms();
    if (pthread_create(&u->thread, NULL, run, u) != 0) {
        errf(err, errlen, "cannot start the coordinator thread");
        goto fail;
    }
    u->started = 1;
    return u;
fail:
    upstream_destroy(&u);
    return NULL;
}


void
upstream_destroy(upstream_t **up)
{
    if (up && *up) {
        upstream_t *u = *up;
        uint64_t one = 1;
        if (u->started) {
            pthread_mutex_lock(&u->mu);
            u->stopping = 1;
            pthread_mutex_unlock(&u->mu);
            if (write(u->inbox_efd, &one, sizeof one) < 0) {
            }
            pthread_join(u->thread, NULL);
        }
        for (size_t i = 0; i < u->n_ops; i++)
            job_destroy(&u->ops[i].job);
        free(u->ops);
        sock_destroy(&u->sock);
        if (u->zctx)
            zmq_ctx_term(u->zctx);
        u64map_destroy(&u->problems);
        u64map_destroy(&u->cancelled);
        free(u->sent);
        free(u->cancels);
        free(u->rs);
        free(u->routes);
        if (u->inbox_efd >= 0)
            close(u->inbox_efd);
        pthread_mutex_destroy(&u->mu);
        free(u);
        *up = NULL;
    }
}
