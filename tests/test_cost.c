/*
** test_cost.c: the price book, dollars from tokens, usage from an audit
** store and measured and projected ROI (cost/), against the hand-worked
** examples of docs/roi.md; the price book's error paths.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prices.h"
#include "roi.h"
#include "store.h"
#include "store_testing.h"

#define near(a, b) assert_true(fabs((a) - (b)) < 1e-12)

/* docs/roi.md's book: two hosted models and a self-hosted PRM. */
static const char book[] =
    "{\"models\": {"
    " \"small\": {\"input_usd_per_mtok\": 0.20, \"cached_input_usd_per_mtok\":"
    "   0.10, \"output_usd_per_mtok\": 0.60},"
    " \"large\": {\"input_usd_per_mtok\": 2.00, \"cached_input_usd_per_mtok\":"
    "   1.00, \"output_usd_per_mtok\": 6.00},"
    " \"prm\": {\"usd_per_gpu_hour\": 2.00, \"gpus\": 1,"
    "   \"prefill_tokens_per_s\": 20000, \"decode_tokens_per_s\": 1000}},"
    " \"roles\": {\"weak\": \"small\", \"strong\": \"large\", \"prm\": "
    "\"prm\"}}";


static prices_t *
load_book(void)
{
    char err[256];
    prices_t *p = prices_parse(book, "book.json", err, sizeof err);
    if (p == NULL)
        fail_msg("%s", err);
    return p;
}


static void
test_book_and_formula(void **state)
{
    (void)state;
    prices_t *p = load_book();
    /* roi.md, example 1. */
    cost_usage_t u = {.input = {10000, 3000, 12000},
                      .cached = {6000, 1000, 9000},
                      .output = {2000, 500, 0}};
    cost_usd_t d;

    assert_string_equal(p->role[COST_STRONG].model, "large");
    near(p->role[COST_PRM].input, 2.0 / (3600 * 20000.0) * 1e6);
    near(p->role[COST_PRM].output, 2.0 / 3600 * 1e3);
    near(p->role[COST_PRM].cached, 0);
    assert_true(p->role[COST_PRM].self_hosted);
    prices_cost(p, &u, &d);
    near(d.input[COST_WEAK], 0.0008);
    near(d.cached[COST_WEAK], 0.0006);
    near(d.output[COST_WEAK], 0.0012);
    near(d.role[COST_WEAK], 0.0026);
    near(d.role[COST_STRONG], 0.008);
    near(d.role[COST_PRM], 3000 * 2.0 / 72e6);
    near(d.total, 0.0026 + 0.008 + 3000 * 2.0 / 72e6);
    prices_destroy(&p);
    assert_null(p);
    prices_destroy(&p); /* NULL-safe */

    /* No cached price: cached input costs as much as any input. */
    p = prices_parse("{\"models\": {\"m\": {\"input_usd_per_mtok\": 1,"
                     " \"output_usd_per_mtok\": 2}}, \"roles\": {\"weak\":"
                     " \"m\", \"strong\": \"m\", \"prm\": \"m\"}}",
                     "one.json", (char[64]){0}, 64);
    assert_non_null(p);
    near(p->role[COST_WEAK].cached, 1);
    prices_destroy(&p);
}


/* Each bad book fails with an error holding every needle. */
static void
test_book_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle1, *needle2;
    } cases[] = {
        {"{\"models\": {", "bad.json: line 1", ""},
        {"[1]", "bad.json", "not a JSON object"},
        {"{\"roles\": {}}", "models", "missing"},
        {"{\"models\": {\"m\": {\"input_usd_per_mtok\": 1,"
         " \"output_usd_per_mtok\": 1}}, \"roles\": {\"weak\": \"m\","
         " \"strong\": \"m\"}}",
         "roles.prm", "missing"},
        {"{\"models\": {\"m\": {\"input_usd_per_mtok\": -1,"
         " \"output_usd_per_mtok\": 1}}, \"roles\": {\"weak\": \"m\","
         " \"strong\": \"m\", \"prm\": \"m\"}}",
         "models.m.input_usd_per_mtok", "-1 is not a non-negative"},
        {"{\"models\": {\"m\": {\"input_usd_per_mtok\": 1,"
         " \"output_usd_per_mtok\": 1, \"outptu\": 3}}, \"roles\":"
         " {\"weak\": \"m\", \"strong\": \"m\", \"prm\": \"m\"}}",
         "models.m.outptu", "unknown key"},
        {"{\"models\": {}, \"roles\": {\"weak\": \"x\", \"strong\": \"x\","
         " \"prm\": \"x\"}}",
         "roles.weak", "no model \"x\""},
        {"{\"models\": {\"g\": {\"usd_per_gpu_hour\": 2,"
         " \"prefill_tokens_per_s\": 0, \"decode_tokens_per_s\": 5}},"
         " \"roles\": {\"weak\": \"g\", \"strong\": \"g\", \"prm\": \"g\"}}",
         "models.g.prefill_tokens_per_s", "positive"},
        {"{\"models\": {\"m\": {\"input_usd_per_mtok\": \"1\","
         " \"output_usd_per_mtok\": 1}}, \"roles\": {\"weak\": \"m\","
         " \"strong\": \"m\", \"prm\": \"m\"}}",
         "models.m.input_usd_per_mtok", "not a number"},
    };
    char err[256];

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err[0] = '\0';
        assert_null(prices_parse(cases[i].json, "bad.json", err, sizeof err));
        if (!strstr(err, cases[i].needle1) || !strstr(err, cases[i].needle2))
            fail_msg("case %zu: \"%s\"", i, err);
    }
    assert_null(prices_load("/nonexistent/p.json", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/p.json"));
}


/*
** roi.md, example 2: one problem (correct) with a discarded draft at step
** 0 replaced by a strong step, a kept draft at step 1 and a discarded one
** at step 2 replaced again.
*/
static const struct {
    int idx;
    store_kind_t kind;
    int prompt, completion, prm, accepted;
} trace[] = {
    {0, STORE_DRAFT, 100, 20, 120, 0}, {0, STORE_STRONG, 100, 30, 0, 1},
    {1, STORE_DRAFT, 130, 25, 155, 1}, {2, STORE_DRAFT, 155, 40, 195, 0},
    {2, STORE_STRONG, 155, 35, 0, 1},
};


/*
** The cached counts a server reported for the trace's rows, by row: a
** prompt's (-1: none reported) and a PRM input's.  Against the rule's
** estimate: step 0's draft 0 (the rule's too), step 1's draft 40 (100),
** step 2's strong step 0 (100, a cache that lost it), and the PRM's 60 at
** step 1 (120) and none at step 2 (155 by the rule).
*/
static const int reported[][2] = {
    {0, -1}, {-1, -1}, {40, 60}, {-1, -1}, {0, -1},
};


/* The trace's rows into w as problem id's, prompts and PRM inputs raised
** by more (0: the trace as it is), counted in acc unless it is NULL (as the
** coordinator counts the rows it puts); with the reported cached counts
** when report is set. */
static void
put_trace_reported(store_writer_t *w, int64_t id, int more,
                   store_usage_acc_t *acc, int report)
{
    for (size_t i = 0; i < sizeof trace / sizeof *trace; i++) {
        store_step_t s = {.problem_id = id,
                          .step_index = trace[i].idx,
                          .kind = trace[i].kind,
                          .text = "s",
                          .prompt_tokens = trace[i].prompt + more,
                          .completion_tokens = trace[i].completion,
                          .prm_tokens = trace[i].prm ? trace[i].prm + more : 0,
                          .accepted = trace[i].accepted,
                          .prm_score = NAN,
                          .min_prev_score = NAN,
                          .prod_prev_score = NAN,
                          .action_prob = NAN,
                          .decision = STORE_NO_DECISION};
        if (report && reported[i][0] >= 0) {
            s.has_cached = 1;
            s.cached_tokens = reported[i][0];
        }
        if (report && reported[i][1] >= 0) {
            s.has_prm_cached = 1;
            s.prm_cached_tokens = reported[i][1];
        }
        assert_true(store_writer_put_step(w, &s) > 0);
        if (acc != NULL)
            store_usage_add(acc, &s);
    }
}


static void
put_trace(store_writer_t *w, int64_t id, int more, store_usage_acc_t *acc)
{
    put_trace_reported(w, id, more, acc, 0);
}


static void
write_store(const char *path)
{
    char err[256];
    store_writer_t *w = store_writer_new(path, NULL, err, sizeof err);
    store_run_t run = {.run_id = 1, .policy = "thr:0.5", .started_ms = 1};
    store_problem_t pr = {.problem_id = 1,
                          .run_id = 1,
                          .text = "q",
                          .status = STORE_FINISHED,
                          .correct = 1,
                          .created_ms = 1};

    if (w == NULL)
        fail_msg("%s", err);
    assert_true(store_writer_put_run(w, &run) > 0);
    assert_true(store_writer_put_problem(w, &pr) > 0);
    put_trace(w, 1, 0, NULL);
    store_writer_destroy(&w);
}


static int
count_steps(void *ctx, int32_t step_index, store_kind_t kind,
            const cost_usage_t *u)
{
    cost_usage_t *sum = ctx;
    (void)step_index;
    (void)kind;
    cost_usage_add(sum, u);
    return 0;
}


static void
test_usage_and_measured(void **state)
{
    (void)state;
    char path[64], err[256];
    prices_t *p = load_book();
    cost_usage_t u, sol, steps;
    roi_measured_t m;

    memset(&steps, 0, sizeof steps);
    snprintf(path, sizeof path, "/tmp/test_cost_%d.db", (int)getpid());
    store_remove(path);
    write_store(path);
    store_reader_t *r = store_reader_new(path, err, sizeof err);
    if (r == NULL)
        fail_msg("%s", err);

    assert_int_equal(cost_usage_run(r, 1, 0, &u, err, sizeof err), 0);
    assert_int_equal(u.input[COST_WEAK], 385);
    assert_int_equal(u.cached[COST_WEAK], 230);
    assert_int_equal(u.output[COST_WEAK], 85);
    assert_int_equal(u.input[COST_STRONG], 255);
    assert_int_equal(u.cached[COST_STRONG], 100);
    assert_int_equal(u.output[COST_STRONG], 65);
    assert_int_equal(u.input[COST_PRM], 470);
    assert_int_equal(u.cached[COST_PRM], 275);
    assert_int_equal(u.output[COST_PRM], 0);
    /* The same per problem, and summed step by step. */
    assert_int_equal(cost_usage_run(r, 0, 1, &sol, err, sizeof err), 0);
    assert_memory_equal(&sol, &u, sizeof u);
    assert_int_equal(cost_each_step(r, 1, count_steps, &steps, err, sizeof err),
                     0);
    assert_memory_equal(&steps, &u, sizeof u);
    assert_int_equal(
        cost_usage_solution(r, 1, 0, COST_STRONG, &sol, err, sizeof err), 0);
    assert_int_equal(sol.input[COST_STRONG], 385);
    assert_int_equal(sol.cached[COST_STRONG], 230);
    assert_int_equal(sol.output[COST_STRONG], 90);
    assert_int_equal(sol.input[COST_WEAK], 0);

    assert_int_equal(roi_measure(r, p, 1, 0, &m, err, sizeof err), 0);
    near(m.usd.role[COST_WEAK], 0.000105);
    near(m.usd.role[COST_STRONG], 0.0008);
    near(m.usd.role[COST_PRM], 195 * 2.0 / 72e6);
    near(m.usd.total, 0.000905 + 195 * 2.0 / 72e6);
    near(m.per_problem, m.usd.total);
    near(m.per_correct, m.usd.total);
    near(m.strong_only, 0.00108);
    near(m.weak_only, 0.000108);
    near(m.savings, 0.00108 - m.usd.total);
    assert_int_equal(m.baseline_run_id, 0);
    /* Run 1 as its own baseline: strong-only is what it paid. */
    assert_int_equal(roi_measure(r, p, 1, 1, &m, err, sizeof err), 0);
    near(m.strong_only, m.usd.total);

    char *doc = roi_measured_json(&m, p);
    json_t *j = json_loads(doc, 0, NULL);
    assert_non_null(j);
    near(json_real_value(json_object_get(j, "usd")), m.usd.total);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(j, "by_role"), "prm"),
                         "cached_input_tokens")),
                     275);
    json_decref(j);
    free(doc);
    assert_int_equal(roi_measure(r, p, 7, 0, &m, err, sizeof err), -2);
    assert_non_null(strstr(err, "no run 7"));
    store_reader_destroy(&r);
    store_remove(path);
    prices_destroy(&p);
}


/* A point of eval.json: accuracy and its tokens over one problem. */
#define POINT(spec, acc, wi, wo, si, so, pi)                                   \
    "{\"spec\": \"" spec "\", \"accuracy\": " #acc ", \"problems\": 1,"        \
    " \"usage\": {\"weak\": {\"input\": " #wi                                  \
    ", \"cached\": 0, \"output\": " #wo "}, \"strong\": {\"input\": " #si      \
    ", \"cached\": 0, \"output\": " #so "}, \"prm\": {\"input\": " #pi         \
    ", \"cached\": 0, \"output\": 0}}}"

/* roi.md, example 3. */
static const char curve[] = "{\"anchors\": {\"weak\": " POINT(
    "weak", 0.40, 1000, 500, 0, 0,
    0) ", \"strong\": " POINT("strong", 0.80, 0, 0, 1000, 500,
                              0) "},"
                                 " \"policies\": [{\"policy\": \"thr\", "
                                 "\"points\": [" POINT(
                                     "thr:0.3", 0.60, 1000, 500, 400, 200,
                                     2000) ", " POINT("thr:0.6", 0.76, 1000,
                                                      500, 800, 400,
                                                      2000) "]},"
                                                            " {\"policy\": "
                                                            "\"bad\", "
                                                            "\"error\": \"did "
                                                            "not parse\"}]}";


static void
test_projected(void **state)
{
    (void)state;
    char err[256];
    prices_t *p = load_book();
    roi_curve_t *c = roi_curve_parse(curve, "eval.json", err, sizeof err);
    roi_query_t q = {.volume = 100000,
                     .target_accuracy = NAN,
                     .target_pgr = 0.75,
                     .fixed_monthly = 50};
    roi_projection_t pr;
    double prm = 2000 * 2.0 / 72e6; /* $0.0000555... */

    if (c == NULL)
        fail_msg("%s", err);
    assert_int_equal(roi_project(c, p, &q, &pr, err, sizeof err), 0);
    near(pr.target, 0.70);
    near(pr.weak_per_problem, 0.0005);
    near(pr.strong_per_problem, 0.005);
    assert_int_equal(pr.n_policies, 1);
    assert_int_equal(pr.best, 0);
    const roi_choice_t *b = &pr.policies[0];
    assert_string_equal(b->spec_lo, "thr:0.3");
    assert_string_equal(b->spec_hi, "thr:0.6");
    near(b->mix, 0.625);
    near(b->accuracy, 0.70);
    near(b->per_problem, 0.0025 + prm + 0.625 * 0.002);
    near(pr.monthly_strong, 500);
    near(pr.monthly_policy, 100000 * b->per_problem + 50);
    near(pr.savings, 500 - pr.monthly_policy);
    near(pr.per_correct_strong, 0.00625);
    near(pr.per_correct_policy, pr.monthly_policy / 70000);
    near(pr.break_even_volume, 50 / (0.005 - b->per_problem));
    /* The sensitivity row at x1 is the projection itself; at x2 the strong
    ** model's dollars double. */
    near(pr.sensitivity[3].strong_scale, 1);
    near(pr.sensitivity[3].ratio, 10);
    near(pr.sensitivity[3].per_problem, b->per_problem);
    near(pr.sensitivity[4].per_problem, 0.0045 + prm + 0.625 * 0.004);
    near(pr.sensitivity[4].monthly_strong, 1000);
    /* docs/roi.md's figure, as printed there. */
    assert_int_equal((long)pr.break_even_volume, 41860);
    assert_false(pr.strong_only_better);
    assert_false(pr.sensitivity[3].strong_only_better);
    /* At 1/8 of the strong prices strong-only ($62.50) beats the routed
    ** setup's fixed $50 plus its per-problem dollars. */
    assert_true(pr.sensitivity[0].strong_only_better);
    char *doc = roi_projection_json(&pr, p);
    json_t *j = json_loads(doc, 0, NULL);
    assert_non_null(j);
    assert_true(fabs(json_real_value(json_object_get(j, "monthly_policy_usd")) -
                     pr.monthly_policy) < 1e-9 * pr.monthly_policy);
    json_decref(j);
    free(doc);
    FILE *f = tmpfile();
    assert_int_equal(roi_write_svg(c, p, &pr, f), 0);
    assert_true(ftell(f) > 500);
    fclose(f);
    roi_projection_clear(&pr);

    /* Below weak-only's accuracy: weak-only itself, at its accuracy. */
    q.target_pgr = NAN;
    q.target_accuracy = 0.3;
    assert_int_equal(roi_project(c, p, &q, &pr, err, sizeof err), 0);
    assert_int_equal(pr.best, 0);
    assert_string_equal(pr.policies[0].spec_lo, "weak-only");
    assert_string_equal(pr.policies[0].spec_hi, "weak-only");
    near(pr.policies[0].per_problem, 0.0005);
    near(pr.policies[0].accuracy, 0.40);
    near(pr.per_correct_policy, (100000 * 0.0005 + 50) / (100000 * 0.40));
    roi_projection_clear(&pr);
    /* Exactly at a vertex: that setting alone. */
    q.target_accuracy = 0.60;
    assert_int_equal(roi_project(c, p, &q, &pr, err, sizeof err), 0);
    assert_string_equal(pr.policies[0].spec_lo, "thr:0.3");
    assert_string_equal(pr.policies[0].spec_hi, "thr:0.3");
    near(pr.policies[0].mix, 1);
    near(pr.policies[0].per_problem, 0.0025 + prm);
    roi_projection_clear(&pr);
    /* PGR 1: strong-only's accuracy, so strong-only, which with the fixed
    ** $50 costs more than strong-only alone: the projection says so. */
    q.target_accuracy = NAN;
    q.target_pgr = 1;
    assert_int_equal(roi_project(c, p, &q, &pr, err, sizeof err), 0);
    near(pr.target, 0.80);
    assert_string_equal(pr.policies[0].spec_hi, "strong-only");
    near(pr.monthly_policy, 550);
    assert_true(pr.strong_only_better);
    doc = roi_projection_json(&pr, p);
    j = json_loads(doc, 0, NULL);
    assert_true(json_is_true(json_object_get(j, "strong_only_better")));
    json_decref(j);
    free(doc);
    roi_projection_clear(&pr);

    /* Beyond every point: nothing reaches it. */
    q.target_pgr = NAN;
    q.target_accuracy = 0.9;
    assert_int_equal(roi_project(c, p, &q, &pr, err, sizeof err), 0);
    assert_int_equal(pr.best, -1);
    assert_false(pr.policies[0].reached);
    roi_projection_clear(&pr);
    q.volume = 0;
    assert_int_equal(roi_project(c, p, &q, &pr, err, sizeof err), -1);
    roi_curve_destroy(&c);
    assert_null(c);

    /* An eval.json from before usage: refused, saying what to do. */
    assert_null(roi_curve_parse(
        "{\"anchors\": {\"weak\": {\"spec\": \"weak\", \"accuracy\": 0.4},"
        " \"strong\": {}}, \"policies\": []}",
        "old.json", err, sizeof err));
    assert_non_null(strstr(err, "old.json: anchors.weak (weak): no \"usage\""));
    assert_non_null(strstr(err, "run trim eval again"));
    /* More cached than input, and a point without its problem count: each
    ** named by file, policy and point. */
    char bad[sizeof curve + 16];
    snprintf(bad, sizeof bad, "%s", curve);
    char *at = strstr(bad, "\"thr:0.6\"");
    memcpy(strstr(at, "\"input\": 1000"), "\"input\": 5   ", 13);
    memcpy(strstr(at, "\"cached\": 0"), "\"cached\": 9", 11);
    assert_null(roi_curve_parse(bad, "e.json", err, sizeof err));
    assert_non_null(strstr(err, "e.json: policy thr point 2 (thr:0.6): "
                                "usage.weak: cached 9 is more than input 5"));
    snprintf(bad, sizeof bad, "%s", curve);
    memcpy(strstr(strstr(bad, "\"thr:0.3\""), "\"problems\""), "\"problemz\"",
           10);
    assert_null(roi_curve_parse(bad, "e.json", err, sizeof err));
    assert_non_null(strstr(err, "e.json: policy thr point 1 (thr:0.3): no "
                                "\"problems\""));
    prices_destroy(&p);
}


/*
** A run's usage comes from the totals stored when each problem ended
** (problem_usage, schema v7; the writer's caller counts them with
** store_usage_add) plus the steps of the problems without them: it must
** equal the sum of the step rows (the SQL rule of STORE_USAGE_COLUMNS) for
** finished, failed, cancelled and running problems alike, and for the
** accepted rows (cost_usage_solution).  Totals that counted a step put
** twice are not stored; totals put again replace the first.
*/
static void
test_stored_totals(void **state)
{
    (void)state;
    char path[64], err[256];
    const store_status_t status[] = {STORE_FINISHED, STORE_FAILED,
                                     STORE_CANCELLED, STORE_RUNNING,
                                     STORE_FINISHED};
    cost_usage_t run, sum, sol, one, expect_sol;

    snprintf(path, sizeof path, "/tmp/test_cost_totals_%d.db", (int)getpid());
    store_remove(path);
    store_writer_t *w = store_writer_new(path, NULL, err, sizeof err);
    if (w == NULL)
        fail_msg("%s", err);
    store_run_t rr = {.run_id = 1, .policy = "thr:0.5", .started_ms = 1};
    assert_true(store_writer_put_run(w, &rr) > 0);
    for (int64_t id = 1; id <= 5; id++) {
        store_problem_t p = {
            .problem_id = id, .run_id = 1, .text = "q", .created_ms = 1};
        store_usage_acc_t acc = {0};
        p.status = STORE_RUNNING;
        assert_true(store_writer_put_problem(w, &p) > 0);
        put_trace(w, id, (int)id, &acc);
        if (id == 3) /* its rows put again, and counted again */
            put_trace(w, id, (int)id, &acc);
        p.status = status[id - 1];
        assert_true(store_writer_put_problem(w, &p) > 0);
        if (id % 2 == 1) /* 2 and 4: no totals, summed from the steps */
            assert_true(store_writer_put_usage(w, id, &acc.t) > 0);
        if (id == 5) /* put again: not added twice */
            assert_true(store_writer_put_usage(w, id, &acc.t) > 0);
    }
    store_writer_destroy(&w);

    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(problem_id) FROM"
                                        " (SELECT problem_id FROM problem_usage"
                                        " ORDER BY problem_id)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "1,5");
    sqlite3_finalize(st);
    sqlite3_close(db);

    store_reader_t *r = store_reader_new(path, err, sizeof err);
    if (r == NULL)
        fail_msg("%s", err);
    memset(&sum, 0, sizeof sum);
    memset(&expect_sol, 0, sizeof expect_sol);
    for (int64_t id = 1; id <= 5; id++) {
        assert_int_equal(
            cost_each_step(r, id, count_steps, &sum, err, sizeof err), 0);
        assert_int_equal(
            cost_usage_solution(r, 0, id, COST_STRONG, &one, err, sizeof err),
            0);
        cost_usage_add(&expect_sol, &one);
    }
    assert_true(sum.input[COST_WEAK] > 0 && sum.cached[COST_PRM] > 0);
    assert_int_equal(cost_usage_run(r, 1, 0, &run, err, sizeof err), 0);
    assert_memory_equal(&run, &sum, sizeof run);
    assert_int_equal(
        cost_usage_solution(r, 1, 0, COST_STRONG, &sol, err, sizeof err), 0);
    assert_memory_equal(&sol, &expect_sol, sizeof sol);
    store_reader_destroy(&r);
    store_remove(path);
}


/* A reader of the store at path, or the test fails. */
static store_reader_t *
open_reader(const char *path)
{
    char err[256];
    store_reader_t *r = store_reader_new(path, err, sizeof err);

    if (r == NULL)
        fail_msg("%s", err);
    return r;
}


/* A store at path with run 1 and its problems 1..n, running. */
static store_writer_t *
new_store(const char *path, int n)
{
    char err[256];
    store_run_t rr = {.run_id = 1, .policy = "thr:0.5", .started_ms = 1};

    store_remove(path);
    store_writer_t *w = store_writer_new(path, NULL, err, sizeof err);
    if (w == NULL)
        fail_msg("%s", err);
    assert_true(store_writer_put_run(w, &rr) > 0);
    for (int64_t id = 1; id <= n; id++) {
        store_problem_t p = {.problem_id = id,
                             .run_id = 1,
                             .text = "q",
                             .status = STORE_RUNNING,
                             .created_ms = 1};
        assert_true(store_writer_put_problem(w, &p) > 0);
    }
    return w;
}


/*
** Rows with the cached counts their servers reported (schema v11) cost what
** was reported, rows without one what the rule estimates, alike in a
** problem's stored totals (store_usage_add, problem 1), in its steps read
** back (problem 2) and in the dollars.
*/
static void
test_reported_cached(void **state)
{
    (void)state;
    char path[64], err[256];
    prices_t *p = load_book();
    cost_usage_t u, one;
    roi_measured_t m;
    store_usage_acc_t acc = {0};

    snprintf(path, sizeof path, "/tmp/test_cost_rep_%d.db", (int)getpid());
    store_writer_t *w = new_store(path, 2);
    put_trace_reported(w, 1, 0, &acc, 1);
    assert_true(store_writer_put_usage(w, 1, &acc.t) > 0);
    put_trace_reported(w, 2, 0, NULL, 1);
    store_writer_destroy(&w);
    store_reader_t *r = open_reader(path);

    /* By the rule (test_usage_and_measured) the weak role's cached input
     * is 0 + 100 + 130, the strong's 0 + 100 and the PRM's 0 + 120 + 155. */
    for (int64_t id = 1; id <= 2; id++) {
        assert_int_equal(cost_usage_run(r, 0, id, &one, err, sizeof err), 0);
        assert_int_equal(one.input[COST_WEAK], 385);
        assert_int_equal(one.cached[COST_WEAK], 0 + 40 + 130);
        assert_int_equal(one.cached[COST_STRONG], 0 + 0);
        assert_int_equal(one.cached[COST_PRM], 0 + 60 + 155);
        assert_int_equal(one.output[COST_STRONG], 65);
    }
    assert_int_equal(cost_usage_run(r, 1, 0, &u, err, sizeof err), 0);
    assert_int_equal(u.cached[COST_WEAK], 2 * 170);
    assert_int_equal(u.cached[COST_STRONG], 0);
    assert_int_equal(u.cached[COST_PRM], 2 * 215);

    /* Dollars: the weak role's 215 uncached and 170 cached input tokens
    ** and 85 output, the strong's 255 uncached and 65 output, the PRM's
    ** 255 uncached of 470 (the self-hosted PRM's cached input is free). */
    assert_int_equal(roi_measure(r, p, 1, 0, &m, err, sizeof err), 0);
    near(m.usd.role[COST_WEAK],
         2 * (215 * 0.20 + 170 * 0.10 + 85 * 0.60) / 1e6);
    near(m.usd.role[COST_STRONG], 2 * (255 * 2.00 + 65 * 6.00) / 1e6);
    near(m.usd.role[COST_PRM], 2 * 255 * 2.0 / 72e6);
    near(m.usd.total, m.usd.role[COST_WEAK] + m.usd.role[COST_STRONG] +
                          m.usd.role[COST_PRM]);
    store_reader_destroy(&r);
    store_remove(path);
    prices_destroy(&p);
}


/*
** A store written before v11 (rows put at v6 with SQL, as that build would
** have, so v7 backfills problem 1's totals) migrates, and its usage is still
** the rule's: test_usage_and_measured's figures, from the totals and from
** the steps alike.
*/
static void
test_old_store_keeps_rule(void **state)
{
    (void)state;
    char path[64], err[256], sql[512];
    sqlite3 *db;
    cost_usage_t run, one;

    snprintf(path, sizeof path, "/tmp/test_cost_old_%d.db", (int)getpid());
    store_remove(path);
    assert_int_equal(store_migrate_to(path, 6, err, sizeof err), 0);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO runs (run_id, seed, started_ms) VALUES "
                     "(1, 0, 1);"
                     "INSERT INTO problems (problem_id, run_id, status,"
                     " correct, steps, regenerated_steps, weak_tokens,"
                     " strong_tokens, discarded_tokens, prm_tokens,"
                     " created_ms) VALUES (1, 1, 'finished', 1, 3, 2, 25,"
                     " 65, 60, 470, 1), (2, 1, 'running', -1, 0, 0, 0, 0,"
                     " 0, 0, 1)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    for (int id = 1; id <= 2; id++)
        for (size_t i = 0; i < sizeof trace / sizeof *trace; i++) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO steps (problem_id, step_index, kind,"
                     " attempt, prompt_tokens, completion_tokens, finish,"
                     " prm_tokens, accepted, latency_us, created_ms) VALUES"
                     " (%d, %d, '%s', 0, %d, %d, 0, %d, %d, 0, 1)",
                     id, trace[i].idx,
                     trace[i].kind == STORE_STRONG ? "strong" : "draft",
                     trace[i].prompt, trace[i].completion, trace[i].prm,
                     trace[i].accepted);
            assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
                             SQLITE_OK);
        }
    sqlite3_close(db);
    assert_int_equal(store_migrate(path, err, sizeof err), 0);

    store_reader_t *r = open_reader(path);
    for (int64_t id = 1; id <= 2; id++) {
        assert_int_equal(cost_usage_run(r, 0, id, &one, err, sizeof err), 0);
        assert_int_equal(one.cached[COST_WEAK], 230);
        assert_int_equal(one.cached[COST_STRONG], 100);
        assert_int_equal(one.cached[COST_PRM], 275);
        assert_int_equal(one.wasted_input, 0);
    }
    /* Problem 1 from its v7 totals, problem 2 from its steps. */
    assert_int_equal(cost_usage_run(r, 1, 0, &run, err, sizeof err), 0);
    assert_int_equal(run.input[COST_WEAK], 2 * 385);
    assert_int_equal(run.cached[COST_WEAK], 2 * 230);
    assert_int_equal(run.cached[COST_STRONG], 2 * 100);
    assert_int_equal(run.cached[COST_PRM], 2 * 275);
    store_reader_destroy(&r);
    store_remove(path);
}


/*
** Wasted speculative drafts are in a run's and a problem's usage apart from
** the weak role, priced at its prices and in the total: the speculative
** draft of step 3, drafted as if step 2's draft were kept, whose server
** reported its cached prompt (problem 1) or not (problem 2: the rule's, the
** prompt of the draft it extended, 155 tokens).  The coordinator's count
** (store_usage_add_wasted) agrees.
*/
static void
test_wasted_in_totals(void **state)
{
    (void)state;
    char path[64], err[256];
    prices_t *p = load_book();
    cost_usage_t u, one;
    cost_usd_t usd;
    roi_measured_t m;
    store_usage_acc_t acc[2];

    memset(acc, 0, sizeof acc);
    snprintf(path, sizeof path, "/tmp/test_cost_wasted_%d.db", (int)getpid());
    store_writer_t *w = new_store(path, 2);
    for (int64_t id = 1; id <= 2; id++) {
        store_step_t s = {.problem_id = id,
                          .step_index = 3,
                          .kind = STORE_DRAFT,
                          .text = "spec",
                          .prompt_tokens = 160,
                          .completion_tokens = 30,
                          .has_cached = id == 1,
                          .cached_tokens = id == 1 ? 150 : 0};
        put_trace(w, id, 0, &acc[id - 1]);
        assert_true(store_writer_put_wasted(w, &s) > 0);
        store_usage_total_t d = store_usage_add_wasted(&acc[id - 1], &s);
        assert_int_equal(d.wasted_input, 160);
        assert_int_equal(d.wasted_cached, id == 1 ? 150 : 155);
        assert_int_equal(d.wasted_output, 30);
    }
    store_writer_destroy(&w);
    store_reader_t *r = open_reader(path);

    for (int64_t id = 1; id <= 2; id++) {
        assert_int_equal(cost_usage_run(r, 0, id, &one, err, sizeof err), 0);
        assert_int_equal(one.wasted_input, acc[id - 1].t.wasted_input);
        assert_int_equal(one.wasted_cached, acc[id - 1].t.wasted_cached);
        assert_int_equal(one.wasted_output, acc[id - 1].t.wasted_output);
        assert_int_equal(one.input[COST_WEAK], 385); /* the drafts' alone */
    }
    assert_int_equal(cost_usage_run(r, 1, 0, &u, err, sizeof err), 0);
    assert_int_equal(u.wasted_input, 320);
    assert_int_equal(u.wasted_cached, 150 + 155);
    assert_int_equal(u.wasted_output, 60);
    assert_int_equal(u.input[COST_WEAK], 2 * 385);

    prices_cost(p, &u, &usd);
    near(usd.wasted, (15 * 0.20 + 305 * 0.10 + 60 * 0.60) / 1e6);
    near(usd.total, usd.role[COST_WEAK] + usd.role[COST_STRONG] +
                        usd.role[COST_PRM] + usd.wasted);
    assert_int_equal(roi_measure(r, p, 1, 0, &m, err, sizeof err), 0);
    near(m.usd.wasted, usd.wasted);
    near(m.usd.total, usd.total);
    char *doc = roi_measured_json(&m, p);
    json_t *j = json_loads(doc, 0, NULL);
    json_t *wasted = json_object_get(json_object_get(j, "by_role"), "wasted");
    assert_int_equal(
        json_integer_value(json_object_get(wasted, "output_tokens")), 60);
    near(json_real_value(json_object_get(wasted, "usd")), usd.wasted);
    json_decref(j);
    free(doc);
    store_reader_destroy(&r);
    store_remove(path);
    prices_destroy(&p);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_book_and_formula),
        cmocka_unit_test(test_book_errors),
        cmocka_unit_test(test_usage_and_measured),
        cmocka_unit_test(test_stored_totals),
        cmocka_unit_test(test_reported_cached),
        cmocka_unit_test(test_old_store_keeps_rule),
        cmocka_unit_test(test_wasted_in_totals),
        cmocka_unit_test(test_projected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
