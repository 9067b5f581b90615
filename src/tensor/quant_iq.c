/*
 * quant_iq.c — decoding the grid and ternary types (tensor/iq.h): one
 * unpacker per type, from its block to heed_iq_block, and the one
 * dequantiser and dot product all of them share.
 *
 * Each unpacker reads its block as ggml's dequantize_row_* (c392e50)
 * does; the comments say where each field's bits go.
 */
#include "tensor/iq.h"

#include <string.h>

#include "heed.h"
#include "tensor/quant.h"

static uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 8 elements from an iq2 grid point under 8 sign bits. */
static void put_iq2(int8_t *v, uint16_t point, uint8_t signs)
{
    for (int k = 0; k < 8; k++) {
        const int level = heed_iq2_levels[heed_iq_level2(point, k)];
        v[k] = (int8_t)(signs >> k & 1 ? -level : level);
    }
}

/* 4 elements from an iq3 grid point under 4 sign bits. */
static void put_iq3(int8_t *v, int level_of(int), uint16_t point, unsigned signs)
{
    for (int k = 0; k < 4; k++) {
        const int level = level_of(heed_iq_level3(point, k));
        v[k] = (int8_t)(signs >> k & 1 ? -level : level);
    }
}

static int iq3xxs_level(int k) { return heed_iq3xxs_levels[k]; }
static int iq3s_level(int k) { return 2 * k + 1; }

/* 8 elements from the iq1 grid, 8 × (point ± 1/8): unit 1/8. */
static void put_iq1(int8_t *v, uint16_t point, int delta)
{
    for (int k = 0; k < 8; k++)
        v[k] = (int8_t)(8 * (heed_iq_level2(point, k) - 1) + delta);
}

/* Per 32 elements: 4 grid bytes, then a u32 whose 4 × 7 low bits are the
 * groups' signs and whose top 4 bits s give scale 2s + 1 to all 32. */
static void unpack_iq2_xxs(const void *block, heed_iq_block *out)
{
    const heed_block_iq2_xxs *b = block;
    out->d = heed_f16_to_f32(b->d);
    for (int ib = 0; ib < 8; ib++) {
        const uint8_t *q = b->qs + 8 * ib;
        const uint32_t aux = load_u32(q + 4);
        out->scale[2 * ib] = out->scale[2 * ib + 1] = (uint8_t)(2 * (aux >> 28) + 1);
        for (int l = 0; l < 4; l++)
            put_iq2(out->v + 32 * ib + 8 * l, heed_iq2xxs_grid[q[l]],
                    heed_iq_signs7(aux >> 7 * l & 127));
    }
}

/* qs: a 9-bit grid index and 7 sign bits per 8; two 4-bit scales per 32. */
static void unpack_iq2_xs(const void *block, heed_iq_block *out)
{
    const heed_block_iq2_xs *b = block;
    out->d = heed_f16_to_f32(b->d);
    for (int g = 0; g < 16; g++)
        out->scale[g] = (uint8_t)(2 * (b->scales[g / 2] >> 4 * (g % 2) & 15) + 1);
    for (int l = 0; l < 32; l++)
        put_iq2(out->v + 8 * l, heed_iq2xs_grid[b->qs[l] & 511], heed_iq_signs7(b->qs[l] >> 9));
}

/* A 10-bit grid index (qh holds bits 8-9 of group l at bits 2(l % 4));
 * 8 explicit sign bits per 8; scales as iq2_xs. */
static void unpack_iq2_s(const void *block, heed_iq_block *out)
{
    const heed_block_iq2_s *b = block;
    out->d = heed_f16_to_f32(b->d);
    for (int g = 0; g < 16; g++)
        out->scale[g] = (uint8_t)(2 * (b->scales[g / 2] >> 4 * (g % 2) & 15) + 1);
    for (int l = 0; l < 32; l++) {
        const int index = b->qs[l] | (b->qh[l / 4] >> 2 * (l % 4) & 3) << 8;
        put_iq2(out->v + 8 * l, heed_iq2s_grid[index], b->signs[l]);
    }
}

/* A grid byte per 4 elements; per 32 a u32 as iq2_xxs's (scale 2s + 1 on
 * levels stored doubled: unit 1/4). */
static void unpack_iq3_xxs(const void *block, heed_iq_block *out)
{
    const heed_block_iq3_xxs *b = block;
    out->d = heed_f16_to_f32(b->d);
    for (int ib = 0; ib < 8; ib++) {
        const uint32_t aux = load_u32(b->sas + 4 * ib);
        out->scale[2 * ib] = out->scale[2 * ib + 1] = (uint8_t)(2 * (aux >> 28) + 1);
        for (int l = 0; l < 4; l++) {
            const uint8_t signs = heed_iq_signs7(aux >> 7 * l & 127);
            int8_t *v = out->v + 32 * ib + 8 * l;
            put_iq3(v, iq3xxs_level, heed_iq3xxs_grid[b->qs[8 * ib + 2 * l]], signs);
            put_iq3(v + 4, iq3xxs_level, heed_iq3xxs_grid[b->qs[8 * ib + 2 * l + 1]], signs >> 4);
        }
    }
}

/* A 9-bit grid index per 4 (bit 8 of point p of 32-run ib: qh[ib] bit p);
 * 8 explicit sign bits per 8; a 4-bit scale s per 32, scale 2s + 1. */
static void unpack_iq3_s(const void *block, heed_iq_block *out)
{
    const heed_block_iq3_s *b = block;
    out->d = heed_f16_to_f32(b->d);
    for (int ib = 0; ib < 8; ib++) {
        out->scale[2 * ib] = out->scale[2 * ib + 1] =
            (uint8_t)(2 * (b->scales[ib / 2] >> 4 * (ib % 2) & 15) + 1);
        for (int p = 0; p < 8; p++) {
            const int index = b->qs[8 * ib + p] | (b->qh[ib] >> p & 1) << 8;
            put_iq3(out->v + 32 * ib + 4 * p, iq3s_level, heed_iq3s_grid[index],
                    b->signs[4 * ib + p / 2] >> 4 * (p % 2));
        }
    }
}

/* Per 32 a u16: 4 × 3 high grid-index bits, a 3-bit scale s (2s + 1),
 * and the sign of the delta all 32 share. */
static void unpack_iq1_s(const void *block, heed_iq_block *out)
{
    const heed_block_iq1_s *b = block;
    out->d = heed_f16_to_f32(b->d);
    for (int ib = 0; ib < 8; ib++) {
        const unsigned qh = b->qh[ib];
        out->scale[2 * ib] = out->scale[2 * ib + 1] = (uint8_t)(2 * (qh >> 12 & 7) + 1);
        for (int l = 0; l < 4; l++)
            put_iq1(out->v + 32 * ib + 8 * l, heed_iq1s_grid[b->qs[4 * ib + l] | (qh >> 3 * l & 7) << 8],
                    qh & 0x8000 ? -1 : 1);
    }
}

/* Per 8 a qh nibble: 3 high grid-index bits and the delta's sign. The 8
 * scale bytes, as four u16, hold 3-bit scales (four per u16) in their
 * low 12 bits and the f16 step's four nibbles in their top ones. */
static void unpack_iq1_m(const void *block, heed_iq_block *out)
{
    const heed_block_iq1_m *b = block;
    uint16_t sc[4];
    memcpy(sc, b->scales, sizeof sc);
    const uint16_t step = (uint16_t)(sc[0] >> 12 | (sc[1] >> 8 & 0x00f0) | (sc[2] >> 4 & 0x0f00) |
                                     (sc[3] & 0xf000));
    out->d = heed_f16_to_f32(step);
    for (int g = 0; g < 16; g++)
        out->scale[g] = (uint8_t)(2 * (sc[g / 4] >> 3 * (g % 4) & 7) + 1);
    for (int l = 0; l < 32; l++) {
        const unsigned nibble = b->qh[l / 2] >> 4 * (l % 2) & 15;
        put_iq1(out->v + 8 * l, heed_iq1s_grid[b->qs[l] | (nibble & 7) << 8], nibble & 8 ? -1 : 1);
    }
}

/* Trit k (0..4) of a byte that holds 5 (or 4) of them as a fraction of
 * 3^5 scaled to 256: the k-th base-3 digit, rounded down, minus 1. */
static int8_t trit(uint8_t byte, int k)
{
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t q = (uint8_t)(byte * pow3[k]);
    return (int8_t)(((unsigned)q * 3 >> 8) - 1);
}

/* Elements 0..159: trit k of qs[m] (m < 32) at 32k + m; 160..239: of
 * qs[32 + m] (m < 16) at 160 + 16k + m; 240..255: of qh[j] at 240 + 4k + j. */
static void unpack_tq1_0(const void *block, heed_iq_block *out)
{
    const heed_block_tq1_0 *b = block;
    out->d = heed_f16_to_f32(b->d);
    memset(out->scale, 1, sizeof out->scale);
    for (int k = 0; k < 5; k++) {
        for (int m = 0; m < 32; m++)
            out->v[32 * k + m] = trit(b->qs[m], k);
        for (int m = 0; m < 16; m++)
            out->v[160 + 16 * k + m] = trit(b->qs[32 + m], k);
    }
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
            out->v[240 + 4 * k + j] = trit(b->qh[j], k);
}

/* Element 128h + 32l + m is bits 2l of qs[32h + m], minus 1. */
static void unpack_tq2_0(const void *block, heed_iq_block *out)
{
    const heed_block_tq2_0 *b = block;
    out->d = heed_f16_to_f32(b->d);
    memset(out->scale, 1, sizeof out->scale);
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 4; l++)
            for (int m = 0; m < 32; m++)
                out->v[128 * h + 32 * l + m] = (int8_t)((b->qs[32 * h + m] >> 2 * l & 3) - 1);
}

#define FORMAT(sfx, u) {unpack_##sfx, sizeof(heed_block_##sfx), u}
static const struct {
    int type;
    heed_iq_format format;
} formats[] = {
    {HEED_TYPE_IQ2_XXS, FORMAT(iq2_xxs, 0.125f)}, {HEED_TYPE_IQ2_XS, FORMAT(iq2_xs, 0.125f)},
    {HEED_TYPE_IQ2_S, FORMAT(iq2_s, 0.125f)},     {HEED_TYPE_IQ3_XXS, FORMAT(iq3_xxs, 0.25f)},
    {HEED_TYPE_IQ3_S, FORMAT(iq3_s, 1.0f)},       {HEED_TYPE_IQ1_S, FORMAT(iq1_s, 0.125f)},
    {HEED_TYPE_IQ1_M, FORMAT(iq1_m, 0.125f)},     {HEED_TYPE_TQ1_0, FORMAT(tq1_0, 1.0f)},
    {HEED_TYPE_TQ2_0, FORMAT(tq2_0, 1.0f)},
};

const heed_iq_format *heed_iq_format_of(int t)
{
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (formats[i].type == t)
            return &formats[i].format;
    return NULL;
}

void heed_iq_dequantize(const heed_iq_format *f, const void *src, float *dst, int64_t n)
{
    const uint8_t *block = src;
    heed_iq_block u;
    for (int64_t i = 0; i < n / 256; i++, block += f->block_bytes, dst += 256) {
        f->unpack(block, &u);
        for (int g = 0; g < 16; g++) {
            const float step = u.d * (float)u.scale[g] * f->unit;
            for (int j = 16 * g; j < 16 * g + 16; j++)
                dst[j] = step * (float)u.v[j];
        }
    }
}

#define DEQUANTIZE(sfx, TYPE)                                                   \
    void heed_dequantize_##sfx(const void *src, float *dst, int64_t n)          \
    {                                                                           \
        heed_iq_dequantize(heed_iq_format_of(HEED_TYPE_##TYPE), src, dst, n);   \
    }
DEQUANTIZE(iq2_xxs, IQ2_XXS)
DEQUANTIZE(iq2_xs, IQ2_XS)
DEQUANTIZE(iq2_s, IQ2_S)
DEQUANTIZE(iq3_xxs, IQ3_XXS)
DEQUANTIZE(iq3_s, IQ3_S)
DEQUANTIZE(iq1_s, IQ1_S)
DEQUANTIZE(iq1_m, IQ1_M)
DEQUANTIZE(tq1_0, TQ1_0)
DEQUANTIZE(tq2_0, TQ2_0)
