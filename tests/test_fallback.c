/*
** test_fallback.c: the coordinator decides locally when its router is gone.
**
** With --router-fallback local, a draft whose decision is not back within
** the router timeout is decided in-process by the run's own policy and
** recorded with decided_by "fallback:local"; decisions come from a router
** again as soon as one is there.  Two ways in:
**
**   in process  the coordinator runs in a thread and the test plays every
**               peer by hand over inproc://, so each way of losing the
**               router happens at a known step: no router yet, a router
**               that holds a request past the timeout (and answers late),
**               a router that goes silent and is dropped, a new router;
**               and a cascade (whole-solution decision) with no router,
**               whose malformed PRM answers are retried first.
**   over TCP    coordinator, router and worker processes; the only router
**               is killed with SIGKILL mid-run and a second one started
**               later; the audit shows who decided what, in order, and the
**               outcome equals a run in one process.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "clock.h"
#include "cluster.h"
#include "coordinator.h"
#include "envelope.h"
#include "log.h"
#include "sock.h"
#include "store.h"
#include "testutil.h"

#define ENDPOINT "inproc://fallback-test"
/* Liveness (5 x 100 ms) is shorter than the router timeout (700 ms), so a
** silent router is dropped before its request times out. */
#define HEARTBEAT_MS      100
#define LIVENESS          5
#define ROUTER_TIMEOUT_MS 700
#define LAST_STEP         6 /* the solution is steps 0..6 */

/* ---- the peers the test plays ----------------------------------------- */

typedef struct peer {
    void *s;
    const char *name;
    Trim__Role role;
    int live; /* heartbeats and is read; 0: silent, as if killed */
    int64_t last_beat;
} peer_t;


static void
send_env(peer_t *p, Trim__Envelope *env)
{
    assert_int_equal(sock_send_env(p->s, NULL, 0, env), 0);
}


/* Connect p and announce it with credit. */
static void
join(void *zctx, peer_t *p, const char *name, Trim__Role role, uint32_t credit)
{
    char err[256];
    Trim__Ready r = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    p->s = sock_new(zctx, ZMQ_DEALER, err, sizeof err);
    assert_non_null(p->s);
    assert_int_equal(zmq_connect(p->s, ENDPOINT), 0);
    p->name = name;
    p->role = role;
    p->live = 1;
    r.role = role;
    r.credit = credit;
    r.name = (char *)name;
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &r;
    send_env(p, &env);
    p->last_beat = clock_now_ms();
}


static void
heartbeat_live(peer_t **all, size_t n)
{
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (all[i]->s == NULL || !all[i]->live ||
            now - all[i]->last_beat < HEARTBEAT_MS / 2)
            continue;
        Trim__Heartbeat hb = TRIM__HEARTBEAT__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        env.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        send_env(all[i], &env);
        all[i]->last_beat = now;
    }
}


/* The key of a request batch's one item. */
static const Trim__Key *
request_key(const Trim__Envelope *env)
{
    switch (env->body_case) {
    case TRIM__ENVELOPE__BODY_GENERATE:
        assert_int_equal(env->generate->n_items, 1);
        return env->generate->items[0]->key;
    case TRIM__ENVELOPE__BODY_SCORE:
        assert_int_equal(env->score->n_items, 1);
        return env->score->items[0]->key;
    case TRIM__ENVELOPE__BODY_ROUTE:
        assert_int_equal(env->route->n_items, 1);
        return env->route->items[0]->key;
    default:
        fail_msg("unexpected message of type %d", (int)env->body_case);
        return NULL;
    }
}


/*
** The next request to any live peer must be for peer who and step; the
** live peers heartbeat meanwhile.  Returns it (env_destroy it).
*/
static Trim__Envelope *
expect(peer_t **all, size_t n, peer_t *who, uint32_t step)
{
    int64_t deadline = clock_now_ms() + 10000;
    char err[256];

    while (clock_now_ms() < deadline) {
        zmq_pollitem_t items[8];
        peer_t *polled[8];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (all[i]->s != NULL && all[i]->live) {
                items[k] = (zmq_pollitem_t){all[i]->s, 0, ZMQ_POLLIN, 0};
                polled[k++] = all[i];
            }
        assert_true(zmq_poll(items, (int)k, HEARTBEAT_MS / 4) >= 0);
        heartbeat_live(all, n);
        for (size_t i = 0; i < k; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            assert_true(zmq_msg_recv(&msg, polled[i]->s, 0) >= 0);
            Trim__Envelope *env = env_unpack(
                zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
            zmq_msg_close(&msg);
            assert_non_null(env);
            if (env->body_case == TRIM__ENVELOPE__BODY_HEARTBEAT) {
                env_destroy(&env);
                continue;
            }
            const Trim__Key *key = request_key(env);
            if (polled[i] != who || key->step_index != step)
                fail_msg("%s got a request for step %u; expected one for "
                         "%s at step %u",
                         polled[i]->name, key->step_index, who->name, step);
            return env;
        }
    }
    fail_msg("no request for %s at step %u in 10 s", who->name, step);
    return NULL;
}


/* Answer a generate request with step k of the solution (END at the last). */
static void
answer_step(peer_t *p, Trim__Envelope *req)
{
    const Trim__GenerateStep *g = req->generate->items[0];
    uint32_t k = g->key->step_index;
    char text[64];
    Trim__StepResult r = TRIM__STEP_RESULT__INIT;
    Trim__StepResult *items[1] = {&r};
    Trim__StepResultBatch b = TRIM__STEP_RESULT_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    if (k == LAST_STEP)
        snprintf(text, sizeof text, "So the count is \\boxed{%u}.", k + 1);
    else
        snprintf(text, sizeof text, "%s step %u: the count is %u.",
                 p->role == TRIM__ROLE__ROLE_LARGE ? "Strong" : "Weak", k,
                 k + 1);
    r.key = g->key;
    r.text = text;
    r.completion_tokens = p->role == TRIM__ROLE__ROLE_LARGE ? 20 : 10;
    r.finish =
        k == LAST_STEP ? TRIM__FINISH__FINISH_END : TRIM__FINISH__FINISH_STEP;
    b.n_items = 1;
    b.items = items;
    env.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
    env.step_results = &b;
    send_env(p, &env);
    env_destroy(&req);
}


/* Answer a scoring request with these n scores (right or wrong). */
static void
answer_scores(peer_t *p, Trim__Envelope *req, const float *scores, size_t n)
{
    Trim__StepScores r = TRIM__STEP_SCORES__INIT;
    Trim__StepScores *items[1] = {&r};
    Trim__StepScoresBatch b = TRIM__STEP_SCORES_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    r.key = req->score->items[0]->key;
    r.n_scores = n;
    r.scores = (float *)scores;
    r.input_tokens = 50;
    b.n_items = 1;
    b.items = items;
    env.body_case = TRIM__ENVELOPE__BODY_STEP_SCORES;
    env.step_scores = &b;
    send_env(p, &env);
    env_destroy(&req);
}


/* Score the history: 0.9 for every accepted step, draft for the draft. */
static void
answer_score(peer_t *p, Trim__Envelope *req, float draft)
{
    const Trim__ScoreSteps *s = req->score->items[0];
    float scores[16];

    assert_int_equal(s->n_steps, s->key->step_index + 1);
    for (size_t i = 0; i < s->n_steps; i++)
        scores[i] = i + 1 == s->n_steps ? draft : 0.9f;
    answer_scores(p, req, scores, s->n_steps);
}


/* Keep the draft of the request with this key. */
static void
answer_keep(peer_t *p, const Trim__Key *key)
{
    Trim__RouteDecision d = TRIM__ROUTE_DECISION__INIT;
    Trim__RouteDecision *items[1] = {&d};
    Trim__DecisionBatch b = TRIM__DECISION_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    d.key = (Trim__Key *)key;
    d.action = TRIM__ACTION__ACTION_KEEP;
    d.prob = 1.0f;
    d.reason = "kept by the test router";
    b.n_items = 1;
    b.items = items;
    env.body_case = TRIM__ENVELOPE__BODY_DECISIONS;
    env.decisions = &b;
    send_env(p, &env);
}

/* ---- in process --------------------------------------------------------- */

typedef struct coord_thread {
    store_writer_t *writer;
    coord_t *coord;
    atomic_int stop;
    int rc;
} coord_thread_t;


static void *
coord_main(void *arg)
{
    coord_thread_t *t = arg;
    t->rc = coord_run(t->coord, &t->stop, NULL, NULL);
    return NULL;
}


/* The draft row of step k: who decided, what, and why. */
static void
check_draft(sqlite3 *h, int k, const char *decided_by, const char *decision,
            const char *reason_like)
{
    if (sql_int(h,
                "SELECT COUNT(*) FROM steps WHERE kind='draft' AND "
                "step_index=%d AND decided_by='%s' AND decision='%s' AND "
                "reason LIKE '%s'",
                k, decided_by, decision, reason_like) != 1)
        fail_msg("step %d: not decided '%s' by %s with a reason like '%s'", k,
                 decision, decided_by, reason_like);
}


/*
** A coordinator in its own thread, with the fallback given, one run of
** policy and one problem (count to seven), and a small, a PRM and a large
** peer joined; no router yet.
*/
static void
start(coord_thread_t *t, pthread_t *thread, void *zctx, const char *db,
      const char *policy, coord_fallback_t fallback, peer_t *small, peer_t *prm,
      peer_t *large)
{
    char err[512];

    assert_int_equal(store_migrate(db, err, sizeof err), 0);
    t->writer = store_writer_new(db, NULL, err, sizeof err);
    assert_non_null(t->writer);
    coord_opts_t o = {0};
    o.endpoint = ENDPOINT;
    o.db = db;
    o.heartbeat_ms = HEARTBEAT_MS;
    o.liveness = LIVENESS;
    o.router_timeout_ms = ROUTER_TIMEOUT_MS;
    o.router_fallback = fallback;
    o.exit_when_done = 1;
    t->coord = coord_new(zctx, &o, t->writer, err, sizeof err);
    assert_non_null(t->coord);
    coord_run_opts_t ro = {0};
    ro.policy = policy;
    ro.seed = 1;
    int64_t run = coord_add_run(t->coord, &ro, err, sizeof err);
    assert_true(run > 0);
    coord_problem_t p = {0};
    p.seed = 1;
    p.text = "Count from one to seven, one number a step.";
    p.ground_truth = "7";
    assert_true(coord_submit(t->coord, run, &p, err, sizeof err) > 0);
    assert_int_equal(pthread_create(thread, NULL, coord_main, t), 0);
    join(zctx, small, "small", TRIM__ROLE__ROLE_SMALL, 4);
    join(zctx, prm, "prm", TRIM__ROLE__ROLE_PRM, 4);
    join(zctx, large, "large", TRIM__ROLE__ROLE_LARGE, 4);
}


/*
** Wait for the coordinator to finish its one problem, keep its counters in
** stats, and close everything.
*/
static void
finish(coord_thread_t *t, pthread_t thread, void *zctx, peer_t **all, size_t n,
       coord_stats_t *stats)
{
    pthread_join(thread, NULL);
    assert_int_equal(t->rc, 0);
    *stats = *coord_stats(t->coord);
    for (size_t i = 0; i < n; i++)
        sock_destroy(&all[i]->s);
    coord_destroy(&t->coord);
    zmq_ctx_term(zctx);
    assert_int_equal(store_writer_wait(t->writer, 0), 0);
    store_writer_destroy(&t->writer);
}


static void
test_fallback_in_process(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    peer_t small = {0}, prm = {0}, large = {0}, r1 = {0}, r2 = {0};
    peer_t *all[] = {&small, &prm, &large, &r1, &r2};
    const size_t n = sizeof all / sizeof *all;
    Trim__Envelope *req;

    test_tmp_path(db, sizeof db, "fallback.db");
    start(&t, &thread, zctx, db, "thr:0.5", COORD_FALLBACK_LOCAL, &small, &prm,
          &large);

    /* Step 0, no router has ever joined: after the timeout the draft
    ** (score 0.2 < 0.5) is regenerated by the local fallback. */
    answer_step(&small, expect(all, n, &small, 0));
    answer_score(&prm, expect(all, n, &prm, 0), 0.2f);
    req = expect(all, n, &large, 0);
    /* A router joins, with room for one request at a time. */
    join(zctx, &r1, "r1", TRIM__ROLE__ROLE_ROUTER, 1);
    answer_step(&large, req);

    /* Step 1: the router decides. */
    answer_step(&small, expect(all, n, &small, 1));
    answer_score(&prm, expect(all, n, &prm, 1), 0.9f);
    req = expect(all, n, &r1, 1);
    answer_keep(&r1, request_key(req));
    env_destroy(&req);

    /* Step 2: the router holds the request past the timeout (heartbeating
    ** all along); the fallback keeps the draft and the problem moves on. */
    answer_step(&small, expect(all, n, &small, 2));
    answer_score(&prm, expect(all, n, &prm, 2), 0.9f);
    Trim__Envelope *held = expect(all, n, &r1, 2);
    req = expect(all, n, &small, 3);
    /* Its late answer is stale, and gives back the router's only credit:
    ** step 3's decision can go to it only because of that. */
    answer_keep(&r1, request_key(held));
    env_destroy(&held);
    answer_step(&small, req);
    answer_score(&prm, expect(all, n, &prm, 3), 0.9f);
    req = expect(all, n, &r1, 3);
    answer_keep(&r1, request_key(req));
    env_destroy(&req);

    /* Step 4: the router goes silent, as if killed, while step 4 is sent to
    ** it; it is dropped, the request waits for any router, and after the
    ** timeout the fallback regenerates the draft (score 0.3 < 0.5). */
    answer_step(&small, expect(all, n, &small, 4));
    r1.live = 0;
    answer_score(&prm, expect(all, n, &prm, 4), 0.3f);
    req = expect(all, n, &large, 4);

    /* A new router joins: the decisions are its own again. */
    join(zctx, &r2, "r2", TRIM__ROLE__ROLE_ROUTER, 4);
    answer_step(&large, req);
    for (uint32_t k = 5; k <= LAST_STEP; k++) {
        answer_step(&small, expect(all, n, &small, k));
        answer_score(&prm, expect(all, n, &prm, k), 0.9f);
        req = expect(all, n, &r2, k);
        answer_keep(&r2, request_key(req));
        env_destroy(&req);
    }

    coord_stats_t s;
    finish(&t, thread, zctx, all, n, &s);
    assert_int_equal(s.finished, 1);
    assert_int_equal(s.correct, 1);
    assert_int_equal(s.fallbacks, 3);
    assert_int_equal(s.stale_replies, 1); /* r1's late answer */
    assert_int_equal(s.requeues, 1);      /* step 4, when r1 was dropped */

    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    check_draft(h, 0, "fallback:local", "regenerate",
                "score 0.200 < 0.5 (no router connected)");
    check_draft(h, 1, "router:r1", "keep", "kept by the test router");
    check_draft(h, 2, "fallback:local", "keep",
                "score 0.900 >= 0.5 (no router answered in time)");
    check_draft(h, 3, "router:r1", "keep", "kept by the test router");
    check_draft(h, 4, "fallback:local", "regenerate",
                "score 0.300 < 0.5 (no router connected)");
    check_draft(h, 5, "router:r2", "keep", "kept by the test router");
    check_draft(h, 6, "router:r2", "keep", "kept by the test router");
    /* The regenerated steps are the strong model's; the rest the drafts. */
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "kind='strong' AND accepted=1 AND "
                                "step_index IN (0, 4)"),
                     2);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps"), 9);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "status='finished' AND correct=1 AND "
                                "steps=7 AND regenerated_steps=2 AND "
                                "strong_tokens=40 AND weak_tokens=50 AND "
                                "discarded_tokens=20"),
                     1);
    sqlite3_close(h);
    test_remove_db(db);
}

/* Step k drafted, scored 0.9 and kept by router. */
static void
router_keeps(peer_t **all, size_t n, peer_t *small, peer_t *prm, peer_t *router,
             uint32_t k)
{
    answer_step(small, expect(all, n, small, k));
    answer_score(prm, expect(all, n, prm, k), 0.9f);
    Trim__Envelope *req = expect(all, n, router, k);
    answer_keep(router, request_key(req));
    env_destroy(&req);
}


/* Heartbeat for ms; no request may come meanwhile. */
static void
idle(peer_t **all, size_t n, int ms)
{
    int64_t until = clock_now_ms() + ms;
    char err[256];

    while (clock_now_ms() < until) {
        zmq_pollitem_t items[8];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (all[i]->s != NULL && all[i]->live)
                items[k++] = (zmq_pollitem_t){all[i]->s, 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(items, (int)k, HEARTBEAT_MS / 4) >= 0);
        heartbeat_live(all, n);
        for (size_t i = 0; i < k; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            assert_true(zmq_msg_recv(&msg, items[i].socket, 0) >= 0);
            Trim__Envelope *env = env_unpack(
                zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
            zmq_msg_close(&msg);
            assert_non_null(env);
            assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_HEARTBEAT);
            env_destroy(&env);
        }
    }
}


/* Ask for a Status on p's socket and wait for it, heartbeats dropped. */
static Trim__Envelope *
status_on(peer_t *p)
{
    Trim__StatusRequest q = TRIM__STATUS_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT, *in;
    char err[256];

    q.request_id = 42;
    env.body_case = TRIM__ENVELOPE__BODY_STATUS_REQUEST;
    env.status_request = &q;
    send_env(p, &env);
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, p->s, 0) >= 0);
        in =
            env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
        zmq_msg_close(&msg);
        assert_non_null(in);
        if (in->body_case == TRIM__ENVELOPE__BODY_STATUS)
            return in;
        env_destroy(&in);
    }
}


/*
** With the wait fallback, a decision stays with the only router while it
** takes longer than the router timeout, and its answer is taken: it used
** to be sent again to the same router at every timeout, each answer
** stale, and nothing was ever decided.  With a second router there, a
** late decision goes to it, counted as expired (not as a requeue: no peer
** was lost) and shown in Status.
*/
static void
test_wait_fallback_slow_router(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    peer_t small = {0}, prm = {0}, large = {0}, r1 = {0}, r2 = {0};
    peer_t *all[] = {&small, &prm, &large, &r1, &r2};
    const size_t n = sizeof all / sizeof *all;
    Trim__Envelope *req;

    test_tmp_path(db, sizeof db, "fallback-wait.db");
    start(&t, &thread, zctx, db, "thr:0.5", COORD_FALLBACK_WAIT, &small, &prm,
          &large);
    join(zctx, &r1, "r1", TRIM__ROLE__ROLE_ROUTER, 1);

    /* Step 0: the only router answers after three router timeouts. */
    answer_step(&small, expect(all, n, &small, 0));
    answer_score(&prm, expect(all, n, &prm, 0), 0.9f);
    req = expect(all, n, &r1, 0);
    idle(all, n, 3 * ROUTER_TIMEOUT_MS);
    answer_keep(&r1, request_key(req));
    env_destroy(&req);

    /* Step 1: r1 holds the decision again, but now r2 is there to take
    ** it.  r1's only credit is held by a request past its deadline, so it
    ** is quarantined.  Its late answer is stale; the Status on r1's socket
    ** comes after that was handled. */
    answer_step(&small, expect(all, n, &small, 1));
    answer_score(&prm, expect(all, n, &prm, 1), 0.9f);
    Trim__Envelope *held = expect(all, n, &r1, 1);
    join(zctx, &r2, "r2", TRIM__ROLE__ROLE_ROUTER, 1);
    req = expect(all, n, &r2, 1);
    answer_keep(&r1, request_key(held));
    env_destroy(&held);
    Trim__Envelope *st = status_on(&r1);
    assert_int_equal(st->status->expired, 1);
    assert_int_equal(st->status->requeues, 0);
    assert_int_equal(st->status->quarantines, 1);
    assert_int_equal(st->status->stale_replies, 1);
    env_destroy(&st);
    answer_keep(&r2, request_key(req));
    env_destroy(&req);

    /* The rest goes to r2 while r1 is quarantined. */
    for (uint32_t k = 2; k <= LAST_STEP; k++)
        router_keeps(all, n, &small, &prm, &r2, k);

    coord_stats_t s;
    finish(&t, thread, zctx, all, n, &s);
    assert_int_equal(s.finished, 1);
    assert_int_equal(s.fallbacks, 0);
    assert_int_equal(s.stale_replies, 1);
    assert_int_equal(s.expired, 1);
    assert_int_equal(s.requeues, 0);
    assert_int_equal(s.retries, 0);

    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    check_draft(h, 0, "router:r1", "keep", "kept by the test router");
    check_draft(h, 1, "router:r2", "keep", "kept by the test router");
    sqlite3_close(h);
    test_remove_db(db);
}


/*
** A router that never answers a decision, with credit 1, is quarantined
** once the decision goes elsewhere; when its quarantine ends (30 s) the
** credit that request held comes back, so once it is the only router it
** decides again.  Its credit used to stay held for its whole life: with
** the wait fallback nothing was decided any more.
*/
static void
test_quarantine_end_gives_credit_back(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    peer_t small = {0}, prm = {0}, large = {0}, r1 = {0}, r2 = {0};
    peer_t *all[] = {&small, &prm, &large, &r1, &r2};
    const size_t n = sizeof all / sizeof *all;
    Trim__Envelope *req;

    test_tmp_path(db, sizeof db, "fallback-credit.db");
    start(&t, &thread, zctx, db, "thr:0.5", COORD_FALLBACK_WAIT, &small, &prm,
          &large);
    join(zctx, &r1, "r1", TRIM__ROLE__ROLE_ROUTER, 1);

    /* Step 0: r1 never answers; past the timeout r2 decides, then leaves. */
    answer_step(&small, expect(all, n, &small, 0));
    answer_score(&prm, expect(all, n, &prm, 0), 0.9f);
    Trim__Envelope *never = expect(all, n, &r1, 0);
    join(zctx, &r2, "r2", TRIM__ROLE__ROLE_ROUTER, 1);
    req = expect(all, n, &r2, 0);
    answer_keep(&r2, request_key(req));
    env_destroy(&req);
    Trim__Disconnect bye = TRIM__DISCONNECT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    bye.reason = "leaving";
    env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &bye;
    send_env(&r2, &env);
    r2.live = 0;

    /* Step 1: r1 is the only router, quarantined, its credit held by the
    ** request it let pass: the decision waits for the quarantine's end. */
    answer_step(&small, expect(all, n, &small, 1));
    answer_score(&prm, expect(all, n, &prm, 1), 0.9f);
    idle(all, n, 28000);
    req = expect(all, n, &r1, 1);
    answer_keep(&r1, request_key(req));
    env_destroy(&req);
    for (uint32_t k = 2; k <= LAST_STEP; k++)
        router_keeps(all, n, &small, &prm, &r1, k);
    env_destroy(&never);

    coord_stats_t s;
    finish(&t, thread, zctx, all, n, &s);
    assert_int_equal(s.finished, 1);
    assert_int_equal(s.expired, 1);
    assert_int_equal(s.quarantines, 1);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    check_draft(h, 0, "router:r2", "keep", "kept by the test router");
    check_draft(h, 1, "router:r1", "keep", "kept by the test router");
    sqlite3_close(h);
    test_remove_db(db);
}


/*
** A cascade whose router never comes: the PRM's malformed answers on the
** whole weak solution are retried, and the local fallback decides on the
** solution as the cascade would: below K, the strong model solves it again.
*/
static void
test_cascade_fallback_in_process(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    peer_t small = {0}, prm = {0}, large = {0};
    peer_t *all[] = {&small, &prm, &large};
    const size_t n = sizeof all / sizeof *all;
    const float scores[LAST_STEP + 1] = {0.9f, 0.8f, 0.3f, 0.9f,
                                         0.9f, 0.7f, 0.9f};
    float bad[LAST_STEP + 1];
    Trim__Envelope *req;

    test_tmp_path(db, sizeof db, "cascade-fallback.db");
    start(&t, &thread, zctx, db, "cascade:0.5", COORD_FALLBACK_LOCAL, &small,
          &prm, &large);
    /* The weak model writes the whole solution, unscored. */
    for (uint32_t k = 0; k <= LAST_STEP; k++)
        answer_step(&small, expect(all, n, &small, k));
    /* One score short, then one out of range: each is retried. */
    req = expect(all, n, &prm, LAST_STEP + 1);
    assert_int_equal(req->score->items[0]->n_steps, LAST_STEP + 1);
    answer_scores(&prm, req, scores, LAST_STEP);
    req = expect(all, n, &prm, LAST_STEP + 1);
    assert_int_equal(req->score->items[0]->key->attempt, 1);
    memcpy(bad, scores, sizeof bad);
    bad[3] = 1.5f;
    answer_scores(&prm, req, bad, LAST_STEP + 1);
    req = expect(all, n, &prm, LAST_STEP + 1);
    assert_int_equal(req->score->items[0]->key->attempt, 2);
    answer_scores(&prm, req, scores, LAST_STEP + 1);
    /* No router: the solution's score, 0.3, is below 0.5.  The strong
    ** model solves the problem from the start. */
    for (uint32_t k = 0; k <= LAST_STEP; k++)
        answer_step(&large, expect(all, n, &large, k));

    coord_stats_t s;
    finish(&t, thread, zctx, all, n, &s);
    assert_int_equal(s.finished, 1);
    assert_int_equal(s.correct, 1);
    assert_int_equal(s.fallbacks, 1);
    assert_int_equal(s.retries, 2);

    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    for (int k = 0; k <= LAST_STEP; k++)
        check_draft(h, k, "fallback:local", "regenerate",
                    "cascade: solution score 0.300 < 0.5 (no router "
                    "connected)");
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "kind='draft' AND accepted=0 AND "
                                "ABS(prm_score - 0.3) < 1e-6 AND "
                                "step_index=2"),
                     1);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "kind='strong' AND accepted=1"),
                     LAST_STEP + 1);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "status='finished' AND correct=1 AND "
                                "steps=7 AND regenerated_steps=7 AND "
                                "strong_tokens=140 AND weak_tokens=0 AND "
                                "discarded_tokens=70 AND prm_tokens=50"),
                     1);
    sqlite3_close(h);
    test_remove_db(db);
}

/* ---- over TCP ----------------------------------------------------------- */

/* Wait (bounded) until a query on db yields a count > 0: the writer's rows
** are the only sign of a decision from outside the coordinator. */
static void
wait_for_rows(const char *db, const char *sql)
{
    for (int tries = 0; tries < 1000; tries++) {
        sqlite3 *h;
        int64_t n = 0;
        if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_stmt *q;
            sqlite3_busy_timeout(h, 1000);
            if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK &&
                sqlite3_step(q) == SQLITE_ROW)
                n = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
        sqlite3_close(h);
        if (n > 0)
            return;
        cluster_pause_ms(20);
    }
    fail_msg("no row for '%s' in 20 s", sql);
}


static void
test_fallback_cluster(void **state)
{
    (void)state;
    cluster_t k;
    char log[400], local_db[400];
    enum { PROBLEMS = 60 };

    cluster_init(&k);
    /* Eight problems in flight: most are still queued when the router
    ** dies.  A generous timeout: a slow router is not a dead one. */
    cluster_start_one_each(&k,
                           (const char *const[]){"--router-fallback", "local",
                                                 "--router-timeout-ms", "1000",
                                                 "--concurrency", "8", NULL},
                           "5", "8");
    int64_t run = cluster_submit_sim(&k, PROBLEMS, 13, "thr:0.5");
    int waiter = cluster_spawn_wait(&k, run);

    /* The only router dies mid-run; decisions go on without it. */
    wait_for_rows(k.db, "SELECT COUNT(*) FROM steps WHERE "
                        "decided_by='router:router-1'");
    cluster_kill(&k, k.routers[0]);
    wait_for_rows(k.db, "SELECT COUNT(*) FROM steps WHERE "
                        "decided_by='fallback:local'");
    /* A router comes back. */
    cluster_start_router(&k, "router-2", NULL);
    json_t *sum = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(sum, "finished"), PROBLEMS);
    json_t *status = cluster_status(&k);
    assert_non_null(status);
    cluster_stop(&k);

    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    /* Every decision is named: router-1's, then the fallback's while no
    ** router was there, then router-2's, in the order they were made. */
    static const char decisions[] =
        "FROM steps WHERE kind='draft' AND decision IS NOT NULL";
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) %s AND decided_by NOT IN "
                             "('router:router-1', 'fallback:local', "
                             "'router:router-2')",
                             decisions),
                     0);
    int64_t fallbacks = sql_int(
        h, "SELECT COUNT(*) %s AND decided_by='fallback:local'", decisions);
    assert_true(fallbacks > 0);
    assert_true(sql_int(h,
                        "SELECT COUNT(*) %s AND decided_by='router:router-2'",
                        decisions) > 0);
    assert_true(
        sql_int(h, "SELECT MAX(rowid) %s AND decided_by='router:router-1'",
                decisions) <
        sql_int(h, "SELECT MIN(rowid) %s AND decided_by='fallback:local'",
                decisions));
    assert_true(
        sql_int(h, "SELECT MAX(rowid) %s AND decided_by='fallback:local'",
                decisions) <
        sql_int(h, "SELECT MIN(rowid) %s AND decided_by='router:router-2'",
                decisions));
    /* The fallback says why, and decides as the run's policy would. */
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) %s AND decided_by='fallback:"
                             "local' AND reason LIKE 'score %% (no router %%)'",
                             decisions),
                     fallbacks);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) %s AND (prm_score < 0.5) <> "
                             "(decision = 'regenerate')",
                             decisions),
                     0);
    assert_int_equal(jint(status, "fallback_decisions"), fallbacks);
    json_decref(status);
    sqlite3_close(h);
    cluster_path(&k, "coordinator.log", log, sizeof log);
    assert_true(test_file_contains(log, "dropped router peer router-1"));

    /* Who decided changed; what was decided did not. */
    json_t *one = cluster_local_run(&k, "local.db", PROBLEMS, 13, "thr:0.5",
                                    local_db, sizeof local_db);
    cluster_same_steps(k.db, local_db);
    assert_int_equal(jint(sum, "correct"), jint(one, "correct"));
    json_decref(one);
    json_decref(sum);
}


int
main(void)
{
    tlog_set_level(TLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fallback_in_process),
        cmocka_unit_test(test_wait_fallback_slow_router),
        cmocka_unit_test(test_quarantine_end_gives_credit_back),
        cmocka_unit_test(test_cascade_fallback_in_process),
        cmocka_unit_test(test_fallback_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
