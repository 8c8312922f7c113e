/*
** test_deadline.c: no request waits forever on a peer that does not answer.
**
** Three ways a peer stops answering, each in a real cluster of processes
** (`trim coordinator`, router and workers, cluster.h):
**
**   mute peer    a small-pool peer that announces itself and heartbeats but
**                never answers (played by this test with common/peer.h),
**                beside a real small worker: its requests pass their
**                deadline (--request-deadline-ms), go to the real worker
**                with attempt + 1, the run finishes, and the mute peer is
**                quarantined, logged once.
**   SIGSTOP      the only small worker is stopped: only heartbeats can tell.
**                It is dropped when its liveness expires, its requests are
**                requeued, and after SIGCONT it rejoins and finishes the run.
**   network cut  the only small worker runs in a network namespace of its
**                own (ip netns, a veth pair) and reaches the coordinator
**                through a TCP relay in this test (the coordinator listens
**                on 127.0.0.1 only); the link goes down mid-run, no FIN or
**                RST.  The worker is dropped at its liveness, its requests
**                requeued, and a new worker on loopback finishes the run.
**                Needs root and iproute2 (scripts/deps); the namespace is
**                removed in the teardown, whatever happened.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <zmq.h>

#include "clock.h"
#include "cluster.h"
#include "peer.h"
#include "skip.h"
#include "testutil.h"

#define PROBLEMS 40
#define POLICY   "thr:0.5"
/* Heartbeats are 100 ms (cluster.h); a peer is dropped after 10 missed, so
** a loaded machine's pauses are not taken for the failures under test. */
#define LIVENESS "10"
/* The worker that is lost: its calls take 250 ms and it holds 8, so the run
** needs seconds of its work, and it is cut off while it holds requests. */
#define VICTIM_MS     "250"
#define VICTIM_CREDIT "8"

static const char *const liveness[] = {"--liveness", LIVENESS, NULL};


/*
** Start a coordinator (liveness, then extra flags, may be NULL), router-1,
** small-1 with small_ms latency and small_credit (none if small_ms is
** NULL), large-1 and prm-1.  Returns small-1's pid.
*/
static int
start_cluster(cluster_t *k, const char *extra_flag, const char *extra_value,
              const char *small_ms, const char *small_credit)
{
    const char *const coord[] = {"--liveness", LIVENESS, extra_flag,
                                 extra_value, NULL};
    cluster_init(k);
    cluster_start_coordinator(k, coord);
    cluster_start_router(k, "router-1", liveness);
    int small = small_ms ? cluster_start_worker(k, "small", "small-1", small_ms,
                                                small_credit, liveness)
                         : -1;
    cluster_start_worker(k, "large", "large-1", "0", "16", liveness);
    cluster_start_worker(k, "prm", "prm-1", "0", "16", liveness);
    return small;
}

/* ---- what every run must end with -------------------------------------- */

/* `trim wait` for run (bounded); every problem finished, none failed. */
static void
wait_all_finished(cluster_t *k, int64_t run)
{
    json_t *res = cluster_wait_result(k, cluster_spawn_wait(k, run));
    assert_int_equal(jint(res, "problems"), PROBLEMS);
    assert_int_equal(jint(res, "finished"), PROBLEMS);
    assert_int_equal(jint(res, "failed"), 0);
    json_decref(res);
}


/* Lines of the coordinator's log that contain needle ("" for all). */
static int
log_count(const cluster_t *k, const char *needle)
{
    char path[400], cmd[700];
    int st;
    cluster_path(k, "coordinator.log", path, sizeof path);
    snprintf(cmd, sizeof cmd, "grep -cF -- '%s' '%s'", needle, path);
    char *out = test_capture(cmd, &st);
    int n = atoi(out);
    free(out);
    return n;
}


/*
** Wait (bounded) for a line of the coordinator's log after its first `after`
** lines that contains needle; the number after "requeued " in it.  The log
** is the only outside view of a drop, so this reads it again every 50 ms.
*/
static int
wait_drop(const cluster_t *k, int after, const char *needle)
{
    char path[400], cmd[900];
    int st;
    cluster_path(k, "coordinator.log", path, sizeof path);
    snprintf(cmd, sizeof cmd, "tail -n +%d '%s' | grep -F -m1 -- '%s'",
             after + 1, path, needle);
    for (int tries = 0; tries < 600; tries++) {
        char *out = test_capture(cmd, &st);
        const char *n = strstr(out, "requeued ");
        int requeued = n ? atoi(n + 9) : -1;
        free(out);
        if (requeued >= 0)
            return requeued;
        cluster_pause_ms(50);
    }
    fail_msg("the coordinator never logged '%s'", needle);
    return -1;
}


/* ---- a mute peer -------------------------------------------------------- */

typedef struct mute {
    const char *endpoint;
    void *zctx;
    atomic_int stop, joined;
    atomic_long received;  /* requests taken and never answered */
    atomic_llong first_ms; /* wall clock of the first one */
    pthread_t thread;
} mute_t;


/* Announce as small-pool peer "mute-1", heartbeat, read, never answer. */
static void *
mute_main(void *arg)
{
    mute_t *m = arg;
    char err[256];
    peer_opts_t o = {0};

    o.endpoint = m->endpoint;
    o.role = TRIM__ROLE__ROLE_SMALL;
    o.credit = 16;
    o.name = "mute-1";
    o.backend = "mute";
    o.heartbeat_ms = atoi(CLUSTER_HB);
    o.liveness = atoi(LIVENESS);
    o.reconnect_max_ms = 400;
    peer_t *p = peer_new(m->zctx, &o, err, sizeof err);
    atomic_store(&m->joined, p != NULL);
    while (p != NULL && !atomic_load(&m->stop)) {
        int ms = peer_tick(p);
        void *s = peer_socket(p);
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        zmq_poll(s ? &it : NULL, s ? 1 : 0, ms < 50 ? ms : 50);
        Trim__Envelope *env;
        while (peer_recv(p, &env) == 1) {
            if (env->body_case != TRIM__ENVELOPE__BODY_GENERATE)
                continue;
            long long none = 0;
            atomic_compare_exchange_strong(&m->first_ms, &none,
                                           (long long)clock_wall_ms());
            atomic_fetch_add(&m->received, (long)env->generate->n_items);
        }
    }
    peer_destroy(&p);
    return NULL;
}


/* Wall-clock ms of the first log line containing needle, or -1. */
static int64_t
log_line_ms(const cluster_t *k, const char *needle)
{
    char path[400], cmd[700];
    int st, y, mo, d, h, mi, s, ms;
    cluster_path(k, "coordinator.log", path, sizeof path);
    snprintf(cmd, sizeof cmd, "grep -F -m1 -- '%s' '%s'", needle, path);
    char *out = test_capture(cmd, &st);
    int64_t t = -1;
    if (sscanf(out, "%d-%d-%dT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &s, &ms) ==
        7) {
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = s};
        t = (int64_t)timegm(&tm) * 1000 + ms;
    }
    free(out);
    return t;
}


static void
test_mute_peer_is_bypassed_and_quarantined(void **state)
{
    (void)state;
    cluster_t k;
    mute_t m = {0};

    start_cluster(&k, "--request-deadline-ms", "1000", "2", "4");
    m.endpoint = k.endpoint;
    m.zctx = zmq_ctx_new();
    assert_non_null(m.zctx);
    assert_int_equal(pthread_create(&m.thread, NULL, mute_main, &m), 0);
    cluster_wait_pools(&k, 2, 1, 1, 1);
    assert_true(atomic_load(&m.joined));

    /* The mute peer has the most credit: it is handed the first drafts. */
    int64_t run = cluster_submit_sim(&k, PROBLEMS, 7, POLICY);
    wait_all_finished(&k, run);
    long held = atomic_load(&m.received);
    assert_true(held > 0);

    /* Logged once, and the time from its first request to the requeue. */
    assert_int_equal(log_count(&k, "quarantined small peer mute-1"), 1);
    int64_t requeued = log_line_ms(&k, "quarantined small peer mute-1");
    print_message("mute peer held %ld requests; requeued %lld ms after the "
                  "first (deadline 1000 ms)\n",
                  held, (long long)(requeued - atomic_load(&m.first_ms)));

    atomic_store(&m.stop, 1);
    pthread_join(m.thread, NULL);
    zmq_ctx_term(m.zctx);
    cluster_stop(&k);

    /* Each request it held was drafted again by small-1 at attempt 1. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(k.db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "worker='mute-1'"),
                     0);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "kind='draft' AND attempt=1"),
                     held);
    assert_int_equal(sql_int(h, "SELECT COUNT(*) FROM steps WHERE "
                                "attempt>1"),
                     0);
    sqlite3_close(h);
    cluster_check_steps(k.db);
}


/* ---- SIGSTOP ------------------------------------------------------------ */

static void
test_stopped_only_worker(void **state)
{
    (void)state;
    cluster_t k;

    int small = start_cluster(&k, NULL, NULL, VICTIM_MS, VICTIM_CREDIT);
    cluster_wait_pools(&k, 1, 1, 1, 1);
    int64_t run = cluster_submit_sim(&k, PROBLEMS, 3, POLICY);
    int waiter = cluster_spawn_wait(&k, run);
    cluster_wait_finished(&k, 2);

    /* Stopped, its sockets stay open: only the silence shows. */
    int lines = log_count(&k, "");
    assert_int_equal(kill(small, SIGSTOP), 0);
    int requeued = wait_drop(
        &k, lines, "dropped small peer small-1 (silent past its liveness)");
    print_message("the stopped worker was dropped; %d requests requeued\n",
                  requeued);
    assert_true(requeued > 0); /* the only small worker always holds some */

    /* Back, it rejoins and the run finishes. */
    assert_int_equal(kill(small, SIGCONT), 0);
    json_t *res = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(res, "finished"), PROBLEMS);
    assert_int_equal(jint(res, "failed"), 0);
    json_decref(res);
    cluster_stop(&k);
    cluster_check_steps(k.db);
}


/* ---- a network cut ------------------------------------------------------ */

/* Byte pipe between connections accepted on one address and upstream. */
typedef struct relay {
    int listener;
    struct sockaddr_in up;
    atomic_int stop;
    pthread_t thread;
} relay_t;

#define RELAY_FDS 16


/* Copy what fd has to its partner; -1 when the pair is finished. */
static int
relay_copy(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w =
            send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0)
            return -1;
        off += w;
    }
    return n > 0 ? 0 : -1;
}


static void *
relay_main(void *arg)
{
    relay_t *r = arg;
    int fd[RELAY_FDS]; /* pairs: accepted, upstream */
    int n = 0;

    while (!atomic_load(&r->stop)) {
        struct pollfd p[1 + RELAY_FDS] = {{r->listener, POLLIN, 0}};
        for (int i = 0; i < n; i++)
            p[1 + i] = (struct pollfd){fd[i], POLLIN, 0};
        if (poll(p, (nfds_t)(1 + n), 50) <= 0)
            continue;
        for (int i = 0; i < n; i += 2) {
            int dead = ((p[1 + i].revents && relay_copy(fd[i], fd[i + 1])) ||
                        (p[2 + i].revents && relay_copy(fd[i + 1], fd[i])));
            if (dead) {
                close(fd[i]);
                close(fd[i + 1]);
                fd[i] = fd[i + 1] = -1;
            }
        }
        for (int i = 0; i < n;) /* drop finished pairs */
            if (fd[i] < 0) {
                memmove(fd + i, fd + i + 2, (size_t)(n - i - 2) * sizeof *fd);
                n -= 2;
            } else {
                i += 2;
            }
        if (p[0].revents & POLLIN) {
            int a = accept(r->listener, NULL, NULL);
            int b = socket(AF_INET, SOCK_STREAM, 0);
            if (a >= 0 && b >= 0 && n + 2 <= RELAY_FDS &&
                connect(b, (struct sockaddr *)&r->up, sizeof r->up) == 0) {
                fd[n++] = a;
                fd[n++] = b;
            } else {
                close(a);
                close(b);
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(fd[i]);
    return NULL;
}


/* The namespace, its veth pair and what runs in it; torn down always. */
typedef struct netcut {
    char ns[32], host_if[16], ns_if[16], host_ip[32], ns_ip[32], ip[256];
    int made, worker;
} netcut_t;

static netcut_t g_net;


/* Run `ip ARGS` (a format); its exit status. */
static int ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ip(const char *fmt, ...)
{
    char args[512], cmd[900];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", g_net.ip, args);
    char *out = test_capture(cmd, &st);
    if (st != 0)
        print_message("%s: %s", cmd, out);
    free(out);
    return st;
}


static int
netcut_setup(void **state)
{
    (void)state;
    int st, pid = (int)getpid();
    netcut_t *n = &g_net;

    memset(n, 0, sizeof *n);
    char *out = test_capture("command -v ip", &st);
    snprintf(n->ip, sizeof n->ip, "%s", st == 0 ? strtok(out, "\n") : "");
    free(out);
    snprintf(n->ns, sizeof n->ns, "trim-deadline-%d", pid);
    snprintf(n->host_if, sizeof n->host_if, "tdl%dh", pid % 10000000);
    snprintf(n->ns_if, sizeof n->ns_if, "tdl%dn", pid % 10000000);
    snprintf(n->host_ip, sizeof n->host_ip, "10.251.%d.1", pid % 250);
    snprintf(n->ns_ip, sizeof n->ns_ip, "10.251.%d.2", pid % 250);
    if (geteuid() != 0 || n->ip[0] == '\0' || ip("netns add %s", n->ns) != 0)
        return 0; /* the test skips, saying why */
    n->made = 1;
    if (ip("link add %s type veth peer name %s", n->host_if, n->ns_if) ||
        ip("link set %s netns %s", n->ns_if, n->ns) ||
        ip("addr add %s/30 dev %s", n->host_ip, n->host_if) ||
        ip("link set %s up", n->host_if) ||
        ip("netns exec %s %s addr add %s/30 dev %s", n->ns, n->ip, n->ns_ip,
           n->ns_if) ||
        ip("netns exec %s %s link set %s up", n->ns, n->ip, n->ns_if) ||
        ip("netns exec %s %s link set lo up", n->ns, n->ip))
        n->made = -1;
    return 0;
}


static int
netcut_teardown(void **state)
{
    (void)state;
    netcut_t *n = &g_net;
    if (n->worker > 0)
        test_stop_child(n->worker, SIGKILL);
    if (n->made) {
        ip("link del %s", n->host_if); /* takes its peer along */
        ip("netns del %s", n->ns);
    }
    return 0;
}


static void
test_worker_cut_off_by_the_network(void **state)
{
    (void)state;
    netcut_t *n = &g_net;
    cluster_t k;
    relay_t r = {0};
    char relay_at[400];

    if (n->made == 0)
        test_skip("needs root and iproute2 to make a network namespace "
                  "(uid %d, ip '%s')",
                  (int)geteuid(), n->ip);
    assert_int_equal(n->made, 1);

    start_cluster(&k, NULL, NULL, NULL, NULL);

    /* The relay: host end of the veth -> the coordinator on 127.0.0.1. */
    int port = test_free_port();
    struct sockaddr_in at = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, n->host_ip, &at.sin_addr);
    r.up.sin_family = AF_INET;
    r.up.sin_port = htons((uint16_t)atoi(strrchr(k.endpoint, ':') + 1));
    inet_pton(AF_INET, "127.0.0.1", &r.up.sin_addr);
    r.listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r.listener >= 0);
    assert_int_equal(bind(r.listener, (struct sockaddr *)&at, sizeof at), 0);
    assert_int_equal(listen(r.listener, 4), 0);
    assert_int_equal(pthread_create(&r.thread, NULL, relay_main, &r), 0);

    /* The only small worker, inside the namespace. */
    char log[400];
    snprintf(relay_at, sizeof relay_at, "tcp://%s:%d", n->host_ip, port);
    cluster_path(&k, "small-ns.log", log, sizeof log);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "exec %s netns exec %s %s worker --pool small --connect %s "
             "--name small-ns --heartbeat-ms %s --liveness %s --credit %s "
             "--sim-base-ms %s",
             n->ip, n->ns, test_bin(), relay_at, CLUSTER_HB, LIVENESS,
             VICTIM_CREDIT, VICTIM_MS);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    n->worker = test_spawn(log, argv);
    cluster_wait_pools(&k, 1, 1, 1, 1);

    int64_t run = cluster_submit_sim(&k, PROBLEMS, 9, POLICY);
    int waiter = cluster_spawn_wait(&k, run);
    cluster_wait_finished(&k, 2);
    /* The cut: packets vanish, no FIN or RST reaches anyone. */
    int lines = log_count(&k, "");
    assert_int_equal(ip("link set %s down", n->host_if), 0);
    int requeued = wait_drop(
        &k, lines, "dropped small peer small-ns (silent past its liveness)");
    print_message("the cut-off worker was dropped; %d requests requeued\n",
                  requeued);
    assert_true(requeued > 0); /* the only small worker always holds some */

    /* A worker on loopback finishes the run. */
    cluster_start_worker(&k, "small", "small-1", "10", "4", liveness);

    json_t *res = cluster_wait_result(&k, waiter);
    assert_int_equal(jint(res, "finished"), PROBLEMS);
    assert_int_equal(jint(res, "failed"), 0);
    json_decref(res);
    atomic_store(&r.stop, 1);
    pthread_join(r.thread, NULL);
    close(r.listener);
    cluster_stop(&k);
    cluster_check_steps(k.db);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mute_peer_is_bypassed_and_quarantined),
        cmocka_unit_test(test_stopped_only_worker),
        cmocka_unit_test_setup_teardown(test_worker_cut_off_by_the_network,
                                        netcut_setup, netcut_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
