/*
** bench_router.c: routing decision latency, in process.
**
**   bench_router [--decisions N]
**
** For each policy (thr, agg, pomdp when this build has it) times N
** decisions (default 1,000,000) one by one with the monotonic clock and
** prints the distribution: p50, p90, p99, p99.9 and max, in nanoseconds,
** beside the cost of reading the clock itself.  Features cycle through 4096
** draws of plausible values (scores, histories, token counts, steps), a
** tenth of them exploring, so branches and the sampler are exercised.  The
** agg policy is a freshly made 5-64-64-2 file in a temporary folder.  The
** target (DESIGN 8) is p99 <= 10 us.  Then the time to make a pomdp:LAMBDA
** policy, which solves the default model's dynamic program for that cost
** (target <= 1 s; test_pomdp printed it once).  Nothing is asserted.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "policy.h"
#include "pomdp_default.h"
#include "train.h"

#define N_FEATURES 4096


static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}


static int64_t
pct(const int64_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)(n - 1));

    return v[k];
}


static void
features(route_features_t *f, size_t n)
{
    rng_t r = rng_seeded(42);

    for (size_t i = 0; i < n; i++) {
        float mn = (float)rng_uniform(&r);
        memset(&f[i], 0, sizeof f[i]);
        f[i].score = (float)rng_uniform(&r);
        f[i].min_prev = mn;
        f[i].prod_prev = mn * (float)rng_uniform(&r);
        f[i].draft_tokens = (uint32_t)rng_below(&r, 300);
        f[i].step_index = (uint32_t)rng_below(&r, 30);
        f[i].seed = rng_next(&r);
        f[i].explore = rng_below(&r, 10) == 0;
    }
}


/*
** Time n decisions of spec (pomdp: the default POMDP model); prints one
** line.  0, or -1 if it won't parse.
*/
static int
bench(const char *label, const char *spec, const pomdp_model_t *pomdp,
      const route_features_t *f, size_t n, int64_t *lat)
{
    char err[512];
    policy_t *p = policy_new(spec, pomdp, err, sizeof err);
    route_result_t r;
    int64_t regen = 0;

    if (p == NULL) {
        printf("%-6s skipped: %s\n", label, err);
        return -1;
    }
    for (size_t i = 0; i < 10000; i++) /* warm up */
        policy_decide(p, &f[i % N_FEATURES], &r);
    for (size_t i = 0; i < n; i++) {
        const route_features_t *fi = &f[i % N_FEATURES];
        int64_t t0 = now_ns();
        policy_decide(p, fi, &r);
        lat[i] = now_ns() - t0;
        regen += r.regenerate;
    }
    qsort(lat, n, sizeof *lat, cmp_i64);
    printf("%-6s p50 %6lld  p90 %6lld  p99 %6lld  p99.9 %6lld  max %8lld ns"
           "   (%.1f%% regenerate)\n",
           label, (long long)pct(lat, n, 0.5), (long long)pct(lat, n, 0.9),
           (long long)pct(lat, n, 0.99), (long long)pct(lat, n, 0.999),
           (long long)lat[n - 1], 100.0 * (double)regen / (double)n);
    policy_destroy(&p);
    return 0;
}


int
main(int argc, char **argv)
{
    size_t n = 1000000;
    route_features_t *f = calloc(N_FEATURES, sizeof *f);
    int64_t *lat;
    char dir[] = "/tmp/trim-bench-router-XXXXXX", path[128], spec[160];
    char err[512];
    pomdp_model_t pomdp;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--decisions") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_router [--decisions N]\n");
            return 2;
        }
    }
    if (n < 100)
        n = 100;
    lat = calloc(n, sizeof *lat);
    if (f == NULL || lat == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_router: out of memory or no temporary folder\n");
        goto done;
    }
    features(f, N_FEATURES);
    if (pomdp_model_default(&pomdp, err, sizeof err) < 0) {
        fprintf(stderr, "bench_router: %s\n", err);
        goto done;
    }
    snprintf(path, sizeof path, "%s/bench.agg", dir);
    agg_model_t *m = agg_model_new(2, 64, 8e-4, err, sizeof err);
    if (m == NULL) {
        fprintf(stderr, "bench_router: %s\n", err);
        goto done;
    }
    agg_init(m, 0.5, 10, 1);
    int saved = agg_model_save(m, path, err, sizeof err);
    agg_model_destroy(&m);
    if (saved < 0) {
        fprintf(stderr, "bench_router: %s\n", err);
        goto done;
    }

    for (size_t i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        lat[i] = now_ns() - t0;
    }
    qsort(lat, n, sizeof *lat, cmp_i64);
    printf("%zu decisions per policy, one at a time; clock read costs "
           "p50 %lld ns, p99 %lld ns (included below)\n",
           n, (long long)pct(lat, n, 0.5), (long long)pct(lat, n, 0.99));
    bench("thr", "thr:0.5", &pomdp, f, n, lat);
    snprintf(spec, sizeof spec, "agg:%s", path);
    bench("agg", spec, &pomdp, f, n, lat);
    bench("pomdp", "pomdp:0.001", &pomdp, f, n, lat);
    for (int i = 0; i < 3; i++) {
        const double lambda[3] = {0.0005, 0.002, 0.01};
        snprintf(spec, sizeof spec, "pomdp:%g", lambda[i]);
        int64_t t0 = now_ns();
        policy_t *p = policy_new(spec, &pomdp, err, sizeof err);
        int64_t ns = now_ns() - t0;
        if (p == NULL) {
            fprintf(stderr, "bench_router: %s\n", err);
            goto done;
        }
        policy_destroy(&p);
        printf("%s solved and ready in %.1f ms\n", spec, (double)ns / 1e6);
    }
    rc = 0;
done:
    if (dir[sizeof dir - 7] != 'X') {
        unlink(path);
        rmdir(dir);
    }
    free(f);
    free(lat);
    return rc;
}
