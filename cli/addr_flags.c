/*
** addr_flags.c: checking the address flags of the trim commands (see
** addr_flags.h).
*/
#include "addr_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"

#define MAX_ADDR 1024


/*
** Check "HOST:PORT" or "[V6]:PORT": a host, and a port of digits in
** [min_port, 65535], or "*" when star is allowed.  0, or -1 with err.
*/
static int
check_host_port(const char *hp, int min_port, int star, char *err,
                size_t errlen)
{
    const char *colon = strrchr(hp, ':'), *port;

    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':' || close == hp + 1)
            return errf(err, errlen, "expected [IPV6]:PORT, e.g. [::1]:5555");
        colon = close + 1;
    } else if (colon == NULL || colon == hp) {
        return errf(err, errlen, "expected HOST:PORT, e.g. 127.0.0.1:5555");
    }
    port = colon + 1;
    if (star && strcmp(port, "*") == 0)
        return 0;
    size_t digits = strspn(port, "0123456789");
    long v =
        digits > 0 && digits <= 5 && port[digits] == '\0' ? atol(port) : -1;
    if (v < min_port || v > 65535)
        return errf(err, errlen, "port '%s' is not in %d..65535%s", port,
                    min_port,
                    star            ? " (or *: any free port)"
                    : min_port == 0 ? " (0: any free port)"
                                    : "");
    return 0;
}


int
addr_check(addr_kind_t kind, const char *addr, char *err, size_t errlen)
{
    if (kind == ADDR_HTTP_LISTEN) {
        if (strstr(addr, "://") != NULL)
            return errf(err, errlen, "expected HOST:PORT, not a URL");
        return check_host_port(addr, 0, 0, err, errlen);
    }
    if (strstr(addr, "://") == NULL)
        return errf(err, errlen,
                    "expected a ZeroMQ endpoint, e.g. tcp://127.0.0.1:5555");
    if (strncmp(addr, "tcp://", 6) != 0)
        return 0; /* ipc://, inproc://: libzmq checks them */
    /* tcp://SOURCE;HOST:PORT names a source address first */
    const char *hp = strchr(addr, ';') ? strchr(addr, ';') + 1 : addr + 6;
    return check_host_port(hp, 1, kind == ADDR_ZMQ_BIND, err, errlen);
}


/* The address flags; the first row that fits a command's flag wins. */
static const struct {
    const char *cmd; /* NULL: any command */
    const char *flag;
    addr_kind_t kind;
} address_flags[] = {
    {NULL, "connect", ADDR_ZMQ_CONNECT},
    {NULL, "feed", ADDR_ZMQ_CONNECT},
    {NULL, "pub", ADDR_ZMQ_BIND},
    {"sim-server", "bind", ADDR_HTTP_LISTEN},
    {NULL, "bind", ADDR_ZMQ_BIND},
    {NULL, "listen", ADDR_HTTP_LISTEN},
    {NULL, "metrics-listen", ADDR_HTTP_LISTEN},
};


/* The kind of cmd's flag name, or -1: not an address. */
static int
flag_kind(const char *cmd, const char *name)
{
    for (size_t i = 0; i < sizeof address_flags / sizeof *address_flags; i++)
        if ((address_flags[i].cmd == NULL ||
             strcmp(address_flags[i].cmd, cmd) == 0) &&
            strcmp(address_flags[i].flag, name) == 0)
            return (int)address_flags[i].kind;
    return -1;
}


int
addr_flags_check(const char *cmd, const flag_t *flags, size_t n)
{
    char err[256], one[MAX_ADDR];

    for (size_t i = 0; i < n; i++) {
        const char *value = flags[i].type == FLAG_STRING
                                ? *(const char *const *)flags[i].value
                                : NULL;
        int kind = value ? flag_kind(cmd, flags[i].name) : -1;
        if (kind < 0 || *value == '\0')
            continue;
        /* --feed lists several; the others hold one address */
        for (const char *p = value; *p;) {
            size_t len = strcmp(flags[i].name, "feed") == 0 ? strcspn(p, ",")
                                                            : strlen(p);
            snprintf(one, sizeof one, "%.*s", (int)len, p);
            if (len >= sizeof one ||
                addr_check((addr_kind_t)kind, one, err, sizeof err) < 0) {
                fprintf(stderr, "trim %s: --%s '%s': %s\n", cmd, flags[i].name,
                        value, len >= sizeof one ? "too long" : err);
                return -1;
            }
            p += len;
            if (*p == ',')
                p++;
        }
    }
    return 0;
}
