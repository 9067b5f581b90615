/* head_stats.c — per-head behaviour scores (see head_stats.h). */
#include "head_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool capture_dense_row(const heed_capture *cap, int layer, int head, int query, float *out)
{
    const int n = heed_capture_n_tokens(cap);
    const float *row = heed_capture_row(cap, layer, head, query);
    if (row) {
        memcpy(out, row, sizeof *out * (size_t)n);
        return true;
    }
    const int32_t *keys;
    const float *w;
    const int count = heed_capture_top(cap, layer, head, query, &keys, &w);
    if (count < 0)
        return false;
    memset(out, 0, sizeof *out * (size_t)n);
    for (int i = 0; i < count; i++)
        out[keys[i]] = w[i];
    return true;
}

head_stats head_stats_measure(const heed_capture *cap, int layer, int head, const int32_t *ids,
                              int n)
{
    head_stats s = {0};
    float *w = malloc(sizeof *w * (size_t)heed_capture_n_tokens(cap));
    int rows = 0, repeats = 0;
    for (int q = 1; w && q < n; q++) {
        if (!capture_dense_row(cap, layer, head, q, w))
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
    return s;
}
