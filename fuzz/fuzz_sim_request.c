/*
** fuzz_sim_request.c: a POST body to `trim sim-server`
** (sim/server/sim_server_testing.h), for each endpoint and model.
**
** The first byte picks the path and the model, the rest is the body.  Every
** answer is a JSON body with a status the server sends.
*/
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "sim.h"
#include "sim_server_testing.h"

static const char *const paths[] = {"/v1/completions", "/v1/chat/completions",
                                    "/pooling", "/tokenize"};
#define N_PATHS (sizeof paths / sizeof *paths)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sim_world_t *world;
    char err[256], *reply = NULL;
    size_t len = 0;
    json_t *j;
    int status;

    if (size == 0)
        return 0;
    if (world == NULL &&
        (world = sim_world_new(NULL, NULL, err, sizeof err)) == NULL)
        abort();
    status =
        sim_server_answer(world, (sim_server_model_t)((data[0] / N_PATHS) % 3),
                          paths[data[0] % N_PATHS], (const char *)data + 1,
                          size - 1, &reply, &len);
    if (status < 200 || status > 599 || reply == NULL ||
        (j = json_loadb(reply, len, 0, NULL)) == NULL)
        abort();
    json_decref(j);
    free(reply);
    return 0;
}
