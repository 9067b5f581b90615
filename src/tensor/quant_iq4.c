/*
 * quant_iq4.c — reference (de)quantisation of iq4_nl and iq4_xs, whose
 * 4-bit levels index a fixed non-linear codebook (heed_iq4_nl_values,
 * denser near zero) instead of an even grid.
 *
 * Both fit every run of 32 elements alike: a step that maps the run's
 * extreme to +127 (beyond the top entry, 113), then 15 that map it to
 * -127 + k, k = -7..7; for each, every element takes the entry nearest
 * x/step, and the run keeps the x^2-weighted least-squares step of the
 * best of these level sets. iq4_nl stores that step (f16) and re-indexes
 * the run against it. iq4_xs quantises the 8 steps of a 256-block to
 * 6-bit signed multiples of one f16 step and re-indexes each run against
 * the step it will be dequantised with.
 *
 * This is llama.cpp's quantize_iq4_nl / quantize_iq4_xs (ggml-quants.c,
 * c392e50) as llama-quantize runs them: no importance matrix, 7 tries
 * either side. (Its quantize_row_iq4_nl_ref tries none and gives other
 * bytes; files are made the llama-quantize way.) The float operations
 * are in llama.cpp's order and never fused (heed builds with
 * -ffp-contract=off, llama.cpp's ggml-base without FMA): do not reorder
 * them, or heed's bytes stop being llama-quantize's.
 */
#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#include <string.h>

/* Tries either side of the step that maps a run's extreme to -127. */
#define N_TRY 7

/* The index of the codebook entry nearest v, the upper one on a tie (a
 * bisection, then the nearer neighbour, as llama.cpp's best_index_int8);
 * NaN gives 15. */
static int nearest_entry(float v)
{
    const int8_t *book = heed_iq4_nl_values;
    if (v <= (float)book[0])
        return 0;
    if (v >= (float)book[15])
        return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (v < (float)book[mid])
            hi = mid;
        else
            lo = mid;
    }
    return v - (float)book[hi - 1] < (float)book[hi] - v ? hi - 1 : hi;
}

/* The sums sum w q x and sum w q^2 of a least-squares fit x ≈ d q of a
 * run, q the entries inverse step id gives it. */
static void run_sums(const float *x, const float *w, float id, float *sumqx, float *sumq2)
{
    float sqx = 0.0f, sq2 = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float q = heed_iq4_nl_values[nearest_entry(id * x[j])];
        sqx += w[j] * q * x[j];
        sq2 += w[j] * q * q;
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

/* The step of a run of 32 (see the top); 0 for an all-zero run. */
static float fit_run(const float *x)
{
    float amax;
    const float max = heed_signed_absmax(x, 32, &amax);
    if (amax < HEED_GROUP_MAX_EPS)
        return 0.0f;
    float w[32];
    for (int j = 0; j < 32; j++)
        w[j] = x[j] * x[j];
    const float book0 = heed_iq4_nl_values[0];
    float sumqx, sumq2;
    run_sums(x, w, 1 / (-max / book0), &sumqx, &sumq2);
    float d = sumqx / sumq2;
    float best = d * sumqx;
    for (int k = -N_TRY; k <= N_TRY; k++) {
        run_sums(x, w, (float)(k + heed_iq4_nl_values[0]) / max, &sumqx, &sumq2);
        /* sumqx^2/sumq2 is the error reduction; compare without dividing */
        if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* Packs a run's entries nearest id · x: element j < 16 in the low nibble
 * of qs[j], element 16 + j in its high one. */
static void index_run(const float *x, float id, uint8_t *qs)
{
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(nearest_entry(id * x[j]) | nearest_entry(id * x[j + 16]) << 4);
}

/* ----------------------------------------------------------------- iq4_nl */

void heed_quantize_iq4_nl(const float *src, void *dst, int64_t n)
{
    heed_block_iq4_nl *y = dst;
    for (int64_t b = 0; b < n / HEED_QK4_NL; b++, src += HEED_QK4_NL) {
        const float d = fit_run(src);
        y[b].d = heed_f32_to_f16(d);
        index_run(src, d != 0.0f ? 1 / d : 0.0f, y[b].qs);
    }
}

void heed_dequantize_iq4_nl(const void *src, float *dst, int64_t n)
{
    const heed_block_iq4_nl *x = src;
    for (int64_t b = 0; b < n / HEED_QK4_NL; b++, dst += HEED_QK4_NL)
        heed_codebook_values32(heed_iq4_nl_values, x[b].qs, heed_f16_to_f32(x[b].d), dst);
}

/* ----------------------------------------------------------------- iq4_xs */

void heed_quantize_iq4_xs(const float *src, void *dst, int64_t n)
{
    heed_block_iq4_xs *y = dst;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        float steps[8], amax;
        for (int ib = 0; ib < 8; ib++)
            steps[ib] = fit_run(src + 32 * ib);
        /* the largest step becomes scale -32 (with d of its sign flipped;
         * an all-zero block gets d = -0) */
        const float max_step = heed_signed_absmax(steps, 8, &amax);
        const float d = -max_step / 32;
        const float id = d != 0.0f ? 1 / d : 0.0f;
        y[b].d = heed_f32_to_f16(d);
        y[b].scales_h = 0;
        memset(y[b].scales_l, 0, sizeof y[b].scales_l);
        for (int ib = 0; ib < 8; ib++) {
            int l = heed_nearest_int(id * steps[ib]);
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            /* the run's step as it will be dequantised, unrounded */
            const float dl = d * (float)l;
            index_run(src + 32 * ib, dl != 0.0f ? 1 / dl : 0.0f, y[b].qs + 16 * ib);
            const int stored = l + 32;
            y[b].scales_l[ib / 2] = (uint8_t)(y[b].scales_l[ib / 2] | (stored & 0xf) << 4 * (ib % 2));
            y[b].scales_h = (uint16_t)(y[b].scales_h | (stored >> 4) << 2 * ib);
        }
    }
}

void heed_dequantize_iq4_xs(const void *src, float *dst, int64_t n)
{
    const heed_block_iq4_xs *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, x++)
        for (int ib = 0; ib < 8; ib++, dst += 32)
            heed_codebook_values32(heed_iq4_nl_values, x->qs + 16 * ib,
                                   heed_f16_to_f32(x->d) * (float)heed_iq4_xs_scale(x, ib), dst);
}
