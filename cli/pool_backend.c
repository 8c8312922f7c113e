/*
** pool_backend.c: a pool's backend by kind (see pool_backend.h).
*/
#include "pool_backend.h"

#include <string.h>

#include "backend_openai.h"
#include "backend_pooling.h"
#include "backend_sim.h"
#include "errf.h"


backend_t *
pool_backend_new(const char *kind, Trim__Role role, const sim_world_t *world,
                 const http_backend_opts_t *http, uint32_t credit, char *err,
                 size_t errlen)
{
    backend_t *b;

    if (strncmp(kind, "openai", 6) == 0) {
        /* The coordinator checks Submits against the simulator when the
        ** small pool runs it, over HTTP (`trim sim-server`) too. */
        http_backend_opts_t o = *http;
        o.identify = role == TRIM__ROLE__ROLE_SMALL;
        if (strcmp(kind, "openai") == 0)
            return backend_openai_new(&o, credit, err, errlen);
        if (strcmp(kind, "openai-chat") == 0)
            return backend_openai_chat_new(&o, credit, err, errlen);
    }
    if (strcmp(kind, "vllm-pooling") == 0)
        return backend_pooling_new(http, credit, err, errlen);
    b = backend_sim_new(world, role == TRIM__ROLE__ROLE_SMALL ? BACKEND_SIM_WEAK
                               : role == TRIM__ROLE__ROLE_LARGE
                                   ? BACKEND_SIM_STRONG
                                   : BACKEND_SIM_PRM);
    if (b == NULL)
        errf(err, errlen, "out of memory");
    return b;
}


uint32_t
pool_backend_deadline_ms(Trim__Role role, const http_backend_opts_t *http)
{
    return role == TRIM__ROLE__ROLE_PRM ? backend_pooling_deadline_ms(http)
                                        : http_opts_deadline_ms(http);
}
