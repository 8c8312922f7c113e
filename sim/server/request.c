/*
** request.c: reading and checking the fields requests share (see
** server_internal.h).
*/
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"


int
req_check_model(sim_server_t *s, const json_t *req, reply_t *r)
{
    const json_t *m = json_object_get(req, "model");

    if (m == NULL || json_is_null(m))
        return 0;
    if (!json_is_string(m)) {
        reply_error(r, 400, "'model' must be a string");
        return -1;
    }
    if (strcmp(json_string_value(m), s->served_name) != 0) {
        reply_error(r, 404, "The model `%s` does not exist.",
                    json_string_value(m));
        return -1;
    }
    return 0;
}


int
req_bool(const json_t *req, const char *key, int def, int *out, reply_t *r)
{
    const json_t *v = json_object_get(req, key);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) {
        reply_error(r, 400, "'%s' must be a boolean", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}


int
req_int(const json_t *req, const char *key, int64_t def, int64_t min,
        int64_t max, int64_t *out, reply_t *r)
{
    const json_t *v = json_object_get(req, key);

    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v)) {
        reply_error(r, 400, "'%s' must be an integer", key);
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    if (*out < min || *out > max) {
        reply_error(r, 400, "'%s' must be in [%lld, %lld], got %lld", key,
                    (long long)min, (long long)max, (long long)*out);
        return -1;
    }
    return 0;
}


/* An optional field that, when present and not null, must be a number. */
static int
number_or_null(const json_t *req, const char *key, reply_t *r)
{
    const json_t *v = json_object_get(req, key);
    if (v == NULL || json_is_null(v) || json_is_number(v))
        return 0;
    reply_error(r, 400, "'%s' must be a number", key);
    return -1;
}


int
req_check_sampling(const json_t *req, reply_t *r)
{
    static const char *const numbers[] = {"temperature",
                                          "top_p",
                                          "min_p",
                                          "frequency_penalty",
                                          "presence_penalty",
                                          "repetition_penalty"};
    const json_t *stop = json_object_get(req, "stop");
    const json_t *stream = json_object_get(req, "stream");
    int64_t v;

    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        if (number_or_null(req, numbers[i], r) < 0)
            return -1;
    if (req_int(req, "top_k", -1, -1, INT32_MAX, &v, r) < 0 ||
        req_int(req, "n", 1, 1, 1, &v, r) < 0)
        return -1;
    if (stop != NULL && !json_is_null(stop) && !json_is_string(stop)) {
        size_t i;
        json_t *x;
        if (!json_is_array(stop)) {
            reply_error(r, 400, "'stop' must be a string or a list of strings");
            return -1;
        }
        json_array_foreach(stop, i, x)
        {
            if (!json_is_string(x)) {
                reply_error(r, 400,
                            "'stop' must be a string or a list of strings");
                return -1;
            }
        }
    }
    if (stream != NULL && json_is_true(stream)) {
        reply_error(r, 400, "streaming is not supported by trim sim-server");
        return -1;
    }
    return 0;
}


/* A 400 for messages[i] whose content is neither text nor text parts. */
static int
bad_content(reply_t *r, size_t i)
{
    reply_error(r, 400,
                "messages[%zu].content must be a string or a list of "
                "{\"type\":\"text\",\"text\":...} parts",
                i);
    return -1;
}


int
req_message_text(const json_t *msg, size_t i, char **out, reply_t *r)
{
    const json_t *c = json_object_get(msg, "content");
    size_t k, len = 0;
    json_t *part;
    char *text;

    *out = NULL;
    if (json_is_string(c)) {
        *out = strdup(json_string_value(c));
        goto done;
    }
    if (c == NULL || json_is_null(c)) {
        *out = strdup("");
        goto done;
    }
    if (!json_is_array(c))
        return bad_content(r, i);
    json_array_foreach(c, k, part)
    {
        const json_t *t = json_object_get(part, "text");
        const json_t *type = json_object_get(part, "type");
        if (!json_is_string(t) || !json_is_string(type) ||
            strcmp(json_string_value(type), "text") != 0)
            return bad_content(r, i);
        len += json_string_length(t);
    }
    if ((text = malloc(len + 1)) == NULL)
        goto done;
    len = 0;
    json_array_foreach(c, k, part)
    {
        const json_t *t = json_object_get(part, "text");
        memcpy(text + len, json_string_value(t), json_string_length(t));
        len += json_string_length(t);
    }
    text[len] = '\0';
    *out = text;
done:
    if (*out == NULL) {
        reply_error(r, 500, "out of memory");
        return -1;
    }
    return 0;
}


json_t *
req_new_id(sim_server_t *s, const char *prefix)
{
    char id[64];
    uint64_t n = atomic_fetch_add(&s->n_ids, 1);
    snprintf(id, sizeof id, "%s-%08x%016llx", prefix,
             (unsigned)(s->port & 0xffff), (unsigned long long)n);
    return json_string(id);
}
