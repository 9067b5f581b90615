/*
 * synth.c — random-weight GGUF models with the exact shapes and metadata
 * of real ones, for benchmarks (speed does not depend on weight values,
 * so these stand in for the real files without downloading them), and
 * tiny ones of each architecture for tests against a peer engine.
 *
 * Matrices are uniform with standard deviation 1/√n_in (as models are
 * initialised, so activations keep their scale through the layers), norm
 * weights 1 ± 0.1 and biases ± 0.1 (standard deviations; never exactly 1
 * or 0, so a test sees a weight that is not applied), every 2-D tensor in
 * the asked type (falling back as heed quantize does when a row does not
 * fit its blocks). Each row comes from its own seeded generator, so the
 * file is the same for a seed whatever the thread count. The tokenizer is
 * a byte-level BPE vocabulary of the model's size (256 byte tokens, filler
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
    int head_dim;   /* 0: n_embd / n_head                                 */
    float rope_base, norm_eps;
    bool tied;      /* output shares token_embd                          */
    bool qkv_bias;  /* qwen2: biases on q, k, v                          */
    bool qk_norm;   /* qwen3, gemma3: RMSNorm of each head's q and k     */
    bool post_norms; /* gemma2, gemma3: RMSNorm of each block's output   */
    int window;     /* attention.sliding_window, 0: none                 */
    float attn_softcap, final_softcap; /* gemma2; 0: none                */
    float rope_linear; /* rope.scaling linear factor, 0: none            */
    float rope_yarn;   /* rope.scaling yarn factor, 0: none              */
    int n_ctx_orig;    /* rope.scaling.original_context_length, 0: none  */
    bool longrope;     /* phi3: rope_factors_long/short and an attn_factor */
    bool fused;        /* phi3's layout: q|k|v in attn_qkv, gate|up in
                          ffn_up                                          */
    int n_expert, n_expert_used; /* a mixture of experts, 0: dense        */
    int n_ff_exp;      /* expert_feed_forward_length, 0: unsaid (n_ff)    */
    int n_ff_shexp;    /* a shared expert's width (qwen2moe), 0: none     */
    bool gpt_oss;      /* gpt-oss's extras: attention output bias and
                          sinks, router and expert biases, the FFN norm
                          named post_attention_norm                       */
    int n_buckets;     /* T5 (arch t5): an encoder and a decoder of n_layer
                          layers each, this many relative position buckets,
                          a SentencePiece (UGM) vocabulary                 */
    bool t5_gated;     /* flan-T5's gated-GELU FFN (ffn_gate); else ReLU  */
    bool chat_tokens;  /* the vocabulary's control tokens include every
                          chat format's markers and the turn tokens of
                          chat templates (chat_tokens[])                 */
} synth_shape;

/* From the models' published configurations; tiny-*: the smallest shape
 * that exercises every path of an architecture (head_dim != n_embd /
 * n_head, grouped kv heads), for tests. */
static const synth_shape shapes[] = {
    {.name = "stories15m", .arch = "llama", .model_name = "stories15M", .n_vocab = 32000,
     .n_ctx = 256, .n_embd = 288, .n_layer = 6, .n_head = 6, .n_kv_head = 6, .n_ff = 768,
     .rope_base = 10000.0f, .norm_eps = 1e-5f},
    {.name = "gpt2-124m", .arch = "gpt2", .model_name = "GPT-2 124M", .n_vocab = 50257,
     .n_ctx = 1024, .n_embd = 768, .n_layer = 12, .n_head = 12, .n_kv_head = 12, .n_ff = 3072,
     .norm_eps = 1e-5f, .tied = true},
    {.name = "smollm2-135m", .arch = "llama", .model_name = "SmolLM2 135M", .n_vocab = 49152,
     .n_ctx = 8192, .n_embd = 576, .n_layer = 30, .n_head = 9, .n_kv_head = 3, .n_ff = 1536,
     .rope_base = 100000.0f, .norm_eps = 1e-5f, .tied = true},
    {.name = "qwen2.5-0.5b", .arch = "qwen2", .model_name = "Qwen2.5 0.5B", .n_vocab = 151936,
     .n_ctx = 32768, .n_embd = 896, .n_layer = 24, .n_head = 14, .n_kv_head = 2, .n_ff = 4864,
     .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = true, .qkv_bias = true},
    {.name = "qwen3-0.6b", .arch = "qwen3", .model_name = "Qwen3 0.6B", .n_vocab = 151936,
     .n_ctx = 40960, .n_embd = 1024, .n_layer = 28, .n_head = 16, .n_kv_head = 8, .n_ff = 3072,
     .head_dim = 128, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = true,
     .qk_norm = true},
    {.name = "gemma-2-2b", .arch = "gemma2", .model_name = "Gemma 2 2B", .n_vocab = 256000,
     .n_ctx = 8192, .n_embd = 2304, .n_layer = 26, .n_head = 8, .n_kv_head = 4, .n_ff = 9216,
     .head_dim = 256, .rope_base = 10000.0f, .norm_eps = 1e-6f, .tied = true,
     .post_norms = true, .window = 4096, .attn_softcap = 50.0f, .final_softcap = 30.0f},
    {.name = "gemma-3-1b", .arch = "gemma3", .model_name = "Gemma 3 1B", .n_vocab = 262144,
     .n_ctx = 32768, .n_embd = 1152, .n_layer = 26, .n_head = 4, .n_kv_head = 1, .n_ff = 6912,
     .head_dim = 256, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = true,
     .qk_norm = true, .post_norms = true, .window = 512},
    {.name = "llama-3.2-1b", .arch = "llama", .model_name = "Llama 3.2 1B", .n_vocab = 128256,
     .n_ctx = 131072, .n_embd = 2048, .n_layer = 16, .n_head = 32, .n_kv_head = 8,
     .n_ff = 8192, .rope_base = 500000.0f, .norm_eps = 1e-5f, .tied = true},
    {.name = "tinyllama-1.1b", .arch = "llama", .model_name = "TinyLlama 1.1B", .n_vocab = 32000,
     .n_ctx = 2048, .n_embd = 2048, .n_layer = 22, .n_head = 32, .n_kv_head = 4, .n_ff = 5632,
     .rope_base = 10000.0f, .norm_eps = 1e-5f},
    {.name = "tiny-qwen3", .arch = "qwen3", .model_name = "tiny qwen3", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 192,
     .head_dim = 32, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = true,
     .qk_norm = true},
    {.name = "tiny-llama", .arch = "llama", .model_name = "tiny llama", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 192,
     .rope_base = 10000.0f, .norm_eps = 1e-5f, .tied = true},
    /* rows of 256: the super-block types (iq4_xs made by llama-quantize) */
    {.name = "tiny-llama-256", .arch = "llama", .model_name = "tiny llama 256", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 256, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 512,
     .rope_base = 10000.0f, .norm_eps = 1e-5f, .tied = true},
    /* YaRN from 64 trained positions, four times over */
    {.name = "tiny-qwen2-yarn", .arch = "qwen2", .model_name = "tiny qwen2 yarn",
     .n_vocab = 512, .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2,
     .n_ff = 192, .rope_base = 10000.0f, .norm_eps = 1e-6f, .tied = true, .qkv_bias = true,
     .rope_yarn = 4.0f, .n_ctx_orig = 64},
    /* LongRoPE: a context past its 64 trained positions takes the long
     * factors */
    {.name = "tiny-phi3-longrope", .arch = "phi3", .model_name = "tiny LongRoPE", /* llama.cpp wants "</s>" in a "phi3" */
     .n_vocab = 512, .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2,
     .n_ff = 192, .rope_base = 10000.0f, .norm_eps = 1e-5f, .window = 2047,
     .n_ctx_orig = 64, .longrope = true, .fused = true},
    /* layers 4 and 8 without RoPE */
    {.name = "tiny-smollm3", .arch = "smollm3", .model_name = "tiny smollm3", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 8, .n_head = 4, .n_kv_head = 2, .n_ff = 192,
     .rope_base = 10000.0f, .norm_eps = 1e-6f, .tied = true},
    /* 26 layers: llama.cpp runs gemma2 only at the layer counts of its
     * sizes; caps small enough to bend these scores and logits */
    {.name = "tiny-gemma2", .arch = "gemma2", .model_name = "tiny gemma2", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 26, .n_head = 4, .n_kv_head = 2, .n_ff = 128,
     .head_dim = 32, .rope_base = 10000.0f, .norm_eps = 1e-6f, .tied = true,
     .post_norms = true, .window = 16, .attn_softcap = 2.0f, .final_softcap = 1.5f},
    /* 5 sliding layers and a global one, its RoPE linearly scaled */
    {.name = "tiny-gemma3", .arch = "gemma3", .model_name = "tiny gemma3", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 6, .n_head = 4, .n_kv_head = 2, .n_ff = 128,
     .head_dim = 32, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = true,
     .qk_norm = true, .post_norms = true, .window = 16, .rope_linear = 8.0f},
    /* Qwen3-30B-A3B's layer (its widths, 8 of 128 experts routed) with 32
     * experts in 8 layers, for benchmarks of expert routing */
    {.name = "qwen3-moe-tiny", .arch = "qwen3moe", .model_name = "Qwen3 MoE tiny",
     .n_vocab = 151936, .n_ctx = 40960, .n_embd = 2048, .n_layer = 8, .n_head = 32,
     .n_kv_head = 4, .n_ff = 6144, .head_dim = 128, .rope_base = 1000000.0f, .norm_eps = 1e-6f,
     .qk_norm = true, .n_expert = 32, .n_expert_used = 8, .n_ff_exp = 768},
    {.name = "tiny-qwen3moe", .arch = "qwen3moe", .model_name = "tiny qwen3moe", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 192,
     .head_dim = 32, .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied = true, .qk_norm = true,
     .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 32},
    {.name = "tiny-qwen2moe", .arch = "qwen2moe", .model_name = "tiny qwen2moe", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 192,
     .rope_base = 1000000.0f, .norm_eps = 1e-6f, .qkv_bias = true, .n_expert = 8,
     .n_expert_used = 4, .n_ff_exp = 32, .n_ff_shexp = 96},
    /* sliding layers alternating with global ones, 4 of 8 experts */
    {.name = "tiny-gpt-oss", .arch = "gpt-oss", .model_name = "tiny gpt-oss", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 4, .n_head = 4, .n_kv_head = 2, .n_ff = 64,
     .head_dim = 32, .rope_base = 150000.0f, .norm_eps = 1e-5f, .qkv_bias = true, .window = 16,
     .n_expert = 8, .n_expert_used = 4, .n_ff_exp = 64, .gpt_oss = true},
    /* T5: t5-small ties its output to the embeddings, flan-T5 does not */
    {.name = "t5-small", .arch = "t5", .model_name = "T5 small", .n_vocab = 32128, .n_ctx = 512,
     .n_embd = 512, .n_layer = 6, .n_head = 8, .n_kv_head = 8, .n_ff = 2048, .head_dim = 64,
     .norm_eps = 1e-6f, .tied = true, .n_buckets = 32},
    {.name = "flan-t5-base", .arch = "t5", .model_name = "Flan-T5 base", .n_vocab = 32128,
     .n_ctx = 512, .n_embd = 768, .n_layer = 12, .n_head = 12, .n_kv_head = 12, .n_ff = 2048,
     .head_dim = 64, .norm_eps = 1e-6f, .n_buckets = 32, .t5_gated = true},
    /* head_dim != n_embd / n_head; gated GELU, and ReLU */
    {.name = "tiny-t5", .arch = "t5", .model_name = "tiny t5", .n_vocab = 320, .n_ctx = 512,
     .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 4, .n_ff = 128, .head_dim = 32,
     .norm_eps = 1e-6f, .n_buckets = 32, .t5_gated = true},
    {.name = "tiny-t5-relu", .arch = "t5", .model_name = "tiny t5 relu", .n_vocab = 320,
     .n_ctx = 512, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 4, .n_ff = 128,
     .head_dim = 32, .norm_eps = 1e-6f, .tied = true, .n_buckets = 32},
    /* the encoder alone (embeddings) */
    {.name = "tiny-t5encoder", .arch = "t5encoder", .model_name = "tiny t5encoder",
     .n_vocab = 320, .n_ctx = 512, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 4,
     .n_ff = 128, .head_dim = 32, .norm_eps = 1e-6f, .tied = true, .n_buckets = 32},
    /* Mixtral's layout: experts in a llama file, as wide as feed_forward_length */
    {.name = "tiny-mixtral", .arch = "llama", .model_name = "tiny mixtral", .n_vocab = 512,
     .n_ctx = 256, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 64,
     .rope_base = 1000000.0f, .norm_eps = 1e-5f, .n_expert = 4, .n_expert_used = 2},
    /* control tokens as chat models have them, for tool calls written
     * with them; a context for a prompt that lists tools byte by byte */
    {.name = "tiny-chat", .arch = "llama", .model_name = "tiny chat", .n_vocab = 512,
     .n_ctx = 4096, .n_embd = 64, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_ff = 192,
     .rope_base = 10000.0f, .norm_eps = 1e-5f, .tied = true, .chat_tokens = true},
};

const char *heed_synth_shape_names(void)
{
    return "stories15m, gpt2-124m, smollm2-135m, qwen2.5-0.5b, qwen3-0.6b, gemma-2-2b, "
           "gemma-3-1b, llama-3.2-1b, tinyllama-1.1b, tiny-llama, tiny-llama-256, tiny-qwen3, "
           "tiny-qwen2-yarn, "
           "tiny-phi3-longrope, tiny-smollm3, tiny-gemma2, tiny-gemma3, qwen3-moe-tiny, "
           "tiny-qwen3moe, tiny-qwen2moe, tiny-mixtral, tiny-gpt-oss, t5-small, flan-t5-base, "
           "tiny-t5, tiny-t5-relu, tiny-t5encoder, tiny-chat";
}

/* What a tensor holds: a matrix (std 1/√n_in), norm weights (1 ± 0.1),
 * biases (± 0.1), RoPE frequency factors (2 ± 0.5), attention sink
 * logits or T5's relative position biases (± 2); all uniform, from a
 * generator seeded per row. */
typedef enum { MATRIX, NORM, BIAS, FACTORS, SINKS } tensor_kind;
#define REL_BIAS SINKS

typedef struct random_rows {
    uint64_t seed;
    float center, std;
} random_rows;

static void random_row(const void *ctx, int64_t row, float *out, int64_t ne0)
{
    const random_rows *r = ctx;
    uint64_t s = r->seed ^ ((uint64_t)row * 0xd1b54a32d192ed03u);
    const float a = r->std * sqrtf(3.0f);
    for (int64_t i = 0; i < ne0; i++)
        out[i] = r->center + a * (float)((double)(heed_splitmix64(&s) >> 11) * 0x1.0p-52 - 1.0);
}

typedef struct synth {
    heed_gguf_writer *w;
    int type, n_threads;
    uint64_t seed;
    int n_tensors;
    void *data[512]; /* buffers the writer reads at the end */
} synth;

/* Adds a tensor: a matrix [ne1][ne0] (ne2 of them: experts) in the asked
 * type, or an f32 vector of ne0 norm weights or biases. */
static heed_status add3(synth *s, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                        tensor_kind kind)
{
    if (s->n_tensors == (int)(sizeof s->data / sizeof s->data[0]))
        return heed_fail(HEED_ERR_ARG, "too many tensors");
    const bool matrix = kind == MATRIX;
    const int type = matrix ? heed_type_for_rows(s->type, ne0) : HEED_TYPE_F32;
    const int64_t rows = (ne1 > 0 ? ne1 : 1) * ne2; /* f32 vectors: ne1 0 or a count */
    void *data = malloc(heed_type_row_size(type, ne0) * (size_t)rows);
    if (!data)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for tensor '%s'", name);
    s->data[s->n_tensors++] = data;
    random_rows r = {s->seed ^ (uint64_t)s->n_tensors * 0x9e3779b97f4a7c15u,
                     kind == NORM ? 1.0f : kind == FACTORS ? 2.0f : 0.0f,
                     matrix              ? 1.0f / sqrtf((float)ne0)
                     : kind == FACTORS ? 0.5f
                     : kind == SINKS   ? 2.0f
                                       : 0.1f};
    heed_status st = HEED_OK;
    if (matrix)
        st = heed_convert_rows(random_row, &r, rows, ne0, type, data, s->n_threads);
    else
        for (int64_t i = 0; i < rows; i++)
            random_row(&r, i, (float *)data + i * ne0, ne0);
    const int64_t ne[3] = {ne0, ne1 > 0 ? ne1 : 1, ne2};
    const int dims = ne2 > 1 ? 3 : ne1 > 1 || matrix ? 2 : 1;
    return st ? st : heed_gguf_writer_add_tensor(s->w, name, type, dims, ne, data);
}

static heed_status add(synth *s, const char *name, int64_t ne0, int64_t ne1, tensor_kind kind)
{
    return add3(s, name, ne0, ne1, 1, kind);
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

/* The turn tokens of chat templates (the chat formats' markers join
 * them). gpt-oss's <|return|> and <|call|> make <|end|> text. */
static const char *const chat_tokens[] = {
    "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "[INST]", "[/INST]",
    "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]",
    "<|return|>", "<|call|>", "<tool_response>", "</tool_response>", NULL};

/* Adds text at tokens[*n] unless it is there already or the vocabulary
 * (but its last token) is full; false when out of memory. */
static bool add_token(char **tokens, int *n, int n_vocab, const char *text)
{
    for (int i = 256; i < *n; i++)
        if (!strcmp(tokens[i], text))
            return true;
    if (*n >= n_vocab - 1)
        return true;
    return (tokens[(*n)++] = strdup(text)) != NULL;
}

/* From id 256 on, every chat format's markers and the turn tokens: how
 * many, or -1 when out of memory. */
static int add_chat_tokens(char **tokens, int n_vocab)
{
    int n = 256;
    bool ok = true;
    for (const char *f = heed_chat_format_names(); *f && ok;) {
        const size_t len = strcspn(f, ",");
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)len, f);
        for (const char *const *m = heed_chat_format_markers(name); m && *m && ok; m++)
            ok = add_token(tokens, &n, n_vocab, *m);
        f += len + strspn(f + len, ", ");
    }
    for (const char *const *t = chat_tokens; *t && ok; t++)
        ok = add_token(tokens, &n, n_vocab, *t);
    return ok ? n - 256 : -1;
}

static heed_status add_vocab(heed_gguf_writer *w, int n_vocab, bool chat)
{
    char **tokens = calloc((size_t)n_vocab, sizeof *tokens);
    int32_t *types = malloc(sizeof *types * (size_t)n_vocab);
    heed_status st = HEED_OK;
    const int n_chat = chat && tokens ? add_chat_tokens(tokens, n_vocab) : 0;
    if (n_chat < 0)
        st = HEED_ERR_NOMEM;
    for (int i = 0; tokens && types && i < n_vocab && !st; i++) {
        char buf[32];
        const bool control = i == n_vocab - 1 || (i >= 256 && i < 256 + n_chat);
        types[i] = control ? 3 : 1; /* control, normal */
        if (tokens[i])
            continue;
        if (i < 256)
            byte_token(i, buf);
        else if (i == n_vocab - 1)
            snprintf(buf, sizeof buf, "<|endoftext|>");
        else
            snprintf(buf, sizeof buf, "<|synth_%d|>", i);
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

/* A SentencePiece unigram vocabulary (llama.cpp's "t5" model) of n_vocab
 * pieces: <pad>, </s>, <unk> as T5 numbers them, "▁", each printable
 * ASCII character alone and after "▁", then "▁w<i>" fillers; scores fall
 * with the id, as a trained vocabulary's roughly do. No precompiled
 * charsmap: llama.cpp then normalises nothing but spaces. */
static heed_status add_ugm_vocab(heed_gguf_writer *w, int n_vocab)
{
    char **tokens = calloc((size_t)n_vocab, sizeof *tokens);
    int32_t *types = malloc(sizeof *types * (size_t)n_vocab);
    float *scores = malloc(sizeof *scores * (size_t)n_vocab);
    heed_status st = tokens && types && scores ? HEED_OK : HEED_ERR_NOMEM;
    static const char *const special[] = {"<pad>", "</s>", "<unk>", "\xe2\x96\x81"};
    for (int i = 0; !st && i < n_vocab; i++) {
        char buf[32];
        const int c = 33 + (i - 4) / 2; /* ids 4..191: '!'..'~', bare then after ▁ */
        if (i < 4)
            snprintf(buf, sizeof buf, "%s", special[i]);
        else if (c <= 126)
            snprintf(buf, sizeof buf, "%s%c", (i - 4) % 2 ? "\xe2\x96\x81" : "", c);
        else
            snprintf(buf, sizeof buf, "\xe2\x96\x81w%d", i);
        types[i] = i < 2 ? 3 : i == 2 ? 2 : 1; /* control, unknown, normal */
        scores[i] = i < 3 ? 0.0f : -1.0f - 0.01f * (float)i;
        if (!(tokens[i] = strdup(buf)))
            st = HEED_ERR_NOMEM;
    }
    if (st)
        st = heed_fail(HEED_ERR_NOMEM, "out of memory for the vocabulary");
#define SET(call) if (!st) st = (call)
    SET(heed_gguf_writer_set_str(w, "tokenizer.ggml.model", "t5"));
    SET(heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tokens,
                                     (uint64_t)n_vocab));
    SET(heed_gguf_writer_set_arr(w, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, scores,
                                 (uint64_t)n_vocab));
    SET(heed_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", HEED_GGUF_INT32, types,
                                 (uint64_t)n_vocab));
    SET(heed_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 1));
    SET(heed_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 2));
    SET(heed_gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", 0));
    SET(heed_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false));
    SET(heed_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", true));
#undef SET
    for (int i = 0; tokens && i < n_vocab; i++)
        free(tokens[i]);
    free(tokens);
    free(types);
    free(scores);
    return st;
}

static int head_dim(const synth_shape *sh)
{
    return sh->head_dim ? sh->head_dim : sh->n_embd / sh->n_head;
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
    } else if (sh->n_buckets) { /* as convert_hf_to_gguf.py writes T5 */
        SET(heed_gguf_writer_set_u32(w, KEY("attention.key_length"), (uint32_t)head_dim(sh)));
        SET(heed_gguf_writer_set_u32(w, KEY("attention.value_length"), (uint32_t)head_dim(sh)));
        SET(heed_gguf_writer_set_f32(w, KEY("attention.layer_norm_epsilon"), sh->norm_eps));
        SET(heed_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), sh->norm_eps));
        SET(heed_gguf_writer_set_u32(w, KEY("attention.relative_buckets_count"),
                                     (uint32_t)sh->n_buckets));
        if (!strcmp(sh->arch, "t5"))
            SET(heed_gguf_writer_set_u32(w, KEY("decoder_start_token_id"), 0));
    } else {
        SET(heed_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), sh->norm_eps));
        SET(heed_gguf_writer_set_f32(w, KEY("rope.freq_base"), sh->rope_base));
        SET(heed_gguf_writer_set_u32(w, KEY("rope.dimension_count"), (uint32_t)head_dim(sh)));
        if (sh->window)
            SET(heed_gguf_writer_set_u32(w, KEY("attention.sliding_window"), (uint32_t)sh->window));
        if (sh->attn_softcap > 0)
            SET(heed_gguf_writer_set_f32(w, KEY("attn_logit_softcapping"), sh->attn_softcap));
        if (sh->final_softcap > 0)
            SET(heed_gguf_writer_set_f32(w, KEY("final_logit_softcapping"), sh->final_softcap));
        if (sh->rope_linear > 0 || sh->rope_yarn > 0) {
            SET(heed_gguf_writer_set_str(w, KEY("rope.scaling.type"),
                                         sh->rope_yarn > 0 ? "yarn" : "linear"));
            SET(heed_gguf_writer_set_f32(w, KEY("rope.scaling.factor"),
                                         sh->rope_yarn > 0 ? sh->rope_yarn : sh->rope_linear));
        }
        if (sh->n_ctx_orig)
            SET(heed_gguf_writer_set_u32(w, KEY("rope.scaling.original_context_length"),
                                         (uint32_t)sh->n_ctx_orig));
        if (sh->longrope)
            SET(heed_gguf_writer_set_f32(w, KEY("rope.scaling.attn_factor"), 1.19f));
        if (sh->n_expert) {
            SET(heed_gguf_writer_set_u32(w, KEY("expert_count"), (uint32_t)sh->n_expert));
            SET(heed_gguf_writer_set_u32(w, KEY("expert_used_count"),
                                         (uint32_t)sh->n_expert_used));
        }
        if (sh->n_ff_exp)
            SET(heed_gguf_writer_set_u32(w, KEY("expert_feed_forward_length"),
                                         (uint32_t)sh->n_ff_exp));
        if (sh->n_ff_shexp)
            SET(heed_gguf_writer_set_u32(w, KEY("expert_shared_feed_forward_length"),
                                         (uint32_t)sh->n_ff_shexp));
        if (sh->head_dim) {
            SET(heed_gguf_writer_set_u32(w, KEY("attention.key_length"), (uint32_t)sh->head_dim));
            SET(heed_gguf_writer_set_u32(w, KEY("attention.value_length"),
                                         (uint32_t)sh->head_dim));
        }
    }
#undef SET
#undef KEY
    return st ? st : sh->n_buckets ? add_ugm_vocab(w, sh->n_vocab)
                                : add_vocab(w, sh->n_vocab, sh->chat_tokens);
}

/* T5's tensors, as llama.cpp names them: the encoder's blocks and output
 * norm, the decoder's (with cross-attention), relative biases in layer 0
 * only, as converted files have them. */
static heed_status add_t5_tensors(synth *s, const synth_shape *sh)
{
    const int64_t E = sh->n_embd, Q = sh->n_head * head_dim(sh), F = sh->n_ff;
    char name[64];
    heed_status st = add(s, "token_embd.weight", E, sh->n_vocab, MATRIX);
#define T(n0, n1, kind, ...) \
    if (!st) st = add(s, (snprintf(name, sizeof name, __VA_ARGS__), name), n0, n1, kind)
    for (int dec = 0; dec < (strcmp(sh->arch, "t5") ? 1 : 2); dec++) {
        const char *p = dec ? "dec" : "enc";
        for (int i = 0; i < sh->n_layer; i++) {
            T(E, 0, NORM, "%s.blk.%d.attn_norm.weight", p, i);
            T(E, Q, MATRIX, "%s.blk.%d.attn_q.weight", p, i);
            T(E, Q, MATRIX, "%s.blk.%d.attn_k.weight", p, i);
            T(E, Q, MATRIX, "%s.blk.%d.attn_v.weight", p, i);
            T(Q, E, MATRIX, "%s.blk.%d.attn_o.weight", p, i);
            if (i == 0)
                T(sh->n_head, sh->n_buckets, REL_BIAS, "%s.blk.%d.attn_rel_b.weight", p, i);
            if (dec) {
                T(E, 0, NORM, "dec.blk.%d.cross_attn_norm.weight", i);
                T(E, Q, MATRIX, "dec.blk.%d.cross_attn_q.weight", i);
                T(E, Q, MATRIX, "dec.blk.%d.cross_attn_k.weight", i);
                T(E, Q, MATRIX, "dec.blk.%d.cross_attn_v.weight", i);
                T(Q, E, MATRIX, "dec.blk.%d.cross_attn_o.weight", i);
            }
            T(E, 0, NORM, "%s.blk.%d.ffn_norm.weight", p, i);
            if (sh->t5_gated)
                T(E, F, MATRIX, "%s.blk.%d.ffn_gate.weight", p, i);
            T(E, F, MATRIX, "%s.blk.%d.ffn_up.weight", p, i);
            T(F, E, MATRIX, "%s.blk.%d.ffn_down.weight", p, i);
        }
        T(E, 0, NORM, "%s.output_norm.weight", p);
    }
    if (!sh->tied)
        T(E, sh->n_vocab, MATRIX, "output.weight");
#undef T
    return st;
}

static heed_status add_tensors(synth *s, const synth_shape *sh)
{
    if (sh->n_buckets)
        return add_t5_tensors(s, sh);
    const int64_t E = sh->n_embd, D = head_dim(sh), F = sh->n_ff;
    const int64_t Q = sh->n_head * D, KV = sh->n_kv_head * D;
    const bool gpt2 = !strcmp(sh->arch, "gpt2");
    char name[64];
    heed_status st = add(s, "token_embd.weight", E, sh->n_vocab, MATRIX);
#define T(n0, n1, kind, ...) \
    if (!st) st = add(s, (snprintf(name, sizeof name, __VA_ARGS__), name), n0, n1, kind)
#define T3(n0, n1, n2, ...) \
    if (!st) st = add3(s, (snprintf(name, sizeof name, __VA_ARGS__), name), n0, n1, n2, MATRIX)
    if (gpt2)
        T(E, sh->n_ctx, MATRIX, "position_embd.weight");
    for (int i = 0; i < sh->n_layer; i++) {
        T(E, 0, NORM, "blk.%d.attn_norm.weight", i);
        if (gpt2) {
            T(E, 0, BIAS, "blk.%d.attn_norm.bias", i);
            T(E, 3 * E, MATRIX, "blk.%d.attn_qkv.weight", i);
            T(3 * E, 0, BIAS, "blk.%d.attn_qkv.bias", i);
        } else if (sh->fused) {
            T(E, Q + 2 * KV, MATRIX, "blk.%d.attn_qkv.weight", i);
        } else {
            T(E, Q, MATRIX, "blk.%d.attn_q.weight", i);
            T(E, KV, MATRIX, "blk.%d.attn_k.weight", i);
            T(E, KV, MATRIX, "blk.%d.attn_v.weight", i);
        }
        if (sh->qkv_bias) {
            T(Q, 0, BIAS, "blk.%d.attn_q.bias", i);
            T(KV, 0, BIAS, "blk.%d.attn_k.bias", i);
            T(KV, 0, BIAS, "blk.%d.attn_v.bias", i);
        }
        if (sh->qk_norm) {
            T(D, 0, NORM, "blk.%d.attn_q_norm.weight", i);
            T(D, 0, NORM, "blk.%d.attn_k_norm.weight", i);
        }
        T(Q, E, MATRIX, "blk.%d.attn_output.weight", i);
        if (gpt2 || sh->gpt_oss)
            T(E, 0, BIAS, "blk.%d.attn_output.bias", i);
        if (sh->gpt_oss)
            T(sh->n_head, 0, SINKS, "blk.%d.attn_sinks.weight", i);
        if (sh->post_norms)
            T(E, 0, NORM, "blk.%d.post_attention_norm.weight", i);
        T(E, 0, NORM, sh->gpt_oss ? "blk.%d.post_attention_norm.weight" : "blk.%d.ffn_norm.weight",
          i);
        if (sh->n_expert) { /* the router, the experts, a shared expert */
            const int64_t FE = sh->n_ff_exp ? sh->n_ff_exp : F, FS = sh->n_ff_shexp;
            T(E, sh->n_expert, MATRIX, "blk.%d.ffn_gate_inp.weight", i);
            if (sh->gpt_oss) {
                T(sh->n_expert, 0, BIAS, "blk.%d.ffn_gate_inp.bias", i);
                T(FE, sh->n_expert, BIAS, "blk.%d.ffn_gate_exps.bias", i);
                T(FE, sh->n_expert, BIAS, "blk.%d.ffn_up_exps.bias", i);
                T(E, sh->n_expert, BIAS, "blk.%d.ffn_down_exps.bias", i);
            }
            T3(E, FE, sh->n_expert, "blk.%d.ffn_gate_exps.weight", i);
            T3(E, FE, sh->n_expert, "blk.%d.ffn_up_exps.weight", i);
            T3(FE, E, sh->n_expert, "blk.%d.ffn_down_exps.weight", i);
            if (FS) {
                T(E, 0, BIAS, "blk.%d.ffn_gate_inp_shexp.weight", i);
                T(E, FS, MATRIX, "blk.%d.ffn_gate_shexp.weight", i);
                T(E, FS, MATRIX, "blk.%d.ffn_up_shexp.weight", i);
                T(FS, E, MATRIX, "blk.%d.ffn_down_shexp.weight", i);
            }
            continue;
        }
        if (gpt2) {
            T(E, 0, BIAS, "blk.%d.ffn_norm.bias", i);
        } else if (!sh->fused) {
            T(E, F, MATRIX, "blk.%d.ffn_gate.weight", i);
        }
        T(E, sh->fused ? 2 * F : F, MATRIX, "blk.%d.ffn_up.weight", i);
        if (gpt2)
            T(F, 0, BIAS, "blk.%d.ffn_up.bias", i);
        T(F, E, MATRIX, "blk.%d.ffn_down.weight", i);
        if (gpt2)
            T(E, 0, BIAS, "blk.%d.ffn_down.bias", i);
        if (sh->post_norms)
            T(E, 0, NORM, "blk.%d.post_ffw_norm.weight", i);
    }
    T(E, 0, NORM, "output_norm.weight");
    if (gpt2)
        T(E, 0, BIAS, "output_norm.bias");
    if (!sh->tied)
        T(E, sh->n_vocab, MATRIX, "output.weight");
    if (sh->longrope) {
        T(D / 2, 0, FACTORS, "rope_factors_long.weight");
        T(D / 2, 0, FACTORS, "rope_factors_short.weight");
    }
#undef T
#undef T3
    return st;
}

heed_status heed_synth(const char *shape, heed_type type, uint64_t seed, int n_threads,
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
                         "q5_K, q6_K, iq4_nl, iq4_xs)", heed_type_name(type));
    if (n_threads <= 0)
        n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    synth s = {.type = type, .n_threads = n_threads, .seed = seed};
    heed_status st = heed_gguf_writer_new(&s.w);
    if (!st)
        st = add_metadata(s.w, sh, type);
    if (!st)
        st = add_tensors(&s, sh);
    if (!st)
        st = heed_gguf_writer_write(s.w, path);
    for (int i = 0; i < s.n_tensors; i++)
        free(s.data[i]);
    heed_gguf_writer_free(s.w);
    return st;
}
