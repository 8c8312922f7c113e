/*
** prm_scorer.h: scoring whole solutions with the PRM backend `trim run`
** uses (the simulator's PRM, or a vLLM /pooling server), outside a cluster.
*/
#ifndef TRIM_PRM_SCORER_H
#define TRIM_PRM_SCORER_H

#include <stddef.h>

#include "http_opts.h"
#include "sim.h"

typedef struct prm_scorer prm_scorer_t;

/* One solution to score and where its scores go. */
typedef struct prm_job {
    const char *problem;
    const char *const *steps;
    size_t n_steps;
    float *scores; /* n_steps of them, filled by prm_scorer_run */
} prm_job_t;

/*
** A scorer on the simulator's PRM in world (http NULL; borrowed, outliving
** the scorer) or on the /pooling server of http, with up to credit calls
** in flight.  NULL with a reason in err.
*/
prm_scorer_t *prm_scorer_new(const sim_world_t *world,
                             const http_backend_opts_t *http, int credit,
                             char *err, size_t errlen);

/* Free it and clear the pointer; NULL-safe. */
void prm_scorer_destroy(prm_scorer_t **s);

/*
** Score every step of the n jobs (each step as the PRM scores it after the
** steps before it).  Returns 0, or -1 with err naming the job (by index)
** whose call failed.
*/
int prm_scorer_run(prm_scorer_t *s, prm_job_t *jobs, size_t n, char *err,
                   size_t errlen);

#endif
