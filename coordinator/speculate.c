/*
** speculate.c: speculative next-step drafting.
**
** Per step the loop is sequential: draft t, score it, decide, then draft
** t + 1.  With --speculate, once draft t goes to scoring the small pool is
** also asked for draft t + 1 with the prompt as if t were kept: the same
** request (problem, steps, seed, attempt 0) the step machine would send
** after keeping t, marked speculative in its key.  Then
**
**   kept, its reply here     it is the next draft: scored at once
**   kept, still in flight    the problem waits for it as for any draft
**                            (steps.c takes it over: p->main_spec)
**   regenerated              wasted: recorded in wasted_drafts with its
**                            tokens, now or when its reply comes
**
** so the PRM's and the router's time is hidden behind the next draft and
** the results are those of a run without speculation.  A speculative
** request that fails (an error reply, a deadline, its peer lost) is just
** forgotten: after the decision the step is drafted as without speculation.
** A reply for a spec the problem no longer waits for (it ended, or the
** request was dropped) is stale, and frees its peer's credit like the late
** reply of a cancelled request.
**
** Speculation never delays other work: a speculative request is sent only
** when the small pool's queue is empty and a small peer has free credit,
** else it is not made.
**
** The guard mode skips it where the draft is likely to be regenerated,
** by the run's own record.  When a draft goes to scoring all that is
** known is the problem's past: the step before (none, kept, regenerated)
** and how many of its steps were regenerated (0..5+).  Each run tallies,
** per such cell, its routed drafts that a step could follow and how many
** were regenerated (coord_spec_learn, at every decision, speculated or
** not), and estimates P(regenerate) = (r + m Q) / (n + m): the cell's
** rate, pulled towards the run's whole rate Q while the cell is young
** (m = GUARD_PRIOR drafts).  A draft whose estimate is GUARD_SKIP or more
** gets no speculative draft: it would be wasted 7 times in 10 or more, for
** at most 3 hidden scorings.  The cells separate well because errors
** cascade in the simulated world (and in a real model): on the fitted
** simulator, 2,000 problems, seed 5, drafts a step could follow were
** regenerated
**
**                      thr:0.5   pomdp:0.001
**   first step            32%       36%
**   after kept, 0 regen   10%       13%
**   after kept, 3+ regen  66%       14%  (pomdp keeps a derailed problem)
**   after regen, 1        50%       52%
**   after regen, 3+       77%       68%
**
** so the cells, not a fixed rule, carry the policy's own habits.  Replayed
** over those runs' decisions (the guard changes no decision; waste counted
** as a mean draft), speculation hides 94% (thr) and 98% (pomdp) of the
** kept steps' scoring for 19% and 23% of the weak tokens wasted, against
** 100% for 29% and 27% with `on`.  On bench_latency's problems (seed 11):
** 256 problems 93-95% for 24-25% (on: 32%), the 30 of its one-at-a-time
** runs, a hard set half regenerated, 90-92% for 34-38% (on: 44-46%).  The
** old rule (skip after a regenerated step once the problem had two) hid
** 81-91% for 16-24%.  GUARD_SKIP at 0.65 wastes 3-4 points less and hides
** 2-4 less, under 90% on the hard set; at 0.75 it hides more but wastes
** over 35% there.  Measured by bench_latency (vLLM-like latency model,
** thr:0.5, pomdp, agg, one at a time and 64 at once): guard hid 96-99% for
** 25.5-33.2% wasted, on 97-100% for 27.1-41.7%.
*/
#include "coord_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define GUARD_PRIOR 4    /* drafts' weight of the run's rate in a cell */
#define GUARD_SKIP  0.70 /* estimated P(regenerate) that skips speculation */


int
coord_speculate_parse(const char *s, coord_speculate_t *out)
{
    static const char *const names[] = {"off", "on", "guard"};

    for (int i = 0; i < 3; i++)
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (coord_speculate_t)i;
            return 0;
        }
    return -1;
}


/* Whether keeping p's draft would end the solution (steps.c's rule). */
static int
draft_ends(const coord_t *c, const cproblem_t *p)
{
    return p->draft_finish != TRIM__FINISH__FINISH_STEP ||
           strstr(p->draft, "\\boxed{") != NULL ||
           p->n_steps + 1 >= c->opts.max_steps;
}


/* p's guard cell: the step before its draft and its regenerations. */
static int
guard_cell(const cproblem_t *p)
{
    int before = p->n_steps == 0 ? 0 : p->acc[p->n_steps - 1].strong ? 2 : 1;
    int regenerated = p->regenerated < 5 ? p->regenerated : 5;

    return before * 6 + regenerated;
}


/* Whether g's estimate says p's draft is likely regenerated. */
static int
guard_skips(const spec_guard_t *g, const cproblem_t *p)
{
    int k = guard_cell(p);
    double all = (g->all_regenerated + 1.0) / (g->all_drafts + 2.0);
    double q =
        (g->regenerated[k] + GUARD_PRIOR * all) / (g->drafts[k] + GUARD_PRIOR);

    return q >= GUARD_SKIP;
}


void
coord_spec_learn(coord_t *c, cproblem_t *p, int regenerate)
{
    spec_guard_t *g = &p->run->guard;
    int k;

    if (draft_ends(c, p))
        return; /* no step would follow: never speculated on */
    k = guard_cell(p);
    g->drafts[k]++;
    g->regenerated[k] += regenerate != 0;
    g->all_drafts++;
    g->all_regenerated += regenerate != 0;
}


void
coord_spec_want(coord_t *c, cproblem_t *p)
{
    coord_speculate_t mode = p->run->speculate;

    if (mode == COORD_SPEC_OFF || p->spec.state != SPEC_NONE ||
        p->run->shape != POLICY_ROUTED || draft_ends(c, p))
        return;
    if (mode == COORD_SPEC_GUARD && guard_skips(&p->run->guard, p))
        return;
    if (c->n_spec_want == c->cap_spec_want) {
        size_t cap = c->cap_spec_want ? 2 * c->cap_spec_want : 64;
        int64_t *v = realloc(c->spec_want, cap * sizeof *v);
        if (v == NULL)
            return; /* no speculation this time */
        c->spec_want = v;
        c->cap_spec_want = cap;
    }
    c->spec_want[c->n_spec_want++] = p->id;
    p->spec.state = SPEC_WANTED;
    p->spec.step_index = p->n_steps + 1;
    p->spec.attempt = 0; /* a new step's first request */
}


void
coord_spec_dispatch(coord_t *c)
{
    for (size_t i = 0; i < c->n_spec_want; i++) {
        cproblem_t *p = u64map_get(c->problems, (uint64_t)c->spec_want[i]);
        if (p == NULL || p->spec.state != SPEC_WANTED)
            continue; /* ended, or decided already */
        p->spec.state = SPEC_NONE;
        if (c->pools[TRIM__ROLE__ROLE_SMALL].head != NULL)
            continue; /* drafts that must be made come first */
        /* The worker that wrote draft t holds its whole prompt in cache. */
        uint64_t last =
            c->opts.no_affinity ? 0 : p->affinity[TRIM__ROLE__ROLE_SMALL];
        int slot = coord_pick_peer(c, TRIM__ROLE__ROLE_SMALL, -1, last);
        if (slot < 0)
            continue; /* no free credit */
        if (coord_add_spec_request(c, slot, p) < 0) {
            c->fatal = 1;
            break;
        }
        p->affinity[TRIM__ROLE__ROLE_SMALL] = c->peers[slot].joined;
        p->spec.state = SPEC_SENT;
        p->spec.peer = slot;
        p->spec.sent_us = clock_now_us();
        p->spec.sent_ms = p->spec.sent_us / 1000;
        c->stats.spec_sent++;
    }
    c->n_spec_want = 0;
}


/* Write p's wasted speculative draft (the reply r, or READY's copy). */
static void
put_wasted(coord_t *c, cproblem_t *p, const cspec_t *s)
{
    store_step_t row;
    store_usage_total_t d;

    memset(&row, 0, sizeof row);
    row.problem_id = p->id;
    row.step_index = s->step_index;
    row.kind = STORE_DRAFT;
    row.attempt = (int32_t)s->attempt;
    row.text = s->text;
    row.prompt_tokens = s->prompt_tokens;
    row.completion_tokens = s->tokens;
    row.finish = s->finish;
    row.latency_us = s->latency_us;
    row.worker = s->worker;
    row.created_ms = clock_wall_ms();
    coord_row_cached(&row, s->cached, -1);
    if (store_writer_put_wasted(c->writer, &row) < 0) {
        tlog(TLOG_ERROR, "coordinator", "audit store failed: %s",
             store_writer_error(c->writer));
        c->fatal = 1;
    }
    c->stats.spec_wasted++;
    c->stats.wasted_tokens += s->tokens;
    p->run->t.wasted_tokens += s->tokens;
    d = store_usage_add_wasted(&p->usage, &row); /* priced as weak calls */
    store_usage_sum(&p->run->t.usage, &d);
}


int
coord_spec_reply(coord_t *c, int slot, const Trim__StepResult *r)
{
    cproblem_t *p = u64map_get(c->problems, r->key->problem_id);
    cpeer_t *peer = &c->peers[slot];

    if (p == NULL ||
        (p->spec.state != SPEC_SENT && p->spec.state != SPEC_ORPHAN) ||
        p->spec.peer != slot ||
        r->key->step_index != (uint32_t)p->spec.step_index ||
        r->key->attempt != p->spec.attempt)
        return 0;
    coord_peer_answered(c, slot, p->spec.sent_us);

    cspec_t *s = &p->spec;
    int orphan = s->state == SPEC_ORPHAN;
    s->state = SPEC_NONE;
    if (r->finish == TRIM__FINISH__FINISH_ERROR)
        return 1; /* drafted again after the decision if it is kept */
    s->prompt_tokens = (int32_t)r->prompt_tokens;
    s->cached = coord_reported_cached(r->cached_tokens, r->prompt_tokens,
                                      r->cached_reported);
    s->tokens = (int32_t)r->completion_tokens;
    s->finish = r->finish;
    s->latency_us = r->latency_us;
    s->worker = peer->name;
    s->reply_us = clock_now_us();
    if (orphan) {
        s->text = r->text; /* borrowed for the row */
        put_wasted(c, p, s);
        s->text = NULL;
        return 1;
    }
    s->text = strdup(r->text);
    if (s->text != NULL)
        s->state = SPEC_READY;
    return 1;
}


void
coord_spec_regenerated(coord_t *c, cproblem_t *p)
{
    cspec_t *s = &p->spec;

    if (s->state == SPEC_SENT) {
        s->state = SPEC_ORPHAN;
    } else if (s->state == SPEC_READY) {
        put_wasted(c, p, s);
        free(s->text);
        s->text = NULL;
        s->state = SPEC_NONE;
    } else if (s->state == SPEC_WANTED) {
        s->state = SPEC_NONE;
    }
}


void
coord_spec_drop(coord_t *c, cproblem_t *p)
{
    cspec_t *s = &p->spec;

    if (s->state == SPEC_SENT || s->state == SPEC_ORPHAN)
        c->peers[s->peer].cancelled++;
    free(s->text);
    s->text = NULL;
    s->state = SPEC_NONE;
}


void
coord_spec_peer_lost(cproblem_t *p, int slot)
{
    cspec_t *s = &p->spec;

    if ((s->state == SPEC_SENT || s->state == SPEC_ORPHAN) && s->peer == slot)
        s->state = SPEC_NONE;
}
