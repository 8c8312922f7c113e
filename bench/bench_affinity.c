/*
** bench_affinity.c: prefix-cache affinity, with and without, in one process
** (coordinator, router, four workers per model pool over inproc://, the
** simulator behind a vLLM-like latency model, every row written to SQLite).
**
**   bench_affinity [--problems N] [--concurrency C] [--credit K]
**                  [--cache-tokens T] [--serial-prefill 0|1] [--policy P]
**
** Each simulated worker is one model server with its own prefix cache of T
** tokens (LRU, workers/prefix_cache.h): the cached part of a prompt costs no
** prefill time.  Prints, with affinity on and off, the throughput (problems
** and routed steps per second) and each pool's prefix-cache hit ratio
** (cached / prompt tokens, as the workers report them), the prefill time it
** saved, the share of repeat requests that went to the same worker, and
** the cached share the audit store assumes for the same rows.
**
** The latency model (per call: base + prefill per uncached prompt token +
** decode per completion token) assumes one A100-class GPU per model under
** vLLM at moderate batch, orders of magnitude rather than measurements:
** Qwen2.5-1.5B 8 ms + 0.05 ms/prompt token (20k tokens/s prefill) +
** 6 ms/token; Qwen2.5-7B 10 ms + 0.15 ms/prompt token + 14 ms/token;
** Qwen2.5-Math-PRM-7B 10 ms + 0.15 ms/input token.  bench_latency states
** the sourced figures; the model's shape is what matters here: only the
** prefill share of a call can be saved, all of it for the PRM.  A server
** prefills one prompt at a time (sim_params_t.serial_prefill: prefill is
** compute-bound, so a cache hit frees the server for others' prompts) and
** decodes its calls in parallel; --serial-prefill 0: calls never slow each
** other (a worker with credit K is then a server with K slots).
**
** The defaults (2048 problems, 512 in flight, credit 128) load the servers'
** prefill, so that what the caches save shows in throughput; at 128 in
** flight it shows only in the prefill time saved.
**
** A figure, not a test: nothing here fails on speed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "sim.h"
#include "store.h"
#include "trim.pb-c.h"

#define WORKERS 4


static void
remove_db(const char *db)
{
    static const char *const ext[] = {"", "-wal", "-shm"};
    char path[128];

    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", db, ext[i]);
        unlink(path);
    }
}


static double
share(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}


/*
** cached / prompt tokens of role's pool, the prefill time that saved
** (prefill_us a token), and same / repeat requests; beside, the share the
** audit store assumes cached (store_usage_t: each call's prompt up to the
** previous one's of its kind in the problem, as if every server always
** held it), store_cached / store_prompt.
*/
static void
print_pool(const coord_stats_t *s, int role, const char *name,
           double prefill_us, int64_t store_cached, int64_t store_prompt)
{
    int64_t again = s->affinity_same[role] + s->affinity_moved[role];

    printf("    %-5s hit ratio %5.1f%% of %lld prompt tokens (store assumes "
           "%5.1f%%), %.1f s of prefill saved; same worker %5.1f%% of %lld "
           "repeat requests\n",
           name, share(s->cached_tokens[role], s->prompt_tokens[role]),
           (long long)s->prompt_tokens[role], share(store_cached, store_prompt),
           (double)s->cached_tokens[role] * prefill_us / 1e6,
           share(s->affinity_same[role], again), (long long)again);
}


int
main(int argc, char **argv)
{
    local_opts_t o = {0};
    sim_params_t p;
    double cache_tokens = 200000;
    long credit = 128, serial = 1;
    char dir[] = "/tmp/trim-bench-XXXXXX", db[64], err[512];

    local_tune_malloc();
    tlog_set_level(TLOG_WARN);
    o.problems = 2048;
    o.seed = 1;
    o.policy = "thr:0.5";
    o.concurrency = 512;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--problems") == 0)
            o.problems = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--concurrency") == 0)
            o.concurrency = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--credit") == 0)
            credit = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--serial-prefill") == 0)
            serial = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--cache-tokens") == 0)
            cache_tokens = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--policy") == 0)
            o.policy = argv[i + 1];
        else {
            fprintf(stderr, "bench_affinity: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    if (o.problems < 1 || o.concurrency < 1 || credit < 1 || credit > 65536 ||
        cache_tokens < 0) {
        fprintf(stderr, "bench_affinity: --problems, --concurrency and "
                        "--credit (<= 65536) >= 1, --cache-tokens >= 0\n");
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    sim_params_default(&p);
    sim_params_latency(&p, SIM_WEAK, 8, 6);
    sim_params_latency(&p, SIM_STRONG, 10, 14);
    sim_params_latency(&p, -1, 10, 0.15);
    p.prefill_us[SIM_WEAK] = 50;
    p.prefill_us[SIM_STRONG] = 150;
    p.prefix_cache_tokens = cache_tokens;
    p.serial_prefill = serial != 0;
    o.sim = &p;
    o.small_workers = o.large_workers = o.prm_workers = WORKERS;
    o.routers = 1;
    o.credit = (uint32_t)credit;
    printf("prefix-cache affinity: %lld problems, policy %s, concurrency %d, "
           "%d workers per pool x credit %ld, %.0f cached tokens per "
           "worker, %s prefill\n",
           (long long)o.problems, o.policy, o.concurrency, WORKERS, credit,
           cache_tokens, serial ? "serial" : "parallel");
    for (int off = 0; off <= 1; off++) {
        local_result_t res;
        snprintf(db, sizeof db, "%s/affinity-%s.db", dir, off ? "off" : "on");
        o.db = db;
        o.no_affinity = off;
        if (local_run(&o, &res, err, sizeof err) < 0) {
            fprintf(stderr, "bench_affinity: %s\n", err);
            return 1;
        }
        printf("  affinity %-3s: %.2f s, %.1f problems/s, %.0f routed "
               "steps/s\n",
               off ? "off" : "on", res.seconds,
               (double)(res.stats.finished + res.stats.failed) / res.seconds,
               (double)res.stats.routed_steps / res.seconds);
        store_usage_total_t u = {0};
        store_reader_t *r = store_reader_new(db, err, sizeof err);
        if (r == NULL ||
            store_usage_run(r, res.run_id, &u, err, sizeof err) < 0) {
            fprintf(stderr, "bench_affinity: %s\n", err);
            return 1;
        }
        store_reader_destroy(&r);
        print_pool(&res.stats, TRIM__ROLE__ROLE_SMALL, "small",
                   p.prefill_us[SIM_WEAK], u.cached[STORE_DRAFT],
                   u.input[STORE_DRAFT]);
        print_pool(&res.stats, TRIM__ROLE__ROLE_LARGE, "large",
                   p.prefill_us[SIM_STRONG], u.cached[STORE_STRONG],
                   u.input[STORE_STRONG]);
        print_pool(&res.stats, TRIM__ROLE__ROLE_PRM, "prm", p.prm_prefill_us,
                   u.prm_cached, u.prm);
        remove_db(db);
    }
    rmdir(dir);
    return 0;
}
