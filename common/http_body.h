/*
** http_body.h: gathering a request body that arrives in pieces (the
** libmicrohttpd upload callback), up to a limit.
*/
#ifndef TRIM_HTTP_BODY_H
#define TRIM_HTTP_BODY_H

#include <stddef.h>

/*
** Append data[0..n) to the NUL-terminated buffer *body of *len bytes and
** *cap capacity (all zero at first; the buffer is malloc'd and the caller
** frees it).  Returns 0, or -1 when the body would pass max bytes or memory
** runs out: the buffer is then freed and cleared, and the caller answers
** that the body is too large.
*/
int http_body_append(char **body, size_t *len, size_t *cap, const char *data,
                     size_t n, size_t max);

#endif
