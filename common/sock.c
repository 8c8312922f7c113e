/*
** sock.c: ZeroMQ socket set-up and envelope framing (see sock.h).
*/
#include "sock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "errf.h"


void *
sock_new(void *zctx, int type, char *err, size_t errlen)
{
    void *s = zmq_socket(zctx, type);
    int linger = 0;
    int hwm = 100000; /* messages; each may be a batch */
    /* libzmq drops the connection of a peer sending more than this, before
    ** anything is allocated for it.  It is above the protocol's limit so
    ** that a message a little too big still reaches env_unpack, which
    ** refuses it by name: counted and logged instead of a silent
    ** disconnect. */
    int64_t maxmsg = TRIM_MAX_MESSAGE + TRIM_MAX_MESSAGE / 2;

    if (s == NULL) {
        errf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        errf(err, errlen, "zmq_setsockopt: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}


void
sock_destroy(void **sock)
{
    if (sock && *sock) {
        zmq_close(*sock);
        *sock = NULL;
    }
}


int
sock_send_env(void *sock, const void *id, size_t idlen, Trim__Envelope *env)
{
    zmq_msg_t msg;

    if (env_pack(env, &msg) < 0) {
        errno = EMSGSIZE;
        return -1;
    }
    if (id != NULL &&
        zmq_send(sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        int saved = errno;
        zmq_msg_close(&msg);
        errno = saved;
        return -1;
    }
    return 0;
}


int
sock_recv(void *sock, int with_id, unsigned char *id, size_t *idlen,
          zmq_msg_t *payload, int *extra)
{
    int more;

    *extra = 0;
    if (with_id) {
        int n = zmq_recv(sock, id, 256, ZMQ_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        *idlen = n > 256 ? 256 : (size_t)n;
    }
    zmq_msg_init(payload);
    if (zmq_msg_recv(payload, sock, with_id ? 0 : ZMQ_DONTWAIT) < 0) {
        int saved = errno;
        zmq_msg_close(payload);
        if (saved == EAGAIN && !with_id)
            return 0;
        errno = saved;
        return -1;
    }
    /* Drain any further frames: a conforming peer sends exactly one. */
    more = zmq_msg_more(payload);
    while (more) {
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        if (zmq_msg_recv(&junk, sock, 0) < 0) {
            zmq_msg_close(&junk);
            break;
        }
        more = zmq_msg_more(&junk);
        zmq_msg_close(&junk);
        *extra = 1;
    }
    return 1;
}
