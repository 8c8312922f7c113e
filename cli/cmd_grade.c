/*
** cmd_grade.c: `trim grade`, the answer grader on its own.
**
**   trim grade [--json] FILE.jsonl          {"answer": ..., "prediction": ...}
**   trim grade [--json] --db FILE [--run N] a run's final answers
**
** One verdict per line (per problem with --db), then the total.  With
** --json: one object per input line, {"line": N, "equal": true|false,
** "extracted": "..."} ({"line": N, "error": "..."} for a line that could
** not be read), then {"total", "equal", "accuracy", "skipped"}.
*/
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "errf.h"
#include "grade.h"
#include "input_file.h"
#include "problems.h"
#include "store.h"

static const char description[] =
    "Grade answers against ground truths with the rules runs use (Qwen2.5-\n"
    "Math's math_equal: normalisation, numbers evaluated within 1e-6,\n"
    "tuples, sets, intervals; see docs/grading.md).  FILE.jsonl holds one\n"
    "object per line with the ground truth in \"answer\" (or\n"
    "\"ground_truth\", \"final_answer\"; a string, a number or a list) and\n"
    "the model's output in \"prediction\" (or \"response\", \"output\").  A\n"
    "prediction with a \\boxed{}, an \"answer is\" phrase or \"####\" is\n"
    "reduced to that answer; another one-line prediction of at most 200\n"
    "bytes that is not prose (two words in a row) is the answer itself;\n"
    "any other gives its last number.  With --db, each finished problem's\n"
    "recorded final answer is graded against its ground truth, as the run\n"
    "graded it (problems without a ground truth, and failed or unfinished\n"
    "ones, are skipped).";

#define ANSWER_MAX 8192

typedef struct tally {
    int json;
    long total, equal, skipped;
} tally_t;

static const char *const truth_keys[] = {"answer", "ground_truth",
                                         "final_answer"};
static const char *const pred_keys[] = {"prediction", "response", "output"};


static json_t *
first_of(json_t *obj, const char *const *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        json_t *v = json_object_get(obj, keys[k]);
        if (v != NULL && !json_is_null(v))
            return v;
    }
    return NULL;
}


/* 1 if s has two words of three or more letters in a row ("The result"),
** control words (\sqrt) not counted: prose, not an answer. */
static int
prose(const char *s)
{
    const char *start = s;
    int words = 0;

    while (*s) {
        const char *w = s;
        while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
            s++;
        if (s - w >= 3 && (w == start || w[-1] != '\\')) {
            if (++words >= 2)
                return 1;
        } else if (s == w) {
            if (*s != ' ')
                words = 0;
            s++;
        } else {
            words = 0;
        }
    }
    return 0;
}


/* The answer in a prediction (see the description).  0, or -1 when it
** does not fit in out. */
static int
prediction_answer(const char *pred, char *out, size_t outlen)
{
    size_t len = strlen(pred);
    int rule = grade_extract(pred, out, outlen);

    if (rule < 0)
        return -1;
    if (rule == GRADE_BOXED || rule == GRADE_PHRASE || rule == GRADE_HASH)
        return 0;
    if (len <= 200 && strchr(pred, '\n') == NULL && !prose(pred)) {
        while (len > 0 && (pred[len - 1] == ' ' || pred[len - 1] == '\r'))
            len--;
        while (len > 0 && *pred == ' ')
            pred++, len--;
        if (len + 1 > outlen)
            return -1;
        memcpy(out, pred, len);
        out[len] = '\0';
    }
    return 0;
}


static void
verdict(tally_t *t, const char *where_key, long where, long run,
        const char *extracted, const char *truth, int equal)
{
    t->total++;
    t->equal += equal;
    if (t->json) {
        json_t *j = json_object();
        json_object_set_new(j, where_key, json_integer(where));
        if (run > 0)
            json_object_set_new(j, "run_id", json_integer(run));
        json_object_set_new(j, "equal", json_boolean(equal));
        json_object_set_new(j, "extracted", json_string(extracted));
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
        json_decref(j);
    } else if (run > 0) {
        printf("problem %ld (run %ld): %-9s  answer \"%s\"  truth \"%s\"\n",
               where, run, equal ? "equal" : "not equal", extracted, truth);
    } else {
        printf("line %ld: %-9s  answer \"%s\"  truth \"%s\"\n", where,
               equal ? "equal" : "not equal", extracted, truth);
    }
}


static void
line_error(tally_t *t, const char *path, long line, const char *why)
{
    t->skipped++;
    fprintf(stderr, "%s:%ld: %s; skipped\n", path, line, why);
    if (t->json) {
        json_t *j =
            json_pack("{s:I, s:s}", "line", (json_int_t)line, "error", why);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(j);
    }
}


/* Grade one line's object; -1 with why when it cannot be graded. */
static int
grade_object(tally_t *t, json_t *obj, long line, char *why, size_t whylen)
{
    json_t *tv = first_of(obj, truth_keys, 3),
           *pv = first_of(obj, pred_keys, 3);
    char reason[160], number[64], *answer = NULL, *truth = NULL;
    const char *pred;
    int rc = -1;

    if (tv == NULL || pv == NULL)
        return errf(why, whylen, "needs \"answer\" and \"prediction\"");
    if ((truth = problems_truth_text(tv, NULL, reason, sizeof reason)) == NULL)
        return errf(why, whylen, "\"answer\" %s",
                    reason[0] ? reason : "is empty");
    if (json_is_string(pv)) {
        pred = json_string_value(pv);
    } else if (json_is_integer(pv)) {
        snprintf(number, sizeof number, "%lld",
                 (long long)json_integer_value(pv));
        pred = number;
    } else if (json_is_real(pv)) {
        snprintf(number, sizeof number, "%.17g", json_real_value(pv));
        pred = number;
    } else {
        errf(why, whylen, "\"prediction\" is neither a string nor a number");
        goto done;
    }
    if ((answer = malloc(ANSWER_MAX)) == NULL) {
        errf(why, whylen, "out of memory");
        goto done;
    }
    if (prediction_answer(pred, answer, ANSWER_MAX) < 0)
        answer[0] = '\0'; /* longer than any answer: graded as none */
    verdict(t, "line", line, 0, answer, truth, grade_equal(answer, truth));
    rc = 0;
done:
    free(answer);
    free(truth);
    return rc;
}


static int
grade_file(tally_t *t, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, why[256];
    size_t cap = 0;
    long lineno = 0;

    if (f == NULL) {
        fprintf(stderr, "trim grade: cannot read %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) >= 0) {
        json_error_t jerr;
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        json_t *obj = json_loads(line, JSON_DECODE_ANY, &jerr);
        if (!json_is_object(obj)) {
            errf(why, sizeof why, "not a JSON object (%s)",
                 obj ? "another JSON value" : jerr.text);
            line_error(t, path, lineno, why);
        } else if (grade_object(t, obj, lineno, why, sizeof why) < 0) {
            line_error(t, path, lineno, why);
        }
        json_decref(obj);
    }
    int failed = ferror(f); /* a directory reads as an error */
    if (failed)
        fprintf(stderr, "trim grade: cannot read %s: %s\n", path,
                strerror(errno));
    free(line);
    fclose(f);
    return failed ? -1 : 0;
}


static int
grade_problem(void *ctx, const store_problem_t *p)
{
    tally_t *t = ctx;

    if (p->ground_truth == NULL || p->status != STORE_FINISHED) {
        t->skipped++;
        return 0;
    }
    const char *answer = p->final_answer ? p->final_answer : "";
    verdict(t, "problem_id", (long)p->problem_id, (long)p->run_id, answer,
            p->ground_truth, grade_equal(answer, p->ground_truth));
    return 0;
}


static void
print_total(const tally_t *t)
{
    double acc = t->total ? (double)t->equal / (double)t->total : 0.0;

    if (t->json)
        printf("{\"total\":%ld,\"equal\":%ld,\"accuracy\":%.6f,"
               "\"skipped\":%ld}\n",
               t->total, t->equal, acc, t->skipped);
    else
        printf("total: %ld graded, %ld equal (accuracy %.4f), %ld not equal, "
               "%ld skipped\n",
               t->total, t->equal, acc, t->total - t->equal, t->skipped);
}


int
cmd_grade(int argc, char **argv)
{
    const char *db = "";
    int64_t run = 0;
    int json = 0, npos;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0,
         "grade the final answers recorded in this audit database"},
        {"run", FLAG_INT, &run, 0, 9.2e18,
         "with --db: only this run (0: every run)"},
        {"json", FLAG_BOOL, &json, 0, 0,
         "one JSON object per line, then a summary object"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    tally_t t = {0};
    char err[512];
    int rc = cli_parse("grade", "[FLAGS] FILE.jsonl | --db FILE", description,
                       flags, n, argc, argv, &npos);

    if (rc != CLI_GO)
        return rc;
    if ((npos == 1) == (*db != '\0') || npos > 1) {
        fprintf(stderr, "trim grade: give one JSONL file or --db FILE\n");
        return 2;
    }
    t.json = json;
    if (npos == 1) {
        if (input_file_check("grade", argv[1], "answers to grade") < 0 ||
            grade_file(&t, argv[1]) < 0)
            return 1;
        if (t.total == 0) {
            fprintf(stderr,
                    "trim grade: no line of %s could be graded (%ld "
                    "skipped, see above)\n",
                    argv[1], t.skipped);
            return 1;
        }
    } else {
        store_reader_t *r = store_reader_new(db, err, sizeof err);
        if (r == NULL) {
            fprintf(stderr, "trim grade: %s\n", err);
            return 1;
        }
        rc = store_each_problem(r, run, grade_problem, &t, err, sizeof err);
        store_reader_destroy(&r);
        if (rc < 0) {
            fprintf(stderr, "trim grade: %s\n", err);
            return 1;
        }
    }
    print_total(&t);
    return 0;
}
