/*
 * gguf_read.c — maps a GGUF v2/v3 file and validates all of it up front.
 *
 * Layout (little endian): magic "GGUF", u32 version, u64 n_tensors,
 * u64 n_kv, n_kv × (string key, u32 type, value), n_tensors × (string name,
 * u32 n_dims, u64 ne[n_dims], u32 type, u64 offset), zero padding to
 * general.alignment, then the tensor data. A string is u64 length + bytes.
 *
 * Invariants once heed_gguf_open succeeds (the rest of heed relies on them):
 *  - every key is non-empty, NUL-free and unique; every value lies inside
 *    the file; nested arrays are at most MAX_DEPTH deep;
 *  - every tensor has a known type, 1..4 dims each >= 1, ne[0] a multiple of its block
 *    size, an element count and byte size that fit int64, an offset aligned
 *    to the alignment, and data inside the file not overlapping another's;
 *  - every tensor's data is 4-byte aligned in memory;
 *  - tensor names are unique, non-empty and shorter than 64 bytes.
 * Nothing is allocated before the bytes that justify it have been seen, so
 * allocations are bounded by a small multiple of the file size.
 */
#include "heed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_read.h"
#include "gguf/gguf_value.h"
#include "util/error.h"
#include "util/file_map.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "heed reads GGUF data in place and needs a little-endian host"
#endif

enum {
    MAX_DEPTH = 16,     /* nesting of arrays of arrays                     */
    MAX_NAME = 64,      /* tensor name incl. NUL, as ggml's GGML_MAX_NAME  */
    DEFAULT_ALIGNMENT = 32,
};

struct heed_gguf {
    char *path;
    const uint8_t *base; /* the file's bytes                                */
    uint64_t size;
    bool mapped;         /* base came from mmap (else: the caller's buffer) */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    char **keys;         /* NUL-terminated copies                           */
    heed_gguf_value *values;
    int64_t n_tensors;
    heed_gguf_tensor *tensors;
};

/* A read position in the file; every read checks the bytes are there. */
typedef struct cursor {
    const heed_gguf *g;
    uint64_t pos;
} cursor;

static uint64_t left(const cursor *c) { return c->g->size - c->pos; }

static heed_status ends_early(const cursor *c, const char *what, uint64_t need)
{
    return heed_fail(HEED_ERR_FORMAT,
                     "%s: offset %llu: file ends while reading %s "
                     "(needs %llu bytes, %llu left)",
                     c->g->path, (unsigned long long)c->pos, what,
                     (unsigned long long)need, (unsigned long long)left(c));
}

static heed_status read_bytes(cursor *c, void *dst, uint64_t n, const char *what)
{
    if (left(c) < n)
        return ends_early(c, what, n);
    memcpy(dst, c->g->base + c->pos, n);
    c->pos += n;
    return HEED_OK;
}

static heed_status read_u32(cursor *c, uint32_t *v, const char *what)
{
    return read_bytes(c, v, 4, what);
}

static heed_status read_u64(cursor *c, uint64_t *v, const char *what)
{
    return read_bytes(c, v, 8, what);
}

/* A string is a u64 length and that many bytes; s points into the file. */
static heed_status read_str(cursor *c, heed_gguf_str *s, const char *what)
{
    uint64_t at = c->pos;
    heed_status st = read_u64(c, &s->len, what);
    if (st)
        return st;
    if (s->len > left(c)) {
        c->pos = at;
        return heed_fail(HEED_ERR_FORMAT,
                         "%s: offset %llu: %s: string length %llu exceeds the "
                         "%llu bytes left in the file",
                         c->g->path, (unsigned long long)at, what,
                         (unsigned long long)s->len,
                         (unsigned long long)(left(c) - 8));
    }
    s->ptr = (const char *)c->g->base + c->pos;
    c->pos += s->len;
    return HEED_OK;
}

static void value_free(heed_gguf_value *v)
{
    if (v->type != HEED_GGUF_ARRAY)
        return;
    if (v->v.arr.items) {
        heed_gguf_value *items = (heed_gguf_value *)v->v.arr.items;
        for (uint64_t i = 0; i < v->v.arr.n; i++)
            value_free(&items[i]);
        free(items);
    }
    free((void *)v->v.arr.strs);
}

static heed_status read_value(cursor *c, heed_gguf_type type, heed_gguf_value *v,
                              const char *what, int depth);

/* The body of an ARRAY value: element type, count, elements. */
static heed_status read_array(cursor *c, heed_gguf_value *v, const char *what, int depth)
{
    uint32_t et;
    uint64_t n, at = c->pos;
    heed_status st;
    if ((st = read_u32(c, &et, what)) || (st = read_u64(c, &n, what)))
        return st;
    if (et >= HEED_GGUF_TYPE_COUNT)
        return heed_fail(HEED_ERR_FORMAT,
                         "%s: offset %llu: %s: unknown array element type %u "
                         "(expected 0..%d)",
                         c->g->path, (unsigned long long)at, what, et,
                         HEED_GGUF_TYPE_COUNT - 1);
    if (et == HEED_GGUF_ARRAY && depth + 1 >= MAX_DEPTH)
        return heed_fail(HEED_ERR_FORMAT,
                         "%s: offset %llu: %s: arrays nested deeper than %d levels",
                         c->g->path, (unsigned long long)at, what, MAX_DEPTH);
    v->v.arr.type = (heed_gguf_type)et;
    v->v.arr.n = 0;
    /* Every element takes at least this many bytes, which bounds n by the
     * file before anything is allocated. */
    uint64_t min_elem = et == HEED_GGUF_STRING ? 8 : et == HEED_GGUF_ARRAY ? 12
                                                   : heed_gguf_type_size(v->v.arr.type);
    if (n > left(c) / min_elem)
        return heed_fail(HEED_ERR_FORMAT,
                         "%s: offset %llu: %s: array of %llu %s elements needs at "
                         "least %llu bytes per element, but only %llu bytes are left",
                         c->g->path, (unsigned long long)at, what,
                         (unsigned long long)n, heed_gguf_type_name(v->v.arr.type),
                         (unsigned long long)min_elem, (unsigned long long)left(c));
    if (et == HEED_GGUF_STRING) {
        heed_gguf_str *strs = calloc(n ? n : 1, sizeof *strs);
        if (!strs)
            return heed_fail(HEED_ERR_NOMEM, "%s: out of memory for %s", c->g->path, what);
        v->v.arr.strs = strs;
        for (uint64_t i = 0; i < n; i++) {
            if ((st = read_str(c, &strs[i], what)))
                return st;
            v->v.arr.n = i + 1;
        }
    } else if (et == HEED_GGUF_ARRAY) {
        heed_gguf_value *items = calloc(n ? n : 1, sizeof *items);
        if (!items)
            return heed_fail(HEED_ERR_NOMEM, "%s: out of memory for %s", c->g->path, what);
        v->v.arr.items = items;
        for (uint64_t i = 0; i < n; i++) {
            v->v.arr.n = i + 1;
            if ((st = read_value(c, HEED_GGUF_ARRAY, &items[i], what, depth + 1)))
                return st;
        }
    } else {
        if (et == HEED_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->g->base[c->pos + i] > 1)
                    return heed_fail(HEED_ERR_FORMAT,
                                     "%s: offset %llu: %s: bool element %llu is %u "
                                     "(expected 0 or 1)",
                                     c->g->path, (unsigned long long)(c->pos + i), what,
                                     (unsigned long long)i, c->g->base[c->pos + i]);
        v->v.arr.data = c->g->base + c->pos;
        v->v.arr.n = n;
        c->pos += n * min_elem;
    }
    return HEED_OK;
}

static heed_status read_value(cursor *c, heed_gguf_type type, heed_gguf_value *v,
                              const char *what, int depth)
{
    memset(v, 0, sizeof *v);
    v->type = type;
    if (type == HEED_GGUF_STRING)
        return read_str(c, &v->v.str, what);
    if (type == HEED_GGUF_ARRAY)
        return read_array(c, v, what, depth);
    uint64_t n = heed_gguf_type_size(type);
    if (left(c) < n)
        return ends_early(c, what, n);
    const uint8_t *p = c->g->base + c->pos;
    if (type == HEED_GGUF_BOOL && p[0] > 1)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: bool value is %u "
                         "(expected 0 or 1)", c->g->path, (unsigned long long)c->pos,
                         what, p[0]);
    heed_gguf_decode_scalar(p, v);
    c->pos += n;
    return HEED_OK;
}

static int cmp_cstr_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a repeated string among n; returns it or NULL. Sorts a copy. */
static const char *find_duplicate(const char **names, int64_t n)
{
    if (n < 2)
        return NULL;
    qsort(names, (size_t)n, sizeof *names, cmp_cstr_ptr);
    for (int64_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return names[i];
    return NULL;
}

static heed_status read_kv(cursor *c)
{
    heed_gguf *g = (heed_gguf *)c->g;
    char what[64];
    heed_status st;
    for (int64_t i = 0; i < g->n_kv; i++) {
        uint64_t at = c->pos;
        heed_gguf_str key;
        uint32_t type;
        snprintf(what, sizeof what, "metadata key #%lld", (long long)i);
        if ((st = read_str(c, &key, what)))
            return st;
        if (key.len == 0 || memchr(key.ptr, 0, key.len))
            return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: %s (expected a "
                             "non-empty name without NUL bytes)", g->path,
                             (unsigned long long)at, what,
                             key.len ? "key contains a NUL byte" : "key is empty");
        if (!(g->keys[i] = strndup(key.ptr, key.len)))
            return heed_fail(HEED_ERR_NOMEM, "%s: out of memory", g->path);
        snprintf(what, sizeof what, "value of '%.40s'", g->keys[i]);
        uint64_t type_at = c->pos;
        if ((st = read_u32(c, &type, what)))
            return st;
        if (type >= HEED_GGUF_TYPE_COUNT)
            return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: unknown value "
                             "type %u (expected 0..%d)", g->path,
                             (unsigned long long)type_at, what, type,
                             HEED_GGUF_TYPE_COUNT - 1);
        if ((st = read_value(c, (heed_gguf_type)type, &g->values[i], what, 0)))
            return st;
    }
    const char **names = malloc(sizeof *names * (size_t)(g->n_kv ? g->n_kv : 1));
    if (!names)
        return heed_fail(HEED_ERR_NOMEM, "%s: out of memory", g->path);
    memcpy(names, g->keys, sizeof *names * (size_t)g->n_kv);
    const char *dup = find_duplicate(names, g->n_kv);
    st = dup ? heed_fail(HEED_ERR_FORMAT, "%s: metadata: key '%s' appears more than "
                         "once (expected unique keys)", g->path, dup)
             : HEED_OK;
    free(names);
    return st;
}

/* general.alignment, when present, must be a nonzero power-of-two UINT32. */
static heed_status read_alignment(heed_gguf *g)
{
    g->alignment = DEFAULT_ALIGNMENT;
    const heed_gguf_value *v = heed_gguf_get(g, "general.alignment");
    if (!v)
        return HEED_OK;
    if (v->type != HEED_GGUF_UINT32)
        return heed_fail(HEED_ERR_FORMAT, "%s: metadata: general.alignment has type "
                         "%s (expected uint32)", g->path, heed_gguf_type_name(v->type));
    if (v->v.u == 0 || (v->v.u & (v->v.u - 1)))
        return heed_fail(HEED_ERR_FORMAT, "%s: metadata: general.alignment is %llu "
                         "(expected a power of two)", g->path,
                         (unsigned long long)v->v.u);
    g->alignment = v->v.u;
    return HEED_OK;
}

/* One tensor info; checks that need the data offset come later. */
static heed_status read_tensor_info(cursor *c, int64_t i, heed_gguf_tensor *t)
{
    const heed_gguf *g = c->g;
    char what[48];
    heed_gguf_str name;
    uint32_t n_dims, type;
    heed_status st;
    uint64_t at = c->pos;
    snprintf(what, sizeof what, "tensor #%lld name", (long long)i);
    if ((st = read_str(c, &name, what)))
        return st;
    if (name.len == 0 || name.len >= MAX_NAME || memchr(name.ptr, 0, name.len))
        return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: length %llu (expected "
                         "1..%d bytes without NUL)", g->path, (unsigned long long)at,
                         what, (unsigned long long)name.len, MAX_NAME - 1);
    if (!(t->name = strndup(name.ptr, name.len)))
        return heed_fail(HEED_ERR_NOMEM, "%s: out of memory", g->path);
    snprintf(what, sizeof what, "tensor '%s'", t->name);
    at = c->pos;
    if ((st = read_u32(c, &n_dims, what)))
        return st;
    if (n_dims < 1 || n_dims > 4)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: n_dims is %u "
                         "(expected 1..4)", g->path, (unsigned long long)at, what, n_dims);
    t->n_dims = (int)n_dims;
    int64_t n_elements = 1;
    for (int d = 0; d < 4; d++) {
        uint64_t ne = 1;
        at = c->pos;
        if (d < t->n_dims && (st = read_u64(c, &ne, what)))
            return st;
        if (ne == 0)
            return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: dimension %d is 0 "
                             "(expected at least 1)", g->path, (unsigned long long)at,
                             what, d);
        if (ne > INT64_MAX)
            return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: dimension %d is %lld "
                             "(expected a positive count)", g->path, (unsigned long long)at,
                             what, d, (long long)ne);
        if (n_elements > INT64_MAX / (int64_t)ne)
            return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: dimension %d is "
                             "%llu; the element count overflows int64", g->path,
                             (unsigned long long)at, what, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
        n_elements *= (int64_t)ne;
    }
    at = c->pos;
    if ((st = read_u32(c, &type, what)))
        return st;
    const heed_type_traits *tt = heed_type_get((int)type);
    if (!tt)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: unknown tensor type %u",
                         g->path, (unsigned long long)at, what, type);
    t->type = (int)type;
    if (t->ne[0] % tt->block_size)
        return heed_fail(HEED_ERR_FORMAT, "%s: %s: row length %lld is not a multiple "
                         "of %s's block size %lld", g->path, what, (long long)t->ne[0],
                         tt->name, (long long)tt->block_size);
    uint64_t rows = (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]), row_bytes;
    if (__builtin_mul_overflow((uint64_t)(t->ne[0] / tt->block_size), tt->type_size,
                               &row_bytes) ||
        __builtin_mul_overflow(row_bytes, rows, &t->nbytes))
        return heed_fail(HEED_ERR_FORMAT, "%s: %s: byte size of %lld elements of %s "
                         "overflows 64 bits", g->path, what, (long long)n_elements,
                         tt->name);
    at = c->pos;
    if ((st = read_u64(c, &t->offset, what)))
        return st;
    if (t->offset % g->alignment)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: %s: data offset %llu is not "
                         "a multiple of the alignment %llu", g->path,
                         (unsigned long long)at, what, (unsigned long long)t->offset,
                         (unsigned long long)g->alignment);
    return HEED_OK;
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const heed_gguf_tensor *x = *(const heed_gguf_tensor *const *)a;
    const heed_gguf_tensor *y = *(const heed_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Checks every tensor's data lies in the file and none overlap. */
static heed_status place_tensors(heed_gguf *g)
{
    uint64_t data_size = g->size - g->data_offset;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        heed_gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s': data [%llu, +%llu) ends "
                             "past the end of the file (data section is %llu bytes at "
                             "offset %llu)", g->path, t->name,
                             (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                             (unsigned long long)data_size,
                             (unsigned long long)g->data_offset);
        t->data = g->base + g->data_offset + t->offset;
        /* Blocks and floats are read in place, so they need 4-byte alignment
         * in memory (only a general.alignment below 4 can break that). */
        if ((uintptr_t)t->data % 4)
            return heed_fail(HEED_ERR_UNSUPPORTED, "%s: tensor '%s': data at file offset "
                             "%llu is not 4-byte aligned (general.alignment %llu); heed "
                             "reads tensors in place and needs at least 4", g->path,
                             t->name, (unsigned long long)(g->data_offset + t->offset),
                             (unsigned long long)g->alignment);
    }
    size_t n = (size_t)g->n_tensors;
    const heed_gguf_tensor **by_offset = malloc(sizeof *by_offset * (n ? n : 1));
    const char **names = malloc(sizeof *names * (n ? n : 1));
    heed_status st = HEED_OK;
    if (!by_offset || !names) {
        st = heed_fail(HEED_ERR_NOMEM, "%s: out of memory", g->path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        by_offset[i] = &g->tensors[i];
        names[i] = g->tensors[i].name;
    }
    qsort(by_offset, n, sizeof *by_offset, cmp_tensor_offset);
    for (size_t i = 1; i < n; i++) {
        const heed_gguf_tensor *a = by_offset[i - 1], *b = by_offset[i];
        if (a->offset + a->nbytes > b->offset) {
            st = heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' (data [%llu, %llu)) "
                           "overlaps tensor '%s' (starting at %llu)", g->path, a->name,
                           (unsigned long long)a->offset,
                           (unsigned long long)(a->offset + a->nbytes), b->name,
                           (unsigned long long)b->offset);
            goto done;
        }
    }
    const char *dup = find_duplicate(names, g->n_tensors);
    if (dup)
        st = heed_fail(HEED_ERR_FORMAT, "%s: tensor name '%s' appears more than once "
                       "(expected unique names)", g->path, dup);
done:
    free(by_offset);
    free(names);
    return st;
}

static heed_status read_header(cursor *c)
{
    heed_gguf *g = (heed_gguf *)c->g;
    uint8_t magic[4];
    uint64_t n_tensors, n_kv;
    heed_status st;
    if ((st = read_bytes(c, magic, 4, "magic")))
        return st;
    if (memcmp(magic, "GGUF", 4))
        return heed_fail(HEED_ERR_FORMAT, "%s: offset 0: magic is %02x %02x %02x %02x "
                         "(expected \"GGUF\"); not a GGUF file", g->path, magic[0],
                         magic[1], magic[2], magic[3]);
    if ((st = read_u32(c, &g->version, "version")))
        return st;
    uint32_t swapped = __builtin_bswap32(g->version);
    if (g->version == 0 || g->version > 3) {
        if (swapped >= 1 && swapped <= 3)
            return heed_fail(HEED_ERR_UNSUPPORTED, "%s: offset 4: version %u read "
                             "big-endian; big-endian GGUF files are not supported",
                             g->path, swapped);
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: offset 4: GGUF version %u "
                         "(expected 2 or 3)", g->path, g->version);
    }
    if (g->version == 1)
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: offset 4: GGUF version 1 (32-bit "
                         "counts) is not supported (expected 2 or 3); re-convert the "
                         "model with a current tool", g->path);
    if ((st = read_u64(c, &n_tensors, "tensor count")) ||
        (st = read_u64(c, &n_kv, "metadata count")))
        return st;
    /* Smallest encodings: a kv is a 1-byte key (8+1), a type (4) and a
     * 1-byte value; a tensor info is a 1-byte name, n_dims, one dimension,
     * type and offset. */
    if (n_kv > left(c) / 14)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset 16: metadata count %llu cannot "
                         "fit in the %llu bytes left", g->path,
                         (unsigned long long)n_kv, (unsigned long long)left(c));
    if (n_tensors > left(c) / 33)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset 8: tensor count %llu cannot "
                         "fit in the %llu bytes left", g->path,
                         (unsigned long long)n_tensors, (unsigned long long)left(c));
    g->keys = calloc(n_kv ? n_kv : 1, sizeof *g->keys);
    g->values = calloc(n_kv ? n_kv : 1, sizeof *g->values);
    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    if (!g->keys || !g->values || !g->tensors)
        return heed_fail(HEED_ERR_NOMEM, "%s: out of memory", g->path);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    return HEED_OK;
}

static heed_status parse(heed_gguf *g)
{
    cursor c = {g, 0};
    heed_status st;
    if ((st = read_header(&c)) || (st = read_kv(&c)) || (st = read_alignment(g)))
        return st;
    for (int64_t i = 0; i < g->n_tensors; i++)
        if ((st = read_tensor_info(&c, i, &g->tensors[i])))
            return st;
    uint64_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    /* A file without tensors may end right after its header. */
    g->data_offset = g->n_tensors == 0 && pad > left(&c) ? g->size : c.pos + pad;
    if (g->data_offset > g->size)
        return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: file ends in the padding "
                         "before the tensor data (expected it to start at %llu)",
                         g->path, (unsigned long long)g->size,
                         (unsigned long long)g->data_offset);
    return place_tensors(g);
}

static heed_status open_common(heed_gguf *g, heed_gguf **out)
{
    heed_status st = parse(g);
    if (st) {
        heed_gguf_close(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}

heed_status heed_gguf_open_memory(const void *data, size_t size, const char *name,
                                  heed_gguf **out)
{
    *out = NULL;
    if (!data && size)
        return heed_fail(HEED_ERR_ARG, "heed_gguf_open_memory: NULL data");
    heed_gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(name ? name : "<memory>"))) {
        free(g);
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    }
    g->base = data;
    g->size = size;
    return open_common(g, out);
}

heed_status heed_gguf_open(const char *path, heed_gguf **out)
{
    *out = NULL;
    const void *data;
    uint64_t size;
    heed_status st = heed_file_map(path, &data, &size);
    if (st)
        return st;
    heed_gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(path))) {
        free(g);
        heed_file_unmap(data, size);
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    }
    g->base = data;
    g->size = size;
    g->mapped = true;
    return open_common(g, out);
}

void heed_gguf_close(heed_gguf *g)
{
    if (!g)
        return;
    for (int64_t i = 0; g->keys && i < g->n_kv; i++)
        free(g->keys[i]);
    for (int64_t i = 0; g->values && i < g->n_kv; i++)
        value_free(&g->values[i]);
    for (int64_t i = 0; g->tensors && i < g->n_tensors; i++)
        free((void *)g->tensors[i].name);
    free(g->keys);
    free(g->values);
    free(g->tensors);
    if (g->mapped)
        heed_file_unmap(g->base, g->size);
    free(g->path);
    free(g);
}

/* ------------------------------------------------------------ accessors */

void heed_gguf_drop(const heed_gguf *g, const void *p, uint64_t n)
{
    if (g->mapped)
        heed_file_drop(p, n);
}

uint32_t heed_gguf_version(const heed_gguf *g) { return g->version; }
uint64_t heed_gguf_file_size(const heed_gguf *g) { return g->size; }
uint64_t heed_gguf_alignment(const heed_gguf *g) { return g->alignment; }
uint64_t heed_gguf_data_offset(const heed_gguf *g) { return g->data_offset; }
const char *heed_gguf_path(const heed_gguf *g) { return g->path; }
int64_t heed_gguf_n_kv(const heed_gguf *g) { return g->n_kv; }
int64_t heed_gguf_n_tensors(const heed_gguf *g) { return g->n_tensors; }

const char *heed_gguf_kv_key(const heed_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_kv ? g->keys[i] : NULL;
}

const heed_gguf_value *heed_gguf_kv_value(const heed_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_kv ? &g->values[i] : NULL;
}

int64_t heed_gguf_find_key(const heed_gguf *g, const char *key)
{
    for (int64_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->keys[i], key) == 0)
            return i;
    return -1;
}

const heed_gguf_value *heed_gguf_get(const heed_gguf *g, const char *key)
{
    return heed_gguf_kv_value(g, heed_gguf_find_key(g, key));
}

const heed_gguf_tensor *heed_gguf_tensor_at(const heed_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const heed_gguf_tensor *heed_gguf_find_tensor(const heed_gguf *g, const char *name)
{
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}

/* --------------------------------------------------------- typed getters */

static heed_status lookup(const heed_gguf *g, const char *key, const heed_gguf_value **v)
{
    *v = heed_gguf_get(g, key);
    if (!*v)
        return heed_fail(HEED_ERR_NOT_FOUND, "%s: metadata key '%s' is missing",
                         g->path, key);
    return HEED_OK;
}

static heed_status mistyped(const heed_gguf *g, const char *key,
                            const heed_gguf_value *v, const char *expected)
{
    return heed_fail(HEED_ERR_TYPE, "%s: metadata key '%s' has type %s (expected %s)",
                     g->path, key, heed_gguf_type_name(v->type), expected);
}

static bool is_unsigned(heed_gguf_type t)
{
    return t == HEED_GGUF_UINT8 || t == HEED_GGUF_UINT16 || t == HEED_GGUF_UINT32 ||
           t == HEED_GGUF_UINT64;
}

static bool is_signed(heed_gguf_type t)
{
    return t == HEED_GGUF_INT8 || t == HEED_GGUF_INT16 || t == HEED_GGUF_INT32 ||
           t == HEED_GGUF_INT64;
}

heed_status heed_gguf_get_uint(const heed_gguf *g, const char *key, uint64_t *out)
{
    const heed_gguf_value *v;
    heed_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (is_unsigned(v->type)) {
        *out = v->v.u;
        return HEED_OK;
    }
    if (is_signed(v->type) && v->v.i >= 0) {
        *out = (uint64_t)v->v.i;
        return HEED_OK;
    }
    if (is_signed(v->type))
        return heed_fail(HEED_ERR_TYPE, "%s: metadata key '%s' is %lld (expected a "
                         "non-negative integer)", g->path, key, (long long)v->v.i);
    return mistyped(g, key, v, "an unsigned integer");
}

heed_status heed_gguf_get_int(const heed_gguf *g, const char *key, int64_t *out)
{
    const heed_gguf_value *v;
    heed_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (is_signed(v->type)) {
        *out = v->v.i;
        return HEED_OK;
    }
    if (is_unsigned(v->type) && v->v.u <= INT64_MAX) {
        *out = (int64_t)v->v.u;
        return HEED_OK;
    }
    if (is_unsigned(v->type))
        return heed_fail(HEED_ERR_TYPE, "%s: metadata key '%s' is %llu (expected a "
                         "value that fits int64)", g->path, key,
                         (unsigned long long)v->v.u);
    return mistyped(g, key, v, "an integer");
}

heed_status heed_gguf_get_float(const heed_gguf *g, const char *key, double *out)
{
    const heed_gguf_value *v;
    heed_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (v->type != HEED_GGUF_FLOAT32 && v->type != HEED_GGUF_FLOAT64)
        return mistyped(g, key, v, "float32 or float64");
    *out = v->v.f;
    return HEED_OK;
}

heed_status heed_gguf_get_bool(const heed_gguf *g, const char *key, bool *out)
{
    const heed_gguf_value *v;
    heed_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (v->type != HEED_GGUF_BOOL)
        return mistyped(g, key, v, "bool");
    *out = v->v.b;
    return HEED_OK;
}

heed_status heed_gguf_get_str(const heed_gguf *g, const char *key, heed_gguf_str *out)
{
    const heed_gguf_value *v;
    heed_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (v->type != HEED_GGUF_STRING)
        return mistyped(g, key, v, "string");
    *out = v->v.str;
    return HEED_OK;
}

heed_status heed_gguf_get_arr(const heed_gguf *g, const char *key, heed_gguf_type elem,
                              const heed_gguf_value **out)
{
    const heed_gguf_value *v;
    heed_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (v->type != HEED_GGUF_ARRAY)
        return mistyped(g, key, v, "array");
    if (elem != HEED_GGUF_TYPE_COUNT && v->v.arr.type != elem)
        return heed_fail(HEED_ERR_TYPE, "%s: metadata key '%s' is an array of %s "
                         "(expected an array of %s)", g->path, key,
                         heed_gguf_type_name(v->v.arr.type), heed_gguf_type_name(elem));
    *out = v;
    return HEED_OK;
}
