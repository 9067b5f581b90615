/*
 * head_stats.c — what one attention head does, measured on its captured
 * rows (heed_capture_head_stats; a cross-attention head's alignment,
 * heed_capture_cross_stats; heed.h): the scores `heed heads` ranks heads by
 * and `heed attend --json` exports, in the library so that every client
 * (the CLI, the server, bindings) computes them the same way.
 */
#include <math.h>
#include <stdlib.h>

#include "util/error.h"

heed_status heed_capture_head_stats(const heed_capture *cap, int layer, int head,
                                    const int32_t *ids, int n, heed_head_stats *out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "heed_capture_head_stats: out is NULL");
    *out = (heed_head_stats){0};
    if (!cap || (!ids && n > 0) || n < 0 || n > heed_capture_n_tokens(cap))
        return heed_fail(HEED_ERR_ARG, "heed_capture_head_stats: want a capture and 0 to %d "
                         "ids, not %d", cap ? heed_capture_n_tokens(cap) : 0, n);
    heed_head_stats s = {0};
    float *w = malloc(sizeof *w * (size_t)(heed_capture_n_keys(cap) + 1));
    if (!w)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for a row of %d weights",
                         heed_capture_n_keys(cap));
    int rows = 0, repeats = 0;
    for (int q = 1; q < n; q++) {
        if (!heed_capture_dense_row(cap, layer, head, q, w))
            continue;
        for (int k = 0; k < n; k++)
            if (w[k] > 0)
                s.entropy -= w[k] * log(w[k]);
        s.prev_token += w[q - 1];
        s.sink += w[0];
        s.self += w[q];
        rows++;
        double copied = 0; /* weight on what followed earlier occurrences */
        bool repeated = false;
        for (int j = 0; j + 1 < q; j++)
            if (ids[j] == ids[q]) {
                copied += w[j + 1];
                repeated = true;
            }
        s.induction += copied;
        repeats += repeated;
    }
    free(w);
    if (rows) {
        s.entropy /= rows;
        s.prev_token /= rows;
        s.sink /= rows;
        s.self /= rows;
    }
    if (repeats)
        s.induction /= repeats;
    *out = s;
    return HEED_OK;
}

heed_status heed_capture_cross_stats(const heed_capture *cap, int layer, int head, int n,
                                     heed_cross_stats *out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "heed_capture_cross_stats: out is NULL");
    *out = (heed_cross_stats){0};
    if (!cap || heed_capture_kind(cap) != HEED_ATTN_CROSS)
        return heed_fail(HEED_ERR_ARG, "heed_capture_cross_stats: want a cross-attention "
                         "capture");
    if (n < 1 || n > heed_capture_n_tokens(cap))
        return heed_fail(HEED_ERR_ARG, "heed_capture_cross_stats: %d target rows (the "
                         "capture has %d)", n, heed_capture_n_tokens(cap));
    const int keys = heed_capture_n_keys(cap);
    float *w = malloc(sizeof *w * (size_t)keys);
    if (!w)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for a row of %d weights", keys);
    int rows = 0, pairs = 0, forward = 0, prev = -1; /* prev: the last row's argmax */
    for (int t = 0; t < n; t++) {
        if (!heed_capture_dense_row(cap, layer, head, t, w)) {
            prev = -1; /* a pair needs both rows */
            continue;
        }
        int best = 0;
        for (int k = 0; k < keys; k++) {
            if (w[k] > 0)
                out->entropy -= w[k] * log(w[k]);
            if (w[k] > w[best])
                best = k;
        }
        if (prev >= 0) {
            pairs++;
            forward += best >= prev;
        }
        prev = best;
        rows++;
    }
    free(w);
    if (rows)
        out->entropy /= rows;
    if (pairs)
        out->monotonicity = (double)forward / pairs;
    return HEED_OK;
}
