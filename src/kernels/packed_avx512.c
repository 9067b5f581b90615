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
#include "kernels/kernel_table.h"

#include <stddef.h>
#include <string.h>

#include "heed.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/transpose_avx512.h"

#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define INLINE inline __attribute__((always_inline))
/* Unrolls the loop after it in full: accumulators and weights stay in
 * registers. */
#define UNROLL _Pragma("GCC unroll 16")

enum { R = HEED_PACK_ROWS, TMAX = 16 };

/* ------------------------------------------------------- activations */

/* As heed_quantize_act_q8_0 (d = amax/127 rounded to f16, q = x·127/amax
 * rounded half to even, NaN to -128), 32 elements at a time, plus the
 * offset term from the stored quants. */
VNNI512 static INLINE void act8(const float *x, int64_t n_in, int64_t n_tokens, int off,
                                heed_packed_act8 *dst)
{
    for (int64_t i = 0; i < n_tokens * (n_in / 32); i++, x += 32) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        /* max(|x|, m) keeps m where |x| is NaN, as the reference's a > m */
        __m512 m = _mm512_max_ps(_mm512_abs_ps(x0), _mm512_setzero_ps());
        m = _mm512_max_ps(_mm512_abs_ps(x1), m);
        const float amax = _mm512_reduce_max_ps(m);
        const __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        const __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x0, id)));
        const __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x1, id)));
        _mm_storeu_si128((__m128i *)(void *)dst[i].qs, q0);
        _mm_storeu_si128((__m128i *)(void *)(dst[i].qs + 16), q1);
        const __m512i s = _mm512_add_epi32(_mm512_cvtepi8_epi32(q0), _mm512_cvtepi8_epi32(q1));
        dst[i].d = _cvtsh_ss(_cvtss_sh(amax / 127.0f, _MM_FROUND_TO_NEAREST_INT));
        dst[i].neg_off_sum = -off * _mm512_reduce_add_epi32(s);
    }
}

VNNI512 static void act_q4_0(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, 8, dst);
}

VNNI512 static void act_sum(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, -1, dst); /* q4_1, q5_1: Σq */
}

VNNI512 static void act_q5_0(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, 16, dst);
}

VNNI512 static void act_q8_0(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, 128, dst);
}

/* As heed_quantize_q8_K: max = the first element of largest |x|, q =
 * round-half-even(x · -127/max) capped at 127, d = 1 / (-127/max); plus
 * the run sums of packed.h. */
VNNI512 static void act_k(const float *x, int64_t n_in, int64_t n_tokens, void *vdst)
{
    heed_packed_actk *dst = vdst;
    for (int64_t i = 0; i < n_tokens * (n_in / 256); i++, x += 256) {
        __m512 v[16], m = _mm512_setzero_ps();
        for (int k = 0; k < 16; k++) {
            v[k] = _mm512_loadu_ps(x + 16 * k);
            m = _mm512_max_ps(_mm512_abs_ps(v[k]), m);
        }
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.0f) {
            memset(&dst[i], 0, sizeof dst[i]);
            continue;
        }
        float max = 0.0f;
        for (int k = 0; k < 16; k++) {
            const __mmask16 hit = _mm512_cmpeq_ps_mask(_mm512_abs_ps(v[k]), _mm512_set1_ps(amax));
            if (hit) {
                max = x[16 * k + __builtin_ctz(hit)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        int32_t sum16[16];
        for (int k = 0; k < 16; k++) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_set1_ps(iscale), v[k]));
            q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
            _mm_storeu_si128((__m128i *)(void *)(dst[i].qs + 16 * k), _mm512_cvtepi32_epi8(q));
            sum16[k] = _mm512_reduce_add_epi32(q);
        }
        static const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7};
        for (int s = 0; s < 8; s++)
            dst[i].sum32[s] = (int16_t)(sum16[2 * order[s]] + sum16[2 * order[s] + 1]);
        for (int s = 0; s < 16; s++)
            dst[i].sum16[s] = (int16_t)sum16[4 * (s / 4) + order[s % 4]];
        for (int k = 0; k < 16; k++)
            dst[i].neg32_sum16[k] = -32 * sum16[k];
        dst[i].d = 1 / iscale;
    }
}

/* f32 rows rounded to f16 (F16C's rounding, heed_f32_to_f16's) or to
 * bf16 (heed_f32_to_bf16's: nearest even, NaN made quiet), kept as f32. */
VNNI512 static void act_f16(const float *x, int64_t n_in, int64_t n_tokens, void *vdst)
{
    float *dst = vdst;
    for (int64_t i = 0; i < n_in * n_tokens; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)));
    }
}

VNNI512 static void act_bf16(const float *x, int64_t n_in, int64_t n_tokens, void *vdst)
{
    float *dst = vdst;
    const __m512i abs = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i top = _mm512_set1_epi32((int)0xffff0000u);
    for (int64_t i = 0; i < n_in * n_tokens; i += 16) {
        const __m512i u = _mm512_loadu_si512((const void *)(x + i));
        const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs), inf);
        const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
        r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x400000));
        _mm512_storeu_si512((void *)(dst + i), _mm512_and_si512(r, top));
    }
}

/* ------------------------------------------------------------- weights */

VNNI512 static INLINE __m512i load(const uint8_t *p)
{
    return _mm512_load_si512((const void *)p);
}

VNNI512 static INLINE __m512i bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* Σ_j w[j]·x[4j..4j+3] for j < n, added to s, lanes being rows. */
VNNI512 static INLINE __m512i dot_run(__m512i s, const __m512i *w, const int8_t *x, const int n)
{
    UNROLL for (int j = 0; j < n; j++)
        s = _mm512_dpbusd_epi32(s, w[j], bcast32(x + 4 * j));
    return s;
}

/* A tile's T accumulators (16 rows each): cleared, and stored to the
 * rows of y of the tile's tokens. */
VNNI512 static INLINE void acc_zero(__m512 *acc, const int T)
{
    UNROLL for (int t = 0; t < T; t++)
        acc[t] = _mm512_setzero_ps();
}

VNNI512 static INLINE void acc_store(const __m512 *acc, float *y, int64_t n_out, const int T)
{
    UNROLL for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + t * n_out, acc[t]);
}

/* Bytes of a 32-block type's quants in a packed block (packed.c). */
static INLINE int64_t quant_bytes32(int type)
{
    return type == HEED_TYPE_Q8_0                               ? 512
           : type == HEED_TYPE_Q4_0 || type == HEED_TYPE_Q4_1 ? 256
                                                              : 320;
}

/* The 8 byte vectors of a 32-block (vector v pairs with activation quants
 * 4v..4v+3; see packed.c). */
VNNI512 static INLINE void unpack32(int type, const uint8_t *q, __m512i w[8])
{
    if (type == HEED_TYPE_Q8_0) {
        UNROLL for (int j = 0; j < 8; j++)
            w[j] = load(q + 64 * j);
        return;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    UNROLL for (int j = 0; j < 4; j++) {
        const __m512i v = load(q + 64 * j);
        w[j] = _mm512_and_si512(v, m4);
        w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
    if (type == HEED_TYPE_Q5_0 || type == HEED_TYPE_Q5_1) { /* bit j of a byte to bit 4 */
        const __m512i h = load(q + 256), b4 = _mm512_set1_epi8(0x10);
        UNROLL for (int j = 0; j < 8; j++) {
            const __m512i t = j < 4 ? _mm512_slli_epi16(h, 4 - j) : _mm512_srli_epi16(h, j - 4);
            w[j] = _mm512_or_si512(w[j], _mm512_and_si512(t, b4));
        }
    }
}

/* y[t*n_out + r] for r < 16, t < T: one group of a 32-block type, T
 * tokens of activations a (rows of nb blocks). */
VNNI512 static INLINE void tile32(int type, const uint8_t *quants, int64_t nb, const void *va,
                                  float *y, int64_t n_out, const int T)
{
    const bool minimum = type == HEED_TYPE_Q4_1 || type == HEED_TYPE_Q5_1;
    const int64_t qb = quant_bytes32(type), sb = minimum ? 64 : 32;
    const heed_packed_act8 *a = va;
    __m512 acc[TMAX];
    acc_zero(acc, T);
    for (int64_t b = 0; b < nb; b++) {
        __m512i w[8];
        unpack32(type, quants + heed_pack_quants_at(b, 2, qb, sb), w);
        const uint8_t *side = quants + heed_pack_side_at(b, 2, qb, sb);
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)side));
        const __m512 mw = minimum ? _mm512_cvtph_ps(_mm256_load_si256(
                                        (const __m256i *)(const void *)(side + 32)))
                                  : _mm512_setzero_ps();
        UNROLL for (int t = 0; t < T; t++) {
            const heed_packed_act8 *x = a + t * nb + b;
            const __m512i s = dot_run(_mm512_set1_epi32(minimum ? 0 : x->neg_off_sum), w, x->qs, 8);
            const __m512 dx = _mm512_set1_ps(x->d);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(s), acc[t]);
            if (minimum)
                acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(mw, dx),
                                         _mm512_set1_ps((float)x->neg_off_sum), acc[t]);
        }
    }
    acc_store(acc, y, n_out, T);
}

/* A super-block's end for the types with a minimum (q2_K, q4_K, q5_K),
 * for T tokens of activations x (nb blocks apart): acc += dw·dx·tot and
 * acc -= dm·dx·mins, mins = Σ_k mn[k]·(the k-th pair of 16-bit run sums
 * at byte `sums` of each token's block) by vpdpwssd. */
VNNI512 static INLINE void add_scaled_min(__m512 *acc, const __m512i *tot, __m512 dw, __m512 dm,
                                          const __m512i *mn, const int K,
                                          const heed_packed_actk *x, int64_t nb, size_t sums,
                                          const int T)
{
    UNROLL for (int t = 0; t < T; t++) {
        const heed_packed_actk *xt = x + t * nb;
        const int16_t *run = (const int16_t *)(const void *)((const char *)xt + sums);
        __m512i mins = _mm512_setzero_si512();
        UNROLL for (int k = 0; k < K; k++)
            mins = _mm512_dpwssd_epi32(mins, mn[k], bcast32(run + 2 * k));
        const __m512 dx = _mm512_set1_ps(xt->d);
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(tot[t]), acc[t]);
        acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(dm, dx), _mm512_cvtepi32_ps(mins), acc[t]);
    }
}

/* q2_K, q3_K: run (h, j) of 32 elements is bits 2j, 2j+1 of the 8 quant
 * vectors from 8h (q3_K: plus bit 4h + j of its 8 hmask vectors, moved to
 * bit 2), two sub-blocks of 16. q2_K scales its sums by the low nibbles
 * of its scale bytes and takes the high ones, as 16-bit pairs, against
 * the activations' run sums with vpdpwssd; q3_K's sums start at -4·Σx and
 * take its int8 scales, as q6_K's. */
VNNI512 static INLINE void tile_q23_K(const uint8_t *quants, int64_t nb, const void *va, float *y,
                                      int64_t n_out, const int T, const bool q3)
{
    const heed_packed_actk *a = va;
    const __m512i m3 = _mm512_set1_epi8(0x03), m4 = _mm512_set1_epi8(0x04);
    const __m512i m0f = _mm512_set1_epi32(0x0f), m00ff = _mm512_set1_epi32(0x00ff00ff);
    __m512 acc[TMAX];
    acc_zero(acc, T);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *q = quants + b * (q3 ? 1856 : 1344), *sd = q + (q3 ? 1536 : 1024);
        __m512i tot[TMAX];
        UNROLL for (int t = 0; t < T; t++)
            tot[t] = _mm512_setzero_si512();
        UNROLL for (int run = 0; run < 8; run++) {
            const int h = run / 4, j = run % 4, k = 4 * h + j, s = 2 * run;
            __m512i w[8];
            UNROLL for (int m = 0; m < 8; m++) {
                w[m] = _mm512_and_si512(_mm512_srli_epi16(load(q + 64 * (8 * h + m)), 2 * j), m3);
                if (q3) { /* within a byte: left by at most 2, right by at most 5 */
                    const __m512i hv = load(q + 64 * (16 + m));
                    const __m512i hi = k < 2 ? _mm512_slli_epi16(hv, 2 - k)
                                             : _mm512_srli_epi16(hv, k - 2);
                    w[m] = _mm512_or_si512(w[m], _mm512_and_si512(hi, m4));
                }
            }
            __m512i sc0, sc1;
            if (q3) {
                const __m128i *p = (const __m128i *)(const void *)(sd + 16 * s);
                sc0 = _mm512_cvtepi8_epi32(_mm_load_si128(p));
                sc1 = _mm512_cvtepi8_epi32(_mm_load_si128(p + 1));
            } else { /* bytes s, s + 1 of the row's scales: vector run / 2 */
                const __m512i u = load(sd + 64 * (run / 2));
                sc0 = _mm512_and_si512(_mm512_srli_epi32(u, 8 * (s % 4)), m0f);
                sc1 = _mm512_and_si512(_mm512_srli_epi32(u, 8 * (s % 4) + 8), m0f);
            }
            UNROLL for (int t = 0; t < T; t++) {
                const heed_packed_actk *x = a + t * nb + b;
                const __m512i s0 = dot_run(_mm512_set1_epi32(q3 ? x->neg32_sum16[s] / 8 : 0), w,
                                           x->qs + 32 * run, 4);
                const __m512i s1 = dot_run(_mm512_set1_epi32(q3 ? x->neg32_sum16[s + 1] / 8 : 0),
                                           w + 4, x->qs + 32 * run + 16, 4);
                tot[t] = _mm512_add_epi32(tot[t], _mm512_add_epi32(_mm512_mullo_epi32(s0, sc0),
                                                                   _mm512_mullo_epi32(s1, sc1)));
            }
        }
        const __m256i *half = (const __m256i *)(const void *)(sd + 256); /* d[16], dmin[16] */
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(half));
        if (q3) {
            UNROLL for (int t = 0; t < T; t++)
                acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t * nb + b].d)),
                                         _mm512_cvtepi32_ps(tot[t]), acc[t]);
            continue;
        }
        /* mins of scales 4i.. as pairs (4i, 4i+2) and (4i+1, 4i+3) */
        __m512i mn[8];
        UNROLL for (int i = 0; i < 4; i++) {
            const __m512i mv = _mm512_and_si512(_mm512_srli_epi32(load(sd + 64 * i), 4),
                                                _mm512_set1_epi8(0x0f));
            mn[2 * i] = _mm512_and_si512(mv, m00ff);
            mn[2 * i + 1] = _mm512_and_si512(_mm512_srli_epi32(mv, 8), m00ff);
        }
        const __m512 dm = _mm512_cvtph_ps(_mm256_load_si256(half + 1));
        add_scaled_min(acc, tot, dw, dm, mn, 8, a + b, nb, offsetof(heed_packed_actk, sum16), T);
    }
    acc_store(acc, y, n_out, T);
}

/* q4_K, q5_K: per super-block, tot[t] = Σ_s sc_s · (run s's q·x) in
 * integers, the minimum term from the run sums with vpdpwssd, then two
 * fmas. q5_K's fifth bits: bit s of its qh vectors, moved to bit 4. */
VNNI512 static INLINE void tile_q45_K(const uint8_t *quants, int64_t nb, const void *va, float *y,
                                      int64_t n_out, const int T, const bool q5)
{
    const heed_packed_actk *a = va;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m3f = _mm512_set1_epi8(0x3f);
    const __m512i m03 = _mm512_set1_epi8(0x03), mff = _mm512_set1_epi32(0xff);
    const __m512i m00ff = _mm512_set1_epi32(0x00ff00ff);
    __m512 acc[TMAX];
    acc_zero(acc, T);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *q = quants + b * (q5 ? 2816 : 2304), *sd = q + (q5 ? 2560 : 2048);
        /* heed_k_scales_unpack, 16 rows at once: bytes of sc 0..3, 4..7 */
        const __m512i u0 = load(sd), u2 = load(sd + 128);
        const __m512i sc03 = _mm512_and_si512(u0, m3f);
        const __m512i sc47 = _mm512_or_si512(
            _mm512_and_si512(u2, m4),
            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), m03), 4));
        __m512i tot[TMAX];
        UNROLL for (int t = 0; t < T; t++)
            tot[t] = _mm512_setzero_si512();
        UNROLL for (int sb = 0; sb < 8; sb++) {
            __m512i w[8];
            UNROLL for (int j = 0; j < 8; j++) {
                const __m512i v = load(q + 64 * (8 * (sb / 2) + j));
                w[j] = _mm512_and_si512(sb % 2 ? _mm512_srli_epi16(v, 4) : v, m4);
                if (q5) { /* within a byte for shifts of at most 4 */
                    const __m512i h = load(q + 2048 + 64 * j);
                    const __m512i b4 = sb < 4 ? _mm512_slli_epi16(h, 4 - sb)
                                              : _mm512_srli_epi16(h, sb - 4);
                    w[j] = _mm512_or_si512(w[j], _mm512_and_si512(b4, _mm512_set1_epi8(0x10)));
                }
            }
            const __m512i sc = _mm512_and_si512(
                _mm512_srli_epi32(sb < 4 ? sc03 : sc47, 8 * (sb % 4)), mff);
            UNROLL for (int t = 0; t < T; t++) {
                const __m512i s = dot_run(_mm512_setzero_si512(), w, a[t * nb + b].qs + 32 * sb, 8);
                tot[t] = _mm512_add_epi32(tot[t], _mm512_mullo_epi32(s, sc));
            }
        }
        /* the mins as 16-bit pairs (mn0,mn2) (mn1,mn3) (mn4,mn6) (mn5,mn7),
         * against the run sums stored in that order */
        const __m512i u1 = load(sd + 64);
        const __m512i mn03 = _mm512_and_si512(u1, m3f);
        const __m512i mn47 = _mm512_or_si512(
            _mm512_and_si512(_mm512_srli_epi32(u2, 4), m4),
            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), m03), 4));
        const __m512i mn[4] = {_mm512_and_si512(mn03, m00ff),
                               _mm512_and_si512(_mm512_srli_epi32(mn03, 8), m00ff),
                               _mm512_and_si512(mn47, m00ff),
                               _mm512_and_si512(_mm512_srli_epi32(mn47, 8), m00ff)};
        const __m256i *half = (const __m256i *)(const void *)(sd + 192); /* d[16], dmin[16] */
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(half));
        const __m512 dm = _mm512_cvtph_ps(_mm256_load_si256(half + 1));
        add_scaled_min(acc, tot, dw, dm, mn, 4, a + b, nb, offsetof(heed_packed_actk, sum32), T);
    }
    acc_store(acc, y, n_out, T);
}

/* Run g's 6-bit quants from its ql vector lo (the low nibbles for g < 2,
 * else the high) and bits 2g, 2g+1 of its qh vector hi. */
VNNI512 static INLINE __m512i q6_quants(__m512i lo, __m512i hi, const int g)
{
    const __m512i top = g == 0   ? _mm512_slli_epi16(hi, 4)
                        : g == 1 ? _mm512_slli_epi16(hi, 2)
                        : g == 2 ? hi
                                 : _mm512_srli_epi16(hi, 2);
    return _mm512_or_si512(
        _mm512_and_si512(g < 2 ? lo : _mm512_srli_epi16(lo, 4), _mm512_set1_epi8(0x0f)),
        _mm512_and_si512(top, _mm512_set1_epi8(0x30)));
}

/* q6_K: per run of 32 the 6-bit quants from a nibble and two high bits,
 * two sub-blocks of 16 each starting at -32·Σx, scaled in integers. */
VNNI512 static INLINE void tile_q6_K(const uint8_t *quants, int64_t nb, const void *va, float *y,
                                     int64_t n_out, const int T)
{
    const heed_packed_actk *a = va;
    __m512 acc[TMAX];
    acc_zero(acc, T);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *q = quants + b * 3392, *sd = q + 3072; /* units padded to 64 */
        __m512i tot[TMAX];
        UNROLL for (int t = 0; t < T; t++)
            tot[t] = _mm512_setzero_si512();
        UNROLL for (int run = 0; run < 8; run++) {
            const int h = run / 4, g = run % 4;
            __m512i w[8];
            UNROLL for (int j = 0; j < 8; j++) {
                w[j] = q6_quants(load(q + 64 * heed_q6_ql_vec(2 * h + g % 2, j)),
                                 load(q + 64 * heed_q6_qh_vec(h, j)), g);
            }
            const int s = 2 * run;
            const __m512i sc0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sd + 16 * s)));
            const __m512i sc1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sd + 16 * s + 16)));
            UNROLL for (int t = 0; t < T; t++) {
                const heed_packed_actk *x = a + t * nb + b;
                const __m512i s0 = dot_run(_mm512_set1_epi32(x->neg32_sum16[s]), w, x->qs + 32 * run, 4);
                const __m512i s1 = dot_run(_mm512_set1_epi32(x->neg32_sum16[s + 1]), w + 4, x->qs + 32 * run + 16, 4);
                tot[t] = _mm512_add_epi32(tot[t], _mm512_add_epi32(_mm512_mullo_epi32(s0, sc0),
                                                                   _mm512_mullo_epi32(s1, sc1)));
            }
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)(sd + 256)));
        UNROLL for (int t = 0; t < T; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t * nb + b].d)),
                                     _mm512_cvtepi32_ps(tot[t]), acc[t]);
    }
    acc_store(acc, y, n_out, T);
}

/* q6_K for one or two tokens, where memory, not arithmetic, sets the
 * pace: the three vectors of element group j (side by side in the
 * layout) are loaded once and feed the four runs of half h, so the
 * block is read strictly forward, the order hardware prefetch follows.
 * Read run by run (two interleaved streams, as the loop above does), a
 * large matrix streamed at half the rate (Zen 4, one thread: 13 against
 * 27 GB/s). The integer sums are the same, so are the bits. */
VNNI512 static INLINE void tile_q6_K_few(const uint8_t *quants, int64_t nb, const void *va,
                                         float *y, int64_t n_out, const int T)
{
    const heed_packed_actk *a = va;
    __m512 acc[2];
    acc_zero(acc, T);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *q = quants + b * 3392, *sd = q + 3072;
        __m512i tot[2];
        UNROLL for (int t = 0; t < T; t++)
            tot[t] = _mm512_setzero_si512();
        UNROLL for (int h = 0; h < 2; h++) {
            UNROLL for (int half = 0; half < 2; half++) { /* sub-blocks 2·run + half */
                __m512i s[2][4];
                UNROLL for (int t = 0; t < T; t++)
                    UNROLL for (int g = 0; g < 4; g++)
                        s[t][g] = _mm512_set1_epi32(a[t * nb + b].neg32_sum16[2 * (4 * h + g) + half]);
                UNROLL for (int j = 4 * half; j < 4 * half + 4; j++) {
                    const __m512i l0 = load(q + 64 * heed_q6_ql_vec(2 * h, j));
                    const __m512i l1 = load(q + 64 * heed_q6_ql_vec(2 * h + 1, j));
                    const __m512i hi = load(q + 64 * heed_q6_qh_vec(h, j));
                    const __m512i w[4] = {q6_quants(l0, hi, 0), q6_quants(l1, hi, 1),
                                          q6_quants(l0, hi, 2), q6_quants(l1, hi, 3)};
                    UNROLL for (int t = 0; t < T; t++)
                        UNROLL for (int g = 0; g < 4; g++)
                            s[t][g] = _mm512_dpbusd_epi32(
                                s[t][g], w[g], bcast32(a[t * nb + b].qs + 32 * (4 * h + g) + 4 * j));
                }
                UNROLL for (int g = 0; g < 4; g++) {
                    const int sub = 2 * (4 * h + g) + half;
                    const __m512i sc = _mm512_cvtepi8_epi32(
                        _mm_loadu_si128((const __m128i *)(const void *)(sd + 16 * sub)));
                    UNROLL for (int t = 0; t < T; t++)
                        tot[t] = _mm512_add_epi32(tot[t], _mm512_mullo_epi32(s[t][g], sc));
                }
            }
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(const void *)(sd + 256)));
        UNROLL for (int t = 0; t < T; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t * nb + b].d)),
                                     _mm512_cvtepi32_ps(tot[t]), acc[t]);
    }
    acc_store(acc, y, n_out, T);
}

VNNI512 static INLINE void tile(int type, const uint8_t *quants, int64_t nb, const void *a,
                                float *y, int64_t n_out, const int T)
{
    if (type == HEED_TYPE_Q2_K || type == HEED_TYPE_Q3_K)
        tile_q23_K(quants, nb, a, y, n_out, T, type == HEED_TYPE_Q3_K);
    else if (type == HEED_TYPE_Q4_K || type == HEED_TYPE_Q5_K)
        tile_q45_K(quants, nb, a, y, n_out, T, type == HEED_TYPE_Q5_K);
    else if (type == HEED_TYPE_Q6_K && T <= 2)
        tile_q6_K_few(quants, nb, a, y, n_out, T);
    else if (type == HEED_TYPE_Q6_K)
        tile_q6_K(quants, nb, a, y, n_out, T);
    else
        tile32(type, quants, nb, a, y, n_out, T);
}

/* One function per tile shape (type × T): each compiled on its own keeps
 * its accumulators in registers, and a profile names it. */
typedef void (*tile_fn)(const uint8_t *quants, int64_t nb, const void *a, float *y,
                        int64_t n_out);
#define TILE_FN(NAME, TYPE, T)                                                                 \
    VNNI512 __attribute__((noinline)) static void tile_##NAME##_##T(                          \
        const uint8_t *q, int64_t nb, const void *a, float *y, int64_t n_out)                 \
    {                                                                                          \
        tile(TYPE, q, nb, a, y, n_out, T);                                                     \
    }
#define TILE_FNS(NAME, TYPE)                                                                   \
    TILE_FN(NAME, TYPE, 1) TILE_FN(NAME, TYPE, 2) TILE_FN(NAME, TYPE, 3) TILE_FN(NAME, TYPE, 4) \
    TILE_FN(NAME, TYPE, 5) TILE_FN(NAME, TYPE, 6) TILE_FN(NAME, TYPE, 7) TILE_FN(NAME, TYPE, 8) \
    TILE_FN(NAME, TYPE, 9) TILE_FN(NAME, TYPE, 10) TILE_FN(NAME, TYPE, 11)                     \
    TILE_FN(NAME, TYPE, 12) TILE_FN(NAME, TYPE, 13) TILE_FN(NAME, TYPE, 14)                    \
    TILE_FN(NAME, TYPE, 15) TILE_FN(NAME, TYPE, 16)                                            \
    static const tile_fn tiles_##NAME[TMAX + 1] = {                                            \
        NULL, tile_##NAME##_1, tile_##NAME##_2, tile_##NAME##_3, tile_##NAME##_4,              \
        tile_##NAME##_5, tile_##NAME##_6, tile_##NAME##_7, tile_##NAME##_8, tile_##NAME##_9,   \
        tile_##NAME##_10, tile_##NAME##_11, tile_##NAME##_12, tile_##NAME##_13,                \
        tile_##NAME##_14, tile_##NAME##_15, tile_##NAME##_16};

/* Groups of GC (64 rows: 70-200 KiB at n_in 2048, in L2) meet every
 * token tile while they are in cache. */
enum { GC = 4 };

VNNI512 static INLINE void rows(const tile_fn *tiles, int block, int unit, int64_t qb,
                                int64_t sb, int64_t act_block, const void *P, int64_t n_in,
                                int64_t g_begin, int64_t g_end, const void *a, int64_t n_tokens,
                                float *y, int64_t n_out)
{
    const int64_t nb = n_in / block, row = nb * act_block;
    const size_t gb = (size_t)((nb + unit - 1) / unit * heed_pack_unit_bytes(unit, qb, sb));
    for (int64_t g0 = g_begin; g0 < g_end; g0 += GC) {
        const int64_t g1 = g0 + GC < g_end ? g0 + GC : g_end;
        for (int64_t t0 = 0; t0 < n_tokens; t0 += TMAX) {
            const tile_fn tile_t = tiles[n_tokens - t0 < TMAX ? n_tokens - t0 : TMAX];
            for (int64_t g = g0; g < g1; g++)
                tile_t((const uint8_t *)P + (size_t)g * gb, nb, (const uint8_t *)a + t0 * row,
                       y + t0 * n_out + g * R, n_out);
        }
    }
}

#define ROWS(NAME, TYPE, BLOCK, UNIT, QB, SB, ACT)                                                  \
    TILE_FNS(NAME, TYPE)                                                                      \
    VNNI512 static void rows_##NAME(const void *P, int64_t n_in, int64_t g0, int64_t g1,     \
                                    const void *a, int64_t n_tok, float *y, int64_t n_out)     \
    {                                                                                         \
        rows(tiles_##NAME, BLOCK, UNIT, QB, SB, sizeof(ACT), P, n_in, g0, g1, a, n_tok, y,    \
             n_out);                                                                          \
    }
ROWS(q4_0, HEED_TYPE_Q4_0, 32, 2, 256, 32, heed_packed_act8)
ROWS(q4_1, HEED_TYPE_Q4_1, 32, 2, 256, 64, heed_packed_act8)
ROWS(q5_0, HEED_TYPE_Q5_0, 32, 2, 320, 32, heed_packed_act8)
ROWS(q5_1, HEED_TYPE_Q5_1, 32, 2, 320, 64, heed_packed_act8)
ROWS(q8_0, HEED_TYPE_Q8_0, 32, 2, 512, 32, heed_packed_act8)
ROWS(q2_K, HEED_TYPE_Q2_K, 256, 1, 1024, 320, heed_packed_actk)
ROWS(q3_K, HEED_TYPE_Q3_K, 256, 1, 1536, 288, heed_packed_actk)
ROWS(q4_K, HEED_TYPE_Q4_K, 256, 1, 2048, 256, heed_packed_actk)
ROWS(q5_K, HEED_TYPE_Q5_K, 256, 1, 2560, 256, heed_packed_actk)
ROWS(q6_K, HEED_TYPE_Q6_K, 256, 1, 3072, 288, heed_packed_actk)

/* ------------------------------------------------------- f16, bf16
 *
 * Plain f32 fmas, 16 rows per vector, one weight vector converted per
 * element for all tokens, each token's activation broadcast from memory
 * into the fma: per element and 16 rows, one conversion and T fmas.
 *
 * Past a few tokens, cache blocking (a float's weights are 4-8× an int8
 * type's bytes): a chunk of FC groups meets every token over KC elements
 * at a time, so the chunk's slice (FC·16·KC·2 = 256 KiB) stays in L2,
 * and a token tile's KC activations are copied element-major (16 tokens
 * of an element side by side, 16 KiB, in L1) so that one pointer reaches
 * every token's (16 row pointers would not fit the general registers). An element's sum runs over the chunks in order, the
 * accumulators stored to y and reloaded between them (exact), so the
 * result is the unblocked sum's bits.
 */
enum { FC = 32, KC = 256, FEW = 3 };

VNNI512 static INLINE __m512 half_to_f32(int type, __m256i h)
{
    return type == HEED_TYPE_F16
               ? _mm512_cvtph_ps(h)
               : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* y[t*n_out + 16g + r] for G groups × T tokens over elements [k0, k1),
 * starting from 0 (k0 == 0) or from y. Token t's element e is x[t*xs + e]
 * (row_major), or x[16(e - k0) + t] (element-major, from k0). G > 1 gives a
 * few tokens more independent chains of fmas than one group's T. */
VNNI512 static INLINE void tile_float(int type, const uint8_t *P, size_t gb, int64_t k0,
                                      int64_t k1, const float *x, int64_t xs, float *y,
                                      int64_t n_out, const int G, const int T,
                                      const bool row_major)
{
    __m512 acc[4][TMAX];
    UNROLL for (int g = 0; g < G; g++)
        UNROLL for (int t = 0; t < T; t++)
            acc[g][t] = k0 ? _mm512_loadu_ps(y + t * n_out + 16 * g) : _mm512_setzero_ps();
    for (int64_t e = k0; e < k1; e += 2) {
        __m512 w[4][2];
        UNROLL for (int g = 0; g < G; g++) {
            const __m512i v = load(P + g * gb + 32 * e);
            w[g][0] = half_to_f32(type, _mm512_castsi512_si256(v));
            w[g][1] = half_to_f32(type, _mm512_extracti64x4_epi64(v, 1));
        }
        UNROLL for (int h = 0; h < 2; h++)
            UNROLL for (int g = 0; g < G; g++)
                UNROLL for (int t = 0; t < T; t++) {
                    const float xv = row_major ? x[t * xs + e + h] : x[16 * (e - k0 + h) + t];
                    acc[g][t] = _mm512_fmadd_ps(w[g][h], _mm512_set1_ps(xv), acc[g][t]);
                }
    }
    UNROLL for (int g = 0; g < G; g++)
        acc_store(acc[g], y + 16 * g, n_out, T);
}

typedef void (*float_tile_fn)(const uint8_t *P, size_t gb, int64_t k0, int64_t k1,
                              const float *x, int64_t xs, float *y, int64_t n_out);
#define FLOAT_TILE_FN(NAME, TYPE, G, T, ROW_MAJOR)                                             \
    VNNI512 __attribute__((noinline)) static void tile_##NAME##_##G##_##T##_##ROW_MAJOR(      \
        const uint8_t *P, size_t gb, int64_t k0, int64_t k1, const float *x, int64_t xs,      \
        float *y, int64_t n_out)                                                               \
    {                                                                                          \
        tile_float(TYPE, P, gb, k0, k1, x, xs, y, n_out, G, T, ROW_MAJOR);                     \
    }
#define FT(NAME, G, T, ROW_MAJOR) tile_##NAME##_##G##_##T##_##ROW_MAJOR
/* Row-major activations for 1..FEW tokens: groups per tile (4 chains at
 * least) and one group for the chunk's last; element-major, one group. */
#define FLOAT_TILES(NAME, TYPE)                                                                \
    FLOAT_TILE_FN(NAME, TYPE, 4, 1, 1) FLOAT_TILE_FN(NAME, TYPE, 2, 2, 1)                      \
    FLOAT_TILE_FN(NAME, TYPE, 2, 3, 1) FLOAT_TILE_FN(NAME, TYPE, 1, 1, 1)                      \
    FLOAT_TILE_FN(NAME, TYPE, 1, 2, 1) FLOAT_TILE_FN(NAME, TYPE, 1, 3, 1)                      \
    FLOAT_TILE_FN(NAME, TYPE, 1, 1, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 2, 0)                      \
    FLOAT_TILE_FN(NAME, TYPE, 1, 3, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 4, 0)                      \
    FLOAT_TILE_FN(NAME, TYPE, 1, 5, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 6, 0)                      \
    FLOAT_TILE_FN(NAME, TYPE, 1, 7, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 8, 0)                      \
    FLOAT_TILE_FN(NAME, TYPE, 1, 9, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 10, 0)                     \
    FLOAT_TILE_FN(NAME, TYPE, 1, 11, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 12, 0)                    \
    FLOAT_TILE_FN(NAME, TYPE, 1, 13, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 14, 0)                    \
    FLOAT_TILE_FN(NAME, TYPE, 1, 15, 0) FLOAT_TILE_FN(NAME, TYPE, 1, 16, 0)                    \
    static const float_tile_fn few_##NAME[FEW + 1][2] = {                                      \
        {NULL, NULL},                                                                          \
        {FT(NAME, 4, 1, 1), FT(NAME, 1, 1, 1)},                                                \
        {FT(NAME, 2, 2, 1), FT(NAME, 1, 2, 1)},                                                \
        {FT(NAME, 2, 3, 1), FT(NAME, 1, 3, 1)}};                                               \
    static const float_tile_fn many_##NAME[TMAX + 1] = {                                       \
        NULL,               FT(NAME, 1, 1, 0),  FT(NAME, 1, 2, 0),  FT(NAME, 1, 3, 0),         \
        FT(NAME, 1, 4, 0),  FT(NAME, 1, 5, 0),  FT(NAME, 1, 6, 0),  FT(NAME, 1, 7, 0),         \
        FT(NAME, 1, 8, 0),  FT(NAME, 1, 9, 0),  FT(NAME, 1, 10, 0), FT(NAME, 1, 11, 0),        \
        FT(NAME, 1, 12, 0), FT(NAME, 1, 13, 0), FT(NAME, 1, 14, 0), FT(NAME, 1, 15, 0),        \
        FT(NAME, 1, 16, 0)};

static int groups_per_tile(int T) { return T == 1 ? 4 : 2; }

/* xt[16(e - k0) + t] = x[t*xs + e] for t < T (the rest 0), e in [k0, k1),
 * a multiple of 16 long: 16 × 16 transposes. */
VNNI512 static void element_major(const float *x, int64_t xs, int T, int64_t k0, int64_t k1,
                                  float *xt)
{
    const heed_transpose16 tp = heed_transpose16_init();
    for (int64_t e = k0; e < k1; e += 16) {
        __m512 v[16];
        for (int t = 0; t < 16; t++)
            v[t] = t < T ? _mm512_loadu_ps(x + t * xs + e) : _mm512_setzero_ps();
        heed_transpose16_apply(&tp, v);
        for (int i = 0; i < 16; i++)
            _mm512_store_ps(xt + 16 * (e - k0 + i), v[i]);
    }
}

VNNI512 static INLINE void rows_float(const float_tile_fn (*few)[2], const float_tile_fn *many,
                                      const void *P, int64_t n_in, int64_t g_begin,
                                      int64_t g_end, const void *a, int64_t n_tokens, float *y,
                                      int64_t n_out)
{
    const size_t gb = (size_t)n_in * 2 * R;
    const float *x = a;
    if (n_tokens <= FEW) { /* matrix × vector: the weights stream once */
        const int T = (int)n_tokens, G = groups_per_tile(T);
        int64_t g = g_begin;
        for (; g + G <= g_end; g += G)
            few[T][0]((const uint8_t *)P + g * gb, gb, 0, n_in, x, n_in, y + g * R, n_out);
        for (; g < g_end; g++)
            few[T][1]((const uint8_t *)P + g * gb, gb, 0, n_in, x, n_in, y + g * R, n_out);
        return;
    }
    float xt[KC * TMAX] __attribute__((aligned(64)));
    for (int64_t g0 = g_begin; g0 < g_end; g0 += FC) {
        const int64_t g1 = g0 + FC < g_end ? g0 + FC : g_end;
        for (int64_t k0 = 0; k0 < n_in; k0 += KC) {
            const int64_t k1 = k0 + KC < n_in ? k0 + KC : n_in;
            for (int64_t t0 = 0; t0 < n_tokens; t0 += TMAX) {
                const int T = n_tokens - t0 < TMAX ? (int)(n_tokens - t0) : TMAX;
                element_major(x + t0 * n_in, n_in, T, k0, k1, xt);
                for (int64_t g = g0; g < g1; g++)
                    many[T]((const uint8_t *)P + g * gb, gb, k0, k1, xt, 0,
                            y + t0 * n_out + g * R, n_out);
            }
        }
    }
}

#define FLOAT_ROWS(NAME, TYPE)                                                                 \
    FLOAT_TILES(NAME, TYPE)                                                                    \
    VNNI512 static void rows_##NAME(const void *P, int64_t n_in, int64_t g0, int64_t g1,      \
                                    const void *a, int64_t n_tok, float *y, int64_t n_out)     \
    {                                                                                          \
        rows_float(few_##NAME, many_##NAME, P, n_in, g0, g1, a, n_tok, y, n_out);             \
    }
FLOAT_ROWS(f16, HEED_TYPE_F16)
FLOAT_ROWS(bf16, HEED_TYPE_BF16)

/* This file's kernels, listed in kernel_table.c. */
const heed_packed_kernels heed_packed_q4_0_vnni = {act_q4_0, rows_q4_0};
const heed_packed_kernels heed_packed_q4_1_vnni = {act_sum, rows_q4_1};
const heed_packed_kernels heed_packed_q5_0_vnni = {act_q5_0, rows_q5_0};
const heed_packed_kernels heed_packed_q5_1_vnni = {act_sum, rows_q5_1};
const heed_packed_kernels heed_packed_q8_0_vnni = {act_q8_0, rows_q8_0};
const heed_packed_kernels heed_packed_q2_K_vnni = {act_k, rows_q2_K};
const heed_packed_kernels heed_packed_q3_K_vnni = {act_k, rows_q3_K};
const heed_packed_kernels heed_packed_q4_K_vnni = {act_k, rows_q4_K};
const heed_packed_kernels heed_packed_q5_K_vnni = {act_k, rows_q5_K};
const heed_packed_kernels heed_packed_q6_K_vnni = {act_k, rows_q6_K};
const heed_packed_kernels heed_packed_f16_vnni = {act_f16, rows_f16};
const heed_packed_kernels heed_packed_bf16_vnni = {act_bf16, rows_bf16};

#endif
