/*
** client.c: request/reply with a running coordinator (see client.h).
*/
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "errf.h"
#include "sock.h"

struct client {
    void *zctx;
    void *sock;
    uint64_t next_id;
};


client_t *
client_new(const char *endpoint, const curve_keys_t *keys,
           const char *server_key, char *err, size_t errlen)
{
    client_t *c = calloc(1, sizeof *c);

    if (c == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    /* Ids differ between runs of the command, so a stale reply from a
    ** previous client on a reused identity cannot match. */
    c->next_id = ((uint64_t)getpid() << 32) ^ (uint64_t)clock_wall_ms();
    c->zctx = zmq_ctx_new();
    if (c->zctx == NULL) {
        errf(err, errlen, "cannot create a ZeroMQ context");
        goto fail;
    }
    c->sock = sock_new(c->zctx, ZMQ_DEALER, err, errlen);
    if (c->sock == NULL)
        goto fail;
    if (keys != NULL && curve_client(c->sock, keys, server_key, err, errlen))
        goto fail;
    if (sock_ipv6_for(c->sock, endpoint) != 0 ||
        zmq_connect(c->sock, endpoint) != 0) {
        errf(err, errlen, "cannot connect to %s: %s", endpoint,
             zmq_strerror(errno));
        goto fail;
    }
    return c;
fail:
    client_destroy(&c);
    return NULL;
}


void
client_destroy(client_t **cp)
{
    if (cp && *cp) {
        client_t *c = *cp;
        sock_destroy(&c->sock);
        if (c->zctx)
            zmq_ctx_term(c->zctx);
        free(c);
        *cp = NULL;
    }
}


uint64_t
client_next_id(client_t *c)
{
    return ++c->next_id;
}


int
client_send(client_t *c, Trim__Envelope *env, char *err, size_t errlen)
{
    if (sock_send_env(c->sock, NULL, 0, env) < 0)
        return errf(err, errlen, "cannot send: %s", zmq_strerror(errno));
    return 0;
}


/* The request id of a reply body, or 0 for other bodies. */
static uint64_t
reply_id(const Trim__Envelope *env)
{
    switch (env->body_case) {
    case TRIM__ENVELOPE__BODY_SUBMIT_ACK:
        return env->submit_ack->request_id;
    case TRIM__ENVELOPE__BODY_STATUS:
        return env->status->request_id;
    case TRIM__ENVELOPE__BODY_WAIT_REPLY:
        return env->wait_reply->request_id;
    default:
        return 0;
    }
}


int
client_recv(client_t *c, Trim__Envelope__BodyCase want, uint64_t id,
            int timeout_ms, Trim__Envelope **reply, char *err, size_t errlen)
{
    int64_t deadline = clock_now_ms() + timeout_ms;
    char why[256];

    for (;;) {
        int64_t left = deadline - clock_now_ms();
        zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
        if (left <= 0)
            return 0;
        int rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return errf(err, errlen, "poll: %s", zmq_strerror(errno));
        }
        if (rc == 0)
            return 0;
        zmq_msg_t msg;
        int extra;
        if (sock_recv(c->sock, 0, NULL, NULL, &msg, &extra) != 1)
            continue;
        Trim__Envelope *env =
            extra ? NULL
                  : env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), why,
                               sizeof why);
        zmq_msg_close(&msg);
        if (env == NULL)
            continue;
        if (env->body_case == TRIM__ENVELOPE__BODY_DISCONNECT) {
            /* The coordinator refuses us (another protocol version). */
            errf(err, errlen, "the coordinator disconnected us: %s",
                 env->disconnect->reason);
            env_destroy(&env);
            return -1;
        }
        if (env->body_case == want && reply_id(env) == id) {
            *reply = env;
            return 1;
        }
        env_destroy(&env);
    }
}


int
client_call(client_t *c, Trim__Envelope *env, uint64_t id,
            Trim__Envelope__BodyCase want, int timeout_ms,
            Trim__Envelope **reply, char *err, size_t errlen)
{
    if (client_send(c, env, err, errlen) < 0)
        return -1;
    return client_recv(c, want, id, timeout_ms, reply, err, errlen);
}


int
client_status(client_t *c, int timeout_ms, Trim__Envelope **reply, char *err,
              size_t errlen)
{
    Trim__StatusRequest req = TRIM__STATUS_REQUEST__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT;

    req.request_id = client_next_id(c);
    env.body_case = TRIM__ENVELOPE__BODY_STATUS_REQUEST;
    env.status_request = &req;
    return client_call(c, &env, req.request_id, TRIM__ENVELOPE__BODY_STATUS,
                       timeout_ms, reply, err, errlen);
}


/*
** Ask for the coordinator's status within f->connect_timeout_ms; 0 when it
** answers, else 1 after printing why.
*/
static int
client_probe(const char *cmd, const client_flags_t *f, client_t *c)
{
    Trim__Envelope *reply = NULL;
    char err[512];
    int got =
        client_status(c, (int)f->connect_timeout_ms, &reply, err, sizeof err);

    env_destroy(&reply);
    if (got == 1)
        return 0;
    if (got == 0)
        fprintf(stderr,
                "trim %s: no coordinator at %s (no answer within %lld ms; "
                "start one with 'trim coordinator', name another with "
                "--connect%s, or wait longer with --connect-timeout-ms)\n",
                cmd, f->connect, (long long)f->connect_timeout_ms,
                *f->curve_secret ? ", check the CURVE keys" : "");
    else
        fprintf(stderr, "trim %s: %s: %s\n", cmd, f->connect, err);
    return 1;
}


int
client_open(const char *cmd, const client_flags_t *f, client_t **out)
{
    curve_keys_t keys = {0};
    char server_public[41] = "", err[512];
    int curve_on;

    *out = NULL;
    if (client_curve(cmd, f->curve_secret, f->server_key, &keys, server_public,
                     &curve_on) < 0)
        return 2;
    /* The socket keeps its own copy of the keys. */
    *out = client_new(f->connect, curve_on ? &keys : NULL, server_public, err,
                      sizeof err);
    curve_keys_clear(&keys);
    if (*out == NULL) {
        fprintf(stderr, "trim %s: %s\n", cmd, err);
        return 1;
    }
    if (f->connect_timeout_ms > 0 && client_probe(cmd, f, *out) != 0) {
        client_destroy(out);
        return 1;
    }
    return 0;
}


int
client_curve(const char *cmd, const char *secret_path, const char *server_key,
             curve_keys_t *keys, char server_public[41], int *enabled)
{
    char err[512];
    int have_secret = secret_path && *secret_path;
    int have_server = server_key && *server_key;

    *enabled = 0;
    if (!have_secret && !have_server)
        return 0;
    if (have_secret != have_server) {
        fprintf(stderr,
                "trim %s: CURVE needs both --curve-secret (this side's key "
                "pair) and --curve-server-key (the server's public key)\n",
                cmd);
        return -1;
    }
    if (curve_load_secret(secret_path, keys, err, sizeof err) < 0 ||
        curve_load_public(server_key, server_public, err, sizeof err) < 0) {
        fprintf(stderr, "trim %s: %s\n", cmd, err);
        return -1;
    }
    *enabled = 1;
    return 0;
}
