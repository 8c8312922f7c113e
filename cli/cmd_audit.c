/*
** cmd_audit.c: `trim audit`, reading back what the audit store recorded.
**
**   trim audit --db FILE [--run N]             one line per problem
**   trim audit --db FILE PROBLEM_ID            that problem's route trace
**   trim audit --db FILE --run N NTH           the NTH problem of run N
**
** Problem ids are global (run 2's first problem may be problem 51), so with
** --run an id is read as a place in that run, the list's "#" column.
** --json and --csv print the same rows for programs (audit_rows.h).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_rows.h"
#include "cli.h"
#include "escape.h"
#include "hop_table.h"
#include "prices.h"
#include "store.h"

static const char description[] =
    "Without PROBLEM_ID, list the problems (of run N, or of every run), one\n"
    "line each under a header: its id, its run, its place in the run (#),\n"
    "the run's policy, the outcome, steps, regenerated steps, strong\n"
    "tokens, who submitted it and the answer; with --run N, then where\n"
    "the run's time went, hop by hop and pool by pool (`trim stats`).\n"
    "With PROBLEM_ID, print its\n"
    "route trace: every draft with its PRM score, the decision and its\n"
    "reason, the strong step that replaced it (with its own PRM score once\n"
    "the next draft was scored), where each step's time went (queue, model,\n"
    "PRM, route), and the outcome.\n"
    "PROBLEM_ID is a problem id as the list's first column shows it; with\n"
    "--run N it is a place in run N instead (--run 2 17: the 17th problem\n"
    "of run 2, the list's # column).\n"
    "--json prints the list as a JSON array, a trace as one object\n"
    "{\"problem\", \"steps\"}; --csv prints a header line and one record\n"
    "per problem or per step (RFC 4180).  The columns are those of\n"
    "`trim export` and docs/audit-schema.md.  In text, control characters\n"
    "of the recorded text are printed escaped (\\x1b).\n"
    "--prices FILE (a price book, docs/roi.md) adds dollars: per problem in\n"
    "the list, per step and per problem in a trace.";

/* Room for a short recorded string (a name, an answer) once escaped. */
#define SHOWN 1024

typedef enum { OUT_TEXT, OUT_JSON, OUT_CSV } out_t;

/* A run of the store, and how many of its problems the list has passed. */
typedef struct run_info {
    int64_t id;
    char *policy;
    int64_t seen;
} run_info_t;

typedef struct runs {
    run_info_t *v;
    size_t n, cap;
} runs_t;

/* What the list's callback needs. */
typedef struct list {
    runs_t runs;
    out_t out;
    int64_t count;
    store_reader_t *r;
    const prices_t *prices; /* NULL: no dollars */
    char err[512];          /* why the callback stopped the scan */
} list_t;


/* The dollars of problem id (all its rows) under prices.  0, or -1 with err. */
static int
problem_usd(store_reader_t *r, const prices_t *prices, int64_t id,
            cost_usd_t *usd, char *err, size_t errlen)
{
    cost_usage_t u;

    if (cost_usage_run(r, 0, id, &u, err, errlen) < 0)
        return -1;
    prices_cost(prices, &u, usd);
    return 0;
}


static int
add_run(void *ctx, const store_run_t *run)
{
    runs_t *rs = ctx;

    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        run_info_t *v = realloc(rs->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        rs->v = v;
        rs->cap = cap;
    }
    run_info_t *ri = &rs->v[rs->n];
    ri->id = run->run_id;
    ri->policy = strdup(run->policy ? run->policy : "");
    ri->seen = 0;
    if (ri->policy == NULL)
        return 1;
    rs->n++;
    return 0;
}


static void
runs_clear(runs_t *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].policy);
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}


/* The run with this id (store_each_run gives them in id order), or NULL. */
static run_info_t *
find_run(runs_t *rs, int64_t id)
{
    size_t lo = 0, hi = rs->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->v[mid].id == id)
            return &rs->v[mid];
        if (rs->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}


/* Print a JSON value on one line; 0, or 1 when out of memory. */
static int
print_json(json_t *j, const char *before)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    json_decref(j);
    if (text == NULL)
        return 1;
    fputs(before, stdout);
    fputs(text, stdout);
    free(text);
    return 0;
}


static int
print_problem_line(void *ctx, const store_problem_t *p)
{
    list_t *l = ctx;
    run_info_t *run = find_run(&l->runs, p->run_id);
    audit_problem_t ap = {*p, 0, run ? run->policy : NULL, NULL};
    char answer[SHOWN], key[SHOWN], policy[SHOWN], usd_text[32] = "";
    cost_usd_t usd;

    /* Problems come in id order, so a run's come in its own order too. */
    if (run != NULL)
        ap.nth = ++run->seen;
    if (l->prices != NULL) {
        if (problem_usd(l->r, l->prices, p->problem_id, &usd, l->err,
                        sizeof l->err) < 0)
            return 1;
        ap.usd = &usd;
        snprintf(usd_text, sizeof usd_text, " %10.6f", usd.total);
    }
    if (l->out == OUT_JSON &&
        print_json(audit_problem_json(&ap), l->count++ ? ",\n" : "[\n") != 0) {
        snprintf(l->err, sizeof l->err, "out of memory");
        return 1;
    }
    if (l->out == OUT_JSON)
        return 0;
    if (l->out == OUT_CSV) {
        if (l->count++ == 0)
            audit_problem_csv_header(stdout, l->prices != NULL);
        audit_problem_csv(stdout, &ap);
        return 0;
    }
    if (l->count++ == 0)
        printf("%-7s %-4s %-5s %-14s %-9s %5s %5s %10s%s  %-8s %s\n", "id",
               "run", "#", "policy", "outcome", "steps", "regen", "strong_tok",
               l->prices ? "        usd" : "", "key", "answer");
    printf("%-7lld %-4lld %-5lld %-14s %-9s %5d %5d %10lld%s  %-8s %s\n",
           (long long)p->problem_id, (long long)p->run_id, (long long)ap.nth,
           ap.policy ? esc_str(policy, sizeof policy, ap.policy) : "?",
           audit_outcome(p), p->steps, p->regenerated_steps,
           (long long)p->strong_tokens, usd_text,
           p->key_id ? esc_str(key, sizeof key, p->key_id) : "-",
           p->final_answer ? esc_str(answer, sizeof answer, p->final_answer)
                           : "-");
    return 0;
}


/* Print text indented under a heading, one line per line of text. */
static void
print_block(const char *label, const char *text)
{
    printf("    %-9s", label);
    esc_fputs(text, "\n             ", stdout);
    putchar('\n');
}


static const char *const finish_names[] = {"step", "end", "length"};


/* What the servers' prefix caches held of the row's inputs, when they
** said (schema v11; nothing is printed for rows without a report). */
static void
print_cached(const store_step_t *s)
{
    if (s->has_cached)
        printf("    %-9s%d of %d prompt tokens held by the model server's "
               "prefix cache\n",
               "cache", s->cached_tokens, s->prompt_tokens);
    if (s->has_prm_cached)
        printf("    %-9s%d of %d PRM input tokens held by the PRM server's "
               "prefix cache\n",
               s->has_cached ? "" : "cache", s->prm_cached_tokens,
               s->prm_tokens);
}


/* Where a step's time went, in milliseconds. */
static void
print_timings(const store_step_t *s)
{
    printf("    %-9squeue %.3f ms  model %.3f ms", "time",
           (double)s->queue_us / 1e3, (double)s->latency_us / 1e3);
    if (s->kind == STORE_DRAFT)
        printf("  PRM %.3f ms  route %.3f ms", (double)s->prm_us / 1e3,
               (double)s->route_us / 1e3);
    if (s->step_us > 0) /* 0 in rows older than v10 */
        printf("  (whole %.3f ms)", (double)s->step_us / 1e3);
    putchar('\n');
}


static void
print_draft(const store_step_t *s)
{
    char by[SHOWN], policy[SHOWN], belief[SHOWN];

    if (!isnan(s->prm_score) && isnan(s->min_prev_score)) {
        printf("    %-9sscore %.3f  (%d input tokens)\n", "prm", s->prm_score,
               s->prm_tokens);
    } else if (!isnan(s->prm_score)) {
        printf("    %-9sscore %.3f  (min previous %.3f, product "
               "previous %.3f, %d input tokens)\n",
               "prm", s->prm_score, s->min_prev_score, s->prod_prev_score,
               s->prm_tokens);
    }
    if (s->prm_padded > 0)
        printf("    %-9sthe PRM's context was full: it did not see the "
               "first %d steps (scored 1.0)\n",
               "", s->prm_padded);
    if (s->decision == STORE_NO_DECISION)
        return;
    printf("    %-9s%s  by %s  policy %s", "decision",
           s->decision == STORE_REGENERATE ? "REGENERATE" : "keep",
           s->decided_by ? esc_str(by, sizeof by, s->decided_by) : "?",
           s->policy ? esc_str(policy, sizeof policy, s->policy) : "?");
    if (!isnan(s->action_prob))
        printf("  p=%.3f", s->action_prob);
    if (s->belief)
        printf("  belief %s", esc_str(belief, sizeof belief, s->belief));
    printf("\n");
    if (s->reason)
        print_block("reason", s->reason);
}


/*
** A strong step's score is the one the PRM gave it inside the next draft's
** history (that draft's min and product previous include it).
*/
static void
print_strong_score(const store_step_t *s)
{
    if (!isnan(s->prm_score))
        printf("    %-9sscore %.3f  (scored in the next draft's history)\n",
               "prm", s->prm_score);
    else if (s->decided_by == NULL)
        printf("    %-9snot scored (no later draft was scored after it)\n",
               "prm");
}


/* What the trace's step callback needs. */
typedef struct trace {
    out_t out;
    store_step_context_t ctx; /* the problem's context for every row */
    int64_t count;
    int oom; /* a row could not be printed */
    const prices_t *prices;
    double *usd; /* dollars of each row, in row order (cost_each_step) */
    size_t n_usd, cap_usd;
} trace_t;


/* A cost_each_step callback: append the row's dollars to the trace's. */
static int
add_step_usd(void *ctx, int32_t step_index, store_kind_t kind,
             const cost_usage_t *u)
{
    trace_t *t = ctx;
    cost_usd_t usd;

    (void)step_index;
    (void)kind;
    if (t->n_usd == t->cap_usd) {
        size_t cap = t->cap_usd ? t->cap_usd * 2 : 32;
        double *v = realloc(t->usd, cap * sizeof *v);
        if (v == NULL)
            return 1;
        t->usd = v;
        t->cap_usd = cap;
    }
    prices_cost(t->prices, u, &usd);
    t->usd[t->n_usd++] = usd.total;
    return 0;
}


static int
print_step(void *ctx, const store_step_t *s)
{
    trace_t *t = ctx;
    char worker[SHOWN];
    const char *finish =
        s->finish >= 0 && s->finish <= 2 ? finish_names[s->finish] : "?";

    /* cost_each_step walks the rows in this same order. */
    const double *usd = (size_t)t->count < t->n_usd ? &t->usd[t->count] : NULL;

    t->ctx.step = *s;
    if (t->out == OUT_JSON)
        return t->oom = print_json(audit_step_json(&t->ctx, usd ? *usd : NAN),
                                   t->count++ ? "," : "");
    t->count++;
    if (t->out == OUT_CSV) {
        audit_step_csv(stdout, &t->ctx, t->prices ? usd : NULL);
        return 0;
    }
    if (s->kind == STORE_DRAFT) {
        printf("step %d  draft  (%d tokens, %s, attempt %d, %s%s)%s\n",
               s->step_index, s->completion_tokens, finish, s->attempt,
               s->worker ? esc_str(worker, sizeof worker, s->worker) : "?",
               s->speculative ? ", speculative" : "",
               s->accepted ? "" : "  DISCARDED");
        print_block("text", s->text);
        print_draft(s);
    } else {
        printf("step %d  strong (%d tokens, %s, attempt %d, %s)%s\n",
               s->step_index, s->completion_tokens, finish, s->attempt,
               s->worker ? esc_str(worker, sizeof worker, s->worker) : "?",
               s->decided_by ? "  strong-only" : "  replaces the draft");
        print_block("text", s->text);
        print_strong_score(s);
    }
    print_cached(s);
    print_timings(s);
    if (usd != NULL)
        printf("    %-9s$%.6f\n", "cost", *usd);
    return 0;
}


static void
print_trace_head(const audit_problem_t *ap)
{
    const store_problem_t *p = &ap->p;
    char source[SHOWN], key[SHOWN], policy[SHOWN];

    printf("problem %lld  run %lld (#%lld, policy %s)  source %s  status %s  "
           "key %s\n",
           (long long)p->problem_id, (long long)p->run_id, (long long)ap->nth,
           ap->policy ? esc_str(policy, sizeof policy, ap->policy) : "?",
           p->source ? esc_str(source, sizeof source, p->source) : "-",
           store_status_name(p->status),
           p->key_id ? esc_str(key, sizeof key, p->key_id) : "-");
    print_block("question", p->text);
    printf("\n");
}


static void
print_trace_tail(const store_problem_t *p, const cost_usd_t *usd)
{
    char answer[SHOWN], truth[SHOWN];

    printf("\nfinal answer %s  ground truth %s  -> %s\n",
           esc_str(answer, sizeof answer,
                   p->final_answer ? p->final_answer : "(none)"),
           esc_str(truth, sizeof truth,
                   p->ground_truth ? p->ground_truth : "(unknown)"),
           audit_outcome(p));
    printf("steps %d, regenerated %d; tokens weak %lld, strong %lld, "
           "discarded %lld, PRM input %lld\n",
           p->steps, p->regenerated_steps, (long long)p->weak_tokens,
           (long long)p->strong_tokens, (long long)p->discarded_tokens,
           (long long)p->prm_tokens);
    if (usd != NULL)
        printf("dollars %.6f: weak %.6f, strong %.6f, PRM %.6f\n", usd->total,
               usd->role[COST_WEAK], usd->role[COST_STRONG],
               usd->role[COST_PRM]);
    if (p->error) {
        fputs(p->status == STORE_CANCELLED ? "cancelled: " : "failed: ",
              stdout);
        esc_fputs(p->error, NULL, stdout);
        putchar('\n');
    }
}


/*
** The problem the arguments name: id itself, or with run > 0 the id-th
** problem of that run.  Returns 0 with *problem_id, or 1 after saying why
** not.
*/
static int
resolve(store_reader_t *r, const char *db, int64_t run, int64_t id,
        int64_t *problem_id)
{
    char err[512];
    store_run_t info;
    store_summary_t sum;
    int found;

    if (run == 0) {
        *problem_id = id;
        return 0;
    }
    found = store_problem_at(r, run, id, problem_id, err, sizeof err);
    if (found > 0)
        return 0;
    if (found == 0)
        found = store_get_run(r, run, &info, err, sizeof err);
    if (found == 0) {
        fprintf(stderr, "trim audit: no run %lld in %s\n", (long long)run, db);
        return 1;
    }
    if (found > 0 && store_summary(r, run, &sum, err, sizeof err) == 0) {
        fprintf(stderr,
                "trim audit: run %lld has %lld problems, no #%lld (with "
                "--run, PROBLEM_ID is a place in the run; drop --run for a "
                "problem id)\n",
                (long long)run, (long long)sum.problems, (long long)id);
        return 1;
    }
    cli_error("audit", err);
    return 1;
}


static int
print_trace(store_reader_t *r, int64_t id, const char *db, out_t out,
            const prices_t *prices)
{
    audit_problem_t ap = {0};
    store_run_t run;
    trace_t t = {.out = out, .prices = prices};
    cost_usd_t usd;
    char err[512];
    int rc = 1, found = store_get_problem(r, id, &ap.p, err, sizeof err);

    if (found == 0) {
        fprintf(stderr, "trim audit: no problem %lld in %s\n", (long long)id,
                db);
        return 1;
    }
    /* ap.p's strings stay in r's problem buffer: these calls use others. */
    if (found < 0 ||
        store_problem_rank(r, ap.p.run_id, id, &ap.nth, err, sizeof err) < 0 ||
        (found = store_get_run(r, ap.p.run_id, &run, err, sizeof err)) < 0 ||
        (prices != NULL &&
         (problem_usd(r, prices, id, &usd, err, sizeof err) < 0 ||
          cost_each_step(r, id, add_step_usd, &t, err, sizeof err) < 0))) {
        cli_error("audit", err);
        goto done;
    }
    ap.usd = prices ? &usd : NULL;
    ap.policy = found ? run.policy : NULL;
    t.ctx.run_id = ap.p.run_id;
    t.ctx.run_policy = ap.policy;
    t.ctx.source = ap.p.source;
    t.ctx.status = ap.p.status;
    t.ctx.correct = ap.p.correct;
    if (out == OUT_JSON) {
        json_t *pj = audit_problem_json(&ap);
        json_object_set_new(pj, "text", audit_json_text(ap.p.text));
        if (print_json(pj, "{\"problem\":") != 0) {
            fprintf(stderr, "trim audit: out of memory\n");
            goto done;
        }
        fputs(",\"steps\":[", stdout);
    } else if (out == OUT_CSV) {
        audit_step_csv_header(stdout, prices != NULL);
    } else {
        print_trace_head(&ap);
    }
    if (store_each_step(r, id, print_step, &t, err, sizeof err) < 0) {
        cli_error("audit", err);
        goto done;
    }
    if (t.oom) {
        fprintf(stderr, "trim audit: out of memory\n");
        goto done;
    }
    if (out == OUT_JSON)
        fputs("]}\n", stdout);
    else if (out == OUT_TEXT)
        print_trace_tail(&ap.p, ap.usd);
    rc = 0;
done:
    free(t.usd);
    return rc;
}


/* A run's per-hop timings under its list, as `trim stats --run` prints. */
static int
print_hops(store_reader_t *r, int64_t run)
{
    store_dist_t d[STORE_HOPS];
    char err[512];

    if (store_hops(r, run, d, err, sizeof err) < 0) {
        cli_error("audit", err);
        return 1;
    }
    printf("\nwhere the time went (trim stats --run %lld):\n", (long long)run);
    hop_table_print(stdout, d);
    return 0;
}


static int
print_list(store_reader_t *r, int64_t run, const char *db, out_t out,
           const prices_t *prices)
{
    list_t l = {.out = out, .r = r, .prices = prices};
    char err[512];
    int rc = 0;

    store_run_t row;
    int found = run ? store_get_run(r, run, &row, err, sizeof err) : 1;
    if (found == 0) {
        fprintf(stderr, "trim audit: no run %lld in %s\n", (long long)run, db);
        return 1;
    }
    if (found < 0 || store_each_run(r, add_run, &l.runs, err, sizeof err) < 0 ||
        store_each_problem(r, run, print_problem_line, &l, err, sizeof err) <
            0) {
        cli_error("audit", err);
        rc = 1;
    } else if (l.err[0] != '\0') {
        cli_error("audit", l.err);
        rc = 1;
    } else if (out == OUT_JSON) {
        fputs(l.count ? "\n]\n" : "[]\n", stdout);
    } else if (out == OUT_TEXT && run > 0 && l.count > 0) {
        rc = print_hops(r, run);
    }
    if (rc == 0 && l.count == 0)
        fprintf(stderr, "trim audit: no problems in %s%s\n", db,
                run ? " for that run" : "");
    runs_clear(&l.runs);
    return rc;
}


int
cmd_audit(int argc, char **argv)
{
    const char *db = "trim.db", *prices_path = "";
    int64_t run = 0, id = 0;
    int json = 0, csv = 0;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"run", FLAG_INT, &run, 0, 9.2e18,
         "only problems of this run; PROBLEM_ID is then a place in it"},
        {"json", FLAG_BOOL, &json, 0, 0, "print JSON"},
        {"csv", FLAG_BOOL, &csv, 0, 0, "print CSV with a header line"},
        {"prices", FLAG_STRING, &prices_path, 0, 0,
         "price book: dollars per problem and per step (docs/roi.md)"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    char err[512];
    int npos, rc = cli_parse("audit", "[FLAGS] [PROBLEM_ID]", description,
                             flags, n, argc, argv, &npos);

    if (rc != CLI_GO)
        return rc;
    if (npos > 1) {
        fprintf(stderr, "trim audit: one problem id at most, got '%s' too\n",
                argv[2]);
        return 2;
    }
    if (json && csv) {
        fprintf(stderr, "trim audit: --json or --csv, not both\n");
        return 2;
    }
    if (npos == 1) {
        char *end;
        id = strtoll(argv[1], &end, 10);
        if (*end != '\0' || id <= 0) {
            fprintf(stderr,
                    "trim audit: PROBLEM_ID must be a positive integer, got "
                    "'%s'\n",
                    argv[1]);
            return 2;
        }
    }
    out_t out = json ? OUT_JSON : csv ? OUT_CSV : OUT_TEXT;
    prices_t *prices = NULL;
    if (*prices_path &&
        (prices = prices_load(prices_path, err, sizeof err)) == NULL) {
        cli_error("audit", err);
        return 1;
    }
    store_reader_t *r = store_reader_new(db, err, sizeof err);
    if (r == NULL) {
        cli_error("audit", err);
        prices_destroy(&prices);
        return 1;
    }
    if (id == 0)
        rc = print_list(r, run, db, out, prices);
    else if ((rc = resolve(r, db, run, id, &id)) == 0)
        rc = print_trace(r, id, db, out, prices);
    store_reader_destroy(&r);
    prices_destroy(&prices);
    return rc;
}
