/*
** skip.h: the one way a test skips, header-only so that every test can use
** it, whether it links testutil or not.
**
** cmocka exits 0 when a test skips, so a checkout without its data would
** pass with tests skipped.  test_skip() therefore prints its reason and
** skips only outside CI; under CI (the environment variable CI set to
** "true", as .ci/run is run) the skip is a failure.  tests/CMakeLists.txt
** holds a bare skip() to the same rule at the ctest level.
*/
#ifndef TRIM_TEST_SKIP_H
#define TRIM_TEST_SKIP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Nonzero when the tests run under CI (CI=true). */
static inline int
test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

/*
** Skip the running test, printing why (a printf format); under CI, fail it
** with the same reason instead.  Does not return.  Both are reported at
** the caller's file and line.
*/
#define test_skip(...) test_skip_at(__FILE__, __LINE__, __VA_ARGS__)

/*
** The path of rel inside the repository's data folder (the environment
** variable TRIM_DATA, which ctest sets to the source tree's data/), written
** to out and returned.  Skips the test, with the reason, when TRIM_DATA is
** unset or the path cannot be read.
*/
#define test_data_path(out, len, rel)                                          \
    test_data_path_at(__FILE__, __LINE__, (out), (len), (rel))

static inline _Noreturn void test_skip_at(const char *file, int line,
                                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline _Noreturn void
test_skip_at(const char *file, int line, const char *fmt, ...)
{
    char why[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (test_in_ci()) {
        print_error("ERROR: a skip fails under CI=true: %s\n", why);
        _fail(file, line);
    }
    print_message("skipped: %s\n", why);
    _skip(file, line);
    abort(); /* not reached: cmocka's _skip leaves the test by longjmp */
}

static inline const char *
test_data_path_at(const char *file, int line, char *out, size_t len,
                  const char *rel)
{
    const char *root = getenv("TRIM_DATA");

    if (root == NULL || *root == '\0')
        test_skip_at(file, line,
                     "TRIM_DATA is not set (run the tests through ctest)");
    snprintf(out, len, "%s/%s", root, rel);
    if (access(out, R_OK) != 0)
        test_skip_at(file, line, "%s is absent", out);
    return out;
}

#endif
