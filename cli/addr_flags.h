/*
** addr_flags.h: checking the address flags of the trim commands.
**
** A port out of range is not an error to libzmq (tcp://HOST:99999 binds a
** random port) and a typo in an address only shows once a command has
** started; so every address a command is given is checked as its flags are
** parsed, and a bad one is a usage error naming the flag and the value.
** Which flags are addresses goes by their name (see addr_flags_check), so
** a new command's --listen or --connect is checked without more code.
*/
#ifndef TRIM_ADDR_FLAGS_H
#define TRIM_ADDR_FLAGS_H

#include <stddef.h>

#include "flags.h"

/* What an address flag holds. */
typedef enum {
    ADDR_ZMQ_CONNECT, /* a ZeroMQ endpoint to connect to */
    ADDR_ZMQ_BIND,    /* a ZeroMQ endpoint to bind ("tcp://HOST:*": any port) */
    ADDR_HTTP_LISTEN  /* HOST:PORT or [V6]:PORT to listen on (port 0: any) */
} addr_kind_t;

/*
** Check one address: for tcp:// endpoints a host and a port in 1..65535
** (ADDR_ZMQ_BIND also "*"); other ZeroMQ transports are left to libzmq.
** For ADDR_HTTP_LISTEN a host and a port in 0..65535.  Returns 0, or -1
** with the fault (without the flag) in err.
*/
int addr_check(addr_kind_t kind, const char *addr, char *err, size_t errlen);

/*
** Check every address flag of a parsed flag table: --connect (ZeroMQ),
** --feed (comma-separated ZeroMQ endpoints to connect to), --pub and
** --bind (ZeroMQ bind; sim-server's --bind is HTTP), --listen and
** --metrics-listen (HTTP).  An empty value is
** off and passes.  Returns 0, or -1 after printing "trim CMD: --FLAG
** 'VALUE': why".
*/
int addr_flags_check(const char *cmd, const flag_t *flags, size_t n);

#endif
