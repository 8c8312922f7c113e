/*
** problems.h: reading problems from a JSONL file, in the native layouts of
** the common math benchmarks or a plain one.
**
** One JSON object per line.  Layouts (--format NAME; "auto", the default,
** recognises each line's layout by its fields):
**
**   plain          {"id", "problem", "answer"}: the layout for your own sets.
**                  Also "question"/"text" for the problem, "final_answer"/
**                  "ground_truth" for the answer; "idx"/"problem_idx"/
**                  "unique_id" for the id.  The answer is optional.
**   math           MATH / MATH-500 / PRM800K: "problem", "answer" (the
**                  reference "solution" is not the answer), "unique_id".
**   gsm8k          "question", "answer" ending in "#### N": N is the answer.
**   aime           AIME archives: "ID" ("1983-1"), "problem", the answer in
**                  "answer" or "solution".
**   olympiadbench  "question" (after "context" when there is one),
**                  "final_answer": a list; several answers are joined with
**                  ", " (compared as a set by the grader).
**   minerva        Minerva Math: "problem", "solution" whose last \boxed{}
**                  is the answer.
**
** Answers may be strings, numbers (27.0 is "27") or lists of them; an answer
** text holding "#### N" or a \boxed{} is reduced to that answer.  A line
** that does not fit (not JSON, no problem text, a required answer missing
** or malformed) is reported on stderr as "FILE:LINE: what is wrong;
** skipped" and the rest load.
*/
#ifndef TRIM_PROBLEMS_H
#define TRIM_PROBLEMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

typedef struct problem_rec {
    const char *id;   /* the line's own id as text ("1983-1", "60"), or NULL */
    const char *text; /* the problem */
    const char *ground_truth; /* NULL when the line has none */
    int n_answers;            /* answers in ground_truth: 0, 1, or more */
    const char *format;       /* the layout the line was read as */
    int line;                 /* 1-based line number in the file */
} problem_rec_t;

/* The layout names, for help texts: "auto, plain, math, ...". */
const char *problems_formats(void);

/* 1 if name is "auto" or a known layout, else 0. */
int problems_format_known(const char *name);

/*
** Call fn for every valid problem in the file, in order, reading each line
** with the layout format (NULL or "auto": recognised per line).  The record
** is valid only during the call, and fn returns non-zero to stop.
** *skipped (may be NULL) counts the lines reported and skipped.  Returns
** the number of problems passed to fn, or -1 with a reason in err when the
** file cannot be read or the format is unknown.
*/
long problems_read_file(const char *path, const char *format,
                        int (*fn)(void *ctx, const problem_rec_t *p), void *ctx,
                        long *skipped, char *err, size_t errlen);

/*
** The same one problem at a time, for a file too big to hold: open it
** (format as above; lines that do not fit are reported on warn, or
** silently skipped when warn is NULL), then problems_next until it returns
** 0.  NULL / -1 with a reason in err when the file cannot be read or the
** format is unknown.
*/
typedef struct problems_reader problems_reader_t;

problems_reader_t *problems_open(const char *path, const char *format,
                                 FILE *warn, char *err, size_t errlen);

/* The next valid problem into *rec (valid until the next call or the
** close): 1, 0 at the end of the file, or -1 with err. */
int problems_next(problems_reader_t *r, problem_rec_t *rec, char *err,
                  size_t errlen);

/* Lines skipped so far. */
long problems_skipped(const problems_reader_t *r);

/* Close the file and free r; NULL-safe, clears the pointer. */
void problems_close(problems_reader_t **r);

/* problems_read_file with the layout recognised per line. */
long problems_read_jsonl(const char *path,
                         int (*fn)(void *ctx, const problem_rec_t *p),
                         void *ctx, long *skipped, char *err, size_t errlen);

/*
** The ground-truth text held by a JSON value: a string (reduced to its
** "#### N" or last \boxed{} answer when it holds one), a number, or a list
** of those joined with ", " (*n_answers, may be NULL, gets the count).
** Returns a malloc'd string the caller frees; NULL for null or an empty
** list (*why ""), or NULL with the reason in why when the value is of
** another kind.
*/
char *problems_truth_text(const json_t *value, int *n_answers, char *why,
                          size_t whylen);

#endif
