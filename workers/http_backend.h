/*
** http_backend.h: the part every HTTP model backend shares.
**
** An HTTP backend is one http_engine (http_engine.h) plus a format: how to
** turn a request into a JSON body and a JSON response into a result.
** backend_openai.c and backend_pooling.c define the formats; this layer
** does the rest of the backend interface (backend.h): queueing, driving the
** engine from poll_items/next_due_us/collect, parsing each 2xx answer as
** the engine's body check (so a malformed, truncated, empty or otherwise
** unusable answer is retried with backoff inside the worker), turning
** failures into error results that say what failed ("POST URL: ...").
*/
#ifndef TRIM_HTTP_BACKEND_H
#define TRIM_HTTP_BACKEND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "http_opts.h"

/* What a backend remembers about a request while its call runs. */
typedef struct http_job {
    backend_job_t job;
    Trim__Key key;
    size_t n_steps;
    size_t input_bytes;      /* prompt size, for token estimates */
    backend_result_t result; /* parsed from the accepted answer */
} http_job_t;

typedef struct http_format {
    const char *kind;  /* "openai": the backend is named "openai:BASE_URL" */
    const char *path;  /* "/v1/completions", appended to the base URL */
    backend_job_t job; /* the one job it serves */
    /*
    ** The request body for req; *input_bytes gets the size of the prompt
    ** text.  Returns a new reference, or NULL when out of memory.
    */
    json_t *(*build)(const http_backend_opts_t *o, const backend_request_t *req,
                     size_t *input_bytes);
    /*
    ** Fill r (text/finish/tokens or scores/padded/input tokens) from a 2xx
    ** response body.  Returns 0, or -1 with what is wrong in err (without
    ** the "POST URL: " prefix); r's buffers are then freed by the caller.
    ** Every -1 is an unusable answer: the engine retries the call with
    ** backoff, as after a 5xx, and only the last failure becomes the
    ** result's error.
    */
    int (*parse)(const http_backend_opts_t *o, const http_job_t *job,
                 json_t *root, backend_result_t *r, char *err, size_t errlen);
} http_format_t;

/*
** A backend speaking format f to the server of opts (copied; checked with
** http_opts_check; the API key is read now).  credit is the worker's credit:
** the most calls and connections at once.  Returns NULL with a reason in
** err.
*/
backend_t *http_backend_new(const http_format_t *f,
                            const http_backend_opts_t *opts, uint32_t credit,
                            char *err, size_t errlen);

/*
** Parse a 2xx body of the call job with f's parser into r (zeroed first;
** freed again on failure).  Returns 0, or -1 with what is wrong in why:
** not JSON, not an object, or the parser's own reason.
*/
int http_parse_body(const http_format_t *f, const http_backend_opts_t *o,
                    const http_job_t *job, const char *body, size_t len,
                    backend_result_t *r, char *why, size_t whylen);

/*
** usage.<field> of a response, or, when the server sent no usage, an
** estimate of bytes/4 (the usual bytes per token of BPE tokenizers on
** English and LaTeX; every server in the reference sends usage, so this is
** a fallback for unusual ones).
*/
int http_usage_tokens(json_t *root, const char *field, size_t bytes);

/* The model name to send: NULL (omit the field) when unset or empty. */
const char *http_model(const http_backend_opts_t *o);

/*
** A float request field as JSON: rounded to 7 significant digits, so 0.7f
** is sent as 0.7 rather than 0.699999988.  NULL when out of memory.
*/
json_t *http_real(float x);

/* Set key to value (a new reference, stolen); -1 if value is NULL or the
** set fails. */
int http_set(json_t *obj, const char *key, json_t *value);

/* The formats (backend_openai.c, backend_pooling.c), for backend_testing.c. */
extern const http_format_t completion_format, chat_format, pooling_format;

#endif
