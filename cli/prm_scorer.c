/*
** prm_scorer.c: whole solutions scored through a PRM backend (see
** prm_scorer.h).
**
** The backend is the one a PRM worker of `trim run` drives (pool_backend.h):
** requests go in up to the credit, results come out when the backend's file
** descriptors or its latency clock say so.  Each job is one request with
** the whole solution as its history; the PRM answers a score per step.
*/
#include "prm_scorer.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "errf.h"
#include "pool_backend.h"

#define MAX_POLL 64
#define BATCH    16

struct prm_scorer {
    backend_t *backend;
    uint32_t credit;
};


prm_scorer_t *
prm_scorer_new(const sim_world_t *world, const http_backend_opts_t *http,
               int credit, char *err, size_t errlen)
{
    prm_scorer_t *s = calloc(1, sizeof *s);

    if (s == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    s->credit = credit > 0 ? (uint32_t)credit : 1;
    s->backend =
        pool_backend_new(http ? "vllm-pooling" : "sim", TRIM__ROLE__ROLE_PRM,
                         world, http, s->credit, err, errlen);
    if (s->backend == NULL)
        prm_scorer_destroy(&s);
    return s;
}


void
prm_scorer_destroy(prm_scorer_t **s)
{
    if (s == NULL || *s == NULL)
        return;
    backend_destroy(&(*s)->backend);
    free(*s);
    *s = NULL;
}


/* Start job k; 0, or -1 with err. */
static int
submit(prm_scorer_t *s, const prm_job_t *job, size_t k, char *err,
       size_t errlen)
{
    backend_request_t req = {.job = BACKEND_SCORE,
                             .problem = job->problem,
                             .steps = job->steps,
                             .n_steps = job->n_steps};

    trim__key__init(&req.key);
    req.key.problem_id = k;
    req.key.role = TRIM__ROLE__ROLE_PRM;
    if (s->backend->submit(s->backend, &req) < 0)
        return errf(err, errlen, "solution %zu: the PRM call did not start", k);
    return 0;
}


/* Copy a result into its job: padded steps (the PRM did not see them) get
** NAN.  0, or -1 with err. */
static int
take(prm_job_t *jobs, size_t n, const backend_result_t *r, char *err,
     size_t errlen)
{
    size_t k = (size_t)r->key.problem_id;

    if (k >= n)
        return errf(err, errlen, "the PRM answered an unknown request");
    if (r->error != NULL)
        return errf(err, errlen, "solution %zu: PRM: %s", k, r->error);
    if (r->n_scores != jobs[k].n_steps)
        return errf(err, errlen, "solution %zu: %zu PRM scores for %zu steps",
                    k, r->n_scores, jobs[k].n_steps);
    for (size_t i = 0; i < r->n_scores; i++) {
        float v = r->scores[i];
        if (!(v >= 0.0f && v <= 1.0f))
            return errf(err, errlen, "solution %zu: PRM score %g outside [0,1]",
                        k, (double)v);
        jobs[k].scores[i] = i < r->padded ? NAN : v;
    }
    return 0;
}


/* Wait until a result may be ready: the backend's descriptors or clock. */
static int
wait_some(prm_scorer_t *s, char *err, size_t errlen)
{
    zmq_pollitem_t items[MAX_POLL];
    int n = s->backend->poll_items(s->backend, items, MAX_POLL);
    int64_t due = s->backend->next_due_us(s->backend);
    int timeout = 100;

    if (due != INT64_MAX) {
        int64_t wait_us = due - clock_now_us();
        int ms = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
        timeout = ms < timeout ? ms : timeout;
    }
    if (zmq_poll(n ? items : NULL, n, timeout) < 0 && errno != EINTR)
        return errf(err, errlen, "poll: %s", zmq_strerror(errno));
    return 0;
}


int
prm_scorer_run(prm_scorer_t *s, prm_job_t *jobs, size_t n, char *err,
               size_t errlen)
{
    backend_result_t got[BATCH];
    size_t next = 0, done = 0;
    int rc = 0;

    while (done < n && rc == 0) {
        while (next < n && s->backend->pending(s->backend) < s->credit)
            if (submit(s, &jobs[next], next, err, errlen) < 0)
                return -1;
            else
                next++;
        size_t k = s->backend->collect(s->backend, got, BATCH);
        for (size_t i = 0; i < k; i++) {
            if (rc == 0 && take(jobs, n, &got[i], err, errlen) < 0)
                rc = -1;
            backend_result_clear(&got[i]);
        }
        done += k;
        if (k == 0 && rc == 0)
            rc = wait_some(s, err, errlen);
    }
    return rc;
}
