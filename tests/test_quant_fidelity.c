/*
 * test_quant_fidelity.c — heed quantises the fixture model exactly as
 * llama.cpp did.
 *
 * llama-tiny-{f16,bf16,q8_0,q4_0,q4_k,q6_k}.gguf were made from
 * llama-tiny-f32.gguf by `llama-quantize --pure` (llama.cpp c392e50, no
 * importance matrix): every 2-D tensor has the target type, 1-D norms stay
 * F32. For every tensor we quantise the F32 original with heed and expect
 * the file's bytes, and dequantise the file's tensor and expect it within
 * the type's error bound of the original (quant_bounds.c).
 */
#include "testutil.h"
#include "quant_bounds.h"

#include "heed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static heed_gguf *open_fixture(const char *path)
{
    heed_gguf *g = NULL;
    heed_status st = heed_gguf_open(path, &g);
    cr_assert_eq(st, HEED_OK, "%s: %s", path, heed_last_error());
    return g;
}

/* Compares tensor t of the quantised file with its F32 original ref. */
static void check_tensor(const heed_gguf_tensor *t, const heed_gguf_tensor *ref, int type)
{
    for (int d = 0; d < 4; d++)
        cr_assert_eq(t->ne[d], ref->ne[d], "%s: dimension %d", t->name, d);
    cr_assert_eq(ref->type, HEED_TYPE_F32, "%s in the F32 file", t->name);
    if (t->n_dims < 2) {
        cr_assert_eq(t->type, HEED_TYPE_F32, "%s: 1-D tensors stay F32", t->name);
        cr_expect(t->nbytes == ref->nbytes && memcmp(t->data, ref->data, t->nbytes) == 0,
                  "%s: 1-D tensor changed", t->name);
        return;
    }
    cr_assert_eq(t->type, type, "%s has type %s", t->name, heed_type_name(t->type));

    const heed_type_traits *tt = heed_type_get(type);
    const int64_t n = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3];
    const size_t row_size = heed_type_row_size(type, n);
    cr_assert(row_size > 0, "%s: row of %lld", t->name, (long long)n);
    cr_assert_eq(t->nbytes, row_size * (uint64_t)rows, "%s: size", t->name);

    unsigned char *mine = malloc(row_size);
    float *y = malloc(sizeof(float) * (size_t)n);
    cr_assert(mine && y);
    int64_t blocks_differ = 0, first_differ = -1;
    qb_result res = {0};
    for (int64_t r = 0; r < rows; r++) {
        const float *x = (const float *)ref->data + r * n;
        const unsigned char *theirs = (const unsigned char *)t->data + r * row_size;
        tt->from_float(x, mine, n);
        for (size_t b = 0; b < row_size / tt->type_size; b++) {
            if (memcmp(mine + b * tt->type_size, theirs + b * tt->type_size, tt->type_size)) {
                if (first_differ < 0)
                    first_differ = r * (int64_t)(row_size / tt->type_size) + (int64_t)b;
                blocks_differ++;
            }
        }
        tt->to_float(theirs, y, n);
        qb_check_row(type, x, theirs, y, n, &res);
    }
    cr_expect_eq(blocks_differ, 0, "%s (%s): %lld of %lld blocks differ from llama.cpp's, first #%lld",
                 t->name, tt->name, (long long)blocks_differ,
                 (long long)(rows * (int64_t)(row_size / tt->type_size)), (long long)first_differ);
    cr_expect_eq(res.n_bad, 0, "%s: %lld elements out of bound; first: %s", t->name,
                 (long long)res.n_bad, res.first_bad);
    cr_expect_eq(res.n_unbounded, 0, "%s: sub-blocks with a zero scale", t->name);
    /* the weights are Gaussian, so the RMS bound applies as well */
    double rel = sqrt(res.sum_err2 / res.sum_x2);
    cr_expect_leq(rel, qb_rms_bound(type), "%s: RMS error %.4g of RMS", t->name, rel);
    free(mine);
    free(y);
}

static void check_fixture(const char *name, int type)
{
    char ref_path[4096], path[4096];
    FIXTURE_PATH(ref_path, "llama-tiny-f32.gguf");
    FIXTURE_PATH(path, name);
    heed_gguf *ref = open_fixture(ref_path);
    heed_gguf *g = open_fixture(path);

    cr_assert_eq(heed_gguf_n_tensors(g), heed_gguf_n_tensors(ref));
    int n_2d = 0;
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
        cr_assert_not_null(t);
        const heed_gguf_tensor *r = heed_gguf_find_tensor(ref, t->name);
        cr_assert_not_null(r, "%s not in the F32 file", t->name);
        check_tensor(t, r, type);
        n_2d += t->n_dims >= 2;
    }
    /* token_embd + 7 matrices in each of 2 layers */
    cr_expect_eq(n_2d, 15);
    heed_gguf_close(g);
    heed_gguf_close(ref);
}

Test(quant_fidelity, f16) { check_fixture("llama-tiny-f16.gguf", HEED_TYPE_F16); }
Test(quant_fidelity, bf16) { check_fixture("llama-tiny-bf16.gguf", HEED_TYPE_BF16); }
Test(quant_fidelity, q8_0) { check_fixture("llama-tiny-q8_0.gguf", HEED_TYPE_Q8_0); }
Test(quant_fidelity, q4_0) { check_fixture("llama-tiny-q4_0.gguf", HEED_TYPE_Q4_0); }
Test(quant_fidelity, q4_k) { check_fixture("llama-tiny-q4_k.gguf", HEED_TYPE_Q4_K); }
Test(quant_fidelity, q6_k) { check_fixture("llama-tiny-q6_k.gguf", HEED_TYPE_Q6_K); }
