/*
** profile_mix.h: the difficulty mix that gives a profile the wanted weak-only
** and strong-only accuracies (profile_mix.c).  Private to sim/.
*/
#ifndef TRIM_SIM_PROFILE_MIX_H
#define TRIM_SIM_PROFILE_MIX_H

#include "sim.h"

/*
** Set p's class shares, and when the classes as they are cannot reach it,
** make the hard class harder (class_logit[SIM_HARD] up, the other classes
** and the models' base error rates unchanged), so that the weak-only and
** strong-only accuracies are target[0] and target[1].  A target above what
** the easy and medium classes allow (the strong model solving more than
** their mix does at that weak accuracy) keeps the weak accuracy and gets
** the closest strong one.  The accuracies are those of the chain in
** profile_mix.c, exact in this world up to rare slips that land on the
** true value.  Returns 0, or -1 when p is not a valid world.
*/
int sim_mix_solve(sim_params_t *p, const double target[2]);

#endif
