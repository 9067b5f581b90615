/* tokenize.c — text to ids: special tokens are cut out of the text first
 * (llama.cpp's partition: longest special token first, each occurrence
 * left to right), then each remaining stretch goes to the vocabulary's
 * session. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "text/vocab.h"
#include "util/error.h"

typedef struct frag { int32_t token; size_t off, len; } frag; /* token -1: text */
typedef struct frags { frag *v; size_t n, cap; } frags;

static int frag_push(frags *f, frag x)
{
    if (f->n == f->cap) {
        size_t nc = f->cap ? 2 * f->cap : 16;
        frag *p = realloc(f->v, nc * sizeof *p);
        if (!p)
            return -1;
        f->v = p;
        f->cap = nc;
    }
    f->v[f->n++] = x;
    return 0;
}

/* Splits every text fragment of *f at the occurrences of special token id. */
static int split_at(const heed_vocab *v, const char *text, int32_t id, frags *f, frags *tmp)
{
    const heed_token *t = &v->tokens[id];
    tmp->n = 0;
    for (size_t i = 0; i < f->n; i++) {
        frag x = f->v[i];
        if (x.token >= 0 || x.len < t->len) {
            if (frag_push(tmp, x))
                return -1;
            continue;
        }
        size_t off = x.off, end = x.off + x.len;
        for (;;) {
            const char *m = off < end ? memmem(text + off, end - off, t->text, t->len) : NULL;
            if (!m) {
                if (off < end && frag_push(tmp, (frag){-1, off, end - off}))
                    return -1;
                break;
            }
            size_t at = (size_t)(m - text), left = at - off;
            if (t->attr & HEED_TOK_LSTRIP)
                while (left && isspace((unsigned char)text[off + left - 1]))
                    left--;
            if (left && frag_push(tmp, (frag){-1, off, left}))
                return -1;
            if (frag_push(tmp, (frag){id, 0, 0}))
                return -1;
            off = at + t->len;
            if (t->attr & HEED_TOK_RSTRIP)
                while (off < end && isspace((unsigned char)text[off]))
                    off++;
        }
    }
    frags swap = *f;
    *f = *tmp;
    *tmp = swap;
    return 0;
}

typedef heed_status (*session_fn)(const heed_vocab *, const char *, size_t, heed_ids *);
static const session_fn sessions[HEED_VOCAB_KINDS] = {
    [HEED_VOCAB_SPM] = heed_spm_tokenize, [HEED_VOCAB_BPE] = heed_bpe_tokenize,
    [HEED_VOCAB_WPM] = heed_wpm_tokenize, [HEED_VOCAB_UGM] = heed_ugm_tokenize};

static heed_status run_session(const heed_vocab *v, const char *text, size_t len, heed_ids *out)
{
    return sessions[v->kind](v, text, len, out);
}

heed_status heed_tokenize(const heed_vocab *v, const char *text, size_t len,
                          bool add_special, bool parse_special, int32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if (!v || (!text && len))
        return heed_fail(HEED_ERR_ARG, "tokenize: no vocabulary or no text");
    frags f = {0}, tmp = {0};
    heed_ids out = {0};
    char *buf = NULL;
    heed_status st = HEED_OK;
    if (len && frag_push(&f, (frag){-1, 0, len}))
        goto nomem;
    for (int32_t i = 0; i < v->n_specials && f.n; i++) {
        int32_t id = v->specials[i];
        if (!parse_special && (v->tokens[id].attr & (HEED_TOK_CONTROL | HEED_TOK_UNKNOWN)))
            continue; /* user-defined tokens are cut out even so */
        if (split_at(v, text, id, &f, &tmp))
            goto nomem;
    }
    bool bos = false, eos = false;
    if (add_special) {
        bos = v->kind == HEED_VOCAB_WPM || v->add_bos; /* WordPiece: always [CLS] */
        eos = v->kind != HEED_VOCAB_WPM && v->add_eos;
        int32_t b = v->bos;
        if (bos && b < 0) {
            st = heed_fail(HEED_ERR_UNSUPPORTED, "tokenize: the vocabulary adds BOS but has none");
            goto done;
        }
        if (bos && (st = heed_ids_push(&out, b)))
            goto done;
    }
    bool prev_special = true; /* SentencePiece: a space before the first text */
    for (size_t i = 0; i < f.n && !st; i++) {
        if (f.v[i].token >= 0) {
            st = heed_ids_push(&out, f.v[i].token);
            prev_special = true;
            continue;
        }
        const char *s = text + f.v[i].off;
        size_t sl = f.v[i].len;
        if (v->kind == HEED_VOCAB_SPM) {
            /* a leading space when asked, then every space as "▁" */
            size_t k = 0;
            free(buf);
            if (!(buf = malloc(3 * sl + 3)))
                goto nomem;
            if (v->add_space_prefix && prev_special)
                memcpy(buf, "\xE2\x96\x81", 3), k = 3;
            for (size_t j = 0; j < sl; j++) {
                if (s[j] == ' ')
                    memcpy(buf + k, "\xE2\x96\x81", 3), k += 3;
                else
                    buf[k++] = s[j];
            }
            s = buf;
            sl = k;
        }
        st = run_session(v, s, sl, &out);
        prev_special = false;
    }
    if (!st && add_special) {
        int32_t e = v->kind == HEED_VOCAB_WPM ? v->sep : v->eos;
        if (v->kind == HEED_VOCAB_WPM || eos) {
            if (e < 0)
                st = heed_fail(HEED_ERR_UNSUPPORTED,
                               "tokenize: the vocabulary adds EOS/SEP but has none");
            else
                st = heed_ids_push(&out, e);
        }
    }
    goto done;
nomem:
    st = heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory for %zu bytes", len);
done:
    free(buf);
    free(f.v);
    free(tmp.v);
    if (st) {
        free(out.v);
        return st;
    }
    *ids = out.v;
    *n = out.n;
    return HEED_OK;
}
