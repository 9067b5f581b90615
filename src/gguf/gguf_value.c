/* gguf_value.c — GGUF metadata value types: names, sizes, array elements. */
#include "gguf/gguf_value.h"

#include <string.h>

const char *heed_gguf_type_name(heed_gguf_type t)
{
    static const char *const names[HEED_GGUF_TYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64",
    };
    return (unsigned)t < HEED_GGUF_TYPE_COUNT ? names[t] : "unknown";
}

size_t heed_gguf_type_size(heed_gguf_type t)
{
    switch (t) {
    case HEED_GGUF_UINT8: case HEED_GGUF_INT8: case HEED_GGUF_BOOL: return 1;
    case HEED_GGUF_UINT16: case HEED_GGUF_INT16: return 2;
    case HEED_GGUF_UINT32: case HEED_GGUF_INT32: case HEED_GGUF_FLOAT32: return 4;
    case HEED_GGUF_UINT64: case HEED_GGUF_INT64: case HEED_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

void heed_gguf_decode_scalar(const void *p, heed_gguf_value *v)
{
    const uint8_t *b = p;
    switch (v->type) {
    case HEED_GGUF_UINT8: v->v.u = b[0]; break;
    case HEED_GGUF_INT8: v->v.i = (int8_t)b[0]; break;
    case HEED_GGUF_BOOL: v->v.b = b[0] != 0; break;
    case HEED_GGUF_UINT16: { uint16_t x; memcpy(&x, b, 2); v->v.u = x; break; }
    case HEED_GGUF_INT16: { int16_t x; memcpy(&x, b, 2); v->v.i = x; break; }
    case HEED_GGUF_UINT32: { uint32_t x; memcpy(&x, b, 4); v->v.u = x; break; }
    case HEED_GGUF_INT32: { int32_t x; memcpy(&x, b, 4); v->v.i = x; break; }
    case HEED_GGUF_FLOAT32: { float x; memcpy(&x, b, 4); v->v.f = x; break; }
    case HEED_GGUF_UINT64: memcpy(&v->v.u, b, 8); break;
    case HEED_GGUF_INT64: memcpy(&v->v.i, b, 8); break;
    case HEED_GGUF_FLOAT64: memcpy(&v->v.f, b, 8); break;
    default: break;
    }
}

heed_gguf_value heed_gguf_arr_get(const heed_gguf_value *arr, uint64_t i)
{
    heed_gguf_value e = {.type = HEED_GGUF_TYPE_COUNT};
    if (arr->type != HEED_GGUF_ARRAY || i >= arr->v.arr.n)
        return e;
    e.type = arr->v.arr.type;
    if (e.type == HEED_GGUF_STRING)
        e.v.str = arr->v.arr.strs[i];
    else if (e.type == HEED_GGUF_ARRAY)
        e = arr->v.arr.items[i];
    else
        heed_gguf_decode_scalar((const uint8_t *)arr->v.arr.data + i * heed_gguf_type_size(e.type), &e);
    return e;
}

bool heed_gguf_value_equal(const heed_gguf_value *a, const heed_gguf_value *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == HEED_GGUF_BOOL)
        return a->v.b == b->v.b;
    if (a->type == HEED_GGUF_STRING)
        return a->v.str.len == b->v.str.len &&
               (a->v.str.len == 0 || memcmp(a->v.str.ptr, b->v.str.ptr, a->v.str.len) == 0);
    if (a->type != HEED_GGUF_ARRAY)
        return a->v.u == b->v.u; /* the same 8 bytes as v.i and v.f */
    if (a->v.arr.type != b->v.arr.type || a->v.arr.n != b->v.arr.n)
        return false;
    for (uint64_t i = 0; i < a->v.arr.n; i++) {
        heed_gguf_value x = heed_gguf_arr_get(a, i), y = heed_gguf_arr_get(b, i);
        if (!heed_gguf_value_equal(&x, &y))
            return false;
    }
    return true;
}
