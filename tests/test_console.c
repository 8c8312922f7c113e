/*
** test_console.c: `trim console`'s JSON API against a store made by
** `trim run`, through the real binary over HTTP.
**
** The runs' numbers equal `trim run --json`'s; each problem filter walked
** page by page (keyset cursors) gives exactly the problems SQL finds, in
** order, none twice; a route trace pairs each regenerated draft with its
** strong step and carries the schema v6 timings and dollars; two runs
** compared pair the problems SQL pairs by source; every bad
** query argument is a 400 naming it; a problem whose text is markup comes
** back as the same text; nothing writes (other methods are 405, the files
** are unchanged, SQL in a search is only text); the gateway's /console/
** mount serves the same API behind its keys.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "http_reply.h"
#include "testutil.h"

#define PROBLEMS 30
#define MARKUP   "<script>document.title=\"pwned\";window.pwned=1</script>"

static char g_dir[64], g_db[128];
static json_t *g_run_json; /* `trim run --json` of run 1 */
static int g_pid, g_port;


/* Run `trim ARGS` in the scratch directory; its stdout (malloc'd). */
static char *
trim(int *status, const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>>stderr", g_dir, test_bin(),
             args);
    return test_capture(cmd, status);
}


/*
** Start `trim ARGV...` with its stdout on a pipe and read the first line
** (what it prints once it listens, with the port picked for port 0); the
** port is the number after the last ':' of the URL in it.  Returns the pid.
*/
static int
start_server(int *port, char *const argv[])
{
    int fd[2], pid;
    char line[512] = "";
    size_t n = 0;

    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char log[256];
        snprintf(log, sizeof log, "%s/server.log", g_dir);
        dup2(fd[1], 1);
        if (freopen(log, "a", stderr) == NULL)
            _exit(127);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    while (n + 1 < sizeof line) {
        struct pollfd p = {fd[0], POLLIN, 0};
        assert_int_equal(poll(&p, 1, 20000), 1); /* bounded: 20 s */
        ssize_t got = read(fd[0], line + n, 1);
        assert_true(got == 1);
        if (line[n++] == '\n')
            break;
    }
    close(fd[0]);
    line[n] = '\0';
    const char *url = strstr(line, "http://");
    assert_non_null(url);
    const char *colon = strchr(url + 7, ':');
    assert_non_null(colon);
    *port = atoi(colon + 1);
    assert_true(*port > 0);
    return pid;
}


static void
stop_server(int pid)
{
    int status;

    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}


/* method (NULL: GET) port path (formatted), with an optional header line. */
static test_reply_t
request(const char *method, int port, const char *hdr, const char *fmt, ...)
{
    test_reply_t r;
    char path[1024], url[1200];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    test_reply_capture(c, &r);
    if (method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (hdr != NULL) {
        h = curl_slist_append(h, hdr);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    test_reply_finish(c, curl_easy_perform(c), &r);
    assert_int_equal(r.rc, CURLE_OK);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}


/* GET an API path of the console; the JSON answer, status checked. */
static json_t *
api(long status, const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    json_error_t je;

    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    test_reply_t r = request(NULL, g_port, NULL, "%s", path);
    if (r.status != status)
        fail_msg("GET %s: %ld, expected %ld: %s", path, r.status, status,
                 r.body);
    json_t *j = json_loads(r.body, 0, &je);
    if (j == NULL)
        fail_msg("GET %s: not JSON (%s): %.300s", path, je.text, r.body);
    free(r.body);
    return j;
}


/* A 400 for path that names param. */
static void
expect_400(const char *param, const char *path)
{
    json_t *j = api(400, "%s", path);
    const char *named = json_string_value(
        json_object_get(json_object_get(j, "error"), "param"));
    if (named == NULL || strcmp(named, param) != 0)
        fail_msg("GET %s: error names %s, expected %s", path,
                 named ? named : "nothing", param);
    json_decref(j);
}


static int64_t
jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer %s", key);
    return json_integer_value(v);
}


static double
jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("no number %s", key);
    return json_number_value(v);
}


/* The size and mtime of the store's files, to see that nothing wrote. */
static void
files_state(char *out, size_t len)
{
    const char *suffix[] = {"", "-wal"};
    size_t used = 0;

    for (int i = 0; i < 2; i++) {
        char path[160];
        struct stat st = {0};
        snprintf(path, sizeof path, "%s%s", g_db, suffix[i]);
        if (stat(path, &st) != 0)
            st.st_size = -1;
        used +=
            (size_t)snprintf(out + used, len - used, "%s %lld %lld.%09ld;",
                             path, (long long)st.st_size,
                             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
}


static int
setup(void **state)
{
    char *out, prices[160];
    int status;
    sqlite3 *db;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_scratch_dir(g_dir, sizeof g_dir, "console");
    snprintf(g_db, sizeof g_db, "%s/trim.db", g_dir);
    out = trim(&status,
               "run --db trim.db --problems %d --policy thr:0.5 "
               "--json --no-progress",
               PROBLEMS);
    assert_int_equal(status, 0);
    g_run_json = json_loads(out, 0, NULL);
    assert_non_null(g_run_json);
    free(out);
    free(trim(&status,
              "run --db trim.db --problems %d --policy strong "
              "--no-progress",
              PROBLEMS));
    assert_int_equal(status, 0);
    free(trim(&status,
              "run --db trim.db --problems %d --policy weak "
              "--no-progress",
              PROBLEMS));
    assert_int_equal(status, 0);
    /* Run 4: one problem whose recorded text is markup, as a hostile
    ** user or model could leave it. */
    assert_int_equal(sqlite3_open(g_db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            db,
            "INSERT INTO runs (run_id, policy, seed, config, started_ms,"
            " finished_ms) VALUES (4, 'thr:0.5', 1, '{}', 1, 2);"
            "INSERT INTO problems (problem_id, run_id, source, text,"
            " ground_truth, status, final_answer, correct, steps,"
            " regenerated_steps, weak_tokens, strong_tokens,"
            " discarded_tokens, prm_tokens, error, created_ms, finished_ms)"
            " VALUES (1000, 4, 'x:1', '" MARKUP "', '<b>7</b>', 'finished',"
            " '<img src=x onerror=\"window.pwned=2\">', 0, 1, 0, 5, 0, 0, 9,"
            " NULL, 1, 2);"
            "INSERT INTO steps (problem_id, step_index, kind, attempt, text,"
            " prompt_tokens, completion_tokens, finish, prm_score,"
            " prm_tokens, decision, policy, reason, accepted, latency_us,"
            " created_ms) VALUES (1000, 0, 'draft', 0, '" MARKUP "', 10, 5,"
            " 1, 0.9, 9, 'keep', 'thr:0.5', '<i>because</i>', 1, 10, 1);",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    snprintf(prices, sizeof prices, "%s/prices.json", g_dir);
    test_write_file(prices, "{\"models\": {\"s\": {\"input_usd_per_mtok\": 0.1,"
                            " \"output_usd_per_mtok\": 0.4},"
                            " \"l\": {\"input_usd_per_mtok\": 2.5,"
                            " \"output_usd_per_mtok\": 10},"
                            " \"p\": {\"input_usd_per_mtok\": 0.2,"
                            " \"output_usd_per_mtok\": 0}},"
                            " \"roles\": {\"weak\": \"s\", \"strong\": \"l\","
                            " \"prm\": \"p\"}}");
    char *const argv[] = {
        (char *)test_bin(), "console",  "--db", g_db, "--listen",
        "127.0.0.1:0",      "--prices", prices, NULL};
    g_pid = start_server(&g_port, argv);
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    stop_server(g_pid);
    json_decref(g_run_json);
    curl_global_cleanup();
    return test_remove_tree(g_dir);
}


/* The runs, their totals as `trim run` printed them, and their pages. */
static void
test_runs(void **state)
{
    (void)state;
    json_t *j = api(200, "/api/runs");
    json_t *runs = json_object_get(j, "runs");
    assert_int_equal(json_array_size(runs), 4);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_t *r1 = json_array_get(runs, 0);
    assert_int_equal(jint(r1, "run_id"), 1);
    assert_string_equal(json_string_value(json_object_get(r1, "policy")),
                        "thr:0.5");
    assert_int_equal(jint(r1, "problems"), PROBLEMS);
    assert_int_equal(jint(r1, "correct"), jint(g_run_json, "correct"));
    assert_int_equal(jint(r1, "strong_tokens"),
                     jint(g_run_json, "strong_tokens"));
    assert_int_equal(jint(r1, "weak_tokens"), jint(g_run_json, "weak_tokens"));
    assert_float_equal(json_real_value(json_object_get(r1, "accuracy")),
                       json_real_value(json_object_get(g_run_json, "accuracy")),
                       1e-6); /* trim run prints 6 digits */
    assert_float_equal(
        json_real_value(json_object_get(r1, "strong_share")),
        json_real_value(json_object_get(g_run_json, "strong_token_share")),
        1e-6); /* trim run prints 6 digits */
    /* Priced: the strong-only run costs more than the weak-only one. */
    double strong = json_real_value(json_object_get(
        json_object_get(json_array_get(runs, 1), "dollars"), "total"));
    double weak = json_real_value(json_object_get(
        json_object_get(json_array_get(runs, 2), "dollars"), "total"));
    assert_true(strong > weak && weak > 0);
    json_decref(j);

    /* Pages of two: 1 2, then 3 4 and no next. */
    j = api(200, "/api/runs?limit=2");
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 2);
    assert_int_equal(jint(j, "next"), 2);
    json_decref(j);
    j = api(200, "/api/runs?limit=2&after=2");
    assert_int_equal(
        jint(json_array_get(json_object_get(j, "runs"), 0), "run_id"), 3);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);

    /* Runs 1 and 2 solved the same problems: every pair is counted once. */
    j = api(200, "/api/compare?a=1&b=2");
    json_t *p = json_object_get(j, "paired");
    assert_int_equal(jint(p, "paired"), PROBLEMS);
    assert_int_equal(jint(p, "both_correct") + jint(p, "a_only") +
                         jint(p, "b_only") + jint(p, "neither"),
                     PROBLEMS);
    assert_int_equal(jint(p, "both_correct") + jint(p, "a_only"),
                     jint(g_run_json, "correct"));
    json_decref(j);
}


/*
** Walk every page of /api/problems?run=1&FILTER with limit per page and
** check the ids against SQL's (WHERE given) in order.
*/
static void
walk(sqlite3 *db, const char *filter, const char *where, int limit)
{
    char sql[512];
    sqlite3_stmt *st;
    int64_t after = 0, seen = 0;

    snprintf(sql, sizeof sql,
             "SELECT problem_id FROM problems WHERE run_id = 1 AND (%s)"
             " ORDER BY problem_id",
             where);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    for (;;) {
        json_t *j = api(200, "/api/problems?run=1&limit=%d&after=%lld%s", limit,
                        (long long)after, filter);
        json_t *rows = json_object_get(j, "problems"), *row;
        size_t i;
        assert_true(json_array_size(rows) <= (size_t)limit);
        json_array_foreach(rows, i, row)
        {
            if (sqlite3_step(st) != SQLITE_ROW)
                fail_msg("%s: problem %lld beyond SQL's", filter,
                         (long long)jint(row, "problem_id"));
            assert_int_equal(jint(row, "problem_id"),
                             sqlite3_column_int64(st, 0));
            seen++;
        }
        json_t *next = json_object_get(j, "next");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        /* A full page ends where the cursor points. */
        assert_int_equal(json_array_size(rows), limit);
        assert_int_equal(
            json_integer_value(next),
            jint(json_array_get(rows, (size_t)limit - 1), "problem_id"));
        after = json_integer_value(next);
        json_decref(j);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        fail_msg("%s: SQL finds more than the %lld pages hold", filter,
                 (long long)seen);
    sqlite3_finalize(st);
}


static void
test_problem_filters(void **state)
{
    sqlite3 *db;
    char word[64], filter[128], where[160];

    (void)state;
    assert_int_equal(sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_true(sql_int(db, "SELECT count(*) FROM problems WHERE run_id = 1"
                            " AND correct = 0") > 0);
    assert_true(sql_int(db, "SELECT count(*) FROM problems WHERE run_id = 1"
                            " AND regenerated_steps > 0") > 0);
    walk(db, "", "1", 7);
    walk(db, "", "1", PROBLEMS); /* exactly one full page, then an empty */
    walk(db, "&outcome=correct", "status = 'finished' AND correct = 1", 4);
    walk(db, "&outcome=wrong", "status = 'finished' AND correct = 0", 3);
    walk(db, "&outcome=failed", "status = 'failed'", 5);
    walk(db, "&regenerated=yes", "regenerated_steps > 0", 6);
    walk(db, "&regenerated=no&outcome=correct",
         "regenerated_steps = 0 AND correct = 1 AND status = 'finished'", 2);
    /* Text: the first word of problem 3 (a name), in any case. */
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT text FROM problems WHERE problem_id = 3",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sscanf((const char *)sqlite3_column_text(st, 0), "%63[A-Za-z]", word);
    sqlite3_finalize(st);
    snprintf(filter, sizeof filter, "&text=%s", word);
    for (char *p = filter + 6; *p; p++)
        *p = (char)(*p ^ 0x20); /* swap the case: the search ignores it */
    snprintf(where, sizeof where, "instr(lower(text), lower('%s')) > 0", word);
    walk(db, filter, where, 2);
    sqlite3_close(db);
}


/* Problem 1000's markup comes back as the same text, nothing else. */
static void
test_markup_is_text(void **state)
{
    (void)state;
    json_t *j = api(200, "/api/problem?id=1000");
    json_t *p = json_object_get(j, "problem");
    assert_string_equal(json_string_value(json_object_get(p, "text")), MARKUP);
    json_t *draft = json_object_get(
        json_array_get(json_object_get(j, "steps"), 0), "draft");
    assert_string_equal(json_string_value(json_object_get(draft, "text")),
                        MARKUP);
    assert_string_equal(json_string_value(json_object_get(draft, "reason")),
                        "<i>because</i>");
    json_decref(j);
    j = api(200, "/api/problems?run=4&text=%%3Cscript%%3E");
    assert_int_equal(json_array_size(json_object_get(j, "problems")), 1);
    json_decref(j);
}


/* A trace: drafts, decisions, the strong steps that replaced them. */
static void
test_trace(void **state)
{
    sqlite3 *db;
    int64_t id;

    (void)state;
    assert_int_equal(sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    id = sql_int(db, "SELECT min(problem_id) FROM problems WHERE run_id = 1"
                     " AND regenerated_steps > 0");
    int64_t regenerated =
        sql_int(db,
                "SELECT regenerated_steps FROM problems WHERE "
                "problem_id = %lld",
                (long long)id);
    int64_t rows = sql_int(db,
                           "SELECT count(DISTINCT step_index) FROM steps WHERE"
                           " problem_id = %lld",
                           (long long)id);
    sqlite3_close(db);

    json_t *j = api(200, "/api/problem?id=%lld&run=1", (long long)id);
    assert_float_equal(json_real_value(json_object_get(j, "threshold")), 0.5,
                       0);
    assert_non_null(json_object_get(json_object_get(j, "problem"), "dollars"));
    json_t *steps = json_object_get(j, "steps"), *s;
    size_t i;
    int64_t strong = 0;
    assert_int_equal(json_array_size(steps), rows);
    json_array_foreach(steps, i, s)
    {
        json_t *d = json_object_get(s, "draft");
        json_t *g = json_object_get(s, "strong");
        assert_int_equal(jint(s, "step_index"), (int64_t)i);
        assert_true(json_is_object(d));
        const char *decision =
            json_string_value(json_object_get(d, "decision"));
        double score = json_real_value(json_object_get(d, "prm_score"));
        /* thr:0.5 regenerates exactly the drafts scored under 0.5 */
        assert_true(decision != NULL);
        assert_int_equal(strcmp(decision, "regenerate") == 0, score < 0.5);
        assert_int_equal(json_is_object(g),
                         strcmp(decision, "regenerate") == 0);
        assert_non_null(json_object_get(d, "queue_us")); /* schema v6 */
        assert_non_null(json_object_get(d, "dollars"));
        if (json_is_object(g)) {
            strong++;
            assert_int_equal(jint(g, "accepted"), 1);
            assert_int_equal(jint(d, "accepted"), 0);
            assert_true(json_real_value(json_object_get(
                            json_object_get(g, "dollars"), "strong")) > 0);
        }
    }
    assert_int_equal(strong, regenerated);
    json_decref(j);
    /* The problem is not in run 2. */
    json_decref(api(404, "/api/problem?id=%lld&run=2", (long long)id));
}


/* The ids of the pairs of runs a and b that differ, as SQL finds them. */
static size_t
sql_differ(int a, int b, int64_t *ids, size_t max)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n = 0;

    assert_int_equal(sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT x.problem_id FROM problems x JOIN problems y"
                           " ON y.source = x.source AND y.run_id = ?2"
                           " WHERE x.run_id = ?1 AND (x.correct <> y.correct"
                           " OR x.status <> y.status) ORDER BY x.problem_id",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int(st, 1, a);
    sqlite3_bind_int(st, 2, b);
    while (sqlite3_step(st) == SQLITE_ROW && n < max)
        ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}


/*
** Compare's pairs that differ are SQL's, in run a's order, cut at limit;
** a problem without a source, or whose source comes twice in its run,
** pairs with nothing.
*/
static void
test_compare(void **state)
{
    int64_t ids[PROBLEMS];
    char edge[160];
    int status, port, pid;

    (void)state;
    size_t n = sql_differ(1, 3, ids, PROBLEMS);
    assert_true(n > 0); /* thr:0.5 and weak-only disagree somewhere */
    json_t *j = api(200, "/api/compare?a=1&b=3&limit=1000");
    json_t *differ = json_object_get(j, "differ");
    assert_int_equal(json_array_size(differ), n);
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(differ, i);
        assert_int_equal(jint(d, "a_problem"), ids[i]);
        assert_true(jint(d, "a_correct") != jint(d, "b_correct") ||
                    !json_equal(json_object_get(d, "a_status"),
                                json_object_get(d, "b_status")));
    }
    json_decref(j);
    j = api(200, "/api/compare?a=1&b=3&limit=1");
    assert_int_equal(json_array_size(json_object_get(j, "differ")), 1);
    assert_int_equal(
        jint(json_array_get(json_object_get(j, "differ"), 0), "a_problem"),
        ids[0]);
    json_decref(j);

    /* A store of two runs of 6 problems: in each, the first problem loses
    ** its source, and run 2's third takes its second's. */
    free(trim(&status, "run --db edge.db --problems 6 --policy strong "
                       "--no-progress"));
    assert_int_equal(status, 0);
    free(trim(&status, "run --db edge.db --problems 6 --policy weak "
                       "--no-progress"));
    assert_int_equal(status, 0);
    snprintf(edge, sizeof edge, "%s/edge.db", g_dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(edge, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "UPDATE problems SET source = NULL WHERE problem_id IN"
                     " (SELECT min(problem_id) FROM problems GROUP BY run_id);"
                     "UPDATE problems SET source = (SELECT source FROM problems"
                     " WHERE run_id = 2 ORDER BY problem_id LIMIT 1 OFFSET 1)"
                     " WHERE problem_id = (SELECT problem_id FROM problems"
                     " WHERE run_id = 2 ORDER BY problem_id LIMIT 1 OFFSET 2);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    char *const argv[] = {(char *)test_bin(), "console",     "--db", edge,
                          "--listen",         "127.0.0.1:0", NULL};
    pid = start_server(&port, argv);
    test_reply_t r = request(NULL, port, NULL, "/api/compare?a=1&b=2");
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    free(r.body);
    /* 6 - the two without a source - the twice-seen one and its partner */
    json_t *p = json_object_get(j, "paired");
    assert_int_equal(jint(p, "paired"), 3);
    assert_int_equal(jint(p, "both_correct") + jint(p, "a_only") +
                         jint(p, "b_only") + jint(p, "neither"),
                     3);
    json_t *d;
    size_t i;
    json_array_foreach(json_object_get(j, "differ"), i, d)
    {
        assert_true(json_is_string(json_object_get(d, "source")));
    }
    json_decref(j);
    stop_server(pid);
}


/*
** /api/prices and /api/roi: the book as served; a run's measured dollars
** add up; a projection from the store's runs follows the prices a request
** gives, and the same request answers the same (the curve kept); a run
** that is not there is a 404.
*/
static void
test_roi(void **state)
{
    (void)state;
    json_t *j = api(200, "/api/prices");
    json_t *strong = json_object_get(
        json_object_get(json_object_get(j, "prices"), "roles"), "strong");
    assert_string_equal(json_string_value(json_object_get(strong, "model")),
                        "l");
    assert_float_equal(jnum(strong, "input"), 2.5, 1e-12);
    json_decref(j);

    j = api(200, "/api/roi?run=1&baseline_run=2");
    assert_string_equal(json_string_value(json_object_get(j, "kind")),
                        "measured");
    assert_int_equal(jint(j, "problems"), PROBLEMS);
    assert_true(jnum(j, "usd") > 0);
    assert_float_equal(jnum(j, "usd_per_problem") * PROBLEMS, jnum(j, "usd"),
                       1e-9);
    json_decref(j);
    json_decref(api(404, "/api/roi?run=99"));
    json_decref(api(404, "/api/roi?run=1&baseline_run=99"));
    expect_400("target_accuracy",
               "/api/roi?volume=10&target_accuracy=0.5&target_pgr=0.5");

    const char *path = "/api/roi?source=store&volume=1000&target_pgr=0.5";
    json_t *a = api(200, "%s", path), *b = api(200, "%s", path);
    assert_true(json_equal(a, b));
    double strong_usd =
        jnum(json_object_get(json_object_get(a, "anchors"), "strong"),
             "usd_per_problem");
    assert_true(strong_usd > 0);
    assert_float_equal(jnum(a, "monthly_strong_only_usd"), 1000 * strong_usd,
                       1e-9 * strong_usd * 1000);
    json_decref(b);
    b = api(200, "%s&strong_input=0&strong_cached=0&strong_output=0", path);
    /* Strong steps free: only the PRM is left on the strong anchor. */
    assert_true(jnum(json_object_get(json_object_get(b, "anchors"), "strong"),
                     "usd_per_problem") < strong_usd);
    json_decref(a);
    json_decref(b);
}


/* Without a price book, /api/roi needs every price from the request. */
static void
test_roi_without_book(void **state)
{
    int port, pid;
    char *const argv[] = {(char *)test_bin(), "console",     "--db", g_db,
                          "--listen",         "127.0.0.1:0", NULL};

    (void)state;
    pid = start_server(&port, argv);
    test_reply_t r = request(NULL, port, NULL, "/api/prices");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"prices\":null"));
    free(r.body);
    r = request(NULL, port, NULL,
                "/api/roi?source=store&volume=10&target_pgr=0.5");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"param\":\"weak_input\""));
    assert_non_null(strstr(r.body, "no price book"));
    free(r.body);
    r = request(NULL, port, NULL,
                "/api/roi?source=store&volume=10&target_pgr=0.5"
                "&weak_input=1&weak_cached=1&weak_output=1"
                "&strong_input=10&strong_cached=10&strong_output=10"
                "&prm_input=0&prm_cached=0&prm_output=0");
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "prices"), "source")),
                        "the request");
    json_decref(j);
    free(r.body);
    stop_server(pid);
}


static void
test_bad_arguments(void **state)
{
    (void)state;
    expect_400("run", "/api/problems");
    expect_400("run", "/api/problems?run=abc");
    expect_400("run", "/api/problems?run=0");
    expect_400("run", "/api/problems?run=%201");
    expect_400("run", "/api/problems?run=1&run=2");
    expect_400("limit", "/api/problems?run=1&limit=0");
    expect_400("limit", "/api/problems?run=1&limit=501");
    expect_400("after", "/api/problems?run=1&after=-1");
    expect_400("after", "/api/problems?run=1&after=1e3");
    expect_400("outcome", "/api/problems?run=1&outcome=bogus");
    expect_400("regenerated", "/api/problems?run=1&regenerated=maybe");
    expect_400("sort", "/api/problems?run=1&sort=text");
    expect_400("id", "/api/problem");
    expect_400("id", "/api/problem?id=x");
    expect_400("b", "/api/compare?a=1");
    expect_400("limit", "/api/runs?limit=100000");
    expect_400("volume", "/api/roi?target_pgr=0.5");
    expect_400("target_pgr", "/api/roi?volume=10&target_pgr=2");
    expect_400("weak_input", "/api/roi?volume=10&target_pgr=0.5&weak_input=-1");
    expect_400("source", "/api/roi?volume=10&target_pgr=0.5&source=eval");
    char path[400] = "/api/problems?run=1&text=";
    memset(path + strlen(path), 'a', 201);
    expect_400("text", path);
    json_decref(api(404, "/api/problem?id=999999"));
    json_decref(api(404, "/api/runs?run=99"));
    json_decref(api(404, "/api/nothing"));
}


/* Nothing the console serves can write. */
static void
test_read_only(void **state)
{
    char before[600], after[600];
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};

    (void)state;
    files_state(before, sizeof before);
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        test_reply_t r = request(methods[i], g_port, NULL, "/api/runs");
        assert_int_equal(r.status, 405);
        assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
        free(r.body);
    }
    /* SQL in a search is text to find, nothing more. */
    json_t *j = api(200, "/api/problems?run=1&text=%%27%%3B%%20DROP%%20TABLE"
                         "%%20problems%%3B%%20--");
    assert_int_equal(json_array_size(json_object_get(j, "problems")), 0);
    json_decref(j);
    j = api(200, "/api/runs");
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 4);
    json_decref(j);
    files_state(after, sizeof after);
    assert_string_equal(before, after);
}


/* The page and its script, and the headers every answer carries. */
static void
test_page_headers(void **state)
{
    (void)state;
    const char *paths[] = {"/", "/app.js", "/app.css", "/api/runs", "/nothing"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        test_reply_t r = request(NULL, g_port, NULL, "%s", paths[i]);
        assert_int_equal(r.status, i < 4 ? 200 : 404);
        assert_non_null(strstr(r.headers,
                               "Content-Security-Policy: default-src 'none'; "
                               "script-src 'self'"));
        assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
        assert_non_null(strstr(r.headers, "Server-Timing: app;dur="));
        free(r.body);
    }
    test_reply_t r = request(NULL, g_port, NULL, "/");
    assert_non_null(strstr(r.headers, "Content-Type: text/html"));
    assert_non_null(strstr(r.body, "<script src=\"app.js\""));
    assert_null(strstr(r.body, "http://")); /* nothing from elsewhere */
    assert_null(strstr(r.body, "https://"));
    free(r.body);
}


/* The status of GET path on port with the header line "Host: host". */
static long
status_for_host(int port, const char *host, const char *path)
{
    char hdr[300];

    snprintf(hdr, sizeof hdr, "Host: %s", host);
    test_reply_t r = request(NULL, port, hdr, "%s", path);
    free(r.body);
    return r.status;
}


/*
** DNS rebinding: a page whose name resolves to 127.0.0.1 reaches the
** console, but with its own name in Host, which gets 421 and no data.
*/
static void
test_host_header(void **state)
{
    char host[64], allow[64];
    int port, pid;

    (void)state;
    snprintf(host, sizeof host, "evil.example:%d", g_port);
    assert_int_equal(status_for_host(g_port, host, "/api/runs"), 421);
    assert_int_equal(status_for_host(g_port, host, "/"), 421);
    snprintf(host, sizeof host, "127.0.0.1:%d", g_port + 1);
    assert_int_equal(status_for_host(g_port, host, "/api/runs"), 421);
    assert_int_equal(status_for_host(g_port, "127.0.0.1", "/api/runs"), 421);
    const char *ours[] = {"127.0.0.1", "localhost", "LocalHost", "[::1]"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
        snprintf(host, sizeof host, "%s:%d", ours[i], g_port);
        assert_int_equal(status_for_host(g_port, host, "/api/runs"), 200);
    }
    /* --allow-host adds a name (a proxy's, say), and only that one. */
    snprintf(allow, sizeof allow, "console.example,other.example");
    char *const argv[] = {
        (char *)test_bin(), "console",      "--db", g_db, "--listen",
        "127.0.0.1:0",      "--allow-host", allow,  NULL};
    pid = start_server(&port, argv);
    snprintf(host, sizeof host, "other.example:%d", port);
    assert_int_equal(status_for_host(port, host, "/api/runs"), 200);
    snprintf(host, sizeof host, "evil.example:%d", port);
    assert_int_equal(status_for_host(port, host, "/api/runs"), 421);
    stop_server(pid);
}


/* The gateway's /console/: the same API, behind the gateway's keys. */
static void
test_gateway_mount(void **state)
{
    char keys[160];
    int port, pid;

    (void)state;
    snprintf(keys, sizeof keys, "%s/keys", g_dir);
    test_write_file(keys, "alice sk-alice-0123456789\n");
    char *const argv[] = {(char *)test_bin(),
                          "gateway",
                          "--listen",
                          "127.0.0.1:0",
                          "--connect",
                          "tcp://127.0.0.1:1",
                          "--console",
                          "--db",
                          g_db,
                          "--api-keys",
                          keys,
                          "--log-level",
                          "warn",
                          NULL};
    pid = start_server(&port, argv);
    test_reply_t r = request(NULL, port, NULL, "/console/");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "app.js"));
    free(r.body);
    r = request(NULL, port, NULL, "/console/api/runs");
    assert_int_equal(r.status, 401);
    free(r.body);
    r = request(NULL, port, "Authorization: Bearer sk-alice-0123456789",
                "/console/api/runs");
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 4);
    json_decref(j);
    free(r.body);
    r = request("POST", port, "Authorization: Bearer sk-alice-0123456789",
                "/console/api/runs");
    assert_int_equal(r.status, 405);
    free(r.body);
    stop_server(pid);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_problem_filters),
        cmocka_unit_test(test_markup_is_text),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_roi),
        cmocka_unit_test(test_roi_without_book),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_page_headers),
        cmocka_unit_test(test_host_header),
        cmocka_unit_test(test_gateway_mount),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
