/*
 * fuzz_bpe_train.c — libFuzzer harness for `heed train`'s corpus handling:
 * arbitrary bytes are a corpus for the BPE trainer. Invalid UTF-8 must be
 * an error; otherwise the learnt vocabulary must load as a GGUF tokenizer
 * and its tokens must spell the corpus back exactly (piece by piece: the
 * whole-text detokenizer tidies spaces, as llama.cpp's does for gpt-2).
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "train/bpe_train.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    heed_bpe_vocab bv;
    if (heed_bpe_train((const char *)data, size, 300, &bv) != HEED_OK)
        return 0;
    heed_gguf_writer *w = NULL;
    (void)heed_gguf_writer_new(&w); /* NULL: caught below */
    void *mem = NULL;
    size_t n = 0;
    heed_gguf *g = NULL;
    heed_vocab *v = NULL;
    if (!w || heed_bpe_vocab_write(&bv, w) || heed_gguf_writer_write_memory(w, &mem, &n) ||
        heed_gguf_open_memory(mem, n, "fuzz", &g) || heed_vocab_load(g, &v))
        abort(); /* a vocabulary the trainer made must load */
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (heed_tokenize(v, (const char *)data, size, false, false, &ids, &n_ids))
        abort();
    size_t at = 0;
    for (size_t i = 0; i < n_ids; i++) {
        size_t len;
        const char *piece = heed_token_to_piece(v, ids[i], false, &len);
        if (!piece || at + len > size || memcmp(piece, data + at, len))
            abort();
        at += len;
    }
    if (at != size)
        abort();
    free(ids);
    heed_vocab_free(v);
    heed_gguf_close(g);
    free(mem);
    heed_gguf_writer_free(w);
    heed_bpe_vocab_free(&bv);
    return 0;
}
