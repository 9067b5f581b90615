/*
 * vec_dot.h — one dot product per weight type: a row of weights (type t)
 * against a row of activations already in t's partner type (see
 * matmul.h), as llama.cpp's CPU backend (c392e50) computes it.
 *
 * The scalar references (vec_dot.c) follow llama.cpp's generic C path
 * operation for operation: integer block sums are exact, and the float
 * scaling and accumulation happen in the same order, so they give the
 * same float result. The AVX2 / AVX-512 variants (vec_dot_avx2.c,
 * vec_dot_avx512.c) compute the same integer sums exactly and accumulate
 * the scaled block sums in vector lanes (as llama.cpp's SIMD paths do),
 * so their float results differ from the reference only by rounding.
 */
#ifndef HEED_KERNELS_VEC_DOT_H
#define HEED_KERNELS_VEC_DOT_H

#include <stdint.h>

/*
 * sum_i w[i] * x[i] over n elements: w is a row of the weight type, x a
 * row of its partner type, both whole blocks (n a multiple of the weight
 * type's block size, which the partner's divides). Pointers need only
 * the alignment of their block struct (blocks.h); n may be 0.
 */
typedef float (*heed_vec_dot_fn)(const void *w, const void *x, int64_t n);

/*
 * The variant of weight type t's dot product for isa: "scalar" (the
 * reference, every supported type), "avx2", "avx512" or "avx512vnni"
 * (AVX-512 plus VNNI dot-product instructions). NULL when t has no such
 * variant, or this CPU (or HEED_ISA) does not allow isa.
 */
heed_vec_dot_fn heed_vec_dot_variant(int t, const char *isa);

/* The fastest variant of t this CPU allows (falls back to the scalar
 * reference); NULL if t has no dot product. Resolved once per type. */
heed_vec_dot_fn heed_vec_dot_get(int t);

/* The ISA-specific tables (vec_dot_avx2.c, vec_dot_avx512.c): the
 * variant for t, or NULL. They do not check the CPU; heed_vec_dot_variant
 * does. */
heed_vec_dot_fn heed_vec_dot_avx2_get(int t);
heed_vec_dot_fn heed_vec_dot_avx512_get(int t, int vnni);

#endif
