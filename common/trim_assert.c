/*
** trim_assert.c: see trim_assert.h.
*/
#include "trim_assert.h"

#include <stdio.h>
#include <stdlib.h>


_Noreturn void
trim_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    char text[1024];

    /* One write, so the line stays whole beside other threads' logging; no
    ** log threshold applies: this is never silenced. */
    snprintf(text, sizeof text, "trim: %s:%d: %s: assertion failed: %s\n", file,
             line, func, expr);
    fputs(text, stderr);
    fflush(stderr);
    abort();
}
