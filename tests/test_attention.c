/* test_attention.c — the tiled attention operator (online softmax over key
 * blocks) against the materialised one (softmax of the whole score row),
 * on random queries, keys and values of awkward sizes: causal and
 * bidirectional masks, grouped and multi-query heads, a batch that starts
 * after cached positions, any split of the work items. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attention.h"
#include "testutil.h"

static float unif(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (float)((double)(*s >> 11) * 0x1p-53 * 2.0 - 1.0);
}

typedef struct shape {
    int n_q, n_kv, n_head, n_kv_head, head_dim;
    heed_mask_kind mask;
} shape;

/* K and V rows position-major ([n_kv][kv heads][dim]) or head-major
 * ([kv heads][n_kv][dim], the cache's layout). */
static void check(shape sh, float spread, bool head_major)
{
    const int Q = sh.n_head * sh.head_dim, KV = sh.n_kv_head * sh.head_dim;
    uint64_t seed = (uint64_t)(sh.n_q * 131 + sh.n_kv * 7 + sh.n_head);
    float *q = malloc(sizeof(float) * (size_t)(sh.n_q * Q));
    float *k = malloc(sizeof(float) * (size_t)(sh.n_kv * KV));
    float *v = malloc(sizeof(float) * (size_t)(sh.n_kv * KV));
    float *ref = malloc(sizeof(float) * (size_t)(sh.n_q * Q));
    float *got = malloc(sizeof(float) * (size_t)(sh.n_q * Q));
    for (int i = 0; i < sh.n_q * Q; i++)
        q[i] = spread * unif(&seed);
    for (int i = 0; i < sh.n_kv * KV; i++) {
        k[i] = unif(&seed);
        v[i] = unif(&seed);
    }
    heed_attn a = {.q = q, .k = k, .v = v, .q_stride = Q,
                   .kv_stride = head_major ? sh.head_dim : KV,
                   .kv_head_stride = head_major ? (int64_t)sh.n_kv * sh.head_dim : sh.head_dim,
                   .out_stride = Q,
                   .n_q = sh.n_q, .n_kv = sh.n_kv, .q_pos0 = sh.n_kv - sh.n_q,
                   .n_head = sh.n_head, .n_kv_head = sh.n_kv_head, .head_dim = sh.head_dim,
                   .scale = 1.0f / sqrtf((float)sh.head_dim), .mask = sh.mask};
    float *scratch = malloc(sizeof(float) * (size_t)heed_attend_tiled_scratch_floats(&a));
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
    cr_log_info("tiled vs materialised, n_q %d n_kv %d heads %d/%d: %.2g", sh.n_q, sh.n_kv,
                sh.n_head, sh.n_kv_head, worst);
    cr_expect_leq(worst, 1e-5, "n_q %d n_kv %d heads %d/%d dim %d mask %d spread %g: "
                  "relative difference %g", sh.n_q, sh.n_kv, sh.n_head, sh.n_kv_head,
                  sh.head_dim, sh.mask, spread, worst);
    free(q);
    free(k);
    free(v);
    free(ref);
    free(got);
    free(scratch);
}

Test(attention, tiled_matches_materialised)
{
    static const shape shapes[] = {
        {1, 1, 1, 1, 8, HEED_MASK_CAUSAL},        /* one token                  */
        {1, 300, 8, 2, 64, HEED_MASK_CAUSAL},     /* a decode step, GQA         */
        {7, 7, 4, 4, 16, HEED_MASK_CAUSAL},       /* a prompt, plain multi-head */
        {13, 141, 6, 1, 32, HEED_MASK_CAUSAL},    /* MQA, a batch after a cache */
        {65, 65, 4, 2, 64, HEED_MASK_CAUSAL},     /* key blocks and a remainder */
        {9, 9, 3, 3, 24, HEED_MASK_BIDIRECTIONAL} /* an encoder                 */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check(shapes[i], 1.0f, i % 2);
        check(shapes[i], 40.0f, i % 2 == 0); /* peaked rows: the running maximum moves */
    }
}
