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
    char block[32];

    snprintf(block, sizeof block, "%s.head", name);
    net->head = mf_mlp(c, block, net->gru->hidden + SEQ_INPUTS, outputs);
    return net->head == NULL ? -1 : 0;
}


int
seq_model_load(const char *path, seq_model_t **out, char *err, size_t errlen)
{
    mf_cursor_t c;
    char *buf = NULL, inputs[128];
    seq_model_t *m = NULL;
    int rc = -1;

    *out = NULL;
    if ((m = calloc(1, sizeof *m)) == NULL) {
        errf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    snprintf(inputs, sizeof inputs, "inputs %d %s", SEQ_INPUTS,
             SEQ_INPUT_NAMES);
    if ((buf = mf_read(path, SEQ_MAGIC, SEQ_VERSION, "TRIM-Seq", inputs,
                       &m->lambda, &c, err, errlen)) == NULL ||
        parse_gru(&c, "actor", &m->actor) < 0 ||
        parse_head(&c, "actor", 2, &m->actor) < 0 ||
        parse_gru(&c, "critic", &m->critic) < 0 ||
        parse_head(&c, "critic", 1, &m->critic) < 0 || mf_end(&c) < 0)
        goto done;
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
    char block[32];

    fprintf(f, "%s.gru %d %d\n", name, net->gru->inputs, net->gru->hidden);
    if (mf_write_numbers(f, net->gru->params, net->gru->n_params) < 0)
        return -1;
    snprintf(block, sizeof block, "%s.head", name);
    return mf_write_mlp(f, block, net->head);
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
