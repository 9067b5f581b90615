/*
 * control_vector.c — llama.cpp's control vectors: a GGUF file (general.
 * architecture "controlvector") of one f32 tensor "direction.K" of n_embd
 * per layer K >= 1, the vector added to the output of block K (0-based;
 * block 0 never has one). Read as llama.cpp's common_control_vector_load
 * reads it, summed in its order (a file's tensors scaled into the file's
 * sum, then the files' sums added), so the same files give its tokens.
 */
#include <stdio.h>
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

heed_status heed_control_vector_write(const char *path, const float *directions, int n_embd,
                                      int layer_start, int layer_end, const char *model_hint)
{
    if (!path || !directions || n_embd <= 0 || layer_start < 1 || layer_end < layer_start)
        return heed_fail(HEED_ERR_ARG, "heed_control_vector_write: want a path, directions, "
                         "n_embd > 0 and 1 <= layer_start <= layer_end (got n_embd %d, "
                         "layers %d..%d)", n_embd, layer_start, layer_end);
    heed_gguf_writer *w;
    heed_status st = heed_gguf_writer_new(&w);
    if (st)
        return st;
    /* the keys and tensors in cvector-generator's order */
    st = heed_gguf_writer_set_str(w, "general.architecture", "controlvector");
    if (!st && model_hint)
        st = heed_gguf_writer_set_str(w, "controlvector.model_hint", model_hint);
    if (!st)
        st = heed_gguf_writer_set_i32(w, "controlvector.layer_count", layer_end - layer_start + 1);
    const int64_t ne[1] = {n_embd};
    for (int k = layer_start; !st && k <= layer_end; k++) {
        char name[32];
        snprintf(name, sizeof name, "direction.%d", k);
        st = heed_gguf_writer_add_tensor(w, name, HEED_TYPE_F32, 1, ne,
                                         directions + (size_t)k * (size_t)n_embd);
    }
    if (!st)
        st = heed_gguf_writer_write(w, path);
    heed_gguf_writer_free(w);
    return st;
}
