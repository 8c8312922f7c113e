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
int cmd_eval_sweep(int argc, char **argv); /* trim eval sweep */
int cmd_coordinator(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_router(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_grade(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sim_server(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Set the log threshold from --log-level; prints an error and returns -1. */
int cli_log_level(const char *cmd, const char *value);

#endif
