/*
** faults.c: which request gets which injected fault (see
** server_internal.h).
**
** Each kind is drawn on its own, keyed by (seed, request number, kind), so
** its rate is the configured probability whatever the other rates are;
** when several hit one request the first of drop, 500, 429, malformed,
** truncate wins.  slow adds its delay to any of them.
*/
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "server_internal.h"

enum { K_DROP = 1, K_500, K_429, K_MALFORMED, K_TRUNCATE, K_SLOW };

/* The body of a malformed reply: what a confused proxy might send. */
static const char malformed_body[] =
    "<html><body><h1>upstream hiccup</h1>not JSON</body></html>\n";


static int
hit(const sim_server_faults_t *f, uint64_t n, int kind, double p)
{
    if (p <= 0)
        return 0;
    rng_t r =
        rng_seeded(hash_combine(hash_combine(f->seed, n), (uint64_t)kind));
    return rng_uniform(&r) < p;
}


fault_t
fault_pick(const sim_server_faults_t *f, uint64_t n)
{
    fault_t x = {0};

    x.slow = hit(f, n, K_SLOW, f->slow);
    if ((x.drop = hit(f, n, K_DROP, f->drop)))
        return x;
    if ((x.fail_500 = hit(f, n, K_500, f->fail_500)))
        return x;
    if ((x.fail_429 = hit(f, n, K_429, f->fail_429)))
        return x;
    if ((x.malformed = hit(f, n, K_MALFORMED, f->malformed)))
        return x;
    x.truncate = hit(f, n, K_TRUNCATE, f->truncate);
    return x;
}


void
fault_mangle(reply_t *r, const fault_t *f)
{
    if (f->malformed) {
        char *b = strdup(malformed_body);
        if (b != NULL) {
            reply_clear(r);
            r->body = b;
            r->len = strlen(b);
        }
    } else if (f->truncate && r->len > 0) {
        r->len /= 2; /* the body is sent with this length */
    }
}
