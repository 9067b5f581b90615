/*
 * vec_f32.c — f32 dot product and f16 → f32 rows: a scalar reference and
 * AVX2 / AVX-512 variants compiled with target attributes, so the default
 * build still runs on any x86-64.
 */
#include "kernels/kernels.h"

#include <stdatomic.h>

#include "heed.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HEED_X86 1
#endif

static float dot_scalar(const float *x, const float *y, int64_t n)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += x[i] * y[i];
    return sum;
}

static void f16_row_scalar(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = heed_f16_to_f32(src[i]);
}

#ifdef HEED_X86
__attribute__((target("avx2,fma")))
static float dot_avx2(const float *x, const float *y, int64_t n)
{
    /* Four accumulators hide the FMA latency. */
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * k),
                                     _mm256_loadu_ps(y + i + 8 * k), acc[k]);
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc[0]);
    __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float sum = _mm_cvtss_f32(h);
    for (; i < n; i++)
        sum += x[i] * y[i];
    return sum;
}

__attribute__((target("avx2,fma,f16c")))
static void f16_row_avx2(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = heed_f16_to_f32(src[i]);
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static float dot_avx512(const float *x, const float *y, int64_t n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
    }
    if (i + 16 <= n) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
        i += 16;
    }
    if (i < n) { /* the tail, masked: no scalar loop */
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), acc1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void f16_row_avx512(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}
#endif

heed_dot_f32_fn heed_dot_f32_variant(heed_isa isa)
{
    if (isa > heed_isa_best())
        return NULL;
#ifdef HEED_X86
    if (isa >= HEED_ISA_AVX512)
        return dot_avx512;
    if (isa >= HEED_ISA_AVX2)
        return dot_avx2;
#endif
    return dot_scalar;
}

heed_f16_row_fn heed_f16_to_f32_row_variant(heed_isa isa)
{
    if (isa > heed_isa_best())
        return NULL;
#ifdef HEED_X86
    if (isa >= HEED_ISA_AVX512)
        return f16_row_avx512;
    if (isa >= HEED_ISA_AVX2)
        return f16_row_avx2;
#endif
    return f16_row_scalar;
}

float heed_dot_f32(const float *x, const float *y, int64_t n)
{
    /* Resolved on first use; every thread resolves the same function. */
    static _Atomic(heed_dot_f32_fn) fn;
    heed_dot_f32_fn f = atomic_load_explicit(&fn, memory_order_relaxed);
    if (!f)
        atomic_store_explicit(&fn, f = heed_dot_f32_variant(heed_isa_best()), memory_order_relaxed);
    return f(x, y, n);
}

void heed_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n)
{
    static _Atomic(heed_f16_row_fn) fn;
    heed_f16_row_fn f = atomic_load_explicit(&fn, memory_order_relaxed);
    if (!f)
        atomic_store_explicit(&fn, f = heed_f16_to_f32_row_variant(heed_isa_best()),
                              memory_order_relaxed);
    f(src, dst, n);
}
