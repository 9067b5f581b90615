/*
 * merge_queue.h — what SentencePiece BPE (spm.c) and byte-level BPE
 * (bpe.c) share: a word held as a linked list of symbols, and a min-heap of
 * candidate merges of adjacent symbols. The two differ only in a merge's
 * priority: BPE pops the lowest merge rank, SPM the highest token score
 * (pushed as its negative). Ties go to the leftmost pair, as in llama.cpp.
 */
#ifndef HEED_TEXT_MERGE_QUEUE_H
#define HEED_TEXT_MERGE_QUEUE_H

#include <stddef.h>

/* One symbol: bytes [start, start + n) of the word; prev/next link the
 * live symbols (-1 at the ends); n == 0 once merged away. */
typedef struct heed_sym {
    size_t start, n;
    int prev, next;
} heed_sym;

/* A candidate merge of symbols left and right, whose sizes summed to size
 * when it was pushed (a popped merge whose symbols changed since is stale). */
typedef struct heed_bigram {
    int left, right;
    double priority; /* lower pops first */
    size_t size;
} heed_bigram;

typedef struct heed_merge_queue {
    heed_bigram *v;
    size_t n, cap;
} heed_merge_queue;

/* Returns -1 when out of memory, else 0. */
int heed_merge_queue_push(heed_merge_queue *q, heed_bigram b);
/* Removes and returns the first merge; q must not be empty. */
heed_bigram heed_merge_queue_pop(heed_merge_queue *q);

#endif
