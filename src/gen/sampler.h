/*
 * sampler.h — internals of the sampler chain (src/gen/sampler.c) that the
 * tests reach; the public API is in heed.h.
 */
#ifndef HEED_GEN_SAMPLER_H
#define HEED_GEN_SAMPLER_H

#include "heed.h"

#include <stdint.h>

/* ---------------------------------------------------- internal (tests) */

/*
 * Not public API: the chain's intermediate results, for the tests (and,
 * later, the inspector). Both read logits[0..n_vocab) and change no state
 * but the sampler's scratch.
 */

/* out[i] = logits[i] after the repetition, frequency and presence
 * penalties of the current history (NaN becomes -infinity). */
void heed_sampler_penalize(const heed_sampler *s, const float *logits, float *out);

/* One candidate that survived the filters. */
typedef struct heed_sampler_cand {
    int32_t id;
    float logit;  /* after the penalties, before the temperature */
    float p;      /* the probability the draw gives it (sums to ~1; 0
                     only where the temperature underflows it)     */
} heed_sampler_cand;

/*
 * Runs the chain up to the draw: penalties, top-k, top-p, min-p,
 * temperature, softmax. Returns the number of survivors (>= 1) and points
 * *out at them, in no promised order; the array belongs to s and is
 * valid until the next call on s. Greedy leaves the argmax alone with
 * p = 1.
 */
int32_t heed_sampler_candidates(heed_sampler *s, const float *logits,
                                const heed_sampler_cand **out);

#endif
