/* spm.c — SentencePiece BPE as llama.cpp's SPM session: start from UTF-8
 * characters, repeatedly merge the adjacent pair whose concatenation is the
 * token with the highest score (ties: leftmost), then bytes <0xNN> for
 * what no token covers. The text arrives with spaces already "▁". */
#include <stdlib.h>
#include <string.h>

#include "text/merge_queue.h"
#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

static int try_add(const heed_vocab *v, const char *text, heed_sym *s, heed_merge_queue *h,
                   int l, int r)
{
    if (l < 0 || r < 0)
        return 0;
    size_t size = s[l].n + s[r].n;
    int32_t id = heed_strmap_get(&v->text_to_id, text + s[l].start, size);
    if (id < 0)
        return 0;
    return heed_merge_queue_push(h, (heed_bigram){l, r, -(double)v->tokens[id].score, size});
}

static int32_t byte_token(const heed_vocab *v, unsigned char c)
{
    char buf[8];
    static const char hex[] = "0123456789ABCDEF";
    buf[0] = '<', buf[1] = '0', buf[2] = 'x', buf[3] = hex[c >> 4], buf[4] = hex[c & 15];
    buf[5] = '>';
    int32_t id = heed_strmap_get(&v->text_to_id, buf, 6);
    if (id < 0)
        id = heed_strmap_get(&v->text_to_id, (const char *)&c, 1);
    return id < 0 ? v->unk : id;
}

heed_status heed_spm_tokenize(const heed_vocab *v, const char *text, size_t len, heed_ids *out)
{
    if (!len)
        return HEED_OK;
    heed_sym *s = malloc(len * sizeof *s);
    heed_merge_queue h = {0};
    heed_status st = HEED_OK;
    if (!s)
        return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory for %zu bytes", len);
    int n = 0;
    for (size_t off = 0; off < len; n++) {
        size_t k = heed_utf8_len((unsigned char)text[off]);
        if (k > len - off)
            k = len - off;
        s[n] = (heed_sym){off, k, n - 1, off + k == len ? -1 : n + 1};
        off += k;
    }
    for (int i = 1; i < n; i++)
        if (try_add(v, text, s, &h, i - 1, i))
            goto nomem;
    while (h.n) {
        heed_bigram b = heed_merge_queue_pop(&h);
        heed_sym *l = &s[b.left], *r = &s[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size)
            continue; /* one side was merged since */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = b.left;
        if (try_add(v, text, s, &h, l->prev, b.left) || try_add(v, text, s, &h, b.left, l->next))
            goto nomem;
    }
    for (int i = 0; i != -1 && !st; i = s[i].next) {
        int32_t id = heed_strmap_get(&v->text_to_id, text + s[i].start, s[i].n);
        if (id >= 0) {
            st = heed_ids_push(out, id);
            continue;
        }
        for (size_t j = 0; j < s[i].n && !st; j++) {
            int32_t b = byte_token(v, (unsigned char)text[s[i].start + j]);
            if (b >= 0) /* no byte token and no [UNK]: the byte is dropped */
                st = heed_ids_push(out, b);
        }
    }
    free(s);
    free(h.v);
    return st;
nomem:
    free(s);
    free(h.v);
    return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory");
}
