/* test_capture.c — attention capture: rows are distributions over the keys
 * the mask lets a query see, the rest are exactly 0, and turning capture on
 * changes no logit bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static heed_model *load(const char *name)
{
    char path[4096];
    FIXTURE_PATH(path, name);
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    return m;
}

static void check_capture(const char *fixture, int n_head)
{
    heed_model *m = load(fixture);
    const int32_t ids[] = {1, 450, 13019, 3282, 29915, 29873, 4891, 278};
    const int n = 8, steps = 3, N = n + steps;
    const size_t V = (size_t)heed_model_n_vocab(m);
    float *plain = malloc(sizeof(float) * V * n), *seen = malloc(sizeof(float) * V * n);
    float *p1 = malloc(sizeof(float) * V), *s1 = malloc(sizeof(float) * V);
    heed_context *a, *b;
    cr_assert_eq(heed_context_new(m, NULL, &a), HEED_OK);
    cr_assert_eq(heed_context_new(m, NULL, &b), HEED_OK);
    heed_capture *cap;
    cr_assert_eq(heed_capture_new(m, N, 1 << 30, &cap), HEED_OK, "%s", heed_last_error());
    heed_context_set_capture(b, cap);
    cr_assert_eq(heed_context_eval(a, ids, n, plain, true), HEED_OK);
    cr_assert_eq(heed_context_eval(b, ids, n, seen, true), HEED_OK);
    cr_expect(memcmp(plain, seen, sizeof(float) * V * n) == 0, "capture changed a logit");
    for (int s = 0; s < steps; s++) { /* decode steps are captured too */
        const int32_t next = 100 + s;
        cr_assert_eq(heed_context_eval(a, &next, 1, p1, false), HEED_OK);
        cr_assert_eq(heed_context_eval(b, &next, 1, s1, false), HEED_OK);
        cr_expect(memcmp(p1, s1, sizeof(float) * V) == 0, "step %d: capture changed a logit", s);
    }
    for (int l = 0; l < heed_model_n_layer(m); l++)
        for (int h = 0; h < n_head; h++)
            for (int q = 0; q < N; q++) {
                const float *row = heed_capture_row(cap, l, h, q);
                cr_assert_not_null(row);
                double sum = 0;
                for (int k = 0; k <= q; k++) {
                    cr_expect(row[k] >= 0.0f);
                    sum += row[k];
                }
                cr_expect_float_eq(sum, 1.0, 1e-5, "layer %d head %d query %d", l, h, q);
                for (int k = q + 1; k < N; k++)
                    cr_expect(row[k] == 0.0f, "masked key %d of query %d is %g", k, q, row[k]);
            }
    cr_expect_null(heed_capture_row(cap, heed_model_n_layer(m), 0, 0));
    cr_expect_null(heed_capture_row(cap, 0, n_head, 0));
    cr_expect_null(heed_capture_row(cap, 0, 0, N));
    free(plain);
    free(seen);
    free(p1);
    free(s1);
    heed_capture_free(cap);
    heed_context_free(a);
    heed_context_free(b);
    heed_model_free(m);
}

Test(capture, llama_grouped_query) { check_capture("llama-tiny-f32.gguf", 4); }
Test(capture, qwen2_multi_query) { check_capture("qwen2-tiny.gguf", 2); }

/* An encoder's rows see the keys after the query too. */
Test(capture, bert_is_bidirectional)
{
    heed_model *m = load("bert-tiny.gguf");
    const int32_t ids[] = {101, 1996, 4111, 2134, 102};
    heed_context *c;
    cr_assert_eq(heed_context_new(m, NULL, &c), HEED_OK);
    heed_capture *cap;
    cr_assert_eq(heed_capture_new(m, 5, 1 << 20, &cap), HEED_OK);
    heed_context_set_capture(c, cap);
    float out[32];
    cr_assert_eq(heed_context_embed(c, ids, 5, HEED_POOLING_CLS, out), HEED_OK);
    const float *row = heed_capture_row(cap, 0, 0, 0);
    double sum = 0;
    for (int k = 0; k < 5; k++) {
        cr_expect_gt(row[k], 0.0f, "key %d", k);
        sum += row[k];
    }
    cr_expect_float_eq(sum, 1.0, 1e-5);
    heed_capture_free(cap);
    heed_context_free(c);
    heed_model_free(m);
}

Test(capture, refuses_more_memory_than_allowed)
{
    heed_model *m = load("llama-tiny-f32.gguf");
    heed_capture *cap = (heed_capture *)1;
    cr_expect_eq(heed_capture_bytes(m, 4096), (int64_t)4 * 2 * 4 * 4096 * 4096);
    cr_expect_eq(heed_capture_new(m, 4096, 1 << 28, &cap), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "needs 512.0 MiB"), "%s", heed_last_error());
    cr_expect_null(cap);
    heed_model_free(m);
}
