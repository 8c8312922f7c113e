/*
** backend_openai.c: the completions and chat-completions formats (see
** backend_openai.h).
**
** How a response ends the step (the step loop needs STEP: more steps
** follow, END: the solution is complete, LENGTH: cut short).  Each server
** says it its own way; docs/servers.md lists what each one sends, with the
** source files read:
**
**   finish_reason      which stop                        result
**   "length"                                             LENGTH
**   "repetition"       (vLLM: a repeating pattern cut)   LENGTH
**   "stop_sequence"    (TGI: a stop string)              STEP
**   "eos_token"        (TGI: end of sequence)            END
**   "stop"             stop_reason (vLLM) or matched_stop (SGLang):
**                        "\n\n", our delimiter          STEP
**                        another string                  error
**                        an integer (a stop token id:    END
**                        we send none, so the model's
**                        end of sequence) or null
**                      __verbose.stop_type (llama.cpp
**                      run with --verbose): "word"       STEP
**                        "eos"                           END
**                      none of these (llama.cpp, Ollama, TGI's EOS):
**                        text ended with "\n\n"         STEP
**                        empty text                      END
**                        other text                      STEP: the server
**                                      does not say.  The coordinator
**                                      ends a solution at a step with
**                                      "\boxed{"; otherwise the next call
**                                      usually comes back empty (END),
**                                      and --max-steps bounds the rest
**   "abort", "error",                                    error: retried
**   anything else                                        with backoff
**
** Every error is an unusable answer, retried by the engine.  A trailing
** "\n\n" in the text (servers that include the stop string) is removed.
*/
#include "errf.h"
#include "backend_openai.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "http_backend.h"
#include "prompt.h"

#define DELIMITER          "\n\n"
#define DEFAULT_MAX_TOKENS 2048 /* when neither the request nor a cap says */


static tpl_t
template_of(const http_backend_opts_t *o)
{
    tpl_t t = {o->template_kind, o->system_prompt, o->instruction};
    return t;
}


/* max_tokens, temperature, top_p, seed, top_k: shared by both formats. */
static int
add_sampling(json_t *j, const http_backend_opts_t *o,
             const backend_request_t *req)
{
    int max_tokens = req->max_tokens > 0 ? req->max_tokens : DEFAULT_MAX_TOKENS;

    if (o->max_tokens > 0 && max_tokens > o->max_tokens)
        max_tokens = o->max_tokens;
    if (http_set(j, "max_tokens", json_integer(max_tokens)) < 0 ||
        http_set(j, "temperature", http_real(req->temperature)) < 0 ||
        http_set(j, "seed", json_integer((json_int_t)req->seed)) < 0)
        return -1;
    /* top_p 0 is invalid for vLLM (range (0, 1]): unset means its default */
    if (req->top_p > 0 && http_set(j, "top_p", http_real(req->top_p)) < 0)
        return -1;
    if (o->top_k != 0 && http_set(j, "top_k", json_integer(o->top_k)) < 0)
        return -1;
    return 0;
}


static json_t *
build_completion(const http_backend_opts_t *o, const backend_request_t *req,
                 size_t *input_bytes)
{
    tpl_t t = template_of(o);
    char *prompt = tpl_prompt(&t, req->problem, req->steps, req->n_steps);
    json_t *j = NULL;

    if (prompt == NULL)
        return NULL;
    *input_bytes = strlen(prompt);
    j = json_pack("{s:s*, s:s, s:[s]}", "model", http_model(o), "prompt",
                  prompt, "stop", DELIMITER);
    free(prompt);
    if (j != NULL && add_sampling(j, o, req) < 0) {
        json_decref(j);
        j = NULL;
    }
    return j;
}


static json_t *
build_chat(const http_backend_opts_t *o, const backend_request_t *req,
           size_t *input_bytes)
{
    tpl_t t = template_of(o);
    char *user = tpl_user(&t, req->problem);
    char *assistant = tpl_assistant(req->steps, req->n_steps);
    const char *sys =
        o->system_prompt && *o->system_prompt ? o->system_prompt : NULL;
    json_t *messages = json_array(), *j = NULL;
    int bad = user == NULL || assistant == NULL || messages == NULL;

    if (!bad && sys != NULL)
        bad = json_array_append_new(messages,
                                    json_pack("{s:s, s:s}", "role", "system",
                                              "content", sys)) < 0;
    if (!bad)
        bad = json_array_append_new(messages,
                                    json_pack("{s:s, s:s}", "role", "user",
                                              "content", user)) < 0 ||
              json_array_append_new(messages,
                                    json_pack("{s:s, s:s}", "role", "assistant",
                                              "content", assistant)) < 0;
    if (!bad) {
        *input_bytes =
            strlen(user) + strlen(assistant) + (sys ? strlen(sys) : 0);
        /* continue_final_message needs add_generation_prompt off (vLLM
        ** answers 400 when both are true, and the latter defaults to true) */
        j = json_pack("{s:s*, s:O, s:[s], s:b, s:b}", "model", http_model(o),
                      "messages", messages, "stop", DELIMITER,
                      "add_generation_prompt", 0, "continue_final_message", 1);
        if (j != NULL && add_sampling(j, o, req) < 0) {
            json_decref(j);
            j = NULL;
        }
    }
    json_decref(messages);
    free(user);
    free(assistant);
    return j;
}


/* A stop field naming what stopped the step: vLLM's stop_reason, SGLang's
** matched_stop (see the table at the top). */
static int
finish_of_match(json_t *match, Trim__Finish *out, char *err, size_t errlen)
{
    if (json_is_string(match)) {
        if (strcmp(json_string_value(match), DELIMITER) != 0)
            return errf(err, errlen,
                        "stopped at \"%.40s\", not at the step delimiter",
                        json_string_value(match));
        *out = TRIM__FINISH__FINISH_STEP;
        return 0;
    }
    if (json_is_integer(match) || json_is_null(match)) {
        *out = TRIM__FINISH__FINISH_END;
        return 0;
    }
    return errf(err, errlen, "unreadable stop_reason/matched_stop");
}


/* How choice c0, whose text (delimiter removed) is len bytes, ended. */
static int
finish_of(json_t *root, json_t *c0, size_t len, int had_delimiter,
          Trim__Finish *out, char *err, size_t errlen)
{
    const char *why = json_string_value(json_object_get(c0, "finish_reason"));
    json_t *match = json_object_get(c0, "stop_reason");
    const char *stop_type = json_string_value(
        json_object_get(json_object_get(root, "__verbose"), "stop_type"));

    if (why == NULL)
        return errf(err, errlen, "no choices[0].finish_reason in the response");
    if (strcmp(why, "length") == 0 || strcmp(why, "repetition") == 0) {
        *out = TRIM__FINISH__FINISH_LENGTH;
        return 0;
    }
    if (strcmp(why, "stop_sequence") == 0) {
        *out = TRIM__FINISH__FINISH_STEP;
        return 0;
    }
    if (strcmp(why, "eos_token") == 0) {
        *out = TRIM__FINISH__FINISH_END;
        return 0;
    }
    if (strcmp(why, "stop") != 0)
        return errf(err, errlen,
                    "the server ended the call with "
                    "finish_reason \"%.40s\"",
                    why);
    if (match == NULL)
        match = json_object_get(c0, "matched_stop");
    if (match != NULL)
        return finish_of_match(match, out, err, errlen);
    if (stop_type != NULL && strcmp(stop_type, "eos") == 0)
        *out = TRIM__FINISH__FINISH_END;
    else if (stop_type != NULL && strcmp(stop_type, "word") == 0)
        *out = TRIM__FINISH__FINISH_STEP;
    else
        *out = had_delimiter || len > 0 ? TRIM__FINISH__FINISH_STEP
                                        : TRIM__FINISH__FINISH_END;
    return 0;
}


/* The step text of choices[0] (text, or message.content for chat). */
static int
parse_choice(const http_job_t *job, json_t *root, int chat, backend_result_t *r,
             char *err, size_t errlen)
{
    json_t *c0 = json_array_get(json_object_get(root, "choices"), 0);
    json_t *tv =
        chat ? json_object_get(json_object_get(c0, "message"), "content")
             : json_object_get(c0, "text");
    const char *s;
    size_t len;
    int had_delimiter = 0;

    if (!json_is_string(tv))
        return errf(err, errlen, "no choices[0].%s in the response",
                    chat ? "message.content" : "text");
    s = json_string_value(tv);
    len = json_string_length(tv);
    if (len >= 2 && memcmp(s + len - 2, DELIMITER, 2) == 0) {
        len -= 2;
        had_delimiter = 1;
    }
    if (len > TRIM_MAX_TEXT) /* the wire's limit per text field */
        return errf(err, errlen,
                    "the step is %zu bytes long, over the limit of %d", len,
                    TRIM_MAX_TEXT);
    if (finish_of(root, c0, len, had_delimiter, &r->finish, err, errlen) < 0)
        return -1;
    if ((r->text = malloc(len + 1)) == NULL)
        return errf(err, errlen, "out of memory");
    memcpy(r->text, s, len);
    r->text[len] = '\0';
    r->prompt_tokens =
        http_usage_tokens(root, "prompt_tokens", job->input_bytes);
    r->completion_tokens = http_usage_tokens(root, "completion_tokens", len);
    /* What the server's prefix cache held of the prompt: vLLM says so with
    ** --enable-prompt-tokens-details, as OpenAI does. */
    json_t *cached =
        json_object_get(json_object_get(json_object_get(root, "usage"),
                                        "prompt_tokens_details"),
                        "cached_tokens");
    if (json_is_integer(cached) && json_integer_value(cached) >= 0 &&
        json_integer_value(cached) <= r->prompt_tokens) {
        r->cached_tokens = (int)json_integer_value(cached);
        r->cached_reported = 1;
    }
    return 0;
}


static int
parse_completion(const http_backend_opts_t *o, const http_job_t *job,
                 json_t *root, backend_result_t *r, char *err, size_t errlen)
{
    (void)o;
    return parse_choice(job, root, 0, r, err, errlen);
}


static int
parse_chat(const http_backend_opts_t *o, const http_job_t *job, json_t *root,
           backend_result_t *r, char *err, size_t errlen)
{
    (void)o;
    return parse_choice(job, root, 1, r, err, errlen);
}


const http_format_t completion_format = {"openai", "/v1/completions",
                                         BACKEND_GENERATE, build_completion,
                                         parse_completion};

const http_format_t chat_format = {"openai-chat", "/v1/chat/completions",
                                   BACKEND_GENERATE, build_chat, parse_chat};


backend_t *
backend_openai_new(const http_backend_opts_t *opts, uint32_t credit, char *err,
                   size_t errlen)
{
    return http_backend_new(&completion_format, opts, credit, err, errlen);
}


backend_t *
backend_openai_chat_new(const http_backend_opts_t *opts, uint32_t credit,
                        char *err, size_t errlen)
{
    return http_backend_new(&chat_format, opts, credit, err, errlen);
}
