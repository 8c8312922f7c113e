/*
** sim_profile.h: what a named simulator profile stands for (profile.c).
**
** sim.h makes a profile's parameters (sim_params_profile); this says which
** accuracies and solution lengths a benchmark's profile was built for, so a
** test or a report can set the simulated figures beside them.
*/
#ifndef TRIM_SIM_PROFILE_H
#define TRIM_SIM_PROFILE_H

typedef struct sim_profile_info {
    const char *name, *about;
    int benchmark; /* 1: a shipped benchmark's profile; 0: hard, easy */
    /* The weak-only and strong-only accuracies the mix is solved for (the
    ** Qwen2.5-1.5B/7B pair of the TRIM release, see profile.c); 0 for a
    ** profile that is not a benchmark. */
    double target[2];
    /* The benchmark's reference solutions as measured in data/benchmarks:
    ** non-blank lines per solution and bytes per line; 0 when the set has
    ** none (its profile keeps MATH-500's lengths). */
    double ref_steps, ref_bytes_per_step;
} sim_profile_info_t;

/*
** Fill *out for the named profile (NULL or "" is "math500").  Returns 0, or
** -1 for an unknown name.
*/
int sim_profile_info(const char *name, sim_profile_info_t *out);

#endif
