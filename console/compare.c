/*
** compare.c: /api/compare, two runs' problems paired by source (the same
** simulated problem, the same line of a file; docs/console.md).
**
** A merge join in C over two walks of problems_by_source (run_id, source,
** correct, status, strong_tokens), one per run, each in source order from
** the index alone: no table row, no sort of 100,000 entries (the GROUP BY
** it replaces), no seek per problem (a join in SQL).  A source seen more
** than once in a run pairs nothing; a problem without a source pairs
** nothing either.  Only the pairs that differ are sorted, into run a's
** problem order.
*/
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFFER_MAX 1000

/* One run's problems with a source, in the index's (BINARY) source order. */
static const char s_side_sql[] =
    "SELECT source, problem_id, correct, status, strong_tokens FROM problems"
    " WHERE run_id = ?1 AND source IS NOT NULL ORDER BY source";

/* A problem of one side, copied out of its statement. */
typedef struct side_row {
    char *source; /* not NUL-terminated: source_len bytes */
    size_t source_len, source_cap;
    int64_t problem_id, strong_tokens;
    int correct;
    char status[16];
} side_row_t;

/* One run's walk: its statement and the row read next. */
typedef struct side {
    sqlite3_stmt *st;
    int rc; /* the last sqlite3_step: SQLITE_ROW while rows remain */
    side_row_t row;
} side_t;

/* A pair whose status or correctness differ. */
typedef struct differ_pair {
    side_row_t a, b;
} differ_pair_t;


/* Copy the current row of s->st into *r.  Returns 0, or -1 out of memory. */
static int
copy_row(sqlite3_stmt *st, side_row_t *r)
{
    const void *src = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);

    if (n > r->source_cap) {
        char *p = realloc(r->source, n);
        if (p == NULL)
            return -1;
        r->source = p;
        r->source_cap = n;
    }
    if (n > 0)
        memcpy(r->source, src, n);
    r->source_len = n;
    r->problem_id = sqlite3_column_int64(st, 1);
    r->correct = sqlite3_column_int(st, 2);
    const char *status = (const char *)sqlite3_column_text(st, 3);
    snprintf(r->status, sizeof r->status, "%s", status ? status : "");
    r->strong_tokens = sqlite3_column_int64(st, 4);
    return 0;
}


/* Whether the current row of st has source r->source (the same bytes). */
static int
same_source(sqlite3_stmt *st, const side_row_t *r)
{
    return (size_t)sqlite3_column_bytes(st, 0) == r->source_len &&
           (r->source_len == 0 ||
            memcmp(sqlite3_column_blob(st, 0), r->source, r->source_len) == 0);
}


/*
** The side's next problem whose source it holds once, into s->row.
** Returns SQLITE_ROW, SQLITE_DONE at the end, or an error code.
*/
static int
side_next(side_t *s)
{
    while (s->rc == SQLITE_ROW) {
        int dup = 0;
        if (copy_row(s->st, &s->row) < 0)
            return SQLITE_NOMEM;
        while ((s->rc = sqlite3_step(s->st)) == SQLITE_ROW &&
               same_source(s->st, &s->row))
            dup = 1;
        if (!dup)
            return SQLITE_ROW;
    }
    return s->rc;
}


/* memcmp order, shorter first on a tie: SQLite's BINARY collation. */
static int
source_cmp(const side_row_t *a, const side_row_t *b)
{
    size_t n = a->source_len < b->source_len ? a->source_len : b->source_len;
    int c = n > 0 ? memcmp(a->source, b->source, n) : 0;

    if (c != 0)
        return c;
    return (a->source_len > b->source_len) - (a->source_len < b->source_len);
}


static int
by_a_problem(const void *x, const void *y)
{
    const differ_pair_t *p = x, *q = y;
    return (p->a.problem_id > q->a.problem_id) -
           (p->a.problem_id < q->a.problem_id);
}


/* The compare's counters, and the pairs that differ (each source owned). */
typedef struct pairing {
    json_int_t n[7]; /* pairs, both, a only, b only, neither, tokens */
    differ_pair_t *differ;
    size_t n_differ, cap_differ;
} pairing_t;


/* Count the pair (a, b) into *p.  Returns 0, or -1 out of memory. */
static int
add_pair(pairing_t *p, const side_row_t *a, const side_row_t *b)
{
    p->n[0]++;
    p->n[1] += a->correct == 1 && b->correct == 1;
    p->n[2] += a->correct == 1 && b->correct == 0;
    p->n[3] += a->correct == 0 && b->correct == 1;
    p->n[4] += a->correct == 0 && b->correct == 0;
    p->n[5] += a->strong_tokens;
    p->n[6] += b->strong_tokens;
    if (a->correct == b->correct && strcmp(a->status, b->status) == 0)
        return 0;
    if (p->n_differ == p->cap_differ) {
        size_t cap = p->cap_differ ? 2 * p->cap_differ : 64;
        differ_pair_t *v = realloc(p->differ, cap * sizeof *v);
        if (v == NULL)
            return -1;
        p->differ = v;
        p->cap_differ = cap;
    }
    differ_pair_t *d = &p->differ[p->n_differ];
    d->a = *a;
    d->b = *b;
    /* The source is the same on both sides: one copy, owned by d->a. */
    if ((d->a.source = malloc(a->source_len + 1)) == NULL)
        return -1;
    if (a->source_len > 0)
        memcpy(d->a.source, a->source, a->source_len);
    d->b.source = NULL;
    p->n_differ++;
    return 0;
}


/*
** Walk both sides together, pairing equal sources.  Returns SQLITE_DONE,
** or the error code of the side that failed.
*/
static int
merge(side_t *a, side_t *b, pairing_t *p)
{
    int ra = side_next(a), rb = side_next(b);

    while (ra == SQLITE_ROW && rb == SQLITE_ROW) {
        int c = source_cmp(&a->row, &b->row);
        if (c == 0 && add_pair(p, &a->row, &b->row) < 0)
            return SQLITE_NOMEM;
        if (c <= 0)
            ra = side_next(a);
        if (c >= 0)
            rb = side_next(b);
    }
    if (ra != SQLITE_ROW && ra != SQLITE_DONE)
        return ra;
    if (rb != SQLITE_ROW && rb != SQLITE_DONE)
        return rb;
    return SQLITE_DONE;
}


/* The counters as "paired" and the first limit differing pairs as "differ". */
static json_t *
pairing_json(pairing_t *p, int64_t limit, json_t **differ)
{
    static const char *const names[7] = {
        "paired",  "both_correct",    "a_only",         "b_only",
        "neither", "a_strong_tokens", "b_strong_tokens"};
    json_t *paired = json_object();

    *differ = json_array();
    for (int i = 0; i < 7; i++)
        json_object_set_new(paired, names[i], json_integer(p->n[i]));
    qsort(p->differ, p->n_differ, sizeof *p->differ, by_a_problem);
    for (size_t i = 0; i < p->n_differ && i < (size_t)limit; i++) {
        const side_row_t *a = &p->differ[i].a, *b = &p->differ[i].b;
        json_array_append_new(
            *differ,
            json_pack("{s:o,s:I,s:I,s:i,s:i,s:s,s:s,s:I,s:I}", "source",
                      con_text(a->source, a->source_len), "a_problem",
                      (json_int_t)a->problem_id, "b_problem",
                      (json_int_t)b->problem_id, "a_correct", a->correct,
                      "b_correct", b->correct, "a_status", a->status,
                      "b_status", b->status, "a_strong_tokens",
                      (json_int_t)a->strong_tokens, "b_strong_tokens",
                      (json_int_t)b->strong_tokens));
    }
    return paired;
}


/* Pair runs a and b into *p.  Returns 0, or -1 with the reply in out. */
static int
pair_runs(console_t *c, json_int_t a, json_int_t b, pairing_t *p,
          con_reply_t *out)
{
    side_t sa = {.st = con_stmt(c, CON_Q_SIDE_A, s_side_sql, out)};
    side_t sb = {.st = con_stmt(c, CON_Q_SIDE_B, s_side_sql, out)};
    int rc = -1;

    if (sa.st == NULL || sb.st == NULL)
        goto done;
    sqlite3_bind_int64(sa.st, 1, a);
    sqlite3_bind_int64(sb.st, 1, b);
    sa.rc = sqlite3_step(sa.st);
    sb.rc = sqlite3_step(sb.st);
    if (merge(&sa, &sb, p) != SQLITE_DONE) {
        con_reply_db_error(c, out, "pairing two runs' problems");
        goto done;
    }
    rc = 0;
done:
    if (sa.st != NULL)
        sqlite3_reset(sa.st);
    if (sb.st != NULL)
        sqlite3_reset(sb.st);
    free(sa.row.source);
    free(sb.row.source);
    return rc;
}


void
con_api_compare(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {"a", "b", "limit", NULL};
    json_t *a = NULL, *b = NULL, *paired, *differ;
    pairing_t p = {0};
    int64_t limit;

    if (con_args_check(q, names, out) < 0 ||
        con_arg_int(q, "limit", 0, DIFFER_MAX, 100, &limit, out) < 0 ||
        con_arg_run(c, q, "a", &a, out) < 0 ||
        con_arg_run(c, q, "b", &b, out) < 0 ||
        pair_runs(c, json_integer_value(json_object_get(a, "run_id")),
                  json_integer_value(json_object_get(b, "run_id")), &p,
                  out) < 0)
        goto done;
    paired = pairing_json(&p, limit, &differ);
    con_reply_json(out, 200,
                   json_pack("{s:O,s:O,s:o,s:o}", "a", a, "b", b, "paired",
                             paired, "differ", differ));
done:
    for (size_t i = 0; i < p.n_differ; i++)
        free(p.differ[i].a.source);
    free(p.differ);
    json_decref(a);
    json_decref(b);
}
