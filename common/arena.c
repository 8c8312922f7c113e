/*
** arena.c: bump allocator (see arena.h).
*/
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    alignas(max_align_t) unsigned char data[];
} block_t;

struct arena {
    block_t *head; /* current block; older ones follow */
    size_t block_size;
};


static block_t *
block_new(size_t size)
{
    block_t *b = malloc(sizeof *b + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}


arena_t *
arena_new(size_t block_size)
{
    arena_t *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->block_size = block_size < 1024 ? 1024 : block_size;
    a->head = block_new(a->block_size);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    return a;
}


void
arena_destroy(arena_t **a)
{
    if (a && *a) {
        block_t *b = (*a)->head;
        while (b) {
            block_t *next = b->next;
            free(b);
            b = next;
        }
        free(*a);
        *a = NULL;
    }
}


void *
arena_alloc(arena_t *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size_t need = (size + align - 1) & ~(align - 1);
    block_t *b = a->head;

    if (b->used + need > b->size) {
        size_t bs = need > a->block_size ? need : a->block_size;
        b = block_new(bs);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    memset(p, 0, size);
    return p;
}


void
arena_reset(arena_t *a)
{
    /* Keep the oldest block (the tail), free the rest. */
    block_t *b = a->head;
    while (b->next) {
        block_t *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
}
