/*
 * quant.h — the scalar reference (de)quantisers behind the type table.
 *
 * Every function converts n elements, n a multiple of the type's block
 * size (the caller checks; heed_type_row_size is the usual guard).
 * Quantised pointers address whole blocks with the alignment of their
 * struct in blocks.h (2 bytes, 4 for q8_K).
 *
 * heed_quantize_* reproduce llama.cpp's quantize_row_*_ref (c392e50)
 * bit for bit, so heed writes the same files as `llama-quantize --pure`;
 * heed_dequantize_* reproduce its dequantize_row_* bit for bit, so kernels
 * can be checked against them exactly.
 */
#ifndef HEED_TENSOR_QUANT_H
#define HEED_TENSOR_QUANT_H

#include <stdint.h>

/* quant_legacy.c: plain floats and the 32-element block types */
void heed_dequantize_f32(const void *src, float *dst, int64_t n);
void heed_dequantize_f16(const void *src, float *dst, int64_t n);
void heed_dequantize_bf16(const void *src, float *dst, int64_t n);
void heed_dequantize_q4_0(const void *src, float *dst, int64_t n);
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

/* The 6-bit scale and min of sub-block j (0..7) of a q4_K / q5_K block,
 * unpacked from its 12 `scales` bytes. */
void heed_k_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *mn);

#endif
