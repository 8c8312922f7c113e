/*
** cmd_eval.c: `trim eval`, evaluating policies on the simulator.
**
**   trim eval [--policies thr,random,cascade,pomdp,agg,seq] [--agg FILE,...]
**             [--seq FILE,...]
**             [--curve NAME=SPEC,SPEC,...] [--problems N] [--seed S]
**             [--seeds K] [--bootstrap B] [--sim-profile NAME]
**             [--train-set NAME] [--out DIR] [--json]
**
** sweeps each policy family's knob over the same problems (one in-process
** cluster run per point and seed), measures the weak-only and strong-only
** anchors, on K problem sets (seeds derived from S), pools them, and
** reports per policy its points and CPT(50/80/95%), dIBC and APGR
** (eval/metrics.h), each with a bootstrap interval (eval/bootstrap.h), and
** the paired comparisons with the baselines, with DIR/curves.csv,
** DIR/summary.csv, DIR/comparisons.csv, DIR/eval.json and DIR/curves.svg.
** `trim eval sweep` is in cmd_eval_sweep.c.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "errf.h"
#include "eval_partial.h"
#include "eval_print.h"
#include "hash.h"
#include "local.h"
#include "policy.h"
#include "pomdp_default.h"
#include "prices.h"
#include "run_progress.h"
#include "signals.h"
#include "store.h"
#include "sweep.h"

_Static_assert(SWEEP_ROLES == COST_ROLES, "a point's usage is a cost_usage_t");


static const char eval_description[] =
    "Sweep each policy family's knob over the same simulated problems and\n"
    "report per policy its accuracy-cost points and CPT(50%), CPT(80%),\n"
    "CPT(95%), dIBC and APGR against the weak-only and strong-only anchors\n"
    "(definitions: docs/evaluation.md).  Families and their knob grids:\n"
    "  thr      K = 0, 0.01, 0.02, 0.05, 0.1, ..., 0.95, 1 (0 runs as\n"
    "           weak, 1 as strong)\n"
    "  random   P = 0, 0.1, ..., 1\n"
    "  cascade  K = 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, ..., 0.9, 0.95\n"
    "  pomdp    lambda = 3e-5, 1e-4, ..., 5e-3, 7e-3, 1e-2, 2e-2, 3e-2,\n"
    "           on --pomdp-model's calibration (trim calibrate)\n"
    "  agg      one point per --agg file, its knob the file's lambda\n"
    "  seq      one point per --seq file (TRIM-Seq), likewise\n"
    "Without --policies, every family this build knows except agg and seq\n"
    "runs (each too with --agg, --seq).  --curve NAME=SPEC,SPEC,...\n"
    "(repeatable) adds any list\n"
    "of specs.  A family whose specs do not parse is reported and the rest\n"
    "still runs.  Every point runs on --seeds problem sets of --problems each\n"
    "(the first is --seed, the others derived from it), the same problems\n"
    "for every policy; the figures are over all of them, with 95% intervals\n"
    "from a bootstrap over problems within each seed, and comparisons with\n"
    "cascade and thr say who is better only where the paired interval of the\n"
    "difference excludes zero.  Writes DIR/curves.csv, DIR/summary.csv,\n"
    "DIR/comparisons.csv, DIR/eval.json and DIR/curves.svg; every point is a\n"
    "run recorded in --db.  Ctrl-C writes them for the seeds that finished\n"
    "(during the first, the points that finished) and names those missing.\n"
    "'trim eval sweep --help': the threshold sweep beside a real reference\n"
    "run.";

#define DEFAULT_FAMILIES "thr,random,cascade,pomdp"
#define MAX_CURVES       32
#define EVAL_ERR_MAX     240 /* fits a spec and a reason in a curve error */

/* Points measured so far on this seed, by spec: a spec shared by two curves
** (the thr family's "weak" and the anchor) runs once. */
typedef struct eval_runs {
    local_opts_t o; /* problems, seed, db, calibration, simulator */
    const sweep_point_t **done;
    size_t n_done, cap;
    run_progress_t progress;         /* the line on stderr */
    size_t points_run, points_total; /* for its ETA, anchors included */
    char seed_label[64];             /* " (seed 2/5)" ending each line, or "" */
} eval_runs_t;


/* 0, or -1 when out of memory (to keeps no outcomes). */
static int
copy_measured(sweep_point_t *to, const sweep_point_t *from)
{
    to->accuracy = from->accuracy;
    to->strong = from->strong;
    to->draft = from->draft;
    to->discarded = from->discarded;
    to->token_share = from->token_share;
    to->problems = from->problems;
    to->failed = from->failed;
    to->seconds = from->seconds;
    to->has_usage = from->has_usage;
    memcpy(to->input, from->input, sizeof to->input);
    memcpy(to->cached, from->cached, sizeof to->cached);
    memcpy(to->output, from->output, sizeof to->output);
    free(to->outcomes);
    to->outcomes = NULL;
    to->n_outcomes = 0;
    if (from->n_outcomes == 0)
        return 0;
    to->outcomes = malloc(from->n_outcomes * sizeof *to->outcomes);
    if (to->outcomes == NULL)
        return -1;
    memcpy(to->outcomes, from->outcomes,
           from->n_outcomes * sizeof *to->outcomes);
    to->n_outcomes = from->n_outcomes;
    return 0;
}


/* Where store_each_problem puts each problem's outcome. */
typedef struct outcome_reader {
    sweep_outcome_t *o;
    int64_t n, filled;
} outcome_reader_t;

static int
read_outcome(void *ctx, const store_problem_t *p)
{
    outcome_reader_t *r = ctx;
    const char *colon = p->source ? strrchr(p->source, ':') : NULL;
    char *end;
    long long i = colon ? strtoll(colon + 1, &end, 10) : -1;

    /* Simulated problems are "sim:SEED:INDEX": the same index is the same
    ** problem under every policy. */
    if (colon == NULL || *end != '\0' || i < 0 || i >= r->n ||
        !isnan(r->o[i].strong))
        return 0;
    r->o[i].correct = p->correct == 1 ? 1 : p->correct == 0 ? 0 : NAN;
    r->o[i].strong = (double)p->strong_tokens;
    r->filled++;
    return 0;
}


/*
** Every problem's outcome under run run_id, by problem index, from r (NULL:
** the store could not be opened, for the reason in err) into p's
** outcomes; p keeps none (and gets no interval) when the store cannot be
** read or a problem is missing.
*/
static void
measure_outcomes(store_reader_t *r, char *err, size_t errlen, int64_t run_id,
                 int64_t problems, sweep_point_t *p)
{
    outcome_reader_t rd = {malloc((size_t)problems * sizeof *rd.o), problems,
                           0};

    for (int64_t i = 0; rd.o && i < problems; i++)
        rd.o[i] = (sweep_outcome_t){NAN, NAN};
    if (r != NULL && rd.o != NULL &&
        store_each_problem(r, run_id, read_outcome, &rd, err, errlen) == 0 &&
        rd.filled == problems) {
        free(p->outcomes);
        p->outcomes = rd.o;
        p->n_outcomes = (size_t)problems;
        rd.o = NULL;
    } else {
        fprintf(stderr,
                "trim eval: %s: problems' outcomes not read (%lld of %lld%s%s)"
                ": no interval\n",
                p->spec, (long long)rd.filled, (long long)problems,
                err[0] ? ": " : "", err);
    }
    free(rd.o);
}


/*
** The tokens per role run run_id paid for (cost/prices.h), from r (NULL:
** the store could not be opened, for the reason in err) into p's usage;
** the point keeps has_usage 0 when the store cannot be read.
*/
static void
measure_usage(store_reader_t *r, char *err, size_t errlen, int64_t run_id,
              sweep_point_t *p)
{
    cost_usage_t u;

    if (r != NULL && cost_usage_run(r, run_id, 0, &u, err, errlen) == 0) {
        memcpy(p->input, u.input, sizeof p->input);
        memcpy(p->cached, u.cached, sizeof p->cached);
        memcpy(p->output, u.output, sizeof p->output);
        p->has_usage = 1;
    } else {
        fprintf(stderr, "trim eval: %s: no usage for dollars: %s\n", p->spec,
                err);
    }
}


/*
** Run p->spec on the sweep's problems (or reuse an earlier run of the same
** spec) and fill p's measured fields.  Progress goes to stderr as
** "trim eval: CURVE I/N SPEC: ...".  0, or -1 with err.
*/
static int
measure(eval_runs_t *x, sweep_point_t *p, const char *curve, size_t i, size_t n,
        char *err, size_t errlen)
{
    local_opts_t o = x->o;
    local_result_t res;

    if (o.interrupt && atomic_load(o.interrupt))
        return 0; /* not measured, as below */
    for (size_t k = 0; k < x->n_done; k++) {
        if (strcmp(x->done[k]->spec, p->spec) == 0) {
            if (copy_measured(p, x->done[k]) < 0)
                return errf(err, errlen, "out of memory");
            x->points_run++;
            run_progress_clear(&x->progress);
            fprintf(stderr, "trim eval: %s %zu/%zu %s: run above, reused%s\n",
                    curve, i, n, p->spec, x->seed_label);
            return 0;
        }
    }
    o.policy = p->spec;
    char what[512];
    snprintf(what, sizeof what, "%s %zu/%zu %s%s", curve, i, n, p->spec,
             x->seed_label);
    eval_progress_point(&x->progress, &o, what, x->points_run, x->points_total);
    int rc = local_run(&o, &res, err, errlen);
    x->points_run++;
    run_progress_clear(&x->progress);
    if (rc < 0)
        return -1;
    if (res.interrupted)
        return 0; /* not measured: eval_keep_measured drops it */
    double q = res.stats.submitted > 0 ? (double)res.stats.submitted : 1.0;
    int64_t all = res.stats.weak_tokens + res.stats.strong_tokens +
                  res.stats.discarded_tokens;
    p->accuracy = res.stats.graded
                      ? (double)res.stats.correct / (double)res.stats.graded
                      : NAN;
    p->strong = (double)res.stats.strong_tokens / q;
    p->draft = (double)res.stats.weak_tokens / q;
    p->discarded = (double)res.stats.discarded_tokens / q;
    p->token_share = all ? (double)res.stats.strong_tokens / (double)all : 0;
    p->problems = res.stats.submitted;
    p->failed = res.stats.failed;
    p->seconds = res.seconds;
    char rerr[256] = "";
    store_reader_t *r = store_reader_new(o.db, rerr, sizeof rerr);
    measure_usage(r, rerr, sizeof rerr, res.run_id, p);
    measure_outcomes(r, rerr, sizeof rerr, res.run_id, res.stats.submitted, p);
    store_reader_destroy(&r);
    fprintf(stderr,
            "trim eval: %s %zu/%zu %s: accuracy %.3f, %.1f strong "
            "tokens/problem, %.1f s%s\n",
            curve, i, n, p->spec, p->accuracy, p->strong, res.seconds,
            x->seed_label);
    if (x->n_done == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 32;
        const sweep_point_t **d = realloc(x->done, cap * sizeof *d);
        if (d == NULL)
            return 0; /* not remembered: a later duplicate runs again */
        x->done = d;
        x->cap = cap;
    }
    x->done[x->n_done++] = p; /* points do not move while measured */
    return 0;
}


/*
** Parse every spec of curve c as the router would.  On the first that does
** not parse, c->error says why and *unknown_kind tells whether this build
** does not know the policy kind at all.  0 or -1.
*/
static int
check_curve(sweep_curve_t *c, int *unknown_kind)
{
    char err[EVAL_ERR_MAX];
    pomdp_model_t pomdp;

    *unknown_kind = 0;
    if (pomdp_model_default(&pomdp, c->error, sizeof c->error) < 0)
        return -1;
    for (size_t k = 0; k < c->n; k++) {
        policy_t *p = policy_new(c->points[k].spec, &pomdp, err, sizeof err);
        if (p == NULL) {
            errf(c->error, sizeof c->error, "%s", err);
            *unknown_kind = strncmp(err, "unknown policy", 14) == 0;
            return -1;
        }
        policy_destroy(&p);
    }
    return 0;
}


/* mkdir -p; 0, or -1 with err. */
static int
make_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof path)
        return errf(err, errlen, "bad output directory '%.200s'", dir);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) < 0 && errno != EEXIST)
            return errf(err, errlen, "cannot create %.200s: %s", path,
                        strerror(errno));
        path[i] = c;
    }
    return 0;
}


typedef int (*sweep_writer_t)(const sweep_t *s, FILE *f);

/* Write DIR/name with fn; reports failures on stderr.  0 or -1. */
static int
write_output(const char *dir, const char *name, const sweep_t *s,
             sweep_writer_t fn, const char *text)
{
    char path[4096], tmp[4200];
    FILE *f;
    int rc;

    /* Whole or not at all: a complete file is replaced only by another. */
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "trim eval: cannot write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    rc = fn ? fn(s, f) : (fputs(text, f) < 0 ? -1 : 0);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "trim eval: writing %s failed\n", path);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "trim eval: cannot write %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}


/*
** Take every "--curve X" and "--curve=X" out of argv (the flag parser keeps
** only the last value of a flag) into curves[]; returns the new argc, or -1
** when there are too many or one lacks its value.
*/
static int
take_curves(int argc, char **argv, const char **curves, int *n_curves)
{
    int out = 1;

    *n_curves = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--") == 0) { /* the rest is positional */
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(a, "--curve") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "trim eval: --curve needs a value\n");
                return -1;
            }
            v = argv[++i];
        } else if (strncmp(a, "--curve=", 8) == 0) {
            v = a + 8;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (*n_curves == MAX_CURVES) {
            fprintf(stderr, "trim eval: more than %d --curve flags\n",
                    MAX_CURVES);
            return -1;
        }
        curves[(*n_curves)++] = v;
    }
    return out;
}


/* The families named in a comma list, each checked; -1 on an unknown one. */
static int
split_families(const char *list, char names[][SWEEP_NAME_MAX], int *n)
{
    static const char *const known[] = {"thr",   "random", "cascade",
                                        "pomdp", "agg",    "seq"};
    const char *p = list;

    *n = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            if (strlen(known[k]) == len && strncmp(p, known[k], len) == 0)
                ok = 1;
        if (!ok || *n == MAX_CURVES) {
            fprintf(stderr,
                    "trim eval: --policies: unknown family '%.*s' (known: "
                    "thr, random, cascade, pomdp, agg, seq)\n",
                    (int)len, p);
            return -1;
        }
        snprintf(names[*n], SWEEP_NAME_MAX, "%.*s", (int)len, p);
        (*n)++;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}


typedef struct eval_args {
    const char *families, *agg, *curve_env, *profile, *test_set, *train_set;
    const char *seq;
    const char *dir, *db, *calibration, *pomdp_model, *log_level;
    int64_t problems, seed, seeds, boot_reps;
    int json;
    const char *curves[MAX_CURVES]; /* the --curve values */
    int n_curves;
    int explicit_families; /* --policies named them */
    char fam[MAX_CURVES][SWEEP_NAME_MAX];
    int n_fam;
    sim_params_t test_params;
    char dbpath[4096];
} eval_args_t;


/*
** Policy files given (--agg or --seq FILES): the family `name` must be
** listed when --policies is given, and is added when not.  0, or -1 after
** printing why.
*/
static int
add_file_family(eval_args_t *a, const char *name, const char *files)
{
    int listed = 0;

    if (*files == '\0')
        return 0;
    for (int i = 0; i < a->n_fam; i++)
        listed |= strcmp(a->fam[i], name) == 0;
    if (a->explicit_families && !listed) {
        fprintf(stderr,
                "trim eval: --%s given but --policies does not list %s\n", name,
                name);
        return -1;
    }
    if (!listed && a->n_fam < MAX_CURVES)
        snprintf(a->fam[a->n_fam++], SWEEP_NAME_MAX, "%s", name);
    return 0;
}


/*
** The simulator profiles to evaluate on and trained on, the families to
** sweep (with agg or seq when --agg or --seq is given).  CLI_GO, or 2 after
*printing why.
*/
static int
check_args(eval_args_t *a)
{
    sim_params_t train_params;
    char err[EVAL_ERR_MAX];

    if (a->n_curves == 0 && *a->curve_env)
        a->curves[a->n_curves++] = a->curve_env;
    if (cli_log_level("eval", a->log_level) < 0)
        return 2;
    if (*a->test_set && *a->profile && strcmp(a->test_set, a->profile) != 0) {
        fprintf(stderr,
                "trim eval: --test-set %s and --sim-profile %s differ\n",
                a->test_set, a->profile);
        return 2;
    }
    if (*a->test_set)
        a->profile = a->test_set;
    if (*a->profile == '\0')
        a->profile = "math500";
    if (sim_profile_resolve(a->profile, &a->test_params, err, sizeof err) < 0 ||
        (*a->train_set && sim_profile_resolve(a->train_set, &train_params, err,
                                              sizeof err) < 0)) {
        fprintf(stderr, "trim eval: %s\n", err);
        return 2;
    }
    a->explicit_families = *a->families != '\0';
    if (split_families(a->explicit_families ? a->families
                       : a->n_curves        ? ""
                                            : DEFAULT_FAMILIES,
                       a->fam, &a->n_fam) < 0)
        return 2;
    if (add_file_family(a, "agg", a->agg) < 0 ||
        add_file_family(a, "seq", a->seq) < 0)
        return 2;
    return CLI_GO;
}


/* Parse and check the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, eval_args_t *a)
{
    const flag_t flags[] = {
        {"policies", FLAG_STRING, &a->families, 0, 0,
         "families to sweep: thr,random,cascade,pomdp,agg,seq "
         "(default: " DEFAULT_FAMILIES ", and agg, seq with --agg, --seq)"},
        {"agg", FLAG_STRING, &a->agg, 0, 0,
         "trained policy files for agg, comma-separated, one point each"},
        {"seq", FLAG_STRING, &a->seq, 0, 0,
         "trained policy files for seq, comma-separated, one point each"},
        {"curve", FLAG_STRING, &a->curve_env, 0, 0,
         "NAME=SPEC,SPEC,...: a custom curve (repeatable)"},
        {"problems", FLAG_INT, &a->problems, 1, 1e7, "problems per point"},
        {"seed", FLAG_INT, &a->seed, 0, 9.2e18,
         "the first problem set's seed; the others are derived from it"},
        {"seeds", FLAG_INT, &a->seeds, 1, SWEEP_SEEDS_MAX,
         "problem sets (seeds) of --problems each, pooled"},
        {"bootstrap", FLAG_INT, &a->boot_reps, 0, 1e6,
         "bootstrap replicates for the 95% intervals (0: none)"},
        {"sim-profile", FLAG_STRING, &a->profile, 0, 0,
         "simulator profile to evaluate on (default math500; names below)"},
        {"test-set", FLAG_STRING, &a->test_set, 0, 0,
         "the same as --sim-profile"},
        {"train-set", FLAG_STRING, &a->train_set, 0, 0,
         "simulator profile the --agg policies were trained on (recorded "
         "with the results)"},
        {"out", FLAG_STRING, &a->dir, 0, 0, "directory for the result files"},
        {"db", FLAG_STRING, &a->db, 0, 0,
         "audit database, a run per point (default DIR/eval.db)"},
        {"calibration", FLAG_STRING, &a->calibration, 0, 0,
         "PRM calibration grids (default: embedded fit)"},
        {"pomdp-model", FLAG_STRING, &a->pomdp_model, 0, 0,
         "TRIM-POMDP model for the pomdp family, from trim calibrate "
         "(default: the built-in one)"},
        {"json", FLAG_BOOL, &a->json, 0, 0,
         "print the results as one JSON document (DIR/eval.json)"},
        CLI_FLAG_LOG_LEVEL(&a->log_level),
    };
    int rc;

    argc = take_curves(argc, argv, a->curves, &a->n_curves);
    if (argc < 0)
        return 2;
    rc = cli_parse("eval", "[FLAGS]  |  trim eval sweep [FLAGS]",
                   eval_description, flags, sizeof flags / sizeof *flags, argc,
                   argv, NULL);
    if (rc == 0) { /* --help: the profiles too */
        printf("\nsimulator profiles:\n");
        for (const char *const *p = sim_profile_names(); *p; p++) {
            const char *about = sim_profile_about(*p);
            printf("  %-10s %s\n", *p, about ? about : "");
        }
    }
    return rc == CLI_GO ? check_args(a) : rc;
}


/*
** Add a curve per family to s, its specs checked.  A curve that cannot be
** made keeps its reason (*failed set); a family this build does not know is
** skipped when it was not asked for.  0, or -1 when out of memory.
*/
static int
add_families(sweep_t *s, const eval_args_t *a, int *failed)
{
    char err[EVAL_ERR_MAX];

    for (int i = 0; i < a->n_fam; i++) {
        sweep_curve_t *c = sweep_add_curve(s, a->fam[i]);
        int unknown = 0;
        if (c == NULL)
            return -1;
        if (strcmp(a->fam[i], "agg") == 0
                ? sweep_family_agg(c, a->agg, err, sizeof err)
            : strcmp(a->fam[i], "seq") == 0
                ? sweep_family_seq(c, a->seq, err, sizeof err)
                : sweep_family(c, a->fam[i], a->pomdp_model, err, sizeof err)) {
            errf(c->error, sizeof c->error, "%s", err);
        } else if (check_curve(c, &unknown) < 0 && !a->explicit_families &&
                   unknown) {
            /* The default set: a family this build does not have yet. */
            fprintf(stderr, "trim eval: skipping %s: %s\n", c->name, c->error);
            s->n_curves--;
            free(c->points);
            continue;
        }
        if (c->error[0]) {
            fprintf(stderr, "trim eval: %s: %s\n", c->name, c->error);
            *failed = 1;
        }
        pomdp_model_t m; /* a model fitted on hidden states says so */
        if (strcmp(a->fam[i], "pomdp") == 0 && *a->pomdp_model &&
            pomdp_model_load(a->pomdp_model, &m, err, sizeof err) == 0 &&
            m.oracle)
            printf("pomdp: ORACLE model %s (fitted on the simulator's hidden "
                   "states, labels no deployment has)\n",
                   a->pomdp_model);
    }
    return 0;
}


/*
** Add the --curve NAME=SPEC,... curves to s; one whose specs do not parse
** keeps its reason (*failed set).  0, -1 when out of memory, or 2 after
** printing why a value is malformed.
*/
static int
add_custom_curves(sweep_t *s, const eval_args_t *a, int *failed)
{
    char err[EVAL_ERR_MAX];

    for (int i = 0; i < a->n_curves; i++) {
        const char *v = a->curves[i], *eq = strchr(v, '=');
        char name[SWEEP_NAME_MAX];
        int unknown;
        if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof name ||
            eq[1] == '\0') {
            fprintf(stderr,
                    "trim eval: --curve '%s': expected NAME=SPEC,SPEC,... "
                    "with a name of 1 to %d bytes\n",
                    v, SWEEP_NAME_MAX - 1);
            return 2;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
        sweep_curve_t *c = sweep_add_curve(s, name);
        if (c == NULL)
            return -1;
        if (sweep_curve_specs(c, eq + 1, err, sizeof err) < 0)
            errf(c->error, sizeof c->error, "%s", err);
        else
            check_curve(c, &unknown);
        if (c->error[0]) {
            fprintf(stderr, "trim eval: %s: %s\n", c->name, c->error);
            *failed = 1;
        }
    }
    return 0;
}


/*
** The seed of problem set j: --seed itself first (so --seeds 1 is the
** single-seed sweep), then hashes of it, which no nearby seed of a
** training run (trim train uses SEED, SEED+1, ...) can meet by accident;
** kept below 2^63 for the store.
*/
static uint64_t
eval_seed(uint64_t seed, size_t j)
{
    return j == 0 ? seed : hash_combine(seed, (uint64_t)j) >> 1;
}


/*
** Measure the anchors and every point of s (one seed's sweep) into the
** database.  A curve whose point fails keeps the reason (*failed set) and
** stops there.  0, or the exit code after printing why.
*/
static int
run_seed(sweep_t *s, eval_runs_t *runs, int *failed)
{
    char err[EVAL_ERR_MAX];

    runs->o.seed = s->seed;
    runs->n_done = 0; /* another seed: nothing to reuse */
    if (measure(runs, &s->weak, "anchor", 1, 2, err, sizeof err) < 0 ||
        measure(runs, &s->strong, "anchor", 2, 2, err, sizeof err) < 0) {
        fprintf(stderr, "trim eval: the anchors: %s%s\n", err,
                runs->seed_label);
        return 1;
    }
    for (size_t i = 0; i < s->n_curves; i++) {
        sweep_curve_t *c = &s->curves[i];
        for (size_t k = 0;
             k < c->n && !c->error[0] && !atomic_load(runs->o.interrupt); k++) {
            sweep_point_t *p = &c->points[k];
            if (measure(runs, p, c->name, k + 1, c->n, err, sizeof err) < 0) {
                errf(c->error, sizeof c->error, "%s: %s", p->spec, err);
                fprintf(stderr, "trim eval: %s: %s%s\n", c->name, c->error,
                        runs->seed_label);
                *failed = 1;
            }
        }
    }
    return 0;
}


/*
** Run template s on each seed, sweeps[j] a clone of it for seed j, until
** all are measured or an interrupt; *n_run says how many seeds started.
** 0, or the exit code after printing why.
*/
static int
run_sweep(const sweep_t *s, eval_args_t *a, eval_runs_t *runs, sweep_t **sweeps,
          size_t *n_run, int *failed)
{
    char err[EVAL_ERR_MAX];
    size_t n = (size_t)a->seeds;

    if (make_dir(a->dir, err, sizeof err) < 0) {
        fprintf(stderr, "trim eval: %s\n", err);
        return 1;
    }
    if (*a->db == '\0') {
        snprintf(a->dbpath, sizeof a->dbpath, "%s/eval.db", a->dir);
        a->db = a->dbpath;
    }
    runs->o.problems = a->problems;
    runs->o.db = a->db;
    runs->o.calibration = *a->calibration ? a->calibration : NULL;
    runs->o.sim = &a->test_params;
    runs->o.interrupt = signals_interrupt_flag();
    runs->points_total = 2;
    for (size_t i = 0; i < s->n_curves; i++)
        runs->points_total += s->curves[i].error[0] ? 0 : s->curves[i].n;
    runs->points_total *= n;
    run_progress_open(&runs->progress, "trim eval", 0);
    fprintf(stderr,
            "trim eval: %lld problems per point and seed, %zu seed%s from "
            "%lld, test set %s, database %s\n",
            (long long)a->problems, n, n > 1 ? "s" : "", (long long)a->seed,
            a->profile, a->db);
    *n_run = 0;
    for (size_t j = 0; j < n && !atomic_load(runs->o.interrupt); j++) {
        sweeps[j] = sweep_clone(s);
        if (sweeps[j] == NULL) {
            fprintf(stderr, "trim eval: out of memory\n");
            return 1;
        }
        sweeps[j]->seed = eval_seed((uint64_t)a->seed, j);
        *n_run = j + 1;
        if (n > 1)
            snprintf(runs->seed_label, sizeof runs->seed_label,
                     " (seed %zu/%zu)", j + 1, n);
        int rc = run_seed(sweeps[j], runs, failed);
        if (rc != 0)
            return rc;
    }
    return 0;
}


/*
** The seeds to pool after an interrupt (signal sig, 0: none) in the first
** *n of sweeps: those that finished, or the first seed's measured points
** when it did not.  0, or -1 when nothing can be written.
*/
static int
keep_finished(sweep_t **sweeps, size_t *n, int sig)
{
    if (sig == 0)
        return 0;
    if (*n <= 1)
        return eval_keep_measured(sweeps[0], sig);
    fprintf(stderr,
            "trim eval: interrupted during seed %zu (seed %llu): writing the "
            "%zu seeds that finished\n",
            *n, (unsigned long long)sweeps[*n - 1]->seed, *n - 1);
    (*n)--;
    return 0;
}


/*
** Each seed's figures, then the pooled sweep with its intervals into
** *pooled.  0, or -1 after printing why.
*/
static int
pool(sweep_t **sweeps, size_t n, const eval_args_t *a, sweep_t **pooled)
{
    char err[EVAL_ERR_MAX];

    for (size_t j = 0; j < n; j++)
        if (sweep_finish(sweeps[j], err, sizeof err) < 0) {
            fprintf(stderr, "trim eval: seed %llu: %s\n",
                    (unsigned long long)sweeps[j]->seed, err);
            return -1;
        }
    *pooled = sweep_pool(sweeps, n, err, sizeof err);
    if (*pooled == NULL || sweep_finish(*pooled, err, sizeof err) < 0) {
        fprintf(stderr, "trim eval: %s\n", err);
        return -1;
    }
    if (a->boot_reps > 0 &&
        sweep_bootstrap(*pooled, (int)a->boot_reps, BOOT_LEVEL_DEFAULT,
                        (uint64_t)a->seed, err, sizeof err) < 0)
        fprintf(stderr, "trim eval: %s\n", err);
    return 0;
}


/* Write DIR's files and print s (finished and pooled); the exit code. */
static int
report(sweep_t *s, const eval_args_t *a, int failed)
{
    char *doc;
    int wrote = 0;

    doc = sweep_json(s);
    if (doc == NULL) {
        fprintf(stderr, "trim eval: out of memory\n");
        return 1;
    }
    wrote |=
        write_output(a->dir, "curves.csv", s, sweep_write_curves_csv, NULL);
    wrote |=
        write_output(a->dir, "summary.csv", s, sweep_write_summary_csv, NULL);
    wrote |= write_output(a->dir, "comparisons.csv", s,
                          sweep_write_comparisons_csv, NULL);
    wrote |= write_output(a->dir, "eval.json", s, NULL, doc);
    wrote |= write_output(a->dir, "curves.svg", s, sweep_write_svg, NULL);
    if (a->json)
        puts(doc);
    else
        eval_print(s, a->dir);
    free(doc);
    return wrote < 0 || failed ? 1 : 0;
}


/* Free the measured points x remembers and zero it. */
static void
eval_runs_clear(eval_runs_t *x)
{
    run_progress_close(&x->progress);
    free(x->done);
    memset(x, 0, sizeof *x);
}


static int
evaluate(int argc, char **argv)
{
    eval_args_t a = {
        .families = "",
        .agg = "",
        .seq = "",
        .curve_env = "",
        .profile = "",
        .test_set = "",
        .train_set = "",
        .dir = "trim-eval",
        .db = "",
        .calibration = "",
        .pomdp_model = "",
        .log_level = "warn",
        .problems = 500,
        .seed = 1,
        .seeds = 5,
        .boot_reps = BOOT_REPS_DEFAULT,
    };
    eval_runs_t runs = {0};
    sweep_t *s = NULL, *pooled = NULL, *sweeps[SWEEP_SEEDS_MAX] = {0};
    size_t n = 0;
    int failed = 0;
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    s = sweep_new();
    if (s == NULL) {
        fprintf(stderr, "trim eval: out of memory\n");
        return 1;
    }
    s->problems = a.problems;
    s->seed = (uint64_t)a.seed;
    snprintf(s->test_set, sizeof s->test_set, "%s", a.profile);
    snprintf(s->train_set, sizeof s->train_set, "%s", a.train_set);
    if (add_families(s, &a, &failed) < 0 ||
        (rc = add_custom_curves(s, &a, &failed)) < 0) {
        fprintf(stderr, "trim eval: out of memory\n");
        rc = 1;
    } else if (rc == 0 &&
               (rc = run_sweep(s, &a, &runs, sweeps, &n, &failed)) == 0) {
        run_progress_close(&runs.progress); /* before the report */
        int sig = atomic_load(runs.o.interrupt) ? signals_last() : 0;
        if (keep_finished(sweeps, &n, sig) < 0 ||
            pool(sweeps, n, &a, &pooled) < 0)
            rc = sig ? 0 : 1;
        else
            rc = report(pooled, &a, failed);
        if (sig != 0)
            rc = 128 + sig;
    }
    eval_runs_clear(&runs);
    for (size_t j = 0; j < SWEEP_SEEDS_MAX; j++)
        sweep_destroy(&sweeps[j]);
    sweep_destroy(&pooled);
    sweep_destroy(&s);
    return rc;
}


int
cmd_eval(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
        return cmd_eval_sweep(argc - 1, argv + 1);
    if (argc >= 2 && argv[1][0] != '-') {
        fprintf(stderr,
                "trim eval: unknown subcommand '%s' (known: sweep; or flags "
                "only, see 'trim eval --help')\n",
                argv[1]);
        return 2;
    }
    return evaluate(argc, argv);
}
