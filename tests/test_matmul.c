/*
 * test_matmul.c — the dot products and matmul of every weight type.
 *
 * What is checked, and how tight:
 *  - the scalar reference of each type against the same dot product in
 *    double precision, computed from the dequantised weight row and the
 *    dequantised partner-type activations (both dequantisers are exact);
 *  - with every scale field set to 1 (and small enough quants), every
 *    result is an integer below 2^24, so each variant (scalar, AVX2,
 *    AVX-512, VNNI) must return it exactly: the integer sums are equal;
 *  - every fast variant against the scalar reference on random data of
 *    awkward sizes, random bytes (all bit patterns, extreme quants) and
 *    misaligned rows;
 *  - heed_matmul_rows for n_tokens 1, 3, 17 and split row ranges, on
 *    random matrices and on the fixture models' real weights;
 *  - the x86-style activation quantiser (ties to even).
 *
 * The float bound. Each dot product is a sum of float terms t_k (scaled
 * block or lane sums, min terms), each rounded a few times, added in some
 * order of depth at most nb + 8 (nb = blocks; the k-quants' 8 lanes add
 * 8). Standard error analysis gives |error| <= (depth + c) u sum|t_k|
 * with u = 2^-24 and c a few roundings per term. sum|t_k| is at most
 * A = sum|w_i x_i| + 2 sum|m_i x_i|, where m_i is the part of weight i
 * that comes from a block minimum (0 for symmetric types): a term's
 * scaled quants are bounded by sum(|w_i| + |m_i|)|x_i|, its min term by
 * sum|m_i x_i|. We allow (nb + 16) 2^-23 A, twice that estimate. For Q8_1
 * partners llama.cpp's min term uses s = f16(d * sum q) with the
 * unrounded d, which moves it by up to 2 f16 roundings: 2^-10 sum|m_i x_i|
 * more.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "kernels/matmul.h"
#include "kernels/kernel_table.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"
#include "testutil.h"

static const int all_types[] = {
    HEED_TYPE_F32,  HEED_TYPE_F16,  HEED_TYPE_BF16, HEED_TYPE_Q4_0, HEED_TYPE_Q4_1,
    HEED_TYPE_Q5_0, HEED_TYPE_Q5_1, HEED_TYPE_Q8_0, HEED_TYPE_Q2_K, HEED_TYPE_Q3_K,
    HEED_TYPE_Q4_K, HEED_TYPE_Q5_K, HEED_TYPE_Q6_K,
};
#define N_TYPES (sizeof all_types / sizeof *all_types)
static const heed_isa isas[] = {HEED_ISA_SCALAR, HEED_ISA_AVX2, HEED_ISA_AVX512,
                               HEED_ISA_AVX512_VNNI};
#define N_ISAS (sizeof isas / sizeof *isas)
#define MAX_N 4352 /* 4096 + 256 */

/* ------------------------------------------------------------- helpers */

static int rng_int(uint64_t *r, int lo, int hi)
{
    return lo + (int)(heed_splitmix64(r) % (uint64_t)(hi - lo + 1));
}

static int64_t block_size(int type) { return heed_type_get(type)->block_size; }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    return p;
}

/* Byte offsets of the f16 scale fields of a block (-1: none). */
typedef struct scale_fields {
    int type;
    int d, dmin;
} scale_fields;

static const scale_fields fields[] = {
    {HEED_TYPE_Q4_0, offsetof(heed_block_q4_0, d), -1},
    {HEED_TYPE_Q4_1, offsetof(heed_block_q4_1, d), offsetof(heed_block_q4_1, m)},
    {HEED_TYPE_Q5_0, offsetof(heed_block_q5_0, d), -1},
    {HEED_TYPE_Q5_1, offsetof(heed_block_q5_1, d), offsetof(heed_block_q5_1, m)},
    {HEED_TYPE_Q8_0, offsetof(heed_block_q8_0, d), -1},
    {HEED_TYPE_Q2_K, offsetof(heed_block_q2_K, d), offsetof(heed_block_q2_K, dmin)},
    {HEED_TYPE_Q3_K, offsetof(heed_block_q3_K, d), -1},
    {HEED_TYPE_Q4_K, offsetof(heed_block_q4_K, d), offsetof(heed_block_q4_K, dmin)},
    {HEED_TYPE_Q5_K, offsetof(heed_block_q5_K, d), offsetof(heed_block_q5_K, dmin)},
    {HEED_TYPE_Q6_K, offsetof(heed_block_q6_K, d), -1},
};

/* Sets every block's scale fields of a quantised row: to 1.0 (unit), or
 * to random steps in [2^-10, 2^-4] (positive, as quantisers write). */
static void set_scales(int type, void *row, int64_t n, uint64_t *r, int unit)
{
    const heed_type_traits *tt = heed_type_get(type);
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        if (fields[f].type != type)
            continue;
        for (int64_t b = 0; b < n / tt->block_size; b++) {
            unsigned char *blk = (unsigned char *)row + (size_t)b * tt->type_size;
            uint16_t d = heed_f32_to_f16(unit ? 1.0f : exp2f((float)(-10 + 6 * test_unif01(r))));
            uint16_t m = heed_f32_to_f16(unit ? 1.0f : exp2f((float)(-10 + 6 * test_unif01(r))));
            memcpy(blk + fields[f].d, &d, 2);
            if (fields[f].dmin >= 0)
                memcpy(blk + fields[f].dmin, &m, 2);
        }
    }
}

/* The min part m_i of each weight (the value its quant 0 dequantises to,
 * for the types with a block minimum; 0 for the others): the row with
 * its quant bits cleared, dequantised. */
static void min_parts(int type, const void *w, int64_t n, float *m)
{
    const heed_type_traits *tt = heed_type_get(type);
    size_t bytes = heed_type_row_size(type, n);
    unsigned char *tmp = xmalloc(bytes);
    memcpy(tmp, w, bytes);
    int has_min = 1;
    for (int64_t b = 0; b < n / tt->block_size; b++) {
        unsigned char *blk = tmp + (size_t)b * tt->type_size;
        switch (type) {
        case HEED_TYPE_Q4_1:
            memset(((heed_block_q4_1 *)(void *)blk)->qs, 0, 16);
            break;
        case HEED_TYPE_Q5_1:
            memset(((heed_block_q5_1 *)(void *)blk)->qs, 0, 16);
            memset(((heed_block_q5_1 *)(void *)blk)->qh, 0, 4);
            break;
        case HEED_TYPE_Q2_K:
            memset(((heed_block_q2_K *)(void *)blk)->qs, 0, 64);
            break;
        case HEED_TYPE_Q4_K:
            memset(((heed_block_q4_K *)(void *)blk)->qs, 0, 128);
            break;
        case HEED_TYPE_Q5_K:
            memset(((heed_block_q5_K *)(void *)blk)->qs, 0, 128);
            memset(((heed_block_q5_K *)(void *)blk)->qh, 0, 32);
            break;
        default:
            has_min = 0;
        }
    }
    if (has_min)
        tt->to_float(tmp, m, n);
    else
        memset(m, 0, sizeof(float) * (size_t)n);
    free(tmp);
}

/* The exact dot product of the dequantised rows, and its magnitudes. */
typedef struct ref_dot {
    double exact;  /* sum w_i x_i                                 */
    double absum;  /* A = sum|w_i x_i| + 2 sum|m_i x_i|          */
    double minsum; /* sum|m_i x_i|                                */
} ref_dot;

static ref_dot reference(int type, const void *w, const void *xq, int64_t n)
{
    float *wd = xmalloc(sizeof(float) * (size_t)n), *xd = xmalloc(sizeof(float) * (size_t)n);
    float *m = xmalloc(sizeof(float) * (size_t)n);
    heed_type_get(type)->to_float(w, wd, n);
    heed_type_get(heed_matmul_vec_type(type))->to_float(xq, xd, n);
    min_parts(type, w, n, m);
    ref_dot r = {0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        r.exact += (double)wd[i] * xd[i];
        r.absum += fabs((double)wd[i] * xd[i]);
        r.minsum += fabs((double)m[i] * xd[i]);
    }
    r.absum += 2 * r.minsum;
    free(wd);
    free(xd);
    free(m);
    return r;
}

/* The bound explained at the top of the file. For the plain float types
 * every element is a term, but no variant adds more than n/32 of them in
 * one chain (the references sum in double; the vector kernels keep 32 or
 * more lanes, then add the lanes and a tail of at most 31). */
static double dot_bound(int type, int64_t n, ref_dot r)
{
    const int64_t depth = block_size(type) == 1 ? n / 32 + 32 : n / block_size(type);
    double b = (double)(depth + 16) * 0x1p-23 * r.absum;
    if (heed_matmul_vec_type(type) == HEED_TYPE_Q8_1)
        b += 0x1p-10 * 1.01 * r.minsum;
    return b + 1e-30;
}

/* A weight row of n Gaussian weights (std `scale`), in `type`. */
static void *gauss_row(int type, int64_t n, uint64_t *r, float scale)
{
    float *f = xmalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        f[i] = scale * test_gauss(r);
    void *q = xmalloc(heed_type_row_size(type, n));
    heed_type_get(type)->from_float(f, q, n);
    free(f);
    return q;
}

/* n_tokens Gaussian activation rows, prepared for `type`. */
static void *gauss_act(int type, int64_t n, int64_t n_tokens, uint64_t *r)
{
    float *f = xmalloc(sizeof(float) * (size_t)(n * n_tokens));
    for (int64_t i = 0; i < n * n_tokens; i++)
        f[i] = test_gauss(r);
    void *q = xmalloc(heed_matmul_prepared_size(type, n, n_tokens));
    heed_matmul_prepare(type, f, n, n_tokens, q);
    free(f);
    return q;
}

static int is_float_type(int type)
{
    return type == HEED_TYPE_F32 || type == HEED_TYPE_F16 || type == HEED_TYPE_BF16;
}

/* Stores integer v in a row of float type `type` at index i. */
static void put_float(int type, void *row, int64_t i, float v)
{
    if (type == HEED_TYPE_F32)
        ((float *)row)[i] = v;
    else if (type == HEED_TYPE_F16)
        ((uint16_t *)row)[i] = heed_f32_to_f16(v);
    else
        ((uint16_t *)row)[i] = heed_f32_to_bf16(v);
}

/* Activations of partner type vtype with unit scales and quants from
 * pattern: 0 random in [-R, R], 1 all R, 2 all -R, 3 alternating. */
static void unit_act(int vtype, void *buf, int64_t n, uint64_t *r, int R, int pattern)
{
    int8_t q[MAX_N];
    for (int64_t i = 0; i < n; i++)
        q[i] = (int8_t)(pattern == 0   ? rng_int(r, -R, R)
                        : pattern == 1 ? R
                        : pattern == 2 ? -R
                                       : (i % 2 ? R : -R));
    if (is_float_type(vtype)) {
        for (int64_t i = 0; i < n; i++)
            put_float(vtype, buf, i, q[i]);
    } else if (vtype == HEED_TYPE_Q8_0 || vtype == HEED_TYPE_Q8_1) {
        for (int64_t b = 0; b < n / 32; b++) {
            int sum = 0;
            for (int j = 0; j < 32; j++)
                sum += q[32 * b + j];
            if (vtype == HEED_TYPE_Q8_0) {
                heed_block_q8_0 *y = (heed_block_q8_0 *)buf + b;
                y->d = heed_f32_to_f16(1.0f);
                memcpy(y->qs, q + 32 * b, 32);
            } else {
                heed_block_q8_1 *y = (heed_block_q8_1 *)buf + b;
                y->d = heed_f32_to_f16(1.0f);
                y->s = heed_f32_to_f16((float)sum);
                memcpy(y->qs, q + 32 * b, 32);
            }
        }
    } else {
        heed_block_q8_K *y = buf;
        for (int64_t b = 0; b < n / 256; b++) {
            y[b].d = 1.0f;
            memcpy(y[b].qs, q + 256 * b, 256);
            for (int s = 0; s < 16; s++) {
                int sum = 0;
                for (int j = 0; j < 16; j++)
                    sum += q[256 * b + 16 * s + j];
                y[b].bsums[s] = (int16_t)sum;
            }
        }
    }
}

/* A weight row from bytes (pattern: 0 random, else that byte repeated),
 * scales then set as set_scales does. Float types get integers in
 * [-64, 64] (or +-64) instead of raw bytes, which could be NaN. */
static void byte_row(int type, void *row, int64_t n, uint64_t *r, int pattern, int unit)
{
    if (is_float_type(type)) {
        for (int64_t i = 0; i < n; i++)
            put_float(type, row, i,
                      pattern == 0 ? (float)rng_int(r, -64, 64) : (pattern & 1) ? 64.0f : -64.0f);
        return;
    }
    unsigned char *p = row;
    for (size_t i = 0; i < heed_type_row_size(type, n); i++)
        p[i] = pattern == 0 ? (unsigned char)heed_splitmix64(r) : (unsigned char)pattern;
    set_scales(type, row, n, r, unit);
}

/* ------------------------------------------------------------- tests */

Test(matmul, partner_types_and_sizes)
{
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_F32), HEED_TYPE_F32);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_F16), HEED_TYPE_F16);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_BF16), HEED_TYPE_BF16);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_Q4_0), HEED_TYPE_Q8_0);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_Q5_0), HEED_TYPE_Q8_0);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_Q8_0), HEED_TYPE_Q8_0);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_Q4_1), HEED_TYPE_Q8_1);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_Q5_1), HEED_TYPE_Q8_1);
    for (int t = HEED_TYPE_Q2_K; t <= HEED_TYPE_Q6_K; t++)
        cr_expect_eq(heed_matmul_vec_type(t), HEED_TYPE_Q8_K);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_Q8_K), -1);
    static const int grid_types[] = {HEED_TYPE_IQ2_XXS, HEED_TYPE_IQ2_XS, HEED_TYPE_IQ2_S,
                                     HEED_TYPE_IQ3_XXS, HEED_TYPE_IQ3_S,  HEED_TYPE_IQ1_S,
                                     HEED_TYPE_IQ1_M,   HEED_TYPE_TQ1_0,  HEED_TYPE_TQ2_0};
    for (size_t i = 0; i < sizeof grid_types / sizeof *grid_types; i++)
        cr_expect_eq(heed_matmul_vec_type(grid_types[i]), HEED_TYPE_Q8_K);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_I32), -1);
    cr_expect_eq(heed_matmul_vec_type(-1), -1);
    cr_expect_eq(heed_matmul_vec_type(HEED_TYPE_COUNT), -1);

    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_Q4_0, 64, 3), 3 * 2 * sizeof(heed_block_q8_0));
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_Q4_K, 512, 2), 2 * 2 * sizeof(heed_block_q8_K));
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_F16, 5, 2), 20);
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_Q4_0, 48, 1), 0, "not whole blocks");
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_Q4_K, 32, 1), 0, "not whole blocks");
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_Q8_K, 256, 1), 0, "no matmul");
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_F32, 0, 1), 0);
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_F32, 8, 0), 0);
    cr_expect_eq(heed_matmul_prepared_size(HEED_TYPE_F32, INT64_MAX / 2, INT64_MAX / 2), 0,
                 "overflow");
}

/* The kernel table's shape: every type with a row has a dot product at
 * every ISA this CPU allows (a column is complete); a gemv or a tile only
 * beside a dot; packed kernels only for a type with a packed layout, and
 * never in the scalar column (the reference is not run); the matmul runs
 * the cell of the best ISA. */
Test(matmul, kernel_table_columns_are_complete)
{
    int rows = 0;
    for (int t = 0; t < HEED_TYPE_COUNT; t++) {
        const heed_type_kernels *row = heed_kernels_row(t);
        cr_expect_eq(heed_matmul_vec_type(t), row ? row->act_type : -1, "%s", heed_type_name(t));
        if (!row)
            continue;
        rows++;
        cr_expect_not_null(row->act, "%s", heed_type_name(t));
        cr_expect_null(row->isa[HEED_ISA_SCALAR].packed, "%s", heed_type_name(t));
        for (int v = 0; v <= (int)heed_isa_best(); v++) {
            const heed_isa_kernels *c = &row->isa[v];
            const char *isa = heed_isa_name((heed_isa)v);
            cr_expect_not_null(c->dot, "%s %s: no dot", heed_type_name(t), isa);
            cr_expect(c->dot || (!c->gemv && !c->tile), "%s %s", heed_type_name(t), isa);
            cr_expect(!c->packed || heed_packed_reference(t), "%s %s", heed_type_name(t), isa);
        }
        cr_expect_eq(heed_kernels_get(t), &row->isa[heed_isa_best()]);
    }
    cr_expect_eq(rows, (int)N_TYPES + 12,
                 "all_types, and the codebook, grid and ternary types (not in all_types)");
    cr_expect_null(heed_kernels_get(HEED_TYPE_Q8_K)->dot);
    cr_expect_null(heed_kernels_get(-1)->dot);
}

Test(matmul, unsupported_rows_are_nan)
{
    float y[4] = {1, 2, 3, 4};
    heed_block_q8_K w = {0};
    heed_matmul_rows(HEED_TYPE_Q8_K, &w, 256, 1, 3, &w, 1, y, 4);
    cr_expect(y[0] == 1 && isnan(y[1]) && isnan(y[2]) && y[3] == 4);
}

/* The scalar reference of every type equals the double-precision dot
 * product of the dequantised rows, within the bound above. */
Test(matmul, reference_matches_dequantised_double)
{
    static const int64_t sizes[] = {32, 64, 256, 512, MAX_N};
    uint64_t r = 0x9e3779b97f4a7c15u;
    for (size_t k = 0; k < N_TYPES; k++) {
        const int type = all_types[k];
        heed_vec_dot_fn dot = heed_kernels_variant(type, HEED_ISA_SCALAR).dot;
        cr_assert_not_null(dot);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            const int64_t n = sizes[s];
            if (n % block_size(type))
                continue;
            for (int trial = 0; trial < 3; trial++) {
                void *w = gauss_row(type, n, &r, trial == 2 ? 1e-3f : 1.0f);
                void *x = gauss_act(type, n, 1, &r);
                ref_dot ref = reference(type, w, x, n);
                double got = dot(w, x, n);
                cr_expect_leq(fabs(got - ref.exact), dot_bound(type, n, ref),
                              "%s n=%lld trial %d: %.9g vs %.9g (A %.3g)", heed_type_name(type),
                              (long long)n, trial, got, ref.exact, ref.absum);
                free(w);
                free(x);
            }
        }
    }
}

/* The codebook, grid and ternary types (not in all_types): rows of
 * random bytes (every codebook index, grid point, sign and sub-block
 * scale) under a random step, against their dequantised double dot;
 * every variant returns the scalar reference's bits. */
Test(matmul, iq_types_match_dequantised_double)
{
    static const int types[] = {HEED_TYPE_IQ4_NL, HEED_TYPE_IQ4_XS, HEED_TYPE_MXFP4,
                                HEED_TYPE_IQ2_XXS, HEED_TYPE_IQ2_XS, HEED_TYPE_IQ2_S,
                                HEED_TYPE_IQ3_XXS, HEED_TYPE_IQ3_S, HEED_TYPE_IQ1_S,
                                HEED_TYPE_IQ1_M, HEED_TYPE_TQ1_0, HEED_TYPE_TQ2_0};
    uint64_t r = 42;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const int type = types[k];
        const heed_type_traits *tt = heed_type_get(type);
        for (int64_t n = 256; n <= MAX_N; n += 256) {
            unsigned char *w = xmalloc(heed_type_row_size(type, n));
            for (size_t i = 0; i < heed_type_row_size(type, n); i++)
                w[i] = (unsigned char)heed_splitmix64(&r);
            for (int64_t b = 0; b < n / tt->block_size; b++) {
                const uint16_t d = heed_f32_to_f16((float)(0.001 + test_unif01(&r)));
                unsigned char *block = w + (size_t)b * tt->type_size;
                if (type == HEED_TYPE_MXFP4) /* an exponent: steps 2^-8 .. 2^1 */
                    block[0] = (unsigned char)(119 + heed_splitmix64(&r) % 10);
                else if (type == HEED_TYPE_IQ1_M) /* the step's nibbles top the 4 scale u16 */
                    for (int i = 0; i < 4; i++)
                        block[48 + 2 * i + 1] = (unsigned char)((block[48 + 2 * i + 1] & 0x0f) |
                                                                (d >> 4 * i & 15) << 4);
                else if (type == HEED_TYPE_TQ1_0 || type == HEED_TYPE_TQ2_0) /* the last field */
                    memcpy(block + tt->type_size - sizeof d, &d, sizeof d);
                else /* the first field */
                    memcpy(block, &d, sizeof d);
            }
            void *x = gauss_act(type, n, 1, &r);
            const ref_dot ref = reference(type, w, x, n);
            const float scalar = heed_kernels_variant(type, HEED_ISA_SCALAR).dot(w, x, n);
            for (size_t v = 0; v < N_ISAS && isas[v] <= heed_isa_best(); v++) {
                const float got = heed_kernels_variant(type, isas[v]).dot(w, x, n);
                cr_expect_leq(fabs(got - ref.exact), dot_bound(type, n, ref),
                              "%s %s n=%lld: %.9g vs %.9g", tt->name, heed_isa_name(isas[v]),
                              (long long)n, got, ref.exact);
                /* the same integer sums, the same float operations */
                cr_expect_eq(got, scalar, "%s %s n=%lld: %.9g vs the scalar %.9g", tt->name,
                             heed_isa_name(isas[v]), (long long)n, got, scalar);
                /* a tile's elements are the dot's: row 0 and token 0 of
                 * every shape, the row and the token repeated */
                heed_vec_tile_fn tile = heed_kernels_variant(type, isas[v]).tile;
                for (int shape = 0; tile && shape < HEED_TILE_MAX * HEED_TILE_MAX; shape++) {
                    float y[HEED_TILE_MAX * HEED_TILE_MAX];
                    const int rows = 1 + shape / HEED_TILE_MAX, tokens = 1 + shape % HEED_TILE_MAX;
                    tile(w, 0, x, 0, n, y, HEED_TILE_MAX, rows, tokens);
                    for (int t = 0; t < tokens; t++)
                        for (int o = 0; o < rows; o++)
                            cr_expect_eq(y[t * HEED_TILE_MAX + o], got, "%s %s tile %dx%d",
                                         tt->name, heed_isa_name(isas[v]), rows, tokens);
                }
            }
            free(w);
            free(x);
        }
    }
}

/* With unit scales every dot product is an integer; while the sum of the
 * absolute terms stays below 2^24 every partial sum is exact in float,
 * so all variants must return exactly the integer: their integer sums
 * agree. Raw random bytes reach every bit pattern of the quants and the
 * sub-block scales; constant bytes the extremes. */
Test(matmul, unit_scales_exact_in_every_variant)
{
    static const int64_t sizes[] = {32, 64, 96, 256, 512, 768, MAX_N};
    static const int wpat[] = {0, 0, 0x00, 0xff, 0x80, 0x7f, 0x55};
    uint64_t r = 12345;
    size_t wbytes = heed_type_row_size(HEED_TYPE_F32, MAX_N);
    void *w = xmalloc(wbytes), *x = xmalloc(wbytes);
    for (size_t k = 0; k < N_TYPES; k++) {
        const int type = all_types[k], vtype = heed_matmul_vec_type(type);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            const int64_t n = sizes[s];
            if (n % block_size(type))
                continue;
            for (size_t p = 0; p < sizeof wpat / sizeof *wpat; p++) {
                for (int xpat = 0; xpat < 4; xpat++) {
                    byte_row(type, w, n, &r, wpat[p], 1);
                    /* Q8_1's s is an f16: keep |sum q| <= 2048, exact */
                    int R = vtype == HEED_TYPE_Q8_1 ? 63 : 127;
                    ref_dot ref;
                    for (;; R /= 2) {
                        unit_act(vtype, x, n, &r, R, xpat);
                        ref = reference(type, w, x, n);
                        if (ref.absum < 0x1p24 || R <= 1)
                            break;
                    }
                    cr_assert_lt(ref.absum, 0x1p24, "%s n=%lld: test data too large",
                                 heed_type_name(type), (long long)n);
                    for (size_t v = 0; v < N_ISAS; v++) {
                        heed_vec_dot_fn dot = heed_kernels_variant(type, isas[v]).dot;
                        if (!dot)
                            continue;
                        float got = dot(w, x, n);
                        cr_expect_eq(got, (float)ref.exact,
                                     "%s %s n=%lld wpat %#x xpat %d R %d: %.1f vs %.1f",
                                     heed_type_name(type), heed_isa_name(isas[v]), (long long)n, wpat[p], xpat,
                                     R, got, ref.exact);
                    }
                }
            }
        }
    }
    free(w);
    free(x);
}

/* Every fast variant against the reference: Gaussian rows quantised as
 * files are, raw random bytes with realistic scales, extreme activations;
 * awkward block counts; rows at 2-byte (not 4- or 32-byte) addresses. */
Test(matmul, fast_variants_match_reference)
{
    static const int64_t blocks[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 65, 136};
    static const int64_t float_sizes[] = {1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 100, 255, 1000, 4099};
    uint64_t r = 777;
    const size_t cap = heed_type_row_size(HEED_TYPE_F32, 136 * 32) + 64;
    unsigned char *wbuf = xmalloc(cap), *xbuf = xmalloc(cap);
    int n_checked = 0;
    for (size_t k = 0; k < N_TYPES; k++) {
        const int type = all_types[k];
        heed_vec_dot_fn ref_fn = heed_kernels_variant(type, HEED_ISA_SCALAR).dot;
        for (size_t s = 0; s < 14; s++) {
            const int64_t n = is_float_type(type) ? float_sizes[s] : blocks[s] * block_size(type);
            if (n > 136 * 32 && block_size(type) == 256 && blocks[s] > 17)
                continue;
            for (int data = 0; data < 4; data++) {
                /* 0 Gaussian; 1 random bytes; 2 random bytes, activations all
                 * at +amax; 3 Gaussian weights, alternating extreme activations */
                /* 2-byte aligned only (f32 rows: 4), never 32 */
                void *w = wbuf + (type == HEED_TYPE_F32 ? 4 : 2);
                float *xf = xmalloc(sizeof(float) * (size_t)n);
                if (data == 1 || data == 2) {
                    byte_row(type, w, n, &r, 0, 0);
                } else {
                    void *g = gauss_row(type, n, &r, 0.5f);
                    memcpy(w, g, heed_type_row_size(type, n));
                    free(g);
                }
                for (int64_t i = 0; i < n; i++)
                    xf[i] = data == 2 ? 3.0f : data == 3 ? (i % 2 ? 2.5f : -2.5f) : test_gauss(&r);
                void *x = xbuf + 4; /* partner rows: 4-byte aligned (q8_K's float) */
                heed_matmul_prepare(type, xf, n, 1, x);
                free(xf);

                ref_dot ref = reference(type, w, x, n);
                const float want = ref_fn(w, x, n);
                const double bound = 2 * dot_bound(type, n, ref);
                for (size_t v = 1; v < N_ISAS; v++) {
                    heed_vec_dot_fn dot = heed_kernels_variant(type, isas[v]).dot;
                    if (!dot)
                        continue;
                    float got = dot(w, x, n);
                    n_checked++;
                    cr_expect_leq(fabs((double)got - want), bound,
                                  "%s %s n=%lld data %d: %.9g vs reference %.9g (bound %.3g)",
                                  heed_type_name(type), heed_isa_name(isas[v]), (long long)n, data, got, want,
                                  bound);
                }
            }
        }
    }
    cr_log_info("fast-vs-reference comparisons: %d", n_checked);
    free(wbuf);
    free(xbuf);
}

/* heed_matmul_rows on a random matrix: every output within the bound of
 * its double-precision reference; a split row range gives the same bits;
 * nothing outside the range is written. */
Test(matmul, rows_match_double_reference)
{
    static const int64_t tokens[] = {1, 3, 17};
    const int64_t n_in = 512, n_out = 37;
    uint64_t r = 4242;
    for (size_t k = 0; k < N_TYPES; k++) {
        const int type = all_types[k];
        const size_t wrow = heed_type_row_size(type, n_in);
        unsigned char *W = xmalloc(wrow * (size_t)n_out);
        for (int64_t o = 0; o < n_out; o++) {
            void *row = gauss_row(type, n_in, &r, (float)(0.1 + o % 5));
            memcpy(W + (size_t)o * wrow, row, wrow);
            free(row);
        }
        for (size_t tk = 0; tk < sizeof tokens / sizeof *tokens; tk++) {
            const int64_t nt = tokens[tk];
            void *xq = gauss_act(type, n_in, nt, &r);
            const size_t xrow = heed_matmul_prepared_size(type, n_in, 1);
            float *y = xmalloc(sizeof(float) * (size_t)(nt * n_out));
            float *y2 = xmalloc(sizeof(float) * (size_t)(nt * n_out));
            for (int64_t i = 0; i < nt * n_out; i++)
                y[i] = y2[i] = -12345.0f;
            heed_matmul_rows(type, W, n_in, 3, n_out, xq, nt, y, n_out);
            for (int64_t t = 0; t < nt; t++)
                for (int64_t o = 0; o < 3; o++)
                    cr_expect_eq(y[t * n_out + o], -12345.0f, "row %lld written", (long long)o);
            heed_matmul_rows(type, W, n_in, 0, 3, xq, nt, y, n_out);
            heed_matmul_rows(type, W, n_in, 0, 20, xq, nt, y2, n_out);
            heed_matmul_rows(type, W, n_in, 20, n_out, xq, nt, y2, n_out);
            cr_expect_arr_eq(y, y2, sizeof(float) * (size_t)(nt * n_out),
                             "%s: split ranges differ", heed_type_name(type));
            for (int64_t t = 0; t < nt; t++) {
                for (int64_t o = 0; o < n_out; o++) {
                    ref_dot ref = reference(type, W + (size_t)o * wrow,
                                            (const char *)xq + (size_t)t * xrow, n_in);
                    double got = y[t * n_out + o];
                    cr_expect_leq(fabs(got - ref.exact), 2 * dot_bound(type, n_in, ref),
                                  "%s tokens=%lld y[%lld][%lld] = %.9g vs %.9g",
                                  heed_type_name(type), (long long)nt, (long long)t,
                                  (long long)o, got, ref.exact);
                }
            }
            free(xq);
            free(y);
            free(y2);
        }
        free(W);
    }
}

/* heed_matmul_rows and every dot variant on one real matrix, 3 tokens:
 * each result within the bound of its double reference. */
static void check_matrix(const char *what, int type, const void *W, int64_t n_in, int64_t n_out)
{
    const int64_t nt = 3;
    const size_t wrow = heed_type_row_size(type, n_in);
    cr_assert_gt(heed_matmul_prepared_size(type, n_in, nt), 0, "%s", heed_type_name(type));
    uint64_t r = 99;
    void *xq = gauss_act(type, n_in, nt, &r);
    const size_t xrow = heed_matmul_prepared_size(type, n_in, 1);
    float *y = xmalloc(sizeof(float) * (size_t)(nt * n_out));
    heed_matmul_rows(type, W, n_in, 0, n_out, xq, nt, y, n_out);
    int bad = 0;
    for (int64_t tk = 0; tk < nt; tk++) {
        for (int64_t o = 0; o < n_out; o++) {
            const void *w = (const char *)W + (size_t)o * wrow;
            const void *x = (const char *)xq + (size_t)tk * xrow;
            ref_dot ref = reference(type, w, x, n_in);
            const double bound = 2 * dot_bound(type, n_in, ref);
            bad += fabs(y[tk * n_out + o] - ref.exact) > bound;
            for (size_t v = 0; v < N_ISAS; v++) {
                heed_vec_dot_fn dot = heed_kernels_variant(type, isas[v]).dot;
                if (dot)
                    bad += fabs(dot(w, x, n_in) - ref.exact) > bound;
            }
        }
    }
    cr_expect_eq(bad, 0, "%s (%s): %d results out of bound", what, heed_type_name(type), bad);
    free(xq);
    free(y);
}

/* The fixture models' real weights, as llama.cpp quantised them. */
static void check_fixture_matrix(const char *file, const char *tensor)
{
    char path[4096];
    FIXTURE_PATH(path, file);
    heed_gguf *g = NULL;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    const heed_gguf_tensor *t = heed_gguf_find_tensor(g, tensor);
    cr_assert_not_null(t, "%s in %s", tensor, file);
    check_matrix(file, t->type, t->data, t->ne[0], t->ne[1]);
    heed_gguf_close(g);
}

/* The F32 fixture's weights quantised by heed to every type. */
Test(matmul, fixture_f32_requantised_to_every_type)
{
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-f32.gguf");
    heed_gguf *g = NULL;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    const heed_gguf_tensor *t = heed_gguf_find_tensor(g, "blk.1.ffn_down.weight");
    cr_assert_not_null(t);
    const int64_t n_in = t->ne[0], n_out = t->ne[1];
    for (size_t k = 0; k < N_TYPES; k++) {
        const int type = all_types[k];
        const size_t wrow = heed_type_row_size(type, n_in);
        unsigned char *W = xmalloc(wrow * (size_t)n_out);
        for (int64_t o = 0; o < n_out; o++)
            heed_type_get(type)->from_float((const float *)t->data + o * n_in, W + (size_t)o * wrow, n_in);
        check_matrix("blk.1.ffn_down.weight", type, W, n_in, n_out);
        free(W);
    }
    heed_gguf_close(g);
}

Test(matmul, fixture_q4_k) { check_fixture_matrix("llama-tiny-q4_k.gguf", "blk.0.attn_q.weight"); }
Test(matmul, fixture_q4_0) { check_fixture_matrix("llama-tiny-q4_0.gguf", "blk.0.ffn_down.weight"); }
Test(matmul, fixture_q8_0) { check_fixture_matrix("llama-tiny-q8_0.gguf", "blk.1.ffn_gate.weight"); }
Test(matmul, fixture_q6_k) { check_fixture_matrix("llama-tiny-q6_k.gguf", "blk.0.attn_v.weight"); }
Test(matmul, fixture_f16) { check_fixture_matrix("llama-tiny-f16.gguf", "blk.0.attn_k.weight"); }
Test(matmul, fixture_bf16) { check_fixture_matrix("llama-tiny-bf16.gguf", "blk.0.attn_output.weight"); }
Test(matmul, fixture_f32) { check_fixture_matrix("llama-tiny-f32.gguf", "blk.0.ffn_up.weight"); }
Test(matmul, fixture_gpt2_f16_output) { check_fixture_matrix("gpt2-tiny.gguf", "output.weight"); }

/* ------------------------------------------- activation quantisation */

/* 127/amax = 1 makes every x * id exact, so .5 cases are true ties: the
 * backend rounds them to even where the file quantiser rounds away. */
Test(matmul, act_q8_0_ties_to_even)
{
    float x[32] = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, 126.5f, -126.5f};
    heed_block_q8_0 act, file;
    heed_quantize_act_q8_0(x, &act, 32);
    heed_quantize_q8_0(x, &file, 32);
    static const int8_t even[10] = {127, 0, 2, 2, 0, -2, -2, 4, 126, -126};
    static const int8_t away[10] = {127, 1, 2, 3, -1, -2, -3, 4, 127, -127};
    cr_expect_arr_eq(act.qs, even, 10);
    cr_expect_arr_eq(file.qs, away, 10);
    cr_expect_eq(act.d, file.d);

    heed_block_q8_1 a1;
    heed_quantize_act_q8_1(x, &a1, 32);
    cr_expect_arr_eq(a1.qs, even, 10);
    int sum = 0;
    for (int j = 0; j < 32; j++)
        sum += a1.qs[j];
    cr_expect_eq(a1.s, heed_f32_to_f16(127.0f / 127.0f * (float)sum));
}

/* On ordinary data the two quantisers agree but for rare single steps;
 * an all-zero block gives d = 0 and q = 0; non-finite input gives no UB. */
Test(matmul, act_q8_0_close_to_file_quantiser)
{
    enum { N = 32 * 512 };
    float *x = xmalloc(sizeof(float) * N);
    uint64_t r = 5;
    for (int i = 0; i < N; i++)
        x[i] = test_gauss(&r) * (float)(1 + i / 1024);
    heed_block_q8_0 *a = xmalloc(sizeof *a * (N / 32)), *b = xmalloc(sizeof *b * (N / 32));
    heed_quantize_act_q8_0(x, a, N);
    heed_quantize_q8_0(x, b, N);
    int differ = 0;
    for (int k = 0; k < N / 32; k++) {
        cr_expect_eq(a[k].d, b[k].d);
        for (int j = 0; j < 32; j++) {
            cr_expect_leq(abs(a[k].qs[j] - b[k].qs[j]), 1);
            differ += a[k].qs[j] != b[k].qs[j];
        }
    }
    cr_expect_lt(differ, N / 100, "%d of %d differ", differ, N);

    float z[32] = {0};
    heed_quantize_act_q8_0(z, a, 32);
    cr_expect_eq(a[0].d, 0);
    for (int j = 0; j < 32; j++)
        cr_expect_eq(a[0].qs[j], 0);
    z[3] = INFINITY;
    z[4] = NAN;
    heed_quantize_act_q8_0(z, a, 32); /* must not trap under UBSan */
    heed_quantize_act_q8_1(z, a, 32);
    free(x);
    free(a);
    free(b);
}

/* The fast kernels' word-wise scale unpacking equals the reference one. */
Test(matmul, k_scales_unpack_matches_reference)
{
    uint64_t r = 31337;
    for (int trial = 0; trial < 2000; trial++) {
        uint8_t s[12], sc[8], mn[8];
        for (int i = 0; i < 12; i++)
            s[i] = trial < 256 ? (uint8_t)(trial ^ (i * 37)) : (uint8_t)heed_splitmix64(&r);
        heed_k_scales_unpack(s, sc, mn);
        for (int j = 0; j < 8; j++) {
            uint8_t a, b;
            heed_k_scale_min(j, s, &a, &b);
            cr_assert(sc[j] == a && mn[j] == b, "trial %d j %d", trial, j);
        }
    }
}

/* The register tiles of prompt processing: every shape from 1 × 1 to 4 × 4
 * gives each element the same bits, within the bound of the scalar
 * reference, for awkward block counts (and float rows with tails). */
Test(matmul, tiles_agree_in_every_shape)
{
    static const int types[] = {HEED_TYPE_Q4_0, HEED_TYPE_Q8_0, HEED_TYPE_Q5_0, HEED_TYPE_Q4_1,
                                HEED_TYPE_Q5_1, HEED_TYPE_F16, HEED_TYPE_F32,
                                HEED_TYPE_Q4_K, HEED_TYPE_Q5_K, HEED_TYPE_Q6_K};
    static const int64_t blocks[] = {1, 3, 17, 64};
    enum { ROWS = 5, TOKENS = 6 };
    uint64_t r = 99;
    int n_checked = 0;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++)
        for (size_t s = 0; s < 4; s++) {
            const int type = types[k];
            const int64_t n = blocks[s] * (block_size(type) == 256 ? 256 : 32) -
                              (is_float_type(type) ? 5 : 0); /* odd tails */
            const size_t wrow = heed_type_row_size(type, n);
            const size_t xrow = heed_matmul_prepared_size(type, n, 1);
            unsigned char *W = xmalloc(wrow * ROWS);
            for (int o = 0; o < ROWS; o++) {
                void *row = gauss_row(type, n, &r, 0.5f);
                memcpy(W + (size_t)o * wrow, row, wrow);
                free(row);
            }
            unsigned char *X = gauss_act(type, n, TOKENS, &r);
            for (size_t v = 0; v < N_ISAS; v++) {
                heed_vec_tile_fn tile = heed_kernels_variant(type, isas[v]).tile;
                if (!tile)
                    continue;
                float first[TOKENS][ROWS], y[TOKENS][ROWS];
                for (int rows = 1; rows <= HEED_TILE_MAX; rows++)
                    for (int toks = 1; toks <= HEED_TILE_MAX; toks++) {
                        for (int o = 0; o < ROWS; o += rows)
                            for (int t = 0; t < TOKENS; t += toks)
                                tile(W + (size_t)o * wrow, wrow, X + (size_t)t * xrow, xrow, n,
                                     &y[t][o], ROWS, ROWS - o < rows ? ROWS - o : rows,
                                     TOKENS - t < toks ? TOKENS - t : toks);
                        if (rows == 1 && toks == 1)
                            memcpy(first, y, sizeof y);
                        cr_expect(!memcmp(first, y, sizeof y), "%s %s n=%lld: %d x %d tiles differ",
                                  heed_type_name(type), heed_isa_name(isas[v]), (long long)n, rows, toks);
                    }
                for (int t = 0; t < TOKENS; t++)
                    for (int o = 0; o < ROWS; o++) {
                        const void *w = W + (size_t)o * wrow, *x = X + (size_t)t * xrow;
                        const ref_dot ref = reference(type, w, x, n);
                        const float want = heed_kernels_variant(type, HEED_ISA_SCALAR).dot(w, x, n);
                        cr_expect_leq(fabs((double)first[t][o] - want), 2 * dot_bound(type, n, ref),
                                      "%s %s n=%lld", heed_type_name(type), heed_isa_name(isas[v]), (long long)n);
                        if (block_size(type) == 256 || type == HEED_TYPE_Q4_1 ||
                            type == HEED_TYPE_Q5_1) /* these tiles: the dot product's bits */
                            cr_expect(first[t][o] == heed_kernels_variant(type, isas[v]).dot(w, x, n),
                                      "%s %s n=%lld", heed_type_name(type), heed_isa_name(isas[v]), (long long)n);
                        n_checked++;
                    }
            }
            free(W);
            free(X);
        }
    cr_log_info("tile elements checked: %d", n_checked);
    if (strcmp(heed_cpu_isa(), "scalar") != 0) /* HEED_ISA=scalar: no tiles */
        cr_expect_gt(n_checked, 0);
}

/* Matrix × vector with the activation prepared once, for every type and
 * ISA that has one: every row bit-identical to the dot product of the
 * same cell, also past the blocks it prepares on the stack (then it
 * falls back to the dot product). */
Test(matmul, gemv_rows_equal_dot_products)
{
    static const int64_t blocks[] = {1, 3, 17, 64, 600};
    uint64_t r = 1234;
    int checked = 0;
    for (size_t k = 0; k < N_TYPES; k++)
        for (size_t v = 0; v < N_ISAS; v++)
            for (size_t s = 0; s < 5; s++) {
                const int type = all_types[k];
                const heed_isa_kernels kv = heed_kernels_variant(type, isas[v]);
                if (!kv.gemv)
                    continue;
                const int64_t n = blocks[s] * block_size(type), rows = 7;
                const size_t wrow = heed_type_row_size(type, n);
                unsigned char *W = xmalloc(wrow * rows);
                for (int64_t o = 0; o < rows; o++) {
                    void *row = gauss_row(type, n, &r, 0.5f);
                    memcpy(W + (size_t)o * wrow, row, wrow);
                    free(row);
                }
                void *x = gauss_act(type, n, 1, &r);
                float y[7];
                kv.gemv(W, wrow, rows, x, n, y);
                for (int64_t o = 0; o < rows; o++) {
                    const float want = kv.dot(W + (size_t)o * wrow, x, n);
                    cr_expect(y[o] == want, "%s %s n=%lld row %lld: %.9g vs %.9g",
                              heed_type_name(type), heed_isa_name(isas[v]), (long long)n,
                              (long long)o, y[o], want);
                    checked++;
                }
                free(W);
                free(x);
            }
    cr_log_info("gemv rows checked: %d", checked);
}
