/* token_trie.c — see token_trie.h. The tokens are sorted by their texts;
 * consecutive texts share a prefix, and each token opens nodes only for
 * the bytes past what it shares with the one before. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "text/token_trie.h"
#include "text/vocab.h"
#include "util/error.h"

typedef struct entry {
    const char *s;
    size_t len;
    int32_t id;
} entry;

static int by_text(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    const size_t n = a->len < b->len ? a->len : b->len;
    const int c = memcmp(a->s, b->s, n);
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

void token_trie_free(token_trie *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->ids);
    free(t);
}

static heed_status build(const heed_vocab *v, token_trie *t)
{
    const int32_t n_tok = heed_vocab_n_tokens(v);
    entry *e = malloc(sizeof *e * (size_t)(n_tok > 0 ? n_tok : 1));
    if (!e)
        return heed_fail(HEED_ERR_NOMEM, "grammar: out of memory for the token trie");
    int32_t n = 0;
    size_t total = 0;
    for (int32_t id = 0; id < n_tok; id++) {
        size_t len;
        const char *s = heed_token_to_piece(v, id, false, &len);
        if (s && len && len <= UINT16_MAX) {
            e[n++] = (entry){s, len, id};
            total += len;
        }
    }
    qsort(e, (size_t)n, sizeof *e, by_text);
    /* at most one node per byte of text */
    t->nodes = malloc(sizeof *t->nodes * (total ? total : 1));
    t->ids = malloc(sizeof *t->ids * (size_t)(n ? n : 1));
    int32_t *open = malloc(sizeof *open * (UINT16_MAX + 1)); /* the path's nodes, by depth */
    if (!t->nodes || !t->ids || !open) {
        free(e);
        free(open);
        return heed_fail(HEED_ERR_NOMEM, "grammar: out of memory for the token trie");
    }
    size_t depth = 0; /* nodes open on the current path */
    for (int32_t i = 0; i < n; i++) {
        size_t lcp = 0;
        if (i) {
            const size_t m = e[i].len < e[i - 1].len ? e[i].len : e[i - 1].len;
            while (lcp < m && e[i].s[lcp] == e[i - 1].s[lcp])
                lcp++;
        }
        for (; depth > lcp; depth--) /* close the nodes this text leaves */
            t->nodes[open[depth - 1]].end = t->n;
        for (; depth < e[i].len; depth++) {
            open[depth] = t->n;
            t->nodes[t->n++] = (token_trie_node){.tok = i, .depth = (uint16_t)(depth + 1),
                                                 .byte = (uint8_t)e[i].s[depth]};
        }
        token_trie_node *last = &t->nodes[open[depth - 1]];
        if (!last->n_tok)
            last->tok = i;
        if (last->n_tok < UINT16_MAX) /* duplicates past that never come up */
            last->n_tok++;
        t->ids[i] = e[i].id;
        t->max_depth = (int)e[i].len > t->max_depth ? (int)e[i].len : t->max_depth;
    }
    for (; depth > 0; depth--)
        t->nodes[open[depth - 1]].end = t->n;
    free(open);
    free(e);
    return HEED_OK;
}

heed_status token_trie_of(const heed_vocab *v, const token_trie **out)
{
    _Atomic(token_trie *) *kept = &((heed_vocab *)v)->trie; /* a cache: v stays the same */
    token_trie *t = atomic_load(kept), *none = NULL;
    if (!t) { /* threads that race here each build one; the first kept wins */
        heed_status st = (t = calloc(1, sizeof *t)) ? build(v, t)
                         : heed_fail(HEED_ERR_NOMEM, "grammar: out of memory for the token trie");
        if (st) {
            token_trie_free(t);
            return st;
        }
        if (!atomic_compare_exchange_strong(kept, &none, t)) {
            token_trie_free(t);
            t = none;
        }
    }
    *out = t;
    return HEED_OK;
}
