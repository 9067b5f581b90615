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
            const int after = n - (j + ng);
            const int k = after < max_draft ? after : max_draft;
            memcpy(draft, hist + j + ng, sizeof *draft * (size_t)k);
            return k;
        }
    }
    return 0;
}
