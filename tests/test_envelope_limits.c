/*
** test_envelope_limits.c: every message body's limits on the wire.
**
** A peer may send anything; env_unpack refuses a message that breaks a
** limit of its body (text lengths, steps in a history, batch and
** submission sizes, scores, beliefs) with a reason naming the field, and
** accepts the same message within the limit.  test_envelope.c covers the
** round trip, garbage, the version and the frame cap.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"

static char *g_long;       /* TRIM_MAX_TEXT + 1 bytes of 'x' */
static char g_name[200];   /* TRIM_MAX_NAME + 1 bytes of 'n' */
static char g_source[600]; /* TRIM_MAX_NAME * 4 + 1 bytes of 's' */


static int
setup(void **state)
{
    (void)state;
    g_long = malloc(TRIM_MAX_TEXT + 2);
    if (g_long == NULL)
        return -1;
    memset(g_long, 'x', TRIM_MAX_TEXT + 1);
    g_long[TRIM_MAX_TEXT + 1] = '\0';
    memset(g_name, 'n', TRIM_MAX_NAME + 1);
    memset(g_source, 's', TRIM_MAX_NAME * 4 + 1);
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    free(g_long);
    return 0;
}


/* Pack env and unpack it: NULL with err filled, or the message (freed). */
static int
accepted(Trim__Envelope *env, char *err, size_t errlen)
{
    env->version = TRIM_PROTOCOL_VERSION;
    size_t n = trim__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    trim__envelope__pack(env, buf);
    err[0] = '\0';
    Trim__Envelope *out = env_unpack(buf, n, err, errlen);
    free(buf);
    int ok = out != NULL;
    env_destroy(&out);
    return ok;
}


static void
refused(Trim__Envelope *env, const char *want)
{
    char err[256];
    if (accepted(env, err, sizeof err) || strcmp(err, want) != 0)
        fail_msg("got '%s', want '%s'", err, want);
}


static void
test_peer_messages(void **state)
{
    (void)state;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    Trim__Ready ready = TRIM__READY__INIT;
    Trim__Disconnect bye = TRIM__DISCONNECT__INIT;
    char err[256];

    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    ready.name = g_name;
    refused(&env, "name longer than 128 bytes");
    ready.name = "w";
    ready.backend = g_long;
    refused(&env, "backend longer than 65536 bytes");
    ready.backend = "sim";
    assert_true(accepted(&env, err, sizeof err));

    env.body_case = TRIM__ENVELOPE__BODY_DISCONNECT;
    env.disconnect = &bye;
    bye.reason = g_long;
    refused(&env, "reason longer than 65536 bytes");
}


static void
test_requests(void **state)
{
    (void)state;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    Trim__Key key = TRIM__KEY__INIT;
    Trim__GenerateStep g = TRIM__GENERATE_STEP__INIT;
    Trim__GenerateStep *gs[1] = {&g};
    Trim__GenerateBatch gb = TRIM__GENERATE_BATCH__INIT;
    Trim__ScoreSteps sc = TRIM__SCORE_STEPS__INIT;
    Trim__ScoreSteps *scs[1] = {&sc};
    Trim__ScoreBatch sb = TRIM__SCORE_BATCH__INIT;
    char *steps[TRIM_MAX_STEPS + 1], err[256];

    for (int i = 0; i <= TRIM_MAX_STEPS; i++)
        steps[i] = "s";
    env.body_case = TRIM__ENVELOPE__BODY_GENERATE;
    env.generate = &gb;
    gb.n_items = 1;
    gb.items = gs;
    refused(&env, "request without a key");
    g.key = &key;
    g.problem = "p";
    g.n_steps = TRIM_MAX_STEPS + 1;
    g.steps = steps;
    refused(&env, "257 steps in one history (limit 256)");
    g.n_steps = TRIM_MAX_STEPS;
    assert_true(accepted(&env, err, sizeof err));
    steps[7] = g_long;
    refused(&env, "step longer than 65536 bytes");
    steps[7] = "s";

    /* A batch one over the limit, of the same request. */
    Trim__GenerateStep **many = malloc((TRIM_MAX_BATCH + 1) * sizeof *many);
    assert_non_null(many);
    for (int i = 0; i <= TRIM_MAX_BATCH; i++)
        many[i] = &g;
    g.n_steps = 0;
    gb.items = many;
    gb.n_items = TRIM_MAX_BATCH + 1;
    refused(&env, "batch of 4097 items (limit 4096)");
    gb.n_items = TRIM_MAX_BATCH;
    assert_true(accepted(&env, err, sizeof err));
    free(many);

    env.body_case = TRIM__ENVELOPE__BODY_SCORE;
    env.score = &sb;
    sb.n_items = 1;
    sb.items = scs;
    sc.key = &key;
    sc.problem = g_long;
    refused(&env, "problem longer than 65536 bytes");
}


static void
test_replies(void **state)
{
    (void)state;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    Trim__Key key = TRIM__KEY__INIT;
    Trim__StepScores ss = TRIM__STEP_SCORES__INIT;
    Trim__StepScores *sss[1] = {&ss};
    Trim__StepScoresBatch ssb = TRIM__STEP_SCORES_BATCH__INIT;
    Trim__ScoredStep r = TRIM__SCORED_STEP__INIT;
    Trim__ScoredStep *rs[1] = {&r};
    Trim__RouteBatch rb = TRIM__ROUTE_BATCH__INIT;
    Trim__RouteDecision d = TRIM__ROUTE_DECISION__INIT;
    Trim__RouteDecision *ds[1] = {&d};
    Trim__DecisionBatch db = TRIM__DECISION_BATCH__INIT;
    float values[TRIM_MAX_STEPS + 1] = {0};
    char err[256];

    env.body_case = TRIM__ENVELOPE__BODY_STEP_SCORES;
    env.step_scores = &ssb;
    ssb.n_items = 1;
    ssb.items = sss;
    ss.key = &key;
    ss.n_scores = TRIM_MAX_STEPS + 1;
    ss.scores = values;
    refused(&env, "257 scores (limit 256)");
    ss.n_scores = 3;
    ss.error = g_long;
    refused(&env, "error longer than 65536 bytes");

    env.body_case = TRIM__ENVELOPE__BODY_ROUTE;
    env.route = &rb;
    rb.n_items = 1;
    rb.items = rs;
    r.key = &key;
    r.policy = g_name;
    refused(&env, "policy longer than 128 bytes");
    r.policy = "thr:0.5";
    r.n_belief = 17;
    r.belief = values;
    refused(&env, "belief of 17 values (limit 16)");
    r.n_belief = 16;
    assert_true(accepted(&env, err, sizeof err));

    env.body_case = TRIM__ENVELOPE__BODY_DECISIONS;
    env.decisions = &db;
    db.n_items = 1;
    db.items = ds;
    d.key = &key;
    d.n_belief = 17;
    d.belief = values;
    refused(&env, "belief of 17 values (limit 16)");
    d.n_belief = 0;
    d.reason = g_long;
    refused(&env, "reason longer than 65536 bytes");
}


static void
test_client_messages(void **state)
{
    (void)state;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    Trim__Submit sub = TRIM__SUBMIT__INIT;
    Trim__ProblemSpec p = TRIM__PROBLEM_SPEC__INIT;
    Trim__SubmitAck ack = TRIM__SUBMIT_ACK__INIT;
    Trim__WaitReply wr = TRIM__WAIT_REPLY__INIT;
    char err[256];

    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    sub.config = g_long;
    refused(&env, "config longer than 65536 bytes");
    sub.config = "{}";
    Trim__ProblemSpec **many = malloc((TRIM_MAX_BATCH + 1) * sizeof *many);
    assert_non_null(many);
    for (int i = 0; i <= TRIM_MAX_BATCH; i++)
        many[i] = &p;
    sub.problems = many;
    sub.n_problems = TRIM_MAX_BATCH + 1;
    refused(&env, "4097 problems in one submission (limit 4096)");
    sub.n_problems = 1;
    p.source = g_source;
    refused(&env, "source longer than 512 bytes");
    p.source = "x.jsonl:1";
    p.ground_truth = g_long;
    refused(&env, "ground truth longer than 65536 bytes");
    p.ground_truth = "4";
    assert_true(accepted(&env, err, sizeof err));
    free(many);

    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT_ACK;
    env.submit_ack = &ack;
    ack.error = g_long;
    refused(&env, "error longer than 65536 bytes");
    env.body_case = TRIM__ENVELOPE__BODY_WAIT_REPLY;
    env.wait_reply = &wr;
    wr.error = g_long;
    refused(&env, "error longer than 65536 bytes");

    assert_string_equal(env_role_name((Trim__Role)99), "unknown");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_messages),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_client_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
