/*
 * matmul.h — y = W x for every weight type, computed the way llama.cpp's
 * CPU backend (c392e50) computes it: the activations are first converted
 * to the weight type's partner ("vec_dot") type, then each output is one
 * dot product of a weight row with a converted activation row.
 *
 *   weight type              activations become        dot product
 *   F32                      F32 (copied)              float products, summed
 *   F16 / BF16               F16 / BF16 (RNE)          exact products, summed
 *   Q4_0 Q5_0 Q8_0           Q8_0 (x86 rounding)       integer per block, scaled
 *   Q4_1 Q5_1                Q8_1 (x86 rounding)       integer + min term
 *   Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K (with bsums)         integer per sub-block, scaled
 *
 * Use: once per matmul, heed_matmul_prepare converts the activations into
 * a buffer of heed_matmul_prepared_size bytes; then any number of threads
 * call heed_matmul_rows on disjoint row ranges, sharing that buffer.
 */
#ifndef HEED_KERNELS_MATMUL_H
#define HEED_KERNELS_MATMUL_H

#include <stddef.h>
#include <stdint.h>

/* The partner type of weight type `type` (HEED_TYPE_Q8_0 for Q4_0, ...),
 * or -1 if heed has no matmul for it. */
int heed_matmul_vec_type(int type);

/* Bytes heed_matmul_prepare needs for n_tokens rows of n_in activations;
 * 0 if `type` has no matmul or n_in is not a multiple of its block size
 * (then the other two functions must not be called). */
size_t heed_matmul_prepared_size(int type, int64_t n_in, int64_t n_tokens);

/* Converts n_tokens activation rows x[t*n_in + i] (f32) to the partner
 * type of `type`, one converted row after the other, into buf (at least
 * heed_matmul_prepared_size bytes, 4-byte aligned). */
void heed_matmul_prepare(int type, const float *x, int64_t n_in, int64_t n_tokens, void *buf);

/*
 * y[t*n_out + o] = sum_i W[o][i] * x[t*n_in + i] for t < n_tokens and
 * o in [o_begin, o_end). W holds the weight matrix's rows of n_in
 * elements of `type` (row o at byte o * heed_type_row_size(type, n_in)),
 * 2-byte aligned; xq is the buffer heed_matmul_prepare filled. Writes
 * only those y elements, so threads can share y. If `type`/n_in has no
 * matmul (prepared_size 0) the rows are set to NaN.
 */
void heed_matmul_rows(int type, const void *W, int64_t n_in, int64_t o_begin, int64_t o_end,
                      const void *xq, int64_t n_tokens, float *y, int64_t n_out);

/*
 * Activation quantisers as llama.cpp's x86 CPU backend runs them (its
 * AVX path of quantize_row_q8_0 / q8_1, used whenever the build has AVX):
 * d = amax/127, q = round-half-even(x * (127/amax)). They differ from the
 * reference file quantisers (heed_quantize_q8_0: x * (1/d), rounded half
 * away from zero) in a few last-bit cases, which decide single Q8 steps.
 * n is a multiple of 32.
 */
void heed_quantize_act_q8_0(const float *x, void *dst, int64_t n);
void heed_quantize_act_q8_1(const float *x, void *dst, int64_t n);

#endif
