/*
** usage.c: the audit store's step rows as tokens per role (prices.h).
*/
#include "prices.h"

#include <string.h>

/* A row's tokens in the roles that paid for them, added to *u. */
static void
add_row(cost_usage_t *u, const store_usage_t *s)
{
    int r = s->kind == STORE_STRONG ? COST_STRONG : COST_WEAK;

    u->input[r] += s->prompt;
    u->cached[r] += s->prompt_cached;
    u->output[r] += s->completion;
    u->input[COST_PRM] += s->prm;
    u->cached[COST_PRM] += s->prm_cached;
}


static int
sum_calls(void *ctx, const store_usage_t *s)
{
    add_row(ctx, s);
    return 0;
}


int
cost_usage_run(store_reader_t *r, int64_t run_id, int64_t problem_id,
               cost_usage_t *out, char *err, size_t errlen)
{
    store_usage_total_t t;

    memset(out, 0, sizeof *out);
    if (problem_id > 0) {
        if (store_each_usage(r, run_id, problem_id, sum_calls, out, err,
                             errlen) < 0)
            return -1;
        return cost_usage_wasted(r, problem_id, out, err, errlen);
    }
    if (store_usage_run(r, run_id, &t, err, errlen) < 0)
        return -1;
    for (int k = STORE_DRAFT; k <= STORE_STRONG; k++) {
        int role = k == STORE_STRONG ? COST_STRONG : COST_WEAK;
        out->input[role] = t.input[k];
        out->cached[role] = t.cached[k];
        out->output[role] = t.output[k];
    }
    out->input[COST_PRM] = t.prm;
    out->cached[COST_PRM] = t.prm_cached;
    out->wasted_input = t.wasted_input;
    out->wasted_cached = t.wasted_cached;
    out->wasted_output = t.wasted_output;
    return 0;
}


int
cost_usage_wasted(store_reader_t *r, int64_t problem_id, cost_usage_t *out,
                  char *err, size_t errlen)
{
    store_usage_total_t t;

    memset(&t, 0, sizeof t);
    if (store_usage_wasted(r, 0, problem_id, &t, err, errlen) < 0)
        return -1;
    out->wasted_input = t.wasted_input;
    out->wasted_cached = t.wasted_cached;
    out->wasted_output = t.wasted_output;
    return 0;
}


typedef struct solution_sum {
    cost_usage_t *u;
    cost_role_t role;
} solution_sum_t;


static int
sum_solution(void *ctx, const store_usage_t *s)
{
    solution_sum_t *x = ctx;

    if (s->accepted) {
        x->u->input[x->role] += s->prompt;
        x->u->cached[x->role] += s->solution_cached;
        x->u->output[x->role] += s->completion;
    }
    return 0;
}


int
cost_usage_solution(store_reader_t *r, int64_t run_id, int64_t problem_id,
                    cost_role_t role, cost_usage_t *out, char *err,
                    size_t errlen)
{
    solution_sum_t x = {out, role};
    store_usage_total_t t;

    memset(out, 0, sizeof *out);
    if (problem_id > 0)
        return store_each_usage(r, run_id, problem_id, sum_solution, &x, err,
                                errlen);
    if (store_usage_run(r, run_id, &t, err, errlen) < 0)
        return -1;
    out->input[role] = t.solution_input;
    out->cached[role] = t.solution_cached;
    out->output[role] = t.solution_output;
    return 0;
}


typedef struct step_walk {
    int (*fn)(void *ctx, int32_t step_index, store_kind_t kind,
              const cost_usage_t *u);
    void *ctx;
} step_walk_t;


static int
each_row(void *ctx, const store_usage_t *s)
{
    step_walk_t *w = ctx;
    cost_usage_t u;

    memset(&u, 0, sizeof u);
    add_row(&u, s);
    return w->fn(w->ctx, s->step_index, s->kind, &u);
}


int
cost_each_step(store_reader_t *r, int64_t problem_id,
               int (*fn)(void *ctx, int32_t step_index, store_kind_t kind,
                         const cost_usage_t *u),
               void *ctx, char *err, size_t errlen)
{
    step_walk_t w = {fn, ctx};

    return store_each_usage(r, 0, problem_id, each_row, &w, err, errlen);
}
