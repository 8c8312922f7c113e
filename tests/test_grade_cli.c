/*
** test_grade_cli.c: `trim grade` and `trim run --problems FILE.jsonl` end
** to end, through the real binary.
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

#include "skip.h"
#include "testutil.h"


static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}


/* Run a command; its stdout as JSON lines in an array. */
static json_t *
json_lines(const char *cmd, int *status)
{
    char *out = test_capture(cmd, status), *save = NULL;
    json_t *arr = json_array();

    for (char *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (j == NULL)
            fail_msg("not JSON (%s): %s", jerr.text, line);
        json_array_append_new(arr, j);
    }
    free(out);
    return arr;
}


static const char grade_input[] =
    "{\"answer\": \"\\\\frac{1}{2}\", \"prediction\": \"So it is "
    "$\\\\boxed{0.5}$.\"}\n"
    "{\"answer\": 27.0, \"prediction\": \"27\"}\n"
    "{\"answer\": \"Janet sells 9.\\n#### 18\", \"prediction\": \"9*2 = 18."
    "\\nThe answer is 18.\"}\n"
    "this line is not JSON\n"
    "{\"answer\": [\"$(1,2)$, $(3,4)$\"], \"prediction\": "
    "\"\\\\boxed{(3,4),(1,2)}\"}\n"
    "{\"answer\": \"12\", \"prediction\": \"First 3+4=7.\\nThen 7+4 = "
    "11\"}\n"
    "{\"prediction\": \"5\"}\n"
    "{\"answer\": \"(1,2)\", \"prediction\": \"[1,2]\"}\n"
    "{\"answer\": \"10\\\\%\", \"prediction\": \"0.1\"}\n"
    "{\"answer\": \"5\", \"prediction\": \"The result is 5\"}\n"
    "{\"answer\": \"\\\\text{Evelyn}\", \"prediction\": \"Evelyn\"}\n"
    "{\"answer\": \"27\", \"prediction\": 27}\n"
    "{\"answer\": \"\\\\frac14\", \"prediction\": 0.25}\n"
    "{\"answer\": \"3\", \"prediction\": true}\n";

/* line -> 1 equal, 0 not equal, -1 malformed */
static const int verdicts[] = {1, 1, 1, -1, 1, 0, -1, 0, 1, 1, 1, 1, 1, -1};
/* What was extracted (a number given as the prediction: its text). */
static const char *const extracted[] = {
    "0.5",   "27",  "18", NULL,     "(3,4),(1,2)", "11",   NULL,
    "[1,2]", "0.1", "5",  "Evelyn", "27",          "0.25", NULL};
#define N_LINES (sizeof verdicts / sizeof *verdicts)


static void
test_grade_file_json(void **state)
{
    (void)state;
    char path[512], cmd[1024];
    int status, equal = 0, graded = 0;

    test_tmp_path(path, sizeof path, "grade.jsonl");
    write_file(path, grade_input);
    snprintf(cmd, sizeof cmd, "%s grade --json %s 2>/dev/null", test_bin(),
             path);
    json_t *arr = json_lines(cmd, &status);
    assert_int_equal(status, 0);
    assert_int_equal(json_array_size(arr), N_LINES + 1); /* and the total */
    for (size_t i = 0; i < N_LINES; i++) {
        json_t *o = json_array_get(arr, i);
        assert_int_equal(json_integer_value(json_object_get(o, "line")),
                         (json_int_t)i + 1);
        if (verdicts[i] < 0) {
            assert_non_null(json_string_value(json_object_get(o, "error")));
            continue;
        }
        graded++;
        equal += verdicts[i];
        assert_int_equal(json_is_true(json_object_get(o, "equal")),
                         verdicts[i]);
        assert_string_equal(json_string_value(json_object_get(o, "extracted")),
                            extracted[i]);
    }
    json_t *total = json_array_get(arr, N_LINES);
    assert_int_equal(json_integer_value(json_object_get(total, "total")),
                     graded);
    assert_int_equal(json_integer_value(json_object_get(total, "equal")),
                     equal);
    assert_int_equal(json_integer_value(json_object_get(total, "skipped")), 3);
    json_decref(arr);
}


static void
test_grade_file_text(void **state)
{
    (void)state;
    char path[512], cmd[1024], *out;
    int status;

    test_tmp_path(path, sizeof path, "grade.jsonl");
    write_file(path, grade_input);
    snprintf(cmd, sizeof cmd, "%s grade %s 2>&1", test_bin(), path);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "line 1: equal"));
    assert_non_null(strstr(out, "line 6: not equal"));
    /* the malformed lines are named with file and line */
    char where[600];
    snprintf(where, sizeof where, "%s:4: not a JSON object", path);
    assert_non_null(strstr(out, where));
    snprintf(where, sizeof where, "%s:7: ", path);
    assert_non_null(strstr(out, where));
    snprintf(where, sizeof where,
             "%s:14: \"prediction\" is neither a string nor a number", path);
    assert_non_null(strstr(out, where));
    assert_non_null(strstr(out, "total: 11 graded, 9 equal"));
    free(out);

    /* usage errors */
    snprintf(cmd, sizeof cmd, "%s grade 2>/dev/null", test_bin());
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
    snprintf(cmd, sizeof cmd, "%s grade %s --db x.db 2>/dev/null", test_bin(),
             path);
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
    snprintf(cmd, sizeof cmd, "%s grade /nonexistent.jsonl 2>/dev/null",
             test_bin());
    free(test_capture(cmd, &status));
    assert_int_equal(status, 1);
}


/* trim grade --db agrees with what the run recorded. */
static void
test_grade_db(void **state)
{
    (void)state;
    char db[512], cmd[1024];
    int status;
    sqlite3 *h;

    test_tmp_path(db, sizeof db, "grade.db");
    snprintf(cmd, sizeof cmd,
             "%s run --problems 60 --db %s --json --no-progress >/dev/null",
             test_bin(), db);
    free(test_capture(cmd, &status));
    assert_int_equal(status, 0);
    snprintf(cmd, sizeof cmd, "%s grade --json --db %s --run 1", test_bin(),
             db);
    json_t *arr = json_lines(cmd, &status);
    assert_int_equal(status, 0);
    assert_int_equal(json_array_size(arr), 61);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < 60; i++) {
        json_t *o = json_array_get(arr, i);
        long long id = json_integer_value(json_object_get(o, "problem_id"));
        assert_int_equal(
            json_is_true(json_object_get(o, "equal")),
            sql_int(h, "SELECT correct FROM problems WHERE problem_id=%lld",
                    id));
    }
    json_t *total = json_array_get(arr, 60);
    assert_int_equal(
        json_integer_value(json_object_get(total, "equal")),
        sql_int(h, "SELECT COUNT(*) FROM problems WHERE correct=1"));
    sqlite3_close(h);
    json_decref(arr);
}


static const char problems_input[] =
    "{\"id\": \"a\", \"problem\": \"What is 2+2?\", \"answer\": \"4\"}\n"
    "{\"question\": \"Janet has 3 eggs.\", \"answer\": \"3 eggs\\n#### 3\"}\n"
    "{not json\n"
    "{\"id\": \"c\", \"question\": \"List them.\", "
    "\"final_answer\": [\"1,3\"], \"is_multiple_answer\": true}\n";


/* Pools on model servers that nothing serves: each problem fails at its
** first step, fast. */
#define DEAD_SERVERS                                                           \
    "--small-url http://127.0.0.1:9 --large-url http://127.0.0.1:9 "           \
    "--prm-url http://127.0.0.1:9 --retries 0"

/* File problems go in with their ground truth and source; the built-in
** simulator refuses them at the start, as documented. */
static void
test_run_problems_file(void **state)
{
    (void)state;
    char path[512], db[512], log[512], cmd[2048], query[2048], *out;
    int status;
    sqlite3 *h;

    test_tmp_path(path, sizeof path, "problems.jsonl");
    test_tmp_path(db, sizeof db, "file.db");
    test_tmp_path(log, sizeof log, "file.log");
    write_file(path, problems_input);
    snprintf(cmd, sizeof cmd,
             "%s run --problems %s --db %s --json --no-progress "
             "--log-level off 2>%s",
             test_bin(), path, db, log);
    free(test_capture(cmd, &status));
    assert_int_equal(status, 1);
    char where[1024];
    snprintf(where, sizeof where,
             "trim run: %s:1: the built-in simulator solves only problems it "
             "generated (print some with `trim sim-problems`); this text is "
             "not one: ",
             path);
    assert_true(test_file_contains(log, where));
    assert_false(test_file_contains(log, "problem 1 failed"));

    snprintf(cmd, sizeof cmd,
             "%s run --problems %s --db %s --json --no-progress "
             "--log-level off " DEAD_SERVERS " 2>%s",
             test_bin(), path, db, log);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    json_t *sum = json_loads(out, 0, NULL);
    assert_non_null(sum);
    assert_int_equal(json_integer_value(json_object_get(sum, "problems")), 3);
    assert_int_equal(json_integer_value(json_object_get(sum, "failed")), 3);
    json_decref(sum);
    free(out);
    snprintf(where, sizeof where, "%s:3: not a JSON object", path);
    assert_true(test_file_contains(log, where));

    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "error LIKE '%%http://127.0.0.1:9/%%'"),
                     3);
    snprintf(query, sizeof query,
             "SELECT COUNT(*) FROM problems WHERE (source='%s:1' AND "
             "ground_truth='4') OR (source='%s:2' AND ground_truth='3') OR "
             "(source='%s:4' AND ground_truth='1,3')",
             path, path, path);
    assert_int_equal(sql_int(h, "%s", query), 3);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM runs WHERE config LIKE "
                                "'%%problems_file%%'"),
                     1);
    sqlite3_close(h);

    /* a named layout that no line fits: nothing to run */
    snprintf(cmd, sizeof cmd,
             "%s run --problems %s --format minerva --db %s --no-progress "
             "2>%s",
             test_bin(), path, db, log);
    free(test_capture(cmd, &status));
    assert_int_equal(status, 1);
    assert_true(test_file_contains(log, "no problem in"));
    /* a bad layout name or count is a usage error; TRIM_FORMAT is the twin */
    snprintf(cmd, sizeof cmd,
             "TRIM_FORMAT=bogus %s run --problems %s --db %s 2>%s", test_bin(),
             path, db, log);
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
    assert_true(test_file_contains(log, "unknown layout 'bogus'"));
    snprintf(cmd, sizeof cmd, "%s run --problems 0 --db %s 2>/dev/null",
             test_bin(), db);
    free(test_capture(cmd, &status));
    assert_int_equal(status, 2);
}


/* A benchmark file loads through trim run as it does through the loader. */
static void
test_run_benchmark_file(void **state)
{
    (void)state;
    char path[1024], db[512], cmd[2048], *out;
    int status;

    test_data_path(path, sizeof path, "benchmarks/aime24/test.jsonl");
    test_tmp_path(db, sizeof db, "aime24.db");
    snprintf(cmd, sizeof cmd,
             "%s run --problems %s --db %s --json --no-progress "
             "--log-level off " DEAD_SERVERS " 2>/dev/null",
             test_bin(), path, db);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    json_t *sum = json_loads(out, 0, NULL);
    assert_non_null(sum);
    assert_int_equal(json_integer_value(json_object_get(sum, "problems")), 30);
    json_decref(sum);
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grade_file_json),
        cmocka_unit_test(test_grade_file_text),
        cmocka_unit_test(test_grade_db),
        cmocka_unit_test(test_run_problems_file),
        cmocka_unit_test(test_run_benchmark_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
