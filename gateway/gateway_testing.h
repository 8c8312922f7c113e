/*
** gateway_testing.h: the gateway's request parsing and response rendering,
** and its jobs (one request's problem), for the unit tests
** (test_gateway_json, test_gateway_job) and the gateway's own files.
**
** Parsing and rendering are pure: JSON in, a struct out; a struct in, JSON
** text out.  The OpenAI shapes they follow are in docs/gateway.md.
*/
#ifndef TRIM_GATEWAY_TESTING_H
#define TRIM_GATEWAY_TESTING_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway.h"

#define GW_KEY_ID_MAX 64 /* an API key's id */

/* What a completions request asks for. */
typedef struct gw_request {
    int chat;      /* /v1/chat/completions; 0: /v1/completions */
    char *model;   /* the route's name */
    char *problem; /* the text the coordinator solves */
    int stream;
    int include_usage; /* stream_options.include_usage */
    int trace;         /* "trim": {"trace": true} */
    int has_seed;
    int64_t seed;
} gw_request_t;

/*
** Parse a request body (len bytes, not NUL-terminated) of the chat (chat
** set) or the completions endpoint into *r.  The chat problem is the last
** user message; earlier messages come before it as docs/gateway.md says.
** Returns 0, or -1 with err naming what is wrong and where, e.g.
** "messages[2].content: expected a string or an array of text parts";
** *r is then cleared.
*/
int gw_request_parse(const char *body, size_t len, int chat, gw_request_t *r,
                     char *err, size_t errlen);

/* Free what *r holds and zero it; NULL-safe. */
void gw_request_clear(gw_request_t *r);

/* One accepted step as the coordinator pushed it. */
typedef struct gw_step {
    uint32_t index;
    char *text;
    int strong, routed;
    float score; /* -1: not scored */
    char *decided_by, *reason;
    uint32_t tokens;
    int finish; /* Trim__Finish */
} gw_step_t;

/* A problem's end (ProblemResult). */
typedef struct gw_result {
    int end; /* Trim__ProblemEnd */
    char *error, *final_answer;
    int correct; /* 1, 0, -1 ungraded */
    uint32_t steps, regenerated;
    uint64_t weak_tokens, strong_tokens, discarded_tokens, prm_tokens;
    uint64_t prompt_tokens;
    int finish; /* Trim__Finish of its last accepted step */
    /* Every call's prompt tokens and their cached estimate, for dollars. */
    uint64_t weak_prompt_tokens, weak_cached_tokens;
    uint64_t strong_prompt_tokens, strong_cached_tokens, prm_cached_tokens;
    /* Wasted speculative drafts: completion, prompt and cached tokens. */
    uint64_t wasted_tokens, wasted_prompt_tokens, wasted_cached_tokens;
} gw_result_t;

/* Everything an answer shows. */
typedef struct gw_answer {
    const gw_request_t *req;
    const char *id;  /* "chatcmpl-..." or "cmpl-..." */
    int64_t created; /* Unix seconds */
    const gateway_route_t *route;
    uint64_t run_id, problem_id;
    const gw_step_t *steps;
    size_t n_steps;
    const gw_result_t *result; /* NULL until the problem ended */
} gw_answer_t;

/*
** The whole answer: a chat.completion or text_completion object with the
** trim object; malloc'd JSON, NULL when out of memory.
*/
char *gw_render_answer(const gw_answer_t *a);

/*
** Stream events, each a malloc'd "data: {...}\n\n" (NULL when out of
** memory): the opening chunk (chat: delta.role; completions: none, so
** NULL with *none set), step i's chunk (its text, after the delimiter
** from the second step on), the closing chunk (finish_reason and the trim
** object) and the usage chunk (empty choices).
*/
char *gw_render_open(const gw_answer_t *a, int *none);
char *gw_render_step(const gw_answer_t *a, size_t i);
char *gw_render_close(const gw_answer_t *a);
char *gw_render_usage(const gw_answer_t *a);

/* The stream's last event. */
#define GW_SSE_DONE "data: [DONE]\n\n"

/*
** OpenAI's error body {"error":{"message","type","param":null,"code"}};
** code NULL is JSON null.  malloc'd, NULL when out of memory.
*/
char *gw_render_error(const char *message, const char *type, const char *code);

/* GET /v1/models: a list with one model per route. */
char *gw_render_models(const gateway_route_t *routes, size_t n,
                       int64_t created);

/* ---- jobs (job.c) -------------------------------------------------------- */

typedef enum {
    JOB_WAITING, /* not yet acknowledged by the coordinator */
    JOB_RUNNING, /* acknowledged: problem_id set */
    JOB_ENDED,   /* result set (finished, failed or cancelled) */
    JOB_REFUSED, /* the coordinator refused it: error, http_status set */
} gw_job_state_t;

/* Where the coordinator thread holds a job. */
enum { JOB_AT_NONE, JOB_AT_LIST, JOB_AT_SENT, JOB_AT_MAP };

typedef struct gw_job gw_job_t;

struct gw_job {
    /* Set by the request thread before submission; read-only after. */
    size_t route; /* index into the gateway's routes */
    char *text;   /* the problem */
    uint64_t seed;
    char key_id[GW_KEY_ID_MAX + 1];
    int stream; /* woken at each step; else only at the end or a refusal */
    int efd;    /* eventfd: written whenever the fields below change; -1 in
                ** an orphan */

    pthread_mutex_t mu; /* guards the fields below */
    gw_job_state_t state;
    int http_status; /* JOB_REFUSED: the status to answer */
    char error[512]; /* JOB_REFUSED, or the end's reason */
    uint64_t run_id, problem_id;
    gw_step_t *steps; /* accepted steps by index, no gaps */
    size_t n_steps, cap_steps;
    gw_result_t result; /* JOB_ENDED */

    /* The coordinator thread's own. */
    int64_t heard_ms; /* last push or ack for it (orphan: made) */
    int orphan;       /* a placeholder for pushes that beat the ack */
    int released;     /* given back: cancel and free at the next stage */
    int where;        /* JOB_AT_*: which of the thread's tables holds it */
    gw_job_t *next;   /* in a route's list of jobs to submit */
};

/* A new job for text (copied), with its eventfd; NULL when out of memory
** or file descriptors. */
gw_job_t *job_new(size_t route, const char *text, uint64_t seed,
                  const char *key_id);

/* A placeholder for pushes about problem_id that beat its Submit's ack:
** no text and no eventfd (nobody waits on it); NULL when out of memory. */
gw_job_t *job_new_orphan(uint64_t problem_id);

/* Free a job, its steps and its eventfd; NULL-safe, clears the pointer. */
void job_destroy(gw_job_t **j);

/* Wake the request thread waiting on j (an orphan: nobody, a no-op). */
void job_wake(gw_job_t *j);

/*
** Append an accepted step, under j's lock: only the next index is taken
** (a repeat, as after a Watch, is ignored).  Returns 1 when taken, 0 when
** ignored, -1 when out of memory.
*/
int job_add_step(gw_job_t *j, const gw_step_t *s);

/* Record the problem's end (strings copied), under j's lock; 0 or -1. */
int job_end(gw_job_t *j, const gw_result_t *r);

/* Mark j refused with the HTTP status and the reason, under its lock. */
void job_refuse(gw_job_t *j, int http_status, const char *why);

/* Move an orphan's steps and end into j (both locked here); frees nothing. */
void job_adopt(gw_job_t *j, gw_job_t *orphan);

#endif
