/*
 * model.h — a loaded model: its architecture, hyperparameters and weights.
 * Weights point into the memory-mapped file; nothing is copied.
 */
#ifndef HEED_MODEL_MODEL_H
#define HEED_MODEL_MODEL_H

#include "heed.h"
#include "attn/attention.h"
#include "kernels/packed.h"

/* How an architecture differs from the others: the forward pass reads this,
 * so a new architecture is a row in arch.c, not a fork of forward.c. */
typedef enum { NORM_RMS, NORM_LAYER } heed_norm_kind;
typedef enum { POS_ROPE_NORMAL, POS_ROPE_NEOX, POS_LEARNED, POS_REL_BIAS } heed_pos_kind;
typedef enum { FFN_SILU_GATED, FFN_GELU_GATED, FFN_SWIGLU_OAI, FFN_GELU, FFN_RELU } heed_ffn_kind;

typedef struct heed_arch {
    const char *name;          /* general.architecture                      */
    heed_norm_kind norm;       /* RMSNorm, or LayerNorm with bias           */
    heed_pos_kind pos;         /* RoPE (pairs adjacent or halves apart),
                                  learned absolute position embeddings, or
                                  T5's bucketed relative bias on the scores */
    heed_ffn_kind ffn;         /* act(W_gate h) * W_up h, or act(W_up h)    */
    heed_ffn_kind ffn_if_gate; /* the kind instead when the file has
                                  ffn_gate tensors (t5: ReLU, flan-t5's
                                  gated GELU); 0 with ffn unset: unused     */
    bool enc_dec;              /* an encoder (enc.*) whose output the
                                  decoder (dec.*) cross-attends to (t5)     */
    bool no_qk_scale;          /* q·k unscaled (T5)                         */
    bool embed_scale;          /* x = embedding · sqrt(n_embd) (gemma)      */
    bool q_prescale;           /* q *= 1/sqrt(head_dim) before q·k (phi3,
                                  gemma), instead of scaling the scores     */
    int prescale_embd_layers;  /* the layer count of the variant that
                                  prescales by 1/sqrt(n_embd / n_head)
                                  instead (gemma2 27B: 46, gemma3 27B: 62,
                                  as llama.cpp tells them apart)            */
    bool post_norm;            /* x = norm(x + block(x)) (bert), instead of
                                  x = x + block(norm(x))                    */
    heed_mask_kind mask;       /* bidirectional: an encoder (no logits)     */
    /* Sliding-window attention: the window is <arch>.attention.
     * sliding_window (window_default when absent; 0: none); layer il uses
     * it unless global_every > 0 and (il + 1) % global_every == 0. */
    bool sliding;
    int window_default, global_every;
    int nope_every;            /* every nope_every-th layer has no RoPE
                                  (smollm3: 4; 0: all have it)              */
    float rope_base_local;     /* the sliding layers' RoPE base, not in the
                                  file (gemma3: 10000), unscaled; 0: the
                                  file's                                    */
    /* soft-capping of attention scores and of the logits:
     * <arch>.attn_logit_softcapping and .final_logit_softcapping, these
     * when absent (0: none) */
    float attn_softcap_default, final_softcap_default;
    /* Mixture of experts, in files whose <arch>.expert_count > 0: each
     * token's router softmax over all experts picks the expert_used_count
     * largest, whose outputs are summed scaled by their probabilities,
     * renormalised to sum 1 where moe_renorm (llama's Mixtral, qwen3moe)
     * or as they are (qwen2moe). */
    bool moe_renorm;
    bool moe_softmax_chosen; /* the experts with the largest router logits
                                chosen, their weights the softmax over
                                those logits alone (gpt-oss)               */
    bool ffn_norm_post_attention; /* the FFN's norm is the file's
                                post_attention_norm (gpt-oss)              */
} heed_arch;

/* The row of name, or NULL; names lists the supported ones for messages. */
const heed_arch *heed_arch_find(const char *name);
void heed_arch_names(char *buf, size_t size);

/* A matrix: n_out rows of n_in elements of type. With packed set, data is
 * the model's own copy in the packed layout (packed.h) and packed the
 * kernels it takes; otherwise data is the file's rows. */
typedef struct heed_weight {
    const void *data;
    int type;
    int64_t n_in, n_out;
    const heed_packed_kernels *packed;
} heed_weight;

/* Every bias may be NULL (absent). With post_norm, attn_norm and ffn_norm
 * are applied after their blocks (bert's attn_output_norm and
 * layer_output_norm). */
typedef struct heed_layer {
    const float *attn_norm, *attn_norm_b; /* [n_embd]                       */
    heed_weight wq, wk, wv;               /* or all in wqkv (phi3, gpt2)    */
    heed_weight wqkv;
    const float *bq, *bk, *bv, *bqkv;     /* (qwen2; gpt2)                  */
    const float *q_norm, *k_norm;         /* [head_dim]: RMSNorm of each
                                             head's q and k before RoPE
                                             (qwen3, gemma3)                */
    const float *attn_post_norm, *ffn_post_norm; /* [n_embd]: RMSNorm of a
                                             block's output before it is
                                             added (gemma2, gemma3)         */
    heed_weight wo;
    const float *bo;                      /* [n_embd] (gpt2)                */
    const float *ffn_norm, *ffn_norm_b;   /* [n_embd]                       */
    heed_weight w_gate, w_up, w_down;     /* gate may be in w_up (phi3)     */
    const float *b_up, *b_down;           /* (gpt2)                         */
    bool gate_in_up;                      /* w_up rows: gate then up        */
    /* Mixture of experts (n_expert > 0; then w_gate, w_up, w_down are
     * absent): the router, expert e's gate, up and down matrices at
     * experts[3e..3e+2] (views of the file's 3-D ffn_*_exps tensors), and
     * a shared expert every token takes (qwen2moe), its output scaled by
     * sigmoid(sh_gate_inp · h). */
    heed_weight router;                   /* ffn_gate_inp: n_embd → n_expert */
    heed_weight *experts;                 /* [n_expert][3]                  */
    heed_weight sh_gate, sh_up, sh_down;
    const float *sh_gate_inp;             /* [n_embd]                       */
    const float *router_b;                /* [n_expert] (gpt-oss)           */
    const float *exp_gate_b, *exp_up_b;   /* [n_expert][n_ff_exp] (gpt-oss) */
    const float *exp_down_b;              /* [n_expert][n_embd] (gpt-oss)   */
    const float *attn_sinks;              /* [n_head]: attention.h (gpt-oss) */
    const float *rel_bias;                /* [n_bucket][n_head] T5's relative
                                             position bias: the layer's own
                                             or, as llama.cpp does, layer 0's */
    /* cross-attention of an encoder-decoder's decoder layer over the
     * encoder output: its norm and projections (data NULL elsewhere) */
    const float *cross_norm;
    heed_weight wq_x, wk_x, wv_x, wo_x;
} heed_layer;

typedef struct heed_hparams {
    int n_vocab, n_embd, n_layer, n_head, n_kv_head, head_dim, n_ff, n_ctx_train;
    int n_rot;
    float norm_eps, rope_base, rope_freq_scale;
    bool rope_yarn;      /* YaRN scaling (rope.scaling.type yarn)            */
    float rope_attn_factor; /* cos and sin scaled by it (LongRoPE's)         */
    int n_ctx_orig;      /* positions RoPE was trained on before scaling     */
    float q_scale;       /* what q·k is scaled by (before it, q_prescale)    */
    int n_swa;           /* the sliding window, 0: none                      */
    float attn_softcap, final_softcap; /* 0: none                            */
    int n_expert, n_expert_used; /* experts per layer, routed per token (0: none) */
    int n_ff_exp, n_ff_shexp;    /* an expert's FFN width, the shared one's      */
    int n_rel_buckets;   /* T5's relative position buckets (0: none)         */
    heed_ffn_kind ffn;   /* the FFN's kind: the arch's, or ffn_if_gate       */
} heed_hparams;

/* Whether layer il of m attends through the sliding window. */
bool heed_layer_sliding(const heed_model *m, int il);

struct heed_model {
    heed_gguf *gguf;              /* owns the mapping                        */
    const heed_arch *arch;
    heed_hparams hp;
    heed_weight token_embd;       /* [n_vocab][n_embd]                       */
    const float *position_embd;   /* [n_ctx_train][n_embd] (learned) or NULL */
    const float *token_type0;     /* [n_embd] token type 0 (bert) or NULL    */
    const float *embd_norm, *embd_norm_b; /* norm of the embeddings or NULL  */
    heed_pooling pooling;         /* the model's own (encoders)              */
    const float *output_norm, *output_norm_b; /* [n_embd]                    */
    heed_weight output;           /* [n_vocab][n_embd]; token_embd if tied   */
    const float *rope_freqs;      /* [n_rot/2] or NULL                       */
    const float *rope_long, *rope_short; /* LongRoPE's factors [n_rot/2], for
                                     contexts longer than n_ctx_orig and not,
                                     or NULL (phi3)                          */
    heed_layer *layers;           /* [n_layer] (an encoder-decoder's decoder) */
    heed_layer *enc_layers;       /* [n_layer] an encoder-decoder's encoder,
                                     or NULL                                 */
    const float *enc_output_norm; /* [n_embd] its output norm                */
    float *rel_bias;              /* the layers' bias tables as floats       */
    int32_t dec_start_id;         /* the decoder's first token, or -1        */
    int32_t bos_id, eos_id;       /* -1 when unknown                         */
    const void *map;              /* a llama2.c checkpoint's mapping         */
    uint64_t map_size;
};

/* The matrices the forward pass multiplies by: slot i < heed_model_slots(m)
 * is matrix i % S of layer i / S, S = 16 + 3 n_expert (wq, wk, wv, wqkv,
 * wo, w_gate, w_up, w_down, router, sh_gate, sh_up, sh_down, wq_x, wk_x,
 * wv_x, wo_x, then each expert's three; data NULL when the layer has
 * none), layers n_layer.. being an encoder-decoder's encoder layers, the
 * last slot the output. */
int64_t heed_model_slots(const heed_model *m);
const heed_weight *heed_model_slot(const heed_model *m, int64_t i);

/* Repacks every matrix this CPU multiplies faster packed (model_pack.c),
 * releasing the file's pages of each as it goes, so the model holds one
 * copy; heed_model_unpack frees the packed copies. */
void heed_model_pack(heed_model *m);
void heed_model_unpack(heed_model *m);

/* The weights of one layer in a capture (capture.c), for the operator. */
float *heed_capture_layer(heed_capture *c, int layer);

/* Fills m from a llama2.c checkpoint (llama2c.c). */
heed_status heed_llama2c_load(const char *path, heed_model *m);

#endif
