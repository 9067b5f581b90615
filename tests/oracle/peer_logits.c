/*
 * peer_logits.c — the oracle side of a model test: a peer engine's
 * (llama.cpp's or ik_llama.cpp's) logits for a prompt of token ids, and
 * its greedy continuation, written for heed's tests to compare against.
 * Built by tests/oracle/make_fixture.sh against the peer's own llama.h
 * and libllama; not part of heed's build.
 *
 *   peer_logits MODEL.gguf IDS N_VOCAB OUT.f32 [N_GREEDY [f32|f16]]
 *
 * IDS: comma-separated ids, evaluated as one batch into an empty KV cache
 * of f32 (default) or f16 without flash attention (ik_llama.cpp refuses
 * an f32 V cache without it, and its flash attention refuses f32), logits
 * requested for every position; OUT
 * gets float32 [n_ids][N_VOCAB]. With N_GREEDY, the argmax continuation
 * of that many tokens (one token per decode) is printed, comma-separated,
 * and on a second line each step's top-1 margin (best minus second).
 *
 * An encoder-decoder (t5) takes IDS as ENC|DEC: ENC goes to llama_encode,
 * then DEC (starting with the decoder start token) is the decoder's
 * prompt, whose logits OUT gets and whose greedy continuation follows.
 * An encoder alone (t5encoder): OUT gets each token's embedding from
 * llama_encode, N_VOCAB floats (n_embd) each, and nothing is printed.
 */
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static int argmax(const float *v, int n, float *margin)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    float second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != best && v[i] > second)
            second = v[i];
    *margin = v[best] - second;
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL IDS N_VOCAB OUT.f32 [N_GREEDY [f32|f16]]\n", argv[0]);
        return 2;
    }
    const int n_vocab = atoi(argv[3]);
    const int n_greedy = argc > 5 ? atoi(argv[5]) : 0;
    const bool f16 = argc > 6 && !strcmp(argv[6], "f16");
    int ids[4096], n = 0, enc[4096], n_enc = 0;
    for (char *s = argv[2]; *s && n < 4096;) {
        ids[n++] = (int)strtol(s, &s, 10);
        if (*s == '|') { /* what came before is the encoder's */
            memcpy(enc, ids, sizeof *ids * (size_t)n);
            n_enc = n;
            n = 0;
        }
        if (*s == ',' || *s == '|')
            s++;
    }
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model)
        return fprintf(stderr, "cannot load %s\n", argv[1]), 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(n + n_greedy + 16);
    cp.n_batch = cp.n_ubatch = (uint32_t)(n > 32 ? n : 32);
    if (n_enc > (int)cp.n_batch)
        cp.n_batch = cp.n_ubatch = (uint32_t)n_enc;
    if (n_enc + 16 > (int)cp.n_ctx)
        cp.n_ctx = (uint32_t)(n_enc + 16);
    cp.type_k = cp.type_v = f16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
    cp.flash_attn = false;
    cp.n_threads = cp.n_threads_batch = 2;
    const bool enc_only = !llama_model_has_decoder(model);
    if (enc_only) {
        cp.embeddings = true;
        cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
    }
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx)
        return fprintf(stderr, "cannot make a context\n"), 1;
    if (enc_only) {
        struct llama_batch e = llama_batch_init(n, 0, 1);
        for (int i = 0; i < n; i++) {
            e.token[i] = ids[i];
            e.pos[i] = i;
            e.n_seq_id[i] = 1;
            e.seq_id[i][0] = 0;
            e.logits[i] = 1;
        }
        e.n_tokens = n;
        if (llama_encode(ctx, e))
            return fprintf(stderr, "encode failed\n"), 1;
        FILE *f = fopen(argv[4], "wb");
        if (!f)
            return perror(argv[4]), 1;
        for (int i = 0; i < n; i++)
            fwrite(llama_get_embeddings_ith(ctx, i), sizeof(float), (size_t)n_vocab, f);
        fclose(f);
        return 0;
    }

    if (n_enc) {
        if (!llama_model_has_encoder(model))
            return fprintf(stderr, "ENC|DEC ids for a model without an encoder\n"), 1;
        struct llama_batch e = llama_batch_init(n_enc, 0, 1);
        for (int i = 0; i < n_enc; i++) {
            e.token[i] = enc[i];
            e.pos[i] = i;
            e.n_seq_id[i] = 1;
            e.seq_id[i][0] = 0;
            e.logits[i] = 1;
        }
        e.n_tokens = n_enc;
        if (llama_encode(ctx, e))
            return fprintf(stderr, "encode failed\n"), 1;
        llama_batch_free(e);
    }
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = ids[i];
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = n;
    if (llama_decode(ctx, b))
        return fprintf(stderr, "decode failed\n"), 1;
    FILE *f = fopen(argv[4], "wb");
    if (!f)
        return perror(argv[4]), 1;
    for (int i = 0; i < n; i++)
        fwrite(llama_get_logits_ith(ctx, i), sizeof(float), (size_t)n_vocab, f);
    fclose(f);

    float margins[4096];
    int next = argmax(llama_get_logits_ith(ctx, n - 1), n_vocab, &margins[0]);
    for (int k = 0; k < n_greedy && k < 4095; k++) {
        printf("%s%d", k ? "," : "", next);
        struct llama_batch one = llama_batch_init(1, 0, 1);
        one.token[0] = next;
        one.pos[0] = n + k;
        one.n_seq_id[0] = 1;
        one.seq_id[0][0] = 0;
        one.logits[0] = 1;
        one.n_tokens = 1;
        if (llama_decode(ctx, one))
            return fprintf(stderr, "decode failed\n"), 1;
        next = argmax(llama_get_logits_ith(ctx, 0), n_vocab, &margins[k + 1]);
        llama_batch_free(one);
    }
    if (n_greedy)
        printf("\n");
    for (int k = 0; k < n_greedy && k < 4095; k++)
        printf("%s%.6g", k ? "," : "", margins[k]);
    if (n_greedy)
        printf("\n");
    llama_batch_free(b);
    llama_free(ctx);
    llama_free_model(model);
    return 0;
}
