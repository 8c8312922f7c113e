/*
** audit_rows.c: problem and step rows as JSON and CSV (see audit_rows.h).
*/
#include "audit_rows.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "csv.h"
#include "escape.h"

/* How a column's value is held in its record. */
typedef enum {
    COL_I64,      /* int64_t */
    COL_INT,      /* int or int32_t */
    COL_REAL,     /* double, NAN for none */
    COL_TEXT,     /* const char *, NULL for none */
    COL_STATUS,   /* store_status_t */
    COL_KIND,     /* store_kind_t */
    COL_DECISION, /* store_decision_t */
    COL_BELIEF,   /* const char * holding JSON text */
    COL_OUTCOME,  /* the store_problem_t at off, as audit_outcome says */
    COL_OPT_INT   /* int32_t, none unless its flag is set (s_opt_flags) */
} col_type_t;

typedef struct col {
    const char *name;
    col_type_t type;
    size_t off;
} col_t;

#define P(field) offsetof(audit_problem_t, p.field)
#define S(field) offsetof(store_step_context_t, step.field)
#define C(field) offsetof(store_step_context_t, field)

static const col_t s_problem_cols[] = {
    {"problem_id", COL_I64, P(problem_id)},
    {"run_id", COL_I64, P(run_id)},
    {"nth", COL_I64, offsetof(audit_problem_t, nth)},
    {"policy", COL_TEXT, offsetof(audit_problem_t, policy)},
    {"status", COL_STATUS, P(status)},
    {"outcome", COL_OUTCOME, offsetof(audit_problem_t, p)},
    {"correct", COL_INT, P(correct)},
    {"steps", COL_INT, P(steps)},
    {"regenerated_steps", COL_INT, P(regenerated_steps)},
    {"weak_tokens", COL_I64, P(weak_tokens)},
    {"strong_tokens", COL_I64, P(strong_tokens)},
    {"discarded_tokens", COL_I64, P(discarded_tokens)},
    {"prm_tokens", COL_I64, P(prm_tokens)},
    {"source", COL_TEXT, P(source)},
    {"key_id", COL_TEXT, P(key_id)},
    {"final_answer", COL_TEXT, P(final_answer)},
    {"ground_truth", COL_TEXT, P(ground_truth)},
    {"error", COL_TEXT, P(error)},
    {"created_ms", COL_I64, P(created_ms)},
    {"finished_ms", COL_I64, P(finished_ms)},
};

static const col_t s_step_cols[] = {
    {"run_id", COL_I64, C(run_id)},
    {"run_policy", COL_TEXT, C(run_policy)},
    {"problem_id", COL_I64, S(problem_id)},
    {"source", COL_TEXT, C(source)},
    {"problem_status", COL_STATUS, C(status)},
    {"problem_correct", COL_INT, C(correct)},
    {"step_index", COL_INT, S(step_index)},
    {"kind", COL_KIND, S(kind)},
    {"attempt", COL_INT, S(attempt)},
    {"accepted", COL_INT, S(accepted)},
    {"decision", COL_DECISION, S(decision)},
    {"decided_by", COL_TEXT, S(decided_by)},
    {"policy", COL_TEXT, S(policy)},
    {"reason", COL_TEXT, S(reason)},
    {"prm_score", COL_REAL, S(prm_score)},
    {"min_prev_score", COL_REAL, S(min_prev_score)},
    {"prod_prev_score", COL_REAL, S(prod_prev_score)},
    {"prm_tokens", COL_INT, S(prm_tokens)},
    {"prm_padded", COL_INT, S(prm_padded)},
    {"action_prob", COL_REAL, S(action_prob)},
    {"belief", COL_BELIEF, S(belief)},
    {"prompt_tokens", COL_INT, S(prompt_tokens)},
    {"completion_tokens", COL_INT, S(completion_tokens)},
    {"finish", COL_INT, S(finish)},
    {"latency_us", COL_I64, S(latency_us)},
    {"queue_us", COL_I64, S(queue_us)},
    {"prm_us", COL_I64, S(prm_us)},
    {"route_us", COL_I64, S(route_us)},
    {"prm_queue_us", COL_I64, S(prm_queue_us)},
    {"route_queue_us", COL_I64, S(route_queue_us)},
    {"step_us", COL_I64, S(step_us)},
    {"worker", COL_TEXT, S(worker)},
    {"created_ms", COL_I64, S(created_ms)},
    {"text", COL_TEXT, S(text)},
    /* Added with v9 and v11: last, so CSV read by position keeps working. */
    {"speculative", COL_INT, S(speculative)},
    {"cached_tokens", COL_OPT_INT, S(cached_tokens)},
    {"prm_cached_tokens", COL_OPT_INT, S(prm_cached_tokens)},
};

#define N_COLS(a) (sizeof(a) / sizeof *(a))


const char *
audit_outcome(const store_problem_t *p)
{
    if (p->status != STORE_FINISHED)
        return store_status_name(p->status);
    return p->correct == 1 ? "correct" : p->correct == 0 ? "wrong" : "ungraded";
}


/* The COL_OPT_INT columns' values and their "reported" flags. */
static const struct {
    size_t off, has;
} s_opt_flags[] = {
    {S(cached_tokens), S(has_cached)},
    {S(prm_cached_tokens), S(has_prm_cached)},
};


/* Whether a COL_OPT_INT column holds a value (its flag is set). */
static int
col_has(const col_t *c, const void *rec)
{
    for (size_t i = 0; i < N_COLS(s_opt_flags); i++)
        if (s_opt_flags[i].off == c->off)
            return *((const uint8_t *)rec + s_opt_flags[i].has) != 0;
    return 0;
}


/* The column's value as text (enums, text), or NULL when it is not text. */
static const char *
col_text(const col_t *c, const void *rec)
{
    const char *at = (const char *)rec + c->off;

    switch (c->type) {
    case COL_TEXT:
    case COL_BELIEF:
        return *(const char *const *)at;
    case COL_STATUS:
        return store_status_name(*(const store_status_t *)at);
    case COL_KIND:
        return store_kind_name(*(const store_kind_t *)at);
    case COL_DECISION:
        return store_decision_name(*(const store_decision_t *)at);
    case COL_OUTCOME:
        return audit_outcome((const store_problem_t *)at);
    default:
        return NULL;
    }
}


json_t *
audit_json_text(const char *s)
{
    json_t *j;
    char *copy;
    size_t len;

    if (s == NULL)
        return json_null();
    if ((j = json_string(s)) != NULL)
        return j;
    if ((copy = esc_utf8(s, strlen(s), &len)) == NULL)
        return NULL;
    j = json_stringn(copy, len);
    free(copy);
    return j;
}


/*
** The field at "at" of a record, read by memcpy: the column table holds
** offsets into records of different types.
*/
static double
field_real(const char *at)
{
    double x;
    memcpy(&x, at, sizeof x);
    return x;
}


static json_t *
col_json(const col_t *c, const void *rec)
{
    const char *at = (const char *)rec + c->off;
    const char *text;
    json_t *v;

    switch (c->type) {
    case COL_I64:
        return json_integer(*(const int64_t *)at);
    case COL_INT:
        return json_integer(*(const int *)at);
    case COL_OPT_INT:
        return col_has(c, rec) ? json_integer(*(const int32_t *)at)
                               : json_null();
    case COL_REAL: {
        double x = field_real(at);
        return isnan(x) ? json_null() : json_real(x);
    }
    case COL_BELIEF:
        text = col_text(c, rec);
        if (text == NULL)
            return json_null();
        /* Written by the coordinator as JSON; shown as text if it is not. */
        v = json_loads(text, JSON_DECODE_ANY, NULL);
        return v ? v : audit_json_text(text);
    default:
        return audit_json_text(col_text(c, rec));
    }
}


/*
** o with key set to v, or NULL when out of memory; both references are
** taken over (jansson drops v when it cannot be set, o NULL included).
*/
static json_t *
with(json_t *o, const char *key, json_t *v)
{
    if (json_object_set_new(o, key, v) == 0)
        return o;
    json_decref(o);
    return NULL;
}


static json_t *
row_json(const col_t *cols, size_t n, const void *rec)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < n; i++)
        o = with(o, cols[i].name, col_json(&cols[i], rec));
    return o;
}


/* The header, without its line end (the caller may add columns). */
static void
row_csv_header(FILE *f, const col_t *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputc(',', f);
        fputs(cols[i].name, f);
    }
}


static void
row_csv(FILE *f, const col_t *cols, size_t n, const void *rec)
{
    for (size_t i = 0; i < n; i++) {
        const char *at = (const char *)rec + cols[i].off;
        if (i > 0)
            fputc(',', f);
        switch (cols[i].type) {
        case COL_I64:
            fprintf(f, "%lld", (long long)*(const int64_t *)at);
            break;
        case COL_INT:
            fprintf(f, "%d", *(const int *)at);
            break;
        case COL_OPT_INT:
            if (col_has(&cols[i], rec))
                fprintf(f, "%d", (int)*(const int32_t *)at);
            break;
        case COL_REAL:
            if (!isnan(field_real(at)))
                fprintf(f, "%.17g", field_real(at));
            break;
        default:
            csv_field(f, col_text(&cols[i], rec));
            break;
        }
    }
}


/* ",x" with 17 digits, or "," alone for NAN. */
static void
csv_real(FILE *f, double x)
{
    fputc(',', f);
    if (!isnan(x))
        fprintf(f, "%.17g", x);
}


json_t *
audit_usd_json(const cost_usd_t *usd)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f}", "total", usd->total, "weak",
                     usd->role[COST_WEAK], "strong", usd->role[COST_STRONG],
                     "prm", usd->role[COST_PRM], "wasted", usd->wasted);
}


json_t *
audit_problem_json(const audit_problem_t *ap)
{
    json_t *o = row_json(s_problem_cols, N_COLS(s_problem_cols), ap);

    return ap->usd ? with(o, "usd", audit_usd_json(ap->usd)) : o;
}


void
audit_problem_csv_header(FILE *f, int usd)
{
    row_csv_header(f, s_problem_cols, N_COLS(s_problem_cols));
    if (usd)
        fputs(",usd_weak,usd_strong,usd_prm,usd_wasted,usd_total", f);
    fputs("\r\n", f);
}


void
audit_problem_csv(FILE *f, const audit_problem_t *ap)
{
    row_csv(f, s_problem_cols, N_COLS(s_problem_cols), ap);
    if (ap->usd != NULL) {
        csv_real(f, ap->usd->role[COST_WEAK]);
        csv_real(f, ap->usd->role[COST_STRONG]);
        csv_real(f, ap->usd->role[COST_PRM]);
        csv_real(f, ap->usd->wasted);
        csv_real(f, ap->usd->total);
    }
    fputs("\r\n", f);
}


json_t *
audit_step_json(const store_step_context_t *row, double usd)
{
    json_t *o = row_json(s_step_cols, N_COLS(s_step_cols), row);

    return isnan(usd) ? o : with(o, "usd", json_real(usd));
}


void
audit_step_csv_header(FILE *f, int usd)
{
    row_csv_header(f, s_step_cols, N_COLS(s_step_cols));
    if (usd)
        fputs(",usd", f);
    fputs("\r\n", f);
}


void
audit_step_csv(FILE *f, const store_step_context_t *row, const double *usd)
{
    row_csv(f, s_step_cols, N_COLS(s_step_cols), row);
    if (usd != NULL)
        csv_real(f, *usd);
    fputs("\r\n", f);
}
