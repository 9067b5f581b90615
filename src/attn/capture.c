/*
 * capture.c — keeps the attention weights a context computes: for every
 * layer, head and query position below its size, the post-softmax row over
 * the keys. The attention operator writes the rows as it computes them
 * (attention.c), so capturing changes no logit.
 *
 * Layout: weights[layer][head][query][key], n_tokens × n_tokens per head;
 * a query's row sums to 1 over the keys it may see, the rest are 0.
 */
#include <stdlib.h>

#include "model/model.h"
#include "util/error.h"

struct heed_capture {
    int n_layer, n_head, n_tokens;
    float *weights;
};

int64_t heed_capture_bytes(const heed_model *m, int n_tokens)
{
    return (int64_t)sizeof(float) * m->hp.n_layer * m->hp.n_head * (int64_t)n_tokens * n_tokens;
}

heed_status heed_capture_new(const heed_model *m, int n_tokens, int64_t max_bytes,
                             heed_capture **out)
{
    *out = NULL;
    if (n_tokens < 1)
        return heed_fail(HEED_ERR_ARG, "capture of %d tokens", n_tokens);
    const int64_t bytes = heed_capture_bytes(m, n_tokens);
    if (bytes > max_bytes)
        return heed_fail(HEED_ERR_ARG, "capturing %d layers x %d heads x %d x %d tokens needs "
                         "%.1f MiB, above the limit of %.1f MiB (raise the limit, or capture "
                         "fewer tokens)", m->hp.n_layer, m->hp.n_head, n_tokens, n_tokens,
                         (double)bytes / 1048576.0, (double)max_bytes / 1048576.0);
    heed_capture *c = calloc(1, sizeof *c);
    if (c)
        c->weights = calloc((size_t)(bytes / (int64_t)sizeof(float)), sizeof(float));
    if (!c || !c->weights) {
        free(c);
        return heed_fail(HEED_ERR_NOMEM, "out of memory for a %.1f MiB capture",
                         (double)bytes / 1048576.0);
    }
    c->n_layer = m->hp.n_layer;
    c->n_head = m->hp.n_head;
    c->n_tokens = n_tokens;
    *out = c;
    return HEED_OK;
}

void heed_capture_free(heed_capture *c)
{
    if (c) {
        free(c->weights);
        free(c);
    }
}

int heed_capture_n_tokens(const heed_capture *c) { return c->n_tokens; }

const float *heed_capture_row(const heed_capture *c, int layer, int head, int query)
{
    if (layer < 0 || layer >= c->n_layer || head < 0 || head >= c->n_head || query < 0 ||
        query >= c->n_tokens)
        return NULL;
    return c->weights +
           (((int64_t)layer * c->n_head + head) * c->n_tokens + query) * c->n_tokens;
}

float *heed_capture_layer(heed_capture *c, int layer)
{
    return c->weights + (int64_t)layer * c->n_head * c->n_tokens * c->n_tokens;
}

heed_status heed_capture_prompt(const heed_model *m, const int32_t *ids, int n,
                                int64_t max_bytes, heed_capture **out)
{
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n;
    heed_context *c = NULL;
    float *embedding = NULL;
    heed_status st = heed_capture_new(m, n, max_bytes, out);
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st) {
        heed_context_set_capture(c, *out);
        if (!heed_model_is_encoder(m))
            st = heed_context_eval(c, ids, n, NULL, false);
        else if (!(embedding = malloc(sizeof *embedding * (size_t)m->hp.n_embd)))
            st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        else
            st = heed_context_embed(c, ids, n, HEED_POOLING_CLS, embedding);
    }
    free(embedding);
    heed_context_free(c);
    if (st) {
        heed_capture_free(*out);
        *out = NULL;
    }
    return st;
}
