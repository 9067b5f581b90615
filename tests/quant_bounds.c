/*
 * quant_bounds.c — per-type error bounds for quantise-then-dequantise.
 *
 * Notation: d is a block's stored step (its f16 value), q an element's
 * level. The quantiser computes levels with the unrounded f32 step d',
 * the dequantiser multiplies by d; |d' - d| <= 2^-11 |d| + 2^-25 (half an
 * f16 ulp, or half the f16 subnormal spacing). So a level k steps from the
 * origin carries an extra error of up to k * (2^-11 |d| + 2^-25). Every
 * bound below gets a factor (1 + 2^-10) for f32 rounding in the
 * arithmetic, which is far smaller.
 *
 *  f32         exact.
 *  f16, bf16   half an ulp: 2^-11 |x| (2^-8 for bf16's 8-bit significand),
 *              or half the subnormal spacing.
 *  q8_0, q8_1  rounding to nearest: half a step, plus 127 levels of the
 *              f16 rounding of d.
 *  q4_0, q5_0  d = max / -8 (-16): level = trunc(x/d + 8.5), so half a step
 *              — except on the far side of the block's extreme, x/d in
 *              (7.5, 8] ((15.5, 16]), clamped to the top level: one step.
 *  q4_1, q5_1  half a step plus 15 (31) levels of d's rounding, plus the
 *              f16 rounding of the minimum m.
 *  k-quants    the final pass gives each element the level nearest to it
 *              on its sub-block's grid {dl * l - ml}, built from the stored
 *              scales: so y must be the grid point nearest x (up to f32
 *              rounding). A sub-block whose quantised scale is 0 keeps the
 *              levels of its fit; only the RMS bound covers it.
 *  iq4_nl      each element takes the codebook entry nearest x/d' (d' the
 *              unrounded step), so y is within the distance from x to the
 *              nearest point of {d * book[k]}, plus twice the 127 levels
 *              of d's f16 rounding (once choosing, once dequantising).
 *  iq4_xs      the same for each run of 32 with its step d * l (l its
 *              6-bit scale - 32), the drift scaled by |l|. A run whose l
 *              rounded to 0 dequantises to 0, 0 from x's nearest grid
 *              point {0}. A step beyond f16's range is stored as inf and
 *              bounds nothing.
 */
#include "quant_bounds.h"

#include "heed.h"
#include "tensor/blocks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F16_REL 0x1p-11
#define F16_ABS 0x1p-25
#define SLACK (1.0 + 0x1p-10)

static double f16(uint16_t h)
{
    return heed_f16_to_f32(h);
}

/* Largest error a step d may add over k levels through its f16 rounding. */
static double drift(double d, int k)
{
    return k * (F16_REL * fabs(d) + F16_ABS);
}

/* Distance from x to the nearest point of the grid {dl * l - ml : lo <= l <= hi}. */
static double grid_distance(double x, double dl, double ml, int lo, int hi)
{
    double best = INFINITY;
    double c = nearbyint((x + ml) / dl);
    for (int k = -1; k <= 1; k++) {
        double l = c + k;
        l = l < lo ? lo : l > hi ? hi : l;
        double dist = fabs(x - (dl * l - ml));
        if (dist < best)
            best = dist;
    }
    return best;
}

/* Distance from x to the nearest point of the codebook grid {step * book[k]}. */
static double codebook_distance(double x, double step)
{
    double best = INFINITY;
    for (int k = 0; k < 16; k++) {
        double dist = fabs(x - step * heed_iq4_nl_values[k]);
        if (dist < best)
            best = dist;
    }
    return best;
}

/* The step and offset of element i's sub-block in a k-quant block, and
 * its level range: y = dl * l - ml. */
static void k_grid(int type, const void *blk, int i, double *dl, double *ml, int *lo, int *hi)
{
    switch (type) {
    case HEED_TYPE_Q2_K: {
        const heed_block_q2_K *b = blk;
        uint8_t sc = b->scales[i / 16];
        *dl = f16(b->d) * (sc & 15);
        *ml = f16(b->dmin) * (sc >> 4);
        *lo = 0;
        *hi = 3;
        break;
    }
    case HEED_TYPE_Q3_K: {
        const heed_block_q3_K *b = blk;
        int s = i / 16;
        int low = (b->scales[s % 8] >> (4 * (s / 8))) & 15;
        int top = (b->scales[8 + s % 4] >> (2 * (s / 4))) & 3;
        *dl = f16(b->d) * ((low | top << 4) - 32);
        *ml = 0;
        *lo = -4;
        *hi = 3;
        break;
    }
    case HEED_TYPE_Q4_K:
    case HEED_TYPE_Q5_K: {
        /* both start with d, dmin, scales[12] */
        const heed_block_q4_K *b = blk;
        int s = i / 32, sc, mn;
        if (s < 4) {
            sc = b->scales[s] & 63;
            mn = b->scales[s + 4] & 63;
        } else {
            sc = (b->scales[s + 4] & 15) | (b->scales[s - 4] >> 6) << 4;
            mn = (b->scales[s + 4] >> 4) | (b->scales[s] >> 6) << 4;
        }
        *dl = f16(b->d) * sc;
        *ml = f16(b->dmin) * mn;
        *lo = 0;
        *hi = type == HEED_TYPE_Q4_K ? 15 : 31;
        break;
    }
    case HEED_TYPE_Q6_K: {
        const heed_block_q6_K *b = blk;
        *dl = f16(b->d) * b->scales[i / 16];
        *ml = 0;
        *lo = -32;
        *hi = 31;
        break;
    }
    default: { /* q8_K */
        const heed_block_q8_K *b = blk;
        *dl = b->d;
        *ml = 0;
        *lo = -128;
        *hi = 127;
        break;
    }
    }
}

/* The bound on |y - x| for element i of a block, or -1 when there is none
 * (a k-quant sub-block with step 0). For k-quants it is the distance to
 * the nearest grid point. */
static double element_bound(int type, const void *blk, int i, double x)
{
    switch (type) {
    case HEED_TYPE_F32:
        return 0.0;
    case HEED_TYPE_F16:
        return F16_REL * fabs(x) + F16_ABS;
    case HEED_TYPE_BF16:
        return 0x1p-8 * fabs(x) + 0x1p-134;
    case HEED_TYPE_Q8_0: {
        double d = f16(((const heed_block_q8_0 *)blk)->d);
        return (0.5 * fabs(d) + drift(d, 127)) * SLACK;
    }
    case HEED_TYPE_Q8_1: {
        double d = f16(((const heed_block_q8_1 *)blk)->d);
        return (0.5 * fabs(d) + drift(d, 127)) * SLACK;
    }
    case HEED_TYPE_Q4_0: {
        double d = f16(((const heed_block_q4_0 *)blk)->d);
        double steps = d != 0 && x / d > 7.49 ? 1.0 : 0.5;
        return (steps * fabs(d) + drift(d, 8)) * SLACK;
    }
    case HEED_TYPE_Q5_0: {
        double d = f16(((const heed_block_q5_0 *)blk)->d);
        double steps = d != 0 && x / d > 15.49 ? 1.0 : 0.5;
        return (steps * fabs(d) + drift(d, 16)) * SLACK;
    }
    case HEED_TYPE_Q4_1: {
        const heed_block_q4_1 *b = blk;
        double d = f16(b->d), m = f16(b->m);
        return (0.5 * d + drift(d, 15) + drift(m, 1)) * SLACK;
    }
    case HEED_TYPE_Q5_1: {
        const heed_block_q5_1 *b = blk;
        double d = f16(b->d), m = f16(b->m);
        return (0.5 * d + drift(d, 31) + drift(m, 1)) * SLACK;
    }
    case HEED_TYPE_IQ4_NL: {
        double d = f16(((const heed_block_iq4_nl *)blk)->d);
        return (codebook_distance(x, d) + drift(d, 2 * 127)) * SLACK + 0x1p-20 * fabs(x);
    }
    case HEED_TYPE_IQ4_XS: {
        const heed_block_iq4_xs *b = blk;
        double d = f16(b->d);
        int l = heed_iq4_xs_scale(b, i / 32);
        return (codebook_distance(x, d * l) + drift(d, 2 * 127 * abs(l))) * SLACK +
               0x1p-20 * fabs(x);
    }
    default: {
        double dl, ml;
        int lo, hi;
        k_grid(type, blk, i, &dl, &ml, &lo, &hi);
        if (dl == 0)
            return -1;
        int kmax = hi > -lo ? hi : -lo;
        return grid_distance(x, dl, ml, lo, hi) +
               0x1p-20 * (fabs(x) + fabs(ml) + fabs(dl) * kmax);
    }
    }
}

void qb_check_row(int type, const float *x, const void *q, const float *y, int64_t n,
                  qb_result *r)
{
    const heed_type_traits *tt = heed_type_get(type);
    for (int64_t i = 0; i < n; i++) {
        const void *blk = (const char *)q + (i / tt->block_size) * tt->type_size;
        double err = fabs((double)y[i] - x[i]);
        double bound = element_bound(type, blk, (int)(i % tt->block_size), x[i]);
        r->n++;
        r->sum_err2 += err * err;
        r->sum_x2 += (double)x[i] * x[i];
        if (bound < 0) {
            r->n_unbounded++;
        } else if (!(err <= bound)) {
            if (r->n_bad++ == 0)
                snprintf(r->first_bad, sizeof r->first_bad,
                         "%s element %lld: x=%.9g y=%.9g |y-x|=%.3g > bound %.3g",
                         tt->name, (long long)i, x[i], y[i], err, bound);
        }
    }
}

/*
 * On N(0,1) data a grid of step s gives RMS error about s/sqrt(12). The
 * steps: legacy 32-element blocks span about ±2.1σ, k-quant sub-blocks of
 * 16 (32) about ±1.8σ (±2.1σ), so with L levels s ≈ span/(L-1). The
 * bounds are these estimates with room (the k-quant fits do better than
 * their plain grid; q4_0/q5_0 waste half a level on one side).
 */
double qb_rms_bound(int type)
{
    switch (type) {
    case HEED_TYPE_F32: return 0.0;
    case HEED_TYPE_F16: return 3e-4;    /* 2^-11/sqrt(3) relative          */
    case HEED_TYPE_BF16: return 3e-3;   /* 2^-8/sqrt(3)                    */
    case HEED_TYPE_Q8_0:
    case HEED_TYPE_Q8_1: return 0.01;   /* 4.2/254/sqrt(12) = 0.0048       */
    case HEED_TYPE_Q8_K: return 0.01;   /* ±2.8σ/127 per 256: 0.0064       */
    case HEED_TYPE_Q6_K: return 0.025;  /* 3.6/63/sqrt(12) = 0.016         */
    case HEED_TYPE_Q5_0: return 0.06;   /* 4.2/31/sqrt(12) = 0.039         */
    case HEED_TYPE_Q5_1: return 0.05;   /* 4.2/31/sqrt(12) = 0.039         */
    case HEED_TYPE_Q5_K: return 0.05;   /* 4.2/31/sqrt(12) = 0.039         */
    case HEED_TYPE_Q4_0: return 0.12;   /* 4.2/15/sqrt(12) = 0.081         */
    case HEED_TYPE_Q4_1: return 0.10;   /* 4.2/15/sqrt(12) = 0.081         */
    case HEED_TYPE_Q4_K: return 0.10;   /* 4.2/15/sqrt(12) = 0.081         */
    case HEED_TYPE_IQ4_NL:                /* entries 11..24 steps of about
                                           2.1/120 apart: ~0.2..0.4/sqrt(12),
                                           denser near 0 (observed 0.073)   */
    case HEED_TYPE_IQ4_XS: return 0.10;
    case HEED_TYPE_Q3_K: return 0.22;   /* 3.6/7/sqrt(12) = 0.15           */
    case HEED_TYPE_Q2_K: return 0.45;   /* 3.6/3/sqrt(12) = 0.35           */
    default: return 0.0;
    }
}
