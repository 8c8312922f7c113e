/*
** eval_partial.c: a sweep cut short by Ctrl-C (see eval_partial.h).
*/
#include "eval_partial.h"

#include <signal.h>
#include <stdio.h>


int
eval_keep_measured(sweep_t *s, int sig)
{
    const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";

    if (s->weak.problems == 0 || s->strong.problems == 0) {
        fprintf(stderr,
                "trim eval: interrupted (%s) before the weak-only and "
                "strong-only anchors were measured: nothing written\n",
                name);
        return -1;
    }
    fprintf(stderr,
            "trim eval: interrupted (%s): writing the points that finished "
            "(they replace the files of an earlier eval in the same folder)\n",
            name);
    for (size_t i = 0; i < s->n_curves; i++) {
        sweep_curve_t *c = &s->curves[i];
        size_t k = 0;
        if (c->error[0])
            continue;
        while (k < c->n && c->points[k].problems > 0)
            k++;
        if (k == c->n)
            continue;
        fprintf(stderr,
                "trim eval: %s: %zu of %zu points measured; missing:", c->name,
                k, c->n);
        for (size_t j = k; j < c->n; j++)
            fprintf(stderr, " %s", c->points[j].spec);
        fputc('\n', stderr);
        c->n = k;
        if (k == 0)
            snprintf(c->error, sizeof c->error,
                     "interrupted before its first point");
    }
    return 0;
}
