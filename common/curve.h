/*
** curve.h: CURVE key files and socket set-up for encrypted TCP.
**
** A key pair lives in two small text files: PREFIX.secret holds the Z85
** secret key (40 characters and a newline, mode 0600) and PREFIX.public the
** Z85 public key.  The secret is never printed or logged by anything here;
** logs name a peer by curve_fingerprint() of its public key.
**
** CURVE encrypts and authenticates the server to its clients, but admits any
** client key: pair every CURVE server with a ZAP handler (zap.h) to admit
** only configured clients.
*/
#ifndef TRIM_CURVE_H
#define TRIM_CURVE_H

#include <stddef.h>

#define CURVE_KEY_Z85 40 /* characters of a Z85 key, without the NUL */

typedef struct curve_keys {
    char public_z85[41];
    char secret_z85[41]; /* wipe with curve_keys_clear() when done */
} curve_keys_t;

/*
** Read the secret key file at path and derive its public key into *out.  The
** file must hold exactly one 40-character Z85 key (surrounding whitespace is
** ignored) and must not be accessible by group or others (like ssh, a key
** with looser permissions is refused: chmod 600 it).  Returns 0, or -1 with
** a reason naming the file in err (never the file's content); *out is wiped
** on failure.
*/
int curve_load_secret(const char *path, curve_keys_t *out, char *err,
                      size_t errlen);

/*
** Load a public key from path_or_z85: when a file by that name exists it is
** read (one 40-character Z85 key, surrounding whitespace ignored); otherwise
** the argument itself must be a 40-character Z85 key, so a server key can
** be given inline on the command line.  Writes the NUL-terminated key to
** out.  Returns 0, or -1 with a reason naming the file or argument in err.
*/
int curve_load_public(const char *path_or_z85, char out[41], char *err,
                      size_t errlen);

/*
** Generate a new key pair into *out and write PREFIX.secret (mode 0600) and
** PREFIX.public (mode 0644).  Neither file may exist: an existing key is
** never overwritten (-1, and err says which file exists).  On any failure
** no new file is left behind.  Returns 0, or -1 with a reason in err.
*/
int curve_write_keypair(const char *prefix, curve_keys_t *out, char *err,
                        size_t errlen);

/*
** Make sock a CURVE server with k's secret key.  Call before bind or
** connect.  Start the context's ZAP handler (zap_new) before the socket
** accepts connections, or any client key is admitted.  Returns 0, or -1
** with a reason in err.
*/
int curve_server(void *sock, const curve_keys_t *k, char *err, size_t errlen);

/*
** Make sock a CURVE client with key pair k, trusting only a server whose
** public key is server_public_z85.  Call before connect.  Returns 0, or -1
** with a reason in err.
*/
int curve_client(void *sock, const curve_keys_t *k,
                 const char *server_public_z85, char *err, size_t errlen);

/*
** A short, non-secret name for a public key, for logs: 16 hex characters of
** a 64-bit hash of the key's 32 bytes (of the text when it is not valid
** Z85), NUL-terminated in out.  An identifier, not a security check:
** admission always compares whole keys.
*/
void curve_fingerprint(const char *public_z85, char out[17]);

/*
** 1 when s is exactly a 40-character Z85 key (decodes to 32 bytes), else 0.
*/
int curve_key_valid(const char *s);

/*
** Overwrite both keys in *k with zeros, so an embedded key pair leaves no
** secret behind; NULL-safe, idempotent.
*/
void curve_keys_clear(curve_keys_t *k);

#endif
