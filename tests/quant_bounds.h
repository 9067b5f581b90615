/* quant_bounds.h — how far a dequantised value may lie from the original,
 * per tensor type; shared by test_types.c and test_quant_fidelity.c. */
#ifndef HEED_TEST_QUANT_BOUNDS_H
#define HEED_TEST_QUANT_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct qb_result {
    int64_t n;            /* elements checked                              */
    int64_t n_bad;        /* elements outside their bound                  */
    int64_t n_unbounded;  /* k-quant elements of a sub-block whose scale
                             rounded to 0: only the RMS bound covers them  */
    double sum_err2;      /* sum of (y - x)^2                              */
    double sum_x2;        /* sum of x^2                                    */
    char first_bad[256];  /* the first failure, described                 */
} qb_result;

/*
 * Checks y = dequantize(q) against the original x, element by element,
 * adding to *r. x, q and y hold one row of n elements (n a multiple of the
 * type's block size); q is what heed (or llama.cpp) quantised x to.
 * The bound for each type is explained in quant_bounds.c.
 */
void qb_check_row(int type, const float *x, const void *q, const float *y, int64_t n,
                  qb_result *r);

/* RMS(y - x) / RMS(x) that a type must beat on Gaussian data. */
double qb_rms_bound(int type);

#endif
