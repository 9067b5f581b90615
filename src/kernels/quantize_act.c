/*
 * quantize_act.c — activations to Q8_0 / Q8_1 exactly as llama.cpp's x86
 * CPU backend does before a quantised matmul (the AVX branch of
 * quantize_row_q8_0 / quantize_row_q8_1 in ggml-cpu-quants.c, c392e50).
 *
 * Why not heed_quantize_q8_0: that one reproduces the *reference*
 * quantiser (used for files), which multiplies by 1/d and rounds half
 * away from zero. The backend multiplies by 127/amax and rounds half to
 * even. Both give the same q almost always; where they differ, a whole
 * Q8 step of an activation moves, which is visible in the logits, so the
 * matmul uses this one.
 */
#include "kernels/matmul.h"

#include <math.h>

#include "heed.h"
#include "tensor/blocks.h"

/* x rounded half to even, as _mm256_round_ps(_MM_ROUND_NEAREST) +
 * _mm256_cvtps_epi32 + saturating packs do it. |v| <= 127 for finite
 * input (|x| <= amax); NaN (from a NaN or infinite input) becomes the
 * x86 "integer indefinite", which the packs saturate to -128. */
static int8_t round_even_i8(float v)
{
    if (isnan(v))
        return -128;
    /* Adding and removing 1.5*2^23 rounds to an integer in the current
     * (default: nearest-even) mode for |v| < 2^22. */
    float r = (v + 12582912.0f) - 12582912.0f;
    return (int8_t)(r < -128.0f ? -128 : r > 127.0f ? 127 : (int)r);
}

/* Largest |x[j]| of a block of 32; max as the vector code takes it (the
 * result is exact, so the order does not matter for finite values). */
static float block_amax(const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    return amax;
}

void heed_quantize_act_q8_0(const float *x, void *dst, int64_t n)
{
    heed_block_q8_0 *y = dst;
    for (int64_t b = 0; b < n / HEED_QK8_0; b++, x += HEED_QK8_0) {
        const float amax = block_amax(x);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        for (int j = 0; j < HEED_QK8_0; j++)
            y[b].qs[j] = round_even_i8(x[j] * id);
    }
}

void heed_quantize_act_q8_1(const float *x, void *dst, int64_t n)
{
    heed_block_q8_1 *y = dst;
    for (int64_t b = 0; b < n / HEED_QK8_1; b++, x += HEED_QK8_1) {
        const float amax = block_amax(x);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        y[b].d = heed_f32_to_f16(d);
        for (int j = 0; j < HEED_QK8_1; j++) {
            y[b].qs[j] = round_even_i8(x[j] * id);
            sum += y[b].qs[j];
        }
        /* s = d * sum(q), with the unrounded f32 d */
        y[b].s = heed_f32_to_f16(d * (float)sum);
    }
}
