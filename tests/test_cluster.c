/*
** test_cluster.c: a real cluster of processes over TCP on 127.0.0.1.
**
** Every test starts `trim coordinator`, `trim router` and `trim worker`
** processes, talks to them with `trim submit/status/wait`, kills some of
** them with SIGKILL, and then reads the coordinator's SQLite file (the
** cluster itself: cluster.h).  The cascade and the router fallback have
** their own files: test_cascade.c, test_fallback.c.
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
#include <sqlite3.h>

#include "cluster.h"
#include "envelope.h"
#include "sock.h"
#include "testutil.h"

/* The database holds a whole, consistent run: see test_run.c. */
static void
check_database(const char *db, int64_t run, int64_t problems)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM problems WHERE run_id=%lld "
                             "AND status='finished'",
                             (long long)run),
                     problems);
    /* One accepted row per step index, 0..n-1, n = the problem's steps. */
    sql_check_one_accepted(h);
    assert_int_equal(
        sql_int(h,
                "SELECT COUNT(*) FROM problems p WHERE p.run_id=%lld AND "
                "(p.steps <> (SELECT COUNT(*) FROM steps s WHERE "
                "s.problem_id=p.problem_id AND s.accepted=1) OR p.steps - 1 "
                "<> (SELECT MAX(step_index) FROM steps s WHERE "
                "s.problem_id=p.problem_id AND s.accepted=1))",
                (long long)run),
        0);
    /* Every regenerate has its strong step; totals are sums of steps. */
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM steps d WHERE d.kind='draft' AND "
                   "d.decision='regenerate' AND NOT EXISTS (SELECT 1 FROM "
                   "steps s WHERE s.problem_id=d.problem_id AND "
                   "s.step_index=d.step_index AND s.kind='strong')"),
        0);
    assert_int_equal(
        sql_int(h,
                "SELECT COUNT(*) FROM problems p WHERE p.run_id=%lld AND ("
                "p.weak_tokens <> (SELECT IFNULL(SUM(completion_tokens),0) "
                "FROM steps s WHERE s.problem_id=p.problem_id AND "
                "s.kind='draft' AND s.accepted=1) OR p.strong_tokens <> "
                "(SELECT IFNULL(SUM(completion_tokens),0) FROM steps s WHERE "
                "s.problem_id=p.problem_id AND s.kind='strong'))",
                (long long)run),
        0);
    sqlite3_close(h);
}


/* Same decisions and texts, step by step, in two databases. */

static void
check_same_summary(json_t *a, json_t *b)
{
    const char *keys[] = {"problems",          "correct",     "steps",
                          "regenerated_steps", "weak_tokens", "strong_tokens",
                          "discarded_tokens",  "routed_steps"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (jint(a, keys[i]) != jint(b, keys[i]))
            fail_msg("%s: cluster %lld, one process %lld", keys[i],
                     (long long)jint(a, keys[i]), (long long)jint(b, keys[i]));
}


/* A price book with a cached-input discount on every role. */
#define PRICES                                                                 \
    "{\"models\": {\"w\": {\"input_usd_per_mtok\": 1, "                        \
    "\"cached_input_usd_per_mtok\": 0.5, \"output_usd_per_mtok\": 2}, "        \
    "\"s\": {\"input_usd_per_mtok\": 10, \"cached_input_usd_per_mtok\": 5, "   \
    "\"output_usd_per_mtok\": 20}, \"p\": {\"input_usd_per_mtok\": 0.1, "      \
    "\"cached_input_usd_per_mtok\": 0.01, \"output_usd_per_mtok\": 0}}, "      \
    "\"roles\": {\"weak\": \"w\", \"strong\": \"s\", \"prm\": \"p\"}}"


/*
** The dollars trim wait printed (from the coordinator's running totals:
** prompt tokens and their cached estimate kept as rows were written) equal
** trim roi's over the store's rows (SQL): one rule, two places
** (docs/roi.md, "Dollars on the wire").
*/
static void
check_same_dollars(json_t *wait, const char *db, int64_t run,
                   const char *prices)
{
    char cmd[1400];
    int st;

    snprintf(cmd, sizeof cmd,
             "%s roi --json --prices '%s' --db '%s' --run %lld", test_bin(),
             prices, db, (long long)run);
    char *out = test_capture(cmd, &st);
    json_t *roi = json_loads(out, 0, NULL);
    assert_int_equal(st, 0);
    assert_non_null(roi);
    double a = json_number_value(
        json_object_get(json_object_get(wait, "usd"), "total"));
    double b = json_number_value(json_object_get(roi, "usd"));
    if (!(b > 0) || fabs(a - b) > 1e-5 * b)
        fail_msg("trim wait says $%.8g, trim roi $%.8g", a, b);
    json_decref(roi);
    free(out);
}


static void
test_cluster_matches_one_process(void **state)
{
    (void)state;
    cluster_t k;
    char local_db[400];

    cluster_init(&k);
    cluster_start_coordinator(&k, NULL);
    cluster_start_router(&k, "router-1", NULL);
    cluster_start_worker(&k, "small", "small-1", "0", "64", NULL);
    cluster_start_worker(&k, "small", "small-2", "0", "64", NULL);
    cluster_start_worker(&k, "large", "large-1", "0", "64", NULL);
    cluster_start_worker(&k, "large", "large-2", "0", "64", NULL);
    cluster_start_worker(&k, "prm", "prm-1", "0", "64", NULL);
    cluster_wait_pools(&k, 2, 2, 1, 1);
    int64_t run = cluster_submit_sim(&k, 300, 11, "thr:0.5");
    json_t *cluster = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    /* trim wait --prices prices the totals the coordinator sends. */
    char prices[400], r[32];
    cluster_path(&k, "prices.json", prices, sizeof prices);
    test_write_file(prices, PRICES);
    snprintf(r, sizeof r, "%lld", (long long)run);
    json_t *priced = cluster_wait_result(
        &k,
        cluster_spawn(&k, "wait.log", "wait", "--json", "--connect", k.endpoint,
                      "--run", r, "--prices", prices, (char *)NULL));
    json_t *one = cluster_local_run(&k, "local.db", 300, 11, "thr:0.5",
                                    local_db, sizeof local_db);
    check_same_summary(cluster, one);
    cluster_stop(&k);
    check_database(k.db, run, 300);
    cluster_same_steps(k.db, local_db);
    check_same_dollars(priced, k.db, run, prices);
    json_decref(priced);
    json_decref(cluster);
    json_decref(one);
}


static const char *const local_fallback[] = {"--router-fallback", "local",
                                             NULL};


static void
test_killed_worker_router_and_coordinator(void **state)
{
    (void)state;
    cluster_t k;
    char local_db[400], log[400];

    cluster_init(&k);
    cluster_start_coordinator(&k, local_fallback);
    cluster_start_router(&k, "router-1", NULL);
    /* Small calls take 15 ms and credit is 4 per worker: the run lasts a
    ** few seconds and the small workers always hold requests. */
    int doomed = cluster_start_worker(&k, "small", "small-1", "15", "4", NULL);
    cluster_start_worker(&k, "small", "small-2", "15", "4", NULL);
    cluster_start_worker(&k, "large", "large-1", "2", "8", NULL);
    cluster_start_worker(&k, "prm", "prm-1", "1", "16", NULL);
    cluster_wait_pools(&k, 2, 1, 1, 1);
    int64_t run = cluster_submit_sim(&k, 240, 5, "thr:0.5");
    int waiter = cluster_spawn_wait(&k, run);

    /* A small worker dies holding requests. */
    cluster_wait_finished(&k, 20);
    /* Under load the small pool can be idle for a moment while every
    ** problem in flight waits on the PRM or the router (it must hold
    ** requests again, with 220 problems left). */
    cluster_wait_busy(&k, "small");
    cluster_kill(&k, doomed);

    /* The router dies; the coordinator decides locally until one returns. */
    cluster_wait_finished(&k, 70);
    cluster_kill(&k, k.routers[0]);
    cluster_wait_finished(&k, 110);
    cluster_start_router(&k, "router-2", NULL);

    /* The coordinator dies and comes back on the same database. */
    cluster_wait_finished(&k, 150);
    cluster_kill(&k, k.coord);
    cluster_start_coordinator(&k, local_fallback);

    json_t *cluster = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(cluster, "problems"), 240);
    assert_int_equal(jint(cluster, "finished"), 240);
    cluster_stop(&k);
    check_database(k.db, run, 240);

    /* The audit shows what happened. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_true(sql_int(h, "SELECT COUNT(*) FROM steps WHERE attempt > 0") > 0);
    assert_true(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                           "decided_by='fallback:local'") > 0);
    assert_true(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                           "decided_by='router:router-2'") > 0);
    sqlite3_close(h);
    cluster_path(&k, "coordinator.log", log, sizeof log);
    assert_true(test_file_contains(log, "recovered"));
    assert_true(test_file_contains(log, "dropped small peer small-1"));

    /* Deterministic models: crashes change nothing in the outcome. */
    json_t *one = cluster_local_run(&k, "local.db", 240, 5, "thr:0.5", local_db,
                                    sizeof local_db);
    assert_int_equal(jint(cluster, "correct"), jint(one, "correct"));
    assert_int_equal(jint(cluster, "steps"), jint(one, "steps"));
    json_decref(cluster);
    json_decref(one);
}


static void
test_bad_peers_and_full_queue(void **state)
{
    (void)state;
    cluster_t k;
    char err[256], log[400], cmd[1400];
    int st;

    cluster_init(&k);
    cluster_start_one_each(
        &k, (const char *const[]){"--max-queued", "50", NULL}, "0", "16");

    /* A misbehaving peer over TCP. */
    void *zctx = zmq_ctx_new();
    void *bad = sock_new(zctx, ZMQ_DEALER, err, sizeof err);
    assert_non_null(bad);
    assert_int_equal(zmq_connect(bad, k.endpoint), 0);
    assert_int_equal(zmq_send(bad, "\x0a\xff\xff garbage", 12, 0), 12);
    {
        Trim__Heartbeat hb = TRIM__HEARTBEAT__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        uint8_t buf[32];
        env.version = TRIM_PROTOCOL_VERSION + 1;
        env.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        size_t n = trim__envelope__pack(&env, buf);
        assert_int_equal(zmq_send(bad, buf, n, 0), (int)n);
    }
    {
        /* Over the protocol's size limit, under libzmq's hard cut-off. */
        size_t n = TRIM_MAX_MESSAGE + 1024;
        char *big = calloc(1, n);
        assert_int_equal(zmq_send(bad, big, n, 0), (int)n);
        free(big);
    }
    {
        /* Announce as a small worker, then answer a request never sent. */
        Trim__Ready ready = TRIM__READY__INIT;
        Trim__Envelope env = TRIM__ENVELOPE__INIT;
        ready.role = TRIM__ROLE__ROLE_SMALL;
        ready.credit = 1;
        ready.name = "impostor";
        env.body_case = TRIM__ENVELOPE__BODY_READY;
        env.ready = &ready;
        assert_int_equal(sock_send_env(bad, NULL, 0, &env), 0);
        Trim__Key key = TRIM__KEY__INIT;
        Trim__StepResult r = TRIM__STEP_RESULT__INIT;
        Trim__StepResult *items[1] = {&r};
        Trim__StepResultBatch b = TRIM__STEP_RESULT_BATCH__INIT;
        Trim__Envelope env2 = TRIM__ENVELOPE__INIT;
        key.problem_id = 424242;
        key.role = TRIM__ROLE__ROLE_SMALL;
        r.key = &key;
        r.text = "forged";
        b.n_items = 1;
        b.items = items;
        env2.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
        env2.step_results = &b;
        assert_int_equal(sock_send_env(bad, NULL, 0, &env2), 0);
    }
    /* Wait until the coordinator has seen all of it. */
    json_t *s = NULL;
    for (int tries = 0; tries < 200; tries++) {
        json_decref(s);
        s = cluster_status(&k);
        if (s && jint(s, "bad_messages") >= 3 && jint(s, "stale_replies") >= 1)
            break;
        cluster_pause_ms(20);
    }
    assert_non_null(s);
    assert_int_equal(jint(s, "bad_messages"), 3);
    assert_int_equal(jint(s, "stale_replies"), 1);
    json_decref(s);
    sock_destroy(&bad);
    zmq_ctx_term(zctx);
    /* Logged once for the peer (the first bad frame), not once a frame. */
    cluster_path(&k, "coordinator.log", log, sizeof log);
    snprintf(cmd, sizeof cmd, "grep -c 'dropped a bad frame' '%s'", log);
    char *count = test_capture(cmd, &st);
    assert_int_equal(atoi(count), 1);
    free(count);
    assert_true(test_file_contains(log, "not outstanding"));

    /* The queue is bounded: 60 problems do not fit in 50. */
    snprintf(cmd, sizeof cmd, "%s submit --connect %s --sim 60 2>&1",
             test_bin(), k.endpoint);
    char *out = test_capture(cmd, &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "queue full"));
    free(out);

    /* And the cluster goes on. */
    int64_t run = cluster_submit_sim(&k, 40, 3, "thr:0.5");
    json_t *sum = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    assert_int_equal(jint(sum, "finished"), 40);
    json_decref(sum);

    /* A problems file: its bad line is reported by number and skipped; the
    ** rest is refused whole, naming the first problem the simulator (every
    ** small worker's backend) cannot solve and what to send instead. */
    char file[400], errlog[400];
    cluster_path(&k, "problems.jsonl", file, sizeof file);
    cluster_path(&k, "submit.err", errlog, sizeof errlog);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("{\"id\":\"a\",\"problem\":\"What is 1+1?\",\"answer\":\"2\"}\n"
          "not json\n"
          "{\"id\":\"c\",\"problem\":\"What is 2+2?\",\"answer\":\"4\"}\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s submit --json --connect %s %s 2>%s",
             test_bin(), k.endpoint, file, errlog);
    out = test_capture(cmd, &st);
    assert_int_not_equal(st, 0);
    free(out);
    assert_true(
        test_file_contains(errlog, "problems.jsonl:2: not a JSON object"));
    assert_true(test_file_contains(
        errlog, "problems[0]: the built-in simulator solves only problems it "
                "generated (print some with `trim sim-problems`); this text "
                "is not one: it does not open with"));

    /* What it says to do works: its problems, written to a file (as the
    ** --json lines) and given to trim submit. */
    cluster_path(&k, "sim.jsonl", file, sizeof file);
    snprintf(cmd, sizeof cmd,
             "%s sim-problems --count 7 --seed 3 --json > %s && %s submit "
             "--json --connect %s %s 2>%s",
             test_bin(), file, test_bin(), k.endpoint, file, errlog);
    out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(jint(j, "problems"), 7);
    run = jint(j, "run_id");
    json_decref(j);
    free(out);
    sum = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    assert_int_equal(jint(sum, "problems"), 7);
    assert_int_equal(jint(sum, "finished"), 7);
    assert_int_equal(jint(sum, "failed"), 0);
    assert_int_equal(jint(sum, "cancelled"), 0);
    json_decref(sum);
    cluster_stop(&k);
}


static void
test_watch_prints_decisions(void **state)
{
    (void)state;
    cluster_t k;
    char out_path[400], cmd[512];
    int st;

    cluster_init(&k);
    cluster_start_one_each(&k, NULL, "0", "16");
    int watcher = cluster_spawn(&k, "watch.log", "watch", "--json", "--count",
                                "5", "--feed", k.feed, "--connect-timeout-ms",
                                "60000", (char *)NULL);
    /* The feed drops what is published before a subscriber joins, so keep
    ** submitting small runs until the watcher has seen five decisions. */
    int code = -1;
    for (int i = 0; i < 20 && code < 0; i++) {
        cluster_submit_sim(&k, 5, 100 + i, "thr:0.5");
        code = test_wait_child(watcher, 1000);
    }
    assert_int_equal(code, 0);
    cluster_path(&k, "watch.log", out_path, sizeof out_path);
    snprintf(cmd, sizeof cmd, "grep -c '\"action\"' '%s'", out_path);
    char *out = test_capture(cmd, &st);
    assert_int_equal(atoi(out), 5);
    free(out);
    cluster_stop(&k);
}


/* Keygen PREFIX in the cluster's directory; returns 0. */
static void
keygen(cluster_t *k, const char *name)
{
    char cmd[512], prefix[400];
    int st;
    cluster_path(k, name, prefix, sizeof prefix);
    snprintf(cmd, sizeof cmd, "%s keygen %s", test_bin(), prefix);
    free(test_capture(cmd, &st));
    assert_int_equal(st, 0);
}


static void
test_curve_admits_listed_keys_only(void **state)
{
    (void)state;
    cluster_t k;
    char sec[4][400], pub[400], allowed[400], cmd[4096], log[400];
    const char *names[4] = {"coord", "svc", "client", "intruder"};
    int st;

    cluster_init(&k);
    for (int i = 0; i < 4; i++) {
        keygen(&k, names[i]);
        char n[64];
        snprintf(n, sizeof n, "%s.secret", names[i]);
        cluster_path(&k, n, sec[i], sizeof sec[i]);
    }
    cluster_path(&k, "coord.public", pub, sizeof pub);
    cluster_path(&k, "allowed", allowed, sizeof allowed);
    snprintf(cmd, sizeof cmd, "cat %s/svc.public %s/client.public > %s", k.dir,
             k.dir, allowed);
    free(test_capture(cmd, &st));

    const char *const coord_flags[] = {"--curve-secret", sec[0],
                                       "--curve-clients", allowed, NULL};
    const char *const svc[] = {"--curve-secret", sec[1], "--curve-server-key",
                               pub, NULL};
    const char *const bad[] = {"--curve-secret", sec[3], "--curve-server-key",
                               pub, NULL};
    cluster_start_coordinator(&k, coord_flags);
    const char *const router_flags[] = {
        "--curve-secret", sec[1], "--curve-server-key", pub, "--curve-clients",
        allowed,          NULL};
    cluster_start_router(&k, "router-1", router_flags);
    cluster_start_worker(&k, "small", "small-1", "0", "16", svc);
    cluster_start_worker(&k, "large", "large-1", "0", "16", svc);
    cluster_start_worker(&k, "prm", "prm-1", "0", "16", svc);
    cluster_start_worker(&k, "small", "intruder", "0", "16", bad);

    /* The user commands need a listed key too. */
    char client_flags[1024];
    snprintf(client_flags, sizeof client_flags,
             "--curve-secret %s --curve-server-key %s", sec[2], pub);
    json_t *s = NULL;
    for (int tries = 0; tries < 300; tries++) {
        json_decref(s);
        snprintf(cmd, sizeof cmd,
                 "%s status --json --timeout-ms 1000 "
                 "--connect %s %s",
                 test_bin(), k.endpoint, client_flags);
        char *out = test_capture(cmd, &st);
        s = st == 0 ? json_loads(out, 0, NULL) : NULL;
        free(out);
        if (s && cluster_pool_peers(s, "small") == 1 &&
            cluster_pool_peers(s, "large") == 1 &&
            cluster_pool_peers(s, "prm") == 1 &&
            cluster_pool_peers(s, "router") == 1)
            break;
        cluster_pause_ms(50);
    }
    assert_non_null(s);
    assert_int_equal(cluster_pool_peers(s, "router"), 1);
    json_decref(s);

    snprintf(cmd, sizeof cmd,
             "%s submit --json --connect %s %s --sim 20 && %s wait --json "
             "--timeout-ms 60000 --connect %s %s",
             test_bin(), k.endpoint, client_flags, test_bin(), k.endpoint,
             client_flags);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"finished\":20"));
    free(out);

    /* The intruder never joined, and the refusal was logged. */
    cluster_path(&k, "coordinator.log", log, sizeof log);
    assert_true(test_file_contains(log, "refused CURVE client"));
    assert_false(test_file_contains(log, "peer intruder joined"));
    /* Without a key, the coordinator does not even answer. */
    snprintf(cmd, sizeof cmd, "%s status --timeout-ms 500 --connect %s 2>&1",
             test_bin(), k.endpoint);
    out = test_capture(cmd, &st);
    assert_int_equal(st, 1);
    free(out);
    cluster_stop(&k);

    /* No secret key appears in any log. */
    for (int i = 0; i < 4; i++) {
        char secret[64];
        snprintf(cmd, sizeof cmd, "head -c 40 %s", sec[i]);
        out = test_capture(cmd, &st);
        snprintf(secret, sizeof secret, "%.40s", out);
        free(out);
        snprintf(cmd, sizeof cmd, "grep -rlF -- '%s' %s/*.log | wc -l", secret,
                 k.dir);
        out = test_capture(cmd, &st);
        assert_int_equal(atoi(out), 0);
        free(out);
    }
}


#define WAITING "waiting for a router (router fallback: wait)"

static void
test_router_fallback_wait(void **state)
{
    (void)state;
    cluster_t k;

    cluster_init(&k);
    cluster_start_one_each(
        &k, (const char *const[]){"--router-fallback", "wait", NULL}, "10",
        "4");
    int64_t run = cluster_submit_sim(&k, 60, 21, "thr:0.5");
    int waiter = cluster_spawn_wait(&k, run);
    cluster_wait_finished(&k, 10);
    char log[400];
    cluster_path(&k, "coordinator.log", log, sizeof log);
    int64_t stalls = test_count_lines(log, WAITING);
    cluster_kill(&k, k.routers[0]);
    /* Decisions stop: nothing finishes while no router is there, even once
    ** the coordinator says a decision is past the router timeout. */
    cluster_wait_pools(&k, 1, 1, 1, 0);
    json_t *st = cluster_status(&k);
    int64_t stalled = jint(st, "finished");
    json_decref(st);
    for (int tries = 0; test_count_lines(log, WAITING) == stalls; tries++) {
        if (tries == 500)
            fail_msg("the coordinator never said it waits for a router");
        cluster_pause_ms(20);
    }
    st = cluster_status(&k);
    assert_int_equal(jint(st, "finished"), stalled);
    assert_int_equal(jint(st, "fallback_decisions"), 0);
    json_decref(st);
    cluster_start_router(&k, "router-2", NULL);
    json_t *sum = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(sum, "finished"), 60);
    json_decref(sum);
    cluster_stop(&k);
    check_database(k.db, run, 60);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "decided_by LIKE 'fallback%%'"),
                     0);
    assert_true(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                           "decided_by='router:router-2'") > 0);
    sqlite3_close(h);
}


/*
** A client that submits with notify gets every accepted step of its
** problems, in step order and before the problem's end, with what the
** audit store holds for that step (text, tokens, who wrote it, the draft's
** score), and each end with the totals of the problem's row.
*/
static void
test_notify_matches_audit(void **state)
{
    (void)state;
    enum { N = 12 };
    cluster_t k;
    char cmd[700], err[256];
    int st;

    cluster_init(&k);
    cluster_start_one_each(&k, NULL, "0", "16");
    snprintf(cmd, sizeof cmd, "%s sim-problems --count %d --seed 5 --json",
             test_bin(), N);
    char *lines = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    Trim__ProblemSpec specs[N], *ps[N];
    json_t *objs[N];
    char *line = lines;
    for (int i = 0; i < N; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        objs[i] = json_loads(line, 0, NULL);
        assert_non_null(objs[i]);
        trim__problem_spec__init(&specs[i]);
        specs[i].text =
            (char *)json_string_value(json_object_get(objs[i], "text"));
        specs[i].seed = (uint64_t)i;
        specs[i].key_id = "notify-test";
        ps[i] = &specs[i];
        line = nl + 1;
    }
    void *zctx = zmq_ctx_new();
    void *c = sock_new(zctx, ZMQ_DEALER, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(zmq_connect(c, k.endpoint), 0);
    Trim__Submit sub = TRIM__SUBMIT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    sub.request_id = 1;
    sub.policy = "thr:0.5";
    sub.notify = 1;
    sub.n_problems = N;
    sub.problems = ps;
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    assert_int_equal(sock_send_env(c, NULL, 0, &env), 0);
    for (int i = 0; i < N; i++)
        json_decref(objs[i]);
    free(lines);

    /* Collect until every problem has ended (bounded). */
    int next[N + 1] = {0}, ended = 0, regenerated = 0;
    int64_t run = 0, first = 0;
    sqlite3 *h = NULL;
    Trim__Envelope *pushes[4096];
    int n_pushes = 0;
    for (int tries = 0; ended < N && tries < 600; tries++) {
        zmq_pollitem_t item = {c, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, c, 0) >= 0);
        Trim__Envelope *e =
            env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
        zmq_msg_close(&msg);
        assert_non_null(e);
        if (e->body_case == TRIM__ENVELOPE__BODY_SUBMIT_ACK) {
            assert_string_equal(e->submit_ack->error, "");
            run = (int64_t)e->submit_ack->run_id;
            first = (int64_t)e->submit_ack->problem_ids[0];
        } else if (e->body_case == TRIM__ENVELOPE__BODY_STEP_PUSH) {
            for (size_t i = 0; i < e->step_push->n_steps; i++) {
                const Trim__AcceptedStep *s = e->step_push->steps[i];
                int slot = (int)(s->problem_id % (N + 1));
                assert_int_equal(s->step_index, next[slot]); /* in order */
                next[slot]++;
                regenerated += s->strong;
            }
        } else {
            assert_int_equal(e->body_case, TRIM__ENVELOPE__BODY_PROBLEMS_DONE);
            for (size_t i = 0; i < e->problems_done->n_results; i++) {
                const Trim__ProblemResult *r = e->problems_done->results[i];
                assert_int_equal(r->end, TRIM__PROBLEM_END__END_FINISHED);
                /* Every step came before the end. */
                assert_int_equal(r->steps, next[r->problem_id % (N + 1)]);
                ended++;
            }
        }
        assert_true(n_pushes < 4096);
        pushes[n_pushes++] = e;
    }
    assert_int_equal(ended, N);
    assert_true(regenerated > 0); /* thr:0.5 regenerates some steps */

    /* Once the run is recorded, each push matches the audit store. */
    json_t *sum = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    json_decref(sum);
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    for (int i = 0; i < n_pushes; i++) {
        const Trim__Envelope *e = pushes[i];
        for (size_t j = 0; e->body_case == TRIM__ENVELOPE__BODY_STEP_PUSH &&
                           j < e->step_push->n_steps;
             j++) {
            const Trim__AcceptedStep *s = e->step_push->steps[j];
            sqlite3_stmt *q;
            assert_int_equal(
                sqlite3_prepare_v2(
                    h,
                    "SELECT text, completion_tokens, prompt_tokens, kind, "
                    "finish FROM steps WHERE problem_id = ?1 AND "
                    "step_index = ?2 AND accepted = 1",
                    -1, &q, NULL),
                SQLITE_OK);
            sqlite3_bind_int64(q, 1, (int64_t)s->problem_id);
            sqlite3_bind_int(q, 2, (int)s->step_index);
            assert_int_equal(sqlite3_step(q), SQLITE_ROW);
            assert_string_equal((const char *)sqlite3_column_text(q, 0),
                                s->text);
            assert_int_equal(sqlite3_column_int(q, 1), s->tokens);
            assert_int_equal(sqlite3_column_int(q, 2), s->prompt_tokens);
            assert_string_equal((const char *)sqlite3_column_text(q, 3),
                                s->strong ? "strong" : "draft");
            assert_int_equal(sqlite3_column_int(q, 4), s->finish);
            sqlite3_finalize(q);
            /* The draft's score and decision, kept or replaced. */
            assert_true(s->routed);
            assert_int_equal(
                sql_int(h,
                        "SELECT COUNT(*) FROM steps WHERE problem_id = %llu "
                        "AND step_index = %u AND kind = 'draft' AND "
                        "abs(prm_score - %.9g) < 1e-6 AND decided_by = '%s' "
                        "AND prm_tokens = %u AND (%d = 0 OR "
                        "completion_tokens = %u)",
                        (unsigned long long)s->problem_id, s->step_index,
                        (double)s->score, s->decided_by, s->prm_tokens,
                        (int)s->strong, s->discarded_tokens),
                1);
        }
        for (size_t j = 0; e->body_case == TRIM__ENVELOPE__BODY_PROBLEMS_DONE &&
                           j < e->problems_done->n_results;
             j++) {
            const Trim__ProblemResult *r = e->problems_done->results[j];
            assert_int_equal(
                sql_int(h,
                        "SELECT COUNT(*) FROM problems WHERE problem_id = "
                        "%llu AND run_id = %lld AND steps = %u AND "
                        "regenerated_steps = %u AND weak_tokens = %llu AND "
                        "strong_tokens = %llu AND discarded_tokens = %llu "
                        "AND prm_tokens = %llu AND key_id = 'notify-test' "
                        "AND status = 'finished'",
                        (unsigned long long)r->problem_id, (long long)run,
                        r->steps, r->regenerated,
                        (unsigned long long)r->weak_tokens,
                        (unsigned long long)r->strong_tokens,
                        (unsigned long long)r->discarded_tokens,
                        (unsigned long long)r->prm_tokens),
                1);
        }
    }
    assert_true(first > 0);
    sqlite3_close(h);
    for (int i = 0; i < n_pushes; i++)
        env_destroy(&pushes[i]);
    sock_destroy(&c);
    zmq_ctx_term(zctx);
    cluster_stop(&k);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_matches_one_process),
        cmocka_unit_test(test_killed_worker_router_and_coordinator),
        cmocka_unit_test(test_router_fallback_wait),
        cmocka_unit_test(test_bad_peers_and_full_queue),
        cmocka_unit_test(test_watch_prints_decisions),
        cmocka_unit_test(test_notify_matches_audit),
        cmocka_unit_test(test_curve_admits_listed_keys_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
