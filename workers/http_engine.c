/*
** http_engine.c: libcurl multi inside a poll loop, with retries and a
** cooldown (see http_engine.h).
**
** A call lives on exactly one of three lists: waiting (not started: new, or
** backing off before a retry), active (a transfer in libcurl) and done
** (final outcome, not yet handed out).  Each call records its list, and the
** list operations check the links, the ends and the count with TRIM_ASSERT
** (kept in release builds): a call on two lists, or freed while linked,
** stops the process at the fault instead of corrupting memory later.  Every
*transfer of a call reuses one
** easy handle; the connections live in the multi handle's cache, so
** keep-alive works across calls.
*/
#include "http_engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "errf.h"
#include "log.h"
#include "trim_assert.h"

/* Why an attempt failed, for trim_backend_{errors,retries}_total{kind}. */
enum {
    HTTP_CONNECT,
    HTTP_TIMEOUT,
    HTTP_429,
    HTTP_4XX,
    HTTP_5XX,
    HTTP_MALFORMED,
    HTTP_KINDS
};
static const char *const http_kinds[HTTP_KINDS] = {
    "connect", "timeout", "http_429", "http_4xx", "http_5xx", "malformed"};

#define MAX_RETRY_AFTER_MS 600000 /* a longer Retry-After is cut to this */
#define SERVER_MESSAGE     200    /* bytes of a server's error message kept */
#define EPOLL_BATCH        64
#define WHAT_MAX           512

typedef struct list list_t;

typedef struct call {
    struct call *prev, *next;
    list_t *on; /* the list holding the call, NULL between lists */
    http_engine_t *engine;
    CURL *easy;
    char *body; /* the request */
    size_t body_len;
    void *user;
    int attempts;
    int64_t not_before_us; /* earliest start (backoff) */
    char *resp;            /* the response body so far */
    size_t resp_len, resp_cap;
    int too_large; /* the body passed the cap: transfer aborted */
    long status;
    int64_t latency_us;
    char *error; /* final failure */
    char errbuf[CURL_ERROR_SIZE];
} call_t;

struct list {
    call_t *head, *tail;
    size_t n;
};

struct http_engine {
    CURLM *multi;
    int epfd; /* libcurl's sockets */
    char *url, *name;
    char *key; /* kept to redact it from server messages */
    struct curl_slist *headers;
    void (*free_user)(void *);
    long connect_timeout_ms, request_timeout_ms;
    long low_speed_bytes, low_speed_s;
    size_t max_response;
    int retries;
    long backoff_ms, backoff_max_ms;
    int cooldown_after;
    long cooldown_ms;
    unsigned max_in_flight;
    http_check_fn check; /* judges 2xx bodies; NULL: all are good */
    void *check_ctx;
    list_t waiting, active, done;
    int64_t timer_due_us;      /* libcurl's timer; INT64_MAX unset */
    int64_t cooldown_until_us; /* no new transfers before this */
    int failures;              /* consecutive failed attempts */
    uint64_t rng;
    int curl_ready; /* curl_global_init succeeded */
    /* trim_backend_* series of the pool (NULL: no metrics) */
    prom_counter_t *m_requests;
    prom_histogram_t *m_seconds;
    prom_gauge_t *m_up;
    prom_counter_t *m_errors[HTTP_KINDS], *m_retries[HTTP_KINDS];
};


/* ---- lists ----------------------------------------------------------------
 */

/* The ends agree with each other and with the count. */
static void
list_check_ends(const list_t *l)
{
    TRIM_ASSERT((l->head == NULL) == (l->n == 0));
    TRIM_ASSERT((l->tail == NULL) == (l->n == 0));
    TRIM_ASSERT(l->head == NULL || l->head->prev == NULL);
    TRIM_ASSERT(l->tail == NULL || l->tail->next == NULL);
}


static void
list_push(list_t *l, call_t *c)
{
    list_check_ends(l);
    TRIM_ASSERT(c->on == NULL); /* on one list at a time */
    c->on = l;
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
}


static void
list_unlink(list_t *l, call_t *c)
{
    list_check_ends(l);
    TRIM_ASSERT(c->on == l);
    TRIM_ASSERT(c->prev ? c->prev->next == c : l->head == c);
    TRIM_ASSERT(c->next ? c->next->prev == c : l->tail == c);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    c->on = NULL;
    l->n--;
}


/* Free a call (on no list) and clear the pointer; NULL-safe. */
static void
call_destroy(http_engine_t *e, call_t **cp)
{
    call_t *c = *cp;

    if (c == NULL)
        return;
    TRIM_ASSERT(c->on == NULL); /* unlinked first */
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->user && e->free_user)
        e->free_user(c->user);
    free(c->body);
    free(c->resp);
    free(c->error);
    free(c);
    *cp = NULL;
}


/* ---- libcurl callbacks ------------------------------------------------- */

/* CURLMOPT_SOCKETFUNCTION: keep the epoll set in step with libcurl. */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    http_engine_t *e = userp;
    struct epoll_event ev = {0};

    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL); /* may be closed: fine */
        return 0;
    }
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) < 0 &&
        epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) < 0)
        tlog(TLOG_ERROR, e->name, "epoll_ctl on socket %d: %s", (int)s,
             strerror(errno));
    return 0;
}


/* CURLMOPT_TIMERFUNCTION: remember when libcurl wants to be called. */
static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    http_engine_t *e = userp;

    (void)multi;
    e->timer_due_us = timeout_ms < 0
                          ? INT64_MAX
                          : clock_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}


/* CURLOPT_WRITEFUNCTION: collect the body, up to the cap. */
static size_t
on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    call_t *c = userp;
    size_t n = size * nmemb, max = c->engine->max_response;

    if (n > max - c->resp_len) {
        c->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (c->resp_len + n + 1 > c->resp_cap) {
        size_t cap = c->resp_cap ? c->resp_cap : 4096;
        while (cap < c->resp_len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *p = realloc(c->resp, cap);
        if (p == NULL)
            return 0;
        c->resp = p;
        c->resp_cap = cap;
    }
    memcpy(c->resp + c->resp_len, data, n);
    c->resp_len += n;
    c->resp[c->resp_len] = '\0';
    return n;
}


/* ---- messages ----------------------------------------------------------- */

void
http_engine_redact(const http_engine_t *e, char *text)
{
    size_t klen = e->key ? strlen(e->key) : 0;
    size_t stars = klen < 3 ? klen : 3;
    char *p = text, *hit;

    if (klen == 0 || text == NULL)
        return;
    while ((hit = strstr(p, e->key)) != NULL) {
        memset(hit, '*', stars);
        memmove(hit + stars, hit + klen, strlen(hit + klen) + 1);
        p = hit + stars;
    }
}


/*
** The server's own words about an error: error.message, error, message or
** detail of a JSON body (vLLM, OpenAI, FastAPI shapes), else the raw body;
** at most SERVER_MESSAGE bytes, control characters turned into spaces, cut
** on a UTF-8 boundary.
*/
static void
server_message(const char *body, size_t len, char *out, size_t outlen)
{
    json_error_t jerr;
    json_t *j = body && len ? json_loadb(body, len, 0, &jerr) : NULL;
    const char *m = NULL;
    size_t n;

    if (j != NULL) {
        json_t *er = json_object_get(j, "error");
        m = json_is_string(er)
                ? json_string_value(er)
                : json_string_value(json_object_get(er, "message"));
        if (m == NULL)
            m = json_string_value(json_object_get(j, "message"));
        if (m == NULL)
            m = json_string_value(json_object_get(j, "detail"));
    }
    if (m == NULL) {
        m = body ? body : "";
        n = len;
    } else {
        n = strlen(m);
    }
    if (n > SERVER_MESSAGE) {
        n = SERVER_MESSAGE;
        while (n > 0 && ((unsigned char)m[n] & 0xC0) == 0x80)
            n--; /* do not split a UTF-8 sequence */
    }
    if (n >= outlen)
        n = outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)m[i];
        out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    json_decref(j);
}


/*
** Failures worth another attempt: the server or the network, not us.  A
** body cut short or over the size cap is a bad answer, retried like a 5xx,
** unless its status (when one came) says the request itself was refused.
*/
static int
transient(const call_t *c, CURLcode rc)
{
    switch (rc) {
    case CURLE_WRITE_ERROR:
        return c->too_large &&
               (c->status == 0 || (c->status >= 200 && c->status < 300) ||
                c->status == 429 || c->status >= 500);
    case CURLE_PARTIAL_FILE:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}


/*
** Which limit a timed-out attempt hit, and where it was.  Whether the
** request went out is read from the bytes sent (CURLINFO_REQUEST_SIZE), not
** from the connect time, which is 0 on a reused connection too.
*/
static void
describe_timeout(const http_engine_t *e, const call_t *c, const char *detail,
                 char *out, size_t outlen)
{
    long sent = 0, header_bytes = 0, connects = 0;
    curl_off_t got = 0;
    const char *conn;

    curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &sent);
    curl_easy_getinfo(c->easy, CURLINFO_HEADER_SIZE, &header_bytes);
    curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(c->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
    conn = connects == 0 ? "reused connection" : "new connection";
    if (strstr(detail, "too slow") != NULL)
        snprintf(out, outlen,
                 "stalled: under %ld bytes/s for %ld s (low-speed limit, %s)",
                 e->low_speed_bytes, e->low_speed_s, conn);
    else if (sent == 0 && e->connect_timeout_ms <= e->request_timeout_ms)
        snprintf(out, outlen,
                 "connect timed out after %ld ms (connect timeout)",
                 e->connect_timeout_ms);
    else if (sent == 0)
        snprintf(out, outlen,
                 "request timed out after %ld ms while connecting (request "
                 "timeout)",
                 e->request_timeout_ms);
    else if (header_bytes == 0)
        snprintf(out, outlen,
                 "request timed out after %ld ms waiting for the response "
                 "(request timeout, %s)",
                 e->request_timeout_ms, conn);
    else
        snprintf(out, outlen,
                 "request timed out after %ld ms reading the response, %lld "
                 "bytes in (request timeout, %s)",
                 e->request_timeout_ms, (long long)got, conn);
}


/* What a failed transfer (not an HTTP status) means, in words. */
static void
describe(const http_engine_t *e, const call_t *c, CURLcode rc, char *out,
         size_t outlen)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    long oserr = 0;

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr);
        if (oserr == ECONNREFUSED)
            snprintf(out, outlen, "connection refused");
        else
            snprintf(out, outlen, "cannot connect (%s)", detail);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        describe_timeout(e, c, detail, out, outlen);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(out, outlen, "cannot resolve the host (%s)", detail);
        return;
    case CURLE_GOT_NOTHING:
        snprintf(out, outlen,
                 "the server closed the connection without a response");
        return;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        snprintf(out, outlen, "connection lost (%s)", detail);
        return;
    case CURLE_PARTIAL_FILE:
        snprintf(out, outlen, "response truncated (%s)", detail);
        return;
    case CURLE_WRITE_ERROR:
        if (c->too_large) {
            snprintf(out, outlen, "response larger than %zu bytes",
                     e->max_response);
            return;
        }
        snprintf(out, outlen, "out of memory reading the response");
        return;
    default:
        snprintf(out, outlen, "%s", detail);
        return;
    }
}


/* ---- retries and cooldown ---------------------------------------------- */

static uint64_t
next_random(http_engine_t *e)
{
    /* xorshift64*: jitter only, not for anything secret. */
    e->rng ^= e->rng >> 12;
    e->rng ^= e->rng << 25;
    e->rng ^= e->rng >> 27;
    return e->rng * 0x2545F4914F6CDD1DULL;
}


/* Delay before attempt n+1: base * 2^(n-1), capped, "equal jitter". */
static int64_t
backoff_ms(http_engine_t *e, int attempts)
{
    int64_t d = e->backoff_ms;

    for (int i = 1; i < attempts && d < e->backoff_max_ms; i++)
        d *= 2;
    if (d > e->backoff_max_ms)
        d = e->backoff_max_ms;
    if (d <= 1)
        return d;
    return d / 2 + (int64_t)(next_random(e) % (uint64_t)(d / 2 + 1));
}


/*
** One more failed attempt in a row; pause new calls after too many.  The
** attempts that were already in flight when a cooldown began end during it;
** they neither start another cooldown nor log it again.
*/
static void
note_failure(http_engine_t *e, const char *what)
{
    if (e->cooldown_after <= 0 || clock_now_us() < e->cooldown_until_us ||
        ++e->failures < e->cooldown_after)
        return;
    e->failures = 0;
    e->cooldown_until_us = clock_now_us() + (int64_t)e->cooldown_ms * 1000;
    tlog(TLOG_WARN, e->name,
         "%d failed calls in a row (last: %s); no new calls for %ld ms",
         e->cooldown_after, what, e->cooldown_ms);
}


/* ---- transfers ------------------------------------------------------------
 */

static int
setup_easy(http_engine_t *e, call_t *c)
{
    CURL *h = curl_easy_init();
    int bad = 0;

    if (h == NULL)
        return -1;
    c->easy = h;
    bad |= curl_easy_setopt(h, CURLOPT_URL, e->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)c->body_len) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, c) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, c) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "trim/" TRIM_VERSION) !=
           CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                            e->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, e->request_timeout_ms) !=
           CURLE_OK;
    if (e->low_speed_bytes > 0 && e->low_speed_s > 0) {
        bad |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
                                e->low_speed_bytes) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, e->low_speed_s) !=
               CURLE_OK;
    }
    return bad ? -1 : 0;
}


/* Move a call to done with its final error (owned), or none on success. */
static void
finish(http_engine_t *e, call_t *c, char *error)
{
    c->error = error;
    if (c->easy) {
        curl_easy_cleanup(c->easy); /* its connection stays in the cache */
        c->easy = NULL;
    }
    free(c->body);
    c->body = NULL;
    if (error) {
        free(c->resp);
        c->resp = NULL;
        c->resp_len = 0;
    }
    list_push(&e->done, c);
}


/* A final error "POST URL: WHAT", key redacted (malloc'd, may be NULL). */
static char *
final_error(http_engine_t *e, const char *what)
{
    size_t n = strlen(e->url) + strlen(what) + 16;
    char *s = malloc(n);

    if (s != NULL) {
        snprintf(s, n, "POST %s: %s", e->url, what);
        http_engine_redact(e, s);
    }
    return s;
}


static int
start(http_engine_t *e, call_t *c)
{
    if (c->easy == NULL && setup_easy(e, c) < 0)
        return -1;
    c->resp_len = 0;
    if (c->resp)
        c->resp[0] = '\0';
    c->too_large = 0;
    c->errbuf[0] = '\0';
    if (curl_multi_add_handle(e->multi, c->easy) != CURLM_OK)
        return -1;
    c->attempts++;
    list_push(&e->active, c);
    return 0;
}


/* Start waiting calls whose time has come, while there is room. */
static void
start_waiting(http_engine_t *e)
{
    int64_t now = clock_now_us();
    call_t *c = e->waiting.head;

    if (now < e->cooldown_until_us)
        return;
    while (c != NULL && e->active.n < e->max_in_flight) {
        call_t *next = c->next;
        if (c->not_before_us <= now) {
            list_unlink(&e->waiting, c);
            if (start(e, c) < 0)
                finish(e, c,
                       final_error(e, "cannot start the transfer "
                                      "(out of memory)"));
        }
        c = next;
    }
}


/* What kind of failure (HTTP_*) an attempt that ended with rc and status
** is: a 2xx here is a body that could not be used. */
static int
failure_kind(CURLcode rc, long status)
{
    if (rc == CURLE_OK)
        return status >= 200 && status < 300 ? HTTP_MALFORMED
               : status == 429               ? HTTP_429
               : status < 500                ? HTTP_4XX
                                             : HTTP_5XX;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return HTTP_TIMEOUT;
    /* cut short (PARTIAL_FILE) or over the size cap (WRITE_ERROR) */
    return rc == CURLE_WRITE_ERROR || rc == CURLE_PARTIAL_FILE ? HTTP_MALFORMED
                                                               : HTTP_CONNECT;
}


/* One transfer of c ended with rc: finish the call or schedule a retry. */
static void
attempt_done(http_engine_t *e, call_t *c, CURLcode rc)
{
    char what[WHAT_MAX], msg[SERVER_MESSAGE + 1];
    char text[WHAT_MAX + SERVER_MESSAGE + 64];
    long status = 0;
    curl_off_t total_us = 0, retry_after_s = 0;
    int retry, http_error = 0, kind;

    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    c->status = status;
    c->latency_us = (int64_t)total_us;
    prom_counter_add(e->m_requests, 1);
    prom_histogram_observe(e->m_seconds, (double)total_us / 1e6);
    msg[0] = '\0';
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        if (c->resp == NULL && (c->resp = strdup("")) == NULL) {
            finish(e, c, final_error(e, "out of memory"));
            return;
        }
        if (e->check == NULL || e->check(e->check_ctx, c->user, c->resp,
                                         c->resp_len, what, sizeof what) == 0) {
            e->failures = 0;
            prom_gauge_set(e->m_up, 1);
            finish(e, c, NULL);
            return;
        }
        retry = 1; /* an unusable answer: like a 5xx */
    } else if (rc == CURLE_OK) {
        http_error = 1;
        retry = status == 429 || status >= 500;
        server_message(c->resp, c->resp_len, msg, sizeof msg);
        if (retry)
            curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &retry_after_s);
        else
            e->failures = 0; /* the server is up and answering */
        snprintf(what, sizeof what, "HTTP %ld", status);
    } else {
        retry = transient(c, rc);
        describe(e, c, rc, what, sizeof what);
    }
    kind = failure_kind(rc, status);
    prom_counter_add(e->m_errors[kind], 1);
    prom_gauge_set(e->m_up, status != 0); /* any HTTP answer: it is up */
    if (retry) {
        snprintf(text, sizeof text, "%s%s%s", what, *msg ? ": " : "", msg);
        http_engine_redact(e, text);
        note_failure(e, text);
    }
    if (retry && c->attempts <= e->retries) {
        int64_t wait = backoff_ms(e, c->attempts);
        if (retry_after_s > 0) {
            int64_t ra = retry_after_s > MAX_RETRY_AFTER_MS / 1000
                             ? MAX_RETRY_AFTER_MS
                             : (int64_t)retry_after_s * 1000;
            if (ra > wait)
                wait = ra;
        }
        c->not_before_us = clock_now_us() + wait * 1000;
        prom_counter_add(e->m_retries[kind], 1);
        tlog(TLOG_DEBUG, e->name, "POST %s: %s; retry %d of %d in %lld ms",
             e->url, what, c->attempts, e->retries, (long long)wait);
        list_push(&e->waiting, c);
        return;
    }
    /* The final word: "HTTP 503 after 4 attempts: msg", "connection
    ** refused (4 attempts)", "HTTP 400: msg". */
    if (http_error) {
        char tries[48] = "";
        if (c->attempts > 1)
            snprintf(tries, sizeof tries, " after %d attempts", c->attempts);
        snprintf(text, sizeof text, "%s%s%s%s", what, tries, *msg ? ": " : "",
                 msg);
    } else if (c->attempts > 1) {
        snprintf(text, sizeof text, "%s (%d attempts)", what, c->attempts);
    } else {
        snprintf(text, sizeof text, "%s", what);
    }
    finish(e, c, final_error(e, text));
}


/* Take every finished transfer out of libcurl. */
static void
read_finished(http_engine_t *e)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result; /* m dies with remove_handle */
        call_t *c = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
        TRIM_ASSERT(c != NULL); /* every easy handle is a call's */
        curl_multi_remove_handle(e->multi, easy);
        list_unlink(&e->active, c);
        attempt_done(e, c, rc);
    }
}


/*
** The headers of every request: JSON both ways, no 100-continue round trip,
** and the API key when there is one (the copy built for it is wiped).
** Returns 0, or -1 when out of memory.
*/
static int
add_headers(http_engine_t *e)
{
    static const char *const fixed[] = {"Content-Type: application/json",
                                        "Accept: application/json", "Expect:"};
    struct curl_slist *l;
    char *auth;
    size_t n;

    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        if ((l = curl_slist_append(e->headers, fixed[i])) == NULL)
            return -1;
        e->headers = l;
    }
    if (e->key == NULL)
        return 0;
    n = strlen(e->key) + 32;
    if ((auth = malloc(n)) == NULL)
        return -1;
    snprintf(auth, n, "Authorization: Bearer %s", e->key);
    l = curl_slist_append(e->headers, auth);
    explicit_bzero(auth, strlen(auth));
    free(auth);
    if (l == NULL)
        return -1;
    e->headers = l;
    return 0;
}


/* The engine's trim_backend_* series (none without o->metrics). */
static void
register_metrics(http_engine_t *e, const http_backend_opts_t *o)
{
    const char *pool[] = {"pool", o->metrics_pool ? o->metrics_pool : "", NULL};

    if (o->metrics == NULL)
        return;
    e->m_requests = prom_counter(o->metrics, "trim_backend_requests_total",
                                 "HTTP requests made to the model server "
                                 "(attempts, retries included)",
                                 pool);
    e->m_seconds = prom_histogram(
        o->metrics, "trim_backend_request_duration_seconds",
        "Time from sending an HTTP request to the model server to the last "
        "byte of its answer, in seconds",
        pool, NULL, 0);
    for (int k = 0; k < HTTP_KINDS; k++) {
        const char *labels[] = {"pool", pool[1], "kind", http_kinds[k], NULL};
        e->m_errors[k] = prom_counter(
            o->metrics, "trim_backend_errors_total",
            "Failed requests to the model server, by kind", labels);
        e->m_retries[k] =
            prom_counter(o->metrics, "trim_backend_retries_total",
                         "Failed requests to the model server tried again, "
                         "by kind",
                         labels);
    }
    /* 0 until the model server answers a call (or the worker's /readyz
    ** probe of its /health). */
    e->m_up =
        prom_gauge(o->metrics, "trim_backend_up", HTTP_BACKEND_UP_HELP, pool);
}


/* ---- public ------------------------------------------------------------- */

http_engine_t *
http_engine_new(const http_backend_opts_t *o, const char *url, const char *name,
                unsigned max_in_flight, void (*free_user)(void *), char *err,
                size_t errlen)
{
    http_engine_t *e = calloc(1, sizeof *e);

    if (e == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    e->epfd = -1;
    e->free_user = free_user;
    e->connect_timeout_ms = o->connect_timeout_ms;
    e->request_timeout_ms = o->request_timeout_ms;
    e->low_speed_bytes = o->low_speed_bytes;
    e->low_speed_s = o->low_speed_s;
    e->max_response = o->max_response_bytes;
    e->retries = o->retries;
    e->backoff_ms = o->backoff_ms;
    e->backoff_max_ms = o->backoff_max_ms;
    e->cooldown_after = o->cooldown_after;
    e->cooldown_ms = o->cooldown_ms;
    e->max_in_flight = max_in_flight ? max_in_flight : 1;
    e->timer_due_us = INT64_MAX;
    e->rng = (uint64_t)clock_now_us() ^ ((uint64_t)(uintptr_t)e << 16) ^
             0x9E3779B97F4A7C15ULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errf(err, errlen, "cannot initialise libcurl");
        goto fail;
    }
    e->curl_ready = 1;
    e->url = strdup(url);
    e->name = strdup(name);
    if (e->url == NULL || e->name == NULL) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if (http_key_load(o, &e->key, err, errlen) < 0)
        goto fail;
    if (add_headers(e) < 0) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if ((e->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        errf(err, errlen, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    if ((e->multi = curl_multi_init()) == NULL) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)e->max_in_flight);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->max_in_flight);
    register_metrics(e, o);
    return e;
fail:
    http_engine_destroy(&e);
    return NULL;
}


void
http_engine_destroy(http_engine_t **ep)
{
    http_engine_t *e;
    call_t *c;

    if (ep == NULL || *ep == NULL)
        return;
    e = *ep;
    while ((c = e->active.head) != NULL) {
        curl_multi_remove_handle(e->multi, c->easy);
        list_unlink(&e->active, c);
        call_destroy(e, &c);
    }
    while ((c = e->waiting.head) != NULL) {
        list_unlink(&e->waiting, c);
        call_destroy(e, &c);
    }
    while ((c = e->done.head) != NULL) {
        list_unlink(&e->done, c);
        call_destroy(e, &c);
    }
    TRIM_ASSERT(e->active.n == 0 && e->waiting.n == 0 && e->done.n == 0);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    if (e->epfd >= 0)
        close(e->epfd);
    for (struct curl_slist *l = e->headers; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(e->headers);
    http_key_destroy(&e->key);
    free(e->url);
    free(e->name);
    if (e->curl_ready)
        curl_global_cleanup();
    free(e);
    *ep = NULL;
}


void
http_engine_set_check(http_engine_t *e, http_check_fn check, void *ctx)
{
    e->check = check;
    e->check_ctx = ctx;
}


const char *
http_engine_url(const http_engine_t *e)
{
    return e->url;
}


int
http_engine_post(http_engine_t *e, char *body, size_t len, void *user)
{
    call_t *c = calloc(1, sizeof *c);

    if (c == NULL) {
        free(body);
        return -1;
    }
    c->engine = e;
    c->body = body;
    c->body_len = len;
    c->user = user;
    list_push(&e->waiting, c);
    return 0;
}


int
http_engine_poll_items(http_engine_t *e, zmq_pollitem_t *items, int max)
{
    if (max < 1 || e->active.n == 0)
        return 0;
    items[0] = (zmq_pollitem_t){NULL, e->epfd, ZMQ_POLLIN, 0};
    return 1;
}


int64_t
http_engine_next_due_us(http_engine_t *e)
{
    int64_t due = e->timer_due_us;

    if (e->done.n > 0)
        return 0;
    if (e->waiting.n > 0 && e->active.n < e->max_in_flight) {
        int64_t first = INT64_MAX;
        for (const call_t *c = e->waiting.head; c; c = c->next)
            if (c->not_before_us < first)
                first = c->not_before_us;
        if (first < e->cooldown_until_us)
            first = e->cooldown_until_us;
        if (first < due)
            due = first;
    }
    return due;
}


void
http_engine_drive(http_engine_t *e)
{
    struct epoll_event ev[EPOLL_BATCH];
    int running, n;

    start_waiting(e);
    n = epoll_wait(e->epfd, ev, EPOLL_BATCH, 0);
    for (int i = 0; i < n; i++) {
        int mask = 0;
        if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
            mask |= CURL_CSELECT_IN;
        if (ev[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (ev[i].events & EPOLLERR)
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(e->multi, ev[i].data.fd, mask, &running);
    }
    if (clock_now_us() >= e->timer_due_us) {
        e->timer_due_us = INT64_MAX; /* the action may set it again */
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    read_finished(e);
    start_waiting(e); /* freed slots, retries due now */
}


int
http_engine_done(http_engine_t *e, http_outcome_t *out)
{
    call_t *c = e->done.head;

    memset(out, 0, sizeof *out);
    if (c == NULL)
        return 0;
    list_unlink(&e->done, c);
    out->user = c->user;
    out->status = c->status;
    out->body = c->resp;
    out->len = c->resp_len;
    out->error = c->error;
    out->attempts = c->attempts;
    out->latency_us = c->latency_us;
    c->user = NULL;
    c->resp = NULL;
    c->error = NULL;
    call_destroy(e, &c);
    return 1;
}


size_t
http_engine_pending(const http_engine_t *e)
{
    return e->waiting.n + e->active.n + e->done.n;
}


void
http_outcome_clear(http_outcome_t *o)
{
    if (o == NULL)
        return;
    free(o->body);
    free(o->error);
    o->body = NULL;
    o->error = NULL;
    o->len = 0;
}
