/*
** reference.h: reference sweeps measured on real models.
**
** A reference file is JSONL in the layout of the TRIM release's
** summary.jsonl files: one object per line with "threshold" (or
** "cost_per_token"), "accuracy", "avg_target_tokens_per_question" and,
** optionally, "avg_draft_tokens_per_question",
** "avg_discarded_draft_tokens_per_question" and
** "avg_target_calls_per_question".
*/
#ifndef TRIM_REFERENCE_H
#define TRIM_REFERENCE_H

#include <stddef.h>

typedef struct reference_point {
    double param; /* threshold or cost per token */
    double accuracy;
    double strong_tokens;    /* per question */
    double draft_tokens;     /* per question; NAN when absent */
    double discarded_tokens; /* per question; NAN when absent */
} reference_point_t;

typedef struct reference {
    reference_point_t *points;
    size_t n;
    char *param_name; /* "threshold" or "cost_per_token" */
} reference_t;

/*
** Load a reference file.  Lines that are not valid are reported on stderr
** as "FILE:LINE: what is wrong" and skipped; the rest load.  Returns the
** reference, or NULL with a reason in err when the file cannot be read or
** holds no valid line.
*/
reference_t *reference_load(const char *path, char *err, size_t errlen);

/* The point whose parameter equals param (within 1e-9), or NULL. */
const reference_point_t *reference_find(const reference_t *r, double param);

/* Free and clear the pointer; NULL-safe. */
void reference_destroy(reference_t **r);

#endif
