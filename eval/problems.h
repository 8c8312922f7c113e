/*
** problems.h: reading problems from a JSONL file.
**
** One JSON object per line.  The problem text is the first of "problem",
** "question" or "text"; the ground truth, when present, the first of
** "answer", "final_answer" or "ground_truth" (a string or a number).  A line
** that is not such an object is reported as "FILE:LINE: what is wrong" and
** skipped; the rest load.
*/
#ifndef TRIM_PROBLEMS_H
#define TRIM_PROBLEMS_H

#include <stddef.h>

typedef struct problem_rec {
    const char *text;
    const char *ground_truth; /* NULL when the line has none */
    int line;                 /* 1-based line number in the file */
} problem_rec_t;

/*
** Call fn for every valid problem in the file, in order; the record is valid
** only during the call, and fn returns non-zero to stop.  *skipped (may be
** NULL) counts the lines reported and skipped.  Returns the number of
** problems passed to fn, or -1 with a reason in err when the file cannot be
** read.
*/
long problems_read_jsonl(const char *path,
                         int (*fn)(void *ctx, const problem_rec_t *p),
                         void *ctx, long *skipped, char *err, size_t errlen);

#endif
