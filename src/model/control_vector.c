/*
 * control_vector.c — llama.cpp's control vectors: a GGUF file (general.
 * architecture "controlvector") of one f32 tensor "direction.K" of n_embd
 * per layer K >= 1, the vector added to the output of block K (0-based;
 * block 0 never has one). Read as llama.cpp's common_control_vector_load
 * reads it, summed in its order (a file's tensors scaled into the file's
 * sum, then the files' sums added), so the same files give its tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "util/error.h"

/* K of "direction.K", or -1. */
static long direction_layer(const char *name)
{
    if (strncmp(name, "direction.", 10) != 0 || !name[10])
        return -1;
    char *end;
    const long k = strtol(name + 10, &end, 10);
    return *end || k < 0 ? -1 : k;
}

heed_status heed_control_vector_add(const char *path, float scale, int n_embd, int n_layer,
                                    float *sum)
{
    heed_gguf *g;
    heed_status st = heed_gguf_open(path, &g);
    if (st)
        return st;
    float *file_sum = calloc((size_t)n_layer * (size_t)n_embd, sizeof *file_sum);
    if (!file_sum)
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !st && i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
        const long k = direction_layer(t->name);
        if (k < 1)
            st = heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s': a control vector holds "
                           "direction.K tensors, K >= 1 (a block's output)", path, t->name);
        else if (t->type != HEED_TYPE_F32 || t->n_dims != 1)
            st = heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s': expected a 1-D f32 vector",
                           path, t->name);
        else if (t->ne[0] != n_embd)
            st = heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' has %lld elements, the model's "
                           "n_embd is %d", path, t->name, (long long)t->ne[0], n_embd);
        else if (k < n_layer) /* llama.cpp ignores the layers a model lacks */
            for (int j = 0; j < n_embd; j++)
                file_sum[k * n_embd + j] += ((const float *)t->data)[j] * scale;
    }
    for (int64_t i = 0; !st && i < (int64_t)n_layer * n_embd; i++)
        sum[i] += file_sum[i];
    free(file_sum);
    heed_gguf_close(g);
    return st;
}
