/*
** roi_measure.c: what a recorded run cost, beside strong-only and weak-only
** on the same problems (roi.h; formulas in docs/roi.md).
*/
#include "roi.h"

#include <math.h>
#include <string.h>

#include "errf.h"

/* Problems, correct and graded of run id; -2 with err when there is no
** such run or it has no problems, -1 with err when the store failed. */
static int
run_counts(store_reader_t *r, int64_t id, store_summary_t *s, char *err,
           size_t errlen)
{
    store_run_t run;
    int found = store_get_run(r, id, &run, err, errlen);

    if (found <= 0) {
        if (found < 0)
            return -1;
        errf(err, errlen, "no run %lld in the store", (long long)id);
        return -2;
    }
    if (store_totals(r, id, s, err, errlen) < 0)
        return -1;
    if (s->problems == 0) {
        errf(err, errlen, "run %lld has no problems", (long long)id);
        return -2;
    }
    return 0;
}


/* a / b, NAN when b is 0. */
static double
ratio(double a, double b)
{
    return b != 0 ? a / b : NAN;
}


int
roi_measure(store_reader_t *r, const prices_t *p, int64_t run_id,
            int64_t baseline_run, roi_measured_t *out, char *err, size_t errlen)
{
    store_summary_t s, b;
    store_run_t run;
    cost_usage_t sol;
    cost_usd_t usd;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = run_counts(r, run_id, &s, err, errlen)) < 0)
        return rc;
    if (store_get_run(r, run_id, &run, err, errlen) < 0)
        return -1;
    out->run_id = run_id;
    snprintf(out->policy, sizeof out->policy, "%s",
             run.policy ? run.policy : "");
    out->problems = s.problems;
    out->correct = s.correct;
    out->graded = s.graded;
    if (cost_usage_run(r, run_id, 0, &out->usage, err, errlen) < 0)
        return -1;
    prices_cost(p, &out->usage, &out->usd);
    out->per_problem = ratio(out->usd.total, (double)s.problems);
    out->per_correct = ratio(out->usd.total, (double)s.correct);

    /* Weak-only: this run's accepted steps at the weak model's prices. */
    if (cost_usage_solution(r, run_id, 0, COST_WEAK, &sol, err, errlen) < 0)
        return -1;
    prices_cost(p, &sol, &usd);
    out->weak_only = usd.total;
    if (baseline_run > 0) {
        cost_usage_t base;
        if ((rc = run_counts(r, baseline_run, &b, err, errlen)) < 0)
            return rc;
        if (cost_usage_run(r, baseline_run, 0, &base, err, errlen) < 0)
            return -1;
        prices_cost(p, &base, &usd);
        out->baseline_run_id = baseline_run;
        out->strong_only = usd.total / (double)b.problems * (double)s.problems;
        out->strong_only_per_correct = ratio(usd.total, (double)b.correct);
        out->basis = "the baseline run's cost per problem times this run's "
                     "problems";
    } else {
        if (cost_usage_solution(r, run_id, 0, COST_STRONG, &sol, err, errlen) <
            0)
            return -1;
        prices_cost(p, &sol, &usd);
        out->strong_only = usd.total;
        out->strong_only_per_correct = NAN;
        out->basis = "estimated: this run's accepted steps at the strong "
                     "model's prices (no baseline run)";
    }
    out->savings = out->strong_only - out->usd.total;
    out->savings_pct = 100 * ratio(out->savings, out->strong_only);
    return 0;
}
