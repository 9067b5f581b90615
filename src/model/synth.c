/*
 * synth.c — random-weight GGUF models with the exact shapes and metadata
 * of real ones, for benchmarks: speed does not depend on weight values, so
 * these stand in for the real files without downloading them.
 *
 * Matrices are uniform in ±0.02·√3 (standard deviation 0.02, as models are
 * initialised), norms 1, biases 0, every 2-D tensor in the asked type
 * (falling back as heed quantize does when a row does not fit its
 * blocks). Each row comes from its own seeded generator, so the file is
 * the same for a seed whatever the thread count. The tokenizer is a
 * byte-level BPE vocabulary of the model's size (256 byte tokens, filler
 * tokens, an end-of-text token) that heed and llama.cpp both load.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heed.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/splitmix.h"

typedef struct synth_shape {
    const char *name, *arch, *model_name;
    int n_vocab, n_ctx, n_embd, n_layer, n_head, n_kv_head, n_ff;
    float rope_base, norm_eps;
    bool tied;      /* output shares token_embd                          */
    bool qkv_bias;  /* qwen2: biases on q, k, v                          */
} synth_shape;

/* From the models' published configurations. */
static const synth_shape shapes[] = {
    {"stories15m", "llama", "stories15M", 32000, 256, 288, 6, 6, 6, 768, 10000.0f, 1e-5f, false, false},
    {"gpt2-124m", "gpt2", "GPT-2 124M", 50257, 1024, 768, 12, 12, 12, 3072, 0, 1e-5f, true, false},
    {"smollm2-135m", "llama", "SmolLM2 135M", 49152, 8192, 576, 30, 9, 3, 1536, 100000.0f, 1e-5f, true, false},
    {"qwen2.5-0.5b", "qwen2", "Qwen2.5 0.5B", 151936, 32768, 896, 24, 14, 2, 4864, 1000000.0f, 1e-6f, true, true},
    {"llama-3.2-1b", "llama", "Llama 3.2 1B", 128256, 131072, 2048, 16, 32, 8, 8192, 500000.0f, 1e-5f, true, false},
    {"tinyllama-1.1b", "llama", "TinyLlama 1.1B", 32000, 2048, 2048, 22, 32, 4, 5632, 10000.0f, 1e-5f, false, false},
};

const char *heed_synth_shape_names(void)
{
    return "stories15m, gpt2-124m, smollm2-135m, qwen2.5-0.5b, llama-3.2-1b, tinyllama-1.1b";
}

typedef struct random_matrix {
    uint64_t seed;
} random_matrix;

static void random_row(const void *ctx, int64_t row, float *out, int64_t ne0)
{
    uint64_t s = ((const random_matrix *)ctx)->seed ^ ((uint64_t)row * 0xd1b54a32d192ed03u);
    const float a = 0.02f * sqrtf(3.0f);
    for (int64_t i = 0; i < ne0; i++)
        out[i] = a * (float)((double)(heed_splitmix64(&s) >> 11) * 0x1.0p-52 - 1.0);
}

typedef struct synth {
    heed_gguf_writer *w;
    int type, n_threads;
    uint64_t seed;
    int n_tensors;
    void *data[512]; /* buffers the writer reads at the end */
} synth;

/* Adds a tensor: a matrix (ne1 > 0) of random rows in the asked type, or a
 * vector of `fill`. */
static heed_status add(synth *s, const char *name, int64_t ne0, int64_t ne1, float fill)
{
    if (s->n_tensors == (int)(sizeof s->data / sizeof s->data[0]))
        return heed_fail(HEED_ERR_ARG, "too many tensors");
    const int type = ne1 ? heed_type_for_rows(s->type, ne0) : HEED_TYPE_F32;
    const int64_t rows = ne1 ? ne1 : 1;
    void *data = malloc(heed_type_row_size(type, ne0) * (size_t)rows);
    if (!data)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for tensor '%s'", name);
    s->data[s->n_tensors++] = data;
    heed_status st = HEED_OK;
    if (ne1) {
        random_matrix m = {s->seed ^ (uint64_t)s->n_tensors * 0x9e3779b97f4a7c15u};
        st = heed_convert_rows(random_row, &m, rows, ne0, type, data, s->n_threads);
    } else {
        for (int64_t i = 0; i < ne0; i++)
            ((float *)data)[i] = fill;
    }
    const int64_t ne[2] = {ne0, ne1};
    return st ? st : heed_gguf_writer_add_tensor(s->w, name, type, ne1 ? 2 : 1, ne, data);
}

/* The GPT-2 byte-to-character map: printable bytes stand for themselves,
 * the others for U+0100 onwards. Writes byte b's character as UTF-8. */
static void byte_token(int b, char *out)
{
    static int map[256];
    if (!map['!']) {
        int n = 0;
        for (int i = 0; i < 256; i++) {
            const bool printable = (i >= '!' && i <= '~') || (i >= 0xa1 && i <= 0xac) ||
                                   (i >= 0xae && i <= 0xff);
            map[i] = printable ? i : 256 + n++;
        }
    }
    const int c = map[b];
    if (c < 0x80) {
        out[0] = (char)c;
        out[1] = 0;
    } else {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        out[2] = 0;
    }
}

static heed_status add_vocab(heed_gguf_writer *w, int n_vocab)
{
    char **tokens = calloc((size_t)n_vocab, sizeof *tokens);
    int32_t *types = malloc(sizeof *types * (size_t)n_vocab);
    heed_status st = HEED_OK;
    for (int i = 0; tokens && types && i < n_vocab && !st; i++) {
        char buf[32];
        if (i < 256)
            byte_token(i, buf);
        else if (i == n_vocab - 1)
            snprintf(buf, sizeof buf, "<|endoftext|>");
        else
            snprintf(buf, sizeof buf, "<|synth_%d|>", i);
        types[i] = i == n_vocab - 1 ? 3 : 1; /* control, normal */
        if (!(tokens[i] = strdup(buf)))
            st = HEED_ERR_NOMEM;
    }
    if (!tokens || !types || st)
        st = heed_fail(HEED_ERR_NOMEM, "out of memory for the vocabulary");
    const char *merges[1] = {NULL};
    if (!st)
        st = heed_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    if (!st)
        st = heed_gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    if (!st)
        st = heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                          (const char *const *)tokens, (uint64_t)n_vocab);
    if (!st)
        st = heed_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", HEED_GGUF_INT32, types,
                                      (uint64_t)n_vocab);
    if (!st)
        st = heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 0);
    if (!st)
        st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)n_vocab - 1);
    if (!st)
        st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n_vocab - 1);
    for (int i = 0; tokens && i < n_vocab; i++)
        free(tokens[i]);
    free(tokens);
    free(types);
    return st;
}

static heed_status add_metadata(heed_gguf_writer *w, const synth_shape *sh, int type)
{
    char key[96];
    heed_status st = HEED_OK;
#define KEY(k) (snprintf(key, sizeof key, "%s." k, sh->arch), key)
#define SET(call) if (!st) st = (call)
    SET(heed_gguf_writer_set_str(w, "general.architecture", sh->arch));
    SET(heed_gguf_writer_set_str(w, "general.name", sh->model_name));
    SET(heed_gguf_writer_set_u32(w, "general.file_type", (uint32_t)heed_file_type_of(type)));
    SET(heed_gguf_writer_set_u32(w, "general.quantization_version", 2));
    SET(heed_gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)sh->n_ctx));
    SET(heed_gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)sh->n_embd));
    SET(heed_gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)sh->n_layer));
    SET(heed_gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)sh->n_ff));
    SET(heed_gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)sh->n_head));
    SET(heed_gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)sh->n_kv_head));
    if (!strcmp(sh->arch, "gpt2")) {
        SET(heed_gguf_writer_set_f32(w, KEY("attention.layer_norm_epsilon"), sh->norm_eps));
    } else {
        SET(heed_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), sh->norm_eps));
        SET(heed_gguf_writer_set_f32(w, KEY("rope.freq_base"), sh->rope_base));
        SET(heed_gguf_writer_set_u32(w, KEY("rope.dimension_count"),
                                     (uint32_t)(sh->n_embd / sh->n_head)));
    }
#undef SET
#undef KEY
    return st ? st : add_vocab(w, sh->n_vocab);
}

static heed_status add_tensors(synth *s, const synth_shape *sh)
{
    const int64_t E = sh->n_embd, D = sh->n_embd / sh->n_head, F = sh->n_ff;
    const int64_t Q = sh->n_head * D, KV = sh->n_kv_head * D;
    const bool gpt2 = !strcmp(sh->arch, "gpt2");
    char name[64];
    heed_status st = add(s, "token_embd.weight", E, sh->n_vocab, 0);
#define T(n0, n1, fill, ...) \
    if (!st) st = add(s, (snprintf(name, sizeof name, __VA_ARGS__), name), n0, n1, fill)
    if (gpt2)
        T(E, sh->n_ctx, 0, "position_embd.weight");
    for (int i = 0; i < sh->n_layer; i++) {
        T(E, 0, 1, "blk.%d.attn_norm.weight", i);
        if (gpt2) {
            T(E, 0, 0, "blk.%d.attn_norm.bias", i);
            T(E, 3 * E, 0, "blk.%d.attn_qkv.weight", i);
            T(3 * E, 0, 0, "blk.%d.attn_qkv.bias", i);
        } else {
            T(E, Q, 0, "blk.%d.attn_q.weight", i);
            T(E, KV, 0, "blk.%d.attn_k.weight", i);
            T(E, KV, 0, "blk.%d.attn_v.weight", i);
        }
        if (sh->qkv_bias) {
            T(Q, 0, 0, "blk.%d.attn_q.bias", i);
            T(KV, 0, 0, "blk.%d.attn_k.bias", i);
            T(KV, 0, 0, "blk.%d.attn_v.bias", i);
        }
        T(Q, E, 0, "blk.%d.attn_output.weight", i);
        if (gpt2)
            T(E, 0, 0, "blk.%d.attn_output.bias", i);
        T(E, 0, 1, "blk.%d.ffn_norm.weight", i);
        if (gpt2) {
            T(E, 0, 0, "blk.%d.ffn_norm.bias", i);
        } else {
            T(E, F, 0, "blk.%d.ffn_gate.weight", i);
        }
        T(E, F, 0, "blk.%d.ffn_up.weight", i);
        if (gpt2)
            T(F, 0, 0, "blk.%d.ffn_up.bias", i);
        T(F, E, 0, "blk.%d.ffn_down.weight", i);
        if (gpt2)
            T(E, 0, 0, "blk.%d.ffn_down.bias", i);
    }
    T(E, 0, 1, "output_norm.weight");
    if (gpt2)
        T(E, 0, 0, "output_norm.bias");
    if (!sh->tied)
        T(E, sh->n_vocab, 0, "output.weight");
#undef T
    return st;
}

heed_status heed_synth(const char *shape, int type, uint64_t seed, int n_threads,
                       const char *path)
{
    const synth_shape *sh = NULL;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(shapes[i].name, shape))
            sh = &shapes[i];
    if (!sh)
        return heed_fail(HEED_ERR_ARG, "unknown shape '%s' (known: %s)", shape,
                         heed_synth_shape_names());
    const heed_type_traits *tt = heed_type_get(type);
    if (!tt || !tt->from_float || heed_file_type_of(type) < 0)
        return heed_fail(HEED_ERR_UNSUPPORTED, "cannot make a model of type %s (heed writes "
                         "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, "
                         "q5_K, q6_K)", heed_type_name(type));
    if (n_threads <= 0)
        n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    synth s = {.w = heed_gguf_writer_new(), .type = type, .n_threads = n_threads, .seed = seed};
    heed_status st = s.w ? add_metadata(s.w, sh, type) : heed_fail(HEED_ERR_NOMEM, "out of memory");
    if (!st)
        st = add_tensors(&s, sh);
    if (!st)
        st = heed_gguf_writer_write(s.w, path);
    for (int i = 0; i < s.n_tensors; i++)
        free(s.data[i]);
    heed_gguf_writer_free(s.w);
    return st;
}
