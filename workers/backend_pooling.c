/*
** backend_pooling.c: the /pooling format for process reward models (see
** backend_pooling.h).
*/
#include "errf.h"
#include "backend_pooling.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_backend.h"
#include "http_engine.h"
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
** score.  The fitting below makes the server's own truncation a no-op.
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


/* ---- fitting the input to truncate_prompt_tokens ---------------------------
**
** vLLM cuts a pooling input that is too long by keeping its FIRST
** truncate_prompt_tokens tokens: its tokenizer for a pooling model truncates
** on the right.  Read in vLLM's source: 0.8.x, vllm/config.py ModelConfig
** sets truncation_side "left" for the draft and generate tasks and "right"
** for every other (pooling) task, vllm/transformers_utils/tokenizer_group.py
** hands it to the tokenizer, and serving_engine.py
** _normalize_prompt_text_to_input tokenizes with truncation=True,
** max_length=truncate_prompt_tokens; >= 0.11,
** vllm/transformers_utils/tokenizer.py init_tokenizer_from_configs picks
** "right" for runner_type "pooling" and the same tokenizer call does the cut.
** So a cut input loses its LAST steps, the newest one first, and the rows
** that come back belong to the first steps.
**
** trim therefore never lets the server cut.  Before scoring it asks the
** server's POST /tokenize (vLLM: {"prompt"} or {"messages"} in, {"count",
** "max_model_len", "tokens"} out) how many tokens the input has, and drops
** leading steps until the input fits: the newest step is always sent, each
** returned row maps to the step it scores, and the result counts the
** dropped steps in padded (their scores are 1.0, neutral for min and
** product; the audit shows them as steps the PRM did not see).  A count
** needs no tokenizer in trim and is exact for any model and template; for
** "messages", /tokenize adds the generation prompt by default, which can
** only overcount.  A probe's count and the bytes of the steps estimate
** where the limit falls, so a long history usually takes two or three
** small /tokenize calls.  truncate_prompt_tokens is still sent: should the
** two ever disagree, the server's cut shows as missing rows, an error.
*/

typedef struct fit {
    backend_request_t req; /* with its own copies of the texts */
    char **steps;
    /* Leading steps dropped: lo is known not to fit (when have_lo), hi is
    ** known to fit (n_steps: none known yet); probe is being counted. */
    int have_lo;
    size_t lo, hi, probe;
    int lo_tokens, hi_tokens;
    size_t probe_bytes; /* the probe's input text */
    double per_byte;    /* tokens per byte of the last probe */
} fit_t;

typedef struct sent {
    Trim__Key key;
    size_t dropped;
} sent_t;

typedef struct prm_backend {
    backend_t base;
    backend_t *pool;         /* POST /pooling */
    http_engine_t *tokenize; /* POST /tokenize */
    http_backend_opts_t opts;
    sent_t *sent; /* requests in the pool and their dropped steps */
    size_t n_sent, cap_sent;
    backend_result_t *failed; /* results made here: fitting failed */
    size_t n_failed, cap_failed;
} prm_backend_t;


static void
fit_free(void *p)
{
    fit_t *f = p;

    if (f == NULL)
        return;
    for (size_t i = 0; i < f->req.n_steps; i++)
        free(f->steps[i]);
    free(f->steps);
    free((char *)f->req.problem);
    free(f);
}


/* A copy of req that outlives the call. */
static fit_t *
fit_new(const backend_request_t *req)
{
    fit_t *f = calloc(1, sizeof *f);

    if (f == NULL ||
        (f->steps = calloc(req->n_steps, sizeof *f->steps)) == NULL) {
        free(f);
        return NULL;
    }
    f->req = *req;
    f->req.n_steps = 0;
    f->req.problem = strdup(req->problem);
    for (size_t i = 0; i < req->n_steps; i++, f->req.n_steps++)
        if ((f->steps[i] = strdup(req->steps[i])) == NULL)
            break;
    f->req.steps = (const char *const *)f->steps;
    if (f->req.problem == NULL || f->req.n_steps < req->n_steps) {
        fit_free(f);
        return NULL;
    }
    f->hi = req->n_steps;
    return f;
}


/* req without its first dropped steps. */
static backend_request_t
without_leading(const backend_request_t *req, size_t dropped)
{
    backend_request_t r = *req;

    r.steps += dropped;
    r.n_steps -= dropped;
    return r;
}


/* Queue an error result for req made here; -1 when out of memory. */
static int
fail(prm_backend_t *p, const backend_request_t *req, const char *fmt, ...)
{
    backend_result_t *r;
    char why[512];
    va_list ap;

    if (p->n_failed == p->cap_failed) {
        size_t cap = p->cap_failed ? p->cap_failed * 2 : 8;
        if ((r = realloc(p->failed, cap * sizeof *r)) == NULL)
            return -1;
        p->failed = r;
        p->cap_failed = cap;
    }
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    r = &p->failed[p->n_failed];
    memset(r, 0, sizeof *r);
    r->job = req->job;
    r->key = req->key;
    r->finish = TRIM__FINISH__FINISH_ERROR;
    if ((r->error = strdup(why)) == NULL)
        return -1;
    http_engine_redact(p->tokenize, r->error);
    p->n_failed++;
    return 0;
}


/* Ask /tokenize for the tokens of f's input without f->probe steps. */
static int
post_probe(prm_backend_t *p, fit_t *f)
{
    backend_request_t r = without_leading(&f->req, f->probe);
    size_t bytes;
    json_t *j = build_pooling(&p->opts, &r, &bytes);
    char *text = NULL;

    if (j != NULL) {
        json_object_del(j, "task");
        json_object_del(j, "truncate_prompt_tokens");
        /* /tokenize calls the text "prompt" */
        if (json_object_get(j, "input") == NULL ||
            (json_object_set(j, "prompt", json_object_get(j, "input")) == 0 &&
             json_object_del(j, "input") == 0))
            text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
    if (text == NULL)
        return -1;
    f->probe_bytes = bytes;
    return http_engine_post(p->tokenize, text, strlen(text), f);
}


/* Send f to /pooling without its first dropped steps; f is freed. */
static void
send_fitted(prm_backend_t *p, fit_t *f, size_t dropped)
{
    backend_request_t r = without_leading(&f->req, dropped);

    if (p->n_sent == p->cap_sent) {
        size_t cap = p->cap_sent ? p->cap_sent * 2 : 16;
        sent_t *s = realloc(p->sent, cap * sizeof *s);
        if (s == NULL) {
            fail(p, &f->req, "out of memory");
            fit_free(f);
            return;
        }
        p->sent = s;
        p->cap_sent = cap;
    }
    p->sent[p->n_sent++] = (sent_t){f->req.key, dropped};
    if (p->pool->submit(p->pool, &r) < 0) {
        p->n_sent--;
        fail(p, &f->req, "out of memory queueing the request");
    }
    fit_free(f);
}


/*
** The next number of leading steps to count: the fewest between lo and hi
** that the last count and the steps' bytes estimate to fit, else hi when
** one is known to fit (done), else the newest step alone.
*/
static size_t
next_probe(const fit_t *f, int limit)
{
    size_t n = f->req.n_steps;
    double est = f->hi < n ? f->hi_tokens : f->lo_tokens;

    if (f->hi < n) { /* from hi back towards lo, adding steps */
        size_t d = f->hi;
        while (d > f->lo + 1) {
            est += f->per_byte * (double)(strlen(f->steps[d - 1]) + 2);
            if (est > limit)
                break;
            d--;
        }
        return d;
    }
    for (size_t d = f->lo + 1; d < n; d++) { /* from lo, dropping steps */
        est -= f->per_byte * (double)(strlen(f->steps[d - 1]) + 2);
        if (est <= limit)
            return d;
    }
    return n - 1;
}


/* A /tokenize call finished: count it, then count again, send or fail. */
static void
on_count(prm_backend_t *p, http_outcome_t *oc)
{
    fit_t *f = oc->user;
    const int limit = p->opts.truncate_tokens;
    json_t *root = NULL, *count;
    size_t n = f->req.n_steps, next;
    int c;

    oc->user = NULL;
    if (oc->error != NULL) {
        fail(p, &f->req,
             "%s (trim counts the PRM input's tokens there to fit "
             "truncate_prompt_tokens; 0 turns that off)",
             oc->error);
        goto done;
    }
    root = json_loadb(oc->body, oc->len, 0, NULL);
    count = json_object_get(root, "count");
    if (!json_is_integer(count) || json_integer_value(count) < 0 ||
        json_integer_value(count) > INT_MAX) {
        fail(p, &f->req, "POST %s: no token count in the response",
             http_engine_url(p->tokenize));
        goto done;
    }
    c = (int)json_integer_value(count);
    f->per_byte = f->probe_bytes ? (double)c / (double)f->probe_bytes : 0;
    if (c <= limit) {
        f->hi = f->probe;
        f->hi_tokens = c;
    } else {
        f->have_lo = 1;
        f->lo = f->probe;
        f->lo_tokens = c;
    }
    if (f->have_lo && f->lo + 1 == n) {
        fail(p, &f->req,
             "the problem and the newest step alone are %d tokens, more than "
             "truncate_prompt_tokens = %d",
             c, limit);
        goto done;
    }
    next = f->have_lo ? next_probe(f, limit) : f->hi;
    if (next == f->hi) {
        send_fitted(p, f, f->hi);
        f = NULL;
    } else {
        f->probe = next;
        if (post_probe(p, f) == 0)
            f = NULL; /* the engine has it */
        else
            fail(p, &f->req, "out of memory building the request");
    }
done:
    json_decref(root);
    fit_free(f);
}


static int
prm_submit(backend_t *b, const backend_request_t *req)
{
    prm_backend_t *p = (prm_backend_t *)b;
    fit_t *f;

    if (req->job != BACKEND_SCORE || req->n_steps == 0)
        return p->pool->submit(p->pool, req); /* nothing to fit */
    if ((f = fit_new(req)) == NULL)
        return fail(p, req, "out of memory");
    if (post_probe(p, f) < 0) {
        fit_free(f);
        return fail(p, req, "out of memory building the request");
    }
    return 0;
}


static int
prm_poll_items(backend_t *b, zmq_pollitem_t *items, int max)
{
    prm_backend_t *p = (prm_backend_t *)b;
    int k = http_engine_poll_items(p->tokenize, items, max);

    return k + p->pool->poll_items(p->pool, items + k, max - k);
}


static int64_t
prm_next_due(backend_t *b)
{
    prm_backend_t *p = (prm_backend_t *)b;
    int64_t a = http_engine_next_due_us(p->tokenize);
    int64_t c = p->pool->next_due_us(p->pool);

    return p->n_failed > 0 ? 0 : a < c ? a : c;
}


/* Give a pooling result the steps its request left out, as padded. */
static void
restore_dropped(prm_backend_t *p, backend_result_t *r)
{
    size_t dropped = 0, i;
    float *all;

    for (i = 0; i < p->n_sent; i++)
        if (p->sent[i].key.problem_id == r->key.problem_id &&
            p->sent[i].key.step_index == r->key.step_index &&
            p->sent[i].key.role == r->key.role &&
            p->sent[i].key.attempt == r->key.attempt)
            break;
    if (i == p->n_sent)
        return; /* not fitted: answered without a call */
    dropped = p->sent[i].dropped;
    p->sent[i] = p->sent[--p->n_sent];
    if (r->error != NULL || dropped == 0)
        return;
    if ((all = malloc((r->n_scores + dropped) * sizeof *all)) == NULL) {
        backend_result_clear(r);
        r->finish = TRIM__FINISH__FINISH_ERROR;
        r->error = strdup("out of memory");
        return;
    }
    for (i = 0; i < dropped; i++)
        all[i] = 1.0f;
    memcpy(all + dropped, r->scores, r->n_scores * sizeof *all);
    free(r->scores);
    r->scores = all;
    r->n_scores += dropped;
    r->padded = dropped;
}


static size_t
prm_collect(backend_t *b, backend_result_t *out, size_t max)
{
    prm_backend_t *p = (prm_backend_t *)b;
    http_outcome_t oc;
    size_t k = 0, got;

    if (http_engine_pending(p->tokenize) > 0) {
        http_engine_drive(p->tokenize);
        while (http_engine_done(p->tokenize, &oc)) {
            on_count(p, &oc);
            http_outcome_clear(&oc);
        }
    }
    for (; k < max && p->n_failed > 0; k++) {
        out[k] = p->failed[0];
        memmove(p->failed, p->failed + 1, --p->n_failed * sizeof *p->failed);
    }
    got = p->pool->collect(p->pool, out + k, max - k);
    for (size_t i = k; i < k + got; i++)
        restore_dropped(p, &out[i]);
    return k + got;
}


static size_t
prm_pending(backend_t *b)
{
    prm_backend_t *p = (prm_backend_t *)b;

    return p->n_failed + http_engine_pending(p->tokenize) +
           p->pool->pending(p->pool);
}


static void
prm_destroy(backend_t *b)
{
    prm_backend_t *p = (prm_backend_t *)b;

    http_engine_destroy(&p->tokenize);
    backend_destroy(&p->pool);
    for (size_t i = 0; i < p->n_failed; i++)
        backend_result_clear(&p->failed[i]);
    free(p->failed);
    free(p->sent);
    http_opts_clear(&p->opts);
    free(p);
}


backend_t *
backend_pooling_new(const http_backend_opts_t *opts, uint32_t credit, char *err,
                    size_t errlen)
{
    backend_t *pool =
        http_backend_new(&pooling_format, opts, credit, err, errlen);
    prm_backend_t *p;
    char *url;

    if (pool == NULL || opts->truncate_tokens <= 0)
        return pool;
    if ((p = calloc(1, sizeof *p)) == NULL ||
        http_opts_copy(&p->opts, opts) < 0) {
        free(p);
        backend_destroy(&pool);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    p->pool = pool;
    p->base.name = pool->name;
    p->base.submit = prm_submit;
    p->base.poll_items = prm_poll_items;
    p->base.next_due_us = prm_next_due;
    p->base.collect = prm_collect;
    p->base.pending = prm_pending;
    p->base.destroy = prm_destroy;
    if ((url = http_url_join(opts->base_url, "/tokenize")) == NULL) {
        prm_destroy(&p->base);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    p->tokenize = http_engine_new(&p->opts, url, pool->name,
                                  credit ? credit : 1, fit_free, err, errlen);
    free(url);
    if (p->tokenize == NULL) {
        prm_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}
