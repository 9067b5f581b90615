/*
 * vec_dot_avx512.c — AVX-512 (F, BW, VL) dot products for f32, f16, q8_0,
 * q4_0, q4_K and q6_K, the quantised ones in two builds: plain and with
 * VNNI (vec_dot_avx512_q.h). Per-function target attributes keep the
 * file buildable for plain x86-64; heed_vec_dot_variant checks the CPU.
 *
 * As in vec_dot_avx2.c: integer block sums exactly as the scalar
 * reference computes them, scaled sums accumulated in 16 float lanes
 * with FMA; legacy blocks go two to a register (one per 256-bit half).
 */
#include "kernels/vec_dot.h"

#include <stddef.h>
#include <string.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

AVX512 static inline float f16(uint16_t h) { return _cvtsh_ss(h); }

/* ------------------------------------------------------------ f32, f16 */

AVX512 static float dot_f32(const void *vw, const void *vx, int64_t n)
{
    const float *w = vw, *x = vx;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16 * k), _mm512_loadu_ps(x + i + 16 * k),
                                     acc[k]);
    for (; i + 16 <= n; i += 16)
        acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), acc[0]);
    if (i < n) { /* the tail, masked */
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, x + i), acc[1]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

AVX512 static inline __m512 load_f16x16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

AVX512 static float dot_f16(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(load_f16x16(w + i + 16 * k), load_f16x16(x + i + 16 * k), acc[k]);
    for (; i + 16 <= n; i += 16)
        acc[0] = _mm512_fmadd_ps(load_f16x16(w + i), load_f16x16(x + i), acc[0]);
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i)),
                                 _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)), acc[1]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/* ------------------------------------- helpers of the quantised kernels */

/* 32 bytes from a and 32 from b, one per 256-bit half. */
AVX512 static inline __m512i load_pair(const void *a, const void *b)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/* 32 bytes from a, zeros above. */
AVX512 static inline __m512i load_one(const void *a)
{
    return _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)a));
}

/* dw0*dx0 in lanes 0..7, dw1*dx1 in lanes 8..15 (scale products as the
 * reference forms them). */
AVX512 static inline __m512 scale_pair(uint16_t dw0, uint16_t dx0, uint16_t dw1, uint16_t dx1)
{
    return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(f16(dw0) * f16(dx0)),
                                _mm512_set1_ps(f16(dw1) * f16(dx1)));
}

AVX512 static inline __m512 scale_one(uint16_t dw, uint16_t dx)
{
    return _mm512_maskz_mov_ps(0x00ff, _mm512_set1_ps(f16(dw) * f16(dx)));
}

/* The f16 scales of 8 consecutive blocks (the first 2 bytes of each,
 * `stride` bytes apart) as floats. */
AVX512 static inline __m256 scales8(const void *first, size_t stride)
{
    const uint8_t *p = first;
    uint16_t h[8];
    for (int k = 0; k < 8; k++)
        memcpy(&h[k], p + (size_t)k * stride, 2);
    return _mm256_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3],
                                          (short)h[4], (short)h[5], (short)h[6], (short)h[7]));
}

/* Lanes 0..7 = s[2p], lanes 8..15 = s[2p+1]: the scale vector of block
 * pair p of 8 (s = the 8 blocks' scale products). */
AVX512 static inline __m512 spread_pair(__m256 s, int p)
{
    const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(2 * p), _mm256_set1_epi32(2 * p + 1), 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(s));
}

/* The 32 nibbles of a q4_0 block as bytes in element order (low nibbles
 * are elements 0..15, high ones 16..31), block a then block b (zeros if
 * b is NULL). */
AVX512 static inline __m256i nibbles32(const uint8_t *qs)
{
    const __m128i t = _mm_loadu_si128((const __m128i *)(const void *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0f));
}

AVX512 static inline __m512i nibbles_pair(const uint8_t *a, const uint8_t *b)
{
    const __m512i lo = _mm512_zextsi256_si512(nibbles32(a));
    return b ? _mm512_inserti64x4(lo, nibbles32(b), 1) : lo;
}

/* sum_s bsums[s] * mn[s/2] over a q8_K block's 16 sub-block sums. */
AVX512 static inline int bsums_dot_mins(const int16_t *bsums, const uint8_t mn[8])
{
    const __m128i m8 = _mm_loadl_epi64((const __m128i *)(const void *)mn);
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)); /* each twice */
    const __m256i p = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(const void *)bsums), m16);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Permute indices: int16 lane k -> k/16 (half_index) or k/8 (quarter). */
AVX512 static inline __m512i half_index(void)
{
    static const int16_t idx[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    return _mm512_loadu_si512((const void *)idx);
}

AVX512 static inline __m512i quarter_index(void)
{
    static const int16_t idx[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    return _mm512_loadu_si512((const void *)idx);
}

/* ------------------------------------------- the two kernel instances */

#define TARGET AVX512
#define SFX(name) name##_avx512
#define VNNI 0
#include "kernels/vec_dot_avx512_q.h"
#undef TARGET
#undef SFX
#undef VNNI

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define SFX(name) name##_vnni
#define VNNI 1
#include "kernels/vec_dot_avx512_q.h"
#undef TARGET
#undef SFX
#undef VNNI

heed_vec_dot_fn heed_vec_dot_avx512_get(int t, int vnni)
{
    switch (t) {
    case HEED_TYPE_F32: return dot_f32;
    case HEED_TYPE_F16: return dot_f16;
    case HEED_TYPE_Q8_0: return vnni ? dot_q8_0_vnni : dot_q8_0_avx512;
    case HEED_TYPE_Q4_0: return vnni ? dot_q4_0_vnni : dot_q4_0_avx512;
    case HEED_TYPE_Q4_K: return vnni ? dot_q4_K_vnni : dot_q4_K_avx512;
    case HEED_TYPE_Q6_K: return vnni ? dot_q6_K_vnni : dot_q6_K_avx512;
    default: return NULL;
    }
}

#else /* not x86-64: no AVX-512 */

heed_vec_dot_fn heed_vec_dot_avx512_get(int t, int vnni)
{
    (void)t;
    (void)vnni;
    return NULL;
}

#endif
