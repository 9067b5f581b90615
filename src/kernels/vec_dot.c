/*
 * vec_dot.c — the scalar reference dot product of every weight type with
 * its partner activation type (kernel_table.c chooses among the variants).
 *
 * Each reference is llama.cpp's generic C path (ggml_vec_dot_* in
 * ggml-cpu.c / ggml-cpu-quants.c at c392e50, the branch built without
 * SIMD) restated: the same integer sums, and the same float operations in
 * the same order, so it returns the same float. In particular:
 *  - f32 / f16 / bf16: each product is a float (exact for f16 and bf16),
 *    summed in double, rounded to float once at the end;
 *  - legacy blocks: one float per block added to a float sum, with the
 *    scale products grouped exactly as llama.cpp writes them (they
 *    differ between types, see each function);
 *  - k-quants (q3_K .. q6_K): eight int32 lanes (lane = element index
 *    mod 8) scaled per block into eight float sums, added up at the end;
 *    q2_K adds one float per block.
 * Integer sums cannot overflow: the largest, |q6_K sub-block scale *
 * (q-32) * q8| summed over 256 elements, is at most 2^27.
 */
#include "kernels/kernel_table.h"

#include <string.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/iq.h"
#include "tensor/quant.h"

#define F16(h) heed_f16_to_f32(h)

/* ---------------------------------------------------- plain float types */

float heed_dot_f32_scalar(const void *vw, const void *vx, int64_t n)
{
    const float *w = vw, *x = vx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(w[i] * x[i]); /* the product rounds to float first */
    return (float)sum;
}

float heed_dot_f16_scalar(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(F16(w[i]) * F16(x[i]));
    return (float)sum;
}

float heed_dot_bf16_scalar(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(heed_bf16_to_f32(w[i]) * heed_bf16_to_f32(x[i]));
    return (float)sum;
}

/* ------------------------------------------------- legacy 32-blocks */

/* sumf += sumi * dw * dx, i.e. ((float)sumi * dw) * dx */
float heed_dot_q4_0_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q4_0 *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK4_0; b++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += ((w[b].qs[j] & 0x0f) - 8) * x[b].qs[j];
            sumi1 += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + 16];
        }
        sumf += (float)(sumi0 + sumi1) * F16(w[b].d) * F16(x[b].d);
    }
    return sumf;
}

/* iq4_nl as llama.cpp's scalar loop: sumf += (dw * dx) * sumi */
float heed_dot_iq4_nl_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_iq4_nl *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        const int32_t sumi = heed_codebook_dot32(heed_iq4_nl_values, w[b].qs, x[b].qs);
        sumf += F16(w[b].d) * F16(x[b].d) * (float)sumi;
    }
    return sumf;
}

/* mxfp4 as llama.cpp's scalar loop: sumf += (step · dx) · sumi */
float heed_dot_mxfp4_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_mxfp4 *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        const int32_t sumi = heed_codebook_dot32(heed_mxfp4_values, w[b].qs, x[b].qs);
        sumf += heed_mxfp4_step(w[b].e) * F16(x[b].d) * (float)sumi;
    }
    return sumf;
}

/* iq4_xs as llama.cpp's AVX2 loop: per super-block the integer
 * Σ (scale - 32) · Σ q·x, then sumf += (dw · dx) · sumi */
float heed_dot_iq4_xs_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_iq4_xs *w = vw;
    const heed_block_q8_K *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int32_t sumi = 0;
        for (int ib = 0; ib < 8; ib++)
            sumi += heed_iq4_xs_scale(&w[b], ib) *
                    heed_codebook_dot32(heed_iq4_nl_values, w[b].qs + 16 * ib, x[b].qs + 32 * ib);
        sumf += F16(w[b].d) * x[b].d * (float)sumi;
    }
    return sumf;
}

/* The grid and ternary types through their one shape (tensor/iq.h):
 * llama.cpp's generic loop, sumf += (dw · dx) · Σ_g scale_g · (v · q)_g
 * per block, times the type's unit at the end. */
static float dot_iq(int type, const void *vw, const void *vx, int64_t n)
{
    const heed_iq_format *f = heed_iq_format_of(type);
    const uint8_t *w = vw;
    const heed_block_q8_K *x = vx;
    heed_iq_block u;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++, w += f->block_bytes) {
        f->unpack(w, &u);
        int32_t sumi = 0;
        for (int g = 0; g < 16; g++) {
            int32_t sum = 0;
            for (int j = 16 * g; j < 16 * g + 16; j++)
                sum += u.v[j] * x[b].qs[j];
            sumi += u.scale[g] * sum;
        }
        sumf += u.d * x[b].d * (float)sumi;
    }
    return sumf * f->unit;
}

#define DOT_IQ(sfx, TYPE)                                                       \
    float heed_dot_##sfx##_scalar(const void *w, const void *x, int64_t n)      \
    {                                                                           \
        return dot_iq(HEED_TYPE_##TYPE, w, x, n);                               \
    }
DOT_IQ(iq2_xxs, IQ2_XXS)
DOT_IQ(iq2_xs, IQ2_XS)
DOT_IQ(iq2_s, IQ2_S)
DOT_IQ(iq3_xxs, IQ3_XXS)
DOT_IQ(iq3_s, IQ3_S)
DOT_IQ(iq1_s, IQ1_S)
DOT_IQ(iq1_m, IQ1_M)
DOT_IQ(tq1_0, TQ1_0)
DOT_IQ(tq2_0, TQ2_0)

/* sumf += (dw * dx) * sumi + m * s */
float heed_dot_q4_1_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q4_1 *w = vw;
    const heed_block_q8_1 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK4_1; b++) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; j++) {
            sumi0 += (w[b].qs[j] & 0x0f) * x[b].qs[j];
            sumi1 += (w[b].qs[j] >> 4) * x[b].qs[j + 16];
        }
        sumf += (F16(w[b].d) * F16(x[b].d)) * (float)(sumi0 + sumi1) + F16(w[b].m) * F16(x[b].s);
    }
    return sumf;
}

/* The 5-bit quant of element j of a q5 block: low nibble + bit j of qh. */
static int q5_value(const uint8_t *qs, uint32_t qh, int j)
{
    int lo = j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4;
    return lo | (int)((qh >> j) & 1) << 4;
}

/* sumf += (dw * dx) * sumi */
float heed_dot_q5_0_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q5_0 *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK5_0; b++) {
        uint32_t qh;
        memcpy(&qh, w[b].qh, sizeof qh);
        int sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += (q5_value(w[b].qs, qh, j) - 16) * x[b].qs[j];
        sumf += (F16(w[b].d) * F16(x[b].d)) * (float)sumi;
    }
    return sumf;
}

/* sumf += (dw * dx) * sumi + m * s */
float heed_dot_q5_1_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q5_1 *w = vw;
    const heed_block_q8_1 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK5_1; b++) {
        uint32_t qh;
        memcpy(&qh, w[b].qh, sizeof qh);
        int sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += q5_value(w[b].qs, qh, j) * x[b].qs[j];
        sumf += (F16(w[b].d) * F16(x[b].d)) * (float)sumi + F16(w[b].m) * F16(x[b].s);
    }
    return sumf;
}

/* sumf += sumi * (dw * dx) */
float heed_dot_q8_0_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q8_0 *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK8_0; b++) {
        int sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += w[b].qs[j] * x[b].qs[j];
        sumf += (float)sumi * (F16(w[b].d) * F16(x[b].d));
    }
    return sumf;
}

/* ------------------------------------------------------------ k-quants */

/* q2_K: sumf += dall * isum - dmin * summs per super-block, with
 * dall = dx * d, dmin = dx * dmin and summs = sum of bsums * mins. */
float heed_dot_q2_K_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q2_K *w = vw;
    const heed_block_q8_K *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        const uint8_t *sc = w[b].scales;
        int summs = 0;
        for (int s = 0; s < 16; s++)
            summs += x[b].bsums[s] * (sc[s] >> 4);
        const float dall = x[b].d * F16(w[b].d);
        const float dmin = x[b].d * F16(w[b].dmin);
        int isum = 0;
        for (int i = 0; i < HEED_QK_K; i += 16) {
            /* sub-block s = i/16: element i lives in byte 32*(i/128) + i%32
             * at bit 2*((i%128)/32) */
            const uint8_t *q2 = w[b].qs + 32 * (i / 128) + i % 32;
            const int shift = 2 * ((i % 128) / 32);
            int isuml = 0;
            for (int l = 0; l < 16; l++)
                isuml += x[b].qs[i + l] * ((q2[l] >> shift) & 3);
            isum += (sc[i / 16] & 0x0f) * isuml;
        }
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    return sumf;
}

/* Adds sub-block scale * q(i) * q8(i) into lane i%8 for the 256 elements
 * of a super-block whose quants (already offset) are in a[] and whose
 * 16-element sub-block scales are in scale16[] (q4_K/q5_K pass each
 * 32-element scale twice). Written as runs of 8 so compilers vectorise
 * it; integer sums, so the order is free. */
static void lanes_add(int32_t lanes[8], const int8_t *a, const int8_t *q8, const int *scale16)
{
    for (int s = 0; s < 16; s++)
        for (int h = 0; h < 16; h += 8)
            for (int l = 0; l < 8; l++)
                lanes[l] += scale16[s] * (a[16 * s + h + l] * q8[16 * s + h + l]);
}

/* The float tail of the generic k-quant kernels: sums[l] += d * lanes[l]. */
static void lanes_scale(float sums[8], const int32_t lanes[8], float d)
{
    for (int l = 0; l < 8; l++)
        sums[l] += d * (float)lanes[l];
}

static float lanes_total(float sumf, const float sums[8])
{
    for (int l = 0; l < 8; l++)
        sumf += sums[l];
    return sumf;
}

/* q3_K: x = d * (scale - 32) * (q - 4); q's bit 2 is *set* in hmask when
 * the element is not lowered by 4. */
float heed_dot_q3_K_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q3_K *w = vw;
    const heed_block_q8_K *x = vx;
    float sums[8] = {0};
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int8_t a[HEED_QK_K];
        int scale16[16];
        /* runs of 32: element 128k + 32g + l has its low bits in
         * qs[32k + l] at bit 2g and its high bit in hmask[l] at bit 4k + g */
        for (int k = 0; k < 2; k++)
            for (int g = 0; g < 4; g++)
                for (int l = 0; l < 32; l++) {
                    const int lo = (w[b].qs[32 * k + l] >> (2 * g)) & 3;
                    const int hi = (w[b].hmask[l] >> (4 * k + g)) & 1;
                    a[128 * k + 32 * g + l] = (int8_t)(lo - (hi ? 0 : 4));
                }
        for (int s = 0; s < 16; s++)
            scale16[s] = heed_q3_K_scale(w[b].scales, s) - 32;
        int32_t lanes[8] = {0};
        lanes_add(lanes, a, x[b].qs, scale16);
        lanes_scale(sums, lanes, F16(w[b].d) * x[b].d);
    }
    return lanes_total(0.0f, sums);
}

/* One q4_K / q5_K super-block (they differ only in the fifth bit, qh
 * NULL for q4_K). The min term goes straight into *sumf (sumf -= dmin *
 * sumi), the scaled quants into the lanes; llama.cpp adds the lanes to
 * sumf after the last block. */
static void q45_K_block(uint16_t d, uint16_t dmin, const uint8_t *scales, const uint8_t *qs,
                        const uint8_t *qh, const heed_block_q8_K *x, float sums[8], float *sumf)
{
    int8_t a[HEED_QK_K];
    int scale16[16];
    int sumi = 0;
    /* runs of 32: element 64k + l (l < 32) is the low nibble of
     * qs[32k + l], element 64k + 32 + l its high nibble; the fifth bit of
     * element i is bit i/32 of qh[i%32] */
    for (int k = 0; k < 4; k++) {
        for (int l = 0; l < 32; l++)
            a[64 * k + l] = (int8_t)(qs[32 * k + l] & 0x0f);
        for (int l = 0; l < 32; l++)
            a[64 * k + 32 + l] = (int8_t)(qs[32 * k + l] >> 4);
    }
    if (qh)
        for (int k = 0; k < 8; k++)
            for (int l = 0; l < 32; l++)
                a[32 * k + l] = (int8_t)(a[32 * k + l] | ((qh[l] >> k) & 1) << 4);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, mn;
        heed_k_scale_min(j, scales, &sc, &mn);
        scale16[2 * j] = scale16[2 * j + 1] = sc;
        sumi += x->bsums[2 * j] * mn + x->bsums[2 * j + 1] * mn;
    }
    int32_t lanes[8] = {0};
    lanes_add(lanes, a, x->qs, scale16);
    lanes_scale(sums, lanes, F16(d) * x->d);
    *sumf -= (F16(dmin) * x->d) * (float)sumi;
}

float heed_dot_q4_K_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q4_K *w = vw;
    const heed_block_q8_K *x = vx;
    float sums[8] = {0}, sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++)
        q45_K_block(w[b].d, w[b].dmin, w[b].scales, w[b].qs, NULL, &x[b], sums, &sumf);
    return lanes_total(sumf, sums);
}

float heed_dot_q5_K_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q5_K *w = vw;
    const heed_block_q8_K *x = vx;
    float sums[8] = {0}, sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++)
        q45_K_block(w[b].d, w[b].dmin, w[b].scales, w[b].qs, w[b].qh, &x[b], sums, &sumf);
    return lanes_total(sumf, sums);
}

/* q6_K: x = d * scale * (q - 32), signed 8-bit scales per 16. */
float heed_dot_q6_K_scalar(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q6_K *w = vw;
    const heed_block_q8_K *x = vx;
    float sums[8] = {0};
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int8_t a[HEED_QK_K];
        int scale16[16];
        /* runs of 32 (see blocks.h): in half h, group g = 0..3 takes the
         * low (g < 2) or high nibble of ql[64h + 32(g&1) + r] and bits
         * 2g..2g+1 of qh[32h + r] */
        for (int h = 0; h < 2; h++)
            for (int r = 0; r < 32; r++) {
                const uint8_t l0 = w[b].ql[64 * h + r], l1 = w[b].ql[64 * h + 32 + r];
                const uint8_t qh = w[b].qh[32 * h + r];
                int8_t *o = a + 128 * h + r;
                o[0] = (int8_t)(((l0 & 0x0f) | (qh & 3) << 4) - 32);
                o[32] = (int8_t)(((l1 & 0x0f) | ((qh >> 2) & 3) << 4) - 32);
                o[64] = (int8_t)(((l0 >> 4) | ((qh >> 4) & 3) << 4) - 32);
                o[96] = (int8_t)(((l1 >> 4) | ((qh >> 6) & 3) << 4) - 32);
            }
        for (int s = 0; s < 16; s++)
            scale16[s] = w[b].scales[s];
        int32_t lanes[8] = {0};
        lanes_add(lanes, a, x[b].qs, scale16);
        lanes_scale(sums, lanes, F16(w[b].d) * x[b].d);
    }
    return lanes_total(0.0f, sums);
}
