/*
** audit_rows.h: problem and step rows of the audit store as JSON and CSV,
** for `trim audit --json/--csv` and `trim export`.
**
** One table of columns per kind of row drives both formats, so a JSON key
** and a CSV header are the same name for the same value (documented in
** docs/audit-schema.md).  JSON: NULL text and unscored (NAN) numbers are
** null; a belief is its JSON value.  CSV (RFC 4180): NULL and NAN are empty
** fields; reals are printed with 17 significant digits, so they read back
** exactly.
*/
#ifndef TRIM_AUDIT_ROWS_H
#define TRIM_AUDIT_ROWS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "prices.h"
#include "store.h"

/* A problem as the audit lists it: its row, its place in its run, the
** run's policy. */
typedef struct audit_problem {
    store_problem_t p;
    int64_t nth;           /* its place in its run, from 1 */
    const char *policy;    /* its run's policy spec */
    const cost_usd_t *usd; /* its dollars under a price book; NULL: none */
} audit_problem_t;

/*
** "correct", "wrong" or "ungraded" for a finished problem, otherwise its
** status ("queued", "failed"...).
*/
const char *audit_outcome(const store_problem_t *p);

/* Dollars as JSON: {"total", "weak", "strong", "prm"}; NULL: no memory. */
json_t *audit_usd_json(const cost_usd_t *usd);

/*
** s as a JSON string, its bytes that are not UTF-8 replaced by U+FFFD
** (esc_utf8); JSON null for a NULL s.  NULL only when out of memory.
*/
json_t *audit_json_text(const char *s);

/*
** A problem as a JSON object (without its text: the caller adds it where
** wanted), with "usd" when ap->usd is set, or NULL when out of memory.  The
** caller owns it.
*/
json_t *audit_problem_json(const audit_problem_t *ap);

/*
** The CSV header line of problems (with usd: the columns usd_weak,
** usd_strong, usd_prm, usd_total too), and one problem as a CSV record (the
** same columns when ap->usd is set).
*/
void audit_problem_csv_header(FILE *f, int usd);
void audit_problem_csv(FILE *f, const audit_problem_t *ap);

/*
** A step row with its context as a JSON object, with "usd" (the row's
** dollars) when usd is not NAN; NULL when out of memory.
*/
json_t *audit_step_json(const store_step_context_t *row, double usd);

/*
** The CSV header line of step rows (with usd: a last column "usd"), and one
** step row as a CSV record (that column when usd is not NULL; NAN leaves it
** empty).
*/
void audit_step_csv_header(FILE *f, int usd);
void audit_step_csv(FILE *f, const store_step_context_t *row,
                    const double *usd);

#endif
