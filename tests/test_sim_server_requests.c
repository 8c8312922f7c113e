/*
** test_sim_server_requests.c: how `trim sim-server` reads request fields.
**
** A chat message's content given as a list of text parts means the same as
** the joined string; /pooling takes a list of inputs and scores each as if
** sent alone; every malformed field is refused with 400 and a message
** naming it; the request record stays valid JSON for bodies and paths that
** are not UTF-8; --bind refuses a malformed or busy address.
** test_sim_server.c covers the response shapes, parity with the in-process
** simulator, faults and latency.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "sim.h"
#include "prompt.h"
#include "testutil.h"

typedef struct server {
    int pid;
    char url[64];
} server_t;


static size_t
append(char *data, size_t size, size_t n, void *user)
{
    char **body = user;
    size_t old = *body ? strlen(*body) : 0;
    char *b = realloc(*body, old + size * n + 1);
    assert_non_null(b);
    memcpy(b + old, data, size * n);
    b[old + size * n] = '\0';
    *body = b;
    return size * n;
}


/* POST body (NULL: GET) to the server's path; the status, *reply the body. */
static long
request(const server_t *sv, const char *path, const char *body, char **reply)
{
    char url[160];
    long status = 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: "
                                                   "application/json");
    CURL *c = curl_easy_init();

    assert_non_null(c);
    *reply = NULL;
    snprintf(url, sizeof url, "%s%s", sv->url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return rc == CURLE_OK ? status : -1;
}


/* Start `trim sim-server --sim-model MODEL` with extra flags (NULL-ended)
** and wait (bounded) until it answers /health. */
static void
start(server_t *sv, const char *model, const char *log, ...)
{
    char bind[32], *argv[16], *reply;
    int argc = 0, port = test_free_port();
    va_list ap;

    snprintf(bind, sizeof bind, "127.0.0.1:%d", port);
    snprintf(sv->url, sizeof sv->url, "http://%s", bind);
    argv[argc++] = (char *)test_bin();
    argv[argc++] = "sim-server";
    argv[argc++] = "--sim-model";
    argv[argc++] = (char *)model;
    argv[argc++] = "--bind";
    argv[argc++] = bind;
    va_start(ap, log);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    sv->pid = test_spawn(log, argv);
    for (int i = 0; i < 1000; i++) {
        long st = request(sv, "/health", NULL, &reply);
        free(reply);
        if (st == 200)
            return;
        assert_int_equal(test_wait_child(sv->pid, 20), -1); /* still up */
    }
    fail_msg("sim-server %s never answered", model);
}


static void
stop(server_t *sv)
{
    kill(sv->pid, SIGTERM);
    assert_int_equal(test_wait_child(sv->pid, 10000), 0);
}


/* A simulated problem and its first n weak steps, as the workers would
** send them: *prompt for the models, *prm for the PRM (malloc'd). */
static void
problem(uint64_t index, int n, char **text, char **prm)
{
    char err[256], *steps[8];
    sim_problem_t p;
    sim_world_t *w = sim_world_new(NULL, NULL, err, sizeof err);
    tpl_t t = {TPL_CHATML, NULL, NULL};

    assert_non_null(w);
    assert_int_equal(sim_problem_make(w, 4, index, &p), 0);
    for (int i = 0; i < n; i++) {
        sim_step_t s;
        assert_int_equal(sim_generate(w, SIM_WEAK, p.text,
                                      (const char *const *)steps, (size_t)i,
                                      512, 100 + (uint64_t)i, &s, err,
                                      sizeof err),
                         0);
        steps[i] = s.text;
    }
    *prm = tpl_prm_input(&t, p.text, (const char *const *)steps, (size_t)n);
    *text = strdup(p.text);
    for (int i = 0; i < n; i++)
        free(steps[i]);
    sim_problem_clear(&p);
    sim_world_destroy(&w);
}


static void
test_chat_content_parts(void **state)
{
    (void)state;
    server_t sv;
    char log[160], *text, *prm, *a, *b;

    test_tmp_path(log, sizeof log, "weak.log");
    start(&sv, "weak", log, (char *)NULL);
    problem(1, 1, &text, &prm);

    /* The problem as one string, and cut into three text parts. */
    size_t third = strlen(text) / 3;
    json_t *one =
        json_pack("{s:[{s:s, s:s}], s:i, s:i}", "messages", "role", "user",
                  "content", text, "seed", 9, "max_tokens", 256);
    json_t *parts = json_pack(
        "{s:[{s:s, s:[{s:s, s:s#}, {s:s, s:s#}, {s:s, s:s}]}], s:i, s:i}",
        "messages", "role", "user", "content", "type", "text", "text", text,
        (int)third, "type", "text", "text", text + third, (int)third, "type",
        "text", "text", text + 2 * third, "seed", 9, "max_tokens", 256);
    char *body1 = json_dumps(one, JSON_COMPACT);
    char *body2 = json_dumps(parts, JSON_COMPACT);
    assert_int_equal(request(&sv, "/v1/chat/completions", body1, &a), 200);
    assert_int_equal(request(&sv, "/v1/chat/completions", body2, &b), 200);
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    const char *ca = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(ja, "choices"), 0),
                        "message"),
        "content"));
    const char *cb = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(jb, "choices"), 0),
                        "message"),
        "content"));
    assert_non_null(ca);
    assert_non_null(cb);
    assert_string_equal(ca, cb);
    json_decref(ja);
    json_decref(jb);
    free(a);
    free(b);
    free(body1);
    free(body2);
    json_decref(one);
    json_decref(parts);

    /* A part that is not text. */
    json_t *img =
        json_pack("{s:[{s:s, s:[{s:s, s:s}]}]}", "messages", "role", "user",
                  "content", "type", "image_url", "text", text);
    body1 = json_dumps(img, JSON_COMPACT);
    assert_int_equal(request(&sv, "/v1/chat/completions", body1, &a), 400);
    assert_non_null(strstr(a, "messages[0].content must be a string or a list "
                              "of {\\\"type\\\":\\\"text\\\",\\\"text\\\":...} "
                              "parts"));
    free(a);
    free(body1);
    json_decref(img);

    /* The weak model has no /pooling. */
    assert_int_equal(request(&sv, "/pooling", "{\"input\":\"x\"}", &a), 400);
    assert_non_null(strstr(a, "The model does not support Pooling API"));
    free(a);
    free(text);
    free(prm);
    stop(&sv);
}


static void
test_malformed_fields(void **state)
{
    (void)state;
    static const struct {
        const char *path, *body, *message;
    } cases[] = {
        {"/v1/completions", "{\"model\":5,\"prompt\":\"x\"}",
         "'model' must be a string"},
        {"/v1/completions", "{\"prompt\":\"x\",\"temperature\":\"hot\"}",
         "'temperature' must be a number"},
        {"/v1/completions", "{\"prompt\":\"x\",\"repetition_penalty\":[1]}",
         "'repetition_penalty' must be a number"},
        {"/v1/completions", "{\"prompt\":\"x\",\"top_k\":1.5}",
         "'top_k' must be an integer"},
        {"/v1/completions", "{\"prompt\":\"x\",\"n\":2}",
         "'n' must be in [1, 1], got 2"},
        {"/v1/completions", "{\"prompt\":\"x\",\"stop\":[\"a\",3]}",
         "'stop' must be a string or a list of strings"},
        {"/v1/completions", "{\"prompt\":\"x\",\"stop\":{}}",
         "'stop' must be a string or a list of strings"},
        {"/v1/chat/completions", "{\"messages\":[]}",
         "'messages' must be a non-empty list"},
        {"/v1/chat/completions", "{\"messages\":[{\"content\":\"x\"}]}",
         "messages[0] needs a string 'role'"},
        {"/v1/chat/completions",
         "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
         "'messages' has no user message with the problem"},
        {"/v1/chat/completions",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"continue_final_message\":true}",
         "Cannot set both `continue_final_message` and "
         "`add_generation_prompt` to True."},
        {"/v1/chat/completions",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"continue_final_message\":true,\"add_generation_prompt\":false}",
         "continue_final_message needs the last message to be the "
         "assistant's"},
        {"/v1/chat/completions",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"continue_final_message\":\"yes\"}",
         "'continue_final_message' must be a boolean"},
    };
    server_t sv;
    char log[160], *reply;

    test_tmp_path(log, sizeof log, "fields.log");
    start(&sv, "weak", log, (char *)NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long st = request(&sv, cases[i].path, cases[i].body, &reply);
        if (st != 400 || strstr(reply, cases[i].message) == NULL)
            fail_msg("%s: %ld %s; want 400 and '%s'", cases[i].body, st,
                     reply ? reply : "", cases[i].message);
        free(reply);
    }
    stop(&sv);
}


static void
test_pooling_lists(void **state)
{
    (void)state;
    static const struct {
        const char *body, *message;
    } bad[] = {
        {"{\"input\":[]}", "'input' (a string or a non-empty list of strings) "
                           "or 'messages' is required"},
        {"{\"input\":[1,2]}", "'input' must be a string or a list of strings "
                              "(token ids are not supported by the "
                              "simulator)"},
        {"{\"messages\":[{\"content\":\"x\"}]}",
         "messages[0] needs a string 'role'"},
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}",
         "'messages' has no user message with the problem"},
        {"{\"input\":[\"not a problem\"]}", "input 0 is not a"},
    };
    server_t sv;
    char log[160], *text[2], *prm[2], *single[2], *both;

    test_tmp_path(log, sizeof log, "prm.log");
    start(&sv, "prm", log, (char *)NULL);

    /* Two inputs at once score as each alone. */
    for (int i = 0; i < 2; i++) {
        problem((uint64_t)i + 3, 2 + i, &text[i], &prm[i]);
        json_t *req = json_pack("{s:s}", "input", prm[i]);
        char *body = json_dumps(req, JSON_COMPACT);
        assert_int_equal(request(&sv, "/pooling", body, &single[i]), 200);
        free(body);
        json_decref(req);
    }
    json_t *req = json_pack("{s:[s, s]}", "input", prm[0], prm[1]);
    char *body = json_dumps(req, JSON_COMPACT);
    assert_int_equal(request(&sv, "/pooling", body, &both), 200);
    json_t *jb = json_loads(both, 0, NULL);
    json_t *data = json_object_get(jb, "data");
    assert_int_equal(json_array_size(data), 2);
    for (int i = 0; i < 2; i++) {
        json_t *js = json_loads(single[i], 0, NULL);
        json_t *alone = json_array_get(json_object_get(js, "data"), 0);
        json_t *item = json_array_get(data, (size_t)i);
        assert_int_equal(json_integer_value(json_object_get(item, "index")), i);
        assert_true(json_equal(json_object_get(item, "data"),
                               json_object_get(alone, "data")));
        assert_int_equal(json_array_size(json_object_get(item, "data")), 2 + i);
        json_decref(js);
        free(single[i]);
        free(text[i]);
        free(prm[i]);
    }
    json_decref(jb);
    json_decref(req);
    free(body);
    free(both);

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *reply;
        long st = request(&sv, "/pooling", bad[i].body, &reply);
        if (st != 400 || strstr(reply, bad[i].message) == NULL)
            fail_msg("%s: %ld %s; want 400 and '%s'", bad[i].body, st,
                     reply ? reply : "", bad[i].message);
        free(reply);
    }
    stop(&sv);
}


static void
test_record_of_bytes_that_are_not_utf8(void **state)
{
    (void)state;
    static const char latin1[] = "{\"prompt\":\"caf\xe9\"}";
    server_t sv;
    char log[160], rec[160], *reply;

    /* A record file that cannot be opened stops the server at once. */
    char *argv[] = {
        (char *)test_bin(),     "sim-server", "--sim-model", "weak", "--record",
        "/nonexistent/r.jsonl", "--bind",     "127.0.0.1:0", NULL};
    test_tmp_path(log, sizeof log, "norecord.log");
    assert_int_equal(test_wait_child(test_spawn(log, argv), 30000), 1);
    assert_true(test_file_contains(
        log, "--record /nonexistent/r.jsonl: cannot open for appending"));

    test_tmp_path(log, sizeof log, "record.log");
    test_tmp_path(rec, sizeof rec, "record.jsonl");
    start(&sv, "weak", log, "--record", rec, (char *)NULL);
    assert_int_equal(request(&sv, "/v1/completions", latin1, &reply), 400);
    free(reply);
    /* The 404 quotes the path: its bad byte replaced, not a 500. */
    assert_int_equal(request(&sv, "/v1/\xfe", "{}", &reply), 404);
    assert_non_null(strstr(reply, "Not Found: /v1/?"));
    free(reply);
    stop(&sv);

    FILE *f = fopen(rec, "r");
    char line[4096];
    int posts = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j); /* every line is JSON */
        const char *path = json_string_value(json_object_get(j, "path"));
        if (strcmp(path, "/v1/completions") == 0) {
            /* The body is not text: its length stands in. */
            assert_true(json_is_null(json_object_get(j, "body")));
            assert_int_equal(
                json_integer_value(json_object_get(j, "body_bytes")),
                strlen(latin1));
            posts++;
        } else if (strcmp(path, "/health") != 0) {
            assert_string_equal(path, "/v1/?"); /* the bad byte replaced */
            posts++;
        }
        json_decref(j);
    }
    fclose(f);
    assert_int_equal(posts, 2);
}


/* --bind: a malformed address and a port already listening stop the
** server at once (exit 1), naming the address. */
static void
test_bind_errors(void **state)
{
    (void)state;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    char addr[64], want[128], cmd[512];
    int st;

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));

    /* A malformed address is a usage error (2); one in use fails the
    ** start (1). */
    const struct {
        const char *bind, *why;
        int code;
    } cases[] = {
        {addr, "Address already in use", 1},
        {"[::1", "expected [IPV6]:PORT, e.g. [::1]:5555", 2},
        {"[::1]:70000", "port '70000' is not in 0..65535", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(cmd, sizeof cmd,
                 "%s sim-server --sim-model weak --bind '%s' "
                 "2>&1",
                 test_bin(), cases[i].bind);
        char *out = test_capture(cmd, &st);
        snprintf(want, sizeof want, "trim sim-server: --bind '%s': %s",
                 cases[i].bind, cases[i].why);
        if (st != cases[i].code || strstr(out, want) == NULL)
            fail_msg("--bind %s: exit %d, '%s'; want %d and '%s'",
                     cases[i].bind, st, out, cases[i].code, want);
        free(out);
    }
    close(fd);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_content_parts),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_pooling_lists),
        cmocka_unit_test(test_record_of_bytes_that_are_not_utf8),
        cmocka_unit_test(test_bind_errors),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
