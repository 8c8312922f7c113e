/*
** agg_file.c: reading and writing TRIM-Agg policy files (format: agg.h;
** what policy files share: model_file.h).
**
** Loading checks, in order: the magic and version on the first line, the
** checksum line at the end against the bytes before it, then every field:
** lambda, the feature list, each network's layer sizes, and that it holds
** exactly that many finite parameters.  Each failure names the file and
** what is wrong, so a damaged or edited file is rejected, never half used.
*/
#include "agg.h"

#include <stdio.h>
#include <stdlib.h>

#include "errf.h"
#include "model_file.h"


uint64_t
agg_file_checksum(const void *data, size_t len)
{
    return mf_checksum(data, len);
}


int
agg_model_load(const char *path, agg_model_t **out, char *err, size_t errlen)
{
    mf_cursor_t c;
    char *buf = NULL, inputs[128];
    agg_model_t *m = NULL;
    int rc = -1;

    *out = NULL;
    if ((m = calloc(1, sizeof *m)) == NULL) {
        errf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    snprintf(inputs, sizeof inputs, "features %d %s", AGG_FEATURES,
             AGG_FEATURE_NAMES);
    if ((buf = mf_read(path, AGG_MAGIC, AGG_VERSION, "TRIM-Agg", inputs,
                       &m->lambda, &c, err, errlen)) == NULL ||
        (m->actor = mf_mlp(&c, "actor", AGG_FEATURES, 2)) == NULL ||
        (m->critic = mf_mlp(&c, "critic", AGG_FEATURES, 1)) == NULL ||
        mf_end(&c) < 0)
        goto done;
    *out = m;
    m = NULL;
    rc = 0;
done:
    agg_model_destroy(&m);
    free(buf);
    return rc;
}


/* Everything after the lambda line (mf_write's body). */
static int
write_body(FILE *f, const void *ctx)
{
    const agg_model_t *m = ctx;

    fprintf(f, "features %d %s\n", AGG_FEATURES, AGG_FEATURE_NAMES);
    return mf_write_mlp(f, "actor", m->actor) < 0 ||
                   mf_write_mlp(f, "critic", m->critic) < 0
               ? -1
               : 0;
}


int
agg_model_save(const agg_model_t *m, const char *path, char *err, size_t errlen)
{
    return mf_write(path, AGG_MAGIC, AGG_VERSION, m->lambda, write_body, m, err,
                    errlen);
}
