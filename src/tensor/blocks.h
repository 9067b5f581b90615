/*
 * blocks.h — the on-disk block layouts of ggml's quantised types.
 *
 * A quantised row is an array of blocks; each block stores `HEED_QK*`
 * weights as small integers plus one or more scales. The layouts are
 * byte-for-byte those of GGUF files (ggml-common.h at llama.cpp c392e50):
 * fields in this order, no padding, little endian. 16-bit scales are IEEE
 * half floats kept as raw bits (convert with heed_f16_to_f32).
 *
 * Invariants kept here: every struct's size is checked against the sum of
 * its fields, so the compiler can never pad them; all members have
 * alignment <= 4, so a block pointer needs only 2- (4- for q8_K) byte
 * alignment.
 *
 * In the comments, "element i" is the i-th weight of the block and q(i)
 * its stored integer; x(i) is what it dequantises to.
 */
#ifndef HEED_TENSOR_BLOCKS_H
#define HEED_TENSOR_BLOCKS_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "heed reads GGUF blocks in place and needs a little-endian host"
#endif

#define HEED_QK4_0 32
#define HEED_QK4_1 32
#define HEED_QK5_0 32
#define HEED_QK5_1 32
#define HEED_QK8_0 32
#define HEED_QK8_1 32
#define HEED_QK_K 256         /* elements per k-quant super-block         */
#define HEED_K_SCALE_SIZE 12  /* bytes of packed 6-bit scales (q4_K, q5_K) */

/* ------------------------------------------------ legacy: 32 per block */

/* q4_0 (18 bytes): d, then 16 bytes of nibbles. Byte j holds element j in
 * its low nibble and element j+16 in its high nibble.
 * x(i) = (q(i) - 8) * d. */
typedef struct heed_block_q4_0 {
    uint16_t d;                   /* f16 step                             */
    uint8_t qs[HEED_QK4_0 / 2];   /* 4-bit quants                         */
} heed_block_q4_0;
_Static_assert(sizeof(heed_block_q4_0) == 2 + 16, "q4_0 block size");

/* q4_1 (20 bytes): d, m, then nibbles packed as in q4_0.
 * x(i) = q(i) * d + m. */
typedef struct heed_block_q4_1 {
    uint16_t d;                   /* f16 step                             */
    uint16_t m;                   /* f16 minimum                          */
    uint8_t qs[HEED_QK4_1 / 2];
} heed_block_q4_1;
_Static_assert(sizeof(heed_block_q4_1) == 4 + 16, "q4_1 block size");

/* q5_0 (22 bytes): d; qh, a little-endian 32-bit word whose bit i is bit 4
 * of q(i); then the low nibbles packed as in q4_0.
 * x(i) = (q(i) - 16) * d. */
typedef struct heed_block_q5_0 {
    uint16_t d;
    uint8_t qh[4];                /* 5th bits, bit i = element i          */
    uint8_t qs[HEED_QK5_0 / 2];   /* low 4 bits                           */
} heed_block_q5_0;
_Static_assert(sizeof(heed_block_q5_0) == 2 + 4 + 16, "q5_0 block size");

/* q5_1 (24 bytes): d, m, then qh and qs as in q5_0.
 * x(i) = q(i) * d + m. */
typedef struct heed_block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[HEED_QK5_1 / 2];
} heed_block_q5_1;
_Static_assert(sizeof(heed_block_q5_1) == 4 + 4 + 16, "q5_1 block size");

/* q8_0 (34 bytes): d, then one signed byte per element.
 * x(i) = qs[i] * d. */
typedef struct heed_block_q8_0 {
    uint16_t d;
    int8_t qs[HEED_QK8_0];
} heed_block_q8_0;
_Static_assert(sizeof(heed_block_q8_0) == 2 + 32, "q8_0 block size");

/* q8_1 (36 bytes): as q8_0 plus s = d * sum(qs) (f16), which dot products
 * with offset types (q4_1, q5_1) use. x(i) = qs[i] * d. */
typedef struct heed_block_q8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[HEED_QK8_1];
} heed_block_q8_1;
_Static_assert(sizeof(heed_block_q8_1) == 4 + 32, "q8_1 block size");

/* -------------------------------------- k-quants: 256 per super-block */

/* q2_K (84 bytes): 16 sub-blocks of 16. scales[s]: low nibble = scale,
 * high nibble = min of sub-block s. qs: 2-bit quants; element i lives in
 * byte 32*(i/128) + i%32 at bit 2*((i%128)/32).
 * x(i) = d * (scales[s] & 15) * q(i) - dmin * (scales[s] >> 4), s = i/16. */
typedef struct heed_block_q2_K {
    uint8_t scales[HEED_QK_K / 16];
    uint8_t qs[HEED_QK_K / 4];
    uint16_t d;                   /* f16 scale of the 4-bit scales        */
    uint16_t dmin;                /* f16 scale of the 4-bit mins          */
} heed_block_q2_K;
_Static_assert(sizeof(heed_block_q2_K) == 16 + 64 + 4, "q2_K block size");

/* q3_K (110 bytes): 16 sub-blocks of 16. q(i) = low 2 bits (packed as in
 * q2_K) + 4 * (bit i/32 of hmask[i%32]), in 0..7. scales: 16 6-bit values;
 * bytes 0..7 hold the low nibbles of scales 0..7 (low) and 8..15 (high);
 * byte 8 + s%4 holds the top 2 bits of scale s at bit 2*(s/4).
 * x(i) = d * (scale[s] - 32) * (q(i) - 4), s = i/16. */
typedef struct heed_block_q3_K {
    uint8_t hmask[HEED_QK_K / 8]; /* high bit of each quant               */
    uint8_t qs[HEED_QK_K / 4];    /* low 2 bits                           */
    uint8_t scales[12];           /* 16 6-bit scales, packed              */
    uint16_t d;
} heed_block_q3_K;
_Static_assert(sizeof(heed_block_q3_K) == 32 + 64 + 12 + 2, "q3_K block size");

/* q4_K (144 bytes): 8 sub-blocks of 32, each with a 6-bit scale sc and a
 * 6-bit min mn packed in `scales` (see heed_k_scale_min in quant_k.c).
 * qs: 32 bytes per 64 elements; element i is the low nibble of byte
 * 32*(i/64) + i%32 if (i%64) < 32, else its high nibble.
 * x(i) = d * sc[s] * q(i) - dmin * mn[s], s = i/32. */
typedef struct heed_block_q4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[HEED_K_SCALE_SIZE];
    uint8_t qs[HEED_QK_K / 2];
} heed_block_q4_K;
_Static_assert(sizeof(heed_block_q4_K) == 4 + 12 + 128, "q4_K block size");

/* q5_K (176 bytes): as q4_K with a fifth bit per quant: bit 4 of q(i) is
 * bit 2*(i/64) + (i%64)/32 of qh[i%32]. x(i) as in q4_K. */
typedef struct heed_block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[HEED_K_SCALE_SIZE];
    uint8_t qh[HEED_QK_K / 8];
    uint8_t qs[HEED_QK_K / 2];
} heed_block_q5_K;
_Static_assert(sizeof(heed_block_q5_K) == 4 + 12 + 32 + 128, "q5_K block size");

/* q6_K (210 bytes): 16 sub-blocks of 16 with signed 8-bit scales. In each
 * half h (128 elements) with r = i%32 and g = (i%128)/32 (0..3): the low
 * 4 bits of q(i) are in ql[64h + r + 32*(g&1)], low nibble for g < 2 and
 * high nibble otherwise; the top 2 bits are in qh[32h + r] at bit 2g.
 * x(i) = d * scales[i/16] * (q(i) - 32). */
typedef struct heed_block_q6_K {
    uint8_t ql[HEED_QK_K / 2];
    uint8_t qh[HEED_QK_K / 4];
    int8_t scales[HEED_QK_K / 16];
    uint16_t d;
} heed_block_q6_K;
_Static_assert(sizeof(heed_block_q6_K) == 128 + 64 + 16 + 2, "q6_K block size");

/* q8_K (292 bytes): the activation type k-quant dot products use; d is an
 * f32, bsums[s] = sum of qs over sub-block s of 16. x(i) = qs[i] * d. */
typedef struct heed_block_q8_K {
    float d;
    int8_t qs[HEED_QK_K];
    int16_t bsums[HEED_QK_K / 16];
} heed_block_q8_K;
_Static_assert(sizeof(heed_block_q8_K) == 4 + 256 + 32, "q8_K block size");

/* iq4_nl: q4_0's layout with a non-linear codebook: element j of a block
 * is d · heed_iq4_nl_values[its nibble] (low nibbles first). */
typedef struct heed_block_iq4_nl {
    uint16_t d;                   /* f16 step                             */
    uint8_t qs[32 / 2];           /* 4-bit codebook indices               */
} heed_block_iq4_nl;
_Static_assert(sizeof(heed_block_iq4_nl) == 2 + 16, "iq4_nl block size");

/* iq4_xs (136 bytes): iq4_nl's codebook in 256-blocks of 8 sub-blocks of
 * 32, each with a 6-bit scale (low 4 bits in scales_l, nibble ib % 2 of
 * byte ib / 2; high 2 bits at bits 2ib of scales_h): element j of
 * sub-block ib is d · (scale - 32) · heed_iq4_nl_values[its nibble], its
 * 16 bytes of qs holding elements 0..15 in the low nibbles, 16..31 in the
 * high. */
typedef struct heed_block_iq4_xs {
    uint16_t d;                   /* f16 super-block step                 */
    uint16_t scales_h;
    uint8_t scales_l[256 / 64];
    uint8_t qs[256 / 2];
} heed_block_iq4_xs;
_Static_assert(sizeof(heed_block_iq4_xs) == 2 + 2 + 4 + 128, "iq4_xs block size");

/* Sub-block ib's scale of an iq4_xs block, minus 32. */
static inline int heed_iq4_xs_scale(const heed_block_iq4_xs *b, int ib)
{
    return (((b->scales_l[ib / 2] >> 4 * (ib % 2)) & 0x0f) | ((b->scales_h >> 2 * ib) & 3) << 4) -
           32;
}

/* The codebook of iq4_nl (and iq4_xs): ggml's kvalues_iq4nl. */
static const int8_t heed_iq4_nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                              1,    13,   25,  38,  53,  69,  89,  113};

/* mxfp4 (17 bytes, OCP microscaling FP4): 32 elements, each an e2m1 value
 * (heed_mxfp4_values: doubled, so integers) times 2^(e - 127) / 2 (e an
 * E8M0 exponent); low nibbles first. */
typedef struct heed_block_mxfp4 {
    uint8_t e;                    /* E8M0 shared exponent                 */
    uint8_t qs[32 / 2];
} heed_block_mxfp4;
_Static_assert(sizeof(heed_block_mxfp4) == 1 + 16, "mxfp4 block size");

/* e2m1's values, doubled: ggml's kvalues_mxfp4. */
static const int8_t heed_mxfp4_values[16] = {0, 1, 2, 3, 4, 6, 8, 12,
                                             0, -1, -2, -3, -4, -6, -8, -12};

/* An mxfp4 block's step, 2^(e - 127) / 2, exactly (as ggml's
 * GGML_E8M0_TO_FP32_HALF: e 0 and 1 are the subnormals 2^-128, 2^-127). */
static inline float heed_mxfp4_step(uint8_t e)
{
    const uint32_t bits = e >= 2 ? (uint32_t)(e - 1) << 23 : 0x00200000u << e;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* The codebook types (iq4_nl, iq4_xs, mxfp4) hold runs of 32 elements as
 * 16 bytes of 4-bit indices into an int8 book: element j < 16 in byte j's
 * low nibble, element 16 + j in its high one. A run's integer dot with 32
 * int8 activations, and its values at step d. */
static inline int32_t heed_codebook_dot32(const int8_t book[16], const uint8_t *qs,
                                          const int8_t *x)
{
    int32_t sum = 0;
    for (int j = 0; j < 16; j++)
        sum += book[qs[j] & 0x0f] * x[j] + book[qs[j] >> 4] * x[j + 16];
    return sum;
}
static inline void heed_codebook_values32(const int8_t book[16], const uint8_t *qs, float d,
                                          float *dst)
{
    for (int j = 0; j < 16; j++) {
        dst[j] = d * book[qs[j] & 0x0f];
        dst[j + 16] = d * book[qs[j] >> 4];
    }
}

/* ------------------------- grid ("i-quant") and ternary: 256 per block
 * Their elements are signed points of fixed lattice codebooks (iq_grids.c)
 * or trits; tensor/iq.h decodes every one of them to one shape, and says
 * what the fields mean. Field order and sizes are ggml's. */
#define HEED_QK4_NL 32

typedef struct heed_block_iq2_xxs {
    uint16_t d;
    uint8_t qs[64]; /* per 32 elements: 4 grid bytes, then a u32 of 4×7 sign bits and a 4-bit scale */
} heed_block_iq2_xxs;
_Static_assert(sizeof(heed_block_iq2_xxs) == 66, "iq2_xxs block size");

typedef struct heed_block_iq2_xs {
    uint16_t d;
    uint16_t qs[32];    /* 9-bit grid index, 7 sign bits above it          */
    uint8_t scales[8];  /* two 4-bit scales per 32 elements              */
} heed_block_iq2_xs;
_Static_assert(sizeof(heed_block_iq2_xs) == 74, "iq2_xs block size");

typedef struct heed_block_iq2_s {
    uint16_t d;
    uint8_t qs[32];     /* grid index, low 8 bits                         */
    uint8_t signs[32];  /* 8 sign bits per 8 elements                     */
    uint8_t qh[8];      /* grid index bits 8-9, four per byte             */
    uint8_t scales[8];
} heed_block_iq2_s;
_Static_assert(sizeof(heed_block_iq2_s) == 82, "iq2_s block size");

typedef struct heed_block_iq3_xxs {
    uint16_t d;
    uint8_t qs[64];     /* grid index per 4 elements                      */
    uint8_t sas[32];    /* per 32 elements a u32: 4×7 sign bits, 4-bit scale */
} heed_block_iq3_xxs;
_Static_assert(sizeof(heed_block_iq3_xxs) == 98, "iq3_xxs block size");

typedef struct heed_block_iq3_s {
    uint16_t d;
    uint8_t qs[64];     /* grid index per 4 elements, low 8 bits          */
    uint8_t qh[8];      /* its bit 8, one byte per 32 elements            */
    uint8_t signs[32];
    uint8_t scales[4];  /* 4-bit, one per 32 elements                     */
} heed_block_iq3_s;
_Static_assert(sizeof(heed_block_iq3_s) == 110, "iq3_s block size");

typedef struct heed_block_iq1_s {
    uint16_t d;
    uint8_t qs[32];     /* grid index per 8 elements, low 8 bits          */
    uint16_t qh[8];     /* per 32: 4×3 index bits, 3-bit scale, delta sign */
} heed_block_iq1_s;
_Static_assert(sizeof(heed_block_iq1_s) == 50, "iq1_s block size");

typedef struct heed_block_iq1_m {
    uint8_t qs[32];
    uint8_t qh[16];     /* per 8 elements: 3 index bits and a delta sign  */
    uint8_t scales[8];  /* 3-bit scales per 16, and the f16 step's nibbles */
} heed_block_iq1_m;
_Static_assert(sizeof(heed_block_iq1_m) == 56, "iq1_m block size");

typedef struct heed_block_tq1_0 {
    uint8_t qs[48];     /* 5 trits per byte, base 3, scaled to 0..255     */
    uint8_t qh[4];      /* 4 trits per byte                               */
    uint16_t d;
} heed_block_tq1_0;
_Static_assert(sizeof(heed_block_tq1_0) == 54, "tq1_0 block size");

typedef struct heed_block_tq2_0 {
    uint8_t qs[64];     /* 2-bit codes 0..2 (value code - 1)              */
    uint16_t d;
} heed_block_tq2_0;
_Static_assert(sizeof(heed_block_tq2_0) == 66, "tq2_0 block size");

#endif
