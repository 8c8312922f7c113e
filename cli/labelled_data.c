/*
** labelled_data.c: reading ProcessBench-layout records (see
** labelled_data.h).
*/
#include "labelled_data.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"


void
labelled_set_clear(labelled_set_t *s)
{
    if (s == NULL)
        return;
    for (size_t k = 0; k < s->n; k++) {
        labelled_t *r = &s->v[k];
        for (size_t i = 0; i < r->n_steps; i++)
            free(r->steps[i]);
        free(r->steps);
        free(r->problem);
        free(r->generator);
    }
    free(s->v);
    *s = (labelled_set_t){0};
}


/* Check record o and copy it into r; 0, or -1 with what is wrong in why. */
static int
record(json_t *o, labelled_t *r, char *why, size_t whylen)
{
    json_t *problem = json_object_get(o, "problem");
    json_t *steps = json_object_get(o, "steps");
    json_t *label = json_object_get(o, "label");
    json_t *gen = json_object_get(o, "generator");
    size_t i;
    json_t *v;

    if (!json_is_object(o))
        return errf(why, whylen, "not a JSON object");
    if (!json_is_string(problem) || json_string_length(problem) == 0)
        return errf(why, whylen, "\"problem\" is missing or not a text");
    if (!json_is_array(steps) || json_array_size(steps) == 0)
        return errf(why, whylen,
                    "\"steps\" is missing or not a list of "
                    "step texts");
    json_array_foreach(steps, i, v)
    {
        if (!json_is_string(v))
            return errf(why, whylen, "step %zu is not a text", i);
    }
    if (!json_is_integer(label) || json_integer_value(label) < -1 ||
        json_integer_value(label) >= (json_int_t)json_array_size(steps))
        return errf(why, whylen,
                    "\"label\" must be the index of the first wrong step "
                    "(0 to %zu) or -1",
                    json_array_size(steps) - 1);
    if (gen != NULL && !json_is_string(gen))
        return errf(why, whylen, "\"generator\" is not a text");
    r->n_steps = json_array_size(steps);
    r->steps = calloc(r->n_steps, sizeof *r->steps);
    r->problem = strdup(json_string_value(problem));
    r->generator = strdup(gen ? json_string_value(gen) : "");
    r->label = (int)json_integer_value(label);
    if (r->steps == NULL || r->problem == NULL || r->generator == NULL)
        return errf(why, whylen, "out of memory");
    json_array_foreach(steps, i, v)
    {
        if ((r->steps[i] = strdup(json_string_value(v))) == NULL)
            return errf(why, whylen, "out of memory");
    }
    return 0;
}


/* Append record o to out; where names it for err (e.g. "line 3"). */
static int
append(labelled_set_t *out, json_t *o, const char *path, const char *where,
       char *err, size_t errlen)
{
    char why[256];
    labelled_t *v = realloc(out->v, (out->n + 1) * sizeof *v);

    if (v == NULL)
        return errf(err, errlen, "out of memory");
    out->v = v;
    memset(&v[out->n], 0, sizeof *v);
    /* Counted before the check, so clearing the set frees a half copy. */
    out->n++;
    if (record(o, &v[out->n - 1], why, sizeof why) < 0)
        return errf(err, errlen, "%s: %s: %s", path, where, why);
    return 0;
}


/* A JSON array of records (ProcessBench's own files). */
static int
load_array(const char *path, json_t *root, labelled_set_t *out, char *err,
           size_t errlen)
{
    size_t k;
    json_t *o;
    char where[48];

    json_array_foreach(root, k, o)
    {
        snprintf(where, sizeof where, "record %zu", k);
        if (append(out, o, path, where, err, errlen) < 0)
            return -1;
    }
    return 0;
}


/* One record per line; blank lines are skipped. */
static int
load_lines(const char *path, FILE *f, labelled_set_t *out, char *err,
           size_t errlen)
{
    char *line = NULL, where[48];
    size_t cap = 0;
    long no = 0;
    int rc = 0;

    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        json_error_t jerr;
        no++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_t *o = json_loads(line, 0, &jerr);
        snprintf(where, sizeof where, "line %ld", no);
        if (o == NULL)
            rc = errf(err, errlen, "%s: %s: not JSON (%s)", path, where,
                      jerr.text);
        else
            rc = append(out, o, path, where, err, errlen);
        json_decref(o);
    }
    free(line);
    return rc;
}


int
labelled_load(const char *path, labelled_set_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    int c, rc = -1;

    *out = (labelled_set_t){0};
    if (f == NULL)
        return errf(err, errlen, "%s: cannot open", path);
    do
        c = fgetc(f);
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n');
    rewind(f);
    if (c == '[') {
        json_error_t jerr;
        json_t *root = json_loadf(f, 0, &jerr);
        if (root == NULL)
            errf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                 jerr.text);
        else
            rc = load_array(path, root, out, err, errlen);
        json_decref(root);
    } else {
        rc = load_lines(path, f, out, err, errlen);
    }
    fclose(f);
    if (rc == 0 && out->n == 0)
        rc = errf(err, errlen, "%s: no records", path);
    if (rc < 0)
        labelled_set_clear(out);
    return rc;
}
