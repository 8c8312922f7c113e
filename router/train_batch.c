/*
** train_batch.c: the episode batch a trainer learns from (see train.h).
*/
#include <stdlib.h>
#include <string.h>

#include "train.h"


int
agg_batch_add(agg_batch_t *b, const agg_step_t *s)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        agg_step_t *p = realloc(b->steps, cap * sizeof *p);
        if (p == NULL)
            return -1;
        b->steps = p;
        b->cap = cap;
    }
    b->steps[b->n++] = *s;
    b->episodes += s->last != 0;
    return 0;
}


void
agg_batch_clear(agg_batch_t *b)
{
    free(b->steps);
    memset(b, 0, sizeof *b);
}
