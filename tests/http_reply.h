/*
** http_reply.h: a whole HTTP reply collected by libcurl, for the tests that
** talk to trim's HTTP servers (the console, the gateway, sim-server).
*/
#ifndef TRIM_TEST_HTTP_REPLY_H
#define TRIM_TEST_HTTP_REPLY_H

#include <stddef.h>

#include <curl/curl.h>

typedef struct test_reply {
    CURLcode rc;               /* the transfer's result (test_reply_finish) */
    long status;               /* HTTP status, 0 when none came */
    char *body;                /* NUL-terminated, "" when empty; free() it */
    size_t len;                /* body bytes */
    char headers[4096];        /* the header lines as received, cut after */
    size_t hlen;               /* bytes in headers */
    char retry_after[32];      /* Retry-After's value, "" without one */
    curl_off_t content_length; /* Content-Length, -1 without one */
} test_reply_t;

/* Zero r and have c collect its reply's body and headers into it. */
void test_reply_capture(CURL *c, test_reply_t *r);

/* After c's transfer ended with rc: r's rc, status and Content-Length. */
void test_reply_finish(CURL *c, CURLcode rc, test_reply_t *r);

#endif
