/*
** http_listener.h: a small libmicrohttpd server on a listening socket of
** its own, one internal thread polling every connection: the console and
** /metrics.  (The gateway and the simulator's server run a thread per
** connection and start their own.)
*/
#ifndef TRIM_HTTP_LISTENER_H
#define TRIM_HTTP_LISTENER_H

#include <stddef.h>

#include <microhttpd.h>

typedef struct http_listener {
    struct MHD_Daemon *mhd; /* NULL until started */
    int fd, port;           /* the listening socket, -1 when none */
    char url[300];          /* "http://HOST:PORT" */
} http_listener_t;

/*
** Bind and listen on bind ("HOST:PORT", listen_on; flag names it in
** errors) into *l, not serving yet.  Returns 0, or -1 with err and l->fd
** -1.
*/
int http_listener_bind(http_listener_t *l, const char *bind, const char *flag,
                       char *err, size_t errlen);

/*
** Serve l's socket with handler (and its closure cls): at most 64
** connections, per_ip from one address, each closed after timeout_s idle;
** libmicrohttpd's messages are logged under who (a string that outlives
** the server).  Returns 0, or -1 with err naming what (e.g. "the console")
** and the address.
*/
int http_listener_start(http_listener_t *l, MHD_AccessHandlerCallback handler,
                        void *cls, unsigned per_ip, unsigned timeout_s,
                        const char *who, const char *what, char *err,
                        size_t errlen);

/*
** Stop serving (waiting for the request being answered) and close the
** socket; after a bind, started or not.  Leaves l unbound.
*/
void http_listener_stop(http_listener_t *l);

#endif
