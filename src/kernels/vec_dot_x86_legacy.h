/*
 * vec_dot_x86_legacy.h — the q8_0 and q4_0 kernels (8 float lanes),
 * written once and compiled by vec_dot_avx2.c and, with VNNI,
 * vec_dot_avx512.c. Only the integer dot product of one block differs.
 *
 * The includer defines TARGET (the function attribute) and, before the
 * include, dot_q8_block(qs, x) and dot_q4_block(qs, x): the 8 int32 lane
 * sums of w * x over one block's 32 quants qs and x. Not a header to
 * include anywhere else.
 */

/* acc + the scaled sums of one block of either type (f16 d first, the
 * quants at byte 2). */
TARGET static inline __m256 legacy_block(__m256 acc, const uint8_t *w, const heed_block_q8_0 *x,
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
TARGET static inline __attribute__((always_inline)) float
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

TARGET static float dot_q8_0(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q8_0, qs) == 2, "q8_0 layout");
    return legacy_dot(w, sizeof(heed_block_q8_0), x, n, 0);
}

TARGET static float dot_q4_0(const void *w, const void *x, int64_t n)
{
    _Static_assert(offsetof(heed_block_q4_0, qs) == 2, "q4_0 layout");
    return legacy_dot(w, sizeof(heed_block_q4_0), x, n, 1);
}
