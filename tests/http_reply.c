/*
** http_reply.c: a whole HTTP reply collected by libcurl (see http_reply.h).
*/
#include "http_reply.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>


static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
    test_reply_t *r = ctx;
    char *b = realloc(r->body, r->len + size * n + 1);

    assert_non_null(b);
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}


static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
    test_reply_t *r = ctx;
    size_t k = size * n;

    if (r->hlen + k < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = '\0';
    }
    if (k > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t j = 0;
        for (const char *q = p + 12; q < p + k && j + 1 < sizeof r->retry_after;
             q++)
            if (*q != ' ' && *q != '\r' && *q != '\n')
                r->retry_after[j++] = *q;
        r->retry_after[j] = '\0';
    }
    return k;
}


void
test_reply_capture(CURL *c, test_reply_t *r)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
}


void
test_reply_finish(CURL *c, CURLcode rc, test_reply_t *r)
{
    r->rc = rc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                      &r->content_length);
    if (r->body == NULL) {
        r->body = strdup("");
        assert_non_null(r->body);
    }
}
