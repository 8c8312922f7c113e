/*
** http.c: the console's own listener, `trim console --listen` (see
** console.h).
*/
#include "console_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "errf.h"
#include "http_listener.h"
#include "log.h"

/* The names a Host header may carry: the --listen host, three loopback
** names and the --allow-host ones. */
#define CON_MAX_HOSTS 12

struct console_http {
    console_t *c;
    http_listener_t l;
    char hosts[CON_MAX_HOSTS][256]; /* the names a Host header may carry */
    int n_hosts;
};


/*
** 1 when the Host header names this server: one of h->hosts followed by
** ":PORT", or the bare name when the port is 80.  Refusing every other
** name is what stops DNS rebinding: a web page whose name was made to
** resolve to 127.0.0.1 reaches the listener, but its requests carry that
** page's name, not ours.
*/
static int
host_allowed(const console_http_t *h, const char *host)
{
    char port[16];

    if (host == NULL)
        return 0;
    snprintf(port, sizeof port, "%d", h->l.port);
    for (int i = 0; i < h->n_hosts; i++) {
        size_t n = strlen(h->hosts[i]);
        if (strncasecmp(host, h->hosts[i], n) != 0)
            continue;
        if (host[n] == ':' && strcmp(host + n + 1, port) == 0)
            return 1;
        if (host[n] == '\0' && h->l.port == 80)
            return 1;
    }
    return 0;
}


/* 421 Misdirected Request, for a Host that is not this server's. */
static enum MHD_Result
answer_misdirected(const console_http_t *h, struct MHD_Connection *conn,
                   const char *host)
{
    char msg[600];
    struct MHD_Response *r;
    enum MHD_Result ret;
    int n = snprintf(msg, sizeof msg,
                     "misdirected request: Host %.200s is not this console's "
                     "(open %s/, or start it with --allow-host)\n",
                     host ? host : "(none)", h->l.url);

    r = MHD_create_response_from_buffer((size_t)n, msg, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, 421, r);
    MHD_destroy_response(r);
    return ret;
}


/* Add name (of len bytes) to the names a Host header may carry. */
static int
add_host(console_http_t *h, const char *name, size_t len, char *err,
         size_t errlen)
{
    if (len == 0)
        return 0;
    if (h->n_hosts == CON_MAX_HOSTS || len >= sizeof h->hosts[0]) {
        errf(err, errlen, "--allow-host: more than %d names, or one too long",
             CON_MAX_HOSTS - 4);
        return -1;
    }
    memcpy(h->hosts[h->n_hosts], name, len);
    h->hosts[h->n_hosts++][len] = '\0';
    return 0;
}


/*
** The names this server answers to: the --listen host; on loopback also
** 127.0.0.1, localhost and [::1]; and each name of allow (comma-separated).
*/
static int
allow_hosts(console_http_t *h, const char *allow, char *err, size_t errlen)
{
    const char *host = h->l.url + strlen("http://"),
               *colon = strrchr(host, ':');
    struct sockaddr_storage sa;
    socklen_t salen = sizeof sa;
    int loopback = 0;

    if (add_host(h, host, (size_t)(colon - host), err, errlen) < 0)
        return -1;
    if (getsockname(h->l.fd, (struct sockaddr *)&sa, &salen) == 0) {
        if (sa.ss_family == AF_INET)
            loopback =
                ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr) >> 24 ==
                127;
        else if (sa.ss_family == AF_INET6)
            loopback =
                IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&sa)->sin6_addr);
    }
    if (loopback && (add_host(h, "127.0.0.1", 9, err, errlen) < 0 ||
                     add_host(h, "localhost", 9, err, errlen) < 0 ||
                     add_host(h, "[::1]", 5, err, errlen) < 0))
        return -1;
    while (allow != NULL && *allow != '\0') {
        size_t n = strcspn(allow, ",");
        if (add_host(h, allow, n, err, errlen) < 0)
            return -1;
        allow += n + (allow[n] == ',');
    }
    return 0;
}


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_len, void **state)
{
    console_http_t *h = cls;

    const char *host;

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
    host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_HOST);
    if (!host_allowed(h, host))
        return answer_misdirected(h, conn, host);
    return console_answer(h->c, conn, method, url, NULL);
}


console_http_t *
console_http_new(console_t *c, const char *listen, const char *allow_host,
                 char *err, size_t errlen)
{
    console_http_t *h;

    if ((h = calloc(1, sizeof *h)) == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    h->c = c;
    /* One thread answers every request: the console's reads are short and
    ** one at a time on its connection anyway. */
    if (http_listener_bind(&h->l, listen, "--listen", err, errlen) < 0 ||
        allow_hosts(h, allow_host, err, errlen) < 0 ||
        http_listener_start(&h->l, on_request, h, 32, 30, "console",
                            "the console", err, errlen) < 0)
        goto fail;
    tlog(TLOG_INFO, "console", "serving on %s/", h->l.url);
    return h;
fail:
    console_http_destroy(&h);
    return NULL;
}


int
console_http_port(const console_http_t *h)
{
    return h->l.port;
}


void
console_http_destroy(console_http_t **hp)
{
    console_http_t *h = hp ? *hp : NULL;

    if (h == NULL)
        return;
    http_listener_stop(&h->l);
    free(h);
    *hp = NULL;
}
