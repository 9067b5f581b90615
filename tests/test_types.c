/* test_types.c — the tensor type table, f16/bf16 conversion, and the
 * reference (de)quantisers of every type heed computes with. */
#include "testutil.h"
#include "quant_bounds.h"

#include "heed.h"
#include "tensor/blocks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/*
 * Seeded test data built only from exact float operations (no libm), so
 * it is the same on every IEEE machine: the golden hashes below depend on
 * it bit for bit.
 */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
}

static uint32_t rng_u32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static float rng_unit(void) /* [0, 1), multiples of 2^-24 */
{
    return (float)(rng_u32() >> 8) * 0x1p-24f;
}

/* Roughly N(0,1): Irwin-Hall sum of four uniforms, scaled to variance 1
 * (so always within ±3.47). */
static float rng_gauss(void)
{
    float s = rng_unit() + rng_unit() + rng_unit() + rng_unit();
    return (s - 2.0f) * 1.7320508f;
}

/*
 * n elements (a multiple of 256) of data that exercises the quantisers'
 * corners, one kind per 256-element super-block: Gaussian, Gaussian at
 * scales 2^-8..2^7, outliers, zero and constant sub-blocks, all positive,
 * exact halves (rounding ties), sparse, tiny (f16-subnormal scales), and
 * every 17th super-block all zero.
 */
static void corner_data(float *x, int64_t n)
{
    for (int64_t b = 0; b < n / 256; b++) {
        float *v = x + 256 * b;
        for (int i = 0; i < 256; i++) {
            float g = rng_gauss();
            switch (b % 17 == 16 ? 9 : b % 8) {
            case 0: v[i] = g; break;
            case 1: v[i] = g * ldexpf(1.0f, (int)(b % 16) - 8); break;
            case 2: v[i] = i % 37 == 5 ? 50.0f * g : g; break;
            case 3: v[i] = (i / 16) % 4 == 0 ? 0.0f : (i / 16) % 4 == 1 ? 0.375f : g; break;
            case 4: v[i] = fabsf(g) + 1.0f; break;
            case 5: v[i] = (float)((int)(rng_u32() % 9) - 4) * 0.5f; break;
            case 6: v[i] = rng_u32() % 8 == 0 ? g : 0.0f; break;
            case 7: v[i] = g * 0x1p-20f; break;
            default: v[i] = 0.0f; break;
            }
        }
    }
}

static uint64_t fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

/* ------------------------------------------------------------ the table */

/* ggml's own table at llama.cpp c392e50 (ggml.c type_traits), written out
 * independently of heed's. Holes (removed ids) have block 0. */
static const struct {
    const char *name;
    int block, size;
    bool quantized;
} ggml_types[HEED_TYPE_COUNT] = {
    [0] = {"f32", 1, 4, false},        [1] = {"f16", 1, 2, false},
    [2] = {"q4_0", 32, 18, true},      [3] = {"q4_1", 32, 20, true},
    [6] = {"q5_0", 32, 22, true},      [7] = {"q5_1", 32, 24, true},
    [8] = {"q8_0", 32, 34, true},      [9] = {"q8_1", 32, 36, true},
    [10] = {"q2_K", 256, 84, true},    [11] = {"q3_K", 256, 110, true},
    [12] = {"q4_K", 256, 144, true},   [13] = {"q5_K", 256, 176, true},
    [14] = {"q6_K", 256, 210, true},   [15] = {"q8_K", 256, 292, true},
    [16] = {"iq2_xxs", 256, 66, true}, [17] = {"iq2_xs", 256, 74, true},
    [18] = {"iq3_xxs", 256, 98, true}, [19] = {"iq1_s", 256, 50, true},
    [20] = {"iq4_nl", 32, 18, true},   [21] = {"iq3_s", 256, 110, true},
    [22] = {"iq2_s", 256, 82, true},   [23] = {"iq4_xs", 256, 136, true},
    [24] = {"i8", 1, 1, false},        [25] = {"i16", 1, 2, false},
    [26] = {"i32", 1, 4, false},       [27] = {"i64", 1, 8, false},
    [28] = {"f64", 1, 8, false},       [29] = {"iq1_m", 256, 56, true},
    [30] = {"bf16", 1, 2, false},      [34] = {"tq1_0", 256, 54, true},
    [35] = {"tq2_0", 256, 66, true},   [39] = {"mxfp4", 32, 17, true},
};

/* The types heed quantises and dequantises. */
static const int computed_types[] = {
    HEED_TYPE_F32,  HEED_TYPE_F16,  HEED_TYPE_BF16, HEED_TYPE_Q4_0, HEED_TYPE_Q4_1,
    HEED_TYPE_Q5_0, HEED_TYPE_Q5_1, HEED_TYPE_Q8_0, HEED_TYPE_Q8_1, HEED_TYPE_Q2_K,
    HEED_TYPE_Q3_K, HEED_TYPE_Q4_K, HEED_TYPE_Q5_K, HEED_TYPE_Q6_K, HEED_TYPE_Q8_K,
    HEED_TYPE_IQ4_NL, HEED_TYPE_IQ4_XS,
};
#define N_COMPUTED (int)(sizeof computed_types / sizeof computed_types[0])
/* read and computed with, not written */
static const int read_types[] = {HEED_TYPE_MXFP4,  HEED_TYPE_IQ2_XXS, HEED_TYPE_IQ2_XS,
                                 HEED_TYPE_IQ2_S,  HEED_TYPE_IQ3_XXS, HEED_TYPE_IQ3_S,
                                 HEED_TYPE_IQ1_S,  HEED_TYPE_IQ1_M,   HEED_TYPE_TQ1_0,
                                 HEED_TYPE_TQ2_0};

static bool listed(const int *list, int n, int t)
{
    for (int i = 0; i < n; i++)
        if (list[i] == t)
            return true;
    return false;
}
static bool is_computed(int t) { return listed(computed_types, N_COMPUTED, t); }

Test(types, table_matches_ggml)
{
    for (int t = 0; t < HEED_TYPE_COUNT; t++) {
        const heed_type_traits *tt = heed_type_get(t);
        if (ggml_types[t].block == 0) {
            cr_expect_null(tt, "id %d is not a ggml type", t);
            cr_expect_str_eq(heed_type_name(t), "unknown");
            continue;
        }
        cr_assert_not_null(tt, "id %d (%s) missing", t, ggml_types[t].name);
        cr_expect_str_eq(tt->name, ggml_types[t].name);
        cr_expect_str_eq(heed_type_name(t), ggml_types[t].name);
        cr_expect_eq(tt->block_size, ggml_types[t].block, "%s block size", tt->name);
        cr_expect_eq(tt->type_size, (size_t)ggml_types[t].size, "%s type size", tt->name);
        cr_expect_eq(tt->is_quantized, ggml_types[t].quantized, "%s is_quantized", tt->name);
        const bool read = listed(read_types, (int)(sizeof read_types / sizeof *read_types), t);
        cr_expect_eq(tt->to_float != NULL, is_computed(t) || read, "%s to_float", tt->name);
        cr_expect_eq(tt->from_float != NULL, is_computed(t), "%s from_float", tt->name);
    }
    cr_expect_null(heed_type_get(-1));
    cr_expect_null(heed_type_get(HEED_TYPE_COUNT));
    cr_expect_null(heed_type_get(1 << 30));
    cr_expect_str_eq(heed_type_name(-7), "unknown");
}

Test(types, from_name)
{
    for (int t = 0; t < HEED_TYPE_COUNT; t++)
        if (ggml_types[t].block)
            cr_expect_eq(heed_type_from_name(ggml_types[t].name), t, "%s", ggml_types[t].name);
    cr_expect_eq(heed_type_from_name("Q4_K"), HEED_TYPE_Q4_K);
    cr_expect_eq(heed_type_from_name("F16"), HEED_TYPE_F16);
    cr_expect_eq(heed_type_from_name("BF16"), HEED_TYPE_BF16);
    cr_expect_eq(heed_type_from_name("IQ2_XXS"), HEED_TYPE_IQ2_XXS);
    cr_expect_eq(heed_type_from_name("q4_2"), HEED_TYPE_NONE);
    cr_expect_eq(heed_type_from_name("q4_k "), HEED_TYPE_NONE);
    cr_expect_eq(heed_type_from_name(""), HEED_TYPE_NONE);
    cr_expect_eq(heed_type_from_name("unknown"), HEED_TYPE_NONE);
    cr_expect_eq(heed_type_from_name(NULL), HEED_TYPE_NONE);
}

Test(types, row_size)
{
    cr_expect_eq(heed_type_row_size(HEED_TYPE_F32, 10), 40);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_BF16, 3), 6);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_0, 32), 18);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_0, 4096), 128 * 18);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q6_K, 512), 2 * 210);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_TQ1_0, 256), 54);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_0, 0), 0);
    /* not a multiple of the block size */
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_0, 33), 0);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_0, 16), 0);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_K, 255), 0);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_Q4_K, 32), 0);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_IQ4_NL, 48), 0);
    /* nonsense */
    cr_expect_eq(heed_type_row_size(HEED_TYPE_F32, -4), 0);
    cr_expect_eq(heed_type_row_size(4, 32), 0);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_COUNT, 32), 0);
    /* byte counts that do not fit a size_t (64-bit: only > 1 byte per
     * element can overflow), and one that just does */
    cr_expect_eq(heed_type_row_size(HEED_TYPE_F64, INT64_MAX), 0);
    cr_expect_eq(heed_type_row_size(HEED_TYPE_F32, INT64_MAX), 0);
    if (SIZE_MAX >= INT64_MAX)
        cr_expect_eq(heed_type_row_size(HEED_TYPE_I8, INT64_MAX), (size_t)INT64_MAX);
}

/* ---------------------------------------------------------------- f16 */

Test(types, f16_known_values)
{
    static const struct {
        uint32_t f;
        uint16_t h;
    } cases[] = {
        {0x00000000, 0x0000}, {0x80000000, 0x8000},  /* ±0                    */
        {0x3f800000, 0x3c00}, {0xc0000000, 0xc000},  /* 1, -2                 */
        {0x3dcccccd, 0x2e66}, {0x3eaaaaab, 0x3555},  /* 0.1, 1/3              */
        {0x477fe000, 0x7bff},                        /* 65504, largest finite */
        {0x477fefff, 0x7bff},                        /* just below the tie    */
        {0x477ff000, 0x7c00},                        /* 65520: tie, to inf    */
        {0x7f7fffff, 0x7c00}, {0x7f800000, 0x7c00}, {0xff800000, 0xfc00},
        {0x38800000, 0x0400},                        /* 2^-14 smallest normal */
        {0x387fc000, 0x03ff},                        /* largest subnormal     */
        {0x387fe000, 0x0400},                        /* tie: up, to even      */
        {0x33800000, 0x0001},                        /* 2^-24 smallest sub.   */
        {0x33000000, 0x0000},                        /* 2^-25: tie, to 0      */
        {0x33000001, 0x0001},                        /* just above the tie    */
        {0x33c00000, 0x0002},                        /* 3*2^-25: tie, to 2    */
        {0xb3c00000, 0x8002},                        /* -3*2^-25              */
        {0x00000001, 0x0000},                        /* f32 subnormal         */
        {0x3f801000, 0x3c00},                        /* 1 + 2^-11: tie, down  */
        {0x3f803000, 0x3c02},                        /* 1 + 3*2^-11: tie, up  */
        {0x3f801001, 0x3c01},                        /* above the tie         */
        {0x7fc00000, 0x7e00}, {0xffc00000, 0xfe00},  /* quiet NaN             */
        {0x7f800001, 0x7e00},                        /* signalling NaN: quiet */
        {0x7fa02000, 0x7f01},                        /* payload kept (top)    */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(heed_f32_to_f16(f32_from(cases[i].f)), cases[i].h,
                     "f32 %08x -> %04x, want %04x", cases[i].f,
                     heed_f32_to_f16(f32_from(cases[i].f)), cases[i].h);

    static const struct {
        uint16_t h;
        uint32_t f;
    } back[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3c00, 0x3f800000},
        {0x3555, 0x3eaaa000}, {0x7bff, 0x477fe000}, {0x0400, 0x38800000},
        {0x0001, 0x33800000}, {0x03ff, 0x387fc000}, {0x8001, 0xb3800000},
        {0x7c00, 0x7f800000}, {0xfc00, 0xff800000}, {0x7e00, 0x7fc00000},
        {0x7c01, 0x7fc02000},                       /* signalling -> quiet   */
    };
    for (size_t i = 0; i < sizeof back / sizeof back[0]; i++)
        cr_expect_eq(f32_bits(heed_f16_to_f32(back[i].h)), back[i].f, "f16 %04x -> %08x, want %08x",
                     back[i].h, f32_bits(heed_f16_to_f32(back[i].h)), back[i].f);
}

Test(types, f16_exhaustive)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = heed_f16_to_f32((uint16_t)h);
        uint16_t back = heed_f32_to_f16(f);
        bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        /* identity, except that a NaN comes back quiet */
        uint16_t want = nan ? (uint16_t)(h | 0x200) : (uint16_t)h;
        if (back != want || isnan(f) != nan) {
            if (bad++ < 5)
                cr_log_error("f16 %04x -> %08x -> %04x", h, f32_bits(f), back);
        }
    }
    cr_assert_eq(bad, 0, "%d f16 values do not round-trip", bad);

    /* Rounding: between neighbours a < b (consecutive finite f16s of one
     * sign, all exact in f32) the midpoint goes to the even one, and one
     * f32 ulp either side goes to the nearer one. */
    for (uint32_t h = 0; h < 0x7bff; h++) {
        for (uint32_t s = 0; s <= 0x8000; s += 0x8000) {
            float a = heed_f16_to_f32((uint16_t)(h | s));
            float b = heed_f16_to_f32((uint16_t)((h + 1) | s));
            float mid = (a + b) / 2; /* exact: 12 significant bits */
            uint16_t even = (uint16_t)(((h & 1) ? h + 1 : h) | s);
            if (heed_f32_to_f16(mid) != even ||
                heed_f32_to_f16(nextafterf(mid, a)) != (uint16_t)(h | s) ||
                heed_f32_to_f16(nextafterf(mid, b)) != (uint16_t)((h + 1) | s)) {
                if (bad++ < 5)
                    cr_log_error("rounding between f16 %04x and %04x", h | s, (h + 1) | s);
            }
        }
    }
    cr_assert_eq(bad, 0, "%d f16 intervals round wrongly", bad);
}

/* --------------------------------------------------------------- bf16 */

Test(types, bf16_known_values)
{
    static const struct {
        uint32_t f;
        uint16_t h;
    } cases[] = {
        {0x00000000, 0x0000}, {0x80000000, 0x8000}, {0x3f800000, 0x3f80},
        {0x3f808000, 0x3f80},                       /* tie, even below        */
        {0x3f818000, 0x3f82},                       /* tie, even above        */
        {0x3f808001, 0x3f81}, {0x3f807fff, 0x3f80},
        {0x7f7fffff, 0x7f80},                       /* FLT_MAX rounds to inf  */
        {0x7f800000, 0x7f80}, {0xff800000, 0xff80},
        {0x00010000, 0x0001},                       /* f32 subnormals kept    */
        {0x00008000, 0x0000},                       /* tie to even 0          */
        {0x7fc00000, 0x7fc0}, {0xffc00000, 0xffc0},
        {0x7f800001, 0x7fc0},                       /* signalling NaN: quiet  */
        {0xff810000, 0xffc1},                       /* payload kept           */
        {0x7fffffff, 0x7fff},                       /* no rounding into sign  */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(heed_f32_to_bf16(f32_from(cases[i].f)), cases[i].h,
                     "f32 %08x -> %04x, want %04x", cases[i].f,
                     heed_f32_to_bf16(f32_from(cases[i].f)), cases[i].h);
    cr_expect_eq(f32_bits(heed_bf16_to_f32(0x3f80)), 0x3f800000);
    cr_expect_eq(f32_bits(heed_bf16_to_f32(0xc049)), 0xc0490000);
    cr_expect_eq(f32_bits(heed_bf16_to_f32(0x0001)), 0x00010000);
    cr_expect_eq(f32_bits(heed_bf16_to_f32(0x7f81)), 0x7f810000);
}

Test(types, bf16_exhaustive)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = heed_bf16_to_f32((uint16_t)h);
        bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        uint16_t want = nan ? (uint16_t)(h | 0x40) : (uint16_t)h;
        if (f32_bits(f) != h << 16 || heed_f32_to_bf16(f) != want)
            if (bad++ < 5)
                cr_log_error("bf16 %04x -> %08x -> %04x", h, f32_bits(f), heed_f32_to_bf16(f));
    }
    cr_assert_eq(bad, 0, "%d bf16 values do not round-trip", bad);
}

/* ------------------------------------------------------- round trips */

/*
 * Quantises 4 rows of 1024 with each type, dequantises, and checks every
 * element against its bound (quant_bounds.c says why each holds). Rows:
 * Gaussian at scale 1, 1000 and 0.25, then corner_data. The RMS bound is
 * checked on the Gaussian rows.
 */
Test(types, round_trip_error_bounds)
{
    enum { ROWS = 4, N = 1024 };
    float *x = malloc(sizeof(float) * ROWS * N);
    float *y = malloc(sizeof(float) * ROWS * N);
    void *q = malloc(heed_type_row_size(HEED_TYPE_F32, N) * ROWS);
    cr_assert(x && y && q);
    rng_seed(1);
    static const float scale[3] = {1.0f, 1000.0f, 0.25f};
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < N; i++)
            x[r * N + i] = rng_gauss() * scale[r];
    corner_data(x + 3 * N, N);

    for (int k = 0; k < N_COMPUTED; k++) {
        const int t = computed_types[k];
        const heed_type_traits *tt = heed_type_get(t);
        const size_t row = heed_type_row_size(t, N);
        for (int r = 0; r < ROWS; r++) {
            char *qr = (char *)q + r * row;
            qb_result res = {0};
            tt->from_float(x + r * N, qr, N);
            tt->to_float(qr, y + r * N, N);
            qb_check_row(t, x + r * N, qr, y + r * N, N, &res);
            cr_expect_eq(res.n_bad, 0, "%s row %d: %lld elements out of bound; first: %s",
                         tt->name, r, (long long)res.n_bad, res.first_bad);
            if (r < 3) {
                double rel = sqrt(res.sum_err2 / res.sum_x2);
                cr_expect_leq(rel, qb_rms_bound(t), "%s row %d: RMS error %.4g of RMS > %.4g",
                              tt->name, r, rel, qb_rms_bound(t));
                /* on Gaussian data no k-quant sub-block scale rounds to 0 */
                cr_expect_eq(res.n_unbounded, 0, "%s row %d", tt->name, r);
            }
        }
    }
    free(x);
    free(y);
    free(q);
}

/* ------------------------------------------------ bytes of llama.cpp */

/*
 * FNV-1a hashes of quantising corner_data (seed 7, 544 super-blocks) with
 * llama.cpp c392e50's quantize_row_*_ref, and of dequantising the result
 * with its dequantize_row_* (libggml-base, x86-64; ggml has no q8_1
 * dequantiser, so that one is q8_0's formula, qs[i] * d). For iq4_nl and
 * iq4_xs the quantiser is ggml_quantize_chunk with no importance matrix,
 * as llama-quantize runs it (iq4_nl's _ref makes other bytes). A mismatch
 * means heed no longer writes llama.cpp's bytes or reads them to its
 * floats.
 */
static const struct {
    int type;
    uint64_t quant, dequant;
} golden[] = {
    {HEED_TYPE_F32, 0x11a1d1aae53938b7ull, 0x11a1d1aae53938b7ull},
    {HEED_TYPE_F16, 0xdd107ce220009879ull, 0x1aaf113d189701a0ull},
    {HEED_TYPE_BF16, 0x8ad58f4b02110bddull, 0x58f5223f9417491dull},
    {HEED_TYPE_Q4_0, 0xc0e664a0d2786559ull, 0x615684db8e1620c8ull},
    {HEED_TYPE_Q4_1, 0xf8be5ac5a0cd6293ull, 0x89334e1148ab11bfull},
    {HEED_TYPE_Q5_0, 0xa1415676a49e9363ull, 0x5f5fe98368cd9417ull},
    {HEED_TYPE_Q5_1, 0xb628e840e0d20e76ull, 0xefbb89ab70557974ull},
    {HEED_TYPE_Q8_0, 0x784cea96455f6e30ull, 0x27c220b41f185c46ull},
    {HEED_TYPE_Q8_1, 0x1d391bb999ad2cb2ull, 0x27c220b41f185c46ull},
    {HEED_TYPE_Q2_K, 0xd96ca1b8ab88a505ull, 0xe25f86b90ea7c167ull},
    {HEED_TYPE_Q3_K, 0xc8cb724aced56fa9ull, 0x1f488fa9e4301cf8ull},
    {HEED_TYPE_Q4_K, 0x25d39ba6b2146180ull, 0x4cd5e322abf02977ull},
    {HEED_TYPE_Q5_K, 0x14a1f7e8054208a5ull, 0x51d7a9cb4477fc95ull},
    {HEED_TYPE_Q6_K, 0xfc23779da933150cull, 0x2f8efc44fafe9d38ull},
    {HEED_TYPE_Q8_K, 0x2b8ef9494b7cb22dull, 0x7a1a8b9dfb30f169ull},
    {HEED_TYPE_IQ4_NL, 0xb2649f41baed717bull, 0x2a85392a5b734f67ull},
    {HEED_TYPE_IQ4_XS, 0x2ae51f4539aa91ceull, 0x528041219fb1334eull},
};

Test(types, quantize_matches_llama_cpp)
{
    enum { N = 17 * 32 * 256 };
    float *x = malloc(sizeof(float) * N);
    float *y = malloc(sizeof(float) * N);
    void *q = malloc(sizeof(float) * N);
    cr_assert(x && y && q);
    rng_seed(7);
    corner_data(x, N);
    cr_assert_eq(sizeof golden / sizeof golden[0], (size_t)N_COMPUTED);
    for (size_t k = 0; k < sizeof golden / sizeof golden[0]; k++) {
        const heed_type_traits *tt = heed_type_get(golden[k].type);
        const size_t size = heed_type_row_size(golden[k].type, N);
        memset(q, 0, size);
        tt->from_float(x, q, N);
        tt->to_float(q, y, N);
        cr_expect_eq(fnv1a(q, size), golden[k].quant, "%s: quantised bytes differ", tt->name);
        cr_expect_eq(fnv1a(y, sizeof(float) * N), golden[k].dequant,
                     "%s: dequantised floats differ", tt->name);
    }
    free(x);
    free(y);
    free(q);
}

/*
 * n elements (a multiple of 256) of inputs that stress the codebook
 * quantisers, one kind per 256-element super-block (runs of 32 within):
 * all zero (±0), Gaussian with one outlier 10^4 times larger, f32
 * subnormals beside runs tiny enough that the step underflows f16,
 * negative only, positive only, steps in f16's subnormal range, steps
 * beyond f16's range, and exact codebook multiples, constants and ±1.
 */
static void awkward_data(float *x, int64_t n)
{
    for (int64_t b = 0; b < n / 256; b++) {
        float *v = x + 256 * b;
        for (int i = 0; i < 256; i++) {
            const float g = rng_gauss();
            const int run = i / 32;
            switch (b % 8) {
            case 0: v[i] = i % 2 ? -0.0f : 0.0f; break;
            case 1: v[i] = i == 100 ? 30000.0f : g; break;
            case 2: v[i] = run < 4 ? (float)((int)(rng_u32() % 2001) - 1000) * 0x1p-149f
                                   : g * 1e-12f; break;
            case 3: v[i] = -(fabsf(g) + 0.5f); break;
            case 4: v[i] = 3.0f * fabsf(g) + 1.0f; break;
            case 5: v[i] = g * 1e-5f; break;
            case 6: v[i] = g * 1e7f; break;
            default:
                v[i] = run < 4 ? heed_iq4_nl_values[i % 16] * 0.25f : run < 6 ? 0.5f : i % 2 ? 1.0f : -1.0f;
                break;
            }
        }
    }
}

/*
 * The codebook quantisers on awkward_data (seed 3, 8 super-blocks): the
 * bytes llama.cpp c392e50's ggml_quantize_chunk writes for it (no
 * importance matrix) and the floats its dequantisers read back, as FNV-1a
 * hashes; every element within its bound (quant_bounds.c); the all-zero
 * super-block back as zeros.
 */
Test(types, iq4_awkward_inputs_match_llama_cpp)
{
    enum { N = 8 * 256 };
    static const struct {
        int type;
        uint64_t quant, dequant;
    } want[] = {
        {HEED_TYPE_IQ4_NL, 0x463b8f243a5791f6ull, 0x71a4da8a037c698aull},
        {HEED_TYPE_IQ4_XS, 0x6ced3cbf6312c3efull, 0x1c8441b0af03fad3ull},
    };
    static float x[N], y[N];
    static unsigned char q[N]; /* more than either type needs */
    rng_seed(3);
    awkward_data(x, N);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const heed_type_traits *tt = heed_type_get(want[k].type);
        const size_t size = heed_type_row_size(want[k].type, N);
        memset(q, 0xa5, sizeof q); /* a byte the quantiser leaves shows */
        tt->from_float(x, q, N);
        tt->to_float(q, y, N);
        cr_expect_eq(fnv1a(q, size), want[k].quant, "%s: quantised bytes differ", tt->name);
        cr_expect_eq(fnv1a(y, sizeof y), want[k].dequant, "%s: dequantised floats differ",
                     tt->name);
        qb_result res = {0};
        qb_check_row(want[k].type, x, q, y, N, &res);
        cr_expect_eq(res.n_bad, 0, "%s: %lld elements out of bound; first: %s", tt->name,
                     (long long)res.n_bad, res.first_bad);
        for (int i = 0; i < 256; i++)
            cr_expect(f32_bits(y[i]) == 0 || f32_bits(y[i]) == 0x80000000u,
                      "%s: zero input element %d dequantised to %g", tt->name, i, y[i]);
    }
}

/* ------------------------------------------------- hand-built blocks */

/* Dequantises one block of type t and compares with want[] exactly (every
 * value below is a small dyadic rational, so f32 arithmetic is exact). */
static void expect_block(int t, const void *blk, const float *want)
{
    const heed_type_traits *tt = heed_type_get(t);
    float got[256];
    tt->to_float(blk, got, tt->block_size);
    int bad = 0;
    for (int i = 0; i < tt->block_size; i++)
        if (got[i] != want[i] && bad++ < 3)
            cr_log_error("%s element %d: got %g, want %g", tt->name, i, got[i], want[i]);
    cr_expect_eq(bad, 0, "%s: %d elements differ", tt->name, bad);
}

/* Sets the 4 low bits of element i (of 32) in a q4_0-style nibble array. */
static void put_nibble32(uint8_t *qs, int i, int v)
{
    qs[i % 16] |= (uint8_t)((v & 15) << (4 * (i / 16)));
}

Test(types, dequantize_legacy_blocks)
{
    float want[32];

    heed_block_q4_0 a = {.d = 0x3800}; /* 0.5 */
    for (int i = 0; i < 32; i++) {
        int l = (i * 5) % 16;
        put_nibble32(a.qs, i, l);
        want[i] = (l - 8) * 0.5f;
    }
    expect_block(HEED_TYPE_Q4_0, &a, want);

    heed_block_q4_1 b = {.d = 0x3400, .m = 0xbc00}; /* 0.25, -1 */
    for (int i = 0; i < 32; i++) {
        int l = (i * 7 + 3) % 16;
        put_nibble32(b.qs, i, l);
        want[i] = l * 0.25f - 1.0f;
    }
    expect_block(HEED_TYPE_Q4_1, &b, want);

    heed_block_q5_0 c = {.d = 0xc000}; /* -2 */
    for (int i = 0; i < 32; i++) {
        int l = (i * 11) % 32;
        put_nibble32(c.qs, i, l);
        c.qh[i / 8] |= (uint8_t)((l >> 4) << (i % 8)); /* bit i of a LE word */
        want[i] = (l - 16) * -2.0f;
    }
    expect_block(HEED_TYPE_Q5_0, &c, want);

    heed_block_q5_1 e = {.d = 0x3000, .m = 0x4200}; /* 0.125, 3 */
    for (int i = 0; i < 32; i++) {
        int l = 31 - i;
        put_nibble32(e.qs, i, l);
        e.qh[i / 8] |= (uint8_t)((l >> 4) << (i % 8));
        want[i] = l * 0.125f + 3.0f;
    }
    expect_block(HEED_TYPE_Q5_1, &e, want);

    heed_block_q8_0 f = {.d = 0x4000}; /* 2 */
    for (int i = 0; i < 32; i++) {
        f.qs[i] = (int8_t)(i * 8 - 128);
        want[i] = (i * 8 - 128) * 2.0f;
    }
    expect_block(HEED_TYPE_Q8_0, &f, want);

    heed_block_q8_1 g = {.d = 0x3800, .s = 0x7bff}; /* s is not used to dequantise */
    for (int i = 0; i < 32; i++) {
        g.qs[i] = (int8_t)(127 - i * 8);
        want[i] = (127 - i * 8) * 0.5f;
    }
    expect_block(HEED_TYPE_Q8_1, &g, want);
}

/* Element i of a k-quant block: the 2 bits at byte 32*(i/128) + i%32,
 * shift 2*((i%128)/32) (q2_K, and the low bits of q3_K). */
static void put_2bit(uint8_t *qs, int i, int v)
{
    qs[32 * (i / 128) + i % 32] |= (uint8_t)((v & 3) << (2 * ((i % 128) / 32)));
}

/* Element i of q4_K/q5_K: low or high nibble of byte 32*(i/64) + i%32. */
static void put_nibble256(uint8_t *qs, int i, int v)
{
    qs[32 * (i / 64) + i % 32] |= (uint8_t)((v & 15) << (4 * ((i % 64) / 32)));
}

/* The 6-bit scale and min of sub-block s in q4_K/q5_K `scales`. */
static void put_scale_min(uint8_t *scales, int s, int sc, int mn)
{
    if (s < 4) {
        scales[s] |= (uint8_t)sc;
        scales[s + 4] |= (uint8_t)mn;
    } else {
        scales[s + 4] |= (uint8_t)((sc & 15) | (mn & 15) << 4);
        scales[s - 4] |= (uint8_t)((sc >> 4) << 6);
        scales[s] |= (uint8_t)((mn >> 4) << 6);
    }
}

Test(types, dequantize_k_blocks)
{
    static float want[256];

    static heed_block_q2_K a = {.d = 0x3800, .dmin = 0x3400}; /* 0.5, 0.25 */
    for (int s = 0; s < 16; s++)
        a.scales[s] = (uint8_t)((s & 15) | (15 - s) << 4);
    for (int i = 0; i < 256; i++) {
        int l = (i / 3) % 4, s = i / 16;
        put_2bit(a.qs, i, l);
        want[i] = 0.5f * s * l - 0.25f * (15 - s);
    }
    expect_block(HEED_TYPE_Q2_K, &a, want);

    static heed_block_q3_K b = {.d = 0x3400}; /* 0.25 */
    for (int s = 0; s < 16; s++) {
        int v = s * 4 + 1; /* 6 bits */
        b.scales[s % 8] |= (uint8_t)((v & 15) << (4 * (s / 8)));
        b.scales[8 + s % 4] |= (uint8_t)((v >> 4) << (2 * (s / 4)));
    }
    for (int i = 0; i < 256; i++) {
        int l = (i * 5) % 8, s = i / 16;
        put_2bit(b.qs, i, l & 3);
        b.hmask[i % 32] |= (uint8_t)((l >> 2) << (i / 32));
        want[i] = 0.25f * (s * 4 + 1 - 32) * (l - 4);
    }
    expect_block(HEED_TYPE_Q3_K, &b, want);

    static heed_block_q4_K c = {.d = 0x3800, .dmin = 0x3000}; /* 0.5, 0.125 */
    for (int s = 0; s < 8; s++)
        put_scale_min(c.scales, s, s * 8 + 3, 63 - s * 5);
    for (int i = 0; i < 256; i++) {
        int l = (i * 7) % 16, s = i / 32;
        put_nibble256(c.qs, i, l);
        want[i] = 0.5f * (s * 8 + 3) * l - 0.125f * (63 - s * 5);
    }
    expect_block(HEED_TYPE_Q4_K, &c, want);

    static heed_block_q5_K e = {.d = 0x3400, .dmin = 0x3800}; /* 0.25, 0.5 */
    for (int s = 0; s < 8; s++)
        put_scale_min(e.scales, s, 60 - s * 7, s * 9);
    for (int i = 0; i < 256; i++) {
        int l = (i * 11) % 32, s = i / 32;
        put_nibble256(e.qs, i, l);
        e.qh[i % 32] |= (uint8_t)((l >> 4) << (i / 32));
        want[i] = 0.25f * (60 - s * 7) * l - 0.5f * (s * 9);
    }
    expect_block(HEED_TYPE_Q5_K, &e, want);

    static heed_block_q6_K f = {.d = 0x3000}; /* 0.125 */
    for (int s = 0; s < 16; s++)
        f.scales[s] = (int8_t)((s - 8) * 15);
    for (int i = 0; i < 256; i++) {
        int l = (i * 13) % 64, s = i / 16;
        int h = i / 128, r = i % 32, g = (i % 128) / 32;
        f.ql[64 * h + r + 32 * (g & 1)] |= (uint8_t)((l & 15) << (4 * (g >> 1)));
        f.qh[32 * h + r] |= (uint8_t)((l >> 4) << (2 * g));
        want[i] = 0.125f * ((s - 8) * 15) * (l - 32);
    }
    expect_block(HEED_TYPE_Q6_K, &f, want);

    static heed_block_q8_K k = {.d = 0.03125f};
    for (int i = 0; i < 256; i++) {
        k.qs[i] = (int8_t)((i * 37) % 256 - 128);
        want[i] = 0.03125f * ((i * 37) % 256 - 128);
    }
    expect_block(HEED_TYPE_Q8_K, &k, want);
}

/* Quantising exactly representable data gives the levels by hand. */
Test(types, quantize_by_hand)
{
    float x[256];

    /* q8_0: amax 127 -> d = 1, every integer kept */
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i * 8 - 127);
    heed_block_q8_0 a;
    heed_type_get(HEED_TYPE_Q8_0)->from_float(x, &a, 32);
    cr_expect_eq(a.d, 0x3c00);
    for (int i = 0; i < 32; i++)
        cr_expect_eq(a.qs[i], i * 8 - 127);

    /* q4_0: the extreme, -8, sets d = 1 and level 0; x = -8..7 -> 0..15 */
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i % 16 - 8);
    heed_block_q4_0 b;
    heed_type_get(HEED_TYPE_Q4_0)->from_float(x, &b, 32);
    cr_expect_eq(b.d, 0x3c00);
    for (int j = 0; j < 16; j++)
        cr_expect_eq(b.qs[j], (uint8_t)(j | j << 4), "byte %d = %02x", j, b.qs[j]);

    /* q4_1: min -3, max 12 -> d = 1, m = -3, levels x + 3 */
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i % 16 - 3);
    heed_block_q4_1 c;
    heed_type_get(HEED_TYPE_Q4_1)->from_float(x, &c, 32);
    cr_expect_eq(c.d, 0x3c00);
    cr_expect_eq(c.m, 0xc200);
    for (int j = 0; j < 16; j++)
        cr_expect_eq(c.qs[j], (uint8_t)(j | j << 4));

    /* q8_K: the extreme 127 -> d = 1 exactly, bsums the group sums */
    for (int i = 0; i < 256; i++)
        x[i] = (float)(i % 255 - 127);
    heed_block_q8_K k;
    heed_type_get(HEED_TYPE_Q8_K)->from_float(x, &k, 256);
    cr_expect_eq(k.d, 1.0f);
    for (int s = 0; s < 16; s++) {
        int sum = 0;
        for (int i = 16 * s; i < 16 * s + 16; i++) {
            cr_expect_eq(k.qs[i], i % 255 - 127);
            sum += i % 255 - 127;
        }
        cr_expect_eq(k.bsums[s], sum);
    }

    /* all zero: every type gives all-zero bytes (d = 0, levels 0 or the
     * middle level) and dequantises to exactly 0 */
    memset(x, 0, sizeof x);
    for (int k2 = 0; k2 < N_COMPUTED; k2++) {
        const heed_type_traits *tt = heed_type_get(computed_types[k2]);
        unsigned char q[sizeof(float) * 256];
        float y[256];
        tt->from_float(x, q, 256);
        tt->to_float(q, y, 256);
        for (int i = 0; i < 256; i++)
            cr_expect_eq(f32_bits(y[i]) & 0x7fffffff, 0, "%s element %d: %g", tt->name, i, y[i]);
    }
}

/* mxfp4's step 2^(e - 127) / 2, the two smallest exponents subnormal */
Test(types, mxfp4_step)
{
    cr_expect_eq(heed_mxfp4_step(128), 1.0f);
    cr_expect_eq(heed_mxfp4_step(127), 0.5f);
    cr_expect_eq(heed_mxfp4_step(2), 0x1p-126f);
    cr_expect_eq(heed_mxfp4_step(1), 0x1p-127f);
    cr_expect_eq(heed_mxfp4_step(0), 0x1p-128f);
    cr_expect_eq(heed_mxfp4_step(254), 0x1p126f);
}

/* Every quantised tensor of the peer-made i-quant fixtures dequantises to
 * llama.cpp's floats bit for bit: tests/models/dequant-llama.txt holds
 * the FNV-1a hash of its to_float output per tensor (peer_dequant.c). */

Test(types, dequantize_matches_llama_cpp_files)
{
    char path[4096], line[512], file[128], name[128], type[32], open_file[128] = "";
    snprintf(path, sizeof path, "%s/tests/models/dequant-llama.txt", HEED_SOURCE_DIR);
    FILE *list = fopen(path, "r");
    cr_assert_not_null(list, "%s", path);
    heed_gguf *g = NULL;
    int checked = 0;
    while (fgets(line, sizeof line, list)) {
        long long n;
        unsigned long long want;
        if (line[0] == '#')
            continue;
        cr_assert_eq(sscanf(line, "%127s %127s %31s %lld %llx", file, name, type, &n, &want), 5, "%s", line);
        if (strcmp(file, open_file) != 0) {
            heed_gguf_close(g);
            snprintf(path, sizeof path, "%s/tests/models/%s", HEED_SOURCE_DIR, file);
            cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
            snprintf(open_file, sizeof open_file, "%s", file);
        }
        const heed_gguf_tensor *t = heed_gguf_find_tensor(g, name);
        cr_assert_not_null(t, "%s: %s", file, name);
        cr_expect_str_eq(heed_type_name(t->type), type, "%s: %s", file, name);
        const heed_type_traits *tt = heed_type_get(t->type);
        cr_assert(tt && tt->to_float, "%s: %s: no dequantiser for %s", file, name, type);
        float *f = malloc(sizeof *f * (size_t)n);
        tt->to_float(t->data, f, n);
        cr_expect_eq(fnv1a(f, sizeof *f * (size_t)n), (uint64_t)want, "%s: %s (%s) differs from llama.cpp",
                     file, name, type);
        free(f);
        checked++;
    }
    fclose(list);
    heed_gguf_close(g);
    cr_expect_geq(checked, 160);
}
