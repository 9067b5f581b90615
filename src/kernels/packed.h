/*
 * packed.h — weight matrices repacked at load for matrix × matrix with
 * int8 dot-product instructions (VNNI), and the activations they take.
 *
 * A file's row-major blocks make a SIMD lane walk along one row, so every
 * block ends in a horizontal sum and a scalar scale. Packed, 16 rows are
 * interleaved 4 bytes at a time: 32-bit lane r of a 64-byte vector holds
 * four consecutive quants of row r, so one vpdpbusd advances 16 rows by 4
 * elements against 4 activation bytes broadcast to every lane, and the 16
 * rows' block scales are one vector. Nothing is summed across lanes.
 *
 * Layout of a packed matrix: n_out / 16 groups of 16 rows, back to back,
 * each HEED_PACK_ROWS rows × n_in elements:
 *
 *   quants  [nb][QB]      block b of all 16 rows: QB / 64 vectors; vector
 *                         j, bytes 4r..4r+3 = row r's quants 4j..4j+3 of
 *                         the block (see each type's packer for which
 *                         elements those are)
 *   scales  [nb][16]      f16 d of block b of rows 0..15
 *   padding to a multiple of 64 bytes
 *
 * with nb = n_in / 32, so quant vectors are 64-byte aligned when the
 * matrix is. Quants are stored unsigned, as vpdpbusd's first operand must
 * be: q4_0 as its nibbles q (weight = q - 8), q8_0 as q + 128 (weight =
 * stored - 128). The offset comes back per block as an exact integer:
 * Σ (q - off)·x = Σ q·x - off·Σ x, with off·Σ x prepared with the
 * activations.
 *
 * Packed activations: n_tokens rows of nb blocks of heed_packed_act8,
 * quantised as the matmul's Q8_0 partner (heed_quantize_act_q8_0: the
 * same q and the same f16-rounded d), with the weight type's offset term.
 *
 * Every output element is, for its row and token, acc = 0 then for each
 * block in order: isum = Σ q·x - off·Σx (exact), acc = fma(dw·dx,
 * (float)isum, acc). The scalar reference computes exactly that (fmaf),
 * so every variant gives the same bits as it, for any tile shape, thread
 * split or batch size. Against the row-major dot products it differs
 * only in float rounding order.
 */
#ifndef HEED_KERNELS_PACKED_H
#define HEED_KERNELS_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HEED_PACK_ROWS = 16, HEED_PACK_BLOCK = 32 };

/* One block of packed activations: 32 quants, the f16-rounded scale as a
 * float, and -off·Σq for the weight type's offset off. */
typedef struct heed_packed_act8 {
    int8_t qs[HEED_PACK_BLOCK];
    float d;
    int32_t neg_off_sum;
} heed_packed_act8;
_Static_assert(sizeof(heed_packed_act8) == 40, "packed activation block size");

/* The kernels of one packed type on one ISA.
 *  act:  packs n_tokens rows x[t*n_in ..] (f32) into dst, rows of nb blocks
 *  rows: y[t*n_out + 16g + r] for groups g in [g_begin, g_end), r < 16,
 *        t < n_tokens, from packed weights P and packed activations a */
typedef struct heed_packed_kernels {
    void (*act)(const float *x, int64_t n_in, int64_t n_tokens, int off, heed_packed_act8 *dst);
    void (*rows)(const void *P, int64_t n_in, int64_t g_begin, int64_t g_end,
                 const heed_packed_act8 *a, int64_t n_tokens, float *y, int64_t n_out);
} heed_packed_kernels;

/* Whether a weight matrix of type with this shape is packed at load on
 * this CPU: the type has packed kernels for the ISA in use, n_out is a
 * multiple of 16 and n_in of 32. */
bool heed_packed_wanted(int type, int64_t n_in, int64_t n_out);

/* Bytes of the packed matrix, or 0 if type/shape cannot be packed. */
size_t heed_packed_size(int type, int64_t n_in, int64_t n_out);

/* Packs groups [g_begin, g_end) of the row-major matrix w (rows of n_in
 * elements of type) into their places in dst (heed_packed_size bytes in
 * all), so threads can pack disjoint group ranges. */
void heed_pack_groups(int type, const void *w, int64_t n_in, int64_t g_begin, int64_t g_end,
                      void *dst);

/* Row o of a packed matrix back in the file's layout (tests; lossless). */
void heed_unpack_row(int type, const void *P, int64_t n_in, int64_t o, void *row);

/* The kernels of type for isa ("scalar": the reference; "avx512vnni"),
 * or NULL when there are none or this CPU lacks the ISA. */
const heed_packed_kernels *heed_packed_variant(int type, const char *isa);

/* The kernels the matmul uses for a packed matrix of type (those of the
 * ISA heed_packed_wanted went by), or NULL. */
const heed_packed_kernels *heed_packed_get(int type);

/* The quant offset of type (8 for q4_0, 128 for q8_0), for act. */
int heed_packed_offset(int type);

/* Bytes of n_tokens packed activation rows of n_in elements. */
size_t heed_packed_act_size(int64_t n_in, int64_t n_tokens);

#endif
