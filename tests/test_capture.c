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
    const heed_capture_params cp = heed_capture_default_params(N);
    cr_assert_eq(heed_capture_new(m, &cp, &cap), HEED_OK, "%s", heed_last_error());
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
    const heed_capture_params cp = heed_capture_default_params(5);
    cr_assert_eq(heed_capture_new(m, &cp, &cap), HEED_OK);
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
    heed_capture_params p = heed_capture_default_params(4096);
    p.max_bytes = 1 << 28;
    cr_expect_eq(heed_capture_bytes(m, &p), (int64_t)4 * 2 * 4 * 4096 * 4096);
    cr_expect_eq(heed_capture_new(m, &p, &cap), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "needs 512.0 MiB"), "%s", heed_last_error());
    cr_expect_null(cap);
    /* restricting layers, heads and rows, or keeping the top 8 keys, fits */
    const int layer = 1, heads[] = {0, 3};
    p.layers = &layer;
    p.n_layers = 1;
    p.heads = heads;
    p.n_heads = 2;
    p.row_begin = 4000;
    cr_expect_eq(heed_capture_bytes(m, &p), (int64_t)4 * 1 * 2 * 96 * 4096);
    p.layers = p.heads = NULL;
    p.row_begin = 0;
    p.top_k = 8;
    cr_expect_eq(heed_capture_bytes(m, &p), (int64_t)8 * 2 * 4 * 4096 * 8);
    cr_expect_eq(heed_capture_new(m, &p, &cap), HEED_OK);
    heed_capture_free(cap);
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
    heed_context_params xp = heed_context_default_params();
    xp.type_k = xp.type_v = HEED_TYPE_F32; /* the keys the double-precision oracle has */
    cr_assert_eq(heed_context_new(m, &xp, &c), HEED_OK);
    const heed_capture_params cp = heed_capture_default_params(N);
    cr_assert_eq(heed_capture_new(m, &cp, &cap), HEED_OK);
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

/* ---- every decoder fixture: captured rows against softmax(scale·q·k)
 * recomputed in double from the queries and keys the operator saw (the
 * qk tap) — soft-capped, over the window where the layer has them, a
 * sink in the denominator (and its share as captured), every
 * key outside it captured as 0 — for a prompt and for decode steps; and
 * the logits with capture on are those without, bit for bit */

typedef struct qk_check {
    const heed_capture *cap;
    double worst;
    int rows;
} qk_check;

static void check_rows(void *user, const heed_qk *qk)
{
    qk_check *chk = user;
    const int group = qk->n_head / qk->n_kv_head;
    double *s = malloc(sizeof *s * (size_t)qk->n_kv);
    for (int i = 0; i < qk->n_q; i++)
        for (int h = 0; h < qk->n_head; h++) {
            const int64_t pos = qk->q_pos0 + i;
            /* the keys [first, last] by position it sees */
            const int64_t last = qk->causal ? pos : qk->k_pos0 + qk->n_kv - 1;
            const int64_t first = qk->causal && qk->window > 0 && pos - qk->window + 1 > 0
                                      ? pos - qk->window + 1 : 0;
            cr_assert_geq(first, qk->k_pos0, "a key the query sees was dropped");
            const float *q = qk->q + i * qk->q_stride + (int64_t)h * qk->head_dim;
            double max = -INFINITY, sum = 0;
            for (int64_t p = first; p <= last; p++) {
                const int64_t j = p - qk->k_pos0;
                const float *k = qk->k + (h / group) * qk->kv_head_stride + j * qk->kv_stride;
                double dot = 0;
                for (int d = 0; d < qk->head_dim; d++)
                    dot += (double)q[d] * k[d];
                s[j] = qk->scale * dot;
                if (qk->softcap > 0)
                    s[j] = qk->softcap * tanh(s[j] / qk->softcap);
                max = fmax(max, s[j]);
            }
            if (qk->sinks) /* one more score, with no key */
                max = fmax(max, qk->sinks[h]);
            for (int64_t p = first; p <= last; p++)
                sum += s[p - qk->k_pos0] = exp(s[p - qk->k_pos0] - max);
            if (qk->sinks) {
                sum += exp(qk->sinks[h] - max);
                chk->worst = fmax(chk->worst, fabs(heed_capture_sink(chk->cap, qk->layer, h, (int)pos) -
                                                   exp(qk->sinks[h] - max) / sum));
            }
            const float *row = heed_capture_row(chk->cap, qk->layer, h, (int)pos);
            cr_assert_not_null(row);
            for (int p = 0; p < heed_capture_n_tokens(chk->cap); p++)
                if (p >= first && p <= last)
                    chk->worst = fmax(chk->worst, fabs(row[p] - s[p - qk->k_pos0] / sum));
                else
                    cr_assert(row[p] == 0.0f, "layer %d head %d: key %d outside the query "
                              "%lld's view has weight %g", qk->layer, h, p, (long long)pos,
                              row[p]);
            chk->rows++;
        }
    free(s);
}

/* A prompt of n tokens, then `steps` decode steps. */
static void check_model(heed_model *m, const char *fixture, heed_type kv, int n, int steps)
{
    const int32_t V = heed_model_n_vocab(m);
    int32_t ids[64];
    for (int i = 0; i < n + steps; i++) /* any ids the vocabulary has */
        ids[i] = (int32_t)((i * 7919 + 13) % V);
    heed_context *c, *plain;
    heed_capture *cap;
    heed_context_params xp = heed_context_default_params();
    xp.type_k = xp.type_v = kv;
    cr_assert_eq(heed_context_new(m, &xp, &c), HEED_OK);
    cr_assert_eq(heed_context_new(m, &xp, &plain), HEED_OK);
    const heed_capture_params cp = heed_capture_default_params(n + steps);
    cr_assert_eq(heed_capture_new(m, &cp, &cap), HEED_OK);
    qk_check chk = {cap, 0, 0};
    heed_context_set_capture(c, cap);
    heed_context_set_qk_tap(c, check_rows, &chk);
    float *seen = malloc(sizeof(float) * (size_t)V * n), *want = malloc(sizeof(float) * (size_t)V * n);
    cr_assert_eq(heed_context_eval(c, ids, n, seen, true), HEED_OK);
    cr_assert_eq(heed_context_eval(plain, ids, n, want, true), HEED_OK);
    cr_expect(!memcmp(seen, want, sizeof(float) * (size_t)V * n),
              "%s, %s cache: capture changed a logit", fixture, heed_type_name(kv));
    for (int s = 0; s < steps; s++) { /* decode steps, bit for bit too */
        cr_assert_eq(heed_context_eval(c, ids + n + s, 1, seen, false), HEED_OK);
        cr_assert_eq(heed_context_eval(plain, ids + n + s, 1, want, false), HEED_OK);
        cr_expect(!memcmp(seen, want, sizeof(float) * (size_t)V), "%s step %d", fixture, s);
    }
    free(seen);
    free(want);
    heed_context_free(plain);
    cr_expect_eq(chk.rows, heed_model_n_layer(m) * heed_model_n_head(m) * (n + steps));
    cr_log_info("%s, %s cache: capture vs softmax of the tapped q, k: max |diff| %.2g", fixture,
                heed_type_name(kv), chk.worst);
    cr_expect_leq(chk.worst, 1e-5, "%s: max |diff| %g", fixture, chk.worst);
    heed_capture_free(cap);
    heed_context_free(c);
    heed_model_free(m);
}

static void check_fixture(const char *fixture, heed_type kv)
{
    check_model(load(fixture), fixture, kv, 9, 3);
}

/* A tiny synth model of shape, a prompt longer than its window of 16. */
static void check_synth(const char *shape)
{
    const char *path = test_tmp_path(shape);
    cr_assert_eq(heed_synth(shape, HEED_TYPE_F32, 1, 2, path), HEED_OK, "%s", heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    check_model(m, shape, HEED_TYPE_F16, 30, 4);
}

Test(capture_vs_qk, llama_f32) { check_fixture("llama-tiny-f32.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, llama_f16) { check_fixture("llama-tiny-f16.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, llama_bf16) { check_fixture("llama-tiny-bf16.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, llama_q8_0) { check_fixture("llama-tiny-q8_0.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, llama_q4_0) { check_fixture("llama-tiny-q4_0.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, llama_q4_k) { check_fixture("llama-tiny-q4_k.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, llama_q6_k) { check_fixture("llama-tiny-q6_k.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, qwen2) { check_fixture("qwen2-tiny.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, phi3) { check_fixture("phi3-tiny.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, gemma) { check_fixture("gemma-tiny.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, gpt2) { check_fixture("gpt2-tiny.gguf", HEED_TYPE_F16); }
Test(capture_vs_qk, stories260K) { check_fixture("stories260K.bin", HEED_TYPE_F16); }
Test(capture_vs_qk, qwen3) { check_synth("tiny-qwen3"); }
Test(capture_vs_qk, gpt_oss_sinks) { check_synth("tiny-gpt-oss"); }
Test(capture_vs_qk, smollm3_layers_without_rope) { check_synth("tiny-smollm3"); }
Test(capture_vs_qk, gemma2_window_and_softcap) { check_synth("tiny-gemma2"); }
Test(capture_vs_qk, gemma3_windows) { check_synth("tiny-gemma3"); }

/* ---- selection, top-k, the .npy file and telemetry, each against a full
 * dense capture of the same run */

static heed_capture *run_captured(heed_model *m, const heed_capture_params *p)
{
    const int32_t ids[] = {1, 450, 13019, 3282, 29915, 29873, 4891, 278, 11952, 1363};
    heed_context *c;
    heed_capture *cap;
    cr_assert_eq(heed_context_new(m, NULL, &c), HEED_OK);
    cr_assert_eq(heed_capture_new(m, p, &cap), HEED_OK, "%s", heed_last_error());
    heed_context_set_capture(c, cap);
    cr_assert_eq(heed_context_eval(c, ids, 7, NULL, false), HEED_OK);
    for (int s = 7; s < 10; s++) /* decode steps */
        cr_assert_eq(heed_context_eval(c, ids + s, 1, NULL, false), HEED_OK);
    heed_context_free(c);
    return cap;
}

Test(capture_select, layers_heads_and_rows)
{
    heed_model *m = load("llama-tiny-f32.gguf");
    heed_capture_params p = heed_capture_default_params(10);
    heed_capture *full = run_captured(m, &p);
    const int layer = 1, heads[] = {3, 0};
    p.layers = &layer;
    p.n_layers = 1;
    p.heads = heads;
    p.n_heads = 2;
    p.row_begin = 5;
    p.row_end = 9;
    heed_capture *part = run_captured(m, &p);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 4; h++)
            for (int q = 0; q < 10; q++) {
                const bool kept = l == 1 && (h == 0 || h == 3) && q >= 5 && q < 9;
                cr_expect_eq(heed_capture_has(part, l, h, q), kept, "%d %d %d", l, h, q);
                const float *row = heed_capture_row(part, l, h, q);
                if (kept)
                    cr_expect(!memcmp(row, heed_capture_row(full, l, h, q), sizeof(float) * 10));
                else
                    cr_expect_null(row);
            }
    heed_capture_free(part);
    const int twice[] = {1, 1}, missing = 2;
    p.heads = twice;
    cr_expect_eq(heed_capture_new(m, &p, &part), HEED_ERR_ARG);
    p.heads = NULL;
    p.layers = &missing;
    cr_expect_eq(heed_capture_new(m, &p, &part), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "layer 2 does not exist"), "%s", heed_last_error());
    heed_capture_free(full);
    heed_capture_free(run_captured(m, &(heed_capture_params){.n_tokens = 10, .row_begin = 9,
                                                             .max_bytes = 1 << 20}));
    heed_model_free(m);
}

Test(capture_select, top_k_keeps_the_largest_keys)
{
    heed_model *m = load("llama-tiny-f32.gguf");
    heed_capture_params p = heed_capture_default_params(10);
    heed_capture *full = run_captured(m, &p);
    p.top_k = 3;
    heed_capture *top = run_captured(m, &p);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 4; h++)
            for (int q = 0; q < 10; q++) {
                const float *row = heed_capture_row(full, l, h, q);
                const int32_t *keys;
                const float *w;
                const int count = heed_capture_top(top, l, h, q, &keys, &w);
                cr_assert_eq(count, q + 1 < 3 ? q + 1 : 3);
                for (int i = 0; i < count; i++) {
                    cr_expect_eq(w[i], row[keys[i]]);
                    cr_expect(i == 0 || w[i] <= w[i - 1]);
                    int larger = 0; /* keys above this one in the dense row */
                    for (int k = 0; k < 10; k++)
                        larger += row[k] > w[i] || (row[k] == w[i] && k < keys[i]);
                    cr_expect_eq(larger, i, "layer %d head %d query %d rank %d", l, h, q, i);
                }
            }
    cr_expect_null(heed_capture_row(top, 0, 0, 0));
    heed_capture_free(full);
    heed_capture_free(top);
    heed_model_free(m);
}

Test(capture_select, rows_in_a_npy_file)
{
    heed_model *m = load("llama-tiny-f32.gguf");
    heed_capture_params p = heed_capture_default_params(10);
    heed_capture *full = run_captured(m, &p);
    const char *path = test_tmp_path("capture.npy");
    const int layer = 1;
    p.layers = &layer;
    p.n_layers = 1;
    p.npy_path = path;
    p.max_bytes = 0; /* a file takes no memory */
    heed_capture_free(run_captured(m, &p));
    size_t len;
    char *file = test_read_file(path, &len);
    cr_assert_not_null(file);
    cr_assert(!memcmp(file, "\x93NUMPY\x01\x00", 8));
    const size_t header = 10 + (size_t)(unsigned char)file[8] + 256u * (unsigned char)file[9];
    cr_expect_eq(header % 64, 0);
    cr_expect(strstr(file + 10, "'shape': (1, 4, 10, 10), }"), "%.*s", (int)header - 10, file + 10);
    cr_assert_eq(len, header + sizeof(float) * 4 * 10 * 10);
    for (int h = 0; h < 4; h++)
        for (int q = 0; q < 10; q++)
            cr_expect(!memcmp(file + header + sizeof(float) * (size_t)(h * 10 + q) * 10,
                              heed_capture_row(full, 1, h, q), sizeof(float) * 10));
    free(file);
    p.top_k = 2;
    heed_capture *cap;
    cr_expect_eq(heed_capture_new(m, &p, &cap), HEED_ERR_ARG);
    p.top_k = 0;
    p.npy_path = "/nonexistent-dir/capture.npy";
    cr_expect_eq(heed_capture_new(m, &p, &cap), HEED_ERR_IO);
    heed_capture_free(full);
    heed_model_free(m);
}

/* The weight each key received, summed over heads and every query (the
 * prompt's and the decode steps'), from any thread count. */
Test(capture_select, kv_telemetry_sums_every_row)
{
    heed_model *m = load("llama-tiny-f32.gguf");
    heed_capture_params p = heed_capture_default_params(10);
    heed_capture *full = run_captured(m, &p);
    p.top_k = 1; /* telemetry does not depend on what rows are kept */
    heed_capture *top = run_captured(m, &p);
    for (int l = 0; l < 2; l++) {
        const double *got = heed_capture_received(full, l);
        for (int k = 0; k < 10; k++) {
            double want = 0;
            for (int h = 0; h < 4; h++)
                for (int q = k; q < 10; q++)
                    want += heed_capture_row(full, l, h, q)[k];
            cr_expect_float_eq(got[k], want, 1e-6, "layer %d key %d: %g vs %g", l, k, got[k],
                               want);
            cr_expect_float_eq(heed_capture_received(top, l)[k], got[k], 1e-12);
        }
    }
    cr_expect_null(heed_capture_received(full, 2));
    heed_capture_free(full);
    heed_capture_free(top);
    heed_model_free(m);
}

/* The residual tap: entry 0 is the embedding, the last entry of the last
 * position gives, through the output head, exactly the logits. */
Test(capture_select, residual_stream)
{
    heed_model *m = load("llama-tiny-f32.gguf");
    const int32_t ids[] = {1, 450, 13019, 3282};
    const int E = heed_model_n_embd(m), L = heed_model_n_layer(m), V = heed_model_n_vocab(m);
    float *res = malloc(sizeof(float) * 3 * (size_t)(L + 1) * E);
    float *logits = malloc(sizeof(float) * (size_t)V), *lens = malloc(sizeof(float) * (size_t)V);
    heed_context *c;
    cr_assert_eq(heed_context_new(m, NULL, &c), HEED_OK);
    heed_context_set_residual(c, res, 1, 4);
    cr_assert_eq(heed_context_eval(c, ids, 4, logits, false), HEED_OK);
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-f32.gguf");
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
    const float *emb = heed_gguf_find_tensor(g, "token_embd.weight")->data;
    for (int t = 0; t < 3; t++)
        cr_expect(!memcmp(res + (size_t)t * (L + 1) * E, emb + (size_t)ids[t + 1] * E,
                          sizeof(float) * (size_t)E), "position %d", t + 1);
    cr_assert_eq(heed_context_lens(c, res + ((size_t)2 * (L + 1) + L) * E, lens), HEED_OK);
    cr_expect(!memcmp(lens, logits, sizeof(float) * (size_t)V));
    heed_gguf_close(g);
    heed_context_free(c);
    free(res);
    free(logits);
    free(lens);
    heed_model_free(m);
}

/* every cache type, on two architectures */
static void check_cache_types(const char *fixture)
{
    static const heed_type kv[] = {HEED_TYPE_F32, HEED_TYPE_BF16, HEED_TYPE_Q8_0};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        check_fixture(fixture, kv[i]);
}
Test(capture_vs_qk, cache_types_llama) { check_cache_types("llama-tiny-f32.gguf"); }
Test(capture_vs_qk, cache_types_gemma) { check_cache_types("gemma-tiny.gguf"); }

/* q8_0 rows are whole blocks of 32: a head of 16 is refused, by name */
Test(capture_vs_qk, cache_type_refused)
{
    heed_model *m = load("qwen2-tiny.gguf");
    heed_context *c = NULL;
    heed_context_params xp = heed_context_default_params();
    xp.type_v = HEED_TYPE_Q8_0;
    cr_expect_eq(heed_context_new(m, &xp, &c), HEED_ERR_ARG);
    cr_expect_null(c);
    cr_expect(strstr(heed_last_error(), "value cache type q8_0 needs head_dim a multiple of 32"),
              "%s", heed_last_error());
    xp.type_v = HEED_TYPE_Q4_0;
    cr_expect_eq(heed_context_new(m, &xp, &c), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "not one of f32, f16, bf16, q8_0"), "%s", heed_last_error());
    heed_model_free(m);
}
