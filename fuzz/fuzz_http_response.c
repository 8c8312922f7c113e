/*
** fuzz_http_response.c: a model server's 2xx body, as the completions,
** chat and pooling backends read it (workers/backend_testing.h).
**
** The first byte picks the format and the number of steps sent (0..8); the
** rest is the body.  An accepted body gives a step of at most TRIM_MAX_TEXT
** bytes with a known finish, or one score in [0, 1] per step.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend_testing.h"
#include "envelope.h"

static const char *const kinds[] = {"openai", "openai-chat", "vllm-pooling"};


static void
check(const backend_result_t *r, size_t n_steps)
{
    if (r->job == BACKEND_GENERATE) {
        if (r->text == NULL || strlen(r->text) > TRIM_MAX_TEXT ||
            (r->finish != TRIM__FINISH__FINISH_STEP &&
             r->finish != TRIM__FINISH__FINISH_END &&
             r->finish != TRIM__FINISH__FINISH_LENGTH))
            abort();
        return;
    }
    if (r->n_scores != n_steps || r->padded > n_steps ||
        (n_steps > 0 && r->scores == NULL))
        abort();
    for (size_t i = 0; i < r->n_scores; i++)
        if (!(r->scores[i] >= 0.0f && r->scores[i] <= 1.0f))
            abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    backend_result_t r;
    char err[512];
    size_t n_steps;

    if (size == 0)
        return 0;
    n_steps = (data[0] / 3) % 9;
    if (backend_parse_response(kinds[data[0] % 3], (const char *)data + 1,
                               size - 1, n_steps, &r, err, sizeof err) == 0)
        check(&r, n_steps);
    backend_result_clear(&r);
    return 0;
}
