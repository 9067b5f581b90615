/*
 * peer_t5.c — a peer engine's (llama.cpp's or ik_llama.cpp's) T5 speed,
 * measured as `heed bench` measures heed's, for bench/compare.sh
 * (llama-bench cannot run an encoder-decoder). Built against the peer's
 * own llama.h and libllama by tests/oracle/build.sh; not part of heed.
 *
 *   peer_t5 MODEL.gguf P N THREADS
 *
 * The same ids as heed bench ((i * 7919 + 11) mod n_vocab); one run to
 * warm up, then one measured: pp = llama_encode of P ids, tg = N decoder
 * tokens one llama_decode each (their logits read, which waits for them),
 * from an empty decoder cache after that encoding (of one id with P = 0).
 * Prints "PP TG" in tokens/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "llama.h"

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* b holds ids[0..n) at positions pos0.., the last one's logits requested. */
static void fill(struct llama_batch *b, const int *ids, int n, int pos0)
{
    for (int i = 0; i < n; i++) {
        b->token[i] = ids[i];
        b->pos[i] = pos0 + i;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = 0;
        b->logits[i] = i == n - 1;
    }
    b->n_tokens = n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.gguf P N THREADS\n", argv[0]);
        return 2;
    }
    const int p = atoi(argv[2]), n = atoi(argv[3]), threads = atoi(argv[4]);
    const int src = p > 0 ? p : 1, len = src > n ? src : n;
    if (p < 0 || n < 0 || threads < 1 || len > 4096)
        return fprintf(stderr, "P and N: 0..4096, THREADS: at least 1\n"), 2;
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1],
                                                           llama_model_default_params());
    if (!model)
        return fprintf(stderr, "cannot load %s\n", argv[1]), 1;
    if (!llama_model_has_encoder(model) || !llama_model_has_decoder(model))
        return fprintf(stderr, "%s is not an encoder-decoder\n", argv[1]), 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)len;
    cp.n_threads = cp.n_threads_batch = threads;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx)
        return fprintf(stderr, "cannot make a context\n"), 1;
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    int *ids = malloc(sizeof *ids * (size_t)len);
    for (int i = 0; i < len; i++) /* arbitrary ids: speed ignores them */
        ids[i] = (int)((i * 7919 + 11) % n_vocab);
    struct llama_batch b = llama_batch_init(len, 0, 1);
    double pp = 0, tg = 0;
    for (int run = 0; run < 2; run++) {
        llama_kv_cache_clear(ctx);
        fill(&b, ids, src, 0);
        const double t0 = seconds();
        if (llama_encode(ctx, b))
            return fprintf(stderr, "encode failed\n"), 1;
        llama_synchronize(ctx);
        const double t1 = seconds();
        for (int i = 0; i < n; i++) {
            fill(&b, ids + i, 1, i);
            if (llama_decode(ctx, b))
                return fprintf(stderr, "decode failed\n"), 1;
            (void)llama_get_logits_ith(ctx, 0);
        }
        const double t2 = seconds();
        pp = p ? p / (t1 - t0) : 0;
        tg = n ? n / (t2 - t1) : 0;
    }
    printf("%.2f %.2f\n", pp, tg);
    llama_batch_free(b);
    free(ids);
    llama_free(ctx);
    llama_free_model(model);
    return 0;
}
