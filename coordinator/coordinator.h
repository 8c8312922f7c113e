/*
** coordinator.h: the broker and scheduler.
**
** The coordinator binds one ROUTER socket.  Workers of the three pools and
** router services connect to it, announce their role and credit, and receive
** batches of requests; the coordinator runs every problem's step loop:
**
**   draft (small pool) -> score (prm pool) -> decide (router service)
**     -> keep, or regenerate (large pool) -> append -> next step or finish
**
** with many problems in flight at once.  It never gives a peer more
** requests than its credit; work for a pool with no free credit waits in the
** coordinator's queue.  Peers silent past their liveness are dropped and the
** requests they held go to others with attempt + 1.  Every draft, decision,
** strong step and finished problem goes to the audit store.
**
** Problems belong to runs; a run fixes the policy.  Clients (trim submit,
** status, wait) talk to the same socket without announcing themselves: a
** submission is acknowledged only once its rows are committed, and after a
** restart coord_recover resumes every unfinished problem from its last
** accepted step.
*/
#ifndef TRIM_COORDINATOR_H
#define TRIM_COORDINATOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pomdp.h"
#include "prom.h"
#include "store.h"
#include "trim.pb-c.h"

/*
** The default ceiling on a model request's deadline: 30 min, above the
** ~20.4 min a worker states with the default HTTP options (its timeouts,
** retries, backoffs and cooldowns added up), so that only a peer stating
** more, or a hostile one (up to 2^32 - 1 ms, ~49 days), is cut.
*/
#define COORD_REQUEST_DEADLINE_MS 1800000

/* What the coordinator does when no router answers in time. */
typedef enum {
    COORD_FALLBACK_WAIT = 0, /* keep waiting for a router */
    COORD_FALLBACK_LOCAL = 1 /* decide with the run's policy in-process */
} coord_fallback_t;

/*
** Speculative next-step drafting (coordinator/speculate.c): while a draft
** is scored and routed, ask the small pool for the step after it as if it
** were kept.  Results are the same either way; a speculative draft whose
** step was regenerated is wasted (counted and recorded apart).
*/
typedef enum {
    COORD_SPEC_OFF = 0,
    COORD_SPEC_ON = 1,   /* after every draft that could be kept */
    COORD_SPEC_GUARD = 2 /* ... but not where the run's own record says
                            the draft is likely regenerated */
} coord_speculate_t;

/* "off", "on", "guard" into *out.  0, or -1 for anything else. */
int coord_speculate_parse(const char *s, coord_speculate_t *out);

typedef struct coord_opts {
    const char *endpoint; /* where to bind, e.g. tcp://127.0.0.1:5555 */
    const char *db;       /* the audit database (writer and recovery) */
    int concurrency;      /* problems in flight at once (default 256) */
    int max_steps;        /* step limit per problem (default 30) */
    int max_tokens;       /* per step (default 2048) */
    float temperature;    /* sampling settings sent to the model pools */
    float top_p;
    int heartbeat_ms;      /* default 1000 */
    int liveness;          /* default 3 */
    int max_attempts;      /* failed calls per request before the problem
                              fails (default 3) */
    int64_t max_queued;    /* problems waiting or in flight; submissions
                              beyond are refused (default 1,000,000) */
    int router_timeout_ms; /* a decision not back by then counts as the
                              router failing (default 2000) */
    coord_fallback_t router_fallback;
    /* Prefix-cache affinity is on unless this is set: a problem's next
    ** request to a pool goes to the peer that took its previous one there
    ** when that peer has free credit (its model server may still hold the
    ** problem's prefix), else to any peer; never does it wait for one.  A
    ** request retried after an error reply goes by free credit alone. */
    int no_affinity;
    /* A small, large or prm request not answered by then goes to another
    ** peer: the smaller of this ceiling and the peer's stated deadline
    ** (this when it states none); 0: COORD_REQUEST_DEADLINE_MS. */
    int request_deadline_ms;
    /* Problems waiting for admission kept in memory (default 4,096); the
    ** rest wait in the audit store, where their rows already are, and are
    ** paged back in id order as the window empties (paging.c). */
    int64_t queue_window;
    /* Called from the loop when the window has room and nothing waits in
    ** the store: submit up to room problems (coord_submit) and return 1
    ** while more will come, 0 once there are none, -1 to stop the loop
    ** (logged by the feeder).  exit_when_done waits for the 0.  NULL:
    ** problems come only from coord_submit calls and clients. */
    int (*feed)(void *ctx, int64_t room);
    void *feed_ctx;
    int exit_when_done; /* coord_run returns once every problem has
                           finished, shutting the peers down */
    void *curve_keys;   /* const curve_keys_t *: serve CURVE, or NULL */
    const pomdp_model_t *pomdp_default; /* what "pomdp:LAMBDA" plans in
                                           (policy_new); borrowed, must
                                           outlive the coordinator; or NULL */
    prom_registry_t *metrics;    /* the trim_* series (docs/metrics.md) go
                                    here; borrowed, must outlive the
                                    coordinator; NULL: none */
    coord_speculate_t speculate; /* default off */
} coord_opts_t;

/* A problem to solve; coord_submit copies every string. */
typedef struct coord_problem {
    uint64_t seed;      /* all sampling for this problem derives from it */
    const char *source; /* where it came from, e.g. "sim:1:17" */
    const char *text;
    const char *ground_truth; /* NULL when unknown */
    const char *key_id;       /* who submitted it, for the audit; NULL or
                                 "" when nobody said */
    int in_memory; /* never paged out to the store: a notify client will
                      attach to it */
} coord_problem_t;

typedef struct coord_stats {
    int64_t submitted, finished, failed, correct, graded;
    /* Per Trim__Role: requests of problems that had sent one to the pool
    ** before, by whether they went to the same peer again; and the prompt
    ** tokens (PRM: input) of the pool's replies, and of those the tokens
    ** its servers' prefix caches held (as peers report them). */
    int64_t affinity_same[5], affinity_moved[5];
    int64_t prompt_tokens[5], cached_tokens[5];
    int64_t cancelled; /* problems cancelled by their client */
    int64_t queued;    /* waiting to start */
    int64_t in_flight;
    int64_t paged;        /* of queued: waiting in the store, not memory */
    int64_t window_peak;  /* the most queued in memory at once */
    int64_t page_reads;   /* reads of the store to page problems back in */
    int64_t paged_in;     /* problems those reads brought back */
    int64_t steps;        /* accepted steps */
    int64_t routed_steps; /* drafts that got a decision */
    int64_t regenerated_steps;
    int64_t weak_tokens; /* accepted draft tokens */
    int64_t strong_tokens;
    int64_t discarded_tokens; /* tokens of drafts that were replaced */
    int64_t prm_tokens;       /* PRM input tokens */
    int64_t requeues;         /* requests resent after a peer died */
    int64_t retries;          /* requests resent after an error reply */
    int64_t expired;          /* requests past their deadline, resent */
    int64_t quarantines;      /* peers given no work for missing them */
    int64_t fallbacks;        /* decisions made locally, no router */
    int64_t stale_replies;    /* replies for no outstanding request */
    int64_t bad_messages;     /* frames that failed validation */
    int64_t unknown_peers;    /* messages from peers that never announced */
    int64_t peers_evicted;    /* idle peers that made room in a full table */
    int64_t peers_refused;    /* announces refused: the table was full */
    int64_t recovered;        /* problems resumed by coord_recover */
    int64_t spec_sent;        /* speculative drafts asked for */
    int64_t spec_used;        /* ... that became the next draft */
    int64_t spec_wasted;      /* ... whose previous step was regenerated */
    int64_t wasted_tokens;    /* their completion tokens */
    /* Time speculation could hide and did: the first sums, over kept
    ** routed drafts a step followed, the time from the draft's arrival to
    ** its decision (its scoring and routing); the second, over speculative
    ** drafts used, how much earlier each was there than a draft asked for
    ** at the decision would have been (from its request to the decision,
    ** or to its reply when that came first). */
    int64_t spec_ideal_us, spec_hidden_us;
    int peers[5];      /* live peers per Trim__Role */
    int64_t credit[5]; /* their total credit per role */
} coord_stats_t;

typedef struct coord coord_t;

/*
** Create a coordinator and bind its socket.  zctx and writer are borrowed
** and must outlive it; opts->db must be the writer's (migrated) database.
** Returns NULL with a reason in err (an address in use, say).
*/
coord_t *coord_new(void *zctx, const coord_opts_t *opts, store_writer_t *writer,
                   char *err, size_t errlen);

/* What a run is: its policy and the budgets around it. */
typedef struct coord_run_opts {
    const char *policy; /* policy spec, e.g. "thr:0.5" */
    uint64_t seed;
    const char *config;        /* JSON recorded with the run; may be NULL */
    int explore;               /* learned policies sample their actions */
    int64_t max_strong_tokens; /* no strong step for a problem once it has
                                  used this many strong tokens; 0: no cap */
    double target_share;       /* hold the run's strong-token share here
                                  (0 < share < 1); 0: no controller */
} coord_run_opts_t;

/*
** Open a run and record it.  Returns the run id (> 0) or -1 with a reason
** in err (a bad policy spec names itself).
*/
int64_t coord_add_run(coord_t *c, const coord_run_opts_t *o, char *err,
                      size_t errlen);

/*
** Queue a problem (copied) in a run and record it as queued.  Returns its
** problem id, or -1 (unknown run, queue full, store failure) with err.
*/
int64_t coord_submit(coord_t *c, int64_t run_id, const coord_problem_t *p,
                     char *err, size_t errlen);

/*
** Resume every unfinished problem in the database from its last accepted
** step.  Call once, before coord_run.  Returns the number of problems
** resumed, or -1 with err.
*/
int64_t coord_recover(coord_t *c, char *err, size_t errlen);

/*
** The same for the problems of one run only (`trim run --resume`); the
** store's other runs are left alone.  Returns the number resumed (0 when
** the run has none left), or -1 with err (a run not in the store, say).
*/
int64_t coord_recover_run(coord_t *c, int64_t run_id, char *err, size_t errlen);

/*
** Run the loop until *stop is non-zero or, with exit_when_done, every
** problem has finished.  progress (may be NULL) is called from the loop about
** ten times a second.  Returns 0, or -1 on a fatal error (socket or store),
** which is logged.
*/
int coord_run(coord_t *c, const atomic_int *stop,
              void (*progress)(void *ctx, const coord_stats_t *s), void *ctx);

/* Current counters. */
const coord_stats_t *coord_stats(const coord_t *c);

/*
** Set r's per-pool prefix-cache figures (small_pool_prompt_tokens through
** prm_pool_cached_tokens) from prompt and cached, indexed by Trim__Role as
** coord_stats_t's prompt_tokens and cached_tokens are.
*/
void coord_set_pool_cache(Trim__RunStatus *r, const int64_t prompt[5],
                          const int64_t cached[5]);

/*
** Whether the coordinator can do its job, for /readyz: its loop runs, the
** audit store takes rows, and every pool it needs (small, large, prm, and
** router unless decisions fall back locally) has a live peer.  Returns 0,
** or -1 with a one-line reason.  Any thread may call it (it reads what the
** loop published at its last tick); it says "not started" without
** opts.metrics.
*/
int coord_ready(const coord_t *c, char *reason, size_t reasonlen);

/* Close the socket, free every problem and clear the pointer; NULL-safe. */
void coord_destroy(coord_t **c);

#endif
