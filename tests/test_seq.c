/*
** test_seq.c: TRIM-Seq: the gradient through time against finite
** differences, the policy file and its refusals, routing with the state in
** the belief, and `trim train seq` / `trim eval --policies seq` end to end.
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

#include "agg.h"
#include "hash.h"
#include "policy.h"
#include "policy_files.h"
#include "seq.h"
#include "testutil.h"
#include "train.h"
#include "train_runs.h"

#define STEPS 6


/* A small model with every parameter uniform in [-0.6, 0.6]. */
static seq_model_t *
random_model(int hidden, uint64_t seed)
{
    char err[256];
    seq_model_t *m = seq_model_new(hidden, 1, 6, 1e-3, err, sizeof err);
    rng_t r = rng_seeded(seed);

    assert_non_null(m);
    seq_net_t *nets[2] = {&m->actor, &m->critic};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < nets[k]->gru->n_params; i++)
            nets[k]->gru->params[i] = (float)(1.2 * rng_uniform(&r) - 0.6);
        for (size_t i = 0; i < nets[k]->head->n_params; i++)
            nets[k]->head->params[i] = (float)(1.2 * rng_uniform(&r) - 0.6);
    }
    return m;
}


/* A sequence of STEPS inputs, each with the previous step's action. */
static void
some_inputs(float x[STEPS][SEQ_INPUTS])
{
    static const float score[STEPS] = {0.9f, 0.3f, 0.75f, 0.1f, 0.6f, 0.95f};

    for (int t = 0; t < STEPS; t++) {
        float ax[AGG_FEATURES];
        agg_features_of(1, 1, score[t], 40 + 25 * (uint32_t)t, (uint32_t)t, ax);
        seq_input(ax, t % 3 == 2, x[t]);
    }
}


/* sum_t gout[t] . outputs at step t, stepping net forward from h = 0. */
static double
weighted_outputs(const seq_net_t *net, float x[STEPS][SEQ_INPUTS],
                 const double gout[STEPS][2])
{
    float h[SEQ_MAX_HIDDEN] = {0}, hn[SEQ_MAX_HIDDEN], out[2];
    double sum = 0;

    for (int t = 0; t < STEPS; t++) {
        seq_net_step(net, h, x[t], hn, out);
        sum += gout[t][0] * out[0] + gout[t][1] * out[1];
        memcpy(h, hn, sizeof h);
    }
    return sum;
}


/* Each checked parameter's central difference against the analytic one. */
static void
check_params(const seq_net_t *net, float *params, size_t n, const double *grad,
             size_t stride, float x[STEPS][SEQ_INPUTS],
             const double gout[STEPS][2], const char *what)
{
    for (size_t i = 0; i < n; i += stride) {
        float keep = params[i], h = 1e-2f;
        params[i] = keep + h;
        double up = weighted_outputs(net, x, gout);
        params[i] = keep - h;
        double down = weighted_outputs(net, x, gout);
        params[i] = keep;
        double num = (up - down) / (2.0 * (double)h);
        if (fabs(num - grad[i]) > 2e-3 + 2e-2 * fabs(num))
            fail_msg("%s parameter %zu: through time %g, finite difference %g",
                     what, i, grad[i], num);
    }
}


static void
test_gradient_through_time_matches_finite_differences(void **state)
{
    (void)state;
    seq_model_t *m = random_model(5, 11);
    seq_net_t *net = &m->actor;
    float x[STEPS][SEQ_INPUTS];
    double gout[STEPS][2];
    double *ggru = calloc(net->gru->n_params, sizeof *ggru);
    double *ghead = calloc(net->head->n_params, sizeof *ghead);
    rng_t r = rng_seeded(5);

    some_inputs(x);
    for (int t = 0; t < STEPS; t++)
        for (int k = 0; k < 2; k++)
            gout[t][k] = 2.0 * rng_uniform(&r) - 1.0;
    assert_int_equal(
        seq_net_grad(net, &x[0][0], STEPS, &gout[0][0], ggru, ghead), 0);
    /* every GRU parameter: they reach the outputs only through time */
    check_params(net, net->gru->params, net->gru->n_params, ggru, 1, x, gout,
                 "GRU");
    check_params(net, net->head->params, net->head->n_params, ghead, 3, x, gout,
                 "head");
    /* and the gradient is not trivially zero */
    double norm = 0;
    for (size_t i = 0; i < net->gru->n_params; i++)
        norm += fabs(ggru[i]);
    assert_true(norm > 1e-2);
    free(ggru);
    free(ghead);
    seq_model_destroy(&m);
}


/* ---- the policy file and routing ---------------------------------------- */

/* seq_model_load for pfile_assert_rejected: nothing left behind. */
static int
load_seq(const char *path, char *err, size_t errlen)
{
    seq_model_t *m = (seq_model_t *)1;
    int rc = seq_model_load(path, &m, err, errlen);

    assert_null(m);
    return rc;
}


static void
assert_rejected(const char *path, const char *want)
{
    pfile_assert_rejected(load_seq, "seq", path, want);
}


static void
test_file_round_trips_and_routes(void **state)
{
    (void)state;
    char path[256], spec[300], err[512];
    seq_model_t *m = random_model(4, 3), *back = NULL;
    float x[STEPS][SEQ_INPUTS];

    test_tmp_path(path, sizeof path, "round.seq");
    m->lambda = 0.0021;
    assert_int_equal(seq_model_save(m, path, err, sizeof err), 0);
    assert_int_equal(seq_model_load(path, &back, err, sizeof err), 0);
    assert_true(back->lambda == 0.0021);
    assert_int_equal(back->actor.gru->hidden, 4);
    assert_memory_equal(back->actor.gru->params, m->actor.gru->params,
                        m->actor.gru->n_params * sizeof(float));
    assert_memory_equal(back->critic.head->params, m->critic.head->params,
                        m->critic.head->n_params * sizeof(float));

    /* Routing step by step with the state in the belief gives the model's
    ** own probabilities, and the state makes history matter. */
    snprintf(spec, sizeof spec, "seq:%s", path);
    policy_t *p = policy_new(spec, NULL, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(policy_spec(p), spec);
    some_inputs(x);
    route_result_t r = {0};
    float h[SEQ_MAX_HIDDEN] = {0}, hn[SEQ_MAX_HIDDEN], z[2];
    for (int t = 0; t < STEPS; t++) {
        route_features_t f = {0};
        f.score = x[t][0];
        f.draft_tokens = 40 + 25 * (uint32_t)t;
        f.step_index = (uint32_t)t;
        f.n_belief = t ? r.n_belief : 0;
        float carried[POLICY_MAX_BELIEF];
        memcpy(carried, r.belief, sizeof carried);
        f.belief = t ? carried : NULL;
        assert_int_equal(policy_decide(p, &f, &r), 0);
        assert_int_equal(r.n_belief, 5);
        /* what the trainer computes from the same sequence */
        float xt[SEQ_INPUTS];
        memcpy(xt, x[t], sizeof xt);
        xt[3] = t ? carried[4] : 0.0f;
        seq_net_step(&m->actor, h, xt, hn, z);
        double prob = agg_prob(z[1] - z[0], 0);
        assert_int_equal(r.regenerate, prob > 0.5);
        assert_float_equal(r.prob, (r.regenerate ? prob : 1 - prob), 1e-6);
        assert_memory_equal(r.belief, hn, 4 * sizeof(float));
        assert_true(r.belief[4] == (float)r.regenerate);
        memcpy(h, hn, sizeof h);
    }
    /* a belief of the wrong length is refused */
    route_features_t f = {.score = 0.5f, .belief = h, .n_belief = 3};
    assert_int_equal(policy_decide(p, &f, &r), -1);
    assert_non_null(strstr(r.reason, "belief of 3 values"));
    policy_destroy(&p);
    seq_model_destroy(&back);
    seq_model_destroy(&m);
}


static void
test_bad_files_are_refused(void **state)
{
    (void)state;
    char good[256], bad[256], err[512];
    size_t len;
    seq_model_t *m = random_model(4, 9);

    test_tmp_path(good, sizeof good, "good.seq");
    test_tmp_path(bad, sizeof bad, "bad.seq");
    assert_int_equal(seq_model_save(m, good, err, sizeof err), 0);
    seq_model_destroy(&m);
    char *text = pfile_read(good, &len), *t;

    assert_rejected("/nonexistent/x.seq", "cannot open");
    pfile_write(bad, "", 0);
    assert_rejected(bad, "empty");
    /* a TRIM-Agg file is not a TRIM-Seq one */
    t = pfile_replaced(text, "trim-seq 1", "trim-agg 1");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "not a TRIM-Seq policy file");
    free(t);
    t = pfile_replaced(text, "trim-seq 1", "trim-seq 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "version 2; this build reads version 1");
    free(t);
    /* truncated */
    pfile_write(bad, text, len / 2);
    assert_rejected(bad, "truncated");
    pfile_write(bad, text, len - 5);
    assert_rejected(bad, "checksum");
    /* one changed digit */
    t = strdup(text);
    char *digit = strchr(strstr(t, "\nactor.head ") + 20, '.');
    assert_non_null(digit);
    digit[1] = digit[1] == '5' ? '6' : '5';
    pfile_write(bad, t, len);
    assert_rejected(bad, "checksum mismatch (file damaged or edited)");
    free(t);
    /* wrong sizes and inputs, checksums made to match */
    t = pfile_replaced(text, "actor.gru 4 4", "actor.gru 5 4");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "TRIM-Seq has 4");
    free(t);
    t = pfile_replaced(text, "actor.gru 4 4", "actor.gru 4 5");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "truncated, or wrong layer sizes");
    free(t);
    t = pfile_replaced(text, "actor.head 8 6 2", "actor.head 9 6 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "actor.head has 9 inputs and 2 outputs, must have 8");
    free(t);
    t = pfile_replaced(text, "critic.head 8 6 1", "critic.head 8 6 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "must have 8 and 1");
    free(t);
    t = pfile_replaced(text, "prev_regenerated", "prev_action");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "other inputs");
    free(t);
    t = pfile_replaced(text, "actor.gru 4 4\n", "actor.gru 4 4\nnan ");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "not a finite number");
    free(t);
    t = pfile_replaced(text, "\nactor.head", " 0.5\nactor.head");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "more parameters than its layer sizes");
    free(t);
    /* and the good file still loads */
    assert_int_equal(seq_model_load(good, &m, err, sizeof err), 0);
    seq_model_destroy(&m);
    free(text);
}


/* ---- end to end ---------------------------------------------------------- */

static char *
run_ok(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int status;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = test_capture(cmd, &status);
    if (status != 0)
        fail_msg("%s: exit %d\n%s", cmd, status, out);
    return out;
}


static void
test_train_and_eval_seq(void **state)
{
    (void)state;
    const char *bin = test_bin();
    char p0[256], p1[256], s1[256], edb[256], dir[256];
    char *out;

    test_tmp_path(p0, sizeof p0, "e2e-p0.seq");
    test_tmp_path(p1, sizeof p1, "e2e-p1.seq");
    test_tmp_path(s1, sizeof s1, "e2e-sim.seq");
    test_tmp_path(edb, sizeof edb, "e2e-seq-explore.db");
    test_tmp_path(dir, sizeof dir, "e2e-seq-eval");
    test_remove_db(edb);

    free(run_ok("%s train seq --init --gru 4 --hidden 8 --layers 1 --out %s",
                bin, p0));
    free(run_ok("%s run --policy seq:%s --explore --problems 40 --db %s "
                "--no-progress",
                bin, p0, edb));
    /* The trainer recomputes, from the audit rows alone, the very
    ** probabilities the router sampled with: no note about another policy. */
    out =
        run_ok("%s train seq --db %s --in %s --out %s 2>&1", bin, edb, p0, p1);
    assert_non_null(strstr(out, "40 episodes"));
    assert_null(strstr(out, "is not the policy"));
    free(out);
    /* exactly: the ratio before the update is 1 at every step */
    agg_batch_t batch = {0};
    seq_model_t *m = NULL;
    ppo_opts_t po;
    ppo_stats_t st;
    char err[512];
    assert_int_equal(seq_model_load(p0, &m, err, sizeof err), 0);
    assert_int_equal(
        agg_episodes_read(edb, 0, m->lambda, &batch, NULL, err, sizeof err), 0);
    ppo_opts_default(&po);
    po.epochs = 1;
    assert_int_equal(seq_ppo_update(m, &batch, &po, &st, err, sizeof err), 0);
    assert_true(st.start_log_ratio < 1e-6);
    assert_int_equal(st.episodes, 40);
    agg_batch_clear(&batch);
    seq_model_destroy(&m);

    out = run_ok("%s train seq --sim --lambda 0.003 --iterations 1 "
                 "--problems 40 --threshold 0.9 --gru 4 --hidden 8 --layers 1 "
                 "--no-calibrate --out %s",
                 bin, s1);
    assert_non_null(strstr(out, "iteration   1 of 1"));
    assert_non_null(strstr(out, "best: "));
    free(out);
    assert_int_equal(seq_model_load(s1, &m, err, sizeof err), 0);
    assert_true(m->lambda == 0.003);
    seq_model_destroy(&m);

    out = run_ok("%s eval --policies seq --seq %s --problems 20 --out %s", bin,
                 s1, dir);
    assert_non_null(strstr(out, "seq"));
    free(out);
    char summary[300];
    snprintf(summary, sizeof summary, "%s/summary.csv", dir);
    assert_true(test_file_contains(summary, "seq"));

    /* --seq needs seq among --policies when they are named */
    int status;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s eval --policies thr --seq %s --out %s 2>&1",
             bin, s1, dir);
    out = test_capture(cmd, &status);
    assert_int_equal(status, 2);
    assert_non_null(
        strstr(out, "--seq given but --policies does not list seq"));
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_through_time_matches_finite_differences),
        cmocka_unit_test(test_file_round_trips_and_routes),
        cmocka_unit_test(test_bad_files_are_refused),
        cmocka_unit_test(test_train_and_eval_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
