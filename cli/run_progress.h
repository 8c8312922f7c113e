/*
** run_progress.h: the progress line (progress.h) of the commands that solve
** problems with local_run: trim run, trim eval and trim train.
**
** It is local_opts_t.progress: the coordinator's counters become the line's
** "done/total problems", with the accuracy and routed steps per second
** after the ETA.  A command of several runs names each run (its stage) and
** the share of the whole command it is, so the ETA is the command's.
*/
#ifndef TRIM_RUN_PROGRESS_H
#define TRIM_RUN_PROGRESS_H

#include <stddef.h>

#include "coordinator.h"
#include "local.h"
#include "progress.h"
#include "train_runs.h"

typedef struct run_progress {
    progress_t *line;  /* NULL: no progress */
    char stage[128];   /* before the counts; "": none */
    double base, span; /* this run is [base, base + span) of the command;
                          span 0: the run is the whole command */
    int eta_at_most;   /* the command may end sooner */
    int64_t start_us;  /* steps/s are counted from here (0: the next
                          call) */
} run_progress_t;

/*
** Open rp's line labelled label ("trim run") on stderr: redrawn on a
** terminal, a line every few seconds elsewhere.  With off (--no-progress),
** or out of memory, rp->line stays NULL and nothing is printed.
*/
void run_progress_open(run_progress_t *rp, const char *label, int off);

/*
** The run that starts next: its stage ("thr 3/21 thr:0.1"; NULL: none) and
** the share [base, base + span) of the command it is.
*/
void run_progress_stage(run_progress_t *rp, const char *stage, double base,
                        double span);

/*
** local_opts_t.progress (ctx: a run_progress_t): the run's counters s, or
** NULL when an interrupt stops the run (the line is ended).
*/
void run_progress_stats(void *ctx, const coord_stats_t *s);

/*
** trim eval's next point, what ("thr 3/23 thr:0.02"), after points_run of
** the command's points_total runs; o (the point's local_run options)
** reports to rp.
*/
void eval_progress_point(run_progress_t *rp, local_opts_t *o, const char *what,
                         size_t points_run, size_t points_total);

/* trim train --sim's line: which part of the loop runs now. */
typedef struct train_progress {
    run_progress_t line;
    const agg_loop_opts_t *loop; /* the training's settings */
    int iteration; /* the part running (agg_loop_opts_t.on_iteration) */
    int runs;      /* runs of that part so far */
} train_progress_t;

/* agg_loop_opts_t.on_iteration (ctx: a train_progress_t). */
void train_progress_iteration(void *ctx, int iteration);

/*
** Before a run of the loop (explore: an exploring run, else a validation
** run): its stage and share of the training, counted in problems (the
** iterations all run, the ETA says "at most"); lo reports to t.
*/
void train_progress_run(train_progress_t *t, int explore, local_opts_t *lo);

/* Before another line goes to stderr (progress_clear). */
void run_progress_clear(run_progress_t *rp);

/* The command is over: end the line and free it; rp may be closed already. */
void run_progress_close(run_progress_t *rp);

#endif
