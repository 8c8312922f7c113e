/*
** profile.c: named simulator profiles.
**
** A profile is a complete sim_params_t, made as a transform of the defaults
** (sim_params_default: the fit to the real MATH-500 TRIM-Thr sweep of the
** TRIM release), so that whatever the defaults are refitted to carries over.
** Every profile keeps the models (their error rates on each class of
** problem, their repairs), the PRM and the step hardness; it changes the
** mix of problem classes, the solutions' length and the tokens per step.  A
** router trained on one profile can then be tested on another, as the TRIM
** paper's AIME -> OlympiadBench / Minerva Math experiments do.
**
** The shipped benchmarks (data/benchmarks):
**
**   Accuracy.  The simulated weak-only and strong-only accuracies a
**   benchmark's profile is built for are the release's measured MATH-500
**   accuracies (Qwen2.5-1.5B-Instruct 36.4%, Qwen2.5-7B-Instruct 73.0%:
**   thresholds 0 and 1 of data/reference-runs/trim-thr-math500-qwen1.5b-7b
**   .jsonl) moved, on the log-odds scale, by how much harder or easier the
**   benchmark is than MATH for each model in published figures:
**     logit(target) = logit(release MATH-500) + logit(published benchmark)
**                     - logit(published MATH).
**   No single source publishes the release's own pair (the general Instruct
**   models) on AIME, OlympiadBench and Minerva Math; the published figures
**   are those of the same sizes' math models, Qwen2.5-Math-1.5B-Instruct
**   (weak) and Qwen2.5-Math-7B-Instruct (strong), chain-of-thought, from
**   the Qwen2.5-Math technical report (Yang et al. 2024, arXiv 2409.12122),
**   used only for how hard each benchmark is relative to MATH (MATH 75.8
**   and 83.6).  The release's pipeline (a step per call, cut at blank
**   lines) costs the 1.5B model much of its published MATH accuracy (36.4%
**   against 55.2% published for Qwen2.5-1.5B-Instruct, Qwen2.5 technical
**   report arXiv 2412.15115); anchoring on the release keeps that.
**   Figures (weak / strong, %): GSM8K 84.8 / 95.2, Minerva Math 29.4 /
**   37.1, MATH 75.8 / 83.6 (read here on the maker-reported results that
**   whatmodel.sh lists for both models); OlympiadBench 38.1 / 41.6, AIME24
**   10.0 (3/30) / 16.7 (5/30), AMC23 60.0 (24/40) / 62.5 (25/40) (the 1.5B
**   AIME24 and AMC23 counts as quoted from the report in
**   github.com/mlfoundations/evalchemy pull request 52; the rest from the
**   report's table of instruct models, not re-read here).  aime uses the
**   AIME24 figures: the release's aime set (AIME 1983-2024, one half) has
**   no published figures of its own.
**
**   Length.  Steps per solution and bytes per step of each set's reference
**   solutions (the first one where a record has several), against
**   MATH-500's, scale the defaults' 8.02 steps per solution and tokens per
**   step.  A step is a non-blank line: the release's step delimiter, a
**   blank line (prompt.h), cannot split GSM8K's or Minerva's solutions,
**   which have a step per line and no blank lines.  AIME (answers only) is
**   measured on aime24's solutions up to the first author signature;
**   AMC23 has no solutions and keeps MATH-500's lengths.
**
**   Mix.  profile_mix.c solves the class shares for the two accuracies at
**   that length, making the hard class harder where the three classes
**   cannot reach them (AIME, OlympiadBench, Minerva Math: the fitted hard
**   class is still solved 43% of the time by the strong model).
**
** Two older profiles move half of one class into another: "hard" (half of
** the easy problems made hard, 10.5 steps per solution) and "easy" (half of
** the hard ones made easy, 6 steps).
**
** cmimc has no published figures for these models and no profile.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "profile_mix.h"
#include "sim_internal.h"
#include "sim_profile.h"

/* The release's MATH-500 accuracies and the published MATH figures the
** benchmarks are set against (file comment). */
#define RELEASE_WEAK        0.364
#define RELEASE_STRONG      0.730
#define PUBLISHED_MATH_WEAK 0.758
#define PUBLISHED_MATH_STR  0.836
/* MATH-500's reference solutions: non-blank lines, bytes per line. */
#define MATH500_STEPS 5.534
#define MATH500_BYTES 95.01

typedef struct {
    const char *name, *about;
    /* hard, easy: half of class `from` becomes class `to`, and a solution
    ** takes mean_steps steps. */
    int from, to;
    double mean_steps;
    /* Benchmarks: the published weak and strong accuracies (0: the
    ** defaults' own, math500) and the reference solutions' shape (0:
    ** MATH-500's). */
    double published[2];
    double ref_steps, ref_bytes;
} profile_t;

static const profile_t profiles[] = {
    {.name = "math500",
     .about = "MATH-500: fitted to the real Qwen2.5-1.5B/7B TRIM-Thr sweep "
              "(default)",
     .ref_steps = MATH500_STEPS,
     .ref_bytes = MATH500_BYTES},
    {.name = "hard",
     .about = "math500 with half of the easy problems made hard and 10.5 "
              "steps per solution",
     .from = SIM_EASY,
     .to = SIM_HARD,
     .mean_steps = 10.5},
    {.name = "easy",
     .about = "math500 with half of the hard problems made easy and 6 steps "
              "per solution",
     .from = SIM_HARD,
     .to = SIM_EASY,
     .mean_steps = 6.0},
    {.name = "aime",
     .about = "AIME: AIME24's published accuracies, aime24's solution lengths",
     .published = {0.100, 0.167},
     .ref_steps = 15.433,
     .ref_bytes = 117.75},
    {.name = "amc23",
     .about = "AMC 2023: published accuracies, MATH-500's lengths",
     .published = {0.600, 0.625}},
    {.name = "gsm8k",
     .about = "GSM8K: published accuracies, reference solution lengths",
     .published = {0.848, 0.952},
     .ref_steps = 3.654,
     .ref_bytes = 77.23},
    {.name = "minerva_math",
     .about = "Minerva Math (OCW): published accuracies, reference solution "
              "lengths",
     .published = {0.294, 0.371},
     .ref_steps = 5.658,
     .ref_bytes = 60.69},
    {.name = "olympiadbench",
     .about = "OlympiadBench: published accuracies, reference solution "
              "lengths",
     .published = {0.381, 0.416},
     .ref_steps = 12.127,
     .ref_bytes = 101.54},
};

#define N_PROFILES ((int)(sizeof profiles / sizeof profiles[0]))

static const char *const names[N_PROFILES + 1] = {
    "math500", "hard",         "easy",          "aime", "amc23",
    "gsm8k",   "minerva_math", "olympiadbench", NULL};

static double
logit(double x)
{
    return log(x) - log1p(-x);
}

static int
is_benchmark(const profile_t *pr)
{
    return pr->published[0] > 0;
}

/* The weak-only and strong-only accuracies a benchmark's profile is built
** for (file comment); the release's own for math500. */
static void
target_of(const profile_t *pr, double target[2])
{
    static const double release[2] = {RELEASE_WEAK, RELEASE_STRONG};
    static const double math[2] = {PUBLISHED_MATH_WEAK, PUBLISHED_MATH_STR};
    for (int m = 0; m < 2; m++) {
        double x = logit(release[m]);
        if (is_benchmark(pr))
            x += logit(pr->published[m]) - logit(math[m]);
        target[m] = 1.0 / (1.0 + exp(-x));
    }
}

/* Move *p (the defaults) to profile pr. */
static void
shift(sim_params_t *p, const profile_t *pr)
{
    sim_params_t from = *p;

    if (pr->mean_steps > 0) {
        double moved = 0.5 * p->class_share[pr->from];
        p->class_share[pr->from] -= moved;
        p->class_share[pr->to] += moved;
        p->mean_steps = pr->mean_steps;
        sim_params_rebase(p, &from);
    } else if (is_benchmark(pr)) {
        double target[2];
        if (pr->ref_steps > 0) {
            p->mean_steps *= pr->ref_steps / MATH500_STEPS;
            for (int m = 0; m < 2; m++)
                p->tokens_per_step[m] *= pr->ref_bytes / MATH500_BYTES;
        }
        target_of(pr, target);
        if (sim_mix_solve(p, target) < 0)
            *p = from; /* unreachable: the defaults are a valid world */
    }
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

/* What the named profile was built for; see sim_profile.h. */
int
sim_profile_info(const char *name, sim_profile_info_t *out)
{
    const profile_t *p = find(name);
    if (!p)
        return -1;
    *out = (sim_profile_info_t){.name = p->name,
                                .about = p->about,
                                .benchmark = p->mean_steps == 0,
                                .ref_steps = p->ref_steps,
                                .ref_bytes_per_step = p->ref_bytes};
    if (out->benchmark)
        target_of(p, out->target);
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
    char known[256] = "";
    size_t used = 0;

    if (sim_params_profile(name, out) == 0)
        return 0;
    for (int i = 0; i < N_PROFILES && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
                                 i ? ", " : "", profiles[i].name);
    return errf(err, errlen, "unknown simulator profile '%s' (known: %s)", name,
                known);
}
