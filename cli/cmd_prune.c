/*
** cmd_prune.c: `trim prune`, retention for a long-lived audit store.
**
**   trim prune --db FILE (--run N | --older-than DAYS) [--keep-summaries]
**   trim prune --db FILE --vacuum
**
** The work is store_prune's and store_vacuum's (storage/prune.c); this
** checks the flags and says what was done and what the file now weighs.
*/
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "store.h"

static const char description[] =
    "Delete the step rows of finished runs (--run N: that run; --older-than\n"
    "DAYS: every run that finished more than DAYS days ago), and their\n"
    "problem rows unless --keep-summaries.  Each run's own row stays; with\n"
    "--keep-summaries each problem keeps its outcome, counters and token\n"
    "usage, so `trim audit`, the console's run pages and `trim roi` still\n"
    "answer for it, without its route trace.  A run still going is never\n"
    "pruned, nor the problems a finished run took since (a gateway route\n"
    "is one long run).  Rows go a bounded batch per transaction, so a\n"
    "coordinator or gateway may keep writing to the store meanwhile.\n"
    "Export first what must be kept:\n"
    "`trim export --db FILE --run N --format jsonl`.\n"
    "Stores made by this version give the freed pages back to the file\n"
    "system at once (incremental vacuum).  An older store keeps its size:\n"
    "convert it once with --vacuum (a full rewrite: it needs free disk the\n"
    "size of the file and blocks writers until done).  See\n"
    "docs/retention.md.";


static void
print_mb(const char *label, int64_t bytes)
{
    printf("%s %.1f MB", label, (double)bytes / 1e6);
}


int
cmd_prune(int argc, char **argv)
{
    const char *db = "trim.db";
    int64_t run = 0;
    double days = -1;
    int keep = 0, vacuum = 0;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "prune this run"},
        {"older-than", FLAG_DOUBLE, &days, 0, 1e6,
         "prune every run that finished more than DAYS days ago"},
        {"keep-summaries", FLAG_BOOL, &keep, 0, 0,
         "keep the problem rows (outcomes, counters, usage)"},
        {"vacuum", FLAG_BOOL, &vacuum, 0, 0,
         "rewrite the store once so that pruning shrinks it"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    store_prune_opts_t o = {0};
    store_prune_result_t res;
    char err[512];
    int rc =
        cli_parse("prune", "[FLAGS]", description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    int pruning = run > 0 || days >= 0;
    if (run > 0 && days >= 0) {
        fprintf(stderr, "trim prune: --run or --older-than, not both\n");
        return 2;
    }
    if (!pruning && !vacuum) {
        fprintf(stderr, "trim prune: say what to prune: --run N or "
                        "--older-than DAYS (or --vacuum)\n");
        return 2;
    }
    if (vacuum) {
        fprintf(stderr,
                "trim prune: rewriting %s (VACUUM); writers wait "
                "until it is done\n",
                db);
        if (store_vacuum(db, err, sizeof err) < 0) {
            cli_error("prune", err);
            return 1;
        }
    }
    if (!pruning)
        return 0;
    o.run_id = run;
    o.keep_summaries = keep;
    if (days >= 0)
        o.before_ms = (int64_t)time(NULL) * 1000 - (int64_t)(days * 86400e3);
    if (store_prune(db, &o, &res, err, sizeof err) < 0) {
        cli_error("prune", err);
        return 1;
    }
    if (run > 0 && res.runs == 0) {
        fprintf(stderr, "trim prune: no finished run %lld in %s\n",
                (long long)run, db);
        return 1;
    }
    printf("pruned %lld runs: %lld step rows, %lld problem rows%s\n",
           (long long)res.runs, (long long)res.steps, (long long)res.problems,
           keep ? " (summaries kept)" : "");
    print_mb(db, res.bytes_before);
    print_mb(" ->", res.bytes_after);
    print_mb(", free inside", res.free_bytes);
    putchar('\n');
    if (!res.incremental && res.free_bytes > 0)
        printf("%s was made without incremental vacuum, so it keeps its "
               "size (new rows reuse the free pages); run `trim prune "
               "--db %s --vacuum` once to shrink it and every prune "
               "after\n",
               db, db);
    return 0;
}
