/*
** writer.c: the writer's public side: start and stop, the bounded queue that
** producers put rows on, tickets, and waiting or asking for them to be
** committed (the thread itself is in writer_loop.c, the notify fd in
** notify.c).
**
** Tickets are handed out in queue order and the writer commits in queue
** order, so "every ticket <= durable is committed" is one number.  A producer
** wakes the writer only when it sleeps with no transaction open (or a batch
** waiting: s_wake_for_put), so puts cost a wakeup per batch, not per row.
*Waiters and flushes raise flush_to, which makes the
** writer commit as soon as that ticket is written; many flushes before the
** writer gets to them cost one commit.
*/
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errf.h"
#include "log.h"

#define DEFAULT_BATCH_ROWS 10000
#define DEFAULT_BATCH_MS   100
#define DEFAULT_QUEUE_ROWS 100000


void
store_writer_fail(store_writer_t *w, const char *fmt, ...)
{
    store_chunk_t *dropped;
    va_list ap;

    pthread_mutex_lock(&w->mu);
    if (!w->failed) {
        va_start(ap, fmt);
        vsnprintf(w->error, sizeof w->error, fmt, ap);
        va_end(ap);
        w->failed = 1;
        tlog(TLOG_ERROR, "storage", "writer stopped: %s", w->error);
    }
    dropped = store_queue_take(&w->queue);
    pthread_cond_broadcast(&w->room);
    pthread_cond_broadcast(&w->done);
    store_notify_signal(w->notify_fd, w->path); /* under mu: see notify.c */
    pthread_mutex_unlock(&w->mu);
    store_chunks_destroy(&dropped);
}


/* Create the writer's lock and condition variables; 0, or -1 with none. */
static int
s_sync_init(store_writer_t *w)
{
    pthread_condattr_t attr;
    int mu = -1, wake = -1, room = -1, done = -1;

    if (pthread_condattr_init(&attr) != 0)
        return -1;
    /* The writer sleeps until a deadline on the monotonic clock. */
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
        (mu = pthread_mutex_init(&w->mu, NULL)) == 0 &&
        (wake = pthread_cond_init(&w->wake, &attr)) == 0 &&
        (room = pthread_cond_init(&w->room, NULL)) == 0)
        done = pthread_cond_init(&w->done, NULL);
    pthread_condattr_destroy(&attr);
    if (done == 0)
        return 0;
    if (room == 0)
        pthread_cond_destroy(&w->room);
    if (wake == 0)
        pthread_cond_destroy(&w->wake);
    if (mu == 0)
        pthread_mutex_destroy(&w->mu);
    return -1;
}


store_writer_t *
store_writer_new(const char *path, const store_writer_opts_t *opts, char *err,
                 size_t errlen)
{
    store_writer_t *w = calloc(1, sizeof *w);

    if (w == NULL) {
        errf(err, errlen, "%s: out of memory starting the writer", path);
        return NULL;
    }
    w->notify_fd = -1; /* before any exit through destroy */
    w->commit_at = INT64_MAX;
    if ((w->path = strdup(path)) == NULL) {
        errf(err, errlen, "%s: out of memory starting the writer", path);
        goto fail;
    }
    w->opts.batch_rows = DEFAULT_BATCH_ROWS;
    w->opts.batch_ms = DEFAULT_BATCH_MS;
    w->opts.queue_rows = DEFAULT_QUEUE_ROWS;
    if (opts != NULL && opts->batch_rows > 0)
        w->opts.batch_rows = opts->batch_rows;
    if (opts != NULL && opts->batch_ms > 0)
        w->opts.batch_ms = opts->batch_ms;
    if (opts != NULL && opts->queue_rows > 0)
        w->opts.queue_rows = opts->queue_rows;
    if (opts != NULL)
        w->opts.commit_seconds = opts->commit_seconds;
    /*
    ** Keep enough spare chunks for a full queue of ~500-byte rows: the writer
    ** takes a full queue at once while producers fill the next one, and
    ** chunks freed and allocated again at that rate cost more than SQLite.
    */
    w->queue.max_spare = w->opts.queue_rows / (STORE_CHUNK_BYTES / 512) + 8;

    if (store_migrate(path, err, errlen) < 0 ||
        (w->notify_fd = store_notify_open(path, err, errlen)) < 0)
        goto fail;
    w->db = store_conn_open(path, STORE_CONN_WRITE, err, errlen);
    if (w->db == NULL || store_writer_prepare(w, err, errlen) < 0)
        goto fail;
    if (s_sync_init(w) < 0) {
        errf(err, errlen, "%s: cannot create the writer's locks", path);
        goto fail;
    }
    w->sync_ready = 1;
    /* From here on the connection belongs to the thread. */
    if (pthread_create(&w->thread, NULL, store_writer_main, w) != 0) {
        errf(err, errlen, "%s: cannot start the writer thread", path);
        goto fail;
    }
    w->started = 1;
    return w;
fail:
    store_writer_destroy(&w);
    return NULL;
}


/*
** Whether a put wakes the writer (under mu).  While a transaction is open the
** writer wakes itself when it is due (batch_ms) and writes what was queued in
** one go, so a put wakes it only to begin one, or once batch_rows (or a full
** queue) are waiting: at low concurrency one row a step would otherwise wake
** the writer thread once a row, and on a small machine that wakeup takes the
** CPU from the thread sending the next request.  in_txn is read only while
** the writer sleeps, when it cannot change.  Commits come when they did.
*/
static int
s_wake_for_put(const store_writer_t *w)
{
    int enough = w->opts.batch_rows < w->opts.queue_rows ? w->opts.batch_rows
                                                         : w->opts.queue_rows;

    return w->idle && (!w->in_txn || w->queue.rows >= enough);
}


/* Copy rec into the queue and return its ticket, or -1. */
static int64_t
s_put(store_writer_t *w, store_rec_type_t type, const void *rec)
{
    size_t size = store_rec_size(type, rec); /* strlen outside the lock */
    int64_t ticket = -1;
    int oom = 0;

    pthread_mutex_lock(&w->mu);
    while (w->queue.rows >= w->opts.queue_rows && !w->failed)
        pthread_cond_wait(&w->room, &w->mu);
    if (!w->failed) {
        if (store_queue_push(&w->queue, type, rec, size, w->issued + 1) < 0) {
            oom = 1;
        } else {
            ticket = ++w->issued;
            if (s_wake_for_put(w)) {
                w->idle = 0;
                pthread_cond_signal(&w->wake);
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
    if (oom)
        store_writer_fail(w, "%s: out of memory queuing a row", w->path);
    return ticket;
}


int64_t
store_writer_put_run(store_writer_t *w, const store_run_t *run)
{
    return s_put(w, STORE_REC_RUN, run);
}


int64_t
store_writer_put_problem(store_writer_t *w, const store_problem_t *p)
{
    return s_put(w, STORE_REC_PROBLEM, p);
}


int64_t
store_writer_put_step(store_writer_t *w, const store_step_t *s)
{
    return s_put(w, STORE_REC_STEP, s);
}


int64_t
store_writer_put_wasted(store_writer_t *w, const store_step_t *s)
{
    return s_put(w, STORE_REC_WASTED, s);
}


int64_t
store_writer_put_usage(store_writer_t *w, int64_t problem_id,
                       const store_usage_total_t *t)
{
    store_usage_row_t u = {.problem_id = problem_id, .t = *t};

    return s_put(w, STORE_REC_USAGE, &u);
}


/*
** A ticket <= 0, or one not handed out yet, means everything queued so far.
** Rows committed before a failure still count: waiting for them returns 0.
*/
int
store_writer_wait(store_writer_t *w, int64_t ticket)
{
    int rc;

    pthread_mutex_lock(&w->mu);
    if (ticket <= 0 || ticket > w->issued)
        ticket = w->issued;
    w->waiting++;
    /* A waiter makes the writer commit now instead of at batch_ms. */
    if (ticket > w->flush_to)
        w->flush_to = ticket;
    while (w->durable < ticket && !w->failed) {
        if (w->idle) {
            w->idle = 0;
            pthread_cond_signal(&w->wake);
        }
        pthread_cond_wait(&w->done, &w->mu);
    }
    w->waiting--;
    rc = w->durable >= ticket ? 0 : -1;
    pthread_mutex_unlock(&w->mu);
    return rc;
}


int64_t
store_writer_durable(store_writer_t *w)
{
    int64_t d;

    pthread_mutex_lock(&w->mu);
    d = w->durable;
    pthread_mutex_unlock(&w->mu);
    return d;
}


/*
** Nothing to do when every ticket is committed or already asked for: a
** flush after every put costs a lock, not a wakeup.  A busy writer is not
** woken either; it reads flush_to between chunks and before it sleeps.
*/
void
store_writer_flush(store_writer_t *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->issued > w->flush_to && w->issued > w->durable && !w->failed) {
        w->flush_to = w->issued;
        if (w->idle) {
            w->idle = 0;
            pthread_cond_signal(&w->wake);
        }
    }
    pthread_mutex_unlock(&w->mu);
}


/*
** The reason is written once, before failed is set under the lock, and never
** changes after, so the pointer may be read after the lock is released.
*/
const char *
store_writer_error(const store_writer_t *w)
{
    store_writer_t *m = (store_writer_t *)w; /* the lock is not the state */
    int failed;

    pthread_mutex_lock(&m->mu);
    failed = m->failed;
    pthread_mutex_unlock(&m->mu);
    return failed ? w->error : NULL;
}


int64_t
store_writer_committed(const store_writer_t *w)
{
    store_writer_t *m = (store_writer_t *)w;
    int64_t n;

    pthread_mutex_lock(&m->mu);
    n = m->committed;
    pthread_mutex_unlock(&m->mu);
    return n;
}


int64_t
store_writer_backlog(const store_writer_t *w)
{
    store_writer_t *m = (store_writer_t *)w;
    int64_t n;

    pthread_mutex_lock(&m->mu);
    n = m->issued - m->durable;
    pthread_mutex_unlock(&m->mu);
    return n;
}


void
store_writer_destroy(store_writer_t **wp)
{
    store_writer_t *w;

    if (wp == NULL || *wp == NULL)
        return;
    w = *wp;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL); /* drains, commits, closes */
    }
    store_writer_close_db(w); /* closed already if the thread ran */
    if (w->notify_fd >= 0)
        close(w->notify_fd);
    store_queue_clear(&w->queue);
    if (w->sync_ready) {
        pthread_cond_destroy(&w->done);
        pthread_cond_destroy(&w->room);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mu);
    }
    free(w->twice);
    free(w->path);
    free(w);
    *wp = NULL;
}
