/*
** test_sim_server.c: `trim sim-server`, the simulator over real HTTP.
**
** Every test runs the built trim binary as a server process and talks to it
** with libcurl: the vLLM response shapes of each endpoint, parity with the
** in-process simulator (same text, tokens and scores for the same seed),
** each injected fault at its rate, the latency slept,
** the request record, and the error shapes.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "prompt.h"
#include "http_reply.h"
#include "sim.h"
#include "testutil.h"

#define MAX_STEPS 48

/* ---------------------------------------------------------------- helpers */

typedef struct server {
    int pid;
    int port;
    char url[96];
    char log[512];
} server_t;


static int g_servers;


static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


/* A configured easy handle for METHOD url (body NULL: GET). */
static CURL *
easy(const char *url, const char *body, size_t len, long timeout_ms,
     test_reply_t *out, struct curl_slist **hdrs)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    test_reply_capture(c, out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    *hdrs = NULL;
    if (body != NULL) {
        *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    return c;
}


/* One request; body NULL is a GET. */
static void
http(const char *url, const char *body, size_t len, long timeout_ms,
     test_reply_t *out)
{
    struct curl_slist *h;
    CURL *c = easy(url, body, len, timeout_ms, out, &h);
    test_reply_finish(c, curl_easy_perform(c), out);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}


static void
resp_clear(test_reply_t *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}


static void
url_of(const server_t *sv, const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", sv->url, path);
}


/* POST the JSON of req (stolen) to path; the parsed reply or NULL. */
static json_t *
post(const server_t *sv, const char *path, json_t *req, test_reply_t *out)
{
    char url[160], *text = json_dumps(req, JSON_COMPACT);
    assert_non_null(text);
    json_decref(req);
    url_of(sv, path, url, sizeof url);
    http(url, text, strlen(text), 20000, out);
    free(text);
    assert_int_equal(out->rc, CURLE_OK);
    return out->body ? json_loads(out->body, 0, NULL) : NULL;
}


/* Wait until GET /health answers 200. */
static void
wait_ready(const server_t *sv)
{
    char url[160];
    url_of(sv, "/health", url, sizeof url);
    for (int i = 0; i < 1000; i++) {
        test_reply_t r;
        http(url, NULL, 0, 500, &r);
        resp_clear(&r);
        if (r.rc == CURLE_OK && r.status == 200)
            return;
        assert_int_equal(test_wait_child(sv->pid, 20), -1); /* still up */
    }
    fail_msg("sim-server on port %d never became ready", sv->port);
}


/* Start `trim sim-server --sim-model MODEL --bind 127.0.0.1:PORT EXTRA...`. */
static void
start_server(server_t *sv, const char *model, const char *const *extra)
{
    char bind[64], name[64];
    char *argv[48];
    int n = 0;

    memset(sv, 0, sizeof *sv);
    sv->port = test_free_port();
    snprintf(bind, sizeof bind, "127.0.0.1:%d", sv->port);
    snprintf(sv->url, sizeof sv->url, "http://127.0.0.1:%d", sv->port);
    snprintf(name, sizeof name, "server-%d.log", g_servers++);
    test_tmp_path(sv->log, sizeof sv->log, name);
    argv[n++] = (char *)test_bin();
    argv[n++] = "sim-server";
    argv[n++] = "--sim-model";
    argv[n++] = (char *)model;
    argv[n++] = "--bind";
    argv[n++] = bind;
    for (; extra && *extra; extra++) {
        assert_true(n < 46);
        argv[n++] = (char *)*extra;
    }
    argv[n] = NULL;
    sv->pid = test_spawn(sv->log, argv);
    wait_ready(sv);
}


/* SIGTERM: the server must exit 0 promptly. */
static void
stop_server(server_t *sv)
{
    kill(sv->pid, SIGTERM);
    int rc = test_wait_child(sv->pid, 10000);
    if (rc != 0) {
        test_stop_child(sv->pid, SIGKILL);
        fail_msg("sim-server exited with %d after SIGTERM (log %s)", rc,
                 sv->log);
    }
    sv->pid = 0;
}


static sim_world_t *
world(void)
{
    char err[256];
    sim_world_t *w = sim_world_new(NULL, NULL, err, sizeof err);
    if (w == NULL)
        fail_msg("sim_world_new: %s", err);
    return w;
}


/* A solved problem: its text and a full chain of weak steps. */
typedef struct chain {
    sim_problem_t problem;
    char *steps[MAX_STEPS];
    size_t n;
} chain_t;


static void
chain_make(const sim_world_t *w, uint64_t index, chain_t *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    assert_int_equal(sim_problem_make(w, 11, index, &c->problem), 0);
    for (;;) {
        sim_step_t st;
        assert_true(c->n < MAX_STEPS);
        if (sim_generate(w, SIM_WEAK, c->problem.text,
                         (const char *const *)c->steps, c->n, 0, 100 + c->n,
                         &st, err, sizeof err) != 0)
            fail_msg("sim_generate: %s", err);
        c->steps[c->n++] = st.text;
        if (st.finish == SIM_FINISH_END)
            break;
    }
}


static void
chain_clear(chain_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->steps[i]);
    sim_problem_clear(&c->problem);
}


static const char *
str_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}


static json_int_t
int_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("'%s' is not an integer", key);
    return json_integer_value(v);
}


/* finish_reason and stop_reason of a choice match the simulator's finish. */
static void
check_finish(const json_t *choice, sim_finish_t f)
{
    const json_t *sr = json_object_get(choice, "stop_reason");
    assert_non_null(sr); /* present, even when null */
    assert_string_equal(str_at(choice, "finish_reason"),
                        f == SIM_FINISH_LENGTH ? "length" : "stop");
    if (f == SIM_FINISH_STEP) {
        assert_true(json_is_string(sr));
        assert_string_equal(json_string_value(sr), "\n\n");
    } else {
        assert_true(json_is_null(sr));
    }
}


/* The usage object has the given counts. */
static void
check_usage(const json_t *reply, int prompt, int completion)
{
    const json_t *u = json_object_get(reply, "usage");
    assert_true(json_is_object(u));
    assert_int_equal(int_at(u, "prompt_tokens"), prompt);
    assert_int_equal(int_at(u, "completion_tokens"), completion);
    assert_int_equal(int_at(u, "total_tokens"), prompt + completion);
}


/* A vLLM error reply with this status. */
static void
check_error(const test_reply_t *r, long status)
{
    json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const json_t *e;
    assert_int_equal(r->status, status);
    if (j == NULL)
        fail_msg("error body is not JSON: %s", r->body ? r->body : "(none)");
    e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_true(strlen(str_at(e, "message")) > 0);
    assert_true(strlen(str_at(e, "type")) > 0);
    assert_true(json_is_null(json_object_get(e, "param")));
    assert_int_equal(int_at(e, "code"), status);
    json_decref(j);
}


/* The completions request of a chain prefix. */
static json_t *
completion_req(const char *model, const char *prompt, int max_tokens,
               uint64_t seed)
{
    json_t *req =
        json_pack("{s:s, s:s, s:[s], s:f, s:f, s:i, s:I}", "model", model,
                  "prompt", prompt, "stop", "\n\n", "temperature", 0.7, "top_p",
                  0.8, "top_k", 20, "seed", (json_int_t)seed);
    assert_non_null(req);
    if (max_tokens > 0)
        json_object_set_new(req, "max_tokens", json_integer(max_tokens));
    return req;
}

/* ------------------------------------------------------------------ tests */

/*
** /v1/completions gives, for every prefix of a few chains and in every
** template kind, what sim_generate gives in-process with the same seed.
*/
static void
test_completions_parity(void **state)
{
    (void)state;
    sim_world_t *w = world();
    server_t sv;
    char err[256];
    int seen[3] = {0};

    start_server(&sv, "weak", NULL);
    for (uint64_t p = 0; p < 4; p++) {
        chain_t c;
        chain_make(w, p, &c);
        for (size_t k = 0; k < c.n; k++) {
            tpl_t t = {(tpl_kind_t)((p + k) % 3), NULL, NULL};
            char *prompt =
                tpl_prompt(&t, c.problem.text, (const char *const *)c.steps, k);
            uint64_t seed = 1000 * p + k;
            sim_step_t want;
            test_reply_t r;

            assert_int_equal(sim_generate(w, SIM_WEAK, c.problem.text,
                                          (const char *const *)c.steps, k, 2048,
                                          seed, &want, err, sizeof err),
                             0);
            json_t *j =
                post(&sv, "/v1/completions",
                     completion_req("sim-weak", prompt, 2048, seed), &r);
            assert_int_equal(r.status, 200);
            assert_non_null(j);
            assert_string_equal(str_at(j, "object"), "text_completion");
            assert_string_equal(str_at(j, "model"), "sim-weak");
            assert_true(strncmp(str_at(j, "id"), "cmpl-", 5) == 0);
            assert_true(int_at(j, "created") > 1700000000);
            const json_t *ch = json_object_get(j, "choices");
            assert_int_equal(json_array_size(ch), 1);
            const json_t *c0 = json_array_get(ch, 0);
            assert_int_equal(int_at(c0, "index"), 0);
            assert_true(json_is_null(json_object_get(c0, "logprobs")));
            assert_string_equal(str_at(c0, "text"), want.text);
            check_finish(c0, want.finish);
            check_usage(j, want.prompt_tokens, want.completion_tokens);
            seen[want.finish]++;
            /* the last step of a chain ends the solution */
            assert_int_equal(want.finish,
                             k + 1 == c.n ? SIM_FINISH_END : SIM_FINISH_STEP);
            json_decref(j);
            resp_clear(&r);
            sim_step_clear(&want);
            free(prompt);
        }
        chain_clear(&c);
    }
    assert_true(seen[SIM_FINISH_STEP] > 0 && seen[SIM_FINISH_END] == 4);
    stop_server(&sv);
    sim_world_destroy(&w);
}


/*
** max_tokens: a cut is "length" with stop_reason null; absent means vLLM's
** 16; a batch of prompts gives one choice per prompt with its index; the
** strong model matches too.
*/
static void
test_completions_length_batch_strong(void **state)
{
    (void)state;
    sim_world_t *w = world();
    server_t sv;
    chain_t c;
    char err[256];
    tpl_t t = {TPL_CHATML, NULL, NULL};
    test_reply_t r;
    json_t *j, *req;
    sim_step_t want;

    chain_make(w, 5, &c);
    start_server(&sv, "strong", NULL);
    char *p0 = tpl_prompt(&t, c.problem.text, NULL, 0);

    /* max_tokens 3 cuts the step */
    j = post(&sv, "/v1/completions", completion_req("sim-strong", p0, 3, 9),
             &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sim_generate(w, SIM_STRONG, c.problem.text, NULL, 0, 3, 9,
                                  &want, err, sizeof err),
                     0);
    assert_int_equal(want.finish, SIM_FINISH_LENGTH);
    const json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
    check_finish(c0, SIM_FINISH_LENGTH);
    assert_string_equal(str_at(c0, "text"), want.text);
    check_usage(j, want.prompt_tokens, 3);
    sim_step_clear(&want);
    json_decref(j);
    resp_clear(&r);

    /* no max_tokens: 16, like vLLM; no model, no seed: seed 0 */
    req = json_pack("{s:s}", "prompt", p0);
    j = post(&sv, "/v1/completions", req, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sim_generate(w, SIM_STRONG, c.problem.text, NULL, 0, 16, 0,
                                  &want, err, sizeof err),
                     0);
    c0 = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(str_at(c0, "text"), want.text);
    check_finish(c0, want.finish);
    check_usage(j, want.prompt_tokens, want.completion_tokens);
    assert_true(want.completion_tokens <= 16);
    sim_step_clear(&want);
    json_decref(j);
    resp_clear(&r);

    /* a batch of three prefixes */
    char *prompts[3];
    int ptok = 0, ctok = 0;
    req = json_pack("{s:s, s:[], s:i, s:i}", "model", "sim-strong", "prompt",
                    "max_tokens", 4096, "seed", 77);
    for (size_t k = 0; k < 3; k++) {
        prompts[k] =
            tpl_prompt(&t, c.problem.text, (const char *const *)c.steps, k);
        json_array_append_new(json_object_get(req, "prompt"),
                              json_string(prompts[k]));
    }
    j = post(&sv, "/v1/completions", req, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(j, "choices")), 3);
    for (size_t k = 0; k < 3; k++) {
        const json_t *ck = json_array_get(json_object_get(j, "choices"), k);
        assert_int_equal(sim_generate(w, SIM_STRONG, c.problem.text,
                                      (const char *const *)c.steps, k, 4096, 77,
                                      &want, err, sizeof err),
                         0);
        assert_int_equal(int_at(ck, "index"), (json_int_t)k);
        assert_string_equal(str_at(ck, "text"), want.text);
        check_finish(ck, want.finish);
        ptok += want.prompt_tokens;
        ctok += want.completion_tokens;
        sim_step_clear(&want);
        free(prompts[k]);
    }
    check_usage(j, ptok, ctok);
    json_decref(j);
    resp_clear(&r);

    free(p0);
    stop_server(&sv);
    chain_clear(&c);
    sim_world_destroy(&w);
}


/* /v1/chat/completions continuing the assistant's turn, and its checks. */
static void
test_chat(void **state)
{
    (void)state;
    sim_world_t *w = world();
    server_t sv;
    chain_t c;
    char err[256];
    tpl_t t = {TPL_CHATML, NULL, NULL};
    test_reply_t r;
    json_t *j;

    chain_make(w, 2, &c);
    start_server(&sv, "weak", NULL);
    char *user = tpl_user(&t, c.problem.text);
    for (size_t k = 0; k < c.n; k++) {
        char *assistant = tpl_assistant((const char *const *)c.steps, k);
        sim_step_t want;
        json_t *req = json_pack(
            "{s:s, s:[{s:s}, {s:s, s:s}, {s:s, s:s}], s:i, s:[s], s:b, s:b, "
            "s:I}",
            "model", "sim-weak", "messages", "role", "system", "role", "user",
            "content", user, "role", "assistant", "content", assistant,
            "max_tokens", 512, "stop", "\n\n", "add_generation_prompt", 0,
            "continue_final_message", 1, "seed", (json_int_t)(50 + k));
        assert_non_null(req);
        json_object_set_new(json_array_get(json_object_get(req, "messages"), 0),
                            "content", json_string("be brief"));
        j = post(&sv, "/v1/chat/completions", req, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(sim_generate(w, SIM_WEAK, c.problem.text,
                                      (const char *const *)c.steps, k, 512,
                                      50 + k, &want, err, sizeof err),
                         0);
        assert_string_equal(str_at(j, "object"), "chat.completion");
        assert_true(strncmp(str_at(j, "id"), "chatcmpl-", 9) == 0);
        assert_string_equal(str_at(j, "model"), "sim-weak");
        const json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
        assert_int_equal(int_at(c0, "index"), 0);
        const json_t *m = json_object_get(c0, "message");
        assert_string_equal(str_at(m, "role"), "assistant");
        assert_string_equal(str_at(m, "content"), want.text);
        check_finish(c0, want.finish);
        check_usage(j, want.prompt_tokens, want.completion_tokens);
        sim_step_clear(&want);
        json_decref(j);
        resp_clear(&r);
        free(assistant);
    }

    /* continue_final_message alone: add_generation_prompt defaults to true */
    j = post(&sv, "/v1/chat/completions",
             json_pack("{s:[{s:s, s:s}, {s:s, s:s}], s:b}", "messages", "role",
                       "user", "content", user, "role", "assistant", "content",
                       "Solution:\n\n", "continue_final_message", 1),
             &r);
    check_error(&r, 400);
    assert_non_null(strstr(r.body, "Cannot set both `continue_final_message` "
                                   "and `add_generation_prompt` to True."));
    json_decref(j);
    resp_clear(&r);

    /* a fresh turn (no continuation) writes the first step */
    sim_step_t want;
    j = post(&sv, "/v1/chat/completions",
             json_pack("{s:[{s:s, s:s}], s:i}", "messages", "role", "user",
                       "content", user, "seed", 3),
             &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sim_generate(w, SIM_WEAK, c.problem.text, NULL, 0, 0, 3,
                                  &want, err, sizeof err),
                     0);
    assert_string_equal(
        str_at(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
                               "message"),
               "content"),
        want.text);
    sim_step_clear(&want);
    json_decref(j);
    resp_clear(&r);

    free(user);
    stop_server(&sv);
    chain_clear(&c);
    sim_world_destroy(&w);
}


/* The pairs of a /pooling reply's item 0 are those of scores[0..n). */
static void
check_pairs(const json_t *j, const float *scores, size_t n)
{
    const json_t *item = json_array_get(json_object_get(j, "data"), 0);
    const json_t *pairs = json_object_get(item, "data");
    assert_string_equal(str_at(item, "object"), "pooling");
    assert_int_equal(int_at(item, "index"), 0);
    assert_int_equal(json_array_size(pairs), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *pr = json_array_get(pairs, i);
        assert_int_equal(json_array_size(pr), 2);
        double p = json_number_value(json_array_get(pr, 1));
        double q = json_number_value(json_array_get(pr, 0));
        assert_true((float)p == scores[i]);
        assert_true(q + p > 0.99999 && q + p < 1.00001);
    }
}


/* /pooling: input text and messages, task, truncation, parity. */
static void
test_pooling(void **state)
{
    (void)state;
    sim_world_t *w = world();
    server_t sv;
    char err[256];
    tpl_t t = {TPL_CHATML, NULL, NULL};
    test_reply_t r;
    json_t *j;

    start_server(&sv, "prm", NULL);
    for (uint64_t p = 0; p < 3; p++) {
        chain_t c;
        float scores[MAX_STEPS];
        int tokens;

        chain_make(w, 20 + p, &c);
        assert_int_equal(sim_score(w, c.problem.text,
                                   (const char *const *)c.steps, c.n, scores,
                                   NULL, &tokens, NULL, err, sizeof err),
                         0);

        char *input = tpl_prm_input(&t, c.problem.text,
                                    (const char *const *)c.steps, c.n);
        j = post(&sv, "/pooling",
                 json_pack("{s:s, s:s, s:s}", "model", "sim-prm", "input",
                           input, "task", "token_classify"),
                 &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(str_at(j, "object"), "list");
        assert_string_equal(str_at(j, "model"), "sim-prm");
        assert_true(strncmp(str_at(j, "id"), "pool-", 5) == 0);
        check_pairs(j, scores, c.n);
        check_usage(j, tokens, 0);
        json_decref(j);
        resp_clear(&r);

        /* messages, no task */
        char *a = tpl_prm_assistant((const char *const *)c.steps, c.n);
        j = post(&sv, "/pooling",
                 json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                           "messages", "role", "system", "content",
                           TPL_DEFAULT_INSTRUCTION, "role", "user", "content",
                           c.problem.text, "role", "assistant", "content", a),
                 &r);
        assert_int_equal(r.status, 200);
        check_pairs(j, scores, c.n);
        json_decref(j);
        resp_clear(&r);

        /* truncation keeps the first tokens, as vLLM's does for pooling
        ** models: a limit of exactly the tokens of the problem and the
        ** first two steps keeps their two pairs, the later ones are lost */
        float scratch[MAX_STEPS];
        int upto2;
        assert_true(c.n >= 3);
        assert_int_equal(sim_score(w, c.problem.text,
                                   (const char *const *)c.steps, 2, scratch,
                                   NULL, &upto2, NULL, err, sizeof err),
                         0);
        j = post(&sv, "/pooling",
                 json_pack("{s:s, s:i}", "input", input,
                           "truncate_prompt_tokens", upto2),
                 &r);
        assert_int_equal(r.status, 200);
        check_pairs(j, scores, 2);
        assert_int_equal(int_at(json_object_get(j, "usage"), "prompt_tokens"),
                         upto2);
        json_decref(j);
        resp_clear(&r);

        /* one token fewer loses the second step's pair too */
        j = post(&sv, "/pooling",
                 json_pack("{s:s, s:i}", "input", input,
                           "truncate_prompt_tokens", upto2 - 1),
                 &r);
        assert_int_equal(r.status, 200);
        check_pairs(j, scores, 1);
        json_decref(j);
        resp_clear(&r);

        /* /tokenize counts what the truncation counts, text or messages */
        j = post(&sv, "/tokenize",
                 json_pack("{s:s, s:s}", "model", "sim-prm", "prompt", input),
                 &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(int_at(j, "count"), tokens);
        assert_int_equal(json_array_size(json_object_get(j, "tokens")),
                         (size_t)tokens);
        json_decref(j);
        resp_clear(&r);
        j = post(&sv, "/tokenize",
                 json_pack("{s:[{s:s, s:s}, {s:s, s:s}], s:b}", "messages",
                           "role", "user", "content", c.problem.text, "role",
                           "assistant", "content", a, "add_generation_prompt",
                           0),
                 &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(int_at(j, "count"), tokens);
        json_decref(j);
        resp_clear(&r);
        /* as vLLM's, messages get the generation prompt by default */
        j = post(&sv, "/tokenize",
                 json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "messages", "role",
                           "user", "content", c.problem.text, "role",
                           "assistant", "content", a),
                 &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(int_at(j, "count"), tokens + 3);
        json_decref(j);
        resp_clear(&r);

        free(a);
        free(input);
        chain_clear(&c);
    }

    /* another task is refused */
    j = post(&sv, "/pooling",
             json_pack("{s:s, s:s}", "input",
                       "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n"
                       "a<extra_0><|im_end|>\n",
                       "task", "embed"),
             &r);
    check_error(&r, 400);
    json_decref(j);
    resp_clear(&r);

    /* the PRM does not generate */
    j = post(&sv, "/v1/completions", json_pack("{s:s}", "prompt", "x"), &r);
    check_error(&r, 400);
    json_decref(j);
    resp_clear(&r);

    stop_server(&sv);
    sim_world_destroy(&w);
}


/* /health, /v1/models, the env twin of a flag, and errors in vLLM's shape. */
static void
test_endpoints_and_errors(void **state)
{
    (void)state;
    server_t sv;
    test_reply_t r;
    char url[160];
    json_t *j;

    setenv("TRIM_SERVED_MODEL_NAME", "qwen-sim", 1);
    start_server(&sv, "weak", NULL);
    unsetenv("TRIM_SERVED_MODEL_NAME");

    url_of(&sv, "/health", url, sizeof url);
    http(url, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    resp_clear(&r);

    url_of(&sv, "/v1/models", url, sizeof url);
    http(url, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(str_at(j, "object"), "list");
    const json_t *m = json_array_get(json_object_get(j, "data"), 0);
    assert_string_equal(str_at(m, "id"), "qwen-sim");
    assert_string_equal(str_at(m, "object"), "model");
    assert_string_equal(str_at(m, "owned_by"), "trim-sim");
    json_decref(j);
    resp_clear(&r);

    /* another model's name: 404 */
    j = post(&sv, "/v1/completions",
             json_pack("{s:s, s:s}", "model", "sim-weak", "prompt", "x"), &r);
    check_error(&r, 404);
    assert_non_null(strstr(r.body, "NotFoundError"));
    assert_non_null(strstr(r.body, "The model `sim-weak` does not exist."));
    json_decref(j);
    resp_clear(&r);

    /* not a simulated problem: 400 */
    j = post(&sv, "/v1/completions",
             json_pack("{s:s}", "prompt", "hello, how are you?"), &r);
    check_error(&r, 400);
    assert_non_null(strstr(r.body, "BadRequestError"));
    json_decref(j);
    resp_clear(&r);
    j = post(&sv, "/v1/completions",
             json_pack("{s:s}", "prompt",
                       "<|im_start|>user\nQuestion: What is love?<|im_end|>\n"
                       "<|im_start|>assistant\nSolution:\n\n"),
             &r);
    check_error(&r, 400);
    json_decref(j);
    resp_clear(&r);

    /* missing prompt, wrong types, streaming: 400 */
    const char *bad[] = {
        "{}",
        "{\"prompt\":[1,2,3]}",
        "{\"prompt\":\"x\",\"max_tokens\":0}",
        "{\"prompt\":\"x\",\"max_tokens\":\"ten\"}",
        "{\"prompt\":\"x\",\"stream\":true}",
        "{\"prompt\":\"x\",\"stop\":7}",
        "[1,2]",
        "{\"prompt\": \"unterminated",
    };
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        http(url, bad[i], strlen(bad[i]), 5000, &r);
        check_error(&r, 400);
        resp_clear(&r);
    }

    /* unknown path 404, wrong method 405 */
    url_of(&sv, "/v1/nothing", url, sizeof url);
    http(url, "{}", 2, 5000, &r);
    check_error(&r, 404);
    resp_clear(&r);
    url_of(&sv, "/v1/completions", url, sizeof url);
    http(url, NULL, 0, 5000, &r);
    check_error(&r, 405);
    resp_clear(&r);

    /* a 9 MiB body: 413, answered before the body is read */
    size_t big = 9u << 20;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    http(url, body, big, 10000, &r);
    check_error(&r, 413);
    resp_clear(&r);
    free(body);

    /* the server still serves */
    url_of(&sv, "/health", url, sizeof url);
    http(url, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);

    stop_server(&sv);
}


/* A valid completions request body for fault tests. */
static char *
valid_body(void)
{
    sim_world_t *w = world();
    sim_problem_t p;
    tpl_t t = {TPL_CHATML, NULL, NULL};
    assert_int_equal(sim_problem_make(w, 1, 1, &p), 0);
    char *prompt = tpl_prompt(&t, p.text, NULL, 0);
    json_t *req = completion_req("sim-weak", prompt, 256, 1);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    free(prompt);
    sim_problem_clear(&p);
    sim_world_destroy(&w);
    return text;
}


/* Every fault kind at rate 1, on its own server. */
static void
test_faults_each_kind(void **state)
{
    (void)state;
    char *body = valid_body();
    char url[160];
    server_t sv;
    test_reply_t r;

    /* 500 */
    const char *e500[] = {"--fail-500", "1", NULL};
    start_server(&sv, "weak", e500);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (int i = 0; i < 5; i++) {
        http(url, body, strlen(body), 5000, &r);
        check_error(&r, 500);
        resp_clear(&r);
    }
    stop_server(&sv);

    /* 429 with Retry-After */
    const char *e429[] = {"--fail-429", "1", "--retry-after", "7", NULL};
    start_server(&sv, "weak", e429);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (int i = 0; i < 5; i++) {
        http(url, body, strlen(body), 5000, &r);
        check_error(&r, 429);
        assert_string_equal(r.retry_after, "7");
        resp_clear(&r);
    }
    stop_server(&sv);

    /* malformed: 200, not JSON */
    const char *emal[] = {"--malformed", "1", NULL};
    start_server(&sv, "weak", emal);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (int i = 0; i < 5; i++) {
        http(url, body, strlen(body), 5000, &r);
        assert_int_equal(r.status, 200);
        assert_true(r.len > 0);
        assert_null(json_loadb(r.body, r.len, 0, NULL));
        resp_clear(&r);
    }
    stop_server(&sv);

    /* truncated: 200, Content-Length of the cut body, not parseable */
    const char *etr[] = {"--truncate", "1", NULL};
    start_server(&sv, "weak", etr);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (int i = 0; i < 5; i++) {
        http(url, body, strlen(body), 5000, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_true(r.len > 20);
        assert_int_equal(r.content_length, (curl_off_t)r.len);
        assert_true(r.body[0] == '{');
        assert_null(json_loadb(r.body, r.len, 0, NULL));
        resp_clear(&r);
    }
    stop_server(&sv);

    /* dropped: no response at all */
    const char *edrop[] = {"--drop", "1", NULL};
    start_server(&sv, "weak", edrop);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (int i = 0; i < 5; i++) {
        http(url, body, strlen(body), 5000, &r);
        assert_true(r.rc == CURLE_GOT_NOTHING || r.rc == CURLE_RECV_ERROR);
        assert_int_equal(r.status, 0);
        resp_clear(&r);
    }
    stop_server(&sv);

    /* slow: the client times out; the server still stops promptly */
    const char *eslow[] = {"--slow", "1", "--slow-ms", "5000", NULL};
    start_server(&sv, "weak", eslow);
    url_of(&sv, "/v1/completions", url, sizeof url);
    http(url, body, strlen(body), 300, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_clear(&r);
    /* /health is never faulted */
    url_of(&sv, "/health", url, sizeof url);
    http(url, NULL, 0, 2000, &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    stop_server(&sv);

    free(body);
}


/* 200 requests at --fail-500 0.5: the 500s, as a bit string. */
static void
fault_pattern(const char *seed, char *bits, size_t n)
{
    const char *extra[] = {"--fail-500", "0.5", "--fault-seed", seed, NULL};
    char *body = valid_body();
    char url[160];
    server_t sv;
    test_reply_t r;

    start_server(&sv, "weak", extra);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (size_t i = 0; i < n; i++) {
        http(url, body, strlen(body), 5000, &r);
        assert_true(r.status == 200 || r.status == 500);
        bits[i] = r.status == 500 ? '1' : '0';
        resp_clear(&r);
    }
    bits[n] = '\0';
    stop_server(&sv);
    free(body);
}


/* Rate about P, and the same requests fail for the same seed. */
static void
test_fault_rate_deterministic(void **state)
{
    (void)state;
    char a[201], b[201], c[201];
    int ones = 0;

    fault_pattern("42", a, 200);
    fault_pattern("42", b, 200);
    fault_pattern("43", c, 200);
    for (int i = 0; i < 200; i++)
        ones += a[i] == '1';
    assert_true(ones >= 70 && ones <= 130);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
}


/*
** The latency is slept: one request is answered no sooner than its latency
** (a lower bound: a slow machine only makes it later), and four sent at once
** are all answered.  That four take about one latency, not four, is a
** figure: bench_sim prints it.
*/
static void
test_latency(void **state)
{
    (void)state;
    const char *extra[] = {"--base-ms", "300", "--threads", "4", NULL};
    char *body = valid_body();
    char url[160];
    server_t sv;
    test_reply_t r[4];
    CURL *e[4];
    struct curl_slist *h[4];
    CURLM *m = curl_multi_init();
    int running;

    start_server(&sv, "weak", extra);
    url_of(&sv, "/v1/completions", url, sizeof url);

    double t0 = now_ms();
    http(url, body, strlen(body), 5000, &r[0]);
    double one = now_ms() - t0;
    assert_int_equal(r[0].status, 200);
    assert_true(one >= 295);
    resp_clear(&r[0]);

    for (int i = 0; i < 4; i++) {
        e[i] = easy(url, body, strlen(body), 10000, &r[i], &h[i]);
        curl_multi_add_handle(m, e[i]);
    }
    do {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    } while (running);
    for (int i = 0; i < 4; i++) {
        test_reply_finish(e[i], CURLE_OK, &r[i]); /* its status tells */
        assert_int_equal(r[i].status, 200);
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
        curl_slist_free_all(h[i]);
        resp_clear(&r[i]);
    }
    curl_multi_cleanup(m);
    stop_server(&sv);
    free(body);
}


/* --record: one JSON line per request, with the body sent. */
static void
test_record(void **state)
{
    (void)state;
    char path[512];
    test_tmp_path(path, sizeof path, "record.jsonl");
    const char *extra[] = {"--record", path, NULL};
    char *body = valid_body();
    const char *bodies[3] = {body, "{\"prompt\":\"x\"}", "not json"};
    char url[160];
    server_t sv;
    test_reply_t r;

    start_server(&sv, "weak", extra);
    url_of(&sv, "/v1/completions", url, sizeof url);
    for (int i = 0; i < 3; i++) {
        http(url, bodies[i], strlen(bodies[i]), 5000, &r);
        resp_clear(&r);
    }
    url_of(&sv, "/v1/models", url, sizeof url);
    http(url, NULL, 0, 5000, &r);
    resp_clear(&r);
    stop_server(&sv);

    FILE *f = fopen(path, "r");
    char line[65536];
    int posts = 0, models = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_object_size(j), 3);
        const char *method = str_at(j, "method"), *p = str_at(j, "path");
        if (strcmp(method, "POST") == 0) {
            assert_true(posts < 3);
            assert_string_equal(p, "/v1/completions");
            assert_string_equal(str_at(j, "body"), bodies[posts]);
            posts++;
        } else {
            assert_string_equal(method, "GET");
            assert_true(json_is_string(json_object_get(j, "body")));
            models += strcmp(p, "/v1/models") == 0;
        }
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(posts, 3);
    assert_int_equal(models, 1);
    free(body);
}


/* --bind HOST:0 picks a free port and prints the URL; SIGINT stops it. */
static void
test_port_zero_and_sigint(void **state)
{
    (void)state;
    char log[512], url[160];
    test_tmp_path(log, sizeof log, "port0.log");
    char *argv[] = {(char *)test_bin(), "sim-server",  "--sim-model", "prm",
                    "--bind",           "127.0.0.1:0", NULL};
    int pid = test_spawn(log, argv);
    int port = 0;
    test_reply_t r;

    for (int i = 0; i < 500 && port == 0; i++) {
        FILE *f = fopen(log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            sscanf(line, "sim-server prm listening on http://127.0.0.1:%d",
                   &port);
        if (f)
            fclose(f);
        if (port == 0)
            assert_int_equal(test_wait_child(pid, 20), -1);
    }
    assert_true(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
    http(url, NULL, 0, 5000, &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    kill(pid, SIGINT);
    assert_int_equal(test_wait_child(pid, 10000), 0);

    /* bad flags exit 2 */
    int status;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s sim-server --sim-model medium 2>/dev/null",
             test_bin());
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
    snprintf(cmd, sizeof cmd,
             "%s sim-server --sim-model weak --fail-500 1.5 2>/dev/null",
             test_bin());
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
    snprintf(cmd, sizeof cmd,
             "%s sim-server --sim-model weak --bind nonsense 2>/dev/null",
             test_bin());
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completions_parity),
        cmocka_unit_test(test_completions_length_batch_strong),
        cmocka_unit_test(test_chat),
        cmocka_unit_test(test_pooling),
        cmocka_unit_test(test_endpoints_and_errors),
        cmocka_unit_test(test_faults_each_kind),
        cmocka_unit_test(test_fault_rate_deterministic),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_port_zero_and_sigint),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
