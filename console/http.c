/*
** http.c: the console's own listener, `trim console --listen` (see
** console.h).
*/
#include "console_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "errf.h"
#include "listen.h"
#include "log.h"

struct console_http {
    console_t *c;
    struct MHD_Daemon *mhd;
    int fd, port;
    char url[300];
};


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_len, void **state)
{
    console_http_t *h = cls;

    (void)version;
    (void)upload;
    if (*state == NULL) { /* first call: headers only; answer on the next */
        *state = h;
        return MHD_YES;
    }
    if (*upload_len != 0) { /* a body: the answer (405 or a page) ignores it */
        *upload_len = 0;
        return MHD_YES;
    }
    return console_answer(h->c, conn, method, url, NULL);
}


console_http_t *
console_http_new(console_t *c, const char *listen, char *err, size_t errlen)
{
    console_http_t *h;

    if ((h = calloc(1, sizeof *h)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    h->c = c;
    h->fd = listen_on(listen, "--listen", &h->port, h->url, sizeof h->url, err,
                      errlen);
    if (h->fd < 0)
        goto fail;
    /* One thread answers every request: the console's reads are short and
    ** one at a time on its connection anyway. */
    h->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
        MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        32u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_EXTERNAL_LOGGER,
        listen_mhd_log, "console", MHD_OPTION_END);
    if (h->mhd == NULL) {
        errf(err, errlen, "cannot start the console on %s", h->url);
        goto fail;
    }
    tlog(TLOG_INFO, "console", "serving on %s/", h->url);
    return h;
fail:
    console_http_destroy(&h);
    return NULL;
}


int
console_http_port(const console_http_t *h)
{
    return h->port;
}


void
console_http_destroy(console_http_t **hp)
{
    console_http_t *h = hp ? *hp : NULL;

    if (h == NULL)
        return;
    if (h->mhd != NULL)
        MHD_stop_daemon(h->mhd); /* closes the listening socket too */
    else if (h->fd >= 0)
        close(h->fd);
    free(h);
    *hp = NULL;
}
