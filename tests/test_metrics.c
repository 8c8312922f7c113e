/*
** test_metrics.c: PGR, CPT, dIBC and APGR (eval/metrics.h) on a curve
** worked by hand and on the real MATH-500 TRIM-Thr sweep; the sweep files
** (eval/sweep.h) on the same hand-worked curve; and `trim eval` end to end
** on a small simulated sweep.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "reference.h"
#include "skip.h"
#include "sweep.h"

#define near(a, b, eps) assert_true(fabs((a) - (b)) < (eps))


/*
** The hand-worked curve: weak-only 0.40, strong-only 0.80 (a gap of 0.40),
** three points A (0.2, 0.60), B (0.5, 0.76), C (0.3, 0.56).  C costs more
** than A for less accuracy, so the frontier is
**     (0, 0.40)  A (0.2, 0.60)  B (0.5, 0.76)  (1, 0.80)
** with PGR 0, 0.5, 0.9, 1 at its vertices.
*/
static const metric_point_t hand[3] = {{0.2, 0.60}, {0.5, 0.76}, {0.3, 0.56}};
#define HW 0.40
#define HS 0.80


static void
test_pgr_and_cost_share(void **state)
{
    (void)state;
    near(metrics_pgr(0.60, HW, HS), 0.5, 1e-12);
    near(metrics_pgr(HW, HW, HS), 0.0, 1e-12);
    near(metrics_pgr(0.84, HW, HS), 1.1, 1e-12); /* above strong: > 1 */
    assert_true(isnan(metrics_pgr(0.5, 0.6, 0.6)));
    near(metrics_cost_share(99.0, 495.0), 0.2, 1e-12);
    assert_true(isnan(metrics_cost_share(10, 0)));
}


static void
test_frontier_by_hand(void **state)
{
    (void)state;
    metric_point_t f[5];
    size_t n = metrics_frontier(hand, 3, HW, HS, f);
    const metric_point_t want[4] = {
        {0, 0.40}, {0.2, 0.60}, {0.5, 0.76}, {1, 0.80}};

    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        near(f[i].cost, want[i].cost, 1e-12);
        near(f[i].accuracy, want[i].accuracy, 1e-12);
    }
    /* Linear between vertices, flat after the last, NAN before cost 0. */
    near(metrics_frontier_at(f, n, 0.1), 0.50, 1e-12);
    near(metrics_frontier_at(f, n, 0.35), 0.68, 1e-12);
    near(metrics_frontier_at(f, n, 1.5), 0.80, 1e-12);
    assert_true(isnan(metrics_frontier_at(f, n, -0.1)));
}


static void
test_cpt_by_hand(void **state)
{
    (void)state;
    metric_point_t f[5];
    size_t n = metrics_frontier(hand, 3, HW, HS, f);

    /* PGR 0.5 is vertex A itself. */
    near(metrics_cpt(f, n, HW, HS, 0.50), 0.2, 1e-12);
    /* PGR 0.8 on A-B: 0.2 + (0.8 - 0.5) / (0.9 - 0.5) * 0.3 = 0.425. */
    near(metrics_cpt(f, n, HW, HS, 0.80), 0.425, 1e-12);
    /* PGR 0.95 on B-strong: 0.5 + (0.95 - 0.9) / (1 - 0.9) * 0.5 = 0.75. */
    near(metrics_cpt(f, n, HW, HS, 0.95), 0.75, 1e-12);
    near(metrics_cpt(f, n, HW, HS, 1.0), 1.0, 1e-12);
    assert_true(isnan(metrics_cpt(f, n, HW, HS, 1.01)));
}


static void
test_apgr_by_hand(void **state)
{
    (void)state;
    metric_point_t f[5];
    size_t n = metrics_frontier(hand, 3, HW, HS, f);

    /* Trapezoids of PGR over cost: 0.2 * (0 + 0.5) / 2 = 0.05,
    ** 0.3 * (0.5 + 0.9) / 2 = 0.21, 0.5 * (0.9 + 1) / 2 = 0.475. */
    near(metrics_apgr(f, n, HW, HS), 0.735, 1e-12);
    /* The anchors alone: the diagonal, 0.5 (random routing's APGR). */
    n = metrics_frontier(NULL, 0, HW, HS, f);
    assert_int_equal(n, 2);
    near(metrics_apgr(f, n, HW, HS), 0.5, 1e-12);
}


static void
test_delta_ibc_by_hand(void **state)
{
    (void)state;
    metric_point_t f[5];
    size_t n = metrics_frontier(hand, 3, HW, HS, f);
    int targets = 0;

    /* One point: A has IBC 0.2 / 0.2 = 1 against IBC_strong 0.4. */
    near(metrics_delta_ibc_point(0.2, 0.60, HW, HS), 1.5, 1e-12);
    assert_true(isnan(metrics_delta_ibc_point(0, 0.60, HW, HS)));
    /* At target x the frontier point is (CPT(x), acc at PGR x), so
    ** dIBC = x / CPT(x) - 1.  x = 0.05..0.50 lie on the weak-A segment
    ** (CPT = 0.4 x): dIBC 1.5 each, ten of them.  x = 0.55..0.90 lie on
    ** A-B (CPT = 0.2 + 0.75 (x - 0.5)) and x = 0.95 on B-strong (0.75):
    ** x / CPT = 44/19, 24/11, 52/25, 2, 60/31, 32/17, 68/37, 9/5, 19/15. */
    const double ratio[9] = {44.0 / 19, 24.0 / 11, 52.0 / 25,
                             2.0,       60.0 / 31, 32.0 / 17,
                             68.0 / 37, 9.0 / 5,   19.0 / 15};
    double sum = 10 * 1.5;
    for (int i = 0; i < 9; i++)
        sum += ratio[i] - 1;
    double got = metrics_delta_ibc(f, n, HW, HS, &targets);
    assert_int_equal(targets, 19);
    near(got, sum / 19, 1e-12);
    near(got, 1.226313, 1e-6);
}


static void
test_summary_edges(void **state)
{
    (void)state;
    metrics_summary_t s;
    metric_point_t f[6];

    /* A point above strong-only accuracy at cost 0.5 knocks out the strong
    ** anchor; the frontier stays flat at 0.88 up to cost 1. */
    const metric_point_t over[2] = {{0.25, 0.60}, {0.5, 0.88}};
    size_t n = metrics_frontier(over, 2, HW, HS, f);
    assert_int_equal(n, 3);
    near(f[n - 1].accuracy, 0.88, 1e-12);
    near(metrics_cpt(f, n, HW, HS, 1.0), 0.25 + 0.25 * (0.5 / 0.7), 1e-12);
    /* 0.25*0.5/2 + 0.25*(0.5+1.2)/2 + 0.5*1.2 = 0.0625 + 0.2125 + 0.6 */
    near(metrics_apgr(f, n, HW, HS), 0.875, 1e-12);

    /* Points never above PGR 0.5, the strong anchor is reached only at
    ** cost 1: CPT(95%) comes from the anchor. */
    const metric_point_t low[1] = {{0.1, 0.5}};
    assert_int_equal(metrics_summarise(low, 1, HW, HS, &s), 0);
    near(s.cpt95, 0.1 + 0.9 * (0.95 - 0.25) / 0.75, 1e-12);

    /* A point costing more than strong-only: APGR cuts at cost 1. */
    const metric_point_t dear[1] = {{2.0, 1.20}};
    n = metrics_frontier(dear, 1, HW, HS, f);
    assert_int_equal(n, 3);
    near(metrics_apgr(f, n, HW, HS), 0.5, 1e-12);

    /* NANs and negative costs are ignored; no gap: every figure NAN. */
    const metric_point_t junk[2] = {{NAN, 0.9}, {-1, 0.95}};
    n = metrics_frontier(junk, 2, HW, HS, f);
    assert_int_equal(n, 2);
    assert_int_equal(metrics_summarise(hand, 3, 0.5, 0.5, &s), -1);
    assert_true(isnan(s.cpt50) && isnan(s.apgr) && isnan(s.delta_ibc));
    assert_int_equal(s.delta_ibc_targets, 0);
}


/*
** The real TRIM-Thr sweep on MATH-500 (Qwen2.5-1.5B-Instruct drafting,
** Qwen2.5-7B-Instruct regenerating, Qwen2.5-Math-PRM-7B; 500 problems):
** threshold, accuracy, strong (target) tokens per question, copied from
** data/reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl (the
** TRIM release's thr_results/math500/summary.jsonl).  Threshold 0 is
** weak-only, 1 strong-only.
*/
static const double math500_thr[21][3] = {
    {0, 0.364, 0},          {0.05, 0.508, 70.684},  {0.1, 0.548, 98.218},
    {0.15, 0.592, 107.162}, {0.2, 0.604, 135.918},  {0.25, 0.578, 139.946},
    {0.3, 0.654, 133.492},  {0.35, 0.648, 145.338}, {0.4, 0.65, 164.538},
    {0.45, 0.634, 160.27},  {0.5, 0.674, 163.838},  {0.55, 0.658, 165.396},
    {0.6, 0.644, 184.492},  {0.65, 0.674, 188.59},  {0.7, 0.686, 171.012},
    {0.75, 0.66, 211.034},  {0.8, 0.682, 210.172},  {0.85, 0.706, 204.772},
    {0.9, 0.714, 219.062},  {0.95, 0.716, 233.344}, {1, 0.73, 494.84},
};


/* Summarise a sweep of (accuracy, strong tokens) pairs; the first row is
** weak-only and the last strong-only. */
static void
summarise_sweep(const double (*rows)[3], size_t n, metrics_summary_t *s)
{
    metric_point_t pts[32];
    double strong_only = rows[n - 1][2];

    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++) {
        pts[i].cost = metrics_cost_share(rows[i][2], strong_only);
        pts[i].accuracy = rows[i][1];
    }
    assert_int_equal(metrics_summarise(pts, n, rows[0][1], rows[n - 1][1], s),
                     0);
}


static void
test_math500_thr(void **state)
{
    (void)state;
    metrics_summary_t s;

    summarise_sweep(math500_thr, 21, &s);
    print_message("MATH-500 TRIM-Thr (cost = share of strong-only tokens, "
                  "Pareto frontier, linear):\n"
                  "  CPT(50%%) %.2f%%  CPT(80%%) %.2f%%  CPT(95%%) %.2f%%\n"
                  "  dIBC %.3f (mean over %d PGR targets)  APGR %.3f\n",
                  100 * s.cpt50, 100 * s.cpt80, 100 * s.cpt95, s.delta_ibc,
                  s.delta_ibc_targets, s.apgr);
    /* trim-method.md section 5.4: 19.7%, 27.8%, 43.4%. */
    near(100 * s.cpt50, 19.7, 0.1);
    near(100 * s.cpt80, 27.8, 0.1);
    near(100 * s.cpt95, 43.4, 0.1);
    /* Pinned from this implementation (and a hand-checked script). */
    assert_int_equal(s.delta_ibc_targets, 19);
    near(s.delta_ibc, 1.7069, 1e-3);
    near(s.apgr, 0.7988, 1e-3);
}


/* The same figures from the file itself, in the repository's data/. */
static void
test_math500_thr_file(void **state)
{
    (void)state;
    char path[1024], err[256];
    double rows[32][3];
    metrics_summary_t s, embedded;
    reference_t *ref;

    test_data_path(path, sizeof path,
                   "reference-runs/trim-thr-math500-qwen1.5b-7b.jsonl");
    ref = reference_load(path, err, sizeof err);
    if (ref == NULL)
        fail_msg("%s", err);
    assert_int_equal(ref->n, 21);
    for (size_t i = 0; i < ref->n; i++) {
        rows[i][0] = ref->points[i].param;
        rows[i][1] = ref->points[i].accuracy;
        rows[i][2] = ref->points[i].strong_tokens;
    }
    summarise_sweep((const double(*)[3])rows, ref->n, &s);
    summarise_sweep(math500_thr, 21, &embedded);
    near(s.cpt50, embedded.cpt50, 1e-12);
    near(s.cpt80, embedded.cpt80, 1e-12);
    near(s.cpt95, embedded.cpt95, 1e-12);
    near(s.delta_ibc, embedded.delta_ibc, 1e-12);
    near(s.apgr, embedded.apgr, 1e-12);
    reference_destroy(&ref);
}


/* A sweep holding the hand-worked curve: strong-only spends 500 tokens. */
static sweep_t *
hand_sweep(void)
{
    sweep_t *s = sweep_new();
    char err[128];
    const double strong[3] = {100, 250, 150}; /* costs 0.2, 0.5, 0.3 */

    assert_non_null(s);
    s->problems = 10;
    s->seed = 7;
    snprintf(s->test_set, sizeof s->test_set, "math500");
    s->weak.accuracy = HW;
    s->weak.strong = 0;
    s->strong.accuracy = HS;
    s->strong.strong = 500;
    sweep_curve_t *c = sweep_add_curve(s, "a<b&c");
    assert_non_null(c);
    assert_int_equal(
        sweep_curve_specs(c, "thr:0.2,thr:0.5,random:0.3", err, sizeof err), 0);
    for (int i = 0; i < 3; i++) {
        c->points[i].accuracy = hand[i].accuracy;
        c->points[i].strong = strong[i];
        c->points[i].draft = 300;
        c->points[i].discarded = 20;
        c->points[i].problems = 10;
    }
    c = sweep_add_curve(s, "broken");
    snprintf(c->error, sizeof c->error, "unknown policy 'x'");
    return s;
}


/* The text a writer puts in a FILE, malloc'd. */
static char *
written(int (*fn)(const sweep_t *, FILE *), const sweep_t *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(s, f), 0);
    fclose(f);
    return buf;
}


static int
count_lines(const char *t)
{
    int n = 0;
    for (; *t; t++)
        n += *t == '\n';
    return n;
}


static void
test_sweep_files(void **state)
{
    (void)state;
    sweep_t *s = hand_sweep();
    char err[256];
    sweep_curve_t *c = &s->curves[0];

    assert_int_equal(sweep_finish(s, err, sizeof err), 0);
    near(c->points[0].knob, 0.2, 1e-12);
    near(c->points[0].cost, 0.2, 1e-12);
    near(c->points[1].pgr, 0.9, 1e-12);
    assert_int_equal(c->points[0].on_frontier, 1);
    assert_int_equal(c->points[1].on_frontier, 1);
    assert_int_equal(c->points[2].on_frontier, 0);
    near(c->summary.cpt80, 0.425, 1e-12);
    near(c->summary.apgr, 0.735, 1e-12);

    /* curves.csv: a header, two anchors, three points (not the broken). */
    char *t = written(sweep_write_curves_csv, s);
    assert_int_equal(count_lines(t), 6);
    assert_non_null(strstr(t, "a<b&c,thr:0.5,0.5,0.76,250,0.5,0.9,"));
    assert_null(strstr(t, "broken"));
    free(t);
    /* summary.csv: one row per curve, the broken one with its reason. */
    t = written(sweep_write_summary_csv, s);
    assert_int_equal(count_lines(t), 3);
    assert_non_null(strstr(t, "a<b&c,3,0.2,0.425,0.75,"));
    assert_non_null(strstr(t, "unknown policy 'x'"));
    free(t);
    /* SVG: well formed enough, the name escaped, the anchors labelled. */
    t = written(sweep_write_svg, s);
    assert_true(strncmp(t, "<?xml", 5) == 0);
    assert_non_null(strstr(t, "</svg>\n"));
    assert_non_null(strstr(t, "a&lt;b&amp;c"));
    assert_non_null(strstr(t, "weak-only 40.0%"));
    assert_non_null(strstr(t, "strong-only 80.0%"));
    assert_non_null(strstr(t, "broken: not evaluated"));
    free(t);
    /* JSON: parses, NAN as null, the summary and the error. */
    char *doc = sweep_json(s);
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    assert_non_null(j);
    json_t *pol = json_object_get(j, "policies");
    assert_int_equal(json_array_size(pol), 2);
    json_t *sum = json_object_get(json_array_get(pol, 0), "summary");
    near(json_number_value(json_object_get(sum, "cpt95")), 0.75, 1e-9);
    assert_true(json_is_null(json_object_get(
        json_object_get(json_object_get(j, "anchors"), "weak"), "delta_ibc")));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(pol, 1), "error")),
        "unknown policy 'x'");
    json_decref(j);
    free(doc);
    sweep_destroy(&s);
    assert_null(s);
}


static void
test_sweep_grids(void **state)
{
    (void)state;
    sweep_t *s = sweep_new();
    char err[256];

    sweep_curve_t *c = sweep_add_curve(s, "thr");
    assert_int_equal(sweep_family(c, "thr", NULL, err, sizeof err), 0);
    assert_int_equal(c->n, 23);
    assert_string_equal(c->points[0].spec, "weak");
    assert_string_equal(c->points[1].spec, "thr:0.01");
    assert_string_equal(c->points[8].spec, "thr:0.3");
    assert_string_equal(c->points[22].spec, "strong");
    c = sweep_add_curve(s, "pomdp");
    assert_int_equal(sweep_family(c, "pomdp", NULL, err, sizeof err), 0);
    assert_string_equal(c->points[1].spec, "pomdp:0.0001");
    /* A calibration file rides on every pomdp spec, not on other kinds. */
    c = sweep_add_curve(s, "pomdp2");
    assert_int_equal(sweep_family(c, "pomdp", "m.json", err, sizeof err), 0);
    assert_string_equal(c->points[1].spec, "pomdp:0.0001:m.json");
    c = sweep_add_curve(s, "cascade");
    assert_int_equal(sweep_family(c, "cascade", "m.json", err, sizeof err), 0);
    assert_string_equal(c->points[0].spec, "cascade:0.001");
    c = sweep_add_curve(s, "x");
    assert_int_equal(sweep_family(c, "nope", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown policy family 'nope'"));
    assert_int_equal(sweep_family_agg(c, "", err, sizeof err), -1);
    assert_int_equal(sweep_curve_specs(c, "thr:0.1,,weak", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "empty policy spec"));
    /* An agg file's knob is the lambda it states, else its position. */
    char path[] = "/tmp/test_metrics_aggXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, "trim-agg 1\nlambda 0.0008\n", 25) == 25);
    close(fd);
    near(sweep_agg_lambda(path), 0.0008, 1e-15);
    assert_true(isnan(sweep_agg_lambda("/nonexistent/policy.agg")));
    c = sweep_add_curve(s, "agg");
    char list[128];
    snprintf(list, sizeof list, "%s,/nonexistent/b.agg", path);
    assert_int_equal(sweep_family_agg(c, list, err, sizeof err), 0);
    near(c->points[0].knob, 0.0008, 1e-15);
    near(c->points[1].knob, 1, 1e-12);
    unlink(path);
    sweep_destroy(&s);
}


/* 1 if the file at path contains needle. */
static int
test_file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;

    assert_non_null(f);
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}


/* `trim eval` on a small sweep: files, JSON, a family that fails alone. */
static void
test_trim_eval(void **state)
{
    (void)state;
    const char *bin = getenv("TRIM_BIN");
    char dir[] = "/tmp/test_metrics_evalXXXXXX", cmd[2048], path[512];
    struct stat st;

    if (bin == NULL || *bin == '\0')
        test_skip("TRIM_BIN is not set (run the tests through ctest)");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "%s eval --problems 20 --seeds 2 --policies thr --curve "
             "'mine=thr:0.3,random:0.5' --curve 'bad=nope:1' --out %s/out "
             "--json > %s/eval.out 2> %s/eval.err",
             bin, dir, dir, dir);
    int rc = system(cmd);
    /* The bad curve fails the command, after everything else ran (and exit
    ** code 1 is also a sanitizer's: its report would be in the log). */
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    snprintf(path, sizeof path, "%s/eval.err", dir);
    assert_false(test_file_has(path, "Sanitizer"));
    assert_false(test_file_has(path, "runtime error"));
    assert_true(test_file_has(path, "trim eval: bad: unknown policy"));
    const char *files[] = {"curves.csv", "summary.csv", "eval.json",
                           "curves.svg", "eval.db"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/out/%s", dir, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 0);
    }
    snprintf(path, sizeof path, "%s/eval.out", dir);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    assert_non_null(j);
    json_t *pol = json_object_get(j, "policies");
    assert_int_equal(json_array_size(pol), 3);
    json_t *thr = json_array_get(pol, 0), *bad = json_array_get(pol, 2);
    assert_string_equal(json_string_value(json_object_get(thr, "policy")),
                        "thr");
    assert_int_equal(json_array_size(json_object_get(thr, "points")), 23);
    json_t *sum = json_object_get(thr, "summary");
    double apgr = json_number_value(json_object_get(sum, "apgr"));
    assert_true(apgr > 0.5); /* thr beats the diagonal on the simulator */
    assert_non_null(strstr(json_string_value(json_object_get(bad, "error")),
                           "unknown policy 'nope:1'"));
    /* The thr curve's ends are the anchors, measured once. */
    json_t *anchors = json_object_get(j, "anchors");
    json_t *first = json_array_get(json_object_get(thr, "points"), 0);
    near(json_number_value(json_object_get(first, "accuracy")),
         json_number_value(
             json_object_get(json_object_get(anchors, "weak"), "accuracy")),
         1e-12);
    json_decref(j);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgr_and_cost_share),
        cmocka_unit_test(test_frontier_by_hand),
        cmocka_unit_test(test_cpt_by_hand),
        cmocka_unit_test(test_apgr_by_hand),
        cmocka_unit_test(test_delta_ibc_by_hand),
        cmocka_unit_test(test_summary_edges),
        cmocka_unit_test(test_math500_thr),
        cmocka_unit_test(test_math500_thr_file),
        cmocka_unit_test(test_sweep_files),
        cmocka_unit_test(test_sweep_grids),
        cmocka_unit_test(test_trim_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
