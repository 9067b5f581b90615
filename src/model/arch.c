/*
 * arch.c — the architecture table: how each supported architecture differs.
 * Numbers come from each model's metadata; this table holds what the
 * metadata does not say.
 */
#include "model/model.h"

#include <stdio.h>
#include <string.h>

/* What each row does not say is off (false, 0). */
static const heed_arch archs[] = {
    {.name = "llama", .norm = NORM_RMS, .pos = POS_ROPE_NORMAL, .ffn = FFN_SILU_GATED,
     .moe_renorm = true},
    {.name = "qwen2", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_SILU_GATED},
    {.name = "qwen3", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_SILU_GATED},
    {.name = "qwen2moe", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_SILU_GATED},
    {.name = "qwen3moe", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_SILU_GATED,
     .moe_renorm = true},
    {.name = "smollm3", .norm = NORM_RMS, .pos = POS_ROPE_NORMAL, .ffn = FFN_SILU_GATED,
     .nope_every = 4},
    {.name = "phi3", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_SILU_GATED,
     .q_prescale = true, .sliding = true},
    {.name = "gemma", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_GELU_GATED,
     .embed_scale = true, .q_prescale = true},
    {.name = "gemma2", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_GELU_GATED,
     .embed_scale = true, .q_prescale = true, .prescale_embd_layers = 46, .sliding = true,
     .window_default = 4096, .global_every = 2, .attn_softcap_default = 50.0f,
     .final_softcap_default = 30.0f},
    {.name = "gemma3", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_GELU_GATED,
     .embed_scale = true, .q_prescale = true, .prescale_embd_layers = 62, .sliding = true,
     .global_every = 6, .rope_base_local = 10000.0f},
    {.name = "gpt-oss", .norm = NORM_RMS, .pos = POS_ROPE_NEOX, .ffn = FFN_SWIGLU_OAI,
     .sliding = true, .global_every = 2, .moe_softmax_chosen = true,
     .ffn_norm_post_attention = true},
    {.name = "gpt2", .norm = NORM_LAYER, .pos = POS_LEARNED, .ffn = FFN_GELU},
    {.name = "bert", .norm = NORM_LAYER, .pos = POS_LEARNED, .ffn = FFN_GELU, .post_norm = true,
     .mask = HEED_MASK_BIDIRECTIONAL},
    /* T5: ReLU FFNs, flan-T5's gated GELU (marked by ffn_gate tensors) */
    {.name = "t5", .norm = NORM_RMS, .pos = POS_REL_BIAS, .ffn = FFN_RELU,
     .ffn_if_gate = FFN_GELU_GATED, .enc_dec = true, .no_qk_scale = true},
    {.name = "t5encoder", .norm = NORM_RMS, .pos = POS_REL_BIAS, .ffn = FFN_RELU,
     .ffn_if_gate = FFN_GELU_GATED, .no_qk_scale = true, .mask = HEED_MASK_BIDIRECTIONAL},
};

const heed_arch *heed_arch_find(const char *name)
{
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        if (strcmp(archs[i].name, name) == 0)
            return &archs[i];
    return NULL;
}

void heed_arch_names(char *buf, size_t size)
{
    buf[0] = 0;
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? ", " : "", archs[i].name);
}

bool heed_layer_sliding(const heed_model *m, int il)
{
    const int every = m->arch->global_every;
    return m->hp.n_swa > 0 && (every == 0 || (il + 1) % every != 0);
}
