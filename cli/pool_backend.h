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

/*
** The per-request deadline a worker of pool role on the HTTP backend http
** announces: a PRM worker's calls include the /tokenize calls of fitting
** (backend_pooling_deadline_ms), the others' are one call each.
*/
uint32_t pool_backend_deadline_ms(Trim__Role role,
                                  const http_backend_opts_t *http);

#endif
