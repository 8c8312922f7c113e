/*
** backend.h: what a worker needs from a model backend.
**
** A backend takes requests and hands back results later, so one worker can
** keep many calls in flight (its credit) while its loop keeps heartbeating.
** submit() copies what it needs from the request; results come out of
** collect() in completion order.  A backend that waits on file descriptors
** (HTTP) lists them in poll_items(); one that only waits on time (the
** simulator's latency model) reports next_due_us().
*/
#ifndef TRIM_BACKEND_H
#define TRIM_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "trim.pb-c.h"

typedef enum { BACKEND_GENERATE = 0, BACKEND_SCORE = 1 } backend_job_t;

typedef struct backend_request {
    backend_job_t job;
    Trim__Key key; /* echoed in the result */
    const char *problem;
    const char *const *steps; /* accepted steps (GENERATE) or full history */
    size_t n_steps;
    int max_tokens;
    uint64_t seed;
    float temperature, top_p;
} backend_request_t;

typedef struct backend_result {
    backend_job_t job;
    Trim__Key key;
    char *text; /* GENERATE: the step (malloc'd) */
    int prompt_tokens;
    int completion_tokens;
    Trim__Finish finish;
    float *scores; /* SCORE: one per step (malloc'd) */
    size_t n_scores;
    size_t padded; /* SCORE: leading steps the PRM was not sent (dropped
                      to fit its input), given 1.0 */
    int input_tokens;
    int cached_tokens;   /* of prompt_tokens (SCORE: input_tokens), those the
                            server's prefix cache held; 0: none or unknown */
    int cached_reported; /* the server said cached_tokens (even 0) */
    int64_t latency_us;
    char *error; /* non-NULL: the call failed (malloc'd) */
} backend_result_t;

typedef struct backend backend_t;

struct backend {
    const char *name; /* e.g. "sim:weak", for Ready and logs */
    /* Start one request.  Returns 0, or -1 if it could not even be started
    ** (the worker then answers with an error result itself). */
    int (*submit)(backend_t *b, const backend_request_t *req);
    /* Fill up to max poll items with descriptors to watch; returns count. */
    int (*poll_items)(backend_t *b, zmq_pollitem_t *items, int max);
    /* Monotonic microseconds when the next result is due; INT64_MAX none. */
    int64_t (*next_due_us)(backend_t *b);
    /* Move finished results (at most max) into out; returns how many.
    ** The caller frees each with backend_result_clear. */
    size_t (*collect)(backend_t *b, backend_result_t *out, size_t max);
    /* Requests submitted and not yet collected. */
    size_t (*pending)(backend_t *b);
    /* Free everything; called only through backend_destroy. */
    void (*destroy)(backend_t *b);
};

/*
** Free a result's buffers and zero them, so the (embedded) result can be
** reused or dropped; NULL-safe, idempotent.
*/
void backend_result_clear(backend_result_t *r);

/* Free a backend and clear the pointer; NULL-safe. */
void backend_destroy(backend_t **b);

#endif
