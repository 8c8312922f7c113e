/*
** test_pomdp.c: TRIM-POMDP's belief filter and dynamic program against
** brute-force enumeration, and the policy kind.
**
** The brute force never uses the solver's reduction to c: it enumerates
** the hidden process step by step (the draft's state, what the action does
** to the prefix, the solution ending, the next draft and its observation)
** with explicit joint probabilities, and takes the best action at every
** observed history.
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

#include "policy.h"
#include "pomdp.h"
#include "pomdp_default.h"
#include "skip.h"

#define LO 2 /* the toy's two observation bins */
#define HI 17


/* A 3-step toy: two observation bins, easy to enumerate. */
static void
toy_model(pomdp_model_t *m)
{
    memset(m, 0, sizeof *m);
    m->p_weak = 0.8;
    m->p_strong = 0.95;
    m->repair = 0.3;
    m->strong_tokens = 50;
    m->draft_weight = 1; /* priced by the draft's tokens, as the release */
    m->max_steps = 3;
    m->hazard[0] = 0.2;
    m->hazard[1] = 0.5;
    m->hazard[2] = 1.0;
    /* P(high score | S0) = 0.9, | S1) = 0.4, | S2) = 0.2 */
    const double high[3] = {0.9, 0.4, 0.2};
    for (int s = 0; s < 3; s++) {
        m->marg[s][HI] = high[s];
        m->marg[s][LO] = 1 - high[s];
        for (int i = 0; i < POMDP_BINS; i++) {
            m->cond[s][i][HI] = high[s];
            m->cond[s][i][LO] = 1 - high[s];
        }
    }
}


/* One hidden world: the current draft's state with its joint weight. */
typedef struct world {
    double w[3]; /* weight of S0, S1, S2 given the observed history */
} world_t;


/*
** Best expected value from step t for the unnormalised joint weights w of
** the current draft's state (after its observation), by enumeration, with
** this step's regeneration priced at cost_now and every later one at cost.
*/
static double
brute(const pomdp_model_t *m, double cost_now, double cost, int t,
      const world_t *x)
{
    double best = -1e9;
    for (int a = 0; a < 2; a++) {
        /* Joint weight of "prefix correct" / "derailed" after the action. */
        double correct = 0, derailed = 0;
        for (int s = 0; s < 3; s++) {
            double w = x->w[s];
            if (a == 0) {
                if (s == POMDP_S0)
                    correct += w;
                else
                    derailed += w;
            } else {
                double ok = s == POMDP_S1 ? m->repair : m->p_strong;
                correct += w * ok;
                derailed += w * (1 - ok);
            }
        }
        double mass = x->w[0] + x->w[1] + x->w[2];
        double value = -cost_now * a * mass + m->hazard[t] * correct;
        if (t + 1 < m->max_steps) {
            double go = 1 - m->hazard[t];
            const int bins[2] = {LO, HI};
            for (int k = 0; k < 2; k++) {
                int o = bins[k];
                world_t next;
                next.w[POMDP_S0] = go * correct * m->p_weak * m->marg[0][o];
                next.w[POMDP_S2] =
                    go * correct * (1 - m->p_weak) * m->marg[2][o];
                next.w[POMDP_S1] = go * derailed * m->marg[1][o];
                value += brute(m, cost, cost, t + 1, &next);
            }
        }
        if (value > best)
            best = value;
    }
    return best;
}


/*
** The DP's value of the first step against the enumeration's, with the
** first regeneration priced at the mean strong step (step_tokens 0) or at
** a draft's token count (short and long), later ones at the mean; and the
** first step's decision does change with the draft's length somewhere.
*/
static void
test_dp_matches_enumeration(void **state)
{
    (void)state;
    char err[256];
    pomdp_model_t m;
    toy_model(&m);
    const double lambdas[4] = {0, 0.001, 0.004, 0.02};
    const double step_tokens[3] = {0, 5, 200};
    int flips = 0;

    for (int li = 0; li < 4; li++) {
        pomdp_t *p = pomdp_solve(&m, lambdas[li], err, sizeof err);
        assert_non_null(p);
        double cost = lambdas[li] * m.strong_tokens;
        for (int n = 0; n < 3; n++) {
            double now =
                step_tokens[n] > 0 ? lambdas[li] * step_tokens[n] : cost;
            double dp = 0, bf = 0, prior[3];
            pomdp_prior(&m, 1.0, prior);
            const int bins[2] = {LO, HI};
            for (int k = 0; k < 2; k++) {
                int o = bins[k];
                world_t x;
                for (int s = 0; s < 3; s++)
                    x.w[s] = prior[s] * m.marg[s][o];
                bf += brute(&m, now, cost, 0, &x);
                double po = x.w[0] + x.w[1] + x.w[2], post[3], keep, regen;
                double keep0, regen0;
                for (int s = 0; s < 3; s++)
                    post[s] = x.w[s] / po;
                pomdp_values(p, 0, post, (o + 0.5) / POMDP_BINS, 1.0,
                             step_tokens[n], &keep, &regen);
                dp += po * (keep > regen ? keep : regen);
                pomdp_values(p, 0, post, (o + 0.5) / POMDP_BINS, 1.0, 0, &keep0,
                             &regen0);
                flips += (keep > regen) != (keep0 > regen0);
            }
            print_message("lambda %g, step tokens %g: DP %.6f, enumeration "
                          "%.6f\n",
                          lambdas[li], step_tokens[n], dp, bf);
            assert_true(fabs(dp - bf) < 1e-4);
        }
        pomdp_destroy(&p);
    }
    assert_true(flips > 0);
}


static void
test_filter_matches_enumeration(void **state)
{
    (void)state;
    pomdp_model_t m;
    toy_model(&m);
    /* Observations high, low, high with actions keep, regenerate. */
    const int obs[3] = {HI, LO, HI}, act[2] = {0, 1};

    /* Enumeration over joint weights, as in brute(). */
    world_t x;
    double prior[3];
    pomdp_prior(&m, 1.0, prior);
    for (int s = 0; s < 3; s++)
        x.w[s] = prior[s] * m.marg[s][obs[0]];
    for (int t = 0; t < 2; t++) {
        double correct = 0, derailed = 0;
        for (int s = 0; s < 3; s++) {
            double ok = act[t] == 0     ? (s == POMDP_S0)
                        : s == POMDP_S1 ? m.repair
                                        : m.p_strong;
            correct += x.w[s] * ok;
            derailed += x.w[s] * (1 - ok);
        }
        int o = obs[t + 1];
        x.w[POMDP_S0] = correct * m.p_weak * m.marg[0][o];
        x.w[POMDP_S2] = correct * (1 - m.p_weak) * m.marg[2][o];
        x.w[POMDP_S1] = derailed * m.marg[1][o];
    }
    double z = x.w[0] + x.w[1] + x.w[2];

    /* The filter: prior from c, update, act, carry c. */
    double c = 1.0, post[3];
    for (int t = 0; t < 3; t++) {
        pomdp_prior(&m, c, prior);
        pomdp_update(&m, prior, (obs[t] + 0.5) / POMDP_BINS, 0.99, post);
        if (t < 2)
            c = pomdp_after(&m, post, act[t]);
    }
    for (int s = 0; s < 3; s++)
        assert_true(fabs(post[s] - x.w[s] / z) < 1e-12);
}


static void
test_default_model(void **state)
{
    (void)state;
    char err[256];
    pomdp_model_t m;
    assert_int_equal(pomdp_model_default(&m, err, sizeof err), 0);
    pomdp_t *p = pomdp_solve(&m, 0.002, err, sizeof err);
    assert_non_null(p);

    /* A low score early makes regenerating worth it at a small cost; a
    ** derailed history (low minimum previous score) makes it less so. */
    double prior[3], post[3], keep, regen;
    pomdp_prior(&m, 1.0, prior);
    pomdp_update(&m, prior, 0.02, 1.0, post);
    pomdp_values(p, 0, post, 0.02, 1.0, 0, &keep, &regen);
    assert_true(regen > keep);
    pomdp_update(&m, prior, 0.98, 1.0, post);
    pomdp_values(p, 0, post, 0.98, 1.0, 0, &keep, &regen);
    assert_true(keep > regen);
    /* The same low score after a low earlier one (a derailed history, by
    ** the likelihoods given the minimum previous score): regenerating is
    ** worth less than after high ones. */
    pomdp_prior(&m, 0.9, prior);
    pomdp_update(&m, prior, 0.02, 0.03, post);
    pomdp_values(p, 3, post, 0.02, 0.03, 0, &keep, &regen);
    double derailed = regen - keep;
    pomdp_prior(&m, 0.9, prior);
    pomdp_update(&m, prior, 0.02, 1.0, post);
    pomdp_values(p, 3, post, 0.02, 1.0, 0, &keep, &regen);
    print_message("regenerate - keep for score 0.02 at step 4: after a low "
                  "score %.4f, after high ones %.4f\n",
                  derailed, regen - keep);
    assert_true(derailed < regen - keep);
    pomdp_destroy(&p);

    /* At a huge cost nothing is worth regenerating. */
    p = pomdp_solve(&m, 1.0, err, sizeof err);
    pomdp_update(&m, prior, 0.02, 1.0, post);
    pomdp_values(p, 0, post, 0.02, 1.0, 0, &keep, &regen);
    assert_true(keep > regen);
    pomdp_destroy(&p);
}


static void
test_calibration_file(void **state)
{
    (void)state;
    char err[512], path[512];
    pomdp_model_t m;

    assert_int_equal(
        pomdp_model_load("/nonexistent/calib.json", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/calib.json"));
    test_data_path(path, sizeof path, "calibration/qwen2.5-math-prm-7b.json");
    assert_int_equal(pomdp_model_load(path, &m, err, sizeof err), 0);
    assert_true(fabs(m.p_weak - 0.866) < 1e-9);
    assert_true(fabs(m.p_strong - 0.9704) < 1e-9);
    assert_true(fabs(m.strong_tokens - 494.84 / 8.02) < 1e-6);
    assert_true(m.draft_weight == 1.0); /* the release prices by the draft */
    assert_true(fabs(m.hazard[1] - 0.0201542) < 1e-9);
}


static void
test_policy_kind(void **state)
{
    (void)state;
    char err[512];
    route_result_t r, again;
    route_features_t f = {0};
    pomdp_model_t m;

    assert_int_equal(pomdp_model_default(&m, err, sizeof err), 0);
    assert_null(policy_new("pomdp", &m, err, sizeof err));
    assert_null(policy_new("pomdp:-1", &m, err, sizeof err));
    assert_non_null(strstr(err, "pomdp:-1"));
    assert_null(
        policy_new("pomdp:0.001:/no/such/file.json", &m, err, sizeof err));
    assert_non_null(strstr(err, "/no/such/file.json"));
    /* Without a default model only a calibration file will do. */
    assert_null(policy_new("pomdp:0.001", NULL, err, sizeof err));
    assert_non_null(strstr(err, "calibration file"));

    policy_t *p = policy_new("pomdp:0.0005", &m, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(policy_spec(p), "pomdp:0.0005");
    f.score = 0.03f;
    f.min_prev = 1.0f;
    f.prod_prev = 1.0f;
    assert_int_equal(policy_decide(p, &f, &r), 0);
    assert_int_equal(r.regenerate, 1);
    assert_int_equal(r.n_belief, 4);
    assert_true(r.belief[2] > r.belief[0]); /* S2 is likelier than S0 */
    assert_non_null(strstr(r.reason, "belief S0"));

    /* The belief carries: after a confident high-scoring step, a middling
    ** score is read against a good prior. */
    f.score = 0.97f;
    policy_decide(p, &f, &r);
    assert_int_equal(r.regenerate, 0);
    f.step_index = 1;
    f.score = 0.6f;
    f.min_prev = 0.97f;
    f.belief = r.belief;
    f.n_belief = r.n_belief;
    policy_decide(p, &f, &again);
    assert_true(again.belief[0] > 0.5);

    /* A positive bias never turns a regenerate into a keep. */
    f.score = 0.2f;
    policy_decide(p, &f, &r);
    f.bias = 1.0f;
    policy_decide(p, &f, &again);
    assert_true(again.regenerate >= r.regenerate);
    policy_destroy(&p);

    /* Priced by the draft's tokens (draft_weight 1, as the release): at a
    ** cost where a mean-length step (about 62 tokens) is not worth
    ** regenerating, a short one is; a very long draft is kept where a mean
    ** one is not.  At draft_weight 0 the draft's length does not matter. */
    for (int weight = 0; weight <= 1; weight++) {
        m.draft_weight = weight;
        f = (route_features_t){0};
        f.score = 0.03f;
        f.min_prev = 1.0f;
        p = policy_new("pomdp:0.02", &m, err, sizeof err);
        assert_non_null(p);
        policy_decide(p, &f, &r);
        assert_int_equal(r.regenerate, 0);
        f.draft_tokens = 5;
        policy_decide(p, &f, &r);
        assert_int_equal(r.regenerate, weight);
        policy_destroy(&p);
        p = policy_new("pomdp:0.0005", &m, err, sizeof err);
        f.draft_tokens = 5000;
        policy_decide(p, &f, &r);
        assert_int_equal(r.regenerate, !weight);
        policy_destroy(&p);
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dp_matches_enumeration),
        cmocka_unit_test(test_filter_matches_enumeration),
        cmocka_unit_test(test_default_model),
        cmocka_unit_test(test_calibration_file),
        cmocka_unit_test(test_policy_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
