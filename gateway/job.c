/*
** job.c: one request's problem as the coordinator reports on it (see
** gateway_internal.h).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gateway_internal.h"


/* A job with no text and no eventfd yet. */
static gw_job_t *
job_alloc(void)
{
    gw_job_t *j = calloc(1, sizeof *j);

    if (j == NULL)
        return NULL;
    j->efd = -1;
    pthread_mutex_init(&j->mu, NULL);
    j->result.correct = -1;
    return j;
}


gw_job_t *
job_new(size_t route, const char *text, uint64_t seed, const char *key_id)
{
    gw_job_t *j = job_alloc();

    if (j == NULL)
        return NULL;
    j->route = route;
    j->seed = seed;
    snprintf(j->key_id, sizeof j->key_id, "%s", key_id ? key_id : "");
    if (text != NULL && (j->text = strdup(text)) == NULL)
        goto fail;
    if ((j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        goto fail;
    return j;
fail:
    job_destroy(&j);
    return NULL;
}


gw_job_t *
job_new_orphan(uint64_t problem_id)
{
    gw_job_t *j = job_alloc();

    if (j != NULL) {
        j->orphan = 1;
        j->problem_id = problem_id;
    }
    return j;
}


static void
step_clear(gw_step_t *s)
{
    free(s->text);
    free(s->decided_by);
    free(s->reason);
}


void
job_destroy(gw_job_t **jp)
{
    if (jp && *jp) {
        gw_job_t *j = *jp;
        for (size_t i = 0; i < j->n_steps; i++)
            step_clear(&j->steps[i]);
        free(j->steps);
        free(j->result.error);
        free(j->result.final_answer);
        free(j->text);
        if (j->efd >= 0)
            close(j->efd);
        pthread_mutex_destroy(&j->mu);
        free(j);
        *jp = NULL;
    }
}


void
job_wake(gw_job_t *j)
{
    uint64_t one = 1;

    /* The counter cannot overflow in practice; a full one still wakes. */
    if (j->efd >= 0 && write(j->efd, &one, sizeof one) < 0) {
    }
}


static char *
dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}


int
job_add_step(gw_job_t *j, const gw_step_t *s)
{
    int rc = 0;

    pthread_mutex_lock(&j->mu);
    if (s->index != j->n_steps)
        goto done;
    if (j->n_steps == j->cap_steps) {
        size_t cap = j->cap_steps ? j->cap_steps * 2 : 16;
        gw_step_t *p = realloc(j->steps, cap * sizeof *p);
        if (p == NULL) {
            rc = -1;
            goto done;
        }
        j->steps = p;
        j->cap_steps = cap;
    }
    gw_step_t *d = &j->steps[j->n_steps];
    *d = *s;
    d->text = dup_or_empty(s->text);
    d->decided_by = dup_or_empty(s->decided_by);
    d->reason = dup_or_empty(s->reason);
    if (!d->text || !d->decided_by || !d->reason) {
        step_clear(d);
        rc = -1;
        goto done;
    }
    j->n_steps++;
    rc = 1;
done:
    pthread_mutex_unlock(&j->mu);
    return rc;
}


int
job_end(gw_job_t *j, const gw_result_t *r)
{
    char *error = dup_or_empty(r->error),
         *answer = dup_or_empty(r->final_answer);
    int rc = 0;

    if (error == NULL || answer == NULL) {
        free(error);
        free(answer);
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    if (j->state == JOB_ENDED) {
        free(error);
        free(answer);
        goto done;
    }
    j->result = *r;
    j->result.error = error;
    j->result.final_answer = answer;
    j->state = JOB_ENDED;
done:
    pthread_mutex_unlock(&j->mu);
    return rc;
}


void
job_refuse(gw_job_t *j, int http_status, const char *why)
{
    pthread_mutex_lock(&j->mu);
    j->state = JOB_REFUSED;
    j->http_status = http_status;
    snprintf(j->error, sizeof j->error, "%s", why);
    pthread_mutex_unlock(&j->mu);
}


void
job_adopt(gw_job_t *j, gw_job_t *orphan)
{
    for (size_t i = 0; i < orphan->n_steps; i++)
        job_add_step(j, &orphan->steps[i]);
    if (orphan->state == JOB_ENDED)
        job_end(j, &orphan->result);
}
