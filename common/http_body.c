#include "http_body.h"

#include <stdlib.h>
#include <string.h>


int
http_body_append(char **body, size_t *len, size_t *cap, const char *data,
                 size_t n, size_t max)
{
    if (*len + n > max)
        goto fail;
    if (*len + n + 1 > *cap) {
        size_t grown = *cap ? *cap : 4096;
        while (grown < *len + n + 1)
            grown *= 2;
        char *b = realloc(*body, grown);
        if (b == NULL)
            goto fail;
        *body = b;
        *cap = grown;
    }
    memcpy(*body + *len, data, n);
    *len += n;
    (*body)[*len] = '\0';
    return 0;
fail:
    free(*body);
    *body = NULL;
    *len = *cap = 0;
    return -1;
}
