/*
** stub.c: placeholder bodies of prices.h and roi.h until they are written.
*/
#include <math.h>
#include <stdlib.h>

#include "errf.h"
#include "prices.h"
#include "roi.h"

const char *
cost_role_name(int role)
{
    static const char *const names[COST_ROLES] = {"weak", "strong", "prm"};
    return role >= 0 && role < COST_ROLES ? names[role] : "?";
}

prices_t *
prices_parse(const char *json_text, const char *where, char *err, size_t errlen)
{
    (void)json_text;
    errf(err, errlen, "%s: price books are not implemented yet", where);
    return NULL;
}

prices_t *
prices_load(const char *path, char *err, size_t errlen)
{
    return prices_parse("", path, err, errlen);
}

void
prices_destroy(prices_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->source);
    free(*p);
    *p = NULL;
}
