/*
** cli_util.c: flag value parsing with errors that name the flag.
*/
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"


int
cli_int(const char *cmd, const char *flag, const char *value, int64_t lo,
        int64_t hi, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(value, &end, 10);
    if (*value == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr,
                "trim %s: --%s expects an integer in [%" PRId64 ", %" PRId64
                "], got '%s'\n",
                cmd, flag, lo, hi, value);
        return -1;
    }
    *out = v;
    return 0;
}


int
cli_double(const char *cmd, const char *flag, const char *value, double lo,
           double hi, double *out)
{
    char *end;
    double v = strtod(value, &end);

    if (*value == '\0' || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr,
                "trim %s: --%s expects a number in [%g, %g], got '%s'\n", cmd,
                flag, lo, hi, value);
        return -1;
    }
    *out = v;
    return 0;
}


int
cli_log_level(const char *cmd, const char *value)
{
    tlog_level_t level;

    if (tlog_parse_level(value, &level) < 0) {
        fprintf(stderr,
                "trim %s: --log-level expects debug, info, warn, error or "
                "off, got '%s'\n",
                cmd, value);
        return -1;
    }
    tlog_set_level(level);
    return 0;
}
