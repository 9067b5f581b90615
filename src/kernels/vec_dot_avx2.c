/*
 * vec_dot_avx2.c — AVX2 + FMA + F16C dot products for the common weight
 * types (f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K). Each function
 * carries its own target attribute, so this file builds for plain x86-64
 * and the code runs only where heed_vec_dot_variant found the CPU able.
 *
 * Same integer block sums as the scalar references in vec_dot.c (exact,
 * no saturation: every 16-bit pair sum below is bounded in a comment);
 * the scaled sums are accumulated in 8 float lanes with FMA, as
 * llama.cpp's AVX2 kernels do, so the float result differs from the
 * reference by rounding only.
 */
#include "kernels/vec_dot.h"

#include <stddef.h>
#include <string.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum8(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

AVX2 static inline float f16(uint16_t h)
{
    return _cvtsh_ss(h);
}

/* Unaligned loads: rows and blocks are only 2-byte aligned. */
AVX2 static inline __m128i ld128(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}
AVX2 static inline __m256i ld256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* 8 int32 sums of a*b over 32 signed bytes each (4 per lane); b must
 * not hold -128 (activation quants are in -127..127). The byte products
 * go through |a| (unsigned) * sign(a)b, and a pair sum is at most
 * 2 * 128 * 127 = 32512, which fits int16. */
AVX2 static inline __m256i dot_i8(__m256i a, __m256i b)
{
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* ------------------------------------------------------------ f32, f16 */

AVX2 static float dot_f32(const void *vw, const void *vx, int64_t n)
{
    const float *w = vw, *x = vx;
    /* four accumulators hide the FMA latency */
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8 * k), _mm256_loadu_ps(x + i + 8 * k),
                                     acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), acc[0]);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += w[i] * x[i];
    return sum;
}

AVX2 static inline __m256 load_f16x8(const uint16_t *p)
{
    return _mm256_cvtph_ps(ld128(p));
}

AVX2 static float dot_f16(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(load_f16x8(w + i + 8 * k), load_f16x8(x + i + 8 * k), acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load_f16x8(w + i), load_f16x8(x + i), acc[0]);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += f16(w[i]) * f16(x[i]); /* exact product */
    return sum;
}

/* bf16 -> f32 is a 16-bit shift: exact */
AVX2 static inline __m256 load_bf16x8(const uint16_t *p)
{
    const __m256i v = _mm256_cvtepu16_epi32(ld128(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

AVX2 static float dot_bf16(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] =
                _mm256_fmadd_ps(load_bf16x8(w + i + 8 * k), load_bf16x8(x + i + 8 * k), acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load_bf16x8(w + i), load_bf16x8(x + i), acc[0]);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += heed_bf16_to_f32(w[i]) * heed_bf16_to_f32(x[i]); /* exact product */
    return sum;
}

/* ---------------------------------------------------------- q8_0, q4_0 */

/* The 32 quants of a q4_0 block as bytes: low nibbles first (elements
 * 0..15), then high nibbles (16..31). */
AVX2 static inline __m256i nibbles32(const uint8_t *qs)
{
    const __m128i t = ld128(qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* acc + the scaled sums of one block (f16 d first, the quants at byte 2)
 * of q8_0 or, q4 set, q4_0 (q - 8 in -8..7, exact as a signed byte). */
AVX2 static inline __m256 legacy_block(__m256 acc, const uint8_t *w, const heed_block_q8_0 *x,
                                       int q4)
{
    uint16_t d;
    memcpy(&d, w, 2);
    const __m256i qw = q4 ? _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8)) : ld256(w + 2);
    const __m256i p = dot_i8(qw, ld256(x->qs));
    return _mm256_fmadd_ps(_mm256_set1_ps(f16(d) * f16(x->d)), _mm256_cvtepi32_ps(p), acc);
}

/* Blocks of `stride` bytes; two a step into two accumulators, to hide
 * the FMA latency. */
AVX2 static inline __attribute__((always_inline)) float
legacy_dot(const uint8_t *w, size_t stride, const heed_block_q8_0 *x, int64_t n, int q4)
{
    const int64_t nb = n / HEED_QK8_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 2 * stride) {
        acc0 = legacy_block(acc0, w, &x[b], q4);
        acc1 = legacy_block(acc1, w + stride, &x[b + 1], q4);
    }
    if (b < nb)
        acc0 = legacy_block(acc0, w, &x[b], q4);
    return hsum8(_mm256_add_ps(acc0, acc1));
}

AVX2 static float dot_q8_0(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q8_0, qs) == 2, "q8_0 layout");
    return legacy_dot(w, sizeof(heed_block_q8_0), x, n, 0);
}

AVX2 static float dot_q4_0(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q4_0, qs) == 2, "q4_0 layout");
    return legacy_dot(w, sizeof(heed_block_q4_0), x, n, 1);
}

/* ------------------------------------------------------------ k-quants */

/* sum_s bsums[s] * m16[s] over the 16 sub-blocks of a q8_K block. */
AVX2 static inline __m256i bsums_dot(const int16_t *bsums, __m256i m16)
{
    return _mm256_madd_epi16(ld256(bsums), m16);
}

AVX2 static inline int hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
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

AVX2 static float dot_q4_K(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q4_K *w = vw;
    const heed_block_q8_K *x = vx;
    __m256 acc = _mm256_setzero_ps();
    float summin = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int isum_min;
        const __m256i sumi = q45_K_block(w[b].scales, w[b].qs, NULL, &x[b], &isum_min);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[b].d) * x[b].d), _mm256_cvtepi32_ps(sumi), acc);
        summin -= (f16(w[b].dmin) * x[b].d) * (float)isum_min;
    }
    return hsum8(acc) + summin;
}

AVX2 static float dot_q5_K(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q5_K *w = vw;
    const heed_block_q8_K *x = vx;
    __m256 acc = _mm256_setzero_ps();
    float summin = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int isum_min;
        const __m256i sumi = q45_K_block(w[b].scales, w[b].qs, w[b].qh, &x[b], &isum_min);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(w[b].d) * x[b].d), _mm256_cvtepi32_ps(sumi), acc);
        summin -= (f16(w[b].dmin) * x[b].d) * (float)isum_min;
    }
    return hsum8(acc) + summin;
}

AVX2 static float dot_q6_K(const void *vw, const void *vx, int64_t n)
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

heed_vec_dot_fn heed_vec_dot_avx2_get(int t)
{
    switch (t) {
    case HEED_TYPE_F32: return dot_f32;
    case HEED_TYPE_F16: return dot_f16;
    case HEED_TYPE_Q8_0: return dot_q8_0;
    case HEED_TYPE_Q4_0: return dot_q4_0;
    case HEED_TYPE_BF16: return dot_bf16;
    case HEED_TYPE_Q4_K: return dot_q4_K;
    case HEED_TYPE_Q5_K: return dot_q5_K;
    case HEED_TYPE_Q6_K: return dot_q6_K;
    default: return NULL;
    }
}

#else /* not x86-64: no AVX2 */

heed_vec_dot_fn heed_vec_dot_avx2_get(int t)
{
    (void)t;
    return NULL;
}

#endif
