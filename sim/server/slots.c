/*
** slots.c: how many requests compute at once, and interruptible sleeps
** (see server_internal.h).
*/
#include <time.h>

#include "clock.h"
#include "server_internal.h"

/* Longest single nap, so a stopping server is noticed quickly. */
#define NAP_US 10000


int
slots_init(slots_t *s, int n, atomic_int *stopping)
{
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    s->free = n;
    s->stopping = stopping;
    return 0;
}


void
slots_clear(slots_t *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}


int
slots_take(slots_t *s)
{
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    while (s->free == 0 && !atomic_load(s->stopping))
        pthread_cond_wait(&s->cv, &s->mu);
    if (atomic_load(s->stopping))
        rc = -1;
    else
        s->free--;
    pthread_mutex_unlock(&s->mu);
    return rc;
}


void
slots_give(slots_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->free++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}


void
slots_wake(slots_t *s)
{
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}


void
sleep_us(int64_t us, atomic_int *stopping)
{
    int64_t end = clock_now_us() + us, left;

    while ((left = end - clock_now_us()) > 0 && !atomic_load(stopping)) {
        int64_t nap = left < NAP_US ? left : NAP_US;
        struct timespec ts = {(time_t)(nap / 1000000),
                              (long)(nap % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}
