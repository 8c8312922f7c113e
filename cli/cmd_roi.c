/*
** cmd_roi.c: `trim roi`, what routing costs and saves in dollars.
**
**   trim roi --prices FILE --db FILE --run N [--baseline-run M]
**   trim roi --prices FILE --curve eval.json --volume N
**            (--target-accuracy A | --target-pgr X) [--fixed-monthly USD]
**
** prints a table, or with --json the document of cost/roi.h (the
** console's /api/roi serves the same); --svg FILE draws the projection.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "roi.h"

static const char description[] =
    "Measured (--db FILE --run N): the dollars run N spent, per problem and\n"
    "per correct answer, split by role and by input/output, beside\n"
    "strong-only and weak-only on the same problems: from a paired\n"
    "strong-only run (--baseline-run M, same problems and seed) or estimated\n"
    "from the run's accepted steps at each model's prices.\n"
    "Projected (--curve eval.json from trim eval, or --db FILE alone: its\n"
    "runs): at --volume problems a month, the cheapest point on eval's\n"
    "frontier reaching --target-accuracy or --target-pgr, its monthly cost\n"
    "against strong-only, the savings, cost per correct answer, the "
    "break-even\n"
    "volume for --fixed-monthly, and a table over the strong/weak price\n"
    "ratio.  Formulas and a worked example: docs/roi.md; the price book:\n"
    "docs/prices.example.json.";

typedef struct roi_args {
    const char *prices, *db, *curve, *svg;
    int64_t run, baseline;
    double volume, target_acc, target_pgr, fixed;
    int json;
} roi_args_t;


/* A dollar figure, "-" when it does not exist. */
static const char *
usd(char *buf, size_t len, double v)
{
    if (!isfinite(v))
        return "-";
    snprintf(buf, len, "$%.6g", v);
    return buf;
}


static void
print_measured(const roi_measured_t *m, const prices_t *p)
{
    char a[32], b[32], c[32], d[32];

    printf("run %lld   policy %s   %lld problems, %lld correct of %lld "
           "graded   prices %s\n\n",
           (long long)m->run_id, m->policy, (long long)m->problems,
           (long long)m->correct, (long long)m->graded, p->source);
    printf("%-28s %12s %12s %12s %12s %12s %12s\n", "role (model)", "input tok",
           "cached tok", "output tok", "input $", "cached $", "output $");
    for (int r = 0; r < COST_ROLES; r++) {
        char name[COST_MODEL_MAX + 16];
        snprintf(name, sizeof name, "%s (%s)", cost_role_name(r),
                 p->role[r].model);
        printf("%-28.28s %12lld %12lld %12lld %12.6g %12.6g %12.6g\n", name,
               (long long)m->usage.input[r], (long long)m->usage.cached[r],
               (long long)m->usage.output[r], m->usd.input[r], m->usd.cached[r],
               m->usd.output[r]);
    }
    if (m->usage.wasted_input + m->usage.wasted_output > 0)
        printf("%-28.28s %12lld %12lld %12lld %37.6g\n",
               "wasted speculative drafts", (long long)m->usage.wasted_input,
               (long long)m->usage.wasted_cached,
               (long long)m->usage.wasted_output, m->usd.wasted);
    printf("\n  total          %s   per problem %s   per correct answer %s\n",
           usd(a, sizeof a, m->usd.total), usd(b, sizeof b, m->per_problem),
           usd(c, sizeof c, m->per_correct));
    printf("  strong-only    %s   per problem %s   per correct answer %s\n"
           "                 (%s",
           usd(a, sizeof a, m->strong_only),
           usd(b, sizeof b, m->strong_only / (double)m->problems),
           usd(c, sizeof c, m->strong_only_per_correct), m->basis);
    if (m->baseline_run_id > 0)
        printf("; run %lld", (long long)m->baseline_run_id);
    printf(")\n");
    printf("  weak-only      %s   per problem %s   (estimated: accepted "
           "steps at the weak model's prices)\n",
           usd(a, sizeof a, m->weak_only),
           usd(d, sizeof d, m->weak_only / (double)m->problems));
    printf("  savings        %s (%.1f%% of strong-only)\n",
           usd(a, sizeof a, m->savings), m->savings_pct);
}


static void
print_projection(const roi_projection_t *pr, const prices_t *p,
                 const char *curve)
{
    const roi_query_t *q = &pr->query;
    char a[32], b[32], c[32];

    printf("curve %s   prices %s\nvolume %.0f problems/month   target "
           "accuracy %.4f",
           curve, p->source, q->volume, pr->target);
    if (isfinite(q->target_pgr))
        printf(" (PGR %.3g)", q->target_pgr);
    printf("   fixed %s/month\n\n", usd(a, sizeof a, q->fixed_monthly));
    printf("%-12s %8s %12s %9s %14s  %s\n", "policy", "reached", "$/problem",
           "accuracy", "$/month", "point (share of problems)");
    for (size_t i = 0; i < pr->n_policies; i++) {
        const roi_choice_t *ch = &pr->policies[i];
        if (!ch->reached) {
            printf("%-12.12s %8s  not reached\n", ch->policy, "no");
            continue;
        }
        printf(
            "%-12.12s %8s %12s %9.4f %14s  ", ch->policy, "yes",
            usd(a, sizeof a, ch->per_problem), ch->accuracy,
            usd(b, sizeof b, q->volume * ch->per_problem + q->fixed_monthly));
        if (strcmp(ch->spec_lo, ch->spec_hi) == 0 || ch->mix >= 1)
            printf("%s\n", ch->spec_hi);
        else
            printf("%s (%.0f%%) + %s (%.0f%%)\n", ch->spec_lo,
                   100 * (1 - ch->mix), ch->spec_hi, 100 * ch->mix);
    }
    printf("%-12s %8s %12s %9.4f %14s\n\n", "strong-only", "",
           usd(a, sizeof a, pr->strong_per_problem), pr->acc_strong,
           usd(b, sizeof b, pr->monthly_strong));
    if (pr->best < 0) {
        printf("no policy reaches accuracy %.4f\n", pr->target);
        return;
    }
    printf("cheapest point on eval's frontier: %s, %s/month against "
           "strong-only's %s\n",
           pr->policies[pr->best].policy, usd(a, sizeof a, pr->monthly_policy),
           usd(b, sizeof b, pr->monthly_strong));
    if (pr->strong_only_better)
        printf("              strong-only is the better choice at this "
               "volume\n");
    printf("savings       %s/month (%.1f%%)\n", usd(a, sizeof a, pr->savings),
           pr->savings_pct);
    printf("per correct   %s (strong-only %s)\n",
           usd(a, sizeof a, pr->per_correct_policy),
           usd(b, sizeof b, pr->per_correct_strong));
    if (q->fixed_monthly > 0)
        printf("break-even    %.0f problems/month cover the fixed %s\n",
               pr->break_even_volume, usd(a, sizeof a, q->fixed_monthly));
    printf("\nstrong prices x  strong/weak output price  cheapest      "
           "$/problem   strong-only/month   policy/month   savings  better\n");
    for (int k = 0; k < ROI_SENSITIVITY; k++) {
        const struct roi_sensitivity *s = &pr->sensitivity[k];
        printf("%16g  %24.3g  ", s->strong_scale, s->ratio);
        if (s->best < 0) {
            printf("not reached\n");
            continue;
        }
        printf("%-12.12s %10s %19s %14s %8.1f%%  %s\n",
               pr->policies[s->best].policy, usd(a, sizeof a, s->per_problem),
               usd(b, sizeof b, s->monthly_strong),
               usd(c, sizeof c, s->monthly_policy), s->savings_pct,
               s->strong_only_better ? "strong-only" : "routed");
    }
}


/* Print a malloc'd JSON document; 1 when it could not be made. */
static int
print_json(char *doc)
{
    if (doc == NULL) {
        fprintf(stderr, "trim roi: out of memory\n");
        return 1;
    }
    puts(doc);
    free(doc);
    return 0;
}


static int
measured(const roi_args_t *a, const prices_t *p)
{
    char err[512];
    roi_measured_t m;
    store_reader_t *r = store_reader_new(a->db, err, sizeof err);
    int rc = 1;

    if (r == NULL ||
        roi_measure(r, p, a->run, a->baseline, &m, err, sizeof err) < 0) {
        cli_error("roi", err);
        goto done;
    }
    if (a->json)
        rc = print_json(roi_measured_json(&m, p));
    else {
        print_measured(&m, p);
        rc = 0;
    }
done:
    store_reader_destroy(&r);
    return rc;
}


static int
projected(const roi_args_t *a, const prices_t *p)
{
    char err[512];
    roi_query_t q = {a->volume, a->target_acc, a->target_pgr, a->fixed};
    roi_projection_t pr = {0};
    store_reader_t *r = NULL;
    roi_curve_t *c;
    int rc = 1;

    if (*a->curve)
        c = roi_curve_load(a->curve, err, sizeof err);
    else if ((r = store_reader_new(a->db, err, sizeof err)) != NULL)
        c = roi_curve_from_store(r, err, sizeof err);
    else
        c = NULL;
    if (c == NULL || roi_project(c, p, &q, &pr, err, sizeof err) < 0) {
        cli_error("roi", err);
        goto done;
    }
    if (*a->svg) {
        FILE *f = fopen(a->svg, "w");
        int bad = f == NULL || roi_write_svg(c, p, &pr, f) < 0;
        if ((f != NULL && fclose(f) != 0) || bad) {
            fprintf(stderr, "trim roi: cannot write %s: %s\n", a->svg,
                    strerror(errno));
            goto done;
        }
    }
    if (a->json)
        rc = print_json(roi_projection_json(&pr, p));
    else {
        print_projection(&pr, p, *a->curve ? a->curve : a->db);
        rc = 0;
    }
done:
    roi_projection_clear(&pr);
    roi_curve_destroy(&c);
    store_reader_destroy(&r);
    return rc;
}


/* Print why the flags do not make one measurement or projection: 1, else 0. */
static int
usage_error(const roi_args_t *a, int project)
{
    if (!*a->prices || (a->run > 0) == project || (a->run > 0 && !*a->db) ||
        (project && (!(a->volume > 0) || (!*a->curve && !*a->db) ||
                     isnan(a->target_acc) == isnan(a->target_pgr)))) {
        fprintf(stderr,
                "trim roi: give --prices and either --db FILE --run N, or "
                "--curve FILE (or --db FILE) with --volume N and one of "
                "--target-accuracy and --target-pgr (see --help)\n");
        return 1;
    }
    if (project && ((*a->curve && *a->db) || a->baseline > 0)) {
        fprintf(stderr,
                "trim roi: %s%s%s not used by a projection: give "
                "--curve FILE or --db FILE, without --baseline-run\n",
                *a->curve && *a->db ? "--db with --curve" : "",
                *a->curve && *a->db && a->baseline > 0 ? " and " : "",
                a->baseline > 0 ? "--baseline-run" : "");
        return 1;
    }
    if (*a->svg && !project) {
        fprintf(stderr, "trim roi: --svg draws a projection (--curve)\n");
        return 1;
    }
    return 0;
}


int
cmd_roi(int argc, char **argv)
{
    roi_args_t a = {.prices = "",
                    .db = "",
                    .curve = "",
                    .svg = "",
                    .target_acc = NAN,
                    .target_pgr = NAN};
    const flag_t flags[] = {
        {"prices", FLAG_STRING, &a.prices, 0, 0,
         "price book (JSON; docs/prices.example.json)"},
        {"db", FLAG_STRING, &a.db, 0, 0, "audit database"},
        {"run", FLAG_INT, &a.run, 1, 9.2e18, "run to price (measured)"},
        {"baseline-run", FLAG_INT, &a.baseline, 1, 9.2e18,
         "a strong-only run of the same problems"},
        {"curve", FLAG_STRING, &a.curve, 0, 0,
         "trim eval's eval.json (projected)"},
        {"volume", FLAG_DOUBLE, &a.volume, 1, 1e15, "problems per month"},
        {"target-accuracy", FLAG_DOUBLE, &a.target_acc, 0, 1,
         "accuracy to reach"},
        {"target-pgr", FLAG_DOUBLE, &a.target_pgr, 0, 1,
         "share of the weak-strong accuracy gap to recover"},
        {"fixed-monthly", FLAG_DOUBLE, &a.fixed, 0, 1e15,
         "USD a month the routed setup adds (e.g. the PRM's GPU)"},
        {"json", FLAG_BOOL, &a.json, 0, 0, "print the JSON document"},
        {"svg", FLAG_STRING, &a.svg, 0, 0, "write the projection's plot here"},
    };
    prices_t *p = NULL;
    char err[512];
    int rc = cli_parse("roi",
                       "--prices FILE (--db FILE --run N | --curve FILE "
                       "--volume N --target-accuracy A) [FLAGS]",
                       description, flags, sizeof flags / sizeof *flags, argc,
                       argv, NULL);
    int project = *a.curve || a.volume > 0;

    if (rc != CLI_GO)
        return rc;
    if (usage_error(&a, project))
        return 2;
    if ((p = prices_load(a.prices, err, sizeof err)) == NULL) {
        cli_error("roi", err);
        return 1;
    }
    rc = project ? projected(&a, p) : measured(&a, p);
    prices_destroy(&p);
    return rc;
}
