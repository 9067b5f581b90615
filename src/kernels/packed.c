/*
 * packed.c — the packed weight layout (packed.h): packing, unpacking, the
 * scalar reference kernels, and the choice of variant.
 *
 * Per type, a block of 16 rows packs into QB bytes of quants (QB / 64
 * vectors) which unpack, in the kernels, into 8 vectors of bytes; vector
 * v pairs with activation quants 4v..4v+3 of the block:
 *   q4_0 (QB 256): vector j < 4 holds bytes qs[4j..4j+3] of each row; its
 *          low nibbles are elements 4j.., its high nibbles 16+4j.., so
 *          unpacked vector v is the low (v < 4) or high (v >= 4) nibbles
 *          of packed vector v % 4.
 *   q8_0 (QB 512): vector j holds qs[4j..4j+3] + 128 of each row.
 */
#include "kernels/packed.h"

#include <math.h>
#include <string.h>

#include "heed.h"
#include "kernels/matmul.h"
#include "tensor/blocks.h"

enum { R = HEED_PACK_ROWS, QK = HEED_PACK_BLOCK };

/* Quant bytes per block of 16 rows, or 0 if type is not packed. */
static int64_t quant_bytes(int type)
{
    return type == HEED_TYPE_Q4_0 ? 256 : type == HEED_TYPE_Q8_0 ? 512 : 0;
}

int heed_packed_offset(int type)
{
    return type == HEED_TYPE_Q4_0 ? 8 : 128;
}

/* Bytes of one group of 16 rows. */
static size_t group_bytes(int type, int64_t n_in)
{
    const int64_t nb = n_in / QK;
    return (size_t)((nb * (quant_bytes(type) + 2 * R) + 63) / 64 * 64);
}

size_t heed_packed_size(int type, int64_t n_in, int64_t n_out)
{
    if (!quant_bytes(type) || n_in <= 0 || n_in % QK || n_out <= 0 || n_out % R)
        return 0;
    return group_bytes(type, n_in) * (size_t)(n_out / R);
}

void heed_pack_groups(int type, const void *w, int64_t n_in, int64_t g_begin, int64_t g_end,
                      void *dst)
{
    const int64_t nb = n_in / QK, qb = quant_bytes(type);
    const size_t row = heed_type_row_size(type, n_in), gb = group_bytes(type, n_in);
    for (int64_t g = g_begin; g < g_end; g++) {
        uint8_t *quants = (uint8_t *)dst + (size_t)g * gb;
        uint16_t *scales = (uint16_t *)(void *)(quants + nb * qb);
        for (int r = 0; r < R; r++) {
            const uint8_t *src = (const uint8_t *)w + (size_t)(g * R + r) * row;
            for (int64_t b = 0; b < nb; b++) {
                uint8_t *q = quants + b * qb + 4 * r;
                if (type == HEED_TYPE_Q4_0) {
                    const heed_block_q4_0 *blk = (const heed_block_q4_0 *)(const void *)src + b;
                    for (int j = 0; j < 4; j++)
                        memcpy(q + 64 * j, blk->qs + 4 * j, 4);
                    scales[b * R + r] = blk->d;
                } else {
                    const heed_block_q8_0 *blk = (const heed_block_q8_0 *)(const void *)src + b;
                    for (int j = 0; j < 8; j++)
                        for (int k = 0; k < 4; k++)
                            q[64 * j + k] = (uint8_t)(blk->qs[4 * j + k] + 128);
                    scales[b * R + r] = blk->d;
                }
            }
        }
        memset(scales + nb * R, 0, gb - (size_t)(nb * qb + nb * 2 * R));
    }
}

void heed_unpack_row(int type, const void *P, int64_t n_in, int64_t o, void *row)
{
    const int64_t nb = n_in / QK, qb = quant_bytes(type);
    const uint8_t *quants = (const uint8_t *)P + (size_t)(o / R) * group_bytes(type, n_in);
    const uint16_t *scales = (const uint16_t *)(const void *)(quants + nb * qb);
    const int r = (int)(o % R);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *q = quants + b * qb + 4 * r;
        if (type == HEED_TYPE_Q4_0) {
            heed_block_q4_0 *blk = (heed_block_q4_0 *)row + b;
            for (int j = 0; j < 4; j++)
                memcpy(blk->qs + 4 * j, q + 64 * j, 4);
            blk->d = scales[b * R + r];
        } else {
            heed_block_q8_0 *blk = (heed_block_q8_0 *)row + b;
            for (int j = 0; j < 8; j++)
                for (int k = 0; k < 4; k++)
                    blk->qs[4 * j + k] = (int8_t)(q[64 * j + k] - 128);
            blk->d = scales[b * R + r];
        }
    }
}

size_t heed_packed_act_size(int64_t n_in, int64_t n_tokens)
{
    return sizeof(heed_packed_act8) * (size_t)(n_in / QK) * (size_t)n_tokens;
}

/* ------------------------------------------------- the scalar reference */

static void act_scalar(const float *x, int64_t n_in, int64_t n_tokens, int off,
                       heed_packed_act8 *dst)
{
    for (int64_t i = 0; i < n_tokens * (n_in / QK); i++) {
        heed_block_q8_0 blk;
        heed_quantize_act_q8_0(x + i * QK, &blk, QK);
        int sum = 0;
        for (int j = 0; j < QK; j++)
            sum += blk.qs[j];
        memcpy(dst[i].qs, blk.qs, QK);
        dst[i].d = heed_f16_to_f32(blk.d);
        dst[i].neg_off_sum = -off * sum;
    }
}

/* The unpacked byte of row r for activation quant 4v + k of block b. */
static int quant_at(int type, const uint8_t *qblock, int r, int v, int k)
{
    if (type == HEED_TYPE_Q8_0)
        return qblock[64 * v + 4 * r + k];
    const uint8_t byte = qblock[64 * (v % 4) + 4 * r + k];
    return v < 4 ? byte & 0x0f : byte >> 4;
}

static void rows_scalar(int type, const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                        const heed_packed_act8 *a, int64_t n_tokens, float *y, int64_t n_out)
{
    const int64_t nb = n_in / QK, qb = quant_bytes(type);
    for (int64_t g = g_begin; g < g_end; g++) {
        const uint8_t *quants = (const uint8_t *)P + (size_t)g * group_bytes(type, n_in);
        const uint16_t *scales = (const uint16_t *)(const void *)(quants + nb * qb);
        for (int64_t t = 0; t < n_tokens; t++)
            for (int r = 0; r < R; r++) {
                float acc = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    const heed_packed_act8 *x = a + t * nb + b;
                    int32_t isum = x->neg_off_sum;
                    for (int v = 0; v < 8; v++)
                        for (int k = 0; k < 4; k++)
                            isum += quant_at(type, quants + b * qb, r, v, k) * x->qs[4 * v + k];
                    const float d = heed_f16_to_f32(scales[b * R + r]) * x->d;
                    acc = fmaf(d, (float)isum, acc);
                }
                y[t * n_out + g * R + r] = acc;
            }
    }
}

static void rows_q4_0_scalar(const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                             const heed_packed_act8 *a, int64_t n_tokens, float *y, int64_t n_out)
{
    rows_scalar(HEED_TYPE_Q4_0, P, n_in, g_begin, g_end, a, n_tokens, y, n_out);
}

static void rows_q8_0_scalar(const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                             const heed_packed_act8 *a, int64_t n_tokens, float *y, int64_t n_out)
{
    rows_scalar(HEED_TYPE_Q8_0, P, n_in, g_begin, g_end, a, n_tokens, y, n_out);
}

/* ------------------------------------------------------------- variants */

const heed_packed_kernels *heed_packed_avx512_get(int type); /* packed_avx512.c */

const heed_packed_kernels *heed_packed_variant(int type, const char *isa)
{
    static const heed_packed_kernels q4_0 = {act_scalar, rows_q4_0_scalar};
    static const heed_packed_kernels q8_0 = {act_scalar, rows_q8_0_scalar};
    if (!quant_bytes(type))
        return NULL;
    if (strcmp(isa, "scalar") == 0)
        return type == HEED_TYPE_Q4_0 ? &q4_0 : &q8_0;
    if (strcmp(isa, "avx512vnni") == 0 && strcmp(heed_cpu_isa(), "avx512") == 0 &&
        heed_cpu_get()->avx512vnni)
        return heed_packed_avx512_get(type);
    return NULL;
}

const heed_packed_kernels *heed_packed_get(int type)
{
    return heed_packed_variant(type, "avx512vnni");
}

bool heed_packed_wanted(int type, int64_t n_in, int64_t n_out)
{
    return heed_packed_size(type, n_in, n_out) != 0 && heed_packed_get(type) != NULL;
}
