/*
** testutil.h: helpers for tests that run the trim binary and read SQLite.
*/
#ifndef TRIM_TESTUTIL_H
#define TRIM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

/* Path of the trim binary under test (env TRIM_BIN, set by ctest). */
const char *test_bin(void);

/*
** Run a shell command and return everything it wrote to stdout (malloc'd);
** *status receives its exit code (-1 if it did not exit normally).
*/
char *test_capture(const char *cmd, int *status);

/* A path for name inside this test process's own temporary directory. */
void test_tmp_path(char *out, size_t outlen, const char *name);

/* Remove a database file with its -wal and -shm companions. */
void test_remove_db(const char *path);

/*
** Start argv[0] (a path) with argv, its stdout and stderr appended to
** log_path.  Returns the child's pid; fails the test if it cannot start.
** Children not reaped by test_wait_child are killed when the test process
** exits.
*/
int test_spawn(const char *log_path, char *const argv[]);

/*
** Wait up to timeout_ms for child pid to exit (woken by its exit, not by
** polling).  Returns its exit code, 128 + signal if killed, or -1 on timeout.
*/
int test_wait_child(int pid, int timeout_ms);

/* Send sig to pid and reap it (bounded); no-op for pid <= 0. */
void test_stop_child(int pid, int sig);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int test_free_port(void);

/*
** One HTTP request (method "GET", "POST", ...; no body) to url, with a
** 10 s limit: the body (cut at bodylen - 1 bytes, NUL-terminated) into
** body and the Content-Type into type (may be NULL).  Returns the status,
** or 0 when no answer came (nothing listening, say).
*/
long test_http(const char *method, const char *url, char *body, size_t bodylen,
               char *type, size_t typelen);

/* 1 if the file at path contains needle. */
int test_file_contains(const char *path, const char *needle);

/* How many lines of the file at path contain needle. */
int64_t test_count_lines(const char *path, const char *needle);

/*
** A fresh, empty directory /tmp/trim-PREFIX-XXXXXX, its path in out; fails
** the test if it cannot be made.  test_remove_tree removes a directory with
** everything in it; 0, or -1 when that failed.
*/
void test_scratch_dir(char *out, size_t outlen, const char *prefix);
int test_remove_tree(const char *dir);

/* Write text to path (created or truncated); fails the test if it cannot. */
void test_write_file(const char *path, const char *text);

/*
** Run `trim ARGS` (ARGS formatted from fmt, shell syntax allowed) inside
** directory dir; *out and *err get its stdout and its stderr (malloc'd; the
** stderr passes through dir/stderr).  Returns its exit code.
*/
int test_trim_in(const char *dir, char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
** Send fd (1 or 2) to a temporary file until test_redirect_end, which puts
** it back and returns what was written to it (malloc'd).
*/
typedef struct test_redirect {
    int fd, saved;
    FILE *file;
} test_redirect_t;
void test_redirect_begin(test_redirect_t *r, int fd);
char *test_redirect_end(test_redirect_t *r);

/* Run a query (printf-style) that yields one integer; fails the test if not. */
int64_t sql_int(sqlite3 *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fail unless the audit store h holds one accepted step per step index. */
void sql_check_one_accepted(sqlite3 *h);

#endif
