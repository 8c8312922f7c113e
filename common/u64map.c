/*
** u64map.c: open-addressing hash map from u64 to pointer (see u64map.h).
**
** Two invariants keep every probe loop finite and every lookup right: the
** capacity is a power of two (slots are masked, not divided), and the load
** stays at most 1/2, so a probe run always ends at an empty slot.  They are
** checked with TRIM_ASSERT where they could break (growing, putting).
*/
#include "u64map.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "trim_assert.h"

struct u64map {
    uint64_t *keys; /* 0 marks an empty slot */
    void **values;
    size_t cap; /* power of two */
    size_t size;
};


u64map_t *
u64map_new(void)
{
    u64map_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->cap = 64;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->values = calloc(m->cap, sizeof *m->values);
    if (m->keys == NULL || m->values == NULL)
        u64map_destroy(&m);
    return m;
}


void
u64map_destroy(u64map_t **m)
{
    if (m && *m) {
        free((*m)->keys);
        free((*m)->values);
        free(*m);
        *m = NULL;
    }
}


static size_t
slot_of(const u64map_t *m, uint64_t key)
{
    return (size_t)hash_mix64(key) & (m->cap - 1);
}


static int
grow(u64map_t *m)
{
    u64map_t bigger = {0};
    size_t moved = 0;

    bigger.cap = m->cap * 2;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.values = calloc(bigger.cap, sizeof *bigger.values);
    if (bigger.keys == NULL || bigger.values == NULL) {
        free(bigger.keys);
        free(bigger.values);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t s = slot_of(&bigger, m->keys[i]);
        while (bigger.keys[s] != 0)
            s = (s + 1) & (bigger.cap - 1);
        bigger.keys[s] = m->keys[i];
        bigger.values[s] = m->values[i];
        moved++;
    }
    TRIM_ASSERT(moved == m->size); /* the count matches the keys */
    free(m->keys);
    free(m->values);
    m->keys = bigger.keys;
    m->values = bigger.values;
    m->cap = bigger.cap;
    TRIM_ASSERT((m->cap & (m->cap - 1)) == 0); /* doubled: still a power */
    return 0;
}


int
u64map_put(u64map_t *m, uint64_t key, void *value)
{
    size_t s;

    if (key == 0)
        return -1;
    /* Keep the load under 1/2 so probe runs stay short. */
    if ((m->size + 1) * 2 > m->cap && grow(m) < 0)
        return -1;
    s = slot_of(m, key);
    while (m->keys[s] != 0 && m->keys[s] != key)
        s = (s + 1) & (m->cap - 1);
    if (m->keys[s] == 0)
        m->size++;
    m->keys[s] = key;
    m->values[s] = value;
    TRIM_ASSERT(m->size * 2 <= m->cap);
    return 0;
}


void *
u64map_get(const u64map_t *m, uint64_t key)
{
    size_t s;

    if (key == 0)
        return NULL;
    s = slot_of(m, key);
    while (m->keys[s] != 0) {
        if (m->keys[s] == key)
            return m->values[s];
        s = (s + 1) & (m->cap - 1);
    }
    return NULL;
}


void *
u64map_del(u64map_t *m, uint64_t key)
{
    size_t s, next;
    void *value;

    if (key == 0)
        return NULL;
    s = slot_of(m, key);
    while (m->keys[s] != key) {
        if (m->keys[s] == 0)
            return NULL;
        s = (s + 1) & (m->cap - 1);
    }
    TRIM_ASSERT(m->size > 0);
    value = m->values[s];
    /* Backward shift: pull later members of the probe run into the hole
    ** whenever the hole lies between their home slot and where they sit. */
    for (;;) {
        m->keys[s] = 0;
        m->values[s] = NULL;
        next = s;
        for (;;) {
            next = (next + 1) & (m->cap - 1);
            if (m->keys[next] == 0)
                goto done;
            size_t home = slot_of(m, m->keys[next]);
            int movable = (s <= next) ? (home <= s || home > next)
                                      : (home <= s && home > next);
            if (movable)
                break;
        }
        m->keys[s] = m->keys[next];
        m->values[s] = m->values[next];
        s = next;
    }
done:
    m->size--;
    return value;
}


int
u64map_next(const u64map_t *m, size_t *pos, uint64_t *key, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        if (m->keys[*pos] != 0) {
            *key = m->keys[*pos];
            *value = m->values[*pos];
            (*pos)++;
            return 1;
        }
    }
    return 0;
}


void
u64map_clear(u64map_t *m)
{
    memset(m->keys, 0, m->cap * sizeof *m->keys);
    memset(m->values, 0, m->cap * sizeof *m->values);
    m->size = 0;
}


size_t
u64map_size(const u64map_t *m)
{
    return m->size;
}
