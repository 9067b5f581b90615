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

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * sum_i w[i] * x[i] over n elements: w is a row of the weight type, x a
 * row of its partner type, both whole blocks (n a multiple of the weight
 * type's block size, which the partner's divides). Pointers need only
 * the alignment of their block struct (blocks.h); n may be 0.
 */
typedef float (*heed_vec_dot_fn)(const void *w, const void *x, int64_t n);

/*
 * A tile of dot products: y[t * y_stride + r] = dot(w + r * w_stride,
 * x + t * x_stride, n) for r < rows and t < tokens (each 1..4); faster for
 * matrix × matrix because each weight block is unpacked once for all
 * tokens and each activation block loaded once for all rows. Every
 * element is bit-identical whatever the tile's shape, but may differ in
 * rounding from the dot product, which sums in another order.
 */
typedef void (*heed_vec_tile_fn)(const void *w, size_t w_stride, const void *x, size_t x_stride,
                                 int64_t n, float *y, int64_t y_stride, int rows, int tokens);
enum { HEED_TILE_MAX = 4 };

/* Matrix × vector: y[r] = dot(w + r * w_stride, x, n) for r < rows, each
 * bit-identical to the same ISA's dot product; faster because what
 * depends only on x is prepared once for all rows. */
typedef void (*heed_vec_gemv_fn)(const void *w, size_t w_stride, int64_t rows, const void *x,
                                 int64_t n, float *y);

/* The eight 6-bit scales and mins of a q4_K / q5_K block, unpacked from
 * its 12 `scales` bytes with 32-bit word operations (the same values as
 * heed_k_scale_min, which the fast kernels cannot afford to call 8 times
 * per block). */
static inline void heed_k_scales_unpack(const uint8_t *scales, uint8_t sc[8], uint8_t mn[8])
{
    uint32_t u[3], out[4];
    memcpy(u, scales, 12);
    /* bytes 0..3: sc 0..3 (low 6 bits); 4..7: mn 0..3; 8..11: low
     * nibbles sc 4..7, high nibbles mn 4..7, whose top 2 bits are the
     * top bits of bytes 0..3 (sc) and 4..7 (mn) */
    out[0] = u[0] & 0x3f3f3f3f;
    out[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
    out[2] = u[1] & 0x3f3f3f3f;
    out[3] = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
    memcpy(sc, out, 8);
    memcpy(mn, out + 2, 8);
}

#endif
