/*
** test_secure.c: secure defaults and a graceful stop.
**
** What trim listens on: loopback by default, plaintext beyond loopback only
** with --insecure (logged at every start), CURVE allowed anywhere; and what
** a SIGTERMed worker or router does: finish or hand back its calls in
** flight within --drain-ms and tell the coordinator with a Disconnect, so
** its requests are requeued at once and the reason is logged; and that
** --health-file is touched only while the coordinator is heard.  The
** processes are real and talk over TCP on 127.0.0.1 only: the one
** address beyond loopback bound here, the wildcard of --insecure, is bound
** in a network namespace of the test's own with nothing but `lo` in it
** (needs root: skipped otherwise), so no other host can reach it.
*/
#define _GNU_SOURCE /* unshare */
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cluster.h"
#include "log.h"
#include "skip.h"
#include "sock.h"
#include "testutil.h"

static void
test_local_endpoints(void **state)
{
    (void)state;
    const char *local[] = {
        "tcp://127.0.0.1:5555", "tcp://127.9.8.7:1",
        "tcp://lo:5555", /* the loopback interface, as libzmq binds it */
        "tcp://[::1]:5555",     "tcp://127.0.0.1:*",
        "ipc:///tmp/trim.sock", "inproc://coordinator",
    };
    const char *network[] = {
        "tcp://0.0.0.0:5555",
        "tcp://*:5555",
        "tcp://[::]:5555",
        "tcp://10.0.0.1:5555",
        "tcp://128.0.0.1:5555",
        "tcp://localhost:5555", /* libzmq resolves no names for a bind */
        "tcp://LOCALHOST:5555",
        "tcp://LO:5555", /* interface names are case-sensitive */
        "tcp://eth0:5555",
        "tcp://localhost.example.org:5555",
        "tcp://127.0.0.1.example.org:5555",
        "tcp://[::1:5555",
        "tcp://127.0.0.1",
        "tcp://:5555",
        "udp://127.0.0.1:5555",
        "ws://127.0.0.1:5555",
        "",
    };
    for (size_t i = 0; i < sizeof local / sizeof *local; i++)
        if (!sock_endpoint_is_local(local[i]))
            fail_msg("%s should count as loopback", local[i]);
    for (size_t i = 0; i < sizeof network / sizeof *network; i++)
        if (sock_endpoint_is_local(network[i]))
            fail_msg("%s should count as reachable from the network",
                     network[i]);
}


static void
test_check_listen(void **state)
{
    (void)state;
    char err[512];
    test_redirect_t r;

    /* Refused: the reason names the address, the flag and the ways out. */
    err[0] = '\0';
    assert_int_equal(sock_check_listen("coordinator", "--bind",
                                       "tcp://0.0.0.0:5555", 0, 0, err,
                                       sizeof err),
                     -1);
    assert_non_null(strstr(err, "tcp://0.0.0.0:5555"));
    assert_non_null(strstr(err, "--bind"));
    assert_non_null(strstr(err, "--curve-secret"));
    assert_non_null(strstr(err, "--insecure"));

    /* Allowed without a word: loopback, or CURVE on. */
    tlog_set_level(TLOG_DEBUG);
    test_redirect_begin(&r, 2);
    assert_int_equal(sock_check_listen("coordinator", "--bind",
                                       "tcp://127.0.0.1:5555", 0, 0, err,
                                       sizeof err),
                     0);
    assert_int_equal(sock_check_listen("router", "--pub", "tcp://0.0.0.0:5556",
                                       1, 0, err, sizeof err),
                     0);
    char *out = test_redirect_end(&r);
    assert_string_equal(out, "");
    free(out);

    /* Allowed by --insecure, with a WARN naming it. */
    test_redirect_begin(&r, 2);
    assert_int_equal(sock_check_listen("router", "--pub", "tcp://0.0.0.0:5556",
                                       0, 1, err, sizeof err),
                     0);
    out = test_redirect_end(&r);
    assert_non_null(strstr(out, "WARN router: --insecure"));
    assert_non_null(strstr(out, "tcp://0.0.0.0:5556 (--pub) in plaintext"));
    free(out);
}


/* `trim CMD --help`, stdout; fails unless it exits 0. */
static char *
help_of(const char *cmd)
{
    char line[512];
    int st;
    snprintf(line, sizeof line, "%s %s --help", test_bin(), cmd);
    char *out = test_capture(line, &st);
    assert_int_equal(st, 0);
    return out;
}


static void
test_listens_on_loopback_by_default(void **state)
{
    (void)state;
    char *out = help_of("coordinator");
    assert_non_null(strstr(out, "(default tcp://127.0.0.1:5555)"));
    assert_null(strstr(out, "0.0.0.0"));
    assert_non_null(strstr(out, "--insecure"));
    free(out);
    out = help_of("router");
    assert_non_null(strstr(out, "(default tcp://127.0.0.1:5556)"));
    assert_null(strstr(out, "0.0.0.0"));
    assert_non_null(strstr(out, "--insecure"));
    free(out);
}


/* Run `trim ARGS` in the shell with stderr captured; the exit status. */
static int
run_trim(char **out, const char *fmt, ...)
{
    char args[1024], cmd[1400];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_bin(), args);
    *out = test_capture(cmd, &st);
    return st;
}


static void
test_plaintext_beyond_loopback_is_refused(void **state)
{
    (void)state;
    char dir[256], db[320], want[128], *out;
    int port = test_free_port();

    test_scratch_dir(dir, sizeof dir, "secure");
    snprintf(db, sizeof db, "%s/trim.db", dir);
    snprintf(want, sizeof want,
             "refusing to listen on tcp://0.0.0.0:%d (--bind) in plaintext",
             port);
    assert_int_equal(run_trim(&out,
                              "coordinator --db %s --bind "
                              "tcp://0.0.0.0:%d",
                              db, port),
                     2);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "--insecure"));
    free(out);
    /* Refused before anything was opened. */
    assert_int_equal(access(db, F_OK), -1);

    /* The same from the environment twin, and for every spelling. */
    snprintf(want, sizeof want, "tcp://*:%d (--bind)", port);
    assert_int_equal(
        run_trim(&out, "coordinator --db %s --bind tcp://*:%d", db, port), 2);
    assert_non_null(strstr(out, want));
    free(out);
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd,
             "TRIM_BIND=tcp://0.0.0.0:%d %s coordinator --db %s 2>&1", port,
             test_bin(), db);
    out = test_capture(cmd, &st);
    assert_int_equal(st, 2);
    assert_non_null(strstr(out, "refusing to listen on tcp://0.0.0.0:"));
    free(out);

    /* The router's decision feed. */
    snprintf(want, sizeof want,
             "refusing to listen on tcp://0.0.0.0:%d (--pub) in plaintext",
             port);
    assert_int_equal(run_trim(&out,
                              "router --connect tcp://127.0.0.1:%d "
                              "--pub tcp://0.0.0.0:%d",
                              port, port),
                     2);
    assert_non_null(strstr(out, want));
    free(out);
    assert_int_equal(test_remove_tree(dir), 0);
}


/* Start `trim coordinator` with the extra flags; its pid (log in dir). */
static int
start_coordinator(const char *dir, const char *bind, const char *extra1,
                  const char *extra2, const char *extra3, const char *extra4)
{
    char db[320], log[320];
    snprintf(db, sizeof db, "%s/trim.db", dir);
    snprintf(log, sizeof log, "%s/coordinator.log", dir);
    char *argv[] = {(char *)test_bin(),
                    "coordinator",
                    "--db",
                    db,
                    "--bind",
                    (char *)bind,
                    (char *)extra1,
                    (char *)extra2,
                    (char *)extra3,
                    (char *)extra4,
                    NULL};
    return test_spawn(log, argv);
}


/* Wait (bounded) until `trim status` answers at endpoint with flags. */
static void
wait_answers(const char *endpoint, const char *flags)
{
    char cmd[2048];
    int st = 1;
    snprintf(cmd, sizeof cmd, "%s status --timeout-ms 500 --connect %s %s",
             test_bin(), endpoint, flags);
    for (int tries = 0; tries < 100 && st != 0; tries++)
        free(test_capture(cmd, &st));
    assert_int_equal(st, 0);
}


/*
** Move this process, and so every process it starts from now on, into a
** network namespace of its own whose only interface is loopback: a
** wildcard bound there is reachable from this machine only.  The tests
** after the caller run there too, which they can (127.0.0.1 only).
*/
static void
enter_private_network(void)
{
    int st = 1;

    if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0)
        free(test_capture("ip link set lo up 2>&1", &st));
    if (st != 0)
        test_skip("needs root and iproute2 for a network namespace of its "
                  "own, to bind a wildcard address that no host can reach");
}


static void
test_insecure_is_logged_at_every_start(void **state)
{
    (void)state;
    char dir[256], log[320], bind[64], local[64], warn[160];

    enter_private_network();
    int port = test_free_port();
    test_scratch_dir(dir, sizeof dir, "secure");
    snprintf(log, sizeof log, "%s/coordinator.log", dir);
    snprintf(bind, sizeof bind, "tcp://*:%d", port);
    snprintf(local, sizeof local, "tcp://127.0.0.1:%d", port);
    snprintf(warn, sizeof warn,
             "WARN coordinator: --insecure: listening on %s (--bind) in "
             "plaintext",
             bind);
    for (int start = 1; start <= 2; start++) {
        int pid = start_coordinator(dir, bind, "--insecure", NULL, NULL, NULL);
        wait_answers(local, "");
        test_stop_child(pid, SIGTERM);
        assert_int_equal(test_count_lines(log, warn), start);
    }

    /* With CURVE the same address needs no flag and logs no warning. */
    char cmd[2048], secret[320], clients[320], flags[1024];
    int st;
    snprintf(cmd, sizeof cmd,
             "%s keygen %s/server >/dev/null && %s keygen %s/client "
             ">/dev/null && cp %s/client.public %s/clients",
             test_bin(), dir, test_bin(), dir, dir, dir);
    free(test_capture(cmd, &st));
    assert_int_equal(st, 0);
    snprintf(secret, sizeof secret, "%s/server.secret", dir);
    snprintf(clients, sizeof clients, "%s/clients", dir);
    int pid = start_coordinator(dir, bind, "--curve-secret", secret,
                                "--curve-clients", clients);
    snprintf(flags, sizeof flags,
             "--curve-secret %s/client.secret --curve-server-key "
             "%s/server.public",
             dir, dir);
    wait_answers(local, flags);
    test_stop_child(pid, SIGTERM);
    assert_int_equal(test_count_lines(log, "--insecure"), 2);
    assert_int_equal(test_count_lines(log, "(CURVE)"), 1);

    /* The router's feed: started with --insecure, it says so. */
    char feed[64], rlog[320];
    snprintf(feed, sizeof feed, "tcp://*:%d", test_free_port());
    snprintf(rlog, sizeof rlog, "%s/router.log", dir);
    char *argv[] = {
        (char *)test_bin(), "router", "--connect", local, "--pub", feed,
        "--insecure",       NULL};
    pid = test_spawn(rlog, argv);
    snprintf(warn, sizeof warn,
             "WARN router: --insecure: listening on %s (--pub) in plaintext",
             feed);
    for (int tries = 0; tries < 200 && !test_file_contains(rlog, warn); tries++)
        cluster_pause_ms(20);
    test_stop_child(pid, SIGTERM);
    assert_true(test_file_contains(rlog, warn));
    assert_int_equal(test_remove_tree(dir), 0);
}


/* Wait (bounded) until the small pool holds n requests. */
static void
wait_small_outstanding(const cluster_t *k, int64_t n)
{
    for (int tries = 0; tries < 600; tries++) {
        json_t *st = cluster_status(k);
        json_t *small = json_object_get(json_object_get(st, "pools"), "small");
        int64_t out = jint(small, "outstanding");
        json_decref(st);
        if (out == n)
            return;
        cluster_pause_ms(20);
    }
    fail_msg("the small pool never held %lld requests", (long long)n);
}


/* Wait (bounded) until the file at path has a line containing needle. */
static void
wait_log(const char *path, const char *needle)
{
    for (int tries = 0; tries < 500; tries++) {
        if (test_file_contains(path, needle))
            return;
        cluster_pause_ms(20);
    }
    fail_msg("%s never logged '%s'", path, needle);
}


/*
** A cluster whose only small worker holds 4 calls of latency ms, to be
** stopped with drain ms to finish them.  The coordinator's liveness is
** long (10 s), so the stop is noticed through the goodbye or not at all
** within the test's bounds.
*/
static int
start_draining_cluster(cluster_t *k, const char *latency, const char *drain)
{
    const char *const coord[] = {"--liveness", "100", NULL};
    const char *const small[] = {"--drain-ms", drain, NULL};

    cluster_init(k);
    cluster_start_coordinator(k, coord);
    cluster_start_router(k, "router-1", NULL);
    int pid = cluster_start_worker(k, "small", "small-1", latency, "4", small);
    cluster_start_worker(k, "large", "large-1", "0", "16", NULL);
    cluster_start_worker(k, "prm", "prm-1", "0", "16", NULL);
    cluster_wait_pools(k, 1, 1, 1, 1);
    cluster_submit_sim(k, 4, 7, "thr:0.5");
    wait_small_outstanding(k, 4);
    return pid;
}


static void
test_sigterm_finishes_calls_in_flight(void **state)
{
    (void)state;
    cluster_t k;
    char clog[400], wlog[400];

    int small = start_draining_cluster(&k, "1500", "60000");
    cluster_path(&k, "coordinator.log", clog, sizeof clog);
    cluster_path(&k, "small-1.log", wlog, sizeof wlog);
    assert_int_equal(cluster_signal(&k, small, SIGTERM), 0);
    assert_true(
        test_file_contains(wlog, "asked to stop: finishing 4 calls in flight"));
    /* (Requests for the next steps may have reached it while it drained:
    ** left unstarted, they are requeued too, so their count varies.) */
    wait_log(clog, "dropped small peer small-1 (it disconnected: worker "
                   "stopping: 0 calls unfinished after the drain");

    /* The drafts it finished were accepted: step 0 of every problem.  The
    ** coordinator still runs, and its writer commits every batch_ms, not
    ** when a problem ends: the rows are read once committed. */
    cluster_start_worker(&k, "small", "small-2", "0", "4", NULL);
    cluster_wait_finished(&k, 4);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    int64_t drafts = 0;
    for (int tries = 0; tries < 500 && drafts < 4; tries++) {
        if (tries > 0)
            cluster_pause_ms(20);
        drafts = sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                            "worker='small-1' AND step_index=0 AND "
                            "kind='draft'");
    }
    assert_int_equal(drafts, 4);
    sqlite3_close(h);

    /* A router says goodbye too. */
    assert_int_equal(cluster_signal(&k, k.routers[0], SIGTERM), 0);
    wait_log(clog, "dropped router peer router-1 (it disconnected: router "
                   "stopping)");
    cluster_stop(&k);
    assert_int_equal(test_remove_tree(k.dir), 0);
}


static void
test_sigterm_hands_back_unfinished_calls(void **state)
{
    (void)state;
    cluster_t k;
    char clog[400], wlog[400];

    int small = start_draining_cluster(&k, "60000", "300");
    cluster_path(&k, "coordinator.log", clog, sizeof clog);
    cluster_path(&k, "small-1.log", wlog, sizeof wlog);
    assert_int_equal(cluster_signal(&k, small, SIGTERM), 0);
    wait_log(clog, "dropped small peer small-1 (it disconnected: worker "
                   "stopping: 4 calls unfinished after the drain, 0 "
                   "requests not started); requeued 4");
    assert_true(test_file_contains(wlog, "4 calls unfinished"));

    /* Requeued, so another worker finishes them. */
    cluster_start_worker(&k, "small", "small-2", "0", "4", NULL);
    cluster_wait_finished(&k, 4);
    cluster_stop(&k);
    assert_int_equal(test_remove_tree(k.dir), 0);
}


/* Wait (bounded) until the file at path exists. */
static void
wait_file(const char *path)
{
    for (int tries = 0; tries < 500 && access(path, F_OK) != 0; tries++)
        cluster_pause_ms(20);
    assert_int_equal(access(path, F_OK), 0);
}


/*
** --health-file is touched only while the coordinator is heard: not by a
** worker whose coordinator is not there (it gives up on it and
** reconnects), then by it and by a router once the coordinator answers.
*/
static void
test_health_file_only_while_heard(void **state)
{
    (void)state;
    cluster_t k;
    char wfile[400], rfile[400], wlog[400];

    cluster_init(&k);
    cluster_path(&k, "small-1.health", wfile, sizeof wfile);
    cluster_path(&k, "router-1.health", rfile, sizeof rfile);
    cluster_path(&k, "small-1.log", wlog, sizeof wlog);
    const char *const small[] = {"--health-file", wfile, NULL};
    const char *const router[] = {"--health-file", rfile, NULL};
    cluster_start_worker(&k, "small", "small-1", "0", "4", small);
    wait_log(wlog, "coordinator silent");
    assert_int_not_equal(access(wfile, F_OK), 0);

    cluster_start_coordinator(&k, NULL);
    cluster_start_router(&k, "router-1", router);
    wait_file(wfile);
    wait_file(rfile);
    cluster_stop(&k);
    assert_int_equal(test_remove_tree(k.dir), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_endpoints),
        cmocka_unit_test(test_check_listen),
        cmocka_unit_test(test_listens_on_loopback_by_default),
        cmocka_unit_test(test_plaintext_beyond_loopback_is_refused),
        cmocka_unit_test(test_insecure_is_logged_at_every_start),
        cmocka_unit_test(test_sigterm_finishes_calls_in_flight),
        cmocka_unit_test(test_sigterm_hands_back_unfinished_calls),
        cmocka_unit_test(test_health_file_only_while_heard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
