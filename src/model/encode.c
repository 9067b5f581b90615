/*
 * encode.c — an encoder-decoder (T5): the encoder's pass, the decoder's
 * cross-attention over its output, and T5's relative position buckets.
 *
 *   encode(ids):  x = embed(ids)
 *                 for each encoder block: x += attention(norm(x)) (all see
 *                 all, relative bias); x += mlp(norm(x))
 *                 e = norm(x); each decoder layer's K = W_k e, V = W_v e
 *   decoder block: self-attention (causal, its own bias), then
 *                 x += W_o attention(W_q norm(x), K, V), then the FFN
 *
 * The encoder's keys and values are the batch's own (it sees its whole
 * input at once); the cross keys and values are kept in f32, as llama.cpp
 * computes them, once per encoding rather than per decoder token.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attention.h"
#include "model/context.h"
#include "model/model.h"
#include "util/error.h"

/* The bucket of a key at distance rel = key - query, as llama.cpp's
 * llama_relative_position_bucket computes it (its float rounding too):
 * half the buckets for each direction when bidirectional, exact distances
 * below half of those, logarithmic ones up to 128 beyond. */
static int32_t rel_bucket(int32_t rel, int64_t n_buckets, bool bidirectional)
{
    const int64_t max_distance = 128;
    if (bidirectional)
        n_buckets >>= 1;
    const int64_t max_exact = n_buckets >> 1;
    int32_t bucket = 0;
    if (bidirectional) {
        bucket += (rel > 0) * (int32_t)n_buckets;
        rel = rel < 0 ? -rel : rel;
    } else {
        rel = rel < 0 ? -rel : 0;
    }
    if (rel < max_exact)
        return bucket + rel;
    const float lg = logf((float)(1.0 * rel / (double)max_exact)) * (float)(n_buckets - max_exact);
    int32_t large = (int32_t)floorf((float)((double)max_exact +
                                            lg / log(1.0 * (double)max_distance / (double)max_exact)));
    if (large > n_buckets - 1)
        large = (int32_t)n_buckets - 1;
    return bucket + large;
}

heed_status heed_rel_buckets_new(heed_context *c)
{
    const int n = c->n_ctx, span = 2 * n - 1;
    if (!(c->buckets = malloc(sizeof *c->buckets * 2 * (size_t)span)))
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    /* [d] is the query-key distance q - k, so the key is at rel = -d */
    for (int d = -(n - 1); d <= n - 1; d++) {
        c->buckets[d + n - 1] = rel_bucket(-d, c->m->hp.n_rel_buckets, true);
        c->buckets[span + d + n - 1] = rel_bucket(-d, c->m->hp.n_rel_buckets, false);
    }
    c->bucket_bidi = c->buckets + n - 1;
    c->bucket_causal = c->buckets + span + n - 1;
    return HEED_OK;
}

void heed_forward_cross_block(heed_context *c, int il, int pos0, int n)
{
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    const heed_layer *L = &m->layers[il];
    const int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KV = (int64_t)hp->n_kv_head * hp->head_dim;
    const int64_t at = (int64_t)il * c->n_ctx * KV;

    heed_forward_norm_rows(c, c->h, c->x, L->cross_norm, NULL, n);
    heed_forward_matmul(c, &L->wq_x, c->h, n, c->q);
    const heed_attn a = {
        .q = c->q, .k = c->cross_k + at, .v = c->cross_v + at, .out = c->att,
        .k_type = HEED_TYPE_F32, .v_type = HEED_TYPE_F32,
        .k_row_bytes = KV * (int64_t)sizeof(float), .k_head_bytes = hp->head_dim * (int64_t)sizeof(float),
        .v_row_bytes = KV * (int64_t)sizeof(float), .v_head_bytes = hp->head_dim * (int64_t)sizeof(float),
        .q_stride = Q, .out_stride = Q,
        .n_q = n, .n_kv = c->n_enc, .q_pos0 = pos0, .k_pos0 = 0,
        .n_head = hp->n_head, .n_kv_head = hp->n_kv_head, .head_dim = hp->head_dim,
        .scale = hp->q_scale, .mask = HEED_MASK_BIDIRECTIONAL,
        .capture = c->captures[HEED_ATTN_CROSS], .layer = il,
    };
    heed_forward_attend(c, &a);
    if (c->qk_tap)
        heed_forward_tap_qk(c, &a, HEED_ATTN_CROSS);
    heed_forward_matmul(c, &L->wo_x, c->att, n, c->h);
    for (int64_t i = 0; i < n * E; i++)
        c->x[i] += c->h[i];
}

heed_status heed_context_encode(heed_context *c, const int32_t *ids, int n)
{
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    if (!m->enc_layers)
        return heed_fail(HEED_ERR_UNSUPPORTED, "'%s' is not an encoder-decoder: its prompt is "
                         "evaluated by heed_context_eval", m->arch->name);
    if (n <= 0 || n > c->batch)
        return heed_fail(HEED_ERR_ARG, "%d tokens to encode (the context takes 1..%d)", n,
                         c->batch);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab)
            return heed_fail(HEED_ERR_ARG, "token id %d at index %d is out of range (the "
                             "vocabulary has %d tokens)", ids[i], i, hp->n_vocab);
    heed_context_reset(c);
    c->n_enc = 0;
    /* the decoder's hooks and edits do not see the encoder; its own
     * capture and the qk tap do */
    const unsigned hook_points = c->hook_points;
    const heed_edits *edits = c->edits;
    c->capture = c->captures[HEED_ATTN_ENCODER];
    c->hook_points = 0;
    c->edits = NULL;
    c->encoding = true;
    c->layers = m->enc_layers;

    heed_forward_embed(c, ids, n);
    for (int il = 0; il < hp->n_layer; il++) {
        heed_forward_attention_block(c, il, 0, n);
        heed_forward_ffn_block(c, il, n);
    }
    heed_forward_norm_rows(c, c->h, c->x, m->enc_output_norm, NULL, n);
    const int64_t KV = (int64_t)hp->n_kv_head * hp->head_dim;
    for (int il = 0; il < hp->n_layer; il++) {
        const int64_t at = (int64_t)il * c->n_ctx * KV;
        heed_forward_matmul(c, &m->layers[il].wk_x, c->h, n, c->cross_k + at);
        heed_forward_matmul(c, &m->layers[il].wv_x, c->h, n, c->cross_v + at);
    }

    c->layers = m->layers;
    c->encoding = false;
    c->capture = c->captures[HEED_ATTN_SELF];
    c->hook_points = hook_points;
    c->edits = edits;
    c->n_enc = n;
    return HEED_OK;
}
