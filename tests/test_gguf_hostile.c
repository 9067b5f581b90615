/*
 * test_gguf_hostile.c — the GGUF reader against malformed input: every
 * prefix of a valid file, the hand-made cases of gguf_craft.c, and every
 * file of the regression corpus tests/corpus/gguf/. Each must fail with a
 * message that names the input, and never crash (run under `make asan`).
 */
#include "testutil.h"

#include "gguf_craft.h"
#include "heed.h"

#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS_DIR HEED_SOURCE_DIR "/tests/corpus/gguf"

/* A heap copy of exactly n bytes, so AddressSanitizer sees any read past
 * the end. */
static void *exact_copy(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    cr_assert_not_null(q);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* Opens n bytes of p from memory as `name`; asserts the status, that the
 * message names the input and, if `what` is not NULL, contains it. */
static void expect_fail(const void *p, size_t n, const char *name, heed_status want, const char *what)
{
    void *buf = exact_copy(p, n);
    heed_gguf *g = (heed_gguf *)1; /* not NULL: a failure must clear it */
    heed_status st = heed_gguf_open_memory(buf, n, name, &g);
    cr_assert_eq(st, want, "%s: got %s (%s), want %s", name, heed_status_name(st),
                 heed_last_error(), heed_status_name(want));
    cr_assert_null(g, "%s: *out not NULL after a failure", name);
    cr_assert(strstr(heed_last_error(), name), "%s: message '%s' does not name the input",
              name, heed_last_error());
    if (what)
        cr_assert(strstr(heed_last_error(), what), "%s: message '%s' lacks '%s'",
                  name, heed_last_error(), what);
    free(buf);
}

Test(gguf_hostile, valid_base_opens)
{
    craft c = {0};
    craft_valid(&c);
    void *buf = exact_copy(c.p, c.n);
    heed_gguf *g = NULL;
    cr_assert_eq(heed_gguf_open_memory(buf, c.n, "valid.gguf", &g), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_gguf_n_kv(g), 4);
    cr_assert_eq(heed_gguf_n_tensors(g), 2);
    const heed_gguf_tensor *b = heed_gguf_find_tensor(g, "b");
    cr_assert_not_null(b);
    cr_assert_eq(b->offset, 32);
    cr_assert_eq((const uint8_t *)b->data + b->nbytes, (const uint8_t *)buf + c.n);
    heed_gguf_close(g);
    free(buf);
    free(c.p);
}

/* The deepest nesting the reader allows opens; one more level is a
 * crafted case. */
Test(gguf_hostile, nested_16_levels_open)
{
    craft c = {0};
    craft_nested(&c, 16);
    void *buf = exact_copy(c.p, c.n);
    heed_gguf *g = NULL;
    cr_assert_eq(heed_gguf_open_memory(buf, c.n, "nested16.gguf", &g), HEED_OK, "%s", heed_last_error());
    const heed_gguf_value *v = heed_gguf_get(g, "test.arr");
    for (int level = 1; level < 16; level++) {
        cr_assert_eq(v->v.arr.type, HEED_GGUF_ARRAY);
        cr_assert_eq(v->v.arr.n, 1);
        v = &v->v.arr.items[0];
    }
    cr_assert_eq(v->v.arr.type, HEED_GGUF_UINT8);
    cr_assert_eq(v->v.arr.n, 0);
    heed_gguf_close(g);
    free(buf);
    free(c.p);
}

/* Cutting the valid file anywhere must fail: its data ends at its end. */
Test(gguf_hostile, truncated_at_every_byte)
{
    craft c = {0};
    craft_valid(&c);
    for (size_t n = 0; n < c.n; n++) {
        char name[64];
        snprintf(name, sizeof name, "cut-at-%zu.gguf", n);
        expect_fail(c.p, n, name, HEED_ERR_FORMAT, NULL);
    }
    free(c.p);
}

ParameterizedTestParameters(gguf_hostile, crafted)
{
    static size_t idx[128];
    cr_assert(craft_n_cases <= 128);
    for (size_t i = 0; i < craft_n_cases; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, craft_n_cases);
}

ParameterizedTest(size_t *i, gguf_hostile, crafted)
{
    const craft_case *k = &craft_cases[*i];
    craft c = {0};
    k->build(&c);
    char name[128];
    snprintf(name, sizeof name, "%s.gguf", k->name);
    expect_fail(c.p, c.n, name, k->expect, k->what);
    free(c.p);
}

/* Every file of the corpus, from disk and from memory, fails cleanly. */
Test(gguf_hostile, corpus)
{
    DIR *d = opendir(CORPUS_DIR);
    cr_assert_not_null(d, "cannot open %s", CORPUS_DIR);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, e->d_name);
        heed_gguf *g = NULL;
        heed_status st = heed_gguf_open(path, &g);
        cr_assert_neq(st, HEED_OK, "%s opened", path);
        cr_assert_null(g);
        cr_assert(strstr(heed_last_error(), path), "message '%s' does not name %s",
                  heed_last_error(), path);
        size_t size;
        void *bytes = test_read_file(path, &size);
        cr_assert_not_null(bytes);
        expect_fail(bytes, size, e->d_name, st, NULL);
        free(bytes);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, (int)craft_n_cases, "only %d files in %s", n, CORPUS_DIR);
}

/* The committed corpus holds what the generator makes today: rerun
 * tests/corpus/make_corpus.c after changing a case. */
Test(gguf_hostile, corpus_is_current)
{
    for (size_t i = 0; i < craft_n_cases; i++) {
        craft c = {0};
        craft_cases[i].build(&c);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.gguf", CORPUS_DIR, craft_cases[i].name);
        size_t n;
        void *bytes = test_read_file(path, &n);
        cr_assert_not_null(bytes, "%s is missing", path);
        cr_assert(n == c.n && memcmp(bytes, c.p, n) == 0, "%s is stale", path);
        free(bytes);
        free(c.p);
    }
}
