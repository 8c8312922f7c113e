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


long
problems_read_file(const char *path, const char *format,
                   int (*fn)(void *ctx, const problem_rec_t *p), void *ctx,
                   long *skipped, char *err, size_t errlen)
{
    const layout_t *fixed = NULL;
    FILE *f = NULL;
    char *line = NULL, why[512], shown[4 * sizeof why]; /* why, escaped */
    size_t cap = 0;
    long count = 0, bad = 0;
    int lineno = 0;

    if (skipped)
        *skipped = 0;
    if (format != NULL && strcmp(format, "auto") != 0 &&
        (fixed = layout_find(format)) == NULL)
        return errf(err, errlen, "unknown format '%s' (one of: %s)", format,
                    problems_formats());
    if ((f = fopen(path, "r")) == NULL)
        return errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        json_error_t jerr;
        layout_owned_t own = {NULL, NULL, NULL};
        problem_rec_t rec;
        json_t *obj;

        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        obj = json_loads(line, JSON_DECODE_ANY, &jerr);
        if (!json_is_object(obj)) {
            fprintf(stderr, "%s:%d: not a JSON object (%s); skipped\n", path,
                    lineno,
                    obj ? "another JSON value"
                        : esc_str(shown, sizeof shown, jerr.text));
            bad++;
            json_decref(obj);
            continue;
        }
        const layout_t *l = fixed ? fixed : layout_detect(obj);
        if (layout_read(l, obj, &rec, &own, why, sizeof why) < 0) {
            fprintf(stderr, "%s:%d: %s; skipped\n", path, lineno,
                    esc_str(shown, sizeof shown, why));
            bad++;
            layout_clear(&own);
            json_decref(obj);
            continue;
        }
        rec.line = lineno;
        count++;
        int stop = fn(ctx, &rec);
        layout_clear(&own);
        json_decref(obj);
        if (stop)
            break;
    }
    int failed = ferror(f); /* e.g. a directory: not the end of a file */
    if (failed)
        errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (skipped)
        *skipped = bad;
    return failed ? -1 : count;
}


long
problems_read_jsonl(const char *path,
                    int (*fn)(void *ctx, const problem_rec_t *p), void *ctx,
                    long *skipped, char *err, size_t errlen)
{
    return problems_read_file(path, NULL, fn, ctx, skipped, err, errlen);
}
