/*
** test_assert.c: TRIM_ASSERT holds in release builds and fails loudly.
**
** NDEBUG is defined before the header, as a release build has it: the
** assertion must still fire, naming file, line, function and expression.
*/
#ifndef NDEBUG
#define NDEBUG
#endif

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "trim_assert.h"


static int
count_call(int *calls)
{
    (*calls)++;
    return 1;
}


static void
test_true_passes_once(void **state)
{
    int calls = 0;

    (void)state;
    TRIM_ASSERT(count_call(&calls));
    assert_int_equal(calls, 1);
}


static void
failing_function(int queue_length)
{
    TRIM_ASSERT(queue_length >= 0);
}


static void
test_false_aborts_with_where(void **state)
{
    int fds[2], status;
    char out[1024];
    ssize_t n, got = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        failing_function(-1);
        _exit(0); /* not reached when the assertion holds its promise */
    }
    close(fds[1]);
    while ((n = read(fds[0], out + got, sizeof out - 1 - (size_t)got)) > 0)
        got += n;
    out[got] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    /* "trim: .../tests/test_assert.c:LINE: failing_function: ..." */
    const char *at = strstr(out, "test_assert.c:");
    int line = 0, used = 0;
    assert_non_null(at);
    assert_int_equal(sscanf(at, "test_assert.c:%d: %n", &line, &used), 1);
    assert_true(line > 0);
    assert_string_equal(at + used, "failing_function: assertion failed: "
                                   "queue_length >= 0\n");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_true_passes_once),
        cmocka_unit_test(test_false_aborts_with_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
