/*
 * matmul.c — y = W x over row ranges, for every weight type with a dot
 * product (see matmul.h for the partner types and vec_dot.c for the
 * arithmetic).
 *
 * Invariants: a prepared buffer holds n_tokens rows of the partner type,
 * each heed_type_row_size(partner, n_in) bytes, back to back; every
 * output element is one dot product of one weight row with one prepared
 * row, so a result never depends on the row range or thread it was
 * computed in.
 */
#include "kernels/matmul.h"

#include <math.h>

#include "heed.h"
#include "kernels/kernel_table.h"

int heed_matmul_vec_type(int type)
{
    const heed_type_kernels *row = heed_kernels_row(type);
    return row ? row->act_type : -1;
}

/* Bytes of one prepared row; 0 if type/n_in has no matmul. */
static size_t prepared_row_size(int type, int64_t n_in)
{
    const heed_type_kernels *row = heed_kernels_row(type);
    if (!row || n_in <= 0 || heed_type_row_size(type, n_in) == 0)
        return 0;
    return heed_type_row_size(row->act_type, n_in);
}

size_t heed_matmul_prepared_size(int type, int64_t n_in, int64_t n_tokens)
{
    size_t row = prepared_row_size(type, n_in);
    if (row == 0 || n_tokens <= 0 || (uint64_t)n_tokens > SIZE_MAX / row)
        return 0;
    return row * (size_t)n_tokens;
}

void heed_matmul_prepare(int type, const float *x, int64_t n_in, int64_t n_tokens, void *buf)
{
    const size_t row = prepared_row_size(type, n_in);
    if (row == 0)
        return;
    for (int64_t t = 0; t < n_tokens; t++)
        heed_kernels_row(type)->act(x + t * n_in, (char *)buf + (size_t)t * row, n_in);
}

/* Tile edges: 16 weight rows x 16 tokens, as ggml tiles its dot loop, so
 * a tile's weight rows stay in L1/L2 while each token's row is reused. */
enum { TILE_ROWS = 16, TILE_TOKENS = 16 };

void heed_matmul_rows(int type, const void *W, int64_t n_in, int64_t o_begin, int64_t o_end,
                      const void *xq, int64_t n_tokens, float *y, int64_t n_out)
{
    const size_t xrow = prepared_row_size(type, n_in);
    const size_t wrow = heed_type_row_size(type, n_in);
    const heed_isa_kernels *k = heed_kernels_get(type);
    const heed_vec_dot_fn dot = k->dot;
    if (xrow == 0 || !dot) {
        for (int64_t t = 0; t < n_tokens; t++)
            for (int64_t o = o_begin; o < o_end; o++)
                y[t * n_out + o] = NAN;
        return;
    }
    const char *w = W;
    const char *x = xq;
    /* Matrix × matrix in small register tiles; matrix × vector (and types
     * without tiles) one dot product per output. Which one is fixed by
     * the product, not by the rows a thread takes. */
    const heed_vec_tile_fn tile = n_tokens > 1 ? k->tile : NULL;
    if (tile) {
        enum { T = HEED_TILE_MAX };
        for (int64_t t0 = 0; t0 < n_tokens; t0 += TILE_TOKENS) {
            const int64_t t1 = t0 + TILE_TOKENS < n_tokens ? t0 + TILE_TOKENS : n_tokens;
            for (int64_t o0 = o_begin; o0 < o_end; o0 += TILE_ROWS) {
                const int64_t o1 = o0 + TILE_ROWS < o_end ? o0 + TILE_ROWS : o_end;
                for (int64_t t = t0; t < t1; t += T)
                    for (int64_t o = o0; o < o1; o += T)
                        tile(w + (size_t)o * wrow, wrow, x + (size_t)t * xrow, xrow, n_in,
                             y + t * n_out + o, n_out, o1 - o < T ? (int)(o1 - o) : T,
                             t1 - t < T ? (int)(t1 - t) : T);
            }
        }
        return;
    }
    const heed_vec_gemv_fn gemv = n_tokens == 1 ? k->gemv : NULL;
    if (gemv) { /* the same dot products, the activation prepared once */
        gemv(w + (size_t)o_begin * wrow, wrow, o_end - o_begin, x, n_in, y + o_begin);
        return;
    }
    for (int64_t t0 = 0; t0 < n_tokens; t0 += TILE_TOKENS) {
        const int64_t t1 = t0 + TILE_TOKENS < n_tokens ? t0 + TILE_TOKENS : n_tokens;
        for (int64_t o0 = o_begin; o0 < o_end; o0 += TILE_ROWS) {
            const int64_t o1 = o0 + TILE_ROWS < o_end ? o0 + TILE_ROWS : o_end;
            for (int64_t t = t0; t < t1; t++)
                for (int64_t o = o0; o < o1; o++)
                    y[t * n_out + o] = dot(w + (size_t)o * wrow, x + (size_t)t * xrow, n_in);
        }
    }
}
