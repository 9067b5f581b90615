/*
 * capture.c — keeps the attention weights a context computes (heed.h
 * says what is kept). The attention operator hands every row it computes
 * to heed_capture_store, which keeps it if its layer, head and position
 * are selected: whole, in memory or in a mapped .npy file, or as its top
 * k keys. Rows are stored at fixed places, so threads never share one.
 */
#include <stdlib.h>
#include <string.h>

#include "attn/capture.h"
#include "model/model.h"
#include "util/error.h"
#include "util/npy.h"

struct heed_capture {
    int n_layer, n_head, n_tokens;
    int n_keys;                  /* keys of a row: n_tokens, or (cross) the
                                    encoded positions                         */
    heed_attn_kind kind;
    int *layer_slot, *head_slot; /* index among the kept ones, or -1          */
    int n_layers, n_heads;       /* how many are kept                         */
    int row_begin, n_rows;
    int top_k;
    float *weights;   /* [layer][head][row][top_k or n_keys], keys' weights   */
    int32_t *keys;    /* [layer][head][row][top_k] (top-k only)               */
    float *sink;      /* [layer][head][row] the share of the sink (gpt-oss)   */
    heed_npy_map file;
    double *received; /* [n_layer][n_keys]                                    */
    int n_used;       /* experts per token (mixture of experts), else 0       */
    int32_t *experts; /* [n_layer][n_tokens][n_used] routing, -1: not run     */
    float *gates;     /* [n_layer][n_tokens][n_used] their weights            */
};

heed_capture_params heed_capture_default_params(int n_tokens)
{
    return (heed_capture_params){.n_tokens = n_tokens, .max_bytes = (int64_t)1 << 30};
}

static int64_t row_count(const heed_model *m, const heed_capture_params *p)
{
    const int rows = (p->row_end ? p->row_end : p->n_tokens) - p->row_begin;
    return (int64_t)(p->layers ? p->n_layers : m->hp.n_layer) *
           (p->heads ? p->n_heads : m->hp.n_head) * rows;
}

int64_t heed_capture_bytes(const heed_model *m, const heed_capture_params *p)
{
    const int64_t per_row = p->top_k ? (int64_t)p->top_k * (int64_t)(sizeof(float) + sizeof(int32_t))
                                     : (int64_t)sizeof(float) * (p->n_keys ? p->n_keys : p->n_tokens);
    return row_count(m, p) * per_row;
}

/* slot[i] = index of i in list (all of 0..n-1 when list is NULL), else -1;
 * returns how many are kept, or -1 after failing on a bad entry. */
static int make_slots(int *slot, int n, const int *list, int count, const char *what)
{
    for (int i = 0; i < n; i++)
        slot[i] = list ? -1 : i;
    if (!list)
        return n;
    if (count < 0)
        return heed_fail(HEED_ERR_ARG, "capture: a list of %d %ss", count, what), -1;
    for (int i = 0; i < count; i++) {
        if (list[i] < 0 || list[i] >= n)
            return heed_fail(HEED_ERR_ARG, "capture: %s %d does not exist (the model has %d)",
                             what, list[i], n), -1;
        if (slot[list[i]] >= 0)
            return heed_fail(HEED_ERR_ARG, "capture: %s %d is listed twice", what, list[i]),
                   -1;
        slot[list[i]] = i;
    }
    return count;
}

static const char *const kind_names[] = {"self", "encoder", "cross"};

static heed_status check_params(const heed_model *m, const heed_capture_params *p)
{
    const int end = p->row_end ? p->row_end : p->n_tokens;
    if ((unsigned)p->kind > HEED_ATTN_CROSS)
        return heed_fail(HEED_ERR_ARG, "capture: unknown attention kind %d", (int)p->kind);
    if (p->kind != HEED_ATTN_SELF && !m->enc_layers)
        return heed_fail(HEED_ERR_ARG, "capture: '%s' is not an encoder-decoder, so it has "
                         "no %s attention", m->arch->name, kind_names[p->kind]);
    if (p->n_tokens < 1)
        return heed_fail(HEED_ERR_ARG, "capture of %d tokens", p->n_tokens);
    if (p->n_keys < 0 || (p->n_keys && p->n_keys != p->n_tokens && p->kind != HEED_ATTN_CROSS))
        return heed_fail(HEED_ERR_ARG, "capture: %d keys a row (a %s capture's keys are its "
                         "%d tokens; only cross-attention reads other positions)", p->n_keys,
                         kind_names[p->kind], p->n_tokens);
    if (p->row_begin < 0 || end <= p->row_begin || end > p->n_tokens)
        return heed_fail(HEED_ERR_ARG, "capture: query rows %d..%d are not within the %d "
                         "tokens", p->row_begin, end - 1, p->n_tokens);
    if (p->top_k < 0)
        return heed_fail(HEED_ERR_ARG, "capture: top-k of %d", p->top_k);
    if (p->top_k && p->npy_path)
        return heed_fail(HEED_ERR_ARG, "capture: a .npy file holds whole rows, not top-k");
    return HEED_OK;
}

heed_status heed_capture_new(const heed_model *m, const heed_capture_params *p,
                             heed_capture **out)
{
    *out = NULL;
    heed_status st = check_params(m, p);
    if (st)
        return st;
    heed_capture *c = calloc(1, sizeof *c);
    if (!c)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    c->n_layer = m->hp.n_layer;
    c->n_head = m->hp.n_head;
    c->n_tokens = p->n_tokens;
    c->n_keys = p->n_keys ? p->n_keys : p->n_tokens;
    c->kind = p->kind;
    c->row_begin = p->row_begin;
    c->n_rows = (p->row_end ? p->row_end : p->n_tokens) - p->row_begin;
    c->top_k = p->top_k;
    c->layer_slot = malloc(sizeof(int) * (size_t)c->n_layer);
    c->head_slot = malloc(sizeof(int) * (size_t)c->n_head);
    c->received = calloc((size_t)c->n_layer * (size_t)c->n_keys, sizeof(double));
    c->n_used = m->hp.n_expert_used;
    const size_t routes = (size_t)c->n_layer * (size_t)c->n_tokens * (size_t)c->n_used;
    if (routes) {
        c->experts = malloc(sizeof(int32_t) * routes);
        c->gates = calloc(routes, sizeof(float));
        if (c->experts)
            memset(c->experts, 0xff, sizeof(int32_t) * routes); /* -1: not run */
    }
    if (!c->layer_slot || !c->head_slot || !c->received ||
        (routes && (!c->experts || !c->gates))) {
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((c->n_layers = make_slots(c->layer_slot, c->n_layer, p->layers, p->n_layers,
                                  "layer")) < 0 ||
        (c->n_heads = make_slots(c->head_slot, c->n_head, p->heads, p->n_heads, "head")) < 0) {
        st = HEED_ERR_ARG;
        goto fail;
    }
    const int64_t bytes = heed_capture_bytes(m, p), rows = row_count(m, p);
    if (!(c->sink = calloc((size_t)rows + 1, sizeof(float)))) {
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (p->npy_path) {
        const int64_t shape[4] = {c->n_layers, c->n_heads, c->n_rows, c->n_keys};
        if ((st = heed_npy_map_create(p->npy_path, shape, 4, &c->file)))
            goto fail;
        c->weights = c->file.data;
        *out = c;
        return HEED_OK;
    }
    if (bytes > p->max_bytes) {
        st = heed_fail(HEED_ERR_ARG, "capturing %d layers x %d heads x %d rows of %d keys "
                       "needs %.1f MiB, above the limit of %.1f MiB (raise the limit, choose "
                       "fewer layers, heads or rows, keep the top-k keys of each row, or "
                       "write the rows to a file)", c->n_layers, c->n_heads, c->n_rows,
                       c->n_keys, (double)bytes / 1048576.0,
                       (double)p->max_bytes / 1048576.0);
        goto fail;
    }
    const int64_t per_row = c->top_k ? c->top_k : c->n_keys;
    c->weights = calloc((size_t)(rows * per_row) + 1, sizeof(float)); /* + 1: never 0 */
    if (c->top_k && c->weights) {
        c->keys = malloc(sizeof(int32_t) * (size_t)(rows * per_row));
        if (c->keys)
            memset(c->keys, 0xff, sizeof(int32_t) * (size_t)(rows * per_row)); /* -1: none */
    }
    if (!c->weights || (c->top_k && !c->keys)) {
        st = heed_fail(HEED_ERR_NOMEM, "out of memory for a %.1f MiB capture",
                       (double)bytes / 1048576.0);
        goto fail;
    }
    *out = c;
    return HEED_OK;
fail:
    heed_capture_free(c);
    return st;
}

void heed_capture_free(heed_capture *c)
{
    if (!c)
        return;
    if (c->file.base)
        heed_npy_map_close(&c->file);
    else
        free(c->weights);
    free(c->keys);
    free(c->sink);
    free(c->layer_slot);
    free(c->head_slot);
    free(c->received);
    free(c->experts);
    free(c->gates);
    free(c);
}

int heed_capture_n_tokens(const heed_capture *c) { return c->n_tokens; }
int heed_capture_n_keys(const heed_capture *c) { return c->n_keys; }
heed_attn_kind heed_capture_kind(const heed_capture *c) { return c->kind; }

/* The index of a kept row among all kept rows, or -1. */
static int64_t row_index(const heed_capture *c, int layer, int head, int64_t query)
{
    if (layer < 0 || layer >= c->n_layer || head < 0 || head >= c->n_head ||
        query < c->row_begin || query >= c->row_begin + c->n_rows)
        return -1;
    const int ls = c->layer_slot[layer], hs = c->head_slot[head];
    if (ls < 0 || hs < 0)
        return -1;
    return ((int64_t)ls * c->n_heads + hs) * c->n_rows + (query - c->row_begin);
}

bool heed_capture_has(const heed_capture *c, int layer, int head, int query)
{
    return row_index(c, layer, head, query) >= 0;
}

const float *heed_capture_row(const heed_capture *c, int layer, int head, int query)
{
    const int64_t r = row_index(c, layer, head, query);
    return r < 0 || c->top_k ? NULL : c->weights + r * c->n_keys;
}

int heed_capture_top(const heed_capture *c, int layer, int head, int query,
                     const int32_t **keys, const float **weights)
{
    const int64_t r = row_index(c, layer, head, query);
    if (r < 0 || !c->top_k)
        return -1;
    *keys = c->keys + r * c->top_k;
    *weights = c->weights + r * c->top_k;
    int n = 0;
    while (n < c->top_k && (*keys)[n] >= 0)
        n++;
    return n;
}

const double *heed_capture_received(const heed_capture *c, int layer)
{
    return layer < 0 || layer >= c->n_layer ? NULL : c->received + (int64_t)layer * c->n_keys;
}

float heed_capture_sink(const heed_capture *c, int layer, int head, int query)
{
    const int64_t r = row_index(c, layer, head, query);
    return r < 0 ? 0.0f : c->sink[r];
}

void heed_capture_store_sink(heed_capture *c, int layer, int head, int64_t pos, float share)
{
    const int64_t r = row_index(c, layer, head, pos);
    if (r >= 0)
        c->sink[r] = share;
}

int heed_capture_experts(const heed_capture *c, int layer, int query, const int32_t **experts,
                         const float **weights)
{
    if (!c->n_used || layer < 0 || layer >= c->n_layer || query < 0 || query >= c->n_tokens)
        return 0;
    const int64_t at = ((int64_t)layer * c->n_tokens + query) * c->n_used;
    if (c->experts[at] < 0)
        return 0;
    *experts = c->experts + at;
    *weights = c->gates + at;
    return c->n_used;
}

void heed_capture_store_route(heed_capture *c, int layer, int64_t pos, const int32_t *experts,
                              const float *weights)
{
    if (pos < 0 || pos >= c->n_tokens || !c->n_used)
        return;
    const int64_t at = ((int64_t)layer * c->n_tokens + pos) * c->n_used;
    memcpy(c->experts + at, experts, sizeof(int32_t) * (size_t)c->n_used);
    memcpy(c->gates + at, weights, sizeof(float) * (size_t)c->n_used);
}

/* The k largest of w[0..n) (keys key0 + j) into keys/weights, largest
 * first, ties by the lower key; unused entries stay key -1, weight 0. */
static void keep_top(const float *w, int64_t key0, int n, int k, int32_t *keys, float *weights)
{
    const int kept = heed_top_k(w, n, k, keys);
    for (int i = 0; i < kept; i++) {
        weights[i] = w[keys[i]];
        keys[i] += (int32_t)key0;
    }
    for (int i = kept; i < k; i++) {
        keys[i] = -1;
        weights[i] = 0;
    }
}

void heed_capture_store(heed_capture *c, int layer, int head, int64_t pos, int64_t key0,
                        const float *w, int n)
{
    const int64_t r = row_index(c, layer, head, pos);
    if (r < 0)
        return;
    key0 = key0 < 0 ? 0 : key0 < c->n_keys ? key0 : c->n_keys;
    if (n > c->n_keys - key0)
        n = (int)(c->n_keys - key0);
    if (c->top_k) {
        keep_top(w, key0, n, c->top_k, c->keys + r * c->top_k, c->weights + r * c->top_k);
        return;
    }
    float *row = c->weights + r * c->n_keys;
    memset(row, 0, sizeof *row * (size_t)key0);
    memcpy(row + key0, w, sizeof *row * (size_t)n);
    memset(row + key0 + n, 0, sizeof *row * (size_t)(c->n_keys - key0 - n));
}

void heed_capture_add_received(heed_capture *c, int layer, int64_t key0, const double *sums,
                               int n)
{
    double *to = c->received + (int64_t)layer * c->n_keys;
    for (int j = 0; j < n && key0 + j < c->n_keys; j++)
        to[key0 + j] += sums[j];
}
