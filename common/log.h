/*
** log.h: leveled logging to standard error.
**
** Every line is "2026-11-27T19:54:04.123Z LEVEL component: message".  The
** threshold is one process-wide setting, made once by main() before any
** thread starts (like syslog's setlogmask); everything else is per call.
*/
#ifndef TRIM_LOG_H
#define TRIM_LOG_H

typedef enum {
    TLOG_DEBUG = 0,
    TLOG_INFO = 1,
    TLOG_WARN = 2,
    TLOG_ERROR = 3,
    TLOG_OFF = 4
} tlog_level_t;

/*
** Set the lowest level that is printed.  Call before starting threads.
*/
void tlog_set_level(tlog_level_t level);

/*
** Parse "debug", "info", "warn", "error" or "off" into *level.  Returns 0, or
** -1 for an unknown name (level untouched).
*/
int tlog_parse_level(const char *name, tlog_level_t *level);

/*
** Print one line at the given level, from the named component.  Never fails;
** lines longer than 1 KiB are cut.
*/
void tlog(tlog_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
