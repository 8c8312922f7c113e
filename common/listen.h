/*
** listen.h: the listening TCP socket of an HTTP server ("HOST:PORT"): the
** simulator's server, /metrics, the gateway.
*/
#ifndef TRIM_LISTEN_H
#define TRIM_LISTEN_H

#include <stdarg.h>
#include <stddef.h>

/*
** Bind and listen on "HOST:PORT" (or "[V6]:PORT"; port 0: any free port),
** given by the command-line flag `flag` (for errors).  Returns the socket
** with the bound port in *port and "http://HOST:PORT" in url, or -1 with err.
*/
int listen_on(const char *bind, const char *flag, int *port, char *url,
              size_t urllen, char *err, size_t errlen);

/*
** The rule for plaintext HTTP listeners: a loopback address (127.0.0.0/8,
** [::1]) only, unless insecure (--http-insecure, distinct from the
** ZeroMQ --insecure), which is then logged as a WARN under who.  Returns 0
** when bind may be used, else -1 with err naming the address, the flag and
** --http-insecure.
*/
int listen_check(const char *who, const char *flag, const char *bind,
                 int insecure, char *err, size_t errlen);

/*
** A libmicrohttpd logger (MHD_OPTION_EXTERNAL_LOGGER): each message becomes
** one DEBUG line "libmicrohttpd: ..." under who, the logger's closure (a
** const char * that outlives the server).
*/
void listen_mhd_log(void *who, const char *fmt, va_list ap);

#endif
