/*
** cascade.c: the query-level loop shape (AutoMix-PRM style baseline).
**
**   weak phase:   the small pool writes every step, nothing is scored
**   judgement:    the PRM scores the whole solution once; the router decides
**                 on it (cascade:K: regenerate when the solution's score,
**                 the minimum over its steps, is below K)
**   strong phase: on regenerate the weak solution is discarded and the large
**                 pool solves the problem from scratch, step by step
**
** The weak steps' rows are written once the decision is known, each with
** its own PRM score and the solution's decision (kept, or discarded), so
** the audit reads like any other run's: accepted steps 0..n-1 and the
** drafts that were replaced.
*/
#include "coord_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errf.h"


int
coord_cascade_keep_draft(coord_t *c, cproblem_t *p)
{
    cstep_meta_t *m;

    if (p->n_steps == p->cap_meta) {
        int cap = p->cap_meta ? p->cap_meta * 2 : 8;
        m = realloc(p->meta, (size_t)cap * sizeof *m);
        if (m == NULL)
            return -1;
        p->meta = m;
        p->cap_meta = cap;
    }
    m = &p->meta[p->n_steps];
    memset(m, 0, sizeof *m);
    m->prompt_tokens = p->draft_prompt_tokens;
    m->cached = p->draft_cached;
    m->tokens = p->draft_tokens;
    m->finish = p->draft_finish;
    m->attempt = p->draft_attempt;
    m->latency_us = p->draft_latency_us;
    m->queue_us = p->queue_us;
    m->step_us = clock_now_us() - p->row_start_us;
    p->queue_us = 0; /* the judgement's waits go to the last row */
    m->worker = p->draft_worker;
    m->score = NAN;
    /* Its push is made once the solution is judged (coord_cascade_decide). */
    caccept_t a = {0};
    a.tokens = p->draft_tokens;
    a.prompt_tokens = p->draft_prompt_tokens;
    char *text = p->draft;
    p->draft = NULL;
    if (coord_push_step(p, text, p->draft_finish, &a) < 0)
        return -1;
    (void)c;
    return 0;
}


int
coord_cascade_scores(coord_t *c, cproblem_t *p, const Trim__StepScores *s,
                     char *why, size_t whylen)
{
    float mn = 1.0f, prod = 1.0f, mn_prev = 1.0f, prod_prev = 1.0f;

    if (s->n_scores != (size_t)p->n_steps)
        return errf(why, whylen, "%zu scores for a %d-step solution",
                    s->n_scores, p->n_steps);
    for (int k = 0; k < p->n_steps; k++) {
        float v = s->scores[k];
        if (!(v >= 0.0f && v <= 1.0f))
            return errf(why, whylen, "score outside [0,1]");
        p->meta[k].score = v;
        if (k + 1 < p->n_steps) {
            mn_prev = v < mn_prev ? v : mn_prev;
            prod_prev *= v;
        }
        mn = v < mn ? v : mn;
        prod *= v;
    }
    (void)prod;
    /* The solution's score is its weakest step's (min aggregation). */
    p->score = mn;
    p->min_prev = mn_prev;
    p->prod_prev = prod_prev;
    p->draft_prm_tokens = (int32_t)s->input_tokens;
    p->draft_prm_padded = (int32_t)s->padded;
    p->draft_prm_cached = coord_reported_cached(
        s->cached_tokens, s->input_tokens, s->cached_reported);
    p->prm_tokens += s->input_tokens;
    c->stats.prm_tokens += s->input_tokens;
    return 0;
}


void
coord_cascade_decide(coord_t *c, cproblem_t *p, int regenerate, float prob,
                     const char *reason, const char *decided_by)
{
    int64_t weak = 0;

    for (int k = 0; k < p->n_steps; k++) {
        const cstep_meta_t *m = &p->meta[k];
        store_step_t row = {0};
        row.problem_id = p->id;
        row.step_index = k;
        row.kind = STORE_DRAFT;
        row.attempt = (int32_t)m->attempt;
        row.text = p->steps[k];
        row.prompt_tokens = m->prompt_tokens;
        row.completion_tokens = m->tokens;
        row.finish = m->finish;
        row.prm_score = m->score;
        row.min_prev_score = row.prod_prev_score = NAN;
        /* The one scoring call is the last step's. */
        row.prm_tokens = k + 1 == p->n_steps ? p->draft_prm_tokens : 0;
        row.prm_padded = k + 1 == p->n_steps ? p->draft_prm_padded : 0;
        coord_row_cached(&row, m->cached,
                         k + 1 == p->n_steps ? p->draft_prm_cached : -1);
        row.decision = regenerate ? STORE_REGENERATE : STORE_KEEP;
        row.policy = p->run->spec;
        row.reason = reason;
        row.action_prob = prob;
        row.decided_by = decided_by;
        row.accepted = !regenerate;
        row.latency_us = m->latency_us;
        row.queue_us = m->queue_us;
        row.step_us = m->step_us;
        if (k + 1 == p->n_steps) {      /* like the scoring call's tokens */
            coord_timing_fill(p, &row); /* from the last step's start */
            row.queue_us += m->queue_us;
        }
        row.worker = m->worker;
        row.created_ms = clock_wall_ms();
        coord_put_step(c, p, &row);
        weak += m->tokens;
    }
    budget_observe(&p->run->budget, 0, weak);
    c->stats.routed_steps++;
    p->run->t.routed++;
    prom_counter_add(p->run->m_routed, 1);
    if (!regenerate) {
        p->weak_tokens += weak;
        c->stats.weak_tokens += weak;
        c->stats.steps += p->n_steps;
        /* The weak steps are final now: push them. */
        p->cascade_kept = 1;
        for (int k = 0; k < p->n_steps; k++) {
            caccept_t *a = &p->acc[k];
            a->score = isnan(p->meta[k].score) ? -1.0f : p->meta[k].score;
            a->routed = 1;
            a->prm_tokens = k + 1 == p->n_steps ? p->draft_prm_tokens : 0;
            a->why = coord_why(decided_by, reason);
            coord_notify_step(c, p, k);
        }
        coord_finish_problem(c, p, NULL);
        return;
    }
    /* Discard the weak solution; the large pool starts from scratch. */
    p->discarded_tokens += weak;
    c->stats.discarded_tokens += weak;
    p->regenerated += p->n_steps;
    c->stats.regenerated_steps += p->n_steps;
    prom_counter_add(p->run->m_regenerated, (uint64_t)p->n_steps);
    coord_drop_steps(p);
    free(p->decision);
    p->decision = coord_why(decided_by, reason);
    p->cascade_strong = 1;
    p->stage = STAGE_STRONG;
    p->attempt = 0;
    p->failures = 0;
    coord_timing_start(p); /* the strong rows' */
    coord_enqueue(c, p);
}
