/* trie.c — see trie.h. */
#include <stdlib.h>
#include <string.h>

#include "text/trie.h"
#include "util/error.h"

static int32_t new_node(heed_trie *t)
{
    if (t->n == t->cap) {
        if (t->cap > INT32_MAX / 2)
            return -1;
        int32_t nc = t->cap ? 2 * t->cap : 256;
        int32_t *p = realloc(t->value, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        t->value = p;
        t->cap = nc;
    }
    t->value[t->n] = -1;
    return t->n++;
}

heed_status heed_trie_init(heed_trie *t, size_t n_hint)
{
    memset(t, 0, sizeof *t);
    heed_status st = heed_strmap_init(&t->edges, n_hint);
    if (st)
        return st;
    if (new_node(t) < 0)
        return heed_fail(HEED_ERR_NOMEM, "trie: out of memory");
    return HEED_OK;
}

void heed_trie_free(heed_trie *t)
{
    heed_strmap_free(&t->edges);
    free(t->value);
    memset(t, 0, sizeof *t);
}

static void edge_key(char key[5], int32_t node, unsigned char c)
{
    memcpy(key, &node, 4);
    key[4] = (char)c;
}

int32_t heed_trie_child(const heed_trie *t, int32_t node, unsigned char c)
{
    char key[5];
    edge_key(key, node, c);
    return heed_strmap_get(&t->edges, key, 5);
}

heed_status heed_trie_insert(heed_trie *t, const char *key, size_t len, int32_t value)
{
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t child = heed_trie_child(t, node, (unsigned char)key[i]);
        if (child < 0) {
            char k[5];
            edge_key(k, node, (unsigned char)key[i]);
            if ((child = new_node(t)) < 0)
                return heed_fail(HEED_ERR_NOMEM, "trie: out of memory");
            heed_status st = heed_strmap_put(&t->edges, k, 5, child, true);
            if (st)
                return st;
        }
        node = child;
    }
    t->value[node] = value;
    return HEED_OK;
}
