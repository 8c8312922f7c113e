/*
** listen.c: the listening socket for "HOST:PORT" (see listen.h).
*/
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errf.h"
#include "listen.h"
#include "log.h"

#define BACKLOG 512


/* Split "HOST:PORT" or "[V6]:PORT" into host (brackets removed) and port. */
static int
split_bind(const char *bind, char *host, size_t hostlen, char *port,
           size_t portlen, int *v6)
{
    const char *colon, *h = bind;
    size_t hl;

    *v6 = 0;
    if (*bind == '[') {
        const char *close = strchr(bind, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = bind + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
        *v6 = 1;
    } else {
        if ((colon = strrchr(bind, ':')) == NULL)
            return -1;
        hl = (size_t)(colon - bind);
    }
    if (hl == 0 || hl >= hostlen || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= portlen)
        return -1;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return atol(port) <= 65535 ? 0 : -1;
}


/* The addresses listen_on tries for host and port into *res: getaddrinfo's
** return (0 or an EAI_ code). */
static int
resolve(const char *host, const char *port, struct addrinfo **res)
{
    struct addrinfo hints;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    *res = NULL;
    return getaddrinfo(host, port, &hints, res);
}


/* The port a bound socket has. */
static int
bound_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;

    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    if (a.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
    return ntohs(((struct sockaddr_in *)&a)->sin_port);
}


int
listen_on(const char *bind_addr, const char *flag, int *port, char *url,
          size_t urllen, char *err, size_t errlen)
{
    char host[256], service[16];
    struct addrinfo *res, *ai;
    int fd = -1, v6, rc, saved = 0, one = 1;

    if (split_bind(bind_addr, host, sizeof host, service, sizeof service, &v6) <
        0)
        return errf(err, errlen,
                    "%s '%s': expected HOST:PORT (or [IPV6]:PORT) with a "
                    "port in 0..65535",
                    flag, bind_addr);
    if ((rc = resolve(host, service, &res)) != 0)
        return errf(err, errlen, "%s '%s': %s", flag, bind_addr,
                    gai_strerror(rc));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, BACKLOG) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return errf(err, errlen, "%s '%s': %s", flag, bind_addr,
                    strerror(saved ? saved : EADDRNOTAVAIL));
    *port = bound_port(fd);
    snprintf(url, urllen, v6 ? "http://[%s]:%d" : "http://%s:%d", host, *port);
    return fd;
}


/*
** 1 when host resolves, and only to loopback addresses (127.0.0.0/8, ::1):
** the addresses listen_on may bind, not the text, decide (a host name
** could name any address).
*/
static int
resolves_to_loopback(const char *host, const char *port)
{
    struct addrinfo *res, *ai;
    int loopback = resolve(host, port, &res) == 0;

    for (ai = res; ai != NULL && loopback; ai = ai->ai_next) {
        const struct sockaddr_in *v4 = (const void *)ai->ai_addr;
        if (ai->ai_family == AF_INET)
            loopback = ntohl(v4->sin_addr.s_addr) >> 24 == 127;
        else if (ai->ai_family == AF_INET6)
            loopback = IN6_IS_ADDR_LOOPBACK(
                &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
        else
            loopback = 0;
    }
    if (res != NULL)
        freeaddrinfo(res);
    return loopback;
}


int
listen_check(const char *who, const char *flag, const char *bind, int insecure,
             char *err, size_t errlen)
{
    char host[256], port[16];
    int v6;

    if (split_bind(bind, host, sizeof host, port, sizeof port, &v6) < 0)
        return errf(err, errlen,
                    "%s '%s': expected HOST:PORT (or [IPV6]:PORT) with a "
                    "port in 0..65535",
                    flag, bind);
    if (resolves_to_loopback(host, port))
        return 0;
    if (!insecure)
        return errf(err, errlen,
                    "refusing to listen on %s (%s): it is not a loopback "
                    "address, and any host that reaches it is let in; use "
                    "127.0.0.1 or pass --http-insecure",
                    bind, flag);
    tlog(TLOG_WARN, who,
         "--http-insecure: listening on %s (%s), plain HTTP reachable "
         "from other hosts",
         bind, flag);
    return 0;
}


void
listen_mhd_log(void *who, const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    tlog(TLOG_DEBUG, (const char *)who, "libmicrohttpd: %s", line);
}
