/*
 * attention.h — the attention operator, the one place every architecture's
 * attention goes through:
 *
 *     out = softmax(scale · q kᵀ + mask) v      per query head
 *
 * Query head h reads kv head h / (n_head / n_kv_head) (grouped-query and
 * multi-query attention). Two implementations: the materialised operator
 * (heed_attend: each query row's scores formed, normalised and mixed in
 * full — the straightforward reference the tests hold the other to), and
 * the tiled one (heed_attend_tiled: online softmax over key blocks), which
 * the forward pass runs and which also emits captured rows.
 */
#ifndef HEED_ATTN_ATTENTION_H
#define HEED_ATTN_ATTENTION_H

#include <math.h>
#include <stdint.h>

#include "heed.h"

typedef enum heed_mask_kind {
    HEED_MASK_CAUSAL,         /* query at position p sees keys 0..p          */
    HEED_MASK_BIDIRECTIONAL,  /* every query sees every key                  */
} heed_mask_kind;

typedef struct heed_attn {
    const float *q;      /* [n_q][q_stride], head h at q + h*head_dim        */
    /* Key / value j of kv head g: the row at byte offset g*head_bytes +
     * j*row_bytes of k (v), head_dim elements of k_type (v_type): f32,
     * f16, bf16 or q8_0 (heed_kv_type_ok). */
    const void *k, *v;
    heed_type k_type, v_type;
    int64_t k_row_bytes, k_head_bytes, v_row_bytes, v_head_bytes;
    float *out;          /* [n_q][out_stride], head h at out + h*head_dim    */
    int64_t q_stride, out_stride;
    int n_q, n_kv;
    int64_t q_pos0;      /* position of query 0; query i is at q_pos0 + i    */
    int64_t k_pos0;      /* position of key 0; key j is at k_pos0 + j (a
                            sliding-window cache drops the keys before)      */
    int n_head, n_kv_head, head_dim;
    float scale;
    heed_mask_kind mask;
    int window;          /* > 0 (causal only): the query at position p sees
                            only the keys at p - window + 1 .. p             */
    float softcap;       /* > 0: a score s becomes softcap·tanh(s / softcap)
                            before the softmax (gemma2)                      */
    const float *sinks;  /* [n_head] or NULL: a learned logit per head that
                            joins every row's softmax with no value, so the
                            keys' weights sum to 1 - its share (gpt-oss)    */
    /* Relative position bias (T5; NULL: none, and no cost): the score of
     * query position p, key position j, head h gains
     * bias[bucket[p - j] * n_head + h]; bucket is indexed from -(n) to n
     * for every distance the call can meet. */
    const float *bias;
    const int32_t *bucket;
    /* Capture (may be NULL): every row's post-softmax weights go to
     * heed_capture_store as layer `layer`. */
    heed_capture *capture;
    int layer;
} heed_attn;

/* Query i sees keys [heed_attn_first, heed_attn_visible): under a causal
 * mask those at positions up to its own (at most n_kv), from the window's
 * start when there is one; every key otherwise. */
static inline int heed_attn_visible(const heed_attn *a, int i)
{
    if (a->mask == HEED_MASK_BIDIRECTIONAL)
        return a->n_kv;
    const int64_t last = a->q_pos0 + i - a->k_pos0;
    return last + 1 < a->n_kv ? (int)(last + 1) : a->n_kv;
}
static inline int heed_attn_first(const heed_attn *a, int i)
{
    if (a->mask == HEED_MASK_BIDIRECTIONAL || a->window <= 0)
        return 0;
    const int64_t first = a->q_pos0 + i - a->window + 1 - a->k_pos0;
    return first > 0 ? (int)first : 0;
}

/* Adds the relative position bias of head h to the n scores of the query
 * at position q_pos against keys from position k_pos on. */
static inline void heed_attn_add_bias(const heed_attn *a, int h, int64_t q_pos, int64_t k_pos,
                                      float *s, int n)
{
    const int32_t *b = a->bucket + (q_pos - k_pos);
    for (int j = 0; j < n; j++)
        s[j] += a->bias[(int64_t)b[-j] * a->n_head + h];
}

/* A score as the softmax takes it: soft-capped where the model caps. */
static inline float heed_attn_cap(const heed_attn *a, float s)
{
    return a->softcap > 0 ? a->softcap * tanhf(s * (1.0f / a->softcap)) : s;
}

/* Floats of scratch heed_attend needs (one score row and the sink's, and,
 * for a cache type other than f32, one key or value row as floats). */
int64_t heed_attend_scratch_floats(const heed_attn *a);

/* The work is n_q × n_head items, item i*n_head + h being query row i of
 * head h; heed_attend computes a->out for items [begin, end), so threads
 * can share one call's items. scratch holds heed_attend_scratch_floats(a)
 * floats. When received is not NULL, the weight every key gets is added
 * to received[key] (n_kv doubles; the KV telemetry of a capture). */
int64_t heed_attend_items(const heed_attn *a);
void heed_attend(const heed_attn *a, int64_t begin, int64_t end, float *scratch,
                 double *received);

/* The tiled operator (attention_tiled.c), which the forward pass runs:
 * the same results within rounding (online softmax), O(rows) memory, each
 * key and value row read once per kv head and block of queries. Items are
 * blocks of queries × kv heads; scratch and received as above. Captured
 * rows are exp(s - lse) of the same softmax. */
int64_t heed_attend_tiled_items(const heed_attn *a);
int64_t heed_attend_tiled_scratch_floats(const heed_attn *a);
void heed_attend_tiled(const heed_attn *a, int64_t begin, int64_t end, float *scratch,
                       double *received);

#endif
