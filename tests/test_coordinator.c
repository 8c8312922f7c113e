/*
** test_coordinator.c: the broker's rules, with the test playing the peers.
**
** A coordinator runs in its own thread on inproc://; the test connects
** DEALER sockets and speaks the wire protocol by hand, so it can misbehave:
** hold requests and go silent, send garbage, a wrong protocol version, a
** message before announcing itself, and a reply for a request never sent;
** and plays a notify client: pushes, Cancel and Watch.
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
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "clock.h"
#include "coordinator.h"
#include "envelope.h"
#include "log.h"
#include "sock.h"
#include "store.h"
#include "testutil.h"

#define ENDPOINT     "inproc://coord-test"
#define HEARTBEAT_MS 50
#define PROBLEMS     3

typedef struct {
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


static void *
dealer(void *zctx)
{
    char err[256];
    void *s = sock_new(zctx, ZMQ_DEALER, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(zmq_connect(s, ENDPOINT), 0);
    return s;
}


static void
send_env(void *s, Trim__Envelope *env)
{
    assert_int_equal(sock_send_env(s, NULL, 0, env), 0);
}


/* Announce a small-pool peer; deadline_ms 0: the coordinator's own. */
static void
send_ready_deadline(void *s, const char *name, uint32_t credit,
                    uint32_t deadline_ms)
{
    Trim__Ready r = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    r.role = TRIM__ROLE__ROLE_SMALL;
    r.credit = credit;
    r.name = (char *)name;
    r.deadline_ms = deadline_ms;
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &r;
    send_env(s, &env);
}


static void
send_ready(void *s, const char *name, uint32_t credit)
{
    send_ready_deadline(s, name, credit, 0);
}


static void
send_heartbeat(void *s)
{
    Trim__Heartbeat hb = TRIM__HEARTBEAT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    env.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    send_env(s, &env);
}


/* Next non-heartbeat envelope within timeout_ms, heartbeating meanwhile. */
static Trim__Envelope *
recv_env(void *s, int timeout_ms)
{
    int64_t deadline = clock_now_ms() + timeout_ms;
    char err[256];

    for (;;) {
        int64_t left = deadline - clock_now_ms();
        if (left <= 0)
            return NULL;
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, left < HEARTBEAT_MS ? left : HEARTBEAT_MS);
        send_heartbeat(s);
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, s, 0) >= 0);
        Trim__Envelope *env =
            env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
        zmq_msg_close(&msg);
        assert_non_null(env);
        if (env->body_case == TRIM__ENVELOPE__BODY_HEARTBEAT) {
            env_destroy(&env);
            continue;
        }
        return env;
    }
}


/* Answer every request of a batch with a final step "\boxed{0}". */
static void
answer_all(void *s, const Trim__GenerateBatch *b)
{
    Trim__StepResult res[16], *resp[16];
    Trim__StepResultBatch batch = TRIM__STEP_RESULT_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    assert_true(b->n_items <= 16);
    for (size_t i = 0; i < b->n_items; i++) {
        trim__step_result__init(&res[i]);
        res[i].key = b->items[i]->key;
        res[i].text = "So the answer is \\boxed{0}.";
        res[i].completion_tokens = 9;
        res[i].finish = TRIM__FINISH__FINISH_END;
        resp[i] = &res[i];
    }
    batch.n_items = b->n_items;
    batch.items = resp;
    env.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
    env.step_results = &batch;
    send_env(s, &env);
}


/*
** A coordinator on ENDPOINT over the store at db (its writer in *w), with
** the options of *o and this test's endpoint and heartbeat; recover resumes
** what the store holds, else run 1 (policy weak) is opened.  A peer is
** dropped after o->liveness silent heartbeats: 3 (150 ms) where a test
** makes a peer go silent; unset, 100, so that a test's peer thread is not
** taken for silent while a loaded machine leaves it unscheduled a while.
*/
static coord_t *
open_coord(void *zctx, const char *db, coord_opts_t *o, int recover,
           store_writer_t **w)
{
    char err[512];

    assert_int_equal(store_migrate(db, err, sizeof err), 0);
    *w = store_writer_new(db, NULL, err, sizeof err);
    assert_non_null(*w);
    o->endpoint = ENDPOINT;
    o->db = db;
    o->heartbeat_ms = HEARTBEAT_MS;
    if (o->liveness == 0)
        o->liveness = 100;
    /* A restarted coordinator binds the inproc name its predecessor held;
    ** libzmq frees the name only once its reaper thread has closed the old
    ** socket, and nothing signals that: try again, bounded (5 s). */
    coord_t *c = coord_new(zctx, o, *w, err, sizeof err);
    for (int tries = 0; c == NULL && strstr(err, "in use") && tries < 500;
         tries++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        c = coord_new(zctx, o, *w, err, sizeof err);
    }
    if (c == NULL)
        fprintf(stderr, "coord_new: %s\n", err);
    assert_non_null(c);
    if (recover) {
        assert_true(coord_recover(c, err, sizeof err) >= 0);
    } else {
        coord_run_opts_t ro = {"weak", 1, "{}", 0, 0, 0};
        assert_int_equal(coord_add_run(c, &ro, err, sizeof err), 1);
    }
    return c;
}


/* open_coord with at most concurrency problems in flight (0: the
** default) and the given liveness. */
static coord_t *
make_coord(void *zctx, const char *db, int exit_when_done, int concurrency,
           int recover, int liveness, store_writer_t **w)
{
    coord_opts_t o = {0};

    o.liveness = liveness;
    o.exit_when_done = exit_when_done;
    o.concurrency = concurrency;
    return open_coord(zctx, db, &o, recover, w);
}


/* A fresh coordinator with run 1 (policy weak) open. */
static coord_t *
new_coord(void *zctx, const char *db, int exit_when_done, store_writer_t **w)
{
    return make_coord(zctx, db, exit_when_done, 0, 0, 3, w);
}


static void
test_credit_requeue_and_bad_peers(void **state)
{
    (void)state;
    char db[256], err[512];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    store_writer_t *w;
    const int64_t run = 1;

    test_tmp_path(db, sizeof db, "coord.db");
    t.coord = new_coord(zctx, db, 1, &w);
    for (int i = 0; i < PROBLEMS; i++) {
        coord_problem_t p = {0};
        char text[64];
        snprintf(text, sizeof text, "Problem %d: what is 0?", i);
        p.seed = (uint64_t)i;
        p.text = text;
        p.ground_truth = "0";
        assert_int_equal(coord_submit(t.coord, run, &p, err, sizeof err),
                         i + 1);
    }
    assert_int_equal(pthread_create(&thread, NULL, coord_main, &t), 0);

    /* Peer A takes as much as its credit allows, and not one more. */
    void *a = dealer(zctx);
    send_ready(a, "peer-a", 2);
    size_t held = 0;
    uint64_t held_ids[2] = {0, 0};
    Trim__Envelope *env;
    while (held < 2 && (env = recv_env(a, 2000)) != NULL) {
        assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_GENERATE);
        for (size_t i = 0; i < env->generate->n_items; i++) {
            assert_true(held < 2);
            assert_int_equal(env->generate->items[i]->key->attempt, 0);
            held_ids[held++] = env->generate->items[i]->key->problem_id;
        }
        env_destroy(&env);
    }
    assert_int_equal(held, 2);
    env = recv_env(a, 4 * HEARTBEAT_MS);
    assert_null(env); /* the third problem waits: A has no credit left */

    /* Garbage, a wrong version, and a message before Ready. */
    void *g = dealer(zctx);
    assert_int_equal(zmq_send(g, "\xff\xff\xff\xff garbage", 12, 0), 12);
    {
        Trim__Heartbeat hb = TRIM__HEARTBEAT__INIT;
        Trim__Envelope bad = TRIM__ENVELOPE__INIT;
        uint8_t buf[32];
        bad.version = TRIM_PROTOCOL_VERSION + 7;
        bad.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
        bad.heartbeat = &hb;
        size_t n = trim__envelope__pack(&bad, buf);
        assert_int_equal(zmq_send(g, buf, n, 0), (int)n);
    }
    send_heartbeat(g);       /* valid, but G never announced itself */
    env = recv_env(g, 2000); /* the wrong version is told why */
    assert_non_null(env);
    assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_DISCONNECT);
    assert_non_null(strstr(env->disconnect->reason, "protocol version 9"));
    assert_true(env->disconnect->shutdown);
    env_destroy(&env);
    env = recv_env(g, 2000);
    assert_non_null(env);
    assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_DISCONNECT);
    assert_non_null(strstr(env->disconnect->reason, "Ready"));
    env_destroy(&env);

    /* A reply from A for a request that was never sent. */
    {
        Trim__Key key = TRIM__KEY__INIT;
        Trim__GenerateStep item = TRIM__GENERATE_STEP__INIT;
        Trim__GenerateStep *items[1] = {&item};
        Trim__GenerateBatch fake = TRIM__GENERATE_BATCH__INIT;
        key.problem_id = 999999;
        key.role = TRIM__ROLE__ROLE_SMALL;
        item.key = &key;
        fake.n_items = 1;
        fake.items = items;
        answer_all(a, &fake);
    }

    /* A goes silent holding two requests; B joins and must get them back,
    ** each with attempt 1, plus the third problem with attempt 0. */
    void *b = dealer(zctx);
    send_ready(b, "peer-b", 8);
    int requeued = 0, fresh = 0, done = 0;
    while (done < PROBLEMS && (env = recv_env(b, 3000)) != NULL) {
        if (env->body_case == TRIM__ENVELOPE__BODY_DISCONNECT) {
            env_destroy(&env);
            break;
        }
        assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_GENERATE);
        for (size_t i = 0; i < env->generate->n_items; i++) {
            const Trim__Key *k = env->generate->items[i]->key;
            if (k->problem_id == held_ids[0] || k->problem_id == held_ids[1]) {
                assert_int_equal(k->attempt, 1);
                requeued++;
            } else {
                assert_int_equal(k->attempt, 0);
                fresh++;
            }
        }
        done += (int)env->generate->n_items;
        answer_all(b, env->generate);
        env_destroy(&env);
    }
    assert_int_equal(requeued, 2);
    assert_int_equal(fresh, 1);

    pthread_join(thread, NULL);
    assert_int_equal(t.rc, 0);
    const coord_stats_t *s = coord_stats(t.coord);
    assert_int_equal(s->finished, PROBLEMS);
    assert_int_equal(s->correct, PROBLEMS);
    assert_int_equal(s->requeues, 2);
    assert_int_equal(s->bad_messages, 2);
    assert_int_equal(s->stale_replies, 1);
    assert_true(s->unknown_peers >= 1);

    sock_destroy(&a);
    sock_destroy(&b);
    sock_destroy(&g);
    coord_destroy(&t.coord);
    zmq_ctx_term(zctx);
    assert_int_equal(store_writer_wait(w, 0), 0);
    store_writer_destroy(&w);

    /* The audit shows the requeue: those steps came from attempt 1. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE attempt=1"),
                     2);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "status='finished' AND correct=1"),
                     PROBLEMS);
    sqlite3_close(h);
    test_remove_db(db);
}


/* The first GenerateBatch s receives: its one item's attempt (-1: none). */
static int
next_attempt(void *s)
{
    Trim__Envelope *env = recv_env(s, 3000);
    int attempt = -1;
    if (env && env->body_case == TRIM__ENVELOPE__BODY_GENERATE &&
        env->generate->n_items == 1)
        attempt = (int)env->generate->items[0]->key->attempt;
    env_destroy(&env);
    return attempt;
}


/*
** A peer's life: announcing again while holding a request gives it back
** (as a requeue), and so does a Disconnect; an impossible announce, a
** multi-frame message and a message peers never send are each refused and
** counted, and change nothing else.
*/
static void
test_peer_announce_disconnect_and_misuse(void **state)
{
    (void)state;
    char db[256], err[512];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    store_writer_t *w;

    test_tmp_path(db, sizeof db, "peers.db");
    t.coord = new_coord(zctx, db, 0, &w);
    coord_problem_t p = {7, "test:1", "What is 0?", "0", NULL, 0};
    assert_int_equal(coord_submit(t.coord, 1, &p, err, sizeof err), 1);
    assert_int_equal(pthread_create(&thread, NULL, coord_main, &t), 0);

    void *a = dealer(zctx);
    send_ready(a, "peer-a", 4);
    assert_int_equal(next_attempt(a), 0);
    send_ready(a, "peer-a", 4); /* again, holding the request */
    assert_int_equal(next_attempt(a), 1);

    /* Refused and counted: a peer with no credit, two frames at once, and
    ** a Generate, which only the coordinator sends. */
    void *b = dealer(zctx);
    send_ready(b, "peer-b", 0);
    Trim__Envelope *e = recv_env(b, 3000); /* told why, not left guessing */
    assert_non_null(e);
    assert_int_equal(e->body_case, TRIM__ENVELOPE__BODY_DISCONNECT);
    assert_non_null(strstr(e->disconnect->reason, "credit 0"));
    assert_true(e->disconnect->shutdown); /* the same again is refused */
    env_destroy(&e);
    assert_int_equal(zmq_send(a, "one", 3, ZMQ_SNDMORE), 3);
    assert_int_equal(zmq_send(a, "two", 3, 0), 3);
    {
        Trim__Key key = TRIM__KEY__INIT;
        Trim__GenerateStep item = TRIM__GENERATE_STEP__INIT;
        Trim__GenerateStep *items[1] = {&item};
        Trim__GenerateBatch gb = TRIM__GENERATE_BATCH__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        item.key = &key;
        gb.n_items = 1;
        gb.items = items;
        env.body_case = TRIM__ENVELOPE__BODY_GENERATE;
        env.generate = &gb;
        send_env(a, &env);
    }

    /* A says goodbye holding the request; C gets it, a third attempt. */
    {
        Trim__Disconnect bye = TRIM__DISCONNECT__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        bye.reason = "leaving";
        env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
        env.disconnect = &bye;
        send_env(a, &env);
    }
    void *c = dealer(zctx);
    send_ready(c, "peer-c", 4);
    assert_int_equal(next_attempt(c), 2);

    atomic_store(&t.stop, 1);
    pthread_join(thread, NULL);
    assert_int_equal(t.rc, 0);
    const coord_stats_t *s = coord_stats(t.coord);
    assert_int_equal(s->requeues, 2);
    assert_int_equal(s->bad_messages, 3);
    assert_int_equal(s->peers[TRIM__ROLE__ROLE_SMALL], 1); /* C alone */
    assert_int_equal(s->credit[TRIM__ROLE__ROLE_SMALL], 4);

    sock_destroy(&a);
    sock_destroy(&b);
    sock_destroy(&c);
    coord_destroy(&t.coord);
    zmq_ctx_term(zctx);
    assert_int_equal(store_writer_wait(w, 0), 0);
    store_writer_destroy(&w);
    test_remove_db(db);
}


/* ---- clients: notify pushes, Cancel, Watch ------------------------------ */

/* Next envelope a client socket receives within timeout_ms, or NULL. */
static Trim__Envelope *
client_recv(void *s, int timeout_ms)
{
    char err[256];
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};

    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, s, 0) >= 0);
    Trim__Envelope *env =
        env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
    zmq_msg_close(&msg);
    if (env == NULL)
        fail_msg("a client got a bad frame: %s", err);
    return env;
}


/* The next envelope of kind body on client s (failing on another). */
static Trim__Envelope *
client_expect(void *s, Trim__Envelope__BodyCase body)
{
    Trim__Envelope *env = client_recv(s, 5000);
    if (env == NULL)
        fail_msg("no message of kind %d within 5 s", (int)body);
    if (env->body_case != body)
        fail_msg("got a message of kind %d, expected %d", (int)env->body_case,
                 (int)body);
    return env;
}


/* Submit n problems "Problem I" to run 1 with notify, key id key; their
** ids go into ids. */
static void
submit_notify(void *s, int n, const char *key, uint64_t *ids)
{
    Trim__ProblemSpec specs[8], *ps[8];
    Trim__Submit sub = TRIM__SUBMIT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    char texts[8][32];

    assert_true(n <= 8);
    for (int i = 0; i < n; i++) {
        trim__problem_spec__init(&specs[i]);
        snprintf(texts[i], sizeof texts[i], "Problem %d", i);
        specs[i].text = texts[i];
        specs[i].ground_truth = "0";
        specs[i].has_ground_truth = 1;
        specs[i].key_id = (char *)key;
        ps[i] = &specs[i];
    }
    sub.request_id = 5;
    sub.run_id = 1;
    sub.notify = 1;
    sub.n_problems = (size_t)n;
    sub.problems = ps;
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    send_env(s, &env);
    Trim__Envelope *ack = client_expect(s, TRIM__ENVELOPE__BODY_SUBMIT_ACK);
    assert_string_equal(ack->submit_ack->error, "");
    assert_int_equal(ack->submit_ack->n_problem_ids, n);
    for (int i = 0; i < n; i++)
        ids[i] = ack->submit_ack->problem_ids[i];
    env_destroy(&ack);
}


/* Peer s answers the request key with text (prompt 5 and 7 tokens). */
static void
answer_key(void *s, const Trim__Key *key, const char *text, Trim__Finish fin)
{
    Trim__StepResult res = TRIM__STEP_RESULT__INIT, *resp = &res;
    Trim__StepResultBatch batch = TRIM__STEP_RESULT_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    res.key = (Trim__Key *)key;
    res.text = (char *)text;
    res.prompt_tokens = 5;
    res.completion_tokens = 7;
    res.finish = fin;
    batch.n_items = 1;
    batch.items = &resp;
    env.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
    env.step_results = &batch;
    send_env(s, &env);
}


/* The one request of the next GenerateBatch peer s gets (a copy). */
static Trim__Key
next_key(void *s)
{
    Trim__Envelope *env = recv_env(s, 5000);
    Trim__Key k = TRIM__KEY__INIT;
    assert_non_null(env);
    assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_GENERATE);
    assert_int_equal(env->generate->n_items, 1);
    k.problem_id = env->generate->items[0]->key->problem_id;
    k.step_index = env->generate->items[0]->key->step_index;
    k.role = env->generate->items[0]->key->role;
    k.attempt = env->generate->items[0]->key->attempt;
    env_destroy(&env);
    return k;
}


/*
** sql (a count, with one %llu for id) over a read-only connection to db:
** what is committed, as a reader after a crash would see it.
*/
static int64_t
committed(const char *db, const char *sql, uint64_t id)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    int64_t n = sql_int(h, sql, (unsigned long long)id);
    sqlite3_close(h);
    return n;
}

#define ENDED_ROW                                                              \
    "SELECT COUNT(*) FROM problems WHERE problem_id = %llu AND status IN "     \
    "('finished', 'failed', 'cancelled')"
#define STEP_ROWS "SELECT COUNT(*) FROM steps WHERE problem_id = %llu"


static void
send_cancel(void *s, uint64_t *ids, size_t n)
{
    Trim__Cancel cancel = TRIM__CANCEL__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    cancel.request_id = 11;
    cancel.n_problem_ids = n;
    cancel.problem_ids = ids;
    cancel.reason = "client went away";
    env.body_case = TRIM__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    send_env(s, &env);
}


static void
send_watch(void *s, uint64_t *ids, uint32_t *from, size_t n)
{
    Trim__Watch w = TRIM__WATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    w.request_id = 9;
    w.n_problem_ids = w.n_from_step = n;
    w.problem_ids = ids;
    w.from_step = from;
    env.body_case = TRIM__ENVELOPE__BODY_WATCH;
    env.watch = &w;
    send_env(s, &env);
}


/* make_coord, run in a thread. */
static void
start_coord(coord_thread_t *t, pthread_t *thread, void *zctx, const char *db,
            int concurrency, store_writer_t **w, int recover)
{
    memset(t, 0, sizeof *t);
    t->coord = make_coord(zctx, db, 0, concurrency, recover, 0, w);
    assert_int_equal(pthread_create(thread, NULL, coord_main, t), 0);
}


static void
stop_coord(coord_thread_t *t, pthread_t thread, store_writer_t **w)
{
    atomic_store(&t->stop, 1);
    pthread_join(thread, NULL);
    assert_int_equal(t->rc, 0);
    coord_destroy(&t->coord);
    assert_int_equal(store_writer_wait(*w, 0), 0);
    store_writer_destroy(w);
}


/*
** Cancel a problem a peer holds and one waiting for admission: each is
** recorded as cancelled with the reason and no step row, its notify client
** gets END_CANCELLED before the CancelAck (every push only once its row is
** committed) (which leaves out an unknown id),
** the peer's late answer is stale and gives its credit back, and the
** problem waiting for that credit finishes, its step pushed before its end
** with what the audit holds.  A Watch of the ended problems answers from
** the store, and of an id never issued with END_UNKNOWN.
*/
static void
test_notify_and_cancel(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t;
    pthread_t thread;
    store_writer_t *w;
    uint64_t ids[3];

    test_tmp_path(db, sizeof db, "cancel.db");
    start_coord(&t, &thread, zctx, db, 2, &w, 0);
    void *client = dealer(zctx);
    submit_notify(client, 3, "key-7", ids);

    /* A holds the first problem; the second waits for its credit, the
    ** third for admission (concurrency 2). */
    void *a = dealer(zctx);
    send_ready(a, "peer-a", 1);
    Trim__Key held = next_key(a);
    assert_int_equal(held.problem_id, ids[0]);

    uint64_t cancel_ids[3] = {ids[0], ids[2], 424242};
    send_cancel(client, cancel_ids, 3);
    Trim__Envelope *e =
        client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    assert_int_equal(e->problems_done->n_results, 2);
    for (int i = 0; i < 2; i++) {
        const Trim__ProblemResult *r = e->problems_done->results[i];
        assert_int_equal(r->problem_id, ids[2 * i]);
        assert_int_equal(r->end, TRIM__PROBLEM_END__END_CANCELLED);
        assert_string_equal(r->error, "client went away");
        assert_int_equal(r->correct, -1);
        assert_int_equal(r->steps, 0);
        assert_int_equal(committed(db, ENDED_ROW, r->problem_id), 1);
    }
    env_destroy(&e);
    e = client_expect(client, TRIM__ENVELOPE__BODY_CANCEL_ACK);
    assert_int_equal(e->cancel_ack->request_id, 11);
    assert_int_equal(e->cancel_ack->n_cancelled, 2);
    assert_int_equal(e->cancel_ack->cancelled[0], ids[0]);
    assert_int_equal(e->cancel_ack->cancelled[1], ids[2]);
    env_destroy(&e);

    /* The late answer is stale; its credit goes to the second problem. */
    answer_key(a, &held, "Too late. \\boxed{0}", TRIM__FINISH__FINISH_END);
    Trim__Key k = next_key(a);
    assert_int_equal(k.problem_id, ids[1]);
    answer_key(a, &k, "So \\boxed{0}.", TRIM__FINISH__FINISH_END);
    e = client_expect(client, TRIM__ENVELOPE__BODY_STEP_PUSH);
    assert_int_equal(e->step_push->n_steps, 1);
    const Trim__AcceptedStep *s = e->step_push->steps[0];
    assert_int_equal(s->problem_id, ids[1]);
    assert_int_equal(s->step_index, 0);
    assert_string_equal(s->text, "So \\boxed{0}.");
    assert_false(s->strong);
    assert_false(s->routed);
    assert_true(s->score == -1.0f);
    assert_string_equal(s->decided_by, "anchor");
    assert_string_equal(s->reason, "weak-only: always keep");
    assert_int_equal(s->tokens, 7);
    assert_int_equal(s->prompt_tokens, 5);
    assert_int_equal(s->finish, TRIM__FINISH__FINISH_END);
    assert_int_equal(committed(db, STEP_ROWS, ids[1]), 1);
    env_destroy(&e);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    assert_int_equal(e->problems_done->n_results, 1);
    const Trim__ProblemResult *r = e->problems_done->results[0];
    assert_int_equal(r->problem_id, ids[1]);
    assert_int_equal(committed(db, ENDED_ROW, ids[1]), 1);
    assert_int_equal(r->run_id, 1);
    assert_int_equal(r->end, TRIM__PROBLEM_END__END_FINISHED);
    assert_string_equal(r->final_answer, "0");
    assert_int_equal(r->correct, 1);
    assert_int_equal(r->steps, 1);
    assert_int_equal(r->weak_tokens, 7);
    assert_int_equal(r->prompt_tokens, 5);
    assert_int_equal(r->finish, TRIM__FINISH__FINISH_END);
    env_destroy(&e);

    /* Ended problems answer from the store; an unknown id says so. */
    uint64_t watch_ids[3] = {ids[0], ids[1], 777777};
    uint32_t from[3] = {0, 0, 0};
    send_watch(client, watch_ids, from, 3);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    assert_int_equal(e->problems_done->n_results, 3);
    r = e->problems_done->results[0];
    assert_int_equal(r->problem_id, 777777);
    assert_int_equal(r->end, TRIM__PROBLEM_END__END_UNKNOWN);
    r = e->problems_done->results[1];
    assert_int_equal(r->end, TRIM__PROBLEM_END__END_CANCELLED);
    assert_string_equal(r->error, "client went away");
    r = e->problems_done->results[2];
    assert_int_equal(r->end, TRIM__PROBLEM_END__END_FINISHED);
    assert_int_equal(r->weak_tokens, 7);
    assert_int_equal(r->prompt_tokens, 5);
    assert_string_equal(r->final_answer, "0");
    env_destroy(&e);

    const coord_stats_t *st = coord_stats(t.coord);
    assert_int_equal(st->cancelled, 2);
    assert_int_equal(st->finished, 1);
    assert_int_equal(st->stale_replies, 1);
    assert_int_equal(st->queued + st->in_flight, 0);
    sock_destroy(&a);
    sock_destroy(&client);
    stop_coord(&t, thread, &w);
    zmq_ctx_term(zctx);

    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM problems WHERE "
                             "status = 'cancelled' AND error = 'client "
                             "went away' AND problem_id IN (%llu, %llu)",
                             (unsigned long long)ids[0],
                             (unsigned long long)ids[2]),
                     2);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM steps WHERE problem_id "
                             "IN (%llu, %llu)",
                             (unsigned long long)ids[0],
                             (unsigned long long)ids[2]),
                     0);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "key_id = 'key-7'"),
                     3);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM steps WHERE "
                             "problem_id = %llu AND text = 'So "
                             "\\boxed{0}.' AND completion_tokens = 7 AND "
                             "prompt_tokens = 5 AND accepted = 1",
                             (unsigned long long)ids[1]),
                     1);
    sqlite3_close(h);

    /* trim audit shows the key id and the cancelled status with why. */
    char cmd[600], want[128];
    int code;
    snprintf(cmd, sizeof cmd, "%s audit --db %s", test_bin(), db);
    char *out = test_capture(cmd, &code);
    assert_int_equal(code, 0);
    snprintf(want, sizeof want, "\n%-7llu 1    ", (unsigned long long)ids[2]);
    char *line = strstr(out, want);
    assert_non_null(line);
    assert_true(strstr(line, " cancelled ") < strchr(line + 1, '\n'));
    assert_non_null(strstr(out, "  key-7    0\n"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s audit --db %s %llu", test_bin(), db,
             (unsigned long long)ids[0]);
    out = test_capture(cmd, &code);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "status cancelled  key key-7\n"));
    assert_non_null(strstr(out, "\ncancelled: client went away\n"));
    free(out);
    test_remove_db(db);
}


/*
** A request dropped by a Cancel says nothing about its peer: with one of
** its two credits held by a cancelled problem, peer A missing one deadline
** is not quarantined (it was, when cancels counted as missed deadlines and
** "every credit held by missed requests" fired), and the expired request
** goes to peer B.  Cancelled after a step, the problem records no final
** answer (its last step is no answer, whatever number it holds).
*/
static void
test_cancel_spares_peer(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t;
    pthread_t thread;
    store_writer_t *w;
    uint64_t ids[2];

    test_tmp_path(db, sizeof db, "spare.db");
    start_coord(&t, &thread, zctx, db, 0, &w, 0);
    void *client = dealer(zctx);
    void *a = dealer(zctx);
    send_ready_deadline(a, "peer-a", 2, 300);
    submit_notify(client, 2, "", ids);
    Trim__Envelope *e;
    size_t held = 0;
    while (held < 2) {
        e = recv_env(a, 5000);
        assert_non_null(e);
        assert_int_equal(e->body_case, TRIM__ENVELOPE__BODY_GENERATE);
        held += e->generate->n_items;
        env_destroy(&e);
    }
    send_cancel(client, &ids[0], 1);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    env_destroy(&e);
    e = client_expect(client, TRIM__ENVELOPE__BODY_CANCEL_ACK);
    env_destroy(&e);

    /* A stays alive (heartbeats) and silent; B takes the expired one. */
    void *b = dealer(zctx);
    send_ready(b, "peer-b", 1);
    int64_t until = clock_now_ms() + 5000;
    while ((e = recv_env(b, 1)) == NULL && clock_now_ms() < until)
        assert_null(recv_env(a, 20));
    assert_non_null(e);
    assert_int_equal(e->body_case, TRIM__ENVELOPE__BODY_GENERATE);
    assert_int_equal(e->generate->items[0]->key->problem_id, ids[1]);
    Trim__Key k = *e->generate->items[0]->key;
    env_destroy(&e);
    assert_int_equal(coord_stats(t.coord)->expired, 1);
    assert_int_equal(coord_stats(t.coord)->quarantines, 0);

    /* Cancelled after a step with a number in it: no final answer. */
    answer_key(b, &k, "Half of 10 is 5.", TRIM__FINISH__FINISH_STEP);
    e = client_expect(client, TRIM__ENVELOPE__BODY_STEP_PUSH);
    env_destroy(&e);
    k = next_key(b);
    send_cancel(client, &ids[1], 1);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    assert_int_equal(e->problems_done->results[0]->steps, 1);
    assert_string_equal(e->problems_done->results[0]->final_answer, "");
    env_destroy(&e);
    assert_int_equal(committed(db,
                               "SELECT COUNT(*) FROM problems WHERE "
                               "problem_id = %llu AND final_answer IS NULL "
                               "AND steps = 1",
                               ids[1]),
                     1);
    sock_destroy(&a);
    sock_destroy(&b);
    sock_destroy(&client);
    stop_coord(&t, thread, &w);
    zmq_ctx_term(zctx);
    test_remove_db(db);
}


/*
** After a restart the coordinator knows no notify client: a Watch makes
** the sender one again, re-pushes the recovered steps from from_step with
** what the audit holds (none for a from_step past them, however large),
** and pushes what follows, then the end.
*/
static void
test_watch_after_restart(void **state)
{
    (void)state;
    char db[256];
    void *zctx = zmq_ctx_new();
    coord_thread_t t;
    pthread_t thread;
    store_writer_t *w;
    uint64_t id;

    test_tmp_path(db, sizeof db, "watch.db");
    start_coord(&t, &thread, zctx, db, 0, &w, 0);
    void *client = dealer(zctx);
    submit_notify(client, 1, "", &id);
    void *a = dealer(zctx);
    send_ready(a, "peer-a", 1);
    Trim__Key k = next_key(a);
    answer_key(a, &k, "First step.", TRIM__FINISH__FINISH_STEP);
    Trim__Envelope *e = client_expect(client, TRIM__ENVELOPE__BODY_STEP_PUSH);
    assert_string_equal(e->step_push->steps[0]->text, "First step.");
    assert_int_equal(committed(db, STEP_ROWS, id), 1);
    env_destroy(&e);
    k = next_key(a); /* step 1, held when the coordinator stops */
    assert_int_equal(k.step_index, 1);
    stop_coord(&t, thread, &w);
    sock_destroy(&a);
    sock_destroy(&client);

    start_coord(&t, &thread, zctx, db, 0, &w, 1);
    client = dealer(zctx);
    /* A from_step past every step (and past INT32_MAX) pushes nothing. */
    uint32_t from = 0x80000000u;
    send_watch(client, &id, &from, 1);
    from = 0;
    send_watch(client, &id, &from, 1);
    e = client_expect(client, TRIM__ENVELOPE__BODY_STEP_PUSH);
    assert_int_equal(e->step_push->n_steps, 1);
    const Trim__AcceptedStep *s = e->step_push->steps[0];
    assert_int_equal(s->problem_id, id);
    assert_int_equal(s->step_index, 0);
    assert_string_equal(s->text, "First step.");
    assert_int_equal(s->tokens, 7);
    assert_int_equal(s->prompt_tokens, 5);
    assert_string_equal(s->decided_by, "anchor");
    assert_string_equal(s->reason, "weak-only: always keep");
    assert_int_equal(s->finish, TRIM__FINISH__FINISH_STEP);
    env_destroy(&e);
    a = dealer(zctx);
    send_ready(a, "peer-a", 1);
    k = next_key(a);
    assert_int_equal(k.step_index, 1);
    answer_key(a, &k, "So \\boxed{0}.", TRIM__FINISH__FINISH_END);
    e = client_expect(client, TRIM__ENVELOPE__BODY_STEP_PUSH);
    assert_int_equal(e->step_push->steps[0]->step_index, 1);
    assert_int_equal(committed(db, STEP_ROWS, id), 2);
    env_destroy(&e);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    const Trim__ProblemResult *r = e->problems_done->results[0];
    assert_int_equal(committed(db, ENDED_ROW, id), 1);
    assert_int_equal(r->end, TRIM__PROBLEM_END__END_FINISHED);
    assert_int_equal(r->steps, 2);
    assert_int_equal(r->weak_tokens, 14);
    assert_int_equal(r->prompt_tokens, 5);
    env_destroy(&e);
    sock_destroy(&a);
    sock_destroy(&client);
    stop_coord(&t, thread, &w);
    zmq_ctx_term(zctx);
    test_remove_db(db);
}


/* ---- paging: Cancel and Watch of a problem waiting in the store ---------- */

/* The value of series (name and labels as /metrics renders them) in r;
** fails the test when r has no such series. */
static double
series_value(prom_registry_t *r, const char *series)
{
    size_t len;
    char want[256], *text = prom_render(r, &len);
    assert_non_null(text);
    snprintf(want, sizeof want, "\n%s ", series);
    const char *at = strstr(text, want);
    if (at == NULL)
        fail_msg("no series %s in:\n%s", series, text);
    double v = strtod(at + strlen(want), NULL);
    free(text);
    return v;
}


/* A StatusRequest and its answer: what client s sent before is handled. */
static void
status_barrier(void *s)
{
    Trim__StatusRequest req = TRIM__STATUS_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    req.request_id = 13;
    env.body_case = TRIM__ENVELOPE__BODY_STATUS_REQUEST;
    env.status_request = &req;
    send_env(s, &env);
    Trim__Envelope *e = client_expect(s, TRIM__ENVELOPE__BODY_STATUS);
    env_destroy(&e);
}


/*
** A window of 2 and one problem in flight: of 8 problems, 1 is admitted, 2
** waits in memory and 3..8 wait in the store.  A Cancel of 6 and a Watch of
** 4 bring each back at once (coord_page_one): 6 is cancelled (row and
** CancelAck), 4 gets the watcher as its notify client and is admitted after
** 2, ahead of the problems still in the store.  With 4 in flight the window
** is empty and the next page read passes over its row (unfinished, but no
** longer paged) and 6's (ended), so every other problem is asked for once,
** in id order, and 6 never; the watcher gets 4's step and end.  /metrics
** counts the reads and the problems paged in, and the window.
*/
static void
test_cancel_and_watch_paged_out(void **state)
{
    (void)state;
    char db[256], err[512];
    void *zctx = zmq_ctx_new();
    coord_thread_t t = {0};
    pthread_t thread;
    store_writer_t *w;
    coord_opts_t o = {0};
    prom_registry_t *reg = prom_registry_new();
    const uint64_t cancel_id = 6, watch_id = 4;
    const int n = 8;

    test_tmp_path(db, sizeof db, "paged.db");
    o.concurrency = 1;
    o.queue_window = 2;
    o.metrics = reg;
    t.coord = open_coord(zctx, db, &o, 0, &w);
    for (int i = 0; i < n; i++) {
        coord_problem_t p = {(uint64_t)i, "test", "What is 0?", "0", NULL, 0};
        assert_int_equal(coord_submit(t.coord, 1, &p, err, sizeof err), i + 1);
    }
    assert_int_equal(coord_stats(t.coord)->paged, n - 2);
    assert_int_equal(pthread_create(&thread, NULL, coord_main, &t), 0);

    void *client = dealer(zctx);
    uint64_t id = cancel_id;
    send_cancel(client, &id, 1);
    Trim__Envelope *e = client_expect(client, TRIM__ENVELOPE__BODY_CANCEL_ACK);
    assert_int_equal(e->cancel_ack->n_cancelled, 1);
    assert_int_equal(e->cancel_ack->cancelled[0], cancel_id);
    env_destroy(&e);
    assert_int_equal(committed(db,
                               "SELECT COUNT(*) FROM problems WHERE "
                               "problem_id = %llu AND status = 'cancelled'",
                               cancel_id),
                     1);
    id = watch_id;
    uint32_t from = 0;
    send_watch(client, &id, &from, 1);
    status_barrier(client);
    const coord_stats_t *st = coord_stats(t.coord);
    assert_int_equal(st->paged, 4); /* 3, 5, 7 and 8 */
    assert_int_equal(st->paged_in, 2);
    assert_int_equal(st->page_reads, 2);

    void *a = dealer(zctx);
    send_ready(a, "peer-a", 1);
    Trim__Key k;
    for (int i = 1; i <= 2; i++) {
        k = next_key(a);
        assert_int_equal(k.problem_id, i);
        answer_key(a, &k, "So \\boxed{0}.", TRIM__FINISH__FINISH_END);
    }
    k = next_key(a);
    assert_int_equal(k.problem_id, watch_id);
    /* The window is refilled with 3 and 5 while 4 is held, once the
    ** writer has committed what a page read needs (paging.c reads only
    ** committed rows, and hurries the writer when a read comes back
    ** short): ask until it has, bounded. */
    int64_t give_up = clock_now_ms() + 10000;
    while (st->paged != 2 && clock_now_ms() < give_up)
        status_barrier(client);
    assert_int_equal(st->paged, 2);
    assert_int_equal(st->paged_in, 4);
    /* 3, and one more for each read that came back short of the writer. */
    assert_true(st->page_reads >= 3);
    answer_key(a, &k, "So \\boxed{0}.", TRIM__FINISH__FINISH_END);
    e = client_expect(client, TRIM__ENVELOPE__BODY_STEP_PUSH);
    assert_int_equal(e->step_push->n_steps, 1);
    assert_int_equal(e->step_push->steps[0]->problem_id, watch_id);
    env_destroy(&e);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    assert_int_equal(e->problems_done->results[0]->problem_id, watch_id);
    assert_int_equal(e->problems_done->results[0]->end,
                     TRIM__PROBLEM_END__END_FINISHED);
    env_destroy(&e);
    const uint64_t rest[] = {3, 5, 7, 8};
    for (int i = 0; i < 4; i++) {
        k = next_key(a);
        assert_int_equal(k.problem_id, rest[i]);
        answer_key(a, &k, "So \\boxed{0}.", TRIM__FINISH__FINISH_END);
    }
    assert_null(recv_env(a, 4 * HEARTBEAT_MS)); /* nothing asked twice */
    sock_destroy(&a);
    sock_destroy(&client);

    stop_coord(&t, thread, &w);
    zmq_ctx_term(zctx);
    /* What the loop published last (coord_run's exit). */
    assert_true(series_value(reg, "trim_queue_page_reads_total") >= 4);
    assert_true(series_value(reg, "trim_queue_paged_in_problems_total") ==
                n - 2);
    assert_true(series_value(reg, "trim_queue_paged_problems") == 0);
    assert_true(series_value(reg, "trim_queue_memory_problems") == 0);
    assert_true(series_value(reg, "trim_queue_window_problems") == 2);
    assert_true(series_value(reg, "trim_queue_window_peak_problems") == 2);
    assert_true(series_value(reg, "trim_problems_cancelled_total") == 1);
    assert_true(series_value(reg, "trim_problems_finished_total") == n - 1);
    prom_registry_destroy(&reg);

    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps"), n - 1);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(DISTINCT problem_id) FROM steps "
                             "WHERE problem_id != %llu",
                             (unsigned long long)cancel_id),
                     n - 1);
    sqlite3_close(h);
    test_remove_db(db);
}


/* ---- speculative drafting ------------------------------------------------ */

/* Announce a peer of role with credit. */
static void
send_ready_role(void *s, const char *name, Trim__Role role, uint32_t credit)
{
    Trim__Ready r = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    r.role = role;
    r.credit = credit;
    r.name = (char *)name;
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &r;
    send_env(s, &env);
}


/* The next batch of kind body peer s gets, with exactly n items. */
static Trim__Envelope *
next_batch(void *s, Trim__Envelope__BodyCase body, size_t n)
{
    Trim__Envelope *env = recv_env(s, 5000);
    assert_non_null(env);
    assert_int_equal(env->body_case, body);
    size_t got = body == TRIM__ENVELOPE__BODY_GENERATE ? env->generate->n_items
                 : body == TRIM__ENVELOPE__BODY_SCORE  ? env->score->n_items
                                                       : env->route->n_items;
    assert_int_equal(got, n);
    return env;
}


/* Scores for the request of the ScoreBatch env (freed). */
static void
answer_scores(void *s, Trim__Envelope *env, const float *scores, size_t n)
{
    Trim__StepScores sc = TRIM__STEP_SCORES__INIT, *scp = &sc;
    Trim__StepScoresBatch batch = TRIM__STEP_SCORES_BATCH__INIT;
    Trim__Envelope out = TRIM__ENVELOPE__INIT;

    assert_int_equal(env->score->items[0]->n_steps, n);
    sc.key = env->score->items[0]->key;
    sc.n_scores = n;
    sc.scores = (float *)scores;
    sc.input_tokens = 11;
    batch.n_items = 1;
    batch.items = &scp;
    out.body_case = TRIM__ENVELOPE__BODY_STEP_SCORES;
    out.step_scores = &batch;
    send_env(s, &out);
    env_destroy(&env);
}


/* The router's decision on the request of the RouteBatch env (freed). */
static void
answer_route(void *s, Trim__Envelope *env, int regenerate)
{
    Trim__RouteDecision d = TRIM__ROUTE_DECISION__INIT, *dp = &d;
    Trim__DecisionBatch batch = TRIM__DECISION_BATCH__INIT;
    Trim__Envelope out = TRIM__ENVELOPE__INIT;

    d.key = env->route->items[0]->key;
    d.action = regenerate ? TRIM__ACTION__ACTION_REGENERATE
                          : TRIM__ACTION__ACTION_KEEP;
    d.prob = 1.0f;
    d.reason = regenerate ? "low" : "high";
    batch.n_items = 1;
    batch.items = &dp;
    out.body_case = TRIM__ENVELOPE__BODY_DECISIONS;
    out.decisions = &batch;
    send_env(s, &out);
    env_destroy(&env);
}


/* The key of the one request of a GenerateBatch env (a copy; env freed). */
static Trim__Key
gen_key(Trim__Envelope *env, int speculative, uint32_t step, size_t n_steps)
{
    const Trim__GenerateStep *g = env->generate->items[0];
    Trim__Key k = *g->key;
    assert_int_equal(k.speculative, speculative);
    assert_int_equal(k.step_index, step);
    assert_int_equal(g->n_steps, n_steps);
    k.base.unknown_fields = NULL;
    k.base.n_unknown_fields = 0;
    env_destroy(&env);
    return k;
}


/*
** --speculate on, the test playing every pool: while draft 0 is scored and
** routed the small peer is asked for step 1 with draft 0 as its last step;
** kept, that request (still in flight) becomes the draft of step 1, and the
** next speculation goes out with it.  Regenerated, the speculative draft of
** step 2 is recorded in wasted_drafts when its reply comes, and the strong
** step finishes the problem.  A second problem cancelled with its
** speculative request in flight: the late reply is stale and gives back the
** small peer's only credit, which a third problem's draft then takes.
*/
static void
test_speculative_drafts(void **state)
{
    (void)state;
    char db[256], err[512];
    void *zctx = zmq_ctx_new();
    coord_thread_t t;
    pthread_t thread;
    store_writer_t *w;
    uint64_t ids[1];
    coord_opts_t o = {0};
    prom_registry_t *reg = prom_registry_new();

    test_tmp_path(db, sizeof db, "spec.db");
    assert_int_equal(store_migrate(db, err, sizeof err), 0);
    w = store_writer_new(db, NULL, err, sizeof err);
    assert_non_null(w);
    o.endpoint = ENDPOINT;
    o.db = db;
    /* Four peers played in turn: silent ones must not look dead. */
    o.heartbeat_ms = 1000;
    o.liveness = 10;
    o.speculate = COORD_SPEC_ON;
    o.metrics = reg;
    memset(&t, 0, sizeof t);
    t.coord = coord_new(zctx, &o, w, err, sizeof err);
    assert_non_null(t.coord);
    coord_run_opts_t ro = {"thr:0.5", 1, "{}", 0, 0, 0};
    assert_int_equal(coord_add_run(t.coord, &ro, err, sizeof err), 1);
    assert_int_equal(pthread_create(&thread, NULL, coord_main, &t), 0);

    void *client = dealer(zctx), *small = dealer(zctx), *prm = dealer(zctx);
    void *router = dealer(zctx), *large = dealer(zctx);
    send_ready_role(small, "small-1", TRIM__ROLE__ROLE_SMALL, 1);
    send_ready_role(prm, "prm-1", TRIM__ROLE__ROLE_PRM, 4);
    send_ready_role(router, "router-1", TRIM__ROLE__ROLE_ROUTER, 4);
    send_ready_role(large, "large-1", TRIM__ROLE__ROLE_LARGE, 4);
    submit_notify(client, 1, NULL, ids);

    Trim__Key k =
        gen_key(next_batch(small, TRIM__ENVELOPE__BODY_GENERATE, 1), 0, 0, 0);
    answer_key(small, &k, "Step one.", TRIM__FINISH__FINISH_STEP);
    Trim__Envelope *score = next_batch(prm, TRIM__ENVELOPE__BODY_SCORE, 1);
    Trim__Key spec1 =
        gen_key(next_batch(small, TRIM__ENVELOPE__BODY_GENERATE, 1), 1, 1, 1);
    answer_scores(prm, score, (const float[]){0.9f}, 1);
    answer_route(router, next_batch(router, TRIM__ENVELOPE__BODY_ROUTE, 1), 0);
    /* Kept: step 1 waits for the speculative request; none is sent again. */
    assert_null(recv_env(small, 200));
    answer_key(small, &spec1, "Step two.", TRIM__FINISH__FINISH_STEP);
    score = next_batch(prm, TRIM__ENVELOPE__BODY_SCORE, 1);
    Trim__Key spec2 =
        gen_key(next_batch(small, TRIM__ENVELOPE__BODY_GENERATE, 1), 1, 2, 2);
    answer_scores(prm, score, (const float[]){0.9f, 0.1f}, 2);
    answer_route(router, next_batch(router, TRIM__ENVELOPE__BODY_ROUTE, 1), 1);
    Trim__Key strong =
        gen_key(next_batch(large, TRIM__ENVELOPE__BODY_GENERATE, 1), 0, 1, 1);
    answer_key(small, &spec2, "Step three, wasted.", TRIM__FINISH__FINISH_STEP);
    answer_key(large, &strong, "So \\boxed{0}.", TRIM__FINISH__FINISH_END);
    Trim__Envelope *e;
    for (int done = 0; !done;) { /* its steps' pushes, then its end */
        e = client_recv(client, 5000);
        assert_non_null(e);
        done = e->body_case == TRIM__ENVELOPE__BODY_PROBLEMS_DONE;
        env_destroy(&e);
    }

    /* Cancelled with its speculative request in flight. */
    uint64_t second[1], third[1];
    submit_notify(client, 1, NULL, second);
    k = gen_key(next_batch(small, TRIM__ENVELOPE__BODY_GENERATE, 1), 0, 0, 0);
    answer_key(small, &k, "Step one.", TRIM__FINISH__FINISH_STEP);
    score = next_batch(prm, TRIM__ENVELOPE__BODY_SCORE, 1);
    Trim__Key late =
        gen_key(next_batch(small, TRIM__ENVELOPE__BODY_GENERATE, 1), 1, 1, 1);
    env_destroy(&score);
    send_cancel(client, second, 1);
    e = client_expect(client, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
    env_destroy(&e);
    e = client_expect(client, TRIM__ENVELOPE__BODY_CANCEL_ACK);
    env_destroy(&e);
    submit_notify(client, 1, NULL, third);
    assert_null(recv_env(small, 200)); /* its one credit is held */
    answer_key(small, &late, "Too late.", TRIM__FINISH__FINISH_STEP);
    k = gen_key(next_batch(small, TRIM__ENVELOPE__BODY_GENERATE, 1), 0, 0, 0);
    assert_int_equal(k.problem_id, third[0]);

    const coord_stats_t *st = coord_stats(t.coord);
    assert_int_equal(st->spec_sent, 3);
    assert_int_equal(st->spec_used, 1);
    assert_int_equal(st->spec_wasted, 1);
    assert_int_equal(st->wasted_tokens, 7);
    assert_int_equal(st->stale_replies, 1);
    sock_destroy(&small);
    sock_destroy(&prm);
    sock_destroy(&router);
    sock_destroy(&large);
    sock_destroy(&client);
    stop_coord(&t, thread, &w);
    zmq_ctx_term(zctx);
    assert_true(series_value(reg, "trim_tokens_total{role=\"wasted\"}") == 7);
    prom_registry_destroy(&reg);

    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    uint64_t id = ids[0];
    assert_int_equal(sql_int(h,
                             "SELECT count(*) FROM steps WHERE problem_id = "
                             "%llu AND speculative = (step_index = 1 AND "
                             "kind = 'draft')",
                             (unsigned long long)id),
                     3);
    assert_int_equal(sql_int(h,
                             "SELECT completion_tokens FROM wasted_drafts "
                             "WHERE problem_id = %llu AND step_index = 2",
                             (unsigned long long)id),
                     7);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM speculative_drafts"), 2);
    sqlite3_close(h);
    test_remove_db(db);
}


int
main(void)
{
    tlog_set_level(TLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_requeue_and_bad_peers),
        cmocka_unit_test(test_peer_announce_disconnect_and_misuse),
        cmocka_unit_test(test_notify_and_cancel),
        cmocka_unit_test(test_cancel_spares_peer),
        cmocka_unit_test(test_watch_after_restart),
        cmocka_unit_test(test_cancel_and_watch_paged_out),
        cmocka_unit_test(test_speculative_drafts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
