/*
** test_hops.c: where the time went, on a cluster of real processes over TCP
** whose simulated workers take a modelled time per call (small 2 ms, large
** 3 ms, PRM 1 ms).
**
** Every step row has its timings: the model call at least what the
** latency model says, a routed draft's PRM and router round trips, and a
** whole time (step_us) no less than its waits and calls together, the PRM's
** and router's queue waits within its queue wait.  `trim stats --json`
** counts each hop on the rows where it happened and its percentiles are
** consistent with them; `trim audit --run N` prints the same table.  The
** same holds with --speculate, whose used drafts are timed from when they
** were asked for.
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


/* The hop named hop in pool in `trim stats --json`'s array. */
static json_t *
hop(json_t *stats, const char *name, const char *pool)
{
    size_t i;
    json_t *h;

    json_array_foreach(json_object_get(stats, "hops"), i, h)
    {
        if (strcmp(json_string_value(json_object_get(h, "hop")), name) == 0 &&
            strcmp(json_string_value(json_object_get(h, "pool")), pool) == 0)
            return h;
    }
    fail_msg("no hop '%s' of pool '%s'", name, pool);
    return NULL;
}


/* A run on the cluster whose coordinator has coord_flags (may be NULL). */
static void
check_timings(const char *const *coord_flags)
{
    cluster_t k;
    char *out, *err;
    json_error_t jerr;

    cluster_init(&k);
    cluster_start_coordinator(&k, coord_flags);
    cluster_start_router(&k, "router-1", NULL);
    cluster_start_worker(&k, "small", "small-1", "2", "4", NULL);
    cluster_start_worker(&k, "large", "large-1", "3", "4", NULL);
    cluster_start_worker(&k, "prm", "prm-1", "1", "4", NULL);
    cluster_wait_pools(&k, 1, 1, 1, 1);
    int64_t run = cluster_submit_sim(&k, 16, 3, "thr:0.5");
    json_decref(cluster_wait_result(&k, cluster_spawn_wait(&k, run)));
    cluster_stop(&k);

    sqlite3 *h;
    assert_int_equal(sqlite3_open(k.db, &h), SQLITE_OK);
    int64_t drafts = sql_int(h, "SELECT count(*) FROM steps WHERE kind ="
                                " 'draft'");
    int64_t strong = sql_int(h, "SELECT count(*) FROM steps WHERE kind ="
                                " 'strong'");
    int64_t steps = sql_int(h, "SELECT count(DISTINCT problem_id * 1000 +"
                               " step_index) FROM steps");
    assert_true(drafts > 30);
    assert_true(strong > 0); /* thr:0.5 regenerates some */
    /* The model calls took at least the modelled time. */
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE latency_us <"
                                " CASE kind WHEN 'draft' THEN 2000"
                                " ELSE 3000 END"),
                     0);
    /* Every draft was scored (>= 1 ms) and routed; strong steps neither. */
    assert_int_equal(sql_int(h,
                             "SELECT count(*) FROM steps WHERE kind ="
                             " 'draft' AND (prm_us < 1000 OR route_us <= 0)"),
                     0);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE kind ="
                                " 'strong' AND (prm_us + route_us +"
                                " prm_queue_us + route_queue_us) <> 0"),
                     0);
    /* The whole is no less than its parts; the pools' waits within it. */
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE step_us <"
                                " queue_us + latency_us + prm_us + route_us"
                                " OR prm_queue_us + route_queue_us > queue_us"
                                " OR prm_queue_us < 0 OR route_queue_us < 0"
                                " OR queue_us < 0"),
                     0);
    /* With --speculate some drafts were asked for while their previous
    ** step was scored (25 of ~130 rows when measured), so the checks
    ** above covered their rows too. */
    if (coord_flags != NULL)
        assert_true(sql_int(h, "SELECT count(*) FROM steps WHERE"
                               " speculative = 1") > 0);
    sqlite3_close(h);

    assert_int_equal(test_trim_in(k.dir, &out, &err,
                                  "stats --db %s --run %lld --json", k.db,
                                  (long long)run),
                     0);
    json_t *stats = json_loads(out, 0, &jerr);
    assert_non_null(stats);
    free(out);
    free(err);
    assert_int_equal(json_integer_value(json_object_get(stats, "run")), run);
    json_t *small_q = hop(stats, "queue wait", "small");
    json_t *draft = hop(stats, "draft call", "small");
    json_t *strong_call = hop(stats, "strong call", "large");
    json_t *prm = hop(stats, "PRM call", "prm");
    json_t *route = hop(stats, "routing decision", "router");
    json_t *step = hop(stats, "whole step", "-");
    json_t *problem = hop(stats, "whole problem", "-");
    assert_int_equal(jint(small_q, "n"), drafts);
    assert_int_equal(jint(draft, "n"), drafts);
    assert_int_equal(jint(hop(stats, "queue wait", "large"), "n"), strong);
    assert_int_equal(jint(strong_call, "n"), strong);
    assert_int_equal(jint(prm, "n"), drafts);
    assert_int_equal(jint(hop(stats, "queue wait", "prm"), "n"), drafts);
    assert_int_equal(jint(route, "n"), drafts);
    assert_int_equal(jint(step, "n"), steps);
    assert_int_equal(jint(hop(stats, "other", "-"), "n"), drafts + strong);
    assert_int_equal(jint(problem, "n"), 16);
    assert_true(jint(draft, "p50_us") >= 2000);
    assert_true(jint(strong_call, "p50_us") >= 3000);
    assert_true(jint(prm, "p50_us") >= 1000);
    /* p50 <= p99 <= max; each step is no shorter than its draft's call,
    ** so its percentiles are no lower; a problem is several steps. */
    json_t *hv;
    size_t i;
    json_array_foreach(json_object_get(stats, "hops"), i, hv)
    {
        assert_true(jint(hv, "p50_us") <= jint(hv, "p99_us"));
        assert_true(jint(hv, "p99_us") <= jint(hv, "max_us"));
    }
    assert_true(jint(step, "p50_us") >= jint(draft, "p50_us"));
    assert_true(jint(step, "p99_us") >= jint(draft, "p99_us"));
    assert_true(jint(problem, "p50_us") > jint(step, "p50_us"));
    json_decref(stats);

    /* The audit's run view ends with the same table. */
    assert_int_equal(test_trim_in(k.dir, &out, &err, "audit --db %s --run %lld",
                                  k.db, (long long)run),
                     0);
    assert_non_null(strstr(out, "where the time went"));
    assert_non_null(strstr(out, "\nqueue wait        small "));
    assert_non_null(strstr(out, "\nrouting decision  router"));
    free(out);
    free(err);
}


static void
test_latency_model_timings(void **state)
{
    (void)state;
    check_timings(NULL);
}


/* A used speculative draft's row is timed from when it was asked for: its
** parts still fit inside it, and no wait is negative. */
static void
test_speculative_timings(void **state)
{
    const char *const flags[] = {"--speculate", "on", NULL};

    (void)state;
    check_timings(flags);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_model_timings),
        cmocka_unit_test(test_speculative_timings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
