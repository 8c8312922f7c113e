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
#include <string.h>

#include "errf.h"
#include "model_file.h"


uint64_t
agg_file_checksum(const void *data, size_t len)
{
    return mf_checksum(data, len);
}


/* "name 5 64 64 2": the sizes after the name; 0 or -1 with err. */
static int
parse_sizes(mf_cursor_t *c, const char *name, int outputs, int *n_layers,
            int size[MLP_MAX_LAYERS + 1])
{
    int line_no = mf_line_of(c), n;

    if (mf_sizes(c, name, MLP_MAX_LAYERS + 1, MLP_MAX_WIDTH, size, &n) < 0)
        return -1;
    if (size[0] != AGG_FEATURES)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s takes %d inputs; "
                    "TRIM-Agg has %d features (wrong layer sizes)",
                    c->path, line_no, name, size[0], AGG_FEATURES);
    if (size[n - 1] != outputs)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s has %d outputs, must "
                    "have %d (wrong layer sizes)",
                    c->path, line_no, name, size[n - 1], outputs);
    *n_layers = n - 1;
    return 0;
}


/* A network's sizes line and parameters; the network or NULL with err. */
static mlp_t *
parse_net(mf_cursor_t *c, const char *name, int outputs)
{
    int n_layers = 0, size[MLP_MAX_LAYERS + 1];
    char why[128];
    mlp_t *m;

    if (parse_sizes(c, name, outputs, &n_layers, size) < 0)
        return NULL;
    m = mlp_new(n_layers, size, why, sizeof why);
    if (m == NULL) {
        errf(c->err, c->errlen, "%s: %s: %s", c->path, name, why);
        return NULL;
    }
    if (mf_numbers(c, name, m->params, m->n_params) < 0)
        mlp_destroy(&m);
    return m;
}


int
agg_model_load(const char *path, agg_model_t **out, char *err, size_t errlen)
{
    mf_cursor_t c;
    char *buf =
        mf_read(path, AGG_MAGIC, AGG_VERSION, "TRIM-Agg", &c, err, errlen);
    char *line, want[128];
    agg_model_t *m = NULL;
    int rc = -1;

    *out = NULL;
    if (buf == NULL)
        return -1;
    if ((m = calloc(1, sizeof *m)) == NULL) {
        errf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (mf_lambda(&c, &m->lambda) < 0)
        goto done;
    line = mf_next_line(&c);
    snprintf(want, sizeof want, "features %d %s", AGG_FEATURES,
             AGG_FEATURE_NAMES);
    if (line == NULL || strcmp(line, want) != 0) {
        errf(err, errlen,
             "%s: line 3: expected '%s' (a policy for "
             "other features, or damaged)",
             path, want);
        goto done;
    }
    if ((m->actor = parse_net(&c, "actor", 2)) == NULL ||
        (m->critic = parse_net(&c, "critic", 1)) == NULL)
        goto done;
    if (*c.p != '\0') {
        errf(err, errlen,
             "%s: line %d: unexpected text before the "
             "checksum",
             path, mf_line_of(&c));
        goto done;
    }
    *out = m;
    m = NULL;
    rc = 0;
done:
    agg_model_destroy(&m);
    free(buf);
    return rc;
}


/* Append a network's sizes line and parameters. */
static int
write_net(FILE *f, const char *name, const mlp_t *m)
{
    fprintf(f, "%s", name);
    for (int l = 0; l <= m->n_layers; l++)
        fprintf(f, " %d", m->size[l]);
    fputc('\n', f);
    return mf_write_numbers(f, m->params, m->n_params);
}


/* Everything after the lambda line (mf_write's body). */
static int
write_body(FILE *f, const void *ctx)
{
    const agg_model_t *m = ctx;

    fprintf(f, "features %d %s\n", AGG_FEATURES, AGG_FEATURE_NAMES);
    return write_net(f, "actor", m->actor) < 0 ||
                   write_net(f, "critic", m->critic) < 0
               ? -1
               : 0;
}


int
agg_model_save(const agg_model_t *m, const char *path, char *err, size_t errlen)
{
    return mf_write(path, AGG_MAGIC, AGG_VERSION, m->lambda, write_body, m, err,
                    errlen);
}
