/*
** prune.c: retention: deleting the rows of ended runs, and giving the freed
** pages back to the file system.
**
** A pruned run keeps its runs row.  Its step rows go; its problem rows and
** their usage totals (problem_usage) go too unless summaries are kept, in
** which case every problem keeps its outcome, counters and usage, so the
** problem list, the run's totals and its dollars read as before.  A problem
** whose usage totals were never stored (store_writer_put_usage skips one
** whose steps were redelivered) gets them from its steps before they go.
**
** Rows are deleted PRUNE_BATCH problems per transaction, so a coordinator
** writing to the same file waits at most one batch for the lock.  Only runs
** that have finished are pruned, and of those only the problems that ended
** by then (S_BATCH).
**
** New stores are made with auto_vacuum=INCREMENTAL (conn.c), where PRAGMA
** incremental_vacuum moves the free pages to the end of the file and cuts
** them off; the WAL checkpoint that follows makes the file shorter.  A store
** made before then keeps its size until store_vacuum converts it (a VACUUM:
** a full rewrite, once).
*/
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"

/* Problems per transaction: ~10 step rows each, a few ms of lock. */
#define PRUNE_BATCH 500

/* The runs to prune, in id order: ?1 one run (0: any), ?2 ended before. */
static const char s_runs_sql[] =
    "SELECT run_id FROM runs WHERE finished_ms > 0"
    " AND (?1 = 0 OR run_id = ?1) AND (?2 = 0 OR finished_ms < ?2)"
    " ORDER BY run_id";

/*
** The batch: the next PRUNE_BATCH problems of run ?1 after id ?2 that ended
** before the run's row last said it finished.  A run may take new problems
** after it finished (a gateway's route is one long run): those are left
** alone, in flight or not, since the coordinator may still be writing their
** rows (a problem's usage totals follow its last row, and the run's row
** follows both).
*/
#define S_BATCH                                                                \
    "SELECT problem_id FROM problems WHERE run_id = ?1 AND problem_id > ?2"    \
    " AND status IN ('finished', 'failed', 'cancelled') AND finished_ms <="    \
    " (SELECT finished_ms FROM runs WHERE run_id = ?1)"                        \
    " ORDER BY problem_id LIMIT ?3"

/* What a batch runs, in order; the steps' DELETE is S_STEPS_DELETE. */
#define S_STEPS_DELETE 1
static const char *const s_batch_sql[] = {
    /* Usage totals a kept problem lacks, from its steps (schema v7's rule). */
    "INSERT INTO problem_usage (problem_id, " STORE_USAGE_TOTAL_NAMES ")"
    " SELECT problem_id," STORE_USAGE_TOTALS "FROM (SELECT " STORE_USAGE_COLUMNS
    " FROM steps WHERE problem_id IN (" S_BATCH ")"
    " AND problem_id NOT IN (SELECT problem_id FROM problem_usage))"
    " GROUP BY problem_id",
    "DELETE FROM steps WHERE problem_id IN (" S_BATCH ")",
    "DELETE FROM wasted_drafts WHERE problem_id IN (" S_BATCH ")",
    /* Without summaries, the rest too. */
    "DELETE FROM problem_usage WHERE problem_id IN (" S_BATCH ")",
    "DELETE FROM problems WHERE problem_id IN (" S_BATCH ")",
};
#define S_BATCH_SQLS (sizeof s_batch_sql / sizeof *s_batch_sql)

/* The last problem id of the batch (its end), or 0 past the last. */
static const char s_batch_end_sql[] =
    "SELECT max(problem_id) FROM (" S_BATCH ")";


static int64_t
s_file_bytes(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}


/* A write connection to the store at path, which must exist: a mistyped
** path is an error, not a new empty store. */
static sqlite3 *
s_open(const char *path, char *err, size_t errlen)
{
    if (access(path, F_OK) != 0) {
        errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    return store_conn_open(path, STORE_CONN_WRITE, err, errlen);
}


/* Prepare sql, bind ?1..?3 (those it has), run it to the end. */
static int
s_run(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c,
      int64_t *out, const char *path, const char *what, char *err,
      size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc, n;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_conn_error(db, path, what, err, errlen);
        return -1;
    }
    n = sqlite3_bind_parameter_count(st);
    if ((n >= 1 && sqlite3_bind_int64(st, 1, a) != SQLITE_OK) ||
        (n >= 2 && sqlite3_bind_int64(st, 2, b) != SQLITE_OK) ||
        (n >= 3 && sqlite3_bind_int64(st, 3, c) != SQLITE_OK)) {
        store_conn_error(db, path, what, err, errlen);
        sqlite3_finalize(st);
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (out != NULL)
            *out = sqlite3_column_int64(st, 0);
    if (rc != SQLITE_DONE)
        store_conn_error(db, path, what, err, errlen);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}


/* Prune one run's problems, a batch per transaction. */
static int
s_prune_run(sqlite3 *db, const char *path, int64_t run_id, int keep_summaries,
            store_prune_result_t *res, char *err, size_t errlen)
{
    int64_t after = 0;

    for (;;) {
        int64_t end = 0;
        if (store_conn_exec(db, "BEGIN IMMEDIATE", path, "starting a prune",
                            err, errlen) < 0)
            return -1;
        if (s_run(db, s_batch_end_sql, run_id, after, PRUNE_BATCH, &end, path,
                  "finding problems to prune", err, errlen) < 0)
            goto fail;
        if (end == 0)
            break;
        /* Kept: usage, steps, wasted drafts; else all but the first. */
        size_t first = keep_summaries ? 0 : 1;
        size_t last = keep_summaries ? S_STEPS_DELETE + 1 : S_BATCH_SQLS - 1;
        for (size_t i = first; i <= last; i++) {
            if (s_run(db, s_batch_sql[i], run_id, after, PRUNE_BATCH, NULL,
                      path, "pruning", err, errlen) < 0)
                goto fail;
            if (i == S_STEPS_DELETE)
                res->steps += sqlite3_changes64(db);
            else if (i == S_BATCH_SQLS - 1)
                res->problems += sqlite3_changes64(db);
        }
        if (store_conn_exec(db, "COMMIT", path, "committing a prune", err,
                            errlen) < 0)
            goto fail;
        after = end;
    }
    return store_conn_exec(db, "COMMIT", path, "ending a prune", err, errlen);
fail:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}


/* Hand the free pages back and checkpoint, so the file itself shrinks. */
static int
s_shrink(sqlite3 *db, const char *path, store_prune_result_t *res, char *err,
         size_t errlen)
{
    int64_t mode = 0, free_pages = 0, page = 0;

    if (s_run(db, "PRAGMA auto_vacuum", 0, 0, 0, &mode, path,
              "reading auto_vacuum", err, errlen) < 0)
        return -1;
    res->incremental = mode == 2;
    /* One row per page it frees: s_run steps to the end. */
    if (res->incremental &&
        s_run(db, "PRAGMA incremental_vacuum", 0, 0, 0, NULL, path,
              "running incremental_vacuum", err, errlen) < 0)
        return -1;
    if (s_run(db, "PRAGMA freelist_count", 0, 0, 0, &free_pages, path,
              "reading freelist_count", err, errlen) < 0 ||
        s_run(db, "PRAGMA page_size", 0, 0, 0, &page, path, "reading page_size",
              err, errlen) < 0)
        return -1;
    res->free_bytes = free_pages * page;
    /* A reader in the way only leaves the WAL longer: not an error. */
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    return 0;
}


int
store_prune(const char *path, const store_prune_opts_t *o,
            store_prune_result_t *res, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t *runs = NULL;
    size_t n = 0, cap = 0;
    int rc = -1, v, step;

    *res = (store_prune_result_t){.bytes_before = s_file_bytes(path)};
    db = s_open(path, err, errlen);
    if (db == NULL || store_conn_version(db, path, &v, err, errlen) < 0)
        goto done;
    if (v != STORE_SCHEMA_VERSION) {
        errf(err, errlen, "%s: schema version %d, expected %d (trim migrate)",
             path, v, STORE_SCHEMA_VERSION);
        goto done;
    }
    /* The runs first (one read), then each pruned in its own batches. */
    if (sqlite3_prepare_v2(db, s_runs_sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, o->run_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, o->before_ms) != SQLITE_OK) {
        store_conn_error(db, path, "finding runs to prune", err, errlen);
        goto done;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t c = cap ? cap * 2 : 16;
            int64_t *p = realloc(runs, c * sizeof *p);
            if (p == NULL) {
                errf(err, errlen, "%s: out of memory pruning", path);
                goto done;
            }
            runs = p;
            cap = c;
        }
        runs[n++] = sqlite3_column_int64(st, 0);
    }
    if (step != SQLITE_DONE) {
        store_conn_error(db, path, "finding runs to prune", err, errlen);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    for (size_t i = 0; i < n; i++) {
        if (s_prune_run(db, path, runs[i], o->keep_summaries, res, err,
                        errlen) < 0)
            goto done;
        res->runs++;
    }
    if (s_shrink(db, path, res, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(runs);
    res->bytes_after = s_file_bytes(path);
    return rc;
}


int
store_vacuum(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = s_open(path, err, errlen);
    int v, rc = -1;

    /* The connection asked for auto_vacuum=INCREMENTAL (conn.c); in a file
    ** with tables only a VACUUM makes it so. */
    if (db == NULL || store_conn_version(db, path, &v, err, errlen) < 0)
        goto done;
    if (v == 0) {
        errf(err, errlen, "%s: not a trim store (no schema version)", path);
        goto done;
    }
    if (store_conn_exec(db, "VACUUM", path, "vacuuming", err, errlen) == 0) {
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        rc = 0;
    }
done:
    sqlite3_close(db);
    return rc;
}
