/*
** cmd_submit.c: `trim submit`, problems into a running cluster.
**
**   trim submit [--policy P] FILE.jsonl
**   trim submit [--policy P] --sim N [--seed S]
**
** Problems go in chunks; the coordinator acknowledges each chunk only once
** it is committed to its database, so what this command reports as
** submitted survives a coordinator crash.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "envelope.h"
#include "flags.h"
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
    int64_t run_id; /* 0 until the first chunk opens the run */
    int timeout_ms;
    size_t chunk;
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
    sub.n_problems = s->n;
    sub.problems = s->ptrs;
    env.body_case = TRIM__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    if (client_send(s->client, &env, s->err, sizeof s->err) < 0)
        goto done;
    int got =
        client_recv(s->client, TRIM__ENVELOPE__BODY_SUBMIT_ACK, sub.request_id,
                    s->timeout_ms, &reply, s->err, sizeof s->err);
    if (got == 0) {
        snprintf(s->err, sizeof s->err,
                 "no acknowledgement within %d ms for %zu problems: they may "
                 "or may not be recorded (see 'trim status')",
                 s->timeout_ms, s->n);
        goto done;
    }
    if (got < 0)
        goto done;
    if (reply->submit_ack->error[0] != '\0') {
        snprintf(s->err, sizeof s->err, "refused: %s",
                 reply->submit_ack->error);
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
    if (rc < 0)
        s->failed = 1;
    return rc;
}


static int
add_problem(submitter_t *s, const char *text, const char *truth,
            const char *source)
{
    Trim__ProblemSpec *p = &s->specs[s->n];

    trim__problem_spec__init(p);
    p->text = keep(s, text);
    p->has_ground_truth = truth != NULL;
    p->ground_truth = truth ? keep(s, truth) : "";
    p->source = keep(s, source);
    p->seed = sim_problem_seed(s->seed, s->index++);
    if (!p->text || !p->ground_truth || !p->source) {
        snprintf(s->err, sizeof s->err, "out of memory");
        s->failed = 1;
        return -1;
    }
    s->ptrs[s->n++] = p;
    return s->n == s->chunk ? flush_chunk(s) : 0;
}


typedef struct file_ctx {
    submitter_t *s;
    const char *path;
} file_ctx_t;


static int
on_file_problem(void *ctx, const problem_rec_t *r)
{
    file_ctx_t *f = ctx;
    char source[512];
    snprintf(source, sizeof source, "%s:%d", f->path, r->line);
    return add_problem(f->s, r->text, r->ground_truth, source) < 0;
}


int
cmd_submit(int argc, char **argv)
{
    const char *connect = "tcp://127.0.0.1:5555", *policy = "thr:0.5";
    const char *curve_secret = "", *server_key = "", *format = "auto";
    const char *sim_profile = "math500";
    int64_t sim = 0, seed = 1, run = 0, timeout = 30000, chunk = 1000;
    int json = 0, explore = 0;
    int64_t max_strong = 0;
    double target_share = 0;
    const flag_t flags[] = {
        {"connect", FLAG_STRING, &connect, 0, 0, "coordinator address"},
        {"policy", FLAG_STRING, &policy, 0, 0, "policy of the new run"},
        {"sim", FLAG_INT, &sim, 0, 1e8, "submit N simulated problems"},
        {"sim-profile", FLAG_STRING, &sim_profile, 0, 0,
         "simulator profile of those problems: math500 (fitted), hard or "
         "easy; the same as the workers'"},
        {"format", FLAG_STRING, &format, 0, 0,
         "layout of FILE.jsonl: auto, plain, math, gsm8k, aime, "
         "olympiadbench or minerva"},
        {"seed", FLAG_INT, &seed, 0, 9.2e18, "problem set and sampling seed"},
        {"run", FLAG_INT, &run, 0, 9.2e18,
         "add to this run instead of opening a new one"},
        {"chunk", FLAG_INT, &chunk, 1, TRIM_MAX_BATCH,
         "problems per acknowledged message"},
        {"timeout-ms", FLAG_INT, &timeout, 1, 3600000,
         "how long to wait for each acknowledgement"},
        {"json", FLAG_BOOL, &json, 0, 0, "print the result as JSON"},
        {"explore", FLAG_BOOL, &explore, 0, 0,
         "a new run's learned policy samples its actions"},
        {"max-strong-tokens", FLAG_INT, &max_strong, 0, 1e12,
         "a new run's per-problem strong-token cap (0: none)"},
        {"target-strong-share", FLAG_DOUBLE, &target_share, 0, 0.999,
         "a new run's strong-token share to hold (0: none)"},
        {"curve-secret", FLAG_STRING, &curve_secret, 0, 0,
         "this client's key pair (.secret file)"},
        {"curve-server-key", FLAG_STRING, &server_key, 0, 0,
         "the coordinator's public key, or its file"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    int npos, curve_on, rc = 1;
    char server_pub[41];
    curve_keys_t keys = {0};
    submitter_t s = {0};
    long skipped = 0;

    switch (flags_parse("submit", flags, n, argc, argv, &npos)) {
    case 1:
        flags_usage(stdout, "submit", "[FLAGS] FILE.jsonl | --sim N",
                    description, flags, n);
        return 0;
    case -1:
        return 2;
    }
    if ((npos == 1) == (sim > 0) || npos > 1) {
        fprintf(stderr, "trim submit: give one JSONL file or --sim N\n");
        return 2;
    }
    if (!problems_format_known(format)) {
        fprintf(stderr,
                "trim submit: --format: unknown layout '%s' (one of: %s)\n",
                format, problems_formats());
        return 2;
    }
    if (client_curve("submit", curve_secret, server_key, &keys, server_pub,
                     &curve_on) < 0)
        return 2;
    s.policy = policy;
    s.seed = (uint64_t)seed;
    s.explore = explore;
    s.max_strong_tokens = max_strong;
    s.target_share = target_share;
    s.run_id = run;
    s.timeout_ms = (int)timeout;
    s.chunk = (size_t)chunk;
    s.specs = calloc(s.chunk, sizeof *s.specs);
    s.ptrs = calloc(s.chunk, sizeof *s.ptrs);
    s.strings = calloc(s.chunk * 3, sizeof *s.strings);
    json_t *cfg =
        json_pack("{s:s, s:s, s:I}", "submitted_by", "trim submit", "source",
                  npos ? argv[1] : "sim", "seed", (json_int_t)seed);
    s.config = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    s.client = client_new(connect, curve_on ? &keys : NULL, server_pub, s.err,
                          sizeof s.err);
    if (!s.specs || !s.ptrs || !s.strings || !s.client)
        goto done;
    if (npos == 1) {
        file_ctx_t f = {&s, argv[1]};
        if (problems_read_file(argv[1], format, on_file_problem, &f, &skipped,
                               s.err, sizeof s.err) < 0)
            goto done;
    } else {
        sim_params_t params;
        if (sim_profile_resolve(sim_profile, &params, s.err, sizeof s.err) < 0)
            goto done;
        sim_world_t *world = sim_world_new(&params, NULL, s.err, sizeof s.err);
        if (world == NULL)
            goto done;
        for (int64_t i = 0; i < sim && !s.failed; i++) {
            sim_problem_t p = {0};
            char source[64];
            snprintf(source, sizeof source, "sim:%lld:%lld", (long long)seed,
                     (long long)i);
            if (sim_problem_make(world, (uint64_t)seed, (uint64_t)i, &p) < 0) {
                snprintf(s.err, sizeof s.err, "out of memory");
                s.failed = 1;
            } else {
                add_problem(&s, p.text, p.answer, source);
            }
            sim_problem_clear(&p);
        }
        sim_world_destroy(&world);
    }
    if (!s.failed)
        flush_chunk(&s);
    if (s.failed)
        goto done;
    if (s.submitted == 0) {
        snprintf(s.err, sizeof s.err, "no problem to submit");
        goto done;
    }
    if (json)
        printf("{\"run_id\":%lld,\"problems\":%lld,\"first_problem_id\":%lld,"
               "\"last_problem_id\":%lld,\"skipped_lines\":%ld}\n",
               (long long)s.run_id, (long long)s.submitted,
               (long long)s.first_id, (long long)s.last_id, skipped);
    else
        printf("run %lld: %lld problems recorded (ids %lld-%lld)%s\n",
               (long long)s.run_id, (long long)s.submitted,
               (long long)s.first_id, (long long)s.last_id,
               skipped ? ", some lines skipped (see above)" : "");
    rc = 0;
done:
    if (rc != 0) {
        fprintf(stderr, "trim submit: %s\n", s.err);
        if (s.submitted > 0)
            fprintf(stderr,
                    "trim submit: %lld problems were recorded in run %lld "
                    "before that (ids %lld-%lld)\n",
                    (long long)s.submitted, (long long)s.run_id,
                    (long long)s.first_id, (long long)s.last_id);
    }
    for (size_t i = 0; i < s.n_strings; i++)
        free(s.strings[i]);
    free(s.specs);
    free(s.ptrs);
    free(s.strings);
    free(s.config);
    client_destroy(&s.client);
    curve_keys_clear(&keys);
    return rc;
}
