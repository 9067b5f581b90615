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
#include <stdbool.h>
#include <string.h>

#include "heed.h"
#include "kernels/vec_dot.h"
#include "tensor/quant.h"

/* What a weight type's matmul needs: its partner type and how an f32
 * activation row becomes one (llama.cpp's type_traits_cpu vec_dot_type
 * and that type's from_float as the x86 backend runs it). */
typedef struct matmul_trait {
    int vec_type;
    void (*convert)(const float *x, void *dst, int64_t n);
} matmul_trait;

static const matmul_trait *trait_of(int type)
{
    /* f16/bf16 conversions round to nearest even, as F16C and ggml do */
    static const matmul_trait f32 = {HEED_TYPE_F32, heed_quantize_f32};
    static const matmul_trait f16 = {HEED_TYPE_F16, heed_quantize_f16};
    static const matmul_trait bf16 = {HEED_TYPE_BF16, heed_quantize_bf16};
    static const matmul_trait q8_0 = {HEED_TYPE_Q8_0, heed_quantize_act_q8_0};
    static const matmul_trait q8_1 = {HEED_TYPE_Q8_1, heed_quantize_act_q8_1};
    /* the backend's quantize_row_q8_K is the reference one on x86 */
    static const matmul_trait q8_K = {HEED_TYPE_Q8_K, heed_quantize_q8_K};
    switch (type) {
    case HEED_TYPE_F32: return &f32;
    case HEED_TYPE_F16: return &f16;
    case HEED_TYPE_BF16: return &bf16;
    case HEED_TYPE_Q4_0:
    case HEED_TYPE_Q5_0:
    case HEED_TYPE_Q8_0: return &q8_0;
    case HEED_TYPE_Q4_1:
    case HEED_TYPE_Q5_1: return &q8_1;
    case HEED_TYPE_Q2_K:
    case HEED_TYPE_Q3_K:
    case HEED_TYPE_Q4_K:
    case HEED_TYPE_Q5_K:
    case HEED_TYPE_Q6_K: return &q8_K;
    default: return NULL;
    }
}

int heed_matmul_vec_type(int type)
{
    const matmul_trait *tr = trait_of(type);
    return tr ? tr->vec_type : -1;
}

/* Bytes of one prepared row; 0 if type/n_in has no matmul. */
static size_t prepared_row_size(int type, int64_t n_in)
{
    const matmul_trait *tr = trait_of(type);
    if (!tr || n_in <= 0 || heed_type_row_size(type, n_in) == 0)
        return 0;
    return heed_type_row_size(tr->vec_type, n_in);
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
    const matmul_trait *tr = trait_of(type);
    size_t row = prepared_row_size(type, n_in);
    if (row == 0)
        return;
    for (int64_t t = 0; t < n_tokens; t++)
        tr->convert(x + t * n_in, (char *)buf + (size_t)t * row, n_in);
}

/* Tile edges: 16 weight rows x 16 tokens, as ggml tiles its dot loop, so
 * a tile's weight rows stay in L1/L2 while each token's row is reused. */
enum { TILE_ROWS = 16, TILE_TOKENS = 16 };

void heed_matmul_rows(int type, const void *W, int64_t n_in, int64_t o_begin, int64_t o_end,
                      const void *xq, int64_t n_tokens, float *y, int64_t n_out)
{
    const size_t xrow = prepared_row_size(type, n_in);
    const size_t wrow = heed_type_row_size(type, n_in);
    heed_vec_dot_fn dot = heed_vec_dot_get(type);
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
    heed_vec_tile_fn tile = n_tokens > 1 ? heed_vec_tile_get(type) : NULL;
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
    heed_vec_gemv_fn gemv = n_tokens == 1 ? heed_vec_gemv_get(type) : NULL;
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
