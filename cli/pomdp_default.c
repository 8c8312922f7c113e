/*
** pomdp_default.c: the default POMDP model from the simulator's world (see
** pomdp_default.h).
*/
#include "pomdp_default.h"

#include "sim.h"


int
pomdp_model_default(pomdp_model_t *m, char *err, size_t errlen)
{
    double cond[3][POMDP_BINS][POMDP_BINS];
    sim_world_t *w = sim_world_new(NULL, NULL, err, errlen);

    if (w == NULL)
        return -1;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < POMDP_BINS; i++)
            sim_world_score_pmf(w, (sim_state_t)s, i, cond[s][i]);
    sim_world_destroy(&w);
    return pomdp_model_release(m, cond, err, errlen);
}
