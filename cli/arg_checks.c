/*
** arg_checks.c: flag values checked before anything starts (see
** arg_checks.h).
*/
#include "arg_checks.h"

#include <stdio.h>

#include "policy.h"
#include "pomdp_default.h"
#include "sim.h"


int
arg_check_profile(const char *cmd, const char *flag, const char *profile)
{
    sim_params_t params;
    char err[512];

    if (sim_profile_resolve(profile, &params, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "trim %s: %s: %s\n", cmd, flag, err);
    return -1;
}


int
arg_check_policy(const char *cmd, const char *spec)
{
    pomdp_model_t pomdp;
    policy_t *p = NULL;
    char err[512];

    if (pomdp_model_default(&pomdp, err, sizeof err) == 0 &&
        (p = policy_new(spec, &pomdp, err, sizeof err)) != NULL) {
        policy_destroy(&p);
        return 0;
    }
    fprintf(stderr, "trim %s: --policy: %s\n", cmd, err);
    return -1;
}


int
arg_check_speculate(const char *cmd, const char *mode, coord_speculate_t *out)
{
    if (coord_speculate_parse(mode, out) == 0)
        return 0;
    fprintf(stderr, "trim %s: --speculate expects off, on or guard, got '%s'\n",
            cmd, mode);
    return -1;
}
