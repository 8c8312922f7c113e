/*
** sock.c: ZeroMQ socket set-up and envelope framing (see sock.h).
*/
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "errf.h"
#include "log.h"


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


int
sock_ipv6_for(void *sock, const char *endpoint)
{
    int on = 1;

    /* Only then: with ZMQ_IPV6 set, IPv4 peers would show as
    ** ::ffff:a.b.c.d in ZAP's logs and in allow lists. */
    if (strncmp(endpoint, "tcp://[", 7) != 0)
        return 0;
    return zmq_setsockopt(sock, ZMQ_IPV6, &on, sizeof on);
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


/*
** Whether name is a network interface flagged loopback.  libzmq binds a
** tcp:// name that is no address literal to that interface's address (it
** resolves no host names for a bind, so "localhost" fails there).
*/
static int
is_loopback_interface(const char *name)
{
    struct ifaddrs *all, *i;
    int yes = 0;

    if (getifaddrs(&all) != 0)
        return 0;
    for (i = all; i != NULL && !yes; i = i->ifa_next)
        yes = strcmp(i->ifa_name, name) == 0 && (i->ifa_flags & IFF_LOOPBACK);
    freeifaddrs(all);
    return yes;
}


int
sock_endpoint_is_local(const char *endpoint)
{
    char host[128];
    const char *h, *colon;
    size_t n;

    if (strncmp(endpoint, "ipc://", 6) == 0 ||
        strncmp(endpoint, "inproc://", 9) == 0)
        return 1;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    h = endpoint + 6;
    colon = strrchr(h, ':'); /* the port follows the last colon */
    if (colon == NULL || colon == h)
        return 0;
    n = (size_t)(colon - h);
    if (h[0] == '[') { /* [IPv6] */
        if (n < 2 || h[n - 1] != ']')
            return 0;
        h++;
        n -= 2;
    }
    if (n >= sizeof host)
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return is_loopback_interface(host);
}


int
sock_check_listen(const char *who, const char *flag, const char *endpoint,
                  int curve_on, int insecure, char *err, size_t errlen)
{
    if (curve_on || sock_endpoint_is_local(endpoint))
        return 0;
    if (!insecure)
        return errf(err, errlen,
                    "refusing to listen on %s (%s) in plaintext: it is not a "
                    "loopback address, and without CURVE any host that "
                    "reaches it is let in; turn CURVE on (trim keygen, "
                    "--curve-secret) or pass --insecure",
                    endpoint, flag);
    tlog(TLOG_WARN, who,
         "--insecure: listening on %s (%s) in plaintext; any host that "
         "reaches it is let in, unencrypted and unauthenticated",
         endpoint, flag);
    return 0;
}
