/* test_attention.c — the tiled attention operator (online softmax over key
 * blocks) against the materialised one (softmax of the whole score row),
 * on random queries, keys and values of awkward sizes: causal and
 * bidirectional masks, grouped and multi-query heads, a batch that starts
 * after cached positions, windows, soft-caps and sinks, any split of the
 * work items; keys and values
 * cached as f32, f16, bf16 and q8_0 (the reference dequantizes a row with
 * the type's own to_float, the tiled operator with its vector loops). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attention.h"
#include "kernels/kernels.h"
#include "testutil.h"

typedef struct shape {
    int n_q, n_kv, n_head, n_kv_head, head_dim;
    heed_mask_kind mask;
    int window;     /* sliding window, 0: none                            */
    float softcap;  /* 0: none                                            */
    int k_pos0;     /* position of key row 0 (a window cache dropped them) */
    bool sinks;     /* a learned sink logit per head (gpt-oss)            */
} shape;

/* K and V rows position-major ([n_kv][kv heads][dim]) or head-major
 * ([kv heads][n_kv][dim], the cache's layout), of type kt and vt. */
static void check(shape sh, float spread, bool head_major, heed_type kt, heed_type vt)
{
    const int Q = sh.n_head * sh.head_dim, KV = sh.n_kv_head * sh.head_dim;
    uint64_t seed = (uint64_t)(sh.n_q * 131 + sh.n_kv * 7 + sh.n_head);
    float *q = malloc(sizeof(float) * (size_t)(sh.n_q * Q));
    float *k = malloc(sizeof(float) * (size_t)(sh.n_kv * KV));
    float *v = malloc(sizeof(float) * (size_t)(sh.n_kv * KV));
    float *ref = malloc(sizeof(float) * (size_t)(sh.n_q * Q));
    float *got = malloc(sizeof(float) * (size_t)(sh.n_q * Q));
    float *sinks = malloc(sizeof(float) * (size_t)sh.n_head);
    for (int h = 0; h < sh.n_head; h++) /* some far above the scores, some below */
        sinks[h] = (h % 2 ? 8.0f : 2.0f) * test_unif(&seed);
    for (int i = 0; i < sh.n_q * Q; i++)
        q[i] = spread * test_unif(&seed);
    for (int i = 0; i < sh.n_kv * KV; i++) {
        k[i] = test_unif(&seed);
        v[i] = test_unif(&seed);
    }
    /* the rows in their types; element e of a row-major [n][dim] layout */
    const int64_t krow = (int64_t)heed_type_row_size(kt, sh.head_dim);
    const int64_t vrow = (int64_t)heed_type_row_size(vt, sh.head_dim);
    char *kc = malloc((size_t)(krow * sh.n_kv * sh.n_kv_head));
    char *vc = malloc((size_t)(vrow * sh.n_kv * sh.n_kv_head));
    const int64_t k_rs = head_major ? krow : krow * sh.n_kv_head;
    const int64_t k_hs = head_major ? krow * sh.n_kv : krow;
    const int64_t v_rs = head_major ? vrow : vrow * sh.n_kv_head;
    const int64_t v_hs = head_major ? vrow * sh.n_kv : vrow;
    for (int j = 0; j < sh.n_kv; j++)
        for (int g = 0; g < sh.n_kv_head; g++) {
            const float *src = k + (int64_t)j * KV + (int64_t)g * sh.head_dim;
            heed_type_get(kt)->from_float(src, kc + j * k_rs + g * k_hs, sh.head_dim);
            heed_type_get(vt)->from_float(v + (src - k), vc + j * v_rs + g * v_hs, sh.head_dim);
        }
    heed_attn a = {.q = q, .k = kc, .v = vc, .k_type = kt, .v_type = vt,
                   .k_row_bytes = k_rs, .k_head_bytes = k_hs,
                   .v_row_bytes = v_rs, .v_head_bytes = v_hs,
                   .q_stride = Q, .out_stride = Q,
                   .n_q = sh.n_q, .n_kv = sh.n_kv, .k_pos0 = sh.k_pos0,
                   .q_pos0 = sh.k_pos0 + sh.n_kv - sh.n_q,
                   .n_head = sh.n_head, .n_kv_head = sh.n_kv_head, .head_dim = sh.head_dim,
                   .scale = 1.0f / sqrtf((float)sh.head_dim), .mask = sh.mask,
                   .window = sh.window, .softcap = sh.softcap,
                   .sinks = sh.sinks ? sinks : NULL};
    const int64_t floats = heed_attend_tiled_scratch_floats(&a) > heed_attend_scratch_floats(&a)
                               ? heed_attend_tiled_scratch_floats(&a)
                               : heed_attend_scratch_floats(&a);
    float *scratch = malloc(sizeof(float) * (size_t)floats);
    a.out = ref;
    heed_attend(&a, 0, heed_attend_items(&a), scratch, NULL);
    a.out = got;
    const int64_t items = heed_attend_tiled_items(&a);
    for (int64_t i = 0; i < items; i += 3) /* in pieces, as threads take them */
        heed_attend_tiled(&a, i, i + 3 < items ? i + 3 : items, scratch, NULL);
    double worst = 0; /* per output vector: max |difference| / max |element| */
    for (int row = 0; row < sh.n_q * sh.n_head; row++) {
        double diff = 0, size = 0;
        for (int d = 0; d < sh.head_dim; d++) {
            diff = fmax(diff, fabs(got[row * sh.head_dim + d] - ref[row * sh.head_dim + d]));
            size = fmax(size, fabs(ref[row * sh.head_dim + d]));
        }
        worst = fmax(worst, diff / size);
    }
    cr_log_info("tiled vs materialised, n_q %d n_kv %d heads %d/%d, %s/%s: %.2g", sh.n_q,
                sh.n_kv, sh.n_head, sh.n_kv_head, heed_type_name(kt), heed_type_name(vt), worst);
    cr_expect_leq(worst, 1e-5, "n_q %d n_kv %d heads %d/%d dim %d mask %d spread %g %s/%s: "
                  "relative difference %g", sh.n_q, sh.n_kv, sh.n_head, sh.n_kv_head,
                  sh.head_dim, sh.mask, spread, heed_type_name(kt), heed_type_name(vt), worst);
    free(q);
    free(k);
    free(v);
    free(kc);
    free(vc);
    free(ref);
    free(got);
    free(sinks);
    free(scratch);
}

Test(attention, tiled_matches_materialised)
{
    static const shape shapes[] = {
        /* n_q n_kv heads  dim  mask         window softcap k_pos0 sinks */
        {1, 1, 1, 1, 8, HEED_MASK_CAUSAL, 0, 0, 0, false},        /* one token            */
        {1, 300, 8, 2, 64, HEED_MASK_CAUSAL, 0, 0, 0, false},     /* a decode step, GQA   */
        {7, 7, 4, 4, 16, HEED_MASK_CAUSAL, 0, 0, 0, false},       /* a prompt, multi-head */
        {13, 141, 6, 1, 32, HEED_MASK_CAUSAL, 0, 0, 0, false},    /* MQA after a cache    */
        {65, 65, 4, 2, 64, HEED_MASK_CAUSAL, 0, 0, 0, false},     /* blocks, a remainder  */
        {9, 9, 3, 3, 24, HEED_MASK_BIDIRECTIONAL, 0, 0, 0, false}, /* an encoder          */
        {70, 200, 4, 2, 32, HEED_MASK_CAUSAL, 37, 0, 0, false},   /* a sliding window     */
        {1, 90, 4, 1, 32, HEED_MASK_CAUSAL, 64, 0, 1000, false},  /* a decode step on a
                                                window cache that dropped keys    */
        {20, 150, 2, 2, 16, HEED_MASK_CAUSAL, 0, 3.0f, 0, false}, /* soft-capped scores   */
        {33, 129, 4, 2, 64, HEED_MASK_CAUSAL, 100, 5.0f, 77, false}, /* all three         */
        {1, 200, 8, 2, 64, HEED_MASK_CAUSAL, 0, 0, 0, true},  /* sinks, decoding   */
        {40, 160, 4, 4, 32, HEED_MASK_CAUSAL, 32, 0, 0, true}, /* sinks and a window
                                                (gpt-oss's sliding layers)        */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check(shapes[i], 1.0f, i % 2, HEED_TYPE_F32, HEED_TYPE_F32);
        check(shapes[i], 40.0f, i % 2 == 0, HEED_TYPE_F32, HEED_TYPE_F32); /* peaked rows: the
                                                                running maximum moves */
        check(shapes[i], 1.0f, i % 2, HEED_TYPE_F16, HEED_TYPE_F16);
        check(shapes[i], 40.0f, i % 2 == 0, HEED_TYPE_BF16, HEED_TYPE_F16);
        if (shapes[i].head_dim % 32 == 0) /* q8_0's blocks */
            check(shapes[i], 1.0f, i % 2 == 0, HEED_TYPE_Q8_0, HEED_TYPE_Q8_0);
    }
}

/* Each vector variant reads cached rows of every type to exactly the
 * floats of the type's dequantizer. */
Test(attention, cache_rows_exact)
{
    static const heed_type types[] = {HEED_TYPE_F16, HEED_TYPE_BF16, HEED_TYPE_Q8_0};
    static const heed_isa isas[] = {HEED_ISA_SCALAR, HEED_ISA_AVX2, HEED_ISA_AVX512};
    enum { N = 5, D = 96 };
    uint64_t seed = 7;
    float x[N * D], want[N * D], got[N * D];
    char rows[N * D * 4];
    for (int i = 0; i < N * D; i++)
        x[i] = 3.0f * test_unif(&seed);
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        const int64_t rb = (int64_t)heed_type_row_size(types[t], D) + 6; /* a gap between rows */
        for (int j = 0; j < N; j++) {
            heed_type_get(types[t])->from_float(x + j * D, rows + j * rb, D);
            heed_type_get(types[t])->to_float(rows + j * rb, want + j * D, D);
        }
        for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
            const heed_attn_rows *kr = heed_attn_rows_variant(isas[i]);
            if (!kr)
                continue;
            memset(got, 0xff, sizeof got);
            heed_attn_kv_rows(kr, types[t])(rows, rb, N, D, got);
            cr_expect(!memcmp(got, want, sizeof want), "%s rows on %s differ",
                      heed_type_name(types[t]), heed_isa_name(isas[i]));
        }
    }
}

/* A sink takes its share of the softmax and gives no value: against the
 * weights computed in double by hand, in both operators, and in a
 * capture, whose rows then sum to 1 less the share it reports. */
Test(attention, sink_takes_its_share)
{
    enum { N = 5, D = 8, H = 4 }; /* tiny-llama's 4 heads, for a capture */
    uint64_t seed = 3;
    float q[N * H * D], k[N * D], v[N * D], ref[N * H * D], got[N * H * D];
    const float sinks[H] = {-1.0f, 0.5f, 3.0f, 9.0f};
    for (int i = 0; i < N * H * D; i++)
        q[i] = test_unif(&seed);
    for (int i = 0; i < N * D; i++) {
        k[i] = test_unif(&seed);
        v[i] = test_unif(&seed);
    }
    const char *gguf = test_tmp_path("sink-model.gguf");
    cr_assert_eq(heed_synth("tiny-llama", HEED_TYPE_F32, 1, 1, gguf), HEED_OK);
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK, "%s", heed_last_error());
    const heed_capture_params cp = heed_capture_default_params(N);
    heed_capture *cap;
    cr_assert_eq(heed_capture_new(m, &cp, &cap), HEED_OK, "%s", heed_last_error());
    heed_attn a = {.q = q, .k = k, .v = v, .k_type = HEED_TYPE_F32, .v_type = HEED_TYPE_F32,
                   .k_row_bytes = D * 4, .k_head_bytes = 0, .v_row_bytes = D * 4,
                   .v_head_bytes = 0, .q_stride = H * D, .out_stride = H * D, .n_q = N,
                   .n_kv = N, .n_head = H, .n_kv_head = 1, .head_dim = D, .scale = 0.5f,
                   .mask = HEED_MASK_CAUSAL, .sinks = sinks, .capture = cap, .layer = 1};
    float scratch[4096];
    cr_assert_leq(heed_attend_tiled_scratch_floats(&a), 4096);
    a.out = ref;
    heed_attend(&a, 0, heed_attend_items(&a), scratch, NULL);
    a.out = got;
    heed_attend_tiled(&a, 0, heed_attend_tiled_items(&a), scratch, NULL);
    for (int i = 0; i < N; i++)
        for (int h = 0; h < H; h++) {
            double z[N], sum = exp(sinks[h]), out[D] = {0};
            for (int j = 0; j <= i; j++) {
                double dot = 0;
                for (int d = 0; d < D; d++)
                    dot += (double)q[(i * H + h) * D + d] * k[j * D + d];
                sum += z[j] = exp(0.5 * dot);
            }
            for (int j = 0; j <= i; j++)
                for (int d = 0; d < D; d++)
                    out[d] += z[j] / sum * v[j * D + d];
            for (int d = 0; d < D; d++) {
                cr_expect_float_eq(ref[(i * H + h) * D + d], out[d], 1e-6, "materialised");
                cr_expect_float_eq(got[(i * H + h) * D + d], out[d], 1e-6, "tiled");
            }
            const float *row = heed_capture_row(cap, 1, h, i);
            double kept = 0;
            for (int j = 0; j <= i; j++) {
                cr_expect_float_eq(row[j], z[j] / sum, 1e-6, "row %d head %d key %d", i, h, j);
                kept += row[j];
            }
            const double share = exp(sinks[h]) / sum;
            cr_expect_float_eq(heed_capture_sink(cap, 1, h, i), share, 1e-6, "share");
            cr_expect_float_eq(kept + heed_capture_sink(cap, 1, h, i), 1.0, 1e-5, "sum");
        }
    cr_expect(heed_capture_sink(cap, 1, 3, 0) > 0.99f, "a sink far above the scores takes all");
    cr_expect_eq(heed_capture_sink(cap, 0, 0, 0), 0.0f, "layer 0 has no sink");
    heed_capture_free(cap);
    heed_model_free(m);
}
