/*
** reply.c: responses in vLLM's shapes (see server_internal.h).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* vLLM's error type for a status (ErrorResponse.type). */
static const char *
error_type(int status)
{
    switch (status) {
    case 400:
        return "BadRequestError";
    case 404:
        return "NotFoundError";
    case 405:
        return "MethodNotAllowedError";
    case 413:
        return "RequestEntityTooLargeError";
    case 429:
        return "RateLimitError";
    case 503:
        return "ServiceUnavailableError";
    default:
        return "InternalServerError";
    }
}


/* The last resort when even the error cannot be built. */
static void
reply_oom(reply_t *r)
{
    static const char oom[] =
        "{\"error\":{\"message\":\"out of memory\",\"type\":"
        "\"InternalServerError\",\"param\":null,\"code\":500}}";
    reply_clear(r);
    r->status = 500;
    r->body = strdup(oom);
    r->len = r->body ? strlen(oom) : 0;
}


int
reply_json(reply_t *r, int status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

    json_decref(obj);
    if (text == NULL) {
        reply_oom(r);
        return -1;
    }
    reply_clear(r);
    r->status = status;
    r->body = text;
    r->len = strlen(text);
    return 0;
}


void
reply_error(reply_t *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:{s:o, s:s, s:n, s:i}}", "error", "message",
                          reply_string(msg), "type", error_type(status),
                          "param", "code", status);
    reply_json(r, status, e);
}


void
reply_clear(reply_t *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}


json_t *
reply_string(const char *text)
{
    json_t *j = json_string(text);
    if (j != NULL)
        return j;
    char *c = strdup(text);
    if (c == NULL)
        return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(c);
    free(c);
    return j;
}
