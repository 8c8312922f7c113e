/*
** problems_layout.c: the native layouts of math benchmark files (see
** problems.h), how to recognise one and how to read a line in it.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "grade.h"
#include "problems_internal.h"

typedef enum {
    TRUTH_ANY,   /* string, number or list */
    TRUTH_HASH,  /* a string with "#### N" */
    TRUTH_BOXED, /* a solution with a \boxed{} answer */
} truth_kind_t;

struct layout {
    const char *name;
    const char *text[4];  /* problem text: the first present, in order */
    const char *truth[4]; /* ground truth: the first present, in order */
    const char *id[6];
    int need_truth;
    truth_kind_t kind;
};

static const layout_t layouts[] = {
    {"plain",
     {"problem", "question", "text", NULL},
     {"answer", "final_answer", "ground_truth", NULL},
     {"id", "ID", "idx", "problem_idx", "unique_id", NULL},
     0,
     TRUTH_ANY},
    {"math",
     {"problem", NULL},
     {"answer", NULL},
     {"unique_id", "id", NULL},
     1,
     TRUTH_ANY},
    {"gsm8k",
     {"question", "problem", NULL},
     {"answer", NULL},
     {"idx", "id", NULL},
     1,
     TRUTH_HASH},
    {"aime",
     {"problem", "question", NULL},
     {"answer", "solution", NULL},
     {"ID", "id", NULL},
     1,
     TRUTH_ANY},
    {"olympiadbench",
     {"question", "problem", NULL},
     {"final_answer", NULL},
     {"id", NULL},
     1,
     TRUTH_ANY},
    {"minerva",
     {"problem", NULL},
     {"solution", NULL},
     {"idx", "id", NULL},
     1,
     TRUTH_BOXED},
};


const char *
problems_formats(void)
{
    return "auto, plain, math, gsm8k, aime, olympiadbench, minerva";
}


const layout_t *
layout_find(const char *name)
{
    for (size_t k = 0; k < sizeof layouts / sizeof *layouts; k++)
        if (strcmp(layouts[k].name, name) == 0)
            return &layouts[k];
    return NULL;
}


int
problems_format_known(const char *name)
{
    return name != NULL &&
           (strcmp(name, "auto") == 0 || layout_find(name) != NULL);
}


static int
has_box(const char *s)
{
    return strstr(s, "\\boxed") || strstr(s, "\\fbox") ||
           strstr(s, "\\framebox");
}


const layout_t *
layout_detect(json_t *obj)
{
    json_t *answer = json_object_get(obj, "answer");
    json_t *solution = json_object_get(obj, "solution");

    if (json_is_array(json_object_get(obj, "final_answer")))
        return layout_find("olympiadbench");
    if (json_is_string(answer) && json_object_get(obj, "question") &&
        strstr(json_string_value(answer), "####"))
        return layout_find("gsm8k");
    if (json_is_string(json_object_get(obj, "ID")))
        return layout_find("aime");
    if (json_object_get(obj, "unique_id") && answer)
        return layout_find("math");
    if (answer == NULL && json_object_get(obj, "final_answer") == NULL &&
        json_is_string(solution) && has_box(json_string_value(solution)))
        return layout_find("minerva");
    return layout_find("plain");
}


/* A number as an answer: 27.0 is "27". */
static void
number_text(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
}


/* A malloc'd copy of s[0..n) without surrounding white space. */
static char *
trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r'))
        n--;
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}


/* One string answer: "#### N" gives N, a \boxed{} its last box. */
static char *
string_truth(const char *s)
{
    const char *hash = NULL, *p = s;
    size_t len = strlen(s);

    while ((p = strstr(p, "####")) != NULL)
        hash = p, p += 4;
    if (hash != NULL) {
        const char *end = strchr(hash + 4, '\n');
        return trimmed(hash + 4,
                       end ? (size_t)(end - hash - 4) : strlen(hash + 4));
    }
    if (has_box(s)) {
        char *out = malloc(len + 1);
        if (out != NULL && grade_extract(s, out, len + 1) == GRADE_BOXED)
            return out;
        free(out);
    }
    return trimmed(s, len);
}


/* A scalar answer (string or number) as text; NULL if it is neither. */
static char *
scalar_truth(const json_t *v, int reduce)
{
    char buf[64];

    if (json_is_string(v))
        return reduce ? string_truth(json_string_value(v))
                      : trimmed(json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        number_text(json_real_value(v), buf, sizeof buf);
        return strdup(buf);
    }
    return NULL;
}


char *
problems_truth_text(const json_t *value, int *n_answers, char *why,
                    size_t whylen)
{
    int n = 0;
    char *out = NULL;

    why[0] = '\0';
    if (value == NULL || json_is_null(value))
        goto done;
    if (!json_is_array(value)) {
        out = scalar_truth(value, 1);
        if (out == NULL && !json_is_string(value) && !json_is_number(value))
            errf(why, whylen,
                 "is neither a string, a number nor a list of them");
        else if (out == NULL)
            errf(why, whylen, "out of memory");
        else
            n = 1;
        goto done;
    }
    size_t len = 0, i;
    json_t *item;
    json_array_foreach(value, i, item)
    {
        char *text = scalar_truth(item, 0);
        if (text == NULL) {
            errf(why, whylen,
                 "item %zu of the list is neither a string nor a number",
                 i + 1);
            free(out);
            out = NULL;
            n = 0;
            goto done;
        }
        size_t tl = strlen(text);
        char *grown = realloc(out, len + tl + 3);
        if (grown == NULL) {
            free(text);
            free(out);
            out = NULL;
            n = 0;
            errf(why, whylen, "out of memory");
            goto done;
        }
        out = grown;
        if (len > 0) {
            memcpy(out + len, ", ", 2);
            len += 2;
        }
        memcpy(out + len, text, tl + 1);
        len += tl;
        free(text);
        n++;
    }
done:
    if (n_answers)
        *n_answers = n;
    return out;
}


/* The first of keys present (not null) in obj, or NULL. */
static json_t *
first_of(json_t *obj, const char *const *keys, const char **which)
{
    for (size_t k = 0; keys[k]; k++) {
        json_t *v = json_object_get(obj, keys[k]);
        if (v != NULL && !json_is_null(v)) {
            *which = keys[k];
            return v;
        }
    }
    return NULL;
}


/* "\"problem\" or \"question\"" for messages. */
static void
key_list(const char *const *keys, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t k = 0; keys[k] && used < len; k++) {
        int w = snprintf(buf + used, len - used, "%s\"%s\"",
                         k == 0        ? ""
                         : keys[k + 1] ? ", "
                                       : " or ",
                         keys[k]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}


static int
read_text(const layout_t *l, json_t *obj, problem_rec_t *rec,
          layout_owned_t *own, char *why, size_t whylen)
{
    const char *key;
    char keys[128];
    json_t *text = first_of(obj, l->text, &key);
    json_t *context = json_object_get(obj, "context");

    if (!json_is_string(text) || json_string_length(text) == 0) {
        key_list(l->text, keys, sizeof keys);
        return errf(why, whylen, "no problem text (a non-empty string in %s)",
                    keys);
    }
    rec->text = json_string_value(text);
    if (strcmp(l->name, "olympiadbench") == 0 && json_is_string(context) &&
        json_string_length(context) > 0) {
        size_t a = json_string_length(context), b = json_string_length(text);
        own->text = malloc(a + b + 3);
        if (own->text == NULL)
            return errf(why, whylen, "out of memory");
        memcpy(own->text, json_string_value(context), a);
        memcpy(own->text + a, "\n\n", 2);
        memcpy(own->text + a + 2, rec->text, b + 1);
        rec->text = own->text;
    }
    return 0;
}


static int
read_truth(const layout_t *l, json_t *obj, problem_rec_t *rec,
           layout_owned_t *own, char *why, size_t whylen)
{
    const char *key = NULL;
    char keys[128], reason[160];
    json_t *v = first_of(obj, l->truth, &key);

    if (v == NULL) {
        if (!l->need_truth)
            return 0;
        key_list(l->truth, keys, sizeof keys);
        return errf(why, whylen, "not a %s line: no answer in %s", l->name,
                    keys);
    }
    if (l->kind == TRUTH_HASH &&
        !(json_is_string(v) && strstr(json_string_value(v), "####")))
        return errf(why, whylen, "not a %s line: \"%s\" has no \"#### N\"",
                    l->name, key);
    if (l->kind == TRUTH_BOXED &&
        !(json_is_string(v) && has_box(json_string_value(v))))
        return errf(why, whylen,
                    "not a %s line: \"%s\" has no \\boxed{} answer", l->name,
                    key);
    own->truth = problems_truth_text(v, &rec->n_answers, reason, sizeof reason);
    if (own->truth == NULL && reason[0] != '\0')
        return errf(why, whylen, "\"%s\" %s", key, reason);
    if (own->truth == NULL && l->need_truth)
        return errf(why, whylen, "not a %s line: \"%s\" is empty", l->name,
                    key);
    rec->ground_truth = own->truth;
    return 0;
}


int
layout_read(const layout_t *l, json_t *obj, problem_rec_t *rec,
            layout_owned_t *own, char *why, size_t whylen)
{
    const char *key;
    json_t *id;

    rec->id = NULL;
    rec->text = NULL;
    rec->ground_truth = NULL;
    rec->n_answers = 0;
    rec->format = l->name;
    if (read_text(l, obj, rec, own, why, whylen) < 0 ||
        read_truth(l, obj, rec, own, why, whylen) < 0)
        return -1;
    id = first_of(obj, l->id, &key);
    if (json_is_string(id)) {
        rec->id = json_string_value(id);
    } else if (json_is_number(id)) {
        own->id = scalar_truth(id, 0);
        rec->id = own->id;
    }
    return 0;
}


void
layout_clear(layout_owned_t *own)
{
    free(own->text);
    free(own->truth);
    free(own->id);
    own->text = own->truth = own->id = NULL;
}
