/*
** calib_em.c: a store's solutions fitted from their final answers (see
** calib_fit.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib_fit.h"
#include "errf.h"

#define MAX_ITER 500

typedef struct walk {
    store_reader_t *reader;
    pomdp_em_t *em;
    pomdp_counts_t *c;
    calib_em_report_t *rep;
    int64_t run_id; /* the run cascade tells about, -1 none yet */
    int cascade;
    char *err;
    size_t errlen;
    int failed;
} walk_t;


/* Whether run_id's policy is a cascade (whole solutions, not steps). */
static int
is_cascade(walk_t *w, int64_t run_id)
{
    store_run_t run;

    if (run_id != w->run_id) {
        w->run_id = run_id;
        w->cascade =
            store_get_run(w->reader, run_id, &run, w->err, w->errlen) == 0 &&
            run.policy != NULL && strncmp(run.policy, "cascade", 7) == 0;
    }
    return w->cascade;
}


/*
** r's rows as EM steps into out (at most max): per step index, a kept
** draft, or a strong step with or without the draft it replaced.  Returns
** the count, or -1 for rows of another shape.
*/
static long
steps_of(const store_rows_t *r, pomdp_em_step_t *out, size_t max,
         double *strong_tokens, long *strong_steps)
{
    size_t n = 0;
    double min = NAN; /* of the accepted steps so far */

    for (size_t i = 0; i < r->n;) {
        const store_step_t *d = NULL, *s = NULL;
        int32_t k = r->v[i].step_index;
        for (; i < r->n && r->v[i].step_index == k; i++)
            if (r->v[i].kind == STORE_DRAFT && d == NULL)
                d = &r->v[i];
            else if (r->v[i].kind != STORE_DRAFT && s == NULL)
                s = &r->v[i];
            else
                return -1;
        if (n == max || k != (int32_t)n ||
            (s ? !s->accepted || (d && d->accepted) : !d || !d->accepted))
            return -1;
        pomdp_em_step_t *e = &out[n++];
        e->has_draft = d != NULL;
        e->draft = d ? (float)d->prm_score : NAN;
        e->draft_min = d && !isnan(d->min_prev_score) ? (float)d->min_prev_score
                                                      : (float)min;
        e->regenerated = s != NULL;
        e->strong = s ? (float)s->prm_score : NAN;
        e->strong_min = (float)min;
        double taken = s ? s->prm_score : d->prm_score;
        if (!isnan(taken) && !(taken >= min))
            min = taken;
        if (s) {
            *strong_tokens += s->completion_tokens;
            (*strong_steps)++;
        }
    }
    return (long)n;
}


static int
each_problem(void *ctx, const store_problem_t *p)
{
    walk_t *w = ctx;
    store_rows_t r = {0};
    pomdp_em_step_t steps[POMDP_MAX_STEPS];
    double tokens = 0;
    long strong = 0, n;

    if (p->status != STORE_FINISHED || p->correct < 0)
        return 0;
    if (is_cascade(w, p->run_id)) {
        w->rep->skipped++;
        return 0;
    }
    if (store_each_step(w->reader, p->problem_id, store_rows_collect, &r,
                        w->err, w->errlen) < 0) {
        w->failed = 1;
        return 1;
    }
    n = steps_of(&r, steps, POMDP_MAX_STEPS, &tokens, &strong);
    store_rows_clear(&r);
    if (n <= 0) {
        w->rep->skipped++;
        return 0;
    }
    if (pomdp_em_add(w->em, steps, (size_t)n, p->correct) < 0) {
        errf(w->err, w->errlen, "out of memory");
        w->failed = 1;
        return 1;
    }
    w->rep->solutions++;
    w->c->problems++;
    w->c->lengths[n]++;
    w->c->strong_tokens += tokens;
    w->c->strong_steps += strong;
    return 0;
}


int
calib_em_store(store_reader_t *r, int64_t run, pomdp_counts_t *c,
               calib_em_report_t *rep, char *err, size_t errlen)
{
    walk_t w = {.reader = r,
                .c = c,
                .rep = rep,
                .run_id = -1,
                .err = err,
                .errlen = errlen};
    int rc = -1;

    memset(rep, 0, sizeof *rep);
    if ((w.em = pomdp_em_new()) == NULL)
        return errf(err, errlen, "out of memory");
    if (store_each_problem(r, run, each_problem, &w, err, errlen) < 0 ||
        w.failed)
        goto done;
    if (rep->solutions == 0) {
        errf(err, errlen, "no finished, graded, step-routed solution to fit");
        goto done;
    }
    rc = pomdp_em_fit(w.em, MAX_ITER, c, &rep->iterations, &rep->loglik, err,
                      errlen);
done:
    pomdp_em_destroy(&w.em);
    return rc;
}
