/*
 * fp16.c — conversions between f32 and the two 16-bit float formats.
 *
 * f16 (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits.
 * bf16 (bfloat16): the top half of an f32 — 1 sign, 8 exponent, 7 mantissa.
 *
 * Both directions round to nearest, ties to even, and handle subnormals,
 * infinities and NaN, giving exactly what x86's F16C instructions
 * (vcvtps2ph / vcvtph2ps) give for f16 and what ggml's reference
 * conversion gives for bf16. Done with integer operations, so the result
 * never depends on the floating-point environment or the compiler.
 */
#include "heed.h"

#include <string.h>

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Exact: every f16 is an f32. A signalling NaN comes back quiet (the
 * top mantissa bit set), the rest of its payload kept, as F16C does. */
float heed_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;

    if (exp == 0x1f)                 /* inf, NaN */
        return f32_from_bits(sign | 0x7f800000 | mant << 13 | (mant ? 0x400000 : 0));
    if (exp == 0) {                  /* zero, subnormal: mant * 2^-24, exact */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    return f32_from_bits(sign | (exp + 112) << 23 | mant << 13);
}

/* Rounds to nearest even. Values from 65520 up (half-way between the
 * largest f16, 65504, and 2^16) become inf; NaN stays NaN, quiet, with the
 * top 9 bits of its payload. */
uint16_t heed_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffff;

    if (a > 0x7f800000)                              /* NaN */
        return sign | 0x7e00 | (uint16_t)((a >> 13) & 0x3ff);
    if (a >= 0x477ff000)                             /* overflows to inf */
        return sign | 0x7c00;
    if (a >= 0x38800000) {                           /* normal: >= 2^-14 */
        /* rebias the exponent (127 -> 15) and round away 13 mantissa
         * bits; a mantissa carry moves into the exponent correctly */
        uint32_t r = a - (112u << 23);
        r += 0xfff + ((r >> 13) & 1);
        return sign | (uint16_t)(r >> 13);
    }
    /* subnormal result: the value in units of 2^-24, rounded */
    uint32_t e = a >> 23;
    if (e < 102)                                     /* < 2^-25: rounds to 0 */
        return sign;
    uint32_t mant = (a & 0x7fffff) | 0x800000;       /* value = mant * 2^(e-150) */
    uint32_t shift = 126 - e;                        /* 14..24 */
    uint32_t q = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1)))
        q++;
    return sign | (uint16_t)q;
}

float heed_bf16_to_f32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

/* Rounds to nearest even (overflow gives inf); NaN keeps its sign and top
 * payload bits and is made quiet, as ggml does. */
uint16_t heed_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
