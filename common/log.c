/*
** log.c: leveled logging to standard error (see log.h).
*/
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "escape.h"

/* The only process-wide setting in trim: written once by main(). */
static tlog_level_t g_threshold = TLOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};


void
tlog_set_level(tlog_level_t level)
{
    g_threshold = level;
}


int
tlog_parse_level(const char *name, tlog_level_t *level)
{
    static const char *const names[] = {"debug", "info", "warn", "error",
                                        "off"};
    for (int i = 0; i <= TLOG_OFF; i++) {
        if (strcmp(name, names[i]) == 0) {
            *level = (tlog_level_t)i;
            return 0;
        }
    }
    return -1;
}


void
tlog(tlog_level_t level, const char *component, const char *fmt, ...)
{
    char line[1024], msg[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    if (level < g_threshold || level >= TLOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof line,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, level_names[level], component);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages quote peer names and errors from outside: escaped. */
    if (n > 0 && (size_t)n < sizeof line)
        esc_str(line + n, sizeof line - (size_t)n, msg);
    /* One fputs per line keeps lines from different threads whole. */
    n = (int)strlen(line);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n] = '\n';
    line[n + 1] = '\0';
    fputs(line, stderr);
}
