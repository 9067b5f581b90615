/*
 * quant_legacy.c — reference (de)quantisation of the plain float types and
 * of ggml's first block formats (32 elements, one or two f16 scales).
 *
 * The quantisers follow llama.cpp's quantize_row_*_ref step by step —
 * the same float operations in the same order, the same rounding (x + 0.5
 * truncated for q4/q5, roundf for q8) — because heed's files must equal
 * llama-quantize's byte for byte. One case needs care: a block so tiny
 * (|max| below ~1e-38) that 1/d overflows makes llama.cpp convert inf or
 * NaN to an integer, undefined in C; its x86 build gets level 0 there, and
 * heed gives 0 on purpose. Such a block's f16 scale is 0, so its levels
 * never change a dequantised value.
 */
#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ----------------------------------------------------------- f32/f16/bf16 */

void heed_dequantize_f32(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void heed_quantize_f32(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void heed_dequantize_f16(const void *src, float *dst, int64_t n)
{
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = heed_f16_to_f32(h[i]);
}

void heed_quantize_f16(const float *src, void *dst, int64_t n)
{
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = heed_f32_to_f16(src[i]);
}

void heed_dequantize_bf16(const void *src, float *dst, int64_t n)
{
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = heed_bf16_to_f32(h[i]);
}

void heed_quantize_bf16(const float *src, void *dst, int64_t n)
{
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = heed_f32_to_bf16(src[i]);
}

/* ---------------------------------------------------------------- helpers */

/* (int)v clamped to 0..hi: the level of a value already offset so that
 * truncation rounds (v = x/d + offset + 0.5). Not finite: 0 (see top). */
static uint8_t trunc_level(float v, int hi)
{
    if (!(v > 0.0f) || isinf(v))
        return 0;
    if (v >= (float)hi)
        return (uint8_t)hi;
    return (uint8_t)(int)v;
}

/* roundf (half away from zero) clamped to an int8. Not finite: 0 (see
 * top). */
static int8_t round_i8(float v)
{
    if (!isfinite(v))
        return 0;
    float r = roundf(v);
    return r < -128.0f ? -128 : r > 127.0f ? 127 : (int8_t)r;
}

/* see quant.h */
float heed_signed_absmax(const float *x, int n, float *amax)
{
    float a = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (fabsf(x[j]) > a) {
            a = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax = a;
    return max;
}

static void min_max(const float *x, int n, float *min, float *max)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo)
            lo = x[j];
        if (x[j] > hi)
            hi = x[j];
    }
    *min = lo;
    *max = hi;
}

/* ------------------------------------------------------------------- q4_0 */

void heed_quantize_q4_0(const float *src, void *dst, int64_t n)
{
    heed_block_q4_0 *y = dst;
    for (int64_t b = 0; b < n / HEED_QK4_0; b++, src += HEED_QK4_0) {
        /* the extreme value maps to level 0, i.e. -8 steps */
        float amax;
        const float d = heed_signed_absmax(src, HEED_QK4_0, &amax) / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        for (int j = 0; j < HEED_QK4_0 / 2; j++) {
            uint8_t lo = trunc_level(src[j] * id + 8.5f, 15);
            uint8_t hi = trunc_level(src[j + HEED_QK4_0 / 2] * id + 8.5f, 15);
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void heed_dequantize_q4_0(const void *src, float *dst, int64_t n)
{
    const heed_block_q4_0 *x = src;
    for (int64_t b = 0; b < n / HEED_QK4_0; b++, dst += HEED_QK4_0) {
        const float d = heed_f16_to_f32(x[b].d);
        for (int j = 0; j < HEED_QK4_0 / 2; j++) {
            dst[j] = ((x[b].qs[j] & 0x0f) - 8) * d;
            dst[j + HEED_QK4_0 / 2] = ((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

/* ------------------------------------------------------------------ mxfp4 */

void heed_dequantize_mxfp4(const void *src, float *dst, int64_t n)
{
    const heed_block_mxfp4 *x = src;
    for (int64_t b = 0; b < n / 32; b++, dst += 32)
        heed_codebook_values32(heed_mxfp4_values, x[b].qs, heed_mxfp4_step(x[b].e), dst);
}

/* ------------------------------------------------------------------- q4_1 */

void heed_quantize_q4_1(const float *src, void *dst, int64_t n)
{
    heed_block_q4_1 *y = dst;
    for (int64_t b = 0; b < n / HEED_QK4_1; b++, src += HEED_QK4_1) {
        float min, max;
        min_max(src, HEED_QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        y[b].m = heed_f32_to_f16(min);
        for (int j = 0; j < HEED_QK4_1 / 2; j++) {
            uint8_t lo = trunc_level((src[j] - min) * id + 0.5f, 15);
            uint8_t hi = trunc_level((src[j + HEED_QK4_1 / 2] - min) * id + 0.5f, 15);
            y[b].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void heed_dequantize_q4_1(const void *src, float *dst, int64_t n)
{
    const heed_block_q4_1 *x = src;
    for (int64_t b = 0; b < n / HEED_QK4_1; b++, dst += HEED_QK4_1) {
        const float d = heed_f16_to_f32(x[b].d);
        const float m = heed_f16_to_f32(x[b].m);
        for (int j = 0; j < HEED_QK4_1 / 2; j++) {
            dst[j] = (x[b].qs[j] & 0x0f) * d + m;
            dst[j + HEED_QK4_1 / 2] = (x[b].qs[j] >> 4) * d + m;
        }
    }
}

/* ---------------------------------------------------------- q5_0 and q5_1 */

/* Packs 32 five-bit levels: low nibbles as in q4_0, bit 4 of level i into
 * bit i of the little-endian word qh. */
static void pack_q5(const uint8_t *lv, uint8_t *qs, uint8_t qh[4])
{
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((lv[j] & 0x0f) | (lv[j + 16] & 0x0f) << 4);
        h |= (uint32_t)(lv[j] >> 4) << j;
        h |= (uint32_t)(lv[j + 16] >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++)
        qh[k] = (uint8_t)(h >> (8 * k));
}

/* The five-bit level of element j (0..31) of a q5 block. */
static int unpack_q5(const uint8_t *qs, const uint8_t qh[4], int j)
{
    uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
                 (uint32_t)qh[3] << 24;
    int low = j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4;
    return low | (int)((h >> j) & 1) << 4;
}

void heed_quantize_q5_0(const float *src, void *dst, int64_t n)
{
    heed_block_q5_0 *y = dst;
    uint8_t lv[HEED_QK5_0];
    for (int64_t b = 0; b < n / HEED_QK5_0; b++, src += HEED_QK5_0) {
        float amax;
        const float d = heed_signed_absmax(src, HEED_QK5_0, &amax) / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        for (int j = 0; j < HEED_QK5_0; j++)
            lv[j] = trunc_level(src[j] * id + 16.5f, 31);
        pack_q5(lv, y[b].qs, y[b].qh);
    }
}

void heed_dequantize_q5_0(const void *src, float *dst, int64_t n)
{
    const heed_block_q5_0 *x = src;
    for (int64_t b = 0; b < n / HEED_QK5_0; b++, dst += HEED_QK5_0) {
        const float d = heed_f16_to_f32(x[b].d);
        for (int j = 0; j < HEED_QK5_0; j++)
            dst[j] = (unpack_q5(x[b].qs, x[b].qh, j) - 16) * d;
    }
}

void heed_quantize_q5_1(const float *src, void *dst, int64_t n)
{
    heed_block_q5_1 *y = dst;
    uint8_t lv[HEED_QK5_1];
    for (int64_t b = 0; b < n / HEED_QK5_1; b++, src += HEED_QK5_1) {
        float min, max;
        min_max(src, HEED_QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        y[b].m = heed_f32_to_f16(min);
        for (int j = 0; j < HEED_QK5_1; j++)
            lv[j] = trunc_level((src[j] - min) * id + 0.5f, 31);
        pack_q5(lv, y[b].qs, y[b].qh);
    }
}

void heed_dequantize_q5_1(const void *src, float *dst, int64_t n)
{
    const heed_block_q5_1 *x = src;
    for (int64_t b = 0; b < n / HEED_QK5_1; b++, dst += HEED_QK5_1) {
        const float d = heed_f16_to_f32(x[b].d);
        const float m = heed_f16_to_f32(x[b].m);
        for (int j = 0; j < HEED_QK5_1; j++)
            dst[j] = unpack_q5(x[b].qs, x[b].qh, j) * d + m;
    }
}

/* ---------------------------------------------------------- q8_0 and q8_1 */

void heed_quantize_q8_0(const float *src, void *dst, int64_t n)
{
    heed_block_q8_0 *y = dst;
    for (int64_t b = 0; b < n / HEED_QK8_0; b++, src += HEED_QK8_0) {
        float amax;
        heed_signed_absmax(src, HEED_QK8_0, &amax);
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        for (int j = 0; j < HEED_QK8_0; j++)
            y[b].qs[j] = round_i8(src[j] * id);
    }
}

void heed_dequantize_q8_0(const void *src, float *dst, int64_t n)
{
    const heed_block_q8_0 *x = src;
    for (int64_t b = 0; b < n / HEED_QK8_0; b++, dst += HEED_QK8_0) {
        const float d = heed_f16_to_f32(x[b].d);
        for (int j = 0; j < HEED_QK8_0; j++)
            dst[j] = x[b].qs[j] * d;
    }
}

void heed_quantize_q8_1(const float *src, void *dst, int64_t n)
{
    heed_block_q8_1 *y = dst;
    for (int64_t b = 0; b < n / HEED_QK8_1; b++, src += HEED_QK8_1) {
        float amax;
        heed_signed_absmax(src, HEED_QK8_1, &amax);
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        y[b].d = heed_f32_to_f16(d);
        for (int j = 0; j < HEED_QK8_1; j++) {
            y[b].qs[j] = round_i8(src[j] * id);
            sum += y[b].qs[j];
        }
        y[b].s = heed_f32_to_f16((float)sum * d);
    }
}

void heed_dequantize_q8_1(const void *src, float *dst, int64_t n)
{
    const heed_block_q8_1 *x = src;
    for (int64_t b = 0; b < n / HEED_QK8_1; b++, dst += HEED_QK8_1) {
        const float d = heed_f16_to_f32(x[b].d);
        for (int j = 0; j < HEED_QK8_1; j++)
            dst[j] = x[b].qs[j] * d;
    }
}
