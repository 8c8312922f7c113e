/*
** test_sweep_specs.c: the limits of a sweep's curves and anchors.
**
** A policy spec, a pomdp family's model path or an agg file name too long
** for a point is refused with what it is; an unknown family and an empty
** agg list are refused; a sweep cannot be finished before its anchors are
** measured.  test_metrics.c covers the grids and the metrics.
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

#include "sweep.h"


static void
starts_with(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("'%s' does not start with '%s'", s, prefix);
}


static void
test_too_long_and_unknown(void **state)
{
    (void)state;
    sweep_t *s = sweep_new();
    char err[512], long_spec[SWEEP_SPEC_MAX + 8], list[SWEEP_SPEC_MAX + 16];

    assert_non_null(s);
    sweep_curve_t *c = sweep_add_curve(s, "c");
    memset(long_spec, 'x', SWEEP_SPEC_MAX);
    long_spec[SWEEP_SPEC_MAX] = '\0';
    assert_null(sweep_curve_add(c, long_spec, 1, err, sizeof err));
    starts_with(err, "policy spec longer than 255 bytes: xxx");

    snprintf(list, sizeof list, "weak,%s", long_spec);
    assert_int_equal(sweep_curve_specs(c, list, err, sizeof err), -1);
    starts_with(err, "a policy spec longer than 255 bytes in 'weak,xxx");

    /* pomdp:LAMBDA:FILE with a file name that leaves no room. */
    c = sweep_add_curve(s, "pomdp");
    assert_int_equal(sweep_family(c, "pomdp", long_spec + 5, err, sizeof err),
                     -1);
    starts_with(err, "policy spec longer than 255 bytes: pomdp:3e-05:xxx");
    c = sweep_add_curve(s, "nope");
    assert_int_equal(sweep_family(c, "nope", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "nope"));
    c = sweep_add_curve(s, "agg");
    assert_int_equal(sweep_family_agg(c, "", err, sizeof err), -1);
    assert_int_equal(sweep_family_agg(c, "a.agg,,b.agg", err, sizeof err), -1);
    assert_non_null(strstr(err, "'a.agg,,b.agg'"));
    assert_true(isnan(sweep_agg_lambda("/nonexistent.agg")));

    /* A curve's name is cut to fit, not refused. */
    c = sweep_add_curve(s, long_spec);
    assert_int_equal(strlen(c->name), SWEEP_NAME_MAX - 1);
    sweep_destroy(&s);
    assert_null(s);
    sweep_destroy(&s); /* NULL-safe */
}


static void
test_finish_needs_the_anchors(void **state)
{
    (void)state;
    sweep_t *s = sweep_new();
    char err[512];

    assert_int_equal(sweep_finish(s, err, sizeof err), -1);
    assert_string_equal(err, "the anchors are not measured (weak-only accuracy "
                             "nan, strong-only accuracy nan and strong tokens "
                             "per problem nan)");
    s->weak.accuracy = 0.4;
    s->strong.accuracy = 0.8;
    s->strong.strong = 0; /* strong-only spent nothing: no cost scale */
    assert_int_equal(sweep_finish(s, err, sizeof err), -1);
    sweep_destroy(&s);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_long_and_unknown),
        cmocka_unit_test(test_finish_needs_the_anchors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
