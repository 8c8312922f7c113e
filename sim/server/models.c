/*
** models.c: the models a server can play, and GET /v1/models (see
** sim_server.h and server_internal.h).
*/
#include <string.h>
#include <time.h>

#include "server_internal.h"

static const char *const model_names[] = {"weak", "strong", "prm"};


const char *
sim_server_model_name(sim_server_model_t m)
{
    return (int)m >= 0 && m <= SIM_SERVER_PRM ? model_names[m] : "?";
}


int
sim_server_parse_model(const char *name, sim_server_model_t *out)
{
    for (int i = 0; i <= SIM_SERVER_PRM; i++)
        if (strcmp(name, model_names[i]) == 0) {
            *out = (sim_server_model_t)i;
            return 0;
        }
    return -1;
}


void
handle_models(sim_server_t *s, reply_t *r)
{
    reply_json(r, 200,
               json_pack("{s:s, s:[{s:s, s:s, s:I, s:s, s:s}]}", "object",
                         "list", "data", "id", s->served_name, "object",
                         "model", "created", (json_int_t)time(NULL), "owned_by",
                         "trim-sim", "root", s->served_name));
}
