/*
** coord_metrics.c: the coordinator's Prometheus series (docs/metrics.md).
**
** The loop's counters are mirrored from coord_stats at its timer tick, so
** the hot path pays nothing for them; what stats do not split (steps by
** policy, reply latency by pool) is counted at the event through series
** cached in the run and here.  The tick also publishes the strong-token
** share over the last minute and the readiness that /readyz reads from the
** HTTP thread (an atomic: coord_ready never touches the loop's state).
*/
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "coord_internal.h"

#define SHARE_WINDOW_MS 60000
#define SHARE_SAMPLES   62 /* >= 1 s apart: more than the window holds */

/* What coord_ready reports; a role (1..4) means no live peer in that pool. */
enum { STATE_READY = 0, STATE_NOT_STARTED = -1, STATE_STORE_FAILED = -2 };

struct coord_metrics {
    prom_gauge_t *queued, *in_flight, *share, *audit_rows;
    /* The admission window (paging.c): queued problems in memory and in
    ** the store, the window's size and peak, and the reads paging did. */
    prom_gauge_t *held, *paged, *window, *window_peak;
    prom_counter_t *page_reads, *paged_in;
    prom_counter_t *finished, *failed, *cancelled, *requeues, *retries;
    prom_counter_t *steps;
    prom_counter_t *weak, *strong, *discarded, *prm, *wasted;
    prom_counter_t *by_router, *by_fallback;
    prom_gauge_t *peers[ROLE_COUNT], *pool_queued[ROLE_COUNT];
    prom_gauge_t *pool_outstanding[ROLE_COUNT];
    prom_histogram_t *latency[ROLE_COUNT];
    /* Model pools' prefix caches and affinity (zero for the router). */
    prom_counter_t *prompt[ROLE_COUNT], *cached[ROLE_COUNT];
    prom_gauge_t *hit_ratio[ROLE_COUNT];
    prom_counter_t *same[ROLE_COUNT], *moved[ROLE_COUNT];
    /* (strong, weak + strong) tokens sampled once a second, a ring */
    int64_t at_ms[SHARE_SAMPLES], strong_tokens[SHARE_SAMPLES];
    int64_t all_tokens[SHARE_SAMPLES];
    int n_samples, next_sample;
    prom_label_values_t policies; /* the policy label's values, capped */
    _Atomic int state; /* STATE_READY, STATE_NOT_STARTED, STATE_STORE_FAILED or
                          a role */
};


/* The prefix-cache and affinity series of model pool role. */
static void
pool_cache_series(coord_metrics_t *m, prom_registry_t *r, int role)
{
    const char *pool[] = {"pool", env_role_name(role), NULL};
    const char *same[] = {"pool", env_role_name(role), "peer", "same", NULL};
    const char *moved[] = {"pool", env_role_name(role), "peer", "moved", NULL};
    const char *help_affinity =
        "Requests of problems that had sent one to the pool before, by "
        "whether the same peer took them again";

    m->prompt[role] = prom_counter(
        r, "trim_pool_prompt_tokens_total",
        "Prompt tokens (PRM: input tokens) of the pool's replies", pool);
    m->cached[role] =
        prom_counter(r, "trim_pool_cached_prompt_tokens_total",
                     "Of the pool's prompt tokens, those its model servers' "
                     "prefix caches held, as its peers report them",
                     pool);
    m->hit_ratio[role] = prom_gauge(
        r, "trim_pool_prefix_cache_hit_ratio",
        "Cached / prompt tokens of the pool since the coordinator started; "
        "NaN before any",
        pool);
    m->same[role] = prom_counter(r, "trim_pool_affinity_requests_total",
                                 help_affinity, same);
    m->moved[role] = prom_counter(r, "trim_pool_affinity_requests_total",
                                  help_affinity, moved);
}


/* The admission window's series (paging.c). */
static void
window_series(coord_metrics_t *m, prom_registry_t *r)
{
    m->held = prom_gauge(r, "trim_queue_memory_problems",
                         "Queued problems held in memory, in the admission "
                         "window",
                         NULL);
    m->paged = prom_gauge(r, "trim_queue_paged_problems",
                          "Queued problems paged out: only in the audit "
                          "store until the window has room",
                          NULL);
    m->window = prom_gauge(r, "trim_queue_window_problems",
                           "Queued problems the window holds in memory at "
                           "most (--queue-window)",
                           NULL);
    m->window_peak =
        prom_gauge(r, "trim_queue_window_peak_problems",
                   "The most queued problems held in memory at once", NULL);
    m->page_reads = prom_counter(r, "trim_queue_page_reads_total",
                                 "Reads of the audit store that paged queued "
                                 "problems back into memory",
                                 NULL);
    m->paged_in = prom_counter(r, "trim_queue_paged_in_problems_total",
                               "Queued problems read back into memory from "
                               "the audit store",
                               NULL);
}


int
coord_metrics_init(coord_t *c)
{
    prom_registry_t *r = c->opts.metrics;
    coord_metrics_t *m;

    if (r == NULL)
        return 0;
    if ((m = calloc(1, sizeof *m)) == NULL)
        return -1;
    atomic_init(&m->state, STATE_NOT_STARTED);
    m->queued = prom_gauge(r, "trim_problems_queued",
                           "Problems submitted and not started", NULL);
    m->in_flight = prom_gauge(r, "trim_problems_in_flight",
                              "Problems started and not finished", NULL);
    m->finished = prom_counter(r, "trim_problems_finished_total",
                               "Problems finished with an answer", NULL);
    m->failed = prom_counter(r, "trim_problems_failed_total",
                             "Problems that failed", NULL);
    m->cancelled = prom_counter(r, "trim_problems_cancelled_total",
                                "Problems cancelled by their client", NULL);
    m->steps =
        prom_counter(r, "trim_steps_total",
                     "Steps accepted into solutions, by any model", NULL);
    const char *role_weak[] = {"role", "weak", NULL};
    const char *role_strong[] = {"role", "strong", NULL};
    const char *role_discarded[] = {"role", "discarded", NULL};
    const char *role_prm[] = {"role", "prm", NULL};
    const char *role_wasted[] = {"role", "wasted", NULL};
    const char *help_tokens =
        "Tokens by role: accepted weak drafts, strong steps, discarded "
        "drafts, PRM input, speculative drafts wasted";
    m->weak = prom_counter(r, "trim_tokens_total", help_tokens, role_weak);
    m->strong = prom_counter(r, "trim_tokens_total", help_tokens, role_strong);
    m->discarded =
        prom_counter(r, "trim_tokens_total", help_tokens, role_discarded);
    m->prm = prom_counter(r, "trim_tokens_total", help_tokens, role_prm);
    m->wasted = prom_counter(r, "trim_tokens_total", help_tokens, role_wasted);
    const char *by_router[] = {"decider", "router", NULL};
    const char *by_fallback[] = {"decider", "fallback", NULL};
    const char *help_decisions =
        "Routing decisions by who made them: a router service or the "
        "coordinator's local fallback";
    m->by_router =
        prom_counter(r, "trim_decisions_total", help_decisions, by_router);
    m->by_fallback =
        prom_counter(r, "trim_decisions_total", help_decisions, by_fallback);
    m->share = prom_gauge(r, "trim_strong_token_share_ratio",
                          "Strong tokens / (accepted weak + strong tokens) "
                          "over the last 60 s; NaN when there were none",
                          NULL);
    for (int role = 1; role < ROLE_COUNT; role++) {
        const char *pool[] = {"pool", env_role_name(role), NULL};
        m->latency[role] = prom_histogram(
            r, "trim_pool_request_duration_seconds",
            "Time from sending a request to a pool to its reply, in seconds",
            pool, NULL, 0);
        m->peers[role] =
            prom_gauge(r, "trim_pool_peers", "Live peers per pool", pool);
        m->pool_queued[role] = prom_gauge(
            r, "trim_pool_queued_requests",
            "Requests waiting for a peer of the pool to have credit", pool);
        m->pool_outstanding[role] = prom_gauge(
            r, "trim_pool_outstanding_requests",
            "Requests sent to the pool's live peers and not answered yet",
            pool);
        if (role != TRIM__ROLE__ROLE_ROUTER)
            pool_cache_series(m, r, role);
    }
    m->requeues =
        prom_counter(r, "trim_requeues_total",
                     "Requests resent after their peer was lost", NULL);
    m->retries = prom_counter(r, "trim_retries_total",
                              "Requests resent after an error reply", NULL);
    m->audit_rows = prom_gauge(r, "trim_audit_queue_rows",
                               "Audit rows queued and not yet committed", NULL);
    window_series(m, r);
    prom_gauge_set(m->window, (double)c->opts.queue_window);
    c->metrics = m;
    return 0;
}


void
coord_metrics_free(coord_t *c)
{
    if (c->metrics)
        prom_label_values_clear(&c->metrics->policies);
    free(c->metrics);
    c->metrics = NULL;
}


void
coord_metrics_run(coord_t *c, crun_t *run)
{
    if (c->metrics == NULL)
        return;
    /* A client picks the spec (thr:0.1001, ...): cap the label's values. */
    const char *policy[] = {
        "policy", prom_label_value(&c->metrics->policies, run->spec), NULL};

    run->m_routed = prom_counter(c->opts.metrics, "trim_steps_routed_total",
                                 "Drafts that got a routing decision, by "
                                 "policy",
                                 policy);
    run->m_regenerated = prom_counter(
        c->opts.metrics, "trim_steps_regenerated_total",
        "Steps the strong model wrote in place of a draft, by policy", policy);
}


void
coord_metrics_reply(coord_t *c, Trim__Role role, int64_t sent_us)
{
    if (c->metrics && role > 0 && role < ROLE_COUNT)
        prom_histogram_observe(c->metrics->latency[role],
                               (double)(clock_now_us() - sent_us) / 1e6);
}


/* The strong share since the oldest sample at most SHARE_WINDOW_MS old, and
** a new sample when a second has passed since the last. */
static double
strong_share(coord_metrics_t *m, const coord_stats_t *s, int64_t now)
{
    int64_t strong = s->strong_tokens, all = s->weak_tokens + s->strong_tokens;
    int last = (m->next_sample + SHARE_SAMPLES - 1) % SHARE_SAMPLES;
    int oldest;

    if (m->n_samples == 0 || now - m->at_ms[last] >= 1000) {
        m->at_ms[m->next_sample] = now;
        m->strong_tokens[m->next_sample] = strong;
        m->all_tokens[m->next_sample] = all;
        m->next_sample = (m->next_sample + 1) % SHARE_SAMPLES;
        if (m->n_samples < SHARE_SAMPLES)
            m->n_samples++;
    }
    /* Samples are >= 1 s apart, so the window holds at most 61 of them; the
    ** newest is within a second of now and always counts. */
    last = (m->next_sample + SHARE_SAMPLES - 1) % SHARE_SAMPLES;
    oldest = (m->next_sample + SHARE_SAMPLES - m->n_samples) % SHARE_SAMPLES;
    while (m->at_ms[oldest] < now - SHARE_WINDOW_MS && oldest != last)
        oldest = (oldest + 1) % SHARE_SAMPLES;
    if (all == m->all_tokens[oldest])
        return NAN;
    return (double)(strong - m->strong_tokens[oldest]) /
           (double)(all - m->all_tokens[oldest]);
}


/* Why the coordinator cannot do its job now (see the enum), or STATE_READY. */
static int
readiness(const coord_t *c)
{
    if (c->fatal || store_writer_error(c->writer) != NULL)
        return STATE_STORE_FAILED;
    for (int role = 1; role < ROLE_COUNT; role++) {
        if (role == TRIM__ROLE__ROLE_ROUTER &&
            c->opts.router_fallback == COORD_FALLBACK_LOCAL)
            continue; /* decisions fall back to the run's policy */
        if (c->stats.peers[role] == 0)
            return role;
    }
    return STATE_READY;
}


void
coord_metrics_publish(coord_t *c, int64_t now)
{
    coord_metrics_t *m = c->metrics;
    const coord_stats_t *s = &c->stats;

    if (m == NULL)
        return;
    prom_gauge_set(m->queued, (double)s->queued);
    prom_gauge_set(m->in_flight, (double)s->in_flight);
    prom_counter_set(m->finished, (uint64_t)s->finished);
    prom_counter_set(m->failed, (uint64_t)s->failed);
    prom_counter_set(m->cancelled, (uint64_t)s->cancelled);
    prom_counter_set(m->steps, (uint64_t)s->steps);
    prom_counter_set(m->weak, (uint64_t)s->weak_tokens);
    prom_counter_set(m->strong, (uint64_t)s->strong_tokens);
    prom_counter_set(m->discarded, (uint64_t)s->discarded_tokens);
    prom_counter_set(m->prm, (uint64_t)s->prm_tokens);
    prom_counter_set(m->wasted, (uint64_t)s->wasted_tokens);
    prom_gauge_set(m->held, (double)coord_waiting(c));
    prom_gauge_set(m->paged, (double)s->paged);
    prom_gauge_set(m->window_peak, (double)s->window_peak);
    prom_counter_set(m->page_reads, (uint64_t)s->page_reads);
    prom_counter_set(m->paged_in, (uint64_t)s->paged_in);
    prom_counter_set(m->by_router, (uint64_t)(s->routed_steps - s->fallbacks));
    prom_counter_set(m->by_fallback, (uint64_t)s->fallbacks);
    prom_counter_set(m->requeues, (uint64_t)s->requeues);
    prom_counter_set(m->retries, (uint64_t)s->retries);
    prom_gauge_set(m->share, strong_share(m, s, now));
    int64_t outstanding[ROLE_COUNT] = {0};
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i].alive && c->peers[i].role > 0 &&
            c->peers[i].role < ROLE_COUNT)
            outstanding[c->peers[i].role] += c->peers[i].outstanding;
    for (int role = 1; role < ROLE_COUNT; role++) {
        prom_gauge_set(m->peers[role], s->peers[role]);
        prom_gauge_set(m->pool_queued[role], (double)c->pools[role].length);
        prom_gauge_set(m->pool_outstanding[role], (double)outstanding[role]);
        if (m->prompt[role] == NULL)
            continue;
        prom_counter_set(m->prompt[role], (uint64_t)s->prompt_tokens[role]);
        prom_counter_set(m->cached[role], (uint64_t)s->cached_tokens[role]);
        prom_gauge_set(m->hit_ratio[role],
                       s->prompt_tokens[role] > 0
                           ? (double)s->cached_tokens[role] /
                                 (double)s->prompt_tokens[role]
                           : NAN);
        prom_counter_set(m->same[role], (uint64_t)s->affinity_same[role]);
        prom_counter_set(m->moved[role], (uint64_t)s->affinity_moved[role]);
    }
    prom_gauge_set(m->audit_rows, (double)store_writer_backlog(c->writer));
    atomic_store(&m->state, readiness(c));
}


int
coord_ready(const coord_t *c, char *reason, size_t reasonlen)
{
    int state =
        c->metrics ? atomic_load(&c->metrics->state) : STATE_NOT_STARTED;

    switch (state) {
    case STATE_READY:
        return 0;
    case STATE_NOT_STARTED:
        snprintf(reason, reasonlen, "the coordinator's loop has not started");
        break;
    case STATE_STORE_FAILED:
        snprintf(reason, reasonlen, "the audit store cannot be written");
        break;
    default:
        snprintf(reason, reasonlen, "no live peer in the %s pool",
                 env_role_name(state));
    }
    return -1;
}
