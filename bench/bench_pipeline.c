/*
** bench_pipeline.c: routed steps per second of the whole step loop in one
** process (coordinator, router, three worker pools over inproc://, the
** zero-latency simulator, every row written to a fresh SQLite file).
**
**   bench_pipeline [--problems N] [--runs R] [--concurrency C] [--policy P]
**                  [--metrics 1]
**
** --metrics 1 gives the coordinator a metrics registry (what
** --metrics-listen does), to see what its series cost.
**
** Prints each run and the median.  A figure, not a test: nothing here fails
** on speed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "prom.h"


static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}


/* CPU seconds (user + system) this process has used so far. */
static double
cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


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


int
main(int argc, char **argv)
{
    local_opts_t o = {0};
    int runs = 3, metrics = 0;
    double rates[32], cpu_us[32];
    char dir[] = "/tmp/trim-bench-XXXXXX", db[64], err[512];

    local_tune_malloc();
    tlog_set_level(TLOG_WARN);
    o.problems = 20000;
    o.seed = 1;
    o.policy = "thr:0.5";
    o.concurrency = 2048;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--problems") == 0)
            o.problems = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--concurrency") == 0)
            o.concurrency = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--policy") == 0)
            o.policy = argv[i + 1];
        else if (strcmp(argv[i], "--metrics") == 0)
            metrics = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_pipeline: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 32 || o.problems < 1) {
        fprintf(stderr, "bench_pipeline: --runs 1..32, --problems >= 1\n");
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    if (metrics && (o.metrics = prom_registry_new()) == NULL) {
        fprintf(stderr, "bench_pipeline: out of memory\n");
        return 1;
    }
    printf("whole pipeline in one process: %lld problems, policy %s, "
           "concurrency %d, metrics %s\n",
           (long long)o.problems, o.policy, o.concurrency,
           metrics ? "on" : "off");
    for (int r = 0; r < runs; r++) {
        local_result_t res;
        snprintf(db, sizeof db, "%s/run%d.db", dir, r);
        o.db = db;
        double cpu0 = cpu_seconds();
        if (local_run(&o, &res, err, sizeof err) < 0) {
            fprintf(stderr, "bench_pipeline: %s\n", err);
            return 1;
        }
        double cpu = cpu_seconds() - cpu0;
        rates[r] = (double)res.stats.routed_steps / res.seconds;
        cpu_us[r] = cpu * 1e6 / (double)res.stats.routed_steps;
        printf("  run %d: %lld routed steps, %llu audit rows in %.3f s = "
               "%.0f routed steps/s (%.1f CPU us per step)\n",
               r + 1, (long long)res.stats.routed_steps,
               (unsigned long long)res.rows, res.seconds, rates[r], cpu_us[r]);
        remove_db(db);
    }
    qsort(rates, (size_t)runs, sizeof *rates, cmp_double);
    qsort(cpu_us, (size_t)runs, sizeof *cpu_us, cmp_double);
    printf("median: %.0f routed steps/s (target >= 100,000), %.1f CPU us per "
           "routed step (all threads)\n",
           rates[runs / 2], cpu_us[runs / 2]);
    rmdir(dir);
    prom_registry_destroy(&o.metrics);
    return 0;
}
