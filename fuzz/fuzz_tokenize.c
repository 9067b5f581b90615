/*
 * fuzz_tokenize.c — libFuzzer harness for the tokenizers: arbitrary bytes
 * are tokenized (with and without special tokens) by each vocabulary family
 * and decoded again, whole and streamed. Vocabularies come from the
 * fixtures folder ($HEED_FIXTURES, else ../shared/fixtures), and the UGM
 * ones (T5's unigram) from tests/data/ugm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"

static heed_vocab *vocabs[5];
static int n_vocabs;

static void load_vocabs(void)
{
    static const char *const names[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf",
                                        "ggml-vocab-bert-bge.gguf"};
    const char *dir = getenv("HEED_FIXTURES") ? getenv("HEED_FIXTURES") : "../shared/fixtures";
    for (int i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/vocab/%s", dir, names[i]);
        if (heed_vocab_load_file(path, &vocabs[n_vocabs]) == HEED_OK)
            n_vocabs++;
        else
            fprintf(stderr, "fuzz_tokenize: %s\n", heed_last_error());
    }
    static const char *const ugm[] = {"kjv-ugm.gguf", "multi-ugm.gguf"};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/data/ugm/%s", HEED_SOURCE_DIR, ugm[i]);
        if (heed_vocab_load_file(path, &vocabs[n_vocabs]) == HEED_OK)
            n_vocabs++;
        else
            fprintf(stderr, "fuzz_tokenize: %s\n", heed_last_error());
    }
    if (!n_vocabs)
        abort(); /* nothing to fuzz: point HEED_FIXTURES at the fixtures */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!n_vocabs)
        load_vocabs();
    if (size < 1)
        return 0;
    const heed_vocab *v = vocabs[data[0] % n_vocabs];
    const bool special = data[0] & 0x10;
    int32_t *ids = NULL;
    size_t n = 0;
    if (heed_tokenize(v, (const char *)data + 1, size - 1, special, special, &ids, &n) != HEED_OK)
        abort(); /* any byte string must tokenize */
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= heed_vocab_n_tokens(v))
            abort();
    char *text = NULL;
    size_t len = 0;
    if (heed_detokenize(v, ids, n, false, special, &text, &len) != HEED_OK)
        abort();
    heed_detok_stream *s = NULL;
    (void)heed_detok_stream_new(v, special, &s); /* NULL: nothing to compare */
    for (size_t i = 0; s && i < n; i++) {
        const char *piece;
        size_t plen;
        if (heed_detok_stream_push(s, ids[i], &piece, &plen) != HEED_OK)
            abort();
    }
    heed_detok_stream_free(s);
    free(text);
    free(ids);
    return 0;
}
