/*
 * peer_tokenize.c — the oracle side of a tokenizer test: llama.cpp's ids
 * for every text of an .inp file (texts separated by
 * "\n__ggml_vocab_test__\n", as llama.cpp's vocab test files), one line
 * per text in the .out format (" id id ..."), as test-tokenizer-0 writes
 * them. For peers without a llama-tokenize binary; built by
 * tests/oracle/build.sh (peer_tokenize in place of peer_logits), not part
 * of heed's build.
 *
 *   peer_tokenize VOCAB.gguf TEXTS.inp [add-special]
 *
 * Control tokens written in the texts are not matched (parse_special
 * false); add-special adds BOS/EOS as the vocabulary asks.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
    (void)level, (void)text, (void)user;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VOCAB.gguf TEXTS.inp [add-special]\n", argv[0]);
        return 2;
    }
    const bool add_special = argc > 3 && !strcmp(argv[3], "add-special");
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    static char buf[1 << 20];
    size_t size = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[size] = 0;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    static llama_token ids[1 << 18];
    for (size_t pos = 0; pos < size;) {
        char *m = strstr(buf + pos, sep);
        size_t end = m ? (size_t)(m - buf) : size;
        int n = llama_tokenize(vocab, buf + pos, (int)(end - pos), ids, 1 << 18, add_special,
                               false);
        if (n < 0) {
            fprintf(stderr, "text at %zu: too many tokens\n", pos);
            return 1;
        }
        for (int i = 0; i < n; i++)
            printf(" %d", ids[i]);
        printf("\n");
        if (!m)
            break;
        pos = end + sizeof sep - 1;
    }
    llama_model_free(model);
    return 0;
}
