/* trie.h — a byte trie over a hash map of edges (node, byte) -> child: the
 * token matcher of the unigram tokenizer, walked one byte at a time. */
#ifndef HEED_TEXT_TRIE_H
#define HEED_TEXT_TRIE_H

#include "text/strmap.h"

typedef struct heed_trie {
    heed_strmap edges;  /* key: u32 parent node, byte -> child node */
    int32_t *value;     /* per node: the id stored there, or -1 */
    int32_t n, cap;     /* node 0 is the root */
} heed_trie;

heed_status heed_trie_init(heed_trie *t, size_t n_hint);
void heed_trie_free(heed_trie *t);
/* Stores value (>= 0) at key, replacing what was there (last wins). */
heed_status heed_trie_insert(heed_trie *t, const char *key, size_t len, int32_t value);
/* The child of node by byte c, or -1. */
int32_t heed_trie_child(const heed_trie *t, int32_t node, unsigned char c);

#endif
