/*
** policy_kinds.h: the table row each policy kind provides (router-private).
*/
#ifndef TRIM_POLICY_KINDS_H
#define TRIM_POLICY_KINDS_H

#include "policy.h"

typedef struct policy_kind {
    const char *name; /* spec prefix */
    policy_shape_t shape;
    int takes_arg; /* "name:NUMBER" */
    double arg_min, arg_max;
    const char *example; /* shown in parse errors */
    /* Decide with the parsed argument; 0 or -1 (see policy_decide). */
    int (*decide)(double arg, const route_features_t *f, route_result_t *out);
} policy_kind_t;

extern const policy_kind_t policy_kind_weak;
extern const policy_kind_t policy_kind_strong;
extern const policy_kind_t policy_kind_random;
extern const policy_kind_t policy_kind_thr;

#endif
