/*
 * dense_row.c — a captured row as n_keys weights, however the capture
 * keeps it (heed_capture_dense_row, heed.h): what the inspection readers
 * and the CLI's views read, so that none of them cares about top-k.
 */
#include <string.h>

#include "heed.h"

bool heed_capture_dense_row(const heed_capture *cap, int layer, int head, int query, float *out)
{
    if (!cap || !out)
        return false;
    const int n = heed_capture_n_keys(cap);
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
