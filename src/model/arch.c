/*
 * arch.c — the architecture table: how each supported architecture differs.
 * Numbers come from each model's metadata; this table holds what the
 * metadata does not say.
 */
#include "model/model.h"

#include <stdio.h>
#include <string.h>

static const heed_arch archs[] = {
    /* name   norm        position         ffn   embed_scale q_prescale post_norm mask */
    {"llama", NORM_RMS, POS_ROPE_NORMAL, FFN_SILU_GATED, false, false, false, HEED_MASK_CAUSAL},
    {"qwen2", NORM_RMS, POS_ROPE_NEOX, FFN_SILU_GATED, false, false, false, HEED_MASK_CAUSAL},
    {"qwen3", NORM_RMS, POS_ROPE_NEOX, FFN_SILU_GATED, false, false, false, HEED_MASK_CAUSAL},
    {"phi3", NORM_RMS, POS_ROPE_NEOX, FFN_SILU_GATED, false, true, false, HEED_MASK_CAUSAL},
    {"gemma", NORM_RMS, POS_ROPE_NEOX, FFN_GELU_GATED, true, true, false, HEED_MASK_CAUSAL},
    {"gpt2", NORM_LAYER, POS_LEARNED, FFN_GELU, false, false, false, HEED_MASK_CAUSAL},
    {"bert", NORM_LAYER, POS_LEARNED, FFN_GELU, false, false, true, HEED_MASK_BIDIRECTIONAL},
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
