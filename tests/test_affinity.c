/*
** test_affinity.c: prefix-cache affinity in a real cluster over TCP.
**
**   hit ratio    a `trim coordinator` with four simulated small workers and
**                four PRM workers, each with its own prefix cache
**                (--sim-cache-tokens), solves the same problems with
**                affinity and with --no-affinity: the share of prompt
**                tokens the workers' caches held (`trim status`) is higher
**                with affinity, in both pools; the run's summary (`trim
**                wait`, text and --json) has the same figures per pool;
**                and every step row holds the cached count its worker
**                reported (schema v11).
**   busy peer    two small-pool peers played by this test (common/peer.h)
**                over TCP: a problem whose previous call went to peer A,
**                now busy with another problem, goes to B at once instead
**                of waiting for A; and a problem whose previous call A
**                served goes back to A although B has more free credit
**                (with --no-affinity: to B).
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zmq.h>

#include "clock.h"
#include "cluster.h"
#include "peer.h"
#include "testutil.h"

#define PROBLEMS 48
#define WORKERS  4
/* A peer of this test and the coordinator tolerate 10 s of silence: the
** test spawns `trim submit` and `trim status` between its polls. */
#define LIVENESS "100"


/* The pool's cached / prompt tokens in a `trim status --json`. */
static double
hit_ratio(json_t *status, const char *pool)
{
    json_t *p = json_object_get(json_object_get(status, "pools"), pool);
    int64_t prompt = jint(p, "prompt_tokens");

    assert_true(prompt > 0);
    return (double)jint(p, "cached_tokens") / (double)prompt;
}


/*
** The run's figures of pool in `trim wait --json` (prefix_cache) are the
** pool's in `trim status --json`: the coordinator served only this run.
** A reply that comes after its problem ended (a peer taken for dead under
** load, say) counts for the pool and not the run: then only at most.
*/
static void
check_run_cache(json_t *status, json_t *run, const char *pool)
{
    json_t *p = json_object_get(json_object_get(status, "pools"), pool);
    json_t *r = json_object_get(json_object_get(run, "prefix_cache"), pool);

    if (jint(status, "stale_replies") > 0) {
        assert_true(jint(r, "prompt_tokens") <= jint(p, "prompt_tokens"));
        assert_true(jint(r, "cached_tokens") <= jint(p, "cached_tokens"));
        return;
    }
    assert_int_equal(jint(r, "prompt_tokens"), jint(p, "prompt_tokens"));
    assert_int_equal(jint(r, "cached_tokens"), jint(p, "cached_tokens"));
    /* printed with 6 significant digits */
    assert_true(fabs(json_real_value(json_object_get(r, "hit_ratio")) -
                     hit_ratio(status, pool)) < 1e-5);
}


/*
** Solve PROBLEMS problems on a fresh cluster (no_affinity: with
** --no-affinity) and return its status once all have finished.  Calls
** take 10 ms and each worker holds 8, so the coordinator has a choice of
** workers with free credit most of the time.  The run's summary (`trim
** wait`) has the same prefix-cache figures per pool.
*/
static json_t *
solve(int no_affinity)
{
    const char *coord_extra[] = {"--concurrency", "32",
                                 no_affinity ? "--no-affinity" : NULL, NULL};
    const char *cache[] = {"--sim-cache-tokens", "1000000", NULL};
    char name[32];
    cluster_t k;

    cluster_init(&k);
    cluster_start_coordinator(&k, coord_extra);
    cluster_start_router(&k, "router-1", NULL);
    for (int i = 0; i < WORKERS; i++) {
        snprintf(name, sizeof name, "small-%d", i + 1);
        cluster_start_worker(&k, "small", name, "10", "8", cache);
        snprintf(name, sizeof name, "prm-%d", i + 1);
        cluster_start_worker(&k, "prm", name, "10", "8", cache);
    }
    cluster_start_worker(&k, "large", "large-1", "10", "8", cache);
    cluster_wait_pools(&k, WORKERS, 1, WORKERS, 1);
    int64_t run = cluster_submit_sim(&k, PROBLEMS, 7, "thr:0.5");
    cluster_wait_finished(&k, PROBLEMS);
    json_t *st = cluster_status(&k);
    assert_non_null(st);
    json_t *summary = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    check_run_cache(st, summary, "small");
    check_run_cache(st, summary, "prm");
    json_decref(summary);
    /* `trim status` lists the run with the same figures. */
    json_t *runs = json_object_get(st, "runs"), *in_status = NULL;
    for (size_t i = 0; i < json_array_size(runs); i++)
        if (jint(json_array_get(runs, i), "run_id") == run)
            in_status = json_array_get(runs, i);
    assert_non_null(in_status);
    check_run_cache(st, in_status, "small");
    check_run_cache(st, in_status, "prm");
    char cmd[512];
    int code;
    snprintf(cmd, sizeof cmd, "%s wait --connect %s --run %lld", test_bin(),
             k.endpoint, (long long)run);
    char *text = test_capture(cmd, &code);
    assert_int_equal(code, 0);
    assert_non_null(strstr(text, "\n  prefix cache        small "));
    free(text);
    snprintf(cmd, sizeof cmd, "%s status --connect %s", test_bin(), k.endpoint);
    text = test_capture(cmd, &code);
    assert_int_equal(code, 0);
    assert_non_null(strstr(text, "cache hit%"));
    free(text);
    cluster_stop(&k);

    /* The workers' reports reach the audit store, none left to the rule;
    ** its rows are replies the pool counted. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(k.db, &h), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE"
                                " cached_tokens IS NULL OR (prm_tokens > 0"
                                " AND prm_cached_tokens IS NULL)"),
                     0);
    int64_t drafts = sql_int(h, "SELECT coalesce(sum(cached_tokens), 0)"
                                " FROM steps WHERE kind = 'draft'");
    assert_true(drafts > 0);
    assert_true(drafts <=
                jint(json_object_get(json_object_get(st, "pools"), "small"),
                     "cached_tokens"));
    sqlite3_close(h);
    return st;
}


static void
test_affinity_raises_hit_ratio(void **state)
{
    (void)state;
    json_t *on = solve(0), *off = solve(1);
    double on_small = hit_ratio(on, "small"),
           off_small = hit_ratio(off, "small");
    double on_prm = hit_ratio(on, "prm"), off_prm = hit_ratio(off, "prm");

    printf("prefix-cache hit ratio: small %.3f with affinity, %.3f without; "
           "prm %.3f, %.3f\n",
           on_small, off_small, on_prm, off_prm);
    /* A problem's next call finds all but its newest step in its worker's
    ** cache; sent anywhere, it finds its prefix one time in four. */
    assert_true(on_small > off_small + 0.15);
    assert_true(on_prm > off_prm + 0.15);
    json_t *small = json_object_get(json_object_get(on, "pools"), "small");
    assert_true(jint(small, "affinity_same") > jint(small, "affinity_moved"));
    json_decref(on);
    json_decref(off);
}


/* ---- the busy peer, played by this test ---------------------------------- */

/* A small-pool peer of this test. */
static peer_t *
small_peer(void *zctx, const cluster_t *k, const char *name, uint32_t credit)
{
    char err[256];
    peer_opts_t o = {0};

    o.endpoint = k->endpoint;
    o.role = TRIM__ROLE__ROLE_SMALL;
    o.credit = credit;
    o.name = name;
    o.backend = "test";
    o.heartbeat_ms = atoi(CLUSTER_HB);
    o.liveness = atoi(LIVENESS);
    o.reconnect_max_ms = 400;
    peer_t *p = peer_new(zctx, &o, err, sizeof err);
    assert_non_null(p);
    return p;
}


/*
** The next request to either peer (bounded; peers[1] may be NULL): which
** (0 or 1) and its key.  Each message must carry one request.
*/
static int
next_request(peer_t *const peers[2], Trim__Key *key)
{
    int64_t deadline = clock_now_ms() + 30000;

    while (clock_now_ms() < deadline) {
        zmq_pollitem_t it[2];
        int n = 0, at[2];
        for (int i = 0; i < 2 && peers[i] != NULL; i++) {
            peer_tick(peers[i]);
            if (peer_socket(peers[i]) != NULL) {
                it[n] =
                    (zmq_pollitem_t){peer_socket(peers[i]), 0, ZMQ_POLLIN, 0};
                at[n++] = i;
            }
        }
        zmq_poll(it, n, 50);
        for (int j = 0; j < n; j++) {
            Trim__Envelope *env;
            while (peer_recv(peers[at[j]], &env) == 1) {
                if (env->body_case != TRIM__ENVELOPE__BODY_GENERATE)
                    continue;
                assert_int_equal(env->generate->n_items, 1);
                *key = *env->generate->items[0]->key;
                return at[j];
            }
        }
    }
    fail_msg("no request came within 30 s");
    return -1;
}


/* Answer request key from peer p with a step that does not end. */
static void
answer(peer_t *p, const Trim__Key *key)
{
    Trim__Key k = *key;
    Trim__StepResult r = TRIM__STEP_RESULT__INIT;
    Trim__StepResult *items[] = {&r};
    Trim__StepResultBatch b = TRIM__STEP_RESULT_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    k.base.unknown_fields = NULL;
    k.base.n_unknown_fields = 0;
    r.key = &k;
    r.text = "Add 2 and 3 to get 5.";
    r.prompt_tokens = 40;
    r.completion_tokens = 8;
    r.finish = TRIM__FINISH__FINISH_STEP;
    b.n_items = 1;
    b.items = items;
    env.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
    env.step_results = &b;
    assert_int_equal(peer_send(p, &env), 0);
}


/*
** Peer A (credit 1) serves problem 1's first step, then takes problem 2's
** and is busy: problem 1's second step goes to peer B (credit 3) when it
** joins.  A then answers problem 2, whose second step goes back to A with
** affinity, to B (more free credit) without.
*/
static void
busy_peer(int no_affinity)
{
    const char *coord_extra[] = {"--liveness", LIVENESS,
                                 no_affinity ? "--no-affinity" : NULL, NULL};
    void *zctx = zmq_ctx_new();
    peer_t *peers[2] = {NULL, NULL};
    Trim__Key first, key;
    cluster_t k;

    cluster_init(&k);
    cluster_start_coordinator(&k, coord_extra);
    peers[0] = small_peer(zctx, &k, "A", 1);
    cluster_wait_pools(&k, 1, 0, 0, 0);
    cluster_submit_sim(&k, 2, 3, "weak");
    assert_int_equal(next_request(peers, &first), 0);
    assert_int_equal(first.step_index, 0);
    answer(peers[0], &first);
    /* Problem 2's first step takes A's only credit. */
    assert_int_equal(next_request(peers, &key), 0);
    assert_int_not_equal(key.problem_id, first.problem_id);
    assert_int_equal(key.step_index, 0);
    Trim__Key second = key;
    /* Problem 1's next step was waiting for credit: B takes it. */
    peers[1] = small_peer(zctx, &k, "B", 3);
    assert_int_equal(next_request(peers, &key), 1);
    assert_int_equal(key.problem_id, first.problem_id);
    assert_int_equal(key.step_index, 1);
    /* A is free again: problem 2 goes back to it, or to the freer B. */
    answer(peers[0], &second);
    assert_int_equal(next_request(peers, &key), no_affinity ? 1 : 0);
    assert_int_equal(key.problem_id, second.problem_id);
    assert_int_equal(key.step_index, 1);

    json_t *st = cluster_status(&k);
    json_t *small = json_object_get(json_object_get(st, "pools"), "small");
    assert_int_equal(jint(small, "affinity_same"), no_affinity ? 0 : 1);
    assert_int_equal(jint(small, "affinity_moved"), no_affinity ? 2 : 1);
    json_decref(st);
    peer_destroy(&peers[0]);
    peer_destroy(&peers[1]);
    cluster_stop(&k);
    zmq_ctx_term(zctx);
}


static void
test_busy_peer_does_not_stall(void **state)
{
    (void)state;
    busy_peer(0);
    busy_peer(1);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_peer_does_not_stall),
        cmocka_unit_test(test_affinity_raises_hit_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
