/* attention.c — the materialised attention operator (see attention.h). */
#include "attn/attention.h"
#include "attn/capture.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops.h"

int64_t heed_attend_scratch_floats(const heed_attn *a) { return a->n_kv > 0 ? a->n_kv : 1; }

int64_t heed_attend_items(const heed_attn *a) { return (int64_t)a->n_q * a->n_head; }

void heed_attend(const heed_attn *a, int64_t begin, int64_t end, float *scores,
                 double *received)
{
    const int group = a->n_head / a->n_kv_head;
    for (int64_t item = begin; item < end; item++) {
        const int i = (int)(item / a->n_head), h = (int)(item % a->n_head);
        const int n = heed_attn_visible(a, i);
        const float *q = a->q + (int64_t)i * a->q_stride + (int64_t)h * a->head_dim;
        const int64_t kv_off = (int64_t)(h / group) * a->kv_head_stride;
        float *out = a->out + (int64_t)i * a->out_stride + (int64_t)h * a->head_dim;
        /* scores = scale · q·k over the visible keys; masked keys get 0 */
        for (int j = 0; j < n; j++)
            scores[j] = a->scale * heed_dot_f32(q, a->k + (int64_t)j * a->kv_stride + kv_off,
                                                a->head_dim);
        heed_softmax(scores, n);
        if (a->capture)
            heed_capture_store(a->capture, a->layer, h, a->q_pos0 + i, scores, n);
        if (received)
            for (int j = 0; j < n; j++)
                received[j] += scores[j];
        memset(out, 0, sizeof *out * (size_t)a->head_dim);
        for (int j = 0; j < n; j++) {
            const float *v = a->v + (int64_t)j * a->kv_stride + kv_off;
            const float w = scores[j];
            for (int d = 0; d < a->head_dim; d++)
                out[d] += w * v[d];
        }
    }
}
