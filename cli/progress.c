/*
** progress.c: the progress line of the long commands (see progress.h).
*/
#include "progress.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define BAR_WIDTH 24
#define LINE_MAX  512

/* The ETA is shown once the rate has been measured this long. */
#define ETA_AFTER_MS 1000

struct progress {
    progress_opts_t o;
    progress_state_t s; /* the last state; strings copied below */
    char stage[128], detail[256];
    int have_state;
    int dirty; /* the last state is not printed yet */
    int64_t start_ms, last_print_ms;
    int printed;      /* lines (or redraws) so far */
    int64_t mark_ms;  /* the ETA's rate is measured from here */
    double mark_frac; /* ... and this fraction */
};


static int64_t
now(const progress_t *p)
{
    return p->o.now_ms ? p->o.now_ms(p->o.clock_ctx) : clock_now_ms();
}


progress_t *
progress_new(const progress_opts_t *o)
{
    progress_t *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    p->o = *o;
    if (p->o.out == NULL)
        p->o.out = stderr;
    if (p->o.line_every_ms <= 0)
        p->o.line_every_ms = PROGRESS_LINE_EVERY_MS;
    p->start_ms = p->mark_ms = p->last_print_ms = now(p);
    return p;
}


void
progress_destroy(progress_t **pp)
{
    if (pp && *pp) {
        free(*pp);
        *pp = NULL;
    }
}


const char *
progress_duration(char *buf, size_t len, int64_t ms)
{
    int64_t s = (ms + 500) / 1000;

    if (s < 60)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
                 (long long)(s % 60));
    else
        snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
    return buf;
}


/* The state's fraction of the whole command. */
static double
fraction(const progress_state_t *s)
{
    if (s->fraction >= 0)
        return s->fraction > 1 ? 1 : s->fraction;
    return s->total > 0 ? (double)s->done / (double)s->total : 0;
}


/* "ETA 2m03s", "ETA at most ...", or "ETA --" before a rate is known. */
static void
format_eta(const progress_t *p, int64_t t, char *buf, size_t len)
{
    double f = fraction(&p->s), df = f - p->mark_frac;
    int64_t dt = t - p->mark_ms;
    char d[32];

    if (f >= 1) {
        snprintf(buf, len, "done in %s",
                 progress_duration(d, sizeof d, t - p->start_ms));
        return;
    }
    if (dt < ETA_AFTER_MS || df <= 0) {
        snprintf(buf, len, "ETA --");
        return;
    }
    double left_ms = (1 - f) * (double)dt / df;
    snprintf(buf, len, "ETA %s%s", p->s.eta_at_most ? "at most " : "",
             progress_duration(d, sizeof d, (int64_t)left_ms));
}


/* The line for the last state at time t, without "\r" or "\n". */
static void
format_line(const progress_t *p, int64_t t, char *buf, size_t len)
{
    const progress_state_t *s = &p->s;
    char bar[2 * BAR_WIDTH + 4] = "", counts[96] = "", eta[64];

    if (s->total > 0) {
        int filled = (int)(s->done * BAR_WIDTH / s->total);
        filled = filled < 0 ? 0 : filled > BAR_WIDTH ? BAR_WIDTH : filled;
        if (p->o.tty)
            snprintf(bar, sizeof bar, "[%.*s%.*s] ", filled,
                     "########################", BAR_WIDTH - filled,
                     "........................");
        snprintf(counts, sizeof counts, "%lld/%lld %s, ", (long long)s->done,
                 (long long)s->total, p->o.unit);
    }
    format_eta(p, t, eta, sizeof eta);
    snprintf(buf, len, "%s: %s%s%s%s%s%s%s", p->o.label, p->stage,
             *p->stage ? ": " : "", bar, counts, eta, *p->detail ? "; " : "",
             p->detail);
}


/* Print the last state at time t: on a terminal over the line drawn
** before ("\r", the line, erase to its end). */
static void
print_state(progress_t *p, int64_t t)
{
    char line[LINE_MAX];

    format_line(p, t, line, sizeof line);
    fprintf(p->o.out, p->o.tty ? "\r%s\033[K" : "%s\n", line);
    fflush(p->o.out);
    p->last_print_ms = t;
    p->printed++;
    p->dirty = 0;
}


void
progress_update(progress_t *p, const progress_state_t *s)
{
    int64_t t = now(p);
    int64_t every = p->o.tty ? PROGRESS_REDRAW_MS : p->o.line_every_ms;

    p->s = *s;
    snprintf(p->stage, sizeof p->stage, "%s", s->stage ? s->stage : "");
    snprintf(p->detail, sizeof p->detail, "%s", s->detail ? s->detail : "");
    p->s.stage = p->s.detail = NULL; /* the copies above are used */
    p->have_state = p->dirty = 1;
    if ((p->o.tty && p->printed == 0) || t - p->last_print_ms >= every)
        print_state(p, t);
}


void
progress_clear(progress_t *p)
{
    if (p == NULL || !p->o.tty || p->printed == 0)
        return;
    fputs("\r\033[K", p->o.out);
    fflush(p->o.out);
    p->dirty = 1;
    p->last_print_ms -= PROGRESS_REDRAW_MS; /* redrawn at the next update */
}


void
progress_mark(progress_t *p)
{
    p->mark_ms = now(p);
    p->mark_frac = p->have_state ? fraction(&p->s) : 0;
}


void
progress_end(progress_t *p)
{
    if (p == NULL || !p->have_state)
        return;
    if (p->dirty && (p->o.tty || p->printed > 0))
        print_state(p, now(p));
    if (p->o.tty)
        fputc('\n', p->o.out);
    fflush(p->o.out);
    p->have_state = 0; /* ended: a second end prints nothing */
}
