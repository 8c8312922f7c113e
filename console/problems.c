/*
** problems.c: /api/problems (a run's problems, filtered, paged by key) and
** /api/problem (one problem's route trace); docs/console.md.
*/
#include "console_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX   500
#define TEXT_SHOWN 300 /* characters of a problem's text in a list */
#define SEARCH_MAX 200 /* bytes of a text search */
/* Problems a text search reads per request at most (a scan of their text):
** about 100 ms on bench_console's store; the reply says where it stopped. */
#define SEARCH_SCAN 20000

#define STR(x)  #x
#define XSTR(x) STR(x)

/* The outcome filter's values, in the order s_problems_sql numbers them. */
static const char *const s_outcomes[] = {"all",        "correct",   "wrong",
                                         "failed",     "cancelled", "ungraded",
                                         "unfinished", NULL};

/*
** The problems of run ?1 after problem ?2, in problem_id order, at most ?6:
** a keyset page, so page 10,000 costs what page 1 does (the index
** problems_by_run holds (run_id, problem_id)).  ?3 is the outcome filter
** (an index into s_outcomes), ?4 regenerated steps (-1 any, 1 some, 0
** none), ?5 a lower-case text to find in the problem's text (NULL: any),
** ?7 the last problem_id to read (s_search_end_sql).
*/
static const char s_problems_sql[] =
    "SELECT problem_id, run_id, source,"
    " substr(text, 1, " XSTR(
        TEXT_SHOWN) ") AS text,"
                    " length(text) AS text_length, ground_truth, status, "
                    "final_answer,"
                    " correct, steps, regenerated_steps, weak_tokens, "
                    "strong_tokens,"
                    " discarded_tokens, prm_tokens, error, created_ms, "
                    "finished_ms, key_id "
                    "FROM problems "
                    "WHERE run_id = ?1 AND problem_id > ?2 AND problem_id <= ?7"
                    " AND (?3 = 0"
                    "  OR (?3 = 1 AND status = 'finished' AND correct = 1)"
                    "  OR (?3 = 2 AND status = 'finished' AND correct = 0)"
                    "  OR (?3 = 3 AND status = 'failed')"
                    "  OR (?3 = 4 AND status = 'cancelled')"
                    "  OR (?3 = 5 AND status = 'finished' AND correct = -1)"
                    "  OR (?3 = 6 AND status IN ('queued', 'running')))"
                    " AND (?4 < 0 OR (regenerated_steps > 0) = ?4)"
                    " AND (?5 IS NULL OR instr(lower(text), ?5) > 0) "
                    "ORDER BY problem_id LIMIT ?6";

/* The SEARCH_SCAN-th problem of run ?1 after ?2 (problems_by_run alone). */
static const char s_search_end_sql[] =
    "SELECT problem_id FROM problems WHERE run_id = ?1 AND problem_id > ?2 "
    "ORDER BY problem_id LIMIT 1 OFFSET " XSTR(SEARCH_SCAN) " - 1";


/*
** Where a text search of run after `after` stops: the SEARCH_SCAN-th
** problem, or INT64_MAX when fewer are left.  -1 with out on error.
*/
static int
search_end(console_t *c, int64_t run, int64_t after, int64_t *end,
           con_reply_t *out)
{
    sqlite3_stmt *st = con_stmt(c, CON_Q_SEARCH_END, s_search_end_sql, out);
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, after);
    rc = sqlite3_step(st);
    *end = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        con_reply_db_error(c, out, "bounding a text search");
        return -1;
    }
    return 0;
}


/* One problem with its run's policy. */
static const char s_problem_sql[] =
    "SELECT p.*, r.policy AS policy FROM problems p"
    " JOIN runs r ON r.run_id = p.run_id WHERE p.problem_id = ?1";

/* Every column of its steps, draft before strong at each index. */
static const char s_steps_sql[] =
    "SELECT * FROM steps WHERE problem_id = ?1 ORDER BY step_index, kind";


/*
** Up to limit rows of st (bound for one more) as objects; *next is the
** last one's problem_id when there was one more, else NULL.  NULL when the
** store could not be read.
*/
static json_t *
read_page(sqlite3_stmt *st, int64_t limit, json_t **next)
{
    json_t *rows = json_array();
    int rc;

    *next = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (json_array_size(rows) == (size_t)limit) {
            *next = json_incref(json_object_get(
                json_array_get(rows, (size_t)limit - 1), "problem_id"));
            break;
        }
        json_array_append_new(rows, con_row(st));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}


void
con_api_problems(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {
        "run", "after", "limit", "outcome", "regenerated", "text", NULL};
    static const char *const regen[] = {"any", "yes", "no", NULL};
    int64_t run, after, limit, end = INT64_MAX;
    int outcome, regenerated;
    char search[SEARCH_MAX + 1];
    const char *text = con_arg(q, "text");
    sqlite3_stmt *st;
    json_t *rows, *next = NULL;

    if (con_args_check(q, names, out) < 0 ||
        con_arg_int(q, "run", 1, INT64_MAX, 0, &run, out) < 0 ||
        con_arg_int(q, "after", 0, INT64_MAX, 0, &after, out) < 0 ||
        con_arg_int(q, "limit", 1, PAGE_MAX, 50, &limit, out) < 0 ||
        con_arg_enum(q, "outcome", s_outcomes, 0, &outcome, out) < 0 ||
        con_arg_enum(q, "regenerated", regen, 0, &regenerated, out) < 0)
        return;
    if (run == 0) {
        con_reply_error(out, 400, "run", "run: missing (a run id)");
        return;
    }
    if (text != NULL && strlen(text) > SEARCH_MAX) {
        con_reply_error(out, 400, "text", "text: longer than %d bytes",
                        SEARCH_MAX);
        return;
    }
    if (text != NULL && *text != '\0' &&
        search_end(c, run, after, &end, out) < 0)
        return;
    if ((st = con_stmt(c, CON_Q_PROBLEMS, s_problems_sql, out)) == NULL)
        return;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, outcome);
    sqlite3_bind_int(st, 4, regenerated == 0 ? -1 : regenerated == 1 ? 1 : 0);
    if (text != NULL && *text != '\0') {
        /* SQLite's lower() folds ASCII only; so does this. */
        size_t i;
        for (i = 0; text[i] != '\0'; i++)
            search[i] = (char)tolower((unsigned char)text[i]);
        search[i] = '\0';
        sqlite3_bind_text(st, 5, search, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 6, limit + 1); /* one more: is there a next page */
    sqlite3_bind_int64(st, 7, end);
    if ((rows = read_page(st, limit, &next)) == NULL) {
        con_reply_db_error(c, out, "reading problems");
        return;
    }
    /* A bounded search that did not fill the page goes on after end. */
    json_t *searched = json_null();
    if (next == NULL && end != INT64_MAX) {
        next = json_integer(end);
        searched = json_integer(end);
    }
    con_reply_json(
        out, 200,
        json_pack("{s:I,s:o,s:o,s:o}", "run", (json_int_t)run, "problems", rows,
                  "next", next ? next : json_null(), "searched_to", searched));
}


/*
** The threshold a draft's PRM score is held against under policy, for the
** trace's chart: K of thr:K, else NaN (other policies decide otherwise).
*/
static double
policy_threshold(const char *policy)
{
    char *end;
    double k;

    if (policy == NULL || strncmp(policy, "thr:", 4) != 0)
        return NAN;
    k = strtod(policy + 4, &end);
    return end != policy + 4 && *end == '\0' ? k : NAN;
}


/* The step's belief (JSON text) as JSON, when it parses. */
static void
parse_belief(json_t *step)
{
    const char *text = json_string_value(json_object_get(step, "belief"));
    json_t *b;

    if (text != NULL && (b = json_loads(text, 0, NULL)) != NULL)
        json_object_set_new(step, "belief", b);
}


/*
** Read the steps of problem id into steps, one entry per step index:
** {"step_index", "draft": row or null, "strong": row or null}.  Returns 0,
** or -1 with the reply in out.
*/
static int
read_steps(console_t *c, int64_t id, json_t *steps, con_reply_t *out)
{
    sqlite3_stmt *st = con_stmt(c, CON_Q_STEPS, s_steps_sql, out);
    json_t *at = NULL;
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = con_row(st);
        json_int_t index = sqlite3_column_int64(st, 1);
        const char *kind = (const char *)sqlite3_column_text(st, 2);
        if (row == NULL)
            break;
        parse_belief(row);
        if (at == NULL ||
            json_integer_value(json_object_get(at, "step_index")) != index) {
            at = json_pack("{s:I,s:n,s:n}", "step_index", index, "draft",
                           "strong");
            json_array_append_new(steps, at);
        }
        json_object_set_new(
            at, kind && strcmp(kind, "strong") == 0 ? "strong" : "draft", row);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        con_reply_db_error(c, out, "reading steps");
        return -1;
    }
    return 0;
}


void
con_api_problem(console_t *c, const con_req_t *q, con_reply_t *out)
{
    static const char *const names[] = {"id", "run", NULL};
    int64_t id, run;
    sqlite3_stmt *st;
    json_t *problem = NULL, *steps = NULL;
    double threshold;
    int rc;

    if (con_args_check(q, names, out) < 0 ||
        con_arg_int(q, "id", 1, INT64_MAX, 0, &id, out) < 0 ||
        con_arg_int(q, "run", 1, INT64_MAX, 0, &run, out) < 0)
        return;
    if (id == 0) {
        con_reply_error(out, 400, "id", "id: missing (a problem id)");
        return;
    }
    if ((st = con_stmt(c, CON_Q_PROBLEM, s_problem_sql, out)) == NULL)
        return;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        problem = con_row(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        con_reply_db_error(c, out, "reading a problem");
        return;
    }
    if (problem == NULL || (run > 0 && json_integer_value(json_object_get(
                                           problem, "run_id")) != run)) {
        json_decref(problem);
        if (run > 0)
            con_reply_error(out, 404, "id", "no problem %lld in run %lld",
                            (long long)id, (long long)run);
        else
            con_reply_error(out, 404, "id", "no problem %lld", (long long)id);
        return;
    }
    steps = json_array();
    if (read_steps(c, id, steps, out) < 0) {
        json_decref(problem);
        json_decref(steps);
        return;
    }
    if (con_dollars_problem(c, problem, steps) < 0) {
        con_reply_db_error(c, out, "reading the tokens of a problem");
        json_decref(problem);
        json_decref(steps);
        return;
    }
    threshold =
        policy_threshold(json_string_value(json_object_get(problem, "policy")));
    con_reply_json(
        out, 200,
        json_pack("{s:o,s:o,s:o}", "problem", problem, "threshold",
                  isnan(threshold) ? json_null() : json_real(threshold),
                  "steps", steps));
}
