/*
 * test_packed.c — the packed weight layout and its kernels (packed.h).
 *
 *  - packing then unpacking gives back every row byte for byte;
 *  - every variant's activations and outputs equal the scalar
 *    reference's bit for bit (the same operations in the same order), on
 *    awkward sizes, token counts from 1 to past a tile, and split group
 *    ranges;
 *  - the packed reference agrees with the row-major scalar dot product
 *    (vec_dot.c) on the same weights and activations within the float
 *    bound of test_matmul.c: both sum nb exact integer block sums, each
 *    scaled with a few roundings, in different orders, so they differ
 *    by at most (nb + 16) 2^-23 Σ|w_i x_i| (q4_K: plus twice the minimum
 *    parts' Σ|m_i x_i|, as test_matmul.c counts them; f16 / bf16: nb is
 *    n, each product one rounding);
 *  - a model's packed matrices are exactly the file's rows, packed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "tensor/blocks.h"
#include "testutil.h"
#include "util/splitmix.h"

static const int types[] = {HEED_TYPE_Q4_0, HEED_TYPE_Q4_1, HEED_TYPE_Q5_0, HEED_TYPE_Q5_1,
                            HEED_TYPE_Q8_0, HEED_TYPE_Q2_K,
                            HEED_TYPE_Q3_K, HEED_TYPE_Q4_K, HEED_TYPE_Q5_K, HEED_TYPE_Q6_K,
                            HEED_TYPE_F16,  HEED_TYPE_BF16};
static const heed_isa fast_isas[] = {HEED_ISA_AVX512_VNNI};

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    cr_assert_not_null(p);
    return p;
}

static int64_t block_of(int type) { return heed_type_get(type)->block_size; }

static bool is_half(int type) { return type == HEED_TYPE_F16 || type == HEED_TYPE_BF16; }

/* Elements of a packed block: the type's block, 32 for f16 / bf16. */
static int64_t pack_block(int type) { return is_half(type) ? 32 : block_of(type); }

/* Byte offsets of a block's f16 scales: d, and dmin (-1: none). */
static void scale_offsets(int type, int *d, int *dmin)
{
    *d = type == HEED_TYPE_Q6_K ? 208 : type == HEED_TYPE_Q3_K ? 108 : type == HEED_TYPE_Q2_K ? 80 : 0;
    *dmin = type == HEED_TYPE_Q4_K || type == HEED_TYPE_Q5_K || type == HEED_TYPE_Q4_1 ||
                    type == HEED_TYPE_Q5_1
                ? 2
            : type == HEED_TYPE_Q2_K ? 82
                                     : -1;
}

/* A matrix of random quant bytes (every bit pattern of quants, packed
 * scales and high bits) with f16 scales in [2^-10, 2^-4], as quantisers
 * write them; f16 / bf16: gaussian values, zeros and subnormals among
 * them. */
static void *random_matrix(int type, int64_t n_in, int64_t n_out, uint64_t *s)
{
    if (is_half(type)) {
        uint16_t *w = xalloc(2 * (size_t)(n_in * n_out));
        for (int64_t i = 0; i < n_in * n_out; i++) {
            const float v = i % 97 == 0 ? 0.0f : i % 89 == 0 ? 1e-6f * test_gauss(s) : test_gauss(s);
            w[i] = type == HEED_TYPE_F16 ? heed_f32_to_f16(v) : heed_f32_to_bf16(v);
        }
        return w;
    }
    const size_t block = heed_type_get(type)->type_size;
    const int64_t blocks = n_in / block_of(type) * n_out;
    uint8_t *w = xalloc(block * (size_t)blocks);
    int off_d, off_m;
    scale_offsets(type, &off_d, &off_m);
    for (int64_t b = 0; b < blocks; b++) {
        uint8_t *p = w + (size_t)b * block;
        for (size_t i = 0; i < block; i++)
            p[i] = (uint8_t)heed_splitmix64(s);
        const uint16_t d = heed_f32_to_f16(exp2f((float)(-10 + 6 * test_unif01(s))));
        const uint16_t m = heed_f32_to_f16(exp2f((float)(-10 + 6 * test_unif01(s))));
        memcpy(p + off_d, &d, 2);
        if (off_m >= 0)
            memcpy(p + off_m, &m, 2);
    }
    return w;
}

/* The part of each weight that comes from a block minimum (q4_1, q5_1,
 * q2_K, q4_K, q5_K: the row with its quants cleared, dequantised; 0 for
 * the other types). */
static void min_parts(int type, const void *row, int64_t n, float *m)
{
    memset(m, 0, sizeof(float) * (size_t)n);
    if (type != HEED_TYPE_Q4_1 && type != HEED_TYPE_Q5_1 && type != HEED_TYPE_Q2_K &&
        type != HEED_TYPE_Q4_K && type != HEED_TYPE_Q5_K)
        return;
    uint8_t *tmp = xalloc(heed_type_row_size(type, n));
    memcpy(tmp, row, heed_type_row_size(type, n));
    for (int64_t b = 0; b < n / block_of(type); b++) {
        if (type == HEED_TYPE_Q4_1) {
            heed_block_q4_1 *blk = (heed_block_q4_1 *)(void *)tmp + b;
            memset(blk->qs, 0, sizeof blk->qs);
        } else if (type == HEED_TYPE_Q5_1) {
            heed_block_q5_1 *blk = (heed_block_q5_1 *)(void *)tmp + b;
            memset(blk->qs, 0, sizeof blk->qs);
            memset(blk->qh, 0, sizeof blk->qh);
        } else if (type == HEED_TYPE_Q2_K) {
            heed_block_q2_K *blk = (heed_block_q2_K *)(void *)tmp + b;
            memset(blk->qs, 0, sizeof blk->qs);
        } else if (type == HEED_TYPE_Q4_K) {
            heed_block_q4_K *blk = (heed_block_q4_K *)(void *)tmp + b;
            memset(blk->qs, 0, sizeof blk->qs);
        } else {
            heed_block_q5_K *blk = (heed_block_q5_K *)(void *)tmp + b;
            memset(blk->qs, 0, sizeof blk->qs);
            memset(blk->qh, 0, sizeof blk->qh);
        }
    }
    heed_type_get(type)->to_float(tmp, m, n);
    free(tmp);
}

/* Activations: gaussian, with an all-zero block, a large one and a
 * block of one repeated value (ties in the quantiser). */
static float *random_acts(int64_t n, uint64_t *s)
{
    float *x = xalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = test_gauss(s);
    if (n >= 96) {
        memset(x, 0, 32 * sizeof *x);
        for (int i = 32; i < 64; i++)
            x[i] *= 1e4f;
        for (int i = 64; i < 96; i++)
            x[i] = 0.75f;
    }
    return x;
}

Test(packed, pack_then_unpack_is_the_file_rows)
{
    uint64_t s = 1;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const int type = types[k];
        const int64_t n_in = 5 * pack_block(type), n_out = 48;
        void *w = random_matrix(type, n_in, n_out, &s);
        void *p = xalloc(heed_packed_size(type, n_in, n_out));
        heed_pack_groups(type, w, n_in, 0, n_out / 16, p);
        const size_t row = heed_type_row_size(type, n_in);
        uint8_t *back = xalloc(row);
        for (int64_t o = 0; o < n_out; o++) {
            heed_unpack_row(type, p, n_in, o, back);
            cr_assert(memcmp(back, (uint8_t *)w + o * row, row) == 0, "%s row %lld",
                      heed_type_name(type), (long long)o);
        }
        free(back);
        free(p);
        free(w);
    }
}

Test(packed, shapes_that_cannot_be_packed)
{
    cr_assert_eq(heed_packed_size(HEED_TYPE_Q4_0, 256, 24), 0);  /* rows not a multiple of 16 */
    cr_assert_eq(heed_packed_size(HEED_TYPE_Q8_0, 48, 16), 0);   /* not whole blocks */
    cr_assert_eq(heed_packed_size(HEED_TYPE_Q4_K, 128, 16), 0);  /* not whole super-blocks */
    cr_assert_eq(heed_packed_size(HEED_TYPE_F32, 256, 16), 0);   /* no packed layout */
    cr_assert_eq(heed_packed_size(HEED_TYPE_F16, 48, 16), 0);    /* not whole blocks of 32 */
    cr_assert_null(heed_packed_reference(HEED_TYPE_F32));
    cr_assert(!heed_packed_wanted(HEED_TYPE_Q4_0, 256, 24));
}

/* Runs kernels k over all groups of a packed matrix, in two ranges split
 * at group `split`. */
static void run_rows(const heed_packed_kernels *k, const void *p, int64_t n_in, int64_t n_out,
                     const void *a, int64_t n_tok, int64_t split, float *y)
{
    k->rows(p, n_in, 0, split, a, n_tok, y, n_out);
    k->rows(p, n_in, split, n_out / 16, a, n_tok, y, n_out);
}

Test(packed, every_variant_equals_the_reference_bit_for_bit)
{
    /* blocks of 32, blocks of 256, rows (592: past a chunk of f16 groups) */
    static const int64_t sizes[][3] = {{1, 1, 16}, {5, 3, 48}, {65, 9, 32}, {3, 2, 592}};
    static const int64_t tokens[] = {1, 2, 7, 16, 17, 40};
    uint64_t s = 2;
    int checked = 0;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const int type = types[k];
        const heed_packed_kernels *ref = heed_packed_reference(type);
        cr_assert_not_null(ref);
        for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
            const int64_t n_in = pack_block(type) * sizes[z][pack_block(type) == 32 ? 0 : 1];
            const int64_t n_out = sizes[z][2];
            void *w = random_matrix(type, n_in, n_out, &s);
            void *p = xalloc(heed_packed_size(type, n_in, n_out));
            heed_pack_groups(type, w, n_in, 0, n_out / 16, p);
            for (size_t t = 0; t < sizeof tokens / sizeof *tokens; t++) {
                const int64_t n_tok = tokens[t];
                float *x = random_acts(n_in * n_tok, &s);
                void *a_ref = xalloc(heed_packed_act_size(type, n_in, n_tok));
                void *a = xalloc(heed_packed_act_size(type, n_in, n_tok));
                float *y_ref = xalloc(sizeof(float) * (size_t)(n_out * n_tok));
                float *y = xalloc(sizeof(float) * (size_t)(n_out * n_tok));
                ref->act(x, n_in, n_tok, a_ref);
                run_rows(ref, p, n_in, n_out, a_ref, n_tok, 0, y_ref);
                for (size_t i = 0; i < sizeof fast_isas / sizeof *fast_isas; i++) {
                    const heed_packed_kernels *fast = heed_kernels_variant(type, fast_isas[i]).packed;
                    if (!fast)
                        continue;
                    fast->act(x, n_in, n_tok, a);
                    cr_assert(memcmp(a, a_ref, heed_packed_act_size(type, n_in, n_tok)) == 0,
                              "%s %s activations, %lld x %lld", heed_isa_name(fast_isas[i]),
                              heed_type_name(type), (long long)n_tok, (long long)n_in);
                    run_rows(fast, p, n_in, n_out, a, n_tok, n_out / 32, y);
                    for (int64_t e = 0; e < n_out * n_tok; e++)
                        cr_assert(memcmp(&y[e], &y_ref[e], sizeof *y) == 0,
                                  "%s %s %lld x %lld x %lld, element %lld: %.9g, reference "
                                  "%.9g", heed_isa_name(fast_isas[i]), heed_type_name(type), (long long)n_out,
                                  (long long)n_in, (long long)n_tok, (long long)e, y[e],
                                  y_ref[e]);
                    checked++;
                }
                free(x);
                free(a_ref);
                free(a);
                free(y_ref);
                free(y);
            }
            free(p);
            free(w);
        }
    }
    if (!checked)
        cr_log_info("no fast packed variant on this CPU: only the reference ran");
}

Test(packed, the_reference_agrees_with_the_row_major_dot_product)
{
    uint64_t s = 3;
    const int64_t n_in = 4096, n_out = 32, n_tok = 3;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const int type = types[k];
        const heed_packed_kernels *ref = heed_packed_reference(type);
        void *w = random_matrix(type, n_in, n_out, &s);
        void *p = xalloc(heed_packed_size(type, n_in, n_out));
        heed_pack_groups(type, w, n_in, 0, n_out / 16, p);
        float *x = random_acts(n_in * n_tok, &s);
        const int xtype = heed_matmul_vec_type(type);
        if (xtype == HEED_TYPE_Q8_1) /* its f16 d·Σq would overflow on the 1e4 block */
            for (int64_t t = 0; t < n_tok; t++)
                for (int i = 32; i < 64; i++)
                    x[t * n_in + i] *= 1e-3f;
        void *a = xalloc(heed_packed_act_size(type, n_in, n_tok));
        float *y = xalloc(sizeof(float) * (size_t)(n_out * n_tok));
        ref->act(x, n_in, n_tok, a);
        run_rows(ref, p, n_in, n_out, a, n_tok, 1, y);
        /* the row-major path's activations: the same Q8_0 / Q8_K quants */
        void *xq = xalloc(heed_matmul_prepared_size(type, n_in, n_tok));
        heed_matmul_prepare(type, x, n_in, n_tok, xq);
        const size_t wrow = heed_type_row_size(type, n_in);
        const size_t xrow = heed_type_row_size(xtype, n_in);
        heed_vec_dot_fn dot = heed_kernels_variant(type, HEED_ISA_SCALAR).dot;
        float *wd = xalloc(sizeof(float) * (size_t)n_in), *xd = xalloc(sizeof(float) * (size_t)n_in);
        float *mins = xalloc(sizeof(float) * (size_t)n_in);
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t o = 0; o < n_out; o++) {
                const void *wr = (const uint8_t *)w + o * wrow, *xr = (const uint8_t *)xq + t * xrow;
                heed_type_get(type)->to_float(wr, wd, n_in);
                min_parts(type, wr, n_in, mins);
                heed_type_get(xtype)->to_float(xr, xd, n_in);
                /* q4_K's weights are d·sc·q - dmin·mn: the two parts count
                 * apart (test_matmul.c), the min part counted twice */
                double absum = 0, minsum = 0;
                for (int64_t i = 0; i < n_in; i++) {
                    absum += fabs((double)wd[i] * xd[i]) + 2 * fabs((double)mins[i] * xd[i]);
                    minsum += fabs((double)mins[i] * xd[i]);
                }
                const double want = dot(wr, xr, n_in), got = y[t * n_out + o];
                /* Q8_1 (q4_1, q5_1) holds its d·Σq as an f16: 2^-11 of the
                 * min term, where the packed layout takes Σq exactly */
                const double bound = (double)(n_in / block_of(type) + 16) * 0x1p-23 * absum +
                                     (xtype == HEED_TYPE_Q8_1 ? 0x1p-11 * minsum : 0);
                cr_assert(fabs(got - want) <= bound, "%s row %lld token %lld: %.9g vs %.9g "
                          "(bound %.3g)", heed_type_name(type), (long long)o, (long long)t,
                          got, want, bound);
            }
        free(wd);
        free(xd);
        free(mins);
        free(xq);
        free(y);
        free(a);
        free(x);
        free(p);
        free(w);
    }
}

/* A fixture model's packed matrices hold exactly the file's rows. */
Test(packed, a_models_packed_matrices_are_its_file_rows)
{
    char path[512];
    FIXTURE_PATH(path, "llama-tiny-q8_0.gguf");
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
    const heed_weight *w = &m->layers[1].w_down;
    if (!w->packed) {
        heed_gguf_close(g);
        heed_model_free(m);
        cr_skip_test("this CPU multiplies q8_0 row-major: nothing packed");
    }
    const heed_gguf_tensor *t = heed_gguf_find_tensor(g, "blk.1.ffn_down.weight");
    cr_assert_not_null(t);
    const size_t row = heed_type_row_size(w->type, w->n_in);
    uint8_t *back = xalloc(row);
    for (int64_t o = 0; o < w->n_out; o++) {
        heed_unpack_row(w->type, w->data, w->n_in, o, back);
        cr_assert(memcmp(back, (const uint8_t *)t->data + o * row, row) == 0, "row %lld",
                  (long long)o);
    }
    /* the tied output is packed; the embedding keeps the file's rows */
    cr_assert_not_null(m->output.packed);
    cr_assert_null(m->token_embd.packed);
    free(back);
    heed_gguf_close(g);
    heed_model_free(m);
}
