/*
** test_bootstrap.c: the percentile bootstrap (eval/bootstrap.h) on cases
** whose replicate distribution is known by hand.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "bootstrap.h"

#define near(a, b, eps) assert_true(fabs((a) - (b)) < (eps))


/* Percentiles interpolate between order statistics; NAN sorts last. */
static void
test_percentile(void **state)
{
    (void)state;
    double v[] = {4, 1, 3, 2, 5};
    near(boot_percentile(v, 5, 0), 1, 1e-12);
    near(boot_percentile(v, 5, 0.5), 3, 1e-12);
    near(boot_percentile(v, 5, 0.125), 1.5, 1e-12); /* 0.5 of the way */
    near(boot_percentile(v, 5, 1), 5, 1e-12);
    double w[] = {NAN, 2, 1, NAN};
    near(boot_percentile(w, 4, 0), 1, 1e-12);
    near(boot_percentile(w, 4, 1.0 / 3), 2, 1e-12);
    assert_true(isnan(boot_percentile(w, 4, 0.5))); /* between 2 and NAN */
    assert_true(isnan(boot_percentile(w, 0, 0.5)));
}


/* A sample without spread has a zero-width interval at its mean. */
static void
test_constant(void **state)
{
    (void)state;
    double x[] = {0.25, 0.25, 0.25, 0.25};
    boot_interval_t iv;
    char err[128];

    assert_int_equal(boot_mean(x, 4, 200, 1, 0.95, &iv, err, sizeof err), 0);
    near(iv.mean, 0.25, 1e-12);
    near(iv.lo, 0.25, 1e-12);
    near(iv.hi, 0.25, 1e-12);
    near(iv.nan_share, 0, 1e-12);
}


/*
** Two units {0, 1}: a replicate's mean is 0, 0.5 or 1 with chances 1/4,
** 1/2, 1/4.  The 95% interval is [0, 1]; the central 40% is [0.5, 0.5].
*/
static void
test_two_units(void **state)
{
    (void)state;
    double x[] = {0, 1};
    boot_interval_t iv;
    char err[128];

    assert_int_equal(boot_mean(x, 2, 2000, 7, 0.95, &iv, err, sizeof err), 0);
    near(iv.mean, 0.5, 1e-12);
    near(iv.lo, 0, 1e-12);
    near(iv.hi, 1, 1e-12);
    assert_int_equal(boot_mean(x, 2, 2000, 7, 0.40, &iv, err, sizeof err), 0);
    near(iv.lo, 0.5, 1e-12);
    near(iv.hi, 0.5, 1e-12);
}


/*
** Pairs a = b + 0.1 with b spread widely: the paired difference is exactly
** 0.1 in every replicate, so its interval excludes zero, while the two
** means' own intervals overlap.
*/
static void
test_paired(void **state)
{
    (void)state;
    double b[] = {0.1, 0.9, 0.3, 0.7, 0.5, 0.2, 0.8, 0.4};
    double a[8];
    boot_interval_t d, ia, ib;
    char err[128];

    for (int i = 0; i < 8; i++)
        a[i] = b[i] + 0.1;
    assert_int_equal(
        boot_paired_diff(a, b, 8, 500, 3, 0.95, &d, err, sizeof err), 0);
    near(d.mean, 0.1, 1e-12);
    near(d.lo, 0.1, 1e-9);
    near(d.hi, 0.1, 1e-9);
    assert_int_equal(boot_sign(&d), 1);
    assert_int_equal(boot_mean(a, 8, 500, 3, 0.95, &ia, err, sizeof err), 0);
    assert_int_equal(boot_mean(b, 8, 500, 3, 0.95, &ib, err, sizeof err), 0);
    assert_true(ia.lo < ib.hi); /* unpaired, they do not separate */
    boot_interval_t zero = {0, -0.1, 0.2, 0};
    assert_int_equal(boot_sign(&zero), 0);
    boot_interval_t neg = {0, -0.3, -0.1, 0};
    assert_int_equal(boot_sign(&neg), -1);
}


/* The statistic: the weighted sum of the units, and NAN when unit 0 is
** not drawn. */
static int
sum_stat(void *ctx, const double *w, size_t n, double *vals, size_t m)
{
    const double *x = ctx;
    double s = 0;
    assert_int_equal(m, 2);
    for (size_t i = 0; i < n; i++)
        s += w[i] * x[i];
    vals[0] = s;
    vals[1] = w[0] > 0 ? s : NAN;
    return 0;
}


/*
** Strata resample only within themselves: strata {0, 0} and {1, 1, 1}
** give a weighted sum of exactly 3 in every replicate.  Unit 0 is missed
** by a replicate with chance (1/2)^2 = 1/4, so a quarter of the second
** statistic's replicates are NAN and its 95% interval's top is NAN.
*/
static void
test_strata_and_nan(void **state)
{
    (void)state;
    double x[] = {0, 0, 1, 1, 1};
    size_t strata[] = {2, 3};
    boot_plan_t plan = {
        .n = 5, .strata = strata, .n_strata = 2, .reps = 4000, .seed = 11};
    boot_interval_t iv[2];
    char err[128];

    assert_int_equal(boot_run(&plan, sum_stat, x, 2, iv, err, sizeof err), 0);
    near(iv[0].mean, 3, 1e-12);
    near(iv[0].lo, 3, 1e-12);
    near(iv[0].hi, 3, 1e-12);
    near(iv[1].nan_share, 0.25, 0.03);
    near(iv[1].lo, 3, 1e-12);
    assert_true(isnan(iv[1].hi));
    size_t bad[] = {2, 2};
    plan.strata = bad;
    assert_int_equal(boot_run(&plan, sum_stat, x, 2, iv, err, sizeof err), -1);
    assert_non_null(strstr(err, "strata"));
}


/* The same seed gives the same interval; another seed, another draw. */
static void
test_deterministic(void **state)
{
    (void)state;
    double x[] = {0.1, 0.9, 0.35, 0.6, 0.2, 0.75, 0.5};
    boot_interval_t a, b, c;
    char err[128];

    assert_int_equal(boot_mean(x, 7, 300, 5, 0.9, &a, err, sizeof err), 0);
    assert_int_equal(boot_mean(x, 7, 300, 5, 0.9, &b, err, sizeof err), 0);
    assert_int_equal(boot_mean(x, 7, 300, 6, 0.9, &c, err, sizeof err), 0);
    assert_true(a.lo == b.lo && a.hi == b.hi);
    assert_true(a.lo != c.lo || a.hi != c.hi);
    assert_true(a.lo < a.mean && a.mean < a.hi);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_two_units),
        cmocka_unit_test(test_paired),
        cmocka_unit_test(test_strata_and_nan),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
