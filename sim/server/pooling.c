/*
** pooling.c: POST /pooling, the PRM's step scores in vLLM's shape.
**
** The input is either the pre-templated ChatML text ("input", a string or
** a list of strings: one data item each) or chat "messages" (the last user
** message is the problem, the last assistant message the steps each
** followed by "<extra_0>").  Each step gets the pair [1-p, p].  With
** truncate_prompt_tokens the input keeps its first tokens, as vLLM does for
** pooling models (its tokenizer truncates on the right): steps whose
** "<extra_0>" falls after the limit lose their pair, so fewer pairs than
** steps come back, the last steps' missing.
**
** POST /tokenize counts an input's tokens as vLLM's does ({"prompt"} or
** {"messages"} in, {"count", "max_model_len", "tokens"} out), with the same
** count the truncation uses, so a client can fit its input first.  Like
** vLLM's, it adds the generation prompt ("<|im_start|>assistant\n") to
** "messages" unless add_generation_prompt is false.
*/
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prompt.h"
#include "server_internal.h"

/* What /tokenize reports as max_model_len: the simulator has no context
** limit; this is Qwen2.5-Math-PRM-7B's. */
#define SIM_MAX_MODEL_LEN 4096

/* Tokens of ChatML's generation prompt, "<|im_start|>assistant\n". */
#define SIM_GENERATION_PROMPT_TOKENS 3


/*
** How many steps keep their pair when the input is cut to its first limit
** tokens: those whose tag ends within them.
*/
static size_t
kept_steps(sim_server_t *s, const tpl_parsed_t *p, int tokens, int64_t limit,
           float *scratch)
{
    const char *const *steps = (const char *const *)p->steps;
    size_t k = 0;
    int prefix;

    if (limit <= 0 || tokens <= limit)
        return p->n_steps;
    while (k < p->n_steps &&
           sim_score(s->world, p->problem, steps, k + 1, scratch, NULL, &prefix,
                     NULL, NULL, 0) == 0 &&
           prefix <= limit)
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
    size_t kept;

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
    if ((scratch = malloc((p.n_steps + 1) * sizeof *scratch)) == NULL) {
        reply_error(r, 500, "out of memory");
        goto done;
    }
    kept = kept_steps(s, &p, tokens, limit, scratch);
    for (size_t i = 0; i < kept; i++)
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


/* The PRM input of a /tokenize request ("prompt" or "messages") into *p. */
static int
tokenize_input(const json_t *req, tpl_parsed_t *p, reply_t *r)
{
    const json_t *prompt = json_object_get(req, "prompt");
    const json_t *msgs = json_object_get(req, "messages");
    char *user = NULL, *assistant = NULL, err[512];
    int rc = -1;

    if (json_is_string(prompt)) {
        rc = tpl_parse_prm(json_string_value(prompt), NULL, p, err, sizeof err);
    } else if (!json_is_array(msgs)) {
        reply_error(r, 400, "'prompt' (a string) or 'messages' is required");
        return -1;
    } else if (last_role(msgs, "user", &user, r) < 0 ||
               last_role(msgs, "assistant", &assistant, r) < 0) {
        goto done;
    } else if (user == NULL) {
        reply_error(r, 400, "'messages' has no user message with the problem");
        goto done;
    } else {
        rc =
            tpl_parse_prm(user, assistant ? assistant : "", p, err, sizeof err);
    }
    if (rc < 0)
        reply_error(r, 400,
                    "the simulator counts the tokens of PRM inputs only: %s",
                    err);
done:
    free(user);
    free(assistant);
    return rc;
}


void
handle_tokenize(sim_server_t *s, const json_t *req, reply_t *r)
{
    tpl_parsed_t p = {0};
    float *scores = NULL;
    char err[512];
    int tokens, add_gen;
    json_t *ids = NULL;

    if (req_check_model(s, req, r) < 0 ||
        req_bool(req, "add_generation_prompt", 1, &add_gen, r) < 0 ||
        tokenize_input(req, &p, r) < 0)
        return;
    if ((scores = malloc((p.n_steps + 1) * sizeof *scores)) == NULL ||
        (ids = json_array()) == NULL) {
        reply_error(r, 500, "out of memory");
        goto done;
    }
    /* The count the pooling endpoint truncates by. */
    if (sim_score(s->world, p.problem, (const char *const *)p.steps, p.n_steps,
                  scores, NULL, &tokens, NULL, err, sizeof err) < 0) {
        reply_error(r, 400, "the input is not a simulated problem: %s", err);
        goto done;
    }
    if (add_gen && json_object_get(req, "messages") != NULL)
        tokens += SIM_GENERATION_PROMPT_TOKENS;
    for (int i = 0; i < tokens; i++) /* ids the simulator does not have */
        if (json_array_append_new(ids, json_integer(i)) < 0) {
            reply_error(r, 500, "out of memory");
            goto done;
        }
    reply_json(r, 200,
               json_pack("{s:i, s:i, s:O}", "count", tokens, "max_model_len",
                         SIM_MAX_MODEL_LEN, "tokens", ids));
done:
    json_decref(ids);
    free(scores);
    tpl_parsed_clear(&p);
}
