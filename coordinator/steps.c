/*
** steps.c: one problem's step machine.
**
**   DRAFT --result--> SCORE --scores--> ROUTE --keep--> accept, next DRAFT
**                                             --regenerate--> STRONG
**   STRONG --result--> accept, next DRAFT
**
** A weak-only policy accepts every draft without scoring or routing; a
** strong-only policy asks the large pool for every step.  A reply is taken
** only if it answers the request the problem is waiting for (same step,
** role and attempt, from the peer that holds it); anything else is stale
** and dropped.  Error replies are retried with attempt + 1 up to
** max_attempts, then the problem fails with the reason.
**
** Every request has a deadline (coord_check_deadlines): the peer's stated
** one for the model pools, capped by request_deadline_ms (always set), and
** the router timeout for routers.  Past it the request goes to another peer
** with attempt + 1, a model call counted like an error reply; the late
** answer, if one comes, is stale.  With the wait fallback a decision stays
** with its router when no other router could take it: a slow router alone
** is still the only one that can decide.  A peer that misses
** QUARANTINE_AFTER deadlines without an answer in between, or whose whole
** credit is held by requests past their deadline, gets no work for a while
** (unless all of its pool is quarantined); when that ends, the credit of
** the requests it never answered is given back.
**
** The audit row of a draft is written once its fate is known (kept or
** discarded, with the score and the decision); a strong step's row when it
** arrives, and its PRM score once the next draft's scoring gives it (the
** PRM scores the whole history; the strong step's score feeds that draft's
** min and product); the problem's row when it finishes.  Each row also says
** where its time went: queue waits, PRM and router round trips.
*/
#include "coord_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errf.h"
#include "grade.h"
#include "hash.h"
#include "log.h"
#include "trim_assert.h"

/* Seeds per request: the same problem and step always sample alike. */
#define SEED_SMALL  1
#define SEED_LARGE  2
#define SEED_ROUTER 3

/* Request deadlines (coord_check_deadlines). */
#define QUARANTINE_AFTER 3     /* deadlines missed in a row */
#define QUARANTINE_MS    30000 /* the first quarantine */


/* The seed of p's request for step index of kind which. */
static uint64_t
index_seed(const cproblem_t *p, int index, int which)
{
    return hash_combine(hash_combine(p->seed, (uint64_t)index),
                        (uint64_t)which);
}


static uint64_t
step_seed(const cproblem_t *p, int which)
{
    return index_seed(p, p->n_steps, which);
}


void
coord_drop_steps(cproblem_t *p)
{
    for (int i = 0; i < p->n_steps; i++) {
        free(p->steps[i]);
        free(p->acc[i].why);
    }
    p->n_steps = 0;
    p->text_bytes = p->text ? strlen(p->text) : 0;
    p->last_finish = 0;
}


char *
coord_why(const char *decided_by, const char *reason)
{
    size_t a = decided_by ? strlen(decided_by) : 0;
    size_t b = reason ? strlen(reason) : 0;
    char *why = malloc(a + b + 2);

    if (why == NULL)
        return NULL;
    memcpy(why, decided_by ? decided_by : "", a + 1);
    memcpy(why + a + 1, reason ? reason : "", b + 1);
    return why;
}


cproblem_t *
coord_find_problem(coord_t *c, int64_t id)
{
    cproblem_t *p = u64map_get(c->problems, (uint64_t)id);
    return p ? p : u64map_get(c->queued, (uint64_t)id);
}


int
coord_final_steps(const cproblem_t *p)
{
    if (p->run->shape == POLICY_CASCADE && !p->cascade_strong &&
        !p->cascade_kept)
        return 0;
    return p->n_steps - p->has_held; /* a held row is not written yet */
}


void
coord_problem_empty(cproblem_t *p)
{
    coord_drop_steps(p);
    free(p->steps);
    free(p->acc);
    free(p->decision);
    free(p->key_id);
    free(p->meta);
    free(p->draft);
    free(p->source);
    free(p->text);
    free(p->truth);
    free(p->spec.text);
    p->spec.text = NULL;
    p->spec.state = SPEC_NONE;
    p->steps = NULL;
    p->acc = NULL;
    p->decision = p->key_id = p->draft = NULL;
    p->meta = NULL;
    p->source = p->text = p->truth = NULL;
    p->cap_steps = p->cap_meta = 0;
    p->has_held = 0;
}


void
coord_problem_destroy(cproblem_t **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    coord_problem_empty(*pp);
    free(*pp);
    *pp = NULL;
}


static Trim__Role
stage_role(stage_t s)
{
    switch (s) {
    case STAGE_DRAFT:
        return TRIM__ROLE__ROLE_SMALL;
    case STAGE_SCORE:
        return TRIM__ROLE__ROLE_PRM;
    case STAGE_ROUTE:
        return TRIM__ROLE__ROLE_ROUTER;
    case STAGE_STRONG:
        return TRIM__ROLE__ROLE_LARGE;
    default:
        return TRIM__ROLE__ROLE_UNKNOWN;
    }
}


pool_queue_t *
coord_stage_queue(coord_t *c, const cproblem_t *p)
{
    return &c->pools[stage_role(p->stage)];
}


void
coord_enqueue(coord_t *c, cproblem_t *p)
{
    pool_queue_t *q = coord_stage_queue(c, p);

    TRIM_ASSERT(!p->queued); /* one queue at a time */
    p->peer = -1;
    p->main_spec = 0;
    p->queued = 1;
    p->queued_us = clock_now_us(); /* one clock read for both */
    p->since_ms = p->queued_us / 1000;
    pool_queue_push(q, p);
}


static void on_draft(coord_t *c, const char *worker, cproblem_t *p,
                     const Trim__StepResult *r);


/*
** The step after a kept draft was drafted speculatively (speculate.c): take
** that draft.  Here already, it is p's draft now; in flight, p waits for it
** as for the request the step would have sent (the same one).  Returns 1 if
** it was taken, 0 if the step is to be drafted as usual.
*/
static int
take_spec(coord_t *c, cproblem_t *p)
{
    cspec_t *s = &p->spec;

    if (s->state != SPEC_SENT && s->state != SPEC_READY)
        return 0;
    TRIM_ASSERT(s->step_index == p->n_steps);
    p->stage = STAGE_DRAFT;
    p->attempt = s->attempt;
    p->failures = 0;
    /* A new step row, timed from when its draft was asked for: its parts
    ** (no queue wait, the draft call, the PRM, the router) then fit inside
    ** it, though its start overlaps the previous step's end. */
    coord_timing_start(p);
    p->row_start_us = s->sent_us;
    p->main_spec = 1;
    c->stats.spec_used++;
    c->stats.spec_hidden_us +=
        (s->state == SPEC_SENT ? clock_now_us() : s->reply_us) - s->sent_us;
    if (s->state == SPEC_SENT) {
        s->state = SPEC_NONE;
        p->queued = 0;
        p->peer = s->peer;
        p->sent_us = s->sent_us;
        p->sent_ms = p->since_ms = s->sent_ms;
        p->expired_on = 0;
        return 1;
    }
    Trim__Key key = TRIM__KEY__INIT;
    Trim__StepResult r = TRIM__STEP_RESULT__INIT;
    char *text = s->text;
    key.problem_id = (uint64_t)p->id;
    key.step_index = (uint32_t)s->step_index;
    key.attempt = s->attempt;
    key.speculative = 1;
    r.key = &key;
    r.text = text;
    r.prompt_tokens = (uint32_t)s->prompt_tokens;
    r.completion_tokens = (uint32_t)s->tokens;
    r.finish = s->finish;
    r.latency_us = (uint32_t)s->latency_us; /* it came as a uint32 */
    r.cached_reported = s->cached >= 0;
    r.cached_tokens = s->cached >= 0 ? (uint32_t)s->cached : 0;
    s->text = NULL;
    s->state = SPEC_NONE;
    on_draft(c, s->worker, p, &r);
    free(text);
    return 1;
}


/* Begin the next step: the small pool drafts it, or the large pool writes it
** under a strong-only policy. */
static void
next_step(coord_t *c, cproblem_t *p)
{
    const caccept_t *last = p->n_steps > 0 ? &p->acc[p->n_steps - 1] : NULL;
    if (last != NULL && last->routed && !last->strong && p->draft_in_us > 0)
        c->stats.spec_ideal_us += clock_now_us() - p->draft_in_us;
    p->draft_in_us = 0;
    if (take_spec(c, p))
        return;
    int strong = p->run->shape == POLICY_STRONG_ONLY ||
                 (p->run->shape == POLICY_CASCADE && p->cascade_strong);
    p->stage = strong ? STAGE_STRONG : STAGE_DRAFT;
    p->attempt = 0;
    p->failures = 0;
    coord_timing_start(p); /* a new step row */
    coord_enqueue(c, p);
}


void
coord_requeue(coord_t *c, cproblem_t *p)
{
    p->attempt++;
    c->stats.requeues++;
    coord_enqueue(c, p);
}


/* A request key in this turn's arena, or NULL. */
static Trim__Key *
new_key(coord_t *c, const cproblem_t *p, int index, Trim__Role role,
        uint32_t attempt)
{
    Trim__Key *key = arena_alloc(c->arena, sizeof *key);

    if (key == NULL)
        return NULL;
    trim__key__init(key);
    key->problem_id = (uint64_t)p->id;
    key->step_index = (uint32_t)index;
    key->role = role;
    key->attempt = attempt;
    return key;
}


/* A GenerateStep after steps[0..n) in this turn's arena, or NULL. */
static Trim__GenerateStep *
new_generate(coord_t *c, const cproblem_t *p, Trim__Key *key, char **steps,
             int n, uint64_t seed)
{
    Trim__GenerateStep *g = arena_alloc(c->arena, sizeof *g);

    if (g == NULL)
        return NULL;
    trim__generate_step__init(g);
    g->key = key;
    g->problem = p->text;
    g->n_steps = (size_t)n;
    g->steps = steps;
    g->max_tokens = (uint32_t)c->opts.max_tokens;
    g->seed = seed;
    g->temperature = c->opts.temperature;
    g->top_p = c->opts.top_p;
    return g;
}


/* Add item, a request of p, to peer slot's batch: the peer holds it. */
static int
add_item(coord_t *c, int slot, const cproblem_t *p, void *item)
{
    cpeer_t *peer = &c->peers[slot];

    if (item == NULL)
        return -1;
    if (peer->n_out == peer->cap_out) {
        size_t cap = peer->cap_out ? peer->cap_out * 2 : 64;
        void **out = realloc(peer->out, cap * sizeof *out);
        if (out == NULL)
            return -1;
        peer->out = out;
        peer->cap_out = cap;
    }
    peer->out[peer->n_out++] = item;
    peer->out_bytes += p->text_bytes + 64;
    peer->outstanding++;
    return 0;
}


int
coord_add_spec_request(coord_t *c, int slot, cproblem_t *p)
{
    int n = p->n_steps + 1;
    char **steps = arena_alloc(c->arena, (size_t)n * sizeof *steps);
    Trim__Key *key = new_key(c, p, n, TRIM__ROLE__ROLE_SMALL, p->spec.attempt);

    if (steps == NULL || key == NULL)
        return -1;
    /* As next_step would ask once the draft is kept: the draft is the
    ** last step, and the seed is the next step's. */
    if (p->n_steps > 0)
        memcpy(steps, p->steps, (size_t)p->n_steps * sizeof *steps);
    steps[p->n_steps] = p->draft;
    key->speculative = 1;
    return add_item(
        c, slot, p,
        new_generate(c, p, key, steps, n, index_seed(p, n, SEED_SMALL)));
}


int
coord_add_request(coord_t *c, int slot, cproblem_t *p)
{
    cpeer_t *peer = &c->peers[slot];
    Trim__Key *key = new_key(c, p, p->n_steps, peer->role, p->attempt);
    void *item = NULL;

    if (key == NULL)
        return -1;
    switch (p->stage) {
    case STAGE_DRAFT:
    case STAGE_STRONG:
        item = new_generate(
            c, p, key, p->steps, p->n_steps,
            step_seed(p, p->stage == STAGE_DRAFT ? SEED_SMALL : SEED_LARGE));
        break;
    case STAGE_SCORE: {
        Trim__ScoreSteps *s = arena_alloc(c->arena, sizeof *s);
        char **hist =
            arena_alloc(c->arena, (size_t)(p->n_steps + 1) * sizeof *hist);
        if (s == NULL || hist == NULL)
            return -1;
        trim__score_steps__init(s);
        if (p->n_steps > 0)
            memcpy(hist, p->steps, (size_t)p->n_steps * sizeof *hist);
        /* A cascade scores its whole solution; a step loop, the history
        ** with the draft at the end. */
        int whole = p->run->shape == POLICY_CASCADE;
        if (!whole)
            hist[p->n_steps] = p->draft;
        s->key = key;
        s->problem = p->text;
        s->n_steps = (size_t)p->n_steps + (whole ? 0 : 1);
        s->steps = hist;
        item = s;
        break;
    }
    case STAGE_ROUTE: {
        Trim__ScoredStep *s = arena_alloc(c->arena, sizeof *s);
        if (s == NULL)
            return -1;
        trim__scored_step__init(s);
        s->key = key;
        s->policy = (char *)p->run->spec;
        s->score = p->score;
        s->min_prev = p->min_prev;
        s->prod_prev = p->prod_prev;
        s->draft_tokens = (uint32_t)p->draft_tokens;
        s->n_belief = p->n_belief;
        s->belief = p->belief;
        s->seed = step_seed(p, SEED_ROUTER);
        s->bias = budget_bias(&p->run->budget);
        s->explore = p->run->explore;
        item = s;
        break;
    }
    default:
        return -1;
    }
    if (add_item(c, slot, p, item) < 0)
        return -1;
    p->peer = slot;
    p->sent_us = clock_now_us();
    p->sent_ms = p->sent_us / 1000;
    coord_timing_waited(p, p->sent_us - p->queued_us);
    p->expired_on = 0;
    return 0;
}


/* ---- finishing ---------------------------------------------------------- */

void
coord_problem_row(const cproblem_t *p, store_status_t status,
                  store_problem_t *row)
{
    memset(row, 0, sizeof *row);
    row->problem_id = p->id;
    row->run_id = p->run->id;
    row->seed = p->seed;
    row->source = p->source;
    row->text = p->text;
    row->ground_truth = p->truth;
    row->key_id = p->key_id;
    row->status = status;
    row->correct = -1;
    row->created_ms = p->created_ms;
}


void
coord_finish_problem(coord_t *c, cproblem_t *p, const char *error)
{
    coord_end_problem(c, p, error ? STORE_FAILED : STORE_FINISHED, error);
}


void
coord_end_problem(coord_t *c, cproblem_t *p, store_status_t status,
                  const char *error)
{
    store_problem_t row;
    char answer[1024] = "";
    /* Only steps with rows count (a held one is put first, unscored), and
    ** a cancelled problem has no answer: its last step need not be one. */
    coord_put_held(c, p, NAN);
    coord_spec_drop(c, p);
    int n = coord_final_steps(p);
    int have_answer = status != STORE_CANCELLED &&
                      grade_extract_steps((const char *const *)p->steps,
                                          (size_t)n, answer, sizeof answer) > 0;
    coord_problem_row(p, status, &row);
    row.final_answer = have_answer ? answer : NULL;
    if (status == STORE_FINISHED && p->truth != NULL)
        row.correct = have_answer && grade_equal(answer, p->truth);
    row.steps = n;
    row.regenerated_steps = p->regenerated;
    row.weak_tokens = p->weak_tokens;
    row.strong_tokens = p->strong_tokens;
    row.discarded_tokens = p->discarded_tokens;
    row.prm_tokens = p->prm_tokens;
    row.error = error;
    row.finished_ms = clock_wall_ms();
    coord_put_ended(c, p, &row);
    coord_notify_end(c, p, &row);

    if (status == STORE_CANCELLED) {
        c->stats.cancelled++;
        tlog(TLOG_INFO, "coordinator", "problem %lld cancelled: %s",
             (long long)p->id, error);
    } else if (error) {
        c->stats.failed++;
        tlog(TLOG_WARN, "coordinator", "problem %lld failed: %s",
             (long long)p->id, error);
    } else {
        c->stats.finished++;
        if (row.correct >= 0) {
            c->stats.graded++;
            c->stats.correct += row.correct;
        }
    }
    coord_run_account(c, p->run, &row);
    if (u64map_get(c->queued, (uint64_t)p->id) == p) {
        /* Never admitted (cancelled): only the husk stays on the admission
        ** queue, for admit to free. */
        c->stats.queued--;
        u64map_del(c->queued, (uint64_t)p->id);
        p->stage = STAGE_DONE;
        coord_problem_empty(p);
        c->husks++;
        return;
    }
    c->stats.in_flight--;
    p->stage = STAGE_DONE;
    u64map_del(c->problems, (uint64_t)p->id);
    coord_problem_destroy(&p);
}


int
coord_push_step(cproblem_t *p, char *text, int finish, caccept_t *a)
{
    if (p->n_steps == p->cap_steps) {
        int cap = p->cap_steps ? p->cap_steps * 2 : 8;
        char **s = realloc(p->steps, (size_t)cap * sizeof *s);
        if (s != NULL)
            p->steps = s;
        caccept_t *m = s ? realloc(p->acc, (size_t)cap * sizeof *m) : NULL;
        if (m == NULL) {
            free(text);
            free(a ? a->why : NULL);
            return -1;
        }
        p->acc = m;
        p->cap_steps = cap;
    }
    if (a != NULL) {
        p->acc[p->n_steps] = *a;
    } else {
        memset(&p->acc[p->n_steps], 0, sizeof *p->acc);
        p->acc[p->n_steps].score = -1.0f;
    }
    p->acc[p->n_steps].finish = (uint8_t)finish;
    p->steps[p->n_steps++] = text;
    p->text_bytes += strlen(text) + 2;
    p->last_finish = finish;
    return 0;
}


/* Whether the accepted steps complete the solution. */
static int
solution_done(const coord_t *c, const cproblem_t *p)
{
    return p->n_steps > 0 &&
           (strstr(p->steps[p->n_steps - 1], "\\boxed{") != NULL ||
            p->last_finish != TRIM__FINISH__FINISH_STEP ||
            p->n_steps >= c->opts.max_steps);
}


/*
** Append an accepted step (text and a->why are taken over), push it to the
** problem's client, and either finish the problem or start the next step.
*/
static void
accept_step(coord_t *c, cproblem_t *p, char *text, int finish, caccept_t *a)
{
    if (coord_push_step(p, text, finish, a) < 0) {
        coord_finish_problem(c, p, "out of memory");
        return;
    }
    if (!p->has_held) /* else pushed once its row is put */
        coord_notify_step(c, p, p->n_steps - 1);
    c->stats.steps++;
    if (solution_done(c, p)) {
        coord_finish_problem(c, p, NULL);
        return;
    }
    next_step(c, p);
}


void
coord_start_problem(coord_t *c, cproblem_t *p)
{
    if (p->stage != STAGE_QUEUED) {
        coord_timing_start(p);
        coord_enqueue(c, p); /* recovered mid-step (a pending strong step) */
    } else if (solution_done(c, p))
        coord_finish_problem(c, p, NULL); /* recovered with its last step in */
    else
        next_step(c, p);
}


/*
** A failed call (an error reply or a missed deadline): try again with
** attempt + 1, or fail the problem once max_attempts calls have failed.
** Returns 1 when the request is queued again.
*/
static int
fail_call(coord_t *c, cproblem_t *p, const char *who, const char *error)
{
    char reason[512];

    p->failures++;
    if (p->failures >= c->opts.max_attempts) {
        snprintf(reason, sizeof reason, "%s failed %d times at step %d: %s",
                 who, p->failures, p->n_steps, error);
        coord_finish_problem(c, p, reason);
        return 0;
    }
    p->attempt++;
    coord_enqueue(c, p);
    return 1;
}


void
coord_retry_or_fail(coord_t *c, cproblem_t *p, const char *who,
                    const char *error)
{
    if (fail_call(c, p, who, error))
        c->stats.retries++;
}


/*
** p's request to a peer ended (answered, or past its deadline): its round
** trip counts towards the row's PRM or routing time.  A model call's time is
** the worker's own measure (latency_us).
*/
static void
call_ended(cproblem_t *p)
{
    int64_t us = clock_now_us() - p->sent_us;

    if (p->stage == STAGE_SCORE)
        p->prm_us += us;
    else if (p->stage == STAGE_ROUTE)
        p->route_us += us;
}


/*
** The problem a reply is for, if it is waiting for exactly this reply from
** this peer; NULL (counted as stale) otherwise.  Releases the peer's credit.
*/
static cproblem_t *
claim(coord_t *c, int slot, const Trim__Key *key, stage_t want)
{
    cproblem_t *p = u64map_get(c->problems, key->problem_id);
    cpeer_t *peer = &c->peers[slot];

    if (p == NULL || p->queued || p->peer != slot || p->stage != want ||
        key->step_index != (uint32_t)p->n_steps || key->attempt != p->attempt ||
        key->role != peer->role || !key->speculative != !p->main_spec) {
        c->stats.stale_replies++;
        /* A late answer to a request we gave up on or whose problem was
        ** cancelled frees its credit. */
        if (peer->abandoned > 0) {
            peer->abandoned--;
            peer->outstanding--;
            return NULL;
        }
        if (peer->cancelled > 0) {
            peer->cancelled--;
            peer->outstanding--;
            return NULL;
        }
        if (coord_peer_log_due(c, PEER_LOG_STALE, slot))
            tlog(TLOG_WARN, "coordinator",
                 "dropped a reply from %s for problem %llu step %u attempt "
                 "%u that is not outstanding",
                 peer->name, (unsigned long long)key->problem_id,
                 key->step_index, key->attempt);
        return NULL;
    }
    coord_peer_answered(c, slot, p->sent_us);
    p->peer = -1;
    call_ended(p);
    return p;
}


/* The audit row of p's current draft, before its fate is filled in. */
static void
draft_row(const cproblem_t *p, store_step_t *row)
{
    memset(row, 0, sizeof *row);
    row->problem_id = p->id;
    row->step_index = p->n_steps;
    row->kind = STORE_DRAFT;
    row->attempt = (int32_t)p->draft_attempt;
    row->text = p->draft;
    row->prompt_tokens = p->draft_prompt_tokens;
    row->completion_tokens = p->draft_tokens;
    row->finish = p->draft_finish;
    row->prm_score = row->min_prev_score = row->prod_prev_score = NAN;
    row->policy = p->run->spec;
    row->latency_us = p->draft_latency_us;
    coord_timing_fill(p, row);
    row->worker = p->draft_worker;
    row->created_ms = clock_wall_ms();
    row->speculative = p->draft_spec;
    coord_row_cached(row, p->draft_cached, -1);
}


/*
** The draft becomes the next accepted step; routed: a decision was made on
** it (its score and PRM tokens count), by decided_by for reason.
*/
static void
keep_draft(coord_t *c, cproblem_t *p, int routed, const char *decided_by,
           const char *reason)
{
    char *text = p->draft;
    caccept_t a = {0};

    a.score = routed ? p->score : -1.0f;
    a.tokens = p->draft_tokens;
    a.prompt_tokens = p->draft_prompt_tokens;
    a.prm_tokens = routed ? p->draft_prm_tokens : 0;
    a.routed = (uint8_t)routed;
    a.why = coord_why(decided_by, reason);
    p->draft = NULL;
    p->weak_tokens += p->draft_tokens;
    c->stats.weak_tokens += p->draft_tokens;
    accept_step(c, p, text, p->draft_finish, &a);
}


/* The first model call's prompt tokens are the problem's (ProblemResult). */
static void
note_prompt(cproblem_t *p, uint32_t prompt_tokens)
{
    if (p->n_steps == 0 && p->first_prompt_tokens == 0)
        p->first_prompt_tokens = (int32_t)prompt_tokens;
}


/* ---- replies ------------------------------------------------------------ */

/* The draft r of p's step, from worker (interned). */
static void
on_draft(coord_t *c, const char *worker, cproblem_t *p,
         const Trim__StepResult *r)
{
    if (r->finish == TRIM__FINISH__FINISH_ERROR) {
        coord_retry_or_fail(c, p, "small model", r->error);
        return;
    }
    note_prompt(p, r->prompt_tokens);
    free(p->draft);
    p->draft = strdup(r->text);
    if (p->draft == NULL) {
        coord_finish_problem(c, p, "out of memory");
        return;
    }
    p->draft_prompt_tokens = (int32_t)r->prompt_tokens;
    p->draft_cached = coord_reported_cached(r->cached_tokens, r->prompt_tokens,
                                            r->cached_reported);
    p->draft_tokens = (int32_t)r->completion_tokens;
    p->draft_finish = r->finish;
    p->draft_attempt = p->attempt;
    p->draft_latency_us = r->latency_us;
    p->draft_worker = worker;
    p->draft_spec = p->main_spec;
    p->failures = 0;
    if (p->run->shape == POLICY_CASCADE) {
        if (coord_cascade_keep_draft(c, p) < 0) {
            coord_finish_problem(c, p, "out of memory");
            return;
        }
        if (!solution_done(c, p)) {
            next_step(c, p);
            return;
        }
        p->stage = STAGE_SCORE; /* the whole weak solution */
        p->attempt = 0;
        coord_enqueue(c, p);
        return;
    }
    if (p->run->shape == POLICY_WEAK_ONLY) {
        store_step_t row;
        draft_row(p, &row);
        row.decision = STORE_KEEP;
        row.reason = "weak-only: always keep";
        row.action_prob = 1.0;
        row.decided_by = "anchor";
        row.accepted = 1;
        coord_put_step(c, p, &row);
        keep_draft(c, p, 0, row.decided_by, row.reason);
        return;
    }
    p->stage = STAGE_SCORE;
    p->attempt = 0;
    p->draft_in_us = clock_now_us();
    coord_enqueue(c, p);
    coord_spec_want(c, p);
}


static void
on_strong(coord_t *c, int slot, cproblem_t *p, const Trim__StepResult *r)
{
    store_step_t row = {0};

    if (r->finish == TRIM__FINISH__FINISH_ERROR) {
        coord_retry_or_fail(c, p, "large model", r->error);
        return;
    }
    note_prompt(p, r->prompt_tokens);
    char *text = strdup(r->text);
    if (text == NULL) {
        coord_finish_problem(c, p, "out of memory");
        return;
    }
    row.problem_id = p->id;
    row.step_index = p->n_steps;
    row.kind = STORE_STRONG;
    row.attempt = (int32_t)p->attempt;
    row.text = text;
    row.prompt_tokens = (int32_t)r->prompt_tokens;
    row.completion_tokens = (int32_t)r->completion_tokens;
    row.finish = r->finish;
    row.prm_score = row.min_prev_score = row.prod_prev_score = NAN;
    row.decision = STORE_NO_DECISION;
    row.action_prob = NAN;
    if (p->run->shape == POLICY_STRONG_ONLY) {
        row.policy = p->run->spec;
        row.reason = "strong-only: always strong";
        row.decided_by = "anchor";
    }
    row.accepted = 1;
    row.latency_us = r->latency_us;
    coord_timing_fill(p, &row);
    coord_row_cached(&row,
                     coord_reported_cached(r->cached_tokens, r->prompt_tokens,
                                           r->cached_reported),
                     -1);
    row.worker = c->peers[slot].name;
    row.created_ms = clock_wall_ms();
    if (p->run->shape == POLICY_ROUTED)
        coord_hold_step(p, &row); /* until the next draft scores it */
    else
        coord_put_step(c, p, &row);
    budget_observe(&p->run->budget, r->completion_tokens, 0);
    p->strong_tokens += r->completion_tokens;
    c->stats.strong_tokens += r->completion_tokens;
    /* What the push says: the decision it follows (a routed regenerate),
    ** the anchor (strong-only), or a cascade's strong phase. */
    caccept_t a = {0};
    int routed = p->run->shape == POLICY_ROUTED;
    a.strong = 1;
    a.score = routed ? p->score : -1.0f;
    a.routed = (uint8_t)routed;
    a.tokens = (int32_t)r->completion_tokens;
    a.prompt_tokens = (int32_t)r->prompt_tokens;
    a.discarded_tokens = routed ? p->draft_tokens : 0;
    a.prm_tokens = routed ? p->draft_prm_tokens : 0;
    if (p->run->shape == POLICY_STRONG_ONLY) {
        a.why = coord_why(row.decided_by, row.reason);
    } else if (p->decision != NULL) {
        a.why = p->decision;
        p->decision = NULL;
        if (p->run->shape == POLICY_CASCADE) /* kept for the whole phase */
            p->decision = coord_why(a.why, a.why + strlen(a.why) + 1);
    }
    if (routed) {
        p->regenerated++;
        c->stats.regenerated_steps++;
        prom_counter_add(p->run->m_regenerated, 1);
    }
    accept_step(c, p, text, r->finish, &a);
}


void
coord_on_step_results(coord_t *c, int slot, const Trim__StepResultBatch *b)
{
    for (size_t i = 0; i < b->n_items && !c->fatal; i++) {
        const Trim__StepResult *r = b->items[i];
        if (r->key->speculative && coord_spec_reply(c, slot, r))
            continue;
        stage_t want =
            r->key->role == TRIM__ROLE__ROLE_LARGE ? STAGE_STRONG : STAGE_DRAFT;
        cproblem_t *p = claim(c, slot, r->key, want);
        if (p == NULL)
            continue;
        if (want == STAGE_DRAFT)
            on_draft(c, c->peers[slot].name, p, r);
        else
            on_strong(c, slot, p, r);
    }
}


void
coord_on_step_scores(coord_t *c, int slot, const Trim__StepScoresBatch *b)
{
    char why[128];

    for (size_t i = 0; i < b->n_items && !c->fatal; i++) {
        const Trim__StepScores *s = b->items[i];
        cproblem_t *p = claim(c, slot, s->key, STAGE_SCORE);
        if (p == NULL)
            continue;
        if (s->error[0] != '\0') {
            coord_retry_or_fail(c, p, "PRM", s->error);
            continue;
        }
        if (p->run->shape == POLICY_CASCADE) {
            if (coord_cascade_scores(c, p, s, why, sizeof why) < 0) {
                coord_retry_or_fail(c, p, "PRM", why);
                continue;
            }
            p->failures = 0;
            p->stage = STAGE_ROUTE;
            p->attempt = 0;
            coord_enqueue(c, p);
            continue;
        }
        if (s->n_scores != (size_t)p->n_steps + 1) {
            errf(why, sizeof why, "%zu scores for %d steps", s->n_scores,
                 p->n_steps + 1);
            coord_retry_or_fail(c, p, "PRM", why);
            continue;
        }
        /* Features of the draft: its score, and min and product over the
        ** accepted steps as the PRM scores them in this history. */
        float mn = 1.0f, prod = 1.0f;
        int bad = 0;
        for (size_t k = 0; k < s->n_scores; k++)
            if (!(s->scores[k] >= 0.0f && s->scores[k] <= 1.0f))
                bad = 1;
        if (bad) {
            coord_retry_or_fail(c, p, "PRM", "score outside [0,1]");
            continue;
        }
        for (int k = 0; k < p->n_steps; k++) {
            if (s->scores[k] < mn)
                mn = s->scores[k];
            prod *= s->scores[k];
        }
        /* A strong step is scored only here, in the next draft's history:
        ** its held row is put with it, unless the PRM's context left it
        ** out. */
        int last = p->n_steps - 1;
        if (p->has_held)
            coord_put_held(c, p,
                           (uint32_t)last >= s->padded ? s->scores[last] : NAN);
        p->score = s->scores[p->n_steps];
        p->min_prev = mn;
        p->prod_prev = prod;
        p->draft_prm_tokens = (int32_t)s->input_tokens;
        p->draft_prm_padded = (int32_t)s->padded;
        p->draft_prm_cached = coord_reported_cached(
            s->cached_tokens, s->input_tokens, s->cached_reported);
        p->prm_tokens += s->input_tokens;
        c->stats.prm_tokens += s->input_tokens;
        p->failures = 0;
        p->stage = STAGE_ROUTE;
        p->attempt = 0;
        coord_enqueue(c, p);
    }
}


/* Belief vector as JSON text for the audit ("[0.1,0.2,0.7]"). */
static void
belief_json(const float *b, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = '\0';
    if (n == 0)
        return;
    k += (size_t)snprintf(out + k, outlen - k, "[");
    for (size_t i = 0; i < n && k < outlen; i++)
        k += (size_t)snprintf(out + k, outlen - k, "%s%.4g", i ? "," : "",
                              (double)b[i]);
    if (k < outlen)
        snprintf(out + k, outlen - k, "]");
}


/*
** Record the decision on p's draft and act on it: keep the draft, or send
** the step to the large pool.  decided_by names who decided.
*/
static void
apply_decision(coord_t *c, cproblem_t *p, int regenerate, float prob,
               const float *belief, size_t n_belief, const char *reason,
               const char *decided_by)
{
    char belief_text[256], capped[POLICY_REASON_MAX + 96];
    store_step_t row;
    size_t nb = n_belief;
    int64_t cap = p->run->max_strong_tokens;

    if (p->run->shape == POLICY_CASCADE) {
        coord_cascade_decide(c, p, regenerate, prob, reason, decided_by);
        return;
    }
    if (regenerate && cap > 0 && p->strong_tokens >= cap) {
        /* The problem has spent its strong tokens: the draft stays. */
        snprintf(capped, sizeof capped,
                 "budget: %lld of %lld strong tokens used; policy said "
                 "regenerate (%s)",
                 (long long)p->strong_tokens, (long long)cap, reason);
        reason = capped;
        regenerate = 0;
    }
    budget_observe(&p->run->budget, 0, p->draft_tokens);

    /* Keep at most POLICY_MAX_BELIEF values of the belief.  A router that
    ** sent none leaves belief NULL (protobuf-c), and memcpy from NULL is
    ** undefined even for 0 bytes: hence nb > 0. */
    if (nb > POLICY_MAX_BELIEF)
        nb = POLICY_MAX_BELIEF;
    if (nb > 0)
        memcpy(p->belief, belief, nb * sizeof *p->belief);
    p->n_belief = nb;
    belief_json(p->belief, nb, belief_text, sizeof belief_text);
    draft_row(p, &row);
    row.prm_score = p->score;
    row.min_prev_score = p->min_prev;
    row.prod_prev_score = p->prod_prev;
    row.prm_tokens = p->draft_prm_tokens;
    row.prm_padded = p->draft_prm_padded;
    coord_row_cached(&row, p->draft_cached, p->draft_prm_cached);
    row.decision = regenerate ? STORE_REGENERATE : STORE_KEEP;
    row.reason = reason;
    row.action_prob = prob;
    row.belief = nb ? belief_text : NULL;
    row.decided_by = decided_by;
    row.accepted = !regenerate;
    coord_put_step(c, p, &row);
    c->stats.routed_steps++;
    p->run->t.routed++;
    prom_counter_add(p->run->m_routed, 1);
    p->failures = 0;
    coord_spec_learn(c, p, regenerate);
    if (regenerate) {
        coord_spec_regenerated(c, p);
        p->discarded_tokens += p->draft_tokens;
        c->stats.discarded_tokens += p->draft_tokens;
        free(p->draft);
        p->draft = NULL;
        free(p->decision);
        p->decision = coord_why(decided_by, reason);
        p->stage = STAGE_STRONG;
        p->attempt = 0;
        coord_timing_start(p); /* the strong row's */
        coord_enqueue(c, p);
    } else {
        keep_draft(c, p, 1, decided_by, reason);
    }
}


void
coord_on_decisions(coord_t *c, int slot, const Trim__DecisionBatch *b)
{
    char decided_by[TRIM_MAX_NAME + 8];

    snprintf(decided_by, sizeof decided_by, "router:%s", c->peers[slot].name);
    c->logged_route_wait = 0;
    for (size_t i = 0; i < b->n_items && !c->fatal; i++) {
        const Trim__RouteDecision *d = b->items[i];
        cproblem_t *p = claim(c, slot, d->key, STAGE_ROUTE);
        if (p == NULL)
            continue;
        if (d->error[0] != '\0') {
            coord_retry_or_fail(c, p, "router", d->error);
            continue;
        }
        apply_decision(c, p, d->action == TRIM__ACTION__ACTION_REGENERATE,
                       d->prob, d->belief, d->n_belief, d->reason, decided_by);
    }
}


/* Decide p's draft in-process with its run's policy: the router failed. */
static void
decide_locally(coord_t *c, cproblem_t *p, const char *why)
{
    route_features_t f = {0};
    route_result_t r;
    char reason[POLICY_REASON_MAX + 64];

    f.score = p->score;
    f.min_prev = p->min_prev;
    f.prod_prev = p->prod_prev;
    f.draft_tokens = (uint32_t)p->draft_tokens;
    f.step_index = (uint32_t)p->n_steps;
    f.belief = p->belief;
    f.n_belief = p->n_belief;
    f.seed = step_seed(p, SEED_ROUTER);
    f.bias = budget_bias(&p->run->budget);
    f.explore = p->run->explore;
    int64_t start_us = clock_now_us();
    if (policy_decide(p->run->policy, &f, &r) < 0) {
        coord_retry_or_fail(c, p, "local fallback policy", r.reason);
        return;
    }
    p->route_us += clock_now_us() - start_us;
    snprintf(reason, sizeof reason, "%s (%s)", r.reason, why);
    c->stats.fallbacks++;
    apply_decision(c, p, r.regenerate, r.prob, r.belief, r.n_belief, reason,
                   "fallback:local");
}


/* The deadline of a request held by peer. */
static int64_t
deadline_ms(const coord_t *c, const cpeer_t *peer)
{
    int64_t d = peer->deadline_ms, cap = c->opts.request_deadline_ms;

    if (peer->role == TRIM__ROLE__ROLE_ROUTER)
        return c->opts.router_timeout_ms;
    /* What a peer states is never trusted past the ceiling. */
    return d > 0 && d < cap ? d : cap;
}


/*
** Peer slot let a request pass its deadline: its late answer will be stale.
** After QUARANTINE_AFTER in a row, or once such requests hold all of its
** credit (it could get no other request to miss), it gets no work for
** QUARANTINE_MS, doubling with each quarantine in a row (logged once each).
*/
static void
missed_deadline(coord_t *c, int slot, int64_t now)
{
    cpeer_t *peer = &c->peers[slot];

    peer->abandoned++;
    if ((++peer->missed < QUARANTINE_AFTER && peer->abandoned < peer->credit) ||
        peer->quarantine_until_ms > now)
        return;
    int shift = peer->quarantines < 5 ? peer->quarantines : 5;
    int64_t ms = (int64_t)QUARANTINE_MS << shift;
    peer->quarantines++;
    peer->quarantine_until_ms = now + ms;
    c->stats.quarantines++;
    tlog(TLOG_WARN, "coordinator",
         "quarantined %s peer %s: %d requests in a row past their %lld ms "
         "deadline; no work for it for %lld s while its pool has others",
         env_role_name(peer->role), peer->name, peer->missed,
         (long long)deadline_ms(c, peer), (long long)(ms / 1000));
}


/*
** Whether a router other than slot could take a decision: live and not
** quarantined.  Without one, a decision waits for the router holding it.
*/
static int
other_router(const coord_t *c, int slot, int64_t now)
{
    for (int i = 0; i < c->n_peers; i++) {
        const cpeer_t *r = &c->peers[i];
        if (i != slot && r->alive && r->role == TRIM__ROLE__ROLE_ROUTER &&
            r->quarantine_until_ms <= now)
            return 1;
    }
    return 0;
}


/*
** Give back the credit of the requests each peer let pass their deadline
** once its quarantine is over: if it is still alive it gets work again.
** Their late answers, if any come, are stale and counted as such only.
*/
static void
end_quarantines(coord_t *c, int64_t now)
{
    for (int i = 0; i < c->n_peers; i++) {
        cpeer_t *peer = &c->peers[i];
        if (!peer->alive || peer->abandoned == 0 ||
            peer->quarantine_until_ms == 0 || peer->quarantine_until_ms > now)
            continue;
        peer->outstanding -= peer->abandoned;
        peer->abandoned = 0;
        peer->quarantine_until_ms = 0;
    }
}


/*
** p's request passed its deadline at peer slot: ask another peer.  A model
** call counts as failed (max_attempts bounds a request no peer answers in
** time); a decision, with the wait fallback, waits for a router.
*/
static void
expire(coord_t *c, cproblem_t *p, int slot)
{
    char who[64], why[TRIM_MAX_NAME + 64];
    const cpeer_t *peer = &c->peers[slot];

    /* Counted as expired only: not a requeue (a peer lost) nor a retry. */
    c->stats.expired++;
    if (p->stage == STAGE_ROUTE) {
        p->attempt++;
        coord_enqueue(c, p);
        return;
    }
    snprintf(who, sizeof who, "%s pool", env_role_name(peer->role));
    snprintf(why, sizeof why, "no answer from %s within %lld ms", peer->name,
             (long long)deadline_ms(c, peer));
    fail_call(c, p, who, why);
}


/*
** p's speculative request is past its deadline: counted on its peer like
** any missed deadline (the late reply frees the credit) and forgotten.
*/
static void
spec_deadline(coord_t *c, cproblem_t *p, int64_t now)
{
    cspec_t *s = &p->spec;

    if ((s->state != SPEC_SENT && s->state != SPEC_ORPHAN) ||
        now - s->sent_ms < deadline_ms(c, &c->peers[s->peer]))
        return;
    missed_deadline(c, s->peer, now);
    s->state = SPEC_NONE;
}


void
coord_check_deadlines(coord_t *c, int64_t now)
{
    size_t pos = 0;
    uint64_t key;
    void *v;
    cproblem_t *late[256];
    int n = 0, route_late = 0;
    int local = c->opts.router_fallback == COORD_FALLBACK_LOCAL;

    /* Collect first: acting changes the map (problems finish). */
    while (u64map_next(c->problems, &pos, &key, &v) && n < 256) {
        cproblem_t *p = v;
        spec_deadline(c, p, now);
        int route_expired = p->stage == STAGE_ROUTE &&
                            now - p->since_ms >= c->opts.router_timeout_ms;
        route_late |= route_expired;
        if (local && route_expired)
            late[n++] = p;
        else if (!p->queued && p->peer >= 0 &&
                 now - p->sent_ms >= deadline_ms(c, &c->peers[p->peer]) &&
                 (local || p->stage != STAGE_ROUTE ||
                  other_router(c, p->peer, now)))
            late[n++] = p;
    }
    end_quarantines(c, now);
    /* Once per stall: the next decision from a router ends it. */
    if (!local && route_late && !c->logged_route_wait) {
        c->logged_route_wait = 1;
        tlog(TLOG_WARN, "coordinator",
             "no decision within the %d ms router timeout; waiting for a "
             "router (router fallback: wait)",
             c->opts.router_timeout_ms);
    }
    for (int i = 0; i < n; i++) {
        cproblem_t *p = late[i];
        int slot = p->peer;
        if (slot >= 0) {
            missed_deadline(c, slot, now);
            p->expired_on = slot + 1;
            p->peer = -1;
            call_ended(p);
        }
        if (!local || p->stage != STAGE_ROUTE) {
            expire(c, p, slot);
            continue;
        }
        const char *why = "no router answered in time";
        if (p->queued) {
            /* Waiting for any router at all: take it out of the queue. */
            int found =
                pool_queue_remove(&c->pools[TRIM__ROLE__ROLE_ROUTER], p) == 0;
            TRIM_ASSERT(found); /* queued at ROUTE: in the router queue */
            p->queued = 0;
            coord_timing_waited(p, clock_now_us() - p->queued_us);
            why = "no router connected";
        }
        p->attempt++;
        decide_locally(c, p, why);
    }
}
