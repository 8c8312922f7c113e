/*
** run_progress.c: the progress line of run, eval and train (see
** run_progress.h).
*/
#include "run_progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"


void
run_progress_open(run_progress_t *rp, const char *label, int off)
{
    progress_opts_t o = {.out = stderr,
                         .tty = isatty(STDERR_FILENO),
                         .label = label,
                         .unit = "problems"};

    memset(rp, 0, sizeof *rp);
    rp->line = off ? NULL : progress_new(&o);
}


void
run_progress_stage(run_progress_t *rp, const char *stage, double base,
                   double span)
{
    snprintf(rp->stage, sizeof rp->stage, "%s", stage ? stage : "");
    rp->base = base;
    rp->span = span;
    rp->start_us = 0;
}


void
run_progress_stats(void *ctx, const coord_stats_t *s)
{
    run_progress_t *rp = ctx;
    char detail[96];

    if (rp->line == NULL)
        return;
    if (s == NULL) {
        progress_end(rp->line);
        return;
    }
    int64_t now = clock_now_us(), done = s->finished + s->failed;
    if (rp->start_us == 0) {
        /* The coordinator has started: the ETA's rate is measured from
        ** here, not from before the problems were submitted. */
        rp->start_us = now;
        progress_mark(rp->line);
    }
    double secs = (double)(now - rp->start_us) / 1e6;
    double run_frac = s->submitted ? (double)done / (double)s->submitted : 0;
    /* Each figure once there is something to measure it by. */
    int n = 0;
    detail[0] = '\0';
    if (s->graded)
        n = snprintf(detail, sizeof detail, "acc %.3f",
                     (double)s->correct / (double)s->graded);
    if (secs >= 1 && n >= 0)
        snprintf(detail + n, sizeof detail - (size_t)n, "%s%.0f steps/s",
                 n ? ", " : "", (double)s->routed_steps / secs);
    progress_state_t st = {
        .stage = rp->stage,
        .done = done,
        .total = s->submitted,
        .fraction = rp->span > 0 ? rp->base + rp->span * run_frac : run_frac,
        .eta_at_most = rp->eta_at_most,
        .detail = detail,
    };
    progress_update(rp->line, &st);
}


void
run_progress_clear(run_progress_t *rp)
{
    progress_clear(rp->line);
}


void
run_progress_close(run_progress_t *rp)
{
    progress_end(rp->line);
    progress_destroy(&rp->line);
}


void
eval_progress_point(run_progress_t *rp, local_opts_t *o, const char *what,
                    size_t points_run, size_t points_total)
{
    char stage[128];
    double total = points_total ? (double)points_total : 1;

    snprintf(stage, sizeof stage, "point %zu of %zu (%s)", points_run + 1,
             points_total, what);
    run_progress_stage(rp, stage, (double)points_run / total, 1 / total);
    o->progress = rp->line ? run_progress_stats : NULL;
    o->progress_ctx = rp;
}


void
train_progress_iteration(void *ctx, int iteration)
{
    train_progress_t *t = ctx;

    t->iteration = iteration;
    t->runs = 0;
}


void
train_progress_run(train_progress_t *t, int explore, local_opts_t *lo)
{
    const agg_loop_opts_t *o = t->loop;
    double p = (double)o->problems, v = (double)o->val_problems;
    double start = (o->sweep ? AGG_SWEEP_RUNS : 1) * v;
    double loop = o->iterations * (p + v);
    double total = start + loop + (o->calibrate ? AGG_CALIBRATION_RUNS : 0) * v;
    double before, size = explore ? p : v;
    char stage[128];
    int k = ++t->runs;

    if (t->iteration == 0) {
        before = (k - 1) * v;
        if (o->sweep)
            snprintf(stage, sizeof stage,
                     "the start policy, threshold rule %d of %d", k,
                     AGG_SWEEP_RUNS);
        else
            snprintf(stage, sizeof stage, "the start policy, validating");
    } else if (t->iteration > o->iterations) {
        before = start + loop + (k - 1) * v;
        snprintf(stage, sizeof stage, "calibrating, offset %d of %d", k,
                 AGG_CALIBRATION_RUNS);
    } else {
        before = start + (t->iteration - 1) * (p + v) + (explore ? 0 : p);
        snprintf(stage, sizeof stage, "iteration %d of %d, %s", t->iteration,
                 o->iterations, explore ? "exploring" : "validating");
    }
    run_progress_stage(&t->line, stage, before / total, size / total);
    lo->progress = t->line.line ? run_progress_stats : NULL;
    lo->progress_ctx = &t->line;
}
