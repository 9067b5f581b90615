/* wpm.c — WordPiece as llama.cpp's WPM session: each code point replaced
 * by the first of its canonical decomposition and lower-cased; whitespace
 * splits words, control characters vanish, punctuation (and ASCII symbols,
 * and CJK ideographs) stand alone; each word, prefixed with "▁", is covered
 * greedily by the longest tokens, or becomes [UNK] as a whole. */
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

static int is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Covers one word (w starts with "▁") with the longest matching tokens. */
static heed_status wpm_word(const heed_vocab *v, const char *w, size_t n, heed_ids *out)
{
    size_t mark = out->n;
    for (size_t i = 0; i < n; i++) {
        bool match = false;
        size_t j = i + (size_t)v->max_token_len + 1 < n ? i + (size_t)v->max_token_len + 1 : n;
        for (; j > i; j--) {
            int32_t id = heed_strmap_get(&v->text_to_id, w + i, j - i);
            if (id >= 0) {
                heed_status st = heed_ids_push(out, id);
                if (st)
                    return st;
                match = true;
                i = j - 1;
                break;
            }
        }
        if (!match) {
            out->n = mark;
            break;
        }
    }
    return out->n == mark && v->unk >= 0 ? heed_ids_push(out, v->unk) : HEED_OK;
}

heed_status heed_wpm_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out)
{
    /* the current word after "▁": at most 4 bytes per input byte */
    char *w = malloc(3 + 4 * len + 4);
    if (!w)
        return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory for %zu bytes", len);
    memcpy(w, "\xE2\x96\x81", 3);
    size_t wl = 3;
    heed_status st = HEED_OK;
    for (size_t off = 0; off < len && !st;) {
        uint32_t c = heed_cpt_nfd_first(heed_utf8_decode(text, len, &off));
        unsigned f = heed_cpt_flags(c);
        if (f & HEED_CPT_WHITESPACE) {
            if (wl > 3)
                st = wpm_word(v, w, wl, out);
            wl = 3;
            continue;
        }
        if (c == 0 || c == 0xFFFD || (f & HEED_CPT_CONTROL))
            continue;
        char u[4];
        size_t m = heed_utf8_encode(heed_cpt_tolower(c), u);
        if ((f & HEED_CPT_PUNCTUATION) || (c < 0x7F && (f & HEED_CPT_SYMBOL)) || is_chinese(c)) {
            if (wl > 3 && (st = wpm_word(v, w, wl, out)))
                break;
            memcpy(w + 3, u, m);
            st = wpm_word(v, w, 3 + m, out);
            wl = 3;
        } else {
            memcpy(w + wl, u, m);
            wl += m;
        }
    }
    if (!st && wl > 3)
        st = wpm_word(v, w, wl, out);
    free(w);
    return st;
}
