/*
** problems.c: problems from JSONL files (see problems.h).
*/
#include "problems.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const text_keys[] = {"problem", "question", "text"};
static const char *const truth_keys[] = {"answer", "final_answer",
                                         "ground_truth"};


/* The first of keys present in obj, or NULL. */
static json_t *
first_of(json_t *obj, const char *const *keys, size_t n, const char **which)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, keys[i]);
        if (v != NULL) {
            *which = keys[i];
            return v;
        }
    }
    return NULL;
}


long
problems_read_jsonl(const char *path,
                    int (*fn)(void *ctx, const problem_rec_t *p), void *ctx,
                    long *skipped, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, number[64];
    size_t cap = 0;
    long count = 0, bad = 0;
    int lineno = 0;
    const char *key;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) >= 0) {
        json_error_t jerr;
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        json_t *obj = json_loads(line, 0, &jerr);
        problem_rec_t rec = {NULL, NULL, lineno};
        json_t *text = NULL, *truth = NULL;
        if (!json_is_object(obj)) {
            fprintf(stderr, "%s:%d: not a JSON object (%s); skipped\n", path,
                    lineno, obj ? "another JSON value" : jerr.text);
            goto skip;
        }
        text = first_of(obj, text_keys, 3, &key);
        if (!json_is_string(text) || json_string_length(text) == 0) {
            fprintf(stderr,
                    "%s:%d: no problem text (a non-empty string in "
                    "\"problem\", \"question\" or \"text\"); skipped\n",
                    path, lineno);
            goto skip;
        }
        rec.text = json_string_value(text);
        truth = first_of(obj, truth_keys, 3, &key);
        if (json_is_string(truth)) {
            rec.ground_truth = json_string_value(truth);
        } else if (json_is_integer(truth)) {
            snprintf(number, sizeof number, "%lld",
                     (long long)json_integer_value(truth));
            rec.ground_truth = number;
        } else if (json_is_real(truth)) {
            snprintf(number, sizeof number, "%.17g", json_real_value(truth));
            rec.ground_truth = number;
        } else if (truth != NULL && !json_is_null(truth)) {
            fprintf(stderr,
                    "%s:%d: \"%s\" is neither a string nor a "
                    "number; skipped\n",
                    path, lineno, key);
            goto skip;
        }
        count++;
        int stop = fn(ctx, &rec);
        json_decref(obj);
        if (stop)
            break;
        continue;
    skip:
        bad++;
        json_decref(obj);
    }
    free(line);
    fclose(f);
    if (skipped)
        *skipped = bad;
    return count;
}
