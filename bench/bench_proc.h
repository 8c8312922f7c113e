/*
** bench_proc.h: processes and ports for the benchmarks that start trim.
*/
#ifndef TRIM_BENCH_PROC_H
#define TRIM_BENCH_PROC_H

#include <sys/types.h>

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int bench_free_port(void);

/*
** Start argv[0] (a path) with argv, its stdout and stderr appended to log.
** Returns the child's pid (an exec failure makes it exit 127).
*/
pid_t bench_spawn(const char *log, char *const argv[]);

/* Run a shell command line and return its stdout (malloc'd; NULL when out
** of memory). */
char *bench_run(const char *cmd);

/* User + system CPU seconds process pid used so far, from /proc/PID/stat;
** -1 when it cannot be read. */
double bench_cpu_s(pid_t pid);

/* Sleep ms milliseconds. */
void bench_pause_ms(int ms);

/*
** Wait (about 10 s at most) until `trim status` of the coordinator at
** endpoint shows a peer in every pool (small, large, prm, router); trim is
** the binary's path.  0 when they are, -1 when they never were.
*/
int bench_wait_pools(const char *trim, const char *endpoint);

/*
** The far side of a raw ZeroMQ round trip: bench_echo_open forks a process
** echoing every message of a ROUTER on a free loopback port, connects sock
** (a DEALER) to it and makes one round trip of BENCH_ECHO_BYTES, so the
** connection is up; bench_echo_close closes sock and kills the child.
*/
#define BENCH_ECHO_BYTES 100
typedef struct bench_echo {
    void *ctx, *sock;
    pid_t child;
} bench_echo_t;

void bench_echo_open(bench_echo_t *e);
void bench_echo_close(bench_echo_t *e);

#endif
