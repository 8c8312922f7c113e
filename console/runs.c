/*
** runs.c: /api/runs and /api/curves (docs/console.md).
*/
#include "console_internal.h"

#include <string.h>

#define RUNS_PAGE_MAX 1000

/*
** Each run with the totals of its problems, in run_id order: the runs after
** ?1, or only run ?2 when it is not 0; at most ?3.  A run's problems are
** read through problems_by_run.
*/
static const char s_runs_sql[] =
    "SELECT r.run_id AS run_id, r.policy AS policy, r.seed AS seed,"
    " r.started_ms AS started_ms, r.finished_ms AS finished_ms,"
    " r.explore AS explore, r.max_strong_tokens AS max_strong_tokens,"
    " r.target_share AS target_share, r.config AS config,"
    " count(p.problem_id) AS problems,"
    " coalesce(sum(p.status = 'finished'), 0) AS finished,"
    " coalesce(sum(p.status = 'failed'), 0) AS failed,"
    " coalesce(sum(p.status = 'cancelled'), 0) AS cancelled,"
    " coalesce(sum(p.status IN ('queued', 'running')), 0) AS unfinished,"
    " coalesce(sum(p.correct = 1), 0) AS correct,"
    " coalesce(sum(p.correct >= 0), 0) AS graded,"
    " coalesce(sum(p.steps), 0) AS steps,"
    " coalesce(sum(p.regenerated_steps), 0) AS regenerated_steps,"
    " coalesce(sum(p.weak_tokens), 0) AS weak_tokens,"
    " coalesce(sum(p.strong_tokens), 0) AS strong_tokens,"
    " coalesce(sum(p.discarded_tokens), 0) AS discarded_tokens,"
    " coalesce(sum(p.prm_tokens), 0) AS prm_tokens "
    "FROM runs r LEFT JOIN problems p ON p.run_id = r.run_id "
    "WHERE r.run_id > ?1 AND (?2 = 0 OR r.run_id = ?2) "
    "GROUP BY r.run_id ORDER BY r.run_id LIMIT ?3";

static double
num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}


/*
** Add what is derived from a run's totals: accuracy over the graded
** problems (null when none is), the strong-token share of the generated
** tokens (as `trim run` prints it), strong tokens per problem.
*/
static void
derive(json_t *run)
{
    double graded = num(run, "graded"), problems = num(run, "problems");
    double strong = num(run, "strong_tokens");
    double all =
        num(run, "weak_tokens") + strong + num(run, "discarded_tokens");

    json_object_set_new(run, "accuracy",
                        graded > 0 ? json_real(num(run, "correct") / graded)
                                   : json_null());
    json_object_set_new(run, "strong_share",
                        json_real(all > 0 ? strong / all : 0.0));
    json_object_set_new(run, "strong_tokens_per_problem",
                        json_real(problems > 0 ? strong / problems : 0.0));
}


/*
** The runs after `after` (or run `only`), at most limit, as an array of
** objects; NULL with the reply in out.
*/
static json_t *
runs_query(console_t *c, int64_t after, int64_t only, int64_t limit,
           con_reply_t *out)
{
    sqlite3_stmt *st = con_stmt(c, CON_Q_RUNS, s_runs_sql, out);
    json_t *runs = json_array();
    int rc;

    if (st == NULL || runs == NULL) {
        json_decref(runs);
        if (st != NULL)
            con_reply_json(out, 500, NULL);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, only);
    sqlite3_bind_int64(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *run = con_row(st);
        if (run == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        derive(run);
        json_array_append_new(runs, run);
    }
    sqlite3_reset(st);
    /* Dollars after the walk: they read the store with statements of
    ** their own. */
    for (size_t i = 0; rc == SQLITE_DONE && i < json_array_size(runs); i++)
        if (con_dollars_run(c, json_array_get(runs, i)) < 0)
            rc = SQLITE_ERROR;
    if (rc != SQLITE_DONE) {
        con_reply_db_error(c, out, "reading runs");
        json_decref(runs);
        runs = NULL;
    }
    return runs;
}


void
con_api_runs(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {"after", "limit", "run", NULL};
    int64_t after, limit, run;
    json_t *runs;
    size_t n;

    if (con_args_check(q, names, out) < 0 ||
        con_arg_int(q, "after", 0, INT64_MAX, 0, &after, out) < 0 ||
        con_arg_int(q, "limit", 1, RUNS_PAGE_MAX, 100, &limit, out) < 0 ||
        con_arg_int(q, "run", 1, INT64_MAX, 0, &run, out) < 0)
        return;
    /* One more than asked: whether there is a next page. */
    if ((runs = runs_query(c, after, run, limit + 1, out)) == NULL)
        return;
    if (run > 0 && json_array_size(runs) == 0) {
        json_decref(runs);
        con_reply_error(out, 404, "run", "no run %lld in %s", (long long)run,
                        c->db_path);
        return;
    }
    n = json_array_size(runs);
    json_t *next = json_null();
    if (n > (size_t)limit) {
        json_array_remove(runs, n - 1);
        next = json_object_get(json_array_get(runs, n - 2), "run_id");
        json_incref(next);
    }
    con_reply_json(out, 200,
                   json_pack("{s:o,s:o}", "runs", runs, "next", next));
}


int
con_arg_run(console_t *c, const con_req_t *q, const char *name, json_t **run,
            con_reply_t *out)
{
    int64_t id;
    json_t *runs;

    if (con_arg_int(q, name, 1, INT64_MAX, 0, &id, out) < 0)
        return -1;
    if (id == 0) {
        con_reply_error(out, 400, name, "%s: missing (a run id)", name);
        return -1;
    }
    if ((runs = runs_query(c, 0, id, 1, out)) == NULL)
        return -1;
    *run = json_incref(json_array_get(runs, 0));
    json_decref(runs);
    if (*run == NULL) {
        con_reply_error(out, 404, name, "no run %lld in %s", (long long)id,
                        c->db_path);
        return -1;
    }
    return 0;
}


void
con_api_curves(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {NULL};
    json_t *runs, *run;
    size_t i;

    if (con_args_check(q, names, out) < 0 ||
        (runs = runs_query(c, 0, 0, RUNS_PAGE_MAX, out)) == NULL)
        return;
    json_array_foreach(runs, i, run)
    {
        json_object_del(run, "config");
    }
    con_reply_json(out, 200,
                   json_pack("{s:o,s:O}", "runs", runs, "eval",
                             c->curve ? c->curve : json_null()));
}
