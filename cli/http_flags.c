/*
** http_flags.c: the HTTP backend flags (see http_flags.h).
*/
#include "http_flags.h"

#include <stdio.h>
#include <string.h>


void
http_flag_values_init(http_flag_values_t *v)
{
    http_backend_opts_t d;

    http_opts_default(&d);
    memset(v, 0, sizeof *v);
    v->base_url = "";
    v->model = "";
    v->template_name = tpl_kind_name(d.template_kind);
    v->system_prompt = NULL; /* unset: the template's default */
    v->instruction = NULL;
    v->top_k = d.top_k;
    v->max_tokens = d.max_tokens;
    v->connect_timeout_ms = d.connect_timeout_ms;
    v->request_timeout_ms = d.request_timeout_ms;
    v->low_speed_bytes = d.low_speed_bytes;
    v->low_speed_s = d.low_speed_s;
    v->max_response_bytes = (int64_t)d.max_response_bytes;
    v->retries = d.retries;
    v->backoff_ms = d.backoff_ms;
    v->backoff_max_ms = d.backoff_max_ms;
    v->cooldown_after = d.cooldown_after;
    v->cooldown_ms = d.cooldown_ms;
    v->api_key_env = "";
    v->api_key_file = "";
    v->pooling_task = "";
    v->prm_input = d.prm_input == HTTP_PRM_MESSAGES ? "messages" : "text";
    v->truncate_tokens = d.truncate_tokens;
}


size_t
http_flags_add(flag_t *t, size_t n, size_t cap, http_flag_values_t *v,
               unsigned which)
{
    const flag_t server[] = {
        {"base-url", FLAG_STRING, &v->base_url, 0, 0,
         "model server, e.g. http://host:8000 (a trailing /v1 is fine)"},
        {"model", FLAG_STRING, &v->model, 0, 0,
         "served model name sent in requests (empty: not sent)"},
    };
    const flag_t shared[] = {
        {"template", FLAG_STRING, &v->template_name, 0, 0,
         "prompt markup for /v1/completions: chatml, llama3 or raw"},
        {"system-prompt", FLAG_STRING, &v->system_prompt, 0, 0,
         "system prompt (unset: the template's default; empty: none)"},
        {"instruction", FLAG_STRING, &v->instruction, 0, 0,
         "instruction before the question (unset: TRIM's)"},
        {"top-k", FLAG_INT, &v->top_k, -1, 1e6,
         "top_k sent to the server (0: not sent)"},
        {"max-tokens", FLAG_INT, &v->max_tokens, 0, 1e7,
         "cap on tokens per step (0: the coordinator's value)"},
        {"connect-timeout-ms", FLAG_INT, &v->connect_timeout_ms, 1, 3.6e6,
         "HTTP connect timeout"},
        {"request-timeout-ms", FLAG_INT, &v->request_timeout_ms, 1, 8.64e7,
         "HTTP timeout of one attempt"},
        {"low-speed-bytes", FLAG_INT, &v->low_speed_bytes, 0, 1e12,
         "abort an attempt slower than this many bytes/s ... (0: off)"},
        {"low-speed-s", FLAG_INT, &v->low_speed_s, 0, 86400,
         "... for this many seconds"},
        {"max-response-bytes", FLAG_INT, &v->max_response_bytes, 1024, 1e10,
         "largest response body accepted"},
        {"retries", FLAG_INT, &v->retries, 0, 100,
         "retries after a connection error, timeout, 5xx, 429 or bad answer"},
        {"backoff-ms", FLAG_INT, &v->backoff_ms, 0, 3.6e6,
         "first retry delay (doubles, with jitter)"},
        {"backoff-max-ms", FLAG_INT, &v->backoff_max_ms, 0, 3.6e6,
         "longest retry delay"},
        {"cooldown-after", FLAG_INT, &v->cooldown_after, 0, 1e6,
         "failed calls in a row before pausing the server (0: never)"},
        {"cooldown-ms", FLAG_INT, &v->cooldown_ms, 0, 3.6e6,
         "how long the pause lasts (queued calls wait)"},
        {"api-key-env", FLAG_STRING, &v->api_key_env, 0, 0,
         "variable holding the API key (sent as a Bearer token)"},
        {"api-key-file", FLAG_STRING, &v->api_key_file, 0, 0,
         "file whose first line is the API key"},
        {"pooling-task", FLAG_STRING, &v->pooling_task, 0, 0,
         "PRM: /pooling task, e.g. token_classify for vLLM >= 0.11"},
        {"prm-input", FLAG_STRING, &v->prm_input, 0, 0,
         "PRM: send the rendered text or chat messages (text|messages)"},
        {"truncate-tokens", FLAG_INT, &v->truncate_tokens, 0, 1e7,
         "PRM: fit the input to N tokens (counted with the server's POST "
         "/tokenize, leading steps dropped) and send truncate_prompt_tokens; "
         "0: neither"},
    };
    const size_t ns = sizeof server / sizeof *server;
    const size_t nh = sizeof shared / sizeof *shared;

    if (n + ns + nh > cap)
        return 0;
    if (which & HTTP_FLAGS_SERVER)
        for (size_t i = 0; i < ns; i++)
            t[n++] = server[i];
    if (which & HTTP_FLAGS_SHARED)
        for (size_t i = 0; i < nh; i++)
            t[n++] = shared[i];
    return n;
}


int
http_flags_to_opts(const char *cmd, const http_flag_values_t *v,
                   http_backend_opts_t *o)
{
    http_opts_default(o);
    o->base_url = v->base_url;
    o->model = v->model;
    if (tpl_parse_kind(v->template_name, &o->template_kind) < 0) {
        fprintf(stderr,
                "trim %s: --template expects chatml, llama3 or raw, got "
                "'%s'\n",
                cmd, v->template_name);
        return -1;
    }
    if (strcmp(v->prm_input, "text") == 0) {
        o->prm_input = HTTP_PRM_TEXT;
    } else if (strcmp(v->prm_input, "messages") == 0) {
        o->prm_input = HTTP_PRM_MESSAGES;
    } else {
        fprintf(stderr,
                "trim %s: --prm-input expects text or messages, got '%s'\n",
                cmd, v->prm_input);
        return -1;
    }
    if (v->backoff_max_ms < v->backoff_ms) {
        fprintf(stderr,
                "trim %s: --backoff-max-ms (%lld) is below --backoff-ms "
                "(%lld)\n",
                cmd, (long long)v->backoff_max_ms, (long long)v->backoff_ms);
        return -1;
    }
    if (*v->api_key_env && *v->api_key_file) {
        fprintf(stderr,
                "trim %s: give --api-key-env or --api-key-file, not both\n",
                cmd);
        return -1;
    }
    o->system_prompt = v->system_prompt;
    o->instruction = v->instruction;
    o->top_k = (int)v->top_k;
    o->max_tokens = (int)v->max_tokens;
    o->connect_timeout_ms = (long)v->connect_timeout_ms;
    o->request_timeout_ms = (long)v->request_timeout_ms;
    o->low_speed_bytes = (long)v->low_speed_bytes;
    o->low_speed_s = (long)v->low_speed_s;
    o->max_response_bytes = (size_t)v->max_response_bytes;
    o->retries = (int)v->retries;
    o->backoff_ms = (long)v->backoff_ms;
    o->backoff_max_ms = (long)v->backoff_max_ms;
    o->cooldown_after = (int)v->cooldown_after;
    o->cooldown_ms = (long)v->cooldown_ms;
    o->api_key_env = *v->api_key_env ? v->api_key_env : NULL;
    o->api_key_file = *v->api_key_file ? v->api_key_file : NULL;
    o->pooling_task = v->pooling_task;
    o->truncate_tokens = (int)v->truncate_tokens;
    return 0;
}
