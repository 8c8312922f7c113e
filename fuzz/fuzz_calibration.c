/*
** fuzz_calibration.c: a PRM calibration file (the format of
** data/calibration/qwen2.5-math-prm-7b.json), as the router's POMDP policy
** (router/pomdp.h) and the simulator (sim/sim.h) load it.
**
** The first byte picks the loader, the rest is the file.  A model the
** router accepts must pass its own check.
*/
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "pomdp.h"
#include "sim.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pomdp_model_t m;
    sim_world_t *w;
    char err[256];
    const char *path;

    if (size == 0)
        return 0;
    path = fuzz_file(data + 1, size - 1);
    if (data[0] & 1) {
        w = sim_world_new(NULL, path, err, sizeof err);
        sim_world_destroy(&w);
    } else if (pomdp_model_load(path, &m, err, sizeof err) == 0 &&
               pomdp_model_check(&m, err, sizeof err) < 0) {
        abort();
    }
    return 0;
}
