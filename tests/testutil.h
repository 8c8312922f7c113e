/*
** testutil.h: helpers for tests that run the trim binary and read SQLite.
*/
#ifndef TRIM_TESTUTIL_H
#define TRIM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* Path of the trim binary under test (env TRIM_BIN, set by ctest). */
const char *test_bin(void);

/* Shared data folder (env TRIM_SHARED_DATA), or NULL when absent. */
const char *test_shared_data(void);

/*
** Run a shell command and return everything it wrote to stdout (malloc'd);
** *status receives its exit code (-1 if it did not exit normally).
*/
char *test_capture(const char *cmd, int *status);

/* A path for name inside this test process's own temporary directory. */
void test_tmp_path(char *out, size_t outlen, const char *name);

/* Remove a database file with its -wal and -shm companions. */
void test_remove_db(const char *path);

/* Run a query (printf-style) that yields one integer; fails the test if not. */
int64_t sql_int(sqlite3 *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
