/*
** curve.c: CURVE key files and socket set-up (see curve.h).
**
** Secret material read or written here passes through small stack buffers,
** each wiped before it goes out of scope.  Error messages name files and
** say what is wrong, but never quote a secret file's content.
*/
#include "curve.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "errf.h"
#include "hash.h"

#define FINGERPRINT_SEED 0x7472696d63757276ULL /* "trimcurv" */
#define KEY_FILE_MAX     256                   /* bytes; a key file is 41 */

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";


int
curve_key_valid(const char *s)
{
    uint8_t bin[32];
    size_t n = strlen(s);
    int ok;

    if (n != CURVE_KEY_Z85 || strspn(s, z85_chars) != n)
        return 0;
    ok = zmq_z85_decode(bin, s) != NULL;
    explicit_bzero(bin, sizeof bin);
    return ok;
}


/*
** Read the key file open on fd into out: one Z85 key, whitespace around it
** ignored.  what ("secret" or "public") and path go into errors.
*/
static int
read_key_fd(int fd, const char *what, const char *path, char out[41], char *err,
            size_t errlen)
{
    char buf[KEY_FILE_MAX];
    size_t len = 0, start = 0;
    int rc = -1;

    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errf(err, errlen, "cannot read %s key file '%s': %s", what, path,
                 strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    while (start < len && isspace((unsigned char)buf[start]))
        start++;
    if (len - start != CURVE_KEY_Z85 || !curve_key_valid(buf + start)) {
        errf(err, errlen,
             "%s key file '%s' does not hold a key: expected one line of "
             "40 Z85 characters%s",
             what, path,
             len == sizeof buf - 1 ? " (the file is too long)" : "");
        goto done;
    }
    memcpy(out, buf + start, CURVE_KEY_Z85 + 1);
    rc = 0;
done:
    explicit_bzero(buf, sizeof buf);
    return rc;
}


int
curve_load_secret(const char *path, curve_keys_t *out, char *err, size_t errlen)
{
    struct stat st;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    curve_keys_clear(out);
    if (fd < 0)
        return errf(err, errlen, "cannot open secret key file '%s': %s", path,
                    strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errf(err, errlen, "secret key file '%s' is not a regular file", path);
        goto done;
    }
    if (st.st_mode & 0077) {
        errf(err, errlen,
             "permissions %04o for secret key file '%s' are too open: "
             "it must be readable by its owner only (chmod 600 '%s')",
             (unsigned)(st.st_mode & 07777), path, path);
        goto done;
    }
    if (read_key_fd(fd, "secret", path, out->secret_z85, err, errlen) != 0)
        goto done;
    if (zmq_curve_public(out->public_z85, out->secret_z85) != 0) {
        errf(err, errlen, "cannot derive the public key of '%s': %s", path,
             zmq_strerror(errno));
        goto done;
    }
    rc = 0;
done:
    close(fd);
    if (rc != 0)
        curve_keys_clear(out);
    return rc;
}


int
curve_load_public(const char *path_or_z85, char out[41], char *err,
                  size_t errlen)
{
    struct stat st;
    int fd, rc, saved;

    out[0] = '\0';
    if (stat(path_or_z85, &st) != 0) {
        saved = errno;
        if (curve_key_valid(path_or_z85)) {
            memcpy(out, path_or_z85, CURVE_KEY_Z85 + 1);
            return 0;
        }
        return errf(err, errlen,
                    "public key '%s' is neither a key file (%s) nor a "
                    "40-character Z85 key",
                    path_or_z85, strerror(saved));
    }
    fd = open(path_or_z85, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errf(err, errlen, "cannot open public key file '%s': %s",
                    path_or_z85, strerror(errno));
    rc = read_key_fd(fd, "public", path_or_z85, out, err, errlen);
    close(fd);
    return rc;
}


/* Write all of buf to fd, retrying short writes.  Returns 0 or -1. */
static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}


/* Create path exclusively with mode and write key and a newline to it. */
static int
write_key_file(const char *path, const char *key, mode_t mode, int *created,
               char *err, size_t errlen)
{
    char line[CURVE_KEY_Z85 + 1];
    int rc = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

    *created = 0;
    if (fd < 0 && errno == EEXIST)
        return errf(err, errlen,
                    "'%s' already exists; refusing to overwrite a key "
                    "(remove it or choose another prefix)",
                    path);
    if (fd < 0)
        return errf(err, errlen, "cannot create '%s': %s", path,
                    strerror(errno));
    *created = 1;
    memcpy(line, key, CURVE_KEY_Z85);
    line[CURVE_KEY_Z85] = '\n';
    /* fchmod: the mode must not depend on the caller's umask. */
    if (fchmod(fd, mode) != 0 || write_all(fd, line, sizeof line) != 0 ||
        fsync(fd) != 0) {
        errf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    explicit_bzero(line, sizeof line);
    if (close(fd) != 0 && rc == 0) {
        errf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}


int
curve_write_keypair(const char *prefix, curve_keys_t *out, char *err,
                    size_t errlen)
{
    char sec_path[PATH_MAX], pub_path[PATH_MAX];
    int sec_created = 0, pub_created = 0;
    int rc = -1;

    curve_keys_clear(out);
    if ((size_t)snprintf(sec_path, sizeof sec_path, "%s.secret", prefix) >=
            sizeof sec_path ||
        (size_t)snprintf(pub_path, sizeof pub_path, "%s.public", prefix) >=
            sizeof pub_path)
        return errf(err, errlen, "key prefix is too long");
    if (zmq_curve_keypair(out->public_z85, out->secret_z85) != 0) {
        errf(err, errlen, "cannot generate a CURVE key pair: %s",
             errno == ENOTSUP ? "libzmq was built without CURVE"
                              : zmq_strerror(errno));
        goto done;
    }
    if (write_key_file(sec_path, out->secret_z85, 0600, &sec_created, err,
                       errlen) != 0 ||
        write_key_file(pub_path, out->public_z85, 0644, &pub_created, err,
                       errlen) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0) {
        if (sec_created)
            unlink(sec_path);
        if (pub_created)
            unlink(pub_path);
        curve_keys_clear(out);
    }
    return rc;
}


int
curve_server(void *sock, const curve_keys_t *k, char *err, size_t errlen)
{
    int one = 1;

    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->secret_z85,
                       CURVE_KEY_Z85) != 0)
        return errf(err, errlen, "cannot make a CURVE server socket: %s",
                    zmq_strerror(errno));
    return 0;
}


int
curve_client(void *sock, const curve_keys_t *k, const char *server_public_z85,
             char *err, size_t errlen)
{
    if (!curve_key_valid(server_public_z85))
        return errf(err, errlen,
                    "server public key is not a 40-character Z85 key");
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public_z85,
                       CURVE_KEY_Z85) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, k->public_z85,
                       CURVE_KEY_Z85) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->secret_z85,
                       CURVE_KEY_Z85) != 0)
        return errf(err, errlen, "cannot make a CURVE client socket: %s",
                    zmq_strerror(errno));
    return 0;
}


void
curve_fingerprint(const char *public_z85, char out[17])
{
    uint8_t bin[32];
    uint64_t h;

    if (curve_key_valid(public_z85) && zmq_z85_decode(bin, public_z85) != NULL)
        h = hash_bytes(FINGERPRINT_SEED, bin, sizeof bin);
    else
        h = hash_bytes(FINGERPRINT_SEED, public_z85, strlen(public_z85));
    snprintf(out, 17, "%016" PRIx64, h);
}


void
curve_keys_clear(curve_keys_t *k)
{
    if (k != NULL)
        explicit_bzero(k, sizeof *k);
}
