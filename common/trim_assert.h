/*
** trim_assert.h: an assertion that stays in release builds.
**
** TRIM_ASSERT(e) guards a structural invariant: a list's links, a queue's
** length, a hash map's load.  When one fails, memory is already wrong and
** carrying on would only move the damage somewhere harder to find, so it
** prints "trim: FILE:LINE: FUNCTION: assertion failed: e" to standard error
** and aborts.  Unlike assert(3) it does not depend on NDEBUG: release builds
** keep it (Redis's serverAssert works the same way).
**
** It runs in every build, so the expression must be cheap (O(1)) wherever
** the code is hot, and free of side effects.
*/
#ifndef TRIM_TRIM_ASSERT_H
#define TRIM_TRIM_ASSERT_H

#define TRIM_ASSERT(e)                                                         \
    (__builtin_expect(!!(e), 1)                                                \
         ? (void)0                                                             \
         : trim_assert_fail(#e, __FILE__, __LINE__, __func__))

/* Report a failed TRIM_ASSERT and abort(); never returns. */
_Noreturn void trim_assert_fail(const char *expr, const char *file, int line,
                                const char *func);

#endif
