/*
** test_gateway_json.c: the gateway's request parsing and response shapes
** (gateway/gateway_testing.h), without a network.
*/
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gateway_testing.h"
#include "trim.pb-c.h"

static gw_request_t
parse_ok(const char *body, int chat)
{
    gw_request_t r;
    char err[512] = "";

    if (gw_request_parse(body, strlen(body), chat, &r, err, sizeof err) < 0)
        fail_msg("refused %s: %s", body, err);
    return r;
}


/* The error for body, which must be refused. */
static const char *
parse_err(const char *body, int chat)
{
    static char err[512];
    gw_request_t r;

    err[0] = '\0';
    if (gw_request_parse(body, strlen(body), chat, &r, err, sizeof err) == 0)
        fail_msg("accepted %s", body);
    assert_null(r.problem);
    assert_null(r.model);
    return err;
}


static void
test_single_user_message_passes_unchanged(void **state)
{
    (void)state;
    gw_request_t r = parse_ok(
        "{\"model\":\"trim\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"Tom has 3 apples.\\n\\nHow many?\"}],\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"seed\":7,"
        "\"max_tokens\":100,\"temperature\":0.2,\"unknown\":{\"x\":1}}",
        1);
    assert_string_equal(r.model, "trim");
    assert_string_equal(r.problem, "Tom has 3 apples.\n\nHow many?");
    assert_true(r.stream);
    assert_true(r.include_usage);
    assert_true(r.has_seed);
    assert_int_equal(r.seed, 7);
    assert_false(r.trace);
    gw_request_clear(&r);
}


static void
test_earlier_messages_come_first(void **state)
{
    (void)state;
    gw_request_t r = parse_ok(
        "{\"model\":\"m\",\"trim\":{\"trace\":true},\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"A\"},"
        "{\"type\":\"text\",\"text\":\"B\"}]},"
        "{\"role\":\"assistant\",\"content\":null},"
        "{\"role\":\"user\",\"content\":\"Q?\"},"
        "{\"role\":\"assistant\",\"content\":\"after\"}]}",
        1);
    assert_string_equal(r.problem, "System: Be brief.\n\nUser: A\nB\n\nQ?");
    assert_true(r.trace);
    gw_request_clear(&r);
}


static void
test_completions_prompt(void **state)
{
    (void)state;
    gw_request_t r = parse_ok("{\"model\":\"m\",\"prompt\":\"P\"}", 0);
    assert_string_equal(r.problem, "P");
    assert_false(r.chat);
    gw_request_clear(&r);
    r = parse_ok("{\"model\":\"m\",\"prompt\":[\"Q\"]}", 0);
    assert_string_equal(r.problem, "Q");
    gw_request_clear(&r);
    assert_non_null(strstr(parse_err("{\"model\":\"m\",\"prompt\":3}", 0),
                           "prompt: expected a string"));
    assert_non_null(
        strstr(parse_err("{\"model\":\"m\",\"prompt\":\"\"}", 0), "empty"));
}


static void
test_malformed_bodies_are_named(void **state)
{
    static const struct {
        const char *body, *says;
    } cases[] = {
        {"{\"model\":", "not valid JSON"},
        {"[1]", "must be a JSON object"},
        {"{\"model\":\"m\"}", "messages: expected a non-empty array"},
        {"{\"model\":\"m\",\"messages\":[]}", "messages: expected"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
         "{\"role\":\"user\",\"content\":\"b\"},{\"role\":\"user\","
         "\"content\":5}]}",
         "messages[2].content: expected a string or an array of text parts"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"image_url\",\"image_url\":{}}]}]}",
         "messages[0].content[0].type: only \"text\" parts"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{"
         "\"type\":\"text\"}]}]}",
         "messages[0].content[0].text: expected a string"},
        {"{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}",
         "messages[0].role: expected a string"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
         "\"x\"}]}",
         "no message with role \"user\""},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]"
         "}",
         "messages[0].content: empty"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "model: expected"},
        {"{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "stream: expected true or false"},
        {"{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "n: only 1"},
        {"{\"model\":\"m\",\"max_tokens\":-1,\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "max_tokens: expected a positive integer"},
        {"{\"model\":\"m\",\"seed\":1.5,\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "seed: expected an integer"},
        {"{\"model\":\"m\",\"trim\":{\"trace\":1},\"messages\":[{\"role\":"
         "\"user\",\"content\":\"x\"}]}",
         "trim.trace: expected true or false"},
        {"{\"model\":\"m\",\"stream_options\":[],\"messages\":[{\"role\":"
         "\"user\",\"content\":\"x\"}]}",
         "stream_options: expected an object"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *err = parse_err(cases[i].body, 1);
        if (strstr(err, cases[i].says) == NULL)
            fail_msg("%s: said '%s', expected '%s'", cases[i].body, err,
                     cases[i].says);
    }
}


/* A finished two-step answer to render. */
typedef struct fixture {
    gw_request_t req;
    gateway_route_t route;
    gw_step_t steps[2];
    gw_result_t result;
    gw_answer_t a;
} fixture_t;


static void
fixture_init(fixture_t *f, int chat, int trace, int include_usage)
{
    memset(f, 0, sizeof *f);
    f->req.chat = chat;
    f->req.model = "trim";
    f->req.trace = trace;
    f->req.include_usage = include_usage;
    snprintf(f->route.name, sizeof f->route.name, "trim");
    snprintf(f->route.policy, sizeof f->route.policy, "thr:0.5");
    f->steps[0] = (gw_step_t){0,      "Step one.", 0,
                              1,      0.9f,        "router:r1",
                              "kept", 10,          TRIM__FINISH__FINISH_STEP};
    f->steps[1] = (gw_step_t){
        1, "So \\boxed{4}.",         1, 1, 0.2f, "router:r1", "regenerated",
        7, TRIM__FINISH__FINISH_STEP};
    f->result = (gw_result_t){.end = TRIM__PROBLEM_END__END_FINISHED,
                              .error = "",
                              .final_answer = "4",
                              .correct = -1,
                              .steps = 2,
                              .regenerated = 1,
                              .weak_tokens = 10,
                              .strong_tokens = 7,
                              .discarded_tokens = 12,
                              .prm_tokens = 50,
                              .prompt_tokens = 30,
                              .finish = TRIM__FINISH__FINISH_STEP};
    f->a = (gw_answer_t){&f->req,    chat ? "chatcmpl-trim-9" : "cmpl-trim-9",
                         1700000000, &f->route,
                         3,          9,
                         f->steps,   2,
                         &f->result};
}


static json_t *
load(char *text)
{
    json_error_t e;
    json_t *j;

    assert_non_null(text);
    j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", e.text, text);
    free(text);
    return j;
}


static void
test_chat_answer_shape(void **state)
{
    fixture_t f;
    json_t *j, *trim;

    (void)state;
    fixture_init(&f, 1, 0, 0);
    j = load(gw_render_answer(&f.a));
    assert_string_equal(json_string_value(json_object_get(j, "object")),
                        "chat.completion");
    assert_string_equal(json_string_value(json_object_get(j, "id")),
                        "chatcmpl-trim-9");
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    assert_string_equal(json_string_value(json_object_get(msg, "role")),
                        "assistant");
    assert_string_equal(json_string_value(json_object_get(msg, "content")),
                        "Step one.\n\nSo \\boxed{4}.");
    assert_string_equal(
        json_string_value(json_object_get(choice, "finish_reason")), "stop");
    json_t *u = json_object_get(j, "usage");
    assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")),
                     30);
    /* accepted tokens: 10 kept drafts + 7 strong (12 discarded) */
    assert_int_equal(
        json_integer_value(json_object_get(u, "completion_tokens")), 17);
    assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")),
                     47);
    trim = json_object_get(j, "trim");
    assert_int_equal(json_integer_value(json_object_get(trim, "run_id")), 3);
    assert_int_equal(json_integer_value(json_object_get(trim, "problem_id")),
                     9);
    assert_string_equal(json_string_value(json_object_get(trim, "policy")),
                        "thr:0.5");
    assert_true(json_is_null(json_object_get(trim, "correct")));
    assert_string_equal(
        json_string_value(json_object_get(trim, "final_answer")), "4");
    assert_null(json_object_get(trim, "trace"));
    assert_null(json_object_get(trim, "usd")); /* no price book */
    json_decref(j);

    fixture_init(&f, 1, 1, 0);
    f.result.correct = 1;
    f.result.final_answer = "";
    f.result.finish = TRIM__FINISH__FINISH_STEP; /* the step limit */
    j = load(gw_render_answer(&f.a));
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(
        json_string_value(json_object_get(choice, "finish_reason")), "length");
    trim = json_object_get(j, "trim");
    assert_true(json_is_true(json_object_get(trim, "correct")));
    json_t *t1 = json_array_get(json_object_get(trim, "trace"), 1);
    assert_true(json_is_true(json_object_get(t1, "strong")));
    assert_string_equal(json_string_value(json_object_get(t1, "reason")),
                        "regenerated");
    assert_int_equal(json_integer_value(json_object_get(t1, "tokens")), 7);
    json_decref(j);
}


/* The JSON of an SSE event "data: {...}\n\n". */
static json_t *
event_json(char *ev)
{
    assert_non_null(ev);
    assert_memory_equal(ev, "data: ", 6);
    size_t n = strlen(ev);
    assert_true(n > 8 && strcmp(ev + n - 2, "\n\n") == 0);
    ev[n - 2] = '\0';
    char *copy = strdup(ev + 6);
    free(ev);
    return load(copy);
}


static void
test_chat_stream_shape(void **state)
{
    fixture_t f;
    int none = 1;
    json_t *j, *choice;

    (void)state;
    fixture_init(&f, 1, 0, 1);
    j = event_json(gw_render_open(&f.a, &none));
    assert_false(none);
    assert_string_equal(json_string_value(json_object_get(j, "object")),
                        "chat.completion.chunk");
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(choice, "delta"), "role")),
                        "assistant");
    assert_true(json_is_null(json_object_get(choice, "finish_reason")));
    assert_true(json_is_null(json_object_get(j, "usage")));
    json_decref(j);

    j = event_json(gw_render_step(&f.a, 1));
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(choice, "delta"), "content")),
                        "\n\nSo \\boxed{4}.");
    json_decref(j);

    j = event_json(gw_render_close(&f.a));
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(
        json_string_value(json_object_get(choice, "finish_reason")), "stop");
    assert_non_null(json_object_get(j, "trim"));
    json_decref(j);

    j = event_json(gw_render_usage(&f.a));
    assert_int_equal(json_array_size(json_object_get(j, "choices")), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(j, "usage"), "completion_tokens")),
                     17);
    json_decref(j);
}


static void
test_completion_shapes(void **state)
{
    fixture_t f;
    int none = 0;
    json_t *j, *choice;

    (void)state;
    fixture_init(&f, 0, 0, 0);
    j = load(gw_render_answer(&f.a));
    assert_string_equal(json_string_value(json_object_get(j, "object")),
                        "text_completion");
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(choice, "text")),
                        "Step one.\n\nSo \\boxed{4}.");
    json_decref(j);
    assert_null(gw_render_open(&f.a, &none));
    assert_true(none);
    j = event_json(gw_render_step(&f.a, 0));
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(choice, "text")),
                        "Step one.");
    assert_null(json_object_get(j, "usage"));
    json_decref(j);
}


static void
test_error_and_models(void **state)
{
    gateway_route_t routes[2] = {{"trim", "thr:0.5", 0, 0, NULL, ""},
                                 {"trim-cheap", "pomdp:0.004", 0, 0, NULL, ""}};
    json_t *j, *e;

    (void)state;
    j = load(gw_render_error("bad \"x\"", "invalid_request_error", NULL));
    e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "bad \"x\"");
    assert_string_equal(json_string_value(json_object_get(e, "type")),
                        "invalid_request_error");
    assert_true(json_is_null(json_object_get(e, "code")));
    assert_true(json_is_null(json_object_get(e, "param")));
    json_decref(j);
    j = load(gw_render_models(routes, 2, 5));
    assert_string_equal(json_string_value(json_object_get(j, "object")),
                        "list");
    json_t *m1 = json_array_get(json_object_get(j, "data"), 1);
    assert_string_equal(json_string_value(json_object_get(m1, "id")),
                        "trim-cheap");
    assert_string_equal(json_string_value(json_object_get(m1, "object")),
                        "model");
    json_decref(j);
}


static void
test_route_specs(void **state)
{
    gateway_route_t r;
    char err[256];

    (void)state;
    assert_int_equal(gateway_route_parse("trim=thr:0.5", &r, err, sizeof err),
                     0);
    assert_string_equal(r.name, "trim");
    assert_string_equal(r.policy, "thr:0.5");
    assert_int_equal(
        gateway_route_parse("b=thr:0.5,max-strong-tokens=300,target-share=0.2",
                            &r, err, sizeof err),
        0);
    assert_int_equal(r.max_strong_tokens, 300);
    assert_true(r.target_share > 0.19 && r.target_share < 0.21);
    assert_string_equal(r.speculate, "");
    assert_int_equal(
        gateway_route_parse("s=thr:0.5,speculate=guard", &r, err, sizeof err),
        0);
    assert_string_equal(r.speculate, "guard");
    assert_int_equal(
        gateway_route_parse("s=thr:0.5,speculate=maybe", &r, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "speculate"));
    assert_int_equal(gateway_route_parse("nopolicy", &r, err, sizeof err), -1);
    assert_int_equal(
        gateway_route_parse("a=thr:0.5,bogus=1", &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "bogus"));
    assert_int_equal(
        gateway_route_parse("a=thr:0.5,target-share=2", &r, err, sizeof err),
        -1);
    assert_int_equal(gateway_route_parse("a b=thr:0.5", &r, err, sizeof err),
                     -1);
}


/*
** With a price book the trim object carries the problem's dollars, priced
** by prices_cost: weak $1/M in, $0.5/M cached, $2/M out; strong 10x; PRM
** $1/M.  Weak: (100-40)*1 + 40*0.5 + (10+12)*2 = 124 micro-dollars;
** strong: (50-20)*10 + 20*5 + 7*20 = 540; PRM: (50-30)*1 + 30*0 = 20.
** Wasted speculative drafts at the weak prices, apart and in the total:
** (60-50)*1 + 50*0.5 + 5*2 = 45.
*/
static void
test_answer_dollars(void **state)
{
    fixture_t f;
    char err[256];
    prices_t *p = prices_parse(
        "{\"models\": {\"w\": {\"input_usd_per_mtok\": 1,"
        " \"cached_input_usd_per_mtok\": 0.5, \"output_usd_per_mtok\": 2},"
        " \"s\": {\"input_usd_per_mtok\": 10, \"cached_input_usd_per_mtok\":"
        " 5, \"output_usd_per_mtok\": 20}, \"p\": {\"input_usd_per_mtok\":"
        " 1, \"cached_input_usd_per_mtok\": 0, \"output_usd_per_mtok\": 0}},"
        " \"roles\": {\"weak\": \"w\", \"strong\": \"s\", \"prm\": \"p\"}}",
        "book", err, sizeof err);

    (void)state;
    assert_non_null(p);
    fixture_init(&f, 1, 0, 0);
    f.route.prices = p;
    f.result.weak_prompt_tokens = 100;
    f.result.weak_cached_tokens = 40;
    f.result.strong_prompt_tokens = 50;
    f.result.strong_cached_tokens = 20;
    f.result.prm_cached_tokens = 30;
    f.result.wasted_prompt_tokens = 60;
    f.result.wasted_cached_tokens = 50;
    f.result.wasted_tokens = 5;
    json_t *j = load(gw_render_answer(&f.a));
    json_t *usd = json_object_get(json_object_get(j, "trim"), "usd");
    assert_true(fabs(json_real_value(json_object_get(usd, "weak")) - 124e-6) <
                1e-12);
    assert_true(fabs(json_real_value(json_object_get(usd, "strong")) - 540e-6) <
                1e-12);
    assert_true(fabs(json_real_value(json_object_get(usd, "prm")) - 20e-6) <
                1e-12);
    assert_true(fabs(json_real_value(json_object_get(usd, "wasted")) - 45e-6) <
                1e-12);
    assert_true(fabs(json_real_value(json_object_get(usd, "total")) - 729e-6) <
                1e-12);
    json_decref(j);
    prices_destroy(&p);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_dollars),
        cmocka_unit_test(test_single_user_message_passes_unchanged),
        cmocka_unit_test(test_earlier_messages_come_first),
        cmocka_unit_test(test_completions_prompt),
        cmocka_unit_test(test_malformed_bodies_are_named),
        cmocka_unit_test(test_chat_answer_shape),
        cmocka_unit_test(test_chat_stream_shape),
        cmocka_unit_test(test_completion_shapes),
        cmocka_unit_test(test_error_and_models),
        cmocka_unit_test(test_route_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
