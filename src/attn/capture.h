/* capture.h — how the forward pass feeds a heed_capture (see heed.h). */
#ifndef HEED_ATTN_CAPTURE_H
#define HEED_ATTN_CAPTURE_H

#include "heed.h"

/* Keeps w[0..n), the weights query position pos of (layer, head) gave the
 * keys at positions key0 .. key0 + n - 1 (every other key: 0), if that row
 * is selected. Threads may store distinct rows at once. */
void heed_capture_store(heed_capture *c, int layer, int head, int64_t pos, int64_t key0,
                        const float *w, int n);
/* Adds sums[0..n), the weight each key from position key0 on received in
 * one evaluation of layer, to the layer's telemetry. */
void heed_capture_add_received(heed_capture *c, int layer, int64_t key0, const double *sums,
                               int n);

/* Keeps the share of the sink (attention.h) in the row of query position
 * pos of (layer, head), if that row is selected. */
void heed_capture_store_sink(heed_capture *c, int layer, int head, int64_t pos, float share);
/* Keeps the routing of the token at position pos in layer: the n_used
 * experts it was sent to and their weights (a mixture of experts). */
void heed_capture_store_route(heed_capture *c, int layer, int64_t pos, const int32_t *experts,
                              const float *weights);

#endif
