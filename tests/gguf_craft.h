/*
 * gguf_craft.h — GGUF bytes made by hand, for the hostile-input tests and
 * the regression corpus (tests/corpus/make_corpus.c). Independent of heed's
 * writer on purpose: a bug there must not hide a bug in the reader. Needs
 * only heed.h (for the enums), not the library or Criterion.
 */
#ifndef HEED_GGUF_CRAFT_H
#define HEED_GGUF_CRAFT_H

#include "heed.h"

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer. Zero-initialise; free p with free(). Aborts when
 * out of memory (test code only). */
typedef struct craft {
    uint8_t *p;
    size_t n, cap;
} craft;

void craft_bytes(craft *c, const void *p, size_t n);
void craft_u8(craft *c, uint8_t v);
void craft_u32(craft *c, uint32_t v);
void craft_u64(craft *c, uint64_t v);
/* A GGUF string: u64 length, then the bytes of s without the NUL. */
void craft_str(craft *c, const char *s);
/* Magic "GGUF", version, tensor count, kv count. */
void craft_header(craft *c, uint32_t version, uint64_t n_tensors, uint64_t n_kv);
void craft_kv_u32(craft *c, const char *key, uint32_t v);
void craft_kv_str(craft *c, const char *key, const char *v);
/* A tensor info: name, n_dims, ne[0..n_dims-1], type, offset. */
void craft_tensor(craft *c, const char *name, uint32_t n_dims, const int64_t *ne,
                  uint32_t type, uint64_t offset);
/* Zeros up to a multiple of align. */
void craft_pad(craft *c, size_t align);
/* n bytes of a recognisable pattern, as tensor data. */
void craft_fill(craft *c, size_t n);

/* The small valid file every hostile case is a variation of: v3, four kv
 * (string, uint32 alignment 32, int32 array, bool), tensors "a" f32 [8] at
 * 0 and "b" f32 [4,2] at 32. The data ends exactly at the end of the file,
 * so every shorter prefix is truncated. */
void craft_valid(craft *c);

/* The valid file plus a kv "test.arr": arrays of arrays `levels` deep, the
 * innermost an empty uint8 array. */
void craft_nested(craft *c, int levels);

/* A malformed file and what opening it must give. */
typedef struct craft_case {
    const char *name;         /* also the corpus file name (without .gguf) */
    void (*build)(craft *c);
    heed_status expect;
    const char *what;         /* the error message must contain this */
} craft_case;

extern const craft_case craft_cases[];
extern const size_t craft_n_cases;

#endif
