/* detokenize.c — ids to text, whole (llama.cpp's llama_detokenize) or as a
 * stream that holds back an incomplete UTF-8 sequence. */
#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

const char *heed_token_to_piece(const heed_vocab *v, int32_t id, bool special, size_t *len)
{
    *len = 0;
    if (!v || id < 0 || id >= v->n_tokens)
        return NULL;
    const heed_token *t = &v->tokens[id];
    if (!special && (t->attr & (HEED_TOK_CONTROL | HEED_TOK_UNKNOWN)))
        return "";
    *len = t->piece_len;
    return t->piece;
}

size_t heed_clean_spaces(char *text, size_t len)
{
    /* " ?" " !" " ." " ," lose their space */
    size_t total = len ? 1 : 0;
    for (size_t i = 1; i < len; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
            total--;
        text[total++] = x;
    }
    /* " ' " loses both spaces (llama.cpp overwrites the next one with NUL,
     * which the copy then skips past) */
    size_t len2 = total;
    total = len2 ? 1 : 0;
    for (size_t i = 1; i < len2; i++) {
        char x = text[i];
        if (x == '\'' && i + 1 < len2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
            total--;
            text[++i] = '\0';
        }
        text[total++] = x;
    }
    /* " 's" " 'm" " 're" " 've" lose their space */
    size_t len3 = total;
    total = len3 ? 1 : 0;
    for (size_t i = 1; i < len3; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < len3) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm')
                total--;
            else if (i + 2 < len3 && ((x1 == 'r' && text[i + 2] == 'e') ||
                                      (x1 == 'v' && text[i + 2] == 'e')))
                total--;
        }
        text[total++] = x;
    }
    return total;
}

heed_status heed_detokenize(const heed_vocab *v, const int32_t *ids, size_t n,
                            bool remove_special, bool unparse_special, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (!v || (!ids && n))
        return heed_fail(HEED_ERR_ARG, "detokenize: no vocabulary or no ids");
    bool remove_space = v->add_space_prefix;
    if (remove_special && v->add_bos && n && ids[0] == v->bos) {
        remove_space = false;
        ids++, n--;
    }
    if (remove_special && v->add_eos && n && ids[n - 1] == v->eos)
        n--;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->n_tokens)
            return heed_fail(HEED_ERR_ARG, "detokenize: id %d at position %zu is not in the "
                             "vocabulary (0 .. %d)", ids[i], i, v->n_tokens - 1);
        total += v->tokens[ids[i]].piece_len;
    }
    char *out = malloc(total + 1);
    if (!out)
        return heed_fail(HEED_ERR_NOMEM, "detokenize: out of memory for %zu bytes", total);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pl;
        const char *p = heed_token_to_piece(v, ids[i], unparse_special, &pl);
        if (remove_space && pl && p[0] == ' ')
            p++, pl--;
        remove_space = false;
        memcpy(out + k, p, pl);
        k += pl;
    }
    if (v->clean_spaces)
        k = heed_clean_spaces(out, k);
    out[k] = 0;
    *text = out;
    *len = k;
    return HEED_OK;
}

struct heed_detok_stream {
    const heed_vocab *v;
    bool special, first;
    char *buf;          /* held-back bytes, then the text handed out */
    size_t held, cap;
    char tail[4];
};

heed_status heed_detok_stream_new(const heed_vocab *v, bool special, heed_detok_stream **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "heed_detok_stream_new: out is NULL");
    *out = NULL;
    if (!v)
        return heed_fail(HEED_ERR_ARG, "heed_detok_stream_new: no vocabulary");
    heed_detok_stream *s = calloc(1, sizeof *s);
    if (!s)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for a detokenizer stream");
    s->v = v;
    s->special = special;
    s->first = true;
    *out = s;
    return HEED_OK;
}

void heed_detok_stream_free(heed_detok_stream *s)
{
    if (s)
        free(s->buf);
    free(s);
}

/* Bytes at the end of b[0..n) that begin a UTF-8 sequence not yet complete
 * (0 when the end is complete or the bytes can never become valid). */
static size_t incomplete_tail(const char *b, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)b[n - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
        if (c >= 0xF5)
            need = 1;
        return need > back ? back : 0;
    }
    return 0;
}

heed_status heed_detok_stream_push(heed_detok_stream *s, int32_t id, const char **out,
                                   size_t *len)
{
    return detok_stream_push_as(s, id, s->special, out, len);
}

heed_status detok_stream_push_as(heed_detok_stream *s, int32_t id, bool special,
                                 const char **out, size_t *len)
{
    *out = "";
    *len = 0;
    if (id < 0 || id >= s->v->n_tokens)
        return heed_fail(HEED_ERR_ARG, "detokenize: id %d is not in the vocabulary (0 .. %d)",
                         id, s->v->n_tokens - 1);
    size_t pl;
    const char *p = heed_token_to_piece(s->v, id, special, &pl);
    if (s->first && s->v->add_space_prefix && pl && p[0] == ' ')
        p++, pl--;
    s->first = false;
    if (!s->buf || s->held + pl > s->cap) {
        size_t nc = 2 * (s->held + pl) + 16;
        char *nb = realloc(s->buf, nc);
        if (!nb)
            return heed_fail(HEED_ERR_NOMEM, "detokenize: out of memory");
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf, s->tail, s->held); /* bytes held back last time come first */
    memcpy(s->buf + s->held, p, pl);
    size_t total = s->held + pl, keep = incomplete_tail(s->buf, total);
    memcpy(s->tail, s->buf + total - keep, keep);
    s->held = keep;
    *out = s->buf;
    *len = total - keep;
    return HEED_OK;
}

void heed_detok_stream_flush(heed_detok_stream *s, const char **out, size_t *len)
{
    *out = s->tail;
    *len = s->held;
    s->held = 0;
    s->first = true;
}
