/* test_edits.c — interventions declared up front (heed_edits): ablation
 * and patching are what a hook writing the same values does, bit for bit;
 * no edit changes no bit; patching a clean run's values into a corrupt
 * one restores exactly what it should; edits apply in decode steps too;
 * and mean ablation over the prompt itself keeps the layer's mean output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"
enum { N = 24 };

typedef struct fixture {
    heed_model *m;
    heed_context *c;
    heed_edits *e;
    int32_t ids[N];
    int V, L, H, D, E;
} fixture;

static void setup(fixture *f)
{
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &f->m), HEED_OK, "%s", heed_last_error());
    heed_context_params p = heed_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 2;
    cr_assert_eq(heed_context_new(f->m, &p, &f->c), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_edits_new(f->m, &f->e), HEED_OK);
    f->V = heed_model_n_vocab(f->m);
    f->L = heed_model_n_layer(f->m);
    f->H = heed_model_n_head(f->m);
    f->E = heed_model_n_embd(f->m);
    f->D = f->E / f->H;
    uint64_t seed = 11;
    for (int i = 0; i < N; i++)
        f->ids[i] = (int32_t)(heed_splitmix64(&seed) % (uint64_t)f->V);
}

static void teardown(fixture *f)
{
    heed_edits_free(f->e);
    heed_context_free(f->c);
    heed_model_free(f->m);
}

/* All N rows of logits of ids from an empty cache, with edits e (or none). */
static float *eval_ids(fixture *f, const int32_t *ids, const heed_edits *e)
{
    float *logits = malloc(sizeof(float) * (size_t)N * (size_t)f->V);
    heed_context_reset(f->c);
    cr_assert_eq(heed_context_set_edits(f->c, e), HEED_OK);
    cr_assert_eq(heed_context_eval(f->c, ids, N, logits, true), HEED_OK, "%s", heed_last_error());
    heed_context_set_edits(f->c, NULL);
    return logits;
}

static bool same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* The hook the edits are checked against: zeroes heads' z slices. */
typedef struct zero_heads {
    int n, head_dim;
    int layer[4], head[4];
} zero_heads;

static void on_zero_heads(void *user, heed_activation *a)
{
    const zero_heads *z = user;
    for (int i = 0; i < z->n; i++)
        for (int t = 0; a->layer == z->layer[i] && t < a->n; t++)
            memset(a->data + (size_t)t * (size_t)a->width + (size_t)(z->head[i] * z->head_dim),
                   0, sizeof(float) * (size_t)z->head_dim);
}

Test(edits, none_changes_no_bit_and_ablation_is_a_zeroing_hook)
{
    fixture f;
    setup(&f);
    const size_t count = (size_t)N * (size_t)f.V;
    float *plain = eval_ids(&f, f.ids, NULL);
    float *empty = eval_ids(&f, f.ids, f.e);
    cr_expect(same_bits(plain, empty, count), "edits with nothing in them change no bit");

    cr_assert_eq(heed_edits_ablate_head(f.e, 2, 5, NULL), HEED_OK);
    float *ablated = eval_ids(&f, f.ids, f.e);
    zero_heads z = {1, f.D, {2}, {5}};
    heed_context_reset(f.c);
    heed_context_set_hook(f.c, 1u << HEED_HOOK_Z, on_zero_heads, &z);
    float *hooked = malloc(sizeof(float) * count);
    cr_assert_eq(heed_context_eval(f.c, f.ids, N, hooked, true), HEED_OK);
    heed_context_set_hook(f.c, 0, NULL, NULL);
    cr_expect(!same_bits(plain, ablated, count), "ablating a head changes the logits");
    cr_expect(same_bits(hooked, ablated, count), "ablation is what a zeroing hook does");

    /* cleared: as new */
    heed_edits_clear(f.e);
    float *cleared = eval_ids(&f, f.ids, f.e);
    cr_expect(same_bits(plain, cleared, count));
    free(plain);
    free(empty);
    free(ablated);
    free(hooked);
    free(cleared);
    teardown(&f);
}

/* The residual stream of every layer and position of a run. */
typedef struct streams {
    heed_hook_point point;
    int width, n_pos;
    float *rows; /* [layer][pos][width] */
} streams;

static void on_record(void *user, heed_activation *a)
{
    streams *s = user;
    memcpy(s->rows + ((size_t)a->layer * (size_t)s->n_pos + (size_t)a->pos0) * (size_t)s->width,
           a->data, sizeof(float) * (size_t)a->n * (size_t)a->width);
}

static streams record_run(fixture *f, const int32_t *ids, heed_hook_point point, int width)
{
    streams s = {point, width, N,
                 calloc((size_t)(f->L + 1) * N * (size_t)width, sizeof(float))};
    float *logits = malloc(sizeof(float) * (size_t)N * (size_t)f->V);
    heed_context_reset(f->c);
    heed_context_set_hook(f->c, 1u << point, on_record, &s);
    cr_assert_eq(heed_context_eval(f->c, ids, N, logits, true), HEED_OK);
    heed_context_set_hook(f->c, 0, NULL, NULL);
    free(logits);
    return s;
}

static const float *row_of(const streams *s, int layer, int pos)
{
    return s->rows + ((size_t)layer * (size_t)s->n_pos + (size_t)pos) * (size_t)s->width;
}

/* Clean and corrupt differ in one token (position 10). Patching clean's
 * resid_post of the last layer at the last position into corrupt gives the
 * clean logits of that position bit for bit; patching a position before
 * the difference changes no bit (its stream is the same in both runs);
 * patching every position of layer 0's resid_pre gives all clean logits. */
Test(edits, patching_restores_exactly_what_it_should)
{
    fixture f;
    setup(&f);
    const size_t V = (size_t)f.V;
    int32_t corrupt[N];
    memcpy(corrupt, f.ids, sizeof corrupt);
    corrupt[10] = (f.ids[10] + 1) % f.V;
    float *clean_logits = eval_ids(&f, f.ids, NULL);
    float *corrupt_logits = eval_ids(&f, corrupt, NULL);
    streams post = record_run(&f, f.ids, HEED_HOOK_RESID_POST, f.E);

    cr_assert_eq(heed_edits_patch(f.e, HEED_HOOK_RESID_POST, f.L - 1, N - 1, -1,
                                  row_of(&post, f.L - 1, N - 1)), HEED_OK);
    float *patched = eval_ids(&f, corrupt, f.e);
    cr_expect(same_bits(patched + (N - 1) * V, clean_logits + (N - 1) * V, V),
              "last layer, last position: the clean logits");
    cr_expect(same_bits(patched, corrupt_logits, (N - 1) * V), "other rows: corrupt's");

    heed_edits_clear(f.e);
    for (int l = 0; l < f.L; l++)
        cr_assert_eq(heed_edits_patch(f.e, HEED_HOOK_RESID_POST, l, 4, -1, row_of(&post, l, 4)),
                     HEED_OK);
    free(patched);
    patched = eval_ids(&f, corrupt, f.e);
    cr_expect(same_bits(patched, corrupt_logits, N * V), "before the difference: no change");

    streams pre = record_run(&f, f.ids, HEED_HOOK_RESID_PRE, f.E);
    heed_edits_clear(f.e);
    for (int t = 0; t < N; t++)
        cr_assert_eq(heed_edits_patch(f.e, HEED_HOOK_RESID_PRE, 0, t, -1, row_of(&pre, 0, t)),
                     HEED_OK);
    free(patched);
    patched = eval_ids(&f, corrupt, f.e);
    cr_expect(same_bits(patched, clean_logits, N * V), "the whole input: the clean run");

    free(patched);
    free(clean_logits);
    free(corrupt_logits);
    free(post.rows);
    free(pre.rows);
    teardown(&f);
}

/* Edits apply in a decode step as in prefill: the prompt's last token
 * evaluated alone after the rest gives what the zeroing hook gives in the
 * same split; a position's patch reaches the step at that position only. */
Test(edits, apply_in_decode_steps)
{
    fixture f;
    setup(&f);
    const size_t V = (size_t)f.V;
    float *with_edits = malloc(sizeof(float) * V), *with_hook = malloc(sizeof(float) * V);
    float *plain = malloc(sizeof(float) * V), *patched = malloc(sizeof(float) * V);
    cr_assert_eq(heed_edits_ablate_head(f.e, 0, 1, NULL), HEED_OK);
    cr_assert_eq(heed_edits_ablate_head(f.e, 4, 7, NULL), HEED_OK);
    heed_context_reset(f.c);
    heed_context_set_edits(f.c, f.e);
    cr_assert_eq(heed_context_eval(f.c, f.ids, N - 1, NULL, false), HEED_OK);
    cr_assert_eq(heed_context_eval(f.c, f.ids + N - 1, 1, with_edits, false), HEED_OK);
    heed_context_set_edits(f.c, NULL);

    zero_heads z = {2, f.D, {0, 4}, {1, 7}};
    heed_context_reset(f.c);
    heed_context_set_hook(f.c, 1u << HEED_HOOK_Z, on_zero_heads, &z);
    cr_assert_eq(heed_context_eval(f.c, f.ids, N - 1, NULL, false), HEED_OK);
    cr_assert_eq(heed_context_eval(f.c, f.ids + N - 1, 1, with_hook, false), HEED_OK);
    heed_context_set_hook(f.c, 0, NULL, NULL);
    cr_expect(same_bits(with_edits, with_hook, V));

    /* a patch of position 3 is spent before the step; one of N - 1 is not */
    heed_context_reset(f.c);
    cr_assert_eq(heed_context_eval(f.c, f.ids, N - 1, NULL, false), HEED_OK);
    cr_assert_eq(heed_context_eval(f.c, f.ids + N - 1, 1, plain, false), HEED_OK);
    heed_edits_clear(f.e);
    cr_assert_eq(heed_edits_patch(f.e, HEED_HOOK_MLP_OUT, 3, 3, -1, NULL), HEED_OK);
    heed_context_truncate(f.c, N - 1);
    heed_context_set_edits(f.c, f.e);
    cr_assert_eq(heed_context_eval(f.c, f.ids + N - 1, 1, patched, false), HEED_OK);
    cr_expect(same_bits(plain, patched, V), "position 3's patch: not in the step");
    cr_assert_eq(heed_edits_patch(f.e, HEED_HOOK_MLP_OUT, 3, N - 1, -1, NULL), HEED_OK);
    heed_context_truncate(f.c, N - 1);
    cr_assert_eq(heed_context_eval(f.c, f.ids + N - 1, 1, patched, false), HEED_OK);
    heed_context_set_edits(f.c, NULL);
    cr_expect(!same_bits(plain, patched, V), "position N - 1's patch: in the step");
    free(plain);
    free(patched);
    free(with_hook);
    free(with_edits);
    teardown(&f);
}

/* Mean ablation over the prompt itself. Every layer before the ablated
 * one is unchanged, so the head's mean z over the prompt is what its z was
 * on average; attention's output is linear in z (W_O, then the bias), so
 * the layer's attn_out averaged over positions is unchanged while its
 * rows change. Within rounding: the model's f16 weights multiply z
 * rounded to f16, so the product of the mean and the mean of the products
 * differ by up to 2^-11 of the rows' scale (measured: 2.6e-5 of it). With
 * one token the mean is the row itself: no bit moves. */
Test(edits, mean_ablation_over_the_prompt_keeps_the_mean_output)
{
    fixture f;
    setup(&f);
    const int layer = 3, head = 2, W = f.H * f.D;
    float *mean_z = malloc(sizeof(float) * (size_t)(f.L + 1) * (size_t)W);
    cr_assert_eq(heed_context_mean_activation(f.c, HEED_HOOK_Z, f.ids, N, mean_z), HEED_OK,
                 "%s", heed_last_error());
    streams before = record_run(&f, f.ids, HEED_HOOK_ATTN_OUT, f.E);
    cr_assert_eq(heed_edits_ablate_head(f.e, layer, head, mean_z + layer * W + head * f.D),
                 HEED_OK);
    heed_context_set_edits(f.c, f.e);
    streams after = record_run(&f, f.ids, HEED_HOOK_ATTN_OUT, f.E);
    heed_context_set_edits(f.c, NULL);
    double scale = 0, worst = 0;
    bool rows_changed = false;
    for (int i = 0; i < f.E; i++) {
        double sum_before = 0, sum_after = 0;
        for (int t = 0; t < N; t++) {
            sum_before += row_of(&before, layer, t)[i];
            sum_after += row_of(&after, layer, t)[i];
            rows_changed |= row_of(&before, layer, t)[i] != row_of(&after, layer, t)[i];
            scale = fmax(scale, fabs(row_of(&before, layer, t)[i]));
        }
        worst = fmax(worst, fabs(sum_before - sum_after) / N);
    }
    cr_expect(rows_changed, "the rows change");
    cr_expect_leq(worst, 0x1p-11 * scale, "mean attn_out moved %g (scale %g)", worst, scale);
    for (int l = 0; l < layer; l++)
        cr_expect(same_bits(row_of(&before, l, N - 1), row_of(&after, l, N - 1), (size_t)f.E),
                  "layer %d, before the ablation, is untouched", l);

    /* one token: the mean is the row */
    const size_t V = (size_t)f.V;
    float *one = malloc(sizeof(float) * V), *one_ablated = malloc(sizeof(float) * V);
    cr_assert_eq(heed_context_mean_activation(f.c, HEED_HOOK_Z, f.ids, 1, mean_z), HEED_OK);
    heed_edits_clear(f.e);
    for (int l = 0; l < f.L; l++)
        for (int h = 0; h < f.H; h++)
            cr_assert_eq(heed_edits_ablate_head(f.e, l, h, mean_z + l * W + h * f.D), HEED_OK);
    heed_context_reset(f.c);
    cr_assert_eq(heed_context_eval(f.c, f.ids, 1, one, false), HEED_OK);
    heed_context_reset(f.c);
    heed_context_set_edits(f.c, f.e);
    cr_assert_eq(heed_context_eval(f.c, f.ids, 1, one_ablated, false), HEED_OK);
    heed_context_set_edits(f.c, NULL);
    cr_expect(same_bits(one, one_ablated, V), "every head mean-ablated over its own token");
    free(one);
    free(one_ablated);
    free(mean_z);
    free(before.rows);
    free(after.rows);
    teardown(&f);
}

Test(edits, bad_arguments_are_refused)
{
    fixture f;
    setup(&f);
    cr_expect_eq(heed_edits_ablate_head(f.e, f.L, 0, NULL), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "layer"), "%s", heed_last_error());
    cr_expect_eq(heed_edits_ablate_head(f.e, 0, f.H, NULL), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "head"), "%s", heed_last_error());
    cr_expect_eq(heed_edits_ablate_head(f.e, -1, 0, NULL), HEED_ERR_ARG);
    cr_expect_eq(heed_edits_patch(f.e, HEED_HOOK_RESID_POST, 0, 0, 0, NULL), HEED_ERR_ARG,
                 "a resid row has no heads");
    cr_expect_eq(heed_edits_patch(f.e, HEED_HOOK_COUNT, 0, 0, -1, NULL), HEED_ERR_ARG);
    cr_expect_eq(heed_edits_patch(f.e, HEED_HOOK_LN_FINAL, 0, 0, -1, NULL), HEED_ERR_ARG);
    cr_expect_eq(heed_edits_patch(f.e, HEED_HOOK_LN_FINAL, f.L, 0, -1, NULL), HEED_OK);
    heed_model *other;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &other), HEED_OK);
    heed_edits *foreign;
    cr_assert_eq(heed_edits_new(other, &foreign), HEED_OK);
    cr_expect_eq(heed_context_set_edits(f.c, foreign), HEED_ERR_ARG);
    heed_edits_free(foreign);
    heed_model_free(other);
    teardown(&f);
}
