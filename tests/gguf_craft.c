/* gguf_craft.c — hand-made GGUF bytes and the hostile cases (see gguf_craft.h). */
#include "gguf_craft.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ bytes */

void craft_bytes(craft *c, const void *p, size_t n)
{
    if (c->n + n > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->n + n)
            cap *= 2;
        uint8_t *q = realloc(c->p, cap);
        if (!q)
            abort();
        c->p = q;
        c->cap = cap;
    }
    if (n)
        memcpy(c->p + c->n, p, n);
    c->n += n;
}

void craft_u8(craft *c, uint8_t v) { craft_bytes(c, &v, 1); }

void craft_u32(craft *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    craft_bytes(c, b, 4);
}

void craft_u64(craft *c, uint64_t v)
{
    craft_u32(c, (uint32_t)v);
    craft_u32(c, (uint32_t)(v >> 32));
}

void craft_str(craft *c, const char *s)
{
    craft_u64(c, strlen(s));
    craft_bytes(c, s, strlen(s));
}

void craft_header(craft *c, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    craft_bytes(c, "GGUF", 4);
    craft_u32(c, version);
    craft_u64(c, n_tensors);
    craft_u64(c, n_kv);
}

void craft_kv_u32(craft *c, const char *key, uint32_t v)
{
    craft_str(c, key);
    craft_u32(c, HEED_GGUF_UINT32);
    craft_u32(c, v);
}

void craft_kv_str(craft *c, const char *key, const char *v)
{
    craft_str(c, key);
    craft_u32(c, HEED_GGUF_STRING);
    craft_str(c, v);
}

void craft_tensor(craft *c, const char *name, uint32_t n_dims, const int64_t *ne,
                  uint32_t type, uint64_t offset)
{
    craft_str(c, name);
    craft_u32(c, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        craft_u64(c, (uint64_t)ne[d]);
    craft_u32(c, type);
    craft_u64(c, offset);
}

void craft_pad(craft *c, size_t align)
{
    while (c->n % align)
        craft_u8(c, 0);
}

void craft_fill(craft *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        craft_u8(c, (uint8_t)(i * 7 + 1));
}

/* ------------------------------------------------------- valid file */

/* The valid file's pieces, so that cases can change one of them. */
static void valid_kvs(craft *c)
{
    craft_kv_str(c, "general.architecture", "llama");
    craft_kv_u32(c, "general.alignment", 32);
    craft_str(c, "test.list");
    craft_u32(c, HEED_GGUF_ARRAY);
    craft_u32(c, HEED_GGUF_INT32);
    craft_u64(c, 3);
    craft_u32(c, 1), craft_u32(c, (uint32_t)-2), craft_u32(c, 3);
    craft_str(c, "test.flag");
    craft_u32(c, HEED_GGUF_BOOL);
    craft_u8(c, 1);
}

static void valid_tensors(craft *c)
{
    craft_tensor(c, "a", 1, (const int64_t[]){8}, HEED_TYPE_F32, 0);
    craft_tensor(c, "b", 2, (const int64_t[]){4, 2}, HEED_TYPE_F32, 32);
}

static void valid_data(craft *c)
{
    craft_pad(c, 32);
    craft_fill(c, 64);
}

void craft_valid(craft *c)
{
    craft_header(c, 3, 2, 4);
    valid_kvs(c);
    valid_tensors(c);
    valid_data(c);
}

/* The header and the valid kv, declaring n_extra_kv more kv to come. */
static void begin(craft *c, uint64_t n_tensors, uint64_t n_extra_kv)
{
    craft_header(c, 3, n_tensors, 4 + n_extra_kv);
    valid_kvs(c);
}

/* The valid tensors and their data. */
static void end_valid(craft *c)
{
    valid_tensors(c);
    valid_data(c);
}

/* The data section: padding, then n bytes. */
static void end_data(craft *c, size_t n)
{
    craft_pad(c, 32);
    craft_fill(c, n);
}

/* Overwrites 4 or 8 bytes at off of an already built file. */
static void patch_u32(craft *c, size_t off, uint32_t v)
{
    craft t = {0};
    craft_u32(&t, v);
    memcpy(c->p + off, t.p, 4);
    free(t.p);
}

static void patch_u64(craft *c, size_t off, uint64_t v)
{
    craft t = {0};
    craft_u64(&t, v);
    memcpy(c->p + off, t.p, 8);
    free(t.p);
}

/* Offsets into the valid file. */
#define OFF_VERSION 4
#define OFF_N_TENSORS 8
#define OFF_N_KV 16
#define OFF_FIRST_KEY_LEN 24
#define OFF_FIRST_STR_LEN (24 + 8 + 20 + 4) /* general.architecture's value */

/* ------------------------------------------------------ the header */

static void bad_magic(craft *c) { craft_valid(c); memcpy(c->p, "GGML", 4); }
static void version_0(craft *c) { craft_valid(c); patch_u32(c, OFF_VERSION, 0); }
static void version_1(craft *c) { craft_valid(c); patch_u32(c, OFF_VERSION, 1); }
static void version_4(craft *c) { craft_valid(c); patch_u32(c, OFF_VERSION, 4); }

/* An (empty) file written on a big-endian machine: the magic is bytes, the
 * numbers are swapped, as gguf-py's --bigendian writes them. */
static void big_endian(craft *c)
{
    craft_bytes(c, "GGUF", 4);
    craft_bytes(c, (const uint8_t[]){0, 0, 0, 3}, 4);
    craft_u64(c, 0);
    craft_u64(c, 0);
}

static void n_tensors_huge(craft *c) { craft_valid(c); patch_u64(c, OFF_N_TENSORS, 1ull << 40); }
static void n_tensors_negative(craft *c) { craft_valid(c); patch_u64(c, OFF_N_TENSORS, UINT64_MAX); }
static void n_tensors_one_more(craft *c) { craft_valid(c); patch_u64(c, OFF_N_TENSORS, 3); }
static void n_kv_huge(craft *c) { craft_valid(c); patch_u64(c, OFF_N_KV, 1ull << 40); }
static void n_kv_negative(craft *c) { craft_valid(c); patch_u64(c, OFF_N_KV, UINT64_MAX); }
static void n_kv_one_more(craft *c) { craft_valid(c); patch_u64(c, OFF_N_KV, 5); }

/* ----------------------------------------------------------- the kv */

static void key_len_huge(craft *c) { craft_valid(c); patch_u64(c, OFF_FIRST_KEY_LEN, 1ull << 62); }
static void key_len_past_end(craft *c) { craft_valid(c); patch_u64(c, OFF_FIRST_KEY_LEN, c->n); }
static void str_len_huge(craft *c) { craft_valid(c); patch_u64(c, OFF_FIRST_STR_LEN, UINT64_MAX); }
static void str_len_past_end(craft *c) { craft_valid(c); patch_u64(c, OFF_FIRST_STR_LEN, c->n); }

static void key_empty(craft *c) { begin(c, 2, 1); craft_kv_u32(c, "", 1); end_valid(c); }
static void key_duplicate(craft *c)
{
    begin(c, 2, 1);
    craft_kv_str(c, "general.architecture", "gpt2");
    end_valid(c);
}

/* A kv "test.x" of the given type, then four zero bytes. */
static void kv_of_type(craft *c, uint32_t type)
{
    begin(c, 2, 1);
    craft_str(c, "test.x");
    craft_u32(c, type);
    craft_u32(c, 0);
    end_valid(c);
}
static void value_type_unknown(craft *c) { kv_of_type(c, HEED_GGUF_TYPE_COUNT); }
static void value_type_huge(craft *c) { kv_of_type(c, UINT32_MAX); }

/* The start of a file whose extra kv is the array "test.arr": its element
 * type and count; the elements follow. */
static void begin_arr(craft *c, uint32_t elem, uint64_t n)
{
    begin(c, 2, 1);
    craft_str(c, "test.arr");
    craft_u32(c, HEED_GGUF_ARRAY);
    craft_u32(c, elem);
    craft_u64(c, n);
}

static void array_type_unknown(craft *c)
{
    begin_arr(c, HEED_GGUF_TYPE_COUNT, 1);
    craft_u32(c, 0);
    end_valid(c);
}
static void array_count_huge(craft *c)
{
    begin_arr(c, HEED_GGUF_UINT32, 1ull << 61);
    craft_u32(c, 0);
    end_valid(c);
}
/* count x 8 wraps around 2^64 to 8. */
static void array_bytes_wrap(craft *c)
{
    begin_arr(c, HEED_GGUF_UINT64, (1ull << 61) + 1);
    craft_u64(c, 0);
    end_valid(c);
}
/* Each string takes at least 8 bytes, so this many cannot be in the file:
 * a reader that allocated the count first would ask for 16 TiB. */
static void array_strings_huge(craft *c)
{
    begin_arr(c, HEED_GGUF_STRING, 1ull << 40);
    craft_str(c, "x");
    end_valid(c);
}
static void array_arrays_huge(craft *c)
{
    begin_arr(c, HEED_GGUF_ARRAY, 1ull << 40);
    craft_u32(c, HEED_GGUF_UINT8);
    craft_u64(c, 0);
    end_valid(c);
}
void craft_nested(craft *c, int levels)
{
    begin_arr(c, HEED_GGUF_ARRAY, 1);
    for (int i = 2; i < levels; i++) {
        craft_u32(c, HEED_GGUF_ARRAY);
        craft_u64(c, 1);
    }
    craft_u32(c, HEED_GGUF_UINT8);
    craft_u64(c, 0);
    end_valid(c);
}
/* The reader allows 16 levels. */
static void array_nested_17(craft *c) { craft_nested(c, 17); }
static void array_nested_deep(craft *c) { craft_nested(c, 1000); }

/* A bool byte of 2. The GGUF spec calls anything but 0 and 1 invalid;
 * llama.cpp (c392e50) reads any nonzero byte as true. heed follows the
 * spec: its reader and writer both refuse other values, so a rewrite never
 * silently changes a byte. */
static void bool_2(craft *c)
{
    begin(c, 2, 1);
    craft_str(c, "test.b");
    craft_u32(c, HEED_GGUF_BOOL);
    craft_u8(c, 2);
    end_valid(c);
}
static void bool_array_2(craft *c)
{
    begin_arr(c, HEED_GGUF_BOOL, 2);
    craft_u8(c, 0);
    craft_u8(c, 2);
    end_valid(c);
}

/* A file whose general.alignment (the valid file's second kv) has the
 * given type and value. */
static void with_alignment(craft *c, uint32_t type, uint64_t v)
{
    craft_header(c, 3, 2, 2);
    craft_kv_str(c, "general.architecture", "llama");
    craft_str(c, "general.alignment");
    craft_u32(c, type);
    if (type == HEED_GGUF_STRING)
        craft_str(c, "32");
    else if (type == HEED_GGUF_UINT64)
        craft_u64(c, v);
    else
        craft_u32(c, (uint32_t)v);
    end_valid(c);
}
/* Alignment 1 is valid GGUF, but puts this tensor at file offset 90, where
 * heed cannot use f32 data in place. */
static void alignment_1_misaligned(craft *c)
{
    craft_header(c, 3, 1, 1);
    craft_kv_u32(c, "general.alignment", 1);
    craft_tensor(c, "t", 1, (const int64_t[]){1}, HEED_TYPE_F32, 0);
    craft_fill(c, 4);
}
static void alignment_0(craft *c) { with_alignment(c, HEED_GGUF_UINT32, 0); }
static void alignment_48(craft *c) { with_alignment(c, HEED_GGUF_UINT32, 48); }
static void alignment_u64(craft *c) { with_alignment(c, HEED_GGUF_UINT64, 32); }
static void alignment_i32(craft *c) { with_alignment(c, HEED_GGUF_INT32, 32); }
static void alignment_str(craft *c) { with_alignment(c, HEED_GGUF_STRING, 32); }

/* ------------------------------------------------------- the tensors */

static void tensor_duplicate(craft *c)
{
    begin(c, 2, 0);
    craft_tensor(c, "a", 1, (const int64_t[]){8}, HEED_TYPE_F32, 0);
    craft_tensor(c, "a", 1, (const int64_t[]){8}, HEED_TYPE_F32, 32);
    end_data(c, 64);
}

static void tensor_name_long(craft *c)
{
    begin(c, 1, 0);
    craft_tensor(c, "0123456789012345678901234567890123456789012345678901234567890123",
                 1, (const int64_t[]){8}, HEED_TYPE_F32, 0);
    end_data(c, 32);
}

static void tensor_name_len_huge(craft *c)
{
    begin(c, 1, 0);
    craft_u64(c, 1ull << 62);
    craft_bytes(c, "t", 1);
    end_data(c, 32);
}

/* A file with one tensor "t" and n_data bytes of data. */
static void one_tensor(craft *c, uint32_t n_dims, const int64_t *ne, uint32_t type,
                       uint64_t offset, size_t n_data)
{
    begin(c, 1, 0);
    craft_tensor(c, "t", n_dims, ne, type, offset);
    end_data(c, n_data);
}

static void tensor_type_unknown(craft *c) { one_tensor(c, 1, (const int64_t[]){8}, HEED_TYPE_COUNT, 0, 32); }
/* 4 was Q4_2, removed from ggml. */
static void tensor_type_removed(craft *c) { one_tensor(c, 1, (const int64_t[]){32}, 4, 0, 32); }
static void tensor_type_huge(craft *c) { one_tensor(c, 1, (const int64_t[]){8}, 0x80000000u, 0, 32); }
static void n_dims_0(craft *c) { one_tensor(c, 0, NULL, HEED_TYPE_F32, 0, 32); }
static void n_dims_5(craft *c) { one_tensor(c, 5, (const int64_t[]){8, 1, 1, 1, 1}, HEED_TYPE_F32, 0, 32); }
/* ggml's own reader divides by ne[1..3]; heed's writer refuses zero. */
static void ne_zero(craft *c) { one_tensor(c, 2, (const int64_t[]){8, 0}, HEED_TYPE_F32, 0, 32); }
static void ne_negative(craft *c) { one_tensor(c, 2, (const int64_t[]){8, -1}, HEED_TYPE_F32, 0, 32); }
static void ne_overflow(craft *c) { one_tensor(c, 2, (const int64_t[]){1ll << 32, 1ll << 32}, HEED_TYPE_F32, 0, 32); }
static void ne_overflow_4d(craft *c)
{
    one_tensor(c, 4, (const int64_t[]){1 << 16, 1 << 16, 1 << 16, 1 << 16}, HEED_TYPE_I8, 0, 32);
}
/* The element count fits int64, the size in bytes (x4 for f32) does not. */
static void nbytes_overflow(craft *c) { one_tensor(c, 2, (const int64_t[]){1ll << 31, 1ll << 31}, HEED_TYPE_F32, 0, 32); }
/* One row of f32 whose size in bytes wraps around 2^64 to 32. */
static void row_bytes_wrap(craft *c) { one_tensor(c, 1, (const int64_t[]){(1ll << 62) + 8}, HEED_TYPE_F32, 0, 32); }
static void block_misaligned(craft *c) { one_tensor(c, 1, (const int64_t[]){16}, HEED_TYPE_Q8_0, 0, 64); }
static void offset_outside(craft *c) { one_tensor(c, 1, (const int64_t[]){8}, HEED_TYPE_F32, 1ull << 40, 32); }
static void offset_wrap(craft *c) { one_tensor(c, 1, (const int64_t[]){8}, HEED_TYPE_F32, UINT64_MAX - 31, 32); }
static void data_past_end(craft *c) { one_tensor(c, 1, (const int64_t[]){16}, HEED_TYPE_F32, 0, 63); }

static void offset_unaligned(craft *c)
{
    begin(c, 2, 0);
    craft_tensor(c, "a", 1, (const int64_t[]){8}, HEED_TYPE_F32, 0);
    craft_tensor(c, "b", 1, (const int64_t[]){8}, HEED_TYPE_F32, 36);
    end_data(c, 68);
}

static void tensor_overlap(craft *c)
{
    begin(c, 2, 0);
    craft_tensor(c, "a", 1, (const int64_t[]){16}, HEED_TYPE_F32, 0);
    craft_tensor(c, "b", 1, (const int64_t[]){8}, HEED_TYPE_F32, 32);
    end_data(c, 64);
}

/* ------------------------------------------------------- the table */

const craft_case craft_cases[] = {
    {"bad-magic", bad_magic, HEED_ERR_FORMAT, "magic"},
    {"version-0", version_0, HEED_ERR_UNSUPPORTED, "version"},
    {"version-1", version_1, HEED_ERR_UNSUPPORTED, "version"},
    {"version-4", version_4, HEED_ERR_UNSUPPORTED, "version"},
    {"big-endian", big_endian, HEED_ERR_UNSUPPORTED, "endian"},
    {"n-tensors-huge", n_tensors_huge, HEED_ERR_FORMAT, "tensor count"},
    {"n-tensors-negative", n_tensors_negative, HEED_ERR_FORMAT, "tensor count"},
    {"n-tensors-one-more", n_tensors_one_more, HEED_ERR_FORMAT, NULL},
    {"n-kv-huge", n_kv_huge, HEED_ERR_FORMAT, "metadata count"},
    {"n-kv-negative", n_kv_negative, HEED_ERR_FORMAT, "metadata count"},
    {"n-kv-one-more", n_kv_one_more, HEED_ERR_FORMAT, NULL},
    {"key-len-huge", key_len_huge, HEED_ERR_FORMAT, "offset 24"},
    {"key-len-past-end", key_len_past_end, HEED_ERR_FORMAT, "offset 24"},
    {"str-len-huge", str_len_huge, HEED_ERR_FORMAT, "general.architecture"},
    {"str-len-past-end", str_len_past_end, HEED_ERR_FORMAT, "general.architecture"},
    {"key-empty", key_empty, HEED_ERR_FORMAT, "key"},
    {"key-duplicate", key_duplicate, HEED_ERR_FORMAT, "general.architecture"},
    {"value-type-unknown", value_type_unknown, HEED_ERR_FORMAT, "test.x"},
    {"value-type-huge", value_type_huge, HEED_ERR_FORMAT, "test.x"},
    {"array-type-unknown", array_type_unknown, HEED_ERR_FORMAT, "test.arr"},
    {"array-count-huge", array_count_huge, HEED_ERR_FORMAT, "test.arr"},
    {"array-bytes-wrap", array_bytes_wrap, HEED_ERR_FORMAT, "test.arr"},
    {"array-strings-huge", array_strings_huge, HEED_ERR_FORMAT, "test.arr"},
    {"array-arrays-huge", array_arrays_huge, HEED_ERR_FORMAT, "test.arr"},
    {"array-nested-17", array_nested_17, HEED_ERR_FORMAT, "nested deeper"},
    {"array-nested-deep", array_nested_deep, HEED_ERR_FORMAT, "nested deeper"},
    {"bool-2", bool_2, HEED_ERR_FORMAT, "test.b"},
    {"bool-array-2", bool_array_2, HEED_ERR_FORMAT, "test.arr"},
    {"alignment-1-misaligned", alignment_1_misaligned, HEED_ERR_UNSUPPORTED, "4-byte aligned"},
    {"alignment-0", alignment_0, HEED_ERR_FORMAT, "general.alignment"},
    {"alignment-48", alignment_48, HEED_ERR_FORMAT, "general.alignment"},
    {"alignment-u64", alignment_u64, HEED_ERR_FORMAT, "general.alignment"},
    {"alignment-i32", alignment_i32, HEED_ERR_FORMAT, "general.alignment"},
    {"alignment-str", alignment_str, HEED_ERR_FORMAT, "general.alignment"},
    {"tensor-duplicate", tensor_duplicate, HEED_ERR_FORMAT, "'a'"},
    {"tensor-name-long", tensor_name_long, HEED_ERR_FORMAT, "name"},
    {"tensor-name-len-huge", tensor_name_len_huge, HEED_ERR_FORMAT, "name"},
    {"tensor-type-unknown", tensor_type_unknown, HEED_ERR_FORMAT, "type"},
    {"tensor-type-removed", tensor_type_removed, HEED_ERR_FORMAT, "type"},
    {"tensor-type-huge", tensor_type_huge, HEED_ERR_FORMAT, "type"},
    {"n-dims-0", n_dims_0, HEED_ERR_FORMAT, "dim"},
    {"n-dims-5", n_dims_5, HEED_ERR_FORMAT, "dim"},
    {"ne-zero", ne_zero, HEED_ERR_FORMAT, "'t'"},
    {"ne-negative", ne_negative, HEED_ERR_FORMAT, "'t'"},
    {"ne-overflow", ne_overflow, HEED_ERR_FORMAT, "'t'"},
    {"ne-overflow-4d", ne_overflow_4d, HEED_ERR_FORMAT, "'t'"},
    {"nbytes-overflow", nbytes_overflow, HEED_ERR_FORMAT, "'t'"},
    {"row-bytes-wrap", row_bytes_wrap, HEED_ERR_FORMAT, "'t'"},
    {"block-misaligned", block_misaligned, HEED_ERR_FORMAT, "block"},
    {"offset-outside", offset_outside, HEED_ERR_FORMAT, "'t'"},
    {"offset-wrap", offset_wrap, HEED_ERR_FORMAT, "'t'"},
    {"data-past-end", data_past_end, HEED_ERR_FORMAT, "'t'"},
    {"offset-unaligned", offset_unaligned, HEED_ERR_FORMAT, "'b'"},
    {"tensor-overlap", tensor_overlap, HEED_ERR_FORMAT, "'b'"},
};

const size_t craft_n_cases = sizeof craft_cases / sizeof craft_cases[0];
