/* splitmix.h — SplitMix64, the small seeded generator heed uses wherever
 * it needs reproducible numbers (synthetic weights, training's
 * initialisation and batches, the sampler's seeding). */
#ifndef HEED_UTIL_SPLITMIX_H
#define HEED_UTIL_SPLITMIX_H

#include <stdint.h>

/* Advances *state and returns the next 64 random bits. */
static inline uint64_t heed_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

#endif
