/*
** fuzz_policy_file.c: a TRIM-Agg policy file (router/agg.h), as `trim
** router --policy agg:FILE` loads it.
**
** When the first byte is odd, the rest gets a correct checksum line
** appended, so the fuzzer reaches the parser behind the checksum.
*/
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agg_model_t *m = NULL;
    char err[256], *buf;
    size_t len;

    if (size == 0)
        return 0;
    len = size - 1;
    if ((buf = malloc(len + 40)) == NULL)
        abort();
    memcpy(buf, data + 1, len);
    if (data[0] & 1) {
        if (len == 0 || buf[len - 1] != '\n')
            buf[len++] = '\n';
        len += (size_t)snprintf(buf + len, 40, "checksum %016" PRIx64 "\n",
                                agg_file_checksum(buf, len));
    }
    if (agg_model_load(fuzz_file((const uint8_t *)buf, len), &m, err,
                       sizeof err) == 0) {
        float x[AGG_FEATURES] = {0.5f, 0.25f, 0.75f, 0.1f, 0.2f};
        agg_prob(agg_logit(m, x), 0.0f);
    }
    agg_model_destroy(&m);
    free(buf);
    return 0;
}
