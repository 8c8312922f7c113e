/*
** main.c: the trim command, git-style: "trim COMMAND [FLAGS]".
*/
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "local.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"run", cmd_run, "solve problems with a whole cluster in this process"},
    {"audit", cmd_audit, "list problems, or show one problem's route trace"},
    {"export", cmd_export, "write every step row of the audit as JSONL or CSV"},
    {"stats", cmd_stats, "where the time went: per-hop p50/p99 by pool"},
    {"prune", cmd_prune, "delete old runs' rows from an audit store"},
    {"migrate", cmd_migrate, "bring an audit store's schema up to date"},
    {"console", cmd_console, "serve a read-only web view of an audit store"},
    {"roi", cmd_roi, "dollars: what a run cost, what routing would save"},
    {"eval", cmd_eval, "evaluate policies (eval sweep)"},
    {"coordinator", cmd_coordinator, "run a cluster's broker and scheduler"},
    {"worker", cmd_worker, "serve one pool of a cluster (small, large, prm)"},
    {"router", cmd_router, "serve routing decisions to a cluster"},
    {"submit", cmd_submit, "submit problems to a running cluster"},
    {"gateway", cmd_gateway, "serve the OpenAI API in front of a cluster"},
    {"status", cmd_status, "show what a running cluster is doing"},
    {"wait", cmd_wait, "wait for a run to finish, then summarise it"},
    {"watch", cmd_watch, "print routing decisions live"},
    {"calibrate", cmd_calibrate, "fit TRIM-POMDP's model to a recorded run"},
    {"grade", cmd_grade, "grade answers against ground truths"},
    {"keygen", cmd_keygen, "write a CURVE key pair for encrypted TCP"},
    {"sim-server", cmd_sim_server, "serve the simulator over HTTP like vLLM"},
    {"sim-problems", cmd_sim_problems,
     "print problems the simulator can solve (to submit)"},
    {"train", cmd_train, "train a learned routing policy (train agg)"},
};


static void
usage(FILE *f)
{
    fprintf(f, "usage: trim COMMAND [FLAGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'trim COMMAND --help' shows the flags of a command.\n");
}


int
main(int argc, char **argv)
{
    local_tune_malloc();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("trim %s\n", TRIM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "trim: unknown command '%s' (see 'trim --help')\n",
            argv[1]);
    return 2;
}
