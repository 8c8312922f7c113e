/*
** store.h: the SQLite audit store.
**
** One database file holds every run, problem and step (schema: schema.c).
** Writes go through one writer thread that owns the only write connection
** and commits in batches; everything else opens read-only connections.
** Every connection uses WAL, synchronous=NORMAL and a busy timeout.
**
** Step rows are keyed (problem_id, step_index, kind): writing the same step
** twice (a requeued request, a replay after a restart) leaves one row.
**
** Durability: a row is durable once its transaction commits (see
** store_writer_durable).  With WAL and synchronous=NORMAL a commit survives
** the process dying at any point (kill -9 included); a power loss or kernel
** crash may lose the last commits before the next checkpoint.
*/
#ifndef TRIM_STORE_H
#define TRIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "prom.h"

#define STORE_SCHEMA_VERSION 11

typedef enum { STORE_DRAFT = 0, STORE_STRONG = 1 } store_kind_t;

typedef enum {
    STORE_QUEUED = 0,
    STORE_RUNNING = 1,
    STORE_FINISHED = 2,
    STORE_FAILED = 3,
    STORE_CANCELLED = 4 /* its client cancelled it (error: the reason) */
} store_status_t;

typedef enum {
    STORE_NO_DECISION = -1, /* strong steps, and drafts not routed */
    STORE_KEEP = 0,
    STORE_REGENERATE = 1
} store_decision_t;

/*
** The text the store holds for each enum value ("draft", "finished",
** "regenerate"...); NULL for STORE_NO_DECISION, "invalid" out of range.
*/
const char *store_kind_name(store_kind_t kind);
const char *store_status_name(store_status_t status);
const char *store_decision_name(store_decision_t decision);

/* One run: a set of problems solved under one policy and configuration. */
typedef struct store_run {
    int64_t run_id;
    const char *policy; /* policy spec, e.g. "thr:0.5" */
    uint64_t seed;
    const char *config;        /* JSON text of the full configuration */
    int64_t started_ms;        /* wall clock, ms since the epoch */
    int64_t finished_ms;       /* 0 while running */
    int explore;               /* learned policies sample their actions */
    int64_t max_strong_tokens; /* per-problem cap, 0 for none */
    double target_share;       /* strong-token share to hold, 0 for none */
} store_run_t;

/* One problem and, once finished, its outcome and totals. */
typedef struct store_problem {
    int64_t problem_id;
    int64_t run_id;
    const char *source; /* e.g. "sim:42:17" or "file.jsonl:3" */
    const char *text;
    const char *ground_truth; /* NULL when unknown */
    store_status_t status;
    const char *final_answer; /* NULL until finished */
    int correct;              /* 1, 0, or -1 when not graded */
    int32_t steps;            /* accepted steps */
    int32_t regenerated_steps;
    int64_t weak_tokens;      /* accepted draft tokens */
    int64_t strong_tokens;    /* strong-model completion tokens */
    int64_t discarded_tokens; /* tokens of drafts replaced by strong steps */
    int64_t prm_tokens;       /* PRM input tokens */
    const char *error;        /* why it failed, NULL otherwise */
    int64_t created_ms;       /* kept from the first write of the problem */
    int64_t finished_ms;      /* 0 until finished */
    uint64_t seed;            /* sampling seed; kept from the first write */
    const char *key_id;       /* who submitted it (an API key's id), NULL when
                                 none; kept from the first write */
} store_problem_t;

/* One generated step: a draft (routed or not) or a strong regeneration. */
typedef struct store_step {
    int64_t problem_id;
    int32_t step_index;
    store_kind_t kind;
    int32_t attempt; /* delivery attempt that produced it */
    const char *text;
    int32_t prompt_tokens;
    int32_t completion_tokens;
    int32_t finish;         /* 0 step, 1 end of solution, 2 length cut */
    double prm_score;       /* NAN when not scored; a strong step's comes
                               from the next draft's scoring (its row waits
                               for it in the coordinator) */
    double min_prev_score;  /* NAN when not scored */
    double prod_prev_score; /* NAN when not scored */
    int32_t prm_tokens;     /* PRM input tokens for scoring this draft */
    int32_t prm_padded;     /* leading steps the PRM did not see (its
                               context was full); scored 1.0 */
    store_decision_t decision;
    const char *policy;     /* NULL for strong steps */
    const char *reason;     /* the policy's explanation */
    double action_prob;     /* probability of the action taken, NAN if n/a */
    const char *belief;     /* policy state as JSON text, NULL if none */
    const char *decided_by; /* "router:NAME", "fallback:local", "anchor",
                               NULL (docs/audit-schema.md) */
    int accepted;           /* 1 if part of the final solution */
    int64_t latency_us;     /* model call time, as the worker measured it */
    int64_t queue_us;       /* time its requests waited in the
                               coordinator's queues before a peer took them */
    int64_t prm_us;         /* PRM round trips for this row, 0 if none */
    int64_t route_us;       /* routing round trips (or the wait for a
                               router before the local fallback), 0 if none */
    int64_t prm_queue_us;   /* the part of queue_us spent waiting for a
                               PRM worker (v10) */
    int64_t route_queue_us; /* ... for a router (v10) */
    int64_t step_us;        /* the row's whole time in the coordinator,
                               from its step's (or regeneration's) start
                               to its outcome (v10); 0 before v10 */
    const char *worker;     /* peer name that produced it */
    int64_t created_ms;
    int speculative; /* a draft asked for speculatively (v9), 0 otherwise */
    /* What the servers' prefix caches held, as they reported it (v11):
    ** of prompt_tokens, the model server's; of prm_tokens, the PRM
    ** server's.  has_*: reported (0 included); stored NULL otherwise, and
    ** the usage then estimates it (store_usage_t). */
    int32_t cached_tokens, prm_cached_tokens;
    uint8_t has_cached, has_prm_cached;
} store_step_t;

/*
** Open (creating if needed) the database at path and bring its schema to
** STORE_SCHEMA_VERSION, one transaction per version.  Returns 0, or -1 with a
** reason in err (a newer schema than this build knows is an error).
*/
int store_migrate(const char *path, char *err, size_t errlen);

/*
** Delete the database at path with its -wal and -shm files, for scratch
** databases; files that are not there are fine.
*/
void store_remove(const char *path);

/*
** Read the next free run id and problem id (max + 1, or 1 in an empty
** database).  Returns 0, or -1 with a reason in err.
*/
int store_next_ids(const char *path, int64_t *next_run_id,
                   int64_t *next_problem_id, char *err, size_t errlen);

/* ---- the writer ---------------------------------------------------------- */

typedef struct store_writer store_writer_t;

typedef struct store_writer_opts {
    int batch_rows; /* commit after this many rows (default 10000) */
    int batch_ms;   /* ... or after this long (default 100) */
    int queue_rows; /* producers block when this many are waiting
                       (default 100000) */
    prom_histogram_t *commit_seconds; /* observes each COMMIT's duration;
                                         NULL: none (borrowed) */
} store_writer_opts_t;

/*
** Start the writer thread on the database at path (migrated first).  opts
** may be NULL for the defaults.  Returns NULL with a reason in err.
*/
store_writer_t *store_writer_new(const char *path,
                                 const store_writer_opts_t *opts, char *err,
                                 size_t errlen);

/*
** Queue a row.  The record and its strings are copied; the caller keeps
** ownership of what it passed.  Blocks while the queue is full.  Returns a
** ticket (> 0) that store_writer_wait accepts, or -1 if the writer has
** failed (the reason is in store_writer_error).  Tickets increase in call
** order and are committed in that order.
**
** A problem written again (its end, a requeue) updates its status, outcome,
** totals, error and finished_ms; problem_id, run_id, source, text,
** ground_truth, created_ms and seed keep their first values.  A run written
** again updates finished_ms only.
*/
int64_t store_writer_put_run(store_writer_t *w, const store_run_t *run);
int64_t store_writer_put_problem(store_writer_t *w, const store_problem_t *p);
int64_t store_writer_put_step(store_writer_t *w, const store_step_t *s);

/*
** Queue a speculative draft that was not used (its previous step was
** regenerated) into wasted_drafts: s's key, attempt, text, tokens, finish,
** latency_us, worker, created_ms and cached_tokens (v11).  Written once
** per (problem, step); a repeat changes nothing.  Returns a ticket like
** the puts above.
*/
int64_t store_writer_put_wasted(store_writer_t *w, const store_step_t *s);

/*
** Block until every row up to ticket is committed (ticket 0: everything
** queued so far).  Returns 0, or -1 if the writer failed.
*/
int store_writer_wait(store_writer_t *w, int64_t ticket);

/*
** The non-blocking side, for an event loop that must not wait on the disk:
** put rows, call store_writer_flush, poll store_writer_notify_fd, and on
** readable drain it and read store_writer_durable.
*/

/*
** Every ticket <= the returned value is committed (0 before the first
** commit).  Never blocks beyond a short lock.  After a failure it stays at
** the last ticket committed before it.
*/
int64_t store_writer_durable(store_writer_t *w);

/*
** Ask the writer to commit every row queued before this call as soon as it
** has written it, instead of waiting for batch_rows or batch_ms: what a
** waiter in store_writer_wait does, without waiting.  Returns at once; cheap
** when there is nothing to do, so it may be called after every put.  Flushes
** close together share one commit.
*/
void store_writer_flush(store_writer_t *w);

/*
** A file descriptor (an eventfd owned by w, closed by destroy) that becomes
** readable after every commit and when the writer fails.  It is
** level-triggered: it stays readable until store_writer_notify_drain, so
** drain it before reading store_writer_durable or store_writer_error, then
** act on what they say.  Put it in a poll set for reading; do not read,
** write or close it yourself.
*/
int store_writer_notify_fd(store_writer_t *w);

/* Empty the notify fd (non-blocking; harmless when already empty). */
void store_writer_notify_drain(store_writer_t *w);

/* NULL while healthy; otherwise why the writer stopped (owned by w). */
const char *store_writer_error(const store_writer_t *w);

/* Rows committed so far. */
int64_t store_writer_committed(const store_writer_t *w);

/* Rows queued and not yet committed (a short lock; any thread). */
int64_t store_writer_backlog(const store_writer_t *w);

/*
** Commit what is queued, stop the thread, close the database, free the
** writer and clear the pointer.  NULL-safe.
*/
void store_writer_destroy(store_writer_t **w);

/* ---- readers (read-only connections) ------------------------------------ */

typedef struct store_reader store_reader_t;

/* Open read-only; NULL with a reason in err (missing file included). */
store_reader_t *store_reader_new(const char *path, char *err, size_t errlen);
void store_reader_destroy(store_reader_t **r);

/*
** The reader's SQLite connection, for the read queries of a layer above that
** are its own (the console's pages, each a prepared statement with bound
** parameters).  It was opened with SQLITE_OPEN_READONLY, so nothing run on
** it can write.  Owned by r; used by one thread at a time.
*/
struct sqlite3 *store_reader_sqlite(store_reader_t *r);

/* Totals over the problems of a run (run_id 0: the latest run). */
typedef struct store_summary {
    int64_t run_id;
    int64_t problems, finished, failed, correct, graded;
    int64_t cancelled;
    int64_t steps, regenerated_steps;
    int64_t routed_steps; /* drafts decided by a router or the fallback,
                             in finished and unfinished problems alike */
    int64_t weak_tokens, strong_tokens, discarded_tokens, prm_tokens;
} store_summary_t;

/* Fill *s from SQL over the database.  Returns 0, or -1 with err. */
int store_summary(store_reader_t *r, int64_t run_id, store_summary_t *s,
                  char *err, size_t errlen);

/*
** store_summary of run run_id (> 0) but routed_steps, left 0: the problems'
** counters only, read from an index without the walk of every step row of
** the run that routed_steps takes.  Returns 0, or -1 with err.
*/
int store_totals(store_reader_t *r, int64_t run_id, store_summary_t *s,
                 char *err, size_t errlen);

/*
** The tokens one step row paid for (cost/prices.h prices them), with the
** prompt tokens a prefix cache served: the count the server reported for
** the call (v11, store_step_t's has_cached and has_prm_cached), else an
** estimate, the rule: each call of a problem re-sends the problem and the
** steps accepted so far, so its prompt extends the prompt of the problem's
** previous call of the same kind.  Rows without a reported count (written
** before v11, or by servers that do not report one) take the rule.
*/
typedef struct store_usage {
    int64_t problem_id;
    int32_t step_index;
    store_kind_t kind;
    int accepted;
    int64_t prompt, completion; /* this model call's tokens */
    int64_t prompt_cached;      /* reported, else min(prompt, the prompt of
                                   the previous call of this kind in the
                                   problem) */
    int64_t prm, prm_cached;    /* PRM input for this row; cached: reported,
                                   else min(prm, the problem's previous PRM
                                   input) */
    int64_t solution_cached;    /* accepted rows: min(prompt, the previous
                                   accepted row's prompt); 0 otherwise */
} store_usage_t;

/*
** Call fn once per step row of problem problem_id when it is > 0, else of
** every problem of run run_id, ordered by problem, step_index, kind.  The
** record is valid only during the call; fn returns non-zero to stop.
** Returns 0, or -1 with err.
*/
int store_each_usage(store_reader_t *r, int64_t run_id, int64_t problem_id,
                     int (*fn)(void *ctx, const store_usage_t *u), void *ctx,
                     char *err, size_t errlen);

/*
** A run's usage summed over its step rows as store_usage_t counts them, by
** kind (store_kind_t): input, cached and output tokens per kind, the PRM's
** input and cached part, and the accepted rows alone (solution_*: the
** prompt, solution_cached and completion of each accepted row).  wasted_*:
** the unused speculative drafts (wasted_drafts), weak calls outside the
** draft kind's counts: their prompt, its cached part (reported, else
** min(prompt, the prompt of the draft of the step before), the draft it
** extended) and their completion tokens.
*/
typedef struct store_usage_total {
    int64_t input[2], cached[2], output[2];
    int64_t prm, prm_cached;
    int64_t solution_input, solution_cached, solution_output;
    int64_t wasted_input, wasted_cached, wasted_output;
} store_usage_total_t;

/*
** A problem's usage totals kept as its step rows are written, for
** store_writer_put_usage.  store_usage_add counts one row with the rules of
** store_usage_t, rows taken in key order (by step_index, a draft before its
** strong step; within a kind, the order the coordinator writes them), and
** returns what the row added.  The C form of STORE_USAGE_COLUMNS, the SQL
** that reads rows back (test_cost checks that they agree).
*/
typedef struct store_usage_acc {
    store_usage_total_t t;
    int64_t rows; /* counted so far */
    int64_t last_prompt[2], last_prm, last_accepted;
} store_usage_acc_t;

store_usage_total_t store_usage_add(store_usage_acc_t *a,
                                    const store_step_t *row);

/*
** Count an unused speculative draft (store_writer_put_wasted's row) in a's
** wasted_* totals, its cached part by the rule from the problem's last draft
** row counted (the draft of the step before, unless a later one came
** first), and return what it added.  The problem's other totals are left.
*/
store_usage_total_t store_usage_add_wasted(store_usage_acc_t *a,
                                           const store_step_t *row);

/* Add every total of d to t. */
void store_usage_sum(store_usage_total_t *t, const store_usage_total_t *d);

/*
** Queue the usage totals of an ended problem (store_usage_acc_t over the
** step rows its caller put), stored in problem_usage so that a run's usage
** reads one row for it instead of its steps.  Put them after the problem's
** last step row; no step of the problem may follow.  If one of its steps
** was already in the store (a redelivery or a replay, so the caller counted
** a row twice) the writer keeps no totals for it: reads then sum its steps,
** exact either way.  Writing them again replaces them.  Returns a ticket.
*/
int64_t store_writer_put_usage(store_writer_t *w, int64_t problem_id,
                               const store_usage_total_t *t);

/*
** The totals of run run_id into *out: the stored per-problem totals of its
** ended problems (problem_usage, written when a problem ends) plus the step
** rows of the others, so the sum is exact while the run is going and never
** walks an ended problem's steps; and its wasted drafts (store_usage_wasted).
** Returns 0, or -1 with err.
*/
int store_usage_run(store_reader_t *r, int64_t run_id, store_usage_total_t *out,
                    char *err, size_t errlen);

/*
** The wasted_* totals of store_usage_total_t into *out (the rest left as it
** is): of problem problem_id when it is > 0, else of run run_id's problems.
** Returns 0, or -1 with err.
*/
int store_usage_wasted(store_reader_t *r, int64_t run_id, int64_t problem_id,
                       store_usage_total_t *out, char *err, size_t errlen);

/*
** Call fn once per problem of the run (run_id 0: every run), in id order.
** The record is valid only during the call.  fn returns non-zero to stop.
** Returns 0, or -1 with err.
*/
int store_each_problem(store_reader_t *r, int64_t run_id,
                       int (*fn)(void *ctx, const store_problem_t *p),
                       void *ctx, char *err, size_t errlen);

/*
** Call fn once per problem still queued or running, across every run, in
** problem_id order: what a restarted coordinator resumes.  Reads an index of
** the unfinished problems only, however many have finished.  The record is
** valid only during the call; fn returns non-zero to stop.  Returns 0, or -1
** with err.
*/
int store_each_unfinished(store_reader_t *r,
                          int (*fn)(void *ctx, const store_problem_t *p),
                          void *ctx, char *err, size_t errlen);

/*
** The same from problem from_id on: how the coordinator pages queued
** problems back into memory in id order (fn stops the walk once it has
** enough).  Only committed rows are read.
*/
int store_each_unfinished_from(store_reader_t *r, int64_t from_id,
                               int (*fn)(void *ctx, const store_problem_t *p),
                               void *ctx, char *err, size_t errlen);

/*
** Load one problem into *p (strings valid until the next call on r).
** Returns 1 if found, 0 if not, -1 with err.
*/
int store_get_problem(store_reader_t *r, int64_t problem_id, store_problem_t *p,
                      char *err, size_t errlen);

/*
** Load one run into *out (strings valid until the next call on r).
** Returns 1 if found, 0 if not, -1 with err.
*/
int store_get_run(store_reader_t *r, int64_t run_id, store_run_t *out,
                  char *err, size_t errlen);

/*
** Call fn once per run, in run_id order.  The record is valid only during
** the call; fn returns non-zero to stop.  Returns 0, or -1 with err.
*/
int store_each_run(store_reader_t *r,
                   int (*fn)(void *ctx, const store_run_t *run), void *ctx,
                   char *err, size_t errlen);

/*
** Call fn once per step row of a problem, ordered by step_index then kind
** (draft before strong).  Returns 0, or -1 with err.
*/
int store_each_step(store_reader_t *r, int64_t problem_id,
                    int (*fn)(void *ctx, const store_step_t *s), void *ctx,
                    char *err, size_t errlen);

/*
** Problem ids are global across runs; a problem's place in its run is its
** rank by problem_id among the run's problems, from 1.
**
** store_problem_at finds the nth problem (from 1) of a run: 1 with its id in
** *problem_id, 0 when the run has fewer, -1 with err.
** store_problem_rank gives the place of problem_id in run_id: 1 with it in
** *nth, 0 when the problem is not in that run, -1 with err.
*/
int store_problem_at(store_reader_t *r, int64_t run_id, int64_t nth,
                     int64_t *problem_id, char *err, size_t errlen);
int store_problem_rank(store_reader_t *r, int64_t run_id, int64_t problem_id,
                       int64_t *nth, char *err, size_t errlen);

/* A step row with the problem and run it belongs to, for exports. */
typedef struct store_step_context {
    store_step_t step;
    int64_t run_id;
    const char *run_policy; /* the run's policy spec */
    const char *source;     /* the problem's */
    store_status_t status;  /* the problem's */
    int correct;            /* the problem's: 1, 0, -1 not graded */
} store_step_context_t;

/*
** Call fn once per step row of run_id's problems (run_id 0: every run), in
** (problem_id, step_index, kind) order, one row in memory at a time however
** many there are.  The record is valid only during the call; fn returns
** non-zero to stop.  Returns 0, or -1 with err.
*/
int store_each_step_context(store_reader_t *r, int64_t run_id,
                            int (*fn)(void *ctx,
                                      const store_step_context_t *row),
                            void *ctx, char *err, size_t errlen);

/*
** The same for the unused speculative drafts (wasted_drafts), each as a
** draft row with speculative 1, accepted 0 and no score, decision or queue
** figures, in (problem_id, step_index) order.  Returns 0, or -1 with err.
*/
int store_each_wasted_context(store_reader_t *r, int64_t run_id,
                              int (*fn)(void *ctx,
                                        const store_step_context_t *row),
                              void *ctx, char *err, size_t errlen);

/*
** One problem's step rows kept beyond store_each_step's callback: each row
** with an owned copy of its text (texts[i], which a caller may take and
** set to NULL), its reason and decided_by (owned by r; copy to keep); the
** row's other strings are cleared.
*/
typedef struct store_rows {
    store_step_t *v;
    char **texts;
    size_t n, cap;
} store_rows_t;

/*
** A store_each_step callback appending the row to ctx, a store_rows_t
** (zeroed at first).  Returns 0, or 1 (stopping the walk) when out of
** memory.
*/
int store_rows_collect(void *ctx, const store_step_t *s);

/*
** Free the rows and their texts and zero r, so the (embedded) rows can be
** reused or dropped; NULL-safe, idempotent.
*/
void store_rows_clear(store_rows_t *r);

/* ---- where the time went (hops.c) ---------------------------------------- */

/* The hops of a step, each in one pool (small, large, prm, router). */
typedef enum store_hop {
    STORE_HOP_QUEUE_SMALL,  /* a draft's wait for a small-pool worker */
    STORE_HOP_QUEUE_LARGE,  /* a strong step's wait for a large-pool worker */
    STORE_HOP_QUEUE_PRM,    /* a scored draft's wait for a PRM worker */
    STORE_HOP_QUEUE_ROUTER, /* a routed draft's wait for a router */
    STORE_HOP_DRAFT,        /* the small model's call (latency_us) */
    STORE_HOP_STRONG,       /* the large model's call (latency_us) */
    STORE_HOP_PRM,          /* the PRM's round trip (prm_us) */
    STORE_HOP_ROUTE,        /* the routing decision's round trip (route_us) */
    STORE_HOP_OTHER,        /* the rest of a row's step_us: the model
                               calls' transport, the coordinator's own time */
    STORE_HOP_STEP,         /* a whole step, draft to accepted (step_us) */
    STORE_HOP_PROBLEM,      /* a whole problem, queued to ended (ms) */
    STORE_HOPS
} store_hop_t;

/* A distribution of microseconds: exact nearest-rank percentiles. */
typedef struct store_dist {
    int64_t n; /* values; the rest are 0 when n is 0 */
    int64_t p50, p99, max, sum;
} store_dist_t;

/* What the hop is ("queue wait", "PRM call"...) and its pool ("-": none). */
void store_hop_label(store_hop_t h, const char **hop, const char **pool);

/*
** Every hop's distribution over the step rows of run run_id (0: every
** run), from one snapshot, each hop counting only the rows where it
** happened.  Reads the run's rows once per hop, sorting in bounded memory.
** Returns 0, or -1 with err.
*/
int store_hops(store_reader_t *r, int64_t run_id, store_dist_t out[STORE_HOPS],
               char *err, size_t errlen);

/* ---- retention (prune.c) ------------------------------------------------- */

typedef struct store_prune_opts {
    int64_t run_id;     /* prune this run only; 0: every run that matches */
    int64_t before_ms;  /* only runs that finished before this wall-clock
                           time (ms since the epoch); 0: any age */
    int keep_summaries; /* keep the problem rows and their usage totals */
} store_prune_opts_t;

typedef struct store_prune_result {
    int64_t runs;       /* runs pruned */
    int64_t steps;      /* step rows deleted */
    int64_t problems;   /* problem rows deleted (0 with keep_summaries) */
    int incremental;    /* the file has auto_vacuum=INCREMENTAL; 0: it keeps
                           its size until store_vacuum */
    int64_t free_bytes; /* free pages left inside the file, in bytes */
    int64_t bytes_before, bytes_after; /* the main file's size */
} store_prune_result_t;

/*
** Delete the rows of the finished runs o selects (a run not finished is
** never pruned, nor problems a finished run took since): their step rows,
** and their problem rows and usage totals unless o->keep_summaries.  Runs rows
*stay.  Deletes in transactions of a
** bounded number of problems, so it may run beside a live writer.  Then, in
** a store with auto_vacuum=INCREMENTAL (every store made since it existed),
** gives the freed pages back so the file shrinks.  Returns 0 with *res
** filled, or -1 with err (batches committed before the failure stay
** deleted).
*/
int store_prune(const char *path, const store_prune_opts_t *o,
                store_prune_result_t *res, char *err, size_t errlen);

/*
** Rewrite the store at path with VACUUM, converting a store made without
** incremental vacuum to it.  Needs free disk about the file's size and
** holds the write lock throughout.  Returns 0, or -1 with err.
*/
int store_vacuum(const char *path, char *err, size_t errlen);

#endif
