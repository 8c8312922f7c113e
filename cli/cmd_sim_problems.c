/*
** cmd_sim_problems.c: `trim sim-problems`, printing problems the built-in
** simulator generated.
**
**   trim sim-problems [--count N] [--seed S] [--profile P] [--json]
**
** The simulator solves only the problems it generates (the arithmetic word
** problems of sim.h); this is how a user gets some to send to a cluster on
** the simulator, through `trim submit` or the gateway.  One text per line
** (a generated text holds no newline), or with --json one object per line
** that `trim submit FILE` reads: text, answer, source ("sim:SEED:I", as
** `trim submit --sim` names them) and seed (the set's: `trim submit --seed
** SEED FILE` samples problem I as `trim submit --sim` does).
**
** --processbench prints step-labelled solutions in ProcessBench's layout
** instead (id, generator, problem, steps, final_answer_correct, label: the
** first wrong step or -1), the weak model solving even problems and the
** strong one odd ones, labelled from the simulator's hidden states: test
** data for `trim calibrate --processbench`.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "arg_checks.h"
#include "cli.h"
#include "errf.h"

static const char description[] =
    "Print problems of the built-in simulator, the only problems a cluster\n"
    "on the simulator (the default) can solve: one text per line, or with\n"
    "--json one JSON object per line (text, answer, source, seed) that\n"
    "'trim submit FILE' reads, e.g.\n"
    "  trim sim-problems --count 100 --json > p.jsonl && trim submit p.jsonl";


/* Print problem index of the set seed; 0, or -1 with err. */
static int
print_problem(const sim_world_t *w, uint64_t seed, uint64_t index, int json,
              char *err, size_t errlen)
{
    sim_problem_t p = {0};
    char source[64];
    int rc = -1;

    if (sim_problem_make(w, seed, index, &p) < 0)
        return errf(err, errlen, "out of memory");
    if (!json) {
        rc = printf("%s\n", p.text) < 0 ? -1 : 0;
    } else {
        snprintf(source, sizeof source, "sim:%llu:%llu",
                 (unsigned long long)seed, (unsigned long long)index);
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:I}", "text", p.text, "answer",
                      p.answer, "source", source, "seed", (json_int_t)seed);
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line != NULL)
            rc = printf("%s\n", line) < 0 ? -1 : 0;
        free(line);
        json_decref(o);
    }
    if (rc < 0)
        errf(err, errlen, "cannot write problem %llu",
             (unsigned long long)index);
    sim_problem_clear(&p);
    return rc;
}


/*
** Print problem index of the set seed solved to the end, as one line of
** ProcessBench's layout; 0, or -1 with err.
*/
static int
print_labelled(const sim_world_t *w, uint64_t seed, uint64_t index, char *err,
               size_t errlen)
{
    sim_model_t model = index % 2 ? SIM_STRONG : SIM_WEAK;
    sim_labelled_t s;
    char id[64];
    int rc = -1;

    if (sim_labelled_solution(w, seed, index, model, &s, err, errlen) < 0)
        return -1;
    json_t *steps = json_array();
    for (size_t i = 0; i < s.n_steps; i++)
        json_array_append_new(steps, json_string(s.steps[i]));
    snprintf(id, sizeof id, "sim:%llu:%llu", (unsigned long long)seed,
             (unsigned long long)index);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:b, s:i}", "id", id, "generator",
        model ? "sim-strong" : "sim-weak", "problem", s.problem.text, "steps",
        steps, "final_answer_correct", s.label < 0, "label", s.label);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line != NULL)
        rc = printf("%s\n", line) < 0 ? -1 : 0;
    if (rc < 0)
        errf(err, errlen, "cannot write problem %llu",
             (unsigned long long)index);
    free(line);
    json_decref(o);
    sim_labelled_clear(&s);
    return rc;
}


int
cmd_sim_problems(int argc, char **argv)
{
    int64_t count = 5, seed = 1;
    int json = 0, processbench = 0;
    const char *profile = "";
    const flag_t flags[] = {
        {"count", FLAG_INT, &count, 0, 1e9, "problems to print (default 5)"},
        {"seed", FLAG_INT, &seed, 0, 9.2e18,
         "the problem set (default 1; trim submit --sim uses the same sets)"},
        {"profile", FLAG_STRING, &profile, 0, 0,
         "simulator profile (default math500; the problems are the same "
         "text in every profile, their difficulty is not)"},
        {"json", FLAG_BOOL, &json, 0, 0,
         "one JSON object per line: text, answer, source, seed"},
        {"processbench", FLAG_BOOL, &processbench, 0, 0,
         "step-labelled solutions in ProcessBench's layout (weak model on "
         "even problems, strong on odd), labels from the hidden states"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    char err[512];
    sim_params_t params;
    sim_world_t *w = NULL;
    int rc = cli_parse("sim-problems", "[--count N] [--seed S] [--json]",
                       description, flags, n, argc, argv, NULL);

    if (rc != CLI_GO)
        return rc;
    if (arg_check_profile("sim-problems", "--profile", profile) < 0)
        return 2;
    if (sim_profile_resolve(profile, &params, err, sizeof err) < 0 ||
        (w = sim_world_new(&params, NULL, err, sizeof err)) == NULL) {
        cli_error("sim-problems", err);
        return 1;
    }
    rc = 0;
    for (int64_t i = 0; i < count && rc == 0; i++)
        if ((processbench ? print_labelled(w, (uint64_t)seed, (uint64_t)i, err,
                                           sizeof err)
                          : print_problem(w, (uint64_t)seed, (uint64_t)i, json,
                                          err, sizeof err)) < 0) {
            cli_error("sim-problems", err);
            rc = 1;
        }
    if (rc == 0 && fflush(stdout) != 0) {
        cli_error("sim-problems", "cannot write the output");
        rc = 1;
    }
    sim_world_destroy(&w);
    return rc;
}
