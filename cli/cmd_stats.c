/*
** cmd_stats.c: `trim stats`, where a run's time went.
**
**   trim stats --db FILE [--run N] [--json]
**
** The numbers are store_hops' (storage/hops.c); the table hop_table's.
*/
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "escape.h"
#include "hop_table.h"
#include "store.h"

static const char description[] =
    "Print where the time of run N (of every run without --run) went, hop\n"
    "by hop and pool by pool, from the timings of its step rows: the wait\n"
    "for a free worker of each pool (small, large, prm, router), the small\n"
    "and large models' calls as their workers measured them, the PRM's and\n"
    "the router's round trips, the rest of each row's time (other: the\n"
    "model calls' network and the coordinator's own work), a whole step\n"
    "(its draft and, when it was regenerated, the strong step) and a whole\n"
    "problem (queued to ended).  For each: how many, p50, p99 and max\n"
    "(exact nearest-rank percentiles) and, for the parts of a step, their\n"
    "share of the steps' time, which says which pool to scale.  A hop\n"
    "counts only the rows where it happened.  --json\n"
    "prints {\"run\", \"hops\": [{\"hop\", \"pool\", \"n\", \"p50_us\",\n"
    "\"p99_us\", \"max_us\", \"sum_us\"}...]}.  The columns are described in\n"
    "docs/audit-schema.md.";


int
cmd_stats(int argc, char **argv)
{
    const char *db = "trim.db";
    int64_t run = 0;
    int json = 0;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "only this run (0: every run)"},
        {"json", FLAG_BOOL, &json, 0, 0, "print JSON"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    store_dist_t d[STORE_HOPS];
    store_run_t info;
    char err[512], policy[512];
    int rc =
        cli_parse("stats", "[FLAGS]", description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    store_reader_t *r = store_reader_new(db, err, sizeof err);
    if (r == NULL) {
        cli_error("stats", err);
        return 1;
    }
    rc = 1;
    int found = run ? store_get_run(r, run, &info, err, sizeof err) : 1;
    if (found == 0)
        fprintf(stderr, "trim stats: no run %lld in %s\n", (long long)run, db);
    if (found <= 0 || store_hops(r, run, d, err, sizeof err) < 0) {
        if (found < 0 || found > 0)
            cli_error("stats", err);
        goto done;
    }
    if (json) {
        json_t *o = json_pack("{s:I, s:o}", "run", (json_int_t)run, "hops",
                              hop_table_json(d));
        if (o == NULL || json_dumpf(o, stdout, JSON_COMPACT) < 0) {
            fprintf(stderr, "trim stats: out of memory\n");
            json_decref(o);
            goto done;
        }
        json_decref(o);
        putchar('\n');
    } else {
        if (run)
            printf("run %lld (policy %s)\n", (long long)run,
                   info.policy ? esc_str(policy, sizeof policy, info.policy)
                               : "?");
        else
            printf("every run of %s\n", db);
        hop_table_print(stdout, d);
    }
    rc = 0;
done:
    store_reader_destroy(&r);
    return rc;
}
