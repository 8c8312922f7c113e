/*
** coord_internal.h: the coordinator's state, shared by its source files.
**
**   coordinator.c  the loop, the socket, submission, dispatch of batches
**   peers.c        the peer registry: announce, credit, liveness, requeue
**   steps.c        one problem's step machine: replies in, next request out
*/
#ifndef TRIM_COORD_INTERNAL_H
#define TRIM_COORD_INTERNAL_H

#include <stdint.h>

#include "arena.h"
#include "coordinator.h"
#include "envelope.h"
#include "policy.h"
#include "u64map.h"

#define ROLE_COUNT 5 /* indexed by Trim__Role */

/* Where a problem is in its step loop; each stage waits on one pool. */
typedef enum {
    STAGE_QUEUED = 0, /* submitted, not started */
    STAGE_DRAFT,      /* small pool writes the next step */
    STAGE_SCORE,      /* prm pool scores the history with the draft */
    STAGE_ROUTE,      /* router service decides on the draft */
    STAGE_STRONG,     /* large pool writes the step */
    STAGE_DONE
} stage_t;

typedef struct cproblem {
    int64_t id;
    uint64_t seed;
    char *source, *text, *truth; /* owned; truth may be NULL */
    char **steps;                /* accepted steps, owned */
    int n_steps, cap_steps;
    size_t text_bytes; /* problem and accepted steps, for batching */
    stage_t stage;
    int queued;            /* 1 while in a pool queue */
    uint32_t attempt;      /* of the current request */
    int failures;          /* error replies for the current request */
    int peer;              /* slot holding the request, -1 if none */
    struct cproblem *next; /* pool queue link */
    int64_t created_ms;
    /* The draft under consideration. */
    char *draft;
    int32_t draft_prompt_tokens, draft_tokens;
    int draft_finish;
    uint32_t draft_attempt;
    int64_t draft_latency_us;
    const char *draft_worker; /* interned peer name */
    float score, min_prev, prod_prev;
    int32_t draft_prm_tokens;
    float belief[POLICY_MAX_BELIEF];
    size_t n_belief;
    /* Totals for the problem row. */
    int32_t regenerated;
    int64_t weak_tokens, strong_tokens, discarded_tokens, prm_tokens;
} cproblem_t;

typedef struct cpeer {
    int alive;
    unsigned char id[256]; /* ZeroMQ routing identity */
    size_t idlen;
    uint64_t idkey; /* hash of id, key in the peer map */
    Trim__Role role;
    uint32_t credit;
    uint32_t outstanding; /* requests sent and not answered */
    const char *name;     /* interned */
    int64_t last_recv_ms, last_send_ms;
    int logged_bad; /* one log line per peer for bad frames */
    /* The batch being built for this peer in the current loop turn. */
    void **out; /* item pointers (arena memory) */
    size_t n_out, cap_out;
    size_t out_bytes; /* rough payload size, to cap messages */
} cpeer_t;

typedef struct pool_queue {
    cproblem_t *head, *tail;
    int64_t length;
} pool_queue_t;

struct coord {
    coord_opts_t opts;
    char *endpoint, *policy_spec;
    policy_t *policy; /* parsed; gives the loop shape */
    policy_shape_t shape;
    void *sock; /* ROUTER */
    store_writer_t *writer;
    /* Problems. */
    u64map_t *problems;     /* id -> cproblem_t*, in flight only */
    pool_queue_t admission; /* submitted, not started */
    pool_queue_t pools[ROLE_COUNT];
    /* Peers. */
    cpeer_t *peers;
    int n_peers, cap_peers;
    u64map_t *peer_index;     /* idkey -> slot + 1 */
    u64map_t *logged_unknown; /* idkeys already logged (bounded) */
    char **names;             /* interned peer names */
    int n_names, cap_names;
    arena_t *arena;    /* outgoing batch structs, reset per turn */
    arena_t *in_arena; /* the frame being handled, reset after it */
    int64_t next_timer_ms;
    int fatal; /* a store failure stops the loop */
    coord_stats_t stats;
};

/* ---- peers.c ------------------------------------------------------------ */

/* Handle one frame from the socket (identity, payload). */
void coord_on_frame(coord_t *c, const unsigned char *id, size_t idlen,
                    const void *data, size_t len, int extra_frames);

/* Heartbeats out, expired peers dropped; run a few times per interval. */
void coord_check_peers(coord_t *c, int64_t now_ms);

/* The live peer of a role with the most free credit, or -1. */
int coord_pick_peer(coord_t *c, Trim__Role role);

/* Send one envelope to a peer; a dead route drops the peer. 0 or -1. */
int coord_send(coord_t *c, int slot, Trim__Envelope *env);

/* Tell every live peer the cluster is shutting down. */
void coord_shutdown_peers(coord_t *c);

/* An interned copy of s, alive as long as the coordinator. */
const char *coord_intern(coord_t *c, const char *s);

/* ---- steps.c ------------------------------------------------------------ */

/* Start a newly admitted problem. */
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

/* Free a problem's memory. */
void coord_free_problem(cproblem_t **p);

#endif
