/*
 * token_trie.h — a vocabulary's token texts as a trie laid out in
 * preorder, for walking every token at once: the node after node i is its
 * first child if it has one, and node end - 1 is the last of its subtree,
 * so a walk skips a whole subtree by jumping to end.
 */
#ifndef HEED_TEXT_TOKEN_TRIE_H
#define HEED_TEXT_TOKEN_TRIE_H

#include <stdint.h>

#include "heed.h"

typedef struct token_trie_node {
    int32_t end;     /* one past the last node of this subtree           */
    int32_t tok;     /* ids[tok .. tok + n_tok): the tokens spelled by the
                        path to this node                                */
    uint16_t n_tok;
    uint16_t depth;  /* 1 for the root's children; the root is not stored */
    uint8_t byte;    /* the byte on the edge into this node              */
} token_trie_node;

typedef struct token_trie {
    token_trie_node *nodes;
    int32_t n;
    int32_t *ids;    /* token ids in the trie's order                    */
    int max_depth;   /* the longest token text                           */
} token_trie;

/* The trie of v's token texts as heed_token_to_piece gives them (special
 * = false), empty ones (control tokens) and any over 65535 bytes left
 * out. Built on first use and kept by v (freed with it): the first
 * caller pays for it, any thread. */
heed_status token_trie_of(const heed_vocab *v, const token_trie **out);
void token_trie_free(token_trie *t);

#endif
