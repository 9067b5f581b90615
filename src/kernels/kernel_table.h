/*
 * kernel_table.h — what every weight type computes with on every ISA:
 * one table (kernel_table.c) indexed by type and ISA, and the names of
 * the kernels it lists. A new type or kernel is a row or a cell there,
 * and a definition in the file of its ISA; nothing else switches on it.
 *
 * Per type: the row-major matmul's activation ("partner") type and the
 * converter that makes it (matmul.h). Per type and ISA, what runs on a
 * CPU of that level (a cell may name a lower ISA's kernel):
 *   dot     one weight row · one activation row (vec_dot.h)
 *   gemv    matrix × vector, bit-identical to the cell's dot
 *   tile    up to 4 rows × 4 tokens of dots (matrix × matrix)
 *   packed  the repacked layout's activation quantiser and row kernel
 *           (packed.h; its scalar reference is heed_packed_reference)
 * NULL: none at that level (the matmul then uses the dot).
 */
#ifndef HEED_KERNELS_KERNEL_TABLE_H
#define HEED_KERNELS_KERNEL_TABLE_H

#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "kernels/vec_dot.h"

typedef struct heed_isa_kernels {
    heed_vec_dot_fn dot;
    heed_vec_gemv_fn gemv;
    heed_vec_tile_fn tile;
    const heed_packed_kernels *packed;
} heed_isa_kernels;

typedef struct heed_type_kernels {
    int act_type; /* the partner type; 0 (f32) also for a type without row */
    void (*act)(const float *x, void *dst, int64_t n); /* one row of it */
    heed_isa_kernels isa[HEED_ISA_COUNT];
} heed_type_kernels;

/* t's row of the table, or NULL when heed cannot multiply by t. */
const heed_type_kernels *heed_kernels_row(int t);

/* t's cell for the best ISA this CPU allows: what the matmul runs.
 * Never NULL (all kernels NULL for a type heed cannot multiply by). */
const heed_isa_kernels *heed_kernels_get(int t);

/* t's cell for isa (tests run each against the scalar reference); all
 * NULL when this CPU (or HEED_ISA) does not allow isa. */
heed_isa_kernels heed_kernels_variant(int t, heed_isa isa);

/* ------------------------------------------- the kernels, by ISA file */

/* Named across files for the table only: not exported from libheed.so. */
#define HEED_KERNEL __attribute__((visibility("hidden")))
#define HEED_DOT(name) HEED_KERNEL float name(const void *w, const void *x, int64_t n)
#define HEED_GEMV(name)                                                                       \
    HEED_KERNEL void name(const void *w, size_t w_stride, int64_t rows, const void *x,        \
                          int64_t n, float *y)
#define HEED_TILE(name)                                                                       \
    HEED_KERNEL void name(const void *w, size_t w_stride, const void *x, size_t x_stride,     \
                          int64_t n, float *y, int64_t y_stride, int rows, int tokens)

/* vec_dot.c: the references */
HEED_DOT(heed_dot_f32_scalar);
HEED_DOT(heed_dot_f16_scalar);
HEED_DOT(heed_dot_bf16_scalar);
HEED_DOT(heed_dot_q4_0_scalar);
HEED_DOT(heed_dot_iq4_nl_scalar);
HEED_DOT(heed_dot_iq4_xs_scalar);
HEED_DOT(heed_dot_mxfp4_scalar);
HEED_DOT(heed_dot_iq2_xxs_scalar);
HEED_DOT(heed_dot_iq2_xs_scalar);
HEED_DOT(heed_dot_iq2_s_scalar);
HEED_DOT(heed_dot_iq3_xxs_scalar);
HEED_DOT(heed_dot_iq3_s_scalar);
HEED_DOT(heed_dot_iq1_s_scalar);
HEED_DOT(heed_dot_iq1_m_scalar);
HEED_DOT(heed_dot_tq1_0_scalar);
HEED_DOT(heed_dot_tq2_0_scalar);
HEED_DOT(heed_dot_q4_1_scalar);
HEED_DOT(heed_dot_q5_0_scalar);
HEED_DOT(heed_dot_q5_1_scalar);
HEED_DOT(heed_dot_q8_0_scalar);
HEED_DOT(heed_dot_q2_K_scalar);
HEED_DOT(heed_dot_q3_K_scalar);
HEED_DOT(heed_dot_q4_K_scalar);
HEED_DOT(heed_dot_q5_K_scalar);
HEED_DOT(heed_dot_q6_K_scalar);

#if defined(__x86_64__)
/* vec_dot_avx2.c (q8_0, q4_0, q5_0 from vec_dot_x86_legacy.h) */
HEED_DOT(heed_dot_f32_avx2);
HEED_DOT(heed_dot_f16_avx2);
HEED_DOT(heed_dot_bf16_avx2);
HEED_DOT(heed_dot_q4_0_avx2);
HEED_DOT(heed_dot_q4_1_avx2);
HEED_DOT(heed_dot_q5_0_avx2);
HEED_DOT(heed_dot_q5_1_avx2);
HEED_DOT(heed_dot_q8_0_avx2);
HEED_DOT(heed_dot_q2_K_avx2);
HEED_DOT(heed_dot_q3_K_avx2);
HEED_DOT(heed_dot_q4_K_avx2);
HEED_DOT(heed_dot_q5_K_avx2);
HEED_DOT(heed_dot_q6_K_avx2);
HEED_GEMV(heed_gemv_q4_0_avx2);
HEED_GEMV(heed_gemv_q8_0_avx2);
HEED_TILE(heed_tile_q4_0_avx2);
HEED_TILE(heed_tile_q4_1_avx2);
HEED_TILE(heed_tile_q5_0_avx2);
HEED_TILE(heed_tile_q5_1_avx2);
HEED_TILE(heed_tile_q8_0_avx2);

/* vec_dot_iq_avx2.c: the read-only types */
HEED_DOT(heed_dot_iq4_nl_avx2);
HEED_DOT(heed_dot_iq4_xs_avx2);
HEED_DOT(heed_dot_mxfp4_avx2);
HEED_DOT(heed_dot_iq2_xxs_avx2);
HEED_DOT(heed_dot_iq2_xs_avx2);
HEED_DOT(heed_dot_iq2_s_avx2);
HEED_DOT(heed_dot_iq3_xxs_avx2);
HEED_DOT(heed_dot_iq3_s_avx2);
HEED_DOT(heed_dot_iq1_s_avx2);
HEED_DOT(heed_dot_iq1_m_avx2);
HEED_DOT(heed_dot_tq1_0_avx2);
HEED_DOT(heed_dot_tq2_0_avx2);
HEED_TILE(heed_tile_iq4_xs_avx2);
HEED_TILE(heed_tile_iq2_xxs_avx2);
HEED_TILE(heed_tile_iq2_xs_avx2);
HEED_TILE(heed_tile_iq2_s_avx2);
HEED_TILE(heed_tile_iq3_xxs_avx2);
HEED_TILE(heed_tile_iq3_s_avx2);
HEED_TILE(heed_tile_iq1_s_avx2);
HEED_TILE(heed_tile_iq1_m_avx2);
HEED_TILE(heed_tile_tq2_0_avx2);

/* vec_dot_avx512.c (k-quants from vec_dot_avx512_q.h, built with and
 * without VNNI; q8_0, q4_0, q5_0 from vec_dot_x86_legacy.h with VNNI) */
HEED_DOT(heed_dot_f32_avx512);
HEED_DOT(heed_dot_f16_avx512);
HEED_DOT(heed_dot_bf16_avx512);
HEED_DOT(heed_dot_q4_K_avx512);
HEED_DOT(heed_dot_q5_K_avx512);
HEED_DOT(heed_dot_q6_K_avx512);
HEED_TILE(heed_tile_f32_avx512);
HEED_TILE(heed_tile_f16_avx512);
HEED_TILE(heed_tile_q4_K_avx512);
HEED_TILE(heed_tile_q5_K_avx512);
HEED_TILE(heed_tile_q6_K_avx512);
HEED_DOT(heed_dot_q4_0_vnni);
HEED_DOT(heed_dot_q8_0_vnni);
HEED_DOT(heed_dot_q4_K_vnni);
HEED_DOT(heed_dot_q5_K_vnni);
HEED_DOT(heed_dot_q6_K_vnni);
HEED_GEMV(heed_gemv_q4_0_vnni);
HEED_GEMV(heed_gemv_q8_0_vnni);
HEED_TILE(heed_tile_q4_0_vnni);
HEED_TILE(heed_tile_q5_0_vnni);
HEED_TILE(heed_tile_q8_0_vnni);
HEED_TILE(heed_tile_q4_K_vnni);
HEED_TILE(heed_tile_q5_K_vnni);
HEED_TILE(heed_tile_q6_K_vnni);

/* packed_avx512.c */
HEED_KERNEL extern const heed_packed_kernels heed_packed_q4_0_vnni, heed_packed_q4_1_vnni,
    heed_packed_q5_0_vnni, heed_packed_q5_1_vnni, heed_packed_q8_0_vnni, heed_packed_q2_K_vnni,
    heed_packed_q3_K_vnni, heed_packed_q4_K_vnni, heed_packed_q5_K_vnni, heed_packed_q6_K_vnni,
    heed_packed_f16_vnni, heed_packed_bf16_vnni;
#endif

#undef HEED_KERNEL
#undef HEED_DOT
#undef HEED_GEMV
#undef HEED_TILE

#endif
