/* test_attribute.c — direct logit attribution (heed_context_attribute):
 * the parts sum to the model's logit, on the default model and on synths
 * of other blocks (gemma2's post norms and soft caps, gpt-oss's biases,
 * sinks and experts, a quantised llama); a layer's heads and bias add up
 * to what its attention wrote (the hook's attn_out read through the same
 * frozen norm); steering is a part of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"
enum { N = 20 };

static void random_ids(int32_t *ids, int n, int n_vocab, uint64_t seed)
{
    for (int i = 0; i < n; i++)
        ids[i] = (int32_t)(heed_splitmix64(&seed) % (uint64_t)n_vocab);
}

static heed_context *new_context(const heed_model *m)
{
    heed_context_params p = heed_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 2;
    heed_context *c;
    cr_assert_eq(heed_context_new(m, &p, &c), HEED_OK, "%s", heed_last_error());
    return c;
}

/* The parts of (token, foil) after ids sum to the logit within tol. */
static void expect_sums(heed_context *c, const int32_t *ids, int n, int32_t token, int32_t foil,
                        double tol, double model_tol, const char *what)
{
    heed_attribution a;
    cr_assert_eq(heed_context_attribute(c, ids, n, token, foil, &a), HEED_OK, "%s: %s", what,
                 heed_last_error());
    cr_expect_leq(fabs(a.total - a.logit), tol, "%s: parts sum to %.6f, the logit is %.6f", what,
                  a.total, a.logit);
    cr_expect_gt(fabs(a.logit), 1e-3, "%s: a logit worth splitting", what);
    cr_expect_leq(fabs(a.model_logit - a.logit), model_tol, "%s: the model gave %.6f", what,
                  a.model_logit);
    cr_expect_eq(a.position, n - 1);
    heed_attribution_free(&a);
}

/* The sums within 1e-3 on the default model (f16 weights: the masked
 * products round as the whole one), for tokens of the prompt, others, and
 * with a foil. The model's own logit rounds the normed row to f16 before
 * the output product (2^-11 of each term; measured up to 1.6e-3). */
#define F16_ROUNDING 1e-2
Test(attribute, parts_sum_to_the_logit_on_the_default_model)
{
    heed_model *m;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &m), HEED_OK, "%s", heed_last_error());
    heed_context *c = new_context(m);
    int32_t ids[N];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        random_ids(ids, N, heed_model_n_vocab(m), seed);
        expect_sums(c, ids, N, ids[3], -1, 1e-3, F16_ROUNDING, "a token of the prompt");
        expect_sums(c, ids, 5 + (int)seed, 100 * (int32_t)seed, -1, 1e-3, F16_ROUNDING, "another");
        expect_sums(c, ids, N, ids[3], ids[4], 1e-3, F16_ROUNDING, "with a foil");
    }
    heed_context_free(c);
    heed_model_free(m);
}

/* Each layer's attention output at the last position, from the hook. */
typedef struct attn_rows {
    int pos, n_embd;
    float *rows; /* [layer][n_embd] */
} attn_rows;

static void on_attn_out(void *user, heed_activation *a)
{
    attn_rows *r = user;
    const int row = r->pos - a->pos0;
    if (row >= 0 && row < a->n)
        memcpy(r->rows + a->layer * r->n_embd, a->data + (size_t)row * (size_t)a->width,
               sizeof(float) * (size_t)a->width);
}

/* A layer's heads add up to what its attention wrote (the default model
 * has no attention bias), measured apart from the head split: steering
 * by eps × that layer's attn_out (from the hook) after the last block is
 * attributed eps × its reading through the final norm, which a vector
 * that small barely moves (relative O(eps)). */
Test(attribute, a_layers_heads_add_up_to_its_attention)
{
    heed_model *m;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &m), HEED_OK, "%s", heed_last_error());
    heed_context *c = new_context(m);
    const int L = heed_model_n_layer(m), H = heed_model_n_head(m), E = heed_model_n_embd(m);
    int32_t ids[N];
    random_ids(ids, N, heed_model_n_vocab(m), 9);
    heed_attribution a;
    cr_assert_eq(heed_context_attribute(c, ids, N, ids[0], -1, &a), HEED_OK);
    attn_rows r = {N - 1, E, calloc((size_t)L * (size_t)E, sizeof(float))};
    heed_context_reset(c);
    heed_context_set_hook(c, 1u << HEED_HOOK_ATTN_OUT, on_attn_out, &r);
    cr_assert_eq(heed_context_eval(c, ids, N, NULL, false), HEED_OK);
    heed_context_set_hook(c, 0, NULL, NULL);
    const float eps = 1e-4f;
    float *steer = calloc((size_t)L * (size_t)E, sizeof(float));
    for (int l = 0; l < L; l++) {
        for (int i = 0; i < E; i++)
            steer[(L - 1) * E + i] = eps * r.rows[l * E + i];
        cr_assert_eq(heed_context_set_steering(c, steer, L - 1, L - 1), HEED_OK);
        heed_attribution s;
        cr_assert_eq(heed_context_attribute(c, ids, N, ids[0], -1, &s), HEED_OK);
        heed_context_set_steering(c, NULL, 0, 0);
        double heads = 0;
        for (int h = 0; h < H; h++)
            heads += a.heads[l * H + h];
        cr_expect_leq(fabs(s.steer / eps - heads), 1e-3 * (1 + fabs(heads)),
                      "layer %d: heads sum to %.6f, its attention's write reads %.6f", l, heads,
                      s.steer / eps);
        cr_expect_leq(fabs(s.total - s.logit), 1e-3, "steered: the parts still sum");
        heed_attribution_free(&s);
    }
    free(steer);
    heed_attribution_free(&a);
    free(r.rows);
    heed_context_free(c);
    heed_model_free(m);
}

/* Other blocks, as tiny synths: gemma2 (post norms around attention and
 * the FFN, soft-capped logits), gpt-oss (biases, sinks, experts), qwen2moe
 * (a shared expert). f32 weights: the sums hold to 1e-3. */
Test(attribute, parts_sum_on_other_blocks)
{
    const char *shapes[] = {"tiny-gemma2", "tiny-gpt-oss", "tiny-qwen2moe", "tiny-qwen3"};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const char *path = test_tmp_path(shapes[s]);
        cr_assert_eq(heed_synth(shapes[s], HEED_TYPE_F32, 7, 2, path), HEED_OK, "%s",
                     heed_last_error());
        heed_model *m;
        cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
        heed_context *c = new_context(m);
        int32_t ids[N];
        random_ids(ids, N, heed_model_n_vocab(m), 3);
        const bool capped = !strcmp(shapes[s], "tiny-gemma2"); /* the model's logit is capped */
        expect_sums(c, ids, N, ids[2], -1, 1e-3, capped ? INFINITY : 1e-4, shapes[s]);
        expect_sums(c, ids, N, ids[2], ids[5], 1e-3, capped ? INFINITY : 1e-4, shapes[s]);
        heed_context_free(c);
        heed_model_free(m);
    }
}

/* A quantised model (q4_K weights: activations rounded to q8_K blocks of
 * 256, which span heads, so a head's masked product rounds apart from the
 * whole one): the sums hold to 1e-2 of the logit's scale. */
Test(attribute, parts_sum_on_a_quantised_model)
{
    const char *path = test_tmp_path("tiny-llama-256-q4_k");
    cr_assert_eq(heed_synth("tiny-llama-256", HEED_TYPE_Q4_K, 7, 2, path), HEED_OK, "%s",
                 heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    heed_context *c = new_context(m);
    int32_t ids[N];
    random_ids(ids, N, heed_model_n_vocab(m), 4);
    expect_sums(c, ids, N, ids[1], -1, 1e-2, 5e-2, "q4_K");
    heed_context_free(c);
    heed_model_free(m);
}

Test(attribute, bad_arguments_are_refused)
{
    heed_model *m;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &m), HEED_OK, "%s", heed_last_error());
    heed_context *c = new_context(m);
    int32_t ids[4] = {1, 2, 3, 4};
    heed_attribution a;
    cr_expect_eq(heed_context_attribute(c, ids, 4, heed_model_n_vocab(m), -1, &a), HEED_ERR_ARG);
    cr_expect_eq(heed_context_attribute(c, ids, 0, 1, -1, &a), HEED_ERR_ARG);
    cr_expect_eq(heed_context_attribute(c, ids, 4, 1, heed_model_n_vocab(m), &a), HEED_ERR_ARG);
    cr_expect_null(a.heads);
    heed_context_free(c);
    heed_model_free(m);
}
