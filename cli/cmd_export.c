/*
** cmd_export.c: `trim export`, every step row of the audit store for
** outside tools.
**
**   trim export --db FILE --format jsonl|csv [--run N] [--out FILE]
**               [--wasted]
**
** Rows are streamed from one read query (store_each_step_context) straight
** to the output, so memory stays the same however large the store is.  The
** columns are audit_rows.h's, as `trim audit --json/--csv` prints a trace.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit_rows.h"
#include "cli.h"
#include "store.h"

static const char description[] =
    "Write every step row (drafts and strong steps, kept or discarded) of\n"
    "the audit store, of run N or of every run, ordered by problem, step\n"
    "and kind (draft first), each with its problem's run, run policy,\n"
    "source, status and correctness.  jsonl: one JSON object per line;\n"
    "csv: a header line, then one RFC 4180 record per row (CRLF line ends,\n"
    "fields with commas, quotes or line breaks quoted).  Unscored numbers\n"
    "and missing text are null in JSON and empty in CSV.  The columns are\n"
    "described in docs/audit-schema.md.  Rows are streamed: memory does not\n"
    "grow with the store.  --wasted writes the speculative drafts that were\n"
    "not used (their step was regenerated) instead, in the same columns:\n"
    "speculative 1, accepted 0, no score or decision.  `trim prune` deletes\n"
    "both, so export both first if you keep either.";

typedef struct exporter {
    FILE *f;
    int csv;
    int64_t rows;
    int oom;
    char *buf; /* one JSON line, reused: one fwrite per row (json_dumpf
                  writes each token apart, most of the time) */
    size_t cap;
} exporter_t;


/* Write j as one line through e's buffer.  Returns 0, or -1 out of memory. */
static int
write_json_line(exporter_t *e, const json_t *j)
{
    size_t n = json_dumpb(j, e->buf, e->cap, JSON_COMPACT);

    if (n == 0)
        return -1;
    if (n + 1 > e->cap) {
        size_t cap = (n + 1) * 2;
        char *buf = realloc(e->buf, cap);
        if (buf == NULL)
            return -1;
        e->buf = buf;
        e->cap = cap;
        n = json_dumpb(j, e->buf, e->cap, JSON_COMPACT);
    }
    e->buf[n] = '\n';
    fwrite(e->buf, 1, n + 1, e->f);
    return 0;
}


static int
write_row(void *ctx, const store_step_context_t *row)
{
    exporter_t *e = ctx;

    if (e->csv) {
        audit_step_csv(e->f, row, NULL);
    } else {
        json_t *j = audit_step_json(row, NAN);
        int bad = j == NULL || write_json_line(e, j) < 0;
        json_decref(j);
        if (bad) {
            e->oom = 1;
            return 1;
        }
    }
    e->rows++;
    /* A full disk or a closed pipe: stop instead of reading on. */
    return ferror(e->f) != 0;
}


/* 0 when run is 0 (every run) or in the store at db, else -1, said. */
static int
check_run(store_reader_t *r, int64_t run, const char *db)
{
    store_run_t row;
    char err[512];
    int found = run ? store_get_run(r, run, &row, err, sizeof err) : 1;

    if (found == 0)
        fprintf(stderr, "trim export: no run %lld in %s\n", (long long)run, db);
    else if (found < 0)
        cli_error("export", err);
    return found > 0 ? 0 : -1;
}


int
cmd_export(int argc, char **argv)
{
    const char *db = "trim.db", *format = "", *out = "";
    int64_t run = 0;
    int wasted = 0;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"format", FLAG_STRING, &format, 0, 0, "jsonl or csv (required)"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "only this run (0: every run)"},
        {"out", FLAG_STRING, &out, 0, 0, "write here instead of stdout"},
        {"wasted", FLAG_BOOL, &wasted, 0, 0,
         "the unused speculative drafts instead of the step rows"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    exporter_t e = {0};
    store_reader_t *r = NULL;
    char err[512];
    int rc =
        cli_parse("export", "[FLAGS]", description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0) {
        fprintf(stderr,
                "trim export: --format must be jsonl or csv, got "
                "'%s'\n",
                format);
        return 2;
    }
    e.csv = format[0] == 'c';
    r = store_reader_new(db, err, sizeof err);
    if (r == NULL) {
        cli_error("export", err);
        return 1;
    }
    rc = 1;
    if (check_run(r, run, db) < 0)
        goto done;
    e.f = *out ? fopen(out, "w") : stdout;
    if (e.f == NULL) {
        perror(out);
        goto done;
    }
    if (e.csv)
        audit_step_csv_header(e.f, 0);
    if ((wasted ? store_each_wasted_context : store_each_step_context)(
            r, run, write_row, &e, err, sizeof err) < 0) {
        cli_error("export", err);
        goto done;
    }
    if (e.oom) {
        fprintf(stderr, "trim export: out of memory\n");
        goto done;
    }
    if (fflush(e.f) != 0 || ferror(e.f)) {
        perror(*out ? out : "trim export: stdout");
        goto done;
    }
    rc = 0;
    if (*out)
        fprintf(stderr, "trim export: %lld %s to %s\n", (long long)e.rows,
                wasted ? "wasted drafts" : "step rows", out);
done:
    if (e.f != NULL && e.f != stdout && fclose(e.f) != 0 && rc == 0) {
        perror(out);
        rc = 1;
    }
    if (rc != 0 && e.f != NULL && e.f != stdout)
        unlink(out); /* no half file left looking complete */
    free(e.buf);
    store_reader_destroy(&r);
    return rc;
}
