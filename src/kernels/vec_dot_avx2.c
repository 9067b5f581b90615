/*
 * vec_dot_avx2.c — AVX2 + FMA + F16C dot products for the common weight
 * types (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K .. q6_K). Each function
 * carries its own target attribute, so this file builds for plain x86-64
 * and the code runs only where the kernel table found the CPU able.
 *
 * Same integer block sums as the scalar references in vec_dot.c (exact,
 * no saturation: every 16-bit pair sum below is bounded in a comment);
 * the scaled sums are accumulated in 8 float lanes with FMA, as
 * llama.cpp's AVX2 kernels do, so the float result differs from the
 * reference by rounding only.
 */
#include "kernels/kernel_table.h"

#include <stddef.h>
#include <string.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/vec_dot_x86.h"

/* This file's kernels: heed_<kernel>_avx2, listed in kernel_table.c. */
#define KERNEL(name) heed_##name##_avx2

/* 8 int32 sums of a*b over 32 signed bytes each (4 per lane); b must
 * not hold -128 (activation quants are in -127..127). The byte products
 * go through |a| (unsigned) * sign(a)b, and a pair sum is at most
 * 2 * 128 * 127 = 32512, which fits int16. */
AVX2 static inline __m256i dot_i8(__m256i a, __m256i b)
{
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* ------------------------------------------------------ f32, f16, bf16 */

/* 8 floats of a row of type t (f32, f16 or bf16) from element i; f16
 * and bf16 convert exactly (bf16 -> f32 is a 16-bit shift). */
AVX2 static inline __attribute__((always_inline)) __m256 load8(const void *p, int64_t i, int t)
{
    switch (t) {
    case HEED_TYPE_F32: return _mm256_loadu_ps((const float *)p + i);
    case HEED_TYPE_F16: return _mm256_cvtph_ps(ld128((const uint16_t *)p + i));
    default: {
        const __m256i v = _mm256_cvtepu16_epi32(ld128((const uint16_t *)p + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    }
}

/* Element i of a row of type t, as load8. */
AVX2 static inline __attribute__((always_inline)) float load1(const void *p, int64_t i, int t)
{
    switch (t) {
    case HEED_TYPE_F32: return ((const float *)p)[i];
    case HEED_TYPE_F16: return f16(((const uint16_t *)p)[i]);
    default: return heed_bf16_to_f32(((const uint16_t *)p)[i]);
    }
}

AVX2 static inline __attribute__((always_inline)) float dot_float(const void *w, const void *x,
                                                                  int64_t n, int t)
{
    /* four accumulators hide the FMA latency */
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(load8(w, i + 8 * k, t), load8(x, i + 8 * k, t), acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load8(w, i, t), load8(x, i, t), acc[0]);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += load1(w, i, t) * load1(x, i, t); /* f16, bf16: exact product */
    return sum;
}

AVX2 float KERNEL(dot_f32)(const void *w, const void *x, int64_t n)
{
    return dot_float(w, x, n, HEED_TYPE_F32);
}

AVX2 float KERNEL(dot_f16)(const void *w, const void *x, int64_t n)
{
    return dot_float(w, x, n, HEED_TYPE_F16);
}

AVX2 float KERNEL(dot_bf16)(const void *w, const void *x, int64_t n)
{
    return dot_float(w, x, n, HEED_TYPE_BF16);
}

/* ---------------------------------------------------------- q8_0, q4_0 */

/* q8_0: w * x directly; q4_0: the quants minus 8 (-8..7) as signed bytes. */
/* Hooks of vec_dot_x86_legacy.h: weights as signed bytes (q4_0: q - 8),
 * each pair through dot_i8. */
AVX2 static inline __m256i w_q8(const int8_t *qs) { return ld256(qs); }
AVX2 static inline __m256i w_q4(const uint8_t *qs)
{
    return _mm256_sub_epi8(nibbles32(qs), _mm256_set1_epi8(8));
}
AVX2 static inline __m256i w_q5(const uint8_t *qh_qs)
{
    const __m256i q = _mm256_or_si256(nibbles32(qh_qs + 4), q5_high(qh_qs));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(16));
}
AVX2 static inline __m256i x_prep(__m256i qx) { return qx; }
AVX2 static inline __m256i x_prep5(__m256i qx) { return qx; }
AVX2 static inline __m256i pair_q8(__m256i w, __m256i qx) { return dot_i8(w, qx); }
AVX2 static inline __m256i pair_q4(__m256i w, __m256i qx, __m256i px)
{
    (void)px;
    return dot_i8(w, qx);
}

#define TARGET AVX2
#define LEGACY_MAX_ROWS 2
#include "kernels/vec_dot_x86_legacy.h"
#undef LEGACY_MAX_ROWS
#undef TARGET

/* ------------------------------------------------ q4_1, q5_0, q5_1 */

/* 8 int32 sums of u * x, u unsigned bytes up to 31: a pair sum is at
 * most 2 * 31 * 127, which fits int16. */
AVX2 static inline __m256i dot_u8(__m256i u, __m256i x)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

AVX2 float KERNEL(dot_q5_0)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q5_0 *w = vw;
    const heed_block_q8_0 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HEED_QK5_0; b++) {
        const __m256i q = _mm256_or_si256(nibbles32(w[b].qs), q5_high(w[b].qh));
        const __m256i p = dot_i8(_mm256_sub_epi8(q, _mm256_set1_epi8(16)), ld256(x[b].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[b].d) * f16(x[b].d)), _mm256_cvtepi32_ps(p), acc);
    }
    return hsum8(acc);
}

/* q4_1 and q5_1 against q8_1: d·dx·Σ q x in the lanes, plus m·s (s is
 * dx·Σ x, stored with the activation block) summed on the side. */
AVX2 static inline __attribute__((always_inline)) float
dot_min_type(const uint8_t *w, size_t stride, const heed_block_q8_1 *x, int64_t nb, int q5)
{
    __m256 acc = _mm256_setzero_ps();
    float mins = 0.0f;
    for (int64_t b = 0; b < nb; b++, w += stride) {
        uint16_t d, m;
        memcpy(&d, w, 2);
        memcpy(&m, w + 2, 2);
        __m256i q = nibbles32(w + (q5 ? 8 : 4));
        if (q5)
            q = _mm256_or_si256(q, q5_high(w + 4));
        const __m256i p = dot_u8(q, ld256(x[b].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(d) * f16(x[b].d)), _mm256_cvtepi32_ps(p), acc);
        mins += f16(m) * f16(x[b].s);
    }
    return hsum8(acc) + mins;
}

AVX2 float KERNEL(dot_q4_1)(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q4_1, qs) == 4, "q4_1 layout");
    return dot_min_type(w, sizeof(heed_block_q4_1), x, n / HEED_QK4_1, 0);
}

AVX2 float KERNEL(dot_q5_1)(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q5_1, qh) == 4 && offsetof(heed_block_q5_1, qs) == 8,
                   "q5_1 layout");
    return dot_min_type(w, sizeof(heed_block_q5_1), x, n / HEED_QK5_1, 1);
}

/* A tile of q4_1 / q5_1 products, R (<= 2) rows × T (<= 4) tokens (16
 * registers hold no more): every element exactly as dot_min_type computes
 * it, so tile and dot product give the same bits. */
AVX2 static inline __attribute__((always_inline)) void
min_tile(const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int64_t n, float *y,
         int64_t ys, const int R, const int T, const int q5)
{
    const size_t stride = q5 ? sizeof(heed_block_q5_1) : sizeof(heed_block_q4_1);
    __m256 acc[2][4];
    float mins[2][4];
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++) {
            acc[r][t] = _mm256_setzero_ps();
            mins[r][t] = 0.0f;
        }
    for (int64_t b = 0; b < n / HEED_QK8_1; b++) {
        __m256i qx[4];
        float dx[4], sx[4];
        HEED_UNROLL for (int t = 0; t < T; t++) {
            const heed_block_q8_1 *xb = (const heed_block_q8_1 *)(x + (size_t)t * xs) + b;
            qx[t] = ld256(xb->qs);
            dx[t] = f16(xb->d);
            sx[t] = f16(xb->s);
        }
        HEED_UNROLL for (int r = 0; r < R; r++) {
            const uint8_t *wb = w + (size_t)r * ws + (size_t)b * stride;
            uint16_t d, m;
            memcpy(&d, wb, 2);
            memcpy(&m, wb + 2, 2);
            __m256i q = nibbles32(wb + (q5 ? 8 : 4));
            if (q5)
                q = _mm256_or_si256(q, q5_high(wb + 4));
            const float dw = f16(d), mw = f16(m);
            HEED_UNROLL for (int t = 0; t < T; t++) {
                acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx[t]),
                                            _mm256_cvtepi32_ps(dot_u8(q, qx[t])), acc[r][t]);
                mins[r][t] += mw * sx[t];
            }
        }
    }
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++)
            y[t * ys + r] = hsum8(acc[r][t]) + mins[r][t];
}

AVX2 void KERNEL(tile_q4_1)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                           float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(2, min_tile, 0)
}

AVX2 void KERNEL(tile_q5_1)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                           float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(2, min_tile, 1)
}

/* ------------------------------------------------------------ k-quants */

/* sum_s bsums[s] * m16[s] over the 16 sub-blocks of a q8_K block. */
AVX2 static inline __m256i bsums_dot(const int16_t *bsums, __m256i m16)
{
    return _mm256_madd_epi16(ld256(bsums), m16);
}

/* One q4_K / q5_K super-block (qh NULL for q4_K): the 8 int32 lane sums
 * of scale * q * q8, and in *isum_min the min term sum_s bsums[s] *
 * mn[s/2]. */
AVX2 static inline __m256i q45_K_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh,
                                       const heed_block_q8_K *x, int *isum_min)
{
    uint8_t sc[8], mn[8];
    heed_k_scales_unpack(scales, sc, mn);
    const __m256i m16 = _mm256_setr_epi16(mn[0], mn[0], mn[1], mn[1], mn[2], mn[2], mn[3], mn[3],
                                          mn[4], mn[4], mn[5], mn[5], mn[6], mn[6], mn[7], mn[7]);
    *isum_min = hsum_i32(bsums_dot(x->bsums, m16));

    const __m256i m4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    const __m256i hbits = qh ? ld256(qh) : _mm256_setzero_si256();
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) { /* 64 elements: sub-blocks 2j, 2j+1 */
        const __m256i q = ld256(qs + 32 * j);
        __m256i lo = _mm256_and_si256(q, m4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if (qh) { /* fifth bit of run k = bit k of qh[l], moved to bit 4 */
            lo = _mm256_or_si256(
                lo, _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hbits, 2 * j), 4), bit4));
            hi = _mm256_or_si256(
                hi,
                _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hbits, 2 * j + 1), 4), bit4));
        }
        const int8_t *q8 = x->qs + 64 * j;
        /* pair sums <= 2 * 31 * 128: no saturation */
        __m256i plo = _mm256_maddubs_epi16(lo, ld256(q8));
        __m256i phi = _mm256_maddubs_epi16(hi, ld256(q8 + 32));
        plo = _mm256_madd_epi16(plo, _mm256_set1_epi16(sc[2 * j]));
        phi = _mm256_madd_epi16(phi, _mm256_set1_epi16(sc[2 * j + 1]));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
    }
    return sumi;
}

/* Rows of q4_K (q5 0) or q5_K: the same fields but q5_K's qh. */
AVX2 static inline __attribute__((always_inline)) float
q45_K_dot(const void *w, const heed_block_q8_K *x, int64_t n, int q5)
{
    const heed_block_q4_K *w4 = w;
    const heed_block_q5_K *w5 = w;
    __m256 acc = _mm256_setzero_ps();
    float summin = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int isum_min;
        const __m256i sumi =
            q5 ? q45_K_block(w5[b].scales, w5[b].qs, w5[b].qh, &x[b], &isum_min)
               : q45_K_block(w4[b].scales, w4[b].qs, NULL, &x[b], &isum_min);
        const float d = f16(q5 ? w5[b].d : w4[b].d), dmin = f16(q5 ? w5[b].dmin : w4[b].dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * x[b].d), _mm256_cvtepi32_ps(sumi), acc);
        summin -= (dmin * x[b].d) * (float)isum_min;
    }
    return hsum8(acc) + summin;
}

AVX2 float KERNEL(dot_q4_K)(const void *w, const void *x, int64_t n)
{
    return q45_K_dot(w, x, n, 0);
}

AVX2 float KERNEL(dot_q5_K)(const void *w, const void *x, int64_t n)
{
    return q45_K_dot(w, x, n, 1);
}

AVX2 float KERNEL(dot_q6_K)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q6_K *w = vw;
    const heed_block_q8_K *x = vx;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        /* sum (q - 32) * x = sum q * x - 32 * sum x, and sum x per
         * sub-block of 16 is bsums: the offset costs one madd */
        const __m256i sc16 = _mm256_cvtepi8_epi16(ld128(w[b].scales));
        __m256i sumi = _mm256_slli_epi32(bsums_dot(x[b].bsums, sc16), 5);
        sumi = _mm256_sub_epi32(_mm256_setzero_si256(), sumi);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[b].ql + 64 * h;
            const __m256i l0 = ld256(ql);
            const __m256i l1 = ld256(ql + 32);
            const __m256i qh = ld256(w[b].qh + 32 * h);
            /* group g (32 elements): 4 low bits from l0/l1, 2 high bits
             * from qh at bit 2g; 16-bit shifts, masked per byte */
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_and_si256(qh, m2));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
            for (int g = 0; g < 4; g++) {
                const int s = 8 * h + 2 * g; /* sub-blocks s (bytes 0..15), s+1 */
                const __m256i q8 = ld256(x[b].qs + 128 * h + 32 * g);
                /* q in 0..63: pair sums <= 2 * 63 * 128 */
                const __m256i p = _mm256_maddubs_epi16(q[g], q8);
                const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(w[b].scales[s + 1]),
                                                     _mm_set1_epi16(w[b].scales[s]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scv));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[b].d) * x[b].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum8(acc);
}

/* q2_K, q3_K: in half h the 32 bytes qs[32h..] hold run j (elements 128h
 * + 32j + l) at bits 2j, 2j+1; the run's first 16 are sub-block 8h + 2j,
 * the rest the next. q3_K's third bit is bit 4h + j of hmask[l], its
 * values q - 4: the quants go in unsigned and 4·Σ q8 per sub-block (the
 * block sums) comes off the lanes, exactly. Pair sums <= 2 · 7 · 128. */
AVX2 static inline __m256i q23_K_block(const uint8_t *qs, const uint8_t *hmask,
                                       const int16_t scale[16], const heed_block_q8_K *x)
{
    const __m256i m3 = _mm256_set1_epi8(0x03), bit2 = _mm256_set1_epi8(0x04);
    const __m256i hbits = hmask ? ld256(hmask) : _mm256_setzero_si256();
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const __m256i v = ld256(qs + 32 * h);
        for (int j = 0; j < 4; j++) {
            __m256i q = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m3);
            if (hmask) /* within a byte: bit 4h + j to bit 0, then to bit 2 */
                q = _mm256_or_si256(q, _mm256_and_si256(
                    _mm256_slli_epi16(_mm256_srli_epi16(hbits, 4 * h + j), 2), bit2));
            const int s = 8 * h + 2 * j;
            const __m256i p = _mm256_maddubs_epi16(q, ld256(x->qs + 16 * s));
            const __m256i scv =
                _mm256_set_m128i(_mm_set1_epi16(scale[s + 1]), _mm_set1_epi16(scale[s]));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scv));
        }
    }
    if (hmask) { /* - 4 · Σ_s scale_s · bsum_s, spread over the lanes */
        const __m256i off = _mm256_madd_epi16(ld256(x->bsums), ld256(scale));
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(off, 2));
    }
    return sumi;
}

AVX2 float KERNEL(dot_q2_K)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q2_K *w = vw;
    const heed_block_q8_K *x = vx;
    __m256 acc = _mm256_setzero_ps();
    float summin = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int16_t sc[16], mn[16];
        for (int s = 0; s < 16; s++) {
            sc[s] = (int16_t)(w[b].scales[s] & 0x0f);
            mn[s] = (int16_t)(w[b].scales[s] >> 4);
        }
        const __m256i sumi = q23_K_block(w[b].qs, NULL, sc, &x[b]);
        const int isum_min = hsum_i32(_mm256_madd_epi16(ld256(x[b].bsums), ld256(mn)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[b].d) * x[b].d), _mm256_cvtepi32_ps(sumi), acc);
        summin -= (f16(w[b].dmin) * x[b].d) * (float)isum_min;
    }
    return hsum8(acc) + summin;
}

AVX2 float KERNEL(dot_q3_K)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q3_K *w = vw;
    const heed_block_q8_K *x = vx;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int16_t sc[16];
        for (int s = 0; s < 16; s++)
            sc[s] = (int16_t)(heed_q3_K_scale(w[b].scales, s) - 32);
        const __m256i sumi = q23_K_block(w[b].qs, w[b].hmask, sc, &x[b]);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[b].d) * x[b].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum8(acc);
}

#endif
