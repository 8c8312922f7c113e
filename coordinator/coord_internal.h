/*
** coord_internal.h: the coordinator's state, shared by its source files.
**
**   coordinator.c  the loop, the socket, dispatch of batches, timers
**   peers.c        the peer registry: announce, credit, liveness, requeue
**   runs.c         runs, submission, per-run totals, waiting for a run
**   clients.c      Submit / Status / Wait / Cancel requests from clients
**   steps.c        one problem's step machine: replies in, requests out
**   cascade.c      the cascade policies' weak phase and judgement
**   pool_queue.c   the queues of problems waiting for admission or a pool
**   recover.c      resuming unfinished problems after a restart
**   paging.c       the admission window: queued problems past it wait in
**                  the store and are paged back in id order
**   notify.c       pushes to notify clients (StepPush, ProblemsDone), Watch
**   cancel.c       Cancel: dropping a problem's queued and in-flight work
**   speculate.c    speculative drafts of the next step (--speculate)
*/
#ifndef TRIM_COORD_INTERNAL_H
#define TRIM_COORD_INTERNAL_H

#include <stdint.h>

#include "arena.h"
#include "budget.h"
#include "coordinator.h"
#include "envelope.h"
#include "log_limit.h"
#include "policy.h"
#include "u64map.h"

#define ROLE_COUNT  5 /* indexed by Trim__Role */
#define PEER_ID_MAX 256

/* Kinds of peer events whose log lines are rate-limited (peers.c). */
enum {
    PEER_LOG_READY,   /* joins, announces again, refused announces */
    PEER_LOG_DROP,    /* peers dropped for silence, send failure, goodbye */
    PEER_LOG_UNKNOWN, /* messages from identities that never announced */
    PEER_LOG_BAD,     /* bad frames and messages peers do not send */
    PEER_LOG_STALE,   /* replies for requests not outstanding */
    PEER_LOG_KINDS
};

/* Where a problem is in its step loop; each stage waits on one pool. */
typedef enum {
    STAGE_QUEUED = 0, /* submitted, not started */
    STAGE_DRAFT,      /* small pool writes the next step */
    STAGE_SCORE,      /* prm pool scores the history with the draft */
    STAGE_ROUTE,      /* router service decides on the draft */
    STAGE_STRONG,     /* large pool writes the step */
    STAGE_DONE
} stage_t;

/* Totals kept per run and for the whole coordinator. */
typedef struct totals {
    int64_t problems, finished, failed, cancelled, correct, graded;
    int64_t steps, routed, regenerated;
    int64_t weak_tokens, strong_tokens, discarded_tokens, prm_tokens;
    int64_t wasted_tokens;     /* of speculative drafts (speculate.c) */
    store_usage_total_t usage; /* its problems' (store_usage_add), for
                                  dollars in RunStatus (docs/roi.md) */
    /* Per Trim__Role, prompt (PRM: input) tokens of replies and those the
    ** servers' prefix caches held, as reported (coord_count_cached). */
    int64_t pool_prompt[ROLE_COUNT], pool_cached[ROLE_COUNT];
} totals_t;

/*
** The guard's per-run tally of routed drafts that a step could follow (the
** ones speculation is asked for), by what is known when each goes to
** scoring: the step before it (none, kept, regenerated) and the problem's
** regenerations so far (0..5, 5 for more); speculate.c.
*/
#define SPEC_GUARD_CELLS 18

typedef struct spec_guard {
    int32_t drafts[SPEC_GUARD_CELLS], regenerated[SPEC_GUARD_CELLS];
    int64_t all_drafts, all_regenerated;
} spec_guard_t;

typedef struct crun {
    int64_t id;
    policy_t *policy; /* decides locally when the router fails */
    const char *spec; /* canonical policy spec (owned by policy) */
    policy_shape_t shape;
    uint64_t seed;
    int64_t started_ms;  /* wall clock */
    int64_t finished_ms; /* 0 while problems remain */
    totals_t t;
    int64_t last_ticket;         /* writer ticket of the run's latest row */
    int explore;                 /* learned policies sample their actions */
    int64_t max_strong_tokens;   /* per-problem cap, 0 for none */
    budget_t budget;             /* strong-token share controller (maybe off) */
    coord_speculate_t speculate; /* speculative drafting (speculate.c) */
    spec_guard_t guard;          /* what its guard has learnt */
    prom_counter_t *m_routed, *m_regenerated; /* by policy; NULL: no metrics */
} crun_t;

/* A weak step of a cascade's first phase, kept until the decision. */
typedef struct cstep_meta {
    int32_t prompt_tokens, tokens;
    int finish;
    uint32_t attempt;
    int64_t latency_us;
    int64_t queue_us;   /* its draft request's wait in the small queue */
    int64_t step_us;    /* its step's start to its draft's reply */
    int32_t cached;     /* its prompt's cached part, reported; -1: not */
    const char *worker; /* interned */
    float score;        /* its PRM score once the solution is scored */
} cstep_meta_t;

/*
** What the push of an accepted step says besides its text (AcceptedStep),
** kept beside each accepted step so that a Watch can push it again.
*/
typedef struct caccept {
    float score; /* the draft's PRM score; -1 when none was asked */
    int32_t tokens, prompt_tokens, discarded_tokens, prm_tokens;
    uint8_t strong, routed, finish;
    char *why; /* "decided_by\0reason\0", owned; NULL: neither */
} caccept_t;

/* Where a problem's speculative draft of its next step is (speculate.c). */
typedef enum {
    SPEC_NONE = 0, /* none */
    SPEC_WANTED,   /* asked for; sent by the next dispatch if it can be */
    SPEC_SENT,     /* a small peer holds it */
    SPEC_READY,    /* its reply is here, waiting for the decision */
    SPEC_ORPHAN    /* a peer holds it but the step before it was
                      regenerated: its reply is recorded as wasted */
} spec_state_t;

typedef struct cspec {
    spec_state_t state;
    int32_t step_index; /* the step it drafts: the problem's n_steps + 1 */
    uint32_t attempt;
    int peer; /* slot holding it (SENT, ORPHAN) */
    int64_t sent_us, sent_ms;
    int64_t reply_us; /* READY: when its reply came */
    /* READY: the reply. */
    char *text; /* owned */
    int32_t prompt_tokens, tokens;
    int32_t cached; /* its prompt's cached part, reported; -1: not */
    int finish;
    int64_t latency_us;
    const char *worker; /* interned */
} cspec_t;

typedef struct cproblem {
    int64_t id;
    uint64_t seed;
    crun_t *run;
    char *source, *text, *truth; /* owned; truth may be NULL */
    char **steps;                /* accepted steps, owned */
    caccept_t *acc;              /* parallel to steps (cap_steps) */
    int n_steps, cap_steps;
    size_t text_bytes; /* problem and accepted steps, for batching */
    int last_finish;   /* finish of the last accepted step */
    stage_t stage;
    int queued;            /* 1 while in a pool queue */
    uint32_t attempt;      /* of the current request */
    int failures;          /* error replies for the current request */
    int peer;              /* slot holding the request, -1 if none */
    int64_t since_ms;      /* when the current stage began waiting */
    int64_t sent_ms;       /* when the request went to peer */
    int64_t sent_us;       /* the same in microseconds, for its latency */
    int expired_on;        /* slot + 1 of the peer that let the request
                              pass its deadline (not asked again if
                              another can take it); 0: none */
    struct cproblem *next; /* queue link */
    int64_t created_ms;
    /* Per pool: the peer (cpeer_t.joined) that took the problem's last
    ** request there, for prefix-cache affinity; 0: none. */
    uint64_t affinity[ROLE_COUNT];
    /* Where the time of the step row being built went (store_step_t): when
    ** it entered its current queue, its waits in queues, its PRM and router
    ** round trips; zeroed for each row (timings.c). */
    int64_t queued_us, queue_us, prm_us, route_us;
    int64_t prm_queue_us, route_queue_us; /* the PRM's and router's part */
    int64_t row_start_us; /* when the row's step (or regeneration) began */
    /* The draft under consideration. */
    char *draft;
    int32_t draft_prompt_tokens, draft_tokens;
    int draft_finish;
    uint32_t draft_attempt;
    int64_t draft_latency_us;
    const char *draft_worker; /* interned peer name */
    float score, min_prev, prod_prev;
    int32_t draft_prm_tokens;
    int32_t draft_prm_padded; /* leading steps the PRM did not see */
    /* The cached parts of the draft's prompt and of its PRM input as the
    ** servers reported them (coord_reported_cached); -1: not reported. */
    int32_t draft_cached, draft_prm_cached;
    float belief[POLICY_MAX_BELIEF];
    size_t n_belief;
    /* A cascade's weak steps (parallel to steps) and its phase. */
    cstep_meta_t *meta;
    int cap_meta;
    int cascade_strong; /* the weak solution was discarded */
    int cascade_kept;   /* the weak solution was kept (its rows written) */
    /* Totals for the problem row. */
    int32_t regenerated;
    int64_t weak_tokens, strong_tokens, discarded_tokens, prm_tokens;
    int32_t first_prompt_tokens; /* of the problem's first model call */
    store_usage_acc_t usage;     /* its rows so far (coord_put_step) */
    /* A routed strong step's row, held until the next draft's scoring
    ** gives its PRM score (coord_hold_step); its text is then
    ** steps[held.step_index]. */
    store_step_t held;
    int has_held;
    int client;          /* notify client slot + 1 (notify.c); 0: none */
    char *decision;      /* "decided_by\0reason\0" of the regenerate decision a
                            strong step follows (cascade: its whole strong
                            phase), owned; or NULL */
    char *key_id;        /* who submitted it (audit only), owned; or NULL */
    cspec_t spec;        /* a speculative draft of the step after the draft */
    uint8_t main_spec;   /* the draft request it waits for was sent
                            speculatively (taken over from spec) */
    uint8_t draft_spec;  /* the draft came from a speculative request */
    int64_t draft_in_us; /* when the routed draft came (scoring began) */
} cproblem_t;

typedef struct cpeer {
    int alive;
    unsigned char id[PEER_ID_MAX]; /* ZeroMQ routing identity */
    size_t idlen;
    uint64_t idkey; /* hash of id, key in the peer map */
    Trim__Role role;
    uint32_t credit;
    uint32_t outstanding; /* requests sent and not answered */
    uint32_t abandoned;   /* of those, given up on (late replies) */
    uint32_t cancelled;   /* of those, dropped by a Cancel (late replies;
                             no sign of a slow peer) */
    const char *name;     /* interned */
    uint64_t joined;      /* order of announces: older peers are lower */
    int answered;         /* it has answered a request (claim) */
    int64_t last_recv_ms, last_send_ms;
    /* The batch being built for this peer in the current loop turn. */
    void **out; /* item pointers (arena memory) */
    size_t n_out, cap_out;
    size_t out_bytes; /* rough payload size, to cap messages */

    /* Request deadlines (steps.c). */
    uint32_t deadline_ms;        /* per request, from its Ready; 0: none */
    int missed;                  /* deadlines missed since its last answer */
    int quarantines;             /* in a row; each lasts twice the last */
    int64_t quarantine_until_ms; /* gets no work before this */
    int sim; /* its backend is the built-in simulator (Ready.backend) */
} cpeer_t;

/* A push waiting for its rows to be durable (notify.c). */
typedef struct cpush {
    int64_t ticket; /* sent once the writer's durable ticket reaches it */
    int kind;       /* PUSH_STEP, PUSH_RESULT, PUSH_CANCEL_ACK */
    size_t bytes;   /* rough size, to cap messages */
    void *msg;      /* the protobuf struct and its strings: one malloc */
} cpush_t;

/*
** A client that asked for pushes (Submit.notify, Watch) or a Cancel, and
** what waits to be sent to it, in order.  Slots are shared by every problem
** pushing to the same identity and freed once none does and nothing waits.
*/
typedef struct cclient {
    unsigned char id[PEER_ID_MAX];
    size_t idlen; /* 0: a free slot */
    uint64_t idkey;
    int64_t refs; /* problems whose pushes go here */
    cpush_t *queue;
    size_t n_queue, cap_queue;
} cclient_t;

typedef struct pool_queue {
    cproblem_t *head, *tail;
    int64_t length;
} pool_queue_t;

/* ---- pool_queue.c ------------------------------------------------------- */

/* Append p, which must be on no queue, to the tail of q. */
void pool_queue_push(pool_queue_t *q, cproblem_t *p);

/* Take the head of q (p->next cleared), or NULL when q is empty. */
cproblem_t *pool_queue_pop(pool_queue_t *q);

/*
** Take p out of q wherever it stands (p->next cleared).  Returns 0, or -1
** when p is not on q.  Walks the queue: not for the hot path.
*/
int pool_queue_remove(pool_queue_t *q, cproblem_t *p);

/* A client waiting for an answer that depends on the writer or a run. */
typedef struct pending {
    unsigned char id[PEER_ID_MAX];
    size_t idlen;
    uint64_t request_id;
    int64_t run_id;
    int64_t ticket;        /* answer once this ticket is durable */
    int is_wait;           /* WaitRequest (else a SubmitAck) */
    int is_watch;          /* Watch of ended problems (problem_ids) */
    uint64_t *problem_ids; /* SubmitAck, Watch: the ids, owned */
    size_t n_ids;
    size_t n_done; /* Watch: ids answered so far */
} pending_t;

struct coord {
    coord_opts_t opts;
    char *endpoint, *db;
    void *sock; /* ROUTER */
    store_writer_t *writer;
    int64_t next_problem_id, next_run_id;
    int64_t newest_run_id; /* the highest run id in runs; 0: none yet */
    /* Runs and problems. */
    u64map_t *runs;         /* id -> crun_t* */
    u64map_t *problems;     /* id -> cproblem_t*, in flight only */
    pool_queue_t admission; /* submitted, not started; may hold husks of
                               cancelled problems (stage DONE, owning
                               nothing) that admit frees */
    int64_t husks;          /* how many */
    u64map_t *queued;       /* id -> cproblem_t* of those in admission */
    /* Queued problems past the window wait in the store (paging.c): the
    ** stats.paged of them have ids in [page_from, page_to], less those in
    ** page_skip (kept in memory or cancelled meanwhile). */
    int64_t page_from, page_to;
    u64map_t *page_skip;
    int64_t page_durable; /* a short page read saw up to this ticket: read
                             again once more is durable; -1: at once */
    int64_t fresh_from;   /* ids from here were submitted here: no step
                             rows; lower ones are recovered, and resume */
    int64_t page_run;     /* recovered ids page in for this run only;
                             0: every run */
    int feeding;          /* opts.feed has more problems */
    pool_queue_t pools[ROLE_COUNT];
    /* Peers. */
    cpeer_t *peers;
    int n_peers, cap_peers;
    u64map_t *peer_index; /* idkey -> slot + 1 */
    uint64_t peer_joins;  /* announces accepted, for cpeer_t.joined */
    log_limit_t *peer_logs[PEER_LOG_KINDS];
    char **names; /* interned peer names (peers.c: coord_intern) */
    int n_names, cap_names;
    u64map_t *name_index; /* hash of a name -> index in names + 1 */
    int names_limit;      /* sweep unused names when n_names reaches it */
    /* Clients waiting on the writer or on a run. */
    pending_t *pending;
    size_t n_pending, cap_pending;
    arena_t *arena;    /* outgoing batch structs, reset per turn */
    arena_t *in_arena; /* the frame being handled, reset after it */
    int64_t next_timer_ms;
    int64_t rate_ms[8]; /* routed-step samples for steps/s */
    int64_t rate_steps[8];
    int fatal;             /* a store failure stops the loop */
    int logged_route_wait; /* said that decisions wait for a router */
    int64_t last_ticket;   /* the newest writer ticket taken */
    /* Notify clients (notify.c). */
    cclient_t *clients;
    int n_clients, cap_clients;
    u64map_t *client_index; /* idkey -> slot + 1 */
    void **push_batch;      /* 2 * TRIM_MAX_BATCH: a message's items */
    int more;               /* work left for the next turn: do not sleep */
    store_reader_t *reader; /* for Watch of ended problems; lazily */
    coord_stats_t stats;
    struct coord_metrics *metrics; /* NULL without opts.metrics */
    int64_t *spec_want; /* ids of problems whose spec is SPEC_WANTED */
    size_t n_spec_want, cap_spec_want;
};

/* ---- problems (steps.c) ------------------------------------------------- */

/* The problem with this id, queued or in flight; NULL if not in memory. */
cproblem_t *coord_find_problem(coord_t *c, int64_t id);

/* Free a problem (on no queue) and clear the pointer; NULL-safe. */
void coord_problem_destroy(cproblem_t **p);

/* Free what p owns, leaving the struct (its id and queue link). */
void coord_problem_empty(cproblem_t *p);

/*
** How many of p's accepted steps are final: written to the audit and shown
** to its client.  A cascade's weak steps are only once the solution is
** judged and kept; until then none.
*/
int coord_final_steps(const cproblem_t *p);

/* ---- coordinator.c ------------------------------------------------------ */

/* Record a row of problem p (its usage and its run's counted); a store
** failure stops the loop.  Returns the ticket or -1. */
int64_t coord_put_step(coord_t *c, cproblem_t *p, const store_step_t *row);
int64_t coord_put_problem(coord_t *c, crun_t *run, const store_problem_t *row);

/*
** Put p's terminal row, then the usage totals of its step rows (after the
** last of them, as store_writer_put_usage asks): a run's usage then reads
** one row per ended problem, and the writer reads nothing back.  Returns
** the newest ticket, or -1 (a fatal store error).
*/
int64_t coord_put_ended(coord_t *c, const cproblem_t *p,
                        const store_problem_t *row);

/*
** Hold p's routed strong step row instead of putting it: its PRM score comes
** with the next draft's scoring, and one write with the score costs the
** writer less than a write and an UPDATE that rewrites the whole row.
** coord_put_held puts it with score (NAN: not scored) and only then pushes
** the step to p's notify client, as every push waits for its row.  Any
** other row of p, and p's end, put a held row first (unscored), so rows
** stay in step order.  A row still held when the coordinator stops
** uncleanly is lost with the step, which recovery does again (recover.c);
** no client was shown it.
*/
void coord_hold_step(cproblem_t *p, const store_step_t *row);
int64_t coord_put_held(coord_t *c, cproblem_t *p, double score);

/* Routed steps per second over the last few seconds. */
double coord_rate(const coord_t *c);

/* ---- coord_metrics.c ---------------------------------------------------- */

typedef struct coord_metrics coord_metrics_t;

/* Register the series in opts.metrics (none without it).  0, or -1. */
int coord_metrics_init(coord_t *c);
void coord_metrics_free(coord_t *c);

/* The run's per-policy series (NULL without metrics). */
void coord_metrics_run(coord_t *c, crun_t *run);

/* A reply came from a peer of role for a request sent at sent_us. */
void coord_metrics_reply(coord_t *c, Trim__Role role, int64_t sent_us);

/* Mirror the stats, the share and the readiness into the series (a tick). */
void coord_metrics_publish(coord_t *c, int64_t now_ms);

/* ---- peers.c ------------------------------------------------------------ */

/* Make the peer registry's maps and log limiters.  0, or -1 (memory). */
int coord_peers_init(coord_t *c);

/* Free the peers, their names and limiters (logging what the limiters held
** back); NULL members are fine, so this undoes a partial coord_peers_init. */
void coord_peers_free(coord_t *c);

/* Handle one frame from the socket (identity, payload). */
void coord_on_frame(coord_t *c, const unsigned char *id, size_t idlen,
                    const void *data, size_t len, int extra_frames);

/* Heartbeats out, expired peers dropped, the log limiters' windows ended
** (summing up what they held back); run a few times per interval. */
void coord_check_peers(coord_t *c, int64_t now_ms);

/*
** The live peer of a role that announced itself as prefer (cpeer_t.joined;
** 0: none) when it has free credit and is neither avoid nor quarantined;
** else the one with the most free credit, or -1.  Slot avoid only when no
** other peer of the role has free credit, and a quarantined peer only when
** every live peer of the role is quarantined.
*/
int coord_pick_peer(coord_t *c, Trim__Role role, int avoid, uint64_t prefer);

/*
** Peer slot answered a request it was sent at sent_us (microseconds): its
** credit comes back, it is no longer missing deadlines, and the reply's
** round trip goes to the metrics.
*/
void coord_peer_answered(coord_t *c, int slot, int64_t sent_us);

/* Count what a batch of replies from peer slot says its server's prefix
** cache held (coord_stats_t's prompt_tokens and cached_tokens, and the
** pool_* totals of the run of each problem still held). */
void coord_count_cached(coord_t *c, int slot, const Trim__Envelope *env);

/*
** The cached part of a reply's total prompt (or PRM input) tokens for its
** step row: cached, at most total, when the server reported it, else -1.
*/
int32_t coord_reported_cached(uint32_t cached, uint32_t total, int reported);

/* Put the reported cached parts (-1: not reported) into row (v11). */
void coord_row_cached(store_step_t *row, int32_t cached, int32_t prm_cached);

/*
** Whether a log line about an event of kind (PEER_LOG_*) from peer slot is
** due: the first of each window per peer identity and kind (log_limit.h).
*/
int coord_peer_log_due(coord_t *c, int kind, int slot);

/* Send one envelope to a peer; a dead route drops the peer. 0 or -1. */
int coord_send(coord_t *c, int slot, Trim__Envelope *env);

/*
** Send a Disconnect with reason to an identity (a peer or not); shutdown
** tells it not to come back.  A failed send is ignored.
*/
void coord_send_disconnect(coord_t *c, const unsigned char *id, size_t idlen,
                           const char *reason, int shutdown);

/* Tell every live peer the cluster is shutting down, and why. */
void coord_shutdown_peers(coord_t *c, const char *reason);

/*
** An interned copy of s.  It stays valid while a live peer, an in-flight
** problem's draft_worker, or a cascade's weak step (cstep_meta_t.worker)
** points at it: a later coord_intern may free names none of those hold.
** Any other holder must copy the name (or be added to sweep_names).
*/
const char *coord_intern(coord_t *c, const char *s);

/* ---- paging.c ----------------------------------------------------------- */

/* Problems waiting for admission in memory (husks not counted). */
int64_t coord_waiting(const coord_t *c);

/* Whether a new problem goes to the store instead of the window. */
int coord_page_due(const coord_t *c, const coord_problem_t *in);

/*
** Record in as a queued problem of run that waits in the store only.
** Returns its id, or -1 with err (a store failure).
*/
int64_t coord_page_out(coord_t *c, crun_t *run, const coord_problem_t *in,
                       char *err, size_t errlen);

/*
** Refill the window: page problems back from the store in id order (only
** committed rows are seen), or ask opts.feed when none wait there.
*/
void coord_page_in(coord_t *c);

/*
** Bring paged problem id into memory now (at the window's tail), for a
** Cancel or a Watch naming it.  1 when it is now in memory, 0 when it is
** not a paged problem.
*/
int coord_page_one(coord_t *c, int64_t id);

/* A problem entered the window: the peak as it stands. */
void coord_note_window(coord_t *c);

/* ---- recover.c ---------------------------------------------------------- */

/*
** A queued or running problem of run rebuilt from its row (copied) and, when
** replay, from its step rows in r.  NULL with err (memory, a read error).
*/
cproblem_t *coord_restore_problem(store_reader_t *r, crun_t *run,
                                  const store_problem_t *row, int replay,
                                  char *err, size_t errlen);

/* ---- runs.c ------------------------------------------------------------- */

/* The run with this id, or NULL. */
crun_t *coord_find_run(coord_t *c, int64_t run_id);

/*
** Make the in-memory run (policy parsed) without recording it; used by
** coord_add_run and by recovery.  NULL with err on a bad spec.
*/
crun_t *coord_make_run(coord_t *c, int64_t id, const coord_run_opts_t *o,
                       int64_t started_ms, char *err, size_t errlen);

/* A problem of the run finished (or failed); updates totals and the run. */
void coord_run_account(coord_t *c, crun_t *run, const store_problem_t *row);

/* Free a run and clear the pointer; NULL-safe. */
void coord_run_destroy(crun_t **run);

/* Fill a RunStatus (strings point into the run). */
void coord_run_status(const crun_t *run, Trim__RunStatus *out);

/* ---- clients.c ---------------------------------------------------------- */

/* A client request; returns 1 if env was one (handled), else 0. */
int coord_on_client(coord_t *c, const unsigned char *id, size_t idlen,
                    const Trim__Envelope *env);

/*
** Answer a frame that failed validation (why) when its sender can act on
** the answer: another protocol version gets a Disconnect, an invalid Submit
** a SubmitAck naming the problem at fault.  Anything else gets nothing.
*/
void coord_on_refused(coord_t *c, const unsigned char *id, size_t idlen,
                      const void *data, size_t len, const char *why);

/* A new pending entry for the client id (zeroed), or NULL (memory). */
pending_t *coord_add_pending(coord_t *c, const unsigned char *id, size_t idlen);

/* Answer the pending requests whose rows are now durable or runs done. */
void coord_answer_pending(coord_t *c);

/* Free the pending list and leave it empty (nobody is answered). */
void coord_pending_clear(coord_t *c);

/* ---- timings.c ---------------------------------------------------------- */

/* A new step row begins now: its timings start from zero. */
void coord_timing_start(cproblem_t *p);

/* p waited us in the queue of its current stage's pool. */
void coord_timing_waited(cproblem_t *p, int64_t us);

/* Copy the row's timings into row, its step_us up to now. */
void coord_timing_fill(const cproblem_t *p, store_step_t *row);

/* ---- cascade.c ---------------------------------------------------------- */

/* Take p's draft as the next weak step of a cascade.  0 or -1 (memory). */
int coord_cascade_keep_draft(coord_t *c, cproblem_t *p);

/*
** The PRM's scores of a cascade's whole weak solution: keep them and set
** the features (score = the minimum).  0, or -1 with why.
*/
int coord_cascade_scores(coord_t *c, cproblem_t *p, const Trim__StepScores *s,
                         char *why, size_t whylen);

/* Record the decision on the weak solution and finish or go strong. */
void coord_cascade_decide(coord_t *c, cproblem_t *p, int regenerate, float prob,
                          const char *reason, const char *decided_by);

/* ---- steps.c ------------------------------------------------------------ */

/* Start a newly admitted (or recovered) problem at its current stage. */
void coord_start_problem(coord_t *c, cproblem_t *p);

/* Replies from peers; each item is checked against what is outstanding. */
void coord_on_step_results(coord_t *c, int slot,
                           const Trim__StepResultBatch *b);
void coord_on_step_scores(coord_t *c, int slot, const Trim__StepScoresBatch *b);
void coord_on_decisions(coord_t *c, int slot, const Trim__DecisionBatch *b);

/* Put a problem back in its stage's queue after its peer was lost. */
void coord_requeue(coord_t *c, cproblem_t *p);

/* Build the request for p's current stage as an item of peer slot's batch. */
int coord_add_request(coord_t *c, int slot, cproblem_t *p);

/* Append p to the queue of the pool its stage waits on. */
void coord_enqueue(coord_t *c, cproblem_t *p);

/*
** Requests past their deadline go to another peer with attempt + 1 (or fail
** the problem after max_attempts), the late answer ignored; a peer that
** keeps missing them is quarantined.  Decisions past the router timeout
** are made locally with the local fallback (with the wait fallback, say
** once per stall that they wait for a router).
*/
void coord_check_deadlines(coord_t *c, int64_t now_ms);

/*
** The audit row of p as it was submitted, with status (strings point into
** p); finishing fills in the rest.
*/
void coord_problem_row(const cproblem_t *p, store_status_t status,
                       store_problem_t *row);

/* Write the problem's row and forget it; error NULL means it finished. */
void coord_finish_problem(coord_t *c, cproblem_t *p, const char *error);

/*
** An error reply from who: try again with attempt + 1, or fail the problem
** once max_attempts calls have failed.
*/
void coord_retry_or_fail(coord_t *c, cproblem_t *p, const char *who,
                         const char *error);

/*
** Append an accepted step (text is taken over) with what its push says (a
** may be NULL: zeros, score -1; a->why is taken over too).  Does not push
** it.  0 or -1 (memory; text and a->why are then freed).
*/
int coord_push_step(cproblem_t *p, char *text, int finish, caccept_t *a);

/* Free p's accepted steps and their push data; p has none left. */
void coord_drop_steps(cproblem_t *p);

/* Write p's row with status and error and forget p (any stage). */
void coord_end_problem(coord_t *c, cproblem_t *p, store_status_t status,
                       const char *error);

/* The queue p's stage waits on. */
pool_queue_t *coord_stage_queue(coord_t *c, const cproblem_t *p);

/* "decided_by\0reason\0" (either may be NULL), malloc'd; NULL if memory. */
char *coord_why(const char *decided_by, const char *reason);

/*
** Build p's speculative request (p->spec: the step after p's draft, with
** the draft as the last step) as an item of small peer slot's batch.
*/
int coord_add_spec_request(coord_t *c, int slot, cproblem_t *p);

/* ---- speculate.c -------------------------------------------------------- */

/*
** p's draft goes to scoring: ask for a speculative draft of the next step
** if the run speculates, the guard allows it and keeping the draft would not
** end the solution.  The next dispatch sends it (coord_spec_dispatch).
*/
void coord_spec_want(coord_t *c, cproblem_t *p);

/*
** Send the speculative requests asked for this turn to small peers with
** free credit once the small pool's queue is empty; the others are not
** made (the step is drafted after its decision, as without speculation).
** Called by dispatch, after the pools' queues.
*/
void coord_spec_dispatch(coord_t *c);

/*
** A reply whose key says speculative: 1 if it answered p's speculative
** request (taken: kept for the decision, recorded as wasted, or dropped on
** an error), 0 if not (the caller treats it as any other reply).
*/
int coord_spec_reply(coord_t *c, int slot, const Trim__StepResult *r);

/*
** The decision on p's routed draft: the guard learns from it (called
** before the decision changes p).
*/
void coord_spec_learn(coord_t *c, cproblem_t *p, int regenerate);

/*
** p's draft was regenerated: its speculative draft is wasted (recorded now
** if here, when its reply comes if a peer holds it).
*/
void coord_spec_regenerated(coord_t *c, cproblem_t *p);

/*
** p ends: forget its speculative request.  One a peer holds frees that
** peer's credit when its reply comes (stale, as after a cancel).
*/
void coord_spec_drop(coord_t *c, cproblem_t *p);

/* Peer slot is gone: forget p's speculative request if slot held it. */
void coord_spec_peer_lost(cproblem_t *p, int slot);

/* ---- notify.c ----------------------------------------------------------- */

/* The slot + 1 of the client with this identity, made if new; 0: memory. */
int coord_client(coord_t *c, const unsigned char *id, size_t idlen);

/* Make client (slot + 1, or 0 for none) the one p pushes to. */
void coord_set_client(coord_t *c, cproblem_t *p, int client);

/* Push p's accepted step index to its client, if it has one. */
void coord_notify_step(coord_t *c, const cproblem_t *p, int index);

/* p ended with row: push its ProblemResult and let go of its client. */
void coord_notify_end(coord_t *c, cproblem_t *p, const store_problem_t *row);

/* Send each client's pushes whose rows are durable, in order (steps of a
** message before its results); ask the writer to commit if some wait. */
void coord_flush_pushes(coord_t *c);

/* Watch: re-attach the sender and push again (clients.c dispatches). */
void coord_on_watch(coord_t *c, const unsigned char *id, size_t idlen,
                    const Trim__Watch *w);

/*
** A pending Watch of ended problems, now durable: push the results of the
** next few (their store lookups run on the loop's thread).  1 when every id
** is answered, 0 while some are left for later turns.
*/
int coord_watch_ended(coord_t *c, pending_t *p);

/*
** Queue the CancelAck of request_id (ids: the problems it cancelled) for
** the client id, to go after the pushes queued before it, once the rows
** written so far are durable.  0, or -1 (memory: not queued).
*/
int coord_push_cancel_ack(coord_t *c, const unsigned char *id, size_t idlen,
                          uint64_t request_id, const uint64_t *ids, size_t n);

/* Free every client slot and the pushes not sent. */
void coord_clients_free(coord_t *c);

/* ---- cancel.c ----------------------------------------------------------- */

/*
** Cancel problem id with reason: its queued or in-flight work is dropped,
** a request a peer holds is abandoned (its late reply is stale and frees
** the credit), its row is written as cancelled.  Returns 1 if it was
** cancelled, 0 when it is not in memory (ended, or unknown).
*/
int coord_cancel(coord_t *c, int64_t id, const char *reason);


#endif
