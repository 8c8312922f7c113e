/*
** test_envelope.c: wire envelope round trip and rejection of bad frames.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"


static Trim__Envelope *
roundtrip(Trim__Envelope *env)
{
    zmq_msg_t msg;
    char err[256];
    Trim__Envelope *out;

    assert_int_equal(env_pack(env, &msg), 0);
    out = env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
    zmq_msg_close(&msg);
    return out;
}


static void
test_generate_roundtrip(void **state)
{
    (void)state;
    Trim__Key key = TRIM__KEY__INIT;
    Trim__GenerateStep g = TRIM__GENERATE_STEP__INIT;
    Trim__GenerateStep *items[1] = {&g};
    Trim__GenerateBatch batch = TRIM__GENERATE_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    char *steps[2] = {"Step one.", "Step two."};

    key.problem_id = 42;
    key.step_index = 2;
    key.role = TRIM__ROLE__ROLE_SMALL;
    key.attempt = 1;
    g.key = &key;
    g.problem = "What is 2+2?";
    g.n_steps = 2;
    g.steps = steps;
    g.max_tokens = 512;
    g.seed = 7;
    batch.n_items = 1;
    batch.items = items;
    env.body_case = TRIM__ENVELOPE__BODY_GENERATE;
    env.generate = &batch;

    Trim__Envelope *out = roundtrip(&env);
    assert_non_null(out);
    assert_int_equal(out->version, TRIM_PROTOCOL_VERSION);
    assert_int_equal(out->body_case, TRIM__ENVELOPE__BODY_GENERATE);
    assert_int_equal(out->generate->n_items, 1);
    Trim__GenerateStep *o = out->generate->items[0];
    assert_int_equal(o->key->problem_id, 42);
    assert_int_equal(o->key->step_index, 2);
    assert_int_equal(o->key->role, TRIM__ROLE__ROLE_SMALL);
    assert_int_equal(o->key->attempt, 1);
    assert_string_equal(o->problem, "What is 2+2?");
    assert_int_equal(o->n_steps, 2);
    assert_string_equal(o->steps[1], "Step two.");
    assert_int_equal(o->seed, 7);
    env_destroy(&out);
    assert_null(out);
    env_destroy(&out); /* NULL-safe */
}


static void
test_rejects_garbage(void **state)
{
    (void)state;
    char err[256];
    unsigned char junk[64];

    memset(junk, 0xff, sizeof junk);
    assert_null(env_unpack(junk, sizeof junk, err, sizeof err));
    assert_non_null(strstr(err, "not a valid"));

    /* A varint claiming a 2 GiB length, in six bytes. */
    unsigned char huge[] = {0x2a, 0xff, 0xff, 0xff, 0xff, 0x07};
    assert_null(env_unpack(huge, sizeof huge, err, sizeof err));

    /* Truncated: a valid message cut short. */
    Trim__Ready ready = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    zmq_msg_t msg;
    ready.role = TRIM__ROLE__ROLE_PRM;
    ready.credit = 4;
    ready.name = "prm-1";
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    assert_int_equal(env_pack(&env, &msg), 0);
    assert_null(env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg) - 3, err,
                           sizeof err));
    zmq_msg_close(&msg);
}


static void
test_rejects_wrong_version_and_empty(void **state)
{
    (void)state;
    char err[256];
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    Trim__Heartbeat hb = TRIM__HEARTBEAT__INIT;
    uint8_t buf[64];
    size_t n;

    env.version = TRIM_PROTOCOL_VERSION + 1;
    env.body_case = TRIM__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    n = trim__envelope__pack(&env, buf);
    assert_null(env_unpack(buf, n, err, sizeof err));
    assert_non_null(strstr(err, "protocol version"));

    Trim__Envelope empty = TRIM__ENVELOPE__INIT;
    empty.version = TRIM_PROTOCOL_VERSION;
    n = trim__envelope__pack(&empty, buf);
    assert_null(env_unpack(buf, n, err, sizeof err));
    assert_non_null(strstr(err, "no message body"));
}


static void
test_rejects_oversized_fields(void **state)
{
    (void)state;
    char err[256];
    Trim__Key key = TRIM__KEY__INIT;
    Trim__StepResult r = TRIM__STEP_RESULT__INIT;
    Trim__StepResult *items[1] = {&r};
    Trim__StepResultBatch batch = TRIM__STEP_RESULT_BATCH__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    char *big = malloc(TRIM_MAX_TEXT + 2);

    memset(big, 'x', TRIM_MAX_TEXT + 1);
    big[TRIM_MAX_TEXT + 1] = '\0';
    r.key = &key;
    r.text = big;
    batch.n_items = 1;
    batch.items = items;
    env.body_case = TRIM__ENVELOPE__BODY_STEP_RESULTS;
    env.step_results = &batch;
    assert_null(roundtrip(&env));

    /* A key whose step index is out of range. */
    big[10] = '\0';
    key.step_index = TRIM_MAX_STEPS;
    assert_null(roundtrip(&env));
    key.step_index = 3;
    Trim__Envelope *ok = roundtrip(&env);
    assert_non_null(ok);
    env_destroy(&ok);

    /* An empty batch. */
    batch.n_items = 0;
    assert_null(roundtrip(&env));

    /* A frame over the message cap is refused before parsing. */
    assert_null(env_unpack(big, (size_t)TRIM_MAX_MESSAGE + 1, err, sizeof err));
    assert_non_null(strstr(err, "limit"));
    free(big);
}


static void
test_role_names(void **state)
{
    (void)state;
    assert_string_equal(env_role_name(TRIM__ROLE__ROLE_PRM), "prm");
    assert_int_equal(env_role_parse("large"), TRIM__ROLE__ROLE_LARGE);
    assert_int_equal(env_role_parse("nope"), TRIM__ROLE__ROLE_UNKNOWN);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_roundtrip),
        cmocka_unit_test(test_rejects_garbage),
        cmocka_unit_test(test_rejects_wrong_version_and_empty),
        cmocka_unit_test(test_rejects_oversized_fields),
        cmocka_unit_test(test_role_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
