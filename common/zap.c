/*
** zap.c: the ZAP handler thread (see zap.h).
**
** The thread owns its REP socket from creation to close.  It polls with a
** short timeout so zap_destroy() can end it through an atomic flag, and it also
** ends when the context is terminated (ETERM), so zmq_ctx_term never waits
** on it.  A REP socket answers every request, even a malformed one: libzmq's
** own ZAP client is the only peer, and a request left unanswered would stall
** that client's handshake.
*/
#include "zap.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "errf.h"
#include "hash.h"
#include "log.h"
#include "sock.h"
#include "u64map.h"

#define ZAP_ENDPOINT    "inproc://zeromq.zap.01"
#define ZAP_POLL_MS     50   /* how long zap_destroy() may wait */
#define ZAP_FRAMES_MAX  8    /* request frames kept; the rest are drained */
#define ZAP_LOGGED_MAX  4096 /* refused keys remembered for log-once */
#define ZAP_ADDRESS_MAX 64   /* peer address characters shown in logs */

typedef uint8_t zap_key_t[32];

struct zap {
    void *zctx; /* borrowed */
    char component[80];
    char path[256];  /* allowed-keys file, for log lines */
    zap_key_t *keys; /* sorted, for bsearch */
    size_t n_keys;
    u64map_t *logged; /* refusals already logged (thread only) */
    int logged_full;  /* the "not logging more" line was printed */
    pthread_t thread;
    int running;        /* thread was created (join it) */
    pthread_mutex_t mu; /* guards started and start_err */
    pthread_cond_t cv;
    int started; /* 0 while binding, 1 serving, -1 failed */
    char start_err[256];
    atomic_int stop;
    _Atomic uint64_t admitted;
    _Atomic uint64_t refused;
};


static int
key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(zap_key_t));
}


/*
** Parse one line of the allowed-keys file.  A line whose first word is a
** 40-character Z85 key is a key (Z85 keys may begin with '#'), optionally
** followed by a '#' comment; otherwise '#' starts a comment line.  Returns 1
** with the key in out, 0 for a blank or comment line, -1 for a bad line.
*/
static int
parse_key_line(const char *line, zap_key_t out)
{
    const char *word = line, *end, *p;
    char tok[41];

    while (isspace((unsigned char)*word))
        word++;
    if (*word == '\0')
        return 0;
    end = word;
    while (*end && !isspace((unsigned char)*end))
        end++;
    if (end - word == 40) {
        memcpy(tok, word, 40);
        tok[40] = '\0';
        if (curve_key_valid(tok)) {
            for (p = end; isspace((unsigned char)*p); p++)
                ;
            if (*p != '\0' && *p != '#')
                return -1;
            return zmq_z85_decode(out, tok) != NULL ? 1 : -1;
        }
    }
    return *word == '#' ? 0 : -1;
}


/* Read the allowed client keys into z->keys, sorted. */
static int
load_keys(zap_t *z, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    long lineno = 0;
    int rc = -1;

    if (f == NULL)
        return errf(err, errlen, "cannot open allowed client keys '%s': %s",
                    path, strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        zap_key_t key;
        int got;

        lineno++;
        got = parse_key_line(line, key);
        if (got < 0) {
            /* The line is not quoted: it might be a pasted secret key. */
            errf(err, errlen,
                 "%s:%ld: not a 40-character Z85 public key or a "
                 "'#' comment",
                 path, lineno);
            goto done;
        }
        if (got == 0)
            continue;
        if (z->n_keys == alloc) {
            size_t n = alloc ? alloc * 2 : 16;
            zap_key_t *k = realloc(z->keys, n * sizeof *k);
            if (k == NULL) {
                errf(err, errlen, "out of memory reading '%s'", path);
                goto done;
            }
            z->keys = k;
            alloc = n;
        }
        memcpy(z->keys[z->n_keys++], key, sizeof key);
    }
    if (ferror(f)) {
        errf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    if (z->n_keys > 1)
        qsort(z->keys, z->n_keys, sizeof *z->keys, key_cmp);
    rc = 0;
done:
    if (line != NULL)
        explicit_bzero(line, cap);
    free(line);
    fclose(f);
    return rc;
}


/* 1 when frame m is exactly the string s. */
static int
frame_is(const zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size((zmq_msg_t *)m) == n &&
           memcmp(zmq_msg_data((zmq_msg_t *)m), s, n) == 0;
}


/*
** Log a refusal once per dedupe key (a key's fingerprint, a mechanism).
** The set is bounded: past ZAP_LOGGED_MAX distinct ones, one line says so
** and further new ones go unlogged (the refused counter still counts them).
*/
static void log_refusal(zap_t *z, uint64_t dedupe, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
log_refusal(zap_t *z, uint64_t dedupe, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    dedupe |= 1; /* u64map keys are non-zero */
    if (u64map_get(z->logged, dedupe) != NULL)
        return;
    if (u64map_size(z->logged) >= ZAP_LOGGED_MAX) {
        if (!z->logged_full)
            tlog(TLOG_WARN, z->component,
                 "%d clients refused; further new ones are only counted",
                 ZAP_LOGGED_MAX);
        z->logged_full = 1;
        return;
    }
    u64map_put(z->logged, dedupe, z);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tlog(TLOG_WARN, z->component, "%s", line);
}


/* Copy a short frame (address, mechanism) into out as printable text. */
static void
frame_text(const zmq_msg_t *m, char *out, size_t cap)
{
    const unsigned char *p = zmq_msg_data((zmq_msg_t *)m);
    size_t n = zmq_msg_size((zmq_msg_t *)m), i;

    if (n > cap - 1)
        n = cap - 1;
    for (i = 0; i < n; i++)
        out[i] = isprint(p[i]) ? (char)p[i] : '?';
    out[i] = '\0';
}


/*
** Decide one request (frames f[0..n-1]; n is 0 when it had too many
** frames, which makes it malformed).  Sets the status code and text
** and, on admission, the user id (the key's fingerprint).
*/
static void
decide(zap_t *z, zmq_msg_t *f, int n, const char **code, const char **text,
       char user[17])
{
    char addr[ZAP_ADDRESS_MAX + 1], mech[16], z85[41], fp[17];
    zap_key_t key;

    user[0] = '\0';
    if (n < 6 || !frame_is(&f[0], "1.0")) {
        *code = "500";
        *text = "malformed ZAP request";
        log_refusal(z, 0, "malformed ZAP request answered with 500");
        atomic_fetch_add(&z->refused, 1);
        return;
    }
    frame_text(&f[3], addr, sizeof addr);
    if (addr[0] == '\0')
        snprintf(addr, sizeof addr, "an unknown address");
    if (!frame_is(&f[5], "CURVE") || n != 7 || zmq_msg_size(&f[6]) != 32) {
        *code = "400";
        *text = "only CURVE clients with an allowed key are admitted";
        frame_text(&f[5], mech, sizeof mech);
        log_refusal(z, hash_bytes(1, mech, strlen(mech)),
                    "refused %s client from %s (only CURVE clients with a "
                    "listed key are admitted)",
                    mech, addr);
        atomic_fetch_add(&z->refused, 1);
        return;
    }
    memcpy(key, zmq_msg_data(&f[6]), sizeof key);
    zmq_z85_encode(z85, key, sizeof key);
    curve_fingerprint(z85, fp);
    if (z->n_keys > 0 &&
        bsearch(key, z->keys, z->n_keys, sizeof *z->keys, key_cmp) != NULL) {
        *code = "200";
        *text = "OK";
        memcpy(user, fp, sizeof fp);
        tlog(TLOG_DEBUG, z->component, "admitted CURVE client %s from %s", fp,
             addr);
        atomic_fetch_add(&z->admitted, 1);
        return;
    }
    *code = "400";
    *text = "client key not allowed";
    log_refusal(z, hash_bytes(2, key, sizeof key),
                "refused CURVE client %s from %s (not in %s)", fp, addr,
                z->path);
    atomic_fetch_add(&z->refused, 1);
}


/*
** Receive one request on rep and answer it.  Returns 0, or -1 with errno
** from libzmq (ETERM: the context is being terminated).
*/
static int
serve_one(zap_t *z, void *rep)
{
    zmq_msg_t f[ZAP_FRAMES_MAX], junk;
    int n = 0, more = 1, extra = 0, rc = -1;
    const char *code, *text;
    char user[17];

    while (more) {
        zmq_msg_t *m = n < ZAP_FRAMES_MAX ? &f[n] : &junk;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, rep, 0) < 0) {
            zmq_msg_close(m);
            goto done;
        }
        more = zmq_msg_more(m);
        if (m == &junk) {
            zmq_msg_close(m);
            extra = 1;
        } else {
            n++;
        }
    }
    decide(z, f, extra ? 0 : n, &code, &text, user);
    if (zmq_send(rep, "1.0", 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, n > 1 ? zmq_msg_data(&f[1]) : "",
                 n > 1 ? zmq_msg_size(&f[1]) : 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, code, 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, user, strlen(user), ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, "", 0, 0) < 0)
        goto done;
    rc = 0;
done:
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return rc;
}


/* Tell zap_new() how binding went. */
static void
report_start(zap_t *z, int started, const char *err)
{
    pthread_mutex_lock(&z->mu);
    z->started = started;
    snprintf(z->start_err, sizeof z->start_err, "%s", err);
    pthread_cond_signal(&z->cv);
    pthread_mutex_unlock(&z->mu);
}


static void *
zap_main(void *arg)
{
    zap_t *z = arg;
    char err[256] = "";
    void *rep = sock_new(z->zctx, ZMQ_REP, err, sizeof err);

    if (rep != NULL && zmq_bind(rep, ZAP_ENDPOINT) != 0) {
        int e = errno;
        errf(err, sizeof err, "cannot bind %s: %s%s", ZAP_ENDPOINT,
             zmq_strerror(e),
             e == EADDRINUSE ? " (this context already has a ZAP handler)"
                             : "");
        sock_destroy(&rep);
    }
    report_start(z, rep != NULL ? 1 : -1, err);
    while (rep != NULL && !atomic_load(&z->stop)) {
        zmq_pollitem_t item = {rep, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, ZAP_POLL_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && serve_one(z, rep) < 0 && errno == ETERM))
            break;
    }
    /*
    ** Unbinding is synchronous, closing is not: without it a handler
    ** started right after this one could find the endpoint still taken.
    */
    if (rep != NULL)
        zmq_unbind(rep, ZAP_ENDPOINT);
    sock_destroy(&rep);
    return NULL;
}


zap_t *
zap_new(void *zctx, const char *allowed_keys_path, const char *name, char *err,
        size_t errlen)
{
    zap_t *z = calloc(1, sizeof *z);

    if (z == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv, NULL);
    z->zctx = zctx;
    snprintf(z->component, sizeof z->component, "zap %s", name ? name : "-");
    snprintf(z->path, sizeof z->path, "%s", allowed_keys_path);
    if (load_keys(z, allowed_keys_path, err, errlen) != 0)
        goto fail;
    z->logged = u64map_new();
    if (z->logged == NULL) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        errf(err, errlen, "cannot start the ZAP thread");
        goto fail;
    }
    z->running = 1;
    pthread_mutex_lock(&z->mu);
    while (z->started == 0)
        pthread_cond_wait(&z->cv, &z->mu);
    pthread_mutex_unlock(&z->mu);
    if (z->started < 0) {
        errf(err, errlen, "%s", z->start_err);
        goto fail; /* the thread has ended: destroy joins it */
    }
    if (z->n_keys == 0)
        tlog(TLOG_WARN, z->component,
             "'%s' lists no client keys: every client will be refused",
             allowed_keys_path);
    tlog(TLOG_INFO, z->component, "admitting %zu CURVE client key%s from '%s'",
         z->n_keys, z->n_keys == 1 ? "" : "s", allowed_keys_path);
    return z;
fail:
    zap_destroy(&z);
    return NULL;
}


void
zap_destroy(zap_t **zp)
{
    zap_t *z;

    if (zp == NULL || *zp == NULL)
        return;
    z = *zp;
    if (z->running) {
        atomic_store(&z->stop, 1);
        pthread_join(z->thread, NULL);
    }
    u64map_destroy(&z->logged);
    free(z->keys);
    pthread_cond_destroy(&z->cv);
    pthread_mutex_destroy(&z->mu);
    free(z);
    *zp = NULL;
}


void
zap_stats(const zap_t *z, uint64_t *admitted, uint64_t *refused)
{
    *admitted = atomic_load(&z->admitted);
    *refused = atomic_load(&z->refused);
}
