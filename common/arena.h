/*
** arena.h: a bump allocator for short-lived objects.
**
** Memory comes from chained blocks and is released all at once by
** arena_reset, which keeps the first block for reuse.  The coordinator builds
** each outgoing batch's protobuf structs in one and resets it after sending.
*/
#ifndef TRIM_ARENA_H
#define TRIM_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

/* New arena whose blocks hold at least block_size bytes; NULL on failure. */
arena_t *arena_new(size_t block_size);

/* Free every block and the arena, and clear the pointer; NULL-safe. */
void arena_destroy(arena_t **a);

/*
** size bytes, zeroed, aligned for any type; valid until arena_reset.
** NULL on allocation failure.
*/
void *arena_alloc(arena_t *a, size_t size);

/* Release everything allocated so far. */
void arena_reset(arena_t *a);

#endif
