/*
** log_limit.c: rate-limited log lines per source (see log_limit.h).
*/
#include "log_limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "u64map.h"

struct log_limit {
    char component[32], what[64];
    int64_t window_ms;
    size_t max_sources;
    int started;       /* a window is in progress */
    int64_t start_ms;  /* when it began */
    u64map_t *seen;    /* source -> events this window, as an integer */
    intptr_t zero;     /* events from source 0 (no map key) this window */
    int64_t held;      /* events held back this window */
    int64_t held_from; /* tracked sources with an event held back */
    int64_t untracked; /* events from sources past max_sources */
};


log_limit_t *
log_limit_new(const char *component, const char *what, int64_t window_ms,
              size_t max_sources)
{
    log_limit_t *l = calloc(1, sizeof *l);

    if (l == NULL || (l->seen = u64map_new()) == NULL) {
        free(l);
        return NULL;
    }
    snprintf(l->component, sizeof l->component, "%s", component);
    snprintf(l->what, sizeof l->what, "%s", what);
    l->window_ms = window_ms > 0 ? window_ms : 1;
    l->max_sources = max_sources > 0 ? max_sources : 1;
    return l;
}


/* Log what the window held back, if anything, and start another at now. */
static int64_t
end_window(log_limit_t *l, int64_t now_ms)
{
    int64_t held = l->held;
    int64_t secs = (now_ms - l->start_ms + 999) / 1000;

    if (held > 0 && l->untracked > 0)
        tlog(TLOG_WARN, l->component,
             "suppressed %lld %s from more than %zu peers in the last %lld s",
             (long long)held, l->what, l->max_sources, (long long)secs);
    else if (held > 0)
        tlog(TLOG_WARN, l->component,
             "suppressed %lld %s from %lld peer%s in the last %lld s",
             (long long)held, l->what, (long long)l->held_from,
             l->held_from == 1 ? "" : "s", (long long)secs);
    u64map_clear(l->seen);
    l->zero = 0;
    l->held = l->held_from = l->untracked = 0;
    l->start_ms = now_ms;
    return held;
}


void
log_limit_destroy(log_limit_t **lp)
{
    if (lp == NULL || *lp == NULL)
        return;
    log_limit_t *l = *lp;
    end_window(l, clock_now_ms());
    u64map_destroy(&l->seen);
    free(l);
    *lp = NULL;
}


int64_t
log_limit_tick(log_limit_t *l, int64_t now_ms)
{
    if (!l->started) {
        l->started = 1;
        l->start_ms = now_ms;
        return 0;
    }
    if (now_ms - l->start_ms < l->window_ms)
        return 0;
    return end_window(l, now_ms);
}


/* Set source's count of events this window.  0, or -1 (memory). */
static int
set_count(log_limit_t *l, uint64_t source, intptr_t n)
{
    if (source == 0) { /* the map takes no key 0 */
        l->zero = n;
        return 0;
    }
    return u64map_put(l->seen, source, (void *)n);
}


int
log_limit_allow(log_limit_t *l, uint64_t source, int64_t now_ms)
{
    log_limit_tick(l, now_ms);
    intptr_t n = source ? (intptr_t)u64map_get(l->seen, source) : l->zero;
    if (n == 0) {
        size_t tracked = u64map_size(l->seen) + (l->zero > 0);
        if (tracked < l->max_sources && set_count(l, source, 1) == 0)
            return 1;
        l->untracked++;
        l->held++;
        return 0;
    }
    if (n == 1)
        l->held_from++;
    if (n < INTPTR_MAX)
        set_count(l, source, n + 1);
    l->held++;
    return 0;
}
