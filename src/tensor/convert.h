/* convert.h — filling tensors of any type row by row, on several threads;
 * what the quantizer (quantize_file.c) and the model synthesizer
 * (model/synth.c) share. */
#ifndef HEED_TENSOR_CONVERT_H
#define HEED_TENSOR_CONVERT_H

#include <stdint.h>

#include "heed.h"

/* Writes row `row` (ne0 floats) of the source into out. Called from
 * several threads at once, each with its own rows. */
typedef void (*heed_row_source)(const void *ctx, int64_t row, float *out, int64_t ne0);

/* dst (rows × heed_type_row_size(dst_type, ne0) bytes) = the source's rows
 * converted to dst_type; n_threads share the rows. */
heed_status heed_convert_rows(heed_row_source source, const void *ctx, int64_t rows,
                              int64_t ne0, int dst_type, void *dst, int n_threads);

/* llama.cpp's llama_ftype for a file whose matrices all have type t; -1
 * when there is none. */
int heed_file_type_of(int t);

/* The type a matrix with rows of ne0 elements gets when type is asked:
 * type itself when its block size divides ne0, else a 32-element type as
 * llama.cpp falls back to (q4_K→q5_0, q5_K→q5_1, q6_K→q8_0, q2_K, q3_K and
 * iq4_xs→iq4_nl; llama.cpp has none for the others, heed takes q4_0), else
 * f16. */
int heed_type_for_rows(int type, int64_t ne0);

#endif
