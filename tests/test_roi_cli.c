/*
** test_roi_cli.c: dollars through the trim binary on a real store made by
** `trim run`: `trim run --prices` equals `trim roi`, the roi table, --json
** and --svg, a paired baseline run, the token counts against SQL over the
** store, a projection from `trim eval`'s eval.json, and the usage and input
** errors with their exit codes.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "testutil.h"

static char g_dir[64];
static char g_prices[160];


static int
setup(void **state)
{
    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "roi-cli");
    snprintf(g_prices, sizeof g_prices, "%s/docs/prices.example.json",
             TRIM_SOURCE_DIR);
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


/* Run `trim ARGS` in the scratch directory (testutil.h). */
#define trim(out, err, ...) test_trim_in(g_dir, out, err, __VA_ARGS__)


#define close_to(a, b) assert_true(fabs((a) - (b)) <= 1e-9 * fabs(b) + 1e-15)


static void
test_measured(void **state)
{
    (void)state;
    char *out, *err, path[128];
    json_t *run, *roi, *role;

    /* A routed run priced by trim run, and a strong-only baseline. */
    assert_int_equal(trim(&out, &err,
                          "run --problems 30 --seed 3 --db t.db --no-progress "
                          "--json --prices %s",
                          g_prices),
                     0);
    run = test_json(out);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "run --problems 30 --seed 3 --db t.db --no-progress "
                          "--policy strong --prices %s",
                          g_prices),
                     0);
    assert_non_null(strstr(out, "  dollars             $"));
    free(out);
    free(err);

    assert_int_equal(
        trim(&out, &err, "roi --prices %s --db t.db --run 1 --json", g_prices),
        0);
    roi = test_json(out);
    free(out);
    free(err);
    /* trim run's JSON has 6 significant digits. */
    assert_true(fabs(test_json_num(roi, "usd", NULL) -
                     test_json_num(run, "usd", "total")) <=
                1e-5 * test_json_num(roi, "usd", NULL));
    close_to(test_json_num(roi, "usd_per_problem", NULL),
             test_json_num(roi, "usd", NULL) / 30);
    close_to(test_json_num(roi, "usd_per_correct", NULL),
             test_json_num(roi, "usd", NULL) /
                 test_json_num(roi, "correct", NULL));
    role = json_object_get(roi, "by_role");
    close_to(test_json_num(role, "weak", "usd") +
                 test_json_num(role, "strong", "usd") +
                 test_json_num(role, "prm", "usd"),
             test_json_num(roi, "usd", NULL));
    close_to(test_json_num(roi, "savings_usd", NULL),
             test_json_num(roi, "strong_only", "usd") -
                 test_json_num(roi, "usd", NULL));
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(roi, "strong_only"), "basis")),
                           "estimated"));

    /* The token counts are the store's, summed independently here. */
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/t.db", g_dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    const char *in_run = "problem_id IN (SELECT problem_id FROM problems "
                         "WHERE run_id = 1)";
    assert_int_equal(
        test_json_num(json_object_get(role, "weak"), "input_tokens", NULL),
        sql_int(db,
                "SELECT sum(prompt_tokens) FROM steps WHERE "
                "kind = 'draft' AND %s",
                in_run));
    assert_int_equal(
        test_json_num(json_object_get(role, "weak"), "output_tokens", NULL),
        sql_int(db,
                "SELECT sum(completion_tokens) FROM steps WHERE kind = "
                "'draft' AND %s",
                in_run));
    assert_int_equal(
        test_json_num(json_object_get(role, "strong"), "output_tokens", NULL),
        sql_int(db,
                "SELECT sum(completion_tokens) FROM steps WHERE kind = "
                "'strong' AND %s",
                in_run));
    assert_int_equal(
        test_json_num(json_object_get(role, "prm"), "input_tokens", NULL),
        sql_int(db, "SELECT sum(prm_tokens) FROM steps WHERE %s", in_run));
    /* trim run's coordinator stored every ended problem's totals from its
    ** running count: the same as its steps summed here (cached input: the
    ** previous prompt of the same kind in the problem, at most this one). */
    assert_int_equal(
        sql_int(db, "SELECT count(*) FROM problem_usage WHERE %s", in_run), 30);
    assert_int_equal(
        sql_int(db,
                "SELECT count(*) FROM problem_usage u JOIN (SELECT problem_id,"
                " total(CASE kind WHEN 'draft' THEN prompt_tokens END) di,"
                " total(CASE kind WHEN 'strong' THEN prompt_tokens END) si,"
                " total(CASE kind WHEN 'draft' THEN c END) dc,"
                " total(CASE kind WHEN 'strong' THEN c END) sc,"
                " total(CASE kind WHEN 'draft' THEN completion_tokens END) wo,"
                " total(CASE kind WHEN 'strong' THEN completion_tokens END) so,"
                " total(prm_tokens) pi FROM (SELECT *, min(prompt_tokens,"
                " coalesce(lag(prompt_tokens) OVER (PARTITION BY problem_id,"
                " kind ORDER BY step_index), 0)) c FROM steps WHERE %s)"
                " GROUP BY problem_id) s USING (problem_id)"
                " WHERE (u.draft_input, u.strong_input, u.draft_cached,"
                " u.strong_cached, u.draft_output, u.strong_output,"
                " u.prm_input) IS NOT (s.di, s.si, s.dc, s.sc, s.wo, s.so,"
                " s.pi)",
                in_run),
        0);
    sqlite3_close(db);
    json_decref(run);

    /* The paired baseline: strong-only is what run 2 paid (30 problems
    ** each). */
    json_t *base;
    assert_int_equal(
        trim(&out, &err, "roi --prices %s --db t.db --run 2 --json", g_prices),
        0);
    base = test_json(out);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --db t.db --run 1 --baseline-run 2 "
                          "--json",
                          g_prices),
                     0);
    json_decref(roi);
    roi = test_json(out);
    free(out);
    free(err);
    close_to(test_json_num(roi, "strong_only", "usd"),
             test_json_num(base, "usd", NULL));
    assert_int_equal(test_json_num(roi, "strong_only", "baseline_run"), 2);
    json_decref(base);

    /* The table shows the same figures. */
    char want[64];
    assert_int_equal(
        trim(&out, &err, "roi --prices %s --db t.db --run 1", g_prices), 0);
    snprintf(want, sizeof want, "total          $%.6g",
             test_json_num(roi, "usd", NULL));
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "strong-only"));
    assert_non_null(strstr(out, "weak-only"));
    assert_non_null(strstr(out, "example-large-70b"));
    free(out);
    free(err);
    json_decref(roi);
}


static void
test_projected(void **state)
{
    (void)state;
    char *out, *err, path[128];
    json_t *j;

    assert_int_equal(
        trim(&out, &err,
             "eval --problems 10 --seeds 2 --policies random --out ev "
             "--db ev.db"),
        0);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --curve ev/eval.json --volume 1000 "
                          "--target-pgr 0.5 --fixed-monthly 1 --json --svg "
                          "roi.svg",
                          g_prices),
                     0);
    j = test_json(out);
    free(out);
    free(err);
    assert_string_equal(json_string_value(json_object_get(j, "kind")),
                        "projected");
    json_t *an = json_object_get(j, "anchors");
    double w = test_json_num(json_object_get(an, "weak"), "accuracy", NULL);
    double s = test_json_num(json_object_get(an, "strong"), "accuracy", NULL);
    close_to(test_json_num(j, "target_accuracy", NULL), w + 0.5 * (s - w));
    close_to(test_json_num(j, "monthly_strong_only_usd", NULL),
             1000 * test_json_num(json_object_get(an, "strong"),
                                  "usd_per_problem", NULL));
    json_t *best = json_object_get(j, "best");
    assert_true(json_is_object(best));
    close_to(test_json_num(j, "monthly_policy_usd", NULL),
             1000 * test_json_num(best, "usd_per_problem", NULL) + 1);
    assert_int_equal(json_array_size(json_object_get(j, "sensitivity")), 7);
    json_decref(j);
    snprintf(path, sizeof path, "%s/roi.svg", g_dir);
    assert_true(test_file_contains(path, "<svg"));
    assert_true(test_file_contains(path, "</svg>"));
    assert_true(test_file_contains(path, "random"));

    /* The table, from the same curve. */
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --curve ev/eval.json --volume 1000 "
                          "--target-accuracy 0.5",
                          g_prices),
                     0);
    assert_non_null(strstr(out, "strong prices x"));
    assert_non_null(strstr(out, "random"));
    free(out);
    free(err);
}


static void
test_errors(void **state)
{
    (void)state;
    char *out, *err;

    assert_int_equal(trim(&out, &err, "roi --db t.db --run 1"), 2);
    assert_non_null(strstr(err, "--prices"));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --db t.db --run 1 --volume 5 "
                          "--target-accuracy 0.5",
                          g_prices),
                     2);
    free(out);
    free(err);
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.json", g_dir);
    test_write_file(bad, "{\"models\": {}, \"roles\": {}}");
    assert_int_equal(
        trim(&out, &err, "roi --prices bad.json --db t.db --run 1"), 1);
    assert_non_null(strstr(err, "bad.json: roles.weak: missing"));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "run --problems 2 --db u.db --no-progress --prices "
                          "bad.json"),
                     1);
    assert_non_null(strstr(err, "bad.json"));
    free(out);
    free(err);
    assert_int_equal(
        trim(&out, &err, "roi --prices %s --db t.db --run 99", g_prices), 1);
    assert_non_null(strstr(err, "no run 99"));
    free(out);
    free(err);
    /* The store's runs have no weak anchor: a PGR target cannot be used. */
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --db t.db --volume 10 "
                          "--target-pgr 0.5",
                          g_prices),
                     1);
    assert_non_null(strstr(err, "weak-only anchor"));
    free(out);
    free(err);
    /* Flags a projection would ignore are usage errors naming them. */
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --db t.db --curve c.json --volume "
                          "10 --target-pgr 0.5 --baseline-run 1",
                          g_prices),
                     2);
    assert_non_null(strstr(err, "--db with --curve and --baseline-run"));
    free(out);
    free(err);
}


/* A target no point reaches reads "not reached"; an unwritable --svg says
** why. */
static void
test_not_reached(void **state)
{
    (void)state;
    char *out, *err, path[128];

    snprintf(path, sizeof path, "%s/c.json", g_dir);
    /* Weak-only: weak tokens only; strong-only: strong tokens only. */
#define ROLE(in, out)                                                          \
    "{\"input\": " #in ", \"cached\": 0, \"output\": " #out "}"
#define POINT(spec, acc, w, s)                                                 \
    "{\"spec\": \"" spec "\", \"accuracy\": " #acc ", \"problems\": 1, "       \
    "\"usage\": {\"weak\": " w ", \"strong\": " s                              \
    ", \"prm\": " ROLE(0, 0) "}}"
    test_write_file(
        path,
        "{\"anchors\": {\"weak\": " POINT(
            "weak", 0.4, ROLE(100, 50),
            ROLE(0, 0)) ", "
                        "\"strong\": " POINT(
                            "strong", 0.8, ROLE(0, 0),
                            ROLE(100,
                                 50)) "}, "
                                      "\"policies\": [{\"policy\": \"thr\", "
                                      "\"points\": []}]}");
#undef POINT
#undef ROLE
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --curve c.json --volume 10 "
                          "--target-accuracy 0.9",
                          g_prices),
                     0);
    assert_non_null(strstr(out, "not reached"));
    assert_null(strstr(out, "nan"));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "roi --prices %s --curve c.json --volume 10 "
                          "--target-accuracy 0.5 --svg no/such/dir/r.svg",
                          g_prices),
                     1);
    assert_non_null(
        strstr(err, "cannot write no/such/dir/r.svg: No such file"));
    free(out);
    free(err);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measured),
        cmocka_unit_test(test_projected),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_not_reached),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
