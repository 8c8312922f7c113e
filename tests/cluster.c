/*
** cluster.c: a trim cluster of processes for integration tests (see
** cluster.h).
*/
#include "cluster.h"

#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "testutil.h"

/* An argument list under construction (strings are borrowed). */
typedef struct args {
    char *v[64];
    int n;
} args_t;


static void
args_vadd(args_t *a, va_list ap)
{
    for (char *s; (s = va_arg(ap, char *)) != NULL;) {
        assert_true(a->n < 62);
        a->v[a->n++] = s;
    }
}


/* Append the NULL-terminated strings to a. */
static void
args_add(args_t *a, ...)
{
    va_list ap;
    va_start(ap, a);
    args_vadd(a, ap);
    va_end(ap);
}


/* Append a NULL-terminated array of strings (may be NULL) to a. */
static void
args_extend(args_t *a, const char *const *extra)
{
    for (; extra && *extra; extra++) {
        assert_true(a->n < 62);
        a->v[a->n++] = (char *)*extra;
    }
}


void
cluster_path(const cluster_t *k, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", k->dir, name);
}


/* Spawn `trim ARGS` with its output in the cluster's directory. */
static int
spawn_args(cluster_t *k, const char *log, args_t *a)
{
    char *argv[64], path[400];
    argv[0] = (char *)test_bin();
    for (int i = 0; i < a->n; i++)
        argv[i + 1] = a->v[i];
    argv[a->n + 1] = NULL;
    cluster_path(k, log, path, sizeof path);
    return test_spawn(path, argv);
}


int
cluster_spawn(cluster_t *k, const char *log, ...)
{
    args_t a = {0};
    va_list ap;
    va_start(ap, log);
    args_vadd(&a, ap);
    va_end(ap);
    return spawn_args(k, log, &a);
}


/* The directories cluster_init made, removed when the test exits. */
#define MAX_DIRS 64
static char g_dirs[MAX_DIRS][sizeof((cluster_t *)0)->dir];

static void
remove_dirs(void)
{
    for (int i = 0; i < MAX_DIRS; i++)
        if (g_dirs[i][0] != '\0')
            test_remove_tree(g_dirs[i]);
}


/* Remember dir (made by mkdtemp) for remove_dirs. */
static void
remember_dir(const char *dir)
{
    static int registered;

    if (!registered) {
        atexit(remove_dirs);
        registered = 1;
    }
    for (int i = 0; i < MAX_DIRS; i++)
        if (g_dirs[i][0] == '\0') {
            snprintf(g_dirs[i], sizeof g_dirs[i], "%s", dir);
            return;
        }
}


void
cluster_init(cluster_t *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/trim-cluster-XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    remember_dir(k->dir);
    cluster_path(k, "cluster.db", k->db, sizeof k->db);
    snprintf(k->endpoint, sizeof k->endpoint, "tcp://127.0.0.1:%d",
             test_free_port());
    snprintf(k->feed, sizeof k->feed, "tcp://127.0.0.1:%d", test_free_port());
}


void
cluster_start_coordinator(cluster_t *k, const char *const *extra)
{
    args_t a = {0};
    args_add(&a, "coordinator", "--bind", k->endpoint, "--db", k->db,
             "--heartbeat-ms", CLUSTER_HB, "--router-timeout-ms", "300",
             "--log-level", "info", (char *)NULL);
    args_extend(&a, extra);
    k->coord = spawn_args(k, "coordinator.log", &a);
}


void
cluster_start_router(cluster_t *k, const char *name, const char *const *extra)
{
    char log[64];
    args_t a = {0};
    snprintf(log, sizeof log, "%s.log", name);
    /* The first router publishes on k->feed; the others publish nowhere. */
    args_add(&a, "router", "--connect", k->endpoint, "--pub",
             k->n_routers == 0 ? k->feed : "", "--name", name, "--heartbeat-ms",
             CLUSTER_HB, (char *)NULL);
    args_extend(&a, extra);
    assert_true(k->n_routers < 4);
    k->routers[k->n_routers++] = spawn_args(k, log, &a);
}


int
cluster_start_worker(cluster_t *k, const char *pool, const char *name,
                     const char *latency_ms, const char *credit,
                     const char *const *extra)
{
    char log[64];
    args_t a = {0};
    snprintf(log, sizeof log, "%s.log", name);
    args_add(&a, "worker", "--pool", pool, "--connect", k->endpoint, "--name",
             name, "--heartbeat-ms", CLUSTER_HB, "--reconnect-max-ms", "400",
             "--credit", credit, "--sim-base-ms", latency_ms, "--drain-ms",
             "2000", (char *)NULL);
    args_extend(&a, extra);
    assert_true(k->n_workers < 16);
    int pid = spawn_args(k, log, &a);
    k->workers[k->n_workers++] = pid;
    return pid;
}


void
cluster_start_one_each(cluster_t *k, const char *const *coord_extra,
                       const char *small_ms, const char *small_credit)
{
    cluster_start_coordinator(k, coord_extra);
    cluster_start_router(k, "router-1", NULL);
    cluster_start_worker(k, "small", "small-1", small_ms, small_credit, NULL);
    cluster_start_worker(k, "large", "large-1", "0", "16", NULL);
    cluster_start_worker(k, "prm", "prm-1", "0", "16", NULL);
    cluster_wait_pools(k, 1, 1, 1, 1);
}


void
cluster_stop(cluster_t *k)
{
    for (int i = 0; i < k->n_workers; i++)
        test_stop_child(k->workers[i], SIGTERM);
    for (int i = 0; i < k->n_routers; i++)
        test_stop_child(k->routers[i], SIGTERM);
    test_stop_child(k->coord, SIGTERM);
}


void
cluster_kill(cluster_t *k, int pid)
{
    assert_int_equal(cluster_signal(k, pid, SIGKILL), 128 + SIGKILL);
}


int
cluster_signal(cluster_t *k, int pid, int sig)
{
    assert_true(pid > 0);
    kill(pid, sig);
    int rc = test_wait_child(pid, 30000);
    for (int i = 0; i < k->n_workers; i++)
        if (k->workers[i] == pid)
            k->workers[i] = -1;
    for (int i = 0; i < k->n_routers; i++)
        if (k->routers[i] == pid)
            k->routers[i] = -1;
    if (k->coord == pid)
        k->coord = -1;
    return rc;
}


json_t *
cluster_status(const cluster_t *k)
{
    char cmd[512];
    int st;
    snprintf(cmd, sizeof cmd, "%s status --json --timeout-ms 1000 --connect %s",
             test_bin(), k->endpoint);
    char *out = test_capture(cmd, &st);
    json_t *j = st == 0 ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}


int64_t
cluster_pool_peers(json_t *st, const char *pool)
{
    return json_integer_value(json_object_get(
        json_object_get(json_object_get(st, "pools"), pool), "peers"));
}


int64_t
jint(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}


void
cluster_pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}


void
cluster_wait_pools(const cluster_t *k, int small, int large, int prm,
                   int router)
{
    for (int tries = 0; tries < 300; tries++) {
        json_t *st = cluster_status(k);
        int ok = st && cluster_pool_peers(st, "small") == small &&
                 cluster_pool_peers(st, "large") == large &&
                 cluster_pool_peers(st, "prm") == prm &&
                 cluster_pool_peers(st, "router") == router;
        json_decref(st);
        if (ok)
            return;
        cluster_pause_ms(50);
    }
    fail_msg("the cluster never reached %d/%d/%d workers and %d routers", small,
             large, prm, router);
}


void
cluster_wait_finished(const cluster_t *k, int64_t n)
{
    for (int tries = 0; tries < 600; tries++) {
        json_t *st = cluster_status(k);
        int64_t done = st ? jint(st, "finished") : 0;
        json_decref(st);
        if (done >= n)
            return;
        cluster_pause_ms(20);
    }
    fail_msg("fewer than %lld problems finished in time", (long long)n);
}


int64_t
cluster_submit_sim(const cluster_t *k, int n, int seed, const char *policy)
{
    char cmd[512];
    int st;
    snprintf(cmd, sizeof cmd,
             "%s submit --json --connect %s --sim %d --seed %d --policy %s",
             test_bin(), k->endpoint, n, seed, policy);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(jint(j, "problems"), n);
    int64_t run = jint(j, "run_id");
    json_decref(j);
    free(out);
    return run;
}


int
cluster_spawn_wait(cluster_t *k, int64_t run)
{
    char r[32];
    snprintf(r, sizeof r, "%lld", (long long)run);
    return cluster_spawn(k, "wait.log", "wait", "--json", "--connect",
                         k->endpoint, "--run", r, "--timeout-ms", "120000",
                         (char *)NULL);
}


json_t *
cluster_wait_result(cluster_t *k, int pid)
{
    char path[400], cmd[512];
    int st;
    assert_int_equal(test_wait_child(pid, 150000), 0);
    cluster_path(k, "wait.log", path, sizeof path);
    snprintf(cmd, sizeof cmd, "grep '^{' '%s' | tail -1", path);
    char *out = test_capture(cmd, &st);
    json_t *j = json_loads(out, 0, NULL);
    if (j == NULL)
        fail_msg("trim wait printed no summary: %s", out);
    free(out);
    return j;
}


json_t *
cluster_local_run(const cluster_t *k, const char *name, int n, int seed,
                  const char *policy, char *db, size_t dblen)
{
    char cmd[768];
    int st;
    cluster_path(k, name, db, dblen);
    snprintf(cmd, sizeof cmd,
             "%s run --json --no-progress --db %s --problems %d --seed %d "
             "--policy %s",
             test_bin(), db, n, seed, policy);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    free(out);
    return j;
}


void
cluster_same_steps(const char *a, const char *b)
{
    sqlite3 *h;
    char sql[1024];
    assert_int_equal(sqlite3_open(a, &h), SQLITE_OK);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS b", b);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps"),
                     sql_int(h, "SELECT COUNT(*) FROM b.steps"));
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM (SELECT problem_id, step_index, kind, "
                   "text, decision, accepted, prm_score FROM steps EXCEPT "
                   "SELECT problem_id, step_index, kind, text, decision, "
                   "accepted, prm_score FROM b.steps)"),
        0);
    sqlite3_close(h);
}


void
cluster_check_steps(const char *db)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    sql_check_one_accepted(h);
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM problems p WHERE p.steps <> (SELECT "
                   "COUNT(*) FROM steps s WHERE s.problem_id=p.problem_id "
                   "AND s.accepted=1)"),
        0);
    sqlite3_close(h);
}


void
cluster_wait_busy(const cluster_t *k, const char *pool)
{
    int64_t outstanding = 0;

    for (int tries = 0; tries < 600 && outstanding == 0; tries++) {
        json_t *st = cluster_status(k);
        outstanding = json_integer_value(
            json_object_get(json_object_get(json_object_get(st, "pools"), pool),
                            "outstanding"));
        json_decref(st);
        if (outstanding == 0)
            cluster_pause_ms(5);
    }
    assert_true(outstanding > 0);
}
