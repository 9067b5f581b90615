/*
 * test_archs.c — the architectures the shared fixtures lack, against the
 * peer the issue names for each (llama.cpp c392e50 where it has the
 * architecture, else ik_llama.cpp 8337e4cd3): a tiny `heed synth` model
 * of each, its prompt's logits and 32 greedy ids as the peer computed them
 * (tests/models/SHAPE-TYPE.json and .logits.f32, made by
 * tests/oracle/make_fixture.sh), with the peer's KV cache type (f32 for
 * llama.cpp; f16 for ik_llama.cpp, which refuses f32 without flash
 * attention), which heed uses too.
 *
 * Tolerances are per case, from the shared fixtures' table (README,
 * "Suggested tolerances": at least twice the largest difference llama.cpp
 * itself shows between equivalent runs), the row that matches the case's
 * arithmetic, and twice what was observed where that is more. Greedy ids
 * must agree up to the first step whose peer margin is below twice the
 * max-abs bound (the README's criterion). And `heed perplexity` of
 * tests/data/perplexity.txt must equal the peer's llama-perplexity within
 * 1e-3 relative (the bound), windows of 64, one thread, the same
 * KV cache type.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

typedef struct tolerance {
    const char *name;
    double max_abs, rms;
} tolerance;

static const tolerance tolerances[] = {
    /* the F32 row: observed 4.4e-5 (rms 5e-6) */
    {"tiny-qwen3-f32", 0.001, 0.0001},
    /* the F32 row: observed 2.7e-6 (YaRN), 2.7e-6 (LongRoPE's long factors
     * and attn_factor), 2.3e-4 (smollm3's layers without RoPE) */
    {"tiny-qwen2-yarn-f32", 0.001, 0.0001},
    {"tiny-phi3-longrope-f32", 0.001, 0.0001},
    {"tiny-smollm3-f32", 0.001, 0.0001},
    /* the F32 row, for mixtures of experts: qwen3moe (ik; the chosen
     * experts' weights renormalised), qwen2moe (llama.cpp; a shared
     * expert behind a sigmoid gate) and llama with Mixtral's experts
     * (llama.cpp); observed 1.0e-4 (rms 1.1e-5), 2.4e-6, 2.5e-6 */
    {"tiny-qwen3moe-f32", 0.001, 0.0001},
    {"tiny-qwen2moe-f32", 0.001, 0.0001},
    {"tiny-mixtral-f32", 0.001, 0.0001},
    /* the F32 row: gpt-oss (ik): sinks, sliding layers alternating with
     * global ones, router and expert biases, the softmax over the chosen
     * experts' logits, clamped SwiGLU; observed 1.0e-4 (rms 1.3e-5) */
    {"tiny-gpt-oss-f32", 0.001, 0.0001},
    /* the Q4_0 row (the same 4-bit blocks against q8_0 activations, a
     * codebook for the steps; heed sums in scalar order, llama.cpp in
     * its AVX2 lanes): observed 0.045 (rms 4.5e-3) */
    {"tiny-llama-iq4_nl", 0.5, 0.06},
    /* the Q4_0 row (4-bit codes in blocks of 32 against 8-bit
     * activations; ik_llama.cpp pairs mxfp4 with its own q8_2 blocks,
     * heed with q8_0 as mainline llama.cpp does): observed 0.11 (rms 0.021) */
    {"tiny-llama-mxfp4", 0.5, 0.06},
    /* the Q4_K row (super-blocks of 256 against q8_K activations, 6-bit
     * sub-block scales; iq4_nl's codebook): observed 0.033 (rms 1.6e-3) */
    {"tiny-llama-256-iq4_xs", 0.5, 0.06},
    /* the Q4_K row (super-blocks of 256 against q8_K activations, small
     * integer scales per 16 or 32; heed sums each block in llama.cpp's
     * generic order, llama.cpp in its AVX2 lanes): the grid types (files
     * llama-quantize made with an importance matrix, token_embd q4_K
     * for the five that need one) and the ternary ones; observed 0.051
     * (iq2_xxs), 0.077 (iq2_s), 0.076 (iq3_s), 0.044 (tq1_0, tq2_0), and
     * 1.4e-6 or less where llama.cpp's AVX2 sums as its generic code
     * does (iq2_xs, iq3_xxs, iq1_s, iq1_m) */
    {"tiny-llama-256-iq2_xxs", 0.5, 0.06},
    {"tiny-llama-256-iq2_xs", 0.5, 0.06},
    {"tiny-llama-256-iq2_s", 0.5, 0.06},
    {"tiny-llama-256-iq3_xxs", 0.5, 0.06},
    {"tiny-llama-256-iq3_s", 0.5, 0.06},
    {"tiny-llama-256-iq1_s", 0.5, 0.06},
    {"tiny-llama-256-iq1_m", 0.5, 0.06},
    {"tiny-llama-256-tq1_0", 0.5, 0.06},
    {"tiny-llama-256-tq2_0", 0.5, 0.06},
    /* the row of the gemma fixture (its GELU through llama.cpp's f16
     * table, as heed computes it); observed 9.8e-4 (rms 1.4e-4) through
     * 26 layers of soft-capped attention */
    {"tiny-gemma2-f32", 0.005, 0.0005},
    /* the gemma row's "plain" column: ik_llama.cpp computes gemma3's GELU
     * exactly, not through llama.cpp's f16 table as heed does; observed
     * 3.1e-3 (rms 4.4e-4); with an exact GELU heed is within 1.5e-4 */
    {"tiny-gemma3-f32", 0.05, 0.005},
};

static void check_arch(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/models/%s.json", HEED_SOURCE_DIR, name);
    char *text = test_read_file(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    cJSON *c = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(c, "bad JSON in %s", path);
    const char *shape = cJSON_GetObjectItem(c, "shape")->valuestring;
    const char *type_name = cJSON_GetObjectItem(c, "type")->valuestring;
    const tolerance *tol = NULL;
    for (size_t i = 0; i < sizeof tolerances / sizeof *tolerances; i++)
        if (!strcmp(tolerances[i].name, name))
            tol = &tolerances[i];
    cr_assert_not_null(tol, "%s: no tolerance for it", name);

    /* the synth model, or a committed file the peer made */
    const cJSON *file = cJSON_GetObjectItem(c, "gguf");
    char gguf[4096];
    if (file) {
        snprintf(gguf, sizeof gguf, "%s/tests/models/%s", HEED_SOURCE_DIR, file->valuestring);
    } else {
        snprintf(gguf, sizeof gguf, "%s", test_tmp_path(name));
        cr_assert_eq(heed_synth(shape, heed_type_from_name(type_name),
                                (uint64_t)cJSON_GetObjectItem(c, "seed")->valuedouble, 2, gguf),
                     HEED_OK, "%s", heed_last_error());
    }
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK, "%s", heed_last_error());
    const int32_t V = heed_model_n_vocab(m);

    int n, n_greedy;
    int32_t *ids = test_json_ids(cJSON_GetObjectItem(c, "ids"), &n);
    int32_t *greedy = test_json_ids(cJSON_GetObjectItem(c, "greedy"), &n_greedy);
    snprintf(path, sizeof path, "%s/tests/models/%s.logits.f32", HEED_SOURCE_DIR, name);
    size_t bytes;
    float *ref = test_read_file(path, &bytes);
    cr_assert_not_null(ref, "cannot read %s", path);
    cr_assert_eq(bytes, sizeof(float) * (size_t)n * (size_t)V,
                 "%s: %zu bytes of reference logits for %d ids of %d (if heed synth changed, "
                 "remake them with tests/oracle/make_fixture.sh)", name, bytes, n, V);

    heed_context_params cp = heed_context_default_params();
    cp.type_k = cp.type_v =
        heed_type_from_name(cJSON_GetObjectItem(c, "kv_cache")->valuestring);
    heed_context *ctx;
    cr_assert_eq(heed_context_new(m, &cp, &ctx), HEED_OK, "%s", heed_last_error());
    float *logits = malloc(bytes);
    cr_assert_eq(heed_context_eval(ctx, ids, n, logits, true), HEED_OK, "%s", heed_last_error());
    double max_abs = 0, sq = 0;
    for (size_t i = 0; i < (size_t)n * (size_t)V; i++) {
        const double d = fabs((double)logits[i] - ref[i]);
        max_abs = fmax(max_abs, d);
        sq += d * d;
    }
    const double rms = sqrt(sq / ((double)n * V));
    cr_log_info("%s: prompt logits max |diff| %.3g (tolerance %.3g), rms %.3g (%.3g)", name,
                max_abs, tol->max_abs, rms, tol->rms);
    cr_expect_leq(max_abs, tol->max_abs, "%s: max |diff| %g (if heed synth changed, remake "
                  "the reference with tests/oracle/make_fixture.sh)", name, max_abs);
    cr_expect_leq(rms, tol->rms, "%s: rms %g", name, rms);

    const cJSON *margins = cJSON_GetObjectItem(c, "greedy_margins");
    for (int s = 0; s < n_greedy; s++) /* up to the first thin margin */
        if (cJSON_GetArrayItem(margins, s)->valuedouble < 2 * tol->max_abs)
            n_greedy = s;
    test_expect_greedy(ctx, logits + (size_t)(n - 1) * (size_t)V, greedy, n_greedy, V, logits,
                       name);

    /* heed perplexity as the peer's llama-perplexity ran it
     * (tests/oracle/add_perplexity.sh): within 1e-3 relative */
    const cJSON *pp = cJSON_GetObjectItem(c, "perplexity");
    cr_assert_not_null(pp, "%s: no peer perplexity (tests/oracle/add_perplexity.sh)", name);
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "perplexity '%s' -f '%s/tests/data/perplexity.txt' -c %d -t 1 "
             "-ctk %s -ctv %s", gguf, HEED_SOURCE_DIR, cJSON_GetObjectItem(pp, "ctx")->valueint,
             cJSON_GetObjectItem(c, "kv_cache")->valuestring,
             cJSON_GetObjectItem(c, "kv_cache")->valuestring);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    double ppl, err;
    cr_assert_eq(sscanf(out, "PPL = %lf +/- %lf", &ppl, &err), 2, "%s", out);
    const double want = cJSON_GetObjectItem(pp, "ppl")->valuedouble;
    cr_log_info("%s: perplexity %.4f, peer %.4f", name, ppl, want);
    cr_expect_leq(fabs(ppl - want), 1e-3 * want, "%s: perplexity %.4f, peer %.4f", name, ppl,
                  want);
    free(out);

    free(logits);
    free(ref);
    free(greedy);
    free(ids);
    heed_context_free(ctx);
    heed_model_free(m);
    cJSON_Delete(c);
}

Test(archs, qwen3) { check_arch("tiny-qwen3-f32"); }
Test(archs, qwen2_yarn) { check_arch("tiny-qwen2-yarn-f32"); }
Test(archs, iq4_nl) { check_arch("tiny-llama-iq4_nl"); }
Test(archs, iq4_xs) { check_arch("tiny-llama-256-iq4_xs"); }
Test(archs, mxfp4) { check_arch("tiny-llama-mxfp4"); }
Test(archs, iq2_xxs) { check_arch("tiny-llama-256-iq2_xxs"); }
Test(archs, iq2_xs) { check_arch("tiny-llama-256-iq2_xs"); }
Test(archs, iq2_s) { check_arch("tiny-llama-256-iq2_s"); }
Test(archs, iq3_xxs) { check_arch("tiny-llama-256-iq3_xxs"); }
Test(archs, iq3_s) { check_arch("tiny-llama-256-iq3_s"); }
Test(archs, iq1_s) { check_arch("tiny-llama-256-iq1_s"); }
Test(archs, iq1_m) { check_arch("tiny-llama-256-iq1_m"); }
Test(archs, tq1_0) { check_arch("tiny-llama-256-tq1_0"); }
Test(archs, tq2_0) { check_arch("tiny-llama-256-tq2_0"); }
Test(archs, phi3_longrope) { check_arch("tiny-phi3-longrope-f32"); }
Test(archs, smollm3) { check_arch("tiny-smollm3-f32"); }
Test(archs, gemma2) { check_arch("tiny-gemma2-f32"); }
Test(archs, gemma3) { check_arch("tiny-gemma3-f32"); }
Test(archs, qwen3moe) { check_arch("tiny-qwen3moe-f32"); }
Test(archs, qwen2moe) { check_arch("tiny-qwen2moe-f32"); }
Test(archs, mixtral) { check_arch("tiny-mixtral-f32"); }
Test(archs, gpt_oss) { check_arch("tiny-gpt-oss-f32"); }

/* Expert routing as a capture keeps it: every token of every layer sent
 * to n_used distinct experts, largest weight first, the weights summing
 * to 1 where the architecture renormalises them (qwen3moe) and below 1
 * where not (qwen2moe); logits with a capture attached are the same bits
 * as without; a prompt evaluated in one batch and token by token is
 * routed alike, to the same logits within 1e-3 (the f32 row's tolerance:
 * the experts multiply different numbers of tokens at once, summing in
 * another order; observed 9e-5 on qwen3moe, 2.8e-4 on qwen2moe). */
static void check_routing(const char *shape, bool renorm)
{
    const char *gguf = test_tmp_path(shape);
    cr_assert_eq(heed_synth(shape, HEED_TYPE_F32, 7, 2, gguf), HEED_OK, "%s", heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK, "%s", heed_last_error());
    enum { N = 40 };
    const int32_t V = heed_model_n_vocab(m);
    const int L = heed_model_n_layer(m), NE = heed_model_n_expert(m);
    const int NU = heed_model_n_expert_used(m);
    int32_t ids[N];
    uint64_t seed = 11;
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)(test_unif01(&seed) * (V - 1));
    heed_capture_params pp = heed_capture_default_params(N);
    heed_capture *batched, *stepped;
    cr_assert_eq(heed_capture_new(m, &pp, &batched), HEED_OK, "%s", heed_last_error());
    const int none = 0;
    pp.layers = &none; /* the routing alone */
    pp.n_layers = 0;
    cr_assert_eq(heed_capture_new(m, &pp, &stepped), HEED_OK, "%s", heed_last_error());
    heed_context *plain, *a, *b;
    cr_assert_eq(heed_context_new(m, NULL, &plain), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_new(m, NULL, &a), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_new(m, NULL, &b), HEED_OK, "%s", heed_last_error());
    heed_context_set_capture(a, batched);
    heed_context_set_capture(b, stepped);
    float *la = malloc(sizeof(float) * N * (size_t)V), *lp = malloc(sizeof(float) * N * (size_t)V);
    float *lb = malloc(sizeof(float) * (size_t)V);
    cr_assert_eq(heed_context_eval(plain, ids, N, lp, true), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_eval(a, ids, N, la, true), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(memcmp(la, lp, sizeof(float) * N * (size_t)V), 0,
                 "%s: the capture changed the logits", shape);
    double worst = 0;
    for (int t = 0; t < N; t++) {
        cr_assert_eq(heed_context_eval(b, ids + t, 1, lb, false), HEED_OK, "%s",
                     heed_last_error());
        for (int32_t j = 0; j < V; j++)
            worst = fmax(worst, fabs((double)la[(size_t)t * V + j] - lb[j]));
    }
    cr_log_info("%s: batched vs one by one, max |diff| %.3g", shape, worst);
    cr_expect_leq(worst, 1e-3, "%s: batched vs one by one %g", shape, worst);
    int used = 0;
    bool seen[64] = {0};
    for (int l = 0; l < L; l++)
        for (int t = 0; t < N; t++) {
            const int32_t *e, *e2;
            const float *w, *w2;
            cr_assert_eq(heed_capture_experts(batched, l, t, &e, &w), NU);
            cr_assert_eq(heed_capture_experts(stepped, l, t, &e2, &w2), NU);
            double sum = 0;
            for (int k = 0; k < NU; k++) {
                cr_expect(e[k] >= 0 && e[k] < NE, "expert %d", e[k]);
                cr_expect_eq(e[k], e2[k], "%s: layer %d token %d: routed to %d batched, %d "
                             "one by one", shape, l, t, e[k], e2[k]);
                cr_expect(k == 0 || w[k] <= w[k - 1], "weights not largest first");
                for (int j = 0; j < k; j++)
                    cr_expect_neq(e[j], e[k], "expert %d chosen twice", e[k]);
                sum += w[k];
                used += !seen[e[k]];
                seen[e[k]] = true;
            }
            if (renorm)
                cr_expect(fabs(sum - 1) < 1e-6, "weights sum to %g", sum);
            else
                cr_expect(sum < 1, "weights sum to %g", sum);
        }
    cr_expect_eq(used, NE, "%s: only %d of %d experts ever chosen", shape, used, NE);
    const int32_t *e;
    const float *w;
    cr_expect_eq(heed_capture_experts(batched, L, 0, &e, &w), 0); /* no such layer */
    free(la);
    free(lp);
    free(lb);
    heed_context_free(plain);
    heed_context_free(a);
    heed_context_free(b);
    heed_capture_free(batched);
    heed_capture_free(stepped);
    heed_model_free(m);
}

Test(archs, moe_routing_qwen3moe) { check_routing("tiny-qwen3moe", true); }
Test(archs, moe_routing_qwen2moe) { check_routing("tiny-qwen2moe", false); }

/* A sliding layer's cache holds only the window and a batch: past that it
 * drops the oldest keys, at different times for a prompt evaluated in
 * batches and for tokens evaluated one by one, and both must give every
 * position's logits as the same attention over the same window would:
 * within 0.01, where batching alone moves them by up to 1.4e-3 (an
 * activation whose last bit differs lands on the neighbouring f16 entry
 * of the GELU table), and a key too few in a window by ~1. Going back to
 * before what was dropped is refused. */
Test(archs, sliding_window_cache_drops_only_what_no_query_sees)
{
    const char *gguf = test_tmp_path("tiny-gemma3.gguf");
    cr_assert_eq(heed_synth("tiny-gemma3", HEED_TYPE_F32, 3, 2, gguf), HEED_OK, "%s",
                 heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK, "%s", heed_last_error());
    enum { N = 600 }; /* > window 16 + batch 256, twice */
    const int32_t V = heed_model_n_vocab(m);
    int32_t ids[N];
    uint64_t seed = 5;
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)(test_unif01(&seed) * (V - 1));
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = N;
    cp.type_k = cp.type_v = HEED_TYPE_F32;
    heed_context *batched, *stepped;
    cr_assert_eq(heed_context_new(m, &cp, &batched), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_new(m, &cp, &stepped), HEED_OK, "%s", heed_last_error());
    float *a = malloc(sizeof(float) * (size_t)N * (size_t)V);
    float *b = malloc(sizeof(float) * (size_t)V);
    cr_assert_eq(heed_context_eval(batched, ids, N, a, true), HEED_OK, "%s", heed_last_error());
    double worst = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(heed_context_eval(stepped, ids + i, 1, b, false), HEED_OK, "%s",
                     heed_last_error());
        for (int32_t j = 0; j < V; j++)
            worst = fmax(worst, fabs((double)a[(size_t)i * V + j] - b[j]));
    }
    cr_log_info("sliding cache: batched vs one by one, max |diff| %.3g", worst);
    cr_expect_leq(worst, 0.01, "batched vs one by one: %g", worst);
    /* the window of the next position is still there; 500 back is not */
    cr_expect_eq(heed_context_truncate(stepped, N - 10), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(heed_context_truncate(stepped, N - 500), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "sliding-window cache has dropped"), "%s",
              heed_last_error());
    free(a);
    free(b);
    heed_context_free(batched);
    heed_context_free(stepped);
    heed_model_free(m);
}
