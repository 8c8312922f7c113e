/*
** policy.c: parsing specs and dispatching to the policy kinds (policy.h).
**
** Each kind is a row in a table: a name, a parser for its argument and a
** decide function.  Adding a policy means one row and one file.
*/
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_kinds.h"

struct policy {
    const policy_kind_t *kind;
    policy_shape_t shape;
    double arg;    /* the spec's number (threshold, probability) */
    char spec[64]; /* canonical form */
};

static const policy_kind_t *const kinds[] = {
    &policy_kind_weak,
    &policy_kind_strong,
    &policy_kind_random,
    &policy_kind_thr,
};


/* Parse a number in [lo, hi]; 0 or -1. */
static int
parse_unit(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    if (*s == '\0')
        return -1;
    v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}


policy_t *
policy_new(const char *spec, char *err, size_t errlen)
{
    const char *colon;
    size_t namelen;
    policy_t *p;

    if (spec == NULL || *spec == '\0') {
        snprintf(err, errlen, "empty policy spec");
        return NULL;
    }
    colon = strchr(spec, ':');
    namelen = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const policy_kind_t *k = kinds[i];
        if (strlen(k->name) != namelen || strncmp(spec, k->name, namelen))
            continue;
        p = calloc(1, sizeof *p);
        if (p == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        p->kind = k;
        p->shape = k->shape;
        if (k->takes_arg) {
            if (colon == NULL ||
                parse_unit(colon + 1, k->arg_min, k->arg_max, &p->arg) < 0) {
                snprintf(err, errlen,
                         "policy '%s': %s needs a number in [%g, %g] after "
                         "the colon, e.g. %s",
                         spec, k->name, k->arg_min, k->arg_max, k->example);
                free(p);
                return NULL;
            }
            snprintf(p->spec, sizeof p->spec, "%s:%g", k->name, p->arg);
        } else {
            if (colon != NULL) {
                snprintf(err, errlen, "policy '%s': %s takes no argument", spec,
                         k->name);
                free(p);
                return NULL;
            }
            snprintf(p->spec, sizeof p->spec, "%s", k->name);
        }
        return p;
    }
    snprintf(err, errlen,
             "unknown policy '%s' (known: weak, strong, random:P, thr:K)",
             spec);
    return NULL;
}


void
policy_destroy(policy_t **p)
{
    if (p && *p) {
        free(*p);
        *p = NULL;
    }
}


const char *
policy_spec(const policy_t *p)
{
    return p->spec;
}


policy_shape_t
policy_shape(const policy_t *p)
{
    return p->shape;
}


int
policy_decide(const policy_t *p, const route_features_t *f, route_result_t *out)
{
    out->n_belief = 0;
    out->reason[0] = '\0';
    if (p->shape == POLICY_ROUTED && !(f->score >= 0.0f && f->score <= 1.0f)) {
        snprintf(out->reason, sizeof out->reason, "score %g is not in [0,1]",
                 (double)f->score);
        return -1;
    }
    return p->kind->decide(p->arg, f, out);
}
