/*
** timings.c: where the time of the step row being built goes, as
** store_step_t records it (docs/audit-schema.md): the row's waits in the
** pools' queues (queue_us, of which prm_queue_us and route_queue_us were
** for the PRM and the router), the PRM's and router's round trips (prm_us,
** route_us, added by steps.c as calls end) and its whole time in the
** coordinator (step_us), from when its step, or the regeneration that
** replaced its draft, began.
*/
#include "coord_internal.h"

#include "clock.h"


void
coord_timing_start(cproblem_t *p)
{
    p->queue_us = p->prm_us = p->route_us = 0;
    p->prm_queue_us = p->route_queue_us = 0;
    p->row_start_us = clock_now_us();
}


void
coord_timing_waited(cproblem_t *p, int64_t us)
{
    p->queue_us += us;
    if (p->stage == STAGE_SCORE)
        p->prm_queue_us += us;
    else if (p->stage == STAGE_ROUTE)
        p->route_queue_us += us;
}


void
coord_timing_fill(const cproblem_t *p, store_step_t *row)
{
    row->queue_us = p->queue_us;
    row->prm_queue_us = p->prm_queue_us;
    row->route_queue_us = p->route_queue_us;
    row->prm_us = p->prm_us;
    row->route_us = p->route_us;
    row->step_us = clock_now_us() - p->row_start_us;
}
