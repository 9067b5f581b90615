/*
 * transpose_avx512.h — a 16 × 16 float transpose in registers, for the
 * kernels that turn rows into columns (packed.c's token tiles, attention's
 * key blocks): the off-diagonal h × h blocks of every 2h × 2h block are
 * swapped for h = 8, 4, 2, 1, each swap two vpermt2ps.
 */
#ifndef HEED_KERNELS_TRANSPOSE_AVX512_H
#define HEED_KERNELS_TRANSPOSE_AVX512_H

#include <immintrin.h>
#include <stdint.h>

/* The index vectors of the four swaps: lo[l] / hi[l] pick rows t and t + h. */
typedef struct heed_transpose16 {
    __m512i lo[4], hi[4];
} heed_transpose16;

__attribute__((target("avx512f"), always_inline)) static inline heed_transpose16
heed_transpose16_init(void)
{
    heed_transpose16 p;
    for (int l = 0, h = 8; l < 4; l++, h /= 2) {
        int32_t a[16], b[16];
        for (int i = 0; i < 16; i++) {
            a[i] = i & h ? 16 + i - h : i;
            b[i] = i & h ? 16 + i : i + h;
        }
        p.lo[l] = _mm512_loadu_si512((const void *)a);
        p.hi[l] = _mm512_loadu_si512((const void *)b);
    }
    return p;
}

/* v[i][t] = old v[t][i] */
__attribute__((target("avx512f"), always_inline)) static inline void
heed_transpose16_apply(const heed_transpose16 *p, __m512 v[16])
{
    _Pragma("GCC unroll 4") for (int l = 0, h = 8; l < 4; l++, h /= 2)
        _Pragma("GCC unroll 16") for (int t = 0; t < 16; t++)
            if (!(t & h)) {
                const __m512 a = v[t], b = v[t + h];
                v[t] = _mm512_permutex2var_ps(a, p->lo[l], b);
                v[t + h] = _mm512_permutex2var_ps(a, p->hi[l], b);
            }
}

#endif
