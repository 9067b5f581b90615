/*
 * packed_avx512.c — the packed kernels (packed.h) with AVX-512 and VNNI:
 * 16 rows in the 16 lanes of a vector, one vpdpbusd per 4 elements.
 *
 * A tile is one group of 16 rows × T <= 16 tokens: T accumulators, the
 * block's 8 weight vectors unpacked once for all T tokens, each token's
 * 4 activation bytes broadcast from memory into the vpdpbusd. Per block
 * and token: 8 vpdpbusd, one conversion and two float operations; no
 * shuffle, no horizontal sum.
 *
 * The arithmetic is the reference's (packed.c) operation for operation:
 * the integer block sum starts at -off·Σx and adds the products exactly,
 * then acc = fma(dw·dx, (float)isum, acc).
 */
#include "kernels/packed.h"

#include <string.h>

#include "heed.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define INLINE inline __attribute__((always_inline))
/* Unrolls the loop after it in full: accumulators and weights stay in
 * registers. */
#define UNROLL _Pragma("GCC unroll 16")

enum { R = HEED_PACK_ROWS, QK = HEED_PACK_BLOCK, TMAX = 16 };

/* ------------------------------------------------------- activations */

/* As heed_quantize_act_q8_0 (d = amax/127 rounded to f16, q = x·127/amax
 * rounded half to even, NaN to -128), 32 elements at a time, plus the
 * offset term from the stored quants. */
VNNI512 static void act(const float *x, int64_t n_in, int64_t n_tokens, int off,
                        heed_packed_act8 *dst)
{
    for (int64_t i = 0; i < n_tokens * (n_in / QK); i++, x += QK) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        /* max(|x|, m) keeps m where |x| is NaN, as the reference's a > m */
        __m512 m = _mm512_max_ps(_mm512_abs_ps(x0), _mm512_setzero_ps());
        m = _mm512_max_ps(_mm512_abs_ps(x1), m);
        const float amax = _mm512_reduce_max_ps(m);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x0, _mm512_set1_ps(id))));
        const __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x1, _mm512_set1_ps(id))));
        _mm_storeu_si128((__m128i *)(void *)dst[i].qs, q0);
        _mm_storeu_si128((__m128i *)(void *)(dst[i].qs + 16), q1);
        const __m512i s = _mm512_add_epi32(_mm512_cvtepi8_epi32(q0), _mm512_cvtepi8_epi32(q1));
        dst[i].d = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));
        dst[i].neg_off_sum = -off * _mm512_reduce_add_epi32(s);
    }
}

/* ------------------------------------------------------------- weights */

/* The 8 byte vectors of a block (vector v pairs with activation quants
 * 4v..4v+3; see packed.c). */
VNNI512 static INLINE void unpack(int type, const uint8_t *q, __m512i w[8])
{
    if (type == HEED_TYPE_Q8_0) {
        UNROLL for (int j = 0; j < 8; j++)
            w[j] = _mm512_load_si512(q + 64 * j);
        return;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    UNROLL for (int j = 0; j < 4; j++) {
        const __m512i v = _mm512_load_si512(q + 64 * j);
        w[j] = _mm512_and_si512(v, m4);
        w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
}

VNNI512 static INLINE int32_t load32(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* y[t*n_out + r] for r < 16, t < T: one group, T tokens of packed
 * activations a (rows of nb blocks). */
VNNI512 static INLINE void tile(int type, const uint8_t *quants, const uint16_t *scales,
                                int64_t nb, int64_t qb, const heed_packed_act8 *a, float *y,
                                int64_t n_out, const int T)
{
    __m512 acc[TMAX];
    UNROLL for (int t = 0; t < T; t++)
        acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i w[8];
        unpack(type, quants + b * qb, w);
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)(scales + b * R)));
        UNROLL for (int t = 0; t < T; t++) {
            const heed_packed_act8 *x = a + t * nb + b;
            __m512i s = _mm512_set1_epi32(x->neg_off_sum);
            UNROLL for (int v = 0; v < 8; v++)
                s = _mm512_dpbusd_epi32(s, w[v], _mm512_set1_epi32(load32(x->qs + 4 * v)));
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(x->d)),
                                     _mm512_cvtepi32_ps(s), acc[t]);
        }
    }
    UNROLL for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + t * n_out, acc[t]);
}

/* Groups of GC (64 rows, ~70-140 KiB of q4_0 / q8_0 at n_in 2048: L2)
 * meet every token tile while they are in cache. */
enum { GC = 4 };

#define TILE_CASE(T)                                                                        \
    case T: tile(type, q, s, nb, qb, a + t0 * nb, y + t0 * n_out + g * R, n_out, T); break;

VNNI512 static INLINE void rows(int type, const void *P, int64_t n_in, int64_t g_begin,
                                int64_t g_end, const heed_packed_act8 *a, int64_t n_tokens,
                                float *y, int64_t n_out)
{
    const int64_t nb = n_in / QK, qb = type == HEED_TYPE_Q4_0 ? 256 : 512;
    const size_t gb = (size_t)((nb * (qb + 2 * R) + 63) / 64 * 64);
    for (int64_t g0 = g_begin; g0 < g_end; g0 += GC) {
        const int64_t g1 = g0 + GC < g_end ? g0 + GC : g_end;
        for (int64_t t0 = 0; t0 < n_tokens; t0 += TMAX) {
            const int64_t left = n_tokens - t0;
            for (int64_t g = g0; g < g1; g++) {
                const uint8_t *q = (const uint8_t *)P + (size_t)g * gb;
                const uint16_t *s = (const uint16_t *)(const void *)(q + nb * qb);
                switch (left < TMAX ? left : TMAX) {
                    TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4)
                    TILE_CASE(5) TILE_CASE(6) TILE_CASE(7) TILE_CASE(8)
                    TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
                    TILE_CASE(13) TILE_CASE(14) TILE_CASE(15) TILE_CASE(16)
                }
            }
        }
    }
}

VNNI512 static void rows_q4_0(const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                              const heed_packed_act8 *a, int64_t n_tokens, float *y,
                              int64_t n_out)
{
    rows(HEED_TYPE_Q4_0, P, n_in, g_begin, g_end, a, n_tokens, y, n_out);
}

VNNI512 static void rows_q8_0(const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                              const heed_packed_act8 *a, int64_t n_tokens, float *y,
                              int64_t n_out)
{
    rows(HEED_TYPE_Q8_0, P, n_in, g_begin, g_end, a, n_tokens, y, n_out);
}

const heed_packed_kernels *heed_packed_avx512_get(int type);
const heed_packed_kernels *heed_packed_avx512_get(int type)
{
    static const heed_packed_kernels q4_0 = {act, rows_q4_0};
    static const heed_packed_kernels q8_0 = {act, rows_q8_0};
    return type == HEED_TYPE_Q4_0 ? &q4_0 : type == HEED_TYPE_Q8_0 ? &q8_0 : NULL;
}

#else /* not x86-64 */

const heed_packed_kernels *heed_packed_avx512_get(int type);
const heed_packed_kernels *heed_packed_avx512_get(int type)
{
    (void)type;
    return NULL;
}

#endif
