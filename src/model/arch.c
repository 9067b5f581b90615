/*
 * arch.c — the architecture table: how each supported architecture differs.
 * Numbers come from each model's metadata; this table holds what the
 * metadata does not say.
 */
#include "model/model.h"

#include <string.h>

static const heed_arch archs[] = {
    /* name     rope        ffn             embed_scale q_prescale mask */
    {"llama", ROPE_NORMAL, FFN_SILU_GATED, false, false, HEED_MASK_CAUSAL},
    {"qwen2", ROPE_NEOX, FFN_SILU_GATED, false, false, HEED_MASK_CAUSAL},
    {"phi3", ROPE_NEOX, FFN_SILU_GATED, false, true, HEED_MASK_CAUSAL},
    {"gemma", ROPE_NEOX, FFN_GELU_GATED, true, true, HEED_MASK_CAUSAL},
};

const heed_arch *heed_arch_find(const char *name)
{
    for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
        if (strcmp(archs[i].name, name) == 0)
            return &archs[i];
    return NULL;
}

const char *heed_arch_names(void) { return "llama, qwen2, phi3, gemma"; }
