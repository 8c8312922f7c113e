/*
** cache.c: problem texts already read, for a caller that asks about the same
** problems again and again.
**
** A worker is asked about each problem once a step, and every simulated call
** reads the whole problem text back into its operations (parse.c), which was
** the largest part of a simulated call.  The cache keeps what a text read
** into, keyed by the problem hash every call computes anyway, and checks the
** whole text byte for byte before it trusts an entry, so a hit gives exactly
** what parsing would have: the spans are rebased onto the caller's text.
** Four ways a set, the most recently used first: problems in flight are
** asked about in turn, so one slot a problem (direct-mapped) lost the ones
** that shared it on every turn.  Memory is bounded by the slots; texts that
** are not simulated problems are not kept.
*/
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

typedef struct entry {
    uint64_t hash;
    size_t len;
    char *text; /* a copy of the problem, the spans below point into it */
    sim_span_t name, object;
    int gender;
    int64_t initial;
    int n_ops;
    sim_op_t ops[]; /* n_ops of them, then the text */
} entry_t;

#define WAYS 4

struct sim_cache {
    entry_t **slots; /* sets of WAYS, the most recently used first */
    size_t n;        /* slots */
    size_t mask;     /* sets - 1, sets a power of two */
};


sim_cache_t *
sim_cache_new(size_t slots)
{
    sim_cache_t *c = calloc(1, sizeof *c);
    size_t sets = 1;

    if (c == NULL)
        return NULL;
    while (sets * WAYS < slots && sets < ((size_t)1 << 28))
        sets <<= 1;
    c->n = sets * WAYS;
    c->slots = calloc(c->n, sizeof *c->slots);
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    c->mask = sets - 1;
    return c;
}


void
sim_cache_destroy(sim_cache_t **cp)
{
    sim_cache_t *c;

    if (cp == NULL || *cp == NULL)
        return;
    c = *cp;
    for (size_t i = 0; i < c->n; i++)
        free(c->slots[i]);
    free(c->slots);
    free(c);
    *cp = NULL;
}


static sim_span_t
rebase(sim_span_t s, const char *from, const char *to)
{
    return (sim_span_t){to + (s.s - from), s.n};
}


/* Keep what text (len bytes, hash h) read into, first in its set, in place
** of the least recently used; on no memory, keep nothing. */
static void
keep(sim_cache_t *c, const char *text, size_t len, uint64_t h,
     const sim_text_t *t)
{
    size_t ops = (size_t)t->n_ops * sizeof t->ops[0];
    entry_t *e = malloc(sizeof *e + ops + len + 1);
    entry_t **set = &c->slots[(h & c->mask) * WAYS];

    if (e == NULL)
        return;
    e->hash = h;
    e->len = len;
    e->text = (char *)e->ops + ops;
    memcpy(e->text, text, len + 1);
    e->name = rebase(t->name, text, e->text);
    e->object = rebase(t->object, text, e->text);
    e->gender = t->gender;
    e->initial = t->initial;
    e->n_ops = t->n_ops;
    for (int i = 0; i < t->n_ops; i++) {
        e->ops[i] = t->ops[i];
        e->ops[i].clause = rebase(t->ops[i].clause, text, e->text);
    }
    free(set[WAYS - 1]);
    memmove(set + 1, set, (WAYS - 1) * sizeof *set);
    set[0] = e;
}


/* The entry kept for text (len bytes, hash h), moved first in its set, or
** NULL. */
static entry_t *
find(sim_cache_t *c, const char *text, size_t len, uint64_t h)
{
    entry_t **set = &c->slots[(h & c->mask) * WAYS];

    for (int i = 0; i < WAYS && set[i] != NULL; i++) {
        entry_t *e = set[i];
        if (e->hash != h || e->len != len || memcmp(e->text, text, len) != 0)
            continue;
        memmove(set + 1, set, (size_t)i * sizeof *set);
        set[0] = e;
        return e;
    }
    return NULL;
}


int
sim_cache_read(sim_cache_t *c, const char *problem, sim_text_t *t, size_t *plen,
               uint64_t *hp, char *err, size_t errlen)
{
    entry_t *e;

    if (problem == NULL)
        return sim_text_parse(problem, t, err, errlen); /* says why */
    *plen = strlen(problem);
    *hp = sim_problem_hash(problem, *plen);
    e = c ? find(c, problem, *plen, *hp) : NULL;
    if (e != NULL) {
        t->name = rebase(e->name, e->text, problem);
        t->object = rebase(e->object, e->text, problem);
        t->gender = e->gender;
        t->initial = e->initial;
        t->n_ops = e->n_ops;
        for (int i = 0; i < e->n_ops; i++) {
            t->ops[i] = e->ops[i];
            t->ops[i].clause = rebase(e->ops[i].clause, e->text, problem);
        }
        return 0;
    }
    if (sim_text_parse(problem, t, err, errlen) < 0)
        return -1;
    if (c != NULL)
        keep(c, problem, *plen, *hp, t);
    return 0;
}
