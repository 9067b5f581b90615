/*
 * packed.c — the packed weight layout (packed.h): one row per packed type
 * in a table (its block, how a block of 16 rows is laid out, how to pack
 * and unpack it), the scalar reference kernels, and the choice of variant.
 *
 * Block layouts, for a block of 16 rows (row r in lane r; "vector v" is
 * bytes 64v..64v+63 of the block's quants, its lane r bytes 4r..4r+3):
 *
 *   q4_0  quants: vector j < 4 = row's qs[4j..4j+3]; low nibbles are
 *         elements 4j.., high nibbles 16+4j... side: d[16] (f16).
 *   q5_0  quants: as q4_0, then vector 4 holds the fifth bits: bit J of
 *         its byte i is qh bit 4J + i, the bit of the element in byte i
 *         of the J-th vector of nibbles (J < 4: low, else high). side: d.
 *   q4_1, q5_1  quants: as q4_0, q5_0. side: d[16], then m[16].
 *   q8_0  quants: vector j < 8 = row's qs[4j..4j+3] + 128. side: d[16].
 *   q2_K  quants: vector v < 16 = row's qs[4v..4v+3]; elements 128h + 32j
 *         + 4m.. are bits 2j, 2j+1 of vector 8h + m (h < 2, j < 4, m < 8).
 *         side: the 16 scale bytes as 4 vectors (vector i = row's
 *         scales[4i..4i+3]: scale in the low nibble, min in the high),
 *         then d[16], dmin[16].
 *   q3_K  quants: as q2_K's low bits, then vector 16 + m = row's
 *         hmask[4m..4m+3], whose bit 4h + j is the third bit of the
 *         element 128h + 32j + 4m.. in its byte. side: scales[16][16]
 *         (sub-block-major, int8: the 6-bit scale minus 32), then d[16].
 *   q4_K  quants: vector 8k+j (k < 4, j < 8) = row's qs[32k+4j..]; low
 *         nibbles are sub-block 2k's elements 4j.., high nibbles 2k+1's.
 *         side: the 12 scale bytes as 3 vectors (vector i = row's
 *         scales[4i..4i+3]), then d[16], dmin[16].
 *   q5_K  as q4_K, then vector 32+j = row's qh[4j..4j+3]: bit s of a
 *         byte is the fifth bit of sub-block s's element of its nibbles.
 *   q6_K  quants: vectors 24h+3j, 24h+3j+1, 24h+3j+2 (h < 2, j < 8) =
 *         row's ql[64h+4j..], ql[64h+32+4j..], qh[32h+4j..]. Run g of
 *         half h (elements 128h+32g..) takes the low (g < 2) or high
 *         nibble of ql vector 2h + g%2 and bits 2g, 2g+1 of qh. The
 *         matrix × vector kernel reads the three vectors of each j
 *         together, so it reads the block strictly forward: with ql and
 *         qh in runs of 8 vectors (two interleaved streams) it read
 *         memory at half the rate on Zen 4 (hardware prefetch). side:
 *         scales[16][16] (sub-block-major, int8), then d[16].
 *   f16, bf16  quants: element e of row r at bytes 32e + 2r (16 rows of
 *         one element side by side; a vector holds elements e, e+1).
 *         No side. Activations: f32 rows rounded to the type (what the
 *         row-major matmul's f16 / bf16 partner holds), unquantised.
 *
 * The arithmetic of one output (row r, token t), acc starting at 0:
 *   32-blocks: isum = -off·Σx + Σ q·x;  acc = fma(dw·dx, isum, acc)
 *   q4_1, q5_1: isum = Σ q·x;  acc = fma(dw·dx, isum, acc);
 *         acc = fma(m·dx, Σx, acc)  (Σx: the activations' Σq)
 *   q2_K, per super-block: tot = Σ_s sc_s · Σ_{16-run s} q·x,
 *         mins = Σ_s mn_s · Σ_{16-run s} x; then as q4_K
 *   q3_K, per super-block: tot = Σ_s sc_s · (-4·Σ_{16-run s} x +
 *         Σ_{16-run s} q·x);  acc = fma(dw·dx, tot, acc)
 *   q4_K, q5_K, per super-block: tot = Σ_s sc_s · Σ_{run s} q·x,
 *         mins = Σ_s mn_s · Σ_{run s} x;
 *         acc = fma(dw·dx, tot, acc); acc = fma(dmin·dx, -mins, acc)
 *   q6_K, per super-block: tot = Σ_s sc_s · (-32·Σ_{16-run s} x +
 *         Σ_{16-run s} q·x);  acc = fma(dw·dx, tot, acc)
 * Every integer is exact in int32: the largest, q6_K's tot, is below
 * 16 · 128 · 16 · 32 · 127 < 2^28.
 */
#include "kernels/kernel_table.h"

#include <math.h>
#include <string.h>

#include "heed.h"
#include "kernels/matmul.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

enum { R = HEED_PACK_ROWS };

/* Pack and unpack one row's block (the file's bytes) into / out of a
 * packed block of 16 rows. */
typedef void (*pack_fn)(const uint8_t *blk, int r, uint8_t *q, uint8_t *side);
typedef void (*unpack_fn)(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk);

typedef struct pack_format {
    int type;
    int block;     /* elements per block                                 */
    int unit;      /* blocks per unit (packed.h)                         */
    int qb, sb;    /* bytes of quants (a multiple of 64) and side, per
                      block of 16 rows                                   */
    int act_block; /* bytes of one block of activations                  */
    pack_fn pack;
    unpack_fn unpack;
} pack_format;

static void lane_put(uint8_t *q, int v, int r, const uint8_t *src)
{
    memcpy(q + 64 * v + 4 * r, src, 4);
}

static void lane_get(const uint8_t *q, int v, int r, uint8_t *dst)
{
    memcpy(dst, q + 64 * v + 4 * r, 4);
}

static void pack_q4_0(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q4_0 *b = (const heed_block_q4_0 *)(const void *)blk;
    for (int j = 0; j < 4; j++)
        lane_put(q, j, r, b->qs + 4 * j);
    memcpy(side + 2 * r, &b->d, 2);
}

static void unpack_q4_0(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q4_0 *b = (heed_block_q4_0 *)(void *)blk;
    for (int j = 0; j < 4; j++)
        lane_get(q, j, r, b->qs + 4 * j);
    memcpy(&b->d, side + 2 * r, 2);
}

static void pack_q5_0(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q5_0 *b = (const heed_block_q5_0 *)(const void *)blk;
    heed_block_q4_0 low = {.d = b->d};
    memcpy(low.qs, b->qs, sizeof low.qs);
    pack_q4_0((const uint8_t *)&low, r, q, side);
    const uint32_t qh = (uint32_t)b->qh[0] | (uint32_t)b->qh[1] << 8 |
                        (uint32_t)b->qh[2] << 16 | (uint32_t)b->qh[3] << 24;
    uint8_t bits[4] = {0};
    for (int e = 0; e < 32; e++)
        bits[e % 4] |= (uint8_t)((qh >> e & 1) << (e / 4));
    lane_put(q, 4, r, bits);
}

static void unpack_q5_0(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q5_0 *b = (heed_block_q5_0 *)(void *)blk;
    heed_block_q4_0 low;
    unpack_q4_0(q, side, r, (uint8_t *)&low);
    b->d = low.d;
    memcpy(b->qs, low.qs, sizeof b->qs);
    uint8_t bits[4];
    lane_get(q, 4, r, bits);
    memset(b->qh, 0, sizeof b->qh);
    for (int e = 0; e < 32; e++)
        b->qh[e / 8] |= (uint8_t)((bits[e % 4] >> (e / 4) & 1) << (e % 8));
}

/* q4_1, q5_1: q4_0's and q5_0's quants and d, and the minimum m. */
static void pack_q4_1(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q4_1 *b = (const heed_block_q4_1 *)(const void *)blk;
    heed_block_q4_0 low = {.d = b->d};
    memcpy(low.qs, b->qs, sizeof low.qs);
    pack_q4_0((const uint8_t *)&low, r, q, side);
    memcpy(side + 32 + 2 * r, &b->m, 2);
}

static void unpack_q4_1(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q4_1 *b = (heed_block_q4_1 *)(void *)blk;
    heed_block_q4_0 low;
    unpack_q4_0(q, side, r, (uint8_t *)&low);
    b->d = low.d;
    memcpy(b->qs, low.qs, sizeof b->qs);
    memcpy(&b->m, side + 32 + 2 * r, 2);
}

static void pack_q5_1(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q5_1 *b = (const heed_block_q5_1 *)(const void *)blk;
    heed_block_q5_0 low = {.d = b->d};
    memcpy(low.qh, b->qh, sizeof low.qh);
    memcpy(low.qs, b->qs, sizeof low.qs);
    pack_q5_0((const uint8_t *)&low, r, q, side);
    memcpy(side + 32 + 2 * r, &b->m, 2);
}

static void unpack_q5_1(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q5_1 *b = (heed_block_q5_1 *)(void *)blk;
    heed_block_q5_0 low;
    unpack_q5_0(q, side, r, (uint8_t *)&low);
    b->d = low.d;
    memcpy(b->qh, low.qh, sizeof b->qh);
    memcpy(b->qs, low.qs, sizeof b->qs);
    memcpy(&b->m, side + 32 + 2 * r, 2);
}

static void pack_q8_0(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q8_0 *b = (const heed_block_q8_0 *)(const void *)blk;
    for (int i = 0; i < 32; i++)
        q[64 * (i / 4) + 4 * r + i % 4] = (uint8_t)(b->qs[i] + 128);
    memcpy(side + 2 * r, &b->d, 2);
}

static void unpack_q8_0(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q8_0 *b = (heed_block_q8_0 *)(void *)blk;
    for (int i = 0; i < 32; i++)
        b->qs[i] = (int8_t)(q[64 * (i / 4) + 4 * r + i % 4] - 128);
    memcpy(&b->d, side + 2 * r, 2);
}

static void pack_q2_K(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q2_K *b = (const heed_block_q2_K *)(const void *)blk;
    for (int v = 0; v < 16; v++)
        lane_put(q, v, r, b->qs + 4 * v);
    for (int i = 0; i < 4; i++)
        lane_put(side, i, r, b->scales + 4 * i);
    memcpy(side + 256 + 2 * r, &b->d, 2);
    memcpy(side + 288 + 2 * r, &b->dmin, 2);
}

static void unpack_q2_K(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q2_K *b = (heed_block_q2_K *)(void *)blk;
    for (int v = 0; v < 16; v++)
        lane_get(q, v, r, b->qs + 4 * v);
    for (int i = 0; i < 4; i++)
        lane_get(side, i, r, b->scales + 4 * i);
    memcpy(&b->d, side + 256 + 2 * r, 2);
    memcpy(&b->dmin, side + 288 + 2 * r, 2);
}

static void pack_q3_K(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q3_K *b = (const heed_block_q3_K *)(const void *)blk;
    for (int v = 0; v < 16; v++)
        lane_put(q, v, r, b->qs + 4 * v);
    for (int v = 0; v < 8; v++)
        lane_put(q, 16 + v, r, b->hmask + 4 * v);
    for (int s = 0; s < 16; s++)
        side[16 * s + r] = (uint8_t)(int8_t)(heed_q3_K_scale(b->scales, s) - 32);
    memcpy(side + 256 + 2 * r, &b->d, 2);
}

static void unpack_q3_K(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q3_K *b = (heed_block_q3_K *)(void *)blk;
    for (int v = 0; v < 16; v++)
        lane_get(q, v, r, b->qs + 4 * v);
    for (int v = 0; v < 8; v++)
        lane_get(q, 16 + v, r, b->hmask + 4 * v);
    memset(b->scales, 0, sizeof b->scales);
    for (int s = 0; s < 16; s++)
        heed_q3_K_scale_put(b->scales, s, (int8_t)side[16 * s + r] + 32);
    memcpy(&b->d, side + 256 + 2 * r, 2);
}

static void pack_q4_K(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q4_K *b = (const heed_block_q4_K *)(const void *)blk;
    for (int v = 0; v < 32; v++)
        lane_put(q, v, r, b->qs + 4 * v);
    for (int i = 0; i < 3; i++)
        lane_put(side, i, r, b->scales + 4 * i);
    memcpy(side + 192 + 2 * r, &b->d, 2);
    memcpy(side + 224 + 2 * r, &b->dmin, 2);
}

static void unpack_q4_K(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q4_K *b = (heed_block_q4_K *)(void *)blk;
    for (int v = 0; v < 32; v++)
        lane_get(q, v, r, b->qs + 4 * v);
    for (int i = 0; i < 3; i++)
        lane_get(side, i, r, b->scales + 4 * i);
    memcpy(&b->d, side + 192 + 2 * r, 2);
    memcpy(&b->dmin, side + 224 + 2 * r, 2);
}

static void pack_q5_K(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q5_K *b = (const heed_block_q5_K *)(const void *)blk;
    heed_block_q4_K low;
    low.d = b->d;
    low.dmin = b->dmin;
    memcpy(low.scales, b->scales, sizeof low.scales);
    memcpy(low.qs, b->qs, sizeof low.qs);
    pack_q4_K((const uint8_t *)&low, r, q, side);
    for (int v = 0; v < 8; v++)
        lane_put(q, 32 + v, r, b->qh + 4 * v);
}

static void unpack_q5_K(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q5_K *b = (heed_block_q5_K *)(void *)blk;
    heed_block_q4_K low;
    unpack_q4_K(q, side, r, (uint8_t *)&low);
    b->d = low.d;
    b->dmin = low.dmin;
    memcpy(b->scales, low.scales, sizeof low.scales);
    memcpy(b->qs, low.qs, sizeof low.qs);
    for (int v = 0; v < 8; v++)
        lane_get(q, 32 + v, r, b->qh + 4 * v);
}

static void pack_q6_K(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    const heed_block_q6_K *b = (const heed_block_q6_K *)(const void *)blk;
    for (int v = 0; v < 32; v++)
        lane_put(q, heed_q6_ql_vec(v / 8, v % 8), r, b->ql + 4 * v);
    for (int v = 0; v < 16; v++)
        lane_put(q, heed_q6_qh_vec(v / 8, v % 8), r, b->qh + 4 * v);
    for (int s = 0; s < 16; s++)
        side[16 * s + r] = (uint8_t)b->scales[s];
    memcpy(side + 256 + 2 * r, &b->d, 2);
}

static void unpack_q6_K(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    heed_block_q6_K *b = (heed_block_q6_K *)(void *)blk;
    for (int v = 0; v < 32; v++)
        lane_get(q, heed_q6_ql_vec(v / 8, v % 8), r, b->ql + 4 * v);
    for (int v = 0; v < 16; v++)
        lane_get(q, heed_q6_qh_vec(v / 8, v % 8), r, b->qh + 4 * v);
    for (int s = 0; s < 16; s++)
        b->scales[s] = (int8_t)side[16 * s + r];
    memcpy(&b->d, side + 256 + 2 * r, 2);
}

/* f16, bf16: 2-byte elements, the block's 32 of row r 32 bytes apart. */
static void pack_half(const uint8_t *blk, int r, uint8_t *q, uint8_t *side)
{
    (void)side;
    for (int e = 0; e < 32; e++)
        memcpy(q + 32 * e + 2 * r, blk + 2 * e, 2);
}

static void unpack_half(const uint8_t *q, const uint8_t *side, int r, uint8_t *blk)
{
    (void)side;
    for (int e = 0; e < 32; e++)
        memcpy(blk + 2 * e, q + 32 * e + 2 * r, 2);
}

static const pack_format formats[] = {
    {HEED_TYPE_Q4_0, 32, 2, 256, 32, sizeof(heed_packed_act8), pack_q4_0, unpack_q4_0},
    {HEED_TYPE_Q4_1, 32, 2, 256, 64, sizeof(heed_packed_act8), pack_q4_1, unpack_q4_1},
    {HEED_TYPE_Q5_0, 32, 2, 320, 32, sizeof(heed_packed_act8), pack_q5_0, unpack_q5_0},
    {HEED_TYPE_Q5_1, 32, 2, 320, 64, sizeof(heed_packed_act8), pack_q5_1, unpack_q5_1},
    {HEED_TYPE_Q8_0, 32, 2, 512, 32, sizeof(heed_packed_act8), pack_q8_0, unpack_q8_0},
    {HEED_TYPE_Q2_K, 256, 1, 1024, 320, sizeof(heed_packed_actk), pack_q2_K, unpack_q2_K},
    {HEED_TYPE_Q3_K, 256, 1, 1536, 288, sizeof(heed_packed_actk), pack_q3_K, unpack_q3_K},
    {HEED_TYPE_Q4_K, 256, 1, 2048, 256, sizeof(heed_packed_actk), pack_q4_K, unpack_q4_K},
    {HEED_TYPE_Q5_K, 256, 1, 2560, 256, sizeof(heed_packed_actk), pack_q5_K, unpack_q5_K},
    {HEED_TYPE_Q6_K, 256, 1, 3072, 288, sizeof(heed_packed_actk), pack_q6_K, unpack_q6_K},
    {HEED_TYPE_F16, 32, 1, 1024, 0, 32 * sizeof(float), pack_half, unpack_half},
    {HEED_TYPE_BF16, 32, 1, 1024, 0, 32 * sizeof(float), pack_half, unpack_half},
};

static const pack_format *format_of(int type)
{
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (formats[i].type == type)
            return &formats[i];
    return NULL;
}

/* Bytes of one group of 16 rows, and where block b's quants and side are
 * in it. */
static size_t group_bytes(const pack_format *f, int64_t n_in)
{
    const int64_t units = (n_in / f->block + f->unit - 1) / f->unit;
    return (size_t)(units * heed_pack_unit_bytes(f->unit, f->qb, f->sb));
}

static int64_t quants_at(const pack_format *f, int64_t b)
{
    return heed_pack_quants_at(b, f->unit, f->qb, f->sb);
}

static int64_t side_at(const pack_format *f, int64_t b)
{
    return heed_pack_side_at(b, f->unit, f->qb, f->sb);
}

size_t heed_packed_size(int type, int64_t n_in, int64_t n_out)
{
    const pack_format *f = format_of(type);
    if (!f || n_in <= 0 || n_in % f->block || n_out <= 0 || n_out % R)
        return 0;
    return group_bytes(f, n_in) * (size_t)(n_out / R);
}

size_t heed_packed_act_size(int type, int64_t n_in, int64_t n_tokens)
{
    const pack_format *f = format_of(type);
    return f ? (size_t)f->act_block * (size_t)(n_in / f->block) * (size_t)n_tokens : 0;
}

void heed_pack_groups(int type, const void *w, int64_t n_in, int64_t g_begin, int64_t g_end,
                      void *dst)
{
    const pack_format *f = format_of(type);
    const int64_t nb = n_in / f->block;
    const size_t row = heed_type_row_size(type, n_in), gb = group_bytes(f, n_in);
    const size_t blk = heed_type_row_size(type, f->block); /* one block of a row */
    for (int64_t g = g_begin; g < g_end; g++) {
        uint8_t *group = (uint8_t *)dst + (size_t)g * gb;
        memset(group, 0, gb); /* the padding */
        for (int r = 0; r < R; r++) {
            const uint8_t *src = (const uint8_t *)w + (size_t)(g * R + r) * row;
            for (int64_t b = 0; b < nb; b++)
                f->pack(src + (size_t)b * blk, r, group + quants_at(f, b), group + side_at(f, b));
        }
    }
}

void heed_unpack_row(int type, const void *P, int64_t n_in, int64_t o, void *row)
{
    const pack_format *f = format_of(type);
    const int64_t nb = n_in / f->block;
    const uint8_t *group = (const uint8_t *)P + (size_t)(o / R) * group_bytes(f, n_in);
    const size_t blk = heed_type_row_size(type, f->block); /* one block of a row */
    for (int64_t b = 0; b < nb; b++)
        f->unpack(group + quants_at(f, b), group + side_at(f, b), (int)(o % R),
                  (uint8_t *)row + (size_t)b * blk);
}

/* ------------------------------------------------- the scalar reference */

/* Activations as the 32-block matmul quantises them, plus -off·Σq. */
static void act8(const float *x, int64_t n_in, int64_t n_tokens, int off, heed_packed_act8 *dst)
{
    for (int64_t i = 0; i < n_tokens * (n_in / 32); i++) {
        heed_block_q8_0 blk;
        heed_quantize_act_q8_0(x + i * 32, &blk, 32);
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += blk.qs[j];
        memcpy(dst[i].qs, blk.qs, 32);
        dst[i].d = heed_f16_to_f32(blk.d);
        dst[i].neg_off_sum = -off * sum;
    }
}

static void act_q4_0(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, 8, dst);
}

/* q4_1, q5_1: the offset -1 makes neg_off_sum Σq, their minimum's term. */
static void act_sum(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, -1, dst);
}

static void act_q5_0(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, 16, dst);
}

static void act_q8_0(const float *x, int64_t n_in, int64_t n_tokens, void *dst)
{
    act8(x, n_in, n_tokens, 128, dst);
}

/* Activations as Q8_K (the k-quant matmul's), with the run sums. */
static void act_k(const float *x, int64_t n_in, int64_t n_tokens, void *vdst)
{
    static const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    heed_packed_actk *dst = vdst;
    for (int64_t i = 0; i < n_tokens * (n_in / 256); i++) {
        heed_block_q8_K blk;
        heed_quantize_q8_K(x + i * 256, &blk, 256);
        memcpy(dst[i].qs, blk.qs, 256);
        dst[i].d = blk.d;
        for (int s = 0; s < 8; s++)
            dst[i].sum32[s] = (int16_t)(blk.bsums[2 * order[s]] + blk.bsums[2 * order[s] + 1]);
        for (int s = 0; s < 16; s++)
            dst[i].sum16[s] = blk.bsums[4 * (s / 4) + order[s % 4]];
        for (int s = 0; s < 16; s++)
            dst[i].neg32_sum16[s] = -32 * blk.bsums[s];
    }
}

/* f32 rows rounded to f16 / bf16, kept as f32. */
static void act_f16(const float *x, int64_t n_in, int64_t n_tokens, void *vdst)
{
    float *dst = vdst;
    for (int64_t i = 0; i < n_in * n_tokens; i++)
        dst[i] = heed_f16_to_f32(heed_f32_to_f16(x[i]));
}

static void act_bf16(const float *x, int64_t n_in, int64_t n_tokens, void *vdst)
{
    float *dst = vdst;
    for (int64_t i = 0; i < n_in * n_tokens; i++)
        dst[i] = heed_bf16_to_f32(heed_f32_to_bf16(x[i]));
}

/* The unpacked quant of row r for element e of a block (0..255 for the
 * k-quants, 0..31 otherwise): unsigned, the offset not removed. */
static int quant_at(int type, const uint8_t *q, int r, int e)
{
    switch (type) {
    case HEED_TYPE_Q8_0: return q[64 * (e / 4) + 4 * r + e % 4];
    case HEED_TYPE_Q4_0:
    case HEED_TYPE_Q4_1:
    case HEED_TYPE_Q5_0:
    case HEED_TYPE_Q5_1: {
        const uint8_t byte = q[64 * (e % 16 / 4) + 4 * r + e % 4];
        const bool q5 = type == HEED_TYPE_Q5_0 || type == HEED_TYPE_Q5_1;
        const int high = q5 ? (q[256 + 4 * r + e % 4] >> (e / 4) & 1) << 4 : 0;
        return (e < 16 ? byte & 0x0f : byte >> 4) | high;
    }
    case HEED_TYPE_Q2_K:
    case HEED_TYPE_Q3_K: {
        const int h = e / 128, j = e % 128 / 32, m = e % 32 / 4;
        const int low = q[64 * (8 * h + m) + 4 * r + e % 4] >> (2 * j) & 3;
        const int high =
            type == HEED_TYPE_Q3_K ? (q[64 * (16 + m) + 4 * r + e % 4] >> (4 * h + j) & 1) << 2 : 0;
        return low | high;
    }
    case HEED_TYPE_Q4_K:
    case HEED_TYPE_Q5_K: {
        const int s = e / 32, j = e % 32 / 4;
        const uint8_t byte = q[64 * (8 * (s / 2) + j) + 4 * r + e % 4];
        const int high =
            type == HEED_TYPE_Q5_K ? (q[64 * (32 + j) + 4 * r + e % 4] >> s & 1) << 4 : 0;
        return (s % 2 ? byte >> 4 : byte & 0x0f) | high;
    }
    default: { /* q6_K */
        const int h = e / 128, g = e % 128 / 32, j = e % 32 / 4;
        const uint8_t lo = q[64 * heed_q6_ql_vec(2 * h + g % 2, j) + 4 * r + e % 4];
        const uint8_t hi = q[64 * heed_q6_qh_vec(h, j) + 4 * r + e % 4];
        return (g < 2 ? lo & 0x0f : lo >> 4) | ((hi >> (2 * g)) & 3) << 4;
    }
    }
}

/* Element i of an array of f16 (scales, f16 weights) or bf16 values. */
static float half_at(int type, const uint8_t *p, int i)
{
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return type == HEED_TYPE_BF16 ? heed_bf16_to_f32(h) : heed_f16_to_f32(h);
}

/* One output's sum over its blocks, as the header of this file says. */
static float output_scalar(const pack_format *f, const uint8_t *group, int64_t nb, int r,
                           const void *act)
{
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *q = group + quants_at(f, b), *sd = group + side_at(f, b);
        if (f->type == HEED_TYPE_F16 || f->type == HEED_TYPE_BF16) {
            const float *x = (const float *)act + 32 * b;
            for (int e = 0; e < 32; e++)
                acc = fmaf(half_at(f->type, q, 16 * e + r), x[e], acc);
        } else if (f->block == 32) {
            const heed_packed_act8 *x = (const heed_packed_act8 *)act + b;
            const bool minimum = f->type == HEED_TYPE_Q4_1 || f->type == HEED_TYPE_Q5_1;
            int32_t isum = minimum ? 0 : x->neg_off_sum;
            for (int e = 0; e < 32; e++)
                isum += quant_at(f->type, q, r, e) * x->qs[e];
            acc = fmaf(half_at(HEED_TYPE_F16, sd, r) * x->d, (float)isum, acc);
            if (minimum)
                acc = fmaf(half_at(HEED_TYPE_F16, sd + 32, r) * x->d, (float)x->neg_off_sum, acc);
        } else if (f->type == HEED_TYPE_Q2_K) {
            const heed_packed_actk *x = (const heed_packed_actk *)act + b;
            uint8_t scales[16];
            for (int i = 0; i < 4; i++)
                lane_get(sd, i, r, scales + 4 * i);
            static const int order[4] = {0, 2, 1, 3};
            int32_t tot = 0, mins = 0;
            for (int s = 0; s < 16; s++) {
                int32_t isum = 0;
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    isum += quant_at(f->type, q, r, e) * x->qs[e];
                tot += (scales[s] & 0x0f) * isum;
                mins += (scales[4 * (s / 4) + order[s % 4]] >> 4) * x->sum16[s];
            }
            acc = fmaf(half_at(HEED_TYPE_F16, sd + 256, r) * x->d, (float)tot, acc);
            acc = fmaf(half_at(HEED_TYPE_F16, sd + 288, r) * x->d, (float)-mins, acc);
        } else if (f->type == HEED_TYPE_Q3_K) {
            const heed_packed_actk *x = (const heed_packed_actk *)act + b;
            int32_t tot = 0;
            for (int s = 0; s < 16; s++) {
                int32_t isum = x->neg32_sum16[s] / 8;
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    isum += quant_at(f->type, q, r, e) * x->qs[e];
                tot += (int8_t)sd[16 * s + r] * isum;
            }
            acc = fmaf(half_at(HEED_TYPE_F16, sd + 256, r) * x->d, (float)tot, acc);
        } else if (f->type == HEED_TYPE_Q4_K || f->type == HEED_TYPE_Q5_K) {
            const heed_packed_actk *x = (const heed_packed_actk *)act + b;
            uint8_t scales[12], sc[8], mn[8];
            for (int i = 0; i < 3; i++)
                lane_get(sd, i, r, scales + 4 * i);
            for (int s = 0; s < 8; s++)
                heed_k_scale_min(s, scales, &sc[s], &mn[s]);
            static const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7};
            int32_t tot = 0, mins = 0;
            for (int s = 0; s < 8; s++) {
                int32_t isum = 0;
                for (int e = 32 * s; e < 32 * s + 32; e++)
                    isum += quant_at(f->type, q, r, e) * x->qs[e];
                tot += sc[s] * isum;
                mins += mn[order[s]] * x->sum32[s];
            }
            acc = fmaf(half_at(HEED_TYPE_F16, sd + 192, r) * x->d, (float)tot, acc);
            acc = fmaf(half_at(HEED_TYPE_F16, sd + 224, r) * x->d, (float)-mins, acc);
        } else { /* q6_K */
            const heed_packed_actk *x = (const heed_packed_actk *)act + b;
            int32_t tot = 0;
            for (int s = 0; s < 16; s++) {
                int32_t isum = x->neg32_sum16[s];
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    isum += quant_at(f->type, q, r, e) * x->qs[e];
                tot += (int8_t)sd[16 * s + r] * isum;
            }
            acc = fmaf(half_at(HEED_TYPE_F16, sd + 256, r) * x->d, (float)tot, acc);
        }
    }
    return acc;
}

static void rows_scalar(int type, const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                        const void *a, int64_t n_tokens, float *y, int64_t n_out)
{
    const pack_format *f = format_of(type);
    const int64_t nb = n_in / f->block;
    for (int64_t g = g_begin; g < g_end; g++) {
        const uint8_t *quants = (const uint8_t *)P + (size_t)g * group_bytes(f, n_in);
        for (int64_t t = 0; t < n_tokens; t++)
            for (int r = 0; r < R; r++)
                y[t * n_out + g * R + r] = output_scalar(
                    f, quants, nb, r, (const uint8_t *)a + (size_t)(t * nb * f->act_block));
    }
}

#define ROWS_SCALAR(T, TYPE)                                                                   \
    static void rows_##T##_scalar(const void *P, int64_t n_in, int64_t g0, int64_t g1,       \
                                  const void *a, int64_t n_tok, float *y, int64_t n_out)       \
    {                                                                                          \
        rows_scalar(TYPE, P, n_in, g0, g1, a, n_tok, y, n_out);                                \
    }
ROWS_SCALAR(q4_0, HEED_TYPE_Q4_0)
ROWS_SCALAR(q4_1, HEED_TYPE_Q4_1)
ROWS_SCALAR(q5_0, HEED_TYPE_Q5_0)
ROWS_SCALAR(q5_1, HEED_TYPE_Q5_1)
ROWS_SCALAR(q8_0, HEED_TYPE_Q8_0)
ROWS_SCALAR(q2_K, HEED_TYPE_Q2_K)
ROWS_SCALAR(q3_K, HEED_TYPE_Q3_K)
ROWS_SCALAR(q4_K, HEED_TYPE_Q4_K)
ROWS_SCALAR(q5_K, HEED_TYPE_Q5_K)
ROWS_SCALAR(q6_K, HEED_TYPE_Q6_K)
ROWS_SCALAR(f16, HEED_TYPE_F16)
ROWS_SCALAR(bf16, HEED_TYPE_BF16)

const heed_packed_kernels *heed_packed_reference(int type)
{
    static const heed_packed_kernels scalar[] = { /* in the order of formats[] */
        {act_q4_0, rows_q4_0_scalar}, {act_sum, rows_q4_1_scalar},
        {act_q5_0, rows_q5_0_scalar}, {act_sum, rows_q5_1_scalar},
        {act_q8_0, rows_q8_0_scalar},
        {act_k, rows_q2_K_scalar},    {act_k, rows_q3_K_scalar},
        {act_k, rows_q4_K_scalar},    {act_k, rows_q5_K_scalar},
        {act_k, rows_q6_K_scalar},
        {act_f16, rows_f16_scalar},   {act_bf16, rows_bf16_scalar},
    };
    _Static_assert(sizeof scalar / sizeof *scalar == sizeof formats / sizeof *formats,
                   "a reference per packed format");
    const pack_format *f = format_of(type);
    return f ? &scalar[f - formats] : NULL;
}

bool heed_packed_wanted(int type, int64_t n_in, int64_t n_out)
{
    return heed_packed_size(type, n_in, n_out) != 0 && heed_kernels_get(type)->packed != NULL;
}
