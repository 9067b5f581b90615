/*
 * test_batch.c — continuous batching (heed_context_eval_many): several
 * contexts' tokens in one pass give the tokens and logits each context
 * gets alone from heed_context_eval — prompts of different lengths (one
 * split across passes), then greedy decoding steps — on architectures
 * whose forward pass differs where sequences meet: learned positions
 * (gpt2), packed k-quant weights, sliding-window layers dropping their
 * oldest keys (gemma3), experts and attention sinks (gpt-oss), steering.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { N_SEQ = 3, STEPS = 24 };


static heed_model *load(const char *path)
{
    heed_model *m = NULL;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s: %s", path, heed_last_error());
    return m;
}

static heed_context *context(const heed_model *m, int n_ctx)
{
    heed_context_params p = heed_context_default_params();
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    heed_context *c = NULL;
    cr_assert_eq(heed_context_new(m, &p, &c), HEED_OK, "%s", heed_last_error());
    return c;
}

/* Runs N_SEQ prompts, then STEPS greedy tokens each, batched and alone,
 * and expects the same tokens, and the same logits: bit for bit (exact),
 * or within 1e-3 of their largest magnitude where a matrix kernel sums a
 * row of many in another order than a row alone (AVX-512's register tiles
 * for f32 and unpacked f16, against a dot product: ~1e-7 relative per
 * product, compounding through the caches; measured at most 4.2e-4 after
 * 24 steps, and 0 with HEED_ISA=avx2 or scalar). Weights with quantised
 * activations (q8_0 without packing) can differ more: a last-bit
 * difference that flips an activation's rounding moves it a whole step,
 * so none is used here unpacked. steer: a steering vector set on context
 * 1 (both runs). */
static void expect_batched_equals_alone(const char *path, const char *name, bool steer,
                                         bool exact)
{
    heed_model *m = load(path);
    const int32_t V = heed_model_n_vocab(m);
    /* prompt lengths: one longer than a pass (256 rows), so it is split,
     * where the model's positions go that far (gpt2-tiny's stop at 256) */
    const int n_ctx = heed_model_n_ctx_train(m) < 300 + STEPS + 8 ? heed_model_n_ctx_train(m)
                                                                  : 300 + STEPS + 8;
    const int prompt_len[N_SEQ] = {5, n_ctx - STEPS - 8, 1};
    heed_context *many[N_SEQ], *alone[N_SEQ];
    int32_t *prompt[N_SEQ];
    uint64_t seed = 42;
    float *steering = NULL;
    if (steer) {
        const int64_t n = (int64_t)heed_model_n_layer(m) * heed_model_n_embd(m);
        steering = malloc(sizeof *steering * (size_t)n);
        for (int64_t i = 0; i < n; i++)
            steering[i] = 0.5f * test_unif(&seed);
    }
    for (int s = 0; s < N_SEQ; s++) {
        many[s] = context(m, n_ctx);
        alone[s] = context(m, n_ctx);
        prompt[s] = malloc(sizeof(int32_t) * (size_t)prompt_len[s]);
        for (int i = 0; i < prompt_len[s]; i++)
            prompt[s][i] = (int32_t)(heed_splitmix64(&seed) % (uint64_t)V);
        if (steer && s == 1) {
            const int L = heed_model_n_layer(m) - 1;
            cr_assert_eq(heed_context_set_steering(many[s], steering, 0, L), HEED_OK);
            cr_assert_eq(heed_context_set_steering(alone[s], steering, 0, L), HEED_OK);
        }
    }
    float *got = malloc(sizeof(float) * (size_t)V * N_SEQ);
    float *want = malloc(sizeof(float) * (size_t)V);
    const int32_t *ids[N_SEQ];
    int n_ids[N_SEQ];
    for (int s = 0; s < N_SEQ; s++) {
        ids[s] = prompt[s];
        n_ids[s] = prompt_len[s];
    }
    /* each side decodes greedily from its own logits: the same tokens */
    int32_t next_many[N_SEQ], next_alone[N_SEQ];
    const int32_t *ids_alone[N_SEQ];
    memcpy(ids_alone, ids, sizeof ids);
    double worst = 0;
    for (int step = 0; step <= STEPS; step++) {
        cr_assert_eq(heed_context_eval_many(many, ids, n_ids, N_SEQ, got), HEED_OK, "%s: %s",
                     name, heed_last_error());
        for (int s = 0; s < N_SEQ; s++) {
            cr_assert_eq(heed_context_eval(alone[s], ids_alone[s], n_ids[s], want, false), HEED_OK);
            cr_assert_eq(heed_context_n_past(many[s]), heed_context_n_past(alone[s]));
            const float *row = got + (size_t)s * V;
            double most = 0, scale = 0;
            for (int32_t t = 0; t < V; t++) {
                most = fmax(most, fabs(row[t] - want[t]));
                scale = fmax(scale, fabs(want[t]));
            }
            worst = fmax(worst, most / scale);
            if (exact)
                cr_expect_eq(memcmp(row, want, sizeof(float) * (size_t)V), 0,
                             "%s: step %d, sequence %d: logits differ by up to %g", name, step,
                             s, most);
            else
                cr_expect(most <= 1e-3 * scale, "%s: step %d, sequence %d: logits differ by "
                          "%g, over 1e-3 of their scale %g", name, step, s, most, scale);
            next_many[s] = test_argmax(row, V);
            next_alone[s] = test_argmax(want, V);
            cr_expect_eq(next_many[s], next_alone[s], "%s: step %d, sequence %d: token %d "
                         "batched, %d alone", name, step, s, next_many[s], next_alone[s]);
            ids[s] = &next_many[s];
            ids_alone[s] = &next_alone[s];
            n_ids[s] = 1;
        }
    }
    cr_log_info("%s: logits within %.2g of their scale", name, worst);
    for (int s = 0; s < N_SEQ; s++) {
        heed_context_free(many[s]);
        heed_context_free(alone[s]);
        free(prompt[s]);
    }
    free(got);
    free(want);
    free(steering);
    heed_model_free(m);
}

static void synth_case(const char *shape, heed_type type)
{
    char path[512];
    snprintf(path, sizeof path, "%s", test_tmp_path(shape));
    cr_assert_eq(heed_synth(shape, type, 3, 2, path), HEED_OK, "%s", heed_last_error());
    expect_batched_equals_alone(path, shape, false, false);
}

Test(batch, llama_f32) {
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-f32.gguf");
    expect_batched_equals_alone(path, "llama-tiny-f32", true, false);
}

Test(batch, llama_q4_k_packed) {
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-q4_k.gguf");
    expect_batched_equals_alone(path, "llama-tiny-q4_k", false, true);
}

Test(batch, gpt2_learned_positions) {
    char path[4096];
    FIXTURE_PATH(path, "gpt2-tiny.gguf");
    expect_batched_equals_alone(path, "gpt2-tiny", false, false);
}

Test(batch, gemma3_sliding_window) { synth_case("tiny-gemma3", HEED_TYPE_F32); }
Test(batch, gpt_oss_experts_sinks) { synth_case("tiny-gpt-oss", HEED_TYPE_F16); }

/* A watched context (here, a hook) runs alone within the call, and the
 * rest still batch; bad input fails before anything is evaluated. */
static void count_rows(void *user, heed_activation *a) { *(int *)user += a->n; }

Test(batch, watched_contexts_and_bad_input) {
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-f32.gguf");
    heed_model *m = load(path);
    const int32_t V = heed_model_n_vocab(m);
    heed_context *c[3] = {context(m, 64), context(m, 64), context(m, 16)};
    int seen = 0;
    heed_context_set_hook(c[1], 1u << HEED_HOOK_RESID_POST, count_rows, &seen);
    const int32_t a[] = {1, 2, 3}, b[] = {4, 5}, d[] = {6};
    const int32_t *ids[] = {a, b, d};
    int n_ids[] = {3, 2, 1};
    float *logits = malloc(sizeof(float) * (size_t)V * 3), *want = malloc(sizeof(float) * (size_t)V);
    cr_assert_eq(heed_context_eval_many(c, ids, n_ids, 3, logits), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(seen, 2 * heed_model_n_layer(m), "the hook saw %d rows", seen);
    heed_context *solo = context(m, 64);
    cr_assert_eq(heed_context_eval(solo, b, 2, want, false), HEED_OK);
    cr_expect_eq(memcmp(logits + V, want, sizeof(float) * (size_t)V), 0);

    /* an id out of range, a context that would overflow, a repeated
     * context: an error naming it, and no context moved */
    const int32_t bad[] = {V};
    ids[2] = bad;
    cr_expect_eq(heed_context_eval_many(c, ids, n_ids, 3, logits), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "context 2"), "%s", heed_last_error());
    int32_t many_ids[20] = {0};
    ids[2] = many_ids;
    n_ids[2] = 20;
    cr_expect_eq(heed_context_eval_many(c, ids, n_ids, 3, logits), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "context 2") && strstr(heed_last_error(), "full"), "%s",
              heed_last_error());
    heed_context *twice[] = {c[0], c[0]};
    n_ids[2] = 1;
    cr_expect_eq(heed_context_eval_many(twice, ids, n_ids, 2, logits), HEED_ERR_ARG);
    cr_expect_eq(heed_context_n_past(c[0]), 3);
    cr_expect_eq(heed_context_n_past(c[1]), 2);
    cr_expect_eq(heed_context_n_past(c[2]), 1);
    for (int i = 0; i < 3; i++)
        heed_context_free(c[i]);
    heed_context_free(solo);
    free(logits);
    free(want);
    heed_model_free(m);
}
