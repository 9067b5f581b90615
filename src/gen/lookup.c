/*
 * lookup.c — prompt-lookup (n-gram) drafts: when the text being written
 * repeats text already in the context (a rewrite, a quotation, code being
 * edited), the tokens that followed the last earlier occurrence of the
 * context's final n-gram are a good guess at what comes next. The caller
 * evaluates the guess in one batch and keeps what the sampler confirms,
 * so the output is the one plain decoding gives.
 */
#include <string.h>

#include "heed.h"

int heed_lookup_draft(const int32_t *hist, int n, int n_min, int n_max, int32_t *draft,
                      int max_draft)
{
    if (!hist || !draft || n <= 0 || max_draft <= 0 || n_min < 1 || n_max < n_min)
        return 0;
    for (int ng = n_max < n - 1 ? n_max : n - 1; ng >= n_min; ng--) {
        const int32_t *tail = hist + n - ng;
        /* the latest earlier occurrence with at least one token after it */
        for (int j = n - ng - 1; j >= 0; j--) {
            if (memcmp(hist + j, tail, sizeof *tail * (size_t)ng) != 0)
                continue;
            /* past the context's end the copy reads itself: a stretch that
             * repeats with period n - (j + ng) goes on repeating (a run of
             * one token drafts max_draft of it, not one) */
            for (int i = 0; i < max_draft; i++) {
                const int src = j + ng + i;
                draft[i] = src < n ? hist[src] : draft[src - n];
            }
            return max_draft;
        }
    }
    return 0;
}
