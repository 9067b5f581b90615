/* test_hooks.c — activation hooks (heed_context_set_hook): what each
 * point holds, checked against the others and against the attention
 * capture; that reading changes nothing; that writing is what the pass
 * goes on with; and that long prompts arrive batch by batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"
enum { N = 300 }; /* more than one batch (256) */

/* Every activation of every point, by point, layer and position. */
typedef struct record {
    int n_layer, n_pos;
    int width[HEED_HOOK_COUNT];
    float *rows[HEED_HOOK_COUNT]; /* [layer][pos][width] */
    int calls, batches_seen_at_256;
    unsigned zero; /* points whose values the hook sets to 0 */
    int zero_layer;
} record;

static void on_hook(void *user, heed_activation *a)
{
    record *r = user;
    r->calls++;
    r->batches_seen_at_256 += a->pos0 == 256;
    if (!r->rows[a->point]) {
        r->width[a->point] = a->width;
        r->rows[a->point] = calloc((size_t)(r->n_layer + 1) * (size_t)r->n_pos * (size_t)a->width,
                                   sizeof(float));
    }
    cr_assert_eq(r->width[a->point], a->width);
    if (r->zero >> a->point & 1 && a->layer == r->zero_layer)
        memset(a->data, 0, sizeof(float) * (size_t)a->n * (size_t)a->width);
    memcpy(r->rows[a->point] + ((size_t)a->layer * (size_t)r->n_pos + (size_t)a->pos0) *
                                   (size_t)a->width,
           a->data, sizeof(float) * (size_t)a->n * (size_t)a->width);
}

static const float *at(const record *r, heed_hook_point p, int layer, int pos)
{
    return r->rows[p] + ((size_t)layer * (size_t)r->n_pos + (size_t)pos) * (size_t)r->width[p];
}

static void free_record(record *r)
{
    for (int p = 0; p < HEED_HOOK_COUNT; p++)
        free(r->rows[p]);
}

typedef struct fixture {
    heed_model *m;
    heed_context *c;
    int32_t ids[N];
    int V;
    float *logits;
} fixture;

static void setup(fixture *f)
{
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &f->m), HEED_OK, "%s", heed_last_error());
    heed_context_params p = heed_context_default_params();
    p.n_ctx = N;
    p.n_threads = 2;
    p.type_k = p.type_v = HEED_TYPE_F32;
    cr_assert_eq(heed_context_new(f->m, &p, &f->c), HEED_OK, "%s", heed_last_error());
    f->V = heed_model_n_vocab(f->m);
    uint64_t seed = 5;
    for (int i = 0; i < N; i++)
        f->ids[i] = (int32_t)(heed_splitmix64(&seed) % (uint64_t)f->V);
    f->logits = malloc(sizeof(float) * (size_t)N * (size_t)f->V);
}

static void teardown(fixture *f)
{
    free(f->logits);
    heed_context_free(f->c);
    heed_model_free(f->m);
}

static float *eval(fixture *f, record *r, unsigned points)
{
    heed_context_reset(f->c);
    heed_context_set_hook(f->c, points, r ? on_hook : NULL, r);
    cr_assert_eq(heed_context_eval(f->c, f->ids, N, f->logits, true), HEED_OK, "%s",
                 heed_last_error());
    heed_context_set_hook(f->c, 0, NULL, NULL);
    float *copy = malloc(sizeof(float) * (size_t)N * (size_t)f->V);
    memcpy(copy, f->logits, sizeof(float) * (size_t)N * (size_t)f->V);
    return copy;
}

/* Reading every point changes no logit; the stream adds up exactly:
 * mid = pre + attn_out, post = mid + mlp_out, pre of l + 1 = post of l;
 * every point arrives for every layer, the second batch at position 256. */
Test(hooks, reading_changes_nothing_and_the_stream_adds_up)
{
    fixture f;
    setup(&f);
    const int L = heed_model_n_layer(f.m), E = heed_model_n_embd(f.m);
    record r = {.n_layer = L, .n_pos = N};
    float *plain = eval(&f, NULL, 0);
    float *hooked = eval(&f, &r, (1u << HEED_HOOK_COUNT) - 1);
    cr_expect_arr_eq(hooked, plain, sizeof(float) * (size_t)N * (size_t)f.V);
    cr_expect_eq(r.calls, 2 * (9 * L + 1), "two batches, 9 points per layer and ln_final");
    cr_expect_eq(r.batches_seen_at_256, 9 * L + 1);
    for (int l = 0; l < L; l++)
        for (int t = 0; t < N; t++)
            for (int i = 0; i < E; i++) {
                const float pre = at(&r, HEED_HOOK_RESID_PRE, l, t)[i];
                const float mid = at(&r, HEED_HOOK_RESID_MID, l, t)[i];
                const float post = at(&r, HEED_HOOK_RESID_POST, l, t)[i];
                cr_assert_eq(mid, pre + at(&r, HEED_HOOK_ATTN_OUT, l, t)[i], "l %d t %d", l, t);
                cr_assert_eq(post, mid + at(&r, HEED_HOOK_MLP_OUT, l, t)[i], "l %d t %d", l, t);
                if (l + 1 < L)
                    cr_assert_eq(at(&r, HEED_HOOK_RESID_PRE, l + 1, t)[i], post);
            }
    free(plain);
    free(hooked);
    free_record(&r);
    teardown(&f);
}

/* z, each head's output, is the captured pattern times the values (the
 * kv head a query head reads), within float rounding. */
Test(hooks, z_is_the_pattern_times_v)
{
    fixture f;
    setup(&f);
    const int L = heed_model_n_layer(f.m), H = heed_model_n_head(f.m);
    record r = {.n_layer = L, .n_pos = N};
    heed_capture_params cp = heed_capture_default_params(N);
    heed_capture *cap;
    cr_assert_eq(heed_capture_new(f.m, &cp, &cap), HEED_OK);
    heed_context_set_capture(f.c, cap);
    free(eval(&f, &r, 1u << HEED_HOOK_V | 1u << HEED_HOOK_Z));
    heed_context_set_capture(f.c, NULL);
    const int D = r.width[HEED_HOOK_Z] / H, G = r.width[HEED_HOOK_V] / D;
    double worst = 0;
    for (int l = 0; l < L; l += L - 1)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < N; t += 37) {
                const float *w = heed_capture_row(cap, l, h, t);
                const int g = h / (H / G);
                for (int d = 0; d < D; d++) {
                    double want = 0, scale = 0;
                    for (int k = 0; k <= t; k++) {
                        const double v = at(&r, HEED_HOOK_V, l, k)[g * D + d];
                        want += w[k] * v;
                        scale += fabs(w[k] * v);
                    }
                    const double err = fabs(at(&r, HEED_HOOK_Z, l, t)[h * D + d] - want);
                    worst = fmax(worst, err / (scale + 1e-30));
                }
            }
    cr_log_info("z vs pattern · v: worst relative error %.3g", worst);
    cr_expect_lt(worst, 1e-5);
    heed_capture_free(cap);
    free_record(&r);
    teardown(&f);
}

/* Writing: what the hook leaves is what the pass uses. Values zeroed
 * before the cache stores them make every head's output zero; zeroing a
 * layer's attention output leaves the stream as it entered (mid = pre),
 * and changes the logits. */
Test(hooks, writes_are_what_the_pass_goes_on_with)
{
    fixture f;
    setup(&f);
    const int L = heed_model_n_layer(f.m);
    float *plain = eval(&f, NULL, 0);
    record r = {.n_layer = L, .n_pos = N, .zero = 1u << HEED_HOOK_V, .zero_layer = 1};
    free(eval(&f, &r, 1u << HEED_HOOK_V | 1u << HEED_HOOK_Z));
    for (int t = 0; t < N; t++)
        for (int i = 0; i < r.width[HEED_HOOK_Z]; i++)
            cr_assert_eq(at(&r, HEED_HOOK_Z, 1, t)[i], 0.0f, "t %d", t);
    free_record(&r);
    record s = {.n_layer = L, .n_pos = N, .zero = 1u << HEED_HOOK_ATTN_OUT, .zero_layer = 2};
    float *ablated = eval(&f, &s, 1u << HEED_HOOK_RESID_PRE | 1u << HEED_HOOK_ATTN_OUT |
                                      1u << HEED_HOOK_RESID_MID);
    cr_expect_arr_eq(at(&s, HEED_HOOK_RESID_MID, 2, 0), at(&s, HEED_HOOK_RESID_PRE, 2, 0),
                     sizeof(float) * (size_t)N * (size_t)s.width[HEED_HOOK_RESID_MID]);
    cr_expect(memcmp(ablated, plain, sizeof(float) * (size_t)N * (size_t)f.V) != 0);
    free(ablated);
    free(plain);
    free_record(&s);
    teardown(&f);
}
