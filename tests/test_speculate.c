/*
** test_speculate.c: speculative next-step drafting changes nothing but the
** time and the wasted drafts.
**
** Each step-level policy (thr, pomdp, agg, seq) and the cascade baseline
** runs `trim run` twice on the same seed, without and with --speculate, and
** the two audit stores must hold the same problems and the same step rows:
** text, tokens, scores, features, decisions, reasons, beliefs, acceptance.
** The speculative store also says what speculation did: used drafts
** (steps.speculative), wasted ones (wasted_drafts) and their tokens in the
** run summary.  A cascade drafts its weak solution with no decision between
** steps, so there is nothing to overlap: it must not speculate at all.
**
** Faults with speculative requests in flight, over TCP with real worker
** processes: a small worker killed while it holds them, a small worker that
** answers past the request deadline, the coordinator killed and restarted
** on its store.  Every problem still ends once, and the steps are those of
** a run in one process without speculation.
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

#include "agg.h"
#include "cluster.h"
#include "seq.h"
#include "testutil.h"
#include "train.h"

/* Step and problem columns that must agree (all but timings, workers and
** the wall clock). */
#define STEP_COLS                                                              \
    "problem_id, step_index, kind, attempt, text, prompt_tokens,"              \
    " completion_tokens, finish, prm_score, min_prev_score, prod_prev_score,"  \
    " prm_tokens, prm_padded, decision, policy, reason, action_prob, belief,"  \
    " accepted"
#define PROBLEM_COLS                                                           \
    "problem_id, status, final_answer, correct, steps, regenerated_steps,"     \
    " weak_tokens, strong_tokens, discarded_tokens, prm_tokens, error"


/* `trim run` of policy into db with flags; its --json summary. */
static json_t *
run(const char *db, const char *policy, const char *flags)
{
    char cmd[1024], *out;
    json_error_t jerr;
    int status;

    test_remove_db(db);
    snprintf(cmd, sizeof cmd,
             "%s run --db %s --policy %s --problems 80 --seed 5"
             " --concurrency 8 --json --no-progress %s",
             test_bin(), db, policy, flags);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 0);
    json_t *j = json_loads(out, 0, &jerr);
    if (j == NULL)
        fail_msg("summary is not JSON (%s): %s", jerr.text, out);
    free(out);
    return j;
}


/* Rows of table's cols in a but not in b, one way. */
static int64_t
missing(sqlite3 *h, const char *cols, const char *table, const char *a,
        const char *b)
{
    return sql_int(h,
                   "SELECT count(*) FROM (SELECT %s FROM %s.%s EXCEPT "
                   "SELECT %s FROM %s.%s)",
                   cols, a, table, cols, b, table);
}


/*
** The stores off and on hold the same problems and step rows; returns how
** many step rows each holds.
*/
static int64_t
assert_same_rows(const char *off, const char *on)
{
    sqlite3 *h;

    assert_int_equal(sqlite3_open(":memory:", &h), SQLITE_OK);
    char sql[1024];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS a; ATTACH '%s' AS b", off, on);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    int64_t n = sql_int(h, "SELECT count(*) FROM a.steps");
    assert_true(n > 0);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM b.steps"), n);
    assert_int_equal(missing(h, STEP_COLS, "steps", "a", "b"), 0);
    assert_int_equal(missing(h, STEP_COLS, "steps", "b", "a"), 0);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM a.problems"),
                     sql_int(h, "SELECT count(*) FROM b.problems"));
    assert_int_equal(missing(h, PROBLEM_COLS, "problems", "a", "b"), 0);
    assert_int_equal(missing(h, PROBLEM_COLS, "problems", "b", "a"), 0);
    /* Without speculation no row says speculative and none is wasted. */
    assert_int_equal(sql_int(h, "SELECT count(*) FROM a.speculative_drafts"),
                     0);
    sqlite3_close(h);
    return n;
}


/* The integer key of a summary, which must have it. */
static int64_t
must_int(json_t *j, const char *key)
{
    if (!json_is_integer(json_object_get(j, key)))
        fail_msg("summary has no integer '%s'", key);
    return jint(j, key);
}


/*
** What the speculative run's store says about speculation: used drafts are
** routed drafts of steps after a kept draft, wasted ones come after a
** regenerated draft, and the summary's wasted tokens are theirs.
*/
static void
check_speculation(const char *db, json_t *sum, int routed)
{
    sqlite3 *h;

    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    int64_t used = sql_int(h, "SELECT count(*) FROM steps WHERE speculative");
    int64_t wasted = sql_int(h, "SELECT count(*) FROM wasted_drafts");
    assert_int_equal(must_int(sum, "wasted_tokens"),
                     sql_int(h, "SELECT coalesce(sum(completion_tokens), 0)"
                                " FROM wasted_drafts"));
    if (!routed) {
        assert_int_equal(used + wasted, 0);
        sqlite3_close(h);
        return;
    }
    assert_true(used > 0);
    assert_true(wasted > 0);
    /* A used speculative draft follows a kept draft of the step before. */
    assert_int_equal(
        sql_int(h, "SELECT count(*) FROM steps s WHERE s.speculative AND"
                   " NOT EXISTS (SELECT 1 FROM steps d WHERE"
                   " d.problem_id = s.problem_id AND d.kind = 'draft' AND"
                   " d.step_index = s.step_index - 1 AND"
                   " d.decision = 'keep')"),
        0);
    /* A wasted one drafted the step after a regenerated draft. */
    assert_int_equal(
        sql_int(h, "SELECT count(*) FROM wasted_drafts w WHERE NOT EXISTS"
                   " (SELECT 1 FROM steps d WHERE d.problem_id = w.problem_id"
                   " AND d.kind = 'draft' AND d.step_index = w.step_index - 1"
                   " AND d.decision = 'regenerate')"),
        0);
    sqlite3_close(h);
}


/* Run policy without and with speculation (mode) and compare. */
static void
compare(const char *policy, const char *mode, int routed)
{
    char off[512], on[512], flags[64];

    test_tmp_path(off, sizeof off, "off.db");
    test_tmp_path(on, sizeof on, "on.db");
    json_t *a = run(off, policy, "");
    snprintf(flags, sizeof flags, "--speculate %s", mode);
    json_t *b = run(on, policy, flags);
    int64_t rows = assert_same_rows(off, on);
    check_speculation(on, b, routed);
    assert_int_equal(must_int(a, "wasted_tokens"), 0);
    print_message("%s --speculate %s: %lld step rows alike, %lld wasted "
                  "draft tokens\n",
                  policy, mode, (long long)rows,
                  (long long)must_int(b, "wasted_tokens"));
    json_decref(a);
    json_decref(b);
}


static void
test_thr(void **state)
{
    (void)state;
    compare("thr:0.5", "on", 1);
    compare("thr:0.5", "guard", 1);
}


static void
test_pomdp(void **state)
{
    (void)state;
    compare("pomdp:0.001", "on", 1);
}


static void
test_agg(void **state)
{
    char path[512], spec[600], err[256];
    agg_model_t *m = agg_model_new(2, 16, 1e-3, err, sizeof err);

    (void)state;
    assert_non_null(m);
    agg_init(m, 0.6, 10, 7);
    test_tmp_path(path, sizeof path, "p.agg");
    assert_int_equal(agg_model_save(m, path, err, sizeof err), 0);
    agg_model_destroy(&m);
    snprintf(spec, sizeof spec, "agg:%s", path);
    compare(spec, "on", 1);
}


static void
test_seq(void **state)
{
    char path[512], spec[600], err[256];
    seq_model_t *m = seq_model_new(4, 1, 6, 1e-3, err, sizeof err);

    (void)state;
    assert_non_null(m);
    seq_init(m, 0.4, 10, 7);
    test_tmp_path(path, sizeof path, "p.seq");
    assert_int_equal(seq_model_save(m, path, err, sizeof err), 0);
    seq_model_destroy(&m);
    snprintf(spec, sizeof spec, "seq:%s", path);
    compare(spec, "on", 1);
}


static void
test_cascade_does_not_speculate(void **state)
{
    (void)state;
    compare("cascade:0.5", "on", 0);
}


static const char *const spec_coord[] = {
    "--router-fallback",     "local", "--speculate", "on",
    "--request-deadline-ms", "400",   NULL};


static void
test_faults_with_speculation_in_flight(void **state)
{
    cluster_t k;
    char local_db[400], log[400];

    (void)state;
    cluster_init(&k);
    cluster_start_coordinator(&k, spec_coord);
    cluster_start_router(&k, "router-1", NULL);
    /* Drafts take 30 ms and scoring 5: most decisions come while the next
    ** step's speculative draft is in flight.  small-slow answers after the
    ** 400 ms deadline: what it holds, speculative or not, is asked again
    ** elsewhere (or forgotten) and its late replies are stale. */
    int doomed = cluster_start_worker(&k, "small", "small-1", "30", "4", NULL);
    cluster_start_worker(&k, "small", "small-2", "30", "4", NULL);
    cluster_start_worker(&k, "small", "small-slow", "1500", "2", NULL);
    cluster_start_worker(&k, "large", "large-1", "2", "8", NULL);
    cluster_start_worker(&k, "prm", "prm-1", "5", "16", NULL);
    cluster_wait_pools(&k, 3, 1, 1, 1);
    int64_t run_id = cluster_submit_sim(&k, 120, 5, "thr:0.5");
    int waiter = cluster_spawn_wait(&k, run_id);

    cluster_wait_finished(&k, 10);
    cluster_wait_busy(&k, "small");
    cluster_kill(&k, doomed);
    cluster_wait_finished(&k, 60);
    cluster_kill(&k, k.coord);
    cluster_start_coordinator(&k, spec_coord);

    json_t *sum = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(sum, "problems"), 120);
    assert_int_equal(jint(sum, "finished"), 120);
    json_decref(sum);
    cluster_stop(&k);
    cluster_check_steps(k.db);
    cluster_path(&k, "coordinator.log", log, sizeof log);
    assert_true(test_file_contains(log, "dropped small peer small-1"));
    assert_true(test_file_contains(log, "recovered"));

    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_true(sql_int(h, "SELECT count(*) FROM steps WHERE speculative") > 0);
    assert_true(sql_int(h, "SELECT count(*) FROM wasted_drafts") > 0);
    sqlite3_close(h);
    json_t *one = cluster_local_run(&k, "local.db", 120, 5, "thr:0.5", local_db,
                                    sizeof local_db);
    json_decref(one);
    cluster_same_steps(k.db, local_db);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thr),
        cmocka_unit_test(test_pomdp),
        cmocka_unit_test(test_agg),
        cmocka_unit_test(test_seq),
        cmocka_unit_test(test_cascade_does_not_speculate),
        cmocka_unit_test(test_faults_with_speculation_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
