/*
** test_eval_cli.c: `trim eval` through the binary: the text report against
** the files it writes, a spec shared by two curves measured once, a family
** that fails alone, and every usage error with its exit code and message;
** `trim eval sweep` in text beside a reference with bad lines.
**
** test_metrics.c checks the JSON document and the metrics themselves; this
** file checks the command around them.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>

#include "testutil.h"

static char g_dir[64]; /* this test's scratch directory */


static int
setup(void **state)
{
    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "eval-cli");
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


/* The whole file at path (malloc'd). */
static char *
slurp(const char *path)
{
    char cmd[256];
    int st;
    snprintf(cmd, sizeof cmd, "cat '%s'", path);
    char *s = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    return s;
}


/*
** Run `trim eval ARGS` (args formatted, in the scratch directory); *out and
** *err receive its stdout and stderr.  Returns its exit code.
*/
static int
trim_eval(char **out, char **err, const char *fmt, ...)
{
    char args[2048], cmd[4096], errpath[128];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof errpath, "%s/stderr", g_dir);
    snprintf(cmd, sizeof cmd, "cd %s && %s eval %s 2>%s", g_dir, test_bin(),
             args, errpath);
    *out = test_capture(cmd, &st);
    *err = slurp(errpath);
    return st;
}


/* 1 if text has a line starting with prefix and ending with suffix. */
static int
has_line(const char *text, const char *prefix, const char *suffix)
{
    size_t lp = strlen(prefix), ls = strlen(suffix);
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (len >= lp + ls && strncmp(l, prefix, lp) == 0 &&
            strncmp(l + len - ls, suffix, ls) == 0)
            return 1;
        l += len + (nl != NULL);
    }
    return 0;
}


static double
jnum(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_number(v))
        fail_msg("no number '%s'", key);
    return json_number_value(v);
}


static void
test_text_report_matches_files(void **state)
{
    (void)state;
    char *out, *err, path[128], want[256];

    /* Two custom curves, the first made of the anchors' own specs; the
    ** second given as --curve=. */
    int rc = trim_eval(&out, &err,
                       "--problems 10 --seed 3 --seeds 1 "
                       "--curve ends=weak,strong "
                       "--curve=mine=thr:0.3,random:0.5 --train-set math500 "
                       "--out res");
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    snprintf(path, sizeof path, "%s/res/eval.json", g_dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);

    assert_non_null(strstr(out, "# trim eval: 10 problems, seed 3, test set "
                                "math500, train set math500\n"));
    json_t *anchors = json_object_get(doc, "anchors");
    json_t *weak = json_object_get(anchors, "weak");
    json_t *strong = json_object_get(anchors, "strong");
    snprintf(want, sizeof want,
             "anchors: weak-only accuracy %.3f [%.3f, %.3f]; strong-only "
             "accuracy %.3f [%.3f, %.3f] at %.1f strong tokens/problem\n",
             jnum(weak, "accuracy"), jnum(weak, "accuracy_lo"),
             jnum(weak, "accuracy_hi"), jnum(strong, "accuracy"),
             jnum(strong, "accuracy_lo"), jnum(strong, "accuracy_hi"),
             jnum(strong, "strong_tokens_per_problem"));
    assert_non_null(strstr(out, want));

    /* Every point of every curve as a line of the report, the frontier
    ** marked; and one summary row per curve. */
    json_t *pols = json_object_get(doc, "policies");
    assert_int_equal(json_array_size(pols), 2);
    for (size_t i = 0; i < json_array_size(pols); i++) {
        json_t *c = json_array_get(pols, i);
        const char *name = json_string_value(json_object_get(c, "policy"));
        json_t *pts = json_object_get(c, "points");
        snprintf(want, sizeof want, "%s: %zu points (* on the Pareto frontier)",
                 name, json_array_size(pts));
        assert_non_null(strstr(out, want));
        for (size_t k = 0; k < json_array_size(pts); k++) {
            json_t *p = json_array_get(pts, k);
            char prefix[128], suffix[64], acc[64];
            snprintf(acc, sizeof acc, "%.3f [%.3f, %.3f]", jnum(p, "accuracy"),
                     jnum(p, "accuracy_lo"), jnum(p, "accuracy_hi"));
            snprintf(prefix, sizeof prefix, "  %-8.4g %-22s %9.1f",
                     jnum(p, "knob"), acc,
                     jnum(p, "strong_tokens_per_problem"));
            snprintf(suffix, sizeof suffix, " %c %s",
                     json_is_true(json_object_get(p, "on_frontier")) ? '*'
                                                                     : ' ',
                     json_string_value(json_object_get(p, "spec")));
            if (!has_line(out, prefix, suffix))
                fail_msg("no line '%s ... %s' in:\n%s", prefix, suffix, out);
        }
        json_t *sum = json_object_get(c, "summary");
        snprintf(want, sizeof want, "%-12s %6zu %.1f%% [", name,
                 json_array_size(pts), 100 * jnum(sum, "cpt50"));
        if (!has_line(out, want, ""))
            fail_msg("no summary row '%s' in:\n%s", want, out);
    }
    snprintf(want, sizeof want,
             "files: res/curves.csv res/summary.csv res/eval.json "
             "res/curves.svg res/comparisons.csv\n");
    assert_non_null(strstr(out, want));

    /* The anchors' specs ran once: "ends" reused them, and the database
    ** holds four runs, not six. */
    assert_non_null(strstr(err, "trim eval: ends 1/2 weak: run above, reused"));
    assert_non_null(
        strstr(err, "trim eval: ends 2/2 strong: run above, reused"));
    json_t *ends = json_object_get(json_array_get(pols, 0), "points");
    assert_true(jnum(json_array_get(ends, 0), "seconds") ==
                jnum(weak, "seconds"));
    snprintf(path, sizeof path, "%s/res/eval.db", g_dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM runs"), 4);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM runs WHERE policy IN "
                                "('weak', 'strong', 'thr:0.3', "
                                "'random:0.5')"),
                     4);
    sqlite3_close(h);

    /* summary.csv: a row per curve, with the train set. */
    snprintf(path, sizeof path, "%s/res/summary.csv", g_dir);
    char *csv = slurp(path);
    assert_true(has_line(csv, "ends,2,", ""));
    assert_true(has_line(csv, "mine,2,", ""));
    /* ... problems, seed, sets, no error, one seed, then the intervals. */
    assert_non_null(strstr(csv, ",10,3,math500,math500,,1,"));
    free(csv);
    json_decref(doc);
    free(out);
    free(err);
}


/* lo <= mean <= hi wherever the interval has both ends. */
static void
assert_brackets(json_t *j, const char *key)
{
    char lo[64], hi[64];
    snprintf(lo, sizeof lo, "%s_lo", key);
    snprintf(hi, sizeof hi, "%s_hi", key);
    double m = jnum(j, key), l = jnum(j, lo), h = jnum(j, hi);
    if (isfinite(l) && isfinite(h) && !(l <= m + 1e-12 && m <= h + 1e-12))
        fail_msg("%s %g outside [%g, %g]", key, m, l, h);
}


/*
** Two seeds: two problem sets (the first --seed), each solved by every
** policy; a point is pooled over all 30 problems (its accuracy the share
** correct in the database's two runs); every figure has an interval
** around it; and the paired comparison names a side only when its
** interval excludes zero.
*/
static void
test_seeds_pooled_with_intervals(void **state)
{
    (void)state;
    char *out, *err, path[128];

    int rc = trim_eval(&out, &err,
                       "--problems 15 --seed 5 --seeds 2 --bootstrap 400 "
                       "--curve thr=thr:0.5 --curve cascade=cascade:0.5 "
                       "--out s3");
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    assert_non_null(strstr(out, "# trim eval: 15 problems x 2 seeds (5, "));
    assert_non_null(strstr(out, "paired comparisons"));
    assert_non_null(strstr(err, "(seed 2/2)"));
    snprintf(path, sizeof path, "%s/s3/eval.json", g_dir);
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    json_t *seeds = json_object_get(doc, "seeds");
    assert_int_equal(json_array_size(seeds), 2);
    assert_int_equal(json_integer_value(json_array_get(seeds, 0)), 5);
    assert_true(json_integer_value(json_array_get(seeds, 1)) != 5);

    /* The same 15 problems per seed under every policy: 4 runs per seed
    ** (2 anchors, 2 points) over 30 distinct problems. */
    snprintf(path, sizeof path, "%s/s3/eval.db", g_dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM runs"), 8);
    assert_int_equal(sql_int(h, "SELECT count(DISTINCT source) FROM problems"),
                     30);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM problems"), 8 * 15);
    int64_t correct =
        sql_int(h, "SELECT count(*) FROM problems WHERE correct = 1 AND "
                   "run_id IN (SELECT run_id FROM runs WHERE policy = 'weak')");
    sqlite3_close(h);
    json_t *weak = json_object_get(json_object_get(doc, "anchors"), "weak");
    assert_int_equal(json_integer_value(json_object_get(weak, "problems")), 30);
    assert_true(fabs(jnum(weak, "accuracy") - (double)correct / 30) < 1e-5);
    assert_brackets(weak, "accuracy");

    json_t *pols = json_object_get(doc, "policies");
    for (size_t i = 0; i < json_array_size(pols); i++) {
        json_t *c = json_array_get(pols, i),
               *pts = json_object_get(c, "points");
        for (size_t k = 0; k < json_array_size(pts); k++) {
            json_t *p = json_array_get(pts, k);
            assert_int_equal(json_integer_value(json_object_get(p, "problems")),
                             30);
            assert_true(isfinite(jnum(p, "accuracy_lo")));
            assert_brackets(p, "accuracy");
            assert_brackets(p, "strong_tokens_per_problem");
            assert_brackets(p, "cost_share");
        }
        json_t *sum = json_object_get(c, "summary");
        static const char *const figs[] = {"cpt50", "cpt80", "cpt95",
                                           "delta_ibc", "apgr"};
        for (size_t f = 0; f < 5; f++)
            assert_brackets(sum, figs[f]);
        assert_int_equal(json_array_size(json_object_get(c, "per_seed")), 2);
    }
    json_t *cmp = json_object_get(doc, "comparisons");
    assert_int_equal(json_array_size(cmp), 6); /* thr vs cascade, 5 + ratio */
    for (size_t i = 0; i < json_array_size(cmp); i++) {
        json_t *d = json_array_get(cmp, i);
        const char *fig = json_string_value(json_object_get(d, "figure"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        double lo = jnum(d, "lo"), hi = jnum(d, "hi");
        int v = (int)json_integer_value(json_object_get(d, "verdict"));
        int sign = lo > 0 ? 1 : hi < 0 ? -1 : 0;
        if (strcmp(kind, "ratio") == 0)
            assert_int_equal(v, 0);
        else
            assert_int_equal(v, strncmp(fig, "cpt", 3) == 0 ? -sign : sign);
        assert_string_equal(json_string_value(json_object_get(d, "policy")),
                            "thr");
    }
    json_decref(doc);
    free(out);
    free(err);
}


/* A family that cannot be built is reported; the anchors still run and the
** files are written; the exit code says something failed. */
static void
test_failed_family(void **state)
{
    (void)state;
    char *out, *err, path[128];
    struct stat st;

    int rc = trim_eval(
        &out, &err,
        "--policies agg --agg missing.agg --problems 4 --seeds 2 --out "
        "res");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "agg: not evaluated: policy 'agg:missing.agg': "
                                "missing.agg: cannot open"));
    assert_true(has_line(out, "agg ", "not evaluated (see above)"));
    assert_non_null(strstr(err, "trim eval: agg: policy 'agg:missing.agg'"));
    assert_non_null(strstr(err, "anchor 2/2 strong: accuracy"));
    snprintf(path, sizeof path, "%s/res/eval.json", g_dir);
    assert_int_equal(stat(path, &st), 0);
    free(out);
    free(err);
}


/*
** TRIM_CURVE stands for a --curve flag and --test-set for --sim-profile,
** and the results record both the test and the train set;
** a pomdp family whose model file is missing and a curve with an empty
** spec are reported and fail the command while the rest runs.
*/
static void
test_variable_test_set_and_bad_specs(void **state)
{
    (void)state;
    char *out, *err;

    setenv("TRIM_CURVE", "env=weak,thr:0.5", 1);
    int rc = trim_eval(&out, &err,
                       "--problems 3 --seeds 1 --test-set olympiadbench "
                       "--train-set aime --json --out a");
    unsetenv("TRIM_CURVE");
    assert_int_equal(rc, 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "test_set")),
                        "olympiadbench");
    assert_string_equal(json_string_value(json_object_get(doc, "train_set")),
                        "aime");
    json_t *c = json_array_get(json_object_get(doc, "policies"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "policy")), "env");
    assert_int_equal(json_array_size(json_object_get(c, "points")), 2);
    json_decref(doc);
    free(out);
    free(err);

    rc = trim_eval(&out, &err,
                   "--problems 3 --seeds 1 --policies pomdp --pomdp-model "
                   "/nonexistent.json --curve 'x=thr:0.5,,weak' --out b");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "pomdp: not evaluated: policy "
                                "'pomdp:3e-05:/nonexistent.json'"));
    assert_non_null(strstr(out, "x: not evaluated: an empty policy spec in "
                                "'thr:0.5,,weak'"));
    assert_non_null(strstr(err, "anchor 2/2 strong: accuracy"));
    free(out);
    free(err);
}


/*
** Four curves made of the anchors' specs: nothing runs twice, each curve
** gets its own marker shape in curves.svg (circle, square, diamond,
** triangle), and names are escaped for XML.
*/
static void
test_svg_of_four_curves(void **state)
{
    (void)state;
    char *out, *err, path[128];

    assert_int_equal(
        trim_eval(&out, &err,
                  "--problems 3 --seeds 1 --curve 'a>1=weak,strong' "
                  "--curve 'b\"2=strong,weak' --curve \"c'3=weak\" "
                  "--curve d=strong --out svg"),
        0);
    int reused = 0;
    for (const char *p = err; (p = strstr(p, "run above, reused")); p++)
        reused++;
    assert_int_equal(reused, 6);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/svg/curves.svg", g_dir);
    char *svg = slurp(path);
    static const char *const want[] = {
        "a&gt;1",      "b&quot;2", "c&apos;3",
        "<circle ",    "<rect ",   "l4.5 4.5l-4.5 4.5l-4.5 -4.5z",
        "l4.5 8l-9 0z"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (strstr(svg, want[i]) == NULL)
            fail_msg("no '%s' in curves.svg", want[i]);
    free(svg);
}


static void
test_usage_errors(void **state)
{
    (void)state;
    char curves[33 * 16 + 1] = "";
    const struct {
        const char *args, *message;
    } cases[] = {
        {"extra", "trim eval: unknown subcommand 'extra' (known: sweep; or "
                  "flags only, see 'trim eval --help')"},
        {"--curve a=weak -- --curve",
         "trim eval: unexpected argument '--curve'"},
        {"--curve", "trim eval: --curve needs a value"},
        {"--curve noequals",
         "trim eval: --curve 'noequals': expected NAME=SPEC,SPEC,... with a "
         "name of 1 to"},
        {"--policies thr,bogus",
         "trim eval: --policies: unknown family 'bogus' (known: thr, random, "
         "cascade, pomdp, agg, seq)"},
        {"--policies thr --agg x.agg",
         "trim eval: --agg given but --policies does not list agg"},
        {"--test-set math500 --sim-profile hard",
         "trim eval: --test-set math500 and --sim-profile hard differ"},
        {"--sim-profile nosuch",
         "trim eval: unknown simulator profile 'nosuch' (known: math500, "
         "hard, easy, aime, amc23, gsm8k, minerva_math, olympiadbench)"},
        {curves, "trim eval: more than 32 --curve flags"},
    };

    for (int i = 0; i < 33; i++)
        strcat(curves, "--curve a=weak ");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out, *err;
        int rc = trim_eval(&out, &err, "%s", cases[i].args);
        if (rc != 2 || strstr(err, cases[i].message) == NULL)
            fail_msg("trim eval %s: exit %d, stderr '%s'; want 2 and '%s'",
                     cases[i].args, rc, err, cases[i].message);
        free(out);
        free(err);
    }
}


static void
test_help(void **state)
{
    (void)state;
    char *out, *err;

    assert_int_equal(trim_eval(&out, &err, "--help"), 0);
    assert_true(
        has_line(out, "usage: trim eval [FLAGS]  |  trim eval sweep", ""));
    assert_true(has_line(out, "  --curve X ", "[TRIM_CURVE]"));
    assert_non_null(strstr(out, "\nsimulator profiles:\n"));
    static const char *const profiles[] = {"math500", "hard", "easy"};
    for (size_t i = 0; i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "  %-10s ", profiles[i]);
        assert_true(has_line(out, want, ""));
    }
    assert_string_equal(err, "");
    free(out);
    free(err);
}


/* Where the results cannot go: nothing runs, or the files that can be
** written are, and the exit code is 1. */
static void
test_output_errors(void **state)
{
    (void)state;
    char *out, *err, path[128];
    struct stat st;

    /* A file where a directory must be made. */
    snprintf(path, sizeof path, "%s/plain", g_dir);
    test_write_file(path, "");
    assert_int_equal(trim_eval(&out, &err, "--curve a=weak --out plain/sub"),
                     1);
    assert_non_null(
        strstr(err, "trim eval: cannot create plain/sub: Not a directory"));
    assert_null(strstr(err, "anchor")); /* nothing ran */
    free(out);
    free(err);

    assert_int_equal(trim_eval(&out, &err, "--curve a=weak --out ''"), 1);
    assert_non_null(strstr(err, "trim eval: bad output directory ''"));
    free(out);
    free(err);

    /* The database cannot be opened: the anchors fail. */
    assert_int_equal(trim_eval(&out, &err,
                               "--curve a=weak --problems 3 --out res "
                               "--db /nonexistent/x.db"),
                     1);
    assert_non_null(strstr(err, "trim eval: the anchors: /nonexistent/x.db"));
    free(out);
    free(err);

    /* One output file cannot be written: the others are. */
    snprintf(path, sizeof path, "%s/res2", g_dir);
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/res2/curves.csv", g_dir);
    assert_int_equal(mkdir(path, 0777), 0);
    assert_int_equal(
        trim_eval(&out, &err, "--curve a=weak --problems 3 --out res2"), 1);
    assert_non_null(strstr(err, "trim eval: cannot write res2/curves.csv: "));
    snprintf(path, sizeof path, "%s/res2/summary.csv", g_dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/res2/curves.svg", g_dir);
    assert_int_equal(stat(path, &st), 0);
    free(out);
    free(err);
}


/*
** `trim eval sweep` in text beside a reference with bad lines: each bad
** line is named and skipped, a threshold the reference lacks shows "-",
** and the figures are those of --json.
*/
static void
test_sweep_text_and_reference(void **state)
{
    (void)state;
    char path[128], *out, *err, *js, *jerr;

    snprintf(path, sizeof path, "%s/ref.jsonl", g_dir);
    test_write_file(path, "{\"threshold\": 0.2, \"accuracy\": 0.61, "
                          "\"avg_target_tokens_per_question\": 120.5, "
                          "\"avg_draft_tokens_per_question\": 300, "
                          "\"avg_discarded_draft_tokens_per_question\": 50}\n"
                          "not json\n"
                          "{\"threshold\": 0.3}\n"
                          "{\"threshold\": 0.4, \"accuracy\": \"high\", "
                          "\"avg_target_tokens_per_question\": 1}\n");
    const char *args = "sweep --policy thr --from 0.2 --to 0.4 --by 0.2 "
                       "--problems 8 --reference ref.jsonl";
    assert_int_equal(trim_eval(&out, &err, "%s --db t.db", args), 0);
    assert_int_equal(trim_eval(&js, &jerr, "%s --db j.db --json", args), 0);
    static const char *const skipped[] = {
        "ref.jsonl:2: not a JSON object",
        "ref.jsonl:3: \"accuracy\" is missing",
        "ref.jsonl:4: \"accuracy\" is not a number"};
    for (int i = 0; i < 3; i++)
        assert_non_null(strstr(err, skipped[i]));
    assert_true(has_line(out,
                         "# TRIM-Thr sweep: 8 simulated problems (profile "
                         "math500), seed 1, database t.db",
                         ""));
    assert_true(has_line(out, "threshold accuracy", "ref dsc/q"));

    /* Each --json row, as a text row; with the reference only at 0.2. */
    int rows = 0;
    for (char *l = js; *l; rows++) {
        char *nl = strchr(l, '\n'), prefix[128];
        if (nl)
            *nl = '\0';
        json_t *j = json_loads(l, 0, NULL);
        assert_non_null(j);
        double thr = jnum(j, "threshold");
        snprintf(
            prefix, sizeof prefix, "%-9.3g %8.3f %10.1f %8.3f %9.1f %10.1f",
            thr, jnum(j, "accuracy"), jnum(j, "strong_tokens_per_problem"),
            jnum(j, "strong_token_share"), jnum(j, "draft_tokens_per_problem"),
            jnum(j, "discarded_tokens_per_problem"));
        const char *ref = thr < 0.3 ? "  |    0.610      120.5     300.0       "
                                      "50.0"
                                    : "  |        -";
        if (!has_line(out, prefix, ref))
            fail_msg("no row '%s%s' in:\n%s", prefix, ref, out);
        assert_true(json_is_object(json_object_get(j, "reference")) ==
                    (thr < 0.3));
        json_decref(j);
        l = nl ? nl + 1 : l + strlen(l);
    }
    assert_int_equal(rows, 2);
    free(out);
    free(err);
    free(js);
    free(jerr);

    /* A reference with no usable line, and none at all. */
    test_write_file(path, "not json\n");
    assert_int_equal(trim_eval(&out, &err, "%s", args), 1);
    assert_non_null(strstr(
        err, "trim eval sweep: reference ref.jsonl holds no valid line"));
    free(out);
    free(err);
    assert_int_equal(trim_eval(&out, &err, "sweep --reference none.jsonl"), 1);
    assert_non_null(strstr(err, "trim eval sweep: cannot read reference "
                                "none.jsonl: No such file or directory"));
    free(out);
    free(err);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_report_matches_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seeds_pooled_with_intervals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variable_test_set_and_bad_specs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_svg_of_four_curves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_text_and_reference, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
