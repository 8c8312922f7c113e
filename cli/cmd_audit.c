/*
** cmd_audit.c: `trim audit`, reading back what the audit store recorded.
**
**   trim audit --db FILE [--run N]     one line per problem
**   trim audit --db FILE PROBLEM_ID    that problem's route trace
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "escape.h"
#include "store.h"

static const char description[] =
    "Without PROBLEM_ID, list the problems (of run N, or of every run): one\n"
    "line each, starting with the problem id.  With PROBLEM_ID, print its\n"
    "route trace: every draft with its PRM score, the decision and its\n"
    "reason, the strong step where it was regenerated, and the outcome.\n"
    "Control characters in the recorded text are printed escaped (\\x1b).";

/* Room for a short recorded string (a name, an answer) once escaped. */
#define SHOWN 1024

static const char *const status_names[] = {"queued", "running", "finished",
                                           "failed", "cancelled"};


static const char *
outcome(const store_problem_t *p)
{
    if (p->status != STORE_FINISHED)
        return status_names[p->status];
    return p->correct == 1 ? "correct" : p->correct == 0 ? "wrong" : "ungraded";
}


static int
print_problem_line(void *ctx, const store_problem_t *p)
{
    int64_t *count = ctx;
    char answer[SHOWN], key[SHOWN];
    (*count)++;
    printf("%lld  %-8s  run=%lld  steps=%d  regenerated=%d  strong_tokens=%lld"
           "  key=%s  answer=%s\n",
           (long long)p->problem_id, outcome(p), (long long)p->run_id, p->steps,
           p->regenerated_steps, (long long)p->strong_tokens,
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


static int
print_step(void *ctx, const store_step_t *s)
{
    (void)ctx;
    char worker[SHOWN], by[SHOWN], policy[SHOWN], belief[SHOWN];
    const char *finish =
        s->finish >= 0 && s->finish <= 2 ? finish_names[s->finish] : "?";
    if (s->kind == STORE_DRAFT) {
        printf("step %d  draft  (%d tokens, %s, attempt %d, %s)%s\n",
               s->step_index, s->completion_tokens, finish, s->attempt,
               s->worker ? esc_str(worker, sizeof worker, s->worker) : "?",
               s->accepted ? "" : "  DISCARDED");
        print_block("text", s->text);
        if (!isnan(s->prm_score) && isnan(s->min_prev_score)) {
            printf("    %-9sscore %.3f  (%d input tokens)\n", "prm",
                   s->prm_score, s->prm_tokens);
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
        if (s->decision != STORE_NO_DECISION) {
            printf("    %-9s%s  by %s  policy %s", "decision",
                   s->decision == STORE_REGENERATE ? "REGENERATE" : "keep",
                   s->decided_by ? esc_str(by, sizeof by, s->decided_by) : "?",
                   s->policy ? esc_str(policy, sizeof policy, s->policy) : "?");
            if (!isnan(s->action_prob))
                printf("  p=%.3f", s->action_prob);
            if (s->belief)
                printf("  belief %s",
                       esc_str(belief, sizeof belief, s->belief));
            printf("\n");
            if (s->reason)
                print_block("reason", s->reason);
        }
    } else {
        printf("step %d  strong (%d tokens, %s, attempt %d, %s)%s\n",
               s->step_index, s->completion_tokens, finish, s->attempt,
               s->worker ? esc_str(worker, sizeof worker, s->worker) : "?",
               s->decided_by ? "  strong-only" : "  replaces the draft");
        print_block("text", s->text);
    }
    return 0;
}


static int
print_trace(store_reader_t *r, int64_t id, const char *db)
{
    store_problem_t p;
    char err[512], source[SHOWN], answer[SHOWN], truth[SHOWN], key[SHOWN];
    int found = store_get_problem(r, id, &p, err, sizeof err);

    if (found < 0) {
        fprintf(stderr, "trim audit: %s\n", err);
        return 1;
    }
    if (found == 0) {
        fprintf(stderr, "trim audit: no problem %lld in %s\n", (long long)id,
                db);
        return 1;
    }
    printf("problem %lld  run %lld  source %s  status %s  key %s\n",
           (long long)p.problem_id, (long long)p.run_id,
           p.source ? esc_str(source, sizeof source, p.source) : "-",
           status_names[p.status],
           p.key_id ? esc_str(key, sizeof key, p.key_id) : "-");
    print_block("question", p.text);
    printf("\n");
    /* The problem's strings live in the reader until its next call. */
    esc_str(answer, sizeof answer, p.final_answer ? p.final_answer : "(none)");
    esc_str(truth, sizeof truth, p.ground_truth ? p.ground_truth : "(unknown)");
    char *error = p.error ? strdup(p.error) : NULL;
    store_problem_t totals = p;
    if (store_each_step(r, id, print_step, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "trim audit: %s\n", err);
        free(error);
        return 1;
    }
    printf("\nfinal answer %s  ground truth %s  -> %s\n", answer, truth,
           outcome(&totals));
    printf("steps %d, regenerated %d; tokens weak %lld, strong %lld, "
           "discarded %lld, PRM input %lld\n",
           totals.steps, totals.regenerated_steps,
           (long long)totals.weak_tokens, (long long)totals.strong_tokens,
           (long long)totals.discarded_tokens, (long long)totals.prm_tokens);
    if (error) {
        fputs(p.status == STORE_CANCELLED ? "cancelled: " : "failed: ", stdout);
        esc_fputs(error, NULL, stdout);
        putchar('\n');
    }
    free(error);
    return 0;
}


int
cmd_audit(int argc, char **argv)
{
    const char *db = "trim.db";
    int64_t run = 0, id = 0, count = 0;
    const flag_t flags[] = {
        {"db", FLAG_STRING, &db, 0, 0, "audit database"},
        {"run", FLAG_INT, &run, 0, 9.2e18, "only problems of this run"},
    };
    const size_t n = sizeof flags / sizeof *flags;
    char err[512];
    int npos, rc = cli_parse("audit", "[FLAGS] [PROBLEM_ID]", description,
                             flags, n, argc, argv, &npos);

    if (rc != CLI_GO)
        return rc;
    rc = 0;
    if (npos > 1) {
        fprintf(stderr, "trim audit: one problem id at most, got '%s' too\n",
                argv[2]);
        return 2;
    }
    if (npos == 1) {
        char *end;
        id = strtoll(argv[1], &end, 10);
        if (*end != '\0' || id <= 0) {
            fprintf(stderr,
                    "trim audit: PROBLEM_ID must be a positive "
                    "integer, got '%s'\n",
                    argv[1]);
            return 2;
        }
    }
    store_reader_t *r = store_reader_new(db, err, sizeof err);
    if (r == NULL) {
        fprintf(stderr, "trim audit: %s\n", err);
        return 1;
    }
    if (id > 0) {
        rc = print_trace(r, id, db);
    } else if (store_each_problem(r, run, print_problem_line, &count, err,
                                  sizeof err) < 0) {
        fprintf(stderr, "trim audit: %s\n", err);
        rc = 1;
    } else if (count == 0) {
        fprintf(stderr, "trim audit: no problems in %s%s\n", db,
                run ? " for that run" : "");
    }
    store_reader_destroy(&r);
    return rc;
}
