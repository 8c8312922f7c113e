/*
** summary.c: printing the end-of-run summary (see summary.h).
*/
#include "summary.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "escape.h"


/*
** Strong tokens as a share of all generated tokens (accepted drafts, strong
** steps and discarded drafts), the reference runs' target_token_frac.
*/
static double
strong_share(const Trim__RunStatus *r)
{
    uint64_t all = r->weak_tokens + r->strong_tokens + r->discarded_tokens;
    return all > 0 ? (double)r->strong_tokens / (double)all : 0.0;
}


/* Accuracy over graded problems (0 when none is graded). */
static double
accuracy(const Trim__RunStatus *r)
{
    return r->graded > 0 ? (double)r->correct / (double)r->graded : 0.0;
}


/* A model pool's prompt tokens in a run and those its prefix caches held. */
typedef struct pool_cache {
    const char *name;
    uint64_t prompt, cached;
} pool_cache_t;

#define N_POOLS 3


/* The run's pools in the order small, large, prm. */
static void
pool_caches(const Trim__RunStatus *r, pool_cache_t out[N_POOLS])
{
    out[0] = (pool_cache_t){"small", r->small_pool_prompt_tokens,
                            r->small_pool_cached_tokens};
    out[1] = (pool_cache_t){"large", r->large_pool_prompt_tokens,
                            r->large_pool_cached_tokens};
    out[2] = (pool_cache_t){"prm", r->prm_pool_input_tokens,
                            r->prm_pool_cached_tokens};
}


json_t *
summary_prefix_cache_json(const Trim__RunStatus *r)
{
    pool_cache_t pools[N_POOLS];
    json_t *j = json_object();

    pool_caches(r, pools);
    for (int i = 0; j != NULL && i < N_POOLS; i++)
        json_object_set_new(
            j, pools[i].name,
            json_pack("{s:I, s:I, s:o}", "prompt_tokens",
                      (json_int_t)pools[i].prompt, "cached_tokens",
                      (json_int_t)pools[i].cached, "hit_ratio",
                      pools[i].prompt > 0 ? json_real((double)pools[i].cached /
                                                      (double)pools[i].prompt)
                                          : json_null()));
    return j;
}


void
summary_prefix_cache_cell(const Trim__RunStatus *r, char *buf, size_t size)
{
    pool_cache_t pools[N_POOLS];
    size_t at = 0;

    pool_caches(r, pools);
    for (int i = 0; i < N_POOLS && at < size; i++) {
        const char *sep = i ? "/" : "";
        int n = pools[i].prompt > 0
                    ? snprintf(buf + at, size - at, "%s%.0f", sep,
                               100.0 * (double)pools[i].cached /
                                   (double)pools[i].prompt)
                    : snprintf(buf + at, size - at, "%s-", sep);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}


/* "small 81.2%, large -, prm 85.0%": once a worker reported a cache hit. */
static void
print_prefix_cache(const Trim__RunStatus *r)
{
    pool_cache_t pools[N_POOLS];
    uint64_t cached = 0;

    pool_caches(r, pools);
    for (int i = 0; i < N_POOLS; i++)
        cached += pools[i].cached;
    if (cached == 0)
        return; /* none, or the backends do not say */
    printf("  prefix cache        ");
    for (int i = 0; i < N_POOLS; i++) {
        printf("%s%s ", i ? ", " : "", pools[i].name);
        if (pools[i].prompt > 0)
            printf("%.1f%%",
                   100.0 * (double)pools[i].cached / (double)pools[i].prompt);
        else
            printf("-");
    }
    printf(" of prompt tokens held (as workers report)\n");
}


static void
print_json(const Trim__RunStatus *r, const char *db, const char *coordinator,
           const prices_t *p, const cost_usd_t *usd)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:f}",
        "run_id", (json_int_t)r->run_id, "policy", r->policy, "seed",
        (json_int_t)r->seed, db ? "db" : "coordinator", db ? db : coordinator,
        "problems", (json_int_t)r->problems, "finished",
        (json_int_t)r->finished, "failed", (json_int_t)r->failed, "correct",
        (json_int_t)r->correct, "accuracy", accuracy(r), "steps",
        (json_int_t)r->steps, "routed_steps", (json_int_t)r->routed_steps,
        "regenerated_steps", (json_int_t)r->regenerated_steps, "weak_tokens",
        (json_int_t)r->weak_tokens, "strong_tokens",
        (json_int_t)r->strong_tokens, "discarded_tokens",
        (json_int_t)r->discarded_tokens, "prm_tokens",
        (json_int_t)r->prm_tokens, "strong_token_share", strong_share(r));
    if (j != NULL)
        json_object_set_new(j, "cancelled",
                            json_integer((json_int_t)r->cancelled));
    if (j != NULL)
        json_object_set_new(j, "wasted_tokens",
                            json_integer((json_int_t)r->wasted_tokens));
    if (j != NULL)
        json_object_set_new(j, "prefix_cache", summary_prefix_cache_json(r));
    if (j != NULL && r->elapsed_s >= 0)
        json_object_set_new(j, "elapsed_s", json_real(r->elapsed_s));
    if (j != NULL && usd != NULL)
        json_object_set_new(j, "usd",
                            json_pack("{s:f, s:f, s:f, s:f, s:f, s:s}", "total",
                                      usd->total, "weak", usd->role[COST_WEAK],
                                      "strong", usd->role[COST_STRONG], "prm",
                                      usd->role[COST_PRM], "wasted",
                                      usd->wasted, "prices", p->source));
    char *text =
        j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (text)
        puts(text);
    free(text);
    json_decref(j);
}


void
summary_print(const Trim__RunStatus *r, const char *db, const char *coordinator,
              int json, const prices_t *p, const cost_usd_t *usd)
{
    if (json) {
        print_json(r, db, coordinator, p, usd);
        return;
    }
    char policy[4 * TRIM_MAX_NAME + 4];
    printf("run %lld   policy %s   seed %llu   %s %s\n", (long long)r->run_id,
           esc_str(policy, sizeof policy, r->policy),
           (unsigned long long)r->seed, db ? "database" : "coordinator",
           db ? db : coordinator);
    printf("  problems            %lld (%lld finished, %lld failed, %lld "
           "cancelled)\n",
           (long long)r->problems, (long long)r->finished, (long long)r->failed,
           (long long)r->cancelled);
    printf("  accuracy            %.3f (%lld of %lld graded correct)\n",
           accuracy(r), (long long)r->correct, (long long)r->graded);
    printf("  steps               %lld accepted, %lld routed, %lld "
           "regenerated\n",
           (long long)r->steps, (long long)r->routed_steps,
           (long long)r->regenerated_steps);
    printf("  tokens              weak %lld, strong %lld, discarded draft "
           "%lld, PRM input %lld\n",
           (long long)r->weak_tokens, (long long)r->strong_tokens,
           (long long)r->discarded_tokens, (long long)r->prm_tokens);
    if (r->wasted_tokens > 0)
        printf("  speculation         %lld wasted draft tokens (drafts of "
               "steps after a regenerated one)\n",
               (long long)r->wasted_tokens);
    print_prefix_cache(r);
    printf("  strong-token share  %.3f of generated tokens\n", strong_share(r));
    if (r->elapsed_s > 0)
        printf("  elapsed             %.2f s (%.0f routed steps/s)\n",
               r->elapsed_s, (double)r->routed_steps / r->elapsed_s);
    if (usd != NULL)
        printf("  dollars             $%.6g: weak $%.6g, strong $%.6g, PRM "
               "$%.6g, wasted drafts $%.6g; $%.6g per problem (prices %s)\n",
               usd->total, usd->role[COST_WEAK], usd->role[COST_STRONG],
               usd->role[COST_PRM], usd->wasted,
               r->problems ? usd->total / (double)r->problems : 0.0, p->source);
}


int
summary_store_usd(const char *db, int64_t run_id, const prices_t *p,
                  cost_usd_t *out, char *err, size_t errlen)
{
    store_reader_t *r = store_reader_new(db, err, errlen);
    cost_usage_t u;
    int rc = -1;

    if (r != NULL && cost_usage_run(r, run_id, 0, &u, err, errlen) == 0) {
        prices_cost(p, &u, out);
        rc = 0;
    }
    store_reader_destroy(&r);
    return rc;
}
