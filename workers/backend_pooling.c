/*
** backend_pooling.c: the /pooling format for process reward models (see
** backend_pooling.h); the fitting to truncate_prompt_tokens is in
** pooling_fit.c.
*/
#include "backend_pooling.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "errf.h"
#include "http_backend.h"
#include "pooling_fit.h"
#include "prompt.h"

#define SLACK 1e-6 /* rounding a server may do around [0, 1] */


/* The input as chat messages: the server applies the PRM's template. */
static json_t *
build_messages(const http_backend_opts_t *o, const backend_request_t *req,
               size_t *input_bytes)
{
    const char *instruction =
        o->instruction ? o->instruction : TPL_DEFAULT_INSTRUCTION;
    char *assistant = tpl_prm_assistant(req->steps, req->n_steps);
    json_t *j;

    if (assistant == NULL)
        return NULL;
    *input_bytes =
        strlen(instruction) + strlen(req->problem) + strlen(assistant);
    j = json_pack("{s:s*, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "model",
                  http_model(o), "messages", "role", "system", "content",
                  instruction, "role", "user", "content", req->problem, "role",
                  "assistant", "content", assistant);
    free(assistant);
    return j;
}


/* The input as the rendered text, as the TRIM release sends it. */
static json_t *
build_text(const http_backend_opts_t *o, const backend_request_t *req,
           size_t *input_bytes)
{
    tpl_t t = {o->template_kind, o->system_prompt, o->instruction};
    char *input = tpl_prm_input(&t, req->problem, req->steps, req->n_steps);
    json_t *j;

    if (input == NULL)
        return NULL;
    *input_bytes = strlen(input);
    j = json_pack("{s:s*, s:s}", "model", http_model(o), "input", input);
    free(input);
    return j;
}


static json_t *
build_pooling(const http_backend_opts_t *o, const backend_request_t *req,
              size_t *input_bytes)
{
    json_t *j = o->prm_input == HTTP_PRM_MESSAGES
                    ? build_messages(o, req, input_bytes)
                    : build_text(o, req, input_bytes);

    if (j == NULL)
        return NULL;
    if ((o->pooling_task && *o->pooling_task &&
         http_set(j, "task", json_string(o->pooling_task)) < 0) ||
        (o->truncate_tokens > 0 &&
         http_set(j, "truncate_prompt_tokens",
                  json_integer(o->truncate_tokens)) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}


/*
** One score row per step sent, in order.  Fewer rows than steps (none at
** all included) is as wrong as more: which step a row belongs to is then a
** guess, so it is a bad answer (an error, retried like any other), never a
** score.  The fitting (pooling_fit.c) makes the server's own truncation a
** no-op.
*/
static int
parse_pooling(const http_backend_opts_t *o, const http_job_t *job, json_t *root,
              backend_result_t *r, char *err, size_t errlen)
{
    json_t *d0 = json_array_get(json_object_get(root, "data"), 0);
    json_t *pairs = json_object_get(d0, "data");
    size_t n_pairs, n = job->n_steps;

    (void)o;
    if (!json_is_object(d0))
        return errf(err, errlen, "no data[0] in the response");
    if (!json_is_array(pairs)) /* some vLLM versions nest it */
        pairs = json_object_get(json_object_get(d0, "outputs"), "data");
    if (!json_is_array(pairs))
        return errf(err, errlen, "no data[0].data array in the response");
    n_pairs = json_array_size(pairs);
    if (n_pairs != n)
        return errf(err, errlen,
                    "the PRM returned %zu scores for %zu steps (%s)", n_pairs,
                    n,
                    n_pairs > n ? "does the input carry one step tag per "
                                  "step?"
                                : "was its input cut to "
                                  "truncate_prompt_tokens?");
    if ((r->scores = malloc((n ? n : 1) * sizeof *r->scores)) == NULL)
        return errf(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(pairs, i);
        json_t *pos = json_array_get(pair, 1);
        if (!json_is_number(pos))
            return errf(err, errlen,
                        "data[0].data[%zu] is not a [p_negative, p_positive] "
                        "pair",
                        i);
        double p = json_number_value(pos);
        if (!isfinite(p) || p < -SLACK || p > 1 + SLACK)
            return errf(err, errlen,
                        "data[0].data[%zu][1] = %g is not a probability", i, p);
        r->scores[i] = (float)(p < 0 ? 0 : p > 1 ? 1 : p);
    }
    r->n_scores = n;
    r->input_tokens =
        http_usage_tokens(root, "prompt_tokens", job->input_bytes);
    return 0;
}


const http_format_t pooling_format = {"vllm-pooling", "/pooling", BACKEND_SCORE,
                                      build_pooling, parse_pooling};


backend_t *
backend_pooling_new(const http_backend_opts_t *opts, uint32_t credit, char *err,
                    size_t errlen)
{
    backend_t *pool =
        http_backend_new(&pooling_format, opts, credit, err, errlen);

    if (pool == NULL || opts->truncate_tokens <= 0)
        return pool;
    return pooling_fit_new(pool, opts, credit, err, errlen);
}


uint32_t
backend_pooling_deadline_ms(const http_backend_opts_t *opts)
{
    uint64_t calls = opts->truncate_tokens > 0
                         ? 1 + (uint64_t)pooling_fit_max_probes(TRIM_MAX_STEPS)
                         : 1;
    uint64_t ms = calls * http_opts_deadline_ms(opts);

    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}
