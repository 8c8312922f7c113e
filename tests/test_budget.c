/*
** test_budget.c: budgets around a policy.
**
** The share controller on a scripted stream, then both budgets in real
** runs: a run held at a strong-token share, and a per-problem cap checked
** step by step in the audit.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "budget.h"
#include "hash.h"
#include "testutil.h"


/*
** A scripted policy: it regenerates a draft with probability base + 0.5 x
** bias (clamped); drafts cost 50 tokens, strong steps 60.  Whatever its
** own rate, the controller must bring the cumulative share to the target.
*/
static double
scripted_share(double target, double base, int steps)
{
    budget_t b = budget_make(target);
    rng_t rng = rng_seeded(42);

    for (int i = 0; i < steps; i++) {
        double p = base + 0.5 * budget_bias(&b);
        p = p < 0 ? 0 : p > 1 ? 1 : p;
        budget_observe(&b, 0, 50);
        if (rng_uniform(&rng) < p)
            budget_observe(&b, 60, 0);
    }
    return budget_share(&b);
}


static void
test_controller_on_a_scripted_stream(void **state)
{
    (void)state;
    /* A policy that on its own would regenerate too little, and one that
    ** would regenerate too much, both end at the target. */
    double low = scripted_share(0.2, 0.05, 100000);
    double high = scripted_share(0.2, 0.6, 100000);
    print_message("share: %.4f from below, %.4f from above (target 0.2)\n", low,
                  high);
    assert_true(fabs(low - 0.2) < 0.005);
    assert_true(fabs(high - 0.2) < 0.005);

    /* Off: no bias, whatever the tokens. */
    budget_t off = budget_make(0);
    budget_observe(&off, 0, 1000);
    assert_true(budget_bias(&off) == 0.0f);
    /* The bias is bounded. */
    budget_t b = budget_make(0.5);
    budget_observe(&b, 0, 1000000);
    assert_true(budget_bias(&b) == 1.0f);
}


static json_t *
run_trim(const char *db, const char *flags)
{
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "%s run --json --no-progress --db %s %s",
             test_bin(), db, flags);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}


static void
test_run_held_at_a_share(void **state)
{
    (void)state;
    char db[256];
    /* Below and above each policy's own share. */
    const struct {
        const char *policy;
        double target;
    } cases[] = {
        {"thr:0.5", 0.1},
        {"thr:0.5", 0.25},
        {"pomdp:0.001", 0.05},
        {"pomdp:0.001", 0.3},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char flags[256];
        test_tmp_path(db, sizeof db, "share.db");
        snprintf(flags, sizeof flags,
                 "--problems 2000 --seed 9 --policy %s "
                 "--target-strong-share %g",
                 cases[i].policy, cases[i].target);
        json_t *sum = run_trim(db, flags);
        double share =
            json_real_value(json_object_get(sum, "strong_token_share"));
        print_message("%s, target %.2f: share %.4f over 2000 problems\n",
                      cases[i].policy, cases[i].target, share);
        assert_true(fabs(share - cases[i].target) <= 0.02);
        json_decref(sum);
        test_remove_db(db);
    }
}


static void
test_per_problem_cap(void **state)
{
    (void)state;
    char db[256];
    sqlite3 *h;

    test_tmp_path(db, sizeof db, "cap.db");
    json_decref(run_trim(db, "--problems 300 --seed 3 --policy thr:0.9 "
                             "--max-strong-tokens 100"));
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    /* No strong step starts once its problem has used 100 strong tokens. */
    assert_int_equal(
        sql_int(h, "SELECT COUNT(*) FROM steps s WHERE s.kind='strong' AND "
                   "(SELECT IFNULL(SUM(completion_tokens), 0) FROM steps e "
                   "WHERE e.problem_id=s.problem_id AND e.kind='strong' AND "
                   "e.step_index < s.step_index) >= 100"),
        0);
    /* And the audit says where the cap overruled the policy. */
    assert_true(sql_int(h, "SELECT COUNT(*) FROM steps WHERE decision='keep' "
                           "AND reason LIKE 'budget:%%'") > 0);
    sqlite3_close(h);
    test_remove_db(db);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controller_on_a_scripted_stream),
        cmocka_unit_test(test_run_held_at_a_share),
        cmocka_unit_test(test_per_problem_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
