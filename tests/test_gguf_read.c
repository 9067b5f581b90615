/* test_gguf_read.c — the GGUF reader on real files: values, typed getters
 * and their messages, tensor infos, v2 files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static heed_gguf *open_fixture(const char *name)
{
    char path[4096];
    FIXTURE_PATH(path, name);
    heed_gguf *g = NULL;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    return g;
}

static bool str_is(heed_gguf_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

Test(gguf_read, values_and_typed_getters)
{
    heed_gguf *g = open_fixture("llama-tiny-f32.gguf");
    cr_expect_eq(heed_gguf_version(g), 3);
    cr_expect_eq(heed_gguf_alignment(g), 32);
    heed_gguf_str s;
    cr_assert_eq(heed_gguf_get_str(g, "general.architecture", &s), HEED_OK);
    cr_expect(str_is(s, "llama"));
    uint64_t u;
    int64_t i;
    double f;
    bool b;
    cr_expect_eq(heed_gguf_get_uint(g, "llama.block_count", &u), HEED_OK);
    cr_expect_eq(u, 2);
    cr_expect_eq(heed_gguf_get_int(g, "llama.attention.head_count_kv", &i), HEED_OK);
    cr_expect_eq(i, 2);
    cr_expect_eq(heed_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &f), HEED_OK);
    cr_expect_eq((float)f, 1e-5f);
    cr_expect_eq(heed_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b), HEED_OK);
    cr_expect(b);

    const heed_gguf_value *tokens, *scores;
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &tokens), HEED_OK);
    cr_expect_eq(tokens->v.arr.n, 32000);
    heed_gguf_value t1 = heed_gguf_arr_get(tokens, 1);
    cr_expect_eq(t1.type, HEED_GGUF_STRING);
    cr_expect(str_is(t1.v.str, "<s>"));
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, &scores), HEED_OK);
    cr_expect_eq(heed_gguf_arr_get(scores, 0).type, HEED_GGUF_FLOAT32);
    cr_expect_eq(heed_gguf_arr_get(scores, 32000).type, HEED_GGUF_TYPE_COUNT);
    cr_expect_eq(heed_gguf_arr_get(heed_gguf_get(g, "llama.block_count"), 0).type,
                 HEED_GGUF_TYPE_COUNT);
    heed_gguf_close(g);
}

Test(gguf_read, getter_errors_name_the_key_and_types)
{
    heed_gguf *g = open_fixture("llama-tiny-f32.gguf");
    heed_gguf_str s;
    uint64_t u;
    double f;
    const heed_gguf_value *a;
    cr_expect_eq(heed_gguf_get_str(g, "llama.block_count", &s), HEED_ERR_TYPE);
    cr_expect(strstr(heed_last_error(), "'llama.block_count' has type uint32 (expected string)"),
              "%s", heed_last_error());
    cr_expect(strstr(heed_last_error(), "llama-tiny-f32.gguf"), "%s", heed_last_error());
    cr_expect_eq(heed_gguf_get_uint(g, "no.such.key", &u), HEED_ERR_NOT_FOUND);
    cr_expect(strstr(heed_last_error(), "'no.such.key' is missing"), "%s", heed_last_error());
    cr_expect_eq(heed_gguf_get_float(g, "general.architecture", &f), HEED_ERR_TYPE);
    cr_expect_eq(heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_INT32, &a), HEED_ERR_TYPE);
    cr_expect(strstr(heed_last_error(), "array of string (expected an array of int32)"),
              "%s", heed_last_error());
    cr_expect_eq(heed_gguf_find_key(g, "no.such.key"), -1);
    cr_expect_null(heed_gguf_get(g, "no.such.key"));
    heed_gguf_close(g);
}

Test(gguf_read, tensor_infos)
{
    heed_gguf *g = open_fixture("llama-tiny-q4_k.gguf");
    cr_expect_eq(heed_gguf_n_tensors(g), 2 + 2 * 9);
    const heed_gguf_tensor *t = heed_gguf_find_tensor(g, "token_embd.weight");
    cr_assert_not_null(t);
    cr_expect_eq(t->type, HEED_TYPE_Q4_K);
    cr_expect_eq(t->n_dims, 2);
    cr_expect_eq(t->ne[0], 256);
    cr_expect_eq(t->ne[1], 32000);
    cr_expect_eq(t->ne[2], 1);
    cr_expect_eq(t->nbytes, heed_type_row_size(HEED_TYPE_Q4_K, 256) * 32000);
    cr_expect_eq((heed_gguf_data_offset(g) + t->offset) % heed_gguf_alignment(g), 0);
    cr_expect_null(heed_gguf_find_tensor(g, "no.such.tensor"));
    cr_expect_null(heed_gguf_tensor_at(g, heed_gguf_n_tensors(g)));
    /* The last tensor ends exactly at the end of the file. */
    uint64_t end = 0;
    for (int64_t k = 0; k < heed_gguf_n_tensors(g); k++) {
        const heed_gguf_tensor *x = heed_gguf_tensor_at(g, k);
        if (x->offset + x->nbytes > end)
            end = x->offset + x->nbytes;
    }
    cr_expect_eq(heed_gguf_data_offset(g) + end, heed_gguf_file_size(g));
    heed_gguf_close(g);
}

/* v2 has v3's layout; only the version field differs. */
Test(gguf_read, version_2_file)
{
    char path[4096];
    FIXTURE_PATH(path, "qwen2-tiny.gguf");
    size_t n;
    unsigned char *bytes = test_read_file(path, &n);
    cr_assert_not_null(bytes);
    bytes[4] = 2;
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open_memory(bytes, n, "v2.gguf", &g), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(heed_gguf_version(g), 2);
    cr_expect_not_null(heed_gguf_find_tensor(g, "blk.1.attn_q.bias"));
    heed_gguf_close(g);
    free(bytes);
}

Test(gguf_read, missing_file_is_an_io_error)
{
    heed_gguf *g = (heed_gguf *)1;
    cr_expect_eq(heed_gguf_open("/nonexistent/x.gguf", &g), HEED_ERR_IO);
    cr_expect_null(g);
    cr_expect(strstr(heed_last_error(), "/nonexistent/x.gguf: cannot open"), "%s", heed_last_error());
    cr_expect_eq(heed_gguf_open("/tmp", &g), HEED_ERR_IO);
}
