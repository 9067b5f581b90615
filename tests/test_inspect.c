/*
 * test_inspect.c — the inspection readers of captures (heed.h,
 * "inspection"): head statistics recomputed here from the dense rows,
 * top-k rows read back dense, and their argument checks. On the default
 * model, with ids that repeat so that induction has something to measure.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"

/* a, b, c, d, e, then the same again, and a third copy's start */
static const int32_t ids[] = {1, 300, 301, 302, 303, 304, 300, 301, 302, 303, 304, 300, 301};
enum { N = sizeof ids / sizeof ids[0] };

static heed_model *load(void)
{
    heed_model *m;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &m), HEED_OK, "%s", heed_last_error());
    return m;
}

/* Each score straight from its definition in heed.h. */
static heed_head_stats by_hand(const heed_capture *cap, int l, int h)
{
    heed_head_stats s = {0};
    int rows = 0, repeats = 0;
    for (int q = 1; q < N; q++) {
        const float *w = heed_capture_row(cap, l, h, q);
        for (int k = 0; k < N; k++)
            s.entropy -= w[k] > 0 ? w[k] * log(w[k]) : 0;
        s.prev_token += w[q - 1];
        s.sink += w[0];
        s.self += w[q];
        rows++;
        bool seen = false;
        for (int j = 0; j + 1 < q; j++)
            if (ids[j] == ids[q]) {
                s.induction += w[j + 1];
                seen = true;
            }
        repeats += seen;
    }
    s.entropy /= rows;
    s.prev_token /= rows;
    s.sink /= rows;
    s.self /= rows;
    s.induction /= repeats;
    return s;
}

Test(inspect, head_stats_follow_their_definitions)
{
    heed_model *m = load();
    heed_capture *cap;
    cr_assert_eq(test_capture_prompt(m, ids, N, 1 << 24, &cap), HEED_OK, "%s", heed_last_error());
    double best_induction = 0;
    for (int l = 0; l < heed_model_n_layer(m); l++)
        for (int h = 0; h < heed_model_n_head(m); h++) {
            heed_head_stats got;
            cr_assert_eq(heed_capture_head_stats(cap, l, h, ids, N, &got), HEED_OK);
            const heed_head_stats want = by_hand(cap, l, h);
            cr_expect_float_eq(got.entropy, want.entropy, 1e-9, "L%d H%d", l, h);
            cr_expect_float_eq(got.prev_token, want.prev_token, 1e-9, "L%d H%d", l, h);
            cr_expect_float_eq(got.sink, want.sink, 1e-9, "L%d H%d", l, h);
            cr_expect_float_eq(got.self, want.self, 1e-9, "L%d H%d", l, h);
            cr_expect_float_eq(got.induction, want.induction, 1e-9, "L%d H%d", l, h);
            cr_expect(got.entropy >= 0 && got.entropy <= log(N));
            best_induction = fmax(best_induction, got.induction);
        }
    /* the repeats are seen: on this short, regular sequence some head of
     * the default model puts 0.27 of its weight on what followed the
     * earlier copies (0 would mean the repeats went unnoticed) */
    cr_expect_gt(best_induction, 0.2);
    heed_capture_free(cap);
    heed_model_free(m);
}

Test(inspect, top_k_rows_read_back_dense)
{
    heed_model *m = load();
    heed_capture *dense, *top;
    cr_assert_eq(test_capture_prompt(m, ids, N, 1 << 24, &dense), HEED_OK);
    heed_capture_params p = heed_capture_default_params(N);
    p.top_k = 2;
    p.row_begin = 4;
    cr_assert_eq(heed_capture_new(m, &p, &top), HEED_OK, "%s", heed_last_error());
    heed_context *c;
    const heed_context_params cp = heed_context_default_params();
    cr_assert_eq(heed_context_new(m, &cp, &c), HEED_OK);
    heed_context_set_capture(c, top);
    cr_assert_eq(heed_context_eval(c, ids, N, NULL, false), HEED_OK, "%s", heed_last_error());
    float row[N], want[N];
    for (int q = 4; q < N; q++) {
        cr_assert(heed_capture_dense_row(top, 2, 1, q, row));
        cr_assert(heed_capture_dense_row(dense, 2, 1, q, want));
        cr_expect(memcmp(want, heed_capture_row(dense, 2, 1, q), sizeof want) == 0);
        int kept = 0;
        for (int k = 0; k < N; k++)
            if (row[k] != 0) {
                kept++;
                cr_expect_float_eq(row[k], want[k], 1e-6, "query %d key %d", q, k);
            }
        cr_expect_eq(kept, 2, "query %d", q);
    }
    /* a row before row_begin is not kept: false, out untouched */
    row[0] = -1;
    cr_expect_not(heed_capture_dense_row(top, 2, 1, 3, row));
    cr_expect_eq(row[0], -1);
    cr_expect_not(heed_capture_dense_row(NULL, 0, 0, 0, row));
    heed_context_free(c);
    heed_capture_free(top);
    heed_capture_free(dense);
    heed_model_free(m);
}

Test(inspect, head_stats_check_their_arguments)
{
    heed_model *m = load();
    heed_capture *cap;
    cr_assert_eq(test_capture_prompt(m, ids, N, 1 << 24, &cap), HEED_OK);
    heed_head_stats s = {.entropy = 7};
    cr_expect_eq(heed_capture_head_stats(cap, 0, 0, ids, N + 1, &s), HEED_ERR_ARG);
    cr_expect_eq(s.entropy, 0, "zeroed on failure");
    cr_expect_eq(heed_capture_head_stats(cap, 0, 0, ids, -1, &s), HEED_ERR_ARG);
    cr_expect_eq(heed_capture_head_stats(NULL, 0, 0, ids, N, &s), HEED_ERR_ARG);
    cr_expect_eq(heed_capture_head_stats(cap, 0, 0, NULL, N, &s), HEED_ERR_ARG);
    cr_expect_eq(heed_capture_head_stats(cap, 0, 0, ids, N, NULL), HEED_ERR_ARG);
    /* a layer the model does not have keeps no row: all zero */
    cr_expect_eq(heed_capture_head_stats(cap, 99, 0, ids, N, &s), HEED_OK);
    cr_expect(s.entropy == 0 && s.sink == 0 && s.induction == 0);
    heed_capture_free(cap);
    heed_model_free(m);
}
