/*
 * fuzz_gguf.c — libFuzzer harness for the GGUF reader (and writer).
 *
 * Any input: heed_gguf_open_memory either fails with a message naming the
 * input, or succeeds and then everything it returns is consistent and
 * readable: every kv through every getter, every byte of every value and
 * of every tensor's data (AddressSanitizer catches a range outside the
 * buffer). An accepted file is also copied through the writer and read
 * back: heed must be able to rewrite whatever it can read, and get the
 * same content. `make fuzz` builds and runs it.
 */
#include "heed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME "fuzz-input"

/* Aborts (a finding for libFuzzer) when cond is false. */
#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "check failed: %s (%s:%d); last error: %s\n",       \
                    #cond, __FILE__, __LINE__, heed_last_error());              \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Folds bytes into a checksum that the compiler cannot drop. */
static volatile uint8_t sink;

static void touch(const void *p, uint64_t n)
{
    const uint8_t *b = p;
    uint8_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x ^= b[i];
    sink ^= x;
}

/* Reads every byte of a value; checks its type and shape. */
static void walk_value(const heed_gguf_value *v)
{
    CHECK((unsigned)v->type < HEED_GGUF_TYPE_COUNT);
    CHECK(heed_gguf_type_name(v->type) != NULL);
    if (v->type == HEED_GGUF_BOOL)
        sink ^= (uint8_t)v->v.b;
    if (v->type == HEED_GGUF_STRING)
        touch(v->v.str.ptr, v->v.str.len);
    if (v->type != HEED_GGUF_ARRAY)
        return;
    heed_gguf_type et = v->v.arr.type;
    CHECK((unsigned)et < HEED_GGUF_TYPE_COUNT);
    for (uint64_t i = 0; i < v->v.arr.n; i++) {
        heed_gguf_value e = heed_gguf_arr_get(v, i);
        CHECK(e.type == et);
        if (et == HEED_GGUF_STRING)
            touch(e.v.str.ptr, e.v.str.len);
        else if (et == HEED_GGUF_ARRAY)
            walk_value(&v->v.arr.items[i]);
    }
    CHECK(heed_gguf_arr_get(v, v->v.arr.n).type == HEED_GGUF_TYPE_COUNT);
    if (heed_gguf_type_size(et))
        touch(v->v.arr.data, v->v.arr.n * heed_gguf_type_size(et));
}

/* Every getter on key: each either succeeds or says why, consistently with
 * the value's type. */
static void walk_getters(const heed_gguf *g, const char *key, const heed_gguf_value *v)
{
    uint64_t u;
    int64_t i;
    double f;
    bool b;
    heed_gguf_str s;
    const heed_gguf_value *a;
    heed_status st;
    st = heed_gguf_get_uint(g, key, &u);
    CHECK(st == HEED_OK || st == HEED_ERR_TYPE);
    st = heed_gguf_get_int(g, key, &i);
    CHECK(st == HEED_OK || st == HEED_ERR_TYPE);
    CHECK((heed_gguf_get_float(g, key, &f) == HEED_OK) ==
          (v->type == HEED_GGUF_FLOAT32 || v->type == HEED_GGUF_FLOAT64));
    CHECK((heed_gguf_get_bool(g, key, &b) == HEED_OK) == (v->type == HEED_GGUF_BOOL));
    CHECK((heed_gguf_get_str(g, key, &s) == HEED_OK) == (v->type == HEED_GGUF_STRING));
    for (int t = 0; t <= HEED_GGUF_TYPE_COUNT; t++) {
        st = heed_gguf_get_arr(g, key, (heed_gguf_type)t, &a);
        bool match = v->type == HEED_GGUF_ARRAY &&
                     (t == HEED_GGUF_TYPE_COUNT || (heed_gguf_type)t == v->v.arr.type);
        CHECK((st == HEED_OK) == match);
        CHECK(!match || a == v);
    }
}

static void walk_tensor(const heed_gguf *g, const heed_gguf_tensor *t, const uint8_t *buf, size_t size)
{
    CHECK(t->name && t->name[0]);
    CHECK(heed_gguf_find_tensor(g, t->name) == t);
    CHECK(t->n_dims >= 1 && t->n_dims <= 4);
    int64_t rows = 1;
    for (int d = 0; d < 4; d++) {
        CHECK(t->ne[d] >= 1);
        CHECK(d < t->n_dims || t->ne[d] == 1);
        if (d > 0)
            rows *= t->ne[d];
    }
    CHECK(heed_type_get(t->type) != NULL);
    CHECK(t->nbytes == heed_type_row_size(t->type, t->ne[0]) * (uint64_t)rows);
    CHECK(t->offset % heed_gguf_alignment(g) == 0);
    CHECK(heed_gguf_data_offset(g) + t->offset + t->nbytes <= size);
    CHECK((const uint8_t *)t->data == buf + heed_gguf_data_offset(g) + t->offset);
    touch(t->data, t->nbytes);
}

/* Copies g through the writer into a file and reads it back: the same kv
 * and tensors must come out. */
static void round_trip(const heed_gguf *g)
{
    static char path[256];
    if (!path[0]) /* tmpfs when there is one: fsync there costs nothing */
        snprintf(path, sizeof path, "%s/fuzz_gguf-%ld.gguf",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    heed_gguf_writer *w = NULL;
    (void)heed_gguf_writer_new(&w); /* NULL: caught below */
    CHECK(w);
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++)
        CHECK(heed_gguf_writer_set(w, heed_gguf_kv_key(g, i), heed_gguf_kv_value(g, i)) == HEED_OK);
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
        CHECK(heed_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data) == HEED_OK);
    }
    CHECK(heed_gguf_writer_write(w, path) == HEED_OK);
    heed_gguf_writer_free(w);

    heed_gguf *h = NULL;
    CHECK(heed_gguf_open(path, &h) == HEED_OK);
    CHECK(heed_gguf_n_kv(h) == heed_gguf_n_kv(g));
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++) {
        CHECK(strcmp(heed_gguf_kv_key(h, i), heed_gguf_kv_key(g, i)) == 0);
        CHECK(heed_gguf_value_equal(heed_gguf_kv_value(h, i), heed_gguf_kv_value(g, i)));
    }
    CHECK(heed_gguf_n_tensors(h) == heed_gguf_n_tensors(g));
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *a = heed_gguf_tensor_at(g, i), *b = heed_gguf_tensor_at(h, i);
        CHECK(strcmp(a->name, b->name) == 0 && a->type == b->type && a->nbytes == b->nbytes);
        CHECK(a->n_dims == b->n_dims && memcmp(a->ne, b->ne, sizeof a->ne) == 0);
        CHECK(memcmp(a->data, b->data, a->nbytes) == 0);
    }
    heed_gguf_close(h);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    heed_gguf *g = NULL;
    heed_status st = heed_gguf_open_memory(data, size, NAME, &g);
    if (st != HEED_OK) {
        CHECK(g == NULL);
        CHECK(strstr(heed_last_error(), NAME) != NULL);
        return 0;
    }
    CHECK(heed_gguf_version(g) == 2 || heed_gguf_version(g) == 3);
    CHECK(heed_gguf_file_size(g) == size);
    uint64_t align = heed_gguf_alignment(g);
    CHECK(align && (align & (align - 1)) == 0);
    CHECK(heed_gguf_data_offset(g) <= size);
    /* A file without tensors may end inside the padding before its data. */
    CHECK(heed_gguf_n_tensors(g) == 0 || heed_gguf_data_offset(g) % align == 0);
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++) {
        const char *key = heed_gguf_kv_key(g, i);
        const heed_gguf_value *v = heed_gguf_kv_value(g, i);
        CHECK(key && key[0] && v);
        CHECK(heed_gguf_find_key(g, key) == i);
        CHECK(heed_gguf_get(g, key) == v);
        walk_value(v);
        walk_getters(g, key, v);
    }
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++)
        walk_tensor(g, heed_gguf_tensor_at(g, i), data, size);
    /* heed's writer refuses general.alignment below 4 (gguf_write.c). */
    if (align >= 4)
        round_trip(g);
    heed_gguf_close(g);
    return 0;
}
