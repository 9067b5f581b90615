/* bpe_train.h — learning a byte-level BPE vocabulary (GPT-2 style) from a
 * text, and storing it as a GGUF tokenizer that heed and llama.cpp load. */
#ifndef HEED_TRAIN_BPE_TRAIN_H
#define HEED_TRAIN_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "heed.h"

typedef struct heed_bpe_vocab {
    int32_t n_tokens;     /* byte tokens, merged tokens, then the specials */
    char **tokens;        /* each in GPT-2's byte-to-unicode mapped form, NUL-terminated */
    int32_t *types;       /* 1 normal, 3 control (specials) */
    int32_t n_merges;
    char **merges;        /* "left right", in rank order */
    int32_t eos;          /* id of "<|endoftext|>" */
} heed_bpe_vocab;

/*
 * Learns merges from text[0..len) until the vocabulary holds vocab_size
 * tokens: the 256 byte tokens (id = byte value), the merged tokens in the
 * order learnt, then "<|endoftext|>" (the last id). Words are the pieces of
 * the "gpt-2" pre-tokenizer, the split heed and llama.cpp apply at
 * inference; merges never cross them. Each step merges the most frequent
 * adjacent pair (ties: smallest left id, then smallest right id), so the
 * result depends on the text alone.
 *
 * When the text runs out of pairs first, training stops early and
 * n_tokens is smaller than vocab_size. Two merges that spell the same
 * bytes ("ab"+"c", "a"+"bc") share one token, so n_merges can exceed
 * n_tokens - 257.
 *
 * HEED_ERR_ARG: out is NULL, the text is shorter than 2 bytes, or
 * vocab_size is outside [258, 1 << 20]. HEED_ERR_FORMAT: the text is not
 * valid UTF-8 (the message names the byte offset of the first bad
 * sequence). On failure *out is zeroed.
 */
heed_status heed_bpe_train(const char *text, size_t len, int32_t vocab_size,
                           heed_bpe_vocab *out);
/* Frees what heed_bpe_train allocated and zeroes v (NULL is fine). */
void heed_bpe_vocab_free(heed_bpe_vocab *v);

/*
 * Stores the vocabulary in w as a gpt2-family tokenizer:
 * tokenizer.ggml.model "gpt2", tokenizer.ggml.pre "gpt-2", tokens,
 * token_type, merges, bos and eos = v->eos, add_bos_token false.
 */
heed_status heed_bpe_vocab_write(const heed_bpe_vocab *v, heed_gguf_writer *w);

#endif
