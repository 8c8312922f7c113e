/*
** prefix_cache.c: segments of cached prompts in one LRU list (see
** prefix_cache.h).
**
** Entries live in one array linked into the LRU list by index (head: most
** recently used), with a free list through the same links; a map from key
** to index + 1 finds them.
*/
#include "prefix_cache.h"

#include <stdlib.h>

#include "hash.h"
#include "u64map.h"

typedef struct entry {
    uint64_t key;
    int32_t tokens;
    int32_t prev, next; /* LRU neighbours (or the free list's next); -1 */
    int linked;         /* in the LRU list */
} entry_t;

struct prefix_cache {
    int64_t capacity, used;
    entry_t *e;
    int32_t n, cap; /* entries made, allocated */
    int32_t head, tail, free;
    u64map_t *index; /* key -> index + 1 */
};


prefix_cache_t *
prefix_cache_new(int64_t capacity)
{
    prefix_cache_t *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->capacity = capacity;
    c->head = c->tail = c->free = -1;
    if ((c->index = u64map_new()) == NULL)
        prefix_cache_destroy(&c);
    return c;
}


void
prefix_cache_destroy(prefix_cache_t **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    u64map_destroy(&(*cp)->index);
    free((*cp)->e);
    free(*cp);
    *cp = NULL;
}


uint64_t
prefix_cache_key(uint64_t prev, const char *text, size_t len)
{
    uint64_t k = hash_combine(prev, hash_bytes(0x70726566, text, len));
    return k ? k : 1;
}


int64_t
prefix_cache_tokens(const prefix_cache_t *c)
{
    return c->used;
}


/* Take entry i out of the LRU list (it stays in the index). */
static void
unlink_entry(prefix_cache_t *c, int32_t i)
{
    entry_t *x = &c->e[i];

    if (!x->linked)
        return;
    if (x->prev >= 0)
        c->e[x->prev].next = x->next;
    else
        c->head = x->next;
    if (x->next >= 0)
        c->e[x->next].prev = x->prev;
    else
        c->tail = x->prev;
    x->linked = 0;
}


/* Make entry i, out of the list, its most recently used. */
static void
push_front(prefix_cache_t *c, int32_t i)
{
    if (c->e[i].linked)
        return;
    c->e[i].prev = -1;
    c->e[i].next = c->head;
    if (c->head >= 0)
        c->e[c->head].prev = i;
    c->head = i;
    if (c->tail < 0)
        c->tail = i;
    c->e[i].linked = 1;
}


/* The index of the entry of key, or -1. */
static int32_t
find(const prefix_cache_t *c, uint64_t key)
{
    void *v = u64map_get(c->index, key);
    return v ? (int32_t)((intptr_t)v - 1) : -1;
}


/* Drop the least recently used entry. */
static void
evict(prefix_cache_t *c)
{
    int32_t i = c->tail;

    unlink_entry(c, i);
    u64map_del(c->index, c->e[i].key);
    c->used -= c->e[i].tokens;
    c->e[i].next = c->free;
    c->free = i;
}


/* A free entry's index, or -1 (memory). */
static int32_t
new_entry(prefix_cache_t *c)
{
    int32_t i = c->free;

    if (i >= 0) {
        c->free = c->e[i].next;
        return i;
    }
    if (c->n == c->cap) {
        int32_t cap = c->cap ? c->cap * 2 : 256;
        entry_t *e = realloc(c->e, (size_t)cap * sizeof *e);
        if (e == NULL)
            return -1;
        c->e = e;
        c->cap = cap;
    }
    return c->n++;
}


/*
** Add segment (key, tokens), out of the list, evicting what is in the list
** to make room; nothing when it cannot fit (or memory runs out).
*/
static void
add(prefix_cache_t *c, uint64_t key, int32_t tokens)
{
    int32_t i;

    if (tokens > c->capacity)
        return;
    while (c->used + tokens > c->capacity && c->tail >= 0)
        evict(c);
    if (c->used + tokens > c->capacity || (i = new_entry(c)) < 0)
        return;
    if (u64map_put(c->index, key, (void *)(intptr_t)(i + 1)) < 0) {
        c->e[i].next = c->free;
        c->free = i;
        return;
    }
    c->e[i] = (entry_t){key, tokens, -1, -1, 0};
    c->used += tokens;
}


int64_t
prefix_cache_use(prefix_cache_t *c, const uint64_t *keys, const int32_t *tokens,
                 size_t n)
{
    int64_t hit = 0;
    int missed = 0;
    size_t i;

    /* The cached leading run counts; every cached segment of the prompt
    ** leaves the list, so that making room never evicts the prompt's own. */
    for (i = 0; i < n; i++) {
        int32_t e = find(c, keys[i]);
        if (e < 0) {
            missed = 1;
            continue;
        }
        if (!missed)
            hit += tokens[i];
        unlink_entry(c, e);
    }
    for (i = 0; i < n; i++)
        if (find(c, keys[i]) < 0)
            add(c, keys[i], tokens[i]);
    /* Back at the front, last segment first: the first ends up the most
    ** recently used, and a chain is evicted from its end. */
    for (i = n; i-- > 0;) {
        int32_t e = find(c, keys[i]);
        if (e >= 0)
            push_front(c, e);
    }
    return hit;
}
