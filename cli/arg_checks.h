/*
** arg_checks.h: values of the trim commands' flags checked before
** anything starts, so that a bad one is a usage error (exit code 2) and
** not a failure found halfway.
*/
#ifndef TRIM_ARG_CHECKS_H
#define TRIM_ARG_CHECKS_H

#include "coordinator.h"

/*
** A simulator profile name given by flag (e.g. "--sim-profile").  Returns
** 0, or -1 after printing "trim CMD: FLAG: why".
*/
int arg_check_profile(const char *cmd, const char *flag, const char *profile);

/*
** A policy spec as a router would read it (pomdp:L in the default model;
** agg:FILE and pomdp:L:FILE read their file).  Returns 0, or -1 after
** printing "trim CMD: --policy: why".
*/
int arg_check_policy(const char *cmd, const char *spec);

/*
** --speculate's mode (off, on, guard) into *out.  Returns 0, or -1 after
** printing "trim CMD: --speculate ...".
*/
int arg_check_speculate(const char *cmd, const char *mode,
                        coord_speculate_t *out);

#endif
