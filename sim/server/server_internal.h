/*
** server_internal.h: what the files of the simulator's HTTP server share.
*/
#ifndef TRIM_SIM_SERVER_INTERNAL_H
#define TRIM_SIM_SERVER_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_server.h"

/* ---- a response to send ------------------------------------------------ */

typedef struct reply {
    int status;
    char *body; /* malloc'd; NULL for an empty body */
    size_t len;
    int retry_after_s; /* > 0: send Retry-After */
    int64_t delay_us;  /* what the latency model says the call takes */
} reply_t;

/* Set r to the JSON of obj (stolen).  Returns 0, or -1 (r is then a 500). */
int reply_json(reply_t *r, int status, json_t *obj);

/*
** Set r to vLLM's error shape {"error":{"message","type","param":null,
** "code":status}}; type is derived from the status.
*/
void reply_error(reply_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Free the body and zero its length; idempotent. */
void reply_clear(reply_t *r);

/*
** A JSON string of text that may quote a request (its path, say): bytes
** that are not UTF-8, which JSON cannot carry, become '?'.  NULL when out
** of memory.
*/
json_t *reply_string(const char *text);

/* ---- request slots and sleeping ---------------------------------------- */

/* At most n requests compute and sleep at once; the rest wait their turn. */
typedef struct slots {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int free;
    atomic_int *stopping;
} slots_t;

/* Initialise with n slots; stopping ends every wait when set. 0 or -1. */
int slots_init(slots_t *s, int n, atomic_int *stopping);

/* Free what slots_init made; once, when no thread may be waiting. */
void slots_clear(slots_t *s);

/* Take a slot; returns 0, or -1 when the server is stopping. */
int slots_take(slots_t *s);

/* Give back a slot taken with slots_take. */
void slots_give(slots_t *s);

/* Wake every waiter (after setting the stopping flag). */
void slots_wake(slots_t *s);

/* Sleep us microseconds, cut short when *stopping is set. */
void sleep_us(int64_t us, atomic_int *stopping);

/* ---- faults ------------------------------------------------------------- */

typedef struct fault {
    int drop, fail_500, fail_429, malformed, truncate, slow;
} fault_t;

/* The faults of inference request number n; a pure function of (f, n). */
fault_t fault_pick(const sim_server_faults_t *f, uint64_t n);

/* Turn a successful reply into a malformed or truncated one. */
void fault_mangle(reply_t *r, const fault_t *f);

/* ---- request record ----------------------------------------------------- */

typedef struct recorder recorder_t;

/* Open path for appending.  Returns NULL with err. */
recorder_t *recorder_new(const char *path, char *err, size_t errlen);

/*
** Append {"method","path","body"} as one line and flush.  body NULL is
** written as null; a body that is not UTF-8 is written as null with
** "body_bytes".  Thread-safe.
*/
void recorder_write(recorder_t *r, const char *method, const char *path,
                    const char *body, size_t len);

/* Close the file and free the recorder; NULL-safe, clears the pointer. */
void recorder_destroy(recorder_t **r);

/* ---- the server --------------------------------------------------------- */

struct sim_server {
    const sim_world_t *world;
    sim_server_model_t model;
    const char *served_name; /* what "model" must say */
    char *own_name;          /* sim_server_new's copy of it, freed with s */
    sim_server_faults_t faults;
    size_t max_body;
    struct MHD_Daemon *mhd;
    int listen_fd;
    int port;
    char url[160];
    atomic_int stopping;
    atomic_uint_fast64_t n_inference; /* inference requests received */
    atomic_uint_fast64_t n_ids;       /* response ids */
    slots_t slots;
    int slots_ready;
    recorder_t *rec;
};

/*
** The endpoint handlers: req is the parsed body (a JSON object).  Each fills
** r with the response (a success or an error), including r->delay_us.
*/
void handle_completions(sim_server_t *s, const json_t *req, reply_t *r);
void handle_chat(sim_server_t *s, const json_t *req, reply_t *r);
void handle_pooling(sim_server_t *s, const json_t *req, reply_t *r);
/* POST /tokenize: the token count of a PRM input, as pooling counts it
** (messages: plus the generation prompt unless add_generation_prompt is
** false, as vLLM's chat template adds it). */
void handle_tokenize(sim_server_t *s, const json_t *req, reply_t *r);

/* GET /v1/models: the one served model. */
void handle_models(sim_server_t *s, reply_t *r);

/* ---- request fields ----------------------------------------------------- */

/*
** Check the optional "model" field against the served name: 404 in vLLM's
** words when it names another model.  Returns 0, or -1 with r filled.
*/
int req_check_model(sim_server_t *s, const json_t *req, reply_t *r);

/*
** An optional integer field: absent or null gives def.  Returns 0, or -1
** with a 400 in r when it is not an integer within [min, max].
*/
int req_int(const json_t *req, const char *key, int64_t def, int64_t min,
            int64_t max, int64_t *out, reply_t *r);

/* An optional boolean field with a default; 0, or -1 with a 400 in r. */
int req_bool(const json_t *req, const char *key, int def, int *out, reply_t *r);

/*
** Check that the optional sampling fields have the right types (numbers,
** stop as a string or strings, n == 1, no streaming).  0, or -1 with r.
*/
int req_check_sampling(const json_t *req, reply_t *r);

/*
** The text of a chat message's content: a string, or the concatenated
** "text" of an array of {"type":"text","text":...} parts (malloc'd in
** *out).  Returns 0, or -1 with a 400 in r.
*/
int req_message_text(const json_t *msg, size_t i, char **out, reply_t *r);

/* A fresh response id "PREFIX-" and 24 hex digits. */
json_t *req_new_id(sim_server_t *s, const char *prefix);

#endif
