/*
 * types.c — the per-type trait table: what every GGUF tensor type id
 * means (name, block size, bytes per block) and which reference
 * (de)quantiser heed has for it.
 *
 * Invariant: the table covers every id below HEED_TYPE_COUNT; ids ggml
 * removed or never used have block_size 0 and are "not a type". Sizes are
 * ggml's, so a GGUF file's tensor sizes can be checked for any type, even
 * ones heed cannot compute with (their to_float/from_float are NULL).
 */
#include "heed.h"
#include "tensor/blocks.h"
#include "tensor/quant.h"

#include <stdint.h>
#include <strings.h>

/* A type heed reads and writes with its reference code (quant.h). */
#define FLOAT(nm, ctype, sfx) \
    { .name = nm, .block_size = 1, .type_size = sizeof(ctype), \
      .to_float = heed_dequantize_##sfx, .from_float = heed_quantize_##sfx }
#define QUANT(nm, qk, sfx) \
    { .name = nm, .block_size = qk, .type_size = sizeof(heed_block_##sfx), \
      .is_quantized = true, \
      .to_float = heed_dequantize_##sfx, .from_float = heed_quantize_##sfx }
/* A type heed only knows the size of. */
#define PLAIN(nm, ctype) { .name = nm, .block_size = 1, .type_size = sizeof(ctype) }
/* A type heed reads and computes with, but does not write. */
#define READ(nm, qk, sfx) \
    { .name = nm, .block_size = qk, .type_size = sizeof(heed_block_##sfx), \
      .is_quantized = true, .to_float = heed_dequantize_##sfx }

static const heed_type_traits type_table[HEED_TYPE_COUNT] = {
    [HEED_TYPE_F32] = FLOAT("f32", float, f32),
    [HEED_TYPE_F16] = FLOAT("f16", uint16_t, f16),
    [HEED_TYPE_BF16] = FLOAT("bf16", uint16_t, bf16),
    [HEED_TYPE_Q4_0] = QUANT("q4_0", HEED_QK4_0, q4_0),
    [HEED_TYPE_Q4_1] = QUANT("q4_1", HEED_QK4_1, q4_1),
    [HEED_TYPE_Q5_0] = QUANT("q5_0", HEED_QK5_0, q5_0),
    [HEED_TYPE_Q5_1] = QUANT("q5_1", HEED_QK5_1, q5_1),
    [HEED_TYPE_Q8_0] = QUANT("q8_0", HEED_QK8_0, q8_0),
    [HEED_TYPE_Q8_1] = QUANT("q8_1", HEED_QK8_1, q8_1),
    [HEED_TYPE_Q2_K] = QUANT("q2_K", HEED_QK_K, q2_K),
    [HEED_TYPE_Q3_K] = QUANT("q3_K", HEED_QK_K, q3_K),
    [HEED_TYPE_Q4_K] = QUANT("q4_K", HEED_QK_K, q4_K),
    [HEED_TYPE_Q5_K] = QUANT("q5_K", HEED_QK_K, q5_K),
    [HEED_TYPE_Q6_K] = QUANT("q6_K", HEED_QK_K, q6_K),
    [HEED_TYPE_Q8_K] = QUANT("q8_K", HEED_QK_K, q8_K),

    [HEED_TYPE_IQ2_XXS] = READ("iq2_xxs", HEED_QK_K, iq2_xxs),
    [HEED_TYPE_IQ2_XS] = READ("iq2_xs", HEED_QK_K, iq2_xs),
    [HEED_TYPE_IQ3_XXS] = READ("iq3_xxs", HEED_QK_K, iq3_xxs),
    [HEED_TYPE_IQ1_S] = READ("iq1_s", HEED_QK_K, iq1_s),
    [HEED_TYPE_IQ4_NL] = QUANT("iq4_nl", HEED_QK4_NL, iq4_nl),
    [HEED_TYPE_IQ3_S] = READ("iq3_s", HEED_QK_K, iq3_s),
    [HEED_TYPE_IQ2_S] = READ("iq2_s", HEED_QK_K, iq2_s),
    [HEED_TYPE_IQ4_XS] = QUANT("iq4_xs", HEED_QK_K, iq4_xs),
    [HEED_TYPE_IQ1_M] = READ("iq1_m", HEED_QK_K, iq1_m),
    [HEED_TYPE_TQ1_0] = READ("tq1_0", HEED_QK_K, tq1_0),
    [HEED_TYPE_TQ2_0] = READ("tq2_0", HEED_QK_K, tq2_0),
    [HEED_TYPE_MXFP4] = READ("mxfp4", 32, mxfp4),
    [HEED_TYPE_I8] = PLAIN("i8", int8_t),
    [HEED_TYPE_I16] = PLAIN("i16", int16_t),
    [HEED_TYPE_I32] = PLAIN("i32", int32_t),
    [HEED_TYPE_I64] = PLAIN("i64", int64_t),
    [HEED_TYPE_F64] = PLAIN("f64", double),
};

const heed_type_traits *heed_type_get(heed_type t)
{
    if (t < 0 || t >= HEED_TYPE_COUNT || type_table[t].block_size == 0)
        return NULL;
    return &type_table[t];
}

const char *heed_type_name(heed_type t)
{
    const heed_type_traits *tt = heed_type_get(t);
    return tt ? tt->name : "unknown";
}

heed_type heed_type_from_name(const char *name)
{
    if (!name)
        return HEED_TYPE_NONE;
    for (int t = 0; t < HEED_TYPE_COUNT; t++)
        if (type_table[t].block_size && strcasecmp(type_table[t].name, name) == 0)
            return (heed_type)t;
    return HEED_TYPE_NONE;
}

/* 0 also when the byte count would not fit a size_t, so callers that
 * validate file sizes with it cannot be fooled by overflow. */
size_t heed_type_row_size(heed_type t, int64_t n)
{
    const heed_type_traits *tt = heed_type_get(t);
    if (!tt || n < 0 || n % tt->block_size != 0)
        return 0;
    uint64_t blocks = (uint64_t)(n / tt->block_size);
    if (blocks > SIZE_MAX / tt->type_size)
        return 0;
    return (size_t)blocks * tt->type_size;
}
