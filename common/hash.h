/*
** hash.h: small deterministic hashes and a counter-based random generator.
**
** Everything random in trim (simulated models, stochastic policies, problem
** generation) draws from these, keyed by what the result must depend on, so a
** run is reproducible across processes and thread interleavings.
*/
#ifndef TRIM_HASH_H
#define TRIM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SplitMix64 finaliser: a bijective 64-bit mix. */
static inline uint64_t
hash_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Combine a running hash with one more 64-bit value. */
static inline uint64_t
hash_combine(uint64_t h, uint64_t v)
{
    return hash_mix64(h ^ hash_mix64(v));
}

/*
** Hash of a byte string, eight bytes a round, then mixed; seed
** distinguishes uses.  Words are read in the machine's byte order (every
** platform trim targets is little-endian).
*/
static inline uint64_t
hash_bytes(uint64_t seed, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed ^ (len * 0x9e3779b97f4a7c15ULL);
    uint64_t w;

    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h ^= w * 0xbf58476d1ce4e5b9ULL;
        h = ((h << 31) | (h >> 33)) * 0x94d049bb133111ebULL;
    }
    w = 0;
    memcpy(&w, p, len);
    h ^= w * 0xbf58476d1ce4e5b9ULL;
    return hash_mix64(h);
}

/* A tiny generator: state advances by the golden ratio, output is mixed. */
typedef struct {
    uint64_t state;
} rng_t;

static inline rng_t
rng_seeded(uint64_t seed)
{
    rng_t r = {hash_mix64(seed)};
    return r;
}

static inline uint64_t
rng_next(rng_t *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static inline double
rng_uniform(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n); n > 0. */
static inline uint64_t
rng_below(rng_t *r, uint64_t n)
{
    return (uint64_t)(rng_uniform(r) * (double)n);
}

#endif
