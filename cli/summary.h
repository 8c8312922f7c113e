/*
** summary.h: the end-of-run summary printed by `trim run` (text or JSON).
*/
#ifndef TRIM_SUMMARY_H
#define TRIM_SUMMARY_H

#include <stdint.h>

typedef struct run_summary {
    int64_t run_id;
    const char *policy;
    uint64_t seed;
    const char *db;          /* the database, or NULL ... */
    const char *coordinator; /* ... the coordinator that answered */
    int64_t problems, finished, failed, correct, graded;
    int64_t steps, routed_steps, regenerated_steps;
    int64_t weak_tokens, strong_tokens, discarded_tokens, prm_tokens;
    double seconds; /* < 0 when unknown */
} run_summary_t;

/*
** Strong tokens as a share of all generated tokens (accepted drafts, strong
** steps and discarded drafts), the reference runs' target_token_frac.
*/
double summary_strong_share(const run_summary_t *s);

/* Accuracy over graded problems (0 when none is graded). */
double summary_accuracy(const run_summary_t *s);

/* Print to stdout: a readable block, or one JSON object on one line. */
void summary_print(const run_summary_t *s, int json);

#endif
