/*
** bench_peers.c: a `trim coordinator` flooded with Ready under fresh names.
**
**   bench_peers [--messages N] [--identities K] [--problems P]
**
** A hostile peer announces itself again and again, each time under a new
** name (issue 11).  A cluster (`trim coordinator`, a router, one simulated
** worker per pool at 5 ms a call) starts a run of P problems (default 200;
** 0 for none), and meanwhile K DEALER sockets (default 2) send N Ready
** messages (default 1,000,000) in turns, as small workers of credit 1, as
** fast as the coordinator takes them; they never answer the requests they
** get, so every Ready requeues what its predecessor held.  After
** every 100,000 the bench sends a StatusRequest on each socket and waits for
** the answers: a socket's messages arrive in order, so then every Ready
** before it has been handled.  It prints, per 100,000 messages, the
** coordinator's CPU time (user + system, from /proc) and its resident set
** size; CPU linear in the messages shows as a flat CPU column.  At the end,
** whether the run finished, and the lines and bytes the coordinator logged
** (at its default level, info).
**
** Prints figures; asserts nothing.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_proc.h"
#include "clock.h"
#include "envelope.h"
#include "sock.h"

#ifndef TRIM_BIN_PATH
#define TRIM_BIN_PATH "trim"
#endif

#define BATCH       100000
#define MAX_SOCKETS 64
#define STATUS_WAIT 600000 /* ms: the old code takes minutes per batch */
#define MAX_PIDS    5


/* Resident set size of pid in MiB, from /proc/PID/status. */
static double
rss_mib(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (double)kb / 1024.0;
}


/* Throw away everything waiting on s (heartbeats, requests). */
static void
drain(void *s)
{
    char buf[256];
    while (zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        ;
}


static void
send_ready(void *s, long i)
{
    Trim__Ready r = TRIM__READY__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    char name[64];

    snprintf(name, sizeof name, "flood-%ld", i);
    r.role = TRIM__ROLE__ROLE_SMALL;
    r.credit = 1;
    r.name = name;
    r.backend = "bench";
    env.body_case = TRIM__ENVELOPE__BODY_READY;
    env.ready = &r;
    while (sock_send_env(s, NULL, 0, &env) < 0) {
        /* Our queue is full: the coordinator is behind.  Keep reading. */
        drain(s);
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}


/*
** Send a StatusRequest on s and wait for the Status (others dropped):
** every message s sent before has then been handled.  0, or -1.
*/
static int
barrier(void *s, uint64_t request_id)
{
    Trim__StatusRequest q = TRIM__STATUS_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    int64_t until = clock_now_ms() + STATUS_WAIT;
    char err[256];

    q.request_id = request_id;
    env.body_case = TRIM__ENVELOPE__BODY_STATUS_REQUEST;
    env.status_request = &q;
    if (sock_send_env(s, NULL, 0, &env) < 0)
        return -1;
    while (clock_now_ms() < until) {
        if (zmq_poll(&item, 1, 1000) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        Trim__Envelope *in =
            env_unpack(zmq_msg_data(&m), zmq_msg_size(&m), err, sizeof err);
        int done = in && in->body_case == TRIM__ENVELOPE__BODY_STATUS &&
                   in->status->request_id == request_id;
        env_destroy(&in);
        zmq_msg_close(&m);
        if (done)
            return 0;
    }
    return -1;
}


static void
count_log(const char *path, long *lines, long *bytes)
{
    FILE *f = fopen(path, "r");
    int ch;
    *lines = *bytes = 0;
    while (f && (ch = fgetc(f)) != EOF) {
        (*bytes)++;
        *lines += ch == '\n';
    }
    if (f)
        fclose(f);
}


int
main(int argc, char **argv)
{
    long messages = 1000000;
    int identities = 2, problems = 200;
    char dir[64] = "/tmp/trim-bench-peers-XXXXXX", db[128], log[128];
    char endpoint[64], cmd[512], err[256], wlog[160];
    pid_t pids[MAX_PIDS];
    int n_pids = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--messages") == 0)
            messages = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--identities") == 0)
            identities = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--problems") == 0)
            problems = atoi(argv[i + 1]);
    }
    if (messages < 1 || identities < 1 || identities > MAX_SOCKETS ||
        problems < 0) {
        fprintf(stderr, "usage: bench_peers [--messages N] [--identities "
                        "K (1..64)] [--problems P]\n");
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(log, sizeof log, "%s/coordinator.log", dir);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
             bench_free_port());

    char *coord[] = {
        TRIM_BIN_PATH, "coordinator", "--bind", endpoint, "--db", db, NULL};
    pid_t pid = pids[n_pids++] = bench_spawn(log, coord);
    snprintf(wlog, sizeof wlog, "%s/peers.log", dir);
    if (problems > 0) {
        char *pools[3] = {"small", "large", "prm"};
        char *router[] = {TRIM_BIN_PATH, "router", "--connect", endpoint,
                          "--pub",       "",       NULL};
        pids[n_pids++] = bench_spawn(wlog, router);
        for (int i = 0; i < 3; i++) {
            char *w[] = {TRIM_BIN_PATH,   "worker", "--pool",   pools[i],
                         "--connect",     endpoint, "--credit", "8",
                         "--sim-base-ms", "5",      NULL};
            pids[n_pids++] = bench_spawn(wlog, w);
        }
    }

    void *zctx = zmq_ctx_new();
    void *socks[MAX_SOCKETS];
    for (int k = 0; k < identities; k++) {
        socks[k] = sock_new(zctx, ZMQ_DEALER, err, sizeof err);
        if (socks[k] == NULL || zmq_connect(socks[k], endpoint) != 0) {
            fprintf(stderr, "bench_peers: %s\n", err);
            return 1;
        }
    }
    uint64_t request = 1;
    for (int k = 0; k < identities; k++)
        if (barrier(socks[k], request++) < 0) {
            fprintf(stderr,
                    "bench_peers: the coordinator did not answer "
                    "(log in %s)\n",
                    log);
            return 1;
        }

    if (problems > 0) {
        /* The run goes on through the flood; trim submit waits for no
        ** worker, only for the rows to be recorded. */
        snprintf(cmd, sizeof cmd,
                 "%s submit --connect %s --sim %d --seed 7 >>%s 2>&1",
                 TRIM_BIN_PATH, endpoint, problems, wlog);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench_peers: trim submit failed (%s)\n", wlog);
            return 1;
        }
    }
    double rss0 = rss_mib(pid), cpu0 = bench_cpu_s(pid), cpu_prev = cpu0;
    int64_t t0 = clock_now_ms(), t_prev = t0;
    printf("trim coordinator flooded with %ld Ready under fresh names from "
           "%d identities\n",
           messages, identities);
    printf("  before: RSS %.1f MiB, CPU %.2f s\n", rss0, cpu0);
    printf("  %10s %12s %10s %10s\n", "messages", "CPU/batch s", "wall s",
           "RSS MiB");
    for (long sent = 0; sent < messages;) {
        long batch = messages - sent < BATCH ? messages - sent : BATCH;
        for (long i = 0; i < batch; i++, sent++) {
            void *s = socks[sent % identities];
            send_ready(s, sent);
            if (sent % 256 == 0)
                drain(s);
        }
        for (int k = 0; k < identities; k++)
            if (barrier(socks[k], request++) < 0) {
                fprintf(stderr,
                        "bench_peers: no answer within %d s after %ld "
                        "messages (log in %s)\n",
                        STATUS_WAIT / 1000, sent, log);
                for (int j = 0; j < n_pids; j++)
                    kill(pids[j], SIGKILL);
                return 1;
            }
        double cpu = bench_cpu_s(pid);
        int64_t t = clock_now_ms();
        printf("  %10ld %12.2f %10.2f %10.1f\n", sent, cpu - cpu_prev,
               (double)(t - t_prev) / 1000.0, rss_mib(pid));
        fflush(stdout);
        cpu_prev = cpu;
        t_prev = t;
    }
    double rss1 = rss_mib(pid), cpu1 = bench_cpu_s(pid);
    printf("  after:  RSS %.1f MiB, CPU %.2f s (%.2f us a message), wall "
           "%.1f s\n",
           rss1, cpu1, (cpu1 - cpu0) * 1e6 / (double)messages,
           (double)(clock_now_ms() - t0) / 1000.0);

    for (int k = 0; k < identities; k++)
        sock_destroy(&socks[k]);
    zmq_ctx_term(zctx);
    if (problems > 0) {
        snprintf(cmd, sizeof cmd,
                 "%s wait --connect %s --json | grep -o "
                 "'\"finished\": *[0-9]*\\|\"failed\": *[0-9]*' | "
                 "tr '\\n' ' '",
                 TRIM_BIN_PATH, endpoint);
        printf("  the run of %d problems in flight: ", problems);
        fflush(stdout);
        if (system(cmd) != 0)
            printf("did not finish");
        printf("\n");
    }
    for (int i = n_pids - 1; i >= 0; i--) {
        kill(pids[i], SIGTERM);
        waitpid(pids[i], NULL, 0);
    }
    long lines, bytes;
    count_log(log, &lines, &bytes);
    printf("  log: %ld lines, %ld bytes\n", lines, bytes);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_peers: could not remove %s\n", dir);
    return 0;
}
