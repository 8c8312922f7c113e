/*
** pooling.c: POST /pooling, the PRM's step scores in vLLM's shape.
**
** The input is either the pre-templated ChatML text ("input", a string or
** a list of strings: one data item each) or chat "messages" (the last user
** message is the problem, the last assistant message the steps each
** followed by "<extra_0>").  Each step gets the pair [1-p, p].  With
** truncate_prompt_tokens the input is cut from the left like vLLM does:
** steps whose "<extra_0>" falls in the cut part lose their pair, so fewer
** pairs than steps come back.
*/
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prompt.h"
#include "server_internal.h"


/*
** How many leading steps lose their pair when the input of tokens tokens is
** cut to limit: those whose tag ends within the first tokens - limit.
*/
static size_t
truncated_steps(sim_server_t *s, const tpl_parsed_t *p, int tokens,
                int64_t limit, float *scratch)
{
    const char *const *steps = (const char *const *)p->steps;
    size_t k = 0;
    int prefix;

    if (limit <= 0 || tokens <= limit)
        return 0;
    while (k < p->n_steps &&
           sim_score(s->world, p->problem, steps, k + 1, scratch, NULL, &prefix,
                     NULL, NULL, 0) == 0 &&
           prefix <= tokens - limit)
        k++;
    return k;
}


/*
** Score one input (text, or user + assistant) into a data item.  Returns
** the item, or NULL with r filled.
*/
static json_t *
score_one(sim_server_t *s, const char *text, const char *user,
          const char *assistant, size_t index, int64_t limit,
          int64_t *prompt_tokens, reply_t *r)
{
    tpl_parsed_t p;
    char err[512];
    float *scores = NULL, *scratch = NULL;
    int tokens;
    int64_t latency;
    json_t *pairs = NULL, *item = NULL;
    size_t cut;

    if ((text ? tpl_parse_prm(text, NULL, &p, err, sizeof err)
              : tpl_parse_prm(user, assistant, &p, err, sizeof err)) < 0) {
        reply_error(r, 400, "input %zu is not a PRM input: %s", index, err);
        return NULL;
    }
    if ((scores = malloc((p.n_steps + 1) * sizeof *scores)) == NULL ||
        (pairs = json_array()) == NULL) {
        reply_error(r, 500, "out of memory");
        goto done;
    }
    if (sim_score(s->world, p.problem, (const char *const *)p.steps, p.n_steps,
                  scores, NULL, &tokens, &latency, err, sizeof err) < 0) {
        reply_error(r, 400, "input %zu is not a simulated problem: %s", index,
                    err);
        goto done;
    }
    if (latency > r->delay_us)
        r->delay_us = latency;
    scratch = malloc((p.n_steps + 1) * sizeof *scratch);
    cut = scratch ? truncated_steps(s, &p, tokens, limit, scratch) : 0;
    for (size_t i = cut; i < p.n_steps; i++)
        if (json_array_append_new(pairs,
                                  json_pack("[f, f]", 1.0 - (double)scores[i],
                                            (double)scores[i])) < 0) {
            reply_error(r, 500, "out of memory");
            goto done;
        }
    *prompt_tokens += limit > 0 && tokens > limit ? limit : tokens;
    item = json_pack("{s:I, s:s, s:O}", "index", (json_int_t)index, "object",
                     "pooling", "data", pairs);
    if (item == NULL)
        reply_error(r, 500, "out of memory");
done:
    json_decref(pairs);
    free(scratch);
    free(scores);
    tpl_parsed_clear(&p);
    return item;
}


/* The last message with a role; its text in *out (malloc'd, or NULL). */
static int
last_role(const json_t *msgs, const char *role, char **out, reply_t *r)
{
    size_t n = json_array_size(msgs);

    *out = NULL;
    for (size_t i = n; i-- > 0;) {
        const json_t *m = json_array_get(msgs, i);
        const json_t *ro = json_object_get(m, "role");
        if (!json_is_string(ro)) {
            reply_error(r, 400, "messages[%zu] needs a string 'role'", i);
            return -1;
        }
        if (strcmp(json_string_value(ro), role) == 0)
            return req_message_text(m, i, out, r);
    }
    return 0;
}


/* The data items of every input into data; 0, or -1 with r filled. */
static int
score_inputs(sim_server_t *s, const json_t *req, int64_t limit, json_t *data,
             int64_t *ptok, reply_t *r)
{
    const json_t *input = json_object_get(req, "input");
    const json_t *msgs = json_object_get(req, "messages");
    json_t *item = NULL, *x;
    size_t i;

    if (json_is_array(msgs) && json_array_size(msgs) > 0 && input == NULL) {
        char *user = NULL, *assistant = NULL;
        if (last_role(msgs, "user", &user, r) == 0 &&
            last_role(msgs, "assistant", &assistant, r) == 0) {
            if (user == NULL)
                reply_error(r, 400,
                            "'messages' has no user message with the problem");
            else
                item = score_one(s, NULL, user, assistant ? assistant : "", 0,
                                 limit, ptok, r);
        }
        free(user);
        free(assistant);
        return item && json_array_append_new(data, item) == 0 ? 0 : -1;
    }
    if (json_is_string(input))
        return (item = score_one(s, json_string_value(input), NULL, NULL, 0,
                                 limit, ptok, r)) &&
                       json_array_append_new(data, item) == 0
                   ? 0
                   : -1;
    if (!json_is_array(input) || json_array_size(input) == 0) {
        reply_error(r, 400,
                    "'input' (a string or a non-empty list of strings) or "
                    "'messages' is required");
        return -1;
    }
    json_array_foreach(input, i, x)
    {
        if (!json_is_string(x)) {
            reply_error(r, 400,
                        "'input' must be a string or a list of strings "
                        "(token ids are not supported by the simulator)");
            return -1;
        }
        if ((item = score_one(s, json_string_value(x), NULL, NULL, i, limit,
                              ptok, r)) == NULL ||
            json_array_append_new(data, item) < 0)
            return -1;
    }
    return 0;
}


void
handle_pooling(sim_server_t *s, const json_t *req, reply_t *r)
{
    const json_t *task = json_object_get(req, "task");
    int64_t limit, ptok = 0;
    json_t *data;

    if (req_check_model(s, req, r) < 0)
        return;
    if (s->model != SIM_SERVER_PRM) {
        reply_error(r, 400, "The model does not support Pooling API");
        return;
    }
    if (task != NULL && !json_is_null(task) &&
        (!json_is_string(task) ||
         strcmp(json_string_value(task), "token_classify") != 0)) {
        reply_error(r, 400,
                    "Task %s is not supported by this model (supported: "
                    "token_classify)",
                    json_is_string(task) ? json_string_value(task) : "?");
        return;
    }
    if (req_int(req, "truncate_prompt_tokens", 0, -1, INT32_MAX, &limit, r) < 0)
        return;
    if ((data = json_array()) == NULL) {
        reply_error(r, 500, "out of memory");
        return;
    }
    if (score_inputs(s, req, limit, data, &ptok, r) < 0) {
        json_decref(data);
        return;
    }
    reply_json(r, 200,
               json_pack("{s:o, s:s, s:I, s:s, s:o, s:{s:I, s:I, s:i}}", "id",
                         req_new_id(s, "pool"), "object", "list", "created",
                         (json_int_t)time(NULL), "model", s->served_name,
                         "data", data, "usage", "prompt_tokens",
                         (json_int_t)ptok, "total_tokens", (json_int_t)ptok,
                         "completion_tokens", 0));
}
