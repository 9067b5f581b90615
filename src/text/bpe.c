/* bpe.c — byte-level BPE as llama.cpp's BPE session: the pre-tokenizer
 * splits the text into words; each word's bytes become GPT-2's printable
 * characters; adjacent symbols merge by lowest merge rank (ties: leftmost)
 * until no pair has a rank. */
#include <stdlib.h>
#include <string.h>

#include "text/merge_queue.h"
#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

static int try_add(const heed_vocab *v, const char *w, heed_sym *s, heed_merge_queue *h,
                   int l, int r)
{
    if (l < 0 || r < 0)
        return 0;
    int32_t rank = heed_bpe_rank(v, w + s[l].start, s[l].n, w + s[r].start, s[r].n);
    if (rank < 0)
        return 0;
    return heed_merge_queue_push(h, (heed_bigram){l, r, rank, s[l].n + s[r].n});
}

typedef struct work { char *w; size_t wcap; heed_sym *s; size_t scap; heed_merge_queue h; } work;

/* Merges one byte-level word w[0..len) and appends its ids. */
static heed_status bpe_word(const heed_vocab *v, work *k, size_t len, heed_ids *out)
{
    const char *w = k->w;
    if (len > k->scap) {
        free(k->s);
        k->scap = 2 * len;
        if (!(k->s = malloc(k->scap * sizeof *k->s)))
            return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory");
    }
    heed_sym *s = k->s;
    int n = 0;
    k->h.n = 0;
    if (v->ignore_merges && heed_strmap_get(&v->text_to_id, w, len) >= 0) {
        s[n++] = (heed_sym){0, len, -1, -1};
    } else {
        for (size_t off = 0; off < len; n++) {
            size_t c = heed_utf8_len((unsigned char)w[off]);
            if (c > len - off)
                c = len - off;
            s[n] = (heed_sym){off, c, n - 1, off + c == len ? -1 : n + 1};
            off += c;
        }
    }
    for (int i = 1; i < n; i++)
        if (try_add(v, w, s, &k->h, i - 1, i))
            return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory");
    while (k->h.n) {
        heed_bigram b = heed_merge_queue_pop(&k->h);
        heed_sym *l = &s[b.left], *r = &s[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size)
            continue; /* outdated: one side has changed */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = b.left;
        if (try_add(v, w, s, &k->h, l->prev, b.left) || try_add(v, w, s, &k->h, b.left, l->next))
            return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory");
    }
    heed_status st = HEED_OK;
    for (int i = 0; i < n && !st; i++) {
        if (!s[i].n)
            continue;
        int32_t id = heed_strmap_get(&v->text_to_id, w + s[i].start, s[i].n);
        if (id >= 0) {
            st = heed_ids_push(out, id);
            continue;
        }
        /* no token: each byte alone, if that is a token (else dropped) */
        for (size_t j = 0; j < s[i].n && !st; j++) {
            id = heed_strmap_get(&v->text_to_id, w + s[i].start + j, 1);
            if (id >= 0)
                st = heed_ids_push(out, id);
        }
    }
    return st;
}

heed_status heed_bpe_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out)
{
    if (!len)
        return HEED_OK;
    uint32_t *cpts = malloc(len * sizeof *cpts);
    if (!cpts)
        return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory for %zu bytes", len);
    size_t n = 0;
    for (size_t off = 0; off < len;)
        cpts[n++] = heed_utf8_decode(text, len, &off);
    heed_span *spans = NULL;
    size_t n_spans = 0;
    heed_status st = heed_pretok_split(v->pretok, cpts, n, &spans, &n_spans);
    work k = {0};
    for (size_t i = 0; i < n_spans && !st; i++) {
        /* at most 4 bytes per code point, 2 per byte-level character */
        size_t need = 8 * (spans[i].end - spans[i].start);
        if (need > k.wcap) {
            free(k.w);
            k.wcap = 2 * need;
            if (!(k.w = malloc(k.wcap))) {
                st = heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory");
                break;
            }
        }
        size_t wl = 0;
        for (size_t c = spans[i].start; c < spans[i].end; c++) {
            char u[4];
            size_t m = heed_utf8_encode(cpts[c], u);
            for (size_t j = 0; j < m; j++) {
                unsigned char b = (unsigned char)u[j];
                memcpy(k.w + wl, v->byte_utf8[b], v->byte_utf8_len[b]);
                wl += v->byte_utf8_len[b];
            }
        }
        st = bpe_word(v, &k, wl, out);
    }
    free(k.w);
    free(k.s);
    free(k.h.v);
    free(spans);
    free(cpts);
    return st;
}
