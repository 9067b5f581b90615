/*
 * vec_dot_avx512_q.h — the AVX-512 kernels of the k-quants, written once
 * and compiled twice by vec_dot_avx512.c: with VNNI (vpdpwssd, the int16
 * dot-product-accumulate) and without (vpmaddwd + vpaddd). Only the
 * helper below differs.
 *
 * The includer defines TARGET (the function attribute), SFX(name) (the
 * instance's name of `name`: heed_dot_q4_K_vnni, ...) and VNNI (0 or 1). Not a header to include
 * anywhere else.
 */

/* acc + pairwise sums of int16 a * b, in 16 int32 lanes. */
TARGET static inline __m512i SFX(madd_acc)(__m512i acc, __m512i a, __m512i b)
{
#if VNNI
    return _mm512_dpwssd_epi32(acc, a, b);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
#endif
}

/* One q4_K / q5_K super-block (qh NULL for q4_K): 16 int32 lane sums of
 * scale * q * q8, and in *isum_min the min term sum_s bsums[s] * mn[s/2]. */
TARGET static inline __m512i SFX(q45_K_block)(const uint8_t *scales, const uint8_t *qs,
                                              const uint8_t *qh, const heed_block_q8_K *x,
                                              int *isum_min)
{
    uint8_t sc[8], mn[8];
    heed_k_scales_unpack(scales, sc, mn);
    *isum_min = bsums_dot_mins(x->bsums, mn);
    /* the 8 scales as int16, spread by a permute per 64 elements */
    const __m512i sc16 = _mm512_castsi128_si512(
        _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)sc)));
    const __m512i hbits = qh ? _mm512_broadcast_i64x4(ld256(qh)) : _mm512_setzero_si512();
    __m512i sumi = _mm512_setzero_si512();
    for (int j = 0; j < 4; j++) {
        /* elements 64j..64j+63: low nibbles (sub-block 2j), then high */
        const __m256i q = ld256(qs + 32 * j);
        const __m512i q2 =
            _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
        __m512i qz = _mm512_and_si512(q2, _mm512_set1_epi8(0x0f));
        if (qh) { /* fifth bit of run k (k = 2j, 2j+1 per half) = bit k of qh */
            const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * j)),
                                                   _mm256_set1_epi16((short)(2 * j + 1)), 1);
            const __m512i hb = _mm512_slli_epi16(_mm512_srlv_epi16(hbits, cnt), 4);
            qz = _mm512_or_si512(qz, _mm512_and_si512(hb, _mm512_set1_epi8(0x10)));
        }
        const __m512i q8 = ld512(x->qs + 64 * j);
        /* pairs <= 2 * 31 * 128 */
        const __m512i p = _mm512_maddubs_epi16(qz, q8);
        const __m512i scv = _mm512_permutexvar_epi16(
            _mm512_add_epi16(half_index(), _mm512_set1_epi16((short)(2 * j))), sc16);
        sumi = SFX(madd_acc)(sumi, p, scv);
    }
    return sumi;
}

/* Rows of q4_K (q5 0) or q5_K: the same fields but q5_K's qh. */
TARGET static inline __attribute__((always_inline)) float
SFX(q45_K_dot)(const void *w, const heed_block_q8_K *x, int64_t n, int q5)
{
    const heed_block_q4_K *w4 = w;
    const heed_block_q5_K *w5 = w;
    __m512 acc = _mm512_setzero_ps();
    float summin = 0.0f;
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        int isum_min;
        const __m512i sumi =
            q5 ? SFX(q45_K_block)(w5[b].scales, w5[b].qs, w5[b].qh, &x[b], &isum_min)
               : SFX(q45_K_block)(w4[b].scales, w4[b].qs, NULL, &x[b], &isum_min);
        const float d = f16(q5 ? w5[b].d : w4[b].d), dmin = f16(q5 ? w5[b].dmin : w4[b].dmin);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d * x[b].d), _mm512_cvtepi32_ps(sumi), acc);
        summin -= (dmin * x[b].d) * (float)isum_min;
    }
    return _mm512_reduce_add_ps(acc) + summin;
}

/* A tile of q4_K / q5_K dot products: R (<= 2) weight rows × T (<= 4)
 * activation rows. A block's scales, mins and quants are unpacked once for
 * all T tokens; every element is computed exactly as q45_K_dot computes
 * it (the same integer sums, the same float steps in the same order), so
 * tile and dot product give the same bits. */
TARGET static inline __attribute__((always_inline)) void
SFX(q45_K_tile)(const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int64_t n, float *y,
                int64_t ys, const int R, const int T, const int q5)
{
    const size_t wblock = q5 ? sizeof(heed_block_q5_K) : sizeof(heed_block_q4_K);
    __m512 acc[2][4];
    float summin[2][4];
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++) {
            acc[r][t] = _mm512_setzero_ps();
            summin[r][t] = 0.0f;
        }
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        const heed_block_q8_K *xb[4];
        HEED_UNROLL for (int t = 0; t < T; t++)
            xb[t] = (const heed_block_q8_K *)(x + (size_t)t * xs) + b;
        HEED_UNROLL for (int r = 0; r < R; r++) {
            const uint8_t *blk = w + (size_t)r * ws + (size_t)b * wblock;
            const heed_block_q4_K *w4 = (const void *)blk;
            const heed_block_q5_K *w5 = (const void *)blk;
            const uint8_t *scales = q5 ? w5->scales : w4->scales;
            const uint8_t *qs = q5 ? w5->qs : w4->qs;
            uint8_t sc[8], mn[8];
            heed_k_scales_unpack(scales, sc, mn);
            const __m512i sc16 = _mm512_castsi128_si512(
                _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)sc)));
            const __m512i hbits = q5 ? _mm512_broadcast_i64x4(ld256(w5->qh)) : _mm512_setzero_si512();
            __m512i sumi[4];
            HEED_UNROLL for (int t = 0; t < T; t++)
                sumi[t] = _mm512_setzero_si512();
            for (int j = 0; j < 4; j++) { /* as q45_K_block */
                const __m256i q = ld256(qs + 32 * j);
                const __m512i q2 =
                    _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
                __m512i qz = _mm512_and_si512(q2, _mm512_set1_epi8(0x0f));
                if (q5) {
                    const __m512i cnt = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * j)),
                                                           _mm256_set1_epi16((short)(2 * j + 1)), 1);
                    const __m512i hb = _mm512_slli_epi16(_mm512_srlv_epi16(hbits, cnt), 4);
                    qz = _mm512_or_si512(qz, _mm512_and_si512(hb, _mm512_set1_epi8(0x10)));
                }
                const __m512i scv = _mm512_permutexvar_epi16(
                    _mm512_add_epi16(half_index(), _mm512_set1_epi16((short)(2 * j))), sc16);
                HEED_UNROLL for (int t = 0; t < T; t++)
                    sumi[t] = SFX(madd_acc)(sumi[t], _mm512_maddubs_epi16(qz, ld512(xb[t]->qs + 64 * j)),
                                            scv);
            }
            const float d = f16(q5 ? w5->d : w4->d), dmin = f16(q5 ? w5->dmin : w4->dmin);
            HEED_UNROLL for (int t = 0; t < T; t++) {
                const int isum_min = bsums_dot_mins(xb[t]->bsums, mn);
                acc[r][t] = _mm512_fmadd_ps(_mm512_set1_ps(d * xb[t]->d),
                                            _mm512_cvtepi32_ps(sumi[t]), acc[r][t]);
                summin[r][t] -= (dmin * xb[t]->d) * (float)isum_min;
            }
        }
    }
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++)
            y[t * ys + r] = _mm512_reduce_add_ps(acc[r][t]) + summin[r][t];
}

/* The same for q6_K: each element exactly as dot_q6_K computes it. */
TARGET static inline __attribute__((always_inline)) void
SFX(q6_K_tile)(const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int64_t n, float *y,
               int64_t ys, const int R, const int T, const int unused)
{
    (void)unused;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x30);
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m512 acc[2][4];
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++)
            acc[r][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / HEED_QK_K; b++) {
        const heed_block_q8_K *xb[4];
        HEED_UNROLL for (int t = 0; t < T; t++)
            xb[t] = (const heed_block_q8_K *)(x + (size_t)t * xs) + b;
        HEED_UNROLL for (int r = 0; r < R; r++) {
            const heed_block_q6_K *wb = (const heed_block_q6_K *)(const void *)(w + (size_t)r * ws) + b;
            const __m256i sc16 = _mm256_cvtepi8_epi16(ld128(wb->scales));
            const __m512i scz = _mm512_castsi256_si512(sc16);
            __m512i sumi[4];
            HEED_UNROLL for (int t = 0; t < T; t++) {
                const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(ld256(xb[t]->bsums), sc16), 5);
                sumi[t] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(off));
            }
            for (int h = 0; h < 2; h++) {
                const __m512i ql = ld512(wb->ql + 64 * h);
                const __m512i qh = _mm512_broadcast_i64x4(ld256(wb->qh + 32 * h));
                const __m512i g01 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                                    _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m2));
                const __m512i g23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                    _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m2));
                const __m512i i01 =
                    _mm512_add_epi16(quarter_index(), _mm512_set1_epi16((short)(8 * h)));
                const __m512i i23 = _mm512_add_epi16(i01, _mm512_set1_epi16(4));
                const __m512i s01 = _mm512_permutexvar_epi16(i01, scz);
                const __m512i s23 = _mm512_permutexvar_epi16(i23, scz);
                HEED_UNROLL for (int t = 0; t < T; t++) {
                    const int8_t *q8 = xb[t]->qs + 128 * h;
                    sumi[t] = SFX(madd_acc)(sumi[t], _mm512_maddubs_epi16(g01, ld512(q8)), s01);
                    sumi[t] = SFX(madd_acc)(sumi[t], _mm512_maddubs_epi16(g23, ld512(q8 + 64)), s23);
                }
            }
            HEED_UNROLL for (int t = 0; t < T; t++)
                acc[r][t] = _mm512_fmadd_ps(_mm512_set1_ps(f16(wb->d) * xb[t]->d),
                                            _mm512_cvtepi32_ps(sumi[t]), acc[r][t]);
        }
    }
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++)
            y[t * ys + r] = _mm512_reduce_add_ps(acc[r][t]);
}

TARGET void SFX(tile_q4_K)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                                  float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(2, SFX(q45_K_tile), 0) /* 2 × 4 fill the registers */
}

TARGET void SFX(tile_q5_K)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                                  float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(2, SFX(q45_K_tile), 1)
}

TARGET void SFX(tile_q6_K)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                                  float *y, int64_t ys, int rows, int tokens)
{
    HEED_TILES(2, SFX(q6_K_tile), 0)
}

TARGET float SFX(dot_q4_K)(const void *w, const void *x, int64_t n)
{
    return SFX(q45_K_dot)(w, x, n, 0);
}

TARGET float SFX(dot_q5_K)(const void *w, const void *x, int64_t n)
{
    return SFX(q45_K_dot)(w, x, n, 1);
}

TARGET float SFX(dot_q6_K)(const void *vw, const void *vx, int64_t n)
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
        const __m256i sc16 = _mm256_cvtepi8_epi16(ld128(w[b].scales));
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(ld256(x[b].bsums), sc16), 5);
        __m512i sumi = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_zextsi256_si512(off));
        const __m512i scz = _mm512_castsi256_si512(sc16);
        for (int h = 0; h < 2; h++) {
            const __m512i ql = ld512(w[b].ql + 64 * h);
            const __m512i qh = _mm512_broadcast_i64x4(ld256(w[b].qh + 32 * h));
            /* elements 128h + 0..63, then 128h + 64..127 */
            const __m512i g01 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                                _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m2));
            const __m512i g23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m2));
            const int8_t *q8 = x[b].qs + 128 * h;
            /* q in 0..63: pairs <= 2 * 63 * 128 */
            const __m512i p01 = _mm512_maddubs_epi16(g01, ld512(q8));
            const __m512i p23 = _mm512_maddubs_epi16(g23, ld512(q8 + 64));
            /* int16 lane k of a 64-element group is in sub-block k/8 of it */
            const __m512i i01 =
                _mm512_add_epi16(quarter_index(), _mm512_set1_epi16((short)(8 * h)));
            const __m512i i23 = _mm512_add_epi16(i01, _mm512_set1_epi16(4));
            sumi = SFX(madd_acc)(sumi, p01, _mm512_permutexvar_epi16(i01, scz));
            sumi = SFX(madd_acc)(sumi, p23, _mm512_permutexvar_epi16(i23, scz));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(f16(w[b].d) * x[b].d), _mm512_cvtepi32_ps(sumi), acc);
    }
    return _mm512_reduce_add_ps(acc);
}
