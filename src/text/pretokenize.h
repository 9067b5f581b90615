/* pretokenize.h — the regex pre-tokenizers of byte-level BPE vocabularies
 * (tokenizer.ggml.pre), compiled with PCRE2 (JIT). */
#ifndef HEED_TEXT_PRETOKENIZE_H
#define HEED_TEXT_PRETOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heed.h"

/* What a pre-tokenizer name implies beyond its regexes (llama.cpp's
 * defaults for that name; GGUF keys read later may override them). */
typedef struct heed_pretok_info {
    bool ignore_merges, add_bos, clean_spaces, no_bos;
} heed_pretok_info;

typedef struct heed_pretok heed_pretok;

/* Compiles the pre-tokenizer called name ("" means "default").
 * HEED_ERR_UNSUPPORTED names an unknown one and lists the known names. */
heed_status heed_pretok_new(const char *name, heed_pretok **out, heed_pretok_info *info);
/* Compiles a NULL-terminated list of up to 8 regexes (the lists of
 * heed_pretok_new; tests probe single classes with it); name is for
 * errors. */
heed_status heed_pretok_compile(const char *const *re, const char *name, heed_pretok **out);
void heed_pretok_free(heed_pretok *p);

/* A word of the split: code points [start, end) of the decoded text. */
typedef struct heed_span { size_t start, end; } heed_span;

/*
 * Splits cpts[0..n) (the text's code points, decoded as llama.cpp does)
 * by each regex in turn: every piece left by one regex is split by the
 * next one, and the stretches between matches are pieces too. On success
 * *spans is malloc'd with *n_spans entries in text order.
 */
heed_status heed_pretok_split(const heed_pretok *p, const uint32_t *cpts, size_t n,
                              heed_span **spans, size_t *n_spans);

#endif
