/*
** backend_sim.c: the simulator behind the backend interface.
**
** Each request is computed at once; its result waits in a min-heap ordered
** by the time the latency model says it would be ready (ties in submission
** order), and collect() releases what is due.  With zero latency the heap is
** a plain FIFO.  A timerfd armed for the earliest due result wakes the
** worker's poll to the microsecond (a poll timeout has millisecond steps,
** which made every simulated call up to a millisecond late).
**
** With the world's prefix_cache_tokens set, the backend is one model server
** with its own prefix cache: the part of a prompt it served recently (the
** problem and the steps it saw last time) is not prefilled again, which
** takes its prefill time off the call's latency and is reported as cached
** tokens.  With serial_prefill, the server prefills one prompt at a time, so
** a call waits for the prefills submitted before it.
*/
#include "backend_sim.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "prefix_cache.h"

/* Problem texts a backend keeps read (sim_cache_new): each up to a few KiB. */
#define BACKEND_SIM_TEXTS 4096

typedef struct pending {
    int64_t due_us;
    uint64_t seq;
    backend_result_t result;
} pending_t;

typedef struct sim_backend {
    backend_t base; /* first, so a backend_t * is a sim_backend * */
    const sim_world_t *world;
    backend_sim_model_t model;
    pending_t *heap;
    size_t n, cap;
    uint64_t seq;
    int timer;               /* timerfd for the earliest due result, or -1 */
    int64_t armed_us;        /* when it is armed for; 0 when disarmed */
    prefix_cache_t *cache;   /* NULL: no prefix cache */
    int64_t prefill_free_us; /* serial_prefill: when the next may start */
    uint64_t *keys;          /* a prompt's segments for the cache */
    int32_t *tokens;
    size_t cap_segments;
    sim_cache_t *texts; /* problems read, so a step does not parse again */
} sim_backend_t;


static int
earlier(const pending_t *a, const pending_t *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}


static int
heap_push(sim_backend_t *s, const pending_t *p)
{
    size_t i;

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        pending_t *h = realloc(s->heap, cap * sizeof *h);
        if (h == NULL)
            return -1;
        s->heap = h;
        s->cap = cap;
    }
    i = s->n++;
    while (i > 0 && earlier(p, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = *p;
    return 0;
}


static void
heap_pop(sim_backend_t *s, pending_t *out)
{
    pending_t last;
    size_t i = 0;

    *out = s->heap[0];
    last = s->heap[--s->n];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && earlier(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!earlier(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n > 0)
        s->heap[i] = last;
}


static void
fail_result(backend_result_t *r, const char *err)
{
    char why[512];

    /* Say what to send instead: the simulator's own problems. */
    r->finish = TRIM__FINISH__FINISH_ERROR;
    r->error = strdup(sim_refusal(err, why, sizeof why));
}


/*
** The tokens of req's prompt (problem and steps) that the prefix cache
** held, at most prompt_tokens - 1 (a server computes at least the last
** token, as vLLM does); the prompt is then kept in the cache, followed by
** the step written (text, or NULL when scoring), whose blocks a server
** keeps too: the next call after a kept draft finds all of its prompt.
** Segment sizes add up as sim_prompt_tokens_of counts the whole: 4 bytes a
** token, a blank line after each step.
*/
static int
cached_tokens(sim_backend_t *s, const backend_request_t *req, const char *text,
              int prompt_tokens)
{
    size_t n = req->n_steps + 1 + (text != NULL), bytes, before = 0;
    uint64_t key;
    int64_t hit;

    if (s->cache == NULL)
        return 0;
    if (n > s->cap_segments) {
        uint64_t *k = realloc(s->keys, n * sizeof *k);
        if (k != NULL)
            s->keys = k;
        int32_t *t = realloc(s->tokens, n * sizeof *t);
        if (t != NULL)
            s->tokens = t;
        if (k == NULL || t == NULL)
            return 0;
        s->cap_segments = n;
    }
    bytes = strlen(req->problem);
    key = prefix_cache_key(0, req->problem, bytes);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            const char *step = i <= req->n_steps ? req->steps[i - 1] : text;
            size_t len = step ? strlen(step) : 0;
            key = prefix_cache_key(key, step ? step : "", len);
            bytes += len + 2;
        }
        s->keys[i] = key;
        s->tokens[i] = (int32_t)(bytes / 4 - before / 4);
        before = bytes;
    }
    hit = prefix_cache_use(s->cache, s->keys, s->tokens, n);
    if (hit >= prompt_tokens)
        hit = prompt_tokens > 0 ? prompt_tokens - 1 : 0;
    return (int)hit;
}


static int
sim_submit(backend_t *b, const backend_request_t *req)
{
    sim_backend_t *s = (sim_backend_t *)b;
    pending_t p = {0};
    char err[256];
    int64_t latency = 0;

    p.result.job = req->job;
    p.result.key = req->key;
    if (req->job == BACKEND_SCORE) {
        if (s->model != BACKEND_SIM_PRM) {
            fail_result(&p.result, "this worker cannot score steps");
        } else if ((p.result.scores = malloc((req->n_steps ? req->n_steps : 1) *
                                             sizeof *p.result.scores)) ==
                   NULL) {
            fail_result(&p.result, "out of memory");
        } else if (sim_score_cached(s->world, s->texts, req->problem,
                                    req->steps, req->n_steps, p.result.scores,
                                    NULL, &p.result.input_tokens, &latency, err,
                                    sizeof err) < 0) {
            fail_result(&p.result, err);
        } else {
            p.result.n_scores = req->n_steps;
        }
    } else {
        sim_step_t step = {0};
        if (s->model == BACKEND_SIM_PRM) {
            fail_result(&p.result, "this worker cannot generate steps");
        } else if (sim_generate_cached(
                       s->world, s->texts,
                       s->model == BACKEND_SIM_WEAK ? SIM_WEAK : SIM_STRONG,
                       req->problem, req->steps, req->n_steps, req->max_tokens,
                       req->seed, &step, err, sizeof err) < 0) {
            fail_result(&p.result, err);
        } else {
            p.result.text = step.text; /* ownership moves to the result */
            p.result.prompt_tokens = step.prompt_tokens;
            p.result.completion_tokens = step.completion_tokens;
            p.result.finish = (Trim__Finish)step.finish;
            latency = step.latency_us;
        }
    }
    if (p.result.error == NULL) {
        const sim_params_t *w = sim_world_params(s->world);
        int scoring = req->job == BACKEND_SCORE;
        int cached = cached_tokens(s, req, p.result.text,
                                   scoring ? p.result.input_tokens
                                           : p.result.prompt_tokens);
        double per_token =
            scoring ? w->prm_prefill_us : w->prefill_us[s->model];
        int64_t prefill =
            llround(per_token * ((scoring ? p.result.input_tokens
                                          : p.result.prompt_tokens) -
                                 cached));
        p.result.cached_tokens = cached;
        /* Reported only by a server with a prefix cache, as vLLM's is. */
        p.result.cached_reported = s->cache != NULL;
        latency -= llround(per_token * cached);
        if (latency < 0)
            latency = 0;
        if (w->serial_prefill && prefill > 0) {
            int64_t now = clock_now_us();
            int64_t wait =
                s->prefill_free_us > now ? s->prefill_free_us - now : 0;
            s->prefill_free_us = now + wait + prefill;
            latency += wait;
        }
    }
    p.result.latency_us = latency;
    p.due_us = latency > 0 ? clock_now_us() + latency : 0;
    p.seq = s->seq++;
    if (heap_push(s, &p) < 0) {
        backend_result_clear(&p.result);
        return -1;
    }
    return 0;
}


static int
sim_poll_items(backend_t *b, zmq_pollitem_t *items, int max)
{
    sim_backend_t *s = (sim_backend_t *)b;
    int64_t due = s->n ? s->heap[0].due_us : 0;
    uint64_t expirations;

    if (s->timer < 0 || max < 1)
        return 0;
    /* Never armed (zero latency): nothing to clear, and no read() a turn. */
    if (s->armed_us != 0 &&
        read(s->timer, &expirations, sizeof expirations) < 0)
        expirations = 0; /* not expired yet: nothing to clear */
    if (due <= 0)
        return 0; /* nothing waits on time */
    if (due != s->armed_us) {
        /* CLOCK_MONOTONIC, absolute: the same clock as clock_now_us. */
        struct itimerspec its = {{0, 0},
                                 {due / 1000000, (long)(due % 1000000) * 1000}};
        timerfd_settime(s->timer, TFD_TIMER_ABSTIME, &its, NULL);
        s->armed_us = due;
    }
    items[0] = (zmq_pollitem_t){NULL, s->timer, ZMQ_POLLIN, 0};
    return 1;
}


static int64_t
sim_next_due(backend_t *b)
{
    sim_backend_t *s = (sim_backend_t *)b;
    return s->n ? s->heap[0].due_us : INT64_MAX;
}


static size_t
sim_collect(backend_t *b, backend_result_t *out, size_t max)
{
    sim_backend_t *s = (sim_backend_t *)b;
    int64_t now = 0;
    size_t k = 0;

    while (k < max && s->n > 0) {
        if (s->heap[0].due_us > 0) {
            if (now == 0)
                now = clock_now_us();
            if (s->heap[0].due_us > now)
                break;
        }
        pending_t p;
        heap_pop(s, &p);
        out[k++] = p.result;
    }
    return k;
}


static size_t
sim_pending(backend_t *b)
{
    return ((sim_backend_t *)b)->n;
}


static void
sim_destroy(backend_t *b)
{
    sim_backend_t *s = (sim_backend_t *)b;
    for (size_t i = 0; i < s->n; i++)
        backend_result_clear(&s->heap[i].result);
    free(s->heap);
    prefix_cache_destroy(&s->cache);
    sim_cache_destroy(&s->texts);
    free(s->keys);
    free(s->tokens);
    if (s->timer >= 0)
        close(s->timer);
    free(s);
}


backend_t *
backend_sim_new(const sim_world_t *w, backend_sim_model_t model)
{
    static const char *const names[] = {"sim:weak", "sim:strong", "sim:prm"};
    sim_backend_t *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->world = w;
    s->model = model;
    if (sim_world_params(w)->prefix_cache_tokens >= 1 &&
        (s->cache = prefix_cache_new(
             (int64_t)sim_world_params(w)->prefix_cache_tokens)) == NULL) {
        free(s);
        return NULL;
    }
    /* More slots than problems a coordinator keeps in flight (256 by
    ** default, 2048 in bench_pipeline); a miss only parses again, and so
    ** does every call without the cache (NULL: out of memory). */
    s->texts = sim_cache_new(BACKEND_SIM_TEXTS);
    s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->base.name = names[model];
    s->base.submit = sim_submit;
    s->base.poll_items = sim_poll_items;
    s->base.next_due_us = sim_next_due;
    s->base.collect = sim_collect;
    s->base.pending = sim_pending;
    s->base.destroy = sim_destroy;
    return &s->base;
}
