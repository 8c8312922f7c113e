/*
** console.h: `trim console`, a read-only web view of the audit store.
**
** A single-page application (console/assets/, embedded in the binary at
** build time) over a small JSON API (docs/console.md): the runs and a
** comparison of two, a run's problems filtered and paged by key, one
** problem's route trace, accuracy-cost curves, and the ROI calculator of
** cost/roi.h.  It reads the store through a read-only connection and builds
** no SQL from a request: every query is a constant prepared statement with
** bound parameters, and every query parameter is checked (400 naming it).
**
** The console answers requests on a libmicrohttpd connection it is handed,
** so it serves on its own listener (console_http_new, `trim console`) or
** under a prefix of another server's (the gateway's /console/).  Every
** answer carries a strict Content-Security-Policy (no inline script) and a
** Server-Timing header with the time spent answering.
*/
#ifndef TRIM_CONSOLE_H
#define TRIM_CONSOLE_H

#include <stddef.h>

#include <microhttpd.h>

typedef struct console console_t;

typedef struct console_opts {
    const char *db;     /* the audit store (opened read-only) */
    const char *prices; /* a price book (cost/prices.h); NULL or "": none */
    const char *curve;  /* a `trim eval` result (eval.json); NULL or "": the
                           runs of the store make the curves */
} console_opts_t;

/*
** Open the store read-only and load the price book and the curve.  Nothing
** of o is kept but copies.  Returns the console, or NULL with err naming
** the file and what is wrong with it.
*/
console_t *console_new(const console_opts_t *o, char *err, size_t errlen);

/* Close the store and free; NULL-safe, clears *c. */
void console_destroy(console_t **c);

/*
** Answer one request whose headers are in: method and path, the path
** relative to where the console is mounted ("/", "/api/runs", ...); the
** query arguments are read from conn.  Queues the response, sets *status
** to its HTTP status (status may be NULL) and returns what
** MHD_queue_response returned.  Safe to call from several threads at once
** (requests are answered one at a time).
*/
enum MHD_Result console_answer(console_t *c, struct MHD_Connection *conn,
                               const char *method, const char *path,
                               unsigned *status);

/* ---- the console's own listener (`trim console`) ------------------------ */

typedef struct console_http console_http_t;

/*
** Serve c on listen ("HOST:PORT", port 0: any free one) from a thread of
** its own.  The caller has checked listen with listen_check (loopback
** unless --http-insecure).  c is borrowed and must outlive the server.
** A request whose Host header is not the server's own name gets 421
** (Misdirected Request), against DNS rebinding: the names are listen's
** host, on loopback also 127.0.0.1, localhost and [::1], and the
** comma-separated names of allow_host (NULL or "": none); each with
** ":PORT", or bare when the port is 80.  Returns the server, or NULL with
** err.
*/
console_http_t *console_http_new(console_t *c, const char *listen,
                                 const char *allow_host, char *err,
                                 size_t errlen);

/* The port it listens on (the one picked for port 0). */
int console_http_port(const console_http_t *h);

/* Stop serving, close the socket, free; NULL-safe, clears *h. */
void console_http_destroy(console_http_t **h);

#endif
