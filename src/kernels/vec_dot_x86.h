/*
 * vec_dot_x86.h — the 128/256-bit helpers that vec_dot_avx2.c and
 * vec_dot_avx512.c share. They carry the AVX2 target (AVX2, FMA, F16C),
 * a subset of every AVX-512 kernel's, so they inline into both. Include
 * only inside those files' x86-64 section (after <immintrin.h>).
 */
#ifndef HEED_KERNELS_VEC_DOT_X86_H
#define HEED_KERNELS_VEC_DOT_X86_H

#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

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

AVX2 static inline float hsum8(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

AVX2 static inline int hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* The 32 quants of a q4_0 block as bytes (0..15): low nibbles first
 * (elements 0..15), then high nibbles (16..31). */
AVX2 static inline __m256i nibbles32(const uint8_t *qs)
{
    const __m128i t = ld128(qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* The fifth bits of a q5 block, bit i of qh to byte i, as 0x10 or 0. */
AVX2 static inline __m256i q5_high(const uint8_t *qh)
{
    uint32_t bits;
    memcpy(&bits, qh, 4);
    /* byte i of the result takes byte i / 8 of qh, then its bit i % 8 */
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201u);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit),
                            _mm256_set1_epi8(0x10));
}

/* Fully unrolls the loop after it (tile loops: accumulators in registers). */
#define HEED_UNROLL _Pragma("GCC unroll 4")

/* In a tile function (parameters w, ws, x, xs, n, y, ys, rows, tokens):
 * takes the rows MAXR (2 or 4: as many as the registers hold) at a time
 * and calls kernel(w_r, ws, x, xs, n, y_r, ys, R, T, arg) on each group
 * with R (its rows) and T = tokens as constants, so every shape gets its
 * own unrolled code with the accumulators in registers. */
#define HEED_TILES(MAXR, kernel, arg) HEED_TILES_(MAXR, kernel, arg)
#define HEED_TILES_(MAXR, kernel, arg)                                                     \
    for (int r0_ = 0; r0_ < rows; r0_ += MAXR) {                                           \
        const uint8_t *w_ = (const uint8_t *)w + (size_t)r0_ * ws;                         \
        float *y_ = y + r0_;                                                               \
        switch (((rows - r0_ < MAXR ? rows - r0_ : MAXR) - 1) * 4 + tokens - 1) {          \
            HEED_TILE_CASES_##MAXR(kernel, arg)                                            \
        }                                                                                  \
    }
#define HEED_TILE_CASE(c, R, T, kernel, arg)                                               \
    case c: kernel(w_, ws, x, xs, n, y_, ys, R, T, arg); break;
#define HEED_TILE_CASES_2(k, a)                                                            \
    HEED_TILE_CASE(0, 1, 1, k, a) HEED_TILE_CASE(1, 1, 2, k, a)                        \
    HEED_TILE_CASE(2, 1, 3, k, a) HEED_TILE_CASE(3, 1, 4, k, a)                        \
    HEED_TILE_CASE(4, 2, 1, k, a) HEED_TILE_CASE(5, 2, 2, k, a)                        \
    HEED_TILE_CASE(6, 2, 3, k, a) HEED_TILE_CASE(7, 2, 4, k, a)
#define HEED_TILE_CASES_4(k, a)                                                            \
    HEED_TILE_CASES_2(k, a)                                                                \
    HEED_TILE_CASE(8, 3, 1, k, a) HEED_TILE_CASE(9, 3, 2, k, a)                        \
    HEED_TILE_CASE(10, 3, 3, k, a) HEED_TILE_CASE(11, 3, 4, k, a)                      \
    HEED_TILE_CASE(12, 4, 1, k, a) HEED_TILE_CASE(13, 4, 2, k, a)                      \
    HEED_TILE_CASE(14, 4, 3, k, a) HEED_TILE_CASE(15, 4, 4, k, a)

#endif
