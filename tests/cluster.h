/*
** cluster.h: a trim cluster of real processes over TCP on 127.0.0.1, for
** integration tests.
**
** `trim coordinator`, `trim router` and `trim worker` processes are started
** with short heartbeats (100 ms, liveness 3) so failures are noticed
** quickly; each writes its log into the cluster's own temporary directory.
** The user commands (`trim submit/status/wait/run`) are run against it.
** Every helper fails the calling test when the cluster does not do what
** was asked within a bounded time.
*/
#ifndef TRIM_TEST_CLUSTER_H
#define TRIM_TEST_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define CLUSTER_HB "100" /* heartbeat ms of every process */

typedef struct cluster {
    char dir[256]; /* the cluster's temporary directory */
    char db[320];  /* the coordinator's audit database */
    char endpoint[64], feed[64];
    int coord, routers[4], n_routers, workers[16], n_workers;
} cluster_t;

/*
** A fresh directory (/tmp/trim-cluster-*, removed with what it holds when
** the test process exits) and two free ports; nothing is started.
*/
void cluster_init(cluster_t *k);

/* dir/name into out. */
void cluster_path(const cluster_t *k, const char *name, char *out,
                  size_t outlen);

/* Spawn `trim ARGS...` (NULL-terminated) with its output in dir/log. */
int cluster_spawn(cluster_t *k, const char *log, ...);

/*
** Start the coordinator (router timeout 300 ms unless extra says
** otherwise); extra is a NULL-terminated list of more flags, or NULL.
*/
void cluster_start_coordinator(cluster_t *k, const char *const *extra);

/* Start a router; the first one publishes its decisions on k->feed. */
void cluster_start_router(cluster_t *k, const char *name,
                          const char *const *extra);

/* Start a worker of pool with simulated latency and credit; its pid. */
int cluster_start_worker(cluster_t *k, const char *pool, const char *name,
                         const char *latency_ms, const char *credit,
                         const char *const *extra);

/*
** Start a coordinator (with coord_extra, may be NULL), router-1, and one
** worker per pool (small-1 with small_ms latency and small_credit, large-1
** and prm-1 at 0 ms and credit 16); wait until all have joined.
*/
void cluster_start_one_each(cluster_t *k, const char *const *coord_extra,
                            const char *small_ms, const char *small_credit);

/* SIGTERM every process still running and reap it (bounded). */
void cluster_stop(cluster_t *k);

/* SIGKILL pid and reap it; the slot holding it in k becomes -1. */
void cluster_kill(cluster_t *k, int pid);

/*
** Send sig to pid and reap it (bounded); the slot holding it in k becomes
** -1.  Its exit code, 128 + signal if killed, or -1 on timeout.
*/
int cluster_signal(cluster_t *k, int pid, int sig);

/* `trim status --json`, or NULL when the coordinator does not answer. */
json_t *cluster_status(const cluster_t *k);

/* Live peers of a pool ("small", "large", "prm", "router") in a status. */
int64_t cluster_pool_peers(json_t *status, const char *pool);

/* The integer at key in j (0 when absent). */
int64_t jint(json_t *j, const char *key);

/* Sleep ms: the pause between two bounded polls. */
void cluster_pause_ms(int ms);

/*
** Wait (bounded) until the coordinator reports these live peers.  There is
** no event to wait on from outside the coordinator, so this asks `trim
** status` again every 50 ms until the condition holds.
*/
void cluster_wait_pools(const cluster_t *k, int small, int large, int prm,
                        int router);

/*
** Wait (bounded, 3 s) until peers of pool ("small", ...) hold requests: the
** status says some are outstanding.  Fails the test if they never do.
*/
void cluster_wait_busy(const cluster_t *k, const char *pool);

/* Wait (bounded) until at least n problems have finished. */
void cluster_wait_finished(const cluster_t *k, int64_t n);

/* `trim submit --sim n --seed seed --policy policy`; the run id. */
int64_t cluster_submit_sim(const cluster_t *k, int n, int seed,
                           const char *policy);

/* Start `trim wait --json` for run in the background; its pid. */
int cluster_spawn_wait(cluster_t *k, int64_t run);

/* The JSON summary that the finished `trim wait` pid wrote. */
json_t *cluster_wait_result(cluster_t *k, int pid);

/*
** `trim run` of the same simulated problems in one process, into the
** database dir/name (its path in db); the run's JSON summary.
*/
json_t *cluster_local_run(const cluster_t *k, const char *name, int n, int seed,
                          const char *policy, char *db, size_t dblen);

/*
** Fail unless every problem's accepted steps are one row per step index and
** as many as its row says: nothing lost, nothing twice.
*/
void cluster_check_steps(const char *db);

/* Fail unless two databases hold the same steps, row for row. */
void cluster_same_steps(const char *a, const char *b);

#endif
