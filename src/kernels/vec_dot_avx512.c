/*
 * vec_dot_avx512.c — AVX-512 (F, BW, VL) dot products for f32, f16, bf16,
 * q4_K, q5_K and q6_K, the k-quants in two builds: plain and with VNNI
 * (vec_dot_avx512_q.h); and with VNNI only, q8_0 and q4_0 (see below).
 * Per-function target attributes keep the file buildable for plain
 * x86-64; the kernel table checks the CPU.
 *
 * As in vec_dot_avx2.c: integer block sums exactly as the scalar
 * reference computes them, scaled sums accumulated in float lanes with
 * FMA.
 */
#include "kernels/kernel_table.h"

#include <stddef.h>
#include <string.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

#include "kernels/vec_dot_x86.h"

AVX512 static inline __m512i ld512(const void *p)
{
    return _mm512_loadu_si512(p);
}

/* ------------------------------------------------------ f32, f16, bf16 */

/* bf16 -> f32 is a 16-bit shift: exact. (Not vdpbf16ps: it flushes
 * subnormals, which the reference does not.) */
AVX512 static inline __m512 bf16_to_f32x16(__m256i v)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
}

/* 16 floats of a row of type t (f32, f16 or bf16) from element i; and
 * the same masked, lanes outside m zero. */
AVX512 static inline __attribute__((always_inline)) __m512 load16(const void *p, int64_t i, int t)
{
    switch (t) {
    case HEED_TYPE_F32: return _mm512_loadu_ps((const float *)p + i);
    case HEED_TYPE_F16: return _mm512_cvtph_ps(ld256((const uint16_t *)p + i));
    default: return bf16_to_f32x16(ld256((const uint16_t *)p + i));
    }
}

AVX512 static inline __attribute__((always_inline)) __m512 load16_masked(__mmask16 m, const void *p,
                                                                         int64_t i, int t)
{
    if (t == HEED_TYPE_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)p + i);
    const __m256i v = _mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i);
    return t == HEED_TYPE_F16 ? _mm512_cvtph_ps(v) : bf16_to_f32x16(v);
}

/* acc[k] += w * x over the first n / 64 * 64 elements; returns that
 * count. Four accumulators hide the FMA latency. */
AVX512 static inline __attribute__((always_inline)) int64_t fma64(__m512 acc[4], const void *w,
                                                                  const void *x, int64_t n, int t)
{
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] =
                _mm512_fmadd_ps(load16(w, i + 16 * k, t), load16(x, i + 16 * k, t), acc[k]);
    return i;
}

AVX512 static inline float sum4(const __m512 acc[4])
{
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/* f32, f16: the rest 16 at a time into acc[0], the tail masked into acc[1]. */
AVX512 static inline __attribute__((always_inline)) float dot_float(const void *w, const void *x,
                                                                    int64_t n, int t)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = fma64(acc, w, x, n, t);
    for (; i + 16 <= n; i += 16)
        acc[0] = _mm512_fmadd_ps(load16(w, i, t), load16(x, i, t), acc[0]);
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(load16_masked(m, w, i, t), load16_masked(m, x, i, t), acc[1]);
    }
    return sum4(acc);
}

AVX512 float heed_dot_f32_avx512(const void *w, const void *x, int64_t n)
{
    return dot_float(w, x, n, HEED_TYPE_F32);
}

AVX512 float heed_dot_f16_avx512(const void *w, const void *x, int64_t n)
{
    return dot_float(w, x, n, HEED_TYPE_F16);
}

/* bf16: the rest masked, 16 at a time, into acc[1] (a different order
 * than dot_float's, so a different rounding: kept as it is). */
AVX512 float heed_dot_bf16_avx512(const void *w, const void *x, int64_t n)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = fma64(acc, w, x, n, HEED_TYPE_BF16);
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        acc[1] = _mm512_fmadd_ps(load16_masked(m, w, i, HEED_TYPE_BF16),
                                 load16_masked(m, x, i, HEED_TYPE_BF16), acc[1]);
    }
    return sum4(acc);
}

/* bf16 has no tile: its dot product sums in llama.cpp's order, which
 * reproduces the fixtures' logits to 2e-6; one accumulator per element,
 * what a tile can afford, moves them to 2e-2. */

/* Tiles of f32 and f16 products (see vec_dot.h): each weight chunk
 * of 16 converted once for up to 4 tokens, each activation chunk once for
 * up to 4 rows. Every element: one accumulator over chunks of 16 in order,
 * the tail masked into it, then the lanes summed — whatever the shape. */
AVX512 static inline __attribute__((always_inline)) void
float_tile(const void *w, size_t ws, const void *x, size_t xs, int64_t n, float *y, int64_t ys,
           const int R, const int T, const int t)
{
    __m512 acc[4][4];
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int k = 0; k < T; k++)
            acc[r][k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 xv[4];
        HEED_UNROLL for (int k = 0; k < T; k++)
            xv[k] = load16_masked(m, (const char *)x + (size_t)k * xs, i, t);
        HEED_UNROLL for (int r = 0; r < R; r++) {
            /* the next tile's rows, as the quantised tiles do */
            _mm_prefetch((const char *)w + (size_t)(r + 4) * ws + i * (t == HEED_TYPE_F32 ? 4 : 2),
                         _MM_HINT_T0);
            const __m512 wv = load16_masked(m, (const char *)w + (size_t)r * ws, i, t);
            HEED_UNROLL for (int k = 0; k < T; k++)
                acc[r][k] = _mm512_fmadd_ps(wv, xv[k], acc[r][k]);
        }
    }
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int k = 0; k < T; k++)
            y[k * ys + r] = _mm512_reduce_add_ps(acc[r][k]);
}

AVX512 void heed_tile_f32_avx512(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                            float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(4, float_tile, HEED_TYPE_F32)
}

AVX512 void heed_tile_f16_avx512(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                            float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(4, float_tile, HEED_TYPE_F16)
}


/* ------------------------------------- helpers of the quantised kernels */

/* sum_s bsums[s] * mn[s/2] over a q8_K block's 16 sub-block sums. */
AVX512 static inline int bsums_dot_mins(const int16_t *bsums, const uint8_t mn[8])
{
    const __m128i m8 = _mm_loadl_epi64((const __m128i *)(const void *)mn);
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)); /* each twice */
    return hsum_i32(_mm256_madd_epi16(ld256(bsums), m16));
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
 * serve (the AVX512 column of kernel_table.c names them). */

#define VNNI256 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/* Hooks of vec_dot_x86_legacy.h. q8_0: |w| (unsigned; -128 becomes
 * 128) times sign(w) * x, exact since x is never -128. q4_0: sum (q - 8) x
 * = sum q x - 8 sum x with q in 0..15 unsigned; -8 sum x is the same for
 * every weight row, so it is prepared once per activation block and is
 * where vpdpbusd starts. */
VNNI256 static inline __m256i w_q8(const int8_t *qs) { return ld256(qs); }
VNNI256 static inline __m256i w_q4(const uint8_t *qs) { return nibbles32(qs); }
VNNI256 static inline __m256i x_prep(__m256i qx)
{
    const __m256i sum8 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), qx);
    return _mm256_sub_epi32(_mm256_setzero_si256(), sum8);
}
/* q5_0: q in 0..31 unsigned, sum (q - 16) x = sum q x - 16 sum x */
VNNI256 static inline __m256i w_q5(const uint8_t *qh_qs)
{
    return _mm256_or_si256(nibbles32(qh_qs + 4), q5_high(qh_qs));
}
VNNI256 static inline __m256i x_prep5(__m256i qx)
{
    const __m256i m8 = x_prep(qx);
    return _mm256_add_epi32(m8, m8);
}
VNNI256 static inline __m256i pair_q8(__m256i w, __m256i qx)
{
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(qx, w));
}
VNNI256 static inline __m256i pair_q4(__m256i w, __m256i qx, __m256i px)
{
    return _mm256_dpbusd_epi32(px, w, qx);
}

#define TARGET VNNI256
#define KERNEL(name) heed_##name##_vnni
#define LEGACY_MAX_ROWS 4
#include "kernels/vec_dot_x86_legacy.h"
#undef LEGACY_MAX_ROWS
#undef KERNEL
#undef TARGET

/* ------------------------------------------- the two kernel instances */

#define TARGET AVX512
#define SFX(name) heed_##name##_avx512
#define VNNI 0
#include "kernels/vec_dot_avx512_q.h"
#undef TARGET
#undef SFX
#undef VNNI

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define SFX(name) heed_##name##_vnni
#define VNNI 1
#include "kernels/vec_dot_avx512_q.h"
#undef TARGET
#undef SFX
#undef VNNI

#endif
