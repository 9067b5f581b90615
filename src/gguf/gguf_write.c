/*
 * gguf_write.c — the GGUF v3 writer (the "GGUF write" section of heed.h).
 *
 * Invariants of a heed_gguf_writer:
 *  - kv[] holds the keys in the order they were first set; every value is a
 *    deep copy the writer owns and has already validated, so writing never
 *    fails on a value.
 *  - general.alignment, when present, is a UINT32 power of two >= 4
 *    (checked when it is set).
 *  - tensor[] holds unique names and validated shapes; nbytes is computed
 *    when the tensor is added. The data is borrowed, never copied.
 *
 * The file, in order (all numbers little endian):
 *   "GGUF" u32 version, i64 n_tensors, i64 n_kv
 *   n_kv     x (string key, u32 type, value)
 *   n_tensors x (string name, u32 n_dims, n_dims x i64 ne, u32 type, u64 offset)
 *   zeros up to the alignment     <- the data section starts here
 *   n_tensors x (data, zeros up to the alignment)
 * Every tensor is padded, the last one too, as llama.cpp does, so rewriting a
 * llama.cpp file gives the same layout.
 */
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GGUF_VERSION 3
#define DEFAULT_ALIGNMENT 32
#define ALIGNMENT_KEY "general.alignment"
/* ggml's GGML_MAX_NAME is 64 bytes including the NUL. */
#define MAX_TENSOR_NAME 63
/* Levels of arrays of arrays: the reader's limit (gguf_read.c MAX_DEPTH),
 * so that whatever heed reads it can write, and whatever it writes it can
 * read. Also bounds the recursion. */
#define MAX_ARRAY_DEPTH 16

typedef struct writer_kv {
    char *key;
    heed_gguf_value value; /* owned deep copy */
} writer_kv;

typedef struct writer_tensor {
    char *name;
    int type;
    int n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    const void *data; /* borrowed */
} writer_tensor;

struct heed_gguf_writer {
    writer_kv *kv;
    int64_t n_kv, cap_kv;
    writer_tensor *tensor;
    int64_t n_tensors, cap_tensors;
};

/* ------------------------------------------------------------ values */

static bool is_type(heed_gguf_type t)
{
    return (unsigned)t < HEED_GGUF_TYPE_COUNT;
}

/* Frees what value_copy allocated inside v (not v itself). */
static void value_free(heed_gguf_value *v)
{
    if (v->type == HEED_GGUF_STRING) {
        free((void *)v->v.str.ptr);
    } else if (v->type == HEED_GGUF_ARRAY) {
        if (v->v.arr.type == HEED_GGUF_STRING && v->v.arr.strs) {
            for (uint64_t i = 0; i < v->v.arr.n; i++)
                free((void *)v->v.arr.strs[i].ptr);
        } else if (v->v.arr.type == HEED_GGUF_ARRAY && v->v.arr.items) {
            for (uint64_t i = 0; i < v->v.arr.n; i++)
                value_free((heed_gguf_value *)&v->v.arr.items[i]);
        }
        free((void *)v->v.arr.data);
        free((void *)v->v.arr.strs);
        free((void *)v->v.arr.items);
    }
}

/* n elements of size bytes as a size_t, or 0 with *ok false on overflow. */
static size_t array_bytes(uint64_t n, size_t size, bool *ok)
{
    *ok = size == 0 || n <= SIZE_MAX / size;
    return *ok ? (size_t)n * size : 0;
}

/* Copies a string into dst (NUL-terminated for convenience; the length is
 * what counts). */
static heed_status str_copy(heed_gguf_str *dst, const heed_gguf_str *src, const char *key)
{
    if (src->len > 0 && !src->ptr)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': string of %llu bytes has no data",
                         key, (unsigned long long)src->len);
    if (src->len >= SIZE_MAX)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': string too long", key);
    char *p = malloc((size_t)src->len + 1);
    if (!p)
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: key '%s': out of memory", key);
    if (src->len)
        memcpy(p, src->ptr, (size_t)src->len);
    p[src->len] = '\0';
    dst->ptr = p;
    dst->len = src->len;
    return HEED_OK;
}

/* Checks that an integer scalar fits its type. */
static heed_status scalar_check(const heed_gguf_value *v, const char *key)
{
    uint64_t umax = 0;
    int64_t imin = 0, imax = 0;
    switch (v->type) {
    case HEED_GGUF_UINT8: umax = UINT8_MAX; break;
    case HEED_GGUF_UINT16: umax = UINT16_MAX; break;
    case HEED_GGUF_UINT32: umax = UINT32_MAX; break;
    case HEED_GGUF_INT8: imin = INT8_MIN, imax = INT8_MAX; break;
    case HEED_GGUF_INT16: imin = INT16_MIN, imax = INT16_MAX; break;
    case HEED_GGUF_INT32: imin = INT32_MIN, imax = INT32_MAX; break;
    default: return HEED_OK; /* 64-bit, float, bool, string, array */
    }
    if (umax && v->v.u > umax)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': %llu does not fit in %s",
                         key, (unsigned long long)v->v.u, heed_gguf_type_name(v->type));
    if (imax && (v->v.i < imin || v->v.i > imax))
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': %lld does not fit in %s",
                         key, (long long)v->v.i, heed_gguf_type_name(v->type));
    return HEED_OK;
}

/* Copies the array src (type ARRAY) into dst, which is zeroed. depth is
 * the nesting level of src (1 for a top-level array). */
static heed_status array_copy(heed_gguf_value *dst, const heed_gguf_value *src,
                              const char *key, int depth)
{
    heed_gguf_type et = src->v.arr.type;
    uint64_t n = src->v.arr.n;
    bool ok;
    dst->type = HEED_GGUF_ARRAY;
    dst->v.arr.type = et;
    if (depth > MAX_ARRAY_DEPTH)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': arrays nested deeper than %d",
                         key, MAX_ARRAY_DEPTH);
    if (!is_type(et))
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': array element type %d is not a GGUF type",
                         key, (int)et);

    size_t esize = heed_gguf_type_size(et);
    if (et == HEED_GGUF_STRING)
        esize = sizeof(heed_gguf_str);
    else if (et == HEED_GGUF_ARRAY)
        esize = sizeof(heed_gguf_value);
    size_t bytes = array_bytes(n, esize, &ok);
    if (!ok)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': array of %llu elements is too large",
                         key, (unsigned long long)n);
    const void *src_elems = et == HEED_GGUF_STRING ? (const void *)src->v.arr.strs
                          : et == HEED_GGUF_ARRAY  ? (const void *)src->v.arr.items
                                                   : src->v.arr.data;
    if (n == 0)
        return HEED_OK;
    if (!src_elems)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': array of %llu %s has no data",
                         key, (unsigned long long)n, heed_gguf_type_name(et));
    void *elems = calloc(1, bytes);
    if (!elems)
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: key '%s': out of memory for an array of %llu elements",
                         key, (unsigned long long)n);

    /* Attach first so value_free cleans up whatever was copied so far; n
     * counts only copied elements until the end. */
    if (et == HEED_GGUF_STRING) {
        heed_gguf_str *strs = elems;
        dst->v.arr.strs = strs;
        for (uint64_t i = 0; i < n; i++) {
            heed_status st = str_copy(&strs[i], &src->v.arr.strs[i], key);
            if (st)
                return st;
            dst->v.arr.n = i + 1;
        }
    } else if (et == HEED_GGUF_ARRAY) {
        heed_gguf_value *items = elems;
        dst->v.arr.items = items;
        for (uint64_t i = 0; i < n; i++) {
            if (src->v.arr.items[i].type != HEED_GGUF_ARRAY)
                return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': element %llu of an array of arrays is a %s",
                                 key, (unsigned long long)i, heed_gguf_type_name(src->v.arr.items[i].type));
            heed_status st = array_copy(&items[i], &src->v.arr.items[i], key, depth + 1);
            if (st) {
                value_free(&items[i]);
                return st;
            }
            dst->v.arr.n = i + 1;
        }
    } else {
        dst->v.arr.data = elems;
        memcpy(elems, src_elems, bytes);
        if (et == HEED_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (((const uint8_t *)elems)[i] > 1)
                    return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': bool element %llu is %u, not 0 or 1",
                                     key, (unsigned long long)i, ((const uint8_t *)elems)[i]);
    }
    dst->v.arr.n = n;
    return HEED_OK;
}

/* Deep-copies src into dst after checking it. On failure dst owns nothing. */
static heed_status value_copy(heed_gguf_value *dst, const heed_gguf_value *src,
                              const char *key)
{
    memset(dst, 0, sizeof *dst);
    if (!is_type(src->type))
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': value type %d is not a GGUF type",
                         key, (int)src->type);
    if (src->type == HEED_GGUF_STRING) {
        dst->type = HEED_GGUF_STRING;
        return str_copy(&dst->v.str, &src->v.str, key);
    }
    if (src->type == HEED_GGUF_ARRAY) {
        heed_status st = array_copy(dst, src, key, 1);
        if (st) {
            value_free(dst);
            memset(dst, 0, sizeof *dst);
        }
        return st;
    }
    heed_status st = scalar_check(src, key);
    if (st)
        return st;
    *dst = *src;
    return HEED_OK;
}

/* ---------------------------------------------------------- writer */

heed_status heed_gguf_writer_new(heed_gguf_writer **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "heed_gguf_writer_new: out is NULL");
    *out = calloc(1, sizeof(heed_gguf_writer));
    return *out ? HEED_OK : heed_fail(HEED_ERR_NOMEM, "out of memory for a GGUF writer");
}

void heed_gguf_writer_free(heed_gguf_writer *w)
{
    if (!w)
        return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        value_free(&w->kv[i].value);
    }
    for (int64_t i = 0; i < w->n_tensors; i++)
        free(w->tensor[i].name);
    free(w->kv);
    free(w->tensor);
    free(w);
}

/* Makes room for one more element in *arr (n used of *cap). */
static bool grow(void **arr, int64_t n, int64_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    int64_t ncap = *cap ? *cap * 2 : 16;
    if ((uint64_t)ncap > SIZE_MAX / elem)
        return false;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static int64_t find_kv(const heed_gguf_writer *w, const char *key)
{
    for (int64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0)
            return i;
    return -1;
}

/* general.alignment must be a UINT32 power of two: readers take every
 * tensor offset modulo it. At least 4, because heed's reader uses tensor
 * data in place as floats and blocks, so a smaller one could give a file
 * heed cannot read back. */
static heed_status alignment_check(const heed_gguf_value *v)
{
    if (v->type != HEED_GGUF_UINT32)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '" ALIGNMENT_KEY "' must be a uint32, not a %s",
                         heed_gguf_type_name(v->type));
    if (v->v.u < 4 || v->v.u > UINT32_MAX || (v->v.u & (v->v.u - 1)) != 0)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '" ALIGNMENT_KEY "' is %llu; expected a power "
                         "of two of at least 4", (unsigned long long)v->v.u);
    return HEED_OK;
}

heed_status heed_gguf_writer_set(heed_gguf_writer *w, const char *key,
                                 const heed_gguf_value *value)
{
    if (!w || !key || !value)
        return heed_fail(HEED_ERR_ARG, "gguf writer: set: NULL %s",
                         !w ? "writer" : !key ? "key" : "value");
    if (!key[0])
        return heed_fail(HEED_ERR_ARG, "gguf writer: empty key");
    if (strcmp(key, ALIGNMENT_KEY) == 0) {
        heed_status st = alignment_check(value);
        if (st)
            return st;
    }

    heed_gguf_value copy;
    heed_status st = value_copy(&copy, value, key);
    if (st)
        return st;

    int64_t i = find_kv(w, key);
    if (i >= 0) { /* replace in place, keeping the key's position */
        value_free(&w->kv[i].value);
        w->kv[i].value = copy;
        return HEED_OK;
    }
    char *kcopy = strdup(key);
    if (!kcopy || !grow((void **)&w->kv, w->n_kv, &w->cap_kv, sizeof *w->kv)) {
        free(kcopy);
        value_free(&copy);
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: key '%s': out of memory", key);
    }
    w->kv[w->n_kv++] = (writer_kv){kcopy, copy};
    return HEED_OK;
}

heed_status heed_gguf_writer_set_u32(heed_gguf_writer *w, const char *key, uint32_t v)
{
    heed_gguf_value val = {.type = HEED_GGUF_UINT32, .v.u = v};
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_i32(heed_gguf_writer *w, const char *key, int32_t v)
{
    heed_gguf_value val = {.type = HEED_GGUF_INT32, .v.i = v};
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_u64(heed_gguf_writer *w, const char *key, uint64_t v)
{
    heed_gguf_value val = {.type = HEED_GGUF_UINT64, .v.u = v};
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_f32(heed_gguf_writer *w, const char *key, float v)
{
    heed_gguf_value val = {.type = HEED_GGUF_FLOAT32, .v.f = v};
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_bool(heed_gguf_writer *w, const char *key, bool v)
{
    heed_gguf_value val = {.type = HEED_GGUF_BOOL, .v.b = v};
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_str(heed_gguf_writer *w, const char *key, const char *v)
{
    if (!v)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': NULL string", key ? key : "(null)");
    heed_gguf_value val = {.type = HEED_GGUF_STRING, .v.str = {v, strlen(v)}};
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_arr(heed_gguf_writer *w, const char *key,
                                     heed_gguf_type elem, const void *data, uint64_t n)
{
    if (heed_gguf_type_size(elem) == 0)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': set_arr needs a fixed-size element type, not %s",
                         key ? key : "(null)", is_type(elem) ? heed_gguf_type_name(elem) : "an unknown type");
    heed_gguf_value val = {.type = HEED_GGUF_ARRAY};
    val.v.arr.type = elem;
    val.v.arr.n = n;
    val.v.arr.data = data;
    return heed_gguf_writer_set(w, key, &val);
}

heed_status heed_gguf_writer_set_arr_str(heed_gguf_writer *w, const char *key,
                                         const char *const *strs, uint64_t n)
{
    const char *k = key ? key : "(null)";
    bool ok;
    size_t bytes = array_bytes(n, sizeof(heed_gguf_str), &ok);
    if (!ok)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': array of %llu strings is too large",
                         k, (unsigned long long)n);
    if (n > 0 && !strs)
        return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': array of %llu strings has no data",
                         k, (unsigned long long)n);
    /* A view of the C strings as heed_gguf_str, which set() then copies. */
    heed_gguf_str *view = malloc(bytes ? bytes : 1);
    if (!view)
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: key '%s': out of memory", k);
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i]) {
            free(view);
            return heed_fail(HEED_ERR_ARG, "gguf writer: key '%s': string %llu is NULL",
                             k, (unsigned long long)i);
        }
        view[i] = (heed_gguf_str){strs[i], strlen(strs[i])};
    }
    heed_gguf_value val = {.type = HEED_GGUF_ARRAY};
    val.v.arr.type = HEED_GGUF_STRING;
    val.v.arr.n = n;
    val.v.arr.strs = view;
    heed_status st = heed_gguf_writer_set(w, key, &val);
    free(view);
    return st;
}

void heed_gguf_writer_remove(heed_gguf_writer *w, const char *key)
{
    int64_t i = w && key ? find_kv(w, key) : -1;
    if (i < 0)
        return;
    free(w->kv[i].key);
    value_free(&w->kv[i].value);
    memmove(&w->kv[i], &w->kv[i + 1], (size_t)(w->n_kv - i - 1) * sizeof *w->kv);
    w->n_kv--;
}

/* --------------------------------------------------------- tensors */

static bool has_tensor(const heed_gguf_writer *w, const char *name)
{
    for (int64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensor[i].name, name) == 0)
            return true;
    return false;
}

heed_status heed_gguf_writer_add_tensor(heed_gguf_writer *w, const char *name,
                                        heed_type type, int n_dims, const int64_t *ne,
                                        const void *data)
{
    if (!w || !name || !ne || !data)
        return heed_fail(HEED_ERR_ARG, "gguf writer: add_tensor: NULL %s",
                         !w ? "writer" : !name ? "name" : !ne ? "shape" : "data");
    size_t len = strlen(name);
    if (len == 0)
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor name is empty");
    if (len > MAX_TENSOR_NAME)
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor name '%.*s...' is %zu bytes; at most %d "
                         "(ggml's GGML_MAX_NAME)", 32, name, len, MAX_TENSOR_NAME);
    if (has_tensor(w, name))
        return heed_fail(HEED_ERR_ARG, "gguf writer: duplicate tensor name '%s'", name);
    if (n_dims < 1 || n_dims > 4)
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor '%s': %d dimensions; expected 1 to 4",
                         name, n_dims);
    const heed_type_traits *tr = heed_type_get(type);
    if (!tr || tr->block_size == 0)
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor '%s': unknown type %d", name, type);

    writer_tensor t = {.type = type, .n_dims = n_dims, .ne = {1, 1, 1, 1}, .data = data};
    int64_t count = 1; /* elements, checked to fit int64 as ggml requires */
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 1)
            return heed_fail(HEED_ERR_ARG, "gguf writer: tensor '%s': dimension %d is %lld; expected >= 1",
                             name, d, (long long)ne[d]);
        if (count > INT64_MAX / ne[d])
            return heed_fail(HEED_ERR_ARG, "gguf writer: tensor '%s': element count overflows int64", name);
        count *= ne[d];
        t.ne[d] = ne[d];
    }
    if (ne[0] % tr->block_size != 0)
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor '%s': ne[0] = %lld is not a multiple of "
                         "%s's block size %lld", name, (long long)ne[0], tr->name,
                         (long long)tr->block_size);
    uint64_t row = heed_type_row_size(type, ne[0]);
    uint64_t rows = (uint64_t)(count / ne[0]);
    if (row == 0 || rows > (uint64_t)INT64_MAX / row || row * rows > SIZE_MAX)
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor '%s': size in bytes overflows", name);
    t.nbytes = row * rows;

    t.name = strdup(name);
    if (!t.name || !grow((void **)&w->tensor, w->n_tensors, &w->cap_tensors, sizeof *w->tensor)) {
        free(t.name);
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: tensor '%s': out of memory", name);
    }
    w->tensor[w->n_tensors++] = t;
    return HEED_OK;
}

/* ----------------------------------------------------------- output */

/* A FILE with a byte count and a sticky error, so serialisation code need
 * not check every call. */
typedef struct out {
    FILE *f;
    uint64_t pos;
    int err; /* errno of the first failure, 0 if none */
} out;

static void put(out *o, const void *p, size_t n)
{
    if (!o->err && n && fwrite(p, 1, n, o->f) != n)
        o->err = errno ? errno : EIO;
    o->pos += n;
}

static void put_uint(out *o, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(o, b, (size_t)bytes);
}

static void put_zeros(out *o, uint64_t n)
{
    static const uint8_t zeros[4096];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        put(o, zeros, k);
        n -= k;
    }
}

static uint64_t pad_to(uint64_t x, uint64_t align)
{
    return (x + align - 1) / align * align;
}

static void put_str(out *o, const heed_gguf_str *s)
{
    put_uint(o, s->len, 8);
    put(o, s->ptr, (size_t)s->len);
}

/* The body of an array value: element type, count, elements. Nested arrays
 * are elements written the same way. */
static void put_array(out *o, const heed_gguf_value *v)
{
    heed_gguf_type et = v->v.arr.type;
    put_uint(o, (uint32_t)et, 4);
    put_uint(o, v->v.arr.n, 8);
    if (et == HEED_GGUF_STRING) {
        for (uint64_t i = 0; i < v->v.arr.n; i++)
            put_str(o, &v->v.arr.strs[i]);
    } else if (et == HEED_GGUF_ARRAY) {
        for (uint64_t i = 0; i < v->v.arr.n; i++)
            put_array(o, &v->v.arr.items[i]);
    } else {
        /* Elements are little endian already (heed.h's contract). */
        put(o, v->v.arr.data, (size_t)v->v.arr.n * heed_gguf_type_size(et));
    }
}

static void put_value(out *o, const heed_gguf_value *v)
{
    float f32;
    uint32_t u32;
    uint64_t u64;
    switch (v->type) {
    case HEED_GGUF_UINT8: case HEED_GGUF_UINT16: case HEED_GGUF_UINT32: case HEED_GGUF_UINT64:
        put_uint(o, v->v.u, (int)heed_gguf_type_size(v->type));
        break;
    case HEED_GGUF_INT8: case HEED_GGUF_INT16: case HEED_GGUF_INT32: case HEED_GGUF_INT64:
        put_uint(o, (uint64_t)v->v.i, (int)heed_gguf_type_size(v->type));
        break;
    case HEED_GGUF_FLOAT32:
        f32 = (float)v->v.f;
        memcpy(&u32, &f32, 4);
        put_uint(o, u32, 4);
        break;
    case HEED_GGUF_FLOAT64:
        memcpy(&u64, &v->v.f, 8);
        put_uint(o, u64, 8);
        break;
    case HEED_GGUF_BOOL:
        put_uint(o, v->v.b ? 1 : 0, 1);
        break;
    case HEED_GGUF_STRING:
        put_str(o, &v->v.str);
        break;
    case HEED_GGUF_ARRAY:
        put_array(o, v);
        break;
    default: /* value_copy admitted only the types above */
        break;
    }
}

static uint64_t writer_alignment(const heed_gguf_writer *w)
{
    int64_t i = find_kv(w, ALIGNMENT_KEY);
    return i >= 0 ? w->kv[i].value.v.u : DEFAULT_ALIGNMENT;
}

/* Serialises the whole file into o. */
static void put_file(out *o, const heed_gguf_writer *w, uint64_t align)
{
    put(o, "GGUF", 4);
    put_uint(o, GGUF_VERSION, 4);
    put_uint(o, (uint64_t)w->n_tensors, 8);
    put_uint(o, (uint64_t)w->n_kv, 8);
    for (int64_t i = 0; i < w->n_kv; i++) {
        heed_gguf_str key = {w->kv[i].key, strlen(w->kv[i].key)};
        put_str(o, &key);
        put_uint(o, (uint32_t)w->kv[i].value.type, 4);
        put_value(o, &w->kv[i].value);
    }
    uint64_t offset = 0;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensor[i];
        heed_gguf_str name = {t->name, strlen(t->name)};
        put_str(o, &name);
        put_uint(o, (uint32_t)t->n_dims, 4);
        for (int d = 0; d < t->n_dims; d++)
            put_uint(o, (uint64_t)t->ne[d], 8);
        put_uint(o, (uint32_t)t->type, 4);
        put_uint(o, offset, 8);
        offset += pad_to(t->nbytes, align);
    }
    put_zeros(o, pad_to(o->pos, align) - o->pos);
    for (int64_t i = 0; i < w->n_tensors; i++) {
        put(o, w->tensor[i].data, (size_t)w->tensor[i].nbytes);
        put_zeros(o, pad_to(o->pos, align) - o->pos);
    }
}

/* Whether every tensor offset fits int64 (false only for absurd shapes,
 * whose file no reader could use). */
static bool data_fits(const heed_gguf_writer *w, uint64_t align)
{
    uint64_t total = 0;
    for (int64_t i = 0; i < w->n_tensors; i++) {
        uint64_t n = pad_to(w->tensor[i].nbytes, align); /* nbytes <= INT64_MAX: no wrap */
        if (n > (uint64_t)INT64_MAX - total)
            return false;
        total += n;
    }
    return true;
}

/* Creates a new file beside path, with the permissions a plain create
 * would give it. Returns the descriptor and the name in *tmp (malloc'd),
 * or -1 with errno set. */
static int open_temp(const char *path, char **tmp)
{
    static atomic_uint counter;
    size_t cap = strlen(path) + 64;
    char *name = malloc(cap);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(name, cap, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(name);
    errno = e;
    return -1;
}

/* Makes a rename durable. Best effort: the file is already in place, and
 * some file systems refuse fsync on directories. */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

heed_status heed_gguf_writer_write(heed_gguf_writer *w, const char *path)
{
    if (!w || !path || !*path)
        return heed_fail(HEED_ERR_ARG, "gguf writer: write: %s", !w ? "NULL writer" : "no path");
    uint64_t align = writer_alignment(w);
    if (!data_fits(w, align))
        return heed_fail(HEED_ERR_ARG, "%s: tensor data of more than %lld bytes", path, (long long)INT64_MAX);

    char *tmp = NULL;
    int fd = open_temp(path, &tmp);
    if (fd < 0)
        return heed_fail(HEED_ERR_IO, "%s: cannot create a temporary file beside it: %s",
                         path, strerror(errno));
    out o = {.f = fdopen(fd, "wb")};
    if (!o.f) {
        o.err = errno;
        close(fd);
    } else {
        put_file(&o, w, align);
        if (fflush(o.f) != 0 && !o.err)
            o.err = errno;
        if (fsync(fd) != 0 && !o.err)
            o.err = errno;
        if (fclose(o.f) != 0 && !o.err)
            o.err = errno;
    }
    if (!o.err && rename(tmp, path) != 0)
        o.err = errno;
    if (o.err) {
        unlink(tmp);
        free(tmp);
        return heed_fail(HEED_ERR_IO, "%s: write failed: %s", path, strerror(o.err));
    }
    free(tmp);
    sync_parent(path);
    return HEED_OK;
}

heed_status heed_gguf_writer_write_memory(heed_gguf_writer *w, void **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (!w)
        return heed_fail(HEED_ERR_ARG, "gguf writer: write: NULL writer");
    uint64_t align = writer_alignment(w);
    if (!data_fits(w, align))
        return heed_fail(HEED_ERR_ARG, "gguf writer: tensor data of more than %lld bytes",
                         (long long)INT64_MAX);
    char *buf = NULL;
    size_t len = 0;
    out o = {.f = open_memstream(&buf, &len)};
    if (!o.f)
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: out of memory");
    put_file(&o, w, align);
    if (fclose(o.f) != 0 && !o.err)
        o.err = errno ? errno : ENOMEM;
    if (o.err) {
        free(buf);
        return heed_fail(HEED_ERR_NOMEM, "gguf writer: cannot build the file in memory: %s",
                         strerror(o.err));
    }
    *data = buf;
    *size = len;
    return HEED_OK;
}
