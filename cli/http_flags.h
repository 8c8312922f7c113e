/*
** http_flags.h: the HTTP backend flags, defined once for every command.
**
** trim worker takes all of them; trim run takes those that are the same
** for its three pools (prompts, timeouts, retries, key, PRM settings) and
** has its own per-pool --small-url, --small-model, ...  A command appends
** the flags to its table, parses, then turns the values into
** http_backend_opts_t.
*/
#ifndef TRIM_HTTP_FLAGS_H
#define TRIM_HTTP_FLAGS_H

#include <stddef.h>
#include <stdint.h>

#include "flags.h"
#include "http_opts.h"

/* Which flags to add. */
#define HTTP_FLAGS_SERVER 1u /* --base-url, --model */
#define HTTP_FLAGS_SHARED 2u /* everything else */

/* Where the parser writes; defaults from http_flag_values_init. */
typedef struct http_flag_values {
    const char *base_url, *model;
    const char *template_name, *system_prompt, *instruction;
    int64_t top_k, max_tokens;
    int64_t connect_timeout_ms, request_timeout_ms;
    int64_t low_speed_bytes, low_speed_s, max_response_bytes;
    int64_t retries, backoff_ms, backoff_max_ms;
    int64_t cooldown_after, cooldown_ms;
    const char *api_key_env, *api_key_file;
    const char *pooling_task, *prm_input;
    int64_t truncate_tokens;
} http_flag_values_t;

/* Fill *v with the defaults of http_opts_default. */
void http_flag_values_init(http_flag_values_t *v);

/*
** Append the flags selected by which (HTTP_FLAGS_*) to table, which holds n
** entries and room for cap; they write into *v.  Returns the new count, or
** 0 when cap is too small (a programming error).
*/
size_t http_flags_add(flag_t *table, size_t n, size_t cap,
                      http_flag_values_t *v, unsigned which);

/*
** Turn parsed values into options (strings borrowed from v).  Returns 0,
** or -1 after printing "trim CMD: ..." for a bad value (template, PRM input
** style).
*/
int http_flags_to_opts(const char *cmd, const http_flag_values_t *v,
                       http_backend_opts_t *o);

#endif
