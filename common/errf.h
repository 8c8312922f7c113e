/*
** errf.h: writing a reason into a caller's error buffer.
*/
#ifndef TRIM_ERRF_H
#define TRIM_ERRF_H

#include <stddef.h>

/*
** Format a reason into err[0..errlen) (nothing when err is NULL or errlen
** 0; always NUL-terminated, cut when too long).  Returns -1, so a failing
** function can end with `return errf(err, errlen, "...", ...);`.
*/
int errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
