/*
** cli_util.c: small helpers the subcommands share.
*/
#include <stdio.h>

#include "cli.h"
#include "log.h"


int
cli_log_level(const char *cmd, const char *value)
{
    tlog_level_t level;

    if (tlog_parse_level(value, &level) < 0) {
        fprintf(stderr,
                "trim %s: --log-level expects debug, info, warn, error or "
                "off, got '%s'\n",
                cmd, value);
        return -1;
    }
    tlog_set_level(level);
    return 0;
}
