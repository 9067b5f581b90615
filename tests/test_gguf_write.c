/* test_gguf_write.c — the GGUF writer: values, layout, rewrites, errors. */
#include "testutil.h"

#include "heed.h"

#include <criterion/parameterized.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ helpers */

static heed_gguf *open_ok(const char *path)
{
    heed_gguf *g = NULL;
    heed_status st = heed_gguf_open(path, &g);
    cr_assert_eq(st, HEED_OK, "open %s: %s", path, heed_last_error());
    return g;
}

/* Writes w to the temporary file `name` and opens the result. */
static heed_gguf *write_and_open(heed_gguf_writer *w, const char *name)
{
    const char *path = test_tmp_path(name);
    cr_assert_eq(heed_gguf_writer_write(w, path), HEED_OK, "write: %s", heed_last_error());
    return open_ok(path);
}

/* A writer holding every kv and tensor of g, in order. */
static heed_gguf_writer *copy_of(const heed_gguf *g)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_not_null(w);
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++)
        cr_assert_eq(heed_gguf_writer_set(w, heed_gguf_kv_key(g, i), heed_gguf_kv_value(g, i)),
                     HEED_OK, "copy kv %s: %s", heed_gguf_kv_key(g, i), heed_last_error());
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
        cr_assert_eq(heed_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data),
                     HEED_OK, "copy tensor %s: %s", t->name, heed_last_error());
    }
    return w;
}

/* Asserts that a and b hold the same kv (in order) and tensors. */
static void assert_same_content(const heed_gguf *a, const heed_gguf *b)
{
    cr_assert_eq(heed_gguf_n_kv(a), heed_gguf_n_kv(b));
    for (int64_t i = 0; i < heed_gguf_n_kv(a); i++) {
        cr_assert_str_eq(heed_gguf_kv_key(a, i), heed_gguf_kv_key(b, i));
        cr_assert(heed_gguf_value_equal(heed_gguf_kv_value(a, i), heed_gguf_kv_value(b, i)),
                  "value of %s differs", heed_gguf_kv_key(a, i));
    }
    cr_assert_eq(heed_gguf_n_tensors(a), heed_gguf_n_tensors(b));
    for (int64_t i = 0; i < heed_gguf_n_tensors(a); i++) {
        const heed_gguf_tensor *x = heed_gguf_tensor_at(a, i), *y = heed_gguf_tensor_at(b, i);
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->type, y->type, "%s", x->name);
        cr_assert_eq(x->n_dims, y->n_dims, "%s", x->name);
        cr_assert_arr_eq(x->ne, y->ne, sizeof x->ne, "%s", x->name);
        cr_assert_eq(x->offset, y->offset, "%s", x->name);
        cr_assert_eq(x->nbytes, y->nbytes, "%s", x->name);
        cr_assert(memcmp(x->data, y->data, x->nbytes) == 0, "data of %s differs", x->name);
    }
}

static bool files_equal(const char *p, const char *q)
{
    size_t n, m;
    char *a = test_read_file(p, &n), *b = test_read_file(q, &m);
    bool eq = a && b && n == m && memcmp(a, b, n) == 0;
    free(a);
    free(b);
    return eq;
}

/* Number of entries in the folder holding path whose name starts with
 * path's file name (the file itself and any leftover temporary files). */
static int count_siblings(const char *path)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    const char *base = slash + 1;
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, base, strlen(base)) == 0;
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* ------------------------------------------------------------- values */

Test(gguf_write, scalars_round_trip)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    const heed_gguf_value vals[] = {
        {.type = HEED_GGUF_UINT8, .v.u = 255},
        {.type = HEED_GGUF_INT8, .v.i = -128},
        {.type = HEED_GGUF_UINT16, .v.u = 65535},
        {.type = HEED_GGUF_INT16, .v.i = -32768},
        {.type = HEED_GGUF_UINT32, .v.u = UINT32_MAX},
        {.type = HEED_GGUF_INT32, .v.i = INT32_MIN},
        {.type = HEED_GGUF_FLOAT32, .v.f = -1.5},
        {.type = HEED_GGUF_BOOL, .v.b = true},
        {.type = HEED_GGUF_STRING, .v.str = {"a\0b", 3}},
        {.type = HEED_GGUF_UINT64, .v.u = UINT64_MAX},
        {.type = HEED_GGUF_INT64, .v.i = INT64_MIN},
        {.type = HEED_GGUF_FLOAT64, .v.f = 3.141592653589793},
        {.type = HEED_GGUF_BOOL, .v.b = false},
        {.type = HEED_GGUF_STRING, .v.str = {NULL, 0}},
    };
    const size_t n = sizeof vals / sizeof vals[0];
    char key[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "test.v%zu", i);
        cr_assert_eq(heed_gguf_writer_set(w, key, &vals[i]), HEED_OK, "%s", heed_last_error());
    }
    cr_assert_eq(heed_gguf_writer_set_u32(w, "s.u32", 7), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_i32(w, "s.i32", -7), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u64(w, "s.u64", 1ull << 40), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_f32(w, "s.f32", 0.1f), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_bool(w, "s.bool", true), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_str(w, "s.str", "héllo"), HEED_OK);

    heed_gguf *g = write_and_open(w, "scalars.gguf");
    cr_assert_eq(heed_gguf_n_kv(g), (int64_t)n + 6);
    cr_assert_eq(heed_gguf_version(g), 3);
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "test.v%zu", i);
        cr_assert_str_eq(heed_gguf_kv_key(g, (int64_t)i), key);
        cr_assert(heed_gguf_value_equal(heed_gguf_kv_value(g, (int64_t)i), &vals[i]), "%s", key);
    }
    uint64_t u;
    int64_t si;
    double f;
    bool b;
    heed_gguf_str s;
    cr_assert_eq(heed_gguf_get_uint(g, "s.u32", &u), HEED_OK);
    cr_assert_eq(u, 7);
    cr_assert_eq(heed_gguf_get_int(g, "s.i32", &si), HEED_OK);
    cr_assert_eq(si, -7);
    cr_assert_eq(heed_gguf_get_uint(g, "s.u64", &u), HEED_OK);
    cr_assert_eq(u, 1ull << 40);
    cr_assert_eq(heed_gguf_get_float(g, "s.f32", &f), HEED_OK);
    cr_assert_eq(f, (double)0.1f);
    cr_assert_eq(heed_gguf_get(g, "s.f32")->type, HEED_GGUF_FLOAT32);
    cr_assert_eq(heed_gguf_get_bool(g, "s.bool", &b), HEED_OK);
    cr_assert(b);
    cr_assert_eq(heed_gguf_get_str(g, "s.str", &s), HEED_OK);
    cr_assert_eq(s.len, strlen("héllo"));
    cr_assert(memcmp(s.ptr, "héllo", s.len) == 0);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

Test(gguf_write, arrays_round_trip)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    const uint8_t u8[] = {0, 1, 255};
    const int8_t i8[] = {-128, 0, 127};
    const uint16_t u16[] = {1, 65535};
    const int16_t i16[] = {-32768, 32767};
    const uint32_t u32[] = {1, 2, 3, UINT32_MAX};
    const int32_t i32[] = {INT32_MIN, -1, 0};
    const float f32[] = {0.5f, -0.0f, INFINITY};
    const bool bools[] = {true, false, true};
    const uint64_t u64[] = {UINT64_MAX};
    const int64_t i64[] = {INT64_MIN, INT64_MAX};
    const double f64[] = {1e300, -2.5};
    struct {
        heed_gguf_type t;
        const void *p;
        uint64_t n;
    } fixed[] = {
        {HEED_GGUF_UINT8, u8, 3}, {HEED_GGUF_INT8, i8, 3}, {HEED_GGUF_UINT16, u16, 2},
        {HEED_GGUF_INT16, i16, 2}, {HEED_GGUF_UINT32, u32, 4}, {HEED_GGUF_INT32, i32, 3},
        {HEED_GGUF_FLOAT32, f32, 3}, {HEED_GGUF_BOOL, bools, 3}, {HEED_GGUF_UINT64, u64, 1},
        {HEED_GGUF_INT64, i64, 2}, {HEED_GGUF_FLOAT64, f64, 2}, {HEED_GGUF_UINT32, NULL, 0},
    };
    const size_t n_fixed = sizeof fixed / sizeof fixed[0];
    char key[32];
    for (size_t i = 0; i < n_fixed; i++) {
        snprintf(key, sizeof key, "arr.%zu", i);
        cr_assert_eq(heed_gguf_writer_set_arr(w, key, fixed[i].t, fixed[i].p, fixed[i].n),
                     HEED_OK, "%s", heed_last_error());
    }
    const char *strs[] = {"", "one", "two words", "ünïcödé"};
    cr_assert_eq(heed_gguf_writer_set_arr_str(w, "arr.str", strs, 4), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_arr_str(w, "arr.str0", NULL, 0), HEED_OK);

    /* [[1, 2, 3], [], [4]] as arrays of uint32; [["a"], ["b", "c"]];
     * and [[[7]]] three deep; a string holding a NUL byte. */
    const uint32_t a123[] = {1, 2, 3}, a4[] = {4}, a7[] = {7};
    heed_gguf_value rows[3] = {{.type = HEED_GGUF_ARRAY}, {.type = HEED_GGUF_ARRAY}, {.type = HEED_GGUF_ARRAY}};
    rows[0].v.arr.type = HEED_GGUF_UINT32, rows[0].v.arr.n = 3, rows[0].v.arr.data = a123;
    rows[1].v.arr.type = HEED_GGUF_UINT32, rows[1].v.arr.n = 0;
    rows[2].v.arr.type = HEED_GGUF_UINT32, rows[2].v.arr.n = 1, rows[2].v.arr.data = a4;
    heed_gguf_value ragged = {.type = HEED_GGUF_ARRAY};
    ragged.v.arr.type = HEED_GGUF_ARRAY, ragged.v.arr.n = 3, ragged.v.arr.items = rows;
    cr_assert_eq(heed_gguf_writer_set(w, "nest.ragged", &ragged), HEED_OK, "%s", heed_last_error());

    const heed_gguf_str sa[] = {{"a", 1}}, sbc[] = {{"b", 1}, {"c\0d", 3}};
    heed_gguf_value srows[2] = {{.type = HEED_GGUF_ARRAY}, {.type = HEED_GGUF_ARRAY}};
    srows[0].v.arr.type = HEED_GGUF_STRING, srows[0].v.arr.n = 1, srows[0].v.arr.strs = sa;
    srows[1].v.arr.type = HEED_GGUF_STRING, srows[1].v.arr.n = 2, srows[1].v.arr.strs = sbc;
    heed_gguf_value sarr = {.type = HEED_GGUF_ARRAY};
    sarr.v.arr.type = HEED_GGUF_ARRAY, sarr.v.arr.n = 2, sarr.v.arr.items = srows;
    cr_assert_eq(heed_gguf_writer_set(w, "nest.strings", &sarr), HEED_OK, "%s", heed_last_error());

    heed_gguf_value inner = {.type = HEED_GGUF_ARRAY}, middle = {.type = HEED_GGUF_ARRAY},
                    outer = {.type = HEED_GGUF_ARRAY};
    inner.v.arr.type = HEED_GGUF_UINT32, inner.v.arr.n = 1, inner.v.arr.data = a7;
    middle.v.arr.type = HEED_GGUF_ARRAY, middle.v.arr.n = 1, middle.v.arr.items = &inner;
    outer.v.arr.type = HEED_GGUF_ARRAY, outer.v.arr.n = 1, outer.v.arr.items = &middle;
    cr_assert_eq(heed_gguf_writer_set(w, "nest.deep", &outer), HEED_OK, "%s", heed_last_error());

    heed_gguf *g = write_and_open(w, "arrays.gguf");
    for (size_t i = 0; i < n_fixed; i++) {
        snprintf(key, sizeof key, "arr.%zu", i);
        const heed_gguf_value *v = heed_gguf_get(g, key);
        cr_assert_not_null(v, "%s", key);
        heed_gguf_value want = {.type = HEED_GGUF_ARRAY};
        want.v.arr.type = fixed[i].t, want.v.arr.n = fixed[i].n, want.v.arr.data = fixed[i].p;
        cr_assert(heed_gguf_value_equal(v, &want), "%s", key);
    }
    const heed_gguf_value *v = NULL;
    cr_assert_eq(heed_gguf_get_arr(g, "arr.str", HEED_GGUF_STRING, &v), HEED_OK);
    cr_assert_eq(v->v.arr.n, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(v->v.arr.strs[i].len, strlen(strs[i]));
        cr_assert(memcmp(v->v.arr.strs[i].ptr, strs[i], strlen(strs[i])) == 0);
    }
    cr_assert_eq(heed_gguf_get_arr(g, "arr.str0", HEED_GGUF_STRING, &v), HEED_OK);
    cr_assert_eq(v->v.arr.n, 0);
    cr_assert(heed_gguf_value_equal(heed_gguf_get(g, "nest.ragged"), &ragged));
    cr_assert(heed_gguf_value_equal(heed_gguf_get(g, "nest.strings"), &sarr));
    cr_assert(heed_gguf_value_equal(heed_gguf_get(g, "nest.deep"), &outer));
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

Test(gguf_write, set_copies_deeply)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    char text[] = "before";
    uint32_t nums[] = {1, 2};
    heed_gguf_value row = {.type = HEED_GGUF_ARRAY};
    row.v.arr.type = HEED_GGUF_UINT32, row.v.arr.n = 2, row.v.arr.data = nums;
    heed_gguf_value outer = {.type = HEED_GGUF_ARRAY};
    outer.v.arr.type = HEED_GGUF_ARRAY, outer.v.arr.n = 1, outer.v.arr.items = &row;
    heed_gguf_str str = {text, 6};
    heed_gguf_value sv = {.type = HEED_GGUF_STRING, .v.str = str};
    cr_assert_eq(heed_gguf_writer_set(w, "a.nested", &outer), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set(w, "a.str", &sv), HEED_OK);
    /* Change the caller's memory after set: the file must not see it. */
    memcpy(text, "after!", 6);
    nums[0] = 99;
    row.v.arr.n = 0;

    heed_gguf *g = write_and_open(w, "deep.gguf");
    heed_gguf_str s;
    cr_assert_eq(heed_gguf_get_str(g, "a.str", &s), HEED_OK);
    cr_assert(s.len == 6 && memcmp(s.ptr, "before", 6) == 0);
    const heed_gguf_value *v = heed_gguf_get(g, "a.nested");
    cr_assert_eq(v->v.arr.items[0].v.arr.n, 2);
    cr_assert_eq(((const uint32_t *)v->v.arr.items[0].v.arr.data)[0], 1);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

Test(gguf_write, order_replace_remove)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u32(w, "k.a", 1), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u32(w, "k.b", 2), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u32(w, "k.c", 3), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_str(w, "k.b", "two"), HEED_OK); /* in place, new type */
    heed_gguf_writer_remove(w, "k.a");
    heed_gguf_writer_remove(w, "k.missing");
    cr_assert_eq(heed_gguf_writer_set_u32(w, "k.a", 4), HEED_OK);   /* now last */

    heed_gguf *g = write_and_open(w, "order.gguf");
    cr_assert_eq(heed_gguf_n_kv(g), 3);
    cr_assert_str_eq(heed_gguf_kv_key(g, 0), "k.b");
    cr_assert_str_eq(heed_gguf_kv_key(g, 1), "k.c");
    cr_assert_str_eq(heed_gguf_kv_key(g, 2), "k.a");
    heed_gguf_str s;
    cr_assert_eq(heed_gguf_get_str(g, "k.b", &s), HEED_OK);
    cr_assert(s.len == 3 && memcmp(s.ptr, "two", 3) == 0);
    uint64_t u;
    cr_assert_eq(heed_gguf_get_uint(g, "k.a", &u), HEED_OK);
    cr_assert_eq(u, 4);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
    heed_gguf_writer_free(NULL);
}

/* ------------------------------------------------------------- layout */

/* Tensors of several types and awkward sizes; alignment as given (0: the
 * default). Checks offsets, padding and data. */
static void check_layout(uint32_t alignment, const char *name)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    if (alignment)
        cr_assert_eq(heed_gguf_writer_set_u32(w, "general.alignment", alignment), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_str(w, "general.architecture", "llama"), HEED_OK);
    static uint8_t buf[4][4096];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4096; j++)
            buf[i][j] = (uint8_t)(i * 31 + j * 7 + 1);
    struct {
        const char *name;
        int type, n_dims;
        int64_t ne[4];
    } ts[] = {
        {"odd.f32", HEED_TYPE_F32, 1, {5}},
        {"q8", HEED_TYPE_Q8_0, 2, {64, 3}},           /* 34 bytes a block */
        {"f16.4d", HEED_TYPE_F16, 4, {3, 1, 2, 1}},
        {"i8", HEED_TYPE_I8, 3, {7, 1, 1}},
    };
    for (int i = 0; i < 4; i++)
        cr_assert_eq(heed_gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims,
                                                 ts[i].ne, buf[i]),
                     HEED_OK, "%s", heed_last_error());

    heed_gguf *g = write_and_open(w, name);
    uint64_t align = alignment ? alignment : 32;
    cr_assert_eq(heed_gguf_alignment(g), align);
    cr_assert_eq(heed_gguf_data_offset(g) % align, 0);
    cr_assert_eq(heed_gguf_n_tensors(g), 4);
    uint64_t expect_offset = 0;
    for (int i = 0; i < 4; i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
        cr_assert_str_eq(t->name, ts[i].name);
        cr_assert_eq(t->type, ts[i].type);
        cr_assert_eq(t->n_dims, ts[i].n_dims);
        for (int d = 0; d < 4; d++)
            cr_assert_eq(t->ne[d], d < ts[i].n_dims ? ts[i].ne[d] : 1);
        int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
        cr_assert_eq(t->nbytes, heed_type_row_size(t->type, t->ne[0]) * (uint64_t)rows);
        cr_assert_eq(t->offset, expect_offset, "%s", t->name);
        cr_assert(memcmp(t->data, buf[i], t->nbytes) == 0);
        /* The padding after each tensor is zeros. */
        const uint8_t *pad = (const uint8_t *)t->data + t->nbytes;
        uint64_t padded = (t->nbytes + align - 1) / align * align;
        for (uint64_t j = 0; j < padded - t->nbytes; j++)
            cr_assert_eq(pad[j], 0);
        expect_offset += padded;
    }
    /* Every tensor is padded, the last too, as llama.cpp writes files. */
    cr_assert_eq(heed_gguf_file_size(g), heed_gguf_data_offset(g) + expect_offset);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

Test(gguf_write, layout_default_alignment) { check_layout(0, "layout32.gguf"); }
Test(gguf_write, layout_alignment_64) { check_layout(64, "layout64.gguf"); }
Test(gguf_write, layout_alignment_4) { check_layout(4, "layout4.gguf"); }

Test(gguf_write, empty_file)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    const char *path = test_tmp_path("empty.gguf");
    cr_assert_eq(heed_gguf_writer_write(w, path), HEED_OK);
    size_t n;
    char *bytes = test_read_file(path, &n);
    /* magic, version 3, no tensors, no kv, padded to 32 */
    static const char want[32] = "GGUF\3\0\0\0";
    cr_assert_eq(n, 32);
    cr_assert(memcmp(bytes, want, 32) == 0);
    free(bytes);
    heed_gguf_writer_free(w);
}

/* ------------------------------------------------------------ rewrite */

Test(gguf_write, rewrite_is_byte_identical)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    const float data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const char *strs[] = {"x", "", "zz"};
    const int32_t nums[] = {-1, 0, 1};
    heed_gguf_value row = {.type = HEED_GGUF_ARRAY};
    row.v.arr.type = HEED_GGUF_INT32, row.v.arr.n = 3, row.v.arr.data = nums;
    heed_gguf_value rows = {.type = HEED_GGUF_ARRAY};
    rows.v.arr.type = HEED_GGUF_ARRAY, rows.v.arr.n = 1, rows.v.arr.items = &row;
    cr_assert_eq(heed_gguf_writer_set_str(w, "general.architecture", "llama"), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u32(w, "general.alignment", 16), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_f32(w, "f", 0.1f), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_arr_str(w, "s", strs, 3), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set(w, "n", &rows), HEED_OK);
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "t0", HEED_TYPE_F32, 1, (const int64_t[]){3}, data), HEED_OK);
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "t1", HEED_TYPE_F32, 2, (const int64_t[]){2, 2}, data), HEED_OK);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s", test_tmp_path("rewrite-a.gguf"));
    snprintf(b, sizeof b, "%s", test_tmp_path("rewrite-b.gguf"));
    cr_assert_eq(heed_gguf_writer_write(w, a), HEED_OK);
    heed_gguf_writer_free(w);

    heed_gguf *g = open_ok(a);
    heed_gguf_writer *w2 = copy_of(g);
    cr_assert_eq(heed_gguf_writer_write(w2, b), HEED_OK);
    cr_assert(files_equal(a, b), "rewrite of %s differs", a);
    heed_gguf_writer_free(w2);
    heed_gguf_close(g);
}

/* Each fixture, read, copied into a writer, written and read again, has the
 * same kv and tensors; and since heed lays files out as llama.cpp does, the
 * same bytes. */
static const char *fixtures[] = {
    "llama-tiny-f32.gguf", "llama-tiny-f16.gguf", "llama-tiny-bf16.gguf",
    "llama-tiny-q8_0.gguf", "llama-tiny-q6_k.gguf", "llama-tiny-q4_k.gguf",
    "llama-tiny-q4_0.gguf", "gpt2-tiny.gguf", "qwen2-tiny.gguf", "phi3-tiny.gguf",
    "gemma-tiny.gguf", "bert-tiny.gguf",
};

ParameterizedTestParameters(gguf_write, fixture_round_trip)
{
    static int idx[sizeof fixtures / sizeof fixtures[0]];
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof idx / sizeof idx[0]);
}

ParameterizedTest(int *i, gguf_write, fixture_round_trip)
{
    char src[4096], name[256];
    FIXTURE_PATH(src, fixtures[*i]);
    heed_gguf *g = open_ok(src);
    heed_gguf_writer *w = copy_of(g);
    snprintf(name, sizeof name, "copy-%s", fixtures[*i]);
    heed_gguf *h = write_and_open(w, name);
    assert_same_content(g, h);
    cr_assert(files_equal(src, heed_gguf_path(h)), "%s: rewrite differs from the original", src);
    heed_gguf_close(h);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

/* ------------------------------------------------------------- errors */

static void expect_err(heed_status got, heed_status want, const char *needle)
{
    cr_assert_eq(got, want, "got %s (%s), want %s", heed_status_name(got), heed_last_error(),
                 heed_status_name(want));
    cr_assert(strstr(heed_last_error(), needle), "message '%s' lacks '%s'", heed_last_error(), needle);
}

Test(gguf_write, tensor_errors)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    static const float data[64];
    const int64_t ne8[] = {8}, ne_q[] = {16}, ne_zero[] = {8, 0}, ne_neg[] = {-8},
                  ne_big[] = {1ll << 32, 1ll << 32};
    char name64[65];
    memset(name64, 'n', 64);
    name64[64] = '\0';
    expect_err(heed_gguf_writer_add_tensor(w, "", HEED_TYPE_F32, 1, ne8, data), HEED_ERR_ARG, "empty");
    expect_err(heed_gguf_writer_add_tensor(w, NULL, HEED_TYPE_F32, 1, ne8, data), HEED_ERR_ARG, "name");
    expect_err(heed_gguf_writer_add_tensor(w, name64, HEED_TYPE_F32, 1, ne8, data), HEED_ERR_ARG, "64 bytes");
    name64[63] = '\0'; /* 63 bytes fit */
    cr_assert_eq(heed_gguf_writer_add_tensor(w, name64, HEED_TYPE_F32, 1, ne8, data), HEED_OK);
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "t", HEED_TYPE_F32, 1, ne8, data), HEED_OK);
    expect_err(heed_gguf_writer_add_tensor(w, "t", HEED_TYPE_F32, 1, ne8, data), HEED_ERR_ARG, "duplicate tensor name 't'");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_F32, 0, ne8, data), HEED_ERR_ARG, "0 dimensions");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_F32, 5, ne8, data), HEED_ERR_ARG, "5 dimensions");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_F32, 2, ne_zero, data), HEED_ERR_ARG, "dimension 1 is 0");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_F32, 1, ne_neg, data), HEED_ERR_ARG, "dimension 0 is -8");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_F32, 2, ne_big, data), HEED_ERR_ARG, "overflow");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_Q8_0, 1, ne_q, data), HEED_ERR_ARG, "block size 32");
    expect_err(heed_gguf_writer_add_tensor(w, "u", 4, 1, ne8, data), HEED_ERR_ARG, "unknown type 4");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_COUNT, 1, ne8, data), HEED_ERR_ARG, "unknown type");
    expect_err(heed_gguf_writer_add_tensor(w, "u", -1, 1, ne8, data), HEED_ERR_ARG, "unknown type -1");
    expect_err(heed_gguf_writer_add_tensor(w, "u", HEED_TYPE_F32, 1, ne8, NULL), HEED_ERR_ARG, "data");
    /* Failures left the writer as it was: two tensors. */
    heed_gguf *g = write_and_open(w, "tensor-errors.gguf");
    cr_assert_eq(heed_gguf_n_tensors(g), 2);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

Test(gguf_write, value_errors)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u32(w, "k", 1), HEED_OK);
    expect_err(heed_gguf_writer_set_u32(w, "", 1), HEED_ERR_ARG, "key");
    expect_err(heed_gguf_writer_set_u32(w, NULL, 1), HEED_ERR_ARG, "key");
    expect_err(heed_gguf_writer_set(w, "k", NULL), HEED_ERR_ARG, "value");
    expect_err(heed_gguf_writer_set_str(w, "k", NULL), HEED_ERR_ARG, "'k'");

    heed_gguf_value bad = {.type = HEED_GGUF_TYPE_COUNT};
    expect_err(heed_gguf_writer_set(w, "k", &bad), HEED_ERR_ARG, "not a GGUF type");
    heed_gguf_value big = {.type = HEED_GGUF_UINT8, .v.u = 256};
    expect_err(heed_gguf_writer_set(w, "k", &big), HEED_ERR_ARG, "256 does not fit in");
    heed_gguf_value small = {.type = HEED_GGUF_INT16, .v.i = -40000};
    expect_err(heed_gguf_writer_set(w, "k", &small), HEED_ERR_ARG, "-40000");

    const uint8_t bools[] = {0, 2};
    expect_err(heed_gguf_writer_set_arr(w, "k", HEED_GGUF_BOOL, bools, 2), HEED_ERR_ARG, "not 0 or 1");
    expect_err(heed_gguf_writer_set_arr(w, "k", HEED_GGUF_STRING, bools, 2), HEED_ERR_ARG, "fixed-size");
    expect_err(heed_gguf_writer_set_arr(w, "k", HEED_GGUF_UINT8, NULL, 2), HEED_ERR_ARG, "no data");
    const char *strs[] = {"a", NULL};
    expect_err(heed_gguf_writer_set_arr_str(w, "k", strs, 2), HEED_ERR_ARG, "string 1 is NULL");

    /* An array of arrays whose element is not an array. */
    heed_gguf_value item = {.type = HEED_GGUF_UINT32, .v.u = 1};
    heed_gguf_value arr = {.type = HEED_GGUF_ARRAY};
    arr.v.arr.type = HEED_GGUF_ARRAY, arr.v.arr.n = 1, arr.v.arr.items = &item;
    expect_err(heed_gguf_writer_set(w, "k", &arr), HEED_ERR_ARG, "element 0");

    /* 100 levels of arrays of arrays. */
    heed_gguf_value levels[100];
    for (int i = 0; i < 100; i++) {
        levels[i] = (heed_gguf_value){.type = HEED_GGUF_ARRAY};
        levels[i].v.arr.type = i == 99 ? HEED_GGUF_UINT8 : HEED_GGUF_ARRAY;
        levels[i].v.arr.n = i == 99 ? 0 : 1;
        levels[i].v.arr.items = i == 99 ? NULL : &levels[i + 1];
    }
    expect_err(heed_gguf_writer_set(w, "k", &levels[0]), HEED_ERR_ARG, "nested deeper");

    /* general.alignment: a power-of-two uint32, at least 4 so that heed can
     * read tensor data in place. */
    expect_err(heed_gguf_writer_set_u32(w, "general.alignment", 0), HEED_ERR_ARG, "power of two");
    expect_err(heed_gguf_writer_set_u32(w, "general.alignment", 2), HEED_ERR_ARG, "at least 4");
    expect_err(heed_gguf_writer_set_u32(w, "general.alignment", 48), HEED_ERR_ARG, "power of two");
    expect_err(heed_gguf_writer_set_u64(w, "general.alignment", 32), HEED_ERR_ARG, "uint32");
    expect_err(heed_gguf_writer_set_i32(w, "general.alignment", 32), HEED_ERR_ARG, "uint32");

    /* Every failure kept the old value. */
    heed_gguf *g = write_and_open(w, "value-errors.gguf");
    cr_assert_eq(heed_gguf_n_kv(g), 1);
    uint64_t u;
    cr_assert_eq(heed_gguf_get_uint(g, "k", &u), HEED_OK);
    cr_assert_eq(u, 1);
    cr_assert_eq(heed_gguf_alignment(g), 32);
    heed_gguf_close(g);
    heed_gguf_writer_free(w);
}

Test(gguf_write, write_to_missing_folder)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    const char *path = test_tmp_path("no/such/folder/x.gguf");
    expect_err(heed_gguf_writer_write(w, path), HEED_ERR_IO, path);
    struct stat st;
    cr_assert_neq(stat(path, &st), 0);
    heed_gguf_writer_free(w);
}

Test(gguf_write, failed_rename_leaves_nothing)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    char path[512];
    snprintf(path, sizeof path, "%s", test_tmp_path("is-a-folder"));
    cr_assert_eq(mkdir(path, 0755), 0);
    expect_err(heed_gguf_writer_write(w, path), HEED_ERR_IO, path);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(count_siblings(path), 1, "a temporary file was left beside %s", path);
    heed_gguf_writer_free(w);
}

/* A write that fails half way (the file size limit) leaves the old file
 * and no temporary file. Criterion runs each test in its own process, so
 * the limit does not leak. */
Test(gguf_write, failed_write_keeps_old_file)
{
    char path[512];
    snprintf(path, sizeof path, "%s", test_tmp_path("keep.gguf"));
    write_text(path, "old contents");
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    static const uint8_t data[1 << 16];
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "big", HEED_TYPE_I8, 1, (const int64_t[]){1 << 16}, data), HEED_OK);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {4096, 4096};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    expect_err(heed_gguf_writer_write(w, path), HEED_ERR_IO, path);
    size_t n;
    char *text = test_read_file(path, &n);
    cr_assert(text && n == 12 && memcmp(text, "old contents", 12) == 0);
    free(text);
    cr_assert_eq(count_siblings(path), 1, "a temporary file was left beside %s", path);
    heed_gguf_writer_free(w);
}

Test(gguf_write, replaces_existing_file)
{
    char path[512];
    snprintf(path, sizeof path, "%s", test_tmp_path("replace.gguf"));
    write_text(path, "old contents");
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_u32(w, "k", 5), HEED_OK);
    cr_assert_eq(heed_gguf_writer_write(w, path), HEED_OK);
    heed_gguf *g = open_ok(path);
    cr_assert_eq(heed_gguf_n_kv(g), 1);
    heed_gguf_close(g);
    cr_assert_eq(count_siblings(path), 1);
    heed_gguf_writer_free(w);
}
