/*
** request.c: an OpenAI completions request into the problem it asks for
** (see gateway_testing.h).
**
** Fields OpenAI defines that trim has no use for (temperature, top_p, stop,
** logprobs, user, ...) are ignored, as OpenAI-compatible servers ignore
** what they do not support; the fields trim reads are type-checked, and a
** wrong one is named with its path.
*/
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "gateway_internal.h"

/* A growing string for the problem text. */
typedef struct text {
    char *s;
    size_t len, cap;
} text_t;


static int
text_add(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->s, cap);
        if (p == NULL)
            return -1;
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return 0;
}


/* A bool at key: absent or null leaves *out; 0, or -1 with err. */
static int
get_bool(const json_t *obj, const char *key, const char *path, int *out,
         char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return errf(err, errlen, "%s: expected true or false", path);
    *out = json_is_true(v);
    return 0;
}


/*
** The text of a message's content: a string, or an array of
** {"type": "text", "text": ...} parts joined by newlines.  0 with the text
** appended to t, or -1 with err naming where (path is "messages[i]").
*/
static int
content_text(const json_t *content, const char *path, text_t *t, char *err,
             size_t errlen)
{
    size_t i;
    const json_t *part;

    if (json_is_string(content))
        return text_add(t, json_string_value(content),
                        json_string_length(content)) < 0
                   ? errf(err, errlen, "out of memory")
                   : 0;
    if (!json_is_array(content))
        return errf(err, errlen,
                    "%s.content: expected a string or an array of text parts",
                    path);
    json_array_foreach(content, i, part)
    {
        const json_t *type = json_object_get(part, "type");
        const json_t *text = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(type))
            return errf(err, errlen,
                        "%s.content[%zu]: expected an object with a \"type\"",
                        path, i);
        if (strcmp(json_string_value(type), "text") != 0)
            return errf(err, errlen,
                        "%s.content[%zu].type: only \"text\" parts are "
                        "supported (got \"%.40s\")",
                        path, i, json_string_value(type));
        if (!json_is_string(text))
            return errf(err, errlen, "%s.content[%zu].text: expected a string",
                        path, i);
        if ((i > 0 && text_add(t, "\n", 1) < 0) ||
            text_add(t, json_string_value(text), json_string_length(text)) < 0)
            return errf(err, errlen, "out of memory");
    }
    return 0;
}


/* "Role: " for a message before the problem: its role, capitalised. */
static int
add_role(text_t *t, const char *role)
{
    char head[40];
    size_t n = (size_t)snprintf(head, sizeof head, "%.30s: ", role);

    if (head[0] >= 'a' && head[0] <= 'z')
        head[0] = (char)(head[0] - 'a' + 'A');
    return text_add(t, head, n);
}


/*
** The chat problem: the last user message's text, preceded, when there are
** earlier messages, by each of them as "Role: text" and a blank line.  One
** user message alone passes unchanged (the simulator solves only its own
** problems, word for word).  Messages after the last user message are not
** used.
*/
static int
chat_problem(const json_t *req, text_t *t, char *err, size_t errlen)
{
    const json_t *msgs = json_object_get(req, "messages"), *m;
    size_t i, last = (size_t)-1;
    char path[48];

    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return errf(err, errlen,
                    "messages: expected a non-empty array of "
                    "messages");
    json_array_foreach(msgs, i, m)
    {
        const json_t *role = json_object_get(m, "role");
        const json_t *content = json_object_get(m, "content");
        snprintf(path, sizeof path, "messages[%zu]", i);
        if (!json_is_object(m))
            return errf(err, errlen, "%s: expected an object", path);
        if (!json_is_string(role))
            return errf(err, errlen, "%s.role: expected a string", path);
        if (content == NULL || json_is_null(content)) {
            /* an assistant's tool call may have no content */
            if (strcmp(json_string_value(role), "assistant") != 0)
                return errf(err, errlen, "%s.content: missing", path);
            continue;
        }
        if (!json_is_string(content) && !json_is_array(content))
            return errf(err, errlen,
                        "%s.content: expected a string or an array of text "
                        "parts",
                        path);
        if (strcmp(json_string_value(role), "user") == 0)
            last = i;
    }
    if (last == (size_t)-1)
        return errf(err, errlen,
                    "messages: no message with role \"user\" (the last user "
                    "message is the problem)");
    for (i = 0; i <= last; i++) {
        m = json_array_get(msgs, i);
        const json_t *content = json_object_get(m, "content");
        snprintf(path, sizeof path, "messages[%zu]", i);
        if (content == NULL || json_is_null(content))
            continue;
        if (i < last &&
            add_role(t, json_string_value(json_object_get(m, "role"))) < 0)
            return errf(err, errlen, "out of memory");
        size_t start = t->len;
        if (content_text(content, path, t, err, errlen) < 0)
            return -1;
        if (i == last && t->len == start)
            return errf(err, errlen, "%s.content: empty", path);
        if (i < last && text_add(t, STEP_DELIMITER, 2) < 0)
            return errf(err, errlen, "out of memory");
    }
    return 0;
}


/* The completions problem: prompt, a string or an array of one string. */
static int
prompt_problem(const json_t *req, text_t *t, char *err, size_t errlen)
{
    const json_t *p = json_object_get(req, "prompt");

    if (json_is_array(p) && json_array_size(p) == 1)
        p = json_array_get(p, 0);
    if (!json_is_string(p))
        return errf(err, errlen,
                    "prompt: expected a string (or an array of one string)");
    if (json_string_length(p) == 0)
        return errf(err, errlen, "prompt: empty");
    if (text_add(t, json_string_value(p), json_string_length(p)) < 0)
        return errf(err, errlen, "out of memory");
    return 0;
}


/* The fields besides the problem. */
static int
options(const json_t *req, gw_request_t *r, char *err, size_t errlen)
{
    const json_t *model = json_object_get(req, "model");
    const json_t *v;
    static const char *const counts[] = {"max_tokens", "max_completion_tokens"};

    if (!json_is_string(model) || json_string_length(model) == 0)
        return errf(err, errlen,
                    "model: expected the name of a model (a "
                    "route; see GET /v1/models)");
    if ((r->model = strdup(json_string_value(model))) == NULL)
        return errf(err, errlen, "out of memory");
    if (get_bool(req, "stream", "stream", &r->stream, err, errlen) < 0)
        return -1;
    v = json_object_get(req, "stream_options");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            return errf(err, errlen, "stream_options: expected an object");
        if (get_bool(v, "include_usage", "stream_options.include_usage",
                     &r->include_usage, err, errlen) < 0)
            return -1;
    }
    v = json_object_get(req, "seed");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v))
            return errf(err, errlen, "seed: expected an integer");
        r->has_seed = 1;
        r->seed = (int64_t)json_integer_value(v);
    }
    /* Accepted and ignored: a problem runs until it ends or reaches the
    ** coordinator's step limit (docs/gateway.md). */
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(req, counts[i]);
        if (v != NULL && !json_is_null(v) &&
            (!json_is_integer(v) || json_integer_value(v) < 1))
            return errf(err, errlen, "%s: expected a positive integer",
                        counts[i]);
    }
    v = json_object_get(req, "n");
    if (v != NULL && !json_is_null(v) &&
        (!json_is_integer(v) || json_integer_value(v) != 1))
        return errf(err, errlen, "n: only 1 choice is supported");
    v = json_object_get(req, "trim");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v))
            return errf(err, errlen, "trim: expected an object");
        if (get_bool(v, "trace", "trim.trace", &r->trace, err, errlen) < 0)
            return -1;
    }
    return 0;
}


int
gw_request_parse(const char *body, size_t len, int chat, gw_request_t *r,
                 char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *req = json_loadb(body, len, 0, &jerr);
    text_t t = {0};
    int rc = -1;

    memset(r, 0, sizeof *r);
    r->chat = chat;
    if (req == NULL) {
        errf(err, errlen, "the body is not valid JSON: %s (line %d, column %d)",
             jerr.text, jerr.line, jerr.column);
        goto done;
    }
    if (!json_is_object(req)) {
        errf(err, errlen, "the body must be a JSON object");
        goto done;
    }
    if ((chat ? chat_problem(req, &t, err, errlen)
              : prompt_problem(req, &t, err, errlen)) < 0 ||
        options(req, r, err, errlen) < 0)
        goto done;
    r->problem = t.s;
    t.s = NULL;
    rc = 0;
done:
    free(t.s);
    json_decref(req);
    if (rc < 0)
        gw_request_clear(r);
    return rc;
}


void
gw_request_clear(gw_request_t *r)
{
    if (r == NULL)
        return;
    free(r->model);
    free(r->problem);
    memset(r, 0, sizeof *r);
}
