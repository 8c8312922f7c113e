/*
** sock.h: ZeroMQ socket set-up and envelope send/receive.
**
** Every socket trim opens gets the same guards: a message size cap (checked
** by libzmq before anything is parsed), a short linger so shutdown never
** hangs on unsent messages, and high-water marks sized for batched traffic.
*/
#ifndef TRIM_SOCK_H
#define TRIM_SOCK_H

#include <stddef.h>
#include <zmq.h>

#include "trim.pb-c.h"

/*
** Create a socket of the given type with trim's standard options.  Returns
** the socket, or NULL with a reason in err.
*/
void *sock_new(void *zctx, int type, char *err, size_t errlen);

/*
** Let sock bind or connect to endpoint over IPv6 when it names a bracketed
** address (tcp://[::1]:5555); call before zmq_bind/zmq_connect.  Other
** endpoints leave sock as it is.  0, or -1 with errno.
*/
int sock_ipv6_for(void *sock, const char *endpoint);

/* Close a socket (NULL-safe) and clear the pointer. */
void sock_destroy(void **sock);

/*
** Pack env and send it as one frame, preceded by an identity frame when id
** is not NULL (ROUTER sockets).  Never blocks: flags gets ZMQ_DONTWAIT.
** Returns 0, or -1 with errno from libzmq (EAGAIN: peer's queue is full;
** EHOSTUNREACH: no such peer on a ROUTER) or EMSGSIZE if env is too big.
*/
int sock_send_env(void *sock, const void *id, size_t idlen,
                  Trim__Envelope *env);

/*
** Receive one message without blocking.  On a ROUTER socket (with_id) the
** identity frame goes to id/idlen (id holds 256 bytes).  *payload receives the
** data frame, which the caller closes.  Extra frames are drained and make
** the message count as malformed (*extra set to 1).  Returns 1 when a message
** was read, 0 when none is waiting, -1 on a socket error.
*/
int sock_recv(void *sock, int with_id, unsigned char *id, size_t *idlen,
              zmq_msg_t *payload, int *extra);

/*
** 1 when endpoint, bound, can be reached from this machine only: ipc://,
** inproc://, or tcp:// on a loopback address (127.0.0.0/8, [::1]) or a
** loopback interface ("lo"), which is how libzmq reads a bind address: a
** name is an interface, never resolved as a host (binding "localhost"
** fails).  A wildcard (*, 0.0.0.0), any other address, another interface
** and any other name count as reachable from the network: 0.
*/
int sock_endpoint_is_local(const char *endpoint);

/*
** The rule for every socket trim listens on: plaintext beyond loopback only
** when the operator asked for it.  Returns 0 when endpoint (given by the
** command-line flag `flag`) may be bound: curve_on, a local endpoint, or
** insecure, which is then logged as a WARN under who.  Otherwise -1 with err
** naming the address, the flag, and the two ways out.
*/
int sock_check_listen(const char *who, const char *flag, const char *endpoint,
                      int curve_on, int insecure, char *err, size_t errlen);

#endif
