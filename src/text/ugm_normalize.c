/* ugm_normalize.c — SentencePiece's normalizer as llama.cpp runs it for
 * UGM: at each offset the longest user-defined token prefix passes as is,
 * else the longest match in the precompiled charsmap's XCDA (Kanda 2018)
 * is replaced, else one valid UTF-8 character passes, else one byte
 * becomes U+FFFD; spaces of the result become "▁" (or merge, with
 * remove_extra_whitespaces). Out-of-range trie indexes end the match
 * where llama.cpp would read past its array. */
#include <stdlib.h>
#include <string.h>

#include "text/ugm.h"
#include "text/unicode.h"
#include "util/error.h"

/* An XCDA unit: BASE in bits 10-30 (shifted by 8 when bit 9 is set),
 * LEAF bit 8, LCHECK bits 0-7; bit 31 marks a value unit. */
static uint32_t xcda_base(uint32_t e) { return (e >> 10) << ((e & (1u << 9)) >> 6); }

/* Length of the longest charsmap key at s[0..n), its replacement in *r. */
static size_t charsmap_match(const heed_ugm *u, const unsigned char *s, size_t n,
                             const char **r, size_t *rl)
{
    size_t best = 0;
    if (!u->xcda_n)
        return 0;
    uint32_t node = xcda_base(u->xcda[0]);
    for (size_t i = 0; i < n && s[i]; i++) {
        node ^= s[i];
        if (node >= u->xcda_n)
            break;
        uint32_t e = u->xcda[node];
        if ((e & (0x80000000u | 0xFF)) != s[i])
            break;
        node ^= xcda_base(e);
        if ((e >> 8) & 1) {
            if (node >= u->xcda_n)
                break;
            size_t off = u->xcda[node] & 0x7FFFFFFFu;
            if (off >= u->repl_n)
                break; /* llama.cpp throws; heed keeps the shorter match */
            best = i + 1;
            *r = u->repl + off;
            *rl = strnlen(*r, u->repl_n - off);
        }
    }
    return best;
}

/* Length of the longest prefix of s[0..n) on a path of the user trie. */
static size_t user_match(const heed_trie *t, const unsigned char *s, size_t n)
{
    int32_t node = 0;
    size_t k = 0;
    while (k < n && (node = heed_trie_child(t, node, s[k])) >= 0)
        k++;
    return k;
}

typedef struct buf { char *p; size_t n, cap; } buf;

static int put(buf *b, const char *s, size_t n)
{
    if (!b->p || b->n + n > b->cap) { /* the first call allocates */
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->n + n)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p)
            return -1;
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

heed_status heed_ugm_normalize(const heed_ugm *u, const char *text, size_t len, char **out,
                               size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)text;
    const char *space = u->escape_ws ? "\xE2\x96\x81" : " ";
    size_t sl = strlen(space);
    bool prepend = !u->ws_as_suffix && u->add_space_prefix;
    bool append = u->ws_as_suffix && u->add_space_prefix, merge = u->remove_extra_ws;
    bool prepended = false, in_word = false;
    buf b = {0};
    if (put(&b, "", 0))
        goto nomem;
    for (size_t off = 0; off < len;) {
        const char *r = text + off;
        size_t rl, used = user_match(&u->user, s + off, len - off);
        rl = used;
        if (!used && !(used = charsmap_match(u, s + off, len - off, &r, &rl))) {
            size_t o = off;
            heed_utf8_decode(text, len, &o);
            rl = used = o - off;
            if (used == 1 && s[off] >= 0x80) /* not UTF-8: one byte, U+FFFD */
                r = "\xEF\xBF\xBD", rl = 3;
        }
        for (size_t i = 0; i < rl; i++) {
            if (r[i] != ' ') {
                if (!in_word) {
                    in_word = true;
                    if ((prepend && !prepended) || merge) {
                        if (put(&b, space, sl))
                            goto nomem;
                        prepended = true;
                    }
                }
                if (put(&b, r + i, 1))
                    goto nomem;
            } else {
                in_word = false;
                if (!merge && put(&b, space, sl))
                    goto nomem;
            }
        }
        off += used;
    }
    if (append && put(&b, space, sl))
        goto nomem;
    *out = b.p;
    *out_len = b.n;
    return HEED_OK;
nomem:
    free(b.p);
    return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory normalizing %zu bytes", len);
}
