/*
** sim_server_testing.h: the simulator's HTTP server answering one request
** without listening, for the fuzzers (fuzz/) and tests.
*/
#ifndef TRIM_SIM_SERVER_TESTING_H
#define TRIM_SIM_SERVER_TESTING_H

#include <stddef.h>

#include "sim_server.h"

/*
** Answer a POST of body (len bytes, any bytes) to path as a server of model
** on world w does, with its default served name, no faults and no latency
** slept.  Returns the HTTP status (404 for a path it does not serve, 400 for
** a model out of range); *reply
** gets the response body (malloc'd, the caller frees it; NULL when empty)
** and *reply_len its length.
*/
int sim_server_answer(const sim_world_t *w, sim_server_model_t model,
                      const char *path, const char *body, size_t len,
                      char **reply, size_t *reply_len);

#endif
