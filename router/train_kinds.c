/*
** train_kinds.c: what the training loop and `trim train` need of each
** learned model, TRIM-Agg's and TRIM-Seq's (see train_runs.h).
*/
#include "train_runs.h"


/* Add delta to an actor's logit difference d (its output biases). */
static void
shift_head(mlp_t *a, double delta)
{
    float *b = a->params + mlp_bias_offset(a, a->n_layers - 1);

    b[0] -= (float)(delta / 2);
    b[1] += (float)(delta / 2);
}


static void *
agg_clone(const void *m)
{
    return agg_model_clone(m);
}


static void
agg_destroy(void *m)
{
    agg_model_t *a = m;

    agg_model_destroy(&a);
}


static double *
agg_lambda(void *m)
{
    return &((agg_model_t *)m)->lambda;
}


static int
agg_save(const void *m, const char *path, char *err, size_t errlen)
{
    return agg_model_save(m, path, err, errlen);
}


static int
agg_load(const char *path, void **m, char *err, size_t errlen)
{
    agg_model_t *a;
    int rc = agg_model_load(path, &a, err, errlen);

    *m = a;
    return rc;
}


static void
agg_init_any(void *m, double threshold, double sharpness, uint64_t seed)
{
    agg_init(m, threshold, sharpness, seed);
}


static void
agg_shift(void *m, double delta)
{
    shift_head(((agg_model_t *)m)->actor, delta);
}


static int
agg_update(void *m, const agg_batch_t *b, const ppo_opts_t *o, ppo_stats_t *st,
           char *err, size_t errlen)
{
    return ppo_update(m, b, o, st, err, errlen);
}


const train_kind_t train_kind_agg = {
    "agg",    agg_clone,    agg_destroy, agg_lambda, agg_save,
    agg_load, agg_init_any, agg_shift,   agg_update,
};


static void *
seq_clone(const void *m)
{
    return seq_model_clone(m);
}


static void
seq_destroy(void *m)
{
    seq_model_t *s = m;

    seq_model_destroy(&s);
}


static double *
seq_lambda(void *m)
{
    return &((seq_model_t *)m)->lambda;
}


static int
seq_save(const void *m, const char *path, char *err, size_t errlen)
{
    return seq_model_save(m, path, err, errlen);
}


static int
seq_load(const char *path, void **m, char *err, size_t errlen)
{
    seq_model_t *s;
    int rc = seq_model_load(path, &s, err, errlen);

    *m = s;
    return rc;
}


static void
seq_init_any(void *m, double threshold, double sharpness, uint64_t seed)
{
    seq_init(m, threshold, sharpness, seed);
}


static void
seq_shift(void *m, double delta)
{
    shift_head(((seq_model_t *)m)->actor.head, delta);
}


static int
seq_update(void *m, const agg_batch_t *b, const ppo_opts_t *o, ppo_stats_t *st,
           char *err, size_t errlen)
{
    return seq_ppo_update(m, b, o, st, err, errlen);
}


const train_kind_t train_kind_seq = {
    "seq",    seq_clone,    seq_destroy, seq_lambda, seq_save,
    seq_load, seq_init_any, seq_shift,   seq_update,
};
