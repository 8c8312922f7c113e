/*
** bench_proc.c: processes and ports for the benchmarks (see bench_proc.h).
*/
#include "bench_proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>


int
bench_free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}


pid_t
bench_spawn(const char *log, char *const argv[])
{
    fflush(NULL); /* or the child would write our buffered output again */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}


char *
bench_run(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    size_t len = 0, cap = 1 << 16, n;
    char *out = malloc(cap);

    while (f && out && (n = fread(out + len, 1, cap - len - 1, f)) > 0)
        len += n;
    if (out)
        out[len] = '\0';
    if (f)
        pclose(f);
    return out;
}


void
bench_pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}


int
bench_wait_pools(const char *trim, const char *endpoint)
{
    const char *names[4] = {"small", "large", "prm", "router"};
    char cmd[256];

    snprintf(cmd, sizeof cmd, "%s status --json --timeout-ms 1000 --connect %s",
             trim, endpoint);
    for (int tries = 0; tries < 200; tries++) {
        char *out = bench_run(cmd);
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        json_t *pools = json_object_get(j, "pools");
        int ready = j != NULL;
        for (int i = 0; i < 4 && ready; i++)
            ready = json_integer_value(json_object_get(
                        json_object_get(pools, names[i]), "peers")) > 0;
        json_decref(j);
        free(out);
        if (ready)
            return 0;
        bench_pause_ms(50);
    }
    return -1;
}


/* User + system CPU seconds of pid, from /proc/PID/stat. */
double
bench_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15, counted after the ")" closing the command name. */
    char *p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1.0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}


/* The echo side of the raw ZeroMQ measurement (a child process). */
static void
echo_server(const char *endpoint)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 100000;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_bind(s, endpoint);
    for (;;) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, s, 0) < 0 || zmq_msg_recv(&body, s, 0) < 0)
            break;
        zmq_msg_send(&id, s, ZMQ_SNDMORE);
        zmq_msg_send(&body, s, 0);
    }
    _exit(0);
}


void
bench_echo_open(bench_echo_t *e)
{
    char endpoint[64], msg[BENCH_ECHO_BYTES] = {0}, buf[128];
    int hwm = 100000;

    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
             bench_free_port());
    fflush(NULL);
    e->child = fork();
    if (e->child == 0)
        echo_server(endpoint);
    e->ctx = zmq_ctx_new();
    e->sock = zmq_socket(e->ctx, ZMQ_DEALER);
    zmq_setsockopt(e->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(e->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_connect(e->sock, endpoint);
    zmq_send(e->sock, msg, sizeof msg, 0); /* wait for the connection */
    zmq_recv(e->sock, buf, sizeof buf, 0);
}


void
bench_echo_close(bench_echo_t *e)
{
    zmq_close(e->sock);
    zmq_ctx_term(e->ctx);
    kill(e->child, SIGKILL);
    waitpid(e->child, NULL, 0);
}
