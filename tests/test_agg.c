/*
** test_agg.c: TRIM-Agg: features, the policy file, the PPO trainer, greedy
** and exploring decisions, the training loop's runner contract, and `trim
** train agg` end to end.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "agg.h"
#include "hash.h"
#include "policy.h"
#include "policy_files.h"
#include "testutil.h"
#include "train.h"
#include "train_runs.h"


static agg_model_t *
small_model(double threshold, uint64_t seed)
{
    char err[256];
    agg_model_t *m = agg_model_new(2, 16, 1e-3, err, sizeof err);

    assert_non_null(m);
    agg_init(m, threshold, 10, seed);
    return m;
}


/* agg_model_load for pfile_assert_rejected: nothing left behind. */
static int
load_agg(const char *path, char *err, size_t errlen)
{
    agg_model_t *m = (agg_model_t *)1;
    int rc = agg_model_load(path, &m, err, errlen);

    assert_null(m);
    return rc;
}


static void
assert_rejected(const char *path, const char *want)
{
    pfile_assert_rejected(load_agg, "agg", path, want);
}


/* ---- features ----------------------------------------------------------- */

static void
test_features_in_order_and_scaled(void **state)
{
    (void)state;
    route_features_t f = {0};
    float x[AGG_FEATURES];

    f.score = 0.7f;
    f.min_prev = 0.4f;
    f.prod_prev = 0.12f;
    f.draft_tokens = 150;
    f.step_index = 6;
    agg_features(&f, x);
    /* min previous, product previous, current, tokens/300, step/30 */
    assert_true(x[0] == 0.4f);
    assert_true(x[1] == 0.12f);
    assert_true(x[2] == 0.7f);
    assert_true(fabsf(x[3] - 0.5f) < 1e-7f);
    assert_true(fabsf(x[4] - 0.2f) < 1e-7f);

    /* the first step: no history, both aggregates 1 */
    agg_features_of(1.0f, 1.0f, 0.25f, 30, 0, x);
    assert_true(x[0] == 1.0f && x[1] == 1.0f && x[2] == 0.25f);
    assert_true(fabsf(x[3] - 0.1f) < 1e-7f);
    assert_true(x[4] == 0.0f);
    agg_features_of(0.9f, 0.5f, 1.0f, 600, 30, x);
    assert_true(fabsf(x[3] - 2.0f) < 1e-6f && x[4] == 1.0f);
}


static void
test_gradient_matches_finite_differences(void **state)
{
    (void)state;
    agg_model_t *m = small_model(-1, 3);
    mlp_t *n = m->actor;
    float x[AGG_FEATURES] = {0.6f, 0.3f, 0.45f, 0.2f, 0.1f};
    float trace[MLP_MAX_WIDTH * (MLP_MAX_LAYERS + 1)], out[2];
    double gout[2] = {0.7, -1.3};
    double *grad = calloc(n->n_params, sizeof *grad);

    /* make the output layer matter: 0.01 gain is too small to test on */
    for (size_t i = mlp_weight_offset(n, n->n_layers - 1); i < n->n_params; i++)
        n->params[i] *= 50;
    mlp_forward_trace(n, x, trace);
    mlp_backward(n, trace, gout, grad);
    for (size_t i = 0; i < n->n_params; i += 7) {
        float keep = n->params[i], h = 1e-2f;
        n->params[i] = keep + h;
        mlp_forward(n, x, out);
        double up = gout[0] * out[0] + gout[1] * out[1];
        n->params[i] = keep - h;
        mlp_forward(n, x, out);
        double down = gout[0] * out[0] + gout[1] * out[1];
        n->params[i] = keep;
        double num = (up - down) / (2.0 * (double)h);
        if (fabs(num - grad[i]) > 2e-3 + 2e-2 * fabs(num))
            fail_msg("parameter %zu: backprop %g, finite difference %g", i,
                     grad[i], num);
    }
    free(grad);
    agg_model_destroy(&m);
}


/* ---- the policy file ---------------------------------------------------- */

static void
test_file_round_trip(void **state)
{
    (void)state;
    char path[256], err[512], spec[300];
    agg_model_t *m = small_model(0.5, 7), *back = NULL;

    m->lambda = 0.0008;
    test_tmp_path(path, sizeof path, "round.agg");
    assert_int_equal(agg_model_save(m, path, err, sizeof err), 0);
    assert_int_equal(agg_model_load(path, &back, err, sizeof err), 0);
    assert_true(back->lambda == 0.0008);
    assert_int_equal(back->actor->n_layers, 3);
    assert_int_equal(back->actor->size[1], 16);
    assert_int_equal(back->critic->size[3], 1);
    assert_int_equal(back->actor->n_params, m->actor->n_params);
    assert_memory_equal(back->actor->params, m->actor->params,
                        m->actor->n_params * sizeof(float));
    assert_memory_equal(back->critic->params, m->critic->params,
                        m->critic->n_params * sizeof(float));

    /* as a policy */
    snprintf(spec, sizeof spec, "agg:%s", path);
    policy_t *p = policy_new(spec, NULL, err, sizeof err);
    assert_non_null(p);
    assert_string_equal(policy_spec(p), spec);
    assert_int_equal(policy_shape(p), POLICY_ROUTED);
    route_features_t f = {0};
    route_result_t r;
    f.min_prev = f.prod_prev = 1;
    f.score = 0.1f;
    f.draft_tokens = 40;
    assert_int_equal(policy_decide(p, &f, &r), 0);
    assert_int_equal(r.regenerate, 1); /* a threshold-0.5 start */
    assert_non_null(strstr(r.reason, "agg p(regenerate)="));
    assert_non_null(strstr(r.reason, "lambda 0.0008"));
    f.score = 0.95f;
    policy_decide(p, &f, &r);
    assert_int_equal(r.regenerate, 0);
    f.score = NAN;
    assert_int_equal(policy_decide(p, &f, &r), -1);
    policy_destroy(&p);

    /* a second save replaces the file whole */
    back->lambda = 0.002;
    assert_int_equal(agg_model_save(back, path, err, sizeof err), 0);
    agg_model_destroy(&back);
    assert_int_equal(agg_model_load(path, &back, err, sizeof err), 0);
    assert_true(back->lambda == 0.002);
    agg_model_destroy(&back);
    agg_model_destroy(&m);
}


static void
test_corrupt_files_are_rejected(void **state)
{
    (void)state;
    char good[256], bad[256], err[512];
    size_t len;
    agg_model_t *m = small_model(0.5, 9);

    test_tmp_path(good, sizeof good, "good.agg");
    test_tmp_path(bad, sizeof bad, "bad.agg");
    assert_int_equal(agg_model_save(m, good, err, sizeof err), 0);
    agg_model_destroy(&m);
    char *text = pfile_read(good, &len), *t;

    /* missing, empty */
    assert_rejected("/nonexistent/x.agg", "cannot open");
    pfile_write(bad, "", 0);
    assert_rejected(bad, "empty");

    /* bad magic, wrong version */
    t = pfile_replaced(text, "trim-agg 1", "trim-xyz 1");
    pfile_write(bad, t, strlen(t));
    assert_rejected(bad, "bad magic");
    free(t);
    t = pfile_replaced(text, "trim-agg 1", "trim-agg 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "version 2");
    free(t);

    /* truncated anywhere: at half, and just before the checksum's end */
    pfile_write(bad, text, len / 2);
    assert_rejected(bad, "truncated");
    pfile_write(bad, text, len - 5);
    assert_rejected(bad, "checksum");

    /* one flipped byte in a parameter */
    t = strdup(text);
    char *digit = strchr(strstr(t, "\nactor ") + 20, '.');
    assert_non_null(digit);
    digit[1] = digit[1] == '5' ? '6' : '5';
    pfile_write(bad, t, len);
    assert_rejected(bad, "checksum mismatch (file damaged or edited)");
    free(t);

    /* a NaN parameter, checksum made to match */
    t = strdup(text);
    char *line = strchr(strstr(t, "\nactor ") + 1, '\n') + 1;
    char *end = strchr(line, ' ');
    char *nan_text = malloc(strlen(t) + 8);
    memcpy(nan_text, t, (size_t)(line - t));
    strcpy(nan_text + (line - t), "nan");
    strcat(nan_text, end);
    pfile_write_resealed(bad, nan_text);
    assert_rejected(bad, "not a finite number");
    free(nan_text);
    free(t);

    /* wrong layer sizes, checksum made to match */
    t = pfile_replaced(text, "actor 5 16 16 2", "actor 5 16 16 3");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "must have 5 and 2");
    free(t);
    t = pfile_replaced(text, "actor 5 16 16 2", "actor 4 16 16 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "has 4 inputs and 2 outputs, must have 5 and 2");
    free(t);
    t = pfile_replaced(text, "actor 5 16 16 2", "actor 5 16 8 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "more parameters than its layer sizes");
    free(t);
    t = pfile_replaced(text, "actor 5 16 16 2", "actor 5 16 32 2");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "truncated, or wrong layer sizes");
    free(t);

    /* other features, a bad lambda, text after the checksum */
    t = pfile_replaced(text, "step/30", "step/40");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "other features");
    free(t);
    t = pfile_replaced(text, "lambda 0.001", "lambda -1");
    pfile_write_resealed(bad, t);
    assert_rejected(bad, "lambda");
    free(t);
    t = malloc(len + 8);
    memcpy(t, text, len);
    memcpy(t + len, "extra\n", 7);
    pfile_write(bad, t, len + 6);
    assert_rejected(bad, "checksum");
    free(t);

    /* and the good file still loads */
    assert_int_equal(agg_model_load(good, &m, err, sizeof err), 0);
    agg_model_destroy(&m);
    free(text);
}


/* ---- the trainer -------------------------------------------------------- */

/*
** A bandit with a known best policy: the draft is right with probability
** equal to its score s ~ U(0,1); regenerating makes it right with
** probability 0.95 and costs 100 strong tokens at lambda 0.001.  The best
** policy regenerates when 0.95 - 0.1 > s, i.e. below s = 0.85, and earns
** 0.86125 per episode; the threshold-0.5 start earns 0.8.
*/
#define BANDIT_COST  0.1
#define BANDIT_FIXED 0.95

static double
bandit_value(const agg_model_t *m)
{
    double sum = 0;
    int n = 1000;

    for (int i = 0; i < n; i++) {
        float s = ((float)i + 0.5f) / (float)n, x[AGG_FEATURES];
        agg_features_of(1, 1, s, 60, 0, x);
        int regen = agg_prob(agg_logit(m, x), 0) > 0.5;
        sum += regen ? BANDIT_FIXED - BANDIT_COST : (double)s;
    }
    return sum / n;
}


static void
bandit_batch(const agg_model_t *m, uint64_t seed, size_t n, agg_batch_t *b)
{
    rng_t r = rng_seeded(seed);

    for (size_t i = 0; i < n; i++) {
        agg_step_t st = {0};
        float s = (float)rng_uniform(&r);
        agg_features_of(1, 1, s, 60, 0, st.x);
        double p = agg_prob(agg_logit(m, st.x), 0);
        st.action = rng_uniform(&r) < p;
        st.prob = (float)(st.action ? p : 1 - p);
        double right = st.action ? BANDIT_FIXED : (double)s;
        st.reward = (rng_uniform(&r) < right ? 1.0 : 0.0) -
                    (st.action ? BANDIT_COST : 0.0);
        st.last = 1;
        assert_int_equal(agg_batch_add(b, &st), 0);
    }
}


static void
test_ppo_finds_the_best_bandit_policy(void **state)
{
    (void)state;
    agg_model_t *m = small_model(0.5, 11);
    ppo_opts_t o;
    ppo_stats_t st;
    char err[256];
    double start = bandit_value(m), v = start;

    ppo_opts_default(&o);
    o.lr = 3e-3;
    o.minibatch = 64;
    assert_true(fabs(start - 0.80) < 0.01);
    for (int it = 0; it < 15; it++) {
        agg_batch_t b = {0};
        bandit_batch(m, 100 + (uint64_t)it, 2000, &b);
        o.seed = (uint64_t)it;
        assert_int_equal(ppo_update(m, &b, &o, &st, err, sizeof err), 0);
        /* each batch comes from the model it updates: ratios start at 1 */
        assert_true(st.start_log_ratio < 1e-4);
        agg_batch_clear(&b);
        v = bandit_value(m);
    }
    print_message("bandit: value %.4f -> %.4f (best 0.86125)\n", start, v);
    assert_true(v > start + 0.04);
    assert_true(v > 0.85);
    /* the boundary moved from 0.5 to near 0.85 */
    float x[AGG_FEATURES];
    agg_features_of(1, 1, 0.7f, 60, 0, x);
    assert_true(agg_prob(agg_logit(m, x), 0) > 0.5);
    agg_features_of(1, 1, 0.97f, 60, 0, x);
    assert_true(agg_prob(agg_logit(m, x), 0) < 0.5);

    /* bad batches are refused */
    agg_batch_t empty = {0};
    assert_int_equal(ppo_update(m, &empty, &o, NULL, err, sizeof err), -1);
    agg_step_t s0 = {0};
    s0.prob = 0;
    s0.last = 1;
    assert_int_equal(agg_batch_add(&empty, &s0), 0);
    assert_int_equal(ppo_update(m, &empty, &o, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "probability"));
    agg_batch_clear(&empty);
    agg_model_destroy(&m);
}


static void
test_ppo_is_deterministic(void **state)
{
    (void)state;
    agg_model_t *a = small_model(0.5, 5), *b = small_model(0.5, 5);
    agg_batch_t batch = {0};
    ppo_opts_t o;
    char err[256];

    ppo_opts_default(&o);
    bandit_batch(a, 1, 500, &batch);
    assert_int_equal(ppo_update(a, &batch, &o, NULL, err, sizeof err), 0);
    assert_int_equal(ppo_update(b, &batch, &o, NULL, err, sizeof err), 0);
    assert_memory_equal(a->actor->params, b->actor->params,
                        a->actor->n_params * sizeof(float));
    assert_memory_equal(a->critic->params, b->critic->params,
                        a->critic->n_params * sizeof(float));
    agg_batch_clear(&batch);
    agg_model_destroy(&a);
    agg_model_destroy(&b);
}


/* ---- decisions ---------------------------------------------------------- */

static policy_t *
policy_from(agg_model_t *m, const char *name)
{
    char path[256], err[512], spec[300];

    test_tmp_path(path, sizeof path, name);
    assert_int_equal(agg_model_save(m, path, err, sizeof err), 0);
    snprintf(spec, sizeof spec, "agg:%s", path);
    policy_t *p = policy_new(spec, NULL, err, sizeof err);
    assert_non_null(p);
    return p;
}


static void
test_greedy_is_argmax_explore_samples(void **state)
{
    (void)state;
    agg_model_t *m = small_model(0.5, 13);
    policy_t *p = policy_from(m, "explore.agg");
    route_features_t f = {0};
    route_result_t r, again;
    float x[AGG_FEATURES];
    int n = 20000, hits = 0;

    f.min_prev = 0.8f;
    f.prod_prev = 0.6f;
    f.score = 0.46f;
    f.draft_tokens = 80;
    f.step_index = 3;
    agg_features(&f, x);
    double pr = agg_prob(agg_logit(m, x), 0);
    assert_true(pr > 0.55 && pr < 0.85); /* near the threshold: unsure */

    for (int i = 0; i < n; i++) {
        f.seed = hash_mix64((uint64_t)i);
        f.explore = 0;
        assert_int_equal(policy_decide(p, &f, &r), 0);
        assert_int_equal(r.regenerate, 1); /* greedy: the likelier action */
        assert_true(fabs(r.prob - pr) < 1e-6);
        f.explore = 1;
        policy_decide(p, &f, &r);
        policy_decide(p, &f, &again);
        assert_int_equal(r.regenerate, again.regenerate); /* seeded */
        assert_true(fabs(r.prob - (r.regenerate ? pr : 1 - pr)) < 1e-6);
        hits += r.regenerate;
    }
    /* 20,000 draws: the rate's sd is under 0.0036 */
    print_message("explore: p %.4f, rate %.4f\n", pr, (double)hits / n);
    assert_true(fabs((double)hits / n - pr) < 0.015);
    assert_non_null(strstr(r.reason, "sampled"));
    policy_destroy(&p);
    agg_model_destroy(&m);
}


static void
test_bias_moves_decisions_monotonically(void **state)
{
    (void)state;
    agg_model_t *m = small_model(0.5, 17);
    policy_t *p = policy_from(m, "bias.agg");
    route_features_t f = {0};
    route_result_t r;

    f.min_prev = f.prod_prev = 1;
    f.draft_tokens = 50;
    for (int k = 0; k <= 20; k++) {
        f.score = (float)k / 20;
        f.seed = (uint64_t)k * 7919;
        for (int explore = 0; explore <= 1; explore++) {
            double last_p = -1;
            int last_regen = 0;
            f.explore = explore;
            for (int b = -20; b <= 20; b++) {
                f.bias = (float)b / 20;
                assert_int_equal(policy_decide(p, &f, &r), 0);
                double pr = r.regenerate ? r.prob : 1 - r.prob;
                assert_true(pr >= last_p - 1e-6);        /* p(regen) rises */
                assert_true(r.regenerate >= last_regen); /* never back */
                last_p = pr;
                last_regen = r.regenerate;
            }
        }
        /* at full push either way the decision is the push's */
        f.explore = 0;
        f.bias = 1;
        policy_decide(p, &f, &r);
        if (f.score < 0.5f)
            assert_int_equal(r.regenerate, 1);
        f.bias = -1;
        policy_decide(p, &f, &r);
        if (f.score > 0.5f)
            assert_int_equal(r.regenerate, 0);
    }
    f.score = 0.5f;
    f.bias = NAN;
    assert_int_equal(policy_decide(p, &f, &r), -1);
    policy_destroy(&p);
    agg_model_destroy(&m);
}


/* ---- end to end --------------------------------------------------------- */

static char *run_cmd(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int last_status;

static char *
run_cmd(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return test_capture(cmd, &last_status);
}


/* What the fake runner was asked, call by call. */
typedef struct runner_log {
    int calls;
    char spec[2][128], db[2][256];
    int explore[2];
    uint64_t seed[2];
    int64_t problems[2];
} runner_log_t;


/*
** A runner without a cluster: validation runs get fixed figures, an
** exploring run fails, as a cluster that cannot start would.
*/
static int
fake_run(void *ctx, const char *spec, int explore, uint64_t seed,
         int64_t problems, const char *db, agg_run_stats_t *out, char *err,
         size_t errlen)
{
    runner_log_t *log = ctx;
    int i = log->calls++;

    if (i < 2) {
        snprintf(log->spec[i], sizeof log->spec[i], "%s", spec);
        snprintf(log->db[i], sizeof log->db[i], "%s", db);
        log->explore[i] = explore;
        log->seed[i] = seed;
        log->problems[i] = problems;
    }
    if (explore) {
        snprintf(err, errlen, "no cluster here");
        return -1;
    }
    out->run_id = 1;
    out->problems = problems;
    out->correct = problems / 2;
    out->strong_tokens = 100 * problems;
    return 0;
}


static void
test_train_loop_asks_its_runner(void **state)
{
    (void)state;
    runner_log_t log = {0};
    agg_model_t *start = small_model(0.5, 1), *m = NULL;
    agg_loop_opts_t o = {0};
    agg_loop_result_t res;
    char out[256], err[512] = "";
    struct stat st;

    test_tmp_path(out, sizeof out, "loop.agg");
    o.runner.run = fake_run;
    o.runner.ctx = &log;
    o.lambda = 1e-3;
    o.out = out;
    o.start = start;
    o.iterations = 3;
    o.problems = 30;
    o.val_problems = 10;
    o.seed = 7;
    ppo_opts_default(&o.ppo);
    assert_int_equal(agg_train_loop(&o, &res, err, sizeof err), -1);
    assert_string_equal(err, "no cluster here");

    /* First the start on the validation set (greedy, its own seed), then
    ** an exploring run on the first training set. */
    assert_int_equal(log.calls, 2);
    assert_int_equal(log.explore[0], 0);
    assert_int_equal(log.seed[0], 7 + 1000003);
    assert_int_equal(log.problems[0], 10);
    assert_int_equal(log.explore[1], 1);
    assert_int_equal(log.seed[1], 8);
    assert_int_equal(log.problems[1], 30);
    assert_int_equal(strncmp(log.spec[0], "agg:", 4), 0);
    assert_string_equal(log.spec[0], log.spec[1]);
    assert_non_null(strstr(log.db[1], "explore.db"));

    /* The start was written out before the failure; its objective is the
    ** runner's figures: accuracy 0.5, 100 strong tokens per problem. */
    assert_int_equal(agg_model_load(out, &m, err, sizeof err), 0);
    assert_true(m->lambda == 1e-3);
    agg_model_destroy(&m);
    assert_true(fabs(res.initial.objective - (0.5 - 1e-3 * 100)) < 1e-9);

    /* The temporary work folder (the spec is agg:DIR/cur.agg) is gone. */
    char *slash = strrchr(log.spec[0], '/');
    assert_non_null(slash);
    *slash = '\0';
    assert_int_not_equal(stat(log.spec[0] + 4, &st), 0);
    agg_model_destroy(&start);
}


static void
test_train_from_the_store(void **state)
{
    (void)state;
    char p0[256], p1[256], p2[256], edb[256], gdb[256], log[256];
    const char *bin = test_bin();
    size_t l1, l2;
    char *out;

    test_tmp_path(p0, sizeof p0, "e2e-p0.agg");
    test_tmp_path(p1, sizeof p1, "e2e-p1.agg");
    test_tmp_path(p2, sizeof p2, "e2e-p2.agg");
    test_tmp_path(edb, sizeof edb, "e2e-explore.db");
    test_tmp_path(gdb, sizeof gdb, "e2e-greedy.db");
    test_tmp_path(log, sizeof log, "e2e.log");

    out = run_cmd("%s train agg --init --hidden 16 --out %s", bin, p0);
    assert_int_equal(last_status, 0);
    free(out);
    out = run_cmd("%s run --policy agg:%s --explore --problems 120 --db %s "
                  "--no-progress --json",
                  bin, p0, edb);
    assert_int_equal(last_status, 0);
    free(out);
    /* the same run and seed give the same policy file */
    out = run_cmd("%s train agg --db %s --in %s --out %s", bin, edb, p0, p1);
    assert_int_equal(last_status, 0);
    assert_non_null(strstr(out, "120 episodes"));
    free(out);
    out = run_cmd("%s train agg --db %s --in %s --out %s", bin, edb, p0, p2);
    assert_int_equal(last_status, 0);
    free(out);
    char *a = pfile_read(p1, &l1), *b = pfile_read(p2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);
    out = run_cmd("%s run --policy agg:%s --problems 20 --db %s --no-progress",
                  bin, p1, gdb);
    assert_int_equal(last_status, 0);
    free(out);

    /* a greedy run has nothing to weigh its actions by */
    out = run_cmd("%s train agg --db %s --in %s --out %s 2>%s", bin, gdb, p1,
                  p2, log);
    assert_int_equal(last_status, 1);
    assert_true(test_file_contains(log, "did not explore"));
    free(out);
    /* a damaged policy is refused by name, before the run starts */
    out = run_cmd("printf 'trim-agg 1\\nlambda 0.1\\n' > %s; %s run --policy "
                  "agg:%s --problems 1 --db %s --no-progress 2>%s",
                  p2, bin, p2, gdb, log);
    assert_int_equal(last_status, 2);
    assert_true(test_file_contains(log, "no checksum line"));
    free(out);
}


static void
test_train_on_the_simulator_improves(void **state)
{
    (void)state;
    char pol[256];
    double best, initial;
    char *out;

    test_tmp_path(pol, sizeof pol, "sim.agg");
    /* Starting as thr:0.95 at a high lambda spends far too many strong
    ** tokens: a few updates must find a better trade. */
    out = run_cmd("%s train agg --sim --lambda 0.003 --iterations 3 "
                  "--problems 200 --threshold 0.95 --hidden 16 --lr 3e-3 "
                  "--minibatch 64 --seed 2 --out %s",
                  test_bin(), pol);
    assert_int_equal(last_status, 0);
    print_message("%s", out);
    const char *line = strstr(out, "best: ");
    assert_non_null(line);
    const char *o = strstr(line, "objective ");
    assert_non_null(o);
    assert_int_equal(sscanf(o, "objective %lf (initial %lf)", &best, &initial),
                     2);
    assert_true(best > initial + 0.02);
    assert_non_null(strstr(out, "iteration   0 of "));
    assert_non_null(strstr(out, "iteration   1 of "));
    free(out);
    agg_model_t *m = NULL;
    char err[512];
    assert_int_equal(agg_model_load(pol, &m, err, sizeof err), 0);
    assert_true(m->lambda == 0.003);
    agg_model_destroy(&m);

    /* Without a start, it starts from the best threshold rule on the
    ** validation set, and never ends worse than that. */
    out = run_cmd("%s train agg --sim --lambda 0.003 --iterations 1 "
                  "--problems 60 --hidden 8 --no-calibrate --out %s",
                  test_bin(), pol);
    assert_int_equal(last_status, 0);
    assert_non_null(strstr(out, "start: the best threshold rule is "));
    line = strstr(out, "best: ");
    assert_non_null(line);
    o = strstr(line, "objective ");
    assert_int_equal(sscanf(o, "objective %lf (initial %lf)", &best, &initial),
                     2);
    assert_true(best >= initial);
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_in_order_and_scaled),
        cmocka_unit_test(test_gradient_matches_finite_differences),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_corrupt_files_are_rejected),
        cmocka_unit_test(test_ppo_finds_the_best_bandit_policy),
        cmocka_unit_test(test_ppo_is_deterministic),
        cmocka_unit_test(test_greedy_is_argmax_explore_samples),
        cmocka_unit_test(test_bias_moves_decisions_monotonically),
        cmocka_unit_test(test_train_loop_asks_its_runner),
        cmocka_unit_test(test_train_from_the_store),
        cmocka_unit_test(test_train_on_the_simulator_improves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
