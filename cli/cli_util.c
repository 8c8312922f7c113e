/*
** cli_util.c: small helpers the subcommands share (see cli.h).
*/
#include <stdio.h>
#include <unistd.h>

#include "addr_flags.h"
#include "cli.h"
#include "escape.h"
#include "log.h"


int
cli_parse(const char *cmd, const char *synopsis, const char *description,
          const flag_t *flags, size_t n, int argc, char **argv, int *npos)
{
    int got = 0;

    switch (flags_parse(cmd, flags, n, argc, argv, &got)) {
    case 1:
        flags_usage(stdout, cmd, synopsis, description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if (addr_flags_check(cmd, flags, n) < 0)
        return 2;
    if (npos == NULL && got > 0) {
        fprintf(stderr, "trim %s: unexpected argument '%s'\n", cmd, argv[1]);
        return 2;
    }
    if (npos != NULL)
        *npos = got;
    return CLI_GO;
}


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


const char *
cli_default_name(const char *prefix, char *buf, size_t len)
{
    char host[64];

    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(buf, len, "%s-%s-%d", prefix, host, (int)getpid());
    return buf;
}


int
cli_sim_world(const char *cmd, const char *profile, int model, double base_ms,
              double ms_per_token, double prefill_ms, double cache_tokens,
              const char *calibration, sim_world_t **world)
{
    sim_params_t params;
    char err[512];

    if (sim_profile_resolve(profile, &params, err, sizeof err) < 0) {
        fprintf(stderr, "trim %s: --sim-profile: %s\n", cmd, err);
        return 2;
    }
    sim_params_latency(&params, model, base_ms, ms_per_token);
    if (model == SIM_WEAK || model == SIM_STRONG)
        params.prefill_us[model] = prefill_ms * 1000.0;
    params.prefix_cache_tokens = cache_tokens;
    *world = sim_world_new(&params, *calibration ? calibration : NULL, err,
                           sizeof err);
    if (*world == NULL) {
        fprintf(stderr, "trim %s: %s\n", cmd, err);
        return 1;
    }
    return 0;
}


void
cli_error(const char *cmd, const char *err)
{
    char shown[4 * 512 + 1];

    fprintf(stderr, "trim %s: %s\n", cmd, esc_str(shown, sizeof shown, err));
}
