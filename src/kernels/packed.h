/*
 * packed.h — weight matrices repacked at load for matrix × matrix with
 * int8 dot-product instructions (VNNI) or, for f16 / bf16, f32 fmas, and
 * the activations they take.
 *
 * A file's row-major blocks make a SIMD lane walk along one row, so every
 * block ends in a horizontal sum and a scalar scale. Packed, 16 rows are
 * interleaved 4 bytes at a time: 32-bit lane r of a 64-byte vector holds
 * four consecutive quants of row r, so one vpdpbusd advances 16 rows by 4
 * elements against 4 activation bytes broadcast to every lane, and the 16
 * rows' block scales are one vector. Nothing is summed across lanes.
 *
 * Layout of a packed matrix: n_out / 16 groups of 16 rows, back to back,
 * each of nb = n_in / block blocks, in units of U blocks (U = 2 for the
 * 32-blocks, else 1) so that one stream of memory holds everything:
 *
 *   unit    quants [U][QB]   U blocks of all 16 rows, QB / 64 vectors each
 *           side   [U][SB]   their scales (and mins: see packed.c)
 *           padding to a multiple of 64 bytes
 *
 * (the last unit of a group may hold fewer blocks; its room is zero).
 * QB is a multiple of 64, so quant vectors are 64-byte aligned when the
 * matrix is. Quants are stored unsigned, as vpdpbusd's first operand must
 * be, with the type's offset (q4_0: 8, q5_0: 16, q8_0: 128, q3_K: 4, q6_K: 32) taken back as
 * an exact integer per block: Σ (q - off)·x = Σ q·x - off·Σx, off·Σx
 * prepared with the activations.
 *
 * Activations are quantised as the row-major matmul's partner type
 * (matmul.h: Q8_0 for the 32-blocks, Q8_K for the k-quants; the same q
 * and d), with their block sums, into heed_packed_act8 / heed_packed_actk.
 * f16 / bf16 (blocks of 32 elements, 16 rows of an element side by side,
 * no side) take f32 rows rounded to the weight type, as the row-major
 * matmul's f16 / bf16 partner holds them.
 *
 * Every output element is a fixed sequence of exact integer block sums
 * and float operations per block (packed.c says which); the scalar
 * reference performs it with fmaf, so every variant gives the same bits
 * for any tile shape, thread split or batch size. Against the row-major
 * dot products it differs only in float rounding order.
 */
#ifndef HEED_KERNELS_PACKED_H
#define HEED_KERNELS_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HEED_PACK_ROWS = 16 };

/* One 32-block of activations (q4_0, q4_1, q5_0, q5_1, q8_0): the quants,
 * the f16-rounded scale as a float, and -off·Σq for the weight type's
 * offset (q4_1, q5_1: off -1, so Σq, for their minimum's term). */
typedef struct heed_packed_act8 {
    int8_t qs[32];
    float d;
    int32_t neg_off_sum;
} heed_packed_act8;
_Static_assert(sizeof(heed_packed_act8) == 40, "packed activation block size");

/* One 256-block of activations (k-quants): Q8_K's quants and scale;
 * sum32, the sums of the runs of 32 in the order q4_K's minimum term
 * pairs them (0 2 1 3 4 6 5 7); sum16, the sums of the runs of 16 in
 * the order q2_K's pairs them (0 2 1 3, 4 6 5 7, 8 10 9 11, 12 14 13 15);
 * and -32 × the sums of the runs of 16 (q6_K's offset; q3_K's is an
 * eighth of it). */
typedef struct heed_packed_actk {
    int8_t qs[256];
    float d;
    int16_t sum32[8];
    int16_t sum16[16];
    int32_t neg32_sum16[16];
} heed_packed_actk;
_Static_assert(sizeof(heed_packed_actk) == 372, "packed k activation block size");

/* The kernels of one packed type on one ISA.
 *  act:  quantises n_tokens rows x[t*n_in ..] (f32) into dst: rows of nb
 *        activation blocks of the type's kind
 *  rows: y[t*n_out + 16g + r] for groups g in [g_begin, g_end), r < 16,
 *        t < n_tokens, from packed weights P and activations a */
typedef struct heed_packed_kernels {
    void (*act)(const float *x, int64_t n_in, int64_t n_tokens, void *dst);
    void (*rows)(const void *P, int64_t n_in, int64_t g_begin, int64_t g_end, const void *a,
                 int64_t n_tokens, float *y, int64_t n_out);
} heed_packed_kernels;

/* Offsets in a group of block b's quants and side, for a format of U
 * blocks per unit with QB quant and SB side bytes per block. */
static inline int64_t heed_pack_unit_bytes(int U, int64_t qb, int64_t sb)
{
    return (U * (qb + sb) + 63) / 64 * 64;
}
static inline int64_t heed_pack_quants_at(int64_t b, int U, int64_t qb, int64_t sb)
{
    return b / U * heed_pack_unit_bytes(U, qb, sb) + b % U * qb;
}
static inline int64_t heed_pack_side_at(int64_t b, int U, int64_t qb, int64_t sb)
{
    return b / U * heed_pack_unit_bytes(U, qb, sb) + U * qb + b % U * sb;
}

/* The vector of a packed q6_K block that holds ql vector j of p (the
 * row's ql[32p+4j..]) and qh vector j of half h (qh[32h+4j..]): the
 * three vectors element group j of half h needs lie side by side
 * (packed.c). */
static inline int heed_q6_ql_vec(int p, int j)
{
    return 24 * (p / 2) + 3 * j + p % 2;
}
static inline int heed_q6_qh_vec(int h, int j)
{
    return 24 * h + 3 * j + 2;
}

/* Whether a weight matrix of type with this shape is packed at load on
 * this CPU: the type has packed kernels for the ISA in use, n_out is a
 * multiple of 16 and n_in of the type's block. */
bool heed_packed_wanted(int type, int64_t n_in, int64_t n_out);

/* Bytes of the packed matrix, or 0 if type/shape cannot be packed. */
size_t heed_packed_size(int type, int64_t n_in, int64_t n_out);

/* Packs groups [g_begin, g_end) of the row-major matrix w (rows of n_in
 * elements of type) into their places in dst (heed_packed_size bytes in
 * all, 64-byte aligned), so threads can pack disjoint group ranges. */
void heed_pack_groups(int type, const void *w, int64_t n_in, int64_t g_begin, int64_t g_end,
                      void *dst);

/* Row o of a packed matrix back in the file's layout (tests; lossless). */
void heed_unpack_row(int type, const void *P, int64_t n_in, int64_t o, void *row);

/* The scalar reference kernels of type's packed layout (tests), or NULL;
 * kernel_table.c lists the fast ones. */
const heed_packed_kernels *heed_packed_reference(int type);

/* Bytes of n_tokens rows of activations for a packed matrix of type with
 * rows of n_in (0 if type is not packed). */
size_t heed_packed_act_size(int type, int64_t n_in, int64_t n_tokens);

#endif
