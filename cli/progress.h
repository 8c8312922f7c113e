/*
** progress.h: the progress line of the long commands (run, eval, train).
**
** On a terminal one line is redrawn in place; anywhere else (a log file, a
** pipe, a container's log) a whole line is written every few seconds, so
** the log shows the command is alive and how far it got.  Each line ends
** with an ETA from the rate since the last mark:
**
**   trim run: [#########...........] 120/500 problems, ETA 2m03s; acc 0.734
**   trim train: iteration 3 of 30, exploring: [###.....] 600/2000 problems,
**   ETA at most 41m10s
**
** The clock is injected, so what is printed when is tested without waiting.
*/
#ifndef TRIM_PROGRESS_H
#define TRIM_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct progress progress_t;

typedef struct progress_opts {
    FILE *out;             /* where the lines go; NULL: stderr */
    int tty;               /* redraw one line in place ("\r", erase to end) */
    const char *label;     /* at the start of the line, e.g. "trim run" */
    const char *unit;      /* what is counted, e.g. "problems" */
    int64_t line_every_ms; /* not a terminal: a line at most this often;
                              0: PROGRESS_LINE_EVERY_MS */
    int64_t (*now_ms)(void *ctx); /* monotonic ms; NULL: clock_now_ms */
    void *clock_ctx;
} progress_opts_t;

#define PROGRESS_LINE_EVERY_MS 5000
#define PROGRESS_REDRAW_MS     200 /* a terminal's line at most this often */

/* Where the command stands. */
typedef struct progress_state {
    const char *stage;   /* NULL, or e.g. "iteration 3 of 30, exploring" */
    int64_t done, total; /* units done of total (the bar; total 0: none) */
    double fraction;     /* of the whole command, 0..1, for the ETA;
                            negative: done / total */
    int eta_at_most;     /* the command may end sooner (train's patience) */
    const char *detail;  /* NULL, or text after the ETA */
} progress_state_t;

/* A progress line as o says (copied; label and unit borrowed).  NULL when
** out of memory. */
progress_t *progress_new(const progress_opts_t *o);

/* Free p and clear the pointer; NULL-safe.  Does not end a line (see
** progress_end). */
void progress_destroy(progress_t **p);

/*
** Record where the command stands, and print it when due: on a terminal
** at most every PROGRESS_REDRAW_MS, elsewhere every line_every_ms from the
** previous line (the first one line_every_ms after the start).
*/
void progress_update(progress_t *p, const progress_state_t *s);

/*
** Before another line is written to the terminal: erase the line drawn in
** place (it is drawn again at the next update).  Elsewhere nothing.
** NULL-safe.
*/
void progress_clear(progress_t *p);

/*
** Measure the ETA's rate from now and the current fraction on (e.g. after
** a phase that does not count).
*/
void progress_mark(progress_t *p);

/*
** The command is over: print the last state if it was not (elsewhere
** than on a terminal only when a line was printed before: a short command
** stays quiet), and end a terminal's line.  Until the next update, another
** end does nothing.  NULL-safe.
*/
void progress_end(progress_t *p);

/*
** Write a duration of ms as "42s", "3m05s" or "2h03m" into buf; returns
** buf.
*/
const char *progress_duration(char *buf, size_t len, int64_t ms);

#endif
