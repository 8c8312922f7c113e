/*
** test_policy.c: the routing policies: parsing, decisions, determinism.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "policy.h"


static route_features_t
features(float score, uint64_t seed)
{
    route_features_t f = {0};
    f.score = score;
    f.min_prev = 1.0f;
    f.prod_prev = 1.0f;
    f.draft_tokens = 50;
    f.seed = seed;
    return f;
}


static void
test_parse_and_canonical_specs(void **state)
{
    (void)state;
    char err[256];
    policy_t *p;

    p = policy_new("thr:0.50", NULL, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(policy_spec(p), "thr:0.5");
    assert_int_equal(policy_shape(p), POLICY_ROUTED);
    policy_destroy(&p);
    assert_null(p);
    policy_destroy(&p);

    p = policy_new("weak", NULL, err, sizeof err);
    assert_int_equal(policy_shape(p), POLICY_WEAK_ONLY);
    policy_destroy(&p);
    p = policy_new("strong", NULL, err, sizeof err);
    assert_int_equal(policy_shape(p), POLICY_STRONG_ONLY);
    policy_destroy(&p);

    const char *bad[] = {"",          "thr",    "thr:",   "thr:1.5", "thr:x",
                         "random:-1", "weak:1", "pomdp2", "thr:nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_null(policy_new(bad[i], NULL, err, sizeof err));
        assert_true(strlen(err) > 0);
    }
    assert_null(policy_new("thr:2", NULL, err, sizeof err));
    assert_non_null(strstr(err, "thr:2"));
    assert_null(policy_new("nope", NULL, err, sizeof err));
    assert_non_null(strstr(err, "unknown policy 'nope'"));
}


static void
test_thr_decides_on_the_current_score(void **state)
{
    (void)state;
    char err[256];
    route_result_t r;
    policy_t *p = policy_new("thr:0.5", NULL, err, sizeof err);

    route_features_t f = features(0.49f, 1);
    assert_int_equal(policy_decide(p, &f, &r), 0);
    assert_int_equal(r.regenerate, 1);
    assert_non_null(strstr(r.reason, "0.490 < 0.5"));
    f = features(0.5f, 1);
    policy_decide(p, &f, &r);
    assert_int_equal(r.regenerate, 0);
    f = features(0.9f, 1);
    f.min_prev = 0.01f; /* history does not matter to Thr */
    policy_decide(p, &f, &r);
    assert_int_equal(r.regenerate, 0);
    assert_true(r.prob == 1.0f);

    f = features(NAN, 1);
    assert_int_equal(policy_decide(p, &f, &r), -1);
    assert_non_null(strstr(r.reason, "not in [0,1]"));
    policy_destroy(&p);

    p = policy_new("thr:0", NULL, err, sizeof err);
    f = features(0.0f, 1);
    policy_decide(p, &f, &r);
    assert_int_equal(r.regenerate, 0); /* nothing is below 0 */
    policy_destroy(&p);
}


static void
test_anchors(void **state)
{
    (void)state;
    char err[256];
    route_result_t r;
    route_features_t f = features(0.1f, 3);
    policy_t *w = policy_new("weak", NULL, err, sizeof err);
    policy_t *s = policy_new("strong", NULL, err, sizeof err);

    policy_decide(w, &f, &r);
    assert_int_equal(r.regenerate, 0);
    policy_decide(s, &f, &r);
    assert_int_equal(r.regenerate, 1);
    policy_destroy(&w);
    policy_destroy(&s);
}


static void
test_random_rate_and_determinism(void **state)
{
    (void)state;
    char err[256];
    route_result_t r, again;
    policy_t *p = policy_new("random:0.3", NULL, err, sizeof err);
    int n = 20000, hits = 0;

    for (int i = 0; i < n; i++) {
        route_features_t f = features(0.5f, hash_mix64((uint64_t)i));
        policy_decide(p, &f, &r);
        policy_decide(p, &f, &again);
        assert_int_equal(r.regenerate, again.regenerate);
        assert_true(r.prob == (r.regenerate ? 0.3f : 0.7f));
        hits += r.regenerate;
    }
    /* 20,000 draws of p = 0.3: the sd of the rate is 0.0032. */
    assert_true(fabs((double)hits / n - 0.3) < 0.015);
    policy_destroy(&p);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_canonical_specs),
        cmocka_unit_test(test_thr_decides_on_the_current_score),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_random_rate_and_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
