/*
** test_router_service.c: the router service answers scored steps and
** publishes every decision batch on its feed.
**
** The test plays the coordinator (a ROUTER socket) and an observer (a SUB
** socket on the feed); the service runs in its own thread.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "envelope.h"
#include "log.h"
#include "service.h"
#include "sock.h"

#define COORD "inproc://router-test-coord"
#define FEED  "inproc://router-test-feed"

typedef struct {
    router_service_t *r;
    atomic_int stop;
} svc_t;


static void *
svc_main(void *arg)
{
    svc_t *s = arg;
    router_service_run(s->r, &s->stop);
    return NULL;
}


/* Receive one envelope within timeout_ms (identity into id when ROUTER). */
static Trim__Envelope *
recv_one(void *sock, int with_id, unsigned char *id, size_t *idlen,
         int timeout_ms)
{
    char err[256];
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    zmq_msg_t msg;
    int extra;

    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    assert_int_equal(sock_recv(sock, with_id, id, idlen, &msg, &extra), 1);
    Trim__Envelope *env =
        env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
    zmq_msg_close(&msg);
    assert_non_null(env);
    return env;
}


/* Send a batch of scored steps with the given scores under policy. */
static void
send_route(void *coord, const unsigned char *id, size_t idlen,
           const char *policy, const float *scores, size_t n, uint64_t first)
{
    Trim__Key keys[8];
    Trim__ScoredStep items[8], *ptrs[8];
    Trim__RouteBatch batch = TRIM__ROUTE_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    for (size_t i = 0; i < n; i++) {
        trim__key__init(&keys[i]);
        keys[i].problem_id = first + i;
        keys[i].step_index = 2;
        keys[i].role = TRIM__ROLE__ROLE_ROUTER;
        trim__scored_step__init(&items[i]);
        items[i].key = &keys[i];
        items[i].policy = (char *)policy;
        items[i].score = scores[i];
        items[i].min_prev = 1.0f;
        items[i].prod_prev = 1.0f;
        ptrs[i] = &items[i];
    }
    batch.n_items = n;
    batch.items = ptrs;
    env.body_case = TRIM__ENVELOPE__BODY_ROUTE;
    env.route = &batch;
    assert_int_equal(sock_send_env(coord, id, idlen, &env), 0);
}


static void
test_decisions_are_answered_and_published(void **state)
{
    (void)state;
    char err[256];
    void *zctx = zmq_ctx_new();
    unsigned char id[256];
    size_t idlen;
    svc_t s = {0};
    pthread_t thread;
    int one = 1;

    void *coord = sock_new(zctx, ZMQ_ROUTER, err, sizeof err);
    assert_non_null(coord);
    zmq_setsockopt(coord, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    assert_int_equal(zmq_bind(coord, COORD), 0);

    router_opts_t o = {0};
    o.endpoint = COORD;
    o.pub_endpoint = FEED;
    o.name = "router-t";
    o.credit = 64;
    s.r = router_service_new(zctx, &o, err, sizeof err);
    assert_non_null(s.r);
    assert_int_equal(pthread_create(&thread, NULL, svc_main, &s), 0);

    /* The service announces itself as a router with its credit. */
    Trim__Envelope *env = recv_one(coord, 1, id, &idlen, 5000);
    assert_non_null(env);
    assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_READY);
    assert_int_equal(env->ready->role, TRIM__ROLE__ROLE_ROUTER);
    assert_int_equal(env->ready->credit, 64);
    assert_string_equal(env->ready->name, "router-t");
    env_destroy(&env);

    /* An observer subscribes.  A subscription takes effect asynchronously,
    ** so probe until the feed delivers, then check the real batch. */
    void *sub = sock_new(zctx, ZMQ_SUB, err, sizeof err);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(sub, FEED), 0);
    float probe = 0.9f;
    uint64_t seq = 0;
    for (int tries = 0; tries < 200 && seq == 0; tries++) {
        send_route(coord, id, idlen, "thr:0.5", &probe, 1, 1000);
        env = recv_one(coord, 1, id, &idlen, 5000);
        assert_non_null(env);
        env_destroy(&env);
        env = recv_one(sub, 0, NULL, NULL, 20);
        if (env) {
            seq = env->decisions->sequence;
            env_destroy(&env);
        }
    }
    assert_true(seq > 0);
    while ((env = recv_one(sub, 0, NULL, NULL, 0)) != NULL) {
        seq = env->decisions->sequence; /* probes still in flight */
        env_destroy(&env);
    }

    float scores[4] = {0.1f, 0.49f, 0.5f, 0.99f};
    send_route(coord, id, idlen, "thr:0.50", scores, 4, 1);
    env = recv_one(coord, 1, id, &idlen, 5000);
    assert_non_null(env);
    assert_int_equal(env->body_case, TRIM__ENVELOPE__BODY_DECISIONS);
    assert_int_equal(env->decisions->n_items, 4);
    for (size_t i = 0; i < 4; i++) {
        const Trim__RouteDecision *d = env->decisions->items[i];
        assert_int_equal(d->key->problem_id, 1 + i);
        assert_int_equal(d->key->step_index, 2);
        assert_int_equal(d->action, i < 2 ? TRIM__ACTION__ACTION_REGENERATE
                                          : TRIM__ACTION__ACTION_KEEP);
        assert_string_equal(d->error, "");
        assert_true(strlen(d->reason) > 0);
    }
    env_destroy(&env);
    Trim__Envelope *pub = recv_one(sub, 0, NULL, NULL, 5000);
    assert_non_null(pub);
    assert_int_equal(pub->decisions->sequence, seq + 1);
    assert_int_equal(pub->decisions->n_items, 4);
    assert_int_equal(pub->decisions->items[0]->action,
                     TRIM__ACTION__ACTION_REGENERATE);
    env_destroy(&pub);

    /* A bad policy spec is answered with an error, not silence. */
    send_route(coord, id, idlen, "thr:7", scores, 1, 50);
    env = recv_one(coord, 1, id, &idlen, 5000);
    assert_non_null(env);
    assert_non_null(strstr(env->decisions->items[0]->error, "thr:7"));
    env_destroy(&env);

    /* Shutdown: the coordinator says so and the service returns. */
    Trim__Disconnect d = TRIM__DISCONNECT__INIT;
    Trim__Envelope bye = TRIM__ENVELOPE__INIT;
    d.reason = "test over";
    d.shutdown = 1;
    bye.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    bye.disconnect = &d;
    assert_int_equal(sock_send_env(coord, id, idlen, &bye), 0);
    pthread_join(thread, NULL);
    assert_true(router_service_decisions(s.r) >= 6);
    router_service_destroy(&s.r);
    sock_destroy(&sub);
    sock_destroy(&coord);
    zmq_ctx_term(zctx);
}


int
main(void)
{
    tlog_set_level(TLOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decisions_are_answered_and_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
