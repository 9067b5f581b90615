/*
 * iq.h — the grid ("i-quant") types iq2_xxs, iq2_xs, iq2_s, iq3_xxs,
 * iq3_s, iq1_s, iq1_m and the ternary tq1_0, tq2_0 as one shape.
 *
 * Every 256-element block of these types decodes to 256 small signed
 * integers v, a positive integer scale per 16 elements and a step d, and
 * its element j is
 *
 *     (d · scale[j / 16] · unit) · v[j]
 *
 * with unit a power of two per type (1/8 for the iq2 grids, whose levels
 * are stored doubled with odd scales 2s + 1; 1/8 for iq1, whose v are 8 ×
 * the grid point ± the 1/8 delta). Because unit is a power of two this
 * rounds exactly as llama.cpp's dequantize_row_* (c392e50) do with their
 * own factorings, so heed_iq_dequantize is bit-identical to them; and the
 * dot product with q8_K,
 *
 *     unit · Σ_blocks (d · d_x) · Σ_g scale[g] · (v · q)_g
 *
 * (integer sums exact, one float multiply-add per block) is llama.cpp's
 * generic ggml_vec_dot_*_q8_K, bit for bit.
 */
#ifndef HEED_TENSOR_IQ_H
#define HEED_TENSOR_IQ_H

#include <stddef.h>
#include <stdint.h>

#include "tensor/blocks.h"

typedef struct heed_iq_block {
    float d;
    uint8_t scale[16]; /* per 16 elements, 1..31 */
    int8_t v[256];
} heed_iq_block;

typedef struct heed_iq_format {
    void (*unpack)(const void *block, heed_iq_block *out);
    size_t block_bytes;
    float unit;
} heed_iq_format;

/* The format of type t, or NULL when t is not one of these types. */
const heed_iq_format *heed_iq_format_of(int t);

/* n elements (a multiple of 256) of a row of f to floats. */
void heed_iq_dequantize(const heed_iq_format *f, const void *src, float *dst, int64_t n);

/* The lattice codebooks (iq_grids.c), each point packed as level indices:
 * 8 × 2 bits into heed_iq2_levels for the iq2 grids, 4 × 3 bits into
 * heed_iq3xxs_levels (iq3_xxs) or odd levels 2k + 1 (iq3_s), 8 × 2 bits
 * for the values -1, 0, 1 of the iq1 grid. Element k of a point is the
 * k-th index from the least significant end. */
extern const uint16_t heed_iq2xxs_grid[256], heed_iq2xs_grid[512], heed_iq2s_grid[1024];
extern const uint16_t heed_iq3xxs_grid[256], heed_iq3s_grid[512], heed_iq1s_grid[2048];
static const uint8_t heed_iq2_levels[3] = {8, 25, 43};
static const uint8_t heed_iq3xxs_levels[8] = {4, 12, 20, 28, 36, 44, 52, 62};

/* Level k (0..7 or 0..3) of a packed grid point. */
static inline int heed_iq_level2(uint16_t point, int k) { return (point >> 2 * k) & 3; }
static inline int heed_iq_level3(uint16_t point, int k) { return (point >> 3 * k) & 7; }

/* 7 stored sign bits and the eighth that makes their count even: these
 * formats keep only sign patterns with an even number of minuses. */
static inline uint8_t heed_iq_signs7(unsigned bits7)
{
    return (uint8_t)(bits7 | (unsigned)(__builtin_popcount(bits7 & 127) & 1) << 7);
}

#endif
