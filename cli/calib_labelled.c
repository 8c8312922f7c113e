/*
** calib_labelled.c: counting step-labelled solutions (see calib_fit.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib_fit.h"
#include "errf.h"


/* Count record r, whose steps the PRM scored. */
static void
count_record(const labelled_t *r, const float *scores, int weak, int strong,
             pomdp_counts_t *c)
{
    double min = 1.0;

    c->problems++;
    c->lengths[r->n_steps < POMDP_MAX_STEPS ? r->n_steps : POMDP_MAX_STEPS]++;
    for (size_t k = 0; k < r->n_steps; k++) {
        int first = r->label >= 0 && (int)k == r->label;
        int state = r->label < 0 || (int)k < r->label ? POMDP_S0
                    : first                           ? POMDP_S2
                                                      : POMDP_S1;
        if (!isnan(scores[k])) {
            c->grid[state][pomdp_bin(min)][pomdp_bin(scores[k])] += 1;
            if (scores[k] < min)
                min = scores[k];
        }
        if (state == POMDP_S1)
            continue; /* not on a correct prefix */
        if (weak)
            *(first ? &c->weak_bad : &c->weak_ok) += 1;
        if (strong)
            *(first ? &c->strong_bad : &c->strong_ok) += 1;
    }
}


int
calib_labelled(const labelled_set_t *set, prm_scorer_t *prm,
               const char *weak_gen, const char *strong_gen, pomdp_counts_t *c,
               char *err, size_t errlen)
{
    prm_job_t *jobs = calloc(set->n, sizeof *jobs);
    int rc = -1;

    if (jobs == NULL)
        return errf(err, errlen, "out of memory");
    for (size_t k = 0; k < set->n; k++) {
        jobs[k].problem = set->v[k].problem;
        jobs[k].steps = (const char *const *)set->v[k].steps;
        jobs[k].n_steps = set->v[k].n_steps;
        if ((jobs[k].scores = malloc(jobs[k].n_steps * sizeof(float))) ==
            NULL) {
            errf(err, errlen, "out of memory");
            goto done;
        }
    }
    if (prm_scorer_run(prm, jobs, set->n, err, errlen) < 0)
        goto done;
    for (size_t k = 0; k < set->n; k++) {
        const labelled_t *r = &set->v[k];
        count_record(
            r, jobs[k].scores,
            *weak_gen == '\0' || strcmp(r->generator, weak_gen) == 0,
            *strong_gen != '\0' && strcmp(r->generator, strong_gen) == 0, c);
    }
    if (c->weak_ok + c->weak_bad == 0) {
        errf(err, errlen, "no solution of the weak generator '%s'", weak_gen);
        goto done;
    }
    rc = 0;
done:
    for (size_t k = 0; k < set->n; k++)
        free(jobs[k].scores);
    free(jobs);
    return rc;
}
