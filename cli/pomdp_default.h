/*
** pomdp_default.h: the model `pomdp:LAMBDA` plans in when no calibration
** file is given.
**
** The router knows the TRIM release's measured world but not the
** simulator, so the command line builds the default model and hands it to
** the coordinator and the router services it starts (coord_opts_t and
** router_opts_t .pomdp_default).
*/
#ifndef TRIM_POMDP_DEFAULT_H
#define TRIM_POMDP_DEFAULT_H

#include <stddef.h>

#include "pomdp.h"

/*
** The TRIM release's world (pomdp_model_release) with the simulator's
** embedded fit of the Qwen2.5-Math-PRM-7B likelihoods.  Returns 0, or -1
** with err.
*/
int pomdp_model_default(pomdp_model_t *m, char *err, size_t errlen);

#endif
