/*
 * quant_k.c — reference (de)quantisation of the k-quants: super-blocks of
 * 256 elements split into sub-blocks of 16 or 32, each sub-block with its
 * own scale (and min), the scales themselves quantised against one or two
 * f16 super-block scales.
 *
 * Quantising a super-block takes three steps, the same for every type:
 *   1. fit each sub-block: search for the scale (and min) whose levels
 *      reconstruct it with the least weighted error (fit_* below);
 *   2. quantise the sub-block scales to 4, 6 or 8 bits;
 *   3. recompute every level against the scale it will really be
 *      dequantised with, and pack.
 * The searches are llama.cpp's (make_qx_quants, make_q3_quants,
 * make_qkx2_quants in ggml-quants.c, c392e50) with the float operations in
 * the same order, so heed's bytes equal llama-quantize's. That code was
 * compiled without FMA, as heed is (-ffp-contract=off): do not fuse or
 * reorder any expression here.
 */
#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#include <math.h>
#include <string.h>

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---------------------------------------------------------- the fits */

/*
 * Symmetric fit for q6_K: levels l in -nmax..nmax-1, x ≈ scale * l,
 * weighting each element by x^2. Tries the 19 inverse scales
 * -(nmax + 0.1 k)/max, k = -9..9, keeps the one with the best
 * least-squares scale. Stores l + nmax in L; returns the scale.
 */
static float fit_symmetric(int n, int nmax, const float *x, int8_t *L)
{
    float amax;
    const float max = heed_signed_absmax(x, n, &amax);
    if (amax < HEED_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float sumlx = 0.0f, suml2 = 0.0f;
    float iscale = -nmax / max;
    for (int i = 0; i < n; i++) {
        int l = clamp_int(heed_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int k = -9; k <= 9; k++) {
        if (k == 0)
            continue;
        iscale = -(nmax + 0.1f * k) / max;
        sumlx = suml2 = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(heed_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        /* sumlx^2/suml2 is the error reduction; compare without dividing */
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clamp_int(heed_nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/*
 * Symmetric fit for q3_K: as fit_symmetric's first guess, then up to five
 * sweeps that move single elements to the level that most lowers the x^2-
 * weighted error for the current least-squares scale. Stores l + nmax in L;
 * returns the scale.
 */
static float fit_symmetric_greedy(int n, int nmax, const float *x, int8_t *L)
{
    float amax;
    const float max = heed_signed_absmax(x, n, &amax);
    if (amax < HEED_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = clamp_int(heed_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int sweep = 0; sweep < 5; sweep++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            /* the sums without element i */
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0.0f) {
                float sl2 = suml2 - w * L[i] * L[i];
                int l = clamp_int(heed_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (l != L[i]) {
                    slx += w * x[i] * l;
                    sl2 += w * l * l;
                    if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)l;
                        sumlx = slx;
                        suml2 = sl2;
                        changed++;
                    }
                }
            }
        }
        if (!changed)
            break;
    }
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

/*
 * Affine fit for q2_K, q4_K, q5_K: levels l in 0..nmax, x ≈ scale * l - m
 * with m >= 0 (the sub-block's minimum is below zero or clamped to it).
 * Starts from the min/max grid, then tries nstep+1 grid widths
 * (nmax + rmin + rdelta k)/(max - min), solving weighted least squares for
 * scale and min at each, and keeps the lowest weighted error (|e| if
 * use_mad, else e^2). Stores levels in L (aux: scratch of n), *m_out = m;
 * returns the scale.
 */
static float fit_affine(int n, int nmax, const float *x, const float *w, uint8_t *L,
                        float *m_out, uint8_t *aux, float rmin, float rdelta, int nstep,
                        bool use_mad)
{
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0.0f)
        min = 0.0f;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *m_out = -min;
        return 0.0f;
    }

    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_err = 0.0f;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clamp_int(heed_nearest_int(iscale * (x[i] - min)), 0, nmax);
        float e = scale * L[i] + min - x[i];
        e = use_mad ? fabsf(e) : e * e;
        best_err += w[i] * e;
    }

    for (int k = 0; k <= nstep; k++) {
        iscale = (rmin + rdelta * k + nmax) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(heed_nearest_int(iscale * (x[i] - min)), 0, nmax);
            aux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0.0f))
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0.0f) {
            this_min = 0.0f;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            float e = this_scale * aux[i] + this_min - x[i];
            e = use_mad ? fabsf(e) : e * e;
            err += w[i] * e;
        }
        if (err < best_err) {
            memcpy(L, aux, (size_t)n);
            best_err = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *m_out = -min;
    return scale;
}

/* Packs 256 2-bit levels: element i to byte 32*(i/128) + i%32, bit
 * 2*((i%128)/32). Used by q2_K and for the low bits of q3_K. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int h = 0; h < HEED_QK_K; h += 128)
        for (int r = 0; r < 32; r++)
            qs[h / 4 + r] = (uint8_t)(L[h + r] | L[h + r + 32] << 2 | L[h + r + 64] << 4 |
                                      L[h + r + 96] << 6);
}

static int unpack_2bit(const uint8_t *qs, int i)
{
    return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
}

/* ------------------------------------------------------------------- q2_K */

void heed_quantize_q2_K(const float *src, void *dst, int64_t n)
{
    heed_block_q2_K *y = dst;
    uint8_t L[HEED_QK_K], aux[16];
    float w[16], mins[16], scales[16];

    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        const float *x = src;
        float max_scale = 0.0f, max_min = 0.0f;
        for (int s = 0; s < 16; s++) {
            for (int i = 0; i < 16; i++)
                w[i] = fabsf(x[16 * s + i]);
            scales[s] = fit_affine(16, 3, x + 16 * s, w, L + 16 * s, &mins[s], aux,
                                   -0.5f, 0.1f, 15, true);
            if (scales[s] > max_scale)
                max_scale = scales[s];
            if (mins[s] > max_min)
                max_min = mins[s];
        }

        /* 4-bit scales (low nibble) and mins (high nibble) */
        if (max_scale > 0.0f) {
            const float iscale = 15.0f / max_scale;
            for (int s = 0; s < 16; s++)
                y[b].scales[s] = (uint8_t)heed_nearest_int(iscale * scales[s]);
            y[b].d = heed_f32_to_f16(max_scale / 15.0f);
        } else {
            memset(y[b].scales, 0, sizeof y[b].scales);
            y[b].d = heed_f32_to_f16(0.0f);
        }
        if (max_min > 0.0f) {
            const float iscale = 15.0f / max_min;
            for (int s = 0; s < 16; s++)
                y[b].scales[s] = (uint8_t)(y[b].scales[s] | heed_nearest_int(iscale * mins[s]) << 4);
            y[b].dmin = heed_f32_to_f16(max_min / 15.0f);
        } else {
            y[b].dmin = heed_f32_to_f16(0.0f);
        }

        for (int s = 0; s < 16; s++) {
            const float d = heed_f16_to_f32(y[b].d) * (y[b].scales[s] & 0xf);
            if (d == 0.0f)
                continue;
            const float dm = heed_f16_to_f32(y[b].dmin) * (y[b].scales[s] >> 4);
            for (int i = 0; i < 16; i++)
                L[16 * s + i] = (uint8_t)clamp_int(heed_nearest_int((x[16 * s + i] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[b].qs);
    }
}

void heed_dequantize_q2_K(const void *src, float *dst, int64_t n)
{
    const heed_block_q2_K *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, dst += HEED_QK_K) {
        const float d = heed_f16_to_f32(x[b].d);
        const float dmin = heed_f16_to_f32(x[b].dmin);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (x[b].scales[s] & 0xf);
            const float ml = dmin * (x[b].scales[s] >> 4);
            for (int i = 16 * s; i < 16 * s + 16; i++)
                dst[i] = dl * unpack_2bit(x[b].qs, i) - ml;
        }
    }
}

/* ------------------------------------------------------------------- q3_K */

void heed_quantize_q3_K(const float *src, void *dst, int64_t n)
{
    heed_block_q3_K *y = dst;
    int8_t L[HEED_QK_K];
    float scales[16];

    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        const float *x = src;
        float max_scale = 0.0f, amax = 0.0f;
        for (int s = 0; s < 16; s++) {
            scales[s] = fit_symmetric_greedy(16, 4, x + 16 * s, L + 16 * s);
            if (fabsf(scales[s]) > amax) {
                amax = fabsf(scales[s]);
                max_scale = scales[s];
            }
        }

        /* 6-bit signed scales, stored + 32 */
        memset(y[b].scales, 0, sizeof y[b].scales);
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            for (int s = 0; s < 16; s++) {
                int l = clamp_int((int8_t)heed_nearest_int(iscale * scales[s]), -32, 31) + 32;
                heed_q3_K_scale_put(y[b].scales, s, l);
            }
            y[b].d = heed_f32_to_f16(1 / iscale);
        } else {
            y[b].d = heed_f32_to_f16(0.0f);
        }

        for (int s = 0; s < 16; s++) {
            const float d = heed_f16_to_f32(y[b].d) * (heed_q3_K_scale(y[b].scales, s) - 32);
            if (d == 0.0f)
                continue;
            for (int i = 16 * s; i < 16 * s + 16; i++)
                L[i] = (int8_t)(clamp_int(heed_nearest_int(x[i] / d), -4, 3) + 4);
        }

        /* bit 2 of level i goes to hmask[i%32] bit i/32; the rest as q2_K */
        uint8_t low[HEED_QK_K];
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        for (int i = 0; i < HEED_QK_K; i++) {
            if (L[i] > 3)
                y[b].hmask[i % 32] = (uint8_t)(y[b].hmask[i % 32] | 1 << (i / 32));
            low[i] = (uint8_t)(L[i] & 3);
        }
        pack_2bit(low, y[b].qs);
    }
}

void heed_dequantize_q3_K(const void *src, float *dst, int64_t n)
{
    const heed_block_q3_K *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, dst += HEED_QK_K) {
        const float d = heed_f16_to_f32(x[b].d);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (heed_q3_K_scale(x[b].scales, s) - 32);
            for (int i = 16 * s; i < 16 * s + 16; i++) {
                int hi = (x[b].hmask[i % 32] >> (i / 32)) & 1;
                dst[i] = dl * (unpack_2bit(x[b].qs, i) - (hi ? 0 : 4));
            }
        }
    }
}

/* ---------------------------------------------------------- q4_K and q5_K */

void heed_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn)
{
    /* sub-blocks 0..3: low 6 bits of bytes j and j+4; sub-blocks 4..7:
     * a nibble of byte j+4 plus the top 2 bits of bytes j-4 and j */
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xf) | (q[j - 4] >> 6) << 4);
        *mn = (uint8_t)((q[j + 4] >> 4) | (q[j] >> 6) << 4);
    }
}

/*
 * Steps 1 and 2 shared by q4_K and q5_K: fits the 8 sub-blocks of x
 * (levels 0..nmax into L, weights |x| + rms of the sub-block), then
 * quantises their scales and mins to 6 bits in `scales` and the two
 * super-block scales into *d, *dmin. Step 3 then re-levels with
 * k_relevel.
 */
static void k_fit_scales(const float *x, int nmax, float rmin, int nstep, uint8_t *L,
                         uint8_t scales[HEED_K_SCALE_SIZE], uint16_t *d, uint16_t *dmin)
{
    float w[32], mins[8], sub_scales[8];
    uint8_t aux[32];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < 8; s++) {
        const float *xs = x + 32 * s;
        float sum_x2 = 0.0f;
        for (int i = 0; i < 32; i++)
            sum_x2 += xs[i] * xs[i];
        const float rms = sqrtf(sum_x2 / 32);
        for (int i = 0; i < 32; i++)
            w[i] = rms + fabsf(xs[i]);
        sub_scales[s] = fit_affine(32, nmax, xs, w, L + 32 * s, &mins[s], aux, rmin, 0.1f,
                                   nstep, false);
        if (sub_scales[s] > max_scale)
            max_scale = sub_scales[s];
        if (mins[s] > max_min)
            max_min = mins[s];
    }

    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    for (int s = 0; s < 8; s++) {
        /* a negative fit wraps through uint8 and so clamps to 63, as in
         * llama.cpp */
        uint8_t ls = (uint8_t)heed_nearest_int(inv_scale * sub_scales[s]);
        uint8_t lm = (uint8_t)heed_nearest_int(inv_min * mins[s]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (s < 4) {
            scales[s] = ls;
            scales[s + 4] = lm;
        } else {
            scales[s + 4] = (uint8_t)((ls & 0xf) | (lm & 0xf) << 4);
            scales[s - 4] = (uint8_t)(scales[s - 4] | (ls >> 4) << 6);
            scales[s] = (uint8_t)(scales[s] | (lm >> 4) << 6);
        }
    }
    *d = heed_f32_to_f16(max_scale / 63.0f);
    *dmin = heed_f32_to_f16(max_min / 63.0f);
}

/* Step 3 for q4_K and q5_K: levels 0..nmax against the stored scales. */
static void k_relevel(const float *x, int nmax, const uint8_t *scales, uint16_t d16,
                      uint16_t dmin16, uint8_t *L)
{
    for (int s = 0; s < 8; s++) {
        uint8_t sc, mn;
        heed_k_scale_min(s, scales, &sc, &mn);
        const float d = heed_f16_to_f32(d16) * sc;
        if (d == 0.0f)
            continue;
        const float dm = heed_f16_to_f32(dmin16) * mn;
        for (int i = 32 * s; i < 32 * s + 32; i++)
            L[i] = (uint8_t)clamp_int(heed_nearest_int((x[i] + dm) / d), 0, nmax);
    }
}

void heed_quantize_q4_K(const float *src, void *dst, int64_t n)
{
    heed_block_q4_K *y = dst;
    uint8_t L[HEED_QK_K];
    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        k_fit_scales(src, 15, -1.0f, 20, L, y[b].scales, &y[b].d, &y[b].dmin);
        k_relevel(src, 15, y[b].scales, y[b].d, y[b].dmin, L);
        for (int c = 0; c < 4; c++)             /* 64 elements per 32 bytes */
            for (int r = 0; r < 32; r++)
                y[b].qs[32 * c + r] = (uint8_t)(L[64 * c + r] | L[64 * c + 32 + r] << 4);
    }
}

void heed_dequantize_q4_K(const void *src, float *dst, int64_t n)
{
    const heed_block_q4_K *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, dst += HEED_QK_K) {
        const float d = heed_f16_to_f32(x[b].d);
        const float dmin = heed_f16_to_f32(x[b].dmin);
        for (int s = 0; s < 8; s++) {
            uint8_t sc, mn;
            heed_k_scale_min(s, x[b].scales, &sc, &mn);
            const float dl = d * sc, ml = dmin * mn;
            const uint8_t *q = x[b].qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int r = 0; r < 32; r++)
                dst[32 * s + r] = dl * ((q[r] >> shift) & 0xf) - ml;
        }
    }
}

void heed_quantize_q5_K(const float *src, void *dst, int64_t n)
{
    heed_block_q5_K *y = dst;
    uint8_t L[HEED_QK_K];
    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        k_fit_scales(src, 31, -0.5f, 15, L, y[b].scales, &y[b].d, &y[b].dmin);
        k_relevel(src, 31, y[b].scales, y[b].d, y[b].dmin, L);
        /* low nibbles as q4_K; bit 4 of element i to qh[i%32] bit i/32 */
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++)
            for (int r = 0; r < 32; r++)
                y[b].qs[32 * c + r] =
                    (uint8_t)((L[64 * c + r] & 0xf) | (L[64 * c + 32 + r] & 0xf) << 4);
        for (int i = 0; i < HEED_QK_K; i++)
            if (L[i] > 15)
                y[b].qh[i % 32] = (uint8_t)(y[b].qh[i % 32] | 1 << (i / 32));
    }
}

void heed_dequantize_q5_K(const void *src, float *dst, int64_t n)
{
    const heed_block_q5_K *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, dst += HEED_QK_K) {
        const float d = heed_f16_to_f32(x[b].d);
        const float dmin = heed_f16_to_f32(x[b].dmin);
        for (int s = 0; s < 8; s++) {
            uint8_t sc, mn;
            heed_k_scale_min(s, x[b].scales, &sc, &mn);
            const float dl = d * sc, ml = dmin * mn;
            const uint8_t *q = x[b].qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int r = 0; r < 32; r++) {
                int hi = (x[b].qh[r] >> s) & 1;
                dst[32 * s + r] = dl * (((q[r] >> shift) & 0xf) + (hi ? 16 : 0)) - ml;
            }
        }
    }
}

/* ------------------------------------------------------------------- q6_K */

void heed_quantize_q6_K(const float *src, void *dst, int64_t n)
{
    heed_block_q6_K *y = dst;
    int8_t L[HEED_QK_K];
    float scales[16];

    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        const float *x = src;
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int s = 0; s < 16; s++) {
            scales[s] = fit_symmetric(16, 32, x + 16 * s, L + 16 * s);
            if (fabsf(scales[s]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[s]);
                max_scale = scales[s];
            }
        }
        if (max_abs_scale < HEED_GROUP_MAX_EPS) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }

        /* 8-bit signed sub-block scales */
        const float iscale = -128.0f / max_scale;
        y[b].d = heed_f32_to_f16(1 / iscale);
        for (int s = 0; s < 16; s++) {
            int l = heed_nearest_int(iscale * scales[s]);
            y[b].scales[s] = (int8_t)(l < 127 ? l : 127);
        }

        for (int s = 0; s < 16; s++) {
            const float d = heed_f16_to_f32(y[b].d) * y[b].scales[s];
            if (d == 0.0f)
                continue;
            for (int i = 16 * s; i < 16 * s + 16; i++)
                L[i] = (int8_t)(clamp_int(heed_nearest_int(x[i] / d), -32, 31) + 32);
        }

        /* see blocks.h for where each element's 4 + 2 bits go */
        for (int h = 0; h < 2; h++) {
            const int8_t *l = L + 128 * h;
            uint8_t *ql = y[b].ql + 64 * h, *qh = y[b].qh + 32 * h;
            for (int r = 0; r < 32; r++) {
                ql[r] = (uint8_t)((l[r] & 0xf) | (l[r + 64] & 0xf) << 4);
                ql[r + 32] = (uint8_t)((l[r + 32] & 0xf) | (l[r + 96] & 0xf) << 4);
                qh[r] = (uint8_t)(l[r] >> 4 | (l[r + 32] >> 4) << 2 | (l[r + 64] >> 4) << 4 |
                                  (l[r + 96] >> 4) << 6);
            }
        }
    }
}

void heed_dequantize_q6_K(const void *src, float *dst, int64_t n)
{
    const heed_block_q6_K *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, dst += HEED_QK_K) {
        const float d = heed_f16_to_f32(x[b].d);
        for (int i = 0; i < HEED_QK_K; i++) {
            const int h = i / 128, r = i % 32, g = (i % 128) / 32;
            const uint8_t lo = x[b].ql[64 * h + r + 32 * (g & 1)] >> (4 * (g >> 1));
            const uint8_t hi = x[b].qh[32 * h + r] >> (2 * g);
            const int q = ((lo & 0xf) | (hi & 3) << 4) - 32;
            dst[i] = d * x[b].scales[i / 16] * q;
        }
    }
}

/* ------------------------------------------------------------------- q8_K */

void heed_quantize_q8_K(const float *src, void *dst, int64_t n)
{
    heed_block_q8_K *y = dst;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, src += HEED_QK_K) {
        float amax;
        const float max = heed_signed_absmax(src, HEED_QK_K, &amax);
        if (amax == 0.0f) {
            /* llama.cpp leaves bsums unset here; heed zeroes them */
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* -127 (not -128) keeps every level in -127..127 */
        const float iscale = -127.0f / max;
        for (int i = 0; i < HEED_QK_K; i++) {
            int v = heed_nearest_int(iscale * src[i]);
            y[b].qs[i] = (int8_t)(v < 127 ? v : 127);
        }
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int i = 16 * s; i < 16 * s + 16; i++)
                sum += y[b].qs[i];
            y[b].bsums[s] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

void heed_dequantize_q8_K(const void *src, float *dst, int64_t n)
{
    const heed_block_q8_K *x = src;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, dst += HEED_QK_K)
        for (int i = 0; i < HEED_QK_K; i++)
            dst[i] = x[b].d * x[b].qs[i];
}
