/*
** labelled_data.h: step-labelled solutions in ProcessBench's layout.
**
** ProcessBench (huggingface.co/datasets/Qwen/ProcessBench) ships each split
** as one JSON array of records; JSONL, one record per line, is read too.
** A record has "problem" (text), "steps" (a list of step texts) and
** "label", the index of the first wrong step or -1 when every step is
** right; "generator" (the model that wrote the solution) is optional, and
** other fields ("id", "final_answer_correct") are ignored.
*/
#ifndef TRIM_LABELLED_DATA_H
#define TRIM_LABELLED_DATA_H

#include <stddef.h>

typedef struct labelled {
    char *problem;
    char **steps;
    size_t n_steps;
    int label;       /* first wrong step, or -1 */
    char *generator; /* "" when the record names none */
} labelled_t;

typedef struct labelled_set {
    labelled_t *v;
    size_t n;
} labelled_set_t;

/*
** Read the records of the file at path into *out (caller frees with
** labelled_set_clear).  Returns 0, or -1 with err naming the file and the
** line (JSONL) or record (JSON array) and what is wrong with it.
*/
int labelled_load(const char *path, labelled_set_t *out, char *err,
                  size_t errlen);

/* Free the records and zero the set; NULL-safe, idempotent. */
void labelled_set_clear(labelled_set_t *s);

#endif
