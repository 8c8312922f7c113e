/*
** test_problem_layouts.c: a problems file read with an explicit layout.
**
** With --format NAME every line must fit that benchmark's layout: each
** line that does not is reported with the file, the line and why (no
** answer, an answer without GSM8K's "#### N" or without MATH-style
** \boxed{}, an empty list) and skipped, and the rest are read.  Automatic
** recognition is test_grade_data.c's.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "problems.h"
#include "testutil.h"


static int
count(void *ctx, const problem_rec_t *p)
{
    int *n = ctx;
    assert_non_null(p->ground_truth);
    (*n)++;
    return 0;
}


/*
** Read text as a file in layout format; returns how many problems were
** read, with *skipped and what was reported (stderr) in log.
*/
static long
read_as(const char *format, const char *text, long *skipped, char *log,
        size_t loglen, char *path, size_t pathlen)
{
    char err[256];
    int n = 0;
    test_redirect_t r;

    snprintf(path, pathlen, "/tmp/trim-layout-%d.jsonl", (int)getpid());
    test_write_file(path, text);
    test_redirect_begin(&r, 2);
    long got =
        problems_read_file(path, format, count, &n, skipped, err, sizeof err);
    char *reported = test_redirect_end(&r);
    snprintf(log, loglen, "%s", reported);
    free(reported);
    unlink(path);
    assert_int_equal(got, n);
    return got;
}


static void
test_each_layout_refuses_what_does_not_fit(void **state)
{
    (void)state;
    static const struct {
        const char *format, *good, *bad, *why;
    } cases[] = {
        {"gsm8k", "{\"question\": \"Q\", \"answer\": \"so 4.\\n#### 4\"}",
         "{\"question\": \"Q\", \"answer\": \"4\"}",
         "not a gsm8k line: \"answer\" has no \"#### N\""},
        {"minerva",
         "{\"problem\": \"P\", \"solution\": \"it is \\\\boxed{4}.\"}",
         "{\"problem\": \"P\", \"solution\": \"it is 4.\"}",
         "not a minerva line: \"solution\" has no \\boxed{} answer"},
        {"math", "{\"problem\": \"P\", \"answer\": \"4\"}",
         "{\"problem\": \"P\", \"answer\": []}",
         "not a math line: \"answer\" is empty"},
        {"olympiadbench", "{\"question\": \"Q\", \"final_answer\": [\"4\"]}",
         "{\"question\": \"Q\", \"answer\": \"4\"}",
         "not a olympiadbench line: no answer in \"final_answer\""},
        {"aime", "{\"problem\": \"P\", \"answer\": 4}",
         "{\"problem\": \"P\", \"answer\": {\"n\": 4}}",
         "\"answer\" is neither a string, a number nor a list of them"},
    };
    char text[512], log[2048], path[64], want[256];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long skipped = 0;
        snprintf(text, sizeof text, "%s\n%s\n%s\n", cases[i].good, cases[i].bad,
                 cases[i].good);
        long n = read_as(cases[i].format, text, &skipped, log, sizeof log, path,
                         sizeof path);
        snprintf(want, sizeof want, "%s:2: %s", path, cases[i].why);
        if (n != 2 || skipped != 1 || strstr(log, want) == NULL)
            fail_msg("%s: %ld read, %ld skipped, log '%s'; want 2, 1 and "
                     "'%s'",
                     cases[i].format, n, skipped, log, want);
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_layout_refuses_what_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
