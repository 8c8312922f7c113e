/*
** profile.c: named simulator profiles.
**
** A profile is a complete sim_params_t.  "math500" is the fit to the real
** MATH-500 TRIM-Thr sweep (sim_params_default, params.c).  The two others
** keep the same models (the same error rates on each class of problem), PRM
** and step lengths and shift only the problem distribution (the models' mean
** accuracy follows the mix), so a router trained on one profile can be
** tested on another
** (train/test generalisation, as the TRIM paper's AIME -> OlympiadBench /
** Minerva experiments):
**
**   hard  half of the easy problems become hard ones, and solutions are
**         longer (mean 10.5 steps instead of 8.02): a harder benchmark in
**         the way AIME or OlympiadBench is harder than MATH-500;
**   easy  half of the hard problems become easy ones, and solutions are
**         shorter (mean 6 steps): a GSM8K-like benchmark.
**
** Their anchors on `sim_fit sweep --profile NAME` (500 problems, seed 1) are
** in docs/sim-vs-real.md.
*/
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

typedef struct {
    const char *name, *about;
    /* From the defaults: half of class `from` becomes class `to`, and a
     * solution takes mean_steps steps.  mean_steps 0 keeps the defaults. */
    int from, to;
    double mean_steps;
} profile_t;

static const profile_t profiles[] = {
    {"math500",
     "fitted to the real Qwen2.5-1.5B/7B MATH-500 TRIM-Thr sweep "
     "(default)",
     0, 0, 0},
    {"hard",
     "math500 with half of the easy problems made hard and 10.5 steps "
     "per solution",
     SIM_EASY, SIM_HARD, 10.5},
    {"easy",
     "math500 with half of the hard problems made easy and 6 steps per "
     "solution",
     SIM_HARD, SIM_EASY, 6.0},
};

#define N_PROFILES ((int)(sizeof profiles / sizeof profiles[0]))

static const char *const names[N_PROFILES + 1] = {"math500", "hard", "easy",
                                                  NULL};

/* Move *p (the defaults) to profile pr. */
static void
shift(sim_params_t *p, const profile_t *pr)
{
    sim_params_t from = *p;
    double moved;

    if (pr->mean_steps == 0)
        return;
    moved = 0.5 * p->class_share[pr->from];
    p->class_share[pr->from] -= moved;
    p->class_share[pr->to] += moved;
    p->mean_steps = pr->mean_steps;
    sim_params_rebase(p, &from);
}

static const profile_t *
find(const char *name)
{
    if (!name || !*name)
        return &profiles[0];
    for (int i = 0; i < N_PROFILES; i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

/* Fill *out with the named profile; see sim.h. */
int
sim_params_profile(const char *name, sim_params_t *out)
{
    const profile_t *p = find(name);
    if (!p)
        return -1;
    sim_params_default(out);
    shift(out, p);
    return 0;
}

/* The known profile names, NULL-terminated; see sim.h. */
const char *const *
sim_profile_names(void)
{
    return names;
}

/* One line about a profile; NULL for an unknown name. */
const char *
sim_profile_about(const char *name)
{
    const profile_t *p = find(name);
    return p ? p->about : NULL;
}

/* sim_params_profile, with the known names in err on an unknown one. */
int
sim_profile_resolve(const char *name, sim_params_t *out, char *err,
                    size_t errlen)
{
    char known[128] = "";
    size_t used = 0;

    if (sim_params_profile(name, out) == 0)
        return 0;
    for (int i = 0; i < N_PROFILES && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
                                 i ? ", " : "", profiles[i].name);
    return errf(err, errlen, "unknown simulator profile '%s' (known: %s)", name,
                known);
}
