/*
** test_curve.c: CURVE key files, the ZAP handler and encrypted TCP.
**
** Every network test uses real TCP on 127.0.0.1 with ports chosen by the
** kernel.  Waits are bounded polls, never fixed sleeps standing in for
** "long enough".
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "sock.h"
#include "skip.h"
#include "zap.h"

#define MARKER  "PLAINTEXT-MARKER-42"
#define WAIT_MS 5000 /* bound on waits for something that must happen */

typedef struct fixture {
    char dir[64];
    int saved_stderr; /* >= 0 while stderr goes to capture */
    char capture[512];
} fixture_t;


/* Send fd 2 to the file f->capture until stderr_restore(). */
static void
stderr_capture(fixture_t *f)
{
    int fd;

    snprintf(f->capture, sizeof f->capture, "%s/stderr.log", f->dir);
    fd = open(f->capture, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fflush(stderr);
    f->saved_stderr = dup(2);
    if (fd >= 0 && f->saved_stderr >= 0)
        dup2(fd, 2);
    if (fd >= 0)
        close(fd);
}


static void
stderr_restore(fixture_t *f)
{
    fflush(stderr);
    if (f->saved_stderr >= 0) {
        dup2(f->saved_stderr, 2);
        close(f->saved_stderr);
    }
    f->saved_stderr = -1;
}


static void
dump_file(const char *path)
{
    char buf[4096];
    size_t n;
    FILE *fp = fopen(path, "r");

    while (fp && (n = fread(buf, 1, sizeof buf, fp)) > 0)
        fwrite(buf, 1, n, stderr);
    if (fp)
        fclose(fp);
}


static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/trim-curve-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    f->saved_stderr = -1;
    *state = f;
    return 0;
}


static int
teardown(void **state)
{
    fixture_t *f = *state;
    DIR *d;
    struct dirent *e;
    char path[512];

    if (f->saved_stderr >= 0) {
        /* A test failed while capturing: restore, and show what it saw. */
        stderr_restore(f);
        dump_file(f->capture);
    }
    d = opendir(f->dir);
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}


static void
path_in(const fixture_t *f, const char *name, char out[512])
{
    snprintf(out, 512, "%s/%s", f->dir, name);
}


static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}


/* Whole file as a NUL-terminated string (caller frees). */
static char *
read_all(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf;
    long n;

    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return buf;
}


static int
count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}


static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}


static void
make_keys(const fixture_t *f, const char *name, curve_keys_t *k)
{
    char prefix[512], err[512];
    path_in(f, name, prefix);
    assert_int_equal(curve_write_keypair(prefix, k, err, sizeof err), 0);
}


/* ---- key files --------------------------------------------------------- */

static void
test_keypair_roundtrip(void **state)
{
    fixture_t *f = *state;
    char prefix[512], sec[512], pub[512], err[512], pubkey[41];
    curve_keys_t written, loaded, again;
    struct stat st;

    path_in(f, "node", prefix);
    path_in(f, "node.secret", sec);
    path_in(f, "node.public", pub);
    assert_int_equal(curve_write_keypair(prefix, &written, err, sizeof err), 0);
    assert_int_equal(strlen(written.public_z85), 40);
    assert_int_equal(strlen(written.secret_z85), 40);

    assert_int_equal(stat(sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = read_all(pub);
    assert_int_equal(strncmp(text, written.public_z85, 40), 0);
    assert_string_equal(text + 40, "\n");
    free(text);

    assert_int_equal(curve_load_secret(sec, &loaded, err, sizeof err), 0);
    assert_string_equal(loaded.secret_z85, written.secret_z85);
    assert_string_equal(loaded.public_z85, written.public_z85);
    assert_int_equal(curve_load_public(pub, pubkey, err, sizeof err), 0);
    assert_string_equal(pubkey, written.public_z85);
    /* Inline, as --curve-server-key may be given. */
    assert_int_equal(
        curve_load_public(written.public_z85, pubkey, err, sizeof err), 0);
    assert_string_equal(pubkey, written.public_z85);

    /* An existing key is never overwritten. */
    assert_int_equal(curve_write_keypair(prefix, &again, err, sizeof err), -1);
    assert_non_null(strstr(err, "already exists"));
    assert_non_null(strstr(err, sec));
    assert_int_equal(curve_load_secret(sec, &loaded, err, sizeof err), 0);
    assert_string_equal(loaded.secret_z85, written.secret_z85);

    /* A stray PREFIX.public also blocks, and no secret is left behind. */
    char lone[512], lone_pub[512], lone_sec[512];
    path_in(f, "lone", lone);
    path_in(f, "lone.public", lone_pub);
    path_in(f, "lone.secret", lone_sec);
    write_file(lone_pub, "stale\n", 0644);
    assert_int_equal(curve_write_keypair(lone, &again, err, sizeof err), -1);
    assert_non_null(strstr(err, lone_pub));
    assert_int_not_equal(access(lone_sec, F_OK), 0);

    curve_keys_clear(&written);
    curve_keys_clear(&loaded);
    assert_int_equal(loaded.secret_z85[0], 0);
}


static void
test_secret_permissions(void **state)
{
    fixture_t *f = *state;
    char prefix[512], sec[512], err[512];
    curve_keys_t k, loaded;

    path_in(f, "perm", prefix);
    path_in(f, "perm.secret", sec);
    assert_int_equal(curve_write_keypair(prefix, &k, err, sizeof err), 0);

    assert_int_equal(chmod(sec, 0644), 0);
    assert_int_equal(curve_load_secret(sec, &loaded, err, sizeof err), -1);
    assert_non_null(strstr(err, "too open"));
    assert_non_null(strstr(err, sec));
    assert_non_null(strstr(err, "0644"));
    assert_null(strstr(err, k.secret_z85));
    assert_int_equal(loaded.secret_z85[0], 0);

    assert_int_equal(chmod(sec, 0640), 0); /* group access: refused too */
    assert_int_equal(curve_load_secret(sec, &loaded, err, sizeof err), -1);
    assert_non_null(strstr(err, "too open"));

    assert_int_equal(chmod(sec, 0400), 0); /* owner read-only is fine */
    assert_int_equal(curve_load_secret(sec, &loaded, err, sizeof err), 0);
    curve_keys_clear(&k);
    curve_keys_clear(&loaded);
}


static void
test_malformed_keys(void **state)
{
    fixture_t *f = *state;
    char path[512], err[512], pub[41];
    curve_keys_t k;
    static const char *const bad[] = {
        "short\n",
        "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n",  /* not Z85 */
        "0123456789012345678901234567890123456789xyz", /* 43 chars */
        "01234567890123456789 0123456789012345678\n",  /* two words */
        "",
    };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        path_in(f, "bad.secret", path);
        unlink(path);
        write_file(path, bad[i], 0600);
        assert_int_equal(curve_load_secret(path, &k, err, sizeof err), -1);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "40 Z85"));
        if (bad[i][0] != '\0')
            assert_null(strstr(err, bad[i])); /* content never quoted */

        path_in(f, "bad.public", path);
        unlink(path);
        write_file(path, bad[i], 0644);
        assert_int_equal(curve_load_public(path, pub, err, sizeof err), -1);
        assert_non_null(strstr(err, path));
    }

    path_in(f, "missing.secret", path);
    assert_int_equal(curve_load_secret(path, &k, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(curve_load_public("not-a-key", pub, err, sizeof err), -1);
    assert_non_null(strstr(err, "not-a-key"));

    /* Surrounding whitespace is fine. */
    curve_keys_t good;
    make_keys(f, "ws", &good);
    path_in(f, "ws.public", path);
    unlink(path);
    char text[64];
    snprintf(text, sizeof text, "  %s \r\n\n", good.public_z85);
    write_file(path, text, 0644);
    assert_int_equal(curve_load_public(path, pub, err, sizeof err), 0);
    assert_string_equal(pub, good.public_z85);
    curve_keys_clear(&good);
}


static void
test_fingerprint(void **state)
{
    fixture_t *f = *state;
    curve_keys_t a, b;
    char fa[17], fa2[17], fb[17];

    make_keys(f, "fa", &a);
    make_keys(f, "fb", &b);
    curve_fingerprint(a.public_z85, fa);
    curve_fingerprint(a.public_z85, fa2);
    curve_fingerprint(b.public_z85, fb);
    assert_int_equal(strlen(fa), 16);
    assert_int_equal(strspn(fa, "0123456789abcdef"), 16);
    assert_string_equal(fa, fa2);
    assert_string_not_equal(fa, fb);
    assert_null(strstr(a.public_z85, fa));
    assert_null(strstr(a.secret_z85, fa));
    curve_keys_clear(&a);
    curve_keys_clear(&b);
}


/* ---- ZAP handler --------------------------------------------------------- */

static void
test_allowed_keys_file(void **state)
{
    fixture_t *f = *state;
    char path[512], err[512], text[512], want[600];
    curve_keys_t a;
    void *ctx = zmq_ctx_new();
    zap_t *z;

    make_keys(f, "allow", &a);
    path_in(f, "allowed", path);

    snprintf(text, sizeof text, "# clients\n\n%s  # worker 1\nnonsense\n",
             a.public_z85);
    write_file(path, text, 0644);
    z = zap_new(ctx, path, "t", err, sizeof err);
    assert_null(z);
    snprintf(want, sizeof want, "%s:4:", path);
    assert_non_null(strstr(err, want));
    assert_null(strstr(err, "nonsense"));

    snprintf(text, sizeof text, "%s trailing\n", a.public_z85);
    write_file(path, text, 0644);
    assert_null(zap_new(ctx, path, "t", err, sizeof err));
    snprintf(want, sizeof want, "%s:1:", path);
    assert_non_null(strstr(err, want));

    path_in(f, "no-such-list", text);
    assert_null(zap_new(ctx, text, "t", err, sizeof err));
    assert_non_null(strstr(err, text));

    /* Comments, a commented-out key, blank lines: fine. */
    snprintf(text, sizeof text, "# c\n  \n#%s\n%s # worker 1\n", a.public_z85,
             a.public_z85);
    write_file(path, text, 0644);
    z = zap_new(ctx, path, "t", err, sizeof err);
    assert_non_null(z);

    /* One handler per context. */
    assert_null(zap_new(ctx, path, "t2", err, sizeof err));
    assert_non_null(strstr(err, "already has a ZAP handler"));

    zap_destroy(&z);
    assert_null(z);
    zap_destroy(&z); /* NULL-safe */

    /* Terminating the context first must not hang; stop still works. */
    z = zap_new(ctx, path, "t3", err, sizeof err);
    if (z == NULL)
        fail_msg("restart: %s", err);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    zap_destroy(&z);
    curve_keys_clear(&a);
}


/* A ROUTER CURVE server bound on a kernel-chosen loopback port. */
static void *
curve_router(void *ctx, const curve_keys_t *k, char endpoint[256])
{
    char err[256];
    size_t len = 256;
    void *s = sock_new(ctx, ZMQ_ROUTER, err, sizeof err);

    assert_non_null(s);
    if (k != NULL)
        assert_int_equal(curve_server(s, k, err, sizeof err), 0);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
    return s;
}


static void *
curve_dealer(void *ctx, const curve_keys_t *k, const char *server_pub,
             const char *endpoint, int reconnect_ivl)
{
    char err[256];
    void *s = sock_new(ctx, ZMQ_DEALER, err, sizeof err);

    assert_non_null(s);
    assert_int_equal(zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &reconnect_ivl,
                                    sizeof reconnect_ivl),
                     0);
    if (k != NULL)
        assert_int_equal(curve_client(s, k, server_pub, err, sizeof err), 0);
    assert_int_equal(zmq_connect(s, endpoint), 0);
    return s;
}


/*
** Wait up to ms for a routed message on server; returns its payload length
** (payload in buf, routing id in id/idlen, and when user is not NULL the
** ZAP user id in user, 64 bytes) or -1 when none came.
*/
static int
recv_routed(void *server, int ms, char *id, size_t *idlen, char *buf,
            size_t cap, char *user)
{
    zmq_pollitem_t it = {server, 0, ZMQ_POLLIN, 0};
    zmq_msg_t msg;
    const char *uid;
    int n;

    if (zmq_poll(&it, 1, ms) <= 0)
        return -1;
    n = zmq_recv(server, id, 255, 0);
    assert_true(n > 0);
    *idlen = (size_t)n;
    zmq_msg_init(&msg);
    n = zmq_msg_recv(&msg, server, 0);
    assert_true(n >= 0 && (size_t)n < cap);
    memcpy(buf, zmq_msg_data(&msg), (size_t)n);
    buf[n] = '\0';
    if (user != NULL) {
        uid = zmq_msg_gets(&msg, "User-Id");
        snprintf(user, 64, "%s", uid ? uid : "");
    }
    zmq_msg_close(&msg);
    return n;
}


static int
recv_reply(void *client, int ms, char *buf, size_t cap)
{
    zmq_pollitem_t it = {client, 0, ZMQ_POLLIN, 0};
    int n;

    if (zmq_poll(&it, 1, ms) <= 0)
        return -1;
    n = zmq_recv(client, buf, cap - 1, 0);
    assert_true(n >= 0);
    buf[n] = '\0';
    return n;
}


/* Wait, bounded, until the handler has refused at least n requests. */
static uint64_t
wait_refused(const zap_t *z, uint64_t n)
{
    uint64_t admitted, refused = 0;
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        zap_stats(z, &admitted, &refused);
        if (refused >= n)
            break;
        sleep_ms(5);
    }
    return refused;
}


static void
test_zap_admits_only_listed_keys(void **state)
{
    fixture_t *f = *state;
    char allowed[512], err[256], endpoint[256], text[128];
    char id[256], buf[256], fpa[17], fpb[17], want[128], user[64];
    size_t idlen;
    curve_keys_t srv, a, b;
    uint64_t admitted, refused;

    make_keys(f, "server", &srv);
    make_keys(f, "a", &a);
    make_keys(f, "b", &b);
    curve_fingerprint(a.public_z85, fpa);
    curve_fingerprint(b.public_z85, fpb);
    path_in(f, "allowed", allowed);
    snprintf(text, sizeof text, "# workers\n%s\n", a.public_z85);
    write_file(allowed, text, 0644);
    stderr_capture(f);
    void *ctx = zmq_ctx_new();
    zap_t *z = zap_new(ctx, allowed, "test", err, sizeof err);
    assert_non_null(z);
    void *server = curve_router(ctx, &srv, endpoint);

    /* Listed key A: a round trip. */
    void *ca = curve_dealer(ctx, &a, srv.public_z85, endpoint, 100);
    assert_int_equal(zmq_send(ca, "hello-a", 7, 0), 7);
    assert_int_equal(
        recv_routed(server, WAIT_MS, id, &idlen, buf, sizeof buf, user), 7);
    assert_string_equal(buf, "hello-a");
    assert_string_equal(user, fpa); /* the handler names the peer */
    assert_int_equal(zmq_send(server, id, idlen, ZMQ_SNDMORE), (int)idlen);
    assert_int_equal(zmq_send(server, "pong", 4, 0), 4);
    assert_int_equal(recv_reply(ca, WAIT_MS, buf, sizeof buf), 4);
    assert_string_equal(buf, "pong");

    /* Unlisted key B, one attempt (no reconnect): refused, never heard. */
    void *cb = curve_dealer(ctx, &b, srv.public_z85, endpoint, -1);
    assert_int_equal(zmq_send(cb, "hello-b", 7, 0), 7);
    assert_int_equal(wait_refused(z, 1), 1);
    assert_int_equal(
        recv_routed(server, 500, id, &idlen, buf, sizeof buf, NULL), -1);
    zap_stats(z, &admitted, &refused);
    assert_int_equal(refused, 1);
    assert_int_equal(admitted, 1);

    /*
    ** B again from three more sockets (libzmq does not retry a connection
    ** refused by ZAP): each is refused and counted, the log names B once.
    */
    void *more[3];
    for (int i = 0; i < 3; i++) {
        more[i] = curve_dealer(ctx, &b, srv.public_z85, endpoint, -1);
        assert_int_equal(zmq_send(more[i], "hello-b2", 8, 0), 8);
    }
    assert_int_equal(wait_refused(z, 4), 4);
    assert_int_equal(
        recv_routed(server, 100, id, &idlen, buf, sizeof buf, NULL), -1);
    for (int i = 0; i < 3; i++)
        sock_destroy(&more[i]);

    /* A NULL-mechanism server that asks ZAP: plain clients are refused. */
    char plain_ep[256];
    void *plain = sock_new(ctx, ZMQ_ROUTER, err, sizeof err);
    size_t eplen = sizeof plain_ep;
    assert_int_equal(zmq_setsockopt(plain, ZMQ_ZAP_DOMAIN, "trim", 4), 0);
    assert_int_equal(zmq_bind(plain, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(plain, ZMQ_LAST_ENDPOINT, plain_ep, &eplen),
                     0);
    void *cp = curve_dealer(ctx, NULL, NULL, plain_ep, -1);
    assert_int_equal(zmq_send(cp, "plain", 5, 0), 5);
    assert_int_equal(wait_refused(z, 5), 5);
    assert_int_equal(recv_routed(plain, 100, id, &idlen, buf, sizeof buf, NULL),
                     -1);
    sock_destroy(&cp);
    sock_destroy(&plain);
    sock_destroy(&cb);
    sock_destroy(&ca);
    sock_destroy(&server);
    zap_destroy(&z);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    stderr_restore(f);

    char *log = read_all(f->capture);
    snprintf(want, sizeof want,
             "zap test: refused CURVE client %s from 127.0.0.1", fpb);
    assert_int_equal(count_substr(log, want), 1);
    assert_int_equal(count_substr(log, fpb), 1);
    assert_int_equal(count_substr(log, "refused NULL client from 127.0.0.1"),
                     1);
    assert_null(strstr(log, fpa)); /* admitted at DEBUG, below threshold */
    assert_null(strstr(log, srv.secret_z85));
    assert_null(strstr(log, a.secret_z85));
    assert_null(strstr(log, b.secret_z85));
    assert_null(strstr(log, b.public_z85)); /* named by fingerprint */
    free(log);
    curve_keys_clear(&srv);
    curve_keys_clear(&a);
    curve_keys_clear(&b);
}


/*
** Pins why the ZAP handler exists: CURVE by itself admits any client key.
** If libzmq ever refuses B here, the handler is no longer the only gate.
*/
static void
test_curve_without_zap_admits_anyone(void **state)
{
    fixture_t *f = *state;
    char endpoint[256], id[256], buf[64];
    size_t idlen;
    curve_keys_t srv, b;

    make_keys(f, "server2", &srv);
    make_keys(f, "stranger", &b);
    void *ctx = zmq_ctx_new();
    void *server = curve_router(ctx, &srv, endpoint);
    void *cb = curve_dealer(ctx, &b, srv.public_z85, endpoint, 100);

    assert_int_equal(zmq_send(cb, "in", 2, 0), 2);
    assert_int_equal(
        recv_routed(server, WAIT_MS, id, &idlen, buf, sizeof buf, NULL), 2);
    assert_string_equal(buf, "in");
    sock_destroy(&cb);
    sock_destroy(&server);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    curve_keys_clear(&srv);
    curve_keys_clear(&b);
}


/* ---- bytes on the wire --------------------------------------------------- */

/* A TCP relay that forwards both ways and records every byte. */
typedef struct relay {
    int listen_fd;
    int port;        /* where clients connect */
    int server_port; /* where it forwards */
    atomic_int stop;
    pthread_t thread;
    char *rec;
    size_t len, cap;
} relay_t;


static void
relay_record(relay_t *r, const char *data, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->rec = realloc(r->rec, r->cap);
        assert_non_null(r->rec);
    }
    memcpy(r->rec + r->len, data, n);
    r->len += n;
}


static int
tcp_connect(int port)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}


static void *
relay_main(void *arg)
{
    relay_t *r = arg;
    enum { MAXC = 8 };
    int fds[2 * MAXC + 1]; /* [0] listener, then client/server pairs */
    int n = 1;
    char buf[4096];

    fds[0] = r->listen_fd;
    while (!atomic_load(&r->stop)) {
        struct pollfd p[2 * MAXC + 1];
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){fds[i], POLLIN, 0};
        if (poll(p, (nfds_t)n, 20) <= 0)
            continue;
        if ((p[0].revents & POLLIN) && n < 2 * MAXC + 1) {
            int c = accept(r->listen_fd, NULL, NULL);
            int s = c >= 0 ? tcp_connect(r->server_port) : -1;
            if (s >= 0) {
                fds[n++] = c;
                fds[n++] = s;
            } else if (c >= 0) {
                close(c);
            }
        }
        for (int i = 1; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)) || fds[i] < 0)
                continue;
            int peer = (i % 2) ? i + 1 : i - 1;
            ssize_t got = read(fds[i], buf, sizeof buf);
            if (got <= 0) {
                close(fds[i]);
                close(fds[peer]);
                fds[i] = fds[peer] = -1;
                continue;
            }
            relay_record(r, buf, (size_t)got);
            for (ssize_t off = 0; off < got;) {
                ssize_t w = write(fds[peer], buf + off, (size_t)(got - off));
                if (w <= 0)
                    break;
                off += w;
            }
        }
    }
    for (int i = 1; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return NULL;
}


static void
relay_start(relay_t *r, int server_port)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;

    memset(r, 0, sizeof *r);
    r->server_port = server_port;
    r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->listen_fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(r->listen_fd, 8), 0);
    assert_int_equal(getsockname(r->listen_fd, (struct sockaddr *)&sa, &len),
                     0);
    r->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&r->thread, NULL, relay_main, r), 0);
}


static void
relay_stop(relay_t *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    close(r->listen_fd);
}


/*
** Send MARKER both ways through a recording relay, with or without CURVE.
** Returns 1 when the recorded bytes contain the marker.
*/
static int
marker_on_wire(const fixture_t *f, int curve)
{
    char endpoint[256], relay_ep[64], allowed[512], err[256], text[64];
    char id[256], buf[64];
    size_t idlen;
    curve_keys_t srv, a;
    relay_t r;
    zap_t *z = NULL;
    void *ctx = zmq_ctx_new();

    make_keys(f, curve ? "wire-srv" : "wire-srv-plain", &srv);
    make_keys(f, curve ? "wire-a" : "wire-a-plain", &a);
    if (curve) {
        path_in(f, "wire-allowed", allowed);
        snprintf(text, sizeof text, "%s\n", a.public_z85);
        write_file(allowed, text, 0644);
        z = zap_new(ctx, allowed, "wire", err, sizeof err);
        assert_non_null(z);
    }
    void *server = curve_router(ctx, curve ? &srv : NULL, endpoint);
    relay_start(&r, atoi(strrchr(endpoint, ':') + 1));
    snprintf(relay_ep, sizeof relay_ep, "tcp://127.0.0.1:%d", r.port);
    void *client =
        curve_dealer(ctx, curve ? &a : NULL, srv.public_z85, relay_ep, 100);

    /* The message must really pass through the relay both ways. */
    assert_int_equal(zmq_send(client, MARKER, strlen(MARKER), 0),
                     (int)strlen(MARKER));
    assert_int_equal(
        recv_routed(server, WAIT_MS, id, &idlen, buf, sizeof buf, NULL),
        (int)strlen(MARKER));
    assert_string_equal(buf, MARKER);
    assert_int_equal(zmq_send(server, id, idlen, ZMQ_SNDMORE), (int)idlen);
    assert_int_equal(zmq_send(server, MARKER, strlen(MARKER), 0),
                     (int)strlen(MARKER));
    assert_int_equal(recv_reply(client, WAIT_MS, buf, sizeof buf),
                     (int)strlen(MARKER));

    sock_destroy(&client);
    sock_destroy(&server);
    zap_destroy(&z);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    relay_stop(&r);

    int found = 0;
    assert_true(r.len > 0);
    for (size_t i = 0; i + strlen(MARKER) <= r.len && !found; i++)
        found = memcmp(r.rec + i, MARKER, strlen(MARKER)) == 0;
    free(r.rec);
    curve_keys_clear(&srv);
    curve_keys_clear(&a);
    return found;
}


static void
test_traffic_is_not_plaintext(void **state)
{
    fixture_t *f = *state;
    /* Control first: without CURVE the relay does see the marker. */
    assert_true(marker_on_wire(f, 0));
    assert_false(marker_on_wire(f, 1));
}


/* ---- trim keygen -----------------------------------------------------------
 */

static void
test_keygen_command(void **state)
{
    fixture_t *f = *state;
    const char *bin = getenv("TRIM_BIN");
    char prefix[512], sec[512], cmd[1200], out[2048];
    curve_keys_t k;
    char err[256];
    FILE *p;
    size_t n;

    if (bin == NULL || access(bin, X_OK) != 0)
        test_skip("the trim binary is not built (TRIM_BIN)");
    path_in(f, "cli", prefix);
    path_in(f, "cli.secret", sec);
    snprintf(cmd, sizeof cmd, "'%s' keygen '%s' 2>&1", bin, prefix);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_int_equal(curve_load_secret(sec, &k, err, sizeof err), 0);
    assert_non_null(strstr(out, k.public_z85));
    assert_non_null(strstr(out, sec));
    assert_null(strstr(out, k.secret_z85));

    p = popen(cmd, "r"); /* again: refuses to overwrite */
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_not_equal(pclose(p), 0);
    assert_non_null(strstr(out, "already exists"));
    curve_keys_clear(&k);
}


/* One message from a DEALER to a ROUTER bound at endpoint (sock_new's). */
static void
roundtrip_at(const char *endpoint)
{
    char err[256], bound[256], buf[16];
    size_t len = sizeof bound;
    void *zctx = zmq_ctx_new();
    void *server = sock_new(zctx, ZMQ_ROUTER, err, sizeof err);
    void *client = sock_new(zctx, ZMQ_DEALER, err, sizeof err);

    assert_non_null(server);
    assert_non_null(client);
    if (sock_ipv6_for(server, endpoint) != 0 || zmq_bind(server, endpoint) != 0)
        fail_msg("bind %s: %s", endpoint, zmq_strerror(errno));
    assert_int_equal(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, bound, &len), 0);
    assert_int_equal(sock_ipv6_for(client, endpoint), 0);
    assert_int_equal(zmq_connect(client, bound), 0);
    assert_int_equal(zmq_send(client, "hi", 2, 0), 2);
    assert_true(zmq_recv(server, buf, sizeof buf, 0) > 0); /* identity */
    assert_int_equal(zmq_recv(server, buf, sizeof buf, 0), 2);
    assert_memory_equal(buf, "hi", 2);
    sock_destroy(&client);
    sock_destroy(&server);
    zmq_ctx_term(zctx);
}


/* The sockets bind and connect tcp over IPv4 and, with [::1], IPv6. */
static void
test_sock_ipv4_and_ipv6(void **state)
{
    (void)state;
    char line[256];
    int loopback6 = 0;

    roundtrip_at("tcp://127.0.0.1:*");
    FILE *f = fopen("/proc/net/if_inet6", "r");
    while (f && fgets(line, sizeof line, f))
        loopback6 |= strncmp(line, "00000000000000000000000000000001", 32) == 0;
    if (f)
        fclose(f);
    if (!loopback6)
        test_skip("no IPv6 loopback (::1 is not in /proc/net/if_inet6)");
    roundtrip_at("tcp://[::1]:*");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sock_ipv4_and_ipv6),
        cmocka_unit_test_setup_teardown(test_keypair_roundtrip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secret_permissions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed_keys_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zap_admits_only_listed_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_curve_without_zap_admits_anyone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_traffic_is_not_plaintext, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keygen_command, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
