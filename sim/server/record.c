/*
** record.c: one JSON line per request received (see server_internal.h).
*/
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "server_internal.h"

struct recorder {
    FILE *f;
    pthread_mutex_t mu;
};


recorder_t *
recorder_new(const char *path, char *err, size_t errlen)
{
    recorder_t *r = calloc(1, sizeof *r);

    if (r == NULL) {
        errf(err, errlen, "out of memory");
        return NULL;
    }
    if ((r->f = fopen(path, "a")) == NULL) {
        errf(err, errlen, "--record %s: cannot open for appending", path);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    return r;
}


void
recorder_write(recorder_t *r, const char *method, const char *path,
               const char *body, size_t len)
{
    json_t *line, *b;
    char *text = NULL;

    if (r == NULL)
        return;
    line = json_object();
    b = body ? json_stringn(body, len) : json_null();
    if (line == NULL ||
        json_object_set_new(line, "method", reply_string(method)) < 0 ||
        json_object_set_new(line, "path", reply_string(path)) < 0 ||
        json_object_set_new(line, "body", b ? b : json_null()) < 0)
        goto done;
    if (body != NULL && b == NULL &&
        json_object_set_new(line, "body_bytes", json_integer((json_int_t)len)) <
            0)
        goto done;
    if ((text = json_dumps(line, JSON_COMPACT)) == NULL)
        goto done;
    pthread_mutex_lock(&r->mu);
    fputs(text, r->f);
    fputc('\n', r->f);
    fflush(r->f);
    pthread_mutex_unlock(&r->mu);
done:
    free(text);
    json_decref(line);
}


void
recorder_destroy(recorder_t **rp)
{
    recorder_t *r = rp ? *rp : NULL;

    if (r == NULL)
        return;
    fclose(r->f);
    pthread_mutex_destroy(&r->mu);
    free(r);
    *rp = NULL;
}
