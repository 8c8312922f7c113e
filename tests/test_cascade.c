/*
** test_cascade.c: the query-level cascade, cascade:K, in one process
** (`trim run`) and over TCP (coordinator, router and worker processes).
**
** A cascade solves each problem with the weak model, has the PRM score the
** whole solution once, and below K has the strong model solve it again from
** scratch.  The simulator is deterministic in (seed, model, prompt), so a
** cascade's weak phase must be the weak-only run's solution and its
** re-solves the strong-only run's: the tests run weak and strong once on the
** same problems and check every cascade row against them, besides the
** cascade's own rules read from the audit store (one decision per problem
** from the minimum step score against K, one scoring call, the token
** accounting of kept and re-solved problems).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cluster.h"
#include "testutil.h"

#define PROBLEMS 60
#define SEED     7

/* The weak-only and strong-only runs every cascade is checked against. */
typedef struct anchors {
    cluster_t dir; /* its directory holds every database */
    char weak_db[400], strong_db[400];
    json_t *weak, *strong; /* their summaries */
} anchors_t;


static int
setup(void **state)
{
    anchors_t *a = calloc(1, sizeof *a);
    assert_non_null(a);
    cluster_init(&a->dir);
    a->weak = cluster_local_run(&a->dir, "weak.db", PROBLEMS, SEED, "weak",
                                a->weak_db, sizeof a->weak_db);
    a->strong = cluster_local_run(&a->dir, "strong.db", PROBLEMS, SEED,
                                  "strong", a->strong_db, sizeof a->strong_db);
    *state = a;
    return 0;
}


static int
teardown(void **state)
{
    anchors_t *a = *state;
    json_decref(a->weak);
    json_decref(a->strong);
    free(a);
    return 0;
}


/* The problems of db's cascade decided "regenerate" (re-solved). */
static int64_t
resolved(sqlite3 *h)
{
    return sql_int(h, "SELECT COUNT(DISTINCT problem_id) FROM steps WHERE "
                      "kind='draft' AND decision='regenerate'");
}


/*
** Check the cascade:K run in db (its only run) against its own rules and
** against the anchors; decider is who must have decided.  Returns how many
** problems were re-solved.
*/
static int64_t
check_cascade(const anchors_t *a, const char *db, json_t *summary, double k,
              const char *decider)
{
    sqlite3 *h;
    char sql[1024];

    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM problems WHERE "
                                "status='finished'"),
                     PROBLEMS);

    /* One decision per problem, on every weak step alike, by decider. */
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM (SELECT problem_id FROM steps WHERE "
                   "kind='draft' GROUP BY problem_id HAVING "
                   "COUNT(DISTINCT decision) <> 1 OR COUNT(decision) <> "
                   "COUNT(*) OR COUNT(DISTINCT reason) <> 1 OR "
                   "COUNT(DISTINCT decided_by) <> 1)"),
        0);
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM steps WHERE kind='draft' "
                             "AND (decided_by IS NOT '%s' OR policy IS NOT "
                             "(SELECT policy FROM runs))",
                             decider),
                     0);
    /* The solution's score is its weakest step's: regenerate iff below K,
    ** and the reason says which way the comparison went. */
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "kind='draft' AND NOT (prm_score BETWEEN 0 "
                                "AND 1)"),
                     0);
    assert_int_equal(
        sql_int(h,
                "SELECT COUNT(*) FROM (SELECT MIN(prm_score) AS score, "
                "MAX(decision) AS d, MAX(reason) AS why FROM steps WHERE "
                "kind='draft' GROUP BY problem_id) WHERE (score < %.17g) <> "
                "(d = 'regenerate') OR why NOT LIKE 'cascade: solution "
                "score %%' OR (d = 'regenerate') <> (why LIKE '%% < %%')",
                k),
        0);
    /* One scoring call per problem, recorded on its last weak step. */
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM problems p WHERE (SELECT COUNT(*) "
                   "FROM steps s WHERE s.problem_id = p.problem_id AND "
                   "s.prm_tokens > 0) <> 1 OR (SELECT step_index FROM steps s "
                   "WHERE s.problem_id = p.problem_id AND s.prm_tokens > 0) <> "
                   "(SELECT MAX(step_index) FROM steps s WHERE s.problem_id = "
                   "p.problem_id AND s.kind = 'draft') OR p.prm_tokens <> "
                   "(SELECT SUM(prm_tokens) FROM steps s WHERE s.problem_id = "
                   "p.problem_id)"),
        0);

    /* Kept: the weak steps are the solution; no strong token is spent. */
    static const char weak_phase[] =
        "(SELECT problem_id, MAX(decision) AS d, COUNT(*) AS n, "
        "SUM(accepted) AS kept, SUM(completion_tokens) AS tokens FROM steps "
        "WHERE kind='draft' GROUP BY problem_id) w";
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM problems p JOIN %s USING (problem_id) "
             "WHERE w.d = 'keep' AND (w.kept <> w.n OR p.steps <> w.n OR "
             "p.weak_tokens <> w.tokens OR p.strong_tokens <> 0 OR "
             "p.discarded_tokens <> 0 OR p.regenerated_steps <> 0 OR EXISTS "
             "(SELECT 1 FROM steps s WHERE s.problem_id = p.problem_id AND "
             "s.kind = 'strong'))",
             weak_phase);
    assert_int_equal(sql_int(h, "%s", sql), 0);
    /* Re-solved: every weak step discarded, the strong steps 0..n-1 are
    ** the solution, and the tokens say so. */
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM problems p JOIN %s USING (problem_id) "
             "WHERE w.d = 'regenerate' AND (w.kept <> 0 OR p.weak_tokens <> "
             "0 OR p.discarded_tokens <> w.tokens OR p.regenerated_steps <> "
             "w.n OR p.steps <> (SELECT COUNT(*) FROM steps s WHERE "
             "s.problem_id = p.problem_id AND s.kind = 'strong' AND "
             "s.accepted = 1) OR p.steps - 1 <> (SELECT MAX(step_index) FROM "
             "steps s WHERE s.problem_id = p.problem_id AND s.kind = "
             "'strong') OR p.strong_tokens <> (SELECT SUM(completion_tokens) "
             "FROM steps s WHERE s.problem_id = p.problem_id AND s.kind = "
             "'strong'))",
             weak_phase);
    assert_int_equal(sql_int(h, "%s", sql), 0);

    /* Against the anchors: the weak phase is the weak-only run, each
    ** re-solve the strong-only run's solution, and the outcome follows. */
    snprintf(sql, sizeof sql, "ATTACH '%s' AS w", a->weak_db);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS s", a->strong_db);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    static const char draft_cols[] =
        "problem_id, step_index, text, completion_tokens, finish";
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM (SELECT %s FROM "
                             "main.steps WHERE kind='draft' EXCEPT SELECT "
                             "%s FROM w.steps)",
                             draft_cols, draft_cols),
                     0);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM main.steps WHERE "
                                "kind='draft'"),
                     sql_int(h, "SELECT COUNT(*) FROM w.steps"));
    static const char strong_again[] =
        "problem_id IN (SELECT problem_id FROM main.steps WHERE "
        "decision='regenerate')";
    assert_int_equal(sql_int(h,
                             "SELECT COUNT(*) FROM (SELECT %s FROM "
                             "main.steps WHERE kind='strong' EXCEPT SELECT "
                             "%s FROM s.steps WHERE %s)",
                             draft_cols, draft_cols, strong_again),
                     0);
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM main.steps WHERE kind='strong'"),
        sql_int(h, "SELECT COUNT(*) FROM s.steps WHERE %s", strong_again));
    assert_int_equal(
        sql_int(h,
                "SELECT COUNT(*) FROM main.problems p JOIN w.problems pw "
                "USING (problem_id) JOIN s.problems ps USING (problem_id) "
                "WHERE p.correct <> CASE WHEN p.%s THEN ps.correct ELSE "
                "pw.correct END",
                strong_again),
        0);

    /* The run's summary adds up the problems' rows. */
    static const char *const totals[] = {
        "correct",       "steps",      "regenerated_steps", "weak_tokens",
        "strong_tokens", "prm_tokens", "discarded_tokens",
    };
    for (size_t i = 0; i < sizeof totals / sizeof *totals; i++)
        if (jint(summary, totals[i]) !=
            sql_int(h, "SELECT SUM(%s) FROM main.problems", totals[i]))
            fail_msg("summary %s %lld differs from the problems' rows",
                     totals[i], (long long)jint(summary, totals[i]));
    assert_int_equal(jint(summary, "routed_steps"), PROBLEMS);
    int64_t n = resolved(h);
    sqlite3_close(h);
    return n;
}


/* cascade:0 never re-solves; cascade:1 re-solves every problem. */
static void
test_cascade_extremes(void **state)
{
    anchors_t *a = *state;
    char db[400];

    json_t *none = cluster_local_run(&a->dir, "cascade0.db", PROBLEMS, SEED,
                                     "cascade:0", db, sizeof db);
    assert_int_equal(check_cascade(a, db, none, 0.0, "router:router-1"), 0);
    assert_int_equal(jint(none, "strong_tokens"), 0);
    assert_int_equal(jint(none, "weak_tokens"), jint(a->weak, "weak_tokens"));
    assert_int_equal(jint(none, "correct"), jint(a->weak, "correct"));
    json_decref(none);

    json_t *all = cluster_local_run(&a->dir, "cascade1.db", PROBLEMS, SEED,
                                    "cascade:1", db, sizeof db);
    assert_int_equal(check_cascade(a, db, all, 1.0, "router:router-1"),
                     PROBLEMS);
    assert_int_equal(jint(all, "strong_tokens"),
                     jint(a->strong, "strong_tokens"));
    assert_int_equal(jint(all, "discarded_tokens"),
                     jint(a->weak, "weak_tokens"));
    assert_int_equal(jint(all, "weak_tokens"), 0);
    assert_int_equal(jint(all, "correct"), jint(a->strong, "correct"));
    json_decref(all);
}


/* cascade:0.5 keeps some problems and re-solves others, in one process and
** over TCP alike. */
static void
test_cascade_in_process_and_cluster(void **state)
{
    anchors_t *a = *state;
    char local_db[400];
    cluster_t k;

    json_t *one = cluster_local_run(&a->dir, "cascade.db", PROBLEMS, SEED,
                                    "cascade:0.5", local_db, sizeof local_db);
    int64_t n = check_cascade(a, local_db, one, 0.5, "router:router-1");
    assert_true(n > 0 && n < PROBLEMS);
    assert_true(jint(one, "strong_tokens") > 0);
    assert_true(jint(one, "strong_tokens") < jint(a->strong, "strong_tokens"));

    cluster_init(&k);
    cluster_start_one_each(&k, NULL, "0", "16");
    int64_t run = cluster_submit_sim(&k, PROBLEMS, SEED, "cascade:0.5");
    assert_int_equal(run, 1);
    json_t *tcp = cluster_wait_result(&k, cluster_spawn_wait(&k, run));
    cluster_stop(&k);
    assert_int_equal(check_cascade(a, k.db, tcp, 0.5, "router:router-1"), n);
    cluster_same_steps(k.db, local_db);
    json_decref(tcp);
    json_decref(one);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cascade_extremes),
        cmocka_unit_test(test_cascade_in_process_and_cluster),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
