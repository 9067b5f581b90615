/*
 * quant.h — the scalar reference (de)quantisers behind the type table.
 *
 * Every function converts n elements, n a multiple of the type's block
 * size (the caller checks; heed_type_row_size is the usual guard).
 * Quantised pointers address whole blocks with the alignment of their
 * struct in blocks.h (2 bytes, 4 for q8_K).
 *
 * heed_quantize_* reproduce llama.cpp's quantize_row_*_ref (c392e50)
 * bit for bit (iq4_nl, iq4_xs: its quantize_iq4_* with no importance
 * matrix, the path llama-quantize takes, which for these two is not the
 * _ref's), so heed writes the same files as `llama-quantize --pure`;
 * heed_dequantize_* reproduce its dequantize_row_* bit for bit, so kernels
 * can be checked against them exactly.
 */
#ifndef HEED_TENSOR_QUANT_H
#define HEED_TENSOR_QUANT_H

#include <stdint.h>
#include <string.h>

/* quant_legacy.c: plain floats and the 32-element block types */
void heed_dequantize_f32(const void *src, float *dst, int64_t n);
void heed_dequantize_f16(const void *src, float *dst, int64_t n);
void heed_dequantize_bf16(const void *src, float *dst, int64_t n);
void heed_dequantize_q4_0(const void *src, float *dst, int64_t n);
void heed_dequantize_mxfp4(const void *src, float *dst, int64_t n);  /* read only */
/* quant_iq.c: the grid and ternary types (tensor/iq.h), read only */
void heed_dequantize_iq2_xxs(const void *src, float *dst, int64_t n);
void heed_dequantize_iq2_xs(const void *src, float *dst, int64_t n);
void heed_dequantize_iq2_s(const void *src, float *dst, int64_t n);
void heed_dequantize_iq3_xxs(const void *src, float *dst, int64_t n);
void heed_dequantize_iq3_s(const void *src, float *dst, int64_t n);
void heed_dequantize_iq1_s(const void *src, float *dst, int64_t n);
void heed_dequantize_iq1_m(const void *src, float *dst, int64_t n);
void heed_dequantize_tq1_0(const void *src, float *dst, int64_t n);
void heed_dequantize_tq2_0(const void *src, float *dst, int64_t n);
void heed_dequantize_q4_1(const void *src, float *dst, int64_t n);
void heed_dequantize_q5_0(const void *src, float *dst, int64_t n);
void heed_dequantize_q5_1(const void *src, float *dst, int64_t n);
void heed_dequantize_q8_0(const void *src, float *dst, int64_t n);
void heed_dequantize_q8_1(const void *src, float *dst, int64_t n);

void heed_quantize_f32(const float *src, void *dst, int64_t n);
void heed_quantize_f16(const float *src, void *dst, int64_t n);
void heed_quantize_bf16(const float *src, void *dst, int64_t n);
void heed_quantize_q4_0(const float *src, void *dst, int64_t n);
void heed_quantize_q4_1(const float *src, void *dst, int64_t n);
void heed_quantize_q5_0(const float *src, void *dst, int64_t n);
void heed_quantize_q5_1(const float *src, void *dst, int64_t n);
void heed_quantize_q8_0(const float *src, void *dst, int64_t n);
void heed_quantize_q8_1(const float *src, void *dst, int64_t n);

/* The element of x[0..n) of largest magnitude, signed (the first on
 * ties); *amax gets its magnitude. Symmetric formats scale by it so that
 * it lands exactly on their extreme level. */
float heed_signed_absmax(const float *x, int n, float *amax);

/* Below this magnitude a (sub-)block counts as all zero (llama.cpp's
 * GROUP_MAX_EPS). */
#define HEED_GROUP_MAX_EPS 1e-15f

/*
 * Rounds to the nearest integer, ties to even, for |v| < 2^22: adding
 * 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. Larger
 * or non-finite v give some int, never undefined behaviour — and the same
 * int as llama.cpp, which rounds this way.
 */
static inline int heed_nearest_int(float v)
{
    float t = v + 12582912.0f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    return (int)(bits & 0x7fffff) - 0x400000;
}

/* quant_k.c: the 256-element super-block types */
void heed_dequantize_q2_K(const void *src, float *dst, int64_t n);
void heed_dequantize_q3_K(const void *src, float *dst, int64_t n);
void heed_dequantize_q4_K(const void *src, float *dst, int64_t n);
void heed_dequantize_q5_K(const void *src, float *dst, int64_t n);
void heed_dequantize_q6_K(const void *src, float *dst, int64_t n);
void heed_dequantize_q8_K(const void *src, float *dst, int64_t n);

void heed_quantize_q2_K(const float *src, void *dst, int64_t n);
void heed_quantize_q3_K(const float *src, void *dst, int64_t n);
void heed_quantize_q4_K(const float *src, void *dst, int64_t n);
void heed_quantize_q5_K(const float *src, void *dst, int64_t n);
void heed_quantize_q6_K(const float *src, void *dst, int64_t n);
void heed_quantize_q8_K(const float *src, void *dst, int64_t n);

/* quant_iq4.c: the 4-bit codebook types */
void heed_dequantize_iq4_nl(const void *src, float *dst, int64_t n);
void heed_dequantize_iq4_xs(const void *src, float *dst, int64_t n);
void heed_quantize_iq4_nl(const float *src, void *dst, int64_t n);
void heed_quantize_iq4_xs(const float *src, void *dst, int64_t n);

/* The 6-bit scale and min of sub-block j (0..7) of a q4_K / q5_K block,
 * unpacked from its 12 `scales` bytes. */
void heed_k_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *mn);

/* The 6-bit scale s (0..15) of a q3_K block, still offset by 32, from its
 * 12 `scales` bytes (low nibbles of 0..7 and 8..15 in bytes 0..7, the top
 * two bits of scale s in byte 8 + s%4 at bit 2(s/4)); and the inverse,
 * which ORs scale s (0..63) into scales bytes that start out zero. Inline:
 * the dot products decode 16 per block. */
static inline int heed_q3_K_scale(const uint8_t *scales, int s)
{
    const int low = s < 8 ? scales[s] & 0xf : scales[s - 8] >> 4;
    const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
    return low | high << 4;
}

static inline void heed_q3_K_scale_put(uint8_t *scales, int s, int l)
{
    scales[s % 8] = (uint8_t)(scales[s % 8] | (l & 0xf) << (s < 8 ? 0 : 4));
    scales[8 + s % 4] = (uint8_t)(scales[8 + s % 4] | (l >> 4) << (2 * (s / 4)));
}

#endif
