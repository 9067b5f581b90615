/*
 * model_load.c — builds a heed_model from a GGUF file: hyperparameters from
 * `<arch>.*` metadata, weights found by their llama.cpp names, and every
 * shape checked against the hyperparameters before anything runs, so the
 * forward pass can trust them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/file_map.h"

/* The loader's state: the file and the architecture prefix of its keys. */
typedef struct loader {
    heed_gguf *g;
    const char *path;
    char arch[64];
} loader;

/* `<arch>.suffix` as an integer in [lo, hi]; def when absent (def < 0:
 * required). */
static heed_status hp_int(const loader *l, const char *suffix, int64_t def, int64_t lo,
                          int64_t hi, int *out)
{
    char key[160];
    int64_t v;
    snprintf(key, sizeof key, "%s.%s", l->arch, suffix);
    heed_status st = heed_gguf_get_int(l->g, key, &v);
    if (st == HEED_ERR_NOT_FOUND && def >= 0)
        v = def;
    else if (st)
        return st;
    if (v < lo || v > hi)
        return heed_fail(HEED_ERR_FORMAT, "%s: metadata key '%s' is %lld (expected %lld..%lld)",
                         l->path, key, (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return HEED_OK;
}

/* `<arch>.suffix` as a positive finite float; def when absent (def < 0:
 * required; 0: off). */
static heed_status hp_float(const loader *l, const char *suffix, double def, float *out)
{
    char key[160];
    double v;
    snprintf(key, sizeof key, "%s.%s", l->arch, suffix);
    heed_status st = heed_gguf_get_float(l->g, key, &v);
    if (st == HEED_ERR_NOT_FOUND && def >= 0) {
        *out = (float)def;
        return HEED_OK;
    }
    if (st)
        return st;
    if (!(v > 0) || !isfinite(v))
        return heed_fail(HEED_ERR_FORMAT, "%s: metadata key '%s' is %g (expected a positive "
                         "number)", l->path, key, v);
    *out = (float)v;
    return HEED_OK;
}

static heed_status read_hparams(const loader *l, const heed_arch *arch, heed_hparams *hp)
{
    heed_status st;
    const int big = 1 << 20;
    if ((st = hp_int(l, "embedding_length", -1, 1, big, &hp->n_embd)) ||
        (st = hp_int(l, "block_count", -1, 1, 4096, &hp->n_layer)) ||
        (st = hp_int(l, "feed_forward_length", -1, 1, big, &hp->n_ff)) ||
        (st = hp_int(l, "attention.head_count", -1, 1, 4096, &hp->n_head)) ||
        (st = hp_int(l, "attention.head_count_kv", hp->n_head, 1, hp->n_head, &hp->n_kv_head)) ||
        (st = hp_int(l, "context_length", 2048, 1, 1 << 24, &hp->n_ctx_train)))
        return st;
    if (hp->n_head % hp->n_kv_head)
        return heed_fail(HEED_ERR_FORMAT, "%s: %d attention heads do not divide into %d kv "
                         "heads", l->path, hp->n_head, hp->n_kv_head);
    int head_dim_default = hp->n_embd % hp->n_head ? 0 : hp->n_embd / hp->n_head;
    int value_length;
    if ((st = hp_int(l, "attention.key_length", head_dim_default, 1, 1 << 16, &hp->head_dim)) ||
        (st = hp_int(l, "attention.value_length", hp->head_dim, 1, 1 << 16, &value_length)))
        return st;
    if (value_length != hp->head_dim)
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: key length %d differs from value length "
                         "%d", l->path, hp->head_dim, value_length);
    if ((st = hp_int(l, "rope.dimension_count", hp->head_dim, 2, hp->head_dim, &hp->n_rot)) ||
        (st = hp_float(l, arch->norm == NORM_RMS ? "attention.layer_norm_rms_epsilon"
                                                 : "attention.layer_norm_epsilon",
                       1e-5, &hp->norm_eps)) ||
        (st = hp_float(l, "rope.freq_base", 10000.0, &hp->rope_base)))
        return st;
    if (hp->n_rot % 2)
        return heed_fail(HEED_ERR_FORMAT, "%s: rope.dimension_count %d is odd", l->path, hp->n_rot);

    /* RoPE scaling: none, linear (positions divided by the factor), YaRN
     * (linear, with the high-frequency pairs extrapolated and the angles'
     * magnitude raised) or LongRoPE (frequency factors, below) */
    char key[160];
    heed_gguf_str type = {"none", 4};
    snprintf(key, sizeof key, "%s.rope.scaling.type", l->arch);
    if ((st = heed_gguf_get_str(l->g, key, &type)) && st != HEED_ERR_NOT_FOUND)
        return st;
#define IS(name) (type.len == strlen(name) && !memcmp(type.ptr, name, type.len))
    float factor = 1.0f;
    if ((st = hp_float(l, "rope.scaling.factor", 1.0, &factor)) ||
        (st = hp_float(l, "rope.scaling.attn_factor", 1.0, &hp->rope_attn_factor)) ||
        (st = hp_int(l, "rope.scaling.original_context_length", hp->n_ctx_train, 1, 1 << 24,
                     &hp->n_ctx_orig)))
        return st;
    if (IS("none"))
        factor = 1.0f;
    else if (!IS("linear") && !IS("yarn") && !IS("longrope"))
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: RoPE scaling '%.*s' is not supported "
                         "(heed supports none, linear, yarn and longrope)", l->path,
                         (int)type.len, type.ptr);
    hp->rope_freq_scale = 1.0f / factor;
    hp->rope_yarn = IS("yarn");
#undef IS

    /* as llama.cpp scales q·k: by 1/sqrt(head_dim), or for the variant that
     * differs (gemma 27B) by 1/sqrt(n_embd / n_head) */
    const int scale_dim = hp->n_layer == arch->prescale_embd_layers ? hp->n_embd / hp->n_head
                                                                    : hp->head_dim;
    hp->q_scale = arch->no_qk_scale ? 1.0f
                                    : 1.0f / sqrtf((float)(scale_dim > 0 ? scale_dim : hp->head_dim));
    hp->ffn = arch->ffn;
    if (arch->pos == POS_REL_BIAS &&
        (st = hp_int(l, "attention.relative_buckets_count", -1, 4, 1 << 16, &hp->n_rel_buckets)))
        return st;
    /* experts: llama.cpp's defaults for the widths (Mixtral's experts are
     * feed_forward_length wide; the shared expert too, unless said) */
    if ((st = hp_int(l, "expert_count", 0, 0, 4096, &hp->n_expert)) ||
        (st = hp_int(l, "expert_used_count", hp->n_expert ? -1 : 0, hp->n_expert ? 1 : 0,
                     hp->n_expert, &hp->n_expert_used)) ||
        (st = hp_int(l, "expert_feed_forward_length", hp->n_ff, 1, big, &hp->n_ff_exp)) ||
        (st = hp_int(l, "expert_shared_feed_forward_length", hp->n_ff, 1, big,
                     &hp->n_ff_shexp)))
        return st;
    if (arch->sliding &&
        (st = hp_int(l, "attention.sliding_window", arch->window_default, 0, INT32_MAX,
                     &hp->n_swa)))
        return st;
    if (arch->attn_softcap_default > 0 &&
        ((st = hp_float(l, "attn_logit_softcapping", arch->attn_softcap_default,
                        &hp->attn_softcap)) ||
         (st = hp_float(l, "final_logit_softcapping", arch->final_softcap_default,
                        &hp->final_softcap))))
        return st;
    return HEED_OK;
}

/* A matrix by name with ne = {n_in, n_out}; absent optional ones stay zero. */
static heed_status weight(const loader *l, const char *name, int64_t n_in, int64_t n_out,
                          bool optional, heed_weight *w)
{
    const heed_gguf_tensor *t = heed_gguf_find_tensor(l->g, name);
    memset(w, 0, sizeof *w);
    if (!t)
        return optional ? HEED_OK
                        : heed_fail(HEED_ERR_NOT_FOUND, "%s: tensor '%s' is missing", l->path,
                                    name);
    if (t->n_dims != 2 || t->ne[0] != n_in || t->ne[1] != n_out)
        return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' has shape %lld x %lld x %lld "
                         "(expected %lld x %lld from the hyperparameters)", l->path, name,
                         (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                         (long long)n_in, (long long)n_out);
    if (!heed_type_get(t->type)->to_float)
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which heed "
                         "cannot compute with yet", l->path, name, heed_type_name(t->type));
    *w = (heed_weight){.data = t->data, .type = t->type, .n_in = n_in, .n_out = n_out};
    return HEED_OK;
}

/* Per-expert f32 vectors (biases): an optional 2-D tensor by name with
 * ne = {n, n_expert}. */
static heed_status expert_vectors(const loader *l, const char *name, int64_t n, int n_expert,
                                  const float **out)
{
    const heed_gguf_tensor *t = heed_gguf_find_tensor(l->g, name);
    *out = NULL;
    if (!t)
        return HEED_OK;
    if (t->type != HEED_TYPE_F32 || t->n_dims != 2 || t->ne[0] != n || t->ne[1] != n_expert)
        return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' is %s %lld x %lld (expected f32 "
                         "%lld x %d)", l->path, name, heed_type_name(t->type),
                         (long long)t->ne[0], (long long)t->ne[1], (long long)n, n_expert);
    *out = t->data;
    return HEED_OK;
}

/* Expert matrices: a 3-D tensor by name with ne = {n_in, n_out,
 * n_expert}, as n_expert weights at w[0], w[stride], ... */
static heed_status expert_weights(const loader *l, const char *name, int64_t n_in,
                                  int64_t n_out, int n_expert, heed_weight *w, int stride)
{
    const heed_gguf_tensor *t = heed_gguf_find_tensor(l->g, name);
    if (!t)
        return heed_fail(HEED_ERR_NOT_FOUND, "%s: tensor '%s' is missing", l->path, name);
    if (t->n_dims != 3 || t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != n_expert)
        return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' has shape %lld x %lld x %lld "
                         "(expected %lld x %lld x %d from the hyperparameters)", l->path, name,
                         (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                         (long long)n_in, (long long)n_out, n_expert);
    if (!heed_type_get(t->type)->to_float)
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which heed "
                         "cannot compute with yet", l->path, name, heed_type_name(t->type));
    const size_t bytes = heed_type_row_size(t->type, n_in) * (size_t)n_out;
    for (int e = 0; e < n_expert; e++)
        w[e * stride] = (heed_weight){.data = (const char *)t->data + bytes * (size_t)e,
                                      .type = t->type, .n_in = n_in, .n_out = n_out};
    return HEED_OK;
}

/* An f32 vector of n elements (norm weights, biases). */
static heed_status vector(const loader *l, const char *name, int64_t n, bool optional,
                          const float **out)
{
    const heed_gguf_tensor *t = heed_gguf_find_tensor(l->g, name);
    *out = NULL;
    if (!t)
        return optional ? HEED_OK
                        : heed_fail(HEED_ERR_NOT_FOUND, "%s: tensor '%s' is missing", l->path,
                                    name);
    if (t->type != HEED_TYPE_F32 || t->ne[0] != n || t->ne[1] * t->ne[2] * t->ne[3] != 1)
        return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' is %s with %lld elements "
                         "(expected f32 with %lld)", l->path, name, heed_type_name(t->type),
                         (long long)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]), (long long)n);
    *out = t->data;
    return HEED_OK;
}

/* A mixture-of-experts layer's FFN: router, experts, shared expert. */
static heed_status load_experts(const loader *l, const heed_model *m, int i, heed_layer *L)
{
    const heed_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, FE = hp->n_ff_exp, FS = hp->n_ff_shexp;
    const int NE = hp->n_expert;
    char n[96];
    heed_status st;
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", i, s), n)
    if (m->arch->ffn != FFN_SILU_GATED && m->arch->ffn != FFN_SWIGLU_OAI)
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: experts in a %s model (heed runs them "
                         "with SiLU-gated FFNs)", l->path, m->arch->name);
    if (!(L->experts = calloc((size_t)NE * 3, sizeof *L->experts)))
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    if ((st = weight(l, NAME("ffn_gate_inp.weight"), E, NE, false, &L->router)) ||
        (st = expert_weights(l, NAME("ffn_gate_exps.weight"), E, FE, NE, L->experts, 3)) ||
        (st = expert_weights(l, NAME("ffn_up_exps.weight"), E, FE, NE, L->experts + 1, 3)) ||
        (st = expert_weights(l, NAME("ffn_down_exps.weight"), FE, E, NE, L->experts + 2, 3)) ||
        (st = vector(l, NAME("ffn_gate_inp_shexp.weight"), E, true, &L->sh_gate_inp)) ||
        (st = weight(l, NAME("ffn_gate_shexp.weight"), E, FS, !L->sh_gate_inp, &L->sh_gate)) ||
        (st = weight(l, NAME("ffn_up_shexp.weight"), E, FS, !L->sh_gate_inp, &L->sh_up)) ||
        (st = weight(l, NAME("ffn_down_shexp.weight"), FS, E, !L->sh_gate_inp, &L->sh_down)) ||
        (st = vector(l, NAME("ffn_gate_inp.bias"), NE, true, &L->router_b)) ||
        (st = expert_vectors(l, NAME("ffn_gate_exps.bias"), FE, NE, &L->exp_gate_b)) ||
        (st = expert_vectors(l, NAME("ffn_up_exps.bias"), FE, NE, &L->exp_up_b)) ||
        (st = expert_vectors(l, NAME("ffn_down_exps.bias"), E, NE, &L->exp_down_b)))
        return st;
#undef NAME
    return HEED_OK;
}

static heed_status load_layer(const loader *l, const heed_model *m, int i, heed_layer *L)
{
    const heed_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KV = (int64_t)hp->n_kv_head * hp->head_dim, F = hp->n_ff;
    char n[96];
    heed_status st;
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", i, s), n)
    /* Post-norm blocks name their norms after what they follow. */
    const bool post = m->arch->post_norm;
    if ((st = vector(l, NAME(post ? "attn_output_norm.weight" : "attn_norm.weight"), E, false,
                     &L->attn_norm)) ||
        (st = vector(l, NAME(post ? "attn_output_norm.bias" : "attn_norm.bias"), E, true,
                     &L->attn_norm_b)) ||
        (st = weight(l, NAME("attn_qkv.weight"), E, Q + 2 * KV, true, &L->wqkv)) ||
        (st = vector(l, NAME("attn_qkv.bias"), Q + 2 * KV, true, &L->bqkv)))
        return st;
    if (!L->wqkv.data &&
        ((st = weight(l, NAME("attn_q.weight"), E, Q, false, &L->wq)) ||
         (st = weight(l, NAME("attn_k.weight"), E, KV, false, &L->wk)) ||
         (st = weight(l, NAME("attn_v.weight"), E, KV, false, &L->wv)) ||
         (st = vector(l, NAME("attn_q.bias"), Q, true, &L->bq)) ||
         (st = vector(l, NAME("attn_k.bias"), KV, true, &L->bk)) ||
         (st = vector(l, NAME("attn_v.bias"), KV, true, &L->bv))))
        return st;
    /* gpt-oss names its FFN norm post_attention_norm */
    const bool ffn_post = m->arch->ffn_norm_post_attention;
    if ((st = vector(l, NAME("attn_q_norm.weight"), hp->head_dim, true, &L->q_norm)) ||
        (st = vector(l, NAME("attn_k_norm.weight"), hp->head_dim, true, &L->k_norm)) ||
        (st = vector(l, NAME("attn_sinks.weight"), hp->n_head, true, &L->attn_sinks)) ||
        (!ffn_post &&
         (st = vector(l, NAME("post_attention_norm.weight"), E, true, &L->attn_post_norm))) ||
        (st = vector(l, NAME("post_ffw_norm.weight"), E, true, &L->ffn_post_norm)))
        return st;
    if ((st = weight(l, NAME("attn_output.weight"), Q, E, false, &L->wo)) ||
        (st = vector(l, NAME("attn_output.bias"), E, true, &L->bo)) ||
        (st = vector(l, NAME(post       ? "layer_output_norm.weight"
                             : ffn_post ? "post_attention_norm.weight"
                                        : "ffn_norm.weight"),
                     E, false, &L->ffn_norm)) ||
        (st = vector(l, NAME(post ? "layer_output_norm.bias" : "ffn_norm.bias"), E, true,
                     &L->ffn_norm_b)) ||
        (st = vector(l, NAME("ffn_down.bias"), E, true, &L->b_down)))
        return st;
    if (hp->n_expert)
        return load_experts(l, m, i, L);
    if ((st = weight(l, NAME("ffn_gate.weight"), E, F, true, &L->w_gate)) ||
        (st = weight(l, NAME("ffn_down.weight"), F, E, false, &L->w_down)) ||
        (st = vector(l, NAME("ffn_up.bias"), F, true, &L->b_up)))
        return st;
    /* A gated FFN without a gate tensor has gate and up in ffn_up (phi3). */
    L->gate_in_up = m->arch->ffn != FFN_GELU && !L->w_gate.data;
    st = weight(l, NAME("ffn_up.weight"), E, L->gate_in_up ? 2 * F : F, false, &L->w_up);
#undef NAME
    return st;
}

/* T5's relative position bias of a layer: optional {n_head, n_bucket}
 * tensor `name`, of any type heed reads, as floats at dst; NULL if absent. */
static heed_status rel_bias(const loader *l, const heed_model *m, const char *name, float *dst,
                            const float **out)
{
    const heed_gguf_tensor *t = heed_gguf_find_tensor(l->g, name);
    const int H = m->hp.n_head, NB = m->hp.n_rel_buckets;
    *out = NULL;
    if (!t)
        return HEED_OK;
    if (t->ne[0] != H || t->ne[1] != NB || t->ne[2] * t->ne[3] != 1 ||
        !heed_type_get(t->type)->to_float)
        return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' is %s %lld x %lld (expected %d heads "
                         "x %d buckets)", l->path, name, heed_type_name(t->type),
                         (long long)t->ne[0], (long long)t->ne[1], H, NB);
    const size_t row = heed_type_row_size(t->type, H);
    for (int b = 0; b < NB; b++)
        heed_type_get(t->type)->to_float((const char *)t->data + row * (size_t)b, dst + b * H, H);
    *out = dst;
    return HEED_OK;
}

/* One layer of T5's encoder ("enc") or decoder ("dec", with its
 * cross-attention); rel is room for its bias table. */
static heed_status load_t5_layer(const loader *l, heed_model *m, const char *stack, int i,
                                 float *rel, heed_layer *L)
{
    const heed_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KV = (int64_t)hp->n_kv_head * hp->head_dim, F = hp->n_ff;
    const bool dec = stack[0] == 'd';
    char n[96];
    heed_status st;
#define NAME(s) (snprintf(n, sizeof n, "%s.blk.%d.%s", stack, i, s), n)
    if ((st = vector(l, NAME("attn_norm.weight"), E, false, &L->attn_norm)) ||
        (st = weight(l, NAME("attn_q.weight"), E, Q, false, &L->wq)) ||
        (st = weight(l, NAME("attn_k.weight"), E, KV, false, &L->wk)) ||
        (st = weight(l, NAME("attn_v.weight"), E, KV, false, &L->wv)) ||
        (st = weight(l, NAME("attn_o.weight"), Q, E, false, &L->wo)) ||
        (st = rel_bias(l, m, NAME("attn_rel_b.weight"), rel, &L->rel_bias)) ||
        (st = vector(l, NAME("ffn_norm.weight"), E, false, &L->ffn_norm)) ||
        (st = weight(l, NAME("ffn_gate.weight"), E, F, true, &L->w_gate)) ||
        (st = weight(l, NAME("ffn_up.weight"), E, F, false, &L->w_up)) ||
        (st = weight(l, NAME("ffn_down.weight"), F, E, false, &L->w_down)))
        return st;
    /* cross_attn_rel_b exists in files but neither HF nor llama.cpp uses it */
    if (dec && ((st = vector(l, NAME("cross_attn_norm.weight"), E, false, &L->cross_norm)) ||
                (st = weight(l, NAME("cross_attn_q.weight"), E, Q, false, &L->wq_x)) ||
                (st = weight(l, NAME("cross_attn_k.weight"), E, KV, false, &L->wk_x)) ||
                (st = weight(l, NAME("cross_attn_v.weight"), E, KV, false, &L->wv_x)) ||
                (st = weight(l, NAME("cross_attn_o.weight"), Q, E, false, &L->wo_x))))
        return st;
#undef NAME
    return HEED_OK;
}

/* A T5 stack of n_layer layers; as llama.cpp does, a layer without its own
 * bias table uses layer 0's, and its FFN is gated (GELU) iff it has a
 * gate, which every layer must agree on. */
static heed_status load_t5_stack(const loader *l, heed_model *m, const char *stack,
                                 heed_layer **out, float *rel)
{
    const heed_hparams *hp = &m->hp;
    const int64_t table = (int64_t)hp->n_head * hp->n_rel_buckets;
    heed_layer *L = *out = calloc((size_t)hp->n_layer, sizeof *L);
    if (!L)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    heed_status st;
    for (int i = 0; i < hp->n_layer; i++)
        if ((st = load_t5_layer(l, m, stack, i, rel + i * table, &L[i])))
            return st;
    if (!L[0].rel_bias)
        return heed_fail(HEED_ERR_NOT_FOUND, "%s: tensor '%s.blk.0.attn_rel_b.weight' (the "
                         "relative position bias) is missing", l->path, stack);
    for (int i = 0; i < hp->n_layer; i++) {
        if (!L[i].rel_bias)
            L[i].rel_bias = L[0].rel_bias;
        if (!L[i].w_gate.data != !L[0].w_gate.data)
            return heed_fail(HEED_ERR_UNSUPPORTED, "%s: %s layer %d %s an FFN gate and layer 0 "
                             "%s", l->path, stack, i, L[i].w_gate.data ? "has" : "lacks",
                             L[0].w_gate.data ? "has" : "does not");
    }
    return HEED_OK;
}

/* T5 (encoder and decoder) or its encoder alone: the stacks, their output
 * norms and the decoder's start token (the file's, else BOS, as llama-cli
 * falls back, else the padding token, which T5 was trained to start from). */
static heed_status load_t5(const loader *l, heed_model *m)
{
    heed_hparams *hp = &m->hp;
    const bool dec = m->arch->enc_dec;
    const size_t table = (size_t)hp->n_head * (size_t)hp->n_rel_buckets;
    if (!(m->rel_bias = malloc(sizeof *m->rel_bias * table * (size_t)hp->n_layer * (dec ? 2 : 1))))
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    heed_status st = load_t5_stack(l, m, "enc", dec ? &m->enc_layers : &m->layers, m->rel_bias);
    if (!st && dec)
        st = load_t5_stack(l, m, "dec", &m->layers, m->rel_bias + table * (size_t)hp->n_layer);
    if (!st)
        st = vector(l, "enc.output_norm.weight", hp->n_embd, false,
                    dec ? &m->enc_output_norm : &m->output_norm);
    if (!st && dec)
        st = vector(l, "dec.output_norm.weight", hp->n_embd, false, &m->output_norm);
    if (st)
        return st;
    const heed_layer *enc = dec ? m->enc_layers : m->layers;
    if (enc[0].w_gate.data)
        hp->ffn = m->arch->ffn_if_gate;
    if (dec && !enc[0].w_gate.data != !m->layers[0].w_gate.data)
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: the encoder's and the decoder's FFNs "
                         "differ in having a gate", l->path);
    int64_t id = -1;
    if (dec && heed_gguf_get_int(l->g, "t5.decoder_start_token_id", &id) &&
        heed_gguf_get_int(l->g, "tokenizer.ggml.bos_token_id", &id) &&
        heed_gguf_get_int(l->g, "tokenizer.ggml.padding_token_id", &id))
        id = 0;
    if (dec && (id < 0 || id >= hp->n_vocab))
        return heed_fail(HEED_ERR_FORMAT, "%s: decoder start token %lld is out of range", l->path,
                         (long long)id);
    m->dec_start_id = dec ? (int32_t)id : -1;
    return HEED_OK;
}

static heed_status load_gguf(heed_gguf *g, const char *path, heed_model *m)
{
    loader l = {g, path, ""};
    heed_gguf_str arch;
    heed_status st = heed_gguf_get_str(g, "general.architecture", &arch);
    if (st)
        return st;
    snprintf(l.arch, sizeof l.arch, "%.*s", (int)(arch.len < 63 ? arch.len : 63), arch.ptr);
    if (!(m->arch = heed_arch_find(l.arch))) {
        char names[256];
        heed_arch_names(names, sizeof names);
        return heed_fail(HEED_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported "
                         "(heed runs: %s)", path, l.arch, names);
    }
    heed_hparams *hp = &m->hp;
    if ((st = read_hparams(&l, m->arch, hp)))
        return st;

    const heed_gguf_tensor *emb = heed_gguf_find_tensor(g, "token_embd.weight");
    if (!emb)
        return heed_fail(HEED_ERR_NOT_FOUND, "%s: tensor 'token_embd.weight' is missing", path);
    if (emb->ne[1] < 1 || emb->ne[1] > INT32_MAX)
        return heed_fail(HEED_ERR_FORMAT, "%s: token_embd.weight has %lld rows", path,
                         (long long)emb->ne[1]);
    hp->n_vocab = (int)emb->ne[1];
    if ((st = weight(&l, "token_embd.weight", hp->n_embd, hp->n_vocab, false, &m->token_embd)) ||
        (st = vector(&l, "output_norm.weight", hp->n_embd,
                     m->arch->post_norm || m->arch->pos == POS_REL_BIAS, &m->output_norm)) ||
        (st = vector(&l, "output_norm.bias", hp->n_embd, true, &m->output_norm_b)) ||
        (st = vector(&l, "token_embd_norm.weight", hp->n_embd, true, &m->embd_norm)) ||
        (st = vector(&l, "token_embd_norm.bias", hp->n_embd, true, &m->embd_norm_b)) ||
        (st = weight(&l, "output.weight", hp->n_embd, hp->n_vocab, true, &m->output)) ||
        (st = vector(&l, "rope_freqs.weight", hp->n_rot / 2, true, &m->rope_freqs)) ||
        (st = vector(&l, "rope_factors_long.weight", hp->n_rot / 2, true, &m->rope_long)) ||
        (st = vector(&l, "rope_factors_short.weight", hp->n_rot / 2, true, &m->rope_short)))
        return st;
    if (!m->output.data)
        m->output = m->token_embd; /* tied */
    if (m->arch->pos == POS_LEARNED) {
        const heed_gguf_tensor *pe = heed_gguf_find_tensor(g, "position_embd.weight");
        if (!pe)
            return heed_fail(HEED_ERR_NOT_FOUND, "%s: tensor 'position_embd.weight' is missing",
                             path);
        if (pe->type != HEED_TYPE_F32 || pe->n_dims != 2 || pe->ne[0] != hp->n_embd ||
            pe->ne[1] < hp->n_ctx_train)
            return heed_fail(HEED_ERR_FORMAT, "%s: tensor 'position_embd.weight' is %s %lld x "
                             "%lld (expected f32 %d x %d)", path, heed_type_name(pe->type),
                             (long long)pe->ne[0], (long long)pe->ne[1], hp->n_embd,
                             hp->n_ctx_train);
        m->position_embd = pe->data;
    }
    const heed_gguf_tensor *tt = heed_gguf_find_tensor(g, "token_types.weight");
    if (tt) {
        if (tt->type != HEED_TYPE_F32 || tt->ne[0] != hp->n_embd)
            return heed_fail(HEED_ERR_FORMAT, "%s: tensor 'token_types.weight' is %s with rows "
                             "of %lld (expected f32 rows of %d)", path, heed_type_name(tt->type),
                             (long long)tt->ne[0], hp->n_embd);
        m->token_type0 = tt->data;
    }
    int pooling = HEED_POOLING_NONE;
    if ((st = hp_int(&l, "pooling_type", HEED_POOLING_NONE, 0, HEED_POOLING_LAST, &pooling)))
        return st;
    m->pooling = (heed_pooling)pooling;

    m->dec_start_id = -1;
    if (m->arch->pos == POS_REL_BIAS) {
        if ((st = load_t5(&l, m)))
            return st;
    } else {
        if (!(m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers)))
            return heed_fail(HEED_ERR_NOMEM, "out of memory");
        for (int i = 0; i < hp->n_layer; i++)
            if ((st = load_layer(&l, m, i, &m->layers[i])))
                return st;
    }

    int64_t id;
    m->bos_id = m->eos_id = -1;
    if (!heed_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &id) && id < hp->n_vocab)
        m->bos_id = (int32_t)id;
    if (!heed_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &id) && id < hp->n_vocab)
        m->eos_id = (int32_t)id;
    heed_clear_error();
    return HEED_OK;
}

heed_status heed_model_load(const char *path, heed_model **out)
{
    *out = NULL;
    heed_model *m = calloc(1, sizeof *m);
    if (!m)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    m->dec_start_id = -1;
    /* llama2.c checkpoints have no magic number; they go by their name. */
    size_t len = strlen(path);
    heed_status st;
    if (len > 4 && !strcmp(path + len - 4, ".bin"))
        st = heed_llama2c_load(path, m);
    else if (!(st = heed_gguf_open(path, &m->gguf)))
        st = load_gguf(m->gguf, path, m);
    if (!st)
        heed_model_pack(m);
    if (st) {
        heed_model_free(m);
        return st;
    }
    *out = m;
    return HEED_OK;
}

void heed_model_free(heed_model *m)
{
    if (!m)
        return;
    if (m->layers) {
        heed_model_unpack(m);
        for (int i = 0; i < m->hp.n_layer; i++)
            free(m->layers[i].experts);
    }
    free(m->layers);
    free(m->enc_layers);
    free(m->rel_bias);
    heed_file_unmap(m->map, m->map_size);
    heed_gguf_close(m->gguf);
    free(m);
}

const char *heed_model_arch(const heed_model *m) { return m->arch->name; }
const heed_gguf *heed_model_gguf(const heed_model *m) { return m->gguf; }
bool heed_model_is_encoder(const heed_model *m) { return m->arch->mask == HEED_MASK_BIDIRECTIONAL; }
heed_pooling heed_model_pooling(const heed_model *m) { return m->pooling; }
int32_t heed_model_n_vocab(const heed_model *m) { return m->hp.n_vocab; }
int heed_model_n_embd(const heed_model *m) { return m->hp.n_embd; }
int heed_model_n_layer(const heed_model *m) { return m->hp.n_layer; }

/* Slots of one layer (model.h), and the layers: an encoder-decoder's
 * encoder layers follow the decoder's. */
enum { DENSE_SLOTS = 16 };
static int64_t layer_slots(const heed_model *m)
{
    return DENSE_SLOTS + 3 * (int64_t)m->hp.n_expert;
}
static int64_t slot_layers(const heed_model *m)
{
    return (int64_t)m->hp.n_layer * (m->enc_layers ? 2 : 1);
}

int64_t heed_model_slots(const heed_model *m)
{
    return slot_layers(m) * layer_slots(m) + 1;
}

const heed_weight *heed_model_slot(const heed_model *m, int64_t i)
{
    const int64_t per = layer_slots(m), li = i / per;
    if (i == slot_layers(m) * per)
        return &m->output;
    const heed_layer *L = li < m->hp.n_layer ? &m->layers[li] : &m->enc_layers[li - m->hp.n_layer];
    const heed_weight *ws[DENSE_SLOTS] = {&L->wq,     &L->wk,      &L->wv,    &L->wqkv,
                                          &L->wo,     &L->w_gate,  &L->w_up,  &L->w_down,
                                          &L->router, &L->sh_gate, &L->sh_up, &L->sh_down,
                                          &L->wq_x,   &L->wk_x,    &L->wv_x,  &L->wo_x};
    static const heed_weight none; /* a layer whose load stopped before its experts */
    return i % per < DENSE_SLOTS ? ws[i % per]
           : L->experts          ? &L->experts[i % per - DENSE_SLOTS]
                                 : &none;
}

int64_t heed_model_matrix_bytes(const heed_model *m)
{
    const int64_t per = layer_slots(m), slots = heed_model_slots(m);
    int64_t sum = 0, experts = 0;
    for (int64_t i = 0; i < slots; i++) {
        const heed_weight *w = heed_model_slot(m, i);
        const heed_layer *L = &m->layers[i / per < m->hp.n_layer ? i / per : 0];
        /* an encoder-decoder's step reads no encoder matrix, nor those of
         * the cross keys and values, computed once per encoding */
        const bool once = i < slots - 1 && (i / per >= m->hp.n_layer || w == &L->wk_x ||
                                             w == &L->wv_x);
        const int64_t bytes = w->data && !once
                                  ? (int64_t)heed_type_row_size(w->type, w->n_in) * w->n_out
                                  : 0;
        *(i < slots - 1 && i % per >= DENSE_SLOTS ? &experts : &sum) += bytes;
    }
    /* a token reads only the experts routed to */
    return sum + (m->hp.n_expert ? experts / m->hp.n_expert * m->hp.n_expert_used : 0);
}
int heed_model_n_kv_head(const heed_model *m)
{
    return m->hp.n_kv_head;
}

int heed_model_head_dim(const heed_model *m)
{
    return m->hp.head_dim;
}

int heed_model_n_head(const heed_model *m) { return m->hp.n_head; }
int heed_model_n_ctx_train(const heed_model *m) { return m->hp.n_ctx_train; }
int heed_model_n_expert(const heed_model *m) { return m->hp.n_expert; }
bool heed_model_has_sinks(const heed_model *m)
{
    for (int i = 0; i < m->hp.n_layer; i++)
        if (m->layers[i].attn_sinks)
            return true;
    return false;
}
int heed_model_n_expert_used(const heed_model *m) { return m->hp.n_expert_used; }
int32_t heed_model_bos(const heed_model *m) { return m->bos_id; }
int32_t heed_model_eos(const heed_model *m) { return m->eos_id; }
int32_t heed_model_decoder_start(const heed_model *m) { return m->dec_start_id; }
