/*
 * kernels.h — vector kernels with one scalar reference and fast variants
 * chosen at run time (see cpu.c). Every variant computes the same thing;
 * tests/test_kernels.c checks each against the reference.
 */
#ifndef HEED_KERNELS_H
#define HEED_KERNELS_H

#include <stdint.h>

#include "heed.h"

/* The instruction sets kernels are written for, each a superset of the
 * one before; AVX512_VNNI adds the int8 dot-product instructions. */
typedef enum heed_isa {
    HEED_ISA_SCALAR,
    HEED_ISA_AVX2,
    HEED_ISA_AVX512,
    HEED_ISA_AVX512_VNNI,
    HEED_ISA_COUNT
} heed_isa;

/* The best ISA this CPU has, lowered by HEED_ISA=scalar|avx2|avx512. A
 * kernel variant for an ISA above it must not run. */
heed_isa heed_isa_best(void);
/* "scalar", "avx2", "avx512", "avx512vnni" (test messages). */
const char *heed_isa_name(heed_isa isa);

/* sum_i x[i]*y[i] over n floats (any n >= 0), accumulated in float. */
float heed_dot_f32(const float *x, const float *y, int64_t n);
/* The variant written for isa, or the best below it that exists (tests);
 * NULL if this CPU lacks isa. The other _variant functions work alike. */
typedef float (*heed_dot_f32_fn)(const float *x, const float *y, int64_t n);
heed_dot_f32_fn heed_dot_f32_variant(heed_isa isa);

/* dst[i] = f32(src[i]) for n half floats. */
void heed_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
typedef void (*heed_f16_row_fn)(const uint16_t *src, float *dst, int64_t n);
heed_f16_row_fn heed_f16_to_f32_row_variant(heed_isa isa);

/* dst[j·d + i] = element i of KV cache row j, for j < n and i < d (row j
 * at src + j·row_bytes): f16, bf16 or q8_0 rows to floats, exactly. */
typedef void (*heed_kv_rows_fn)(const void *src, int64_t row_bytes, int n, int d, float *dst);

/* Keys in one block of the tiled attention operator. */
enum { HEED_ATTN_BK = 64 };

/* The inner loops of the tiled attention operator (attn_rows.c). */
typedef struct heed_attn_rows {
    /* s[r·s_stride + j] = scale · q_r·k_j for r < rows, j < n <= HEED_ATTN_BK
     * (query r at q + r·d; key j at k + j·k_stride); tmp holds
     * HEED_ATTN_BK·d floats. Each score is the same whatever rows and n. */
    void (*qk)(const float *q, int rows, const float *k, int64_t k_stride, int n, int d,
               float scale, float *s, int64_t s_stride, float *tmp);
    /* the largest of x[0..n), -inf for n = 0 */
    float (*max)(const float *x, int n);
    /* x[j] = exp(x[j] - max) (exactly 0 for -inf); returns their sum */
    float (*exp_sum)(float *x, int n, float max);
    /* o_r += Σ_j p[r·p_stride + j] · v_j for r < rows, j < n; rows of d */
    void (*pv)(float *o, int64_t o_stride, const float *p, int64_t p_stride, int rows,
               const float *v, int64_t v_stride, int n, int d);
    heed_kv_rows_fn f16_rows, bf16_rows, q8_0_rows;
} heed_attn_rows;

/* The converter of kr for cache rows of type t; NULL for f32 (read as
 * they are) and for types a cache cannot have. */
static inline heed_kv_rows_fn heed_attn_kv_rows(const heed_attn_rows *kr, heed_type t)
{
    return t == HEED_TYPE_F16    ? kr->f16_rows
           : t == HEED_TYPE_BF16 ? kr->bf16_rows
           : t == HEED_TYPE_Q8_0 ? kr->q8_0_rows
                                 : NULL;
}

const heed_attn_rows *heed_attn_rows_get(void);
const heed_attn_rows *heed_attn_rows_variant(heed_isa isa); /* tests */

#endif
