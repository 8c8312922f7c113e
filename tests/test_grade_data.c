/*
** test_grade_data.c: the problem loaders (eval/problems.h) and the grader
** on real benchmark files, read from the repository's data folder
** (TRIM_DATA/benchmarks/NAME/FILE.jsonl); skipped, with the reason
** printed, when a file is absent (a failure under CI, see skip.h).
**
**   - every file loads in full with its layout recognised, and with the
**     layout named explicitly;
**   - every problem's ground truth, wrapped in \boxed{}, is extracted back
**     and judged equal to itself;
**   - MATH-500: the last \boxed{} of each reference solution is judged
**     equal to the "answer" field for at least 99% of the problems, and the
**     misses are exactly those listed below with their reason.
**
** Loader edge cases (malformed lines, numbers, lists) use a file written
** here and need no data folder.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>

#include "grade.h"
#include "problems.h"
#include "skip.h"

typedef struct bench_file {
    const char *path;   /* under benchmarks/ */
    const char *layout; /* what auto recognises */
    long problems;
    const char *first_id; /* the first line's id, NULL if it has none */
} bench_file_t;

static const bench_file_t files[] = {
    {"math500/test.jsonl", "math", 500, "test/precalculus/807.json"},
    {"aime/test.jsonl", "aime", 482, "1983-1"},
    {"aime/train.jsonl", "aime", 451, "1984-1"},
    {"aime24/test.jsonl", "plain", 30, "60"},
    {"amc23/test.jsonl", "plain", 40, "0"},
    {"cmimc/test.jsonl", "plain", 40, "1"},
    {"olympiadbench/test.jsonl", "olympiadbench", 675, "1606"},
    {"minerva_math/test.jsonl", "minerva", 272, "0"},
    {"gsm8k/test.jsonl", "gsm8k", 1319, "0"},
};

/*
** MATH-500 problems whose reference solution's last \boxed{} is not judged
** equal to their "answer" field, with the reason.  None today: every last
** box is the answer up to the normalisation rules.  A change to the grader
** that breaks one of them fails the test until it is fixed or listed here.
*/
static const struct {
    const char *unique_id, *reason;
} math500_misses[] = {
    {NULL, NULL},
};


typedef struct check {
    const bench_file_t *f;
    long n, self_equal;
    int wrong_layout, no_truth, bad_id;
    char first_id[128];
} check_t;


static int
check_problem(void *ctx, const problem_rec_t *r)
{
    check_t *c = ctx;
    size_t len;
    char *text, *out;

    if (c->n++ == 0)
        snprintf(c->first_id, sizeof c->first_id, "%s", r->id ? r->id : "");
    if (strcmp(r->format, c->f->layout) != 0)
        c->wrong_layout++;
    if (r->ground_truth == NULL || *r->ground_truth == '\0' ||
        r->n_answers < 1) {
        c->no_truth++;
        return 0;
    }
    if (r->id == NULL)
        c->bad_id++;
    len = strlen(r->ground_truth) + 64;
    text = malloc(len);
    out = malloc(len);
    assert_non_null(text);
    assert_non_null(out);
    snprintf(text, len, "Hence the answer is $\\boxed{%s}$.", r->ground_truth);
    if (grade_extract(text, out, len) == GRADE_BOXED &&
        grade_equal(out, r->ground_truth))
        c->self_equal++;
    else
        printf("  %s:%d: \\boxed{%s} came back as \"%s\", not equal\n",
               c->f->path, r->line, r->ground_truth, out);
    free(text);
    free(out);
    return 0;
}


static void
test_benchmarks(void **state)
{
    (void)state;
    char rel[256], path[1200], err[512];

    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        const bench_file_t *f = &files[i];
        check_t c = {0};
        long skipped = -1;
        snprintf(rel, sizeof rel, "benchmarks/%s", f->path);
        test_data_path(path, sizeof path, rel);
        c.f = f;
        long n = problems_read_file(path, "auto", check_problem, &c, &skipped,
                                    err, sizeof err);
        printf("%-26s %-13s %5ld problems, %5ld self-equal, %ld skipped\n",
               f->path, f->layout, n, c.self_equal, skipped);
        assert_int_equal(n, f->problems);
        assert_int_equal(skipped, 0);
        assert_int_equal(c.wrong_layout, 0);
        assert_int_equal(c.no_truth, 0);
        assert_int_equal(c.bad_id, 0);
        assert_int_equal(c.self_equal, f->problems);
        assert_string_equal(c.first_id, f->first_id);

        /* the same with the layout named */
        check_t named = {0};
        named.f = f;
        n = problems_read_file(path, f->layout, check_problem, &named, &skipped,
                               err, sizeof err);
        assert_int_equal(n, f->problems);
        assert_int_equal(named.self_equal, f->problems);
    }
}


static int
count_problem(void *ctx, const problem_rec_t *r)
{
    (void)r;
    (*(long *)ctx)++;
    return 0;
}


/* A file read as the wrong layout: every line reported and skipped. */
static void
test_wrong_layout(void **state)
{
    (void)state;
    char path[1200], err[512];
    long count = 0, skipped = 0;

    test_data_path(path, sizeof path, "benchmarks/gsm8k/test.jsonl");
    /* 1319 lines reported: not on the test's output */
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    assert_true(saved >= 0 && devnull >= 0);
    dup2(devnull, 2);
    long n = problems_read_file(path, "minerva", count_problem, &count,
                                &skipped, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    assert_int_equal(n, 0);
    assert_int_equal(skipped, 1319);
    n = problems_read_file(path, "plain", count_problem, &count, &skipped, err,
                           sizeof err);
    assert_int_equal(n, 1319); /* plain takes "question" and "answer" */
}


static void
test_math500_solutions(void **state)
{
    (void)state;
    char path[1200], *line = NULL, out[4096];
    size_t cap = 0, n = 0, equal = 0, listed = 0;
    FILE *f;

    test_data_path(path, sizeof path, "benchmarks/math500/test.jsonl");
    f = fopen(path, "r");
    assert_non_null(f);
    while (getline(&line, &cap, f) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        const char *id = json_string_value(json_object_get(o, "unique_id"));
        const char *sol = json_string_value(json_object_get(o, "solution"));
        const char *ans = json_string_value(json_object_get(o, "answer"));
        assert_non_null(id);
        assert_non_null(sol);
        assert_non_null(ans);
        n++;
        int rule = grade_extract(sol, out, sizeof out);
        if (rule == GRADE_BOXED && grade_equal(out, ans)) {
            equal++;
        } else {
            size_t k;
            for (k = 0; math500_misses[k].unique_id; k++)
                if (strcmp(math500_misses[k].unique_id, id) == 0)
                    break;
            if (math500_misses[k].unique_id == NULL)
                fail_msg("%s: last box \"%s\" vs answer \"%s\" is a miss "
                         "not listed in the fixture",
                         id, out, ans);
            else
                printf("  listed miss %s: %s\n", id, math500_misses[k].reason);
            listed++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    printf("MATH-500: last box of the solution equal to the answer for "
           "%zu/%zu problems (%.1f%%), %zu listed misses\n",
           equal, n, 100.0 * (double)equal / (double)n, listed);
    assert_int_equal(n, 500);
    assert_true(equal * 100 >= n * 99);
    /* every listed miss is still a miss */
    size_t fixture = 0;
    while (math500_misses[fixture].unique_id)
        fixture++;
    assert_int_equal(listed, fixture);
}


/* ---- loader edge cases on a file written here --------------------------- */

typedef struct seen {
    int n;
    char id[8][64], truth[8][128], format[8][32];
    int line[8], n_answers[8];
} seen_t;


static int
remember(void *ctx, const problem_rec_t *r)
{
    seen_t *s = ctx;

    if (s->n < 8) {
        snprintf(s->id[s->n], 64, "%s", r->id ? r->id : "-");
        snprintf(s->truth[s->n], 128, "%s",
                 r->ground_truth ? r->ground_truth : "-");
        snprintf(s->format[s->n], 32, "%s", r->format);
        s->line[s->n] = r->line;
        s->n_answers[s->n] = r->n_answers;
    }
    s->n++;
    return 0;
}


static void
test_loader_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/test_grade_data_XXXXXX",
         logpath[] = "/tmp/test_grade_log_XXXXXX";
    char err[512], log[4096];
    int fd = mkstemp(path), lfd = mkstemp(logpath);
    seen_t s = {0};
    long skipped = 0;

    assert_true(fd >= 0 && lfd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(
        "{\"id\": \"p1\", \"problem\": \"What is 1+1?\", \"answer\": \"2\"}\n"
        "not json at all\n"
        "[1, 2]\n"
        "\n"
        "{\"problem\": \"\", \"answer\": \"1\"}\n"
        "{\"id\": 7, \"question\": \"How many?\", \"answer\": 27.0}\n"
        "{\"problem\": \"x\", \"answer\": {\"a\": 1}}\n"
        "{\"question\": \"Q\", \"answer\": \"text\\n#### 1,000\", \"idx\": 3}\n"
        "{\"id\": 9, \"question\": \"Q\", \"final_answer\": [\"$1$\", \"2\"],"
        " \"context\": \"Given this.\"}\n"
        "{\"problem\": \"no answer at all\"}\n"
        "{\"problem\": \"P\", \"solution\": \"so \\\\boxed{\\\\frac12}.\"}\n"
        "{\"ID\": \"1999-3\", \"problem\": \"P\", \"solution\": \"42\"}\n",
        f);
    fclose(f);

    /* capture what is reported on stderr */
    fflush(stderr);
    int saved = dup(2);
    dup2(lfd, 2);
    long n =
        problems_read_file(path, NULL, remember, &s, &skipped, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(lfd, 0, SEEK_SET);
    ssize_t got = read(lfd, log, sizeof log - 1);
    log[got > 0 ? got : 0] = '\0';
    close(lfd);
    printf("%s", log);

    assert_int_equal(n, 7);
    assert_int_equal(skipped, 4);
    char where[600];
    const int bad_lines[] = {2, 3, 5, 7};
    for (size_t k = 0; k < 4; k++) {
        snprintf(where, sizeof where, "%s:%d: ", path, bad_lines[k]);
        if (strstr(log, where) == NULL)
            fail_msg("line %d not reported as %s", bad_lines[k], where);
    }
    assert_non_null(strstr(log, "skipped"));

    assert_string_equal(s.id[0], "p1");
    assert_string_equal(s.truth[0], "2");
    assert_string_equal(s.format[0], "plain");
    assert_int_equal(s.line[0], 1);
    assert_string_equal(s.id[1], "7");
    assert_string_equal(s.truth[1], "27"); /* 27.0 */
    assert_string_equal(s.truth[2], "1,000");
    assert_string_equal(s.format[2], "gsm8k");
    assert_string_equal(s.id[2], "3");
    assert_string_equal(s.truth[3], "$1$, 2");
    assert_int_equal(s.n_answers[3], 2);
    assert_string_equal(s.format[3], "olympiadbench");
    assert_string_equal(s.truth[4], "-"); /* no answer: plain allows it */
    assert_int_equal(s.n_answers[4], 0);
    assert_string_equal(s.truth[5], "\\frac12");
    assert_string_equal(s.format[5], "minerva");
    assert_string_equal(s.truth[6], "42");
    assert_string_equal(s.id[6], "1999-3");
    assert_string_equal(s.format[6], "aime");

    /* an unknown layout and a missing file are errors, not skips */
    assert_int_equal(problems_read_file(path, "nope", remember, &s, &skipped,
                                        err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "unknown format"));
    assert_int_equal(problems_format_known("gsm8k"), 1);
    assert_int_equal(problems_format_known("auto"), 1);
    assert_int_equal(problems_format_known("nope"), 0);
    assert_int_equal(problems_read_file("/nonexistent/x.jsonl", NULL, remember,
                                        &s, NULL, err, sizeof err),
                     -1);
    unlink(path);
    unlink(logpath);
}


static void
test_truth_text(void **state)
{
    (void)state;
    char why[160];
    int n;
    json_t *v = json_pack("[s, i, f]", " (1,2) ", 3, 0.5);
    char *t = problems_truth_text(v, &n, why, sizeof why);
    assert_string_equal(t, "(1,2), 3, 0.5");
    assert_int_equal(n, 3);
    free(t);
    json_decref(v);
    v = json_pack("[]");
    assert_null(problems_truth_text(v, &n, why, sizeof why));
    assert_string_equal(why, "");
    json_decref(v);
    v = json_true();
    assert_null(problems_truth_text(v, &n, why, sizeof why));
    assert_true(why[0] != '\0');
    json_decref(v);
    v = json_real(1e20);
    t = problems_truth_text(v, &n, why, sizeof why);
    assert_true(grade_equal(t, "10^{20}"));
    free(t);
    json_decref(v);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader_lines),
        cmocka_unit_test(test_truth_text),
        cmocka_unit_test(test_benchmarks),
        cmocka_unit_test(test_wrong_layout),
        cmocka_unit_test(test_math500_solutions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
