/*
 * attn_rows.c — the three inner loops of the tiled attention operator
 * (attention_tiled.c), as a scalar reference and AVX2 / AVX-512 variants:
 * the scores of one query against a run of keys, exp(s - max) summed, and
 * a block of probabilities times value rows; and the cached key and value
 * rows of f16, bf16 and q8_0 as floats (exact in every variant). The vector exp is Cephes'
 * expf (range reduction by ln 2 in two parts, a degree-6 polynomial):
 * within 2 ulp of libm's on the range attention uses (x <= 0).
 */
#include "kernels/kernels.h"

#include <math.h>
#include <stdatomic.h>

#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/transpose_avx512.h"
#define HEED_X86 1
#endif

/* ---------------------------------------------------------- reference */

static void scores_scalar(const float *q, const float *k, int64_t k_stride, int n, int d,
                          float scale, float *out)
{
    for (int j = 0; j < n; j++) {
        float s = 0.0f;
        for (int i = 0; i < d; i++)
            s += q[i] * k[j * k_stride + i];
        out[j] = scale * s;
    }
}

static float exp_sum_scalar(float *x, int n, float max)
{
    float sum = 0.0f;
    for (int j = 0; j < n; j++) {
        x[j] = x[j] == -INFINITY ? 0.0f : expf(x[j] - max);
        sum += x[j];
    }
    return sum;
}

static void qk_scalar(const float *q, int rows, const float *k, int64_t k_stride, int n, int d,
                      float scale, float *s, int64_t s_stride, float *tmp)
{
    (void)tmp;
    for (int r = 0; r < rows; r++)
        scores_scalar(q + (int64_t)r * d, k, k_stride, n, d, scale, s + r * s_stride);
}

static float max_scalar(const float *x, int n)
{
    float m = -INFINITY;
    for (int j = 0; j < n; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

static void pv_scalar(float *o, int64_t o_stride, const float *p, int64_t p_stride, int rows,
                      const float *v, int64_t v_stride, int n, int d)
{
    for (int j = 0; j < n; j++)
        for (int r = 0; r < rows; r++) {
            const float w = p[r * p_stride + j];
            for (int i = 0; w != 0.0f && i < d; i++)
                o[r * o_stride + i] += w * v[j * v_stride + i];
        }
}

static void f16_rows_scalar(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    for (int j = 0; j < n; j++)
        heed_dequantize_f16((const char *)src + j * row_bytes, dst + (int64_t)j * d, d);
}

static void bf16_rows_scalar(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    for (int j = 0; j < n; j++)
        heed_dequantize_bf16((const char *)src + j * row_bytes, dst + (int64_t)j * d, d);
}

static void q8_0_rows_scalar(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    for (int j = 0; j < n; j++)
        heed_dequantize_q8_0((const char *)src + j * row_bytes, dst + (int64_t)j * d, d);
}

#ifdef HEED_X86
/* Cephes expf constants */
#define EXP_HI 88.3762626647949f
#define EXP_LO -87.3365478515625f /* below: 0 (exp would be subnormal) */
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define P0 1.9875691500E-4f
#define P1 1.3981999507E-3f
#define P2 8.3334519073E-3f
#define P3 4.1665795894E-2f
#define P4 1.6666665459E-1f
#define P5 5.0000001201E-1f

/* ------------------------------------------------------------ AVX2 */
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline __m256 exp8(__m256 x)
{
    const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_LO), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(LN2_LO), r);
    __m256 y = _mm256_set1_ps(P0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(P5));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

AVX2 static inline float hsum8(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

AVX2 static void scores_avx2(const float *q, const float *k, int64_t k_stride, int n, int d,
                             float scale, float *out)
{
    if (d % 8) {
        scores_scalar(q, k, k_stride, n, d, scale, out);
        return;
    }
    for (int j = 0; j < n; j++) {
        const float *kj = k + j * k_stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 16 <= d; i += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kj + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(kj + i + 8), a1);
        }
        if (i < d)
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kj + i), a0);
        out[j] = scale * hsum8(_mm256_add_ps(a0, a1));
    }
}

AVX2 static void qk_avx2(const float *q, int rows, const float *k, int64_t k_stride, int n, int d,
                         float scale, float *s, int64_t s_stride, float *tmp)
{
    (void)tmp;
    for (int r = 0; r < rows; r++)
        scores_avx2(q + (int64_t)r * d, k, k_stride, n, d, scale, s + r * s_stride);
}

AVX2 static float max_avx2(const float *x, int n)
{
    __m256 m = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= n; j += 8)
        m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float top = _mm_cvtss_f32(h), rest = max_scalar(x + j, n - j);
    return rest > top ? rest : top;
}

AVX2 static float exp_sum_avx2(float *x, int n, float max)
{
    __m256 sum = _mm256_setzero_ps();
    const __m256 m = _mm256_set1_ps(max);
    int j = 0;
    for (; j + 8 <= n; j += 8) { /* -inf - max is -inf: below EXP_LO, so 0 */
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), m));
        _mm256_storeu_ps(x + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    return hsum8(sum) + exp_sum_scalar(x + j, n - j, max);
}

AVX2 static void pv_avx2(float *o, int64_t o_stride, const float *p, int64_t p_stride, int rows,
                         const float *v, int64_t v_stride, int n, int d)
{
    if (d % 8) {
        pv_scalar(o, o_stride, p, p_stride, rows, v, v_stride, n, d);
        return;
    }
    for (int j = 0; j < n; j++)
        for (int r = 0; r < rows; r++) {
            const float w = p[r * p_stride + j];
            if (w == 0.0f)
                continue;
            const __m256 wv = _mm256_set1_ps(w);
            float *orow = o + r * o_stride;
            for (int i = 0; i < d; i += 8)
                _mm256_storeu_ps(orow + i, _mm256_fmadd_ps(wv, _mm256_loadu_ps(v + j * v_stride + i),
                                                           _mm256_loadu_ps(orow + i)));
        }
}

AVX2 static void f16_rows_avx2(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    if (d % 8) {
        f16_rows_scalar(src, row_bytes, n, d, dst);
        return;
    }
    for (int j = 0; j < n; j++) {
        const char *row = (const char *)src + j * row_bytes;
        for (int i = 0; i < d; i += 8)
            _mm256_storeu_ps(dst + (int64_t)j * d + i,
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i))));
    }
}

/* bf16 is the top half of an f32 */
AVX2 static void bf16_rows_avx2(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    if (d % 8) {
        bf16_rows_scalar(src, row_bytes, n, d, dst);
        return;
    }
    for (int j = 0; j < n; j++) {
        const char *row = (const char *)src + j * row_bytes;
        for (int i = 0; i < d; i += 8) {
            const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * i)));
            _mm256_storeu_ps(dst + (int64_t)j * d + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
        }
    }
}

AVX2 static void q8_0_rows_avx2(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    for (int j = 0; j < n; j++) {
        const heed_block_q8_0 *b = (const void *)((const char *)src + j * row_bytes);
        float *out = dst + (int64_t)j * d;
        for (int i = 0; i < d; i += 32, b++) {
            const __m256 s = _mm256_set1_ps(heed_f16_to_f32(b->d));
            for (int e = 0; e < 32; e += 8) {
                const __m128i q = _mm_loadl_epi64((const __m128i *)(b->qs + e));
                _mm256_storeu_ps(out + i + e,
                                 _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
            }
        }
    }
}

/* --------------------------------------------------------- AVX-512 */
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

AVX512 static inline __m512 exp16(__m512 x)
{
    const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LO), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(EXP_LO)), _mm512_set1_ps(EXP_HI));
    const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(LN2_HI), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(LN2_LO), r);
    __m512 y = _mm512_set1_ps(P0);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P1));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P2));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P3));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P4));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(P5));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_scalef_ps((__mmask16)~under, y, fx);
}

/* The four lane sums of v0..v3, in that order. */
AVX512 static inline __m128 reduce4(__m512 v0, __m512 v1, __m512 v2, __m512 v3)
{
    const __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(v0, v1), _mm512_unpackhi_ps(v0, v1));
    const __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(v2, v3), _mm512_unpackhi_ps(v2, v3));
    /* per 128-bit lane: v0 v1 v2 v3 partial sums */
    const __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t01, t23, 0x44),
                                   _mm512_shuffle_ps(t01, t23, 0xee));
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1));
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(u), hi);
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

AVX512 static void scores_avx512(const float *q, const float *k, int64_t k_stride, int n, int d,
                                 float scale, float *out)
{
    if (d % 16) {
        scores_avx2(q, k, k_stride, n, d, scale, out);
        return;
    }
    int j = 0;
    for (; j + 4 <= n; j += 4) { /* four keys, reduced together */
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps()};
        for (int i = 0; i < d; i += 16) {
            const __m512 qi = _mm512_loadu_ps(q + i);
            for (int t = 0; t < 4; t++)
                a[t] = _mm512_fmadd_ps(qi, _mm512_loadu_ps(k + (j + t) * k_stride + i), a[t]);
        }
        _mm_storeu_ps(out + j, _mm_mul_ps(_mm_set1_ps(scale), reduce4(a[0], a[1], a[2], a[3])));
    }
    for (; j < n; j++) {
        __m512 a0 = _mm512_setzero_ps();
        for (int i = 0; i < d; i += 16)
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(k + j * k_stride + i), a0);
        out[j] = scale * _mm512_reduce_add_ps(a0);
    }
}

/* s[r][16v..] for RC rows from r0 and NV key vectors: each score one fma
 * chain over the head's elements, q's broadcast against 16 keys' column of
 * kt ([d][HEED_ATTN_BK]); stores only keys < n. */
#define UNROLL _Pragma("GCC unroll 16")
AVX512 static inline __attribute__((always_inline)) void
qk_regs(const float *q, int rows, const float *kt, int n, int d, float scale, float *s,
        int64_t s_stride, const int NV, const int RC)
{
    const __mmask16 last = n % 16 ? (__mmask16)((1u << (n % 16)) - 1) : (__mmask16)0xffff;
    for (int r0 = 0; r0 < rows; r0 += RC) {
        const int rc = rows - r0 < RC ? rows - r0 : RC;
        __m512 acc[16];
        UNROLL for (int i = 0; i < RC * NV; i++)
            acc[i] = _mm512_setzero_ps();
        for (int i = 0; i < d; i++) {
            __m512 kv[4];
            UNROLL for (int v = 0; v < NV; v++)
                kv[v] = _mm512_load_ps(kt + i * HEED_ATTN_BK + 16 * v);
            UNROLL for (int r = 0; r < RC; r++) {
                /* rows past rc read row 0 again; they are not stored */
                const __m512 qr = _mm512_set1_ps(q[(int64_t)(r < rc ? r0 + r : 0) * d + i]);
                UNROLL for (int v = 0; v < NV; v++)
                    acc[r * NV + v] = _mm512_fmadd_ps(qr, kv[v], acc[r * NV + v]);
            }
        }
        const __m512 sc = _mm512_set1_ps(scale);
        UNROLL for (int r = 0; r < RC; r++)
            UNROLL for (int v = 0; v < NV; v++)
                if (r < rc)
                    _mm512_mask_storeu_ps(s + (r0 + r) * s_stride + 16 * v,
                                          v == NV - 1 ? last : (__mmask16)0xffff,
                                          _mm512_mul_ps(sc, acc[r * NV + v]));
    }
}
#undef UNROLL

/* The block's keys transposed into tmp once (16 × 16 register transposes),
 * then every row against them: no horizontal sums. */
AVX512 static void qk_avx512(const float *q, int rows, const float *k, int64_t k_stride, int n,
                             int d, float scale, float *s, int64_t s_stride, float *tmp)
{
    if (d % 16 || (uintptr_t)tmp % 64) { /* a row at a time */
        for (int r = 0; r < rows; r++)
            scores_avx512(q + (int64_t)r * d, k, k_stride, n, d, scale, s + r * s_stride);
        return;
    }
    const heed_transpose16 tp = heed_transpose16_init();
    const int nv = (n + 15) / 16;
    for (int j0 = 0; j0 < 16 * nv; j0 += 16)
        for (int i0 = 0; i0 < d; i0 += 16) {
            __m512 v[16];
            for (int t = 0; t < 16; t++) /* keys past n: 0 */
                v[t] = j0 + t < n ? _mm512_loadu_ps(k + (j0 + t) * k_stride + i0)
                                  : _mm512_setzero_ps();
            heed_transpose16_apply(&tp, v);
            for (int i = 0; i < 16; i++)
                _mm512_store_ps(tmp + (i0 + i) * HEED_ATTN_BK + j0, v[i]);
        }
    switch (nv) {
    case 1: qk_regs(q, rows, tmp, n, d, scale, s, s_stride, 1, 8); break;
    case 2: qk_regs(q, rows, tmp, n, d, scale, s, s_stride, 2, 6); break;
    case 3: qk_regs(q, rows, tmp, n, d, scale, s, s_stride, 3, 4); break;
    case 4: qk_regs(q, rows, tmp, n, d, scale, s, s_stride, 4, 4); break;
    default: break; /* n = 0 */
    }
}

AVX512 static float max_avx512(const float *x, int n)
{
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n; j += 16) {
        const __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, k, x + j));
    }
    return _mm512_reduce_max_ps(m);
}

AVX512 static float exp_sum_avx512(float *x, int n, float max)
{
    __m512 sum = _mm512_setzero_ps();
    const __m512 m = _mm512_set1_ps(max);
    for (int j = 0; j < n; j += 16) {
        const __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), m));
        _mm512_mask_storeu_ps(x + j, k, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, e));
    }
    return _mm512_reduce_add_ps(sum);
}

/* rows × (16·DV) of o held in registers across the n value rows (RC rows
 * at a time, RC · DV <= 16 accumulators). */
#define UNROLL _Pragma("GCC unroll 16")
AVX512 static inline __attribute__((always_inline)) void
pv_regs(float *o, int64_t o_stride, const float *p, int64_t p_stride, int rows,
        const float *v, int64_t v_stride, int n, const int DV, const int RC)
{
    for (int r0 = 0; r0 < rows; r0 += RC) {
        const int rc = rows - r0 < RC ? rows - r0 : RC;
        __m512 acc[16];
        UNROLL for (int r = 0; r < RC; r++)
            UNROLL for (int i = 0; i < DV; i++)
                acc[r * DV + i] = r < rc ? _mm512_loadu_ps(o + (r0 + r) * o_stride + 16 * i)
                                         : _mm512_setzero_ps();
        for (int j = 0; j < n; j++) {
            __m512 vj[8];
            UNROLL for (int i = 0; i < DV; i++)
                vj[i] = _mm512_loadu_ps(v + j * v_stride + 16 * i);
            UNROLL for (int r = 0; r < RC; r++) {
                /* rows past rc take weight 0 (their p is not read) */
                const __m512 w = _mm512_set1_ps(r < rc ? p[(r0 + r) * p_stride + j] : 0.0f);
                UNROLL for (int i = 0; i < DV; i++)
                    acc[r * DV + i] = _mm512_fmadd_ps(w, vj[i], acc[r * DV + i]);
            }
        }
        UNROLL for (int r = 0; r < RC; r++)
            UNROLL for (int i = 0; i < DV; i++)
                if (r < rc)
                    _mm512_storeu_ps(o + (r0 + r) * o_stride + 16 * i, acc[r * DV + i]);
    }
}
#undef UNROLL

AVX512 static void pv_avx512(float *o, int64_t o_stride, const float *p, int64_t p_stride,
                             int rows, const float *v, int64_t v_stride, int n, int d)
{
    if (d == 64) { /* the common head sizes: o stays in registers */
        pv_regs(o, o_stride, p, p_stride, rows, v, v_stride, n, 4, 4);
        return;
    }
    if (d == 128) {
        pv_regs(o, o_stride, p, p_stride, rows, v, v_stride, n, 8, 2);
        return;
    }
    if (d % 16) {
        pv_avx2(o, o_stride, p, p_stride, rows, v, v_stride, n, d);
        return;
    }
    for (int j = 0; j < n; j++)
        for (int r = 0; r < rows; r++) {
            const float w = p[r * p_stride + j];
            if (w == 0.0f)
                continue;
            const __m512 wv = _mm512_set1_ps(w);
            float *orow = o + r * o_stride;
            for (int i = 0; i < d; i += 16)
                _mm512_storeu_ps(orow + i, _mm512_fmadd_ps(wv, _mm512_loadu_ps(v + j * v_stride + i),
                                                           _mm512_loadu_ps(orow + i)));
        }
}
AVX512 static void f16_rows_avx512(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    if (d % 16) {
        f16_rows_avx2(src, row_bytes, n, d, dst);
        return;
    }
    for (int j = 0; j < n; j++) {
        const char *row = (const char *)src + j * row_bytes;
        for (int i = 0; i < d; i += 16)
            _mm512_storeu_ps(dst + (int64_t)j * d + i,
                             _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * i))));
    }
}

AVX512 static void bf16_rows_avx512(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    if (d % 16) {
        bf16_rows_avx2(src, row_bytes, n, d, dst);
        return;
    }
    for (int j = 0; j < n; j++) {
        const char *row = (const char *)src + j * row_bytes;
        for (int i = 0; i < d; i += 16) {
            const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(row + 2 * i)));
            _mm512_storeu_ps(dst + (int64_t)j * d + i, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
        }
    }
}

AVX512 static void q8_0_rows_avx512(const void *src, int64_t row_bytes, int n, int d, float *dst)
{
    for (int j = 0; j < n; j++) {
        const heed_block_q8_0 *b = (const void *)((const char *)src + j * row_bytes);
        float *out = dst + (int64_t)j * d;
        for (int i = 0; i < d; i += 32, b++) {
            const __m512 s = _mm512_set1_ps(heed_f16_to_f32(b->d));
            for (int e = 0; e < 32; e += 16) {
                const __m128i q = _mm_loadu_si128((const __m128i *)(b->qs + e));
                _mm512_storeu_ps(out + i + e,
                                 _mm512_mul_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
            }
        }
    }
}
#endif

const heed_attn_rows *heed_attn_rows_variant(heed_isa isa)
{
    static const heed_attn_rows scalar = {qk_scalar, max_scalar, exp_sum_scalar, pv_scalar,
                                          f16_rows_scalar, bf16_rows_scalar, q8_0_rows_scalar};
    if (isa > heed_isa_best())
        return NULL;
#ifdef HEED_X86
    static const heed_attn_rows avx2 = {qk_avx2, max_avx2, exp_sum_avx2, pv_avx2,
                                        f16_rows_avx2, bf16_rows_avx2, q8_0_rows_avx2};
    static const heed_attn_rows avx512 = {qk_avx512, max_avx512, exp_sum_avx512, pv_avx512,
                                          f16_rows_avx512, bf16_rows_avx512, q8_0_rows_avx512};
    if (isa >= HEED_ISA_AVX512)
        return &avx512;
    if (isa >= HEED_ISA_AVX2)
        return &avx2;
#endif
    return &scalar;
}

const heed_attn_rows *heed_attn_rows_get(void)
{
    static _Atomic(const heed_attn_rows *) best;
    const heed_attn_rows *f = atomic_load_explicit(&best, memory_order_relaxed);
    if (!f)
        atomic_store_explicit(&best, f = heed_attn_rows_variant(heed_isa_best()),
                              memory_order_relaxed);
    return f;
}
