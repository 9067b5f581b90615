/*
 * llama2c.c — loads a llama2.c checkpoint (the legacy `.bin` format of
 * karpathy/llama2.c's tinyllamas) as a `llama` model.
 *
 * Layout: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size — negative when the classifier is not shared with the
 * embedding — and seq_len), then float32 arrays in this order: token
 * embedding [vocab][dim], attention norms [L][dim], wq [L][dim][dim],
 * wk [L][kv_dim][dim], wv [L][kv_dim][dim], wo [L][dim][dim], ffn norms
 * [L][dim], w1 [L][hidden][dim], w2 [L][dim][hidden], w3 [L][hidden][dim],
 * final norm [dim], two RoPE tables [seq_len][head_size/2] (unused: heed
 * computes the angles), and the classifier [vocab][dim] when not shared.
 * Matrices are row-major with one row per output, as heed's weights are.
 */
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/file_map.h"

static heed_weight f32_matrix(const float *data, int64_t n_in, int64_t n_out)
{
    return (heed_weight){.data = data, .type = HEED_TYPE_F32, .n_in = n_in, .n_out = n_out};
}

/* Checks the header and that the file holds exactly the weights it
 * promises; fills hp and *shared. */
static heed_status check_header(const char *path, const int32_t h[7], uint64_t size,
                                heed_hparams *hp, bool *shared)
{
    static const char *const names[7] = {"dim", "hidden_dim", "n_layers", "n_heads",
                                         "n_kv_heads", "vocab_size", "seq_len"};
    for (int i = 0; i < 7; i++)
        if ((i == 5 ? (h[i] == 0 || h[i] == INT32_MIN) : h[i] <= 0) || abs(h[i]) > (1 << 24))
            return heed_fail(HEED_ERR_FORMAT, "%s: offset %d: llama2.c header field %s is %d "
                             "(expected 1..%d)", path, 4 * i, names[i], h[i], 1 << 24);
    *hp = (heed_hparams){
        .n_embd = h[0], .n_ff = h[1], .n_layer = h[2], .n_head = h[3], .n_kv_head = h[4],
        .n_vocab = abs(h[5]), .n_ctx_train = h[6], .norm_eps = 1e-5f, .rope_base = 10000.0f,
        .rope_freq_scale = 1.0f, .rope_attn_factor = 1.0f, .n_ctx_orig = h[6],
    };
    *shared = h[5] > 0;
    if (hp->n_embd % hp->n_head || hp->n_head % hp->n_kv_head || (hp->n_embd / hp->n_head) % 2)
        return heed_fail(HEED_ERR_FORMAT, "%s: llama2.c header: dim %d, n_heads %d, n_kv_heads "
                         "%d do not divide into even heads", path, hp->n_embd, hp->n_head,
                         hp->n_kv_head);
    hp->head_dim = hp->n_rot = hp->n_embd / hp->n_head;
    hp->q_scale = 1.0f / sqrtf((float)hp->head_dim);
    /* Every count is below 2^24, so these products fit in 64 bits. */
    const uint64_t E = (uint64_t)hp->n_embd, F = (uint64_t)hp->n_ff, L = (uint64_t)hp->n_layer;
    const uint64_t V = (uint64_t)hp->n_vocab, KV = (uint64_t)hp->n_kv_head * hp->head_dim;
    uint64_t floats = V * E + L * (E + E * E + 2 * KV * E + E * E + E + 3 * F * E) + E +
                      (uint64_t)hp->n_ctx_train * (uint64_t)hp->head_dim + (*shared ? 0 : V * E);
    if (size != 28 + 4 * floats)
        return heed_fail(HEED_ERR_FORMAT, "%s: a llama2.c checkpoint with this header has %llu "
                         "bytes, the file has %llu", path, (unsigned long long)(28 + 4 * floats),
                         (unsigned long long)size);
    return HEED_OK;
}

/* The checkpoint stores each kind of weight for all layers in a row: the
 * next n_layer vectors of n floats, or matrices of n_out rows of n_in, go
 * to the layers' field at byte offset `field`; w moves past them. */
static void layer_vectors(heed_model *m, const float **w, size_t field, int64_t n)
{
    for (int l = 0; l < m->hp.n_layer; l++)
        *(const float **)(void *)((char *)&m->layers[l] + field) = *w + l * n;
    *w += (int64_t)m->hp.n_layer * n;
}

static void layer_matrices(heed_model *m, const float **w, size_t field, int64_t n_in,
                           int64_t n_out)
{
    for (int l = 0; l < m->hp.n_layer; l++)
        *(heed_weight *)(void *)((char *)&m->layers[l] + field) =
            f32_matrix(*w + l * n_in * n_out, n_in, n_out);
    *w += (int64_t)m->hp.n_layer * n_in * n_out;
}

/* Points m's weights into the mapped floats w (after the header), in the
 * checkpoint's order. */
static heed_status place_weights(heed_model *m, const float *w, bool shared)
{
    const heed_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, L = hp->n_layer, V = hp->n_vocab;
    const int64_t KV = (int64_t)hp->n_kv_head * hp->head_dim;
    if (!(m->layers = calloc((size_t)L, sizeof *m->layers)))
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    m->token_embd = f32_matrix(w, E, V);
    w += V * E;
    layer_vectors(m, &w, offsetof(heed_layer, attn_norm), E);
    layer_matrices(m, &w, offsetof(heed_layer, wq), E, E);
    layer_matrices(m, &w, offsetof(heed_layer, wk), E, KV);
    layer_matrices(m, &w, offsetof(heed_layer, wv), E, KV);
    layer_matrices(m, &w, offsetof(heed_layer, wo), E, E);
    layer_vectors(m, &w, offsetof(heed_layer, ffn_norm), E);
    layer_matrices(m, &w, offsetof(heed_layer, w_gate), E, F);
    layer_matrices(m, &w, offsetof(heed_layer, w_down), F, E);
    layer_matrices(m, &w, offsetof(heed_layer, w_up), E, F);
    m->output_norm = w;
    w += E + (int64_t)hp->n_ctx_train * hp->head_dim; /* skip the RoPE tables */
    m->output = shared ? m->token_embd : f32_matrix(w, E, V);
    return HEED_OK;
}

heed_status heed_llama2c_load(const char *path, heed_model *m)
{
    const void *map;
    uint64_t size;
    heed_status st = heed_file_map(path, &map, &size);
    if (st)
        return st;
    m->map = map;
    m->map_size = size;
    if (size < 28)
        return heed_fail(HEED_ERR_FORMAT, "%s: %llu bytes is too short for a llama2.c "
                         "checkpoint header (28 bytes)", path, (unsigned long long)size);
    int32_t h[7];
    memcpy(h, map, sizeof h);
    bool shared = true;
    if ((st = check_header(path, h, size, &m->hp, &shared)))
        return st;
    m->arch = heed_arch_find("llama");
    m->bos_id = 1;
    m->eos_id = 2;
    return place_weights(m, (const float *)((const char *)map + 28), shared);
}
