/*
** cmd_status.c: `trim status`, what a running coordinator is doing.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "errf.h"
#include "escape.h"
#include "summary.h"

static const char description[] =
    "Ask a running coordinator for its queue depth, problems in flight,\n"
    "finished and failed, the live workers of each pool with their credit,\n"
    "routed steps per second, and its most recent runs.  Exits 1 when the\n"
    "coordinator does not answer in time (usable as a health check).";


static void
print_json(const Trim__Status *st)
{
    json_t *pools = json_object(), *runs = json_array();
    for (size_t i = 0; i < st->n_pools; i++) {
        const Trim__PoolStatus *p = st->pools[i];
        json_object_set_new(
            pools, env_role_name(p->role),
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "peers",
                      (json_int_t)p->peers, "credit", (json_int_t)p->credit,
                      "outstanding", (json_int_t)p->outstanding, "queued",
                      (json_int_t)p->queued, "prompt_tokens",
                      (json_int_t)p->prompt_tokens, "cached_tokens",
                      (json_int_t)p->cached_tokens, "affinity_same",
                      (json_int_t)p->affinity_same, "affinity_moved",
                      (json_int_t)p->affinity_moved));
    }
    for (size_t i = 0; i < st->n_runs; i++) {
        const Trim__RunStatus *r = st->runs[i];
        json_array_append_new(
            runs,
            json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, "
                      "s:o*}",
                      "run_id", (json_int_t)r->run_id, "policy", r->policy,
                      "problems", (json_int_t)r->problems, "finished",
                      (json_int_t)r->finished, "failed", (json_int_t)r->failed,
                      "cancelled", (json_int_t)r->cancelled, "correct",
                      (json_int_t)r->correct, "graded", (json_int_t)r->graded,
                      "done", r->done, "wasted_tokens",
                      (json_int_t)r->wasted_tokens, "prefix_cache",
                      summary_prefix_cache_json(r)));
    }
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:o, s:o}",
        "queued", (json_int_t)st->queued, "in_flight",
        (json_int_t)st->in_flight, "finished", (json_int_t)st->finished,
        "failed", (json_int_t)st->failed, "cancelled",
        (json_int_t)st->cancelled, "max_queued", (json_int_t)st->max_queued,
        "steps_per_s", st->steps_per_s, "bad_messages",
        (json_int_t)st->bad_messages, "requeues", (json_int_t)st->requeues,
        "fallback_decisions", (json_int_t)st->fallback_decisions,
        "stale_replies", (json_int_t)st->stale_replies, "unknown_peers",
        (json_int_t)st->unknown_peers, "expired", (json_int_t)st->expired,
        "quarantines", (json_int_t)st->quarantines, "pools", pools, "runs",
        runs);
    char *s = json_dumps(j, JSON_COMPACT);
    puts(s ? s : "{}");
    free(s);
    json_decref(j);
}


static void
print_text(const Trim__Status *st, const char *endpoint)
{
    printf("coordinator %s\n", endpoint);
    printf("  queue %llu (limit %llu), in flight %llu, finished %llu, "
           "failed %llu, cancelled %llu, %.0f routed steps/s\n",
           (unsigned long long)st->queued, (unsigned long long)st->max_queued,
           (unsigned long long)st->in_flight, (unsigned long long)st->finished,
           (unsigned long long)st->failed, (unsigned long long)st->cancelled,
           st->steps_per_s);
    printf("  requeued %llu, expired %llu, quarantines %llu, router "
           "fallbacks %llu, bad messages %llu, stale replies %llu\n",
           (unsigned long long)st->requeues, (unsigned long long)st->expired,
           (unsigned long long)st->quarantines,
           (unsigned long long)st->fallback_decisions,
           (unsigned long long)st->bad_messages,
           (unsigned long long)st->stale_replies);
    printf("\n  %-7s %6s %8s %12s %8s %10s %9s\n", "pool", "peers", "credit",
           "outstanding", "queued", "cache hit", "same peer");
    for (size_t i = 0; i < st->n_pools; i++) {
        const Trim__PoolStatus *p = st->pools[i];
        uint64_t again = p->affinity_same + p->affinity_moved;
        printf("  %-7s %6u %8llu %12llu %8llu", env_role_name(p->role),
               p->peers, (unsigned long long)p->credit,
               (unsigned long long)p->outstanding,
               (unsigned long long)p->queued);
        /* Of prompt tokens cached, of repeat requests to the same peer. */
        if (p->prompt_tokens > 0)
            printf(" %9.1f%%",
                   100.0 * (double)p->cached_tokens / (double)p->prompt_tokens);
        else
            printf(" %10s", "-");
        if (again > 0)
            printf(" %8.1f%%\n",
                   100.0 * (double)p->affinity_same / (double)again);
        else
            printf(" %9s\n", "-");
    }
    if (st->n_runs == 0)
        return;
    /* cache hit: % of prompt tokens held, small/large/prm pools. */
    printf("\n  %-5s %-12s %9s %9s %7s %9s %9s %5s %11s\n", "run", "policy",
           "problems", "finished", "failed", "cancelled", "accuracy", "done",
           "cache hit%");
    for (size_t i = 0; i < st->n_runs; i++) {
        const Trim__RunStatus *r = st->runs[i];
        char policy[4 * TRIM_MAX_NAME + 4], cache[32];
        summary_prefix_cache_cell(r, cache, sizeof cache);
        printf("  %-5llu %-12s %9llu %9llu %7llu %9llu %9.3f %5s %11s\n",
               (unsigned long long)r->run_id,
               esc_str(policy, sizeof policy, r->policy),
               (unsigned long long)r->problems, (unsigned long long)r->finished,
               (unsigned long long)r->failed, (unsigned long long)r->cancelled,
               r->graded ? (double)r->correct / (double)r->graded : 0.0,
               r->done ? "yes" : "no", cache);
    }
}


int
cmd_status(int argc, char **argv)
{
    client_flags_t cf = {CLIENT_CONNECT_DEFAULT, "", "", 5000, 0};
    int json = 0;
    const flag_t flags[] = {
        CLIENT_FLAG_CONNECT(&cf.connect),
        {"timeout-ms", FLAG_INT, &cf.timeout_ms, 1, 3600000,
         "how long to wait for the answer"},
        {"json", FLAG_BOOL, &json, 0, 0, "print one JSON object"},
        CLIENT_FLAGS_CURVE_OF(&cf),
    };
    const size_t n = sizeof flags / sizeof *flags;
    char err[512];
    client_t *c = NULL;
    Trim__Envelope *reply = NULL;
    int rc =
        cli_parse("status", "[FLAGS]", description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO || (rc = client_open("status", &cf, &c)) != 0)
        return rc;
    int got = client_status(c, (int)cf.timeout_ms, &reply, err, sizeof err);
    if (got == 0)
        errf(err, sizeof err, "no answer from %s within %lld ms", cf.connect,
             (long long)cf.timeout_ms);
    if (got <= 0) {
        cli_error("status", err);
        rc = 1;
    } else if (json) {
        print_json(reply->status);
    } else {
        print_text(reply->status, cf.connect);
    }
    env_destroy(&reply);
    client_destroy(&c);
    return rc;
}
