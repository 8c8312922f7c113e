/*
** local.h: a whole trim cluster inside one process.
**
** The coordinator runs in the calling thread; router services and workers of
** the three pools run in their own threads and reach it over inproc://, with
** exactly the code that runs them as separate processes over tcp://.  Used
** by `trim run`, `trim eval sweep` and the benchmarks.
*/
#ifndef TRIM_LOCAL_H
#define TRIM_LOCAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "coordinator.h"
#include "http_opts.h"
#include "sim.h"

typedef struct local_opts {
    const char *policy; /* default "thr:0.5" */
    uint64_t seed;      /* problem set and sampling seed */
    int64_t problems;   /* simulated problems to solve */
    const char *db;     /* audit database file */
    int concurrency;    /* problems in flight */
    int small_workers, large_workers, prm_workers, routers;
    uint32_t credit; /* per worker; default 256 */
    int max_steps;
    /* Queued problems kept in memory (coord_opts_t); 0: the default. */
    int64_t queue_window;
    const char *calibration; /* PRM calibration file, NULL = embedded */
    const sim_params_t *sim; /* NULL = the profile below */
    const char *sim_profile; /* simulator profile (sim.h); NULL = math500 */
    /* Called from the coordinator's loop about ten times a second with the
    ** run's counters, and with NULL when an interrupt stops the run early
    ** (run_progress.h draws them); NULL: no progress. */
    void (*progress)(void *ctx, const coord_stats_t *s);
    void *progress_ctx;
    int explore;               /* learned policies sample their actions */
    int64_t max_strong_tokens; /* per-problem strong-token cap, 0: none */
    double target_share;       /* strong-token share to hold, 0: none */
    int no_affinity;           /* coord_opts_t's: prefix-cache affinity off */
    /* Problems from a JSONL file (see problems.h) instead of the
    ** simulator's generator; NULL: simulated.  problems is then how many
    ** the file held.  The built-in simulator solves only the problems it
    ** generated: with a simulated pool, any other problem in the file
    ** fails the run at its start. */
    const char *problems_file;
    const char *problems_format; /* layout; NULL or "auto": recognised */
    /* Model servers over HTTP, per pool (borrowed); NULL: the simulator.
    ** Problems still come from the simulator unless problems_file is set. */
    const http_backend_opts_t *small_http, *large_http, *prm_http;
    int chat; /* small/large: /v1/chat/completions, not /v1/completions */
    int request_deadline_ms;     /* coord_opts_t's ceiling; 0: the default */
    coord_speculate_t speculate; /* speculative next-step drafting */
    prom_registry_t *metrics;    /* the coordinator's series; NULL: none */
    /* Finish run resume_run of db (`trim run --resume`): its queued and
    ** running problems go on from their last accepted step and nothing is
    ** submitted; the caller sets policy, seed and the rest as recorded.
    ** 0: a new run. */
    int64_t resume_run;
    /* Stop soon after *interrupt becomes non-zero (signals.h): calls in
    ** flight are dropped, what is committed stays, and the unfinished
    ** problems stay queued or running for a resume.  NULL: never. */
    const atomic_int *interrupt;
} local_opts_t;

typedef struct local_result {
    int64_t run_id;
    char policy[256]; /* canonical spec (up to POLICY_SPEC_MAX) */
    coord_stats_t stats;
    double seconds;  /* from start until every row is committed */
    uint64_t rows;   /* audit rows committed */
    int interrupted; /* stopped by *opts->interrupt before the end */
    int64_t resumed; /* unfinished problems a resume recovered */
} local_result_t;

/*
** Tune the C allocator for a cluster in one process; call once from main()
** before any thread starts.  Request batches of a few hundred KiB are
** allocated in one thread and freed in another many times a second; glibc's
** defaults (return the heap top to the system past 128 KiB, mmap big blocks)
** turned each of them into fresh page faults: about 5% of all CPU time in
** bench_pipeline.
*/
void local_tune_malloc(void);

/*
** Solve opts->problems simulated problems (or every problem of
** opts->problems_file, with malformed lines reported and skipped; a file
** without any problem is an error) and wait until every row is
** committed.  Pools with HTTP settings call their model servers; a bad
** setting (an unset API key variable) fails the run at start with the pool
** and the reason.  Returns 0 with *out filled (out->interrupted when
** opts->interrupt stopped it, every row committed all the same), or -1 with
** a reason in err.
*/
int local_run(const local_opts_t *opts, local_result_t *out, char *err,
              size_t errlen);

#endif
