/*
** render.c: answers, stream events and errors in OpenAI's shapes (see
** gateway_testing.h; docs/gateway.md shows each).
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"
#include "trim.pb-c.h"

/* "stop" when the solution ended or gave its answer, else "length" (it
** reached the step limit or a model's token limit). */
static const char *
finish_reason(const gw_result_t *r)
{
    if (r->finish == TRIM__FINISH__FINISH_LENGTH)
        return "length";
    if (r->finish == TRIM__FINISH__FINISH_END ||
        (r->final_answer && r->final_answer[0]))
        return "stop";
    return "length";
}


/* Tokens of the accepted steps: drafts kept (weak_tokens counts only
** those; discarded drafts are discarded_tokens) plus strong steps. */
static uint64_t
completion_tokens(const gw_result_t *r)
{
    return r->weak_tokens + r->strong_tokens;
}


static json_t *
usage(const gw_result_t *r)
{
    uint64_t out = completion_tokens(r);

    return json_pack("{s:I, s:I, s:I}", "prompt_tokens",
                     (json_int_t)r->prompt_tokens, "completion_tokens",
                     (json_int_t)out, "total_tokens",
                     (json_int_t)(r->prompt_tokens + out));
}


static json_t *
trace(const gw_answer_t *a)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < a->n_steps; i++) {
        const gw_step_t *s = &a->steps[i];
        json_array_append_new(
            list, json_pack("{s:I, s:o, s:b, s:b, s:s, s:s, s:I}", "index",
                            (json_int_t)s->index, "score",
                            s->score < 0 ? json_null() : json_real(s->score),
                            "strong", s->strong, "routed", s->routed,
                            "decided_by", s->decided_by ? s->decided_by : "",
                            "reason", s->reason ? s->reason : "", "tokens",
                            (json_int_t)s->tokens));
    }
    return list;
}


/* The problem's dollars under p (cost/prices.h; docs/roi.md). */
static json_t *
usd_object(const gw_result_t *r, const prices_t *p)
{
    cost_usage_t u = COST_USAGE_REPORTED(r);
    cost_usd_t d;

    prices_cost(p, &u, &d);
    return json_pack("{s:f, s:f, s:f, s:f, s:f}", "total", d.total, "weak",
                     d.role[COST_WEAK], "strong", d.role[COST_STRONG], "prm",
                     d.role[COST_PRM], "wasted", d.wasted);
}


/* The trim object: what routing did for this problem. */
static json_t *
trim_object(const gw_answer_t *a)
{
    const gw_result_t *r = a->result;
    json_t *o = json_pack(
        "{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o}",
        "run_id", (json_int_t)a->run_id, "problem_id",
        (json_int_t)a->problem_id, "route", a->route->name, "policy",
        a->route->policy, "steps", (json_int_t)r->steps, "regenerated_steps",
        (json_int_t)r->regenerated, "weak_tokens", (json_int_t)r->weak_tokens,
        "strong_tokens", (json_int_t)r->strong_tokens, "discarded_tokens",
        (json_int_t)r->discarded_tokens, "prm_tokens",
        (json_int_t)r->prm_tokens, "final_answer",
        r->final_answer ? r->final_answer : "", "correct",
        r->correct < 0 ? json_null() : json_boolean(r->correct));

    if (o && a->req->trace)
        json_object_set_new(o, "trace", trace(a));
    if (o && a->route->prices)
        json_object_set_new(o, "usd", usd_object(r, a->route->prices));
    return o;
}


/* The accepted steps joined by the step delimiter. */
static char *
joined_steps(const gw_answer_t *a)
{
    size_t len = 1;
    char *s, *p;

    for (size_t i = 0; i < a->n_steps; i++)
        len += strlen(a->steps[i].text) + 2;
    if ((p = s = malloc(len)) == NULL)
        return NULL;
    for (size_t i = 0; i < a->n_steps; i++) {
        size_t n = strlen(a->steps[i].text);
        if (i > 0) {
            memcpy(p, STEP_DELIMITER, 2);
            p += 2;
        }
        memcpy(p, a->steps[i].text, n);
        p += n;
    }
    *p = '\0';
    return s;
}


/* The fields every answer and chunk starts with. */
static json_t *
head(const gw_answer_t *a, const char *object)
{
    return json_pack("{s:s, s:s, s:I, s:s}", "id", a->id, "object", object,
                     "created", (json_int_t)a->created, "model", a->req->model);
}


static char *
dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return s;
}


char *
gw_render_answer(const gw_answer_t *a)
{
    char *text = joined_steps(a);
    json_t *o = head(a, a->req->chat ? "chat.completion" : "text_completion");
    json_t *choice;

    if (text == NULL || o == NULL) {
        free(text);
        json_decref(o);
        return NULL;
    }
    if (a->req->chat)
        choice = json_pack("{s:i, s:{s:s, s:s, s:n}, s:n, s:s}", "index", 0,
                           "message", "role", "assistant", "content", text,
                           "refusal", "logprobs", "finish_reason",
                           finish_reason(a->result));
    else
        choice =
            json_pack("{s:i, s:s, s:n, s:s}", "index", 0, "text", text,
                      "logprobs", "finish_reason", finish_reason(a->result));
    free(text);
    json_object_set_new(o, "choices", json_pack("[o]", choice));
    json_object_set_new(o, "usage", usage(a->result));
    json_object_set_new(o, "trim", trim_object(a));
    return dump(o);
}


/* "data: JSON\n\n" of a chunk, which it consumes. */
static char *
event(json_t *chunk)
{
    char *json = dump(chunk), *ev = NULL;

    if (json != NULL) {
        size_t n = strlen(json);
        if ((ev = malloc(n + 9)) != NULL) {
            memcpy(ev, "data: ", 6);
            memcpy(ev + 6, json, n);
            memcpy(ev + 6 + n, "\n\n", 3);
        }
    }
    free(json);
    return ev;
}


/*
** A chunk with one choice: delta (chat) or text (completions), and a
** finish reason or null.  With include_usage every chunk but the last
** carries "usage": null, as OpenAI's do.
*/
static json_t *
chunk(const gw_answer_t *a, json_t *delta, const char *text, const char *finish)
{
    json_t *c =
        head(a, a->req->chat ? "chat.completion.chunk" : "text_completion");
    json_t *choice;

    if (a->req->chat)
        choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta,
                           "logprobs", "finish_reason",
                           finish ? json_string(finish) : json_null());
    else
        choice = json_pack("{s:i, s:s, s:n, s:o}", "index", 0, "text", text,
                           "logprobs", "finish_reason",
                           finish ? json_string(finish) : json_null());
    if (c == NULL || choice == NULL) {
        json_decref(c);
        json_decref(choice);
        return NULL;
    }
    json_object_set_new(c, "choices", json_pack("[o]", choice));
    if (a->req->include_usage)
        json_object_set_new(c, "usage", json_null());
    return c;
}


char *
gw_render_open(const gw_answer_t *a, int *none)
{
    *none = !a->req->chat;
    if (*none)
        return NULL;
    return event(
        chunk(a, json_pack("{s:s, s:s}", "role", "assistant", "content", ""),
              NULL, NULL));
}


char *
gw_render_step(const gw_answer_t *a, size_t i)
{
    const char *t = a->steps[i].text;
    size_t n = strlen(t);
    char *text = malloc(n + 3), *ev;

    if (text == NULL)
        return NULL;
    /* Every step after the first starts with the delimiter, so the
    ** concatenated deltas are exactly the non-streamed content. */
    snprintf(text, n + 3, "%s%s", i > 0 ? STEP_DELIMITER : "", t);
    ev = event(chunk(a,
                     a->req->chat ? json_pack("{s:s}", "content", text) : NULL,
                     text, NULL));
    free(text);
    return ev;
}


char *
gw_render_close(const gw_answer_t *a)
{
    json_t *c = chunk(a, a->req->chat ? json_object() : NULL, "",
                      finish_reason(a->result));

    if (c != NULL)
        json_object_set_new(c, "trim", trim_object(a));
    return event(c);
}


char *
gw_render_usage(const gw_answer_t *a)
{
    json_t *c =
        head(a, a->req->chat ? "chat.completion.chunk" : "text_completion");

    if (c != NULL) {
        json_object_set_new(c, "choices", json_array());
        json_object_set_new(c, "usage", usage(a->result));
    }
    return event(c);
}


char *
gw_render_error(const char *message, const char *type, const char *code)
{
    return dump(json_pack("{s:{s:s, s:s, s:n, s:o}}", "error", "message",
                          message, "type", type, "param", "code",
                          code ? json_string(code) : json_null()));
}


char *
gw_render_models(const gateway_route_t *routes, size_t n, int64_t created)
{
    json_t *data = json_array();

    for (size_t i = 0; data && i < n; i++)
        json_array_append_new(data, json_pack("{s:s, s:s, s:I, s:s}", "id",
                                              routes[i].name, "object", "model",
                                              "created", (json_int_t)created,
                                              "owned_by", "trim"));
    return dump(json_pack("{s:s, s:o}", "object", "list", "data", data));
}
