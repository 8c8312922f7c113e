/*
** backend.c: helpers shared by every backend (see backend.h).
*/
#include "backend.h"

#include <stdlib.h>


void
backend_result_clear(backend_result_t *r)
{
    if (r == NULL)
        return;
    free(r->text);
    free(r->scores);
    free(r->error);
    r->text = NULL;
    r->scores = NULL;
    r->error = NULL;
    r->n_scores = 0;
    r->padded = 0;
}


void
backend_destroy(backend_t **b)
{
    if (b && *b) {
        (*b)->destroy(*b);
        *b = NULL;
    }
}
