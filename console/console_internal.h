/*
** console_internal.h: what the files of console/ share and nothing else.
**
** console.c takes a request from libmicrohttpd, answers it from the
** embedded assets or one of the API handlers, and queues the reply;
** reply.c builds replies and reads query arguments; runs.c, problems.c and
** compare.c and roi.c are the API handlers; http.c is the console's own
*listener;
** assets.c is generated at build time from assets/ (embed.cmake).
*/
#ifndef TRIM_CONSOLE_INTERNAL_H
#define TRIM_CONSOLE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "console.h"
#include "prices.h"
#include "roi.h"
#include "store.h"

/* ---- assets.c (generated) ------------------------------------------------ */

typedef struct con_asset {
    const char *path; /* "/", "/app.js", ... */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
} con_asset_t;

extern const con_asset_t con_assets[];
extern const size_t con_n_assets;

/* ---- the console --------------------------------------------------------- */

/* The prepared statements, one slot each (prepared on first use). */
typedef enum {
    CON_Q_RUNS,
    CON_Q_RUNS_KEY,
    CON_Q_SIDE_A, /* compare.c walks two runs at once */
    CON_Q_SIDE_B,
    CON_Q_PROBLEMS,
    CON_Q_SEARCH_END,
    CON_Q_PROBLEM,
    CON_Q_STEPS,
    CON_Q_COUNT
} con_query_t;

/* The tokens a finished run paid for (they cannot change any more). */
typedef struct con_run_usage {
    int64_t run_id;
    cost_usage_t u;
} con_run_usage_t;

struct console {
    char *db_path;
    store_reader_t *reader;
    sqlite3 *db; /* the reader's read-only connection */
    sqlite3_stmt *st[CON_Q_COUNT];
    json_t *curve;          /* the --curve document, or NULL */
    roi_curve_t *roi_curve; /* the same for roi.h, or NULL ... */
    char *curve_error;      /* ... and why, when the file was refused */
    prices_t *prices;       /* --prices, or NULL */
    con_run_usage_t *usage; /* of the finished runs seen so far */
    size_t n_usage;
    roi_curve_t *store_curve; /* the store's runs as a curve, kept while */
    int64_t store_key[3];     /* its runs are these and all finished */
    pthread_mutex_t mu;       /* one request at a time on the connection */
};

/* ---- reply.c: requests, replies, rows ------------------------------------ */

#define CON_MAX_ARGS 32

typedef struct con_arg {
    const char *key, *value; /* owned by libmicrohttpd */
} con_arg_t;

/* One request to a handler: the path below the mount and its arguments. */
typedef struct con_req {
    const char *path;
    con_arg_t args[CON_MAX_ARGS];
    size_t n_args;
    int too_many; /* more than CON_MAX_ARGS arguments came */
} con_req_t;

/* What a handler answers. */
typedef struct con_reply {
    unsigned status;
    const char *type;
    char *body; /* malloc'd, or static when body_static */
    size_t len;
    int body_static;
} con_reply_t;

/* A handler fills *out (always, errors included). */
typedef void (*con_handler_fn)(console_t *c, const con_req_t *q,
                               con_reply_t *out);

/* Reply with doc as JSON (the reference is taken; NULL: out of memory). */
void con_reply_json(con_reply_t *out, unsigned status, json_t *doc);

/*
** Reply {"error": {"message": MESSAGE, "param": param}} with status (param
** NULL: no "param").
*/
void con_reply_error(con_reply_t *out, unsigned status, const char *param,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reply 500 naming what failed on the store (its SQLite message). */
void con_reply_db_error(console_t *c, con_reply_t *out, const char *what);

/*
** 0 when every argument of q is named in names (NULL-terminated) and none
** comes twice; else -1 with a 400 in out naming the argument.
*/
int con_args_check(const con_req_t *q, const char *const *names,
                   con_reply_t *out);

/* The value of argument name, or NULL when absent. */
const char *con_arg(const con_req_t *q, const char *name);

/*
** The integer argument name in [min, max] into *v, def when absent.
** Returns 0, or -1 with a 400 in out naming it.
*/
int con_arg_int(const con_req_t *q, const char *name, int64_t min, int64_t max,
                int64_t def, int64_t *v, con_reply_t *out);

/* The same for a finite number. */
int con_arg_double(const con_req_t *q, const char *name, double min, double max,
                   double def, double *v, con_reply_t *out);

/*
** The argument name, one of values (NULL-terminated), as its index into
** *v, def when absent.  Returns 0, or -1 with a 400 in out listing values.
*/
int con_arg_enum(const con_req_t *q, const char *name,
                 const char *const *values, int def, int *v, con_reply_t *out);

/*
** The statement of slot q with sql, prepared once and kept; reset and
** unbound, ready to bind.  NULL with a 500 in out.
*/
sqlite3_stmt *con_stmt(console_t *c, con_query_t q, const char *sql,
                       con_reply_t *out);

/* A JSON string of s[0..n) with bytes that are not UTF-8 replaced (U+FFFD). */
json_t *con_text(const char *s, size_t n);

/*
** The current row of st as an object keyed by column name: integers,
** reals (NULL for NaN), text (con_text) and NULL as JSON null.
*/
json_t *con_row(sqlite3_stmt *st);

/* ---- the handlers -------------------------------------------------------- */

void con_api_runs(console_t *c, const con_req_t *q, con_reply_t *out);
void con_api_compare(console_t *c, const con_req_t *q, con_reply_t *out);
void con_api_curves(console_t *c, const con_req_t *q, con_reply_t *out);
void con_api_problems(console_t *c, const con_req_t *q, con_reply_t *out);
void con_api_problem(console_t *c, const con_req_t *q, con_reply_t *out);
void con_api_prices(console_t *c, const con_req_t *q, con_reply_t *out);
void con_api_roi(console_t *c, const con_req_t *q, con_reply_t *out);

/*
** The run whose id is argument name (required) with its totals, as a row
** of /api/runs, into *run (a new reference).  Returns 0, or -1 with a 400
** or 404 in out.
*/
int con_arg_run(console_t *c, const con_req_t *q, const char *name,
                json_t **run, con_reply_t *out);

/* ---- roi.c: dollars beside tokens ------------------------------------------
 */

/*
** Add "dollars" ({"total", "weak", "strong", "prm"}, USD) to run, a row of
** the runs query, when the console has a price book.  Returns 0, or -1 when
** the store could not be read (sqlite3_errmsg says why).
*/
int con_dollars_run(console_t *c, json_t *run);

/*
** The same for a problem and each row of its steps (as read_steps made
** them).  Returns 0 or -1.
*/
int con_dollars_problem(console_t *c, json_t *problem, json_t *steps);

#endif
