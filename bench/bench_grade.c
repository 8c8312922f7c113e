/*
** bench_grade.c: answers graded per second, over the MATH-500 answers.
**
**   bench_grade [--file PATH] [--seconds S]
**
** PATH defaults to $TRIM_DATA/benchmarks/math500/test.jsonl, or to
** data/benchmarks/math500/test.jsonl from the repository root.  Each of the
** 500 problems gives three comparisons, graded round after round until S
** seconds (default 2) have passed:
**
**   same       the answer against itself, as a model's \boxed{} content
**              comes back (string equality after normalisation);
**   other      the answer against the next problem's answer (mostly not
**              equal: normalisation, evaluation, structure all run);
**   extracted  grade_extract over the reference solution, then the answer
**              (a whole solution as a model writes it).
**
** Prints answers/s for each and over all.  Nothing is asserted.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grade.h"

#define MAX_PROBLEMS 2000

typedef struct set {
    char *answer[MAX_PROBLEMS], *solution[MAX_PROBLEMS];
    size_t n;
} set_t;


static int
load(const char *path, set_t *s)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while (getline(&line, &cap, f) >= 0 && s->n < MAX_PROBLEMS) {
        json_t *o = json_loads(line, 0, NULL);
        const char *a = json_string_value(json_object_get(o, "answer"));
        const char *sol = json_string_value(json_object_get(o, "solution"));
        if (a && sol) {
            s->answer[s->n] = strdup(a);
            s->solution[s->n] = strdup(sol);
            if (s->answer[s->n] && s->solution[s->n])
                s->n++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return s->n > 0 ? 0 : -1;
}


/* Grade kind (0 same, 1 other, 2 extracted) for seconds; answers/s, and
** the share judged equal in *equal_share. */
static double
measure(const set_t *s, int kind, double seconds, double *equal_share)
{
    int64_t start = clock_now_us(), now;
    long graded = 0, equal = 0;
    char out[4096];

    do {
        for (size_t i = 0; i < s->n; i++) {
            const char *pred = s->answer[i];
            if (kind == 1)
                pred = s->answer[(i + 1) % s->n];
            else if (kind == 2) {
                grade_extract(s->solution[i], out, sizeof out);
                pred = out;
            }
            equal += grade_equal(pred, s->answer[i]);
            graded++;
        }
        now = clock_now_us();
    } while ((double)(now - start) / 1e6 < seconds);
    *equal_share = (double)equal / (double)graded;
    return (double)graded / ((double)(now - start) / 1e6);
}


int
main(int argc, char **argv)
{
    static set_t s;
    const char *root = getenv("TRIM_DATA");
    char path[1024];
    double seconds = 2.0;
    const char *names[] = {"same", "other", "extracted"};
    double total_rate = 0;

    snprintf(path, sizeof path, "%s/benchmarks/math500/test.jsonl",
             root && *root ? root : "data");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--file") == 0)
            snprintf(path, sizeof path, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
    }
    if (load(path, &s) < 0) {
        fprintf(stderr, "bench_grade: no MATH-500 answers in %s\n", path);
        return 1;
    }
    printf("grading %zu MATH-500 answers, %.1f s per kind\n", s.n, seconds);
    for (int k = 0; k < 3; k++) {
        double share;
        double rate = measure(&s, k, seconds, &share);
        total_rate += 1.0 / rate;
        printf("  %-10s %10.0f answers/s  (%.1f%% judged equal)\n", names[k],
               rate, 100.0 * share);
    }
    printf("  %-10s %10.0f answers/s  (target >= 10,000)\n", "overall",
           3.0 / total_rate);
    for (size_t i = 0; i < s.n; i++) {
        free(s.answer[i]);
        free(s.solution[i]);
    }
    return 0;
}
