/*
 * vec_dot_avx512.c — AVX-512 (F, BW, VL) dot products for f32, f16, bf16,
 * q4_K, q5_K and q6_K, the k-quants in two builds: plain and with VNNI
 * (vec_dot_avx512_q.h); and with VNNI only, q8_0 and q4_0 (see below).
 * Per-function target attributes keep the file buildable for plain
 * x86-64; heed_vec_dot_variant checks the CPU.
 *
 * As in vec_dot_avx2.c: integer block sums exactly as the scalar
 * reference computes them, scaled sums accumulated in float lanes with
 * FMA.
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

AVX512 static inline float f16(uint16_t h)
{
    return _cvtsh_ss(h);
}

/* Unaligned loads: rows and blocks are only 2-byte aligned. */
AVX512 static inline __m128i ld128(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}
AVX512 static inline __m256i ld256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}
AVX512 static inline __m512i ld512(const void *p)
{
    return _mm512_loadu_si512(p);
}

/* ------------------------------------------------------------ f32, f16 */

AVX512 static float dot_f32(const void *vw, const void *vx, int64_t n)
{
    const float *w = vw, *x = vx;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16 * k),
                                     _mm512_loadu_ps(x + i + 16 * k), acc[k]);
    for (; i + 16 <= n; i += 16)
        acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), acc[0]);
    if (i < n) { /* the tail, masked */
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, x + i),
                                 acc[1]);
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

AVX512 static inline __m512 load_f16x16(const uint16_t *p)
{
    return _mm512_cvtph_ps(ld256(p));
}

AVX512 static float dot_f16(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] =
                _mm512_fmadd_ps(load_f16x16(w + i + 16 * k), load_f16x16(x + i + 16 * k), acc[k]);
    for (; i + 16 <= n; i += 16)
        acc[0] = _mm512_fmadd_ps(load_f16x16(w + i), load_f16x16(x + i), acc[0]);
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i)),
                                 _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)), acc[1]);
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/* bf16 -> f32 is a 16-bit shift: exact. (Not vdpbf16ps: it flushes
 * subnormals, which the reference does not.) */
AVX512 static inline __m512 bf16_to_f32x16(__m256i v)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}

AVX512 static float dot_bf16(const void *vw, const void *vx, int64_t n)
{
    const uint16_t *w = vw, *x = vx;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(bf16_to_f32x16(ld256(w + i + 16 * k)),
                                     bf16_to_f32x16(ld256(x + i + 16 * k)), acc[k]);
    for (; i < n; i += 16) { /* the tail, masked */
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(bf16_to_f32x16(_mm256_maskz_loadu_epi16(m, w + i)),
                                 bf16_to_f32x16(_mm256_maskz_loadu_epi16(m, x + i)), acc[1]);
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/* ------------------------------------- helpers of the quantised kernels */

/* sum_s bsums[s] * mn[s/2] over a q8_K block's 16 sub-block sums. */
AVX512 static inline int bsums_dot_mins(const int16_t *bsums, const uint8_t mn[8])
{
    const __m128i m8 = _mm_loadl_epi64((const __m128i *)(const void *)mn);
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)); /* each twice */
    const __m256i p = _mm256_madd_epi16(ld256(bsums), m16);
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
    return ld512(idx);
}

AVX512 static inline __m512i quarter_index(void)
{
    static const int16_t idx[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    return ld512(idx);
}

/* -------------------------------------- q8_0, q4_0: 256-bit with VNNI
 *
 * For the 32-element blocks, 512-bit registers (two blocks each) lose on
 * CPUs that split them in halves (AMD Zen 4 measured: 10-20% slower than
 * AVX2, the pairing costs shuffles and the per-block scales stay scalar).
 * What AVX-512 does bring is VNNI on 256-bit registers (AVX512VL): one
 * vpdpbusd replaces vpmaddubsw + vpmaddwd. Without VNNI the AVX2 kernels
 * serve (heed_vec_dot_avx512_get returns NULL for these types). */

#define VNNI256 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

VNNI256 static inline float hsum8(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* 8 int32 sums of w * x over a q8_0 block: |w| (unsigned; -128
 * becomes 128) times sign(w) * x, exact since x is never -128. */
VNNI256 static inline __m256i dot_q8_block(const int8_t *w, const int8_t *x)
{
    const __m256i qw = ld256(w);
    const __m256i qx = ld256(x);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(qw),
                               _mm256_sign_epi8(qx, qw));
}

/* The same for a q4_0 block: sum (q - 8) x = sum q x - 8 sum x, with
 * q in 0..15 unsigned (low nibbles are elements 0..15). */
VNNI256 static inline __m256i dot_q4_block(const uint8_t *w, const int8_t *x)
{
    const __m128i t = ld128(w);
    const __m256i q =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0f));
    const __m256i qx = ld256(x);
    return _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, qx),
                            _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), qx));
}

/* acc + the scaled sums of one block of either type (f16 d first, the
 * quants at byte 2), in 8 float lanes. */
VNNI256 static inline __m256 legacy_block(__m256 acc, const uint8_t *w, const heed_block_q8_0 *x,
                                          int q4)
{
    uint16_t d;
    memcpy(&d, w, 2);
    const __m256i p =
        q4 ? dot_q4_block(w + 2, x->qs) : dot_q8_block((const int8_t *)(w + 2), x->qs);
    return _mm256_fmadd_ps(_mm256_set1_ps(f16(d) * f16(x->d)), _mm256_cvtepi32_ps(p), acc);
}

/* Blocks of `stride` bytes; two a step into two accumulators, to hide
 * the FMA latency. */
VNNI256 static inline __attribute__((always_inline)) float
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

VNNI256 static float dot_q8_0_vnni(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q8_0, qs) == 2, "q8_0 layout");
    return legacy_dot(w, sizeof(heed_block_q8_0), x, n, 0);
}

VNNI256 static float dot_q4_0_vnni(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q4_0, qs) == 2, "q4_0 layout");
    return legacy_dot(w, sizeof(heed_block_q4_0), x, n, 1);
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
    case HEED_TYPE_Q8_0: return vnni ? dot_q8_0_vnni : NULL;
    case HEED_TYPE_Q4_0: return vnni ? dot_q4_0_vnni : NULL;
    case HEED_TYPE_BF16: return dot_bf16;
    case HEED_TYPE_Q4_K: return vnni ? dot_q4_K_vnni : dot_q4_K_avx512;
    case HEED_TYPE_Q5_K: return vnni ? dot_q5_K_vnni : dot_q5_K_avx512;
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
