/*
** http_opts.h: the settings of the HTTP model backends.
**
** One struct configures every HTTP backend (openai, openai-chat,
** vllm-pooling): where the server is, what to send, and how hard to try.
** trim worker and trim run fill it from flags (cli/http_flags.h); tests fill
** it by hand after http_opts_default.
*/
#ifndef TRIM_HTTP_OPTS_H
#define TRIM_HTTP_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "prom.h"
#include "prompt.h"

/* What /pooling gets: the rendered ChatML text, or chat messages. */
typedef enum {
    HTTP_PRM_TEXT = 0,    /* "input": tpl_prm_input (the TRIM release) */
    HTTP_PRM_MESSAGES = 1 /* "messages": the server applies the template */
} http_prm_input_t;

typedef struct http_backend_opts {
    /* The server, e.g. "http://gpu1:8000".  A trailing "/" or "/v1" is
    ** dropped: the backends add "/v1/completions", "/v1/chat/completions"
    ** or "/pooling" (which vLLM serves at the root). */
    const char *base_url;
    const char *model; /* served model name; NULL or "": not sent */

    /* Prompts (template.h).  The chat backend sends the system prompt as a
    ** message only when it is set and non-empty; otherwise the server's
    ** chat template adds its own default. */
    tpl_kind_t template_kind;  /* completions prompt markup */
    const char *system_prompt; /* NULL: the template's default; "": none */
    const char *instruction;   /* NULL: TPL_DEFAULT_INSTRUCTION */

    /* Sampling (temperature, top_p, seed come with each request). */
    int top_k;      /* vLLM's top-level extra; 0: not sent (-1: disabled) */
    int max_tokens; /* cap on the request's max_tokens; 0: no cap */

    /* Per-attempt limits. */
    long connect_timeout_ms;   /* default 5000 */
    long request_timeout_ms;   /* whole attempt; default 300000 */
    long low_speed_bytes;      /* abort an attempt slower than this many */
    long low_speed_s;          /* bytes/s for this many seconds; 0: off.  A
                                  non-streaming server sends nothing until it
                                  is done, so keep this off unless calls are
                                  short. */
    size_t max_response_bytes; /* larger bodies fail; default 4 MiB */

    /* Retries: connection errors, timeouts, HTTP 5xx and 429, and 2xx
    ** answers that cannot be used are retried (Retry-After honoured); other
    ** 4xx are not. */
    int retries;         /* after the first attempt; default 3 */
    long backoff_ms;     /* first retry's delay, doubling; default 500 */
    long backoff_max_ms; /* default 20000 */
    int cooldown_after;  /* consecutive failed attempts before a pause;
                            default 5; 0: never */
    long cooldown_ms;    /* the pause: no new calls; default 5000 */

    /* The API key, sent as "Authorization: Bearer KEY"; never printed. */
    const char *api_key_env;  /* variable holding it, or NULL */
    const char *api_key_file; /* file whose first line is it, or NULL */

    /* PRM scoring (vllm-pooling). */
    const char *pooling_task; /* "task" (e.g. "token_classify" for vLLM
                                 >= 0.11); NULL or "": not sent */
    http_prm_input_t prm_input;
    int truncate_tokens; /* > 0: fit the input to it with POST /tokenize
                            (pooling_fit.h) and send it as
                            "truncate_prompt_tokens"; 0: neither */

    /* At start, GET /v1/models once (2 s at most, failure ignored): a
    ** `trim sim-server` (owned_by "trim-sim") names the backend
    ** "sim-http:BASE_URL", which tells the coordinator that the pool runs
    ** the simulator (its Submit check then applies). */
    int identify;

    /* Metrics (docs/metrics.md): trim_backend_* series labelled
    ** pool=metrics_pool go to metrics (borrowed; NULL: none). */
    prom_registry_t *metrics;
    const char *metrics_pool;
} http_backend_opts_t;

/* The help of trim_backend_up{pool}: 1 while the last attempt to reach the
** model server succeeded (and before any), 0 after a failed one; a worker's
** /readyz reads it. */
#define HTTP_BACKEND_UP_HELP                                                   \
    "1 when the model server answered the last call or health probe (any "     \
    "HTTP status), 0 before the first answer and after no answer came"

/* Fill *o with the defaults above (base_url NULL). */
void http_opts_default(http_backend_opts_t *o);

/*
** Check the settings: a base URL with http:// or https://, sane numbers,
** at most one key source.  Returns 0, or -1 with a reason in err.
*/
int http_opts_check(const http_backend_opts_t *o, char *err, size_t errlen);

/*
** The longest one call can take under o, every retry included: each
** attempt to its request timeout, each backoff to its cap, and a cooldown
** before each attempt.  A worker announces it as its per-request deadline.
** (A server's Retry-After longer than backoff_max_ms can push an answer past
** it; the coordinator then gives the request to another worker.)  Capped
** at UINT32_MAX, the most Ready can say.
*/
uint32_t http_opts_deadline_ms(const http_backend_opts_t *o);

/*
** Read the API key named by o (api_key_env or api_key_file) into *key
** (malloc'd; the caller wipes and frees it with http_key_destroy).  *key is
** NULL when no source is configured.  Returns 0, or -1 with a reason in err
** that names the variable or file, never the key.
*/
int http_key_load(const http_backend_opts_t *o, char **key, char *err,
                  size_t errlen);

/* Wipe and free a key from http_key_load; NULL-safe, clears the pointer. */
void http_key_destroy(char **key);

/*
** base_url with a trailing "/" and "/v1" dropped, then path appended
** (malloc'd), e.g. ("http://h:8000/v1/", "/pooling") ->
*"http://h:8000/pooling".
** NULL on allocation failure.
*/
char *http_url_join(const char *base_url, const char *path);

/*
** Deep-copy *src into *dst (every string duplicated), so a backend owns its
** settings.  Returns 0, or -1 on allocation failure (*dst then holds
** nothing to free).
*/
int http_opts_copy(http_backend_opts_t *dst, const http_backend_opts_t *src);

/*
** Free the strings a copy from http_opts_copy holds and zero *o, so the
** (embedded) settings can be reused or dropped; NULL-safe, idempotent.
*/
void http_opts_clear(http_backend_opts_t *o);

#endif
