/*
** backend_sim.h: the built-in simulator as a model backend.
*/
#ifndef TRIM_BACKEND_SIM_H
#define TRIM_BACKEND_SIM_H

#include "backend.h"
#include "sim.h"

typedef enum {
    BACKEND_SIM_WEAK = 0,
    BACKEND_SIM_STRONG = 1,
    BACKEND_SIM_PRM = 2
} backend_sim_model_t;

/*
** A backend answering from the simulated world w (borrowed; it must outlive
** the backend, and may be shared by other backends and threads).  Results
** are held back until the world's latency model says the call would have
** finished, so a worker with credit N behaves like a server with N slots.
** Returns NULL on allocation failure.
*/
backend_t *backend_sim_new(const sim_world_t *w, backend_sim_model_t model);

#endif
