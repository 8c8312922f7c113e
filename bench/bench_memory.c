/*
** bench_memory.c: coordinator memory per queued problem.
**
**   bench_memory [--problems N]
**
** Queues N simulated problems in a coordinator with no workers, waits until
** their rows are committed, and divides the growth of the C heap (less what
** SQLite itself holds: its page cache is bounded and does not grow with the
** queue) by N.  The problem's own text is reported beside the overhead.
** The window holds all N here: past it (coord_opts_t.queue_window) a queued
** problem costs no memory at all (scripts/bench-memory measures that).
*/
#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "coordinator.h"
#include "hash.h"
#include "log.h"
#include "sim.h"
#include "store.h"


/* Bytes in use on the C heap outside SQLite. */
static double
heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd -
           (double)sqlite3_memory_used();
}


int
main(int argc, char **argv)
{
    int64_t n = 100000;
    char dir[] = "/tmp/trim-bench-mem-XXXXXX", db[64], err[512];
    double text_bytes = 0;

    if (argc == 3 && strcmp(argv[1], "--problems") == 0)
        n = atoll(argv[2]);
    tlog_set_level(TLOG_WARN);
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(db, sizeof db, "%s/mem.db", dir);
    sim_world_t *world = sim_world_new(NULL, NULL, err, sizeof err);
    void *zctx = zmq_ctx_new();
    if (world == NULL || store_migrate(db, err, sizeof err) < 0) {
        fprintf(stderr, "bench_memory: %s\n", err);
        return 1;
    }
    store_writer_t *w = store_writer_new(db, NULL, err, sizeof err);
    coord_opts_t o = {0};
    o.endpoint = "inproc://bench-memory";
    o.db = db;
    o.max_queued = n + 1;
    o.queue_window = n + 1; /* all in memory: the cost of one in the window */
    coord_t *c = w ? coord_new(zctx, &o, w, err, sizeof err) : NULL;
    coord_run_opts_t ro = {"thr:0.5", 1, "{}", 0, 0, 0};
    int64_t run = c ? coord_add_run(c, &ro, err, sizeof err) : -1;
    if (run < 0) {
        fprintf(stderr, "bench_memory: %s\n", err);
        return 1;
    }
    store_writer_wait(w, 0);
    double before = heap_bytes();
    for (int64_t i = 0; i < n; i++) {
        sim_problem_t p = {0};
        coord_problem_t cp = {0};
        char source[64];
        sim_problem_make(world, 1, (uint64_t)i, &p);
        snprintf(source, sizeof source, "sim:1:%lld", (long long)i);
        cp.seed = sim_problem_seed(1, (uint64_t)i);
        cp.source = source;
        cp.text = p.text;
        cp.ground_truth = p.answer;
        text_bytes +=
            (double)(strlen(p.text) + strlen(p.answer) + strlen(source) + 3);
        if (coord_submit(c, run, &cp, err, sizeof err) < 0) {
            fprintf(stderr, "bench_memory: %s\n", err);
            return 1;
        }
        sim_problem_clear(&p);
    }
    store_writer_wait(w, 0);
    double after = heap_bytes();
    double per = (after - before) / (double)n, text = text_bytes / (double)n;
    printf("coordinator memory per queued problem (%lld queued): %.0f bytes "
           "= %.0f bytes of its own text + %.0f bytes of state "
           "(target <= 2048 + text)\n",
           (long long)n, per, text, per - text);
    coord_destroy(&c);
    store_writer_destroy(&w);
    zmq_ctx_term(zctx);
    sim_world_destroy(&world);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
