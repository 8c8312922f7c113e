/*
** resume.c: resuming an interrupted run, and its report (see resume.h).
*/
#include "resume.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "summary.h"


/*
** Whether flag --name was given: on the command line (--name or
** --name=VALUE) or as its TRIM_NAME variable (flags.h).
*/
static int
given(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    char var[64];
    size_t k = (size_t)snprintf(var, sizeof var, "TRIM_");

    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 &&
            strncmp(argv[i] + 2, name, len) == 0 &&
            (argv[i][2 + len] == '\0' || argv[i][2 + len] == '='))
            return 1;
    for (; *name && k + 1 < sizeof var; name++)
        var[k++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
    var[k] = '\0';
    return getenv(var) != NULL;
}


/* A string member of the configuration, "" when absent or null. */
static const char *
config_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}


/*
** Refuse flag --name when it was given with a value (as text) other than
** the recorded one.  0, or -1 after printing why.
*/
static int
check(int argc, char **argv, int64_t run_id, const char *name,
      const char *value, const char *recorded)
{
    if (!given(argc, argv, name) || strcmp(value, recorded) == 0)
        return 0;
    fprintf(stderr,
            "trim run: --resume %" PRId64 ": --%s '%s' conflicts with the "
            "run's recorded %s%s%s; leave --%s out to finish the run as it "
            "started\n",
            run_id, name, value, *recorded ? "'" : "",
            *recorded ? recorded : "none", *recorded ? "'" : "", name);
    return -1;
}


/* Load the run's row: its policy (copied) and configuration.  0 or -1. */
static int
load_run(const char *db, int64_t run_id, store_run_t *row, resume_t *r)
{
    char err[512];
    json_error_t jerr;
    store_reader_t *reader = store_reader_new(db, err, sizeof err);
    int found =
        reader ? store_get_run(reader, run_id, row, err, sizeof err) : -1;

    if (found == 1) {
        r->policy = strdup(row->policy ? row->policy : "");
        r->config = json_loads(row->config ? row->config : "{}", 0, &jerr);
        if (r->config == NULL)
            snprintf(err, sizeof err, "its recorded configuration: %s",
                     jerr.text);
    }
    store_reader_destroy(&reader);
    if (found == 0)
        fprintf(stderr, "trim run: --resume %" PRId64 ": no such run in %s\n",
                run_id, db);
    else if (found < 0 || r->config == NULL)
        fprintf(stderr, "trim run: --resume %" PRId64 ": %s\n", run_id, err);
    else if (r->policy == NULL)
        fprintf(stderr, "trim run: out of memory\n");
    return found == 1 && r->config && r->policy ? 0 : -1;
}


/* The model servers as recorded; a flag may move a server, not change it. */
static int
plan_servers(int argc, char **argv, int64_t run_id,
             const http_flag_values_t *hv, json_t *config, local_opts_t *o,
             resume_t *r)
{
    static const char *const pool[3] = {"small", "large", "prm"};
    const http_backend_opts_t **http[3] = {&o->small_http, &o->large_http,
                                           &o->prm_http};
    json_t *servers = json_object_get(config, "servers");
    http_backend_opts_t shared;
    char flag[32];

    if (http_flags_to_opts("run", hv, &shared) < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        json_t *s = json_object_get(servers, pool[i]);
        const char *url = *http[i] ? (*http[i])->base_url : "";
        const char *model = *http[i] ? (*http[i])->model : "";
        snprintf(flag, sizeof flag, "%s-url", pool[i]);
        if (s == NULL && check(argc, argv, run_id, flag, url, "") < 0)
            return -1;
        snprintf(flag, sizeof flag, "%s-model", pool[i]);
        if (s != NULL &&
            check(argc, argv, run_id, flag, model, config_str(s, "model")) < 0)
            return -1;
        if (s != NULL && *http[i] == NULL) {
            r->pool[i] = shared;
            r->pool[i].base_url = config_str(s, "url");
            r->pool[i].model = config_str(s, "model");
            *http[i] = &r->pool[i];
        }
    }
    o->chat = json_is_true(json_object_get(servers, "chat"));
    return 0;
}


int
resume_plan(int64_t run_id, int argc, char **argv, const http_flag_values_t *hv,
            local_opts_t *o, resume_t *r)
{
    store_run_t row;
    char given_v[64], rec_v[64];

    memset(r, 0, sizeof *r);
    if (load_run(o->db, run_id, &row, r) < 0)
        return -1;
    json_t *c = r->config;
    /* Only `trim run` records its cluster; a run that `trim submit` or the
    ** gateway opened has its problems' models on a coordinator's peers. */
    if (json_object_get(c, "cluster") == NULL) {
        const char *by = config_str(c, "submitted_by");
        fprintf(stderr,
                "trim run: --resume %" PRId64 ": run %" PRId64
                " was not made by `trim run`%s%s%s; finish it with a "
                "coordinator: `trim coordinator --db %s` recovers it\n",
                run_id, run_id, *by ? " (" : "", by, *by ? ")" : "", o->db);
        return -1;
    }
    const char *file = config_str(c, "problems_file");
    const char *format = config_str(c, "format");
    char problems[32], rec_problems[32], seed[32], rec_seed[32];
    snprintf(problems, sizeof problems, "%" PRId64, o->problems);
    snprintf(rec_problems, sizeof rec_problems, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(c, "problems")));
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    snprintf(rec_seed, sizeof rec_seed, "%" PRIu64, row.seed);
    if (check(argc, argv, run_id, "policy", o->policy, r->policy) < 0 ||
        check(argc, argv, run_id, "seed", seed, rec_seed) < 0 ||
        check(argc, argv, run_id, "problems",
              o->problems_file ? o->problems_file : problems,
              *file ? file : rec_problems) < 0 ||
        check(argc, argv, run_id, "format", o->problems_format,
              *format ? format : "auto") < 0 ||
        check(argc, argv, run_id, "calibration",
              o->calibration ? o->calibration : "",
              config_str(c, "calibration")) < 0 ||
        check(argc, argv, run_id, "sim-profile", o->sim_profile,
              config_str(c, "sim_profile")) < 0)
        return -1;
    /* Numbers well within a double's 53 bits. */
    const struct {
        const char *flag;
        const char *fmt;
        double value, recorded;
    } nums[] = {
        {"max-steps", "%.0f", o->max_steps,
         (double)json_integer_value(json_object_get(c, "max_steps"))},
        {"explore", "%.0f", o->explore, row.explore},
        {"chat", "%.0f", o->chat,
         json_is_true(json_object_get(json_object_get(c, "servers"), "chat"))},
        {"max-strong-tokens", "%.0f", (double)o->max_strong_tokens,
         (double)row.max_strong_tokens},
        {"target-strong-share", "%.17g", o->target_share, row.target_share},
    };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        snprintf(given_v, sizeof given_v, nums[i].fmt, nums[i].value);
        snprintf(rec_v, sizeof rec_v, nums[i].fmt, nums[i].recorded);
        if (check(argc, argv, run_id, nums[i].flag, given_v, rec_v) < 0)
            return -1;
    }
    if (plan_servers(argc, argv, run_id, hv, c, o, r) < 0)
        return -1;
    /* As recorded; the problems themselves are in the store. */
    o->resume_run = run_id;
    o->policy = r->policy;
    o->seed = row.seed;
    o->problems = json_integer_value(json_object_get(c, "problems"));
    /* A run of a file goes on reading it after the problems it has. */
    o->problems_file =
        *config_str(c, "problems_file") ? config_str(c, "problems_file") : NULL;
    o->problems_format =
        *config_str(c, "format") ? config_str(c, "format") : NULL;
    o->max_steps = (int)json_integer_value(json_object_get(c, "max_steps"));
    o->calibration =
        *config_str(c, "calibration") ? config_str(c, "calibration") : NULL;
    o->sim_profile =
        *config_str(c, "sim_profile") ? config_str(c, "sim_profile") : NULL;
    o->explore = row.explore;
    o->max_strong_tokens = row.max_strong_tokens;
    o->target_share = row.target_share;
    return 0;
}


void
resume_clear(resume_t *r)
{
    json_decref(r->config);
    free(r->policy);
    memset(r, 0, sizeof *r);
}


/* s for a POSIX shell: as it is when plain, else in single quotes. */
static const char *
shell_word(const char *s, char *out, size_t outlen)
{
    size_t k = 0;

    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_./-+,:=@%") == strlen(s))
        return s;
    out[k++] = '\'';
    for (; *s && k + 6 < outlen; s++) {
        if (*s == '\'') {
            memcpy(out + k, "'\\''", 4);
            k += 4;
        } else {
            out[k++] = *s;
        }
    }
    out[k++] = '\'';
    out[k] = '\0';
    return out;
}


int
resume_report(const char *db, int64_t run_id, double elapsed_s, int64_t resumed,
              int64_t routed_steps, int sig, int json, const prices_t *prices)
{
    cost_usd_t usd;
    char err[512], policy[512], quoted[1024];
    int servers = 0; /* model servers over HTTP: their flags are not kept */
    store_run_t row;
    store_summary_t s;
    Trim__RunStatus st;
    store_reader_t *reader = store_reader_new(db, err, sizeof err);
    int rc = reader ? store_get_run(reader, run_id, &row, err, sizeof err) : -1;

    if (rc == 1) {
        snprintf(policy, sizeof policy, "%s", row.policy ? row.policy : "");
        servers = row.config && strstr(row.config, "\"servers\":");
        rc = store_summary(reader, run_id, &s, err, sizeof err) < 0 ? -1 : 1;
    }
    store_reader_destroy(&reader);
    if (rc != 1) {
        fprintf(stderr, "trim run: run %" PRId64 " in %s: %s\n", run_id, db,
                rc == 0 ? "not found" : err);
        return -1;
    }
    trim__run_status__init(&st);
    st.run_id = (uint64_t)run_id;
    st.policy = policy;
    st.seed = row.seed;
    st.problems = (uint64_t)s.problems;
    st.finished = (uint64_t)s.finished;
    st.failed = (uint64_t)s.failed;
    st.cancelled = (uint64_t)s.cancelled;
    st.correct = (uint64_t)s.correct;
    st.graded = (uint64_t)s.graded;
    st.steps = (uint64_t)s.steps;
    st.routed_steps = (uint64_t)s.routed_steps;
    st.regenerated_steps = (uint64_t)s.regenerated_steps;
    st.weak_tokens = (uint64_t)s.weak_tokens;
    st.strong_tokens = (uint64_t)s.strong_tokens;
    st.discarded_tokens = (uint64_t)s.discarded_tokens;
    st.prm_tokens = (uint64_t)s.prm_tokens;
    /* The text's rate is this session's (the run's steps are not). */
    st.elapsed_s = json ? elapsed_s : -1;
    if (prices &&
        summary_store_usd(db, run_id, prices, &usd, err, sizeof err) < 0) {
        fprintf(stderr, "trim run: %s\n", err);
        return -1;
    }
    if (resumed == 0 && sig == 0)
        fprintf(json ? stderr : stdout,
                "run %" PRId64 ": nothing left to resume\n", run_id);
    summary_print(&st, db, NULL, json, prices, prices ? &usd : NULL);
    if (!json && elapsed_s > 0 && resumed != 0)
        printf("  elapsed             %.2f s this session (%.0f routed "
               "steps/s)\n",
               elapsed_s, (double)routed_steps / elapsed_s);
    fflush(stdout);
    if (sig == 0)
        return 0;
    int64_t done = s.finished + s.failed + s.cancelled;
    fprintf(stderr,
            "trim run: interrupted (%s): %" PRId64 " of %" PRId64
            " problems of run %" PRId64 " finished and recorded in %s; %" PRId64
            " left queued or half-way, their accepted steps kept\n"
            "trim run: finish it with: trim run --resume %" PRId64
            " --db %s%s\n",
            sig == SIGINT    ? "SIGINT"
            : sig == SIGTERM ? "SIGTERM"
                             : "signal",
            done, s.problems, run_id, db, s.problems - done, run_id,
            shell_word(db, quoted, sizeof quoted),
            servers ? " (and the HTTP flags it had, an API key's say: the "
                      "servers' URLs and models are recorded)"
                    : "");
    return 0;
}
