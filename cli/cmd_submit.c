/*
** cmd_submit.c: `trim submit`, problems into a running cluster.
**
**   trim submit [--policy P] FILE.jsonl
**   trim submit [--policy P] --sim N [--seed S]
**
** Problems go in chunks; the coordinator acknowledges each chunk only once
** it is committed to its database, so what this command reports as
** submitted survives a coordinator crash.  A chunk is one Submit, all or
** nothing: so a line over a field limit is reported and skipped before it
** is sent, and a chunk is sent early when one more problem would take it
** past the frame size limit.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arg_checks.h"
#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "errf.h"
#include "input_file.h"
#include "policy.h"
#include "problems.h"
#include "sim.h"

static const char description[] =
    "Submit problems to a running coordinator as a new run (or, with --run,\n"
    "into an existing one): a JSONL file (the native layouts of MATH-500,\n"
    "GSM8K, AIME, OlympiadBench and Minerva Math, or {\"id\", \"problem\",\n"
    "\"answer\"} lines; see --format; bad lines are reported and skipped)\n"
    "or N simulated problems.  Prints the run id once every problem is\n"
    "durably recorded.";

typedef struct submitter {
    client_t *client;
    const char *policy;
    uint64_t seed;
    char *config;
    int explore;
    int64_t max_strong_tokens;
    double target_share;
    const char *speculate; /* "": the coordinator's */
    int64_t run_id;        /* 0 until the first chunk opens the run */
    int timeout_ms;
    size_t chunk;
    size_t room;  /* bytes of problems one Submit frame can carry */
    size_t bytes; /* their size in the chunk being built */
    Trim__ProblemSpec *specs;
    Trim__ProblemSpec **ptrs;
    char **strings; /* owned texts of the chunk being built */
    size_t n, n_strings;
    int64_t submitted, first_id, last_id;
    uint64_t index; /* problems seen, for seeds */
    int failed;
    char err[512];
} submitter_t;


static char *
keep(submitter_t *s, const char *text)
{
    char *copy = strdup(text ? text : "");
    if (copy)
        s->strings[s->n_strings++] = copy;
    return copy;
}


/* Send the chunk and wait for its acknowledgement. */
static int
flush_chunk(submitter_t *s)
{
    Trim__Submit sub = TRIM__SUBMIT__INIT;
    Trim__Envelope env = TRIM__ENVELOPE__INIT, *reply = NULL;
    int rc = -1;

    if (s->n == 0)
        return 0;
    sub.request_id = client_next_id(s->client);
    sub.run_id = (uint64_t)s->run_id;
    sub.policy = (char *)s->policy;
    sub.seed = s->seed;
    sub.config = s->config ? s->config : "";
    sub.explore = s->explore;
    sub.max_strong_tokens = (uint64_t)s->max_strong_tokens;
    sub.target_share = s->target_share;
    sub.speculate = (char *)s->speculate;
    sub.n_problems = s->n;
    sub.problems = s->ptrs;
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    int got = client_call(s->client, &env, sub.request_id,
                          TRIM__ENVELOPE__BODY_SUBMIT_ACK, s->timeout_ms,
                          &reply, s->err, sizeof s->err);
    if (got == 0) {
        errf(s->err, sizeof s->err,
             "no acknowledgement within %d ms for %zu problems: they may or "
             "may not be recorded (see 'trim status')",
             s->timeout_ms, s->n);
        goto done;
    }
    if (got < 0)
        goto done;
    if (reply->submit_ack->error[0] != '\0') {
        errf(s->err, sizeof s->err, "refused: %s", reply->submit_ack->error);
        goto done;
    }
    s->run_id = (int64_t)reply->submit_ack->run_id;
    for (size_t i = 0; i < reply->submit_ack->n_problem_ids; i++) {
        int64_t id = (int64_t)reply->submit_ack->problem_ids[i];
        if (s->first_id == 0)
            s->first_id = id;
        s->last_id = id;
    }
    s->submitted += (int64_t)reply->submit_ack->n_problem_ids;
    rc = 0;
done:
    env_destroy(&reply);
    for (size_t i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    s->n = s->n_strings = 0;
    s->bytes = 0;
    if (rc < 0)
        s->failed = 1;
    return rc;
}


/* Bytes a problem adds to a Submit: its field tag, length and body. */
static size_t
problem_wire_size(const char *text, const char *truth, const char *source)
{
    Trim__ProblemSpec p = TRIM__PROBLEM_SPEC__INIT;

    p.text = (char *)text;
    p.ground_truth = (char *)(truth ? truth : "");
    p.has_ground_truth = truth != NULL;
    p.source = (char *)source;
    p.seed = UINT64_MAX; /* the longest varint */
    return 1 + 5 + trim__problem_spec__get_packed_size(&p);
}


static int
add_problem(submitter_t *s, const char *text, const char *truth,
            const char *source)
{
    size_t size = problem_wire_size(text, truth, source);
    Trim__ProblemSpec *p;

    if (s->n > 0 && s->bytes + size > s->room && flush_chunk(s) < 0)
        return -1;
    p = &s->specs[s->n];
    s->bytes += size;
    trim__problem_spec__init(p);
    p->text = keep(s, text);
    p->has_ground_truth = truth != NULL;
    p->ground_truth = truth ? keep(s, truth) : "";
    p->source = keep(s, source);
    p->seed = sim_problem_seed(s->seed, s->index++);
    if (!p->text || !p->ground_truth || !p->source) {
        errf(s->err, sizeof s->err, "out of memory");
        s->failed = 1;
        return -1;
    }
    s->ptrs[s->n++] = p;
    return s->n == s->chunk ? flush_chunk(s) : 0;
}


typedef struct file_ctx {
    submitter_t *s;
    const char *path;
    long skipped; /* lines over a field limit */
} file_ctx_t;


/* Add one problem of the file, or report its line and skip it. */
static int
on_file_problem(void *ctx, const problem_rec_t *r)
{
    file_ctx_t *f = ctx;
    Trim__ProblemSpec spec = TRIM__PROBLEM_SPEC__INIT;
    char source[TRIM_MAX_SOURCE + 1], why[128];

    snprintf(source, sizeof source, "%s:%d", f->path, r->line);
    spec.text = (char *)r->text;
    spec.ground_truth = (char *)r->ground_truth;
    spec.source = source;
    if (env_check_problem(&spec, why, sizeof why) < 0) {
        fprintf(stderr, "%s:%d: %s; skipped\n", f->path, r->line, why);
        f->skipped++;
        return 0;
    }
    return add_problem(f->s, r->text, r->ground_truth, source) < 0;
}


typedef struct submit_args {
    client_flags_t cf;
    const char *policy, *format, *sim_profile, *speculate;
    const char *file; /* the JSONL file, or NULL with --sim */
    int64_t sim, seed, run, chunk, max_strong;
    double target_share;
    int json, explore;
} submit_args_t;


/* Parse the flags into *a; CLI_GO or the exit code. */
static int
parse_args(int argc, char **argv, submit_args_t *a)
{
    const flag_t flags[] = {
        CLIENT_FLAG_CONNECT(&a->cf.connect),
        {"policy", FLAG_STRING, &a->policy, 0, 0, "policy of the new run"},
        {"sim", FLAG_INT, &a->sim, 0, 1e8, "submit N simulated problems"},
        {"sim-profile", FLAG_STRING, &a->sim_profile, 0, 0,
         "simulator profile of those problems: math500 (fitted) or another "
         "of trim eval --help; the same as the workers'"},
        {"format", FLAG_STRING, &a->format, 0, 0,
         "layout of FILE.jsonl: auto, plain, math, gsm8k, aime, "
         "olympiadbench or minerva"},
        {"seed", FLAG_INT, &a->seed, 0, 9.2e18,
         "problem set and sampling seed"},
        {"run", FLAG_INT, &a->run, 0, 9.2e18,
         "add to this run instead of opening a new one"},
        {"chunk", FLAG_INT, &a->chunk, 1, TRIM_MAX_BATCH,
         "problems per acknowledged message"},
        {"timeout-ms", FLAG_INT, &a->cf.timeout_ms, 1, 3600000,
         "how long to wait for each acknowledgement"},
        CLIENT_FLAG_CONNECT_TIMEOUT(&a->cf.connect_timeout_ms, "coordinator"),
        {"json", FLAG_BOOL, &a->json, 0, 0, "print the result as JSON"},
        {"explore", FLAG_BOOL, &a->explore, 0, 0,
         "a new run's learned policy samples its actions"},
        {"max-strong-tokens", FLAG_INT, &a->max_strong, 0, 1e12,
         "a new run's per-problem strong-token cap (0: none)"},
        {"target-strong-share", FLAG_DOUBLE, &a->target_share, 0, 0.999,
         "a new run's strong-token share to hold (0: none)"},
        {"speculate", FLAG_STRING, &a->speculate, 0, 0,
         "a new run's speculative next-step drafting: off, on or guard "
         "(default: the coordinator's --speculate)"},
        CLIENT_FLAGS_CURVE_OF(&a->cf),
    };
    const size_t n = sizeof flags / sizeof *flags;
    int npos, rc = cli_parse("submit", "[FLAGS] FILE.jsonl | --sim N",
                             description, flags, n, argc, argv, &npos);

    if (rc != CLI_GO)
        return rc;
    if ((npos == 1) == (a->sim > 0) || npos > 1) {
        fprintf(stderr, "trim submit: give one JSONL file or --sim N\n");
        return 2;
    }
    if (!problems_format_known(a->format)) {
        fprintf(stderr,
                "trim submit: --format: unknown layout '%s' (one of: %s)\n",
                a->format, problems_formats());
        return 2;
    }
    if (a->sim > 0 &&
        arg_check_profile("submit", "--sim-profile", a->sim_profile) < 0)
        return 2;
    coord_speculate_t mode;
    if (*a->speculate && arg_check_speculate("submit", a->speculate, &mode) < 0)
        return 2;
    char why[256];
    if (policy_check_spec(a->policy, why, sizeof why) < 0) {
        fprintf(stderr, "trim submit: --policy: %s\n", why);
        return 2;
    }
    a->file = npos == 1 ? argv[1] : NULL;
    return CLI_GO;
}


/*
** The most bytes of a Submit frame that are not its problems: the
** envelope and the run's settings, with the longest ids.
*/
static size_t
submit_header_size(const submitter_t *s)
{
    Trim__Submit sub = TRIM__SUBMIT__INIT;

    sub.request_id = sub.run_id = sub.seed = UINT64_MAX;
    sub.policy = (char *)s->policy;
    sub.config = s->config ? s->config : "";
    sub.explore = 1;
    sub.max_strong_tokens = UINT64_MAX;
    sub.target_share = 1;
    sub.speculate = "guard";
    /* version (2 bytes), body tag (1) and length (5) around it */
    return 8 + trim__submit__get_packed_size(&sub);
}


/*
** Set up s (zeroed, or with only its client set) for the arguments: the
** new run's settings and room for a chunk.  Returns 0, or -1 with s->err.
*/
static int
submitter_init(submitter_t *s, const submit_args_t *a)
{
    s->policy = a->policy;
    s->seed = (uint64_t)a->seed;
    s->explore = a->explore;
    s->max_strong_tokens = a->max_strong;
    s->target_share = a->target_share;
    s->speculate = a->speculate;
    s->run_id = a->run;
    s->timeout_ms = (int)a->cf.timeout_ms;
    s->chunk = (size_t)a->chunk;
    s->specs = calloc(s->chunk, sizeof *s->specs);
    s->ptrs = calloc(s->chunk, sizeof *s->ptrs);
    s->strings = calloc(s->chunk * 3, sizeof *s->strings);
    json_t *cfg =
        json_pack("{s:s, s:s, s:I}", "submitted_by", "trim submit", "source",
                  a->file ? a->file : "sim", "seed", (json_int_t)a->seed);
    s->config = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (!s->specs || !s->ptrs || !s->strings)
        return errf(s->err, sizeof s->err, "out of memory");
    s->room = TRIM_MAX_MESSAGE - submit_header_size(s);
    return 0;
}


/*
** Free what s holds (the texts of an unsent chunk, its buffers, the client)
** and zero it; s may be zeroed already.
*/
static void
submitter_clear(submitter_t *s)
{
    for (size_t i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    free(s->specs);
    free(s->ptrs);
    free(s->strings);
    free(s->config);
    client_destroy(&s->client);
    memset(s, 0, sizeof *s);
}


/* Add the problems of a JSONL file; 0, or -1 with s->err. */
static int
add_file(submitter_t *s, const char *path, const char *format, long *skipped)
{
    file_ctx_t f = {s, path, 0};

    if (problems_read_file(path, format, on_file_problem, &f, skipped, s->err,
                           sizeof s->err) < 0)
        return -1;
    *skipped += f.skipped;
    return s->failed ? -1 : 0;
}


/* Add n problems of the simulator profile, set seed; 0, or -1 with s->err. */
static int
add_sim(submitter_t *s, const char *profile, uint64_t seed, int64_t n)
{
    sim_params_t params;
    sim_world_t *world;

    if (sim_profile_resolve(profile, &params, s->err, sizeof s->err) < 0)
        return -1;
    world = sim_world_new(&params, NULL, s->err, sizeof s->err);
    if (world == NULL)
        return -1;
    for (int64_t i = 0; i < n && !s->failed; i++) {
        sim_problem_t p = {0};
        char source[64];
        snprintf(source, sizeof source, "sim:%lld:%lld", (long long)seed,
                 (long long)i);
        if (sim_problem_make(world, seed, (uint64_t)i, &p) < 0) {
            errf(s->err, sizeof s->err, "out of memory");
            s->failed = 1;
        } else {
            add_problem(s, p.text, p.answer, source);
        }
        sim_problem_clear(&p);
    }
    sim_world_destroy(&world);
    return s->failed ? -1 : 0;
}


static void
report(const submitter_t *s, int json, long skipped)
{
    if (json)
        printf("{\"run_id\":%lld,\"problems\":%lld,\"first_problem_id\":%lld,"
               "\"last_problem_id\":%lld,\"skipped_lines\":%ld}\n",
               (long long)s->run_id, (long long)s->submitted,
               (long long)s->first_id, (long long)s->last_id, skipped);
    else
        printf("run %lld: %lld problems recorded (ids %lld-%lld)%s\n",
               (long long)s->run_id, (long long)s->submitted,
               (long long)s->first_id, (long long)s->last_id,
               skipped ? ", some lines skipped (see above)" : "");
}


/* Say why the submission stopped, and what was recorded before. */
static void
report_failure(const submitter_t *s)
{
    cli_error("submit", s->err);
    if (s->submitted > 0)
        fprintf(stderr,
                "trim submit: %lld problems were recorded in run %lld "
                "before that (ids %lld-%lld)\n",
                (long long)s->submitted, (long long)s->run_id,
                (long long)s->first_id, (long long)s->last_id);
}


int
cmd_submit(int argc, char **argv)
{
    submit_args_t a = {
        .cf = {CLIENT_CONNECT_DEFAULT, "", "", 30000,
               CLIENT_CONNECT_TIMEOUT_DEFAULT},
        .policy = "thr:0.5",
        .format = "auto",
        .sim_profile = "math500",
        .speculate = "",
        .seed = 1,
        .chunk = 1000,
    };
    submitter_t s = {0};
    long skipped = 0;
    int rc = parse_args(argc, argv, &a);

    if (rc != CLI_GO)
        return rc;
    if (a.file && input_file_check("submit", a.file, "problems") < 0)
        return 1;
    if ((rc = client_open("submit", &a.cf, &s.client)) != 0)
        return rc;
    rc = 1;
    if (submitter_init(&s, &a) < 0)
        goto done;
    if (a.file ? add_file(&s, a.file, a.format, &skipped) < 0
               : add_sim(&s, a.sim_profile, (uint64_t)a.seed, a.sim) < 0)
        goto done;
    if (flush_chunk(&s) < 0)
        goto done;
    if (s.submitted == 0) {
        if (a.file)
            errf(s.err, sizeof s.err,
                 "no problem in %s (%ld lines skipped, see above)", a.file,
                 skipped);
        else
            errf(s.err, sizeof s.err, "no problem to submit");
        goto done;
    }
    report(&s, a.json, skipped);
    rc = 0;
done:
    if (rc != 0)
        report_failure(&s);
    submitter_clear(&s);
    return rc;
}
