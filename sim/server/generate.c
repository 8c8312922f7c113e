/*
** generate.c: POST /v1/completions and POST /v1/chat/completions.
**
** Each prompt is read back into a problem and its accepted steps with the
** worker's templates, and the simulated model writes the next step with the
** request's seed (0 when absent), exactly as the in-process simulator would.
** The finish follows vLLM's table: a step end is "stop" with stop_reason
** "\n\n" (the step delimiter, whatever stop list was sent), the end of the
** solution is "stop" with stop_reason null (EOS), a max_tokens cut is
** "length" with null.
*/
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prompt.h"
#include "server_internal.h"

/* vLLM's default max_tokens for /v1/completions. */
#define COMPLETIONS_MAX_TOKENS 16


/* The simulated model of this server. */
static sim_model_t
sim_model(const sim_server_t *s)
{
    return s->model == SIM_SERVER_STRONG ? SIM_STRONG : SIM_WEAK;
}


/*
** Parse a rendered prompt (what NULL: chat user+assistant) and generate.
** Returns 0 with *out filled, or -1 with a 400 in r.
*/
static int
generate(sim_server_t *s, const char *prompt, const char *user,
         const char *assistant, int max_tokens, uint64_t seed,
         const char *where, sim_step_t *out, reply_t *r)
{
    tpl_parsed_t p;
    char err[512];
    int rc;

    rc = prompt ? tpl_parse_prompt(prompt, &p, err, sizeof err)
                : tpl_parse_chat(user, assistant, &p, err, sizeof err);
    if (rc < 0) {
        reply_error(r, 400, "%s is not a simulated step prompt: %s", where,
                    err);
        return -1;
    }
    rc = sim_generate(s->world, sim_model(s), p.problem,
                      (const char *const *)p.steps, p.n_steps, max_tokens, seed,
                      out, err, sizeof err);
    tpl_parsed_clear(&p);
    if (rc < 0) {
        char hint[600];
        reply_error(r, 400, "%s: %s", where,
                    sim_refusal(err, hint, sizeof hint));
        return -1;
    }
    return 0;
}


/* finish_reason and stop_reason of a step, per vLLM. */
static int
put_finish(json_t *choice, sim_finish_t f)
{
    return json_object_set_new(
               choice, "finish_reason",
               json_string(f == SIM_FINISH_LENGTH ? "length" : "stop")) |
           json_object_set_new(choice, "stop_reason",
                               f == SIM_FINISH_STEP ? json_string("\n\n")
                                                    : json_null());
}


/* The response envelope shared by both endpoints; NULL on OOM. */
static json_t *
envelope(sim_server_t *s, const char *id_prefix, const char *object,
         json_t *choices, int64_t prompt_tokens, int64_t completion_tokens)
{
    return json_pack("{s:o, s:s, s:I, s:s, s:o, s:{s:I, s:I, s:I}}", "id",
                     req_new_id(s, id_prefix), "object", object, "created",
                     (json_int_t)time(NULL), "model", s->served_name, "choices",
                     choices, "usage", "prompt_tokens",
                     (json_int_t)prompt_tokens, "completion_tokens",
                     (json_int_t)completion_tokens, "total_tokens",
                     (json_int_t)(prompt_tokens + completion_tokens));
}


/* Checks both endpoints share; 0, or -1 with r filled. */
static int
check_common(sim_server_t *s, const json_t *req, const char *api, reply_t *r)
{
    if (req_check_model(s, req, r) < 0)
        return -1;
    if (s->model == SIM_SERVER_PRM) {
        reply_error(r, 400, "The model does not support %s API", api);
        return -1;
    }
    return req_check_sampling(req, r);
}


void
handle_completions(sim_server_t *s, const json_t *req, reply_t *r)
{
    const json_t *prompt = json_object_get(req, "prompt");
    json_t *choices = NULL, *p;
    int64_t max_tokens, seed, ptok = 0, ctok = 0;
    size_t n, i;

    if (check_common(s, req, "Completions", r) < 0 ||
        req_int(req, "max_tokens", COMPLETIONS_MAX_TOKENS, 1, INT32_MAX,
                &max_tokens, r) < 0 ||
        req_int(req, "seed", 0, INT64_MIN, INT64_MAX, &seed, r) < 0)
        return;
    if (json_is_string(prompt)) {
        n = 1;
    } else if (json_is_array(prompt) && json_array_size(prompt) > 0) {
        n = json_array_size(prompt);
        json_array_foreach(prompt, i, p)
        {
            if (!json_is_string(p)) {
                reply_error(r, 400,
                            "'prompt' must be a string or a list of strings "
                            "(token-id prompts are not supported by the "
                            "simulator)");
                return;
            }
        }
    } else {
        reply_error(r, 400,
                    "'prompt' is required: a string or a non-empty list of "
                    "strings");
        return;
    }
    if ((choices = json_array()) == NULL) {
        reply_error(r, 500, "out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        const json_t *pi =
            json_is_string(prompt) ? prompt : json_array_get(prompt, i);
        char where[32];
        sim_step_t st = {0};
        json_t *c;

        snprintf(where, sizeof where, n == 1 ? "the prompt" : "prompt %zu", i);
        if (generate(s, json_string_value(pi), NULL, NULL, (int)max_tokens,
                     (uint64_t)seed, where, &st, r) < 0)
            goto fail;
        c = json_pack("{s:I, s:s, s:n}", "index", (json_int_t)i, "text",
                      st.text, "logprobs");
        ptok += st.prompt_tokens;
        ctok += st.completion_tokens;
        if (st.latency_us > r->delay_us)
            r->delay_us = st.latency_us;
        if (c == NULL || put_finish(c, st.finish) < 0 ||
            json_array_append_new(choices, c) < 0) {
            sim_step_clear(&st);
            reply_error(r, 500, "out of memory");
            goto fail;
        }
        sim_step_clear(&st);
    }
    reply_json(r, 200,
               envelope(s, "cmpl", "text_completion", choices, ptok, ctok));
    return;
fail:
    json_decref(choices);
}


/*
** The user's text (the last user message) and the assistant's open turn
** (the last message when continuing; a fresh "Solution:\n\n" otherwise).
*/
static int
chat_texts(const json_t *req, int cont, char **user, char **assistant,
           reply_t *r)
{
    const json_t *msgs = json_object_get(req, "messages"), *m;
    size_t n, i, u = (size_t)-1;

    *user = *assistant = NULL;
    if (!json_is_array(msgs) || (n = json_array_size(msgs)) == 0) {
        reply_error(r, 400, "'messages' must be a non-empty list");
        return -1;
    }
    json_array_foreach(msgs, i, m)
    {
        const json_t *role = json_object_get(m, "role");
        if (!json_is_object(m) || !json_is_string(role)) {
            reply_error(r, 400, "messages[%zu] needs a string 'role'", i);
            return -1;
        }
        if (strcmp(json_string_value(role), "user") == 0)
            u = i;
    }
    if (u == (size_t)-1) {
        reply_error(r, 400, "'messages' has no user message with the problem");
        return -1;
    }
    m = json_array_get(msgs, n - 1);
    if (cont && strcmp(json_string_value(json_object_get(m, "role")),
                       "assistant") != 0) {
        reply_error(r, 400,
                    "continue_final_message needs the last message to be "
                    "the assistant's");
        return -1;
    }
    if (req_message_text(json_array_get(msgs, u), u, user, r) < 0)
        return -1;
    if (cont ? req_message_text(m, n - 1, assistant, r) < 0
             : (*assistant = strdup("Solution:\n\n")) == NULL) {
        if (*assistant == NULL && r->body == NULL)
            reply_error(r, 500, "out of memory");
        free(*user);
        *user = NULL;
        return -1;
    }
    return 0;
}


void
handle_chat(sim_server_t *s, const json_t *req, reply_t *r)
{
    int64_t max_tokens, seed;
    int add_gen, cont;
    char *user = NULL, *assistant = NULL;
    sim_step_t st = {0};
    json_t *choice;

    if (check_common(s, req, "Chat Completions", r) < 0 ||
        req_bool(req, "add_generation_prompt", 1, &add_gen, r) < 0 ||
        req_bool(req, "continue_final_message", 0, &cont, r) < 0)
        return;
    if (add_gen && cont) {
        reply_error(r, 400,
                    "Cannot set both `continue_final_message` and "
                    "`add_generation_prompt` to True.");
        return;
    }
    if (req_int(req, "max_tokens", 0, 1, INT32_MAX, &max_tokens, r) < 0 ||
        req_int(req, "max_completion_tokens", max_tokens, 1, INT32_MAX,
                &max_tokens, r) < 0 ||
        req_int(req, "seed", 0, INT64_MIN, INT64_MAX, &seed, r) < 0 ||
        chat_texts(req, cont, &user, &assistant, r) < 0)
        return;
    if (generate(s, NULL, user, assistant, (int)max_tokens, (uint64_t)seed,
                 "the conversation", &st, r) < 0)
        goto done;
    r->delay_us = st.latency_us;
    choice = json_pack("{s:i, s:{s:s, s:s}, s:n}", "index", 0, "message",
                       "role", "assistant", "content", st.text, "logprobs");
    if (choice == NULL || put_finish(choice, st.finish) < 0) {
        json_decref(choice);
        reply_error(r, 500, "out of memory");
        goto done;
    }
    reply_json(r, 200,
               envelope(s, "chatcmpl", "chat.completion",
                        json_pack("[o]", choice), st.prompt_tokens,
                        st.completion_tokens));
done:
    sim_step_clear(&st);
    free(user);
    free(assistant);
}
