/*
** paging.c: the admission window.
**
** A queued problem's row is in the audit store from its submission on, so
** memory need not hold it too.  At most opts.queue_window problems wait for
** admission in memory; a problem submitted (or recovered) while the window
** is full, or while others already wait in the store, is only written there
** and counted in stats.paged.  Paged problems have ids in [page_from,
** page_to] and are admitted in id order: when the window is half empty,
** coord_page_in reads the next unfinished rows of that range back.  Only
** committed rows can be read, so a page read that comes back short waits
** for the writer to commit more before it reads again.
**
** Ids in the range that are not paged are in page_skip: a problem a notify
** client holds stays in memory (its pushes need it there), and a paged
** problem a Cancel or Watch names is brought in at once (coord_page_one).
** A problem recovered from a previous coordinator may have step rows: it
** replays them when paged in, as recovery does (recover.c).
**
** With opts.feed (trim run), nothing is submitted ahead: the feeder makes
** or reads problems only when the window has room.
**
** stats.page_reads counts the store reads of both kinds and stats.paged_in
** the problems they brought back (trim_queue_* on /metrics).
*/
#include "coord_internal.h"

#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "errf.h"
#include "log.h"


int64_t
coord_waiting(const coord_t *c)
{
    return c->admission.length - c->husks;
}


void
coord_note_window(coord_t *c)
{
    int64_t n = coord_waiting(c);

    if (n > c->stats.window_peak)
        c->stats.window_peak = n;
}


int
coord_page_due(const coord_t *c, const coord_problem_t *in)
{
    return !in->in_memory &&
           (c->stats.paged > 0 || coord_waiting(c) >= c->opts.queue_window);
}


int64_t
coord_page_out(coord_t *c, crun_t *run, const coord_problem_t *in, char *err,
               size_t errlen)
{
    cproblem_t p = {0}; /* borrows in's strings for the row */
    store_problem_t row;

    p.id = c->next_problem_id;
    p.seed = in->seed;
    p.run = run;
    p.source = (char *)(in->source ? in->source : "");
    p.text = (char *)in->text;
    p.truth = (char *)in->ground_truth;
    p.key_id = in->key_id && *in->key_id ? (char *)in->key_id : NULL;
    p.created_ms = clock_wall_ms();
    if (p.text == NULL)
        return errf(err, errlen, "a problem without text");
    coord_problem_row(&p, STORE_QUEUED, &row);
    if (coord_put_problem(c, run, &row) < 0)
        return errf(err, errlen, "audit store: %s",
                    store_writer_error(c->writer));
    if (c->stats.paged == 0)
        c->page_from = p.id;
    c->page_to = p.id;
    c->stats.paged++;
    c->next_problem_id++;
    c->stats.submitted++;
    c->stats.queued++;
    run->t.problems++;
    run->finished_ms = 0;
    return p.id;
}


/* The reader paging uses (and Watch), opened on first use; NULL: fatal. */
static store_reader_t *
page_reader(coord_t *c)
{
    char err[512];

    if (c->reader == NULL &&
        (c->reader = store_reader_new(c->db, err, sizeof err)) == NULL) {
        tlog(TLOG_ERROR, "coordinator", "paging: %s", err);
        c->fatal = 1;
    }
    return c->reader;
}


/*
** The run of row (unfinished, id in the paged range) when it is a paged
** problem: not skipped, and of the run recovered when it predates this
** coordinator; NULL otherwise.  A skipped id is forgotten: the range is read
** once.  A problem whose run recovery could not load (logged then) stays
** queued in the store, as recovery leaves it.
*/
static crun_t *
paged_run(coord_t *c, const store_problem_t *row)
{
    uint64_t id = (uint64_t)row->problem_id;

    if (u64map_get(c->page_skip, id) != NULL) {
        u64map_del(c->page_skip, id);
        return NULL;
    }
    if (row->problem_id < c->fresh_from && c->page_run != 0 &&
        row->run_id != c->page_run)
        return NULL;
    return coord_find_run(c, row->run_id);
}


/* Put restored problem p at the window's tail; -1 (fatal) if memory. */
static int
enter_window(coord_t *c, cproblem_t *p)
{
    if (u64map_put(c->queued, (uint64_t)p->id, p) < 0) {
        tlog(TLOG_ERROR, "coordinator", "out of memory paging problem %lld",
             (long long)p->id);
        coord_problem_destroy(&p);
        c->fatal = 1;
        return -1;
    }
    pool_queue_push(&c->admission, p);
    c->stats.paged--;
    c->stats.paged_in++;
    if (c->stats.paged == 0)
        u64map_clear(c->page_skip); /* ids that ended in memory */
    coord_note_window(c);
    return 0;
}


/* A paged problem of run back in memory from its row; -1 (fatal) if not. */
static int
restore(coord_t *c, crun_t *run, const store_problem_t *row)
{
    char err[512];
    cproblem_t *p = coord_restore_problem(
        c->reader, run, row, row->problem_id < c->fresh_from, err, sizeof err);
    if (p == NULL) {
        tlog(TLOG_ERROR, "coordinator", "paging: %s", err);
        c->fatal = 1;
        return -1;
    }
    return enter_window(c, p);
}


typedef struct page_walk {
    coord_t *c;
    int64_t want; /* problems still to page in */
} page_walk_t;


static int
page_row(void *ctx, const store_problem_t *row)
{
    page_walk_t *w = ctx;
    coord_t *c = w->c;

    if (row->problem_id > c->page_to || w->want == 0)
        return 1;
    c->page_from = row->problem_id + 1;
    crun_t *run = paged_run(c, row);
    if (run == NULL)
        return 0;
    if (restore(c, run, row) < 0)
        return 1;
    w->want--;
    return 0;
}


void
coord_page_in(coord_t *c)
{
    int64_t room = c->opts.queue_window - coord_waiting(c);
    page_walk_t w = {c, room};
    char err[512];

    if (c->fatal || room < c->opts.queue_window / 2 + 1)
        return;
    if (c->stats.paged == 0) {
        if (!c->feeding)
            return;
        int rc = c->opts.feed(c->opts.feed_ctx, room);
        if (rc < 0)
            c->fatal = 1;
        c->feeding = rc > 0;
        return;
    }
    /* Read before the walk: a row committed after it is seen next time. */
    int64_t durable = store_writer_durable(c->writer);
    if (durable <= c->page_durable || page_reader(c) == NULL)
        return;
    c->stats.page_reads++;
    if (store_each_unfinished_from(c->reader, c->page_from, page_row, &w, err,
                                   sizeof err) < 0) {
        tlog(TLOG_ERROR, "coordinator", "paging: %s", err);
        c->fatal = 1;
        return;
    }
    if (w.want > 0 && c->stats.paged > 0) {
        /* Rows not committed yet: wait for the writer, and hurry it. */
        c->page_durable = durable;
        store_writer_flush(c->writer);
    } else {
        c->page_durable = -1;
    }
}


int
coord_page_one(coord_t *c, int64_t id)
{
    store_problem_t row;
    char err[512];

    if (c->stats.paged == 0 || id < c->page_from || id > c->page_to ||
        u64map_get(c->page_skip, (uint64_t)id) != NULL ||
        coord_find_problem(c, id) != NULL || page_reader(c) == NULL)
        return 0;
    /* Rare (a Cancel or Watch of a problem far back in the queue): wait for
    ** its row rather than keep a copy of every paged problem. */
    if (store_writer_wait(c->writer, c->last_ticket) < 0)
        return 0;
    c->stats.page_reads++;
    int found = store_get_problem(c->reader, id, &row, err, sizeof err);
    if (found < 0)
        tlog(TLOG_WARN, "coordinator", "paging: %s", err);
    crun_t *run = NULL;
    if (found != 1 ||
        (row.status != STORE_QUEUED && row.status != STORE_RUNNING) ||
        (run = paged_run(c, &row)) == NULL)
        return 0;
    if (u64map_put(c->page_skip, (uint64_t)id, (void *)1) < 0 ||
        restore(c, run, &row) < 0) {
        c->fatal = 1;
        return 0;
    }
    return 1;
}
