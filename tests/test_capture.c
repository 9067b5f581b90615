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

/* Layer 0 of the f32 llama fixture recomputed here in double, straight from
 * the file's weights: embeddings, RMSNorm, q = Wq h and k = Wk h, RoPE on
 * adjacent pairs, softmax(q·k/√d) over keys 0..p. The captured weights
 * must agree within 1e-5. */
Test(capture, matches_an_independent_softmax_of_q_and_k)
{
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-f32.gguf");
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
    const float *emb = heed_gguf_find_tensor(g, "token_embd.weight")->data;
    const float *norm = heed_gguf_find_tensor(g, "blk.0.attn_norm.weight")->data;
    const float *wq = heed_gguf_find_tensor(g, "blk.0.attn_q.weight")->data;
    const float *wk = heed_gguf_find_tensor(g, "blk.0.attn_k.weight")->data;
    enum { E = 256, HD = 64, NH = 4, NKV = 2, N = 10 };
    const int32_t ids[N] = {1, 450, 13019, 3282, 29915, 29873, 4891, 278, 11952, 1363};
    static double q[N][NH * HD], k[N][NKV * HD];
    for (int t = 0; t < N; t++) {
        const float *x = emb + (size_t)ids[t] * E;
        double ss = 0, h[E];
        for (int i = 0; i < E; i++)
            ss += (double)x[i] * x[i];
        const double scale = 1.0 / sqrt(ss / E + 1e-5);
        for (int i = 0; i < E; i++)
            h[i] = x[i] * scale * norm[i];
        for (int o = 0; o < NH * HD; o++) {
            double s = 0;
            for (int i = 0; i < E; i++)
                s += wq[(size_t)o * E + i] * h[i];
            q[t][o] = s;
        }
        for (int o = 0; o < NKV * HD; o++) {
            double s = 0;
            for (int i = 0; i < E; i++)
                s += wk[(size_t)o * E + i] * h[i];
            k[t][o] = s;
        }
        for (int hh = 0; hh < NH + NKV; hh++) { /* RoPE, adjacent pairs, base 1e4 */
            double *v = hh < NH ? q[t] + hh * HD : k[t] + (hh - NH) * HD;
            for (int i = 0; i < HD / 2; i++) {
                const double a = t * pow(10000.0, -2.0 * i / HD);
                const double x0 = v[2 * i], x1 = v[2 * i + 1];
                v[2 * i] = x0 * cos(a) - x1 * sin(a);
                v[2 * i + 1] = x0 * sin(a) + x1 * cos(a);
            }
        }
    }
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK);
    heed_context *c;
    heed_capture *cap;
    cr_assert_eq(heed_context_new(m, NULL, &c), HEED_OK);
    cr_assert_eq(heed_capture_new(m, N, 1 << 24, &cap), HEED_OK);
    heed_context_set_capture(c, cap);
    cr_assert_eq(heed_context_eval(c, ids, N, NULL, false), HEED_OK);
    double worst = 0;
    for (int h = 0; h < NH; h++)
        for (int p = 0; p < N; p++) {
            double s[N], max = -INFINITY, sum = 0;
            for (int j = 0; j <= p; j++) {
                s[j] = 0;
                for (int d = 0; d < HD; d++)
                    s[j] += q[p][h * HD + d] * k[j][(h / (NH / NKV)) * HD + d];
                s[j] /= sqrt((double)HD);
                max = fmax(max, s[j]);
            }
            for (int j = 0; j <= p; j++)
                sum += s[j] = exp(s[j] - max);
            const float *row = heed_capture_row(cap, 0, h, p);
            for (int j = 0; j <= p; j++)
                worst = fmax(worst, fabs(row[j] - s[j] / sum));
        }
    cr_log_info("capture vs independent softmax: max |diff| %.2g", worst);
    cr_expect_leq(worst, 1e-5, "max |diff| %g", worst);
    heed_capture_free(cap);
    heed_context_free(c);
    heed_model_free(m);
    heed_gguf_close(g);
}
