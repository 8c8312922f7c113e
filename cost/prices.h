/*
** prices.h: the price book, and dollars from tokens.
**
** A price book (JSON, docs/prices.example.json, docs/roi.md) prices each
** model either as a hosted API, in USD per million input, cached-input and
** output tokens, or as a self-hosted server, in USD per GPU-hour with its
** measured prefill and decode throughput, which becomes a price per million
** tokens:
**
**   input  USD/M = usd_per_gpu_hour * gpus / (3600 * prefill_tokens_per_s) *
*1e6
**   output USD/M = usd_per_gpu_hour * gpus / (3600 * decode_tokens_per_s) * 1e6
**   cached USD/M = 0 (a prefix-cache hit skips the prefill)
**
** and maps the three roles, weak (drafts), strong (regenerations) and prm
** (the reward model's input), to models.  Every figure in dollars, in the
** CLI, the gateway and the console, comes from prices_cost: one formula.
*/
#ifndef TRIM_PRICES_H
#define TRIM_PRICES_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef enum {
    COST_WEAK = 0,   /* the small model's drafts */
    COST_STRONG = 1, /* the large model's regenerations */
    COST_PRM = 2,    /* the process reward model (input only) */
    COST_ROLES = 3
} cost_role_t;

#define COST_MODEL_MAX 128

/* One role's model and its prices, USD per million tokens. */
typedef struct cost_price {
    char model[COST_MODEL_MAX]; /* the book's name for it */
    double input;               /* uncached input (prompt) tokens */
    double cached;              /* input tokens served from a prefix cache */
    double output;              /* completion tokens */
    int self_hosted;            /* priced from usd_per_gpu_hour */
} cost_price_t;

/* A loaded price book.  Plain data: a caller may adjust the prices (the
** console's calculator and roi's sensitivity table do). */
typedef struct prices {
    cost_price_t role[COST_ROLES];
    char *source; /* the file name, or the `where` given to prices_parse */
} prices_t;

/*
** Tokens paid for, per role.  input counts every prompt token sent (a step
** call re-sends the whole prefix); cached is the part of input served from
** a prefix cache (cached <= input), as the server reported it or else
** estimated (store_usage_t); output counts every completion token,
** discarded drafts included.  The PRM has no output.  wasted_*: the
** speculative drafts thrown away (--speculate; their previous step was
** regenerated), weak calls kept apart from the weak role's.
*/
typedef struct cost_usage {
    int64_t input[COST_ROLES], cached[COST_ROLES], output[COST_ROLES];
    int64_t wasted_input, wasted_cached, wasted_output;
} cost_usage_t;

/* The same split in USD; input is the uncached part only. */
typedef struct cost_usd {
    double input[COST_ROLES], cached[COST_ROLES], output[COST_ROLES];
    double role[COST_ROLES]; /* input + cached + output of each role */
    double wasted;           /* the wasted drafts at the weak role's prices */
    double total;            /* the roles and wasted */
} cost_usd_t;

/* "weak", "strong" or "prm"; "?" out of range. */
const char *cost_role_name(int role);

/*
** Parse a price book from json_text; where names it in errors (a file
** name).  Returns a new book (prices_destroy), or NULL with err naming
** where, the key and the problem (bad JSON with its line, an unknown key, a
** missing or negative price, a role naming no model, a missing role).
*/
prices_t *prices_parse(const char *json_text, const char *where, char *err,
                       size_t errlen);

/* Read the file at path and prices_parse it.  NULL with err on failure. */
prices_t *prices_load(const char *path, char *err, size_t errlen);

/* Free a book and clear the pointer; NULL-safe. */
void prices_destroy(prices_t **p);

/*
** Dollars of usage under p, per role and part:
**   input  = (input - cached) * price.input  / 1e6
**   cached = cached           * price.cached / 1e6
**   output = output           * price.output / 1e6
** role[r] is their sum; wasted the same sum for the wasted drafts at the
** weak role's prices; total the sum of the roles and wasted.
*/
void prices_cost(const prices_t *p, const cost_usage_t *u, cost_usd_t *out);

/* u += v, part by part. */
void cost_usage_add(cost_usage_t *u, const cost_usage_t *v);

/*
** The usage the coordinator reports for a run or a problem (docs/roi.md
** §5), as a cost_usage_t: from any struct with the token fields of
** RunStatus and ProblemResult (those two, and the gateway's copy of the
** latter).  Each role's input is every call's prompt, cached its estimate;
** the weak output counts the discarded drafts too (they were paid for);
** the PRM has no output; the wasted speculative drafts apart.  A macro
** because those are different types with the same field names.
*/
#define COST_USAGE_REPORTED(r)                                                 \
    ((cost_usage_t){                                                           \
        .input = {(int64_t)(r)->weak_prompt_tokens,                            \
                  (int64_t)(r)->strong_prompt_tokens,                          \
                  (int64_t)(r)->prm_tokens},                                   \
        .cached = {(int64_t)(r)->weak_cached_tokens,                           \
                   (int64_t)(r)->strong_cached_tokens,                         \
                   (int64_t)(r)->prm_cached_tokens},                           \
        .output = {(int64_t)((r)->weak_tokens + (r)->discarded_tokens),        \
                   (int64_t)(r)->strong_tokens, 0},                            \
        .wasted_input = (int64_t)(r)->wasted_prompt_tokens,                    \
        .wasted_cached = (int64_t)(r)->wasted_cached_tokens,                   \
        .wasted_output = (int64_t)(r)->wasted_tokens})

/*
** Tokens paid for by the steps of the audit store read by r: of problem
** problem_id when it is > 0, else of every problem of run run_id (> 0).
** Draft rows are the weak role (prompt and completion tokens of every draft,
** kept or discarded), strong rows the strong role, every row's prm_tokens
** the PRM's input, and the wasted speculative drafts (wasted_drafts) the
** wasted_* counts.  Cached input is what the server reported for the call
** (schema v11) or, for calls without a report, estimated as the prompt
** tokens of the previous call of the same role in the same problem (at
** most the call's own prompt): each call's prompt extends the previous
** one's, so that much could have been a prefix-cache hit (docs/roi.md says
** when it overstates).  A run's usage adds the totals stored when each
** problem ended (store_usage_run) and walks only the steps of problems not
** ended.  Returns 0 with *out, or -1 with err.
*/
int cost_usage_run(store_reader_t *r, int64_t run_id, int64_t problem_id,
                   cost_usage_t *out, char *err, size_t errlen);

/*
** Set out's wasted_* counts to problem problem_id's wasted speculative
** drafts (as cost_usage_run counts them), leaving the rest.  Returns 0, or
** -1 with err.
*/
int cost_usage_wasted(store_reader_t *r, int64_t problem_id, cost_usage_t *out,
                      char *err, size_t errlen);

/*
** Tokens of the accepted steps only (the solution as written), all in one
** role's slot: what the problem would have cost had one model written
** exactly these steps itself.  Cached input as above, over the accepted
** steps.  roi.h prices it at strong and at weak prices to estimate
** strong-only and weak-only cost when no baseline run is given.  Same
** arguments and returns as cost_usage_run.
*/
int cost_usage_solution(store_reader_t *r, int64_t run_id, int64_t problem_id,
                        cost_role_t role, cost_usage_t *out, char *err,
                        size_t errlen);

/*
** Call fn once per step row of problem problem_id (ordered by step_index,
** draft before strong) with the row's usage as cost_usage_run counts it (a
** draft: weak input/cached/output and PRM input/cached; a strong step:
** strong).  fn returns non-zero to stop.  Returns 0, or -1 with err.
*/
int cost_each_step(store_reader_t *r, int64_t problem_id,
                   int (*fn)(void *ctx, int32_t step_index, store_kind_t kind,
                             const cost_usage_t *u),
                   void *ctx, char *err, size_t errlen);

#endif
