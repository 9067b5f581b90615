/* head_stats.h — what one attention head does, measured on captured rows. */
#ifndef HEED_TOOLS_HEAD_STATS_H
#define HEED_TOOLS_HEAD_STATS_H

#include "heed.h"

/*
 * Over the kept query rows q >= 1 of (layer, head):
 *   entropy     mean of -Σ w ln w (nats): low = focused
 *   prev_token  mean weight on the previous token
 *   sink        mean weight on the first token
 *   self        mean weight on the query's own position
 *   induction   over queries whose token occurred before: the mean weight
 *               on the tokens that followed its earlier occurrences (0 when
 *               no token repeats)
 */
typedef struct head_stats {
    double entropy, prev_token, sink, self, induction;
} head_stats;

/* ids are the n tokens the capture saw. */
head_stats head_stats_measure(const heed_capture *cap, int layer, int head, const int32_t *ids,
                              int n);

/* The dense row of (layer, head, query) into out[0..n_tokens), whether the
 * capture keeps it whole or as its top k keys (others 0); false when the
 * row is not kept. */
bool capture_dense_row(const heed_capture *cap, int layer, int head, int query, float *out);

#endif
