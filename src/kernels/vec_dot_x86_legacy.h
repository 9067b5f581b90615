/*
 * vec_dot_x86_legacy.h — the q8_0, q4_0 and q5_0 kernels (8 float lanes),
 * written once and compiled by vec_dot_avx2.c and, with VNNI,
 * vec_dot_avx512.c. Not a header to include anywhere else.
 *
 * The unit is a tile: up to 4 weight rows × 4 activation rows. Each block
 * of a weight row is unpacked once for all the tile's tokens, and each
 * activation block loaded once for all its rows; prompt processing is
 * matrix × matrix, so this is where its arithmetic goes. Every element is
 * computed the same way whatever the tile's shape — one accumulator, the
 * blocks in order, then a horizontal sum — so any split of rows or tokens
 * gives the same bits.
 *
 * The includer defines TARGET (the function attribute), KERNEL(name) (the
 * exported name of kernel `name`, e.g. heed_tile_q4_0_avx2), LEGACY_MAX_ROWS
 * (the weight rows a tile takes at once: 4 with 32 vector registers, 2
 * with 16) and, before the include, on 32-quant blocks:
 *   w_q4(qs), w_q8(qs), w_q5(qh_qs)
 *                            a weight block's quants, ready for pair_*
 *   x_prep(qx), x_prep5(qx)  what pair_q4 needs from an activation block
 *                            for q4_0 / q5_0
 *   pair_q4(w, qx, px), pair_q8(w, qx)
 *                            the 8 int32 lane sums of w * x (lane i: quants
 *                            4i..4i+3), exact
 */

enum { LEGACY_TILE = 4 };
enum { LEGACY_Q8, LEGACY_Q4, LEGACY_Q5 }; /* the tile's weight types */

TARGET static inline __attribute__((always_inline)) void
legacy_tile(const uint8_t *w, size_t w_stride, const uint8_t *x, size_t x_stride, int64_t n,
            float *y, int64_t y_stride, const int R, const int T, const int kind)
{
    const size_t wblock = kind == LEGACY_Q4 ? sizeof(heed_block_q4_0)
                        : kind == LEGACY_Q5 ? sizeof(heed_block_q5_0)
                                            : sizeof(heed_block_q8_0);
    __m256 acc[LEGACY_TILE][LEGACY_TILE];
    /* fully unrolled, so the accumulators live in registers */
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++)
            acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HEED_QK8_0; b++) {
        __m256i qx[LEGACY_TILE], px[LEGACY_TILE];
        __m256 dx[LEGACY_TILE];
        HEED_UNROLL for (int t = 0; t < T; t++) {
            const heed_block_q8_0 *xb = (const heed_block_q8_0 *)(x + (size_t)t * x_stride) + b;
            qx[t] = ld256(xb->qs);
            px[t] = kind == LEGACY_Q4 ? x_prep(qx[t]) : kind == LEGACY_Q5 ? x_prep5(qx[t]) : qx[t];
            dx[t] = _mm256_set1_ps(f16(xb->d));
        }
        HEED_UNROLL for (int r = 0; r < R; r++) {
            const uint8_t *wb = w + (size_t)r * w_stride + (size_t)b * wblock;
            /* the rows of a tile are short interleaved streams, which the
             * hardware prefetcher follows badly: fetch the same block of
             * the next tile's rows (matmul walks tiles in row order) */
            _mm_prefetch((const char *)wb + LEGACY_TILE * w_stride, _MM_HINT_T0);
            uint16_t d;
            memcpy(&d, wb, 2); /* every kind: f16 d first, the rest from byte 2 */
            const __m256 dw = _mm256_set1_ps(f16(d));
            const __m256i qw = kind == LEGACY_Q4 ? w_q4(wb + 2)
                             : kind == LEGACY_Q5 ? w_q5(wb + 2)
                                                 : w_q8((const int8_t *)(wb + 2));
            HEED_UNROLL for (int t = 0; t < T; t++) {
                /* q5_0 is q4_0 with a 16 where q4_0 has 8 */
                const __m256i p = kind == LEGACY_Q8 ? pair_q8(qw, qx[t]) : pair_q4(qw, qx[t], px[t]);
                /* dw · dx rounds as the scalar product does */
                acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[t]), _mm256_cvtepi32_ps(p),
                                            acc[r][t]);
            }
        }
    }
    HEED_UNROLL for (int r = 0; r < R; r++)
        HEED_UNROLL for (int t = 0; t < T; t++)
            y[t * y_stride + r] = hsum8(acc[r][t]);
}

TARGET void KERNEL(tile_q8_0)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                             float *y, int64_t ys, int rows, int tokens)
{
    _Static_assert(offsetof(heed_block_q8_0, qs) == 2, "q8_0 layout");
    HEED_TILES(LEGACY_MAX_ROWS, legacy_tile, LEGACY_Q8)
}

TARGET void KERNEL(tile_q4_0)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                             float *y, int64_t ys, int rows, int tokens)
{
    _Static_assert(offsetof(heed_block_q4_0, qs) == 2, "q4_0 layout");
    HEED_TILES(LEGACY_MAX_ROWS, legacy_tile, LEGACY_Q4)
}

TARGET void KERNEL(tile_q5_0)(const void *w, size_t ws, const void *x, size_t xs, int64_t n,
                             float *y, int64_t ys, int rows, int tokens)
{
    _Static_assert(offsetof(heed_block_q5_0, qh) == 2 && offsetof(heed_block_q5_0, qs) == 6,
                   "q5_0 layout");
    HEED_TILES(LEGACY_MAX_ROWS, legacy_tile, LEGACY_Q5)
}


/* The single dot product (generation's matrix × vector): one row is one
 * sequential stream, which the hardware prefetcher follows well, and two
 * accumulators (even and odd blocks) hide the FMA latency. It sums in
 * another order than the tiles, so matmul uses it for all of a one-token
 * product and the tiles for all of a longer one. */
TARGET static inline __attribute__((always_inline)) __m256
legacy_block(__m256 acc, const uint8_t *w, const heed_block_q8_0 *x, const int q4)
{
    uint16_t d;
    memcpy(&d, w, 2);
    const __m256i qx = ld256(x->qs);
    const __m256i p = q4 ? pair_q4(w_q4(w + 2), qx, x_prep(qx))
                         : pair_q8(w_q8((const int8_t *)(w + 2)), qx);
    return _mm256_fmadd_ps(_mm256_set1_ps(f16(d) * f16(x->d)), _mm256_cvtepi32_ps(p), acc);
}

TARGET static inline __attribute__((always_inline)) float
legacy_dot(const uint8_t *w, const heed_block_q8_0 *x, int64_t n, const int q4)
{
    const size_t stride = q4 ? sizeof(heed_block_q4_0) : sizeof(heed_block_q8_0);
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

/* Matrix × vector: the dot product of each of `rows` weight rows with one
 * activation row, each bit-identical to legacy_dot — but what depends only
 * on the activation block (its scale as a float, and for q4_0 the 8·Σx
 * correction) is computed once for all rows instead of once per row. */
enum { GEMV_MAX_BLOCKS = 512 };

TARGET static inline __attribute__((always_inline)) __m256
gemv_block(__m256 acc, const uint8_t *w, const int8_t *xq, __m256i px, float dx, const int q4)
{
    uint16_t d;
    memcpy(&d, w, 2);
    const __m256i qx = ld256(xq);
    const __m256i p = q4 ? pair_q4(w_q4(w + 2), qx, px) : pair_q8(w_q8((const int8_t *)(w + 2)), qx);
    return _mm256_fmadd_ps(_mm256_set1_ps(f16(d) * dx), _mm256_cvtepi32_ps(p), acc);
}

TARGET static inline __attribute__((always_inline)) void
legacy_gemv(const uint8_t *w, size_t w_stride, int64_t rows, const heed_block_q8_0 *x,
            int64_t n, float *y, const int q4)
{
    const size_t stride = q4 ? sizeof(heed_block_q4_0) : sizeof(heed_block_q8_0);
    const int64_t nb = n / HEED_QK8_0;
    if (nb > GEMV_MAX_BLOCKS) {
        for (int64_t r = 0; r < rows; r++)
            y[r] = legacy_dot(w + (size_t)r * w_stride, x, n, q4);
        return;
    }
    __m256i px[GEMV_MAX_BLOCKS];
    float dx[GEMV_MAX_BLOCKS];
    for (int64_t b = 0; b < nb; b++) {
        px[b] = q4 ? x_prep(ld256(x[b].qs)) : _mm256_setzero_si256();
        dx[b] = f16(x[b].d);
    }
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wb = w + (size_t)r * w_stride;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t b = 0; /* even blocks into acc0, odd into acc1, as legacy_dot */
        for (; b + 2 <= nb; b += 2, wb += 2 * stride) {
            acc0 = gemv_block(acc0, wb, x[b].qs, px[b], dx[b], q4);
            acc1 = gemv_block(acc1, wb + stride, x[b + 1].qs, px[b + 1], dx[b + 1], q4);
        }
        if (b < nb)
            acc0 = gemv_block(acc0, wb, x[b].qs, px[b], dx[b], q4);
        y[r] = hsum8(_mm256_add_ps(acc0, acc1));
    }
}

TARGET void KERNEL(gemv_q8_0)(const void *w, size_t w_stride, int64_t rows, const void *x,
                             int64_t n, float *y)
{
    legacy_gemv(w, w_stride, rows, x, n, y, 0);
}

TARGET void KERNEL(gemv_q4_0)(const void *w, size_t w_stride, int64_t rows, const void *x,
                             int64_t n, float *y)
{
    legacy_gemv(w, w_stride, rows, x, n, y, 1);
}

TARGET float KERNEL(dot_q8_0)(const void *w, const void *x, int64_t n)
{
    return legacy_dot(w, x, n, 0);
}

TARGET float KERNEL(dot_q4_0)(const void *w, const void *x, int64_t n)
{
    return legacy_dot(w, x, n, 1);
}
