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
#include "flags.h"
#include "trim.pb-c.h"

typedef struct client client_t;

#define CLIENT_CONNECT_DEFAULT "tcp://127.0.0.1:5555"

/* The --connect flag of a command that reaches a coordinator. */
#define CLIENT_FLAG_CONNECT(value)                                             \
    {                                                                          \
        "connect", FLAG_STRING, (value), 0, 0, "coordinator address"           \
    }

/*
** The CURVE flags of a client: --curve-secret (its key pair, "this SELF's
** key pair") and --curve-server-key (the public key of SERVER).
*/
#define CLIENT_FLAGS_CURVE(secret, server_key, self, server)                   \
    {"curve-secret",                                                           \
     FLAG_STRING,                                                              \
     (secret),                                                                 \
     0,                                                                        \
     0,                                                                        \
     "this " self "'s key pair (.secret file)"},                               \
    {                                                                          \
        "curve-server-key", FLAG_STRING, (server_key), 0, 0,                   \
            "the " server "'s public key, or its file"                         \
    }

/* The flags of the user commands that ask a coordinator (submit, status,
** wait); each command declares them in its own table, the CURVE ones with
** CLIENT_FLAGS_CURVE_OF. */
typedef struct client_flags {
    const char *connect;        /* coordinator address */
    const char *curve_secret;   /* this client's key pair file ("": no CURVE) */
    const char *server_key;     /* the coordinator's public key or its file */
    int64_t timeout_ms;         /* what it bounds is the command's */
    int64_t connect_timeout_ms; /* client_open asks the coordinator for its
                                   status this long first (0: it does not) */
} client_flags_t;

/* How long a user command waits for a coordinator (or a router's feed) to
** be there before it says there is none. */
#define CLIENT_CONNECT_TIMEOUT_DEFAULT 3000

/* The --connect-timeout-ms flag; what answers is the command's (what). */
#define CLIENT_FLAG_CONNECT_TIMEOUT(value, what)                               \
    {                                                                          \
        "connect-timeout-ms", FLAG_INT, (value), 1, 3600000,                   \
            "give up when no " what " answers within this long at start"       \
    }

/* The CURVE flags of a user command, into the client_flags_t at cf. */
#define CLIENT_FLAGS_CURVE_OF(cf)                                              \
    CLIENT_FLAGS_CURVE(&(cf)->curve_secret, &(cf)->server_key, "client",       \
                       "coordinator")

/*
** Connect to endpoint; keys (may be NULL) turns CURVE on with server_key as
** the coordinator's public key.  Returns NULL with a reason in err.
*/
client_t *client_new(const char *endpoint, const curve_keys_t *keys,
                     const char *server_key, char *err, size_t errlen);

/* Close the socket and the context, free, clear the pointer; NULL-safe. */
void client_destroy(client_t **c);

/*
** Open a client as the flags say: load the CURVE keys when both key flags
** are given (one without the other is an error), connect, and with
** f->connect_timeout_ms ask for the coordinator's status to know it is
** there.  Returns 0 with *out, or the exit code after printing "trim CMD:
** ...": 2 for bad CURVE flags or keys, 1 when the client cannot be set up
** or "no coordinator at ADDR" answered in time.
*/
int client_open(const char *cmd, const client_flags_t *f, client_t **out);

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
** Send env, a request whose id is id, and wait as client_recv does for the
** reply of kind want.  Returns 1 with *reply, 0 on timeout, -1 with err.
*/
int client_call(client_t *c, Trim__Envelope *env, uint64_t id,
                Trim__Envelope__BodyCase want, int timeout_ms,
                Trim__Envelope **reply, char *err, size_t errlen);

/* Ask for the coordinator's status; returns as client_call. */
int client_status(client_t *c, int timeout_ms, Trim__Envelope **reply,
                  char *err, size_t errlen);

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
