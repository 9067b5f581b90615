/*
 * attention_tiled.c — the attention operator as prompt processing and
 * generation run it (attention.h): online softmax over blocks of keys.
 *
 * One work item is a block of up to BQ query positions of one kv head,
 * with all the query heads that share it (grouped-query attention), so
 * each key and value row is read once for all of them — or of more
 * positions where few heads share a kv head (MHA: 16), so that a block of
 * keys, transposed once per item, serves ROWS rows. For every query
 * row it keeps the running maximum m, the running sum l of exp(s - m) and
 * the output o, rescaled when m grows; memory is a few rows, whatever the
 * context. A row's arithmetic does not depend on the other rows of its
 * block, so neither threads nor batching change a result.
 *
 * A sliding window starts the key blocks at the first row's window, and
 * each row's scores outside its own window get weight 0 (a window-w layer
 * costs O(n·w)); soft-capped scores are capped before the maximum.
 *
 * A cache of f16, bf16 or q8_0 rows is read a key block at a time into
 * floats (exactly), once for all the rows of the item.
 *
 * Sinks (gpt-oss): a head's learned logit joins each row's sum at the end
 * (m and l rescaled like a block's), adding to the denominator only.
 *
 * A relative position bias (T5) is added to a block's scores right after
 * q·k, before the maximum; without one the loop is as it was.
 *
 * Capture: a captured row's weights are exp(s - lse) with lse = m + ln l,
 * its scores recomputed from q and k — the weights the softmax gave,
 * without a second operator; a sink's share is exp(sink - lse).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "attn/attention.h"
#include "attn/capture.h"
#include "kernels/kernels.h"

enum { BQ = 4, ROWS = 16, BK = HEED_ATTN_BK };

/* Query positions per item: BQ, or enough for ROWS rows. */
static int block_q(const heed_attn *a)
{
    const int group = a->n_head / a->n_kv_head;
    return BQ * group >= ROWS ? BQ : (ROWS + group - 1) / group;
}

int64_t heed_attend_tiled_items(const heed_attn *a)
{
    const int bq = block_q(a);
    return (int64_t)((a->n_q + bq - 1) / bq) * a->n_kv_head;
}

int64_t heed_attend_tiled_scratch_floats(const heed_attn *a)
{
    const int64_t rows = (int64_t)block_q(a) * (a->n_head / a->n_kv_head);
    return rows * (BK + 2 * a->head_dim + 2) + (a->n_kv > 0 ? a->n_kv : 1) +
           3 * (int64_t)BK * a->head_dim + 16;
}

/* n rows of a cache from row j0 on as floats: the rows themselves for f32,
 * else converted into buf ([BK][d]); *stride is the result's in floats. */
static const float *kv_block(const heed_attn_rows *kr, heed_type type, const char *base,
                             int64_t row_bytes, int j0, int n, int d, float *buf, int64_t *stride)
{
    const char *at = base + j0 * row_bytes;
    const heed_kv_rows_fn rows = heed_attn_kv_rows(kr, type);
    if (!rows) {
        *stride = row_bytes / (int64_t)sizeof(float);
        return (const float *)at;
    }
    rows(at, row_bytes, n, d, buf);
    *stride = d;
    return buf;
}

/* Query row r of a block starting at query i0: query i0 + r / group of
 * head g * group + r % group. */
static const float *q_row(const heed_attn *a, int i0, int g, int group, int r)
{
    return a->q + (int64_t)(i0 + r / group) * a->q_stride +
           (int64_t)(g * group + r % group) * a->head_dim;
}

/* The weights of one finished row, exp(s - lse), to the capture and the
 * telemetry: its scores over keys [lo, hi) recomputed block by block by
 * the main loop's kernel from keys read as it read them, so they are its
 * scores. */
static void emit_row(const heed_attn *a, const heed_attn_rows *kr, const float *q, const char *k,
                     int head, int64_t pos, int lo, int hi, float lse, float *w, float *kbuf,
                     float *kt, double *received)
{
    for (int k0 = lo; k0 < hi; k0 += BK) {
        const int kn = hi - k0 < BK ? hi - k0 : BK;
        int64_t ks;
        const float *kb = kv_block(kr, a->k_type, k, a->k_row_bytes, k0, kn, a->head_dim, kbuf, &ks);
        kr->qk(q, 1, kb, ks, kn, a->head_dim, a->scale, w + k0 - lo, BK, kt);
        if (a->bias)
            heed_attn_add_bias(a, head, pos, a->k_pos0 + k0, w + k0 - lo, kn);
        for (int j = 0; a->softcap > 0 && j < kn; j++)
            w[k0 - lo + j] = heed_attn_cap(a, w[k0 - lo + j]);
    }
    kr->exp_sum(w, hi - lo, lse);
    if (a->capture) {
        heed_capture_store(a->capture, a->layer, head, pos, a->k_pos0 + lo, w, hi - lo);
        if (a->sinks)
            heed_capture_store_sink(a->capture, a->layer, head, pos, expf(a->sinks[head] - lse));
    }
    if (received)
        for (int j = lo; j < hi; j++)
            received[j] += w[j - lo];
}

void heed_attend_tiled(const heed_attn *a, int64_t begin, int64_t end, float *scratch,
                       double *received)
{
    const int group = a->n_head / a->n_kv_head, D = a->head_dim;
    const int bq = block_q(a), rows_max = bq * group;
    const heed_attn_rows *kr = heed_attn_rows_get();
    float *s = scratch;                   /* [rows][BK] scores, then exp      */
    float *o = s + rows_max * BK;         /* [rows][D]  unnormalised output   */
    float *m = o + rows_max * D;          /* [rows]     running maximum       */
    float *l = m + rows_max;              /* [rows]     running sum           */
    float *w = l + rows_max;              /* [n_kv]     a captured row        */
    float *qs = w + (a->n_kv > 0 ? a->n_kv : 1); /* [rows][D] the item's queries */
    float *kbuf = qs + rows_max * D;      /* [BK][D]    keys as floats        */
    float *vbuf = kbuf + BK * D;          /* [BK][D]    values                */
    float *kt = vbuf + BK * D;            /* [D][BK]    the qk kernel's own   */
    kt += (64 - (uintptr_t)kt % 64) % 64 / sizeof *kt; /* aligned to 64 bytes */
    for (int64_t item = begin; item < end; item++) {
        const int g = (int)(item % a->n_kv_head), i0 = (int)(item / a->n_kv_head) * bq;
        const int nq = a->n_q - i0 < bq ? a->n_q - i0 : bq, R = nq * group;
        const char *k = (const char *)a->k + g * a->k_head_bytes;
        const char *v = (const char *)a->v + g * a->v_head_bytes;
        /* the keys any row of the block sees: from the first row's window
         * start to the last row's position */
        const int k_first = heed_attn_first(a, i0), n_keys = heed_attn_visible(a, i0 + nq - 1);
        for (int r = 0; r < R; r++) {
            memcpy(qs + r * D, q_row(a, i0, g, group, r), sizeof *qs * (size_t)D);
            m[r] = -INFINITY;
            l[r] = 0.0f;
        }
        memset(o, 0, sizeof *o * (size_t)(R * D));
        for (int k0 = k_first; k0 < n_keys; k0 += BK) {
            const int kn = n_keys - k0 < BK ? n_keys - k0 : BK;
            int64_t ks, vs;
            const float *kb = kv_block(kr, a->k_type, k, a->k_row_bytes, k0, kn, D, kbuf, &ks);
            kr->qk(qs, R, kb, ks, kn, D, a->scale, s, BK, kt);
            for (int r = 0; a->bias && r < R; r++)
                heed_attn_add_bias(a, g * group + r % group, a->q_pos0 + i0 + r / group,
                                   a->k_pos0 + k0, s + r * BK, kn);
            for (int r = 0; r < R; r++) {
                float *sr = s + r * BK;
                /* the keys [lo, hi) of this block that row r sees */
                const int i = i0 + r / group;
                int lo = heed_attn_first(a, i) - k0, hi = heed_attn_visible(a, i) - k0;
                lo = lo < 0 ? 0 : lo < kn ? lo : kn;
                hi = hi < lo ? lo : hi < kn ? hi : kn;
                for (int j = lo; a->softcap > 0 && j < hi; j++)
                    sr[j] = heed_attn_cap(a, sr[j]);
                const float top = kr->max(sr + lo, hi - lo);
                if (top > m[r]) { /* rescale what was summed under the old maximum */
                    const float c = expf(m[r] - top);
                    l[r] *= c;
                    for (int d = 0; d < D; d++)
                        o[r * D + d] *= c;
                    m[r] = top;
                }
                if (hi > lo)
                    l[r] += kr->exp_sum(sr + lo, hi - lo, m[r]);
                /* hidden keys: weight 0 */
                memset(sr, 0, sizeof *sr * (size_t)lo);
                memset(sr + hi, 0, sizeof *sr * (size_t)(kn - hi));
            }
            /* each value row once for all rows */
            const float *vb = kv_block(kr, a->v_type, v, a->v_row_bytes, k0, kn, D, vbuf, &vs);
            kr->pv(o, D, s, BK, R, vb, vs, kn, D);
        }
        for (int r = 0; r < R; r++) {
            const int i = i0 + r / group, h = g * group + r % group;
            float *out = a->out + (int64_t)i * a->out_stride + (int64_t)h * D;
            if (a->sinks) { /* one more term of the sum, with no value */
                const float sink = a->sinks[h];
                if (sink > m[r]) {
                    const float c = expf(m[r] - sink);
                    l[r] *= c;
                    for (int d = 0; d < D; d++)
                        o[r * D + d] *= c;
                    m[r] = sink;
                }
                l[r] += expf(sink - m[r]);
            }
            const float inv = 1.0f / l[r];
            for (int d = 0; d < D; d++)
                out[d] = o[r * D + d] * inv;
            if (a->capture || received)
                emit_row(a, kr, qs + r * D, k, h, a->q_pos0 + i, heed_attn_first(a, i),
                         heed_attn_visible(a, i), m[r] + logf(l[r]), w, kbuf, kt, received);
        }
    }
}
