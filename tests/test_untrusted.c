/*
** test_untrusted.c: what users, peers and models send that trim must refuse
** out loud or print safely (issue 11, points 4 and 6).
**
** Against a live coordinator over TCP: a Submit over a field limit gets a
** SubmitAck naming the problem, a frame of another protocol version a
** Disconnect with the reason, a WaitRequest for run 0 the newest run;
** `trim submit` reports a line over a limit as FILE:LINE and records the
** rest, and sends a chunk early rather than past the frame limit.  `trim
** audit` and the coordinator's log print text with its control characters
** escaped.
*/
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

#define REPLY_MS 20000 /* bound on any answer the coordinator owes */

static cluster_t g_k;


static int
setup(void **state)
{
    (void)state;
    cluster_init(&g_k);
    cluster_start_one_each(&g_k, NULL, "0", "16");
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    cluster_stop(&g_k);
    return 0;
}


/* A DEALER connected to the coordinator, as a foreign client would be. */
static void *
dealer(void *zctx)
{
    char err[256];
    void *s = sock_new(zctx, ZMQ_DEALER, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(zmq_connect(s, g_k.endpoint), 0);
    return s;
}


/* The next frame from the coordinator, unpacked; fails after REPLY_MS. */
static Trim__Envelope *
next_reply(void *s)
{
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    char err[256];

    for (;;) {
        if (zmq_poll(&item, 1, REPLY_MS) != 1)
            fail_msg("no answer from the coordinator within %d ms", REPLY_MS);
        zmq_msg_t msg;
        int extra;
        assert_int_equal(sock_recv(s, 0, NULL, NULL, &msg, &extra), 1);
        Trim__Envelope *env =
            env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
        zmq_msg_close(&msg);
        if (env == NULL)
            fail_msg("a bad frame from the coordinator: %s", err);
        if (env->body_case != TRIM__ENVELOPE__BODY_HEARTBEAT)
            return env;
        env_destroy(&env);
    }
}


/* A string of n copies of c (malloc'd). */
static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}


/*
** One problem over the text limit sinks its Submit, and the client hears
** which one at once instead of waiting on silence; so does a Submit past
** the frame limit.  Nothing is recorded.
*/
static void
test_invalid_submit_is_answered(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new(), *s = dealer(zctx);
    char *big = repeat('x', TRIM_MAX_TEXT + 1);
    Trim__ProblemSpec ok = TRIM__PROBLEM_SPEC__INIT, bad = ok;
    Trim__ProblemSpec *ps[3] = {&ok, &bad, &ok};
    Trim__Submit sub = TRIM__SUBMIT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    ok.text = "What is 1+1?";
    bad.text = big;
    bad.source = "set.jsonl:2";
    sub.request_id = 77;
    sub.policy = "thr:0.5";
    sub.n_problems = 3;
    sub.problems = ps;
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    assert_int_equal(sock_send_env(s, NULL, 0, &env), 0);
    Trim__Envelope *reply = next_reply(s);
    assert_int_equal(reply->body_case, TRIM__ENVELOPE__BODY_SUBMIT_ACK);
    assert_int_equal(reply->submit_ack->request_id, 77);
    assert_int_equal(reply->submit_ack->n_problem_ids, 0);
    assert_string_equal(reply->submit_ack->error,
                        "invalid Submit, nothing recorded: problems[1]: text "
                        "of 65537 bytes (limit 65536)");
    env_destroy(&reply);

    /* An empty problem is refused the same way, by its index. */
    bad.text = "";
    sub.request_id = 76;
    assert_int_equal(sock_send_env(s, NULL, 0, &env), 0);
    reply = next_reply(s);
    assert_int_equal(reply->body_case, TRIM__ENVELOPE__BODY_SUBMIT_ACK);
    assert_string_equal(reply->submit_ack->error,
                        "invalid Submit, nothing recorded: problems[1]: "
                        "empty text");
    env_destroy(&reply);

    /* A Submit past the frame limit (but under libzmq's cut-off) too. */
    Trim__ProblemSpec *many[150];
    char *text = repeat('z', 60000);
    for (size_t i = 0; i < 150; i++)
        many[i] = &ok;
    ok.text = text;
    sub.request_id = 78;
    sub.n_problems = 150;
    sub.problems = many;
    size_t n = trim__envelope__get_packed_size(&env);
    uint8_t *frame = malloc(n);
    assert_non_null(frame);
    env.version = TRIM_PROTOCOL_VERSION;
    trim__envelope__pack(&env, frame);
    assert_int_equal(zmq_send(s, frame, n, 0), (int)n);
    free(frame);
    free(text);
    reply = next_reply(s);
    assert_int_equal(reply->body_case, TRIM__ENVELOPE__BODY_SUBMIT_ACK);
    assert_int_equal(reply->submit_ack->request_id, 78);
    char want[160];
    snprintf(want, sizeof want,
             "invalid Submit, nothing recorded: message of %zu bytes (limit "
             "%d)",
             n, TRIM_MAX_MESSAGE);
    assert_string_equal(reply->submit_ack->error, want);
    env_destroy(&reply);

    json_t *st = cluster_status(&g_k);
    assert_non_null(st);
    assert_int_equal(json_array_size(json_object_get(st, "runs")), 0);
    json_decref(st);
    free(big);
    sock_destroy(&s);
    zmq_ctx_term(zctx);
}


/*
** A peer of another protocol version is told why, with shutdown set (a
** reconnect would be refused again); a client of trim's own shows it.
*/
static void
test_other_version_gets_disconnect(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new(), *s = dealer(zctx);
    Trim__Ready ready = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    uint8_t buf[64];

    ready.role = TRIM__ROLE__ROLE_SMALL;
    ready.credit = 4;
    ready.name = "future-worker";
    env.version = TRIM_PROTOCOL_VERSION + 1;
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    size_t n = trim__envelope__pack(&env, buf);
    assert_int_equal(zmq_send(s, buf, n, 0), (int)n);
    Trim__Envelope *reply = next_reply(s);
    assert_int_equal(reply->body_case, TRIM__ENVELOPE__BODY_DISCONNECT);
    char want[128];
    snprintf(want, sizeof want, "protocol version %d, expected %d",
             TRIM_PROTOCOL_VERSION + 1, TRIM_PROTOCOL_VERSION);
    assert_string_equal(reply->disconnect->reason, want);
    assert_true(reply->disconnect->shutdown);
    env_destroy(&reply);
    sock_destroy(&s);
    zmq_ctx_term(zctx);
}


/* WaitRequest run_id 0 waits for the newest run, and says which it was. */
static void
test_wait_for_run_zero_is_the_newest(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new(), *s = dealer(zctx);
    Trim__WaitRequest w = TRIM__WAIT_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    cluster_submit_sim(&g_k, 2, 1, "thr:0.5");
    int64_t run = cluster_submit_sim(&g_k, 3, 2, "thr:0.5");
    w.request_id = 9;
    env.body_case = TRIM__ENVELOPE__BODY_WAIT_REQUEST;
    env.wait_request = &w;
    assert_int_equal(sock_send_env(s, NULL, 0, &env), 0);
    Trim__Envelope *reply = next_reply(s);
    assert_int_equal(reply->body_case, TRIM__ENVELOPE__BODY_WAIT_REPLY);
    assert_string_equal(reply->wait_reply->error, "");
    assert_non_null(reply->wait_reply->run);
    assert_int_equal(reply->wait_reply->run->run_id, run);
    assert_int_equal(reply->wait_reply->run->problems, 3);
    assert_int_equal(reply->wait_reply->run->finished, 3);
    env_destroy(&reply);
    sock_destroy(&s);
    zmq_ctx_term(zctx);
}


/* A problem the simulator generated (`trim sim-problems --seed 7`): the
** cluster's workers refuse any other text at Submit. */
#define SIM_TEXT                                                               \
    "Kofi has 105 shells. He gives away 37 shells. After that, his "           \
    "collection of shells grows to 3 times its size. After that, he splits "   \
    "his shells into 2 equal piles and keeps one pile. Then he divides his "   \
    "shells equally into 2 packs and keeps one of them. After that, he "       \
    "gives away 17 shells. How many shells does Kofi have now?"


/* `trim submit --json FILE` in the cluster's directory: exit code, stdout. */
static char *
submit_file(const char *file, const char *errlog, int *status)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "%s submit --json --timeout-ms 20000 --connect %s %s 2>%s",
             test_bin(), g_k.endpoint, file, errlog);
    return test_capture(cmd, status);
}


/*
** Lines over a limit (one of 70,000 bytes, one of 10 MB, an answer over
** the limit) are reported by FILE:LINE and skipped; the other lines of the
** same chunk are recorded.
*/
static void
test_submit_skips_lines_over_a_limit(void **state)
{
    (void)state;
    char file[400], errlog[400], want[600];
    char *mid = repeat('x', 70000), *huge = repeat('y', 10 << 20);
    int st;

    cluster_path(&g_k, "limits.jsonl", file, sizeof file);
    cluster_path(&g_k, "limits.err", errlog, sizeof errlog);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"id\":\"a\",\"problem\":\"" SIM_TEXT "\",\"answer\":\"34\"}\n"
            "{\"id\":\"b\",\"problem\":\"%s\",\"answer\":\"2\"}\n"
            "{\"id\":\"c\",\"problem\":\"" SIM_TEXT "\",\"answer\":\"34\"}\n"
            "{\"id\":\"d\",\"problem\":\"%s\",\"answer\":\"2\"}\n"
            "{\"id\":\"e\",\"problem\":\"" SIM_TEXT "\",\"answer\":\"%s\"}\n"
            "{\"id\":\"f\",\"problem\":\"" SIM_TEXT "\",\"answer\":\"34\"}\n",
            mid, huge, mid);
    fclose(f);
    free(mid);
    free(huge);
    char *out = submit_file(file, errlog, &st);
    json_t *j = json_loads(out, 0, NULL);
    if (st != 0 || j == NULL)
        fail_msg("trim submit: exit %d, stdout '%s'", st, out);
    assert_int_equal(jint(j, "problems"), 3);
    assert_int_equal(jint(j, "skipped_lines"), 3);
    json_decref(j);
    free(out);
    snprintf(want, sizeof want,
             "%s:2: text of 70000 bytes (limit 65536); skipped", file);
    assert_true(test_file_contains(errlog, want));
    snprintf(want, sizeof want,
             "%s:4: text of 10485760 bytes (limit 65536); skipped", file);
    assert_true(test_file_contains(errlog, want));
    snprintf(want, sizeof want,
             "%s:5: ground_truth of 70000 bytes (limit 65536); skipped", file);
    assert_true(test_file_contains(errlog, want));
}


/*
** 150 problems of 60,000 bytes are 9 MB, past the 8 MiB frame limit in
** one chunk of 1000: the command sends a chunk early, and all are recorded.
*/
static void
test_submit_chunks_fit_the_frame(void **state)
{
    (void)state;
    char file[400], errlog[400];
    char *text = repeat(' ', 60000); /* after the question: still one */
    int st;

    cluster_path(&g_k, "big.jsonl", file, sizeof file);
    cluster_path(&g_k, "big.err", errlog, sizeof errlog);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (int i = 0; i < 150; i++)
        fprintf(f, "{\"id\":\"%d\",\"problem\":\"%s%s\",\"answer\":\"1\"}\n", i,
                SIM_TEXT, text);
    fclose(f);
    free(text);
    char *out = submit_file(file, errlog, &st);
    json_t *j = json_loads(out, 0, NULL);
    if (st != 0 || j == NULL)
        fail_msg("trim submit: exit %d, stdout '%s'", st, out);
    assert_int_equal(jint(j, "problems"), 150);
    assert_int_equal(jint(j, "skipped_lines"), 0);
    json_decref(j);
    free(out);
}


/*
** A problem, a step and a reason holding ESC, BEL, CR, other C0, DEL and
** C1 print escaped in `trim audit`; the UTF-8 around them is kept.
*/
static void
test_audit_escapes_control_characters(void **state)
{
    (void)state;
    char db[400], cmd[1000];
    sqlite3 *h;
    int st;

    cluster_path(&g_k, "audit.db", db, sizeof db);
    snprintf(cmd, sizeof cmd,
             "%s run --policy thr:0.5 --problems 1 --db %s --no-progress",
             test_bin(), db);
    free(test_capture(cmd, &st));
    assert_int_equal(st, 0);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "UPDATE problems SET text = 'Solve \xcf\x80' || "
                     "char(27) || '[2J' || char(7) || char(13) || 'x' || "
                     "char(1) || char(127) || char(155) || 'y', "
                     "final_answer = 'ok' || char(27) || ']0;t' || char(7), "
                     "source = 's' || char(13); "
                     "UPDATE steps SET text = 'step' || char(27) || '[1A' || "
                     "char(10) || 'next', reason = 'why' || char(8) "
                     "WHERE step_index = 0",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    snprintf(cmd, sizeof cmd, "%s audit --db %s 1", test_bin(), db);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    if (strpbrk(out, "\x1b\a\r\x01\x7f\x08") != NULL ||
        strstr(out, "\xc2\x9b") != NULL)
        fail_msg("a raw control character in:\n%s", out);
    assert_non_null(
        strstr(out, "Solve \xcf\x80\\x1b[2J\\x07\\rx\\x01\\x7f\\u009by\n"));
    assert_non_null(strstr(out, "source s\\r "));
    assert_non_null(strstr(out, "step\\x1b[1A\n             next\n"));
    assert_non_null(strstr(out, "why\\x08\n"));
    assert_non_null(strstr(out, "final answer ok\\x1b]0;t\\x07 "));
    free(out);
    snprintf(cmd, sizeof cmd, "%s audit --db %s", test_bin(), db);
    out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, " ok\\x1b]0;t\\x07\n"));
    free(out);
}


/* Peer names reach the coordinator's log escaped. */
static void
test_log_escapes_peer_names(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new(), *s = dealer(zctx);
    Trim__Ready ready = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    char log[400];

    ready.role = TRIM__ROLE__ROLE_PRM;
    ready.credit = 1;
    ready.name = "evil\x1b[2J\r";
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    assert_int_equal(sock_send_env(s, NULL, 0, &env), 0);
    /* The coordinator answers a Ready after logging the join. */
    assert_int_equal(zmq_poll(&item, 1, REPLY_MS), 1);
    cluster_path(&g_k, "coordinator.log", log, sizeof log);
    assert_true(test_file_contains(log, "prm peer evil\\x1b[2J\\r joined"));
    assert_false(test_file_contains(log, "\x1b"));
    sock_destroy(&s);
    zmq_ctx_term(zctx);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_submit_is_answered),
        cmocka_unit_test(test_other_version_gets_disconnect),
        cmocka_unit_test(test_wait_for_run_zero_is_the_newest),
        cmocka_unit_test(test_submit_skips_lines_over_a_limit),
        cmocka_unit_test(test_submit_chunks_fit_the_frame),
        cmocka_unit_test(test_audit_escapes_control_characters),
        cmocka_unit_test(test_log_escapes_peer_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
