/*
** usage.c: the tokens each step row paid for, with the prefix-cache hits
** the servers reported or, where they did not, the prefix rule's estimate
** (see store_usage_t in store.h; docs/roi.md).
*/
#include "store_internal.h"

#include <string.h>

#include "errf.h"

/* One problem's rows, read through steps_key. */
static const char s_problem_sql[] =
    "SELECT " STORE_USAGE_COLUMNS "FROM steps WHERE problem_id = ?1 "
    "ORDER BY problem_id, step_index, kind";

/* A run's rows: its problems through problems_by_run, each one's steps
** through steps_key. */
static const char s_run_sql[] =
    "SELECT " STORE_USAGE_COLUMNS "FROM steps WHERE problem_id IN"
    " (SELECT problem_id FROM problems WHERE run_id = ?1) "
    "ORDER BY problem_id, step_index, kind";


int
store_each_usage(store_reader_t *r, int64_t run_id, int64_t problem_id,
                 int (*fn)(void *ctx, const store_usage_t *u), void *ctx,
                 char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1;

    if (sqlite3_prepare_v2(r->db, problem_id > 0 ? s_problem_sql : s_run_sql,
                           -1, &st, NULL) != SQLITE_OK) {
        store_conn_error(r->db, r->path, "preparing the usage query", err,
                         errlen);
        goto done;
    }
    sqlite3_bind_int64(st, 1, problem_id > 0 ? problem_id : run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_usage_t u = {
            .problem_id = sqlite3_column_int64(st, 0),
            .step_index = sqlite3_column_int(st, 1),
            .kind = sqlite3_column_int(st, 2) ? STORE_STRONG : STORE_DRAFT,
            .accepted = sqlite3_column_int(st, 3),
            .prompt = sqlite3_column_int64(st, 4),
            .completion = sqlite3_column_int64(st, 5),
            .prompt_cached = sqlite3_column_int64(st, 6),
            .prm = sqlite3_column_int64(st, 7),
            .prm_cached = sqlite3_column_int64(st, 8),
            .solution_cached = sqlite3_column_int64(st, 9),
        };
        if (fn(ctx, &u) != 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, "reading step usage", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}


/*
** A run's totals: the stored rows of its ended problems (problem_usage),
** and the steps of those without one (still running, or ended with no
** step), summed the same way.
*/
static const char s_run_totals_sql[] =
    "SELECT " STORE_USAGE_TOTAL_NAMES " FROM ("
    " SELECT " STORE_USAGE_TOTAL_NAMES " FROM problem_usage"
    "  WHERE problem_id IN (SELECT problem_id FROM problems WHERE run_id = ?1)"
    " UNION ALL"
    " SELECT" STORE_USAGE_TOTALS "FROM (SELECT " STORE_USAGE_COLUMNS
    "  FROM steps WHERE problem_id IN (SELECT problem_id FROM problems p"
    "   WHERE run_id = ?1 AND NOT EXISTS (SELECT 1 FROM problem_usage u"
    "    WHERE u.problem_id = p.problem_id))))";


/*
** The unused speculative drafts of a problem (?2 > 0) or of run ?1, each
** with the cached part of its prompt: reported, else the prompt of the
** draft of the step before, the call it extended.
*/
static const char s_wasted_sql[] =
    "SELECT coalesce(sum(w.prompt_tokens), 0),"
    " coalesce(sum(coalesce(w.cached_tokens, min(w.prompt_tokens,"
    "  coalesce(d.prompt_tokens, 0)))), 0),"
    " coalesce(sum(w.completion_tokens), 0)"
    " FROM wasted_drafts w LEFT JOIN steps d ON d.problem_id = w.problem_id"
    "  AND d.step_index = w.step_index - 1 AND d.kind = 'draft'"
    " WHERE CASE WHEN ?2 > 0 THEN w.problem_id = ?2 ELSE w.problem_id IN"
    "  (SELECT problem_id FROM problems WHERE run_id = ?1) END";


int
store_usage_wasted(store_reader_t *r, int64_t run_id, int64_t problem_id,
                   store_usage_total_t *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(r->db, s_wasted_sql, -1, &st, NULL) != SQLITE_OK) {
        store_conn_error(r->db, r->path, "preparing the wasted drafts query",
                         err, errlen);
        goto done;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, problem_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        store_conn_error(r->db, r->path, "reading wasted drafts", err, errlen);
        goto done;
    }
    out->wasted_input = sqlite3_column_int64(st, 0);
    out->wasted_cached = sqlite3_column_int64(st, 1);
    out->wasted_output = sqlite3_column_int64(st, 2);
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}


int
store_usage_run(store_reader_t *r, int64_t run_id, store_usage_total_t *out,
                char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1;

    memset(out, 0, sizeof *out);
    if (store_usage_wasted(r, run_id, 0, out, err, errlen) < 0)
        return -1;
    if (sqlite3_prepare_v2(r->db, s_run_totals_sql, -1, &st, NULL) !=
        SQLITE_OK) {
        store_conn_error(r->db, r->path, "preparing the run usage query", err,
                         errlen);
        goto done;
    }
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t *v[] = {&out->input[STORE_DRAFT],
                        &out->input[STORE_STRONG],
                        &out->cached[STORE_DRAFT],
                        &out->cached[STORE_STRONG],
                        &out->output[STORE_DRAFT],
                        &out->output[STORE_STRONG],
                        &out->prm,
                        &out->prm_cached,
                        &out->solution_input,
                        &out->solution_cached,
                        &out->solution_output};
        for (int k = 0; k < (int)(sizeof v / sizeof v[0]); k++)
            *v[k] += sqlite3_column_int64(st, k);
    }
    if (step != SQLITE_DONE) {
        store_conn_error(r->db, r->path, "reading run usage", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}


/* The smaller of a and b. */
static int64_t
s_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}


/* The cached part of total tokens: reported when has, else the rule's
** estimate, what the previous call sent (at most total). */
static int64_t
s_cached(int has, int64_t reported, int64_t total, int64_t previous)
{
    return has ? reported : s_min(total, previous);
}


store_usage_total_t
store_usage_add(store_usage_acc_t *a, const store_step_t *row)
{
    store_usage_total_t d;
    int k = row->kind == STORE_STRONG;

    memset(&d, 0, sizeof d);
    d.input[k] = row->prompt_tokens;
    d.cached[k] = s_cached(row->has_cached, row->cached_tokens,
                           row->prompt_tokens, a->last_prompt[k]);
    d.output[k] = row->completion_tokens;
    a->last_prompt[k] = row->prompt_tokens;
    if (row->prm_tokens > 0) {
        d.prm = row->prm_tokens;
        d.prm_cached = s_cached(row->has_prm_cached, row->prm_cached_tokens,
                                row->prm_tokens, a->last_prm);
        a->last_prm = row->prm_tokens;
    }
    if (row->accepted) {
        d.solution_input = row->prompt_tokens;
        d.solution_cached = s_min(row->prompt_tokens, a->last_accepted);
        d.solution_output = row->completion_tokens;
        a->last_accepted = row->prompt_tokens;
    }
    store_usage_sum(&a->t, &d);
    a->rows++;
    return d;
}


store_usage_total_t
store_usage_add_wasted(store_usage_acc_t *a, const store_step_t *row)
{
    store_usage_total_t d;

    memset(&d, 0, sizeof d);
    d.wasted_input = row->prompt_tokens;
    d.wasted_cached = s_cached(row->has_cached, row->cached_tokens,
                               row->prompt_tokens, a->last_prompt[STORE_DRAFT]);
    d.wasted_output = row->completion_tokens;
    store_usage_sum(&a->t, &d);
    return d;
}


void
store_usage_sum(store_usage_total_t *t, const store_usage_total_t *d)
{
    for (int k = 0; k < 2; k++) {
        t->input[k] += d->input[k];
        t->cached[k] += d->cached[k];
        t->output[k] += d->output[k];
    }
    t->prm += d->prm;
    t->prm_cached += d->prm_cached;
    t->solution_input += d->solution_input;
    t->solution_cached += d->solution_cached;
    t->solution_output += d->solution_output;
    t->wasted_input += d->wasted_input;
    t->wasted_cached += d->wasted_cached;
    t->wasted_output += d->wasted_output;
}
