/*
** u64map.h: a hash map from non-zero 64-bit keys to pointers.
**
** Open addressing with linear probing and backward-shift deletion, so
** lookups stay short without tombstones.  Used for problem ids and peer
** identities on the coordinator's hot path.
*/
#ifndef TRIM_U64MAP_H
#define TRIM_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64map u64map_t;

/* New empty map; NULL on allocation failure. */
u64map_t *u64map_new(void);

/* Free the map (not the values) and clear the pointer; NULL-safe. */
void u64map_destroy(u64map_t **m);

/*
** Set key (non-zero) to value, replacing any previous value.  Returns 0, or
** -1 on allocation failure or key 0.
*/
int u64map_put(u64map_t *m, uint64_t key, void *value);

/* The value for key, or NULL. */
void *u64map_get(const u64map_t *m, uint64_t key);

/* Remove key; returns its value, or NULL if it was absent. */
void *u64map_del(u64map_t *m, uint64_t key);

/*
** Iterate: start with *pos = 0; each call returns 1 with the next entry in
** *key and *value, or 0 when done.  The map must not change meanwhile.
*/
int u64map_next(const u64map_t *m, size_t *pos, uint64_t *key, void **value);

/* Remove every key, keeping the capacity (no allocation). */
void u64map_clear(u64map_t *m);

/* Number of keys. */
size_t u64map_size(const u64map_t *m);

#endif
