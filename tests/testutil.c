/*
** testutil.c: helpers shared by integration tests (see testutil.h).
*/
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>


const char *
test_bin(void)
{
    const char *b = getenv("TRIM_BIN");
    if (b == NULL || *b == '\0')
        fail_msg("TRIM_BIN is not set (run the tests through ctest)");
    return b;
}


char *
test_capture(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 1024) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL)
                free(buf);
            assert_non_null(grown);
            buf = grown;
        }
    }
    buf[len] = '\0';
    int rc = pclose(f);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return buf;
}


void
test_tmp_path(char *out, size_t outlen, const char *name)
{
    static char dir[256];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/trim-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
    }
    snprintf(out, outlen, "%s/%s", dir, name);
    test_remove_db(out);
}


void
test_remove_db(const char *path)
{
    char p[512];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}


int64_t
sql_int(sqlite3 *h, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    sqlite3_stmt *st;
    int64_t v;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("bad SQL (%s): %s", sqlite3_errmsg(h), sql);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        fail_msg("no row from: %s", sql);
    }
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}


void
sql_check_one_accepted(sqlite3 *h)
{
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM (SELECT problem_id, step_index FROM "
                   "steps WHERE accepted=1 GROUP BY 1, 2 HAVING COUNT(*) <> "
                   "1)"),
        0);
}


/*
** Children still running when the test process exits (a failed assertion
** skips the test's own clean-up) are killed, so no cluster outlives its
** test.
*/
#define MAX_CHILDREN 256
static int g_children[MAX_CHILDREN];


static void
kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] > 0) {
            kill(g_children[i], SIGKILL);
            waitpid(g_children[i], NULL, 0);
            g_children[i] = 0;
        }
}


static void
remember_child(int pid, int add)
{
    static int registered;
    if (!registered) {
        atexit(kill_children);
        registered = 1;
    }
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] == (add ? 0 : pid)) {
            g_children[i] = add ? pid : 0;
            return;
        }
}


int
test_spawn(const char *log_path, char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    remember_child((int)pid, 1);
    return (int)pid;
}


int
test_wait_child(int pid, int timeout_ms)
{
    int status;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

    if (pfd >= 0) {
        struct pollfd p = {pfd, POLLIN, 0};
        int rc = poll(&p, 1, timeout_ms);
        close(pfd);
        if (rc <= 0)
            return -1;
    }
    if (waitpid(pid, &status, pfd >= 0 ? 0 : WNOHANG) != pid)
        return -1;
    remember_child(pid, 0);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}


void
test_stop_child(int pid, int sig)
{
    if (pid <= 0)
        return;
    kill(pid, sig);
    if (test_wait_child(pid, 10000) < 0) {
        kill(pid, SIGKILL);
        test_wait_child(pid, 10000);
    }
}


int
test_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(s >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}


int
test_file_contains(const char *path, const char *needle)
{
    char cmd[1024];
    int status;
    snprintf(cmd, sizeof cmd, "cat '%s' 2>/dev/null", path);
    char *out = test_capture(cmd, &status);
    int found = strstr(out, needle) != NULL;
    free(out);
    return found;
}


int64_t
test_count_lines(const char *path, const char *needle)
{
    char cmd[1024];
    int status;
    snprintf(cmd, sizeof cmd, "grep -cF -- '%s' '%s'", needle, path);
    char *out = test_capture(cmd, &status);
    int64_t n = atoll(out);
    free(out);
    return n;
}


void
test_scratch_dir(char *out, size_t outlen, const char *prefix)
{
    snprintf(out, outlen, "/tmp/trim-%s-XXXXXX", prefix);
    if (mkdtemp(out) == NULL)
        fail_msg("cannot make a directory like %s", out);
}


int
test_remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}


void
test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}


int
test_trim_in(const char *dir, char **out, char **err, const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    int st, st_err;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>stderr", dir, test_bin(), args);
    *out = test_capture(cmd, &st);
    snprintf(cmd, sizeof cmd, "cat %s/stderr", dir);
    *err = test_capture(cmd, &st_err);
    return st;
}


void
test_redirect_begin(test_redirect_t *r, int fd)
{
    fflush(stdout);
    fflush(stderr);
    r->fd = fd;
    r->file = tmpfile();
    r->saved = dup(fd);
    assert_non_null(r->file);
    assert_true(r->saved >= 0);
    assert_true(dup2(fileno(r->file), fd) >= 0);
}


char *
test_redirect_end(test_redirect_t *r)
{
    fflush(stdout);
    fflush(stderr);
    dup2(r->saved, r->fd);
    close(r->saved);
    fseek(r->file, 0, SEEK_END);
    long n = ftell(r->file);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    rewind(r->file);
    text[fread(text, 1, (size_t)n, r->file)] = '\0';
    fclose(r->file);
    return text;
}


typedef struct http_body {
    char *buf;
    size_t len, cap;
} http_body_t;


static size_t
on_http_body(char *p, size_t size, size_t n, void *ctx)
{
    http_body_t *b = ctx;
    size_t k = size * n, room = b->cap - 1 - b->len;

    memcpy(b->buf + b->len, p, k < room ? k : room);
    b->len += k < room ? k : room;
    b->buf[b->len] = '\0';
    return k;
}


long
test_http(const char *method, const char *url, char *body, size_t bodylen,
          char *type, size_t typelen)
{
    http_body_t b = {body, 0, bodylen};
    long status = 0;
    char *ct = NULL;
    CURL *c = curl_easy_init();

    assert_non_null(c);
    body[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_http_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (type)
        snprintf(type, typelen, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return status;
}
