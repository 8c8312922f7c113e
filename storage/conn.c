/*
** conn.c: opening connections with the pragmas every connection needs.
**
** synchronous is a per-connection setting (a reopened connection reads FULL
** again), so it is set on every open, readers included.  journal_mode=WAL is
** persistent in the file but is asked for on every write open: it is cheap
** when already set and it is the first statement that reads the file, which
** is where a file that is not SQLite shows itself.
**
** The write connection checkpoints every STORE_CHECKPOINT_PAGES instead of
** SQLite's 1000: each checkpoint costs two fsyncs on the writer thread; at
** 1000 pages bench_storage paid ~160 of them per 500,000 rows, and 10,000
** pages gave ~8% more rows/s.  The WAL grows to ~40 MB between checkpoints.
**
** New files are made with auto_vacuum=INCREMENTAL, so that pages freed by
** `trim prune` can be handed back to the file system (prune.c).
*/
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "errf.h"


void
store_conn_error(sqlite3 *db, const char *path, const char *what, char *err,
                 size_t errlen)
{
    int rc = sqlite3_errcode(db);

    if (rc == SQLITE_NOTADB)
        errf(err, errlen, "%s: not an SQLite database (%s)", path,
             sqlite3_errmsg(db));
    else
        errf(err, errlen, "%s: %s: %s", path, what, sqlite3_errmsg(db));
}


int
store_conn_exec(sqlite3 *db, const char *sql, const char *path,
                const char *what, char *err, size_t errlen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        store_conn_error(db, path, what, err, errlen);
        return -1;
    }
    return 0;
}


/* Set journal_mode=WAL and check that SQLite agreed (it answers the mode). */
static int
s_wal(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    const char *mode;
    int rc = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        store_conn_error(db, path, "setting journal_mode=WAL", err, errlen);
        goto done;
    }
    mode = (const char *)sqlite3_column_text(st, 0);
    if (mode == NULL || strcasecmp(mode, "wal") != 0) {
        errf(err, errlen, "%s: journal_mode is %s, not wal", path,
             mode ? mode : "unknown");
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}


sqlite3 *
store_conn_open(const char *path, store_conn_mode_t mode, char *err,
                size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX; /* each connection has one owner */

    if (mode == STORE_CONN_READ) {
        /* SQLite says only "unable to open database file"; say why. */
        if (access(path, F_OK) != 0) {
            errf(err, errlen, "%s: %s", path, strerror(errno));
            return NULL;
        }
        flags |= SQLITE_OPEN_READONLY;
    } else {
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    }
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        if (db == NULL)
            errf(err, errlen, "%s: out of memory opening", path);
        else
            store_conn_error(db, path, "opening", err, errlen);
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    /* Before journal_mode: in a new file, WAL writes the header, and the
    ** vacuum mode can only be chosen before that (or by a VACUUM).  In a
    ** file with tables this changes nothing (store_vacuum converts one). */
    if (mode == STORE_CONN_WRITE &&
        store_conn_exec(db, "PRAGMA auto_vacuum=INCREMENTAL", path,
                        "setting auto_vacuum", err, errlen) < 0)
        goto fail;
    if (mode == STORE_CONN_WRITE && s_wal(db, path, err, errlen) < 0)
        goto fail;
    if (store_conn_exec(db, "PRAGMA synchronous=NORMAL", path,
                        "setting synchronous", err, errlen) < 0)
        goto fail;
    if (mode == STORE_CONN_WRITE &&
        store_conn_exec(db, STORE_WRITE_PRAGMAS, path,
                        "setting the writer's pragmas", err, errlen) < 0)
        goto fail;
    return db;
fail:
    sqlite3_close(db);
    return NULL;
}


int
store_conn_version(sqlite3 *db, const char *path, int *version, char *err,
                   size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        store_conn_error(db, path, "reading the schema version", err, errlen);
        goto done;
    }
    *version = sqlite3_column_int(st, 0);
    if (*version > STORE_SCHEMA_VERSION) {
        errf(err, errlen,
             "%s: schema version %d is newer than this build's %d "
             "(written by a newer trim?)",
             path, *version, STORE_SCHEMA_VERSION);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}


void
store_remove(const char *path)
{
    char side[4096];

    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}
