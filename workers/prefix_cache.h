/*
** prefix_cache.h: a model server's prefix cache, as the simulator models it.
**
** vLLM and SGLang keep the KV cache of recent prompts in blocks and reuse the
** blocks of a new prompt's longest cached prefix, so only the rest is
** prefilled.  trim's calls re-send a problem and its steps so far: a prompt
** is a chain of segments (the problem, then one per step), each keyed by the
** hash of the whole prompt up to and including it, so a segment is shared by
** every prompt that starts with the same text.  The cache holds segments up
** to a budget of tokens and evicts the least recently used first; within
** one prompt the later segments count as older, so a chain is cut from its
** end, as vLLM evicts a prefix's last blocks first.
*/
#ifndef TRIM_PREFIX_CACHE_H
#define TRIM_PREFIX_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct prefix_cache prefix_cache_t;

/*
** A cache holding at most capacity tokens (> 0).  NULL on allocation
** failure.
*/
prefix_cache_t *prefix_cache_new(int64_t capacity);

/* Free the cache and clear the pointer; NULL-safe. */
void prefix_cache_destroy(prefix_cache_t **c);

/*
** Serve one prompt of n segments: keys[i] identifies the prompt up to and
** including segment i (non-zero; see prefix_cache_key), tokens[i] is that
** segment's size.  Returns the tokens of the longest run of leading
** segments found in the cache (what the server need not prefill), then
** keeps every segment as the most recently used, evicting others to stay
** within the capacity (a segment larger than the whole cache is not kept;
** out of memory keeps fewer).
*/
int64_t prefix_cache_use(prefix_cache_t *c, const uint64_t *keys,
                         const int32_t *tokens, size_t n);

/* The key of the prompt prev (0 for none) extended by len bytes of text. */
uint64_t prefix_cache_key(uint64_t prev, const char *text, size_t len);

/* Tokens held now. */
int64_t prefix_cache_tokens(const prefix_cache_t *c);

#endif
