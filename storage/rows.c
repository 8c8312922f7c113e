/*
** rows.c: records to SQL parameters and SQL rows back to records.
**
** Positions follow the STORE_*_COLUMNS lists in store_internal.h.  The only
** conversions: enums <-> their text names, NAN <-> NULL, NULL strings <->
** NULL, uint64 seed <-> its bits as int64.
*/
#include "store_internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static const char *const s_kinds[] = {"draft", "strong"};
static const char *const s_statuses[] = {"queued", "running", "finished",
                                         "failed", "cancelled"};
static const char *const s_decisions[] = {"keep", "regenerate"};

static const size_t s_run_strings[] = {offsetof(store_run_t, policy),
                                       offsetof(store_run_t, config)};
static const size_t s_problem_strings[] = {
    offsetof(store_problem_t, source),
    offsetof(store_problem_t, text),
    offsetof(store_problem_t, ground_truth),
    offsetof(store_problem_t, final_answer),
    offsetof(store_problem_t, error),
    offsetof(store_problem_t, key_id)};
static const size_t s_step_strings[] = {
    offsetof(store_step_t, text),       offsetof(store_step_t, policy),
    offsetof(store_step_t, reason),     offsetof(store_step_t, belief),
    offsetof(store_step_t, decided_by), offsetof(store_step_t, worker)};

#define LAYOUT(type, strings)                                                  \
    {                                                                          \
        sizeof(type), strings, sizeof strings / sizeof *strings                \
    }

static const store_rec_layout_t s_layouts[] = {
    [STORE_REC_RUN] = LAYOUT(store_run_t, s_run_strings),
    [STORE_REC_PROBLEM] = LAYOUT(store_problem_t, s_problem_strings),
    [STORE_REC_STEP] = LAYOUT(store_step_t, s_step_strings),
    [STORE_REC_USAGE] = {sizeof(store_usage_row_t), NULL, 0},
    [STORE_REC_WASTED] = LAYOUT(store_step_t, s_step_strings),
};


const store_rec_layout_t *
store_rec_layout(store_rec_type_t type)
{
    return &s_layouts[type];
}


/*
** Names outside the enums come out as "invalid": the CHECK constraints then
** refuse the row and the writer reports it, instead of storing a guess.
*/
const char *
store_kind_name(store_kind_t kind)
{
    return (unsigned)kind < 2 ? s_kinds[kind] : "invalid";
}


const char *
store_status_name(store_status_t status)
{
    return (unsigned)status < 5 ? s_statuses[status] : "invalid";
}


const char *
store_decision_name(store_decision_t decision)
{
    if (decision == STORE_NO_DECISION)
        return NULL;
    return (unsigned)decision < 2 ? s_decisions[decision] : "invalid";
}


/* Index of name in names[n], or fallback when absent or NULL. */
static int
s_lookup(const char *name, const char *const *names, int n, int fallback)
{
    if (name == NULL)
        return fallback;
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return fallback;
}


static int
s_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}


static int
s_real(sqlite3_stmt *st, int i, double x)
{
    if (isnan(x))
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_double(st, i, x);
}


/* A count a server may not have reported: NULL unless has. */
static int
s_count(sqlite3_stmt *st, int i, int32_t n, int has)
{
    if (!has)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_int(st, i, n);
}


/* OR of SQLite result codes is SQLITE_OK (0) only if every one was. */
int
store_bind_run(sqlite3_stmt *st, const store_run_t *run)
{
    int rc = 0;

    rc |= sqlite3_bind_int64(st, 1, run->run_id);
    rc |= s_text(st, 2, run->policy);
    rc |= sqlite3_bind_int64(st, 3, (sqlite3_int64)run->seed);
    rc |= s_text(st, 4, run->config);
    rc |= sqlite3_bind_int64(st, 5, run->started_ms);
    rc |= sqlite3_bind_int64(st, 6, run->finished_ms);
    rc |= sqlite3_bind_int(st, 7, run->explore != 0);
    rc |= sqlite3_bind_int64(st, 8, run->max_strong_tokens);
    rc |= sqlite3_bind_double(st, 9, run->target_share);
    return rc;
}


int
store_bind_problem(sqlite3_stmt *st, const store_problem_t *p)
{
    int rc = 0;

    rc |= sqlite3_bind_int64(st, 1, p->problem_id);
    rc |= sqlite3_bind_int64(st, 2, p->run_id);
    rc |= s_text(st, 3, p->source);
    rc |= s_text(st, 4, p->text);
    rc |= s_text(st, 5, p->ground_truth);
    rc |= s_text(st, 6, store_status_name(p->status));
    rc |= s_text(st, 7, p->final_answer);
    rc |= sqlite3_bind_int(st, 8, p->correct);
    rc |= sqlite3_bind_int(st, 9, p->steps);
    rc |= sqlite3_bind_int(st, 10, p->regenerated_steps);
    rc |= sqlite3_bind_int64(st, 11, p->weak_tokens);
    rc |= sqlite3_bind_int64(st, 12, p->strong_tokens);
    rc |= sqlite3_bind_int64(st, 13, p->discarded_tokens);
    rc |= sqlite3_bind_int64(st, 14, p->prm_tokens);
    rc |= s_text(st, 15, p->error);
    rc |= sqlite3_bind_int64(st, 16, p->created_ms);
    rc |= sqlite3_bind_int64(st, 17, p->finished_ms);
    rc |= sqlite3_bind_int64(st, 18, (sqlite3_int64)p->seed);
    rc |= s_text(st, 19, p->key_id);
    return rc;
}


int
store_bind_step(sqlite3_stmt *st, const store_step_t *s)
{
    int rc = 0;

    rc |= sqlite3_bind_int64(st, 1, s->problem_id);
    rc |= sqlite3_bind_int(st, 2, s->step_index);
    rc |= s_text(st, 3, store_kind_name(s->kind));
    rc |= sqlite3_bind_int(st, 4, s->attempt);
    rc |= s_text(st, 5, s->text);
    rc |= sqlite3_bind_int(st, 6, s->prompt_tokens);
    rc |= sqlite3_bind_int(st, 7, s->completion_tokens);
    rc |= sqlite3_bind_int(st, 8, s->finish);
    rc |= s_real(st, 9, s->prm_score);
    rc |= s_real(st, 10, s->min_prev_score);
    rc |= s_real(st, 11, s->prod_prev_score);
    rc |= sqlite3_bind_int(st, 12, s->prm_tokens);
    rc |= s_text(st, 13, store_decision_name(s->decision));
    rc |= s_text(st, 14, s->policy);
    rc |= s_text(st, 15, s->reason);
    rc |= s_real(st, 16, s->action_prob);
    rc |= s_text(st, 17, s->belief);
    rc |= s_text(st, 18, s->decided_by);
    rc |= sqlite3_bind_int(st, 19, s->accepted);
    rc |= sqlite3_bind_int64(st, 20, s->latency_us);
    rc |= s_text(st, 21, s->worker);
    rc |= sqlite3_bind_int64(st, 22, s->created_ms);
    rc |= sqlite3_bind_int(st, 23, s->prm_padded);
    rc |= sqlite3_bind_int64(st, 24, s->queue_us);
    rc |= sqlite3_bind_int64(st, 25, s->prm_us);
    rc |= sqlite3_bind_int64(st, 26, s->route_us);
    rc |= sqlite3_bind_int(st, 27, s->speculative != 0);
    rc |= sqlite3_bind_int64(st, 28, s->prm_queue_us);
    rc |= sqlite3_bind_int64(st, 29, s->route_queue_us);
    rc |= sqlite3_bind_int64(st, 30, s->step_us);
    rc |= s_count(st, 31, s->cached_tokens, s->has_cached);
    rc |= s_count(st, 32, s->prm_cached_tokens, s->has_prm_cached);
    return rc;
}


int
store_bind_wasted(sqlite3_stmt *st, const store_step_t *s)
{
    int rc = 0;

    rc |= sqlite3_bind_int64(st, 1, s->problem_id);
    rc |= sqlite3_bind_int(st, 2, s->step_index);
    rc |= sqlite3_bind_int(st, 3, s->attempt);
    rc |= s_text(st, 4, s->text);
    rc |= sqlite3_bind_int(st, 5, s->prompt_tokens);
    rc |= sqlite3_bind_int(st, 6, s->completion_tokens);
    rc |= sqlite3_bind_int(st, 7, s->finish);
    rc |= sqlite3_bind_int64(st, 8, s->latency_us);
    rc |= s_text(st, 9, s->worker);
    rc |= sqlite3_bind_int64(st, 10, s->created_ms);
    rc |= s_count(st, 11, s->cached_tokens, s->has_cached);
    return rc;
}


static const char *
c_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}


static double
c_real(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NAN;
    return sqlite3_column_double(st, i);
}


void
store_read_run(sqlite3_stmt *st, store_run_t *run)
{
    run->run_id = sqlite3_column_int64(st, 0);
    run->policy = c_text(st, 1);
    run->seed = (uint64_t)sqlite3_column_int64(st, 2);
    run->config = c_text(st, 3);
    run->started_ms = sqlite3_column_int64(st, 4);
    run->finished_ms = sqlite3_column_int64(st, 5);
    run->explore = sqlite3_column_int(st, 6);
    run->max_strong_tokens = sqlite3_column_int64(st, 7);
    run->target_share = sqlite3_column_double(st, 8);
}


void
store_read_problem(sqlite3_stmt *st, store_problem_t *p)
{
    p->problem_id = sqlite3_column_int64(st, 0);
    p->run_id = sqlite3_column_int64(st, 1);
    p->source = c_text(st, 2);
    p->text = c_text(st, 3);
    p->ground_truth = c_text(st, 4);
    p->status =
        (store_status_t)s_lookup(c_text(st, 5), s_statuses, 5, STORE_QUEUED);
    p->final_answer = c_text(st, 6);
    p->correct = sqlite3_column_int(st, 7);
    p->steps = sqlite3_column_int(st, 8);
    p->regenerated_steps = sqlite3_column_int(st, 9);
    p->weak_tokens = sqlite3_column_int64(st, 10);
    p->strong_tokens = sqlite3_column_int64(st, 11);
    p->discarded_tokens = sqlite3_column_int64(st, 12);
    p->prm_tokens = sqlite3_column_int64(st, 13);
    p->error = c_text(st, 14);
    p->created_ms = sqlite3_column_int64(st, 15);
    p->finished_ms = sqlite3_column_int64(st, 16);
    p->seed = (uint64_t)sqlite3_column_int64(st, 17);
    p->key_id = c_text(st, 18);
}


void
store_read_step(sqlite3_stmt *st, store_step_t *s)
{
    s->problem_id = sqlite3_column_int64(st, 0);
    s->step_index = sqlite3_column_int(st, 1);
    s->kind = (store_kind_t)s_lookup(c_text(st, 2), s_kinds, 2, STORE_DRAFT);
    s->attempt = sqlite3_column_int(st, 3);
    s->text = c_text(st, 4);
    s->prompt_tokens = sqlite3_column_int(st, 5);
    s->completion_tokens = sqlite3_column_int(st, 6);
    s->finish = sqlite3_column_int(st, 7);
    s->prm_score = c_real(st, 8);
    s->min_prev_score = c_real(st, 9);
    s->prod_prev_score = c_real(st, 10);
    s->prm_tokens = sqlite3_column_int(st, 11);
    s->decision = (store_decision_t)s_lookup(c_text(st, 12), s_decisions, 2,
                                             STORE_NO_DECISION);
    s->policy = c_text(st, 13);
    s->reason = c_text(st, 14);
    s->action_prob = c_real(st, 15);
    s->belief = c_text(st, 16);
    s->decided_by = c_text(st, 17);
    s->accepted = sqlite3_column_int(st, 18);
    s->latency_us = sqlite3_column_int64(st, 19);
    s->worker = c_text(st, 20);
    s->created_ms = sqlite3_column_int64(st, 21);
    s->prm_padded = sqlite3_column_int(st, 22);
    s->queue_us = sqlite3_column_int64(st, 23);
    s->prm_us = sqlite3_column_int64(st, 24);
    s->route_us = sqlite3_column_int64(st, 25);
    s->speculative = sqlite3_column_int(st, 26);
    s->prm_queue_us = sqlite3_column_int64(st, 27);
    s->route_queue_us = sqlite3_column_int64(st, 28);
    s->step_us = sqlite3_column_int64(st, 29);
    s->has_cached = sqlite3_column_type(st, 30) != SQLITE_NULL;
    s->cached_tokens = sqlite3_column_int(st, 30);
    s->has_prm_cached = sqlite3_column_type(st, 31) != SQLITE_NULL;
    s->prm_cached_tokens = sqlite3_column_int(st, 31);
}


void
store_read_step_context(sqlite3_stmt *st, store_step_context_t *row)
{
    int k = sqlite3_column_count(st) - 5; /* the context columns' first */

    store_read_step(st, &row->step);
    row->run_id = sqlite3_column_int64(st, k);
    row->run_policy = c_text(st, k + 1);
    row->source = c_text(st, k + 2);
    row->status = (store_status_t)s_lookup(c_text(st, k + 3), s_statuses, 5,
                                           STORE_QUEUED);
    row->correct = sqlite3_column_int(st, k + 4);
}
