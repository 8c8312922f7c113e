/*
** pool_backend.h: the backend of one worker of a pool, by kind.
*/
#ifndef TRIM_POOL_BACKEND_H
#define TRIM_POOL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "http_opts.h"
#include "sim.h"
#include "trim.pb-c.h"

/*
** A backend for pool role (small, large or prm): kind "sim" serves the
** simulator world (the weak model, the strong one or the PRM, by role);
** "openai", "openai-chat" (small, large) and "vllm-pooling" (prm) call
** the model server of http with credit calls at once.  NULL with a reason
** in err.
*/
backend_t *pool_backend_new(const char *kind, Trim__Role role,
                            const sim_world_t *world,
                            const http_backend_opts_t *http, uint32_t credit,
                            char *err, size_t errlen);

#endif
