/*
** policy_kinds.h: what each policy kind provides (router-private).
**
** A kind is one row: its name (the spec's prefix), its loop shape, how to
** read the text after "name:" into the policy, how to decide, and how to
** destroy what it loaded.  Adding a policy means one row and one file.
*/
#ifndef TRIM_POLICY_KINDS_H
#define TRIM_POLICY_KINDS_H

#include "policy.h"

#define POLICY_SPEC_MAX 256

struct policy {
    const struct policy_kind *kind;
    policy_shape_t shape;
    double arg;                 /* the spec's number, for kinds with one */
    double arg_shown;           /* arg + 0.0, what a reason prints... */
    char arg_g[32];             /* ...as "%g" (written once, not per step) */
    void *state;                /* what a kind loaded or solved, or NULL */
    char spec[POLICY_SPEC_MAX]; /* canonical form */
    /* policy_new's default POMDP model, set during init only */
    const pomdp_model_t *pomdp_default;
};

typedef struct policy_kind {
    const char *name; /* spec prefix */
    policy_shape_t shape;
    const char *usage; /* shown in parse errors, e.g. "thr:K, K in [0,1]" */
    /*
    ** Read arg (the text after "name:", NULL when there is none) into
    ** p->arg and p->state, and write p->spec.  Returns 0, or -1 with a
    ** reason in err.
    */
    int (*init)(policy_t *p, const char *arg, char *err, size_t errlen);
    /* Decide (see policy_decide); 0 or -1 with the reason in out->reason. */
    int (*decide)(const policy_t *p, const route_features_t *f,
                  route_result_t *out);
    void (*destroy_state)(void *state); /* NULL when init loads nothing */
} policy_kind_t;

/*
** For kinds that take one number: parse arg into p->arg within [lo, hi] and
** write the canonical "name:%g" spec.  0 or -1 with err.
*/
int policy_number_arg(policy_t *p, const char *arg, double lo, double hi,
                      char *err, size_t errlen);

/* For kinds without an argument: refuse one, write the spec.  0 or -1. */
int policy_no_arg(policy_t *p, const char *arg, char *err, size_t errlen);

extern const policy_kind_t policy_kind_weak;
extern const policy_kind_t policy_kind_strong;
extern const policy_kind_t policy_kind_random;
extern const policy_kind_t policy_kind_thr;
extern const policy_kind_t policy_kind_agg;
extern const policy_kind_t policy_kind_seq;
extern const policy_kind_t policy_kind_pomdp;
extern const policy_kind_t policy_kind_cascade;

#endif
