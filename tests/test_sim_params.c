/*
** test_sim_params.c: the simulator refuses parameters it cannot use.
**
** Every named profile makes a world; each field set out of its range (or
** to NaN) makes sim_world_new fail with a message naming that field and
** value, so a bad --set or a bad profile is caught before a run starts.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

#define FIELD(f) offsetof(sim_params_t, f)


static void
test_every_profile_makes_a_world(void **state)
{
    (void)state;
    char err[256];
    int n = 0;

    for (const char *const *name = sim_profile_names(); *name; name++, n++) {
        sim_params_t p;
        assert_int_equal(sim_params_profile(*name, &p), 0);
        assert_non_null(sim_profile_about(*name));
        sim_world_t *w = sim_world_new(&p, NULL, err, sizeof err);
        if (w == NULL)
            fail_msg("profile %s: %s", *name, err);
        sim_world_destroy(&w);
        assert_null(w);
    }
    assert_true(n >= 3);
    assert_null(sim_profile_about("nosuch"));
}


static void
test_bad_fields_are_named(void **state)
{
    (void)state;
    static const struct {
        size_t offset;
        double value;
        const char *message;
    } cases[] = {
        {FIELD(accuracy[0]), 1.5,
         "sim params: accuracy[weak] = 1.5 not in "
         "[0,1]"},
        {FIELD(accuracy[1]), NAN,
         "sim params: accuracy[strong] = nan not in "
         "[0,1]"},
        {FIELD(tokens_per_step[0]), 0.5,
         "sim params: tokens_per_step[weak] = 0.5 not in [1,1e6]"},
        {FIELD(tokens_per_step[1]), 2e6,
         "sim params: tokens_per_step[strong] = 2e+06 not in [1,1e6]"},
        {FIELD(base_us[0]), -1,
         "sim params: latency model of the weak model must be finite and "
         ">= 0"},
        {FIELD(decode_us[1]), INFINITY,
         "sim params: latency model of the strong model must be finite and "
         ">= 0"},
        {FIELD(critical_fraction), -0.1,
         "sim params: critical_fraction = -0.1 not in [0,1]"},
        {FIELD(critical_factor), 0,
         "sim params: critical_factor = 0 not in (0,1e6]"},
        {FIELD(class_share[1]), 1.2,
         "sim params: class_share[1] = 1.2 not in [0,1]"},
        {FIELD(class_share[0]), 0.9, "sim params: class_share sums to"},
        {FIELD(class_logit[2]), 25,
         "sim params: class_logit[2] = 25 not in [-20,20]"},
        {FIELD(prm_noise[0]), 2, "sim params: prm_noise[0] = 2 not in [0,1]"},
        {FIELD(prm_blind[2]), -1, "sim params: prm_blind[2] = -1 not in [0,1]"},
        {FIELD(repair), 1.01, "sim params: repair = 1.01 not in [0,1]"},
        {FIELD(prm_shift[1]), -30,
         "sim params: prm_shift[S1] = -30 not in [-20,20]"},
        {FIELD(prm_sharpness), 0.01,
         "sim params: prm_sharpness = 0.01 not in [0.05,20]"},
        {FIELD(critical_tokens), 0,
         "sim params: critical_tokens = 0 not in [0.01,100]"},
        {FIELD(tokens_corr), 1.5, "sim params: tokens_corr = 1.5 not in [0,1]"},
        {FIELD(mean_steps), 1,
         "sim params: mean_steps = 1 is neither 0 nor in [2.5,29]"},
        {FIELD(prm_prefill_us), -5,
         "sim params: PRM latency model must be finite and >= 0"},
        {FIELD(prefix_cache_tokens), -1,
         "sim params: prefix_cache_tokens = -1 not in [0,1e12]"},
    };
    char err[256];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sim_params_t p;
        sim_params_default(&p);
        memcpy((char *)&p + cases[i].offset, &cases[i].value, sizeof(double));
        err[0] = '\0';
        sim_world_t *w = sim_world_new(&p, NULL, err, sizeof err);
        if (w != NULL ||
            strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("case %zu: world %s, message '%s', want '%s'", i,
                     w ? "made" : "refused", err, cases[i].message);
    }
    /* The edges of the ranges are allowed. */
    sim_params_t p;
    sim_params_default(&p);
    p.mean_steps = 0;
    p.repair = 1;
    p.critical_fraction = 0;
    sim_world_t *w = sim_world_new(&p, NULL, err, sizeof err);
    assert_non_null(w);
    sim_world_destroy(&w);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_profile_makes_a_world),
        cmocka_unit_test(test_bad_fields_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
