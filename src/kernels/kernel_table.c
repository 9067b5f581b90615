/*
 * kernel_table.c — every weight type's kernels on every ISA, on one
 * screen (kernel_table.h says what a cell is). Each column is what a CPU
 * of that level runs: it repeats a lower level's kernel where nothing
 * faster exists, so the matmul takes one cell and asks nothing else.
 *
 * Partner types and converters are llama.cpp's (c392e50) type_traits_cpu
 * vec_dot_type and from_float as its x86 build runs them: f16/bf16 round
 * to nearest even (F16C), Q8_0/Q8_1 with the AVX rounding (matmul.h),
 * Q8_K with the reference quantiser (the x86 backend's own).
 */
#include "kernels/kernel_table.h"

#include <stddef.h>

#include "heed.h"
#include "kernels/matmul.h"
#include "tensor/quant.h"

/* An x86 cell: empty where the build is not for x86-64 (no such kernels). */
#if defined(__x86_64__)
#define X86(...) __VA_ARGS__
#else
#define X86(...) {0}
#endif

/* A cell: its dot, then its gemv, tile and packed kernels where the level
 * has them, the rest NULL (named, so no field is left to position). */
#define K(...) K_(__VA_ARGS__, NULL, NULL, NULL, NULL)
#define K_(dot_, gemv_, tile_, packed_, ...) \
    {.dot = dot_, .gemv = gemv_, .tile = tile_, .packed = packed_}

enum { S = HEED_ISA_SCALAR, A2 = HEED_ISA_AVX2, A5 = HEED_ISA_AVX512, VN = HEED_ISA_AVX512_VNNI };

/* clang-format off */
static const heed_type_kernels table[HEED_TYPE_COUNT] = {
    /*           partner          converter                 dot  gemv  tile  packed */
    [HEED_TYPE_F32] = {HEED_TYPE_F32, heed_quantize_f32, {
        [S]  = K(heed_dot_f32_scalar),
        [A2] = X86(K(heed_dot_f32_avx2)),
        [A5] = X86(K(heed_dot_f32_avx512, NULL, heed_tile_f32_avx512)),
        [VN] = X86(K(heed_dot_f32_avx512, NULL, heed_tile_f32_avx512))}},
    [HEED_TYPE_F16] = {HEED_TYPE_F16, heed_quantize_f16, {
        [S]  = K(heed_dot_f16_scalar),
        [A2] = X86(K(heed_dot_f16_avx2)),
        [A5] = X86(K(heed_dot_f16_avx512, NULL, heed_tile_f16_avx512)),
        [VN] = X86(K(heed_dot_f16_avx512, NULL, heed_tile_f16_avx512, &heed_packed_f16_vnni))}},
    [HEED_TYPE_BF16] = {HEED_TYPE_BF16, heed_quantize_bf16, {
        [S]  = K(heed_dot_bf16_scalar),
        [A2] = X86(K(heed_dot_bf16_avx2)),
        [A5] = X86(K(heed_dot_bf16_avx512)),
        [VN] = X86(K(heed_dot_bf16_avx512, NULL, NULL, &heed_packed_bf16_vnni))}},
    [HEED_TYPE_Q4_0] = {HEED_TYPE_Q8_0, heed_quantize_act_q8_0, {
        [S]  = K(heed_dot_q4_0_scalar),
        [A2] = X86(K(heed_dot_q4_0_avx2, heed_gemv_q4_0_avx2, heed_tile_q4_0_avx2)),
        [A5] = X86(K(heed_dot_q4_0_avx2, heed_gemv_q4_0_avx2, heed_tile_q4_0_avx2)),
        [VN] = X86(K(heed_dot_q4_0_vnni, heed_gemv_q4_0_vnni, heed_tile_q4_0_vnni,
                    &heed_packed_q4_0_vnni))}},
    /* the codebook, grid and ternary types: the AVX2 dot on every x86 level */
    [HEED_TYPE_IQ4_NL] = {HEED_TYPE_Q8_0, heed_quantize_act_q8_0, {
        [S] = K(heed_dot_iq4_nl_scalar), [A2] = X86(K(heed_dot_iq4_nl_avx2)),
        [A5] = X86(K(heed_dot_iq4_nl_avx2)), [VN] = X86(K(heed_dot_iq4_nl_avx2))}},
    [HEED_TYPE_MXFP4] = {HEED_TYPE_Q8_0, heed_quantize_act_q8_0, {
        [S] = K(heed_dot_mxfp4_scalar), [A2] = X86(K(heed_dot_mxfp4_avx2)),
        [A5] = X86(K(heed_dot_mxfp4_avx2)), [VN] = X86(K(heed_dot_mxfp4_avx2))}},
    [HEED_TYPE_IQ4_XS] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq4_xs_scalar),
        [A2] = X86(K(heed_dot_iq4_xs_avx2, NULL, heed_tile_iq4_xs_avx2)),
        [A5] = X86(K(heed_dot_iq4_xs_avx2, NULL, heed_tile_iq4_xs_avx2)),
        [VN] = X86(K(heed_dot_iq4_xs_avx2, NULL, heed_tile_iq4_xs_avx2))}},
    [HEED_TYPE_IQ2_XXS] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq2_xxs_scalar),
        [A2] = X86(K(heed_dot_iq2_xxs_avx2, NULL, heed_tile_iq2_xxs_avx2)),
        [A5] = X86(K(heed_dot_iq2_xxs_avx2, NULL, heed_tile_iq2_xxs_avx2)),
        [VN] = X86(K(heed_dot_iq2_xxs_avx2, NULL, heed_tile_iq2_xxs_avx2))}},
    [HEED_TYPE_IQ2_XS] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq2_xs_scalar),
        [A2] = X86(K(heed_dot_iq2_xs_avx2, NULL, heed_tile_iq2_xs_avx2)),
        [A5] = X86(K(heed_dot_iq2_xs_avx2, NULL, heed_tile_iq2_xs_avx2)),
        [VN] = X86(K(heed_dot_iq2_xs_avx2, NULL, heed_tile_iq2_xs_avx2))}},
    [HEED_TYPE_IQ2_S] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq2_s_scalar),
        [A2] = X86(K(heed_dot_iq2_s_avx2, NULL, heed_tile_iq2_s_avx2)),
        [A5] = X86(K(heed_dot_iq2_s_avx2, NULL, heed_tile_iq2_s_avx2)),
        [VN] = X86(K(heed_dot_iq2_s_avx2, NULL, heed_tile_iq2_s_avx2))}},
    [HEED_TYPE_IQ3_XXS] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq3_xxs_scalar),
        [A2] = X86(K(heed_dot_iq3_xxs_avx2, NULL, heed_tile_iq3_xxs_avx2)),
        [A5] = X86(K(heed_dot_iq3_xxs_avx2, NULL, heed_tile_iq3_xxs_avx2)),
        [VN] = X86(K(heed_dot_iq3_xxs_avx2, NULL, heed_tile_iq3_xxs_avx2))}},
    [HEED_TYPE_IQ3_S] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq3_s_scalar),
        [A2] = X86(K(heed_dot_iq3_s_avx2, NULL, heed_tile_iq3_s_avx2)),
        [A5] = X86(K(heed_dot_iq3_s_avx2, NULL, heed_tile_iq3_s_avx2)),
        [VN] = X86(K(heed_dot_iq3_s_avx2, NULL, heed_tile_iq3_s_avx2))}},
    [HEED_TYPE_IQ1_S] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq1_s_scalar),
        [A2] = X86(K(heed_dot_iq1_s_avx2, NULL, heed_tile_iq1_s_avx2)),
        [A5] = X86(K(heed_dot_iq1_s_avx2, NULL, heed_tile_iq1_s_avx2)),
        [VN] = X86(K(heed_dot_iq1_s_avx2, NULL, heed_tile_iq1_s_avx2))}},
    [HEED_TYPE_IQ1_M] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_iq1_m_scalar),
        [A2] = X86(K(heed_dot_iq1_m_avx2, NULL, heed_tile_iq1_m_avx2)),
        [A5] = X86(K(heed_dot_iq1_m_avx2, NULL, heed_tile_iq1_m_avx2)),
        [VN] = X86(K(heed_dot_iq1_m_avx2, NULL, heed_tile_iq1_m_avx2))}},
    [HEED_TYPE_TQ1_0] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_tq1_0_scalar), [A2] = X86(K(heed_dot_tq1_0_avx2)),
        [A5] = X86(K(heed_dot_tq1_0_avx2)), [VN] = X86(K(heed_dot_tq1_0_avx2))}},
    [HEED_TYPE_TQ2_0] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S] = K(heed_dot_tq2_0_scalar),
        [A2] = X86(K(heed_dot_tq2_0_avx2, NULL, heed_tile_tq2_0_avx2)),
        [A5] = X86(K(heed_dot_tq2_0_avx2, NULL, heed_tile_tq2_0_avx2)),
        [VN] = X86(K(heed_dot_tq2_0_avx2, NULL, heed_tile_tq2_0_avx2))}},
    [HEED_TYPE_Q4_1] = {HEED_TYPE_Q8_1, heed_quantize_act_q8_1, {
        [S]  = K(heed_dot_q4_1_scalar),
        [A2] = X86(K(heed_dot_q4_1_avx2, NULL, heed_tile_q4_1_avx2)),
        [A5] = X86(K(heed_dot_q4_1_avx2, NULL, heed_tile_q4_1_avx2)),
        [VN] = X86(K(heed_dot_q4_1_avx2, NULL, heed_tile_q4_1_avx2, &heed_packed_q4_1_vnni))}},
    [HEED_TYPE_Q5_0] = {HEED_TYPE_Q8_0, heed_quantize_act_q8_0, {
        [S]  = K(heed_dot_q5_0_scalar),
        [A2] = X86(K(heed_dot_q5_0_avx2, NULL, heed_tile_q5_0_avx2)),
        [A5] = X86(K(heed_dot_q5_0_avx2, NULL, heed_tile_q5_0_avx2)),
        [VN] = X86(K(heed_dot_q5_0_avx2, NULL, heed_tile_q5_0_vnni, &heed_packed_q5_0_vnni))}},
    [HEED_TYPE_Q5_1] = {HEED_TYPE_Q8_1, heed_quantize_act_q8_1, {
        [S]  = K(heed_dot_q5_1_scalar),
        [A2] = X86(K(heed_dot_q5_1_avx2, NULL, heed_tile_q5_1_avx2)),
        [A5] = X86(K(heed_dot_q5_1_avx2, NULL, heed_tile_q5_1_avx2)),
        [VN] = X86(K(heed_dot_q5_1_avx2, NULL, heed_tile_q5_1_avx2, &heed_packed_q5_1_vnni))}},
    [HEED_TYPE_Q8_0] = {HEED_TYPE_Q8_0, heed_quantize_act_q8_0, {
        [S]  = K(heed_dot_q8_0_scalar),
        [A2] = X86(K(heed_dot_q8_0_avx2, heed_gemv_q8_0_avx2, heed_tile_q8_0_avx2)),
        [A5] = X86(K(heed_dot_q8_0_avx2, heed_gemv_q8_0_avx2, heed_tile_q8_0_avx2)),
        [VN] = X86(K(heed_dot_q8_0_vnni, heed_gemv_q8_0_vnni, heed_tile_q8_0_vnni,
                    &heed_packed_q8_0_vnni))}},
    [HEED_TYPE_Q2_K] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S]  = K(heed_dot_q2_K_scalar),
        [A2] = X86(K(heed_dot_q2_K_avx2)),
        [A5] = X86(K(heed_dot_q2_K_avx2)),
        [VN] = X86(K(heed_dot_q2_K_avx2, NULL, NULL, &heed_packed_q2_K_vnni))}},
    [HEED_TYPE_Q3_K] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S]  = K(heed_dot_q3_K_scalar),
        [A2] = X86(K(heed_dot_q3_K_avx2)),
        [A5] = X86(K(heed_dot_q3_K_avx2)),
        [VN] = X86(K(heed_dot_q3_K_avx2, NULL, NULL, &heed_packed_q3_K_vnni))}},
    [HEED_TYPE_Q4_K] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S]  = K(heed_dot_q4_K_scalar),
        [A2] = X86(K(heed_dot_q4_K_avx2)),
        [A5] = X86(K(heed_dot_q4_K_avx512, NULL, heed_tile_q4_K_avx512)),
        [VN] = X86(K(heed_dot_q4_K_vnni, NULL, heed_tile_q4_K_vnni, &heed_packed_q4_K_vnni))}},
    [HEED_TYPE_Q5_K] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S]  = K(heed_dot_q5_K_scalar),
        [A2] = X86(K(heed_dot_q5_K_avx2)),
        [A5] = X86(K(heed_dot_q5_K_avx512, NULL, heed_tile_q5_K_avx512)),
        [VN] = X86(K(heed_dot_q5_K_vnni, NULL, heed_tile_q5_K_vnni, &heed_packed_q5_K_vnni))}},
    [HEED_TYPE_Q6_K] = {HEED_TYPE_Q8_K, heed_quantize_q8_K, {
        [S]  = K(heed_dot_q6_K_scalar),
        [A2] = X86(K(heed_dot_q6_K_avx2)),
        [A5] = X86(K(heed_dot_q6_K_avx512, NULL, heed_tile_q6_K_avx512)),
        [VN] = X86(K(heed_dot_q6_K_vnni, NULL, heed_tile_q6_K_vnni, &heed_packed_q6_K_vnni))}},
};
/* clang-format on */

const heed_type_kernels *heed_kernels_row(int t)
{
    return t >= 0 && t < HEED_TYPE_COUNT && table[t].isa[S].dot ? &table[t] : NULL;
}

heed_isa_kernels heed_kernels_variant(int t, heed_isa isa)
{
    const heed_type_kernels *row = heed_kernels_row(t);
    const heed_isa_kernels none = {0};
    return row && isa < HEED_ISA_COUNT && isa <= heed_isa_best() ? row->isa[isa] : none;
}

const heed_isa_kernels *heed_kernels_get(int t)
{
    static const heed_isa_kernels none;
    const heed_type_kernels *row = heed_kernels_row(t);
    return row ? &row->isa[heed_isa_best()] : &none;
}
