/*
** cmd_watch.c: `trim watch`, print routing decisions live.
**
** Subscribes to the decision feed of one or more routers.  The feed is
** best effort (a subscriber that falls behind loses messages, and one that
** joins late misses the start); batches carry a per-router sequence number,
** so lost batches are reported instead of passing silently.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "client.h"
#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "escape.h"
#include "signals.h"
#include "sock.h"

static const char description[] =
    "Subscribe to the decision feed of the routers (--feed, comma-separated\n"
    "addresses) and print each decision as it is made: problem, step,\n"
    "attempt, action, probability and the policy's reason.";


static void
print_decision(const Trim__RouteDecision *d, uint64_t seq, int json)
{
    const char *action = d->error[0] ? "error"
                         : d->action == TRIM__ACTION__ACTION_REGENERATE
                             ? "regenerate"
                             : "keep";
    if (json) {
        json_t *j = json_pack(
            "{s:I, s:I, s:i, s:i, s:s, s:f, s:s}", "sequence", (json_int_t)seq,
            "problem_id", (json_int_t)d->key->problem_id, "step",
            (int)d->key->step_index, "attempt", (int)d->key->attempt, "action",
            action, "prob", (double)d->prob, "reason",
            d->error[0] ? d->error : d->reason);
        char *s = json_dumps(j, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
        json_decref(j);
        return;
    }
    printf("problem %-6llu step %-3u attempt %u  %-10s p=%.3f  ",
           (unsigned long long)d->key->problem_id, d->key->step_index,
           d->key->attempt, action, (double)d->prob);
    esc_fputs(d->error[0] ? d->error : d->reason, NULL, stdout);
    putchar('\n');
}


/*
** Connect a SUB socket to every address of the comma-separated feed,
** with CURVE when keys is set, its connections reported to *monitor (a
** PAIR socket, attached before the first connect so that no event is
** missed).  Returns the socket, or NULL with err.
*/
static void *
subscribe(void *zctx, const char *feed, const curve_keys_t *keys,
          const char *server_pub, void **monitor, char *err, size_t errlen)
{
    void *sub = sock_new(zctx, ZMQ_SUB, err, errlen);
    char *addrs = strdup(feed), name[64];

    if (sub == NULL || addrs == NULL ||
        (keys && curve_client(sub, keys, server_pub, err, errlen) < 0))
        goto fail;
    snprintf(name, sizeof name, "inproc://watch-monitor-%p", sub);
    if (zmq_socket_monitor(sub, name, ZMQ_EVENT_CONNECTED) != 0 ||
        (*monitor = sock_new(zctx, ZMQ_PAIR, err, errlen)) == NULL ||
        zmq_connect(*monitor, name) != 0) {
        errf(err, errlen, "cannot watch the feed's connections: %s",
             zmq_strerror(zmq_errno()));
        goto fail;
    }
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    for (char *save = NULL, *a = strtok_r(addrs, ",", &save); a;
         a = strtok_r(NULL, ",", &save)) {
        if (sock_ipv6_for(sub, a) != 0 || zmq_connect(sub, a) != 0) {
            errf(err, errlen, "cannot connect to %s: %s", a,
                 zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    free(addrs);
    return sub;
fail:
    if (addrs == NULL)
        errf(err, errlen, "out of memory");
    free(addrs);
    if (sub)
        zmq_socket_monitor(sub, NULL, 0);
    sock_destroy(monitor);
    sock_destroy(&sub);
    return NULL;
}


/*
** Wait until sub has a connection to every address of the comma-separated
** feed, as monitor (from subscribe) reports them; then stop and close the
** monitor.  0, or -1 with err naming the addresses nothing accepted within
** timeout_ms (a SUB socket never says otherwise: without this a missing
** router looked like a quiet one).
*/
static int
await_feed(void *sub, void **monitor, const char *feed, int64_t timeout_ms,
           char *err, size_t errlen)
{
    char missing[1024] = "";
    size_t n = 1, seen = 0;
    char **got;
    int rc = -1;

    for (const char *p = feed; *p; p++)
        n += *p == ',';
    if ((got = calloc(n, sizeof *got)) == NULL) {
        errf(err, errlen, "out of memory");
        goto done;
    }
    int64_t deadline = clock_now_ms() + timeout_ms;
    while (seen < n) {
        int64_t left = deadline - clock_now_ms();
        zmq_pollitem_t item = {*monitor, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&item, 1, (long)left) <= 0)
            break;
        zmq_msg_t event, addr;
        zmq_msg_init(&event);
        zmq_msg_init(&addr);
        if (zmq_msg_recv(&event, *monitor, 0) >= 0 &&
            zmq_msg_recv(&addr, *monitor, 0) >= 0 &&
            (got[seen] = strndup(zmq_msg_data(&addr), zmq_msg_size(&addr))))
            seen++;
        zmq_msg_close(&event);
        zmq_msg_close(&addr);
    }
    /* The addresses no event named, as the user gave them. */
    for (const char *p = feed; *p;) {
        size_t len = strcspn(p, ","), k = 0;
        while (k < seen &&
               !(strlen(got[k]) == len && strncmp(got[k], p, len) == 0))
            k++;
        if (k == seen)
            snprintf(missing + strlen(missing),
                     sizeof missing - strlen(missing), "%s%.*s",
                     *missing ? ", " : "", (int)len, p);
        p += len + (p[len] == ',');
    }
    if (*missing)
        errf(err, errlen,
             "no router feed at %s (nothing accepted a connection within "
             "%lld ms; start 'trim router --pub ADDR', name the feed with "
             "--feed, or wait longer with --connect-timeout-ms)",
             missing, (long long)timeout_ms);
    else
        rc = 0;
done:
    zmq_socket_monitor(sub, NULL, 0);
    sock_destroy(monitor);
    for (size_t k = 0; got && k < seen; k++)
        free(got[k]);
    free(got);
    return rc;
}


/*
** Print the decisions that arrive on sub until stop is set or count of them
** (0: no limit) are printed.  several_routers: the feed merges routers, so
** sequence numbers have gaps.
*/
static void
watch(void *sub, atomic_int *stop, int several_routers, int64_t count, int json)
{
    uint64_t last_seq = 0, seen = 0;
    char err[256];

    while (!atomic_load(stop) && (count == 0 || seen < (uint64_t)count)) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        zmq_msg_t msg;
        int extra;
        if (sock_recv(sub, 0, NULL, NULL, &msg, &extra) != 1)
            continue;
        Trim__Envelope *env =
            env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
        zmq_msg_close(&msg);
        if (env == NULL || env->body_case != TRIM__ENVELOPE__BODY_DECISIONS) {
            env_destroy(&env);
            continue;
        }
        const Trim__DecisionBatch *b = env->decisions;
        /* With one router, sequence numbers run without gaps. */
        if (!several_routers && last_seq && b->sequence > last_seq + 1)
            fprintf(stderr,
                    "trim watch: %llu decision batches lost (feed "
                    "overrun or reconnect)\n",
                    (unsigned long long)(b->sequence - last_seq - 1));
        last_seq = b->sequence;
        for (size_t i = 0;
             i < b->n_items && (count == 0 || seen < (uint64_t)count);
             i++, seen++)
            print_decision(b->items[i], b->sequence, json);
        fflush(stdout);
        env_destroy(&env);
    }
}


int
cmd_watch(int argc, char **argv)
{
    const char *feed = "tcp://127.0.0.1:5556", *curve_secret = "";
    const char *server_key = "";
    int64_t count = 0, connect_timeout = CLIENT_CONNECT_TIMEOUT_DEFAULT;
    int json = 0;
    const flag_t flags[] = {
        {"feed", FLAG_STRING, &feed, 0, 0,
         "decision feed address(es) of the routers, comma-separated"},
        {"count", FLAG_INT, &count, 0, 1e12,
         "exit after this many decisions (0: run until interrupted)"},
        {"json", FLAG_BOOL, &json, 0, 0, "one JSON object per decision"},
        CLIENT_FLAG_CONNECT_TIMEOUT(&connect_timeout, "router feed"),
        CLIENT_FLAGS_CURVE(&curve_secret, &server_key, "client", "router"),
    };
    const size_t n = sizeof flags / sizeof *flags;
    int curve_on;
    char err[512], server_pub[41];
    curve_keys_t keys = {0};
    void *zctx, *sub, *monitor = NULL;
    int rc =
        cli_parse("watch", "[FLAGS]", description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if (*feed == '\0') {
        fprintf(stderr, "trim watch: --feed names no router feed\n");
        return 2;
    }
    if (client_curve("watch", curve_secret, server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    atomic_int *stop = signals_stop_flag();
    zctx = zmq_ctx_new();
    sub = subscribe(zctx, feed, curve_on ? &keys : NULL, server_pub, &monitor,
                    err, sizeof err);
    curve_keys_clear(&keys);
    rc = sub == NULL ||
         await_feed(sub, &monitor, feed, connect_timeout, err, sizeof err) < 0;
    if (rc)
        fprintf(stderr, "trim watch: %s\n", err);
    else
        watch(sub, stop, strchr(feed, ',') != NULL, count, json);
    sock_destroy(&sub);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
