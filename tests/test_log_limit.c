/*
** test_log_limit.c: one line per source and window, the rest counted.
**
** The clock is the test's: every call passes now_ms, so windows end exactly
** where the test says.  The summary lines themselves go to stderr, captured.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log_limit.h"
#include "testutil.h"


static void
test_first_event_per_source_and_window(void **state)
{
    (void)state;
    log_limit_t *l = log_limit_new("test", "Ready", 10000, 8);
    assert_non_null(l);

    /* Two sources flooding: the first of each is logged. */
    int allowed = 0;
    for (int i = 0; i < 1000; i++)
        allowed += log_limit_allow(l, 1000 + (uint64_t)(i % 2), 1000 + i);
    assert_int_equal(allowed, 2);
    assert_int_equal(log_limit_tick(l, 10999), 0); /* the window goes on */

    test_redirect_t r;
    test_redirect_begin(&r, 2);
    assert_int_equal(log_limit_tick(l, 11000), 998);
    assert_int_equal(log_limit_tick(l, 11001), 0); /* reported once */
    char *out = test_redirect_end(&r);
    assert_non_null(
        strstr(out, "suppressed 998 Ready from 2 peers in the last 10 s"));
    free(out);

    /* A new window: each source is logged again, and source 0 is fine. */
    assert_int_equal(log_limit_allow(l, 1000, 12000), 1);
    assert_int_equal(log_limit_allow(l, 0, 12000), 1);
    assert_int_equal(log_limit_allow(l, 0, 12001), 0);
    log_limit_destroy(&l);
    assert_null(l);
    log_limit_destroy(&l); /* NULL-safe */
}


static void
test_sources_past_the_limit_are_counted(void **state)
{
    (void)state;
    log_limit_t *l = log_limit_new("test", "bad messages", 1000, 4);
    assert_non_null(l);
    assert_int_equal(log_limit_tick(l, 5000), 0); /* the window starts */

    int allowed = 0;
    for (uint64_t src = 1; src <= 100; src++)
        allowed += log_limit_allow(l, src, 5000);
    assert_int_equal(allowed, 4);

    test_redirect_t r;
    test_redirect_begin(&r, 2);
    assert_int_equal(log_limit_tick(l, 6000), 96);
    char *out = test_redirect_end(&r);
    assert_non_null(strstr(out, "suppressed 96 bad messages from more than 4 "
                                "peers in the last 1 s"));
    free(out);
    log_limit_destroy(&l);
}


/* Source 0 is a source like any other, and a clock may start at 0. */
static void
test_source_zero_and_clock_zero(void **state)
{
    (void)state;
    log_limit_t *l = log_limit_new("test", "Ready", 10000, 8);
    assert_non_null(l);

    assert_int_equal(log_limit_allow(l, 0, 0), 1); /* the window starts */
    assert_int_equal(log_limit_allow(l, 1, 0), 1); /* not source 0's line */
    assert_int_equal(log_limit_allow(l, 0, 5000), 0);
    assert_int_equal(log_limit_allow(l, 1, 5000), 0);

    test_redirect_t r;
    test_redirect_begin(&r, 2);
    assert_int_equal(log_limit_tick(l, 10000), 2); /* 10 s after 0 */
    char *out = test_redirect_end(&r);
    assert_non_null(
        strstr(out, "suppressed 2 Ready from 2 peers in the last 10 s"));
    free(out);
    assert_int_equal(log_limit_allow(l, 0, 10001), 1);
    log_limit_destroy(&l);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_event_per_source_and_window),
        cmocka_unit_test(test_sources_past_the_limit_are_counted),
        cmocka_unit_test(test_source_zero_and_clock_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
