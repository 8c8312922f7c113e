/*
** pooling_fit.c: fitting a PRM's input to truncate_prompt_tokens with the
** server's POST /tokenize (see pooling_fit.h).
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
** "max_model_len", "tokens"} out) how many tokens the input has, and sends
** the largest window of newest steps that fits: the newest step is always
** sent, each returned row maps to the step it scores, and the result counts
** the dropped steps in padded (their scores are 1.0, neutral for min and
** product; the audit shows them as steps the PRM did not see).  A count
** needs no tokenizer in trim and is exact for any model and template; for
** "messages" it asks for no generation prompt (add_generation_prompt
** false), as /pooling adds none.
**
** The search (fit_search_count): the whole input is counted first; when it
** is too long, its count per byte and the steps' bytes estimate how many
** leading steps to drop; when the estimate fits, one step fewer is counted
** to confirm it is the largest window, and when the estimate misses, the
** rest is a bisection.  So a long history usually takes two or three small
** /tokenize calls and never more than pooling_fit_max_probes.
** truncate_prompt_tokens is still sent: should the two ever disagree, the
** server's cut shows as missing rows, an error.
*/
#include "pooling_fit.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "http_backend.h"
#include "http_engine.h"
#include "log.h"
#include "prompt.h"


/* ---- the search ---------------------------------------------------------- */

int
pooling_fit_max_probes(size_t n_steps)
{
    int log2n = 0;

    while (((size_t)1 << log2n) < n_steps)
        log2n++;
    /* The whole input, the estimate, its confirmation, then a bisection of
    ** at most n steps. */
    return 3 + log2n;
}


void
fit_search_init(fit_search_t *s, size_t n_steps)
{
    memset(s, 0, sizeof *s);
    s->n = n_steps;
    s->hi = n_steps;
}


/*
** The fewest leading steps, more than s->lo, whose dropping the count of
** the input without s->lo (tokens over bytes) says will fit: each step
** costs its bytes and its tag at that count per byte.
*/
static size_t
estimate(const fit_search_t *s, int tokens, size_t bytes, int limit,
         const char *const *steps)
{
    double per_byte = bytes ? (double)tokens / (double)bytes : 0;
    double est = tokens;

    for (size_t d = s->lo + 1; d < s->n; d++) {
        est -= per_byte * (double)(strlen(steps[d - 1]) + strlen(TPL_STEP_TAG));
        if (est <= limit)
            return d;
    }
    return s->n - 1;
}


int
fit_search_count(fit_search_t *s, int tokens, size_t bytes, int limit,
                 const char *const *steps)
{
    int first = s->probes++ == 0;

    if (tokens <= limit)
        s->hi = s->probe;
    else
        s->lo = s->probe;
    if (s->hi == 0)
        return FIT_DONE; /* the whole input fits */
    if (s->lo + 1 == s->hi)
        return s->hi == s->n ? FIT_NONE : FIT_DONE;
    if (first)
        s->probe = estimate(s, tokens, bytes, limit, steps);
    else if (s->estimated && s->hi == s->probe)
        s->probe = s->hi - 1; /* is one step more still fitting? */
    else
        s->probe = (s->lo + s->hi) / 2;
    s->estimated = first;
    return FIT_NEXT;
}


/* ---- the backend --------------------------------------------------------- */

typedef struct fit {
    backend_request_t req; /* with its own copies of the texts */
    char **steps;
    fit_search_t search;
    size_t probe_bytes; /* the probe's input text */
    int count;          /* the probe's count, from check_count */
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
    uint64_t lost; /* requests dropped for want of memory (logged) */
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
    fit_search_init(&f->search, req->n_steps);
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


/*
** Queue an error result for req made here.  Out of memory the request is
** lost: logged and counted (the coordinator's deadline brings it back), and
** -1 is returned.
*/
static int
fail(prm_backend_t *p, const backend_request_t *req, const char *fmt, ...)
{
    backend_result_t *r = NULL;
    char why[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (p->n_failed == p->cap_failed) {
        size_t cap = p->cap_failed ? p->cap_failed * 2 : 8;
        if ((r = realloc(p->failed, cap * sizeof *r)) != NULL) {
            p->failed = r;
            p->cap_failed = cap;
        }
    }
    if (p->n_failed < p->cap_failed) {
        r = &p->failed[p->n_failed];
        memset(r, 0, sizeof *r);
        r->job = req->job;
        r->key = req->key;
        r->finish = TRIM__FINISH__FINISH_ERROR;
        r->error = strdup(why);
    }
    if (r == NULL || r->error == NULL) {
        p->lost++;
        tlog(TLOG_ERROR, p->base.name,
             "out of memory: problem %llu step %u lost (%llu so far; the "
             "coordinator's deadline requeues it): %s",
             (unsigned long long)req->key.problem_id, req->key.step_index,
             (unsigned long long)p->lost, why);
        return -1;
    }
    http_engine_redact(p->tokenize, r->error);
    p->n_failed++;
    return 0;
}


/* Ask /tokenize for the tokens of f's input without its probe steps. */
static int
post_probe(prm_backend_t *p, fit_t *f)
{
    backend_request_t r = without_leading(&f->req, f->search.probe);
    size_t bytes;
    json_t *j = pooling_format.build(&p->opts, &r, &bytes);
    char *text = NULL;

    if (j != NULL) {
        json_object_del(j, "task");
        json_object_del(j, "truncate_prompt_tokens");
        /* /tokenize calls the text "prompt"; for messages, vLLM's
        ** TokenizeChatRequest adds the generation prompt unless told not
        ** to, and /pooling adds none. */
        if (json_object_get(j, "input") != NULL
                ? json_object_set(j, "prompt", json_object_get(j, "input")) ==
                          0 &&
                      json_object_del(j, "input") == 0
                : http_set(j, "add_generation_prompt", json_false()) == 0)
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
** The /tokenize answer's "count" (>= 0), or -1 when the body has none: the
** engine's body check, so such an answer is retried like a 5xx.
*/
static int
check_count(void *ctx, void *user, const char *body, size_t len, char *why,
            size_t whylen)
{
    fit_t *f = user;
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *count = json_object_get(root, "count");

    (void)ctx;
    f->count = json_is_integer(count) && json_integer_value(count) >= 0 &&
                       json_integer_value(count) <= INT_MAX
                   ? (int)json_integer_value(count)
                   : -1;
    json_decref(root);
    return f->count < 0 ? errf(why, whylen, "no token count in the response")
                        : 0;
}


/* A /tokenize call finished: count again, send or fail. */
static void
on_count(prm_backend_t *p, http_outcome_t *oc)
{
    fit_t *f = oc->user;
    const int limit = p->opts.truncate_tokens;

    oc->user = NULL;
    if (oc->error != NULL) {
        fail(p, &f->req,
             "%s (trim counts the PRM input's tokens there to fit "
             "truncate_prompt_tokens; --truncate-tokens 0 turns that off)",
             oc->error);
        fit_free(f);
        return;
    }
    switch (fit_search_count(&f->search, f->count, f->probe_bytes, limit,
                             f->req.steps)) {
    case FIT_DONE:
        send_fitted(p, f, f->search.hi);
        return;
    case FIT_NONE:
        fail(p, &f->req,
             "the problem and the newest step alone are %d tokens, more than "
             "truncate_prompt_tokens = %d",
             f->count, limit);
        break;
    default:
        if (post_probe(p, f) == 0)
            return; /* the engine has it */
        fail(p, &f->req, "out of memory building the request");
    }
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
pooling_fit_new(backend_t *pool, const http_backend_opts_t *opts,
                uint32_t credit, char *err, size_t errlen)
{
    prm_backend_t *p;
    char *url;

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
    http_engine_set_check(p->tokenize, check_count, NULL);
    return &p->base;
}
