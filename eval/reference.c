/*
** reference.c: loading reference sweeps (see reference.h).
*/
#include "reference.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"


/* A number field, or NAN (and a message) when absent or not a number. */
static double
field(json_t *obj, const char *key, int required, const char *path, int line,
      int *bad)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL && !required)
        return NAN;
    if (!json_is_number(v)) {
        fprintf(stderr, "%s:%d: \"%s\" %s\n", path, line, key,
                v ? "is not a number" : "is missing");
        *bad = 1;
        return NAN;
    }
    return json_number_value(v);
}


reference_t *
reference_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    reference_t *r = NULL;
    char *line = NULL;
    size_t cap = 0, room = 0;
    int lineno = 0;

    if (f == NULL) {
        errf(err, errlen, "cannot read reference %s: %s", path,
             strerror(errno));
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL)
        goto oom;
    while (getline(&line, &cap, f) >= 0) {
        json_error_t jerr;
        int bad = 0;
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        json_t *obj = json_loads(line, 0, &jerr);
        if (!json_is_object(obj)) {
            fprintf(stderr, "%s:%d: not a JSON object (%s)\n", path, lineno,
                    obj ? "another JSON value" : jerr.text);
            json_decref(obj);
            continue;
        }
        const char *pname =
            json_object_get(obj, "threshold") ? "threshold" : "cost_per_token";
        reference_point_t pt;
        pt.param = field(obj, pname, 1, path, lineno, &bad);
        pt.accuracy = field(obj, "accuracy", 1, path, lineno, &bad);
        pt.strong_tokens =
            field(obj, "avg_target_tokens_per_question", 1, path, lineno, &bad);
        pt.draft_tokens =
            field(obj, "avg_draft_tokens_per_question", 0, path, lineno, &bad);
        pt.discarded_tokens =
            field(obj, "avg_discarded_draft_tokens_per_question", 0, path,
                  lineno, &bad);
        json_decref(obj);
        if (bad)
            continue;
        if (r->param_name == NULL && (r->param_name = strdup(pname)) == NULL)
            goto oom;
        if (r->n == room) {
            room = room ? room * 2 : 32;
            reference_point_t *p = realloc(r->points, room * sizeof *p);
            if (p == NULL)
                goto oom;
            r->points = p;
        }
        r->points[r->n++] = pt;
    }
    free(line);
    fclose(f);
    if (r->n == 0) {
        errf(err, errlen, "reference %s holds no valid line", path);
        reference_destroy(&r);
    }
    return r;
oom:
    errf(err, errlen, "out of memory reading %s", path);
    free(line);
    fclose(f);
    reference_destroy(&r);
    return NULL;
}


const reference_point_t *
reference_find(const reference_t *r, double param)
{
    for (size_t i = 0; i < r->n; i++)
        if (fabs(r->points[i].param - param) < 1e-9)
            return &r->points[i];
    return NULL;
}


void
reference_destroy(reference_t **r)
{
    if (r && *r) {
        free((*r)->points);
        free((*r)->param_name);
        free(*r);
        *r = NULL;
    }
}
