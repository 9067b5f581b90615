/* ugm.c — the unigram tokenizer's tables (from the vocabulary and
 * tokenizer.ggml.precompiled_charsmap) and its session: llama.cpp's
 * Viterbi over the normalized text, one code point at a time, every token
 * that starts there scored by its log probability (user-defined tokens
 * 0), a code point no single token covers scored as [UNK] at the lowest
 * normal score less 10; runs of [UNK] in the best path become one. Byte
 * tokens are never used (llama.cpp has no byte fallback for UGM). Sums are
 * kept as float and compared in double, as llama.cpp does. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "text/ugm.h"
#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

#define CHARSMAP_KEY "tokenizer.ggml.precompiled_charsmap"

void heed_ugm_free(heed_ugm *u)
{
    if (!u)
        return;
    heed_trie_free(&u->tokens);
    heed_trie_free(&u->user);
    free(u->xcda);
    free(u->repl);
    free(u);
}

/* A u32 blob size, then the XCDA's u32 units, then the replacement strings. */
static heed_status load_charsmap(const heed_gguf *g, heed_ugm *u)
{
    const heed_gguf_value *a;
    if (!heed_gguf_get(g, CHARSMAP_KEY))
        return HEED_OK;
    heed_status st = heed_gguf_get_arr(g, CHARSMAP_KEY, HEED_GGUF_TYPE_COUNT, &a);
    if (st)
        return st;
    if (a->v.arr.type != HEED_GGUF_UINT8 && a->v.arr.type != HEED_GGUF_INT8)
        return heed_fail(HEED_ERR_FORMAT, CHARSMAP_KEY ": an array of type %d (expected bytes)",
                         (int)a->v.arr.type);
    const unsigned char *p = a->v.arr.data;
    uint64_t n = a->v.arr.n;
    if (n == 0)
        return HEED_OK;
    if (n < 4)
        return heed_fail(HEED_ERR_FORMAT, CHARSMAP_KEY ": %llu bytes, too short for its size "
                         "field", (unsigned long long)n);
    uint64_t blob = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                    (uint64_t)p[3] << 24;
    if (blob + 4 >= n)
        return heed_fail(HEED_ERR_FORMAT, CHARSMAP_KEY ": a trie of %llu bytes in %llu bytes "
                         "(no room for the replacement strings)", (unsigned long long)blob,
                         (unsigned long long)n);
    u->xcda_n = (size_t)(blob / 4);
    u->repl_n = (size_t)(n - 4 - blob);
    u->xcda = malloc((u->xcda_n ? u->xcda_n : 1) * sizeof *u->xcda);
    u->repl = malloc(u->repl_n);
    if (!u->xcda || !u->repl)
        return heed_fail(HEED_ERR_NOMEM, CHARSMAP_KEY ": out of memory");
    for (size_t i = 0; i < u->xcda_n; i++) {
        const unsigned char *q = p + 4 + 4 * i;
        u->xcda[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24;
    }
    memcpy(u->repl, p + 4 + blob, u->repl_n);
    return HEED_OK;
}

heed_status heed_ugm_new(const heed_gguf *g, const heed_vocab *v, heed_ugm **out)
{
    *out = NULL;
    heed_ugm *u = calloc(1, sizeof *u);
    if (!u)
        return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory");
    u->add_space_prefix = v->add_space_prefix;
    u->escape_ws = true;    /* llama.cpp: no key, always */
    u->ws_as_suffix = false; /* llama.cpp: no key, never */
    heed_status st;
    if ((st = heed_trie_init(&u->tokens, (size_t)v->n_tokens * 4)) ||
        (st = heed_trie_init(&u->user, 16)) || (st = load_charsmap(g, u)))
        goto fail;
    if (heed_gguf_get(g, "tokenizer.ggml.remove_extra_whitespaces") &&
        (st = heed_gguf_get_bool(g, "tokenizer.ggml.remove_extra_whitespaces",
                                 &u->remove_extra_ws)))
        goto fail;
    float min_score = FLT_MAX;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        const heed_token *t = &v->tokens[i];
        if ((t->attr & HEED_TOK_NORMAL) && t->score < min_score)
            min_score = t->score;
        if ((t->attr & (HEED_TOK_NORMAL | HEED_TOK_USER_DEFINED | HEED_TOK_UNUSED)) &&
            (st = heed_trie_insert(&u->tokens, t->text, t->len, i)))
            goto fail;
        if ((t->attr & HEED_TOK_USER_DEFINED) &&
            (st = heed_trie_insert(&u->user, t->text, t->len, i)))
            goto fail;
    }
    u->unk_score = min_score - 10.0f;
    *out = u;
    return HEED_OK;
fail:
    heed_ugm_free(u);
    return st;
}

typedef struct best { int32_t id; float score; size_t from; } best;

heed_status heed_ugm_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out)
{
    const heed_ugm *u = v->ugm;
    char *s;
    size_t n;
    heed_status st = heed_ugm_normalize(u, text, len, &s, &n);
    if (st || !n) {
        free(s);
        return st;
    }
    best *r = malloc((n + 1) * sizeof *r);
    if (!r) {
        free(s);
        return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory for %zu bytes", n);
    }
    for (size_t i = 0; i <= n; i++)
        r[i] = (best){v->unk, -FLT_MAX, 0};
    r[0].score = 0;
    for (size_t off = 0; off < n;) {
        size_t cl = heed_utf8_len((unsigned char)s[off]);
        if (cl > n - off)
            cl = n - off;
        const best cur = r[off];
        bool single = false;
        int32_t node = 0;
        for (size_t p = off; p < n;) {
            if ((node = heed_trie_child(&u->tokens, node, (unsigned char)s[p++])) < 0)
                break;
            int32_t id = u->tokens.value[node];
            if (id < 0)
                continue;
            single |= p - off == cl;
            const heed_token *t = &v->tokens[id];
            double sc = (double)cur.score + (t->attr & HEED_TOK_USER_DEFINED ? 0.0 : t->score);
            if (sc > r[p].score)
                r[p] = (best){id, (float)sc, off};
        }
        if (!single) {
            double sc = (double)cur.score + u->unk_score;
            if (sc > r[off + cl].score)
                r[off + cl] = (best){v->unk, (float)sc, off};
        }
        off += cl;
    }
    /* back from the end; a vocabulary without [UNK] drops what it cannot cover */
    size_t mark = out->n;
    bool prev_unk = false;
    for (size_t at = n; !st;) {
        bool unk = r[at].id == v->unk;
        if (!(prev_unk && unk) && r[at].id >= 0)
            st = heed_ids_push(out, r[at].id);
        if (!r[at].from)
            break;
        prev_unk = unk;
        at = r[at].from;
    }
    for (size_t i = mark, j = out->n; !st && i + 1 < j; i++, j--) {
        int32_t x = out->v[i];
        out->v[i] = out->v[j - 1];
        out->v[j - 1] = x;
    }
    free(r);
    free(s);
    return st;
}
