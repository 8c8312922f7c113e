/*
** problems.c: problems from JSONL files (see problems.h).
*/
#include "problems.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "escape.h"
#include "problems_internal.h"


struct problems_reader {
    const char *path;      /* borrowed */
    const layout_t *fixed; /* NULL: recognised per line */
    FILE *f, *warn;
    char *line;
    size_t cap;
    int lineno;
    long skipped;
    layout_owned_t own; /* the strings of the last record */
    json_t *obj;        /* the line they came from */
};


problems_reader_t *
problems_open(const char *path, const char *format, FILE *warn, char *err,
              size_t errlen)
{
    problems_reader_t *r;
    const layout_t *fixed = NULL;

    if (format != NULL && strcmp(format, "auto") != 0 &&
        (fixed = layout_find(format)) == NULL) {
        errf(err, errlen, "unknown format '%s' (one of: %s)", format,
             problems_formats());
        return NULL;
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        errf(err, errlen, "out of memory reading %s", path);
        return NULL;
    }
    r->path = path;
    r->fixed = fixed;
    r->warn = warn;
    if ((r->f = fopen(path, "r")) == NULL) {
        errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        free(r);
        return NULL;
    }
    return r;
}


/* Free the last record's strings and line. */
static void
s_drop_record(problems_reader_t *r)
{
    layout_clear(&r->own);
    json_decref(r->obj);
    r->obj = NULL;
}


int
problems_next(problems_reader_t *r, problem_rec_t *rec, char *err,
              size_t errlen)
{
    char why[512], shown[4 * sizeof why]; /* why, escaped */

    s_drop_record(r);
    while (getline(&r->line, &r->cap, r->f) >= 0) {
        json_error_t jerr;

        r->lineno++;
        if (strspn(r->line, " \t\r\n") == strlen(r->line))
            continue;
        r->obj = json_loads(r->line, JSON_DECODE_ANY, &jerr);
        if (!json_is_object(r->obj)) {
            if (r->warn)
                fprintf(r->warn, "%s:%d: not a JSON object (%s); skipped\n",
                        r->path, r->lineno,
                        r->obj ? "another JSON value"
                               : esc_str(shown, sizeof shown, jerr.text));
            r->skipped++;
            s_drop_record(r);
            continue;
        }
        const layout_t *l = r->fixed ? r->fixed : layout_detect(r->obj);
        if (layout_read(l, r->obj, rec, &r->own, why, sizeof why) < 0) {
            if (r->warn)
                fprintf(r->warn, "%s:%d: %s; skipped\n", r->path, r->lineno,
                        esc_str(shown, sizeof shown, why));
            r->skipped++;
            s_drop_record(r);
            continue;
        }
        rec->line = r->lineno;
        return 1;
    }
    /* e.g. a directory: not the end of a file */
    if (ferror(r->f))
        return errf(err, errlen, "cannot read %s: %s", r->path,
                    strerror(errno));
    return 0;
}


long
problems_skipped(const problems_reader_t *r)
{
    return r->skipped;
}


void
problems_close(problems_reader_t **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    s_drop_record(*rp);
    fclose((*rp)->f);
    free((*rp)->line);
    free(*rp);
    *rp = NULL;
}


long
problems_read_file(const char *path, const char *format,
                   int (*fn)(void *ctx, const problem_rec_t *p), void *ctx,
                   long *skipped, char *err, size_t errlen)
{
    problems_reader_t *r = problems_open(path, format, stderr, err, errlen);
    problem_rec_t rec;
    long count = 0;
    int rc;

    if (skipped)
        *skipped = 0;
    if (r == NULL)
        return -1;
    while ((rc = problems_next(r, &rec, err, errlen)) == 1) {
        count++;
        if (fn(ctx, &rec))
            break;
    }
    if (skipped)
        *skipped = r->skipped;
    problems_close(&r);
    return rc < 0 ? -1 : count;
}


long
problems_read_jsonl(const char *path,
                    int (*fn)(void *ctx, const problem_rec_t *p), void *ctx,
                    long *skipped, char *err, size_t errlen)
{
    return problems_read_file(path, NULL, fn, ctx, skipped, err, errlen);
}
