/*
 * context.h — what a context holds (forward.c makes and runs it), and the
 * forward pass's helpers the mixture-of-experts block (moe.c) shares.
 */
#ifndef HEED_MODEL_CONTEXT_H
#define HEED_MODEL_CONTEXT_H

#include "attn/attention.h"
#include "kernels/pool.h"
#include "model/edits.h"
#include "model/model.h"

/* Where a layer's keys and values are: a full layer holds every position
 * (cap = n_ctx, pos0 = 0); a sliding-window layer only the window and a
 * batch, the oldest dropped (pos0 moves on) when a batch needs the room. */
typedef struct layer_cache {
    int64_t first_row;
    int cap, pos0;
} layer_cache;

struct heed_context {
    const heed_model *m;
    int n_ctx, n_past;
    int batch;      /* tokens one forward pass takes: BATCH, or n_ctx for an
                       encoder                                                */
    heed_pool *pool;
    heed_capture *capture;  /* where attention weights go, or NULL: the
                               SELF capture (the encoder's while encoding)   */
    heed_capture *captures[HEED_ATTN_CROSS + 1]; /* attached, by kind        */
    float *residual;        /* [pos][n_layer + 1][n_embd] of positions
                               [res_begin, res_end), or NULL                 */
    int res_begin, res_end;
    heed_qk_fn qk_tap;      /* called after each layer's attention, or NULL  */
    void *qk_user;
    float *steering;        /* [n_layer][n_embd] added after blocks
                               steer_begin..steer_end, or NULL              */
    int steer_begin, steer_end;
    unsigned hook_points;   /* activation hooks: 1u << heed_hook_point       */
    heed_hook_fn hook;
    void *hook_user;
    const heed_edits *edits; /* interventions, applied before the hook, or NULL */
    /* per layer, [n_kv_head][cap] rows of head_dim elements of type_k
     * (type_v) from row first_row on: each head's keys one contiguous run,
     * row j the position pos0 + j */
    void *k_cache, *v_cache;
    layer_cache *cache;     /* [n_layer]                                     */
    heed_type type_k, type_v;
    size_t k_row, v_row;   /* bytes of one cached key (value) row           */
    float *tap_k;   /* [n_kv_head][n_ctx][head_dim] keys as floats for the
                       qk tap, when the cache is not f32 (made on demand)   */
    /* activations of one batch                                               */
    float *x;       /* [batch][n_embd]      the residual stream               */
    float *h;       /* [batch][n_embd]      normed input of a sub-block       */
    float *q;       /* [batch][n_head*head_dim]                               */
    float *k, *v;   /* [batch][n_kv_head*head_dim]                            */
    float *qkv;     /* [batch][q + 2 kv]    fused projection output           */
    float *att;     /* [batch][n_head*head_dim]  attention output             */
    float *gate;    /* [batch][2 n_ff]      ffn gate (and up when fused)      */
    float *up;      /* [batch][n_ff]        (n_ff: the widest FFN's)          */
    /* a mixture of experts' routing and outputs (moe.c)                      */
    float *moe_logits;  /* [batch][n_expert] router output, then probabilities */
    int32_t *moe_slot;  /* [batch][n_used] the row of moe_y of each choice    */
    float *moe_gate;    /* [batch][n_used] the weight of each choice          */
    int32_t *moe_token; /* [batch * n_used] token of each row of moe_y        */
    int32_t *moe_count; /* [n_expert + 1] rows of moe_y per expert            */
    float *moe_in;      /* [batch][n_embd] an expert's tokens' inputs; then the
                           shared expert's outputs                            */
    float *moe_y;       /* [batch * n_used][n_embd] expert outputs, by expert */
    float *attn_scratch; /* [n_threads][attn_floats]: the attention operator */
    int64_t attn_floats;
    double *received; /* [n_threads][n_ctx] weight each key got (telemetry)   */
    float *rope;    /* [n_rot]              cos/sin of one position           */
    void *xq;       /* activations converted for the current matmul           */
    /* the stack a pass runs: the model's layers, or an encoder-decoder's
     * encoder while encoding (encode.c), whose keys and values are the
     * batch's own (c->k, c->v), all seen by all                              */
    const heed_layer *layers;
    bool encoding;
    /* T5's relative position buckets by query-key distance d in
     * [-(n_ctx - 1), n_ctx - 1], at [d]: bidirectional, causal (or NULL)    */
    const int32_t *bucket_bidi, *bucket_causal;
    int32_t *buckets;
    /* an encoder-decoder's encoding: each decoder layer's cross-attention
     * keys and values of it, [n_layer][n_ctx][n_kv_head * head_dim]          */
    float *cross_k, *cross_v;
    int n_enc;      /* encoder positions (0: nothing encoded yet)             */
};

/* One sequence's rows in a forward pass: rows [row, row + n) of the batch
 * are ctx's tokens at positions pos0.., of which those from first_logit on
 * want logits (n: none). A context's own batch is one sequence; a batch of
 * several contexts' tokens (continuous batching, heed_context_eval_many)
 * has one per context, each attending over its own cache. */
typedef struct heed_seq {
    heed_context *ctx;
    int row, n, pos0, first_logit;
} heed_seq;

/* Applies the edits at point to the n rows of its activation in data,
 * then hands them to the hook, if either asks. */
static inline void heed_forward_hook(heed_context *c, heed_hook_point point, int layer, int pos0,
                                     int n, int64_t width, float *data)
{
    const unsigned edited = c->edits ? c->edits->points : 0;
    if ((c->hook_points | edited) >> point & 1) {
        heed_activation a = {point, layer, pos0, n, (int)width, data};
        if (edited >> point & 1)
            heed_edits_apply(c->edits, &a);
        if (c->hook_points >> point & 1)
            c->hook(c->hook_user, &a);
    }
}

/* The forward pass's parts that encode.c runs too (forward.c). */
void heed_forward_embed(heed_context *c, const int32_t *ids, int n);
void heed_forward_norm_rows(heed_context *c, float *y, const float *x, const float *w,
                            const float *b, int n);
void heed_forward_attention_block(heed_context *c, int il, int pos0, int n);
void heed_forward_ffn_block(heed_context *c, int il, int n);
void heed_forward_attend(heed_context *c, const heed_attn *a);
/* Hands the qk tap a's queries and keys, as attention of that kind. */
void heed_forward_tap_qk(heed_context *c, const heed_attn *a, heed_attn_kind kind);
/* x += cross-attention(norm(x)) over the encoding, for the n tokens at
 * positions pos0.. of decoder layer il (encode.c). */
void heed_forward_cross_block(heed_context *c, int il, int pos0, int n);
/* The bucket tables of a context of n_ctx positions (encode.c). */
heed_status heed_rel_buckets_new(heed_context *c);

/* Evaluates ids as a fresh sequence with fn at points standing in for c's
 * activation hook, which is put back after: the library's own readers of
 * a pass (means, attribution). */
heed_status heed_forward_eval_tapped(heed_context *c, const int32_t *ids, int n, float *logits,
                                     bool all_logits, unsigned points, heed_hook_fn fn,
                                     void *user);

/* y = W x for n rows x, on the pool. */
void heed_forward_matmul(heed_context *c, const heed_weight *w, const float *x, int n, float *y);
/* A gated FFN: its matrices, activation and biases (each may be NULL). */
typedef struct heed_ffn {
    const heed_weight *gate, *up, *down;
    heed_ffn_kind act; /* FFN_SILU_GATED, FFN_GELU_GATED or FFN_SWIGLU_OAI */
    const float *gate_b, *up_b, *down_b;
} heed_ffn;

/* y = W_down act(W_gate x + b_gate, W_up x + b_up) + b_down for n rows x
 * (y may be x), through c->gate and c->up: the FFN of a dense layer and
 * of an expert. */
void heed_forward_gated_ffn(heed_context *c, const heed_ffn *f, const float *x, int n, float *y);

/* c->h = the experts' FFN of the n normed rows in c->h, for layer il of
 * a mixture-of-experts model, recording the routing in c->capture. */
void heed_moe_ffn(heed_context *c, int il, int n);

#endif
