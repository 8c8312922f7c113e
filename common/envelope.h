/*
** envelope.h: the one message frame on the wire (proto/trim.proto Envelope).
**
** Packing writes straight into a ZeroMQ message; unpacking validates what a
** peer may not send us: another protocol version, a missing body, text over
** the field limits, batches over the item limit.  The reason names the
** field, and in a batch the item ("items[3]: ...", "problems[2]: ...").  A
** message that fails is the caller's to count and drop (or answer); nothing
** here logs.
*/
#ifndef TRIM_ENVELOPE_H
#define TRIM_ENVELOPE_H

#include <stddef.h>
#include <zmq.h>

#include "arena.h"
#include "trim.pb-c.h"

#define TRIM_PROTOCOL_VERSION 2
#define TRIM_MAX_MESSAGE      (8 << 20)  /* bytes per frame (ZMQ_MAXMSGSIZE) */
#define TRIM_MAX_TEXT         (64 << 10) /* bytes per text field */
#define TRIM_MAX_STEPS        256        /* steps in one history */
#define TRIM_MAX_BATCH        4096       /* items in one batch */
#define TRIM_MAX_NAME         128        /* peer names, policy specs */
#define TRIM_MAX_SOURCE       512        /* a problem's source */
#define TRIM_MAX_BELIEF       16         /* values in a policy's belief */

/*
** Pack env (its version is set here) into a fresh ZeroMQ message *msg, which
** the caller owns (zmq_msg_close or send).  Returns 0, or -1 if the packed
** size exceeds TRIM_MAX_MESSAGE or allocation fails (msg left closed).
*/
int env_pack(Trim__Envelope *env, zmq_msg_t *msg);

/*
** Unpack and validate one frame.  Returns the envelope (free it with
** env_destroy), or NULL with a one-line reason in err (errlen bytes).
*/
Trim__Envelope *env_unpack(const void *data, size_t len, char *err,
                           size_t errlen);

/*
** Like env_unpack, but every allocation comes from arena: the envelope lives
** until the caller's next arena_reset and must not be passed to env_destroy.
** This is the hot path; it saves a malloc and a free per field.
*/
Trim__Envelope *env_unpack_in(arena_t *arena, const void *data, size_t len,
                              char *err, size_t errlen);

/*
** Check one problem of a Submit as env_unpack does for each: a non-empty
** text and every field within its limit.  0, or -1 with the reason in err
** (the field, its size and the limit, or "empty text").
** Clients check before sending, so one problem cannot sink a batch.
*/
int env_check_problem(const Trim__ProblemSpec *p, char *err, size_t errlen);

/* Free an envelope from env_unpack and clear the pointer; NULL-safe. */
void env_destroy(Trim__Envelope **env);

/* Name of a role ("small", "large", "prm", "router", "unknown"). */
const char *env_role_name(Trim__Role role);

/* Parse a role name; returns TRIM__ROLE__ROLE_UNKNOWN when not one. */
Trim__Role env_role_parse(const char *name);

#endif
