/*
** seq_file.c: reading and writing TRIM-Seq policy files (format: seq.h;
** what policy files share: model_file.h).
**
** Loading checks the magic and version, the checksum, then every field:
** lambda, the input list, each GRU's and head's sizes (the heads read the
** GRU's units and the inputs), and that each holds exactly that many finite
** parameters.  Each failure names the file and what is wrong.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "model_file.h"
#include "seq.h"


/* "NAME.gru 4 H" and its parameters into net->gru; 0 or -1 with err. */
static int
parse_gru(mf_cursor_t *c, const char *name, seq_net_t *net)
{
    char block[32], why[128];
    int size[2], n, line_no = mf_line_of(c);

    snprintf(block, sizeof block, "%s.gru", name);
    if (mf_sizes(c, block, 2, MLP_MAX_WIDTH, size, &n) < 0)
        return -1;
    if (size[0] != SEQ_INPUTS)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s takes %d inputs; TRIM-Seq has %d "
                    "(wrong sizes)",
                    c->path, line_no, block, size[0], SEQ_INPUTS);
    if ((net->gru = gru_new(size[0], size[1], why, sizeof why)) == NULL)
        return errf(c->err, c->errlen, "%s: line %d: %s: %s", c->path, line_no,
                    block, why);
    return mf_numbers(c, block, net->gru->params, net->gru->n_params);
}


/* "NAME.head H+4 ... outputs" and its parameters; 0 or -1 with err. */
static int
parse_head(mf_cursor_t *c, const char *name, int outputs, seq_net_t *net)
{
    char block[32], why[128];
    int size[MLP_MAX_LAYERS + 1], n, line_no = mf_line_of(c);
    int in = net->gru->hidden + SEQ_INPUTS;

    snprintf(block, sizeof block, "%s.head", name);
    if (mf_sizes(c, block, MLP_MAX_LAYERS + 1, MLP_MAX_WIDTH, size, &n) < 0)
        return -1;
    if (size[0] != in || size[n - 1] != outputs)
        return errf(c->err, c->errlen,
                    "%s: line %d: %s has %d inputs and %d outputs, must "
                    "have %d and %d (wrong sizes)",
                    c->path, line_no, block, size[0], size[n - 1], in, outputs);
    if ((net->head = mlp_new(n - 1, size, why, sizeof why)) == NULL)
        return errf(c->err, c->errlen, "%s: line %d: %s: %s", c->path, line_no,
                    block, why);
    return mf_numbers(c, block, net->head->params, net->head->n_params);
}


int
seq_model_load(const char *path, seq_model_t **out, char *err, size_t errlen)
{
    mf_cursor_t c;
    char *buf =
        mf_read(path, SEQ_MAGIC, SEQ_VERSION, "TRIM-Seq", &c, err, errlen);
    char *line, want[128];
    seq_model_t *m = NULL;
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
    snprintf(want, sizeof want, "inputs %d %s", SEQ_INPUTS, SEQ_INPUT_NAMES);
    if (line == NULL || strcmp(line, want) != 0) {
        errf(err, errlen,
             "%s: line 3: expected '%s' (a policy for other inputs, or "
             "damaged)",
             path, want);
        goto done;
    }
    if (parse_gru(&c, "actor", &m->actor) < 0 ||
        parse_head(&c, "actor", 2, &m->actor) < 0 ||
        parse_gru(&c, "critic", &m->critic) < 0 ||
        parse_head(&c, "critic", 1, &m->critic) < 0)
        goto done;
    if (*c.p != '\0') {
        errf(err, errlen, "%s: line %d: unexpected text before the checksum",
             path, mf_line_of(&c));
        goto done;
    }
    *out = m;
    m = NULL;
    rc = 0;
done:
    seq_model_destroy(&m);
    free(buf);
    return rc;
}


/* Append a network: its GRU's sizes and parameters, then its head's. */
static int
write_net(FILE *f, const char *name, const seq_net_t *net)
{
    const mlp_t *h = net->head;

    fprintf(f, "%s.gru %d %d\n", name, net->gru->inputs, net->gru->hidden);
    if (mf_write_numbers(f, net->gru->params, net->gru->n_params) < 0)
        return -1;
    fprintf(f, "%s.head", name);
    for (int l = 0; l <= h->n_layers; l++)
        fprintf(f, " %d", h->size[l]);
    fputc('\n', f);
    return mf_write_numbers(f, h->params, h->n_params);
}


/* Everything after the lambda line (mf_write's body). */
static int
write_body(FILE *f, const void *ctx)
{
    const seq_model_t *m = ctx;

    fprintf(f, "inputs %d %s\n", SEQ_INPUTS, SEQ_INPUT_NAMES);
    return write_net(f, "actor", &m->actor) < 0 ||
                   write_net(f, "critic", &m->critic) < 0
               ? -1
               : 0;
}


int
seq_model_save(const seq_model_t *m, const char *path, char *err, size_t errlen)
{
    return mf_write(path, SEQ_MAGIC, SEQ_VERSION, m->lambda, write_body, m, err,
                    errlen);
}
