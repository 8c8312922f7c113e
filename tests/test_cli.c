/*
** test_cli.c: the trim command's surface, through the binary.
**
** Dispatch, --help and --version; the client commands against an address
** where nothing answers (bounded by their --timeout-ms); `trim status` in
** text beside its --json, with `trim wait` on a run that does not finish
** and submissions the coordinator refuses, against a live coordinator;
** `trim audit`'s trace of a POMDP run, a failed problem and a cut PRM
** context; `trim run`'s progress bar on a terminal.  Each command's --help,
** argument checks and start-up failures are test_cli_args.c's.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "testutil.h"

static char g_dir[64]; /* scratch directory; commands run inside it */


static int
setup(void **state)
{
    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "cli");
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


/* Run `trim ARGS` in the scratch directory (testutil.h). */
#define trim(out, err, ...) test_trim_in(g_dir, out, err, __VA_ARGS__)


/* Run it and check the exit code and that stderr holds message. */
static void
expect(int code, const char *message, const char *fmt, ...)
{
    char args[1024], *out, *err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = trim(&out, &err, "%s", args);
    if (rc != code || strstr(err, message) == NULL)
        fail_msg("trim %s: exit %d, stderr '%s'; want %d and '%s'", args, rc,
                 err, code, message);
    free(out);
    free(err);
}


static void
test_dispatch(void **state)
{
    (void)state;
    char *out, *err;

    assert_int_equal(trim(&out, &err, "%s", ""), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "usage: trim COMMAND [FLAGS]\n"));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "--help"), 0);
    assert_non_null(strstr(out, "usage: trim COMMAND [FLAGS]\n"));
    assert_non_null(strstr(out, "\n  run          solve problems"));
    assert_string_equal(err, "");
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "--version"), 0);
    assert_int_equal(strncmp(out, "trim ", 5), 0);
    assert_true(out[5] >= '0' && out[5] <= '9');
    free(out);
    free(err);
    expect(2, "trim: unknown command 'nosuch' (see 'trim --help')\n",
           "nosuch --help");
}


/* Nothing listens at the address: each client gives up at its connect
** timeout (status at its only one) and says there is no coordinator. */
static void
test_clients_without_coordinator(void **state)
{
    (void)state;
    char ep[64], want[256];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", test_free_port());

    expect(1, "trim status: no answer from",
           "status --connect %s "
           "--timeout-ms 200",
           ep);
    /* wait would otherwise wait for ever (--timeout-ms 0) */
    snprintf(want, sizeof want,
             "trim wait: no coordinator at %s (no answer within 200 ms; ", ep);
    expect(1, want, "wait --connect %s --connect-timeout-ms 200", ep);
    snprintf(want, sizeof want,
             "trim submit: no coordinator at %s (no answer within 200 ms; ",
             ep);
    expect(1, want, "submit --sim 3 --connect %s --connect-timeout-ms 200", ep);
    snprintf(want, sizeof want,
             "trim watch: no router feed at %s (nothing accepted a "
             "connection within 200 ms; ",
             ep);
    expect(1, want, "watch --feed %s --connect-timeout-ms 200", ep);
}


static int64_t
jint(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}


/* `trim status` in text says what --json says; `trim wait` on a run that
** cannot finish (no workers) gives up at its timeout. */
static void
test_status_and_wait(void **state)
{
    (void)state;
    char ep[64], db[128], log[128], *out, *err, want[256];

    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", test_free_port());
    snprintf(db, sizeof db, "%s/c.db", g_dir);
    snprintf(log, sizeof log, "%s/coordinator.log", g_dir);
    char *argv[] = {(char *)test_bin(), "coordinator", "--bind", ep, "--db", db,
                    "--max-queued",     "77",          NULL};
    int coord = test_spawn(log, argv);

    /* No run yet: wait says so (after the coordinator is up). */
    expect(1, "trim wait: the coordinator has no run yet",
           "wait --connect %s --timeout-ms 60000 --connect-timeout-ms 60000",
           ep);
    assert_int_equal(trim(&out, &err,
                          "submit --sim 3 --seed 2 --policy thr:0.4 "
                          "--connect %s",
                          ep),
                     0);
    assert_non_null(strstr(out, "run 1: 3 problems recorded (ids 1-3)"));
    free(out);
    free(err);
    expect(1, "trim wait: run 1 not finished within 300 ms",
           "wait --connect %s --run 1 --timeout-ms 300", ep);
    /* Once the coordinator answered, wait waits past the connect timeout. */
    expect(1, "trim wait: run 1 not finished within 2500 ms",
           "wait --connect %s --run 1 --timeout-ms 2500 --connect-timeout-ms "
           "2000",
           ep);
    expect(1, "trim wait: no run 9 on this coordinator",
           "wait --connect %s --run 9 --timeout-ms 60000", ep);
    /* A second coordinator cannot take the address, nor a router's feed. */
    snprintf(want, sizeof want,
             "trim coordinator: cannot bind %s: Address already in use", ep);
    expect(1, want, "coordinator --bind %s --db other.db", ep);
    snprintf(want, sizeof want,
             "trim router: cannot bind decision feed %s: Address already in "
             "use",
             ep);
    expect(1, want, "router --connect %s --pub %s", ep, ep);

    assert_int_equal(trim(&out, &err, "status --json --connect %s", ep), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "status --connect %s", ep), 0);
    snprintf(want, sizeof want, "coordinator %s\n", ep);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want,
             "  queue %lld (limit 77), in flight %lld, finished 0, failed 0, ",
             (long long)jint(j, "queued"), (long long)jint(j, "in_flight"));
    assert_non_null(strstr(out, want));
    assert_int_equal(jint(j, "queued") + jint(j, "in_flight"), 3);
    assert_non_null(strstr(out, "\n  pool     peers   credit  outstanding"
                                "   queued  cache hit same peer\n"));
    json_t *pools = json_object_get(j, "pools");
    const char *name;
    json_t *pool;
    json_object_foreach(pools, name, pool)
    {
        /* No worker has answered: no cache hit ratio, no repeat. */
        snprintf(want, sizeof want,
                 "\n  %-7s %6lld %8lld %12lld %8lld %10s %9s\n", name,
                 (long long)jint(pool, "peers"),
                 (long long)jint(pool, "credit"),
                 (long long)jint(pool, "outstanding"),
                 (long long)jint(pool, "queued"), "-", "-");
        if (strstr(out, want) == NULL)
            fail_msg("no row '%s' in:\n%s", want + 1, out);
    }
    /* No prompt token in any pool yet: no hit ratio for the run. */
    assert_non_null(strstr(out, "\n  1     thr:0.4              3         0 "
                                "      0         0     0.000    no       "
                                "-/-/-\n"));
    json_decref(j);
    free(out);
    free(err);

    /* A file of bad lines only: each is named, then the file. */
    snprintf(want, sizeof want, "%s/bad.jsonl", g_dir);
    test_write_file(want, "not json\n{\"x\": 1}\n");
    expect(1,
           "bad.jsonl:1: not a JSON object (invalid token near 'not'); "
           "skipped\nbad.jsonl:2: no problem text",
           "submit bad.jsonl --connect %s", ep);
    expect(1,
           "trim submit: no problem in bad.jsonl (2 lines skipped, see "
           "above)\n",
           "submit bad.jsonl --connect %s", ep);
    /* Submissions the coordinator refuses: nothing is recorded. */
    expect(1, "trim submit: refused: no run 9 on this coordinator",
           "submit --sim 3 --run 9 --connect %s", ep);
    /* A policy that cannot parse is a usage error, before connecting. */
    expect(2, "trim submit: --policy: unknown policy 'nope:1'",
           "submit --sim 3 --policy nope:1 --connect %s", ep);
    /* In chunks of 50 with room for 74 more: the first is recorded, the
    ** second refused, and the command says what went in. */
    expect(1,
           "trim submit: refused: queue full: 53 problems waiting or in "
           "flight, 50 more would pass the limit of 77; retry later\n"
           "trim submit: 50 problems were recorded in run 2 before that "
           "(ids 4-53)\n",
           "submit --sim 100 --chunk 50 --connect %s", ep);

    kill(coord, SIGTERM);
    assert_int_equal(test_wait_child(coord, 30000), 0);
}


/*
** `trim audit` of a TRIM-POMDP run shows each decision's belief; a failed
** problem shows its error, and a draft whose PRM context was cut says how
** many steps the PRM did not see (the failure and the cut are written
** into the store by hand: the simulator never produces them).
*/
static void
test_audit_trace(void **state)
{
    (void)state;
    char db[128], *out, *err;
    sqlite3 *h;

    snprintf(db, sizeof db, "%s/audit.db", g_dir);
    assert_int_equal(trim(&out, &err,
                          "run --policy pomdp:0.001 --problems 3 --db "
                          "audit.db --no-progress"),
                     0);
    free(out);
    free(err);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE problems SET status = 'failed', "
                                  "error = 'PRM failed 3 times at step 1' "
                                  "WHERE problem_id = 2; UPDATE steps SET "
                                  "prm_padded = 2 WHERE problem_id = 2 AND "
                                  "step_index = 1 AND kind = 'draft'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);

    assert_int_equal(trim(&out, &err, "audit --db audit.db 1"), 0);
    assert_non_null(strstr(out, "policy pomdp:0.001  p=1.000  belief ["));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "audit --db audit.db 2"), 0);
    assert_non_null(strstr(out, "status failed  key -\n"));
    assert_non_null(strstr(out, "the PRM's context was full: it did not see "
                                "the first 2 steps (scored 1.0)\n"));
    assert_non_null(strstr(out, "\nfailed: PRM failed 3 times at step 1\n"));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "audit --db audit.db"), 0);
    assert_non_null(strstr(out, "\n2       1    2     pomdp:0.001    failed "));
    free(out);
    free(err);
    expect(1, "trim audit: no problem 99 in audit.db",
           "audit --db audit.db 99");
}


/*
** `trim run` draws its progress line in place on a terminal (script(1)
** gives it one), with a bar, ended by a newline once every problem is
** done; --no-progress gets none (a pipe gets a line every 5 s, which
** test_progress checks on its own clock).
*/
static void
test_progress_bar_on_a_terminal(void **state)
{
    (void)state;
    char cmd[1024], bar[64];
    int st;

    memset(bar, '#', 24);
    snprintf(bar + 24, sizeof bar - 24, "] 20/20 problems, done in ");
    snprintf(cmd, sizeof cmd,
             "cd %s && script -qec '%s run --problems 20 --db tty.db' "
             "/dev/null",
             g_dir, test_bin());
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    char *last = strstr(out, bar);
    if (last == NULL || strncmp(out, "\rtrim run: [", 12) != 0)
        fail_msg("no progress bar in: %s", out);
    assert_non_null(strstr(last, "\033[K\r\nrun 1 "));
    free(out);

    snprintf(cmd, sizeof cmd,
             "cd %s && script -qec '%s run --problems 5 --db tty2.db "
             "--no-progress' /dev/null",
             g_dir, test_bin());
    out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    assert_null(strstr(out, "\rtrim run: ["));
    assert_int_equal(strncmp(out, "run 1 ", 6), 0);
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clients_without_coordinator, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_and_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_bar_on_a_terminal, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
