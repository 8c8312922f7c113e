/*
** client.h: the user commands' connection to a running coordinator.
**
** A client is a DEALER socket that sends one request at a time and waits for
** the reply that echoes its request id, ignoring anything else (a heartbeat,
** a reply to an earlier request that timed out).
*/
#ifndef TRIM_CLIENT_H
#define TRIM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "curve.h"
#include "trim.pb-c.h"

typedef struct client client_t;

/*
** Connect to endpoint; keys (may be NULL) turns CURVE on with server_key as
** the coordinator's public key.  Returns NULL with a reason in err.
*/
client_t *client_new(const char *endpoint, const curve_keys_t *keys,
                     const char *server_key, char *err, size_t errlen);

/* Close the socket and the context, free, clear the pointer; NULL-safe. */
void client_destroy(client_t **c);

/* A fresh request id for the next request. */
uint64_t client_next_id(client_t *c);

/* Send a request envelope.  Returns 0, or -1 with err. */
int client_send(client_t *c, Trim__Envelope *env, char *err, size_t errlen);

/*
** Wait up to timeout_ms for the reply of body kind want whose request_id is
** id.  Returns 1 with *reply (free with env_destroy), 0 on timeout, -1 on a
** socket error (err set).
*/
int client_recv(client_t *c, Trim__Envelope__BodyCase want, uint64_t id,
                int timeout_ms, Trim__Envelope **reply, char *err,
                size_t errlen);

/*
** Load the CURVE settings of a user command: secret_path (own key pair) and
** server_key (a public key or its file).  Both NULL or empty: CURVE off,
** *enabled = 0.  One without the other is an error.  Returns 0 or -1
** (message printed as "trim CMD: ...").
*/
int client_curve(const char *cmd, const char *secret_path,
                 const char *server_key, curve_keys_t *keys,
                 char server_public[41], int *enabled);

#endif
