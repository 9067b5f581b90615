/*
 * vec_dot_iq_avx2.c — AVX2 dot products of the types read but not
 * written: the grid and ternary types (tensor/iq.h) and the codebook
 * types iq4_nl, iq4_xs, mxfp4.
 *
 * Each 32-element run is decoded to 32 signed bytes in a register — grid
 * points from byte tables expanded once from the packed codebooks, signs
 * spread from their bits — and multiplied with the activations' bytes.
 * The integer sums are the scalar references' (vec_dot.c), summed per
 * block before the one float multiply-add per block the references do,
 * in their order: every kernel here returns the reference's bits.
 */
#include "kernels/kernel_table.h"

#include <string.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/iq.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/vec_dot_x86.h"

/* The grids as bytes (one uint64 per 8-element point, one uint32 per
 * 4-element point), the iq1 one as 8 × its value, built when the library
 * loads (microseconds; nothing to check in the kernels' loops). */
static uint64_t grid_iq2xxs[256], grid_iq2xs[512], grid_iq2s[1024], grid_iq1s[2048];
static uint32_t grid_iq3xxs[256], grid_iq3s[512];

static uint64_t expand8(uint16_t point, const int *levels)
{
    uint64_t bytes = 0;
    for (int k = 0; k < 8; k++)
        bytes |= (uint64_t)(uint8_t)levels[heed_iq_level2(point, k)] << 8 * k;
    return bytes;
}

static uint32_t expand4(uint16_t point, const uint8_t *levels)
{
    uint32_t bytes = 0;
    for (int k = 0; k < 4; k++)
        bytes |= (uint32_t)levels[heed_iq_level3(point, k)] << 8 * k;
    return bytes;
}

__attribute__((constructor)) static void expand_grids(void)
{
    static const int iq2[3] = {8, 25, 43}, iq1[3] = {-8, 0, 8};
    static const uint8_t iq3s[8] = {1, 3, 5, 7, 9, 11, 13, 15};
    _Static_assert(sizeof iq2 / sizeof *iq2 == sizeof heed_iq2_levels, "iq2 levels");
    for (int i = 0; i < 256; i++)
        grid_iq2xxs[i] = expand8(heed_iq2xxs_grid[i], iq2);
    for (int i = 0; i < 512; i++)
        grid_iq2xs[i] = expand8(heed_iq2xs_grid[i], iq2);
    for (int i = 0; i < 1024; i++)
        grid_iq2s[i] = expand8(heed_iq2s_grid[i], iq2);
    for (int i = 0; i < 2048; i++)
        grid_iq1s[i] = expand8(heed_iq1s_grid[i], iq1);
    for (int i = 0; i < 256; i++)
        grid_iq3xxs[i] = expand4(heed_iq3xxs_grid[i], heed_iq3xxs_levels);
    for (int i = 0; i < 512; i++)
        grid_iq3s[i] = expand4(heed_iq3s_grid[i], iq3s);
}

static uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes v with sign bit i of `bits` applied to byte i: -v where set. */
AVX2 static inline __m256i apply_signs(__m256i v, uint32_t bits)
{
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201u);
    const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_sub_epi8(_mm256_xor_si256(v, neg), neg);
}

/* Four 7-bit sign fields, each completed to even parity, as 32 bits. */
static inline uint32_t signs4x7(uint32_t aux)
{
    uint32_t bits = 0;
    for (int l = 0; l < 4; l++)
        bits |= (uint32_t)heed_iq_signs7(aux >> 7 * l & 127) << 8 * l;
    return bits;
}

AVX2 static inline __m256i points8(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    return _mm256_setr_epi64x((int64_t)a, (int64_t)b, (int64_t)c, (int64_t)d);
}

/* The int32 sums of runs decoded as `v` against 32 activation bytes: the
 * 4 low lanes sum elements 0..15, the 4 high ones 16..31; each half is
 * weighted by its scale. Pair sums are at most 2 · 62 · 127 < 2^15. */
AVX2 static inline __m256i scaled_run(__m256i v, const int8_t *x, int scale_lo, int scale_hi)
{
    const __m256i xv = ld256(x);
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(v), _mm256_sign_epi8(xv, v));
    const __m256i s = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
    return _mm256_mullo_epi32(s, _mm256_setr_epi32(scale_lo, scale_lo, scale_lo, scale_lo,
                                                   scale_hi, scale_hi, scale_hi, scale_hi));
}

/* ------------------------------------------------------- grid types */

/* One type's run decoder: 32 signed bytes of run ib (0..7) of block b
 * and the scales of its two halves. */
#define RUN(name, block_t)                                                                    \
    AVX2 static inline __m256i run_##name(const block_t *b, int ib, int *lo, int *hi)

RUN(iq2_xxs, heed_block_iq2_xxs)
{
    const uint8_t *q = b->qs + 8 * ib;
    const uint32_t aux = load_u32(q + 4);
    *lo = *hi = (int)(2 * (aux >> 28) + 1);
    return apply_signs(points8(grid_iq2xxs[q[0]], grid_iq2xxs[q[1]], grid_iq2xxs[q[2]],
                               grid_iq2xxs[q[3]]),
                       signs4x7(aux));
}

RUN(iq2_xs, heed_block_iq2_xs)
{
    const uint16_t *q = b->qs + 4 * ib;
    *lo = 2 * (b->scales[ib] & 15) + 1;
    *hi = 2 * (b->scales[ib] >> 4) + 1;
    const uint32_t bits = (uint32_t)heed_iq_signs7(q[0] >> 9) |
                          (uint32_t)heed_iq_signs7(q[1] >> 9) << 8 |
                          (uint32_t)heed_iq_signs7(q[2] >> 9) << 16 |
                          (uint32_t)heed_iq_signs7(q[3] >> 9) << 24;
    return apply_signs(points8(grid_iq2xs[q[0] & 511], grid_iq2xs[q[1] & 511],
                               grid_iq2xs[q[2] & 511], grid_iq2xs[q[3] & 511]),
                       bits);
}

RUN(iq2_s, heed_block_iq2_s)
{
    const uint8_t *q = b->qs + 4 * ib;
    const unsigned qh = b->qh[ib];
    *lo = 2 * (b->scales[ib] & 15) + 1;
    *hi = 2 * (b->scales[ib] >> 4) + 1;
    return apply_signs(points8(grid_iq2s[q[0] | (qh & 3) << 8], grid_iq2s[q[1] | (qh >> 2 & 3) << 8],
                               grid_iq2s[q[2] | (qh >> 4 & 3) << 8], grid_iq2s[q[3] | (qh >> 6) << 8]),
                       load_u32(b->signs + 4 * ib));
}

RUN(iq3_xxs, heed_block_iq3_xxs)
{
    const uint8_t *q = b->qs + 8 * ib;
    const uint32_t aux = load_u32(b->sas + 4 * ib);
    *lo = *hi = (int)(2 * (aux >> 28) + 1);
    const __m256i v = _mm256_setr_epi32(
        (int)grid_iq3xxs[q[0]], (int)grid_iq3xxs[q[1]], (int)grid_iq3xxs[q[2]], (int)grid_iq3xxs[q[3]],
        (int)grid_iq3xxs[q[4]], (int)grid_iq3xxs[q[5]], (int)grid_iq3xxs[q[6]], (int)grid_iq3xxs[q[7]]);
    return apply_signs(v, signs4x7(aux));
}

RUN(iq3_s, heed_block_iq3_s)
{
    const uint8_t *q = b->qs + 8 * ib;
    const unsigned qh = b->qh[ib];
    *lo = *hi = 2 * (b->scales[ib / 2] >> 4 * (ib % 2) & 15) + 1;
    /* point k's index has bit k of qh as its bit 8; built straight into
     * the register (through an array it would stall store forwarding) */
#define POINT(k) (int)grid_iq3s[q[k] | (qh << (8 - (k)) & 256)]
    const __m256i v = _mm256_setr_epi32(POINT(0), POINT(1), POINT(2), POINT(3), POINT(4),
                                        POINT(5), POINT(6), POINT(7));
#undef POINT
    return apply_signs(v, load_u32(b->signs + 4 * ib));
}

RUN(iq1_s, heed_block_iq1_s)
{
    const uint8_t *q = b->qs + 4 * ib;
    const unsigned qh = b->qh[ib];
    *lo = *hi = (int)(2 * (qh >> 12 & 7) + 1);
    const __m256i v = points8(grid_iq1s[q[0] | (qh & 7) << 8], grid_iq1s[q[1] | (qh >> 3 & 7) << 8],
                              grid_iq1s[q[2] | (qh >> 6 & 7) << 8], grid_iq1s[q[3] | (qh >> 9 & 7) << 8]);
    return _mm256_add_epi8(v, _mm256_set1_epi8(qh & 0x8000 ? -1 : 1));
}

RUN(iq1_m, heed_block_iq1_m)
{
    const uint8_t *q = b->qs + 4 * ib, *qh = b->qh + 2 * ib;
    uint16_t sc;
    memcpy(&sc, b->scales + 2 * (ib / 2), sizeof sc);
    *lo = 2 * (sc >> (6 * (ib % 2)) & 7) + 1;
    *hi = 2 * (sc >> (6 * (ib % 2) + 3) & 7) + 1;
    const __m256i v = points8(grid_iq1s[q[0] | (qh[0] & 7) << 8], grid_iq1s[q[1] | (qh[0] >> 4 & 7) << 8],
                              grid_iq1s[q[2] | (qh[1] & 7) << 8], grid_iq1s[q[3] | (qh[1] >> 4 & 7) << 8]);
    const __m256i delta = _mm256_setr_epi64x(
        qh[0] & 0x08 ? -1 : 0x0101010101010101, qh[0] & 0x80 ? -1 : 0x0101010101010101,
        qh[1] & 0x08 ? -1 : 0x0101010101010101, qh[1] & 0x80 ? -1 : 0x0101010101010101);
    return _mm256_add_epi8(v, delta);
}

/* tq2_0: run 4h + l is bits 2l of qs[32h .. 32h + 31], minus 1. */
RUN(tq2_0, heed_block_tq2_0)
{
    *lo = *hi = 1;
    const __m256i q = ld256(b->qs + 32 * (ib / 4));
    const __m256i codes = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * (ib % 4))),
                                           _mm256_set1_epi8(3));
    return _mm256_sub_epi8(codes, _mm256_set1_epi8(1));
}

/* A run's 32 codebook values: low nibbles (elements 0..15), then high. */
AVX2 static inline __m256i book_run(const int8_t book[16], const uint8_t *qs)
{
    const __m256i table = _mm256_broadcastsi128_si256(ld128(book));
    return _mm256_shuffle_epi8(table, nibbles32(qs));
}

/* iq4_xs: run ib is iq4_nl's codebook under one 6-bit scale (- 32). */
RUN(iq4_xs, heed_block_iq4_xs)
{
    *lo = *hi = heed_iq4_xs_scale(b, ib);
    return book_run(heed_iq4_nl_values, b->qs + 16 * ib);
}

/* The block's step (tensor/iq.h's d). */
AVX2 static inline float step_of(const void *b, int type)
{
    switch (type) {
    case HEED_TYPE_IQ1_M: {
        const heed_block_iq1_m *m = b;
        uint16_t sc[4];
        memcpy(sc, m->scales, sizeof sc);
        return f16((uint16_t)(sc[0] >> 12 | (sc[1] >> 8 & 0x00f0) |
                                          (sc[2] >> 4 & 0x0f00) | (sc[3] & 0xf000)));
    }
    case HEED_TYPE_TQ2_0:
        return f16(((const heed_block_tq2_0 *)b)->d);
    default: /* the first field */
        return f16(*(const uint16_t *)b);
    }
}

/* The reference's loop (vec_dot.c dot_iq) with runs decoded in
 * registers, for a tile of rows × tokens: each run decoded once for all
 * the tokens. Every (row, token) sums in the dot product's order, so a
 * tile's elements are the dot's bits, and the dot is the 1 × 1 tile. */
#define GRID_KERNELS(name, block_t, TYPE, unit)                                               \
    AVX2 static inline __attribute__((always_inline)) void tile_##name(                        \
        const void *w, size_t w_stride, const void *x, size_t x_stride, int64_t n, float *y,   \
        int64_t y_stride, int rows, int tokens)                                                \
    {                                                                                          \
        for (int r = 0; r < rows; r++) {                                                       \
            const block_t *wr = (const block_t *)((const char *)w + (size_t)r * w_stride);     \
            float sum[HEED_TILE_MAX] = {0};                                                    \
            for (int64_t b = 0; b < n / HEED_QK_K; b++) {                                      \
                __m256i acc[HEED_TILE_MAX];                                                    \
                for (int t = 0; t < tokens; t++)                                               \
                    acc[t] = _mm256_setzero_si256();                                           \
                for (int ib = 0; ib < 8; ib++) {                                               \
                    int lo, hi;                                                                \
                    const __m256i v = run_##name(&wr[b], ib, &lo, &hi);                        \
                    for (int t = 0; t < tokens; t++) {                                         \
                        const heed_block_q8_K *xt =                                            \
                            (const heed_block_q8_K *)((const char *)x + (size_t)t * x_stride); \
                        acc[t] = _mm256_add_epi32(acc[t],                                      \
                                                  scaled_run(v, xt[b].qs + 32 * ib, lo, hi));  \
                    }                                                                          \
                }                                                                              \
                const float d = step_of(&wr[b], HEED_TYPE_##TYPE);                             \
                for (int t = 0; t < tokens; t++) {                                             \
                    const heed_block_q8_K *xt =                                                \
                        (const heed_block_q8_K *)((const char *)x + (size_t)t * x_stride);     \
                    sum[t] += d * xt[b].d * (float)hsum_i32(acc[t]);                           \
                }                                                                              \
            }                                                                                  \
            for (int t = 0; t < tokens; t++)                                                   \
                y[t * y_stride + r] = sum[t] * (unit);                                         \
        }                                                                                      \
    }                                                                                          \
    AVX2 void heed_tile_##name##_avx2(const void *w, size_t w_stride, const void *x,           \
                                      size_t x_stride, int64_t n, float *y, int64_t y_stride,  \
                                      int rows, int tokens)                                    \
    {                                                                                          \
        tile_##name(w, w_stride, x, x_stride, n, y, y_stride, rows, tokens);                   \
    }                                                                                          \
    AVX2 float heed_dot_##name##_avx2(const void *w, const void *x, int64_t n)                 \
    {                                                                                          \
        float y;                                                                               \
        tile_##name(w, 0, x, 0, n, &y, 1, 1, 1); /* inlined: the 1 x 1 tile, unrolled */      \
        return y;                                                                              \
    }
GRID_KERNELS(iq2_xxs, heed_block_iq2_xxs, IQ2_XXS, 0.125f)
GRID_KERNELS(iq2_xs, heed_block_iq2_xs, IQ2_XS, 0.125f)
GRID_KERNELS(iq2_s, heed_block_iq2_s, IQ2_S, 0.125f)
GRID_KERNELS(iq3_xxs, heed_block_iq3_xxs, IQ3_XXS, 0.25f)
GRID_KERNELS(iq3_s, heed_block_iq3_s, IQ3_S, 1.0f)
GRID_KERNELS(iq1_s, heed_block_iq1_s, IQ1_S, 0.125f)
GRID_KERNELS(iq1_m, heed_block_iq1_m, IQ1_M, 0.125f)
GRID_KERNELS(tq2_0, heed_block_tq2_0, TQ2_0, 1.0f)
GRID_KERNELS(iq4_xs, heed_block_iq4_xs, IQ4_XS, 1.0f)

/* tq1_0's trits do not fall into runs of 32: decoded by the reference
 * unpacker, then multiplied here. */
AVX2 float heed_dot_tq1_0_avx2(const void *vw, const void *vx, int64_t n)
{
    const heed_iq_format *f = heed_iq_format_of(HEED_TYPE_TQ1_0);
    const heed_block_tq1_0 *w = vw;
    const heed_block_q8_K *x = vx;
    heed_iq_block u;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        f->unpack(&w[b], &u);
        __m256i acc = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++)
            acc = _mm256_add_epi32(acc, scaled_run(ld256(u.v + 32 * ib), x[b].qs + 32 * ib, 1, 1));
        sumf += u.d * x[b].d * (float)hsum_i32(acc);
    }
    return sumf;
}

/* --------------------------------------------------- codebook types */


AVX2 float heed_dot_iq4_nl_avx2(const void *vw, const void *vx, int64_t n)
{
    const heed_block_iq4_nl *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        const int sumi = hsum_i32(scaled_run(book_run(heed_iq4_nl_values, w[b].qs), x[b].qs, 1, 1));
        sumf += f16(w[b].d) * f16(x[b].d) * (float)sumi;
    }
    return sumf;
}

AVX2 float heed_dot_mxfp4_avx2(const void *vw, const void *vx, int64_t n)
{
    const heed_block_mxfp4 *w = vw;
    const heed_block_q8_0 *x = vx;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        const int sumi = hsum_i32(scaled_run(book_run(heed_mxfp4_values, w[b].qs), x[b].qs, 1, 1));
        sumf += heed_mxfp4_step(w[b].e) * f16(x[b].d) * (float)sumi;
    }
    return sumf;
}


#endif
