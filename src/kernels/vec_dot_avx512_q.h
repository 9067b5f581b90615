/*
 * vec_dot_avx512_q.h — the AVX-512 kernels of the quantised types, written
 * once and compiled twice by vec_dot_avx512.c: with VNNI (the int8/int16
 * dot-product instructions vpdpbusd / vpdpwssd) and without (the same sums
 * through vpmaddubsw + vpmaddwd). Only the two helpers below differ.
 *
 * The includer defines TARGET (the function attribute), SFX(name) (a
 * suffix per instance) and VNNI (0 or 1). Not a header to include
 * anywhere else.
 */

/* 16 int32 sums, each of 4 products u8 * s8. Without VNNI the products
 * pass through int16 pair sums, so u * s pairs must stay below 2^15 in
 * magnitude: every caller bounds them in a comment. */
TARGET static inline __m512i SFX(dot_u8s8)(__m512i u, __m512i s)
{
#if VNNI
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
#else
    return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
#endif
}

/* acc + pairwise sums of int16 a * b, in 16 int32 lanes. */
TARGET static inline __m512i SFX(madd_acc)(__m512i acc, __m512i a, __m512i b)
{
#if VNNI
    return _mm512_dpwssd_epi32(acc, a, b);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
#endif
}

/* 16 int32 sums of a q8_0 weight block pair against an activation block
 * pair. Signs move to the activation side: |w| (unsigned, -128 becomes
 * 128) times sign(w) * x; x is never -128, so pairs stay <= 2*128*127. */
TARGET static inline __m512i SFX(dot_q8_pair)(__m512i w, __m512i x)
{
    const __mmask64 neg = _mm512_movepi8_mask(w);
    const __m512i sx = _mm512_mask_sub_epi8(x, neg, _mm512_setzero_si512(), x);
    return SFX(dot_u8s8)(_mm512_abs_epi8(w), sx);
}

TARGET static float SFX(dot_q8_0)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q8_0 *w = vw;
    const heed_block_q8_0 *x = vx;
    const int64_t nb = n / HEED_QK8_0;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        /* the 8 scale products at once, then 4 block pairs */
        const __m256 s = _mm256_mul_ps(scales8(&w[b].d, sizeof *w), scales8(&x[b].d, sizeof *x));
        for (int p = 0; p < 4; p += 2) {
            const int64_t c = b + 2 * p;
            const __m512i p0 = SFX(dot_q8_pair)(load_pair(w[c].qs, w[c + 1].qs), load_pair(x[c].qs, x[c + 1].qs));
            const __m512i p1 = SFX(dot_q8_pair)(load_pair(w[c + 2].qs, w[c + 3].qs),
                                                load_pair(x[c + 2].qs, x[c + 3].qs));
            acc0 = _mm512_fmadd_ps(spread_pair(s, p), _mm512_cvtepi32_ps(p0), acc0);
            acc1 = _mm512_fmadd_ps(spread_pair(s, p + 1), _mm512_cvtepi32_ps(p1), acc1);
        }
    }
    for (; b < nb; b += 2) {
        /* the last one or two blocks; a missing second block is zeros */
        const int two = b + 1 < nb;
        const __m512i p = SFX(dot_q8_pair)(two ? load_pair(w[b].qs, w[b + 1].qs) : load_one(w[b].qs),
                                           two ? load_pair(x[b].qs, x[b + 1].qs) : load_one(x[b].qs));
        acc0 = _mm512_fmadd_ps(two ? scale_pair(w[b].d, x[b].d, w[b + 1].d, x[b + 1].d)
                                   : scale_one(w[b].d, x[b].d),
                               _mm512_cvtepi32_ps(p), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* 16 int32 sums of a q4_0 block pair (quants 0..15 as bytes, see
 * nibbles_pair) against activations: sum (q - 8) x = sum q x - 8 sum x,
 * both u8 * s8 with pairs <= 2 * 15 * 128. */
TARGET static inline __m512i SFX(dot_q4_pair)(__m512i q, __m512i x)
{
    return _mm512_sub_epi32(SFX(dot_u8s8)(q, x), SFX(dot_u8s8)(_mm512_set1_epi8(8), x));
}

TARGET static float SFX(dot_q4_0)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q4_0 *w = vw;
    const heed_block_q8_0 *x = vx;
    const int64_t nb = n / HEED_QK4_0;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
        const __m256 s = _mm256_mul_ps(scales8(&w[b].d, sizeof *w), scales8(&x[b].d, sizeof *x));
        for (int p = 0; p < 4; p += 2) {
            const int64_t c = b + 2 * p;
            const __m512i p0 = SFX(dot_q4_pair)(nibbles_pair(w[c].qs, w[c + 1].qs), load_pair(x[c].qs, x[c + 1].qs));
            const __m512i p1 = SFX(dot_q4_pair)(nibbles_pair(w[c + 2].qs, w[c + 3].qs),
                                                load_pair(x[c + 2].qs, x[c + 3].qs));
            acc0 = _mm512_fmadd_ps(spread_pair(s, p), _mm512_cvtepi32_ps(p0), acc0);
            acc1 = _mm512_fmadd_ps(spread_pair(s, p + 1), _mm512_cvtepi32_ps(p1), acc1);
        }
    }
    for (; b < nb; b += 2) {
        const int two = b + 1 < nb;
        const __m512i p = SFX(dot_q4_pair)(nibbles_pair(w[b].qs, two ? w[b + 1].qs : NULL),
                                           two ? load_pair(x[b].qs, x[b + 1].qs) : load_one(x[b].qs));
        acc0 = _mm512_fmadd_ps(two ? scale_pair(w[b].d, x[b].d, w[b + 1].d, x[b + 1].d)
                                   : scale_one(w[b].d, x[b].d),
                               _mm512_cvtepi32_ps(p), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

TARGET static float SFX(dot_q4_K)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q4_K *w = vw;
    const heed_block_q8_K *x = vx;
    __m512 acc = _mm512_setzero_ps();
    float summin = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        uint8_t sc[8], mn[8];
        heed_k_scales_unpack(w[b].scales, sc, mn);
        const int isum_min = bsums_dot_mins(x[b].bsums, mn);
        /* the 8 scales as int16, spread by a permute per 64 elements */
        const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)sc)));
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            /* elements 64j..64j+63: low nibbles (sub-block 2j), then high */
            const __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(w[b].qs + 32 * j));
            const __m512i q2 = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
            const __m512i qz = _mm512_and_si512(q2, _mm512_set1_epi8(0x0f));
            const __m512i q8 = _mm512_loadu_si512((const void *)(x[b].qs + 64 * j));
            /* pairs <= 2 * 15 * 128 */
            const __m512i p = _mm512_maddubs_epi16(qz, q8);
            const __m512i scv = _mm512_permutexvar_epi16(
                _mm512_add_epi16(half_index(), _mm512_set1_epi16((short)(2 * j))), sc16);
            sumi = SFX(madd_acc)(sumi, p, scv);
        }
        const float d = f16(w[b].d) * x[b].d;
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        summin -= (f16(w[b].dmin) * x[b].d) * (float)isum_min;
    }
    return _mm512_reduce_add_ps(acc) + summin;
}

TARGET static float SFX(dot_q6_K)(const void *vw, const void *vx, int64_t n)
{
    const heed_block_q6_K *w = vw;
    const heed_block_q8_K *x = vx;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x30);
    /* the high bits of groups 0|1 sit at bits 0-1|2-3 of qh (shift left
     * 4|2 to reach bits 4-5), of groups 2|3 at bits 4-5|6-7 (right 0|2) */
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        /* sum (q - 32) x = sum q x - 32 * sum_s scale_s bsums_s */
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)w[b].scales));
        const __m256i off = _mm256_slli_epi32(
            _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(const void *)x[b].bsums), sc16), 5);
        __m512i sumi = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(off));
        const __m512i scz = _mm512_castsi256_si512(sc16);
        for (int h = 0; h < 2; h++) {
            const __m512i ql = _mm512_loadu_si512((const void *)(w[b].ql + 64 * h));
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(w[b].qh + 32 * h)));
            /* elements 128h + 0..63, then 128h + 64..127 */
            const __m512i g01 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                                _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m2));
            const __m512i g23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m2));
            const int8_t *q8 = x[b].qs + 128 * h;
            /* q in 0..63: pairs <= 2 * 63 * 128 */
            const __m512i p01 = _mm512_maddubs_epi16(g01, _mm512_loadu_si512((const void *)q8));
            const __m512i p23 = _mm512_maddubs_epi16(g23, _mm512_loadu_si512((const void *)(q8 + 64)));
            /* int16 lane k of a 64-element group is in sub-block k/8 of it */
            const __m512i i01 = _mm512_add_epi16(quarter_index(), _mm512_set1_epi16((short)(8 * h)));
            const __m512i i23 = _mm512_add_epi16(i01, _mm512_set1_epi16(4));
            sumi = SFX(madd_acc)(sumi, p01, _mm512_permutexvar_epi16(i01, scz));
            sumi = SFX(madd_acc)(sumi, p23, _mm512_permutexvar_epi16(i23, scz));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(f16(w[b].d) * x[b].d), _mm512_cvtepi32_ps(sumi), acc);
    }
    return _mm512_reduce_add_ps(acc);
}
