/*
** cli.h: what the trim subcommands share.
*/
#ifndef TRIM_CLI_H
#define TRIM_CLI_H

#include <stdint.h>

/* Each subcommand: argv[0] is the subcommand name.  Returns the exit code. */
int cmd_run(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_coordinator(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_router(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_keygen(int argc, char **argv);

/*
** Parse value as an integer in [lo, hi] for flag of command cmd.  Prints
** "trim CMD: --FLAG expects ..." and returns -1 when it is not one.
*/
int cli_int(const char *cmd, const char *flag, const char *value, int64_t lo,
            int64_t hi, int64_t *out);

/* The same for a real number in [lo, hi]. */
int cli_double(const char *cmd, const char *flag, const char *value, double lo,
               double hi, double *out);

/* Set the log threshold from --log-level; prints an error and returns -1. */
int cli_log_level(const char *cmd, const char *value);

#endif
