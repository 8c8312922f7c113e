/*
** resume.h: `trim run --resume RUN`, and what an interrupted run says.
**
** A run records its configuration (runs.config, and the runs columns for
** the policy, seed and budgets).  Resuming reloads it, checks the flags
** given on the command line against it, and lets local_run finish the
** run's queued and running problems from their last accepted step with
** their recorded seeds; finished problems are kept.  The summary of a
** resumed or interrupted run is read back from the store, so it covers
** every problem of the run, not only this session's.
*/
#ifndef TRIM_RESUME_H
#define TRIM_RESUME_H

#include <stdint.h>

#include "http_flags.h"
#include "local.h"
#include "prices.h"
#include "trim.pb-c.h"

/* What a resumed run's options point into; resume_clear frees it. */
typedef struct resume {
    void *config; /* json_t *: the recorded configuration */
    char *policy; /* the recorded policy spec */
    http_backend_opts_t pool[3];
} resume_t;

/*
** Set *o up to finish run run_id of o->db: policy, seed, problems, step
** limit, calibration, simulator profile, budgets and model servers as
** recorded.  Flags given in argv (or as TRIM_ variables) that differ from
** the record are refused; concurrency, workers, deadlines and the servers'
** URLs and HTTP settings (hv) may change.  Prints why to stderr and
** returns -1 (a usage error), else 0; r keeps what o points to.
*/
int resume_plan(int64_t run_id, int argc, char **argv,
                const http_flag_values_t *hv, local_opts_t *o, resume_t *r);

/* Free what resume_plan kept; safe on a zeroed one. */
void resume_clear(resume_t *r);

/*
** Print run run_id's summary over all its problems, read from db (text or
** JSON, as summary_print, in dollars too with prices, which may be NULL),
** with elapsed_s this session's seconds, resumed the problems it took up
** (0: says there was nothing left) and routed_steps its routed steps, for
** the rate.  After an
** interrupt (sig, 0 when none) tell stderr what was recorded and the
** command that finishes the run.  Returns 0, or -1 when db cannot be read
** (printed).
*/
int resume_report(const char *db, int64_t run_id, double elapsed_s,
                  int64_t resumed, int64_t routed_steps, int sig, int json,
                  const prices_t *prices);

#endif
