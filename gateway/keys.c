/*
** keys.c: the gateway's API keys (see gateway_internal.h).
**
** The file holds "ID KEY" lines.  Keys live only in this set, are wiped
** when it is freed, and never reach a log, an error or the coordinator:
** the audit records the id.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "gateway_internal.h"

#define KEY_MAX      256  /* bytes of a key */
#define LINE_MAX_LEN 1024 /* bytes of a line */

typedef struct key {
    char id[GW_KEY_ID_MAX + 1];
    unsigned char key[KEY_MAX];
    size_t len;
} key_t_;

struct gw_keys {
    key_t_ *keys;
    int n, cap;
};


/* Equal in time that depends on the lengths only. */
static int
same(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);

    for (size_t i = 0; i < alen && i < blen; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}


int
gw_keys_find(const gw_keys_t *k, const char *key, size_t len)
{
    int found = -1;

    /* No early exit: every key is compared whatever matched. */
    for (int i = 0; i < k->n; i++)
        if (same(k->keys[i].key, k->keys[i].len, (const unsigned char *)key,
                 len))
            found = i;
    return found;
}


const char *
gw_keys_id(const gw_keys_t *k, int i)
{
    return k->keys[i].id;
}


int
gw_keys_count(const gw_keys_t *k)
{
    return k->n;
}


/* Check and add the line's id and key; 0, or -1 with err (no key in it). */
static int
add(gw_keys_t *k, const char *id, size_t idlen, const char *key, size_t keylen,
    const char *where, char *err, size_t errlen)
{
    if (idlen > GW_KEY_ID_MAX)
        return errf(err, errlen, "%s: the id is over %d bytes", where,
                    GW_KEY_ID_MAX);
    if (keylen > KEY_MAX)
        return errf(err, errlen, "%s: the key is over %d bytes", where,
                    KEY_MAX);
    for (int i = 0; i < k->n; i++) {
        if (strlen(k->keys[i].id) == idlen &&
            memcmp(k->keys[i].id, id, idlen) == 0)
            return errf(err, errlen, "%s: id '%.*s' is listed twice", where,
                        (int)idlen, id);
        if (same(k->keys[i].key, k->keys[i].len, (const unsigned char *)key,
                 keylen))
            return errf(err, errlen,
                        "%s: the same key as id '%s' (keys must differ)", where,
                        k->keys[i].id);
    }
    if (k->n == k->cap) {
        int cap = k->cap ? k->cap * 2 : 8;
        /* not realloc: the old copy is wiped before it is freed */
        key_t_ *p = calloc((size_t)cap, sizeof *p);
        if (p == NULL)
            return errf(err, errlen, "out of memory");
        if (k->n > 0)
            memcpy(p, k->keys, (size_t)k->n * sizeof *p);
        if (k->keys)
            explicit_bzero(k->keys, (size_t)k->cap * sizeof *k->keys);
        free(k->keys);
        k->keys = p;
        k->cap = cap;
    }
    key_t_ *e = &k->keys[k->n++];
    memcpy(e->id, id, idlen);
    e->id[idlen] = '\0';
    memcpy(e->key, key, keylen);
    e->len = keylen;
    return 0;
}


/* One line: blank, a comment, or "ID KEY". */
static int
parse_line(gw_keys_t *k, char *line, const char *where, char *err,
           size_t errlen)
{
    const char *ws = " \t\r\n";
    char *p = line + strspn(line, ws);
    size_t idlen, keylen;

    if (*p == '\0' || *p == '#')
        return 0;
    idlen = strcspn(p, ws);
    char *key = p + idlen;
    key += strspn(key, ws);
    keylen = strcspn(key, ws);
    if (keylen == 0)
        return errf(err, errlen, "%s: expected \"ID KEY\", found no key",
                    where);
    if (key[keylen + strspn(key + keylen, ws)] != '\0')
        return errf(err, errlen,
                    "%s: expected \"ID KEY\", found more than two fields",
                    where);
    return add(k, p, idlen, key, keylen, where, err, errlen);
}


gw_keys_t *
gw_keys_load(const char *path, char *err, size_t errlen)
{
    gw_keys_t *k = calloc(1, sizeof *k);
    char line[LINE_MAX_LEN + 2], where[600];
    FILE *f = NULL;
    int n = 0;

    if (k == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if ((f = fopen(path, "r")) == NULL) {
        errf(err, errlen, "--api-keys %s: %s", path, strerror(errno));
        goto fail;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        snprintf(where, sizeof where, "%s:%d", path, ++n);
        if (strlen(line) > LINE_MAX_LEN) {
            errf(err, errlen, "%s: line over %d bytes", where, LINE_MAX_LEN);
            goto fail;
        }
        if (parse_line(k, line, where, err, errlen) < 0)
            goto fail;
    }
    explicit_bzero(line, sizeof line);
    if (k->n == 0) {
        errf(err, errlen, "--api-keys %s: no keys (lines \"ID KEY\")", path);
        goto fail;
    }
    fclose(f);
    return k;
fail:
    explicit_bzero(line, sizeof line);
    if (f)
        fclose(f);
    gw_keys_destroy(&k);
    return NULL;
}


void
gw_keys_destroy(gw_keys_t **kp)
{
    if (kp && *kp) {
        gw_keys_t *k = *kp;
        if (k->keys)
            explicit_bzero(k->keys, (size_t)k->cap * sizeof *k->keys);
        free(k->keys);
        free(k);
        *kp = NULL;
    }
}
