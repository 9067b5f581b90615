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

/* Generators stepped together give each one's own output: four prompts,
 * sampled with their own seeds, one with a stop string, one with prompt
 * lookup (which evaluates its drafts alone), one under a JSON schema's
 * grammar (which ends it once the JSON is whole), ending at different steps —
 * the same tokens and text as each stepped alone (the default model's f16
 * weights are packed or untiled on every ISA, so their logits agree bit
 * for bit). */
Test(batch, generators_step_together) {
    heed_model *m = load(HEED_SOURCE_DIR "/models/default.gguf");
    heed_vocab *v = NULL;
    cr_assert_eq(heed_vocab_load_file(HEED_SOURCE_DIR "/models/default.gguf", &v), HEED_OK);
    enum { G = 4 };
    static const char *const prompts[G] = {"And God said", "In the beginning",
                                           "And the LORD spake unto Moses, saying", "Behold"};
    static const char *const stop[] = {" the"};
    heed_generator *together[G], *alone[G];
    heed_context *ctx[2 * G];
    char *text[2][G];
    int32_t got_ids[2][G][64];
    int n_got[2][G] = {{0}};
    for (int i = 0; i < 2 * G; i++)
        ctx[i] = context(m, 128);
    heed_grammar *json = NULL;
    cr_assert_eq(heed_grammar_from_json_schema(v, "{\"type\": \"object\", \"properties\": "
                                               "{\"n\": {\"type\": \"integer\", \"minimum\": 0, "
                                               "\"maximum\": 99}}, \"required\": [\"n\"]}",
                                               &json), HEED_OK, "%s", heed_last_error());
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < G; i++) {
            int32_t *ids = NULL;
            size_t n = 0;
            cr_assert_eq(heed_tokenize(v, prompts[i], strlen(prompts[i]), true, false, &ids, &n),
                         HEED_OK);
            heed_generate_params p = heed_generate_default_params();
            p.sampler.temp = 0.9f;
            p.sampler.seed = 100 + (uint64_t)i;
            p.max_tokens = 16 + 12 * i;
            if (i == 1) {
                p.stops = stop;
                p.n_stops = 1;
            }
            p.lookup = i == 2 ? 3 : 0;
            p.grammar = i == 3 ? json : NULL;
            heed_generator **g = side ? &alone[i] : &together[i];
            cr_assert_eq(heed_generator_new(ctx[side * G + i], v, ids, (int)n, &p, g), HEED_OK,
                         "%s", heed_last_error());
            free(ids);
            text[side][i] = calloc(1, 4096);
        }
    const char *piece[G];
    size_t len[G];
    heed_gen_token tok[G];
    bool done[G] = {false};
    for (int steps = 0, running = G; running; steps++) {
        cr_assert_lt(steps, 64);
        running = heed_generator_step_many(together, G, piece, len, tok);
        for (int i = 0; i < G; i++) {
            strncat(text[0][i], piece[i], len[i]);
            if (!done[i] && (len[i] || heed_generator_finish(together[i]) == HEED_GEN_RUNNING))
                got_ids[0][i][n_got[0][i]++] = tok[i].id;
            done[i] = heed_generator_finish(together[i]) != HEED_GEN_RUNNING;
        }
    }
    for (int i = 0; i < G; i++) {
        const char *p1;
        size_t l1;
        heed_gen_token t1;
        bool more = true;
        while (more) {
            more = heed_generator_step(alone[i], &p1, &l1, &t1);
            strncat(text[1][i], p1, l1);
            if (l1 || more)
                got_ids[1][i][n_got[1][i]++] = t1.id;
        }
        cr_expect_str_eq(text[0][i], text[1][i], "generator %d", i);
        cr_expect_eq(heed_generator_finish(together[i]), heed_generator_finish(alone[i]));
        cr_expect_eq(heed_generator_n_tokens(together[i]), heed_generator_n_tokens(alone[i]));
        cr_expect_eq(n_got[0][i], n_got[1][i]);
        cr_expect_eq(memcmp(got_ids[0][i], got_ids[1][i], sizeof(int32_t) * (size_t)n_got[0][i]),
                     0, "generator %d's tokens", i);
        cr_expect(strlen(text[0][i]) > 0, "generator %d wrote nothing", i);
    }
    cr_expect(heed_generator_finish(together[1]) == HEED_GEN_STOP ||
              heed_generator_n_tokens(together[1]) == 28, "the stop string");
    bool prefix, complete;
    cr_assert_eq(heed_grammar_match(json, text[0][3], strlen(text[0][3]), &prefix, &complete),
                 HEED_OK);
    cr_expect(complete && heed_generator_finish(together[3]) == HEED_GEN_EOG, "'%s'",
              text[0][3]);
    for (int i = 0; i < G; i++) {
        heed_generator_free(together[i]);
        heed_generator_free(alone[i]);
        free(text[0][i]);
        free(text[1][i]);
    }
    for (int i = 0; i < 2 * G; i++)
        heed_context_free(ctx[i]);
    heed_grammar_free(json);
    heed_vocab_free(v);
    heed_model_free(m);
}

/* heed_context_copy_cache: a context given another's prompt continues
 * exactly as one that evaluated it (the same rows, the same kernels: bit
 * for bit), on full and sliding-window layers; a copy that does not fit
 * is refused. */
static void expect_copy_continues(const char *path)
{
    heed_model *m = load(path);
    const int32_t V = heed_model_n_vocab(m);
    enum { N = 40, MORE = 6 };
    int32_t ids[N + MORE];
    uint64_t seed = 7;
    for (int i = 0; i < N + MORE; i++)
        ids[i] = (int32_t)(heed_splitmix64(&seed) % (uint64_t)V);
    heed_context *a = context(m, 64), *b = context(m, 64), *c = context(m, 32);
    float *la = malloc(sizeof *la * (size_t)V), *lb = malloc(sizeof *lb * (size_t)V);
    cr_assert_eq(heed_context_eval(a, ids, N, NULL, false), HEED_OK);
    for (int keep = N; keep >= N - 3; keep -= 3) {
        cr_assert_eq(heed_context_copy_cache(b, a, keep), HEED_OK, "%s", heed_last_error());
        cr_assert_eq(heed_context_n_past(b), keep);
        heed_context *ref = context(m, 64);
        cr_assert_eq(heed_context_eval(ref, ids, keep, NULL, false), HEED_OK);
        cr_assert_eq(heed_context_eval(ref, ids + keep, MORE, la, false), HEED_OK);
        cr_assert_eq(heed_context_eval(b, ids + keep, MORE, lb, false), HEED_OK);
        cr_assert(memcmp(la, lb, sizeof *la * (size_t)V) == 0, "%s: logits after a copy of %d",
                  path, keep);
        heed_context_free(ref);
    }
    cr_assert_eq(heed_context_copy_cache(c, a, N), HEED_ERR_ARG); /* does not fit */
    cr_assert_eq(heed_context_copy_cache(b, a, N + 1), HEED_ERR_ARG);
    cr_assert_eq(heed_context_copy_cache(b, a, 0), HEED_OK);
    cr_assert_eq(heed_context_n_past(b), 0);
    free(la);
    free(lb);
    heed_context_free(a);
    heed_context_free(b);
    heed_context_free(c);
    heed_model_free(m);
}

Test(batch, copy_cache) {
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-f32.gguf");
    expect_copy_continues(path);
    snprintf(path, sizeof path, "%s", test_tmp_path("tiny-gemma3-copy"));
    cr_assert_eq(heed_synth("tiny-gemma3", HEED_TYPE_F32, 3, 2, path), HEED_OK, "%s",
                 heed_last_error());
    expect_copy_continues(path);
}

/* A context with an attention capture shares the pass: its rows (and KV
 * telemetry) are what it records alone, bit for bit on packed weights,
 * and the others' logits are unchanged. */
Test(batch, captured_context_shares_the_pass) {
    char path[4096];
    FIXTURE_PATH(path, "llama-tiny-q4_k.gguf");
    heed_model *m = load(path);
    const int32_t V = heed_model_n_vocab(m);
    enum { N = 12 };
    int32_t a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = (int32_t)(7 * i + 3) % V;
        b[i] = (int32_t)(11 * i + 5) % V;
    }
    heed_capture_params cp = heed_capture_default_params(N);
    cp.top_k = 3;
    cp.row_begin = 4;
    heed_capture *together, *alone;
    cr_assert_eq(heed_capture_new(m, &cp, &together), HEED_OK);
    cr_assert_eq(heed_capture_new(m, &cp, &alone), HEED_OK);
    heed_context *c[2] = {context(m, 64), context(m, 64)}, *solo = context(m, 64),
                 *plain = context(m, 64);
    heed_context_set_capture(c[0], together);
    heed_context_set_capture(solo, alone);
    float *logits = malloc(sizeof(float) * (size_t)V * 2), *want = malloc(sizeof(float) * (size_t)V);
    /* the prompts' first 8 tokens, then one at a time */
    for (int at = 0; at < N;) {
        const int n = at ? 1 : 8;
        const int32_t *ids[] = {a + at, b + at};
        const int n_ids[] = {n, n};
        cr_assert_eq(heed_context_eval_many(c, ids, n_ids, 2, logits), HEED_OK, "%s",
                     heed_last_error());
        cr_assert_eq(heed_context_eval(solo, a + at, n, NULL, false), HEED_OK);
        cr_assert_eq(heed_context_eval(plain, b + at, n, want, false), HEED_OK);
        cr_expect_eq(memcmp(logits + V, want, sizeof(float) * (size_t)V), 0, "at %d", at);
        at += n;
    }
    int rows = 0;
    for (int l = 0; l < heed_model_n_layer(m); l++) {
        for (int h = 0; h < heed_model_n_head(m); h++)
            for (int q = 4; q < N; q++) {
                const int32_t *k1, *k2;
                const float *w1, *w2;
                const int n1 = heed_capture_top(together, l, h, q, &k1, &w1);
                const int n2 = heed_capture_top(alone, l, h, q, &k2, &w2);
                cr_assert(n1 == n2 && n1 > 0, "layer %d head %d row %d: %d vs %d", l, h, q, n1, n2);
                cr_expect(memcmp(k1, k2, sizeof *k1 * (size_t)n1) == 0 &&
                          memcmp(w1, w2, sizeof *w1 * (size_t)n1) == 0, "layer %d head %d row %d",
                          l, h, q);
                rows++;
            }
        cr_expect(memcmp(heed_capture_received(together, l), heed_capture_received(alone, l),
                         sizeof(double) * N) == 0, "layer %d's telemetry", l);
    }
    cr_expect_gt(rows, 0);
    for (int i = 0; i < 2; i++)
        heed_context_free(c[i]);
    heed_context_free(solo);
    heed_context_free(plain);
    heed_capture_free(together);
    heed_capture_free(alone);
    free(logits);
    free(want);
    heed_model_free(m);
}
