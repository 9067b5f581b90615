/*
 * edits.c — interventions declared up front: a head's output zeroed or
 * set to its mean (ablation), a row or a head's slice of any hook point
 * set to given values (patching). A context applies them at its hook
 * points in every evaluation, before any activation hook sees the rows.
 * Edits are kept per (point, layer), so a hook point with none costs one
 * bit test.
 */
#include <stdlib.h>
#include <string.h>

#include "model/context.h"
#include "model/edits.h"
#include "util/error.h"

/* Floats per row at point, and per head where the row is made of heads. */
static int point_width(const heed_model *m, heed_hook_point point, int *head_width)
{
    const heed_hparams *hp = &m->hp;
    *head_width = hp->head_dim;
    switch (point) {
    case HEED_HOOK_Q:
    case HEED_HOOK_Z: return hp->n_head * hp->head_dim;
    case HEED_HOOK_K:
    case HEED_HOOK_V: return hp->n_kv_head * hp->head_dim;
    default: *head_width = 0; return (int)hp->n_embd;
    }
}

heed_status heed_edits_new(const heed_model *m, heed_edits **out)
{
    *out = NULL;
    heed_edits *e = calloc(1, sizeof *e);
    if (!e || !(e->lists = calloc((size_t)HEED_HOOK_COUNT * (size_t)(m->hp.n_layer + 1),
                                  sizeof *e->lists))) {
        free(e);
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    }
    e->m = m;
    *out = e;
    return HEED_OK;
}

void heed_edits_clear(heed_edits *e)
{
    if (!e)
        return;
    for (int i = 0; i < HEED_HOOK_COUNT * (e->m->hp.n_layer + 1); i++)
        e->lists[i].n = 0;
    for (int i = 0; i < e->n_values; i++)
        free(e->values[i]);
    e->n_values = 0;
    e->points = 0;
}

void heed_edits_free(heed_edits *e)
{
    if (!e)
        return;
    heed_edits_clear(e);
    for (int i = 0; i < HEED_HOOK_COUNT * (e->m->hp.n_layer + 1); i++)
        free(e->lists[i].items);
    free(e->lists);
    free(e->values);
    free(e);
}

/* A copy of count floats that e owns (NULL in, NULL out). */
static heed_status keep_values(heed_edits *e, const float *values, int count, const float **out)
{
    *out = NULL;
    if (!values)
        return HEED_OK;
    if (e->n_values == e->cap_values) {
        const int cap = e->cap_values ? 2 * e->cap_values : 16;
        float **grown = realloc(e->values, sizeof *grown * (size_t)cap);
        if (!grown)
            return heed_fail(HEED_ERR_NOMEM, "out of memory");
        e->values = grown;
        e->cap_values = cap;
    }
    float *copy = malloc(sizeof *copy * (size_t)count);
    if (!copy)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    memcpy(copy, values, sizeof *copy * (size_t)count);
    e->values[e->n_values++] = copy;
    *out = copy;
    return HEED_OK;
}

static heed_status add_edit(heed_edits *e, heed_hook_point point, int layer, heed_edit edit,
                            const float *values)
{
    heed_status st = keep_values(e, values, edit.count, &edit.values);
    if (st)
        return st;
    edit_list *l = &e->lists[point * (e->m->hp.n_layer + 1) + layer];
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 8;
        heed_edit *grown = realloc(l->items, sizeof *grown * (size_t)cap);
        if (!grown)
            return heed_fail(HEED_ERR_NOMEM, "out of memory");
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = edit;
    e->points |= 1u << point;
    return HEED_OK;
}

heed_status heed_edits_patch(heed_edits *e, heed_hook_point point, int layer, int pos, int head,
                             const float *values)
{
    if (!e || (unsigned)point >= HEED_HOOK_COUNT)
        return heed_fail(HEED_ERR_ARG, "no such hook point: %d", (int)point);
    const int n_layer = e->m->hp.n_layer;
    const int last = point == HEED_HOOK_LN_FINAL ? n_layer : n_layer - 1;
    const int first = point == HEED_HOOK_LN_FINAL ? n_layer : 0;
    if (layer < first || layer > last)
        return heed_fail(HEED_ERR_ARG, "layer %d is out of range (%d..%d at this point)", layer,
                         first, last);
    int head_width;
    const int width = point_width(e->m, point, &head_width);
    heed_edit edit = {.pos = pos < 0 ? -1 : pos, .offset = 0, .count = width};
    if (head >= 0) {
        if (!head_width || head >= width / head_width)
            return heed_fail(HEED_ERR_ARG, "head %d: this point has %d heads", head,
                             head_width ? width / head_width : 0);
        edit.offset = head * head_width;
        edit.count = head_width;
    }
    return add_edit(e, point, layer, edit, values);
}

heed_status heed_edits_ablate_head(heed_edits *e, int layer, int head, const float *mean)
{
    if (e && (layer < 0 || layer >= e->m->hp.n_layer))
        return heed_fail(HEED_ERR_ARG, "layer %d is out of range (the model has %d)", layer,
                         e->m->hp.n_layer);
    return heed_edits_patch(e, HEED_HOOK_Z, layer, -1, head, mean);
}

void heed_edits_apply(const heed_edits *e, heed_activation *a)
{
    const edit_list *l = &e->lists[a->point * (e->m->hp.n_layer + 1) + a->layer];
    for (int i = 0; i < l->n; i++) {
        const heed_edit *ed = &l->items[i];
        for (int t = 0; t < a->n; t++) {
            if (ed->pos >= 0 && ed->pos != a->pos0 + t)
                continue;
            float *row = a->data + (int64_t)t * a->width + ed->offset;
            if (ed->values)
                memcpy(row, ed->values, sizeof *row * (size_t)ed->count);
            else
                memset(row, 0, sizeof *row * (size_t)ed->count);
        }
    }
}

/* The running sums of heed_context_mean_activation. */
typedef struct mean_sum {
    heed_hook_point point;
    int width;
    double *sum; /* [layers][width] */
} mean_sum;

static void add_rows(void *user, heed_activation *a)
{
    mean_sum *s = user;
    double *sum = s->sum + (int64_t)a->layer * s->width;
    for (int t = 0; t < a->n; t++)
        for (int i = 0; i < s->width; i++)
            sum[i] += a->data[(int64_t)t * s->width + i];
}

heed_status heed_context_mean_activation(heed_context *c, heed_hook_point point,
                                         const int32_t *ids, int n, float *out)
{
    if (!c || !ids || !out || (unsigned)point >= HEED_HOOK_COUNT)
        return heed_fail(HEED_ERR_ARG, "heed_context_mean_activation: bad argument");
    const heed_model *m = heed_context_model(c);
    int head_width;
    const int layers = m->hp.n_layer + 1;
    mean_sum s = {point, point_width(m, point, &head_width), NULL};
    if (!(s.sum = calloc((size_t)layers * (size_t)s.width, sizeof *s.sum)))
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    /* the final norm sees every row only when every row's logits are asked
     * for; no other point needs logits at all */
    const bool all = point == HEED_HOOK_LN_FINAL;
    float *logits = all ? malloc(sizeof *logits * (size_t)m->hp.n_vocab * (size_t)n) : NULL;
    heed_status st = !all || logits ? HEED_OK : heed_fail(HEED_ERR_NOMEM, "out of memory");
    if (!st)
        st = heed_forward_eval_tapped(c, ids, n, logits, all, 1u << point, add_rows, &s);
    heed_context_reset(c);
    for (int64_t i = 0; !st && i < (int64_t)layers * s.width; i++)
        out[i] = (float)(s.sum[i] / n);
    free(logits);
    free(s.sum);
    return st;
}
