/*
** eval_print.h: `trim eval`'s report on stdout.
*/
#ifndef TRIM_EVAL_PRINT_H
#define TRIM_EVAL_PRINT_H

#include "sweep.h"

/*
** Print finished sweep s as text: the settings, the anchors, each curve's
** points and figures, a summary table, the paired comparisons with the
** baselines and which of them the intervals show, and the files written
** in dir.  Figures are "mean [lo, hi]" where s has intervals.
*/
void eval_print(const sweep_t *s, const char *dir);

#endif
