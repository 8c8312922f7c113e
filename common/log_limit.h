/*
** log_limit.h: one log line per source and window for a kind of event, and a
** count of the lines held back.
**
** A peer that repeats itself (announces itself a thousand times a second, or
** sends garbage) must not be able to fill the disk with the same line.  A
** limiter covers one kind of event; each source (a peer's identity, hashed)
** gets its first event of every window logged, and at most max_sources
** sources a window are tracked.  Everything else is counted, and once the
** window is over one line says how much was held back:
**
**   suppressed 39998 Ready from 2 peers in the last 10 s
**
** Not thread-safe: one limiter belongs to one loop.
*/
#ifndef TRIM_LOG_LIMIT_H
#define TRIM_LOG_LIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct log_limit log_limit_t;

/*
** A limiter for events described as what (e.g. "Ready"; copied), whose
** summary lines are logged as component (copied).  window_ms > 0,
** max_sources > 0.  NULL on allocation failure.
*/
log_limit_t *log_limit_new(const char *component, const char *what,
                           int64_t window_ms, size_t max_sources);

/*
** Log the summary of the window in progress, if anything was held back, free
** the limiter and clear the pointer; NULL-safe.  Allocates nothing.
*/
void log_limit_destroy(log_limit_t **l);

/*
** Whether an event from source (any value, 0 too) at now_ms may be logged: 1
*for
** the first from this source in the window, else 0 and the event is counted
** as held back.  Ends the window first when it is over (log_limit_tick).
*/
int log_limit_allow(log_limit_t *l, uint64_t source, int64_t now_ms);

/*
** When the window is over at now_ms: log the summary if anything was held
** back and start a new window.  Returns the number of events the summary
** reported (0 when none, or the window goes on).  Call periodically.
*/
int64_t log_limit_tick(log_limit_t *l, int64_t now_ms);

#endif
