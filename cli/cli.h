/*
** cli.h: what the trim subcommands share.
**
** A subcommand reads in four steps: parse its flags into a struct of
** arguments, plan (check them and build what the run needs), run, and
** report.  The helpers here are the parts of those steps every command
** repeats.
*/
#ifndef TRIM_CLI_H
#define TRIM_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "flags.h"
#include "sim.h"

/* Each subcommand: argv[0] is the subcommand name.  Returns the exit code. */
int cmd_run(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_eval_sweep(int argc, char **argv); /* trim eval sweep */
int cmd_coordinator(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_router(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_calibrate_threshold(int argc, char **argv);
int cmd_grade(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sim_server(int argc, char **argv);
int cmd_sim_problems(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_roi(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_prune(int argc, char **argv);

/* What cli_parse returns when the command goes on (any other value is the
** exit code to return at once). */
#define CLI_GO (-1)

/* The --log-level flag of every command that logs. */
#define CLI_FLAG_LOG_LEVEL(value)                                              \
    {                                                                          \
        "log-level", FLAG_STRING, (value), 0, 0,                               \
            "debug, info, warn, error or off"                                  \
    }

/* --health-file of the services that are the coordinator's peers. */
#define CLI_FLAG_HEALTH_FILE(value)                                            \
    {                                                                          \
        "health-file", FLAG_STRING, (value), 0, 0,                             \
            "touch this file about once a second while the coordinator "       \
            "is heard (for a healthcheck on its age; default: none)"           \
    }

/*
** Parse argv with flags_parse.  After --help, print the usage ("trim CMD
** SYNOPSIS", the description, the flags) and return 0; on a bad flag return
** 2 (flags_parse printed why), also for an address flag whose value is
** not an address (addr_flags.h).  With npos NULL the command takes no
** positional argument: one is reported and 2 returned.  Otherwise CLI_GO,
** with the positional arguments in argv[1..*npos].
*/
int cli_parse(const char *cmd, const char *synopsis, const char *description,
              const flag_t *flags, size_t n, int argc, char **argv, int *npos);

/* Set the log threshold from --log-level; prints an error and returns -1. */
int cli_log_level(const char *cmd, const char *value);

/*
** Print "trim CMD: ERR" to stderr, ERR's control characters escaped (it may
** carry what a server or a file said); an ERR over 512 bytes is cut.
*/
void cli_error(const char *cmd, const char *err);

/*
** A service's default name "PREFIX-HOST-PID", written into buf.  Returns
** buf.
*/
const char *cli_default_name(const char *prefix, char *buf, size_t len);

/*
** The simulated world of one served model (trim worker, trim sim-server):
** profile's parameters (sim_profile_resolve), the latency model of model
** (SIM_WEAK, SIM_STRONG, or -1 for the PRM) set to base_ms plus
** ms_per_token per token, plus (SIM_WEAK, SIM_STRONG) prefill_ms per prompt
** token, each server instance with a prefix cache of cache_tokens (0:
** none), and the PRM grids of calibration ("": the embedded fit).  Returns
** 0 with *world (the caller destroys it), or the exit code after printing
** "trim CMD: ...": 2 for an unknown profile, 1 when the world cannot be
** made.
*/
int cli_sim_world(const char *cmd, const char *profile, int model,
                  double base_ms, double ms_per_token, double prefill_ms,
                  double cache_tokens, const char *calibration,
                  sim_world_t **world);

#endif
