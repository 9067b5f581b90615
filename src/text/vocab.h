/* vocab.h — the vocabulary object shared by the tokenizer sessions. */
#ifndef HEED_TEXT_VOCAB_H
#define HEED_TEXT_VOCAB_H

#include "heed.h"
#include "text/pretokenize.h"
#include "text/strmap.h"
#include "text/ugm.h"

typedef enum heed_vocab_kind {
    HEED_VOCAB_SPM, HEED_VOCAB_BPE, HEED_VOCAB_WPM, HEED_VOCAB_UGM, HEED_VOCAB_KINDS
} heed_vocab_kind;

/* Token attributes, llama.cpp's bits (a token may carry several). */
enum {
    HEED_TOK_UNKNOWN = 1 << 0,
    HEED_TOK_UNUSED = 1 << 1,
    HEED_TOK_NORMAL = 1 << 2,
    HEED_TOK_CONTROL = 1 << 3,
    HEED_TOK_USER_DEFINED = 1 << 4,
    HEED_TOK_BYTE = 1 << 5,
    HEED_TOK_LSTRIP = 1 << 7,
    HEED_TOK_RSTRIP = 1 << 8,
};

typedef struct heed_token {
    const char *text;  /* into vocab->texts, len bytes, NUL after */
    uint32_t len;
    uint32_t attr;
    float score;
    const char *piece; /* decoded text with special=true, into vocab->pieces */
    uint32_t piece_len;
} heed_token;

struct heed_vocab {
    heed_vocab_kind kind;
    char model[16];
    char pre[64];
    int32_t n_tokens;
    heed_token *tokens;
    char *texts, *pieces;     /* arenas for token texts and decoded pieces */
    heed_strmap text_to_id;
    heed_strmap merges;       /* key: u32 length of left, left, right -> rank */
    heed_pretok *pretok;      /* BPE only */
    heed_ugm *ugm;            /* UGM only */
    int32_t bos, eos, eot, eom, unk, sep, pad, mask, nl;
    bool add_bos, add_eos, add_space_prefix, ignore_merges, clean_spaces;
    int max_token_len;
    unsigned char *eog;       /* n_tokens flags */
    int32_t *specials;        /* control/user-defined/unknown ids, longest first */
    int32_t n_specials;
    char byte_utf8[256][3];   /* GPT-2 byte -> its code point in UTF-8 */
    unsigned char byte_utf8_len[256];
    _Atomic(struct token_trie *) trie; /* the texts as a trie, once a grammar
                                          asks (text/token_trie.h)      */
};

/* The sessions: each appends the ids of one text fragment to out. */
typedef struct heed_ids { int32_t *v; size_t n, cap; } heed_ids;
heed_status heed_ids_push(heed_ids *ids, int32_t id);

heed_status heed_spm_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out);
heed_status heed_bpe_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out);
heed_status heed_wpm_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out);
heed_status heed_ugm_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out);
/* Rank of merging left and right, or -1. */
int32_t heed_bpe_rank(const heed_vocab *v, const char *l, size_t ll, const char *r, size_t rl);
/* llama.cpp's clean_up_tokenization_spaces passes over text[0..len), in
 * place; returns the new length. */
size_t heed_clean_spaces(char *text, size_t len);
/* heed_detok_stream_push, with control tokens rendered as special says
 * for this token (the generator shows its preserved tokens). */
heed_status detok_stream_push_as(heed_detok_stream *s, int32_t id, bool special,
                                 const char **out, size_t *len);

#endif
