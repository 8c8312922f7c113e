/*
** test_paging.c: the coordinator's admission window (coordinator/paging.c)
** and `trim run`'s lazy problems, through local_run (a whole cluster in
** this process, the simulator's deterministic models).
**
** 2,000 problems with a window of 64: never more than 64 wait in memory
** (coord_stats_t.window_peak), the feeder making them only as the window
** empties; every problem is solved once, and with one problem in flight at
** a time they start in id order (the first step row of each comes after
** the previous problem's).
**
** Restart: the run is interrupted with a window of 256 full, and resumed
** with a window of 16, so recovery keeps 16 of the unfinished problems in
** memory and pages the other hundred or more back from the store as the
** window empties; then the feeder goes on with the problems never submitted.
*The
** resumed run must end with every problem solved once, in order, and the
** same answers, step counts and tokens as an uninterrupted run.
**
** Over TCP: `trim submit` of 1,000 problems to a coordinator with a window
** of 32 (nearly all paged at once), which is killed with SIGKILL mid-run
** and started again on its store; the run finishes with every problem's
** steps once, and the same step rows as the problems solved in one
** process.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cluster.h"
#include "local.h"
#include "log.h"
#include "testutil.h"

#define PROBLEMS 2000


/* Interrupt the run once this many problems have finished. */
typedef struct stopper {
    atomic_int flag;
    int64_t after;
} stopper_t;


static void
stop_after(void *ctx, const coord_stats_t *s)
{
    stopper_t *x = ctx;

    if (s != NULL && s->finished >= x->after)
        atomic_store(&x->flag, 1);
}


static void
run(const char *db, int64_t window, int64_t resume, stopper_t *stop,
    local_result_t *res)
{
    local_opts_t o = {0};
    char err[512];

    o.policy = "thr:0.5";
    o.seed = 3;
    o.problems = PROBLEMS;
    o.db = db;
    o.concurrency = 1; /* one at a time: admission order is row order */
    o.queue_window = window;
    o.resume_run = resume;
    if (stop != NULL) {
        o.interrupt = &stop->flag;
        o.progress = stop_after;
        o.progress_ctx = stop;
    }
    if (local_run(&o, res, err, sizeof err) < 0)
        fail_msg("local_run: %s", err);
}


/*
** Every problem of the store's only run finished once, and started in id
** order: each one's first step row was written after the previous one's.
*/
static void
check_once_in_order(const char *db)
{
    sqlite3 *h;

    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM problems WHERE status = "
                                "'finished'"),
                     PROBLEMS);
    assert_int_equal(sql_int(h, "SELECT count(DISTINCT source) FROM problems"),
                     PROBLEMS);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM (SELECT problem_id, "
                                "min(rowid) AS first FROM steps GROUP BY "
                                "problem_id) a JOIN (SELECT problem_id, "
                                "min(rowid) AS first FROM steps GROUP BY "
                                "problem_id) b ON b.problem_id > "
                                "a.problem_id AND b.first < a.first"),
                     0);
    sqlite3_close(h);
}


static void
test_window_bounds_the_queue(void **state)
{
    char db[256];
    local_result_t res;

    (void)state;
    test_tmp_path(db, sizeof db, "paging-window.db");
    run(db, 64, 0, NULL, &res);
    assert_int_equal(res.stats.finished, PROBLEMS);
    assert_true(res.stats.window_peak <= 64);
    assert_int_equal(res.stats.paged, 0);
    check_once_in_order(db);
    test_remove_db(db);
}


static void
test_restart_with_paged_problems(void **state)
{
    char ref[256], db[256];
    local_result_t res;
    stopper_t stop = {0};
    sqlite3 *h;

    (void)state;
    test_tmp_path(ref, sizeof ref, "paging-ref.db");
    test_tmp_path(db, sizeof db, "paging-restart.db");
    run(ref, 0, 0, NULL, &res);

    stop.after = 300;
    run(db, 256, 0, &stop, &res);
    assert_true(res.interrupted);
    int64_t run_id = res.run_id, done = res.stats.finished;
    assert_true(done >= 300 && done < PROBLEMS - 256);

    run(db, 16, run_id, NULL, &res);
    assert_false(res.interrupted);
    /* The window was full when the run stopped: recovery took back more
    ** problems than the new window holds, and kept the window all along. */
    assert_true(res.resumed > 16 + 100);
    assert_true(res.stats.window_peak <= 16);
    assert_int_equal(done + res.stats.finished, PROBLEMS);
    check_once_in_order(db);

    /* Solved as the uninterrupted run solved them. */
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char attach[300];
    snprintf(attach, sizeof attach, "ATTACH '%s' AS ref", ref);
    assert_int_equal(sqlite3_exec(h, attach, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sql_int(h, "SELECT count(*) FROM problems p JOIN ref.problems r "
                   "USING (source) WHERE p.final_answer IS r.final_answer AND "
                   "p.correct = r.correct AND p.steps = r.steps AND "
                   "p.weak_tokens = r.weak_tokens AND p.strong_tokens = "
                   "r.strong_tokens AND p.prm_tokens = r.prm_tokens"),
        PROBLEMS);
    sqlite3_close(h);
    test_remove_db(ref);
    test_remove_db(db);
}


static void
test_submit_killed_coordinator(void **state)
{
    const char *const window[] = {"--queue-window", "32", NULL};
    char ref[400];
    cluster_t k;

    (void)state;
    cluster_init(&k);
    cluster_start_one_each(&k, window, "0", "16");
    int64_t run_id = cluster_submit_sim(&k, 1000, 7, "thr:0.5");
    int waiter = cluster_spawn_wait(&k, run_id);
    cluster_wait_finished(&k, 300);
    cluster_kill(&k, k.coord);
    cluster_start_coordinator(&k, window);
    json_t *got = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(got, "finished"), 1000);
    cluster_stop(&k);
    cluster_check_steps(k.db);

    json_t *one =
        cluster_local_run(&k, "ref.db", 1000, 7, "thr:0.5", ref, sizeof ref);
    assert_int_equal(jint(got, "correct"), jint(one, "correct"));
    assert_int_equal(jint(got, "steps"), jint(one, "steps"));
    assert_int_equal(jint(got, "strong_tokens"), jint(one, "strong_tokens"));
    cluster_same_steps(k.db, ref); /* ids in the same order, row for row */
    json_decref(got);
    json_decref(one);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_bounds_the_queue),
        cmocka_unit_test(test_restart_with_paged_problems),
        cmocka_unit_test(test_submit_killed_coordinator),
    };
    tlog_set_level(TLOG_WARN);
    local_tune_malloc();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
