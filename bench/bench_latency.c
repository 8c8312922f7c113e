/*
** bench_latency.c: what one problem's latency is made of, and what
** speculative next-step drafting takes off it.
**
**   bench_latency [--problems-1 N] [--problems-64 N] [--policies LIST]
**                 [--overhead-problems N] [--skip-speculation 1]
**                 [--affinity-problems N]
**
** 1. Speculation under a vLLM-like latency model (the simulator's, in one
**    process: `trim run`'s cluster over inproc://).  The release pair, one
**    GPU each, A100-80GB class, bf16, vLLM, as the simulator models a call:
**    base + prefill per prompt token + decode per generated token.
**
**      model                       base    prefill/token  decode/token
**      Qwen2.5-Math-1.5B (small)   15 ms   0.025 ms       5 ms
**      Qwen2.5-Math-7B (large)     30 ms   0.10 ms        13 ms
**      Qwen2.5-Math-PRM-7B (prm)   30 ms   0.10 ms        (none: pooling)
**
**    Sources: one 8B model on one A100 40GB under vLLM decodes about 75
**    tokens/s at one request (13 ms/token; johnmusgrave.com, "vLLM
**    throughput-latency sweep on NVIDIA A100"); Qwen2.5-7B-Instruct on an
**    RTX A6000 under vLLM: 47 ms to the first token and 22 ms/token at one
**    request, 28 ms/token at 64 (ld-singh.github.io, inference benchmark
**    report).  A 1.5B model reads a fifth of the weights per token; vLLM's
**    per-step scheduling puts a floor of a few ms under it, hence 5 ms.
**    Prefill runs at ~10k tokens/s for 7B and ~40k for 1.5B on an A100.
**    The simulator serves every call independently: no batching slowdown at
**    64 concurrent (the A6000 figures say ~25% on decode) and no contention
**    for a GPU, so speculative drafts cost the small GPU nothing here but
**    their tokens.
**
**    Problems one at a time and 64 at once; per policy (thr:0.5, pomdp,
**    agg: a model initialised as a soft thr:0.5, not a trained one) each
**    run without speculation, with --speculate on and guard: per-problem
**    latency p50/p99/mean (from its admission: the run's start, or the end
**    of the problem that made room for it, admission being in id order, to
**    its end); the ideal, the mean without speculation less the time from
**    each kept draft's arrival to its decision when a step followed it (its
**    scoring and routing, all hidden); the share of that the speculative
**    drafts hid (target >= 90%), timed by the coordinator in the run
**    (coord_stats_t.spec_hidden_us over spec_ideal_us: wall-clock means of
**    two runs differ by more than the saving on a loaded machine, so the
**    fall in mean latency is printed beside it, not used); wasted draft
**    tokens per problem and as a share of weak tokens (target <= 35%).
**
** 2. trim's own overhead per routed step over TCP, one problem at a time
**    (coordinator --concurrency 1), zero-latency simulator: coordinator,
**    router and one worker per pool as processes.  A routed step is three
**    round trips (draft, score, decide; four when regenerated), so trim's
**    own time in it is its time in the coordinator (step_us of its draft
**    row, plus its strong row's when regenerated: from the step's start to
**    its outcome) less that many raw ZeroMQ round trips (DEALER to ROUTER,
**    one at a time, p50) measured in the same run: printed per routed step
**    as p50/p99 (target p50 <= 150 us, p99 <= 1 ms), beside the raw round
**    trip, the PRM and router round trips per step row (prm_us, route_us)
**    and the whole run's time per routed step.  Subtracting raw p50s
**    charges the network's own tail to trim at p99, so the steps'
**    quantiles are also set beside those of the same steps made of raw
**    round trips only (3 or 4 consecutive ones each, as the step took).
**
** 3. Prefix-cache affinity, with and without, in one process: four workers
**    per model pool (credit 128 each, 512 problems in flight, thr:0.5),
**    each a model server with its own prefix cache of 200,000 tokens (LRU,
**    workers/prefix_cache.h): the cached part of a prompt costs no prefill
**    time.  Printed, affinity on and off: throughput (problems and routed
**    steps per second) and each pool's hit ratio (cached / prompt tokens,
**    as the workers report them), the prefill time it saved, the share of
**    repeat requests that went to the same worker, and the cached share
**    the audit store assumes for the same rows.  Its latency model is
**    heavier on prefill than section 1's, orders of magnitude rather than
**    measurements: 1.5B 8 ms + 0.05 ms/prompt token + 6 ms/token; 7B
**    10 ms + 0.15 ms/prompt token + 14 ms/token; PRM 10 ms + 0.15 ms/input
**    token.  Only the prefill share of a call can be saved (all of it for
**    the PRM), and a server prefills one prompt at a time
**    (sim_params_t.serial_prefill: prefill is compute-bound, so a cache hit
**    frees the server for others' prompts) while it decodes its calls in
**    parallel.  That many problems in flight load the servers' prefill, so
**    what the caches save shows in throughput.
**
** Prints figures; asserts nothing.  It takes minutes: run it once.
*/
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <jansson.h>

#include "agg.h"
#include "bench_proc.h"
#include "clock.h"
#include "local.h"
#include "log.h"
#include "sim.h"
#include "store.h"
#include "train.h"
#include "trim.pb-c.h"

#ifndef TRIM_BIN_PATH
#define TRIM_BIN_PATH "trim"
#endif

#define MAX_PROBLEMS 4096


static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}


/* The q-quantile of v[n] (sorted in place), nearest rank. */
static double
quantile(double *v, int n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int k = (int)ceil(q * n) - 1;
    return v[k < 0 ? 0 : k];
}


static double
mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : NAN;
}


static sqlite3 *
open_db(const char *path)
{
    sqlite3 *h;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_latency: cannot open %s\n", path);
        exit(1);
    }
    return h;
}


static double
sql_double(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}


/* Column 0 of every row of sql into v (at most max); how many. */
static int
sql_column(sqlite3 *h, const char *sql, double *v, int max)
{
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_latency: %s: %s\n", sql, sqlite3_errmsg(h));
        exit(1);
    }
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        v[n++] = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return n;
}


/*
** Each problem's latency in ms (in id order) of a run at concurrency conc:
** admitted at the run's start, or when the (r - conc)-th problem to end
** made room for it.
*/
static int
problem_latency(sqlite3 *h, int conc, double *lat)
{
    static double ends[MAX_PROBLEMS], sorted[MAX_PROBLEMS];
    double start = sql_double(h, "SELECT started_ms FROM runs");
    int n =
        sql_column(h, "SELECT finished_ms FROM problems ORDER BY problem_id",
                   ends, MAX_PROBLEMS);

    memcpy(sorted, ends, (size_t)n * sizeof *ends);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    for (int r = 0; r < n; r++)
        lat[r] = ends[r] - (r < conc ? start : sorted[r - conc]);
    return n;
}


typedef struct figures {
    double p50, p99, mean;
    double ideal_saving; /* ms per problem: scoring and routing of kept
                            steps a step followed (coord_stats_t) */
    double hidden;       /* share of it speculation hid, in the run */
    double wasted_per_problem, wasted_share_weak;
} figures_t;


static void
run_one(local_opts_t *o, const char *db, figures_t *f)
{
    static double lat[MAX_PROBLEMS];
    local_result_t res;
    char err[512];

    unlink(db);
    if (local_run(o, &res, err, sizeof err) < 0) {
        fprintf(stderr, "bench_latency: %s\n", err);
        exit(1);
    }
    sqlite3 *h = open_db(db);
    int n = problem_latency(h, o->concurrency, lat);
    sqlite3_close(h);
    unlink(db);
    const coord_stats_t *st = &res.stats;
    f->mean = mean(lat, n);
    f->p50 = quantile(lat, n, 0.5);
    f->p99 = quantile(lat, n, 0.99);
    f->ideal_saving = (double)st->spec_ideal_us / 1000.0 / n;
    f->hidden = st->spec_ideal_us > 0
                    ? (double)st->spec_hidden_us / (double)st->spec_ideal_us
                    : 0.0;
    f->wasted_per_problem = (double)st->wasted_tokens / n;
    f->wasted_share_weak = (double)st->wasted_tokens /
                           (double)(st->weak_tokens + st->discarded_tokens);
}


/* The release pair under vLLM, one GPU each (the table above). */
static void
vllm_params(sim_params_t *p)
{
    sim_params_default(p);
    sim_params_latency(p, SIM_WEAK, 15, 5);
    sim_params_latency(p, SIM_STRONG, 30, 13);
    sim_params_latency(p, -1, 30, 0.10);
    p->prefill_us[SIM_WEAK] = 25;
    p->prefill_us[SIM_STRONG] = 100;
}


static void
speculation(const char *policies, int n1, int n64, const char *dir)
{
    static const coord_speculate_t modes[] = {COORD_SPEC_ON, COORD_SPEC_GUARD};
    static const char *const mode_names[] = {"on", "guard"};
    sim_params_t params;
    char db[512], agg_path[512], agg_spec[600], err[256], list[256];
    const int concs[2] = {1, 64}, counts[2] = {n1, n64};

    vllm_params(&params);
    snprintf(agg_path, sizeof agg_path, "%s/thr05.agg", dir);
    agg_model_t *m = agg_model_new(2, 16, 1e-3, err, sizeof err);
    if (m == NULL) {
        fprintf(stderr, "bench_latency: %s\n", err);
        exit(1);
    }
    agg_init(m, 0.5, 10, 1);
    if (agg_model_save(m, agg_path, err, sizeof err) < 0) {
        fprintf(stderr, "bench_latency: %s\n", err);
        exit(1);
    }
    agg_model_destroy(&m);
    snprintf(agg_spec, sizeof agg_spec, "agg:%s", agg_path);
    snprintf(db, sizeof db, "%s/run.db", dir);
    printf("speculation under the vLLM-like latency model (ms per problem; "
           "ideal: the mean without speculation less every kept step's "
           "scoring and routing; hidden: the share of that time the run's "
           "speculative drafts hid, timed in the coordinator; wall: the "
           "share the mean latency fell by)\n");
    printf("%-12s %4s %-6s %7s %7s %7s %7s %7s %7s %9s %8s\n", "policy", "conc",
           "spec", "p50", "p99", "mean", "ideal", "hidden", "wall", "wasted/pb",
           "of weak");
    snprintf(list, sizeof list, "%s", policies);
    for (char *save = NULL, *pol = strtok_r(list, ",", &save); pol != NULL;
         pol = strtok_r(NULL, ",", &save)) {
        for (int c = 0; c < 2; c++) {
            local_opts_t o = {0};
            figures_t off, on;
            o.policy = strcmp(pol, "agg") == 0 ? agg_spec : pol;
            o.seed = 11;
            o.problems = counts[c];
            o.concurrency = concs[c];
            o.db = db;
            o.sim = &params;
            o.speculate = COORD_SPEC_OFF;
            run_one(&o, db, &off);
            double ideal = off.mean - off.ideal_saving;
            printf("%-12s %4d %-6s %7.0f %7.0f %7.0f %7.0f %7s %7s %9s %8s\n",
                   pol, concs[c], "off", off.p50, off.p99, off.mean, ideal, "-",
                   "-", "-", "-");
            for (int k = 0; k < 2; k++) {
                o.speculate = modes[k];
                run_one(&o, db, &on);
                printf("%-12s %4d %-6s %7.0f %7.0f %7.0f %7.0f %6.0f%% %6.0f%% "
                       "%9.1f %7.1f%%\n",
                       pol, concs[c], mode_names[k], on.p50, on.p99, on.mean,
                       ideal, 100.0 * on.hidden,
                       100.0 * (off.mean - on.mean) / off.ideal_saving,
                       on.wasted_per_problem, 100.0 * on.wasted_share_weak);
            }
            fflush(stdout);
        }
    }
    printf("(wasted: speculative draft tokens thrown away per problem; 'of "
           "weak': their share of every weak token generated, accepted and "
           "discarded drafts)\n");
}


/* ---- trim's overhead over TCP ------------------------------------------ */

/* Raw ZeroMQ round trips, one at a time: n samples in us into v. */
static void
raw_rtt(double *v, int n)
{
    char msg[BENCH_ECHO_BYTES] = {0}, buf[128];
    bench_echo_t e;

    bench_echo_open(&e);
    for (int i = 0; i < n; i++) {
        int64_t t0 = clock_now_us();
        zmq_send(e.sock, msg, sizeof msg, 0);
        zmq_recv(e.sock, buf, sizeof buf, 0);
        v[i] = (double)(clock_now_us() - t0);
    }
    bench_echo_close(&e);
}


static void
overhead(int problems, const char *dir)
{
    static double v[200000];
    char endpoint[64], db[512], log[600], cmd[1024], n_text[32];
    pid_t pids[8];
    int np = 0;

    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
             bench_free_port());
    snprintf(db, sizeof db, "%s/overhead.db", dir);
    snprintf(log, sizeof log, "%s/coordinator.log", dir);
    char *coord[] = {
        TRIM_BIN_PATH,   "coordinator", "--bind",      endpoint, "--db", db,
        "--concurrency", "1",           "--log-level", "warn",   NULL};
    pids[np++] = bench_spawn(log, coord);
    snprintf(log, sizeof log, "%s/router.log", dir);
    char *router[] = {TRIM_BIN_PATH, "router", "--connect",
                      endpoint,      "--pub",  "",
                      "--log-level", "warn",   NULL};
    pids[np++] = bench_spawn(log, router);
    const char *pools[3] = {"small", "large", "prm"};
    for (int p = 0; p < 3; p++) {
        snprintf(log, sizeof log, "%s/%s.log", dir, pools[p]);
        char *w[] = {TRIM_BIN_PATH,    "worker",    "--pool",
                     (char *)pools[p], "--connect", endpoint,
                     "--log-level",    "warn",      NULL};
        pids[np++] = bench_spawn(log, w);
    }
    if (bench_wait_pools(TRIM_BIN_PATH, endpoint) < 0) {
        fprintf(stderr, "bench_latency: the cluster did not come up (%s)\n",
                dir);
        exit(1);
    }
    int trips = 20000;
    static double raw[20000];
    raw_rtt(raw, trips);
    memcpy(v, raw, sizeof raw);
    double raw50 = quantile(v, trips, 0.5), raw99 = quantile(v, trips, 0.99),
           raw_mean = mean(v, trips);
    snprintf(n_text, sizeof n_text, "%d", problems);
    snprintf(cmd, sizeof cmd,
             "%s submit --connect %s --sim %s --seed 3 --json >/dev/null && "
             "%s wait --connect %s --json",
             TRIM_BIN_PATH, endpoint, n_text, TRIM_BIN_PATH, endpoint);
    char *out = bench_run(cmd);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (j == NULL) {
        fprintf(stderr, "bench_latency: the run did not finish (%s)\n", dir);
        exit(1);
    }
    double routed =
        (double)json_integer_value(json_object_get(j, "routed_steps"));
    double regen =
        (double)json_integer_value(json_object_get(j, "regenerated_steps"));
    double secs = json_real_value(json_object_get(j, "elapsed_s"));
    json_decref(j);
    for (int i = 0; i < np; i++)
        kill(pids[i], SIGTERM);
    for (int i = 0; i < np; i++)
        waitpid(pids[i], NULL, 0);

    /* Each routed step: its draft row and, when regenerated, its strong
    ** row (same step_index).  Its time less the raw round trips it took. */
    char sql[1024];
    const char *step_rows =
        "FROM steps d LEFT JOIN steps s ON s.problem_id = d.problem_id AND "
        "s.step_index = d.step_index AND s.kind = 'strong' "
        "WHERE d.kind = 'draft' AND d.decision IS NOT NULL";
    sqlite3 *h = open_db(db);
    snprintf(sql, sizeof sql,
             "SELECT d.step_us + coalesce(s.step_us, 0) - "
             "(CASE WHEN s.step_us IS NULL THEN 3 ELSE 4 END) * %f %s",
             raw50, step_rows);
    int n = sql_column(h, sql, v, 200000);
    double own50 = quantile(v, n, 0.5), own99 = quantile(v, n, 0.99);
    snprintf(sql, sizeof sql, "SELECT d.step_us + coalesce(s.step_us, 0) %s",
             step_rows);
    sql_column(h, sql, v, 200000);
    double step50 = quantile(v, n, 0.5), step99 = quantile(v, n, 0.99);
    int rows = sql_column(h, "SELECT prm_us FROM steps WHERE kind = 'draft'", v,
                          200000);
    double prm50 = quantile(v, rows, 0.5), prm99 = quantile(v, rows, 0.99);
    rows = sql_column(h, "SELECT route_us FROM steps WHERE kind = 'draft'", v,
                      200000);
    double route50 = quantile(v, rows, 0.5), route99 = quantile(v, rows, 0.99);
    /* The same steps made of raw round trips only: for each step, as many
    ** consecutive raw round trips (one after another, as a step's hops
    ** are) as it took.  Its quantiles beside the steps' give trim's own
    ** time at the tail too, where subtracting raw p50s would charge the
    ** network's own tail to trim. */
    snprintf(sql, sizeof sql,
             "SELECT CASE WHEN s.step_us IS NULL THEN 3 ELSE 4 END %s",
             step_rows);
    static double hops[200000], chain[200000];
    sql_column(h, sql, hops, 200000);
    for (int i = 0, at = 0; i < n; i++) {
        chain[i] = 0;
        for (int k = 0; k < (int)hops[i]; k++, at = (at + 1) % trips)
            chain[i] += raw[at];
    }
    double chain50 = quantile(chain, n, 0.5),
           chain99 = quantile(chain, n, 0.99);
    sqlite3_close(h);

    double per_step = secs * 1e6 / routed;
    double trips_per_step = 3.0 + regen / routed;
    printf("trim's overhead over TCP, one problem at a time, zero-latency "
           "simulator (%d problems, %.0f routed steps):\n",
           problems, routed);
    printf("  raw ZeroMQ round trip: p50 %.0f us, p99 %.0f us, mean %.0f us\n",
           raw50, raw99, raw_mean);
    printf("  routed step in the coordinator (draft row's step_us, plus the "
           "strong row's when regenerated): p50 %.0f us, p99 %.0f us (%d "
           "steps)\n",
           step50, step99, n);
    printf("  trim's own per routed step, less 3 raw p50 round trips (4 when "
           "regenerated): p50 %.0f us, p99 %.0f us (target p50 <= 150 us, "
           "p99 <= 1000 us)\n",
           own50, own99);
    printf("  the same steps made of raw round trips only (3 or 4 in a row, "
           "as each took): p50 %.0f us, p99 %.0f us; trim's own quantile by "
           "quantile: p50 %.0f us, p99 %.0f us (target p50 <= 150 us, p99 <= "
           "1000 us)\n",
           chain50, chain99, step50 - chain50, step99 - chain99);
    printf("  PRM round trip per step row: p50 %.0f us, p99 %.0f us; router: "
           "p50 %.0f us, p99 %.0f us\n",
           prm50, prm99, route50, route99);
    printf("  per hop beyond the raw round trip: PRM p50 %.0f us, router p50 "
           "%.0f us\n",
           prm50 - raw50, route50 - raw50);
    printf("  whole run (submit to the end of wait, over its routed steps): "
           "%.0f us per routed step = %.2f raw p50 round trips + %.0f us\n",
           per_step, trips_per_step, per_step - trips_per_step * raw50);
}


/* ---- prefix-cache affinity ---------------------------------------------- */

#define AFFINITY_WORKERS 4


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


static void
affinity(int problems, const char *dir)
{
    local_opts_t o = {0};
    sim_params_t p;
    char db[512], err[512];

    sim_params_default(&p);
    sim_params_latency(&p, SIM_WEAK, 8, 6);
    sim_params_latency(&p, SIM_STRONG, 10, 14);
    sim_params_latency(&p, -1, 10, 0.15);
    p.prefill_us[SIM_WEAK] = 50;
    p.prefill_us[SIM_STRONG] = 150;
    p.prefix_cache_tokens = 200000;
    p.serial_prefill = 1;
    o.problems = problems;
    o.seed = 1;
    o.policy = "thr:0.5";
    o.concurrency = 512;
    o.sim = &p;
    o.small_workers = o.large_workers = o.prm_workers = AFFINITY_WORKERS;
    o.routers = 1;
    o.credit = 128;
    snprintf(db, sizeof db, "%s/affinity.db", dir);
    o.db = db;
    printf("prefix-cache affinity: %d problems, thr:0.5, 512 in flight, %d "
           "workers per pool x credit 128, 200,000 cached tokens per "
           "worker, serial prefill\n",
           problems, AFFINITY_WORKERS);
    for (int off = 0; off <= 1; off++) {
        local_result_t res;
        store_usage_total_t u = {0};

        o.no_affinity = off;
        unlink(db);
        if (local_run(&o, &res, err, sizeof err) < 0) {
            fprintf(stderr, "bench_latency: %s\n", err);
            exit(1);
        }
        printf("  affinity %-3s: %.2f s, %.1f problems/s, %.0f routed "
               "steps/s\n",
               off ? "off" : "on", res.seconds,
               (double)(res.stats.finished + res.stats.failed) / res.seconds,
               (double)res.stats.routed_steps / res.seconds);
        store_reader_t *r = store_reader_new(db, err, sizeof err);
        if (r == NULL ||
            store_usage_run(r, res.run_id, &u, err, sizeof err) < 0) {
            fprintf(stderr, "bench_latency: %s\n", err);
            exit(1);
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
        fflush(stdout);
    }
    unlink(db);
}


int
main(int argc, char **argv)
{
    int n1 = 30, n64 = 256, over = 300, skip_spec = 0, aff = 2048;
    const char *policies = "thr:0.5,pomdp:0.001,agg";
    char dir[] = "/tmp/trim-bench-latency-XXXXXX";

    local_tune_malloc();
    tlog_set_level(TLOG_WARN);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--problems-1") == 0)
            n1 = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--problems-64") == 0)
            n64 = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--overhead-problems") == 0)
            over = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--policies") == 0)
            policies = argv[i + 1];
        else if (strcmp(argv[i], "--skip-speculation") == 0)
            skip_spec = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--affinity-problems") == 0)
            aff = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_latency: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    if (n1 < 1 || n64 < 1 || n1 > MAX_PROBLEMS || n64 > MAX_PROBLEMS) {
        fprintf(stderr, "bench_latency: problems in 1..%d\n", MAX_PROBLEMS);
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!skip_spec)
        speculation(policies, n1, n64, dir);
    if (over > 0)
        overhead(over, dir);
    if (aff > 0)
        affinity(aff, dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_latency: could not remove %s\n", dir);
    return 0;
}
