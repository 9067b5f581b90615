/* ugm.h — the unigram (UGM) tokenizer of T5-style GGUF files
 * (tokenizer.ggml.model "t5"), as llama.cpp's llm_tokenizer_ugm: the
 * SentencePiece normalizer (a precompiled charsmap), then the Viterbi best
 * segmentation by token scores. */
#ifndef HEED_TEXT_UGM_H
#define HEED_TEXT_UGM_H

#include "text/trie.h"

struct heed_vocab;

typedef struct heed_ugm {
    heed_trie tokens;      /* normal, user-defined and unused tokens -> id */
    heed_trie user;        /* user-defined tokens: kept as written */
    uint32_t *xcda;        /* the charsmap's double-array trie (XCDA) */
    size_t xcda_n;
    char *repl;            /* NUL-terminated replacement strings */
    size_t repl_n;
    float unk_score;       /* the lowest normal score less 10 */
    /* llama.cpp reads the first two from GGUF keys and fixes the others */
    bool add_space_prefix, remove_extra_ws, escape_ws, ws_as_suffix;
} heed_ugm;

/* Builds the tokenizer of v (tokens and attributes final) with g's
 * tokenizer.ggml.precompiled_charsmap and remove_extra_whitespaces. */
heed_status heed_ugm_new(const heed_gguf *g, const struct heed_vocab *v, heed_ugm **out);
void heed_ugm_free(heed_ugm *u);
/* text normalized: charsmap replacements, spaces as "▁"; *out malloc'd. */
heed_status heed_ugm_normalize(const heed_ugm *u, const char *text, size_t len, char **out,
                               size_t *out_len);

#endif
