/*
** http_engine.h: many JSON POSTs in flight to one URL, on one libcurl multi
** handle, driven from the caller's poll loop.
**
** The engine never blocks and owns no thread.  Its caller (an HTTP backend
** inside a worker) does, every loop turn:
**
**     n = http_engine_poll_items(e, items, max);   before zmq_poll
**     timeout <= http_engine_next_due_us(e)
**     zmq_poll(...)
**     http_engine_drive(e);                        after zmq_poll
**     while (http_engine_done(e, &outcome)) ...
**
** libcurl's sockets are kept in an epoll set (CURLMOPT_SOCKETFUNCTION) and
** the caller polls that one descriptor, so any number of connections costs
** one poll item; drive() asks epoll which sockets are ready and hands each to
** curl_multi_socket_action, then fires libcurl's timer
** (CURLMOPT_TIMERFUNCTION) when due.  Connections are reused (keep-alive);
** at most max_in_flight transfers run at once, one connection each.
**
** Retries happen inside: connection errors, timeouts, HTTP 5xx and 429, and
** 2xx answers whose body is unusable (truncated, too large, or refused by
** the body check, http_engine_set_check) are tried again after an
** exponential backoff with jitter (or the server's Retry-After), up to
** opts->retries times; after opts->cooldown_after consecutive failed
** attempts no new transfer starts for opts->cooldown_ms (queued calls wait;
** they do not fail), with one WARN per cooldown.  Only the final outcome of
** a call comes out of http_engine_done.
*/
#ifndef TRIM_HTTP_ENGINE_H
#define TRIM_HTTP_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "http_opts.h"

typedef struct http_engine http_engine_t;

/* The final outcome of one call. */
typedef struct http_outcome {
    void *user;   /* as given to http_engine_post */
    long status;  /* the last HTTP status, 0 if none came */
    char *body;   /* success: the response body, NUL-terminated (malloc'd) */
    size_t len;   /* its length */
    char *error;  /* failure: "POST URL: what failed" (malloc'd), else NULL */
    int attempts; /* transfers made */
    /* The last attempt's time from sending the request to the last byte of
    ** the response: the server's call time, without backoff or cooldown. */
    int64_t latency_us;
} http_outcome_t;

/*
** An engine posting to url (copied) with the limits, retry and key settings
** of opts (the key is read here; nothing else of opts is kept).  name is
** for logs.  max_in_flight bounds concurrent transfers and connections
** (CURLMOPT_MAX_HOST_CONNECTIONS).  free_user (may be NULL) frees the user
** pointer of every call still held when the engine is destroyed.  Returns
** NULL with a reason in err.
*/
http_engine_t *http_engine_new(const http_backend_opts_t *opts, const char *url,
                               const char *name, unsigned max_in_flight,
                               void (*free_user)(void *), char *err,
                               size_t errlen);

/* Abort every call, free everything and clear the pointer; NULL-safe. */
void http_engine_destroy(http_engine_t **e);

/*
** Judges a 2xx body: returns 0 to accept it, or -1 with what is wrong in
** why (without the "POST URL: " prefix).  user is the call's, so a check
** may leave what it parsed there; it is called once per 2xx attempt and
** must drop what it left from an earlier attempt itself.
*/
typedef int (*http_check_fn)(void *ctx, void *user, const char *body,
                             size_t len, char *why, size_t whylen);

/*
** Check every 2xx body with check(ctx, ...) before the call ends.  A body
** it refuses is retried like a 5xx (backoff, cooldown count); after the last
** attempt the call fails with "POST URL: WHY (N attempts)".
*/
void http_engine_set_check(http_engine_t *e, http_check_fn check, void *ctx);

/* The URL the engine posts to. */
const char *http_engine_url(const http_engine_t *e);

/*
** Queue a POST of body (len bytes; ownership moves to the engine, also on
** failure).  user comes back in the outcome.  Returns 0, or -1 when out of
** memory.
*/
int http_engine_post(http_engine_t *e, char *body, size_t len, void *user);

/* Descriptors to poll (at most one); returns how many were written. */
int http_engine_poll_items(http_engine_t *e, zmq_pollitem_t *items, int max);

/*
** Monotonic microseconds when drive() next has something to do without a
** descriptor firing (libcurl's timer, a retry's backoff, the end of a
** cooldown, an outcome waiting); INT64_MAX when nothing.
*/
int64_t http_engine_next_due_us(http_engine_t *e);

/* Do everything that is ready: socket I/O, timers, retries, new transfers. */
void http_engine_drive(http_engine_t *e);

/*
** Move the next finished call into *out (the caller clears it with
** http_outcome_clear).  Returns 1, or 0 when none is finished.
*/
int http_engine_done(http_engine_t *e, http_outcome_t *out);

/* Calls posted and not yet handed out by http_engine_done. */
size_t http_engine_pending(const http_engine_t *e);

/*
** Replace every occurrence of the engine's API key in text (in place) with
** "***": for any message built from what a server sent back.
*/
void http_engine_redact(const http_engine_t *e, char *text);

/*
** Free an outcome's buffers and zero them, so the (embedded) outcome can
** be reused or dropped; NULL-safe, idempotent.
*/
void http_outcome_clear(http_outcome_t *o);

#endif
