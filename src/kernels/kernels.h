/*
 * kernels.h — vector kernels with one scalar reference and fast variants
 * chosen at run time (see cpu.c). Every variant computes the same thing;
 * tests/test_kernels.c checks each against the reference.
 */
#ifndef HEED_KERNELS_H
#define HEED_KERNELS_H

#include <stdint.h>

/* sum_i x[i]*y[i] over n floats (any n >= 0), accumulated in float. */
float heed_dot_f32(const float *x, const float *y, int64_t n);
/* The reference and each variant, for tests; NULL if this CPU lacks it. */
typedef float (*heed_dot_f32_fn)(const float *x, const float *y, int64_t n);
heed_dot_f32_fn heed_dot_f32_variant(const char *isa);

/* dst[i] = f32(src[i]) for n half floats. */
void heed_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
typedef void (*heed_f16_row_fn)(const uint16_t *src, float *dst, int64_t n);
heed_f16_row_fn heed_f16_to_f32_row_variant(const char *isa);

#endif
