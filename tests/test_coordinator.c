/*
** test_coordinator.c: the broker's rules, with the test playing the peers.
**
** A coordinator runs in its own thread on inproc://; the test connects
** DEALER sockets and speaks the wire protocol by hand, so it can misbehave:
** hold requests and go silent, send garbage, a wrong protocol version, a
** message before announcing itself, and a reply for a request never sent.
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


static void
send_ready(void *s, const char *name, uint32_t credit)
{
    Trim__Ready r = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    r.role = TRIM__ROLE__ROLE_SMALL;
    r.credit = credit;
    r.name = (char *)name;
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &r;
    send_env(s, &env);
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
** A coordinator on ENDPOINT over a fresh store at db (its writer in *w),
** with run 1 (policy weak) open.
*/
static coord_t *
new_coord(void *zctx, const char *db, int exit_when_done, store_writer_t **w)
{
    char err[512];
    coord_opts_t o = {0};

    assert_int_equal(store_migrate(db, err, sizeof err), 0);
    *w = store_writer_new(db, NULL, err, sizeof err);
    assert_non_null(*w);
    o.endpoint = ENDPOINT;
    o.db = db;
    o.heartbeat_ms = HEARTBEAT_MS;
    o.liveness = 3;
    o.exit_when_done = exit_when_done;
    coord_t *c = coord_new(zctx, &o, *w, err, sizeof err);
    assert_non_null(c);
    coord_run_opts_t ro = {"weak", 1, "{}", 0, 0, 0};
    assert_int_equal(coord_add_run(c, &ro, err, sizeof err), 1);
    return c;
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
    coord_problem_t p = {7, "test:1", "What is 0?", "0", NULL};
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


int
main(void)
{
    tlog_set_level(TLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_requeue_and_bad_peers),
        cmocka_unit_test(test_peer_announce_disconnect_and_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
