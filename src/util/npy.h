/*
 * npy.h — NumPy's .npy format (version 1.0) for float32 arrays, so that
 * what heed exports (captured attention, the residual stream) opens with
 * numpy.load(path) or numpy.load(path, mmap_mode="r"):
 *
 *   "\x93NUMPY" 1 0 <u16 header length> "{'descr': '<f4', 'fortran_order':
 *   False, 'shape': (a, b, ...), }" spaces "\n"  then the data, C order,
 *   little-endian float32, starting at a multiple of 64 bytes.
 */
#ifndef HEED_UTIL_NPY_H
#define HEED_UTIL_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "heed.h"

enum { HEED_NPY_MAX_HEADER = 256 };

/* Writes the header of a float32 array of ndim (1..8) dimensions into buf
 * (HEED_NPY_MAX_HEADER bytes); returns its length, a multiple of 64. */
size_t heed_npy_header(char *buf, const int64_t *shape, int ndim);

/* heed_npy_write, which writes a whole array, is public: heed.h. */

/* A float32 .npy file of the given shape, created (zero-filled, its blocks
 * reserved so that a full disk is an error now, not a crash later) and
 * mapped writable; *data points at its first element. */
typedef struct heed_npy_map {
    void *base;
    size_t size;
    float *data;
} heed_npy_map;

heed_status heed_npy_map_create(const char *path, const int64_t *shape, int ndim,
                                heed_npy_map *out);
void heed_npy_map_close(heed_npy_map *m);

#endif
