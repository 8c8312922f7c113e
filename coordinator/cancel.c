/*
** cancel.c: dropping a problem its client gave up on.
**
** A cancelled problem stops wherever it stands.  Waiting for admission, it
** is marked done and emptied, and its husk left on the admission queue for
** admit to free (the queue is singly linked; a walk per cancel would cost
** the whole queue).  Waiting in a pool's queue, it is taken out.  Held by a
** peer, the request is dropped: the peer's credit stays taken until its
** reply comes, which then matches no problem, counts as stale and gives the
** credit back (claim in steps.c).  Unlike a request abandoned at its
** deadline it says nothing about the peer, so it is counted apart
** (cpeer_t.cancelled) and no quarantine looks at it.  Its row is written
** with status cancelled and the reason, its notify client gets its
** ProblemResult, and no step row follows: nothing is left to write one.
*/
#include "coord_internal.h"

#include "trim_assert.h"


int
coord_cancel(coord_t *c, int64_t id, const char *reason)
{
    cproblem_t *p = coord_find_problem(c, id);

    if (p == NULL && coord_page_one(c, id))
        p = coord_find_problem(c, id);
    if (p == NULL || p->stage == STAGE_DONE)
        return 0;
    if (p->queued) {
        int found = pool_queue_remove(coord_stage_queue(c, p), p) == 0;
        TRIM_ASSERT(found); /* queued: in its stage's queue */
        p->queued = 0;
    } else if (p->peer >= 0) {
        c->peers[p->peer].cancelled++;
        p->peer = -1;
    }
    coord_end_problem(c, p, STORE_CANCELLED,
                      reason && *reason ? reason : "cancelled by its client");
    return 1;
}
