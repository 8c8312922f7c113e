/*
** pool_queue.c: the FIFO queues of problems waiting for a pool (and for
** admission), linked through cproblem_t.next.
**
** A problem is on at most one queue at a time.  The ends and the length
** are checked on every change with TRIM_ASSERT, which stays in release
** builds: a problem pushed twice would close the list into a loop that
** dispatch would then walk forever, so it stops the coordinator at once
** instead.
*/
#include "coord_internal.h"

#include "trim_assert.h"


/* The ends agree with each other and with the length. */
static void
check_ends(const pool_queue_t *q)
{
    TRIM_ASSERT(q->length >= 0);
    TRIM_ASSERT((q->head == NULL) == (q->length == 0));
    TRIM_ASSERT((q->tail == NULL) == (q->length == 0));
    TRIM_ASSERT(q->tail == NULL || q->tail->next == NULL);
}


void
pool_queue_push(pool_queue_t *q, cproblem_t *p)
{
    check_ends(q);
    /* On no queue: a queued problem has a successor or is a tail. */
    TRIM_ASSERT(p->next == NULL && p != q->tail);
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->length++;
}


cproblem_t *
pool_queue_pop(pool_queue_t *q)
{
    cproblem_t *p = q->head;

    check_ends(q);
    if (p == NULL)
        return NULL;
    q->head = p->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->length--;
    p->next = NULL;
    return p;
}


int
pool_queue_remove(pool_queue_t *q, cproblem_t *p)
{
    cproblem_t **link = &q->head, *prev = NULL;

    check_ends(q);
    while (*link != NULL && *link != p) {
        prev = *link;
        link = &prev->next;
    }
    if (*link == NULL)
        return -1;
    *link = p->next;
    if (q->tail == p)
        q->tail = prev;
    q->length--;
    p->next = NULL;
    check_ends(q);
    return 0;
}
