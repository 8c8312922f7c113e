/*
** http_listener.c: a small libmicrohttpd server on its own socket (see
** http_listener.h).
*/
#include "http_listener.h"

#include <unistd.h>

#include "errf.h"
#include "listen.h"


int
http_listener_bind(http_listener_t *l, const char *bind, const char *flag,
                   char *err, size_t errlen)
{
    l->mhd = NULL;
    l->fd = listen_on(bind, flag, &l->port, l->url, sizeof l->url, err, errlen);
    return l->fd < 0 ? -1 : 0;
}


int
http_listener_start(http_listener_t *l, MHD_AccessHandlerCallback handler,
                    void *cls, unsigned per_ip, unsigned timeout_s,
                    const char *who, const char *what, char *err, size_t errlen)
{
    l->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handler, cls, MHD_OPTION_LISTEN_SOCKET, l->fd,
        MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        per_ip, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_EXTERNAL_LOGGER, listen_mhd_log, (void *)who,
        MHD_OPTION_END);
    if (l->mhd == NULL) {
        errf(err, errlen, "cannot start %s on %s", what, l->url);
        return -1;
    }
    return 0;
}


void
http_listener_stop(http_listener_t *l)
{
    if (l->mhd != NULL)
        MHD_stop_daemon(l->mhd); /* closes the listening socket too */
    else if (l->fd >= 0)
        close(l->fd);
    l->mhd = NULL;
    l->fd = -1;
}
