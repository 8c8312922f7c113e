/*
** usage.c: the tokens each step row paid for, with the prefix-cache
** estimate (see store_each_usage in store.h; docs/roi.md).
*/
#include "store_internal.h"

#include "errf.h"

/*
** One statement: the window functions give each row the prompt of the
** previous call of its kind, the previous PRM input and the previous
** accepted row's prompt within its problem.  'draft' < 'strong', so the key
** order is draft before strong, as the calls were made.
*/
static const char s_usage_sql[] =
    "SELECT problem_id, step_index, kind = 'strong', accepted,"
    " prompt_tokens, completion_tokens,"
    " min(prompt_tokens, coalesce(lag(prompt_tokens) OVER"
    "   (PARTITION BY problem_id, kind ORDER BY step_index), 0)),"
    " prm_tokens,"
    " CASE WHEN prm_tokens > 0 THEN min(prm_tokens, coalesce(lag(prm_tokens)"
    "   OVER (PARTITION BY problem_id, prm_tokens > 0"
    "         ORDER BY step_index, kind), 0)) ELSE 0 END,"
    " CASE WHEN accepted THEN min(prompt_tokens, coalesce(lag(prompt_tokens)"
    "   OVER (PARTITION BY problem_id, accepted ORDER BY step_index, kind),"
    "   0)) ELSE 0 END "
    "FROM steps "
    "WHERE CASE WHEN ?2 > 0 THEN problem_id = ?2 ELSE problem_id IN"
    " (SELECT problem_id FROM problems WHERE run_id = ?1) END "
    "ORDER BY problem_id, step_index, kind";


int
store_each_usage(store_reader_t *r, int64_t run_id, int64_t problem_id,
                 int (*fn)(void *ctx, const store_usage_t *u), void *ctx,
                 char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1;

    if (sqlite3_prepare_v2(r->db, s_usage_sql, -1, &st, NULL) != SQLITE_OK) {
        store_conn_error(r->db, r->path, "preparing the usage query", err,
                         errlen);
        goto done;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, problem_id);
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
