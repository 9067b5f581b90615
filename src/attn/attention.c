/* attention.c — the materialised attention operator (see attention.h). */
#include "attn/attention.h"
#include "attn/capture.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops.h"

int64_t heed_attend_scratch_floats(const heed_attn *a)
{
    return a->n_kv + 1 + a->head_dim;
}

/* Row j of kv head g of a cache as floats: the row itself for f32, else
 * converted into buf by the type's own dequantizer (the reference). */
static const float *kv_row(const void *base, heed_type type, int64_t head_bytes,
                           int64_t row_bytes, int g, int j, int d, float *buf)
{
    const char *row = (const char *)base + g * head_bytes + j * row_bytes;
    if (type == HEED_TYPE_F32)
        return (const float *)row;
    heed_type_get(type)->to_float(row, buf, d);
    return buf;
}

int64_t heed_attend_items(const heed_attn *a) { return (int64_t)a->n_q * a->n_head; }

void heed_attend(const heed_attn *a, int64_t begin, int64_t end, float *scores,
                 double *received)
{
    const int group = a->n_head / a->n_kv_head;
    for (int64_t item = begin; item < end; item++) {
        const int i = (int)(item / a->n_head), h = (int)(item % a->n_head);
        const int lo = heed_attn_first(a, i), hi = heed_attn_visible(a, i), n = hi - lo;
        const float *q = a->q + (int64_t)i * a->q_stride + (int64_t)h * a->head_dim;
        float *row = scores + a->n_kv + 1;
        float *out = a->out + (int64_t)i * a->out_stride + (int64_t)h * a->head_dim;
        /* scores[j - lo] = cap(scale · q·k_j) over the visible keys */
        for (int j = lo; j < hi; j++)
            scores[j - lo] = heed_attn_cap(
                a, a->scale * heed_dot_f32(q, kv_row(a->k, a->k_type, a->k_head_bytes,
                                                     a->k_row_bytes, h / group, j,
                                                     a->head_dim, row),
                                           a->head_dim));
        if (a->bias)
            heed_attn_add_bias(a, h, a->q_pos0 + i, a->k_pos0 + lo, scores, n);
        /* the sink as one more score, without a value */
        if (a->sinks)
            scores[n] = a->sinks[h];
        heed_softmax(scores, n + (a->sinks != NULL));
        if (a->capture) {
            heed_capture_store(a->capture, a->layer, h, a->q_pos0 + i, a->k_pos0 + lo, scores,
                               n);
            if (a->sinks)
                heed_capture_store_sink(a->capture, a->layer, h, a->q_pos0 + i, scores[n]);
        }
        if (received)
            for (int j = 0; j < n; j++)
                received[lo + j] += scores[j];
        memset(out, 0, sizeof *out * (size_t)a->head_dim);
        for (int j = lo; j < hi; j++) {
            const float *v = kv_row(a->v, a->v_type, a->v_head_bytes, a->v_row_bytes, h / group,
                                    j, a->head_dim, row);
            const float w = scores[j - lo];
            for (int d = 0; d < a->head_dim; d++)
                out[d] += w * v[d];
        }
    }
}
