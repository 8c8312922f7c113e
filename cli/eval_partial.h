/*
** eval_partial.h: what `trim eval` reports after an interrupt.
*/
#ifndef TRIM_EVAL_PARTIAL_H
#define TRIM_EVAL_PARTIAL_H

#include "sweep.h"

/*
** Keep each curve's measured points only (points are measured in order, so
** they are a prefix; a curve left with none gets the error "interrupted
** before its first point") and tell stderr, naming signal sig, which
** points are missing.  Returns 0, or -1 when an anchor was not measured:
** no figure can be computed, and stderr says nothing is written.
*/
int eval_keep_measured(sweep_t *s, int sig);

#endif
