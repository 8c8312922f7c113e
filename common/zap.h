/*
** zap.h: the ZAP handler (RFC 27) that admits configured CURVE clients.
**
** CURVE alone encrypts and proves the server's identity, but libzmq admits
** any client key unless a ZAP handler answers at inproc://zeromq.zap.01 in
** the server socket's context.  zap_new() serves that endpoint in its own
** thread: a CURVE client whose public key is in the allowed-keys file gets
** 200 (its fingerprint becomes the message property "User-Id"); everything
** else gets 400 and is logged at WARN once per key, by fingerprint and peer
** address.
**
** One ZAP handler per context: libzmq has one ZAP endpoint per context, so a
** second zap_new() on the same context fails.  Start it before any CURVE
** server socket of the context binds, or early clients get in unchecked.
*/
#ifndef TRIM_ZAP_H
#define TRIM_ZAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct zap zap_t;

/*
** Load the allowed client keys from allowed_keys_path (one 40-character Z85
** public key per line, optionally followed by a '#' comment; blank lines
** and '#' comment lines are skipped; a line whose first word is a valid key
** is a key even when the key itself begins with '#', a Z85 character, so
** "#KEY" or "# KEY" disables it; a bad line fails with "FILE:LINE: ..." in
** err, without quoting the line), bind the ZAP
** endpoint in zctx (borrowed; it must outlive the handler, or be terminated
** first: the thread then ends by itself) and start serving.  name appears in
** log lines ("zap NAME: ...").  Returns the handler, or NULL with a reason in
** err.
*/
zap_t *zap_new(void *zctx, const char *allowed_keys_path, const char *name,
               char *err, size_t errlen);

/*
** Stop the handler's thread (within about 50 ms), close its socket, free it
** and clear the pointer; NULL-safe.  After this, CURVE servers of the
** context admit any client again, so stop it only after closing them.
*/
void zap_destroy(zap_t **z);

/*
** Counts of ZAP requests admitted and refused so far.  Safe to call from any
** thread while the handler runs.
*/
void zap_stats(const zap_t *z, uint64_t *admitted, uint64_t *refused);

#endif
