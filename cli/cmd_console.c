/*
** cmd_console.c: `trim console`, the read-only web view of an audit store
** (console/console.h, docs/console.md).  Runs until SIGINT or SIGTERM.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "console.h"
#include "listen.h"
#include "log.h"
#include "signals.h"

static const char description[] =
    "Serve a read-only web view of the audit store on --listen: the runs and\n"
    "a comparison of two, each run's problems filtered by outcome,\n"
    "regenerated steps and text, one problem's route trace, accuracy-cost\n"
    "curves (of the store's runs, or of a trim eval result with --curve), and\n"
    "the ROI calculator, over a JSON API (docs/console.md).  The page, its\n"
    "style and script are inside the binary: nothing is fetched from\n"
    "elsewhere.  Plain HTTP: --listen beyond loopback needs --http-insecure.";


int
cmd_console(int argc, char **argv)
{
    const char *db = "trim.db", *listen = "127.0.0.1:8080", *prices = "",
               *curve = "", *allow_host = "", *log_level = "info";
    int insecure = 0, rc;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database (read-only)"},
        {"listen", FLAG_STRING, &listen, 0, 0, "HOST:PORT to serve HTTP on"},
        {"prices", FLAG_STRING, &prices, 0, 0,
         "price book (docs/prices.example.json): dollars beside tokens"},
        {"curve", FLAG_STRING, &curve, 0, 0,
         "a trim eval result (DIR/eval.json) for the curves and the ROI "
         "calculator (default: the store's runs)"},
        {"http-insecure", FLAG_BOOL, &insecure, 0, 0,
         "allow --listen beyond loopback (plain HTTP; logged at start)"},
        {"allow-host", FLAG_STRING, &allow_host, 0, 0,
         "H[,H...]: more names the Host header may carry (e.g. a proxy's); "
         "others get 421"},
        CLI_FLAG_LOG_LEVEL(&log_level),
    };
    console_opts_t o = {0};
    console_t *c = NULL;
    console_http_t *h = NULL;
    char err[640];

    rc = cli_parse("console", "[FLAGS]", description, flags,
                   sizeof flags / sizeof *flags, argc, argv, NULL);
    if (rc != CLI_GO)
        return rc;
    if (cli_log_level("console", log_level) < 0)
        return 2;
    if (listen_check("console", "--listen", listen, insecure, err, sizeof err) <
        0) {
        cli_error("console", err);
        return 2;
    }
    o.db = db;
    o.prices = prices;
    o.curve = curve;
    atomic_int *stop = signals_stop_flag();
    if ((c = console_new(&o, err, sizeof err)) == NULL ||
        (h = console_http_new(c, listen, allow_host, err, sizeof err)) ==
            NULL) {
        cli_error("console", err);
        console_destroy(&c);
        return 1;
    }
    printf("console on http://%.*s:%d/ (database %s, read-only)\n",
           (int)(strrchr(listen, ':') - listen), listen, console_http_port(h),
           db);
    fflush(stdout);
    while (!atomic_load(stop)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a signal cuts it short */
    }
    tlog(TLOG_INFO, "console", "stopping");
    console_http_destroy(&h);
    console_destroy(&c);
    return 0;
}
