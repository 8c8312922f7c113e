/*
** gateway_testing.h: the gateway's request parsing and response rendering,
** for the unit tests (test_gateway_json) and the gateway's own files.
**
** Both are pure: JSON in, a struct out; a struct in, JSON text out.  The
** OpenAI shapes they follow are in docs/gateway.md.
*/
#ifndef TRIM_GATEWAY_TESTING_H
#define TRIM_GATEWAY_TESTING_H

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

#endif
