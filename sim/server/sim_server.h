/*
** sim_server.h: the simulated world served over HTTP like vLLM.
**
** One server plays one model: the weak or the strong generator (answering
** POST /v1/completions and /v1/chat/completions) or the PRM (answering POST
** /pooling).  Every server also answers GET /health and GET /v1/models.  The
** request and response bodies have vLLM's shapes; prompts are read back with
** the workers' own templates (prompt/prompt.h), so a prompt rendered by an HTTP
** backend gets exactly the step the in-process simulator would write.
**
** The latency model of the world really delays each response (a request
** holds one of `threads` slots while it sleeps, like a batch slot on a GPU
** server), and faults can be injected: which inference request gets which
** fault is a pure function of (fault seed, request number).  GET endpoints
** never get faults.
*/
#ifndef TRIM_SIM_SERVER_H
#define TRIM_SIM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

typedef enum {
    SIM_SERVER_WEAK = 0,
    SIM_SERVER_STRONG = 1,
    SIM_SERVER_PRM = 2
} sim_server_model_t;

/* Fault rates, each a probability in [0,1] drawn independently per request. */
typedef struct sim_server_faults {
    double drop;      /* close the connection without a response */
    double fail_500;  /* HTTP 500, vLLM error shape */
    double fail_429;  /* HTTP 429 with Retry-After */
    double malformed; /* 200 whose body is not JSON */
    double truncate;  /* 200 with the JSON cut in half */
    double slow;      /* extra delay of slow_ms before anything else */
    int retry_after_s;
    int slow_ms;
    uint64_t seed;
} sim_server_faults_t;

typedef struct sim_server_opts {
    sim_server_model_t model;
    const char *bind;        /* "HOST:PORT" ("[::1]:PORT" for IPv6); port 0
                                picks a free one */
    const char *served_name; /* NULL or "": sim-weak, sim-strong or sim-prm */
    int threads;             /* requests served at once (>= 1) */
    size_t max_body;         /* request body limit in bytes; 0: 8 MiB */
    const char *record_path; /* NULL or "": no request record */
    sim_server_faults_t faults;
} sim_server_opts_t;

typedef struct sim_server sim_server_t;

/* The name of a model ("weak", "strong", "prm"). */
const char *sim_server_model_name(sim_server_model_t m);

/* Parse "weak", "strong" or "prm".  Returns 0, or -1 for other names. */
int sim_server_parse_model(const char *name, sim_server_model_t *out);

/*
** Bind, listen and start serving on background threads.  The world is
** borrowed (read-only, shared by the threads) and must outlive the server;
** its latency parameters set the delay of each response.  Returns the
** server, or NULL with the reason in err (bad address, port taken, record
** file not writable, ...).
*/
sim_server_t *sim_server_new(const sim_world_t *w, const sim_server_opts_t *o,
                             char *err, size_t errlen);

/* "http://HOST:PORT" with the port actually bound. */
const char *sim_server_url(const sim_server_t *s);

/* The port actually bound. */
int sim_server_port(const sim_server_t *s);

/*
** Stop: requests still sleeping out their latency are cut short, open
** connections are closed, threads joined.  Frees the server and clears the
** pointer; NULL-safe.
*/
void sim_server_destroy(sim_server_t **s);

#endif
