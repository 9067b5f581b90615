/*
 * forward.c — the decoder forward pass, reading like the picture in
 * DESIGN.md:
 *
 *   x = embed(ids)
 *   for each block:  x += attention(norm(x))    (q, k, v; RoPE; cache; attend)
 *                    x += mlp(norm(x))
 *   logits = out(norm(x))
 *
 * A context holds one sequence's KV cache and the activation buffers of a
 * batch. Decoders evaluate prompts in batches of up to BATCH tokens;
 * encoders see the whole sequence at once, so their batch is the context.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attention.h"
#include "attn/capture.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/pool.h"
#include "model/context.h"
#include "model/model.h"
#include "util/error.h"

enum { BATCH = 256, DEFAULT_CTX = 4096 };

heed_context_params heed_context_default_params(void)
{
    return (heed_context_params){.n_ctx = 0, .n_threads = 0, .type_k = HEED_TYPE_F16,
                                 .type_v = HEED_TYPE_F16};
}

bool heed_kv_type_ok(heed_type t)
{
    return t == HEED_TYPE_F32 || t == HEED_TYPE_F16 || t == HEED_TYPE_BF16 ||
           t == HEED_TYPE_Q8_0;
}

/* Why rows of head_dim elements cannot be cached as t, or NULL. */
static heed_status check_kv_type(const char *which, heed_type t, int head_dim)
{
    if (!heed_kv_type_ok(t))
        return heed_fail(HEED_ERR_ARG, "%s cache type %s is not one of f32, f16, bf16, q8_0",
                         which, heed_type_name(t));
    const int64_t block = heed_type_get(t)->block_size;
    if (head_dim % block)
        return heed_fail(HEED_ERR_ARG, "%s cache type %s needs head_dim a multiple of %lld "
                         "(this model's is %d)", which, heed_type_name(t), (long long)block,
                         head_dim);
    return HEED_OK;
}

void heed_context_free(heed_context *c)
{
    if (!c)
        return;
    heed_pool_free(c->pool);
    free(c->steering);
    free(c->k_cache);
    free(c->v_cache);
    free(c->cache);
    free(c->tap_k);
    free(c->x);
    free(c->h);
    free(c->q);
    free(c->k);
    free(c->v);
    free(c->qkv);
    free(c->att);
    free(c->gate);
    free(c->up);
    free(c->moe_logits);
    free(c->moe_slot);
    free(c->moe_gate);
    free(c->moe_token);
    free(c->moe_count);
    free(c->moe_in);
    free(c->moe_y);
    free(c->attn_scratch);
    free(c->received);
    free(c->rope);
    free(c->xq);
    free(c->buckets);
    free(c->cross_k);
    free(c->cross_v);
    free(c);
}

/* The largest buffer of prepared activations any matrix of m needs. */
static size_t max_prepared_size(const heed_model *m, int batch)
{
    size_t max = 0;
    for (int64_t i = 0; i < heed_model_slots(m); i++) {
        const heed_weight *w = heed_model_slot(m, i);
        const size_t s = !w->data ? 0
                         : w->packed ? heed_packed_act_size(w->type, w->n_in, batch)
                                     : heed_matmul_prepared_size(w->type, w->n_in, batch);
        max = s > max ? s : max;
    }
    return max;
}

heed_status heed_context_new(const heed_model *m, const heed_context_params *p,
                             heed_context **out)
{
    *out = NULL;
    heed_context_params dp = heed_context_default_params();
    if (!p)
        p = &dp;
    const heed_hparams *hp = &m->hp;
    int n_ctx = p->n_ctx > 0 ? p->n_ctx
                             : (hp->n_ctx_train < DEFAULT_CTX ? hp->n_ctx_train : DEFAULT_CTX);
    /* Learned positions end where training did. */
    const int max_ctx = m->position_embd ? hp->n_ctx_train : 1 << 24;
    if (p->n_ctx < 0 || n_ctx > max_ctx)
        return heed_fail(HEED_ERR_ARG, "context size %d is out of range (1..%d)", p->n_ctx,
                         max_ctx);
    heed_status st = check_kv_type("key", p->type_k, hp->head_dim);
    if (!st)
        st = check_kv_type("value", p->type_v, hp->head_dim);
    if (st)
        return st;
    heed_context *c = calloc(1, sizeof *c);
    if (!c)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    c->m = m;
    /* an encoder's keys live for one call: nothing to save by rounding them */
    c->type_k = heed_model_is_encoder(m) ? HEED_TYPE_F32 : p->type_k;
    c->type_v = heed_model_is_encoder(m) ? HEED_TYPE_F32 : p->type_v;
    c->k_row = heed_type_row_size(c->type_k, hp->head_dim);
    c->v_row = heed_type_row_size(c->type_v, hp->head_dim);
    c->n_ctx = n_ctx;
    /* an encoder sees its whole input at once */
    c->batch = heed_model_is_encoder(m) || m->enc_layers || n_ctx < BATCH ? n_ctx : BATCH;
    c->layers = m->layers;
    const size_t B = (size_t)c->batch;
    st = heed_pool_new(p->n_threads > 0 ? p->n_threads : heed_cpu_cores(),
                                   &c->pool);
    if (st) {
        free(c);
        return st;
    }
    const size_t E = (size_t)hp->n_embd, Q = (size_t)hp->n_head * (size_t)hp->head_dim;
    const size_t KV = (size_t)hp->n_kv_head * (size_t)hp->head_dim;
    size_t F = (size_t)hp->n_ff; /* the widest FFN */
    if (hp->n_expert)
        F = (size_t)(hp->n_ff_exp > hp->n_ff_shexp ? hp->n_ff_exp : hp->n_ff_shexp);
    const size_t NE = (size_t)hp->n_expert, NU = (size_t)hp->n_expert_used;
    size_t rows = 0;
    if ((c->cache = calloc((size_t)hp->n_layer, sizeof *c->cache)))
        for (int il = 0; il < hp->n_layer; il++) {
            const int64_t window = heed_layer_sliding(m, il) ? (int64_t)hp->n_swa + c->batch
                                                             : n_ctx;
            c->cache[il] = (layer_cache){(int64_t)rows, window < n_ctx ? (int)window : n_ctx, 0};
            rows += (size_t)c->cache[il].cap * (size_t)hp->n_kv_head;
        }
    c->k_cache = malloc(rows * c->k_row);
    c->v_cache = malloc(rows * c->v_row);
    c->x = malloc(sizeof(float) * B * E);
    c->h = malloc(sizeof(float) * B * E);
    c->q = malloc(sizeof(float) * B * Q);
    c->k = malloc(sizeof(float) * B * KV);
    c->v = malloc(sizeof(float) * B * KV);
    c->qkv = malloc(sizeof(float) * B * (Q + 2 * KV));
    c->att = malloc(sizeof(float) * B * Q);
    c->gate = malloc(sizeof(float) * B * 2 * F);
    c->up = malloc(sizeof(float) * B * F);
    if (NE) {
        c->moe_logits = malloc(sizeof(float) * B * NE);
        c->moe_slot = malloc(sizeof(int32_t) * B * NU);
        c->moe_gate = malloc(sizeof(float) * B * NU);
        c->moe_token = malloc(sizeof(int32_t) * B * NU);
        c->moe_count = malloc(sizeof(int32_t) * (NE + 1));
        c->moe_in = malloc(sizeof(float) * B * E);
        c->moe_y = malloc(sizeof(float) * B * NU * E);
    }
    const heed_attn widest = {.n_head = m->hp.n_head, .n_kv_head = m->hp.n_kv_head,
                              .head_dim = m->hp.head_dim, .n_kv = n_ctx};
    c->attn_floats = heed_attend_tiled_scratch_floats(&widest);
    c->attn_scratch = malloc(sizeof(float) * (size_t)c->attn_floats * (size_t)heed_pool_size(c->pool));
    c->received = malloc(sizeof(double) * (size_t)n_ctx * (size_t)heed_pool_size(c->pool));
    c->rope = malloc(sizeof(float) * (size_t)hp->n_rot);
    c->xq = malloc(max_prepared_size(m, c->batch));
    bool extras = true; /* T5's buckets and cross-attention keys and values */
    if (hp->n_rel_buckets && heed_rel_buckets_new(c))
        extras = false;
    if (m->enc_layers) {
        const size_t cross = (size_t)hp->n_layer * (size_t)n_ctx * KV;
        extras = extras && (c->cross_k = malloc(sizeof(float) * cross)) &&
                 (c->cross_v = malloc(sizeof(float) * cross));
    }
    if (!c->cache || !c->k_cache || !c->v_cache || !c->x || !c->h || !c->q || !c->k || !c->v ||
        !c->qkv || !c->att || !c->gate || !c->up || !c->attn_scratch || !c->received ||
        !c->rope || !c->xq || !extras ||
        (NE && (!c->moe_logits || !c->moe_slot || !c->moe_gate || !c->moe_token || !c->moe_count ||
                !c->moe_in || !c->moe_y))) {
        const double kv_mib = (double)rows * (double)(c->k_row + c->v_row) / 1048576.0;
        heed_context_free(c);
        return heed_fail(HEED_ERR_NOMEM, "out of memory for a context of %d positions "
                         "(KV cache %.1f MiB)", n_ctx, kv_mib);
    }
    *out = c;
    return HEED_OK;
}

int heed_context_n_past(const heed_context *c) { return c->n_past; }
int heed_context_n_ctx(const heed_context *c) { return c->n_ctx; }

size_t heed_context_kv_bytes(const heed_context *c)
{
    size_t rows = 0;
    for (int il = 0; il < c->m->hp.n_layer; il++)
        rows += (size_t)c->cache[il].cap * (size_t)c->m->hp.n_kv_head;
    return rows * (c->k_row + c->v_row);
}
const heed_model *heed_context_model(const heed_context *c) { return c->m; }
void heed_context_reset(heed_context *c)
{
    c->n_past = 0;
    for (int il = 0; il < c->m->hp.n_layer; il++)
        c->cache[il].pos0 = 0;
}

heed_status heed_context_truncate(heed_context *c, int n_past)
{
    if (n_past < 0 || n_past > c->n_past)
        return heed_fail(HEED_ERR_ARG, "cannot keep %d positions of a cache holding %d", n_past,
                         c->n_past);
    if (n_past == 0) {
        heed_context_reset(c);
        return HEED_OK;
    }
    /* the next position's window must still be cached */
    const int first = n_past - c->m->hp.n_swa + 1 > 0 ? n_past - c->m->hp.n_swa + 1 : 0;
    for (int il = 0; il < c->m->hp.n_layer; il++)
        if (c->cache[il].pos0 > first)
            return heed_fail(HEED_ERR_ARG, "cannot go back to %d positions: layer %d's "
                             "sliding-window cache has dropped the positions before %d", n_past,
                             il, c->cache[il].pos0);
    c->n_past = n_past;
    return HEED_OK;
}
heed_status heed_context_copy_cache(heed_context *dst, const heed_context *src, int n_past)
{
    const heed_hparams *hp = &src->m->hp;
    if (dst->m != src->m || dst->type_k != src->type_k || dst->type_v != src->type_v)
        return heed_fail(HEED_ERR_ARG, "a cache copies only between contexts of one model "
                         "with the same cache types");
    if (n_past < 0 || n_past > src->n_past || n_past > dst->n_ctx)
        return heed_fail(HEED_ERR_ARG, "cannot copy %d positions of a cache holding %d into "
                         "one of %d", n_past, src->n_past, dst->n_ctx);
    if (src->m->enc_layers)
        return heed_fail(HEED_ERR_UNSUPPORTED, "an encoder-decoder's cache is not copied");
    heed_context_reset(dst);
    /* each layer's positions from where src's cache starts: a full layer's
     * from 0, a sliding one's from its pos0, which must still hold the
     * window of position n_past */
    const int first = n_past - hp->n_swa + 1 > 0 ? n_past - hp->n_swa + 1 : 0;
    for (int il = 0; il < hp->n_layer; il++) {
        const layer_cache *from = &src->cache[il];
        layer_cache *to = &dst->cache[il];
        const int n = n_past - from->pos0;
        if (n_past && (from->pos0 > first || n > to->cap)) {
            heed_context_reset(dst);
            return heed_fail(HEED_ERR_UNSUPPORTED, "layer %d's sliding-window cache no "
                             "longer holds the window of position %d", il, n_past);
        }
        for (int g = 0; g < hp->n_kv_head && n > 0; g++) {
            memcpy((char *)dst->k_cache + (to->first_row + (int64_t)g * to->cap) * (int64_t)dst->k_row,
                   (const char *)src->k_cache + (from->first_row + (int64_t)g * from->cap) *
                   (int64_t)src->k_row, (size_t)n * src->k_row);
            memcpy((char *)dst->v_cache + (to->first_row + (int64_t)g * to->cap) * (int64_t)dst->v_row,
                   (const char *)src->v_cache + (from->first_row + (int64_t)g * from->cap) *
                   (int64_t)src->v_row, (size_t)n * src->v_row);
        }
        to->pos0 = n_past ? from->pos0 : 0;
    }
    dst->n_past = n_past;
    return HEED_OK;
}

void heed_context_set_capture(heed_context *c, heed_capture *cap)
{
    if (cap)
        c->captures[heed_capture_kind(cap)] = cap;
    else
        memset(c->captures, 0, sizeof c->captures);
    c->capture = c->captures[HEED_ATTN_SELF];
}
void heed_context_set_qk_tap(heed_context *c, heed_qk_fn fn, void *user)
{
    c->qk_tap = fn;
    c->qk_user = user;
}

heed_status heed_context_set_steering(heed_context *c, const float *vectors, int layer_start,
                                      int layer_end)
{
    free(c->steering);
    c->steering = NULL;
    if (!vectors)
        return HEED_OK;
    const size_t count = (size_t)c->m->hp.n_layer * (size_t)c->m->hp.n_embd;
    if (!(c->steering = malloc(sizeof *c->steering * count)))
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    memcpy(c->steering, vectors, sizeof *c->steering * count);
    c->steer_begin = layer_start;
    c->steer_end = layer_end;
    return HEED_OK;
}

void heed_context_set_hook(heed_context *c, unsigned points, heed_hook_fn fn, void *user)
{
    c->hook_points = fn ? points & ((1u << HEED_HOOK_COUNT) - 1) : 0;
    c->hook = fn;
    c->hook_user = user;
}

heed_status heed_forward_eval_tapped(heed_context *c, const int32_t *ids, int n, float *logits,
                                     bool all_logits, unsigned points, heed_hook_fn fn,
                                     void *user)
{
    const unsigned kept_points = c->hook_points;
    const heed_hook_fn kept_fn = c->hook;
    void *kept_user = c->hook_user;
    heed_context_reset(c);
    heed_context_set_hook(c, points, fn, user);
    const heed_status st = heed_context_eval(c, ids, n, logits, all_logits);
    heed_context_set_hook(c, kept_points, kept_fn, kept_user);
    return st;
}

heed_status heed_context_set_edits(heed_context *c, const heed_edits *e)
{
    if (e && e->m != c->m)
        return heed_fail(HEED_ERR_ARG, "these edits were made for another model");
    c->edits = e;
    return HEED_OK;
}

void heed_context_set_residual(heed_context *c, float *out, int pos_begin, int pos_end)
{
    c->residual = out;
    c->res_begin = pos_begin;
    c->res_end = pos_end;
}


typedef struct matmul_job {
    const heed_weight *w;
    const float *x;
    void *xq;
    int n;
    float *y;
} matmul_job;

static void matmul_share(void *arg, int ith, int nth)
{
    const matmul_job *j = arg;
    int64_t begin, end;
    heed_pool_share(j->w->n_out, ith, nth, &begin, &end);
    heed_matmul_rows(j->w->type, j->w->data, j->w->n_in, begin, end, j->xq, j->n, j->y,
                     j->w->n_out);
}

/* Packed: the threads quantise a share of the tokens each, then take a
 * share of the groups of 16 rows each. */
static void packed_act_range(void *arg, int64_t begin, int64_t end, int ith)
{
    (void)ith;
    const matmul_job *j = arg;
    const heed_weight *w = j->w;
    w->packed->act(j->x + begin * w->n_in, w->n_in, end - begin,
                   (char *)j->xq + heed_packed_act_size(w->type, w->n_in, begin));
}

static void packed_range(void *arg, int64_t begin, int64_t end, int ith)
{
    (void)ith;
    const matmul_job *j = arg;
    j->w->packed->rows(j->w->data, j->w->n_in, begin, end, j->xq, j->n, j->y, j->w->n_out);
}

/* Whether the activations prepared for a serve b as they are. */
static bool same_preparation(const heed_weight *a, const heed_weight *b)
{
    if (a->packed || b->packed)
        return a->packed && b->packed && a->packed->act == b->packed->act;
    return heed_matmul_vec_type(a->type) == heed_matmul_vec_type(b->type);
}

/* y[i][t] = W_i x[t] for count matrices over the same n tokens; y[i] is
 * [n][w[i]->n_out]. The activations are converted once for all matrices
 * that take them alike (q, k and v; gate and up); the threads share each
 * W's rows. */
static void matmuls(heed_context *c, const float *x, int n, int count,
                    const heed_weight *const *w, float *const *y)
{
    for (int i = 0; i < count; i++) {
        matmul_job j = {w[i], x, c->xq, n, y[i]};
        const bool prepared = i > 0 && same_preparation(w[i - 1], w[i]);
        if (w[i]->packed) {
            if (!prepared && n > 1)
                heed_pool_for(c->pool, n, packed_act_range, &j);
            else if (!prepared)
                packed_act_range(&j, 0, 1, 0); /* one token: not worth waking the pool */
            heed_pool_for(c->pool, w[i]->n_out / HEED_PACK_ROWS, packed_range, &j);
        } else {
            if (!prepared)
                heed_matmul_prepare(w[i]->type, x, w[i]->n_in, n, c->xq);
            heed_pool_run(c->pool, matmul_share, &j);
        }
    }
}

void heed_forward_matmul(heed_context *c, const heed_weight *w, const float *x, int n, float *y)
{
    matmuls(c, x, n, 1, &w, &y);
}

typedef struct attend_job {
    const heed_attn *a;
    float *scratch;   /* per thread          */
    int64_t scratch_floats;
    double *received; /* per thread, or NULL */
    int64_t n_ctx;
} attend_job;

static void attend_share(void *arg, int ith, int nth)
{
    const attend_job *j = arg;
    int64_t begin, end;
    heed_pool_share(heed_attend_tiled_items(j->a), ith, nth, &begin, &end);
    double *received = j->received ? j->received + ith * j->n_ctx : NULL;
    if (received)
        memset(received, 0, sizeof *received * (size_t)j->a->n_kv);
    heed_attend_tiled(j->a, begin, end, j->scratch + ith * j->scratch_floats, received);
}

/* Runs the attention operator on the pool; with a capture attached, adds
 * the threads' telemetry to it in thread order. */
void heed_forward_attend(heed_context *c, const heed_attn *a)
{
    attend_job job = {a, c->attn_scratch, c->attn_floats, a->capture ? c->received : NULL, c->n_ctx};
    heed_pool_run(c->pool, attend_share, &job);
    for (int t = 0; a->capture && t < heed_pool_size(c->pool); t++)
        heed_capture_add_received(a->capture, a->layer, a->k_pos0, c->received + t * c->n_ctx,
                                  a->n_kv);
}

/* Several sequences' attention in one pool run: the threads share the
 * items of all of them, in order (no capture). */
enum { ATTEND_MANY = 16 };
typedef struct attend_many_job {
    const heed_attn *a;
    int n;
    float *scratch;
    int64_t scratch_floats;
} attend_many_job;

static void attend_many_share(void *arg, int ith, int nth)
{
    const attend_many_job *j = arg;
    int64_t total = 0, begin, end;
    for (int i = 0; i < j->n; i++)
        total += heed_attend_tiled_items(&j->a[i]);
    heed_pool_share(total, ith, nth, &begin, &end);
    int64_t first = 0;
    for (int i = 0; i < j->n && begin < end; i++) {
        const int64_t items = heed_attend_tiled_items(&j->a[i]);
        const int64_t b = begin > first ? begin - first : 0, e = end - first < items ? end - first : items;
        if (b < e)
            heed_attend_tiled(&j->a[i], b, e, j->scratch + ith * j->scratch_floats, NULL);
        first += items;
    }
}

/* Below this many elements an element-wise step is not worth waking the
 * pool for. */
enum { POOL_MIN = 4096 };

typedef struct norm_job {
    const heed_model *m;
    float *y;
    const float *x, *w, *b;
} norm_job;

static void norm_range(void *arg, int64_t begin, int64_t end, int ith)
{
    (void)ith;
    const norm_job *j = arg;
    const int64_t E = j->m->hp.n_embd;
    for (int64_t t = begin; t < end; t++) {
        if (j->m->arch->norm == NORM_LAYER)
            heed_layer_norm(j->y + t * E, j->x + t * E, j->w, j->b, E, j->m->hp.norm_eps);
        else
            heed_rms_norm(j->y + t * E, j->x + t * E, j->w, E, j->m->hp.norm_eps);
    }
}

/* y[t] = norm(x[t]) for n rows of n_embd: RMSNorm or LayerNorm as the
 * architecture says (b, LayerNorm's bias, may be NULL). Each row is normed
 * alone, its sums in order, so the threads share a batch's rows. */
void heed_forward_norm_rows(heed_context *c, float *y, const float *x, const float *w,
                            const float *b, int n)
{
    norm_job j = {c->m, y, x, w, b};
    if ((int64_t)n * c->m->hp.n_embd < POOL_MIN)
        norm_range(&j, 0, n, 0);
    else
        heed_pool_for(c->pool, n, norm_range, &j);
}

static void add_bias(float *y, const float *b, int n, int64_t dim)
{
    if (!b)
        return;
    for (int t = 0; t < n; t++)
        for (int64_t i = 0; i < dim; i++)
            y[t * dim + i] += b[i];
}

static void add(float *x, const float *y, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        x[i] += y[i];
}

/* Hands the qk tap the layer's queries and keys as floats, the keys as
 * the operator read them (converted from the cache's type). */
void heed_forward_tap_qk(heed_context *c, const heed_attn *a, heed_attn_kind kind)
{
    const int64_t D = a->head_dim;
    const float *k = a->k;
    int64_t kv_stride = D, head_stride = a->k_head_bytes / a->k_row_bytes * D;
    if (a->k_type == HEED_TYPE_F32) { /* the cache's [head][row], or an encoding's [row][head] */
        head_stride = a->k_head_bytes / (int64_t)sizeof(float);
        kv_stride = a->k_row_bytes / (int64_t)sizeof(float);
    } else {
        if (!c->tap_k && !(c->tap_k = malloc(sizeof(float) * (size_t)a->n_kv_head *
                                             (size_t)c->n_ctx * (size_t)D)))
            return; /* out of memory: the tap misses this layer */
        for (int g = 0; g < a->n_kv_head; g++)
            for (int j = 0; j < a->n_kv; j++)
                heed_type_get(a->k_type)->to_float((const char *)a->k + g * a->k_head_bytes +
                                                       j * a->k_row_bytes,
                                                   c->tap_k + g * head_stride + j * D, D);
        k = c->tap_k;
    }
    const heed_qk qk = {a->layer, a->n_q, a->n_kv, a->n_head, a->n_kv_head, a->head_dim,
                        a->q_pos0, a->q_stride, kv_stride, head_stride, a->q, k, a->scale,
                        a->mask == HEED_MASK_CAUSAL, a->k_pos0, a->window, a->softcap,
                        a->sinks, kind, a->bias, a->bucket};
    c->qk_tap(c->qk_user, &qk);
}

/* How a layer rotates q and k: the file's RoPE (its scaling, YaRN's
 * correction, Llama 3's factors or LongRoPE's, long ones for a context
 * longer than RoPE was trained on); a sliding layer with its own base
 * (gemma3) unscaled at that base. */
static heed_rope layer_rope(const heed_context *c, bool sliding)
{
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    if (sliding && m->arch->rope_base_local > 0)
        return heed_rope_plain(m->arch->rope_base_local);
    heed_rope r = {.base = hp->rope_base, .freq_scale = hp->rope_freq_scale,
                   .ff = m->rope_freqs, .mscale = hp->rope_attn_factor};
    if (!r.ff && m->rope_long)
        r.ff = c->n_ctx > hp->n_ctx_orig ? m->rope_long : m->rope_short;
    if (hp->rope_yarn) {
        r.ext_factor = 1.0f;
        heed_rope_yarn_dims(hp->n_rot, hp->n_ctx_orig, r.base, 32.0f, 1.0f, r.corr_dims);
    }
    return r;
}

/* Makes room in a sliding layer's cache for a batch at pos0: keeps only
 * the window - 1 positions before it that its first query still sees. */
static void drop_oldest(heed_context *c, layer_cache *lc, int pos0)
{
    const heed_hparams *hp = &c->m->hp;
    const int keep = hp->n_swa - 1 < pos0 - lc->pos0 ? hp->n_swa - 1 : pos0 - lc->pos0;
    const int from = pos0 - keep - lc->pos0;
    for (int g = 0; g < hp->n_kv_head; g++) {
        char *k = (char *)c->k_cache + (lc->first_row + (int64_t)g * lc->cap) * (int64_t)c->k_row;
        char *v = (char *)c->v_cache + (lc->first_row + (int64_t)g * lc->cap) * (int64_t)c->v_row;
        memmove(k, k + from * (int64_t)c->k_row, (size_t)keep * c->k_row);
        memmove(v, v + from * (int64_t)c->v_row, (size_t)keep * c->v_row);
    }
    lc->pos0 = pos0 - keep;
}

/* The attention operand of layer il for sequence q's rows, over its
 * context's cache (which q's keys and values go into first), or over the
 * batch's own keys and values while encoding. */
static heed_attn seq_attention(heed_context *c, int il, const heed_seq *q)
{
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    const int64_t Q = (int64_t)hp->n_head * hp->head_dim, KV = (int64_t)hp->n_kv_head * hp->head_dim;
    heed_context *owner = q->ctx;
    const layer_cache *lc = &owner->cache[il];
    const int64_t k_head = (int64_t)lc->cap * (int64_t)owner->k_row;
    const int64_t v_head = (int64_t)lc->cap * (int64_t)owner->v_row;
    char *k_cache = (char *)owner->k_cache + lc->first_row * (int64_t)owner->k_row;
    char *v_cache = (char *)owner->v_cache + lc->first_row * (int64_t)owner->v_row;
    const heed_type_traits *tk = heed_type_get(owner->type_k), *tv = heed_type_get(owner->type_v);
    const int row0 = q->pos0 - lc->pos0; /* the sequence's first row in the cache */
    for (int t = 0; !c->encoding && t < q->n; t++)
        for (int g = 0; g < hp->n_kv_head; g++) {
            const int64_t e = (q->row + t) * KV + (int64_t)g * hp->head_dim;
            tk->from_float(c->k + e, k_cache + g * k_head + (row0 + t) * (int64_t)owner->k_row,
                           hp->head_dim);
            tv->from_float(c->v + e, v_cache + g * v_head + (row0 + t) * (int64_t)owner->v_row,
                           hp->head_dim);
        }
    heed_attn a = {
        .q = c->q + q->row * Q, .k = k_cache, .v = v_cache, .out = c->att + q->row * Q,
        .k_type = owner->type_k, .v_type = owner->type_v,
        .k_row_bytes = (int64_t)owner->k_row, .k_head_bytes = k_head,
        .v_row_bytes = (int64_t)owner->v_row, .v_head_bytes = v_head,
        .q_stride = Q, .out_stride = Q,
        .n_q = q->n, .n_kv = row0 + q->n, .q_pos0 = q->pos0, .k_pos0 = lc->pos0,
        .n_head = hp->n_head, .n_kv_head = hp->n_kv_head, .head_dim = hp->head_dim,
        .scale = m->arch->q_prescale ? 1.0f : hp->q_scale, .mask = m->arch->mask,
        .window = heed_layer_sliding(m, il) ? hp->n_swa : 0, .softcap = hp->attn_softcap,
        .sinks = c->layers[il].attn_sinks, .capture = owner->capture, .layer = il,
    };
    if (c->encoding) { /* the batch's own keys and values, as floats */
        const int64_t row = KV * (int64_t)sizeof(float), head = hp->head_dim * (int64_t)sizeof(float);
        a.k = c->k;
        a.v = c->v;
        a.k_type = a.v_type = HEED_TYPE_F32;
        a.k_row_bytes = a.v_row_bytes = row;
        a.k_head_bytes = a.v_head_bytes = head;
        a.n_kv = q->n;
        a.k_pos0 = q->pos0;
        a.mask = HEED_MASK_BIDIRECTIONAL;
    }
    if (c->layers[il].rel_bias) {
        a.bias = c->layers[il].rel_bias;
        a.bucket = a.mask == HEED_MASK_BIDIRECTIONAL ? c->bucket_bidi : c->bucket_causal;
    }
    return a;
}

/* x += attention(norm(x)) of layer il for the batch's sequences (more than
 * one only without hooks, edits or a qk tap). */
static void attention_block(heed_context *c, int il, const heed_seq *seqs, int n_seqs)
{
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    const heed_layer *L = &c->layers[il];
    const int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KV = (int64_t)hp->n_kv_head * hp->head_dim;
    const int n = seqs[n_seqs - 1].row + seqs[n_seqs - 1].n, pos0 = seqs[0].pos0;

    const bool post = m->arch->post_norm;
    if (post)
        memcpy(c->h, c->x, sizeof(float) * (size_t)(n * E));
    else
        heed_forward_norm_rows(c, c->h, c->x, L->attn_norm, L->attn_norm_b, n);

    /* q, k, v: separate projections, or one fused matrix split by rows */
    if (L->wqkv.data) {
        heed_forward_matmul(c, &L->wqkv, c->h, n, c->qkv);
        add_bias(c->qkv, L->bqkv, n, Q + 2 * KV);
        for (int t = 0; t < n; t++) {
            const float *row = c->qkv + t * (Q + 2 * KV);
            memcpy(c->q + t * Q, row, sizeof(float) * (size_t)Q);
            memcpy(c->k + t * KV, row + Q, sizeof(float) * (size_t)KV);
            memcpy(c->v + t * KV, row + Q + KV, sizeof(float) * (size_t)KV);
        }
    } else {
        const heed_weight *w[] = {&L->wq, &L->wk, &L->wv};
        float *const y[] = {c->q, c->k, c->v};
        matmuls(c, c->h, n, 3, w, y);
        add_bias(c->q, L->bq, n, Q);
        add_bias(c->k, L->bk, n, KV);
        add_bias(c->v, L->bv, n, KV);
    }

    /* qwen3, gemma3: each head's q and k RMS-normalised over head_dim */
    for (int t = 0; L->q_norm && t < n; t++)
        for (int h = 0; h < hp->n_head; h++) {
            float *q = c->q + t * Q + (int64_t)h * hp->head_dim;
            heed_rms_norm(q, q, L->q_norm, hp->head_dim, hp->norm_eps);
        }
    for (int t = 0; L->k_norm && t < n; t++)
        for (int h = 0; h < hp->n_kv_head; h++) {
            float *k = c->k + t * KV + (int64_t)h * hp->head_dim;
            heed_rms_norm(k, k, L->k_norm, hp->head_dim, hp->norm_eps);
        }

    /* RoPE on q and k at each sequence's positions (learned positions are
     * in x already; a sliding layer may have its own base), and room for
     * the batch in a sliding layer's cache */
    const bool sliding = heed_layer_sliding(m, il);
    const bool use_rope = (m->arch->pos == POS_ROPE_NORMAL || m->arch->pos == POS_ROPE_NEOX) &&
                          !(m->arch->nope_every && (il + 1) % m->arch->nope_every == 0);
    for (int s = 0; s < n_seqs; s++) {
        const heed_seq *sq = &seqs[s];
        layer_cache *lc = &sq->ctx->cache[il];
        if (!c->encoding && sq->pos0 + sq->n - lc->pos0 > lc->cap)
            drop_oldest(sq->ctx, lc, sq->pos0);
        const heed_rope rope = layer_rope(sq->ctx, sliding);
        for (int t = 0; t < sq->n; t++) {
            float *q = c->q + (sq->row + t) * Q, *k = c->k + (sq->row + t) * KV;
            if (use_rope) {
                const int neox = m->arch->pos == POS_ROPE_NEOX;
                heed_rope_angles(c->rope, sq->pos0 + t, hp->n_rot, &rope);
                heed_rope_apply(q, hp->n_head, hp->head_dim, hp->n_rot, c->rope, neox);
                heed_rope_apply(k, hp->n_kv_head, hp->head_dim, hp->n_rot, c->rope, neox);
            }
            if (m->arch->q_prescale)
                for (int64_t i = 0; i < Q; i++)
                    q[i] *= hp->q_scale;
        }
    }
    heed_forward_hook(c, HEED_HOOK_Q, il, pos0, n, Q, c->q);
    heed_forward_hook(c, HEED_HOOK_K, il, pos0, n, KV, c->k);
    heed_forward_hook(c, HEED_HOOK_V, il, pos0, n, KV, c->v);

    if (n_seqs == 1) {
        const heed_attn a = seq_attention(c, il, &seqs[0]);
        heed_forward_attend(c, &a);
        if (c->qk_tap)
            heed_forward_tap_qk(c, &a, c->encoding ? HEED_ATTN_ENCODER : HEED_ATTN_SELF);
    } else { /* a captured sequence gets a run of its own (its rows, its telemetry) */
        heed_attn a[ATTEND_MANY];
        for (int s = 0, k = 0; s < n_seqs; s++) {
            const heed_attn one = seq_attention(c, il, &seqs[s]);
            if (one.capture)
                heed_forward_attend(c, &one);
            else
                a[k++] = one;
            if (k && (k == ATTEND_MANY || s == n_seqs - 1)) {
                attend_many_job job = {a, k, c->attn_scratch, c->attn_floats};
                heed_pool_run(c->pool, attend_many_share, &job);
                k = 0;
            }
        }
    }
    heed_forward_hook(c, HEED_HOOK_Z, il, pos0, n, Q, c->att);

    heed_forward_matmul(c, &L->wo, c->att, n, c->h);
    add_bias(c->h, L->bo, n, E);
    if (L->attn_post_norm)
        heed_forward_norm_rows(c, c->h, c->h, L->attn_post_norm, NULL, n);
    heed_forward_hook(c, HEED_HOOK_ATTN_OUT, il, pos0, n, E, c->h);
    add(c->x, c->h, n * E);
    if (post)
        heed_forward_norm_rows(c, c->x, c->x, L->attn_norm, L->attn_norm_b, n);
    heed_forward_hook(c, HEED_HOOK_RESID_MID, il, pos0, n, E, c->x);
}

void heed_forward_attention_block(heed_context *c, int il, int pos0, int n)
{
    const heed_seq one = {c, 0, n, pos0, n};
    attention_block(c, il, &one, 1);
}

typedef struct gate_job {
    float *gate;
    const float *up;
    heed_ffn_kind act;
} gate_job;

static void gate_range(void *arg, int64_t begin, int64_t end, int ith)
{
    (void)ith;
    const gate_job *j = arg;
    static void (*const mul[])(float *, const float *, int64_t) = {
        [FFN_SILU_GATED] = heed_silu_mul, [FFN_GELU_GATED] = heed_gelu_mul,
        [FFN_SWIGLU_OAI] = heed_swiglu_oai_mul};
    if (j->act == FFN_RELU)
        heed_relu_all(j->gate + begin, end - begin);
    else if (j->act == FFN_GELU)
        heed_gelu_all(j->gate + begin, end - begin);
    else
        mul[j->act](j->gate + begin, j->up + begin, end - begin);
}

/* gate[i] = act(gate[i]) * up[i] (an ungated act: act(gate[i])) for count
 * elements, on all threads (one exp or lookup per element: a prompt's
 * worth is worth sharing). */
static void gate_mul(heed_context *c, heed_ffn_kind act, int64_t count)
{
    gate_job j = {c->gate, c->up, act};
    if (count < POOL_MIN)
        gate_range(&j, 0, count, 0);
    else
        heed_pool_for(c->pool, count, gate_range, &j);
}

void heed_forward_gated_ffn(heed_context *c, const heed_ffn *f, const float *x, int n, float *y)
{
    const heed_weight *w[] = {f->gate, f->up};
    float *const gu[] = {c->gate, c->up};
    const int64_t F = f->gate->n_out;
    matmuls(c, x, n, 2, w, gu);
    add_bias(c->gate, f->gate_b, n, F);
    add_bias(c->up, f->up_b, n, F);
    gate_mul(c, f->act, (int64_t)n * F);
    heed_forward_matmul(c, f->down, c->gate, n, y);
    add_bias(y, f->down_b, n, f->down->n_out);
}

/* x += mlp(norm(x)): W_down(act(W_gate h) * W_up h), or W_down act(W_up h). */
void heed_forward_ffn_block(heed_context *c, int il, int n)
{
    const heed_model *m = c->m;
    const heed_layer *L = &c->layers[il];
    const int64_t E = m->hp.n_embd, F = m->hp.n_ff;

    const bool post = m->arch->post_norm;
    if (post)
        memcpy(c->h, c->x, sizeof(float) * (size_t)(n * E));
    else
        heed_forward_norm_rows(c, c->h, c->x, L->ffn_norm, L->ffn_norm_b, n);
    if (m->hp.n_expert) {
        heed_moe_ffn(c, il, n);
    } else if (m->hp.ffn == FFN_GELU || m->hp.ffn == FFN_RELU) {
        heed_forward_matmul(c, &L->w_up, c->h, n, c->gate);
        add_bias(c->gate, L->b_up, n, F);
        gate_mul(c, m->hp.ffn, n * F);
        heed_forward_matmul(c, &L->w_down, c->gate, n, c->h);
    } else if (L->gate_in_up) { /* rows 0..F-1 gate, F..2F-1 up */
        heed_forward_matmul(c, &L->w_up, c->h, n, c->gate);
        for (int t = 0; t < n; t++) { /* upward: no row is overwritten before it is read */
            memcpy(c->up + t * F, c->gate + t * 2 * F + F, sizeof(float) * (size_t)F);
            memmove(c->gate + t * F, c->gate + t * 2 * F, sizeof(float) * (size_t)F);
        }
        gate_mul(c, m->hp.ffn, n * F);
        heed_forward_matmul(c, &L->w_down, c->gate, n, c->h);
    } else {
        const heed_ffn f = {.gate = &L->w_gate, .up = &L->w_up, .down = &L->w_down,
                            .act = m->hp.ffn};
        heed_forward_gated_ffn(c, &f, c->h, n, c->h);
    }
    add_bias(c->h, L->b_down, n, E);
    if (L->ffn_post_norm)
        heed_forward_norm_rows(c, c->h, c->h, L->ffn_post_norm, NULL, n);
    heed_forward_hook(c, HEED_HOOK_MLP_OUT, il, c->n_past, n, E, c->h);
    add(c->x, c->h, n * E);
    if (post)
        heed_forward_norm_rows(c, c->x, c->x, L->ffn_norm, L->ffn_norm_b, n);
}

/* logits = out(h) for n normed rows, soft-capped where the model caps. */
static void output_head(heed_context *c, const float *h, int n, float *logits)
{
    const heed_model *m = c->m;
    heed_forward_matmul(c, &m->output, h, n, logits);
    const float cap = m->hp.final_softcap;
    for (int64_t i = 0; cap > 0 && i < (int64_t)n * m->hp.n_vocab; i++)
        logits[i] = cap * tanhf(logits[i] * (1.0f / cap));
}

/* Copies the stream of the batch's n tokens (at positions n_past..) that
 * fall in the residual range into entry `entry` of their slots. */
static void tap_residual(heed_context *c, int n, int entry)
{
    const int64_t E = c->m->hp.n_embd, entries = c->m->hp.n_layer + 1;
    for (int t = 0; t < n; t++) {
        const int pos = c->n_past + t;
        if (pos >= c->res_begin && pos < c->res_end)
            memcpy(c->residual + ((int64_t)(pos - c->res_begin) * entries + entry) * E,
                   c->x + t * E, sizeof(float) * (size_t)E);
    }
}

/* x = the embeddings of n tokens at positions pos0.. */
static void embed_rows(const heed_model *m, float *x, const int32_t *ids, int n, int pos0)
{
    const int64_t E = m->hp.n_embd;
    const heed_type_traits *et = heed_type_get(m->token_embd.type);
    const size_t row = heed_type_row_size(m->token_embd.type, E);
    for (int t = 0; t < n; t++, x += E) {
        et->to_float((const char *)m->token_embd.data + row * (size_t)ids[t], x, E);
        if (m->arch->embed_scale)
            for (int64_t i = 0; i < E; i++)
                x[i] *= sqrtf((float)E);
        if (m->token_type0)
            add(x, m->token_type0, E);
        if (m->position_embd)
            add(x, m->position_embd + (int64_t)(pos0 + t) * E, E);
    }
}

/* c->x = the embeddings of n tokens at positions n_past.. */
void heed_forward_embed(heed_context *c, const int32_t *ids, int n)
{
    embed_rows(c->m, c->x, ids, n, c->n_past);
}

/* One batch: the seqs' rows (at most c->batch, ids in row order), each
 * sequence's tokens at its context's next positions; c is the one whose
 * buffers and threads run it. Leaves the final hidden states in c->x and
 * the logits of each sequence's rows from its first_logit on, in row
 * order, in logits (NULL: none). Hooks, edits, the taps and a capture see
 * a batch of one sequence only. */
static void forward_rows(heed_context *c, const int32_t *ids, heed_seq *seqs, int n_seqs,
                         float *logits)
{
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd;
    const int n = seqs[n_seqs - 1].row + seqs[n_seqs - 1].n;

    for (int s = 0; s < n_seqs; s++)
        embed_rows(m, c->x + seqs[s].row * E, ids + seqs[s].row, seqs[s].n, seqs[s].pos0);
    if (m->embd_norm)
        heed_forward_norm_rows(c, c->x, c->x, m->embd_norm, m->embd_norm_b, n);
    if (c->residual)
        tap_residual(c, n, 0);
    for (int il = 0; il < hp->n_layer; il++) {
        heed_forward_hook(c, HEED_HOOK_RESID_PRE, il, c->n_past, n, E, c->x);
        attention_block(c, il, seqs, n_seqs);
        if (c->cross_k)
            heed_forward_cross_block(c, il, c->n_past, n);
        heed_forward_ffn_block(c, il, n);
        for (int s = 0; s < n_seqs; s++) { /* each context's steering */
            const heed_context *o = seqs[s].ctx;
            for (int t = 0; o->steering && il >= o->steer_begin && il <= o->steer_end && t < seqs[s].n; t++)
                add(c->x + (seqs[s].row + t) * E, o->steering + il * E, E);
        }
        heed_forward_hook(c, HEED_HOOK_RESID_POST, il, c->n_past, n, E, c->x);
        if (c->residual)
            tap_residual(c, n, il + 1);
    }
    int k = 0; /* the rows wanted, normed into c->h in order */
    for (int s = 0; logits && s < n_seqs; s++) {
        const int first = seqs[s].first_logit, rows = seqs[s].n - first;
        if (rows > 0)
            heed_forward_norm_rows(c, c->h + k * E, c->x + (seqs[s].row + first) * E,
                                   m->output_norm, m->output_norm_b, rows);
        k += rows > 0 ? rows : 0;
    }
    if (k) {
        heed_forward_hook(c, HEED_HOOK_LN_FINAL, hp->n_layer, c->n_past + seqs[0].first_logit, k,
                          E, c->h);
        output_head(c, c->h, k, logits);
    }
    for (int s = 0; s < n_seqs; s++)
        seqs[s].ctx->n_past += seqs[s].n;
}

/* A batch of c's own n tokens at its next positions; logits of those from
 * first_logit on. */
static void forward_batch(heed_context *c, const int32_t *ids, int n, int first_logit,
                          float *logits)
{
    heed_seq one = {c, 0, n, c->n_past, first_logit};
    forward_rows(c, ids, &one, 1, logits);
}

/* Checks ids and that n more positions fit. */
static heed_status check_tokens(const heed_context *c, const int32_t *ids, int n)
{
    const int32_t n_vocab = c->m->hp.n_vocab;
    if (n <= 0)
        return heed_fail(HEED_ERR_ARG, "no tokens to evaluate");
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab)
            return heed_fail(HEED_ERR_ARG, "token id %d at index %d is out of range (the "
                             "vocabulary has %d tokens)", ids[i], i, n_vocab);
    if (n > c->n_ctx - c->n_past)
        return heed_fail(HEED_ERR_ARG, "context is full: %d positions used, %d more "
                         "requested, the context holds n_ctx = %d (a larger n_ctx in "
                         "heed_context_params holds more)", c->n_past, n, c->n_ctx);
    return HEED_OK;
}

heed_status heed_context_eval(heed_context *c, const int32_t *ids, int n, float *logits,
                              bool all_logits)
{
    const int32_t n_vocab = c->m->hp.n_vocab;
    if (heed_model_is_encoder(c->m))
        return heed_fail(HEED_ERR_UNSUPPORTED, "'%s' is an encoder: it embeds text and has no "
                         "next-token logits (use embed)", c->m->arch->name);
    heed_status st = check_tokens(c, ids, n);
    if (st)
        return st;
    if (c->cross_k && !c->n_enc)
        return heed_fail(HEED_ERR_ARG, "'%s' is an encoder-decoder: encode the input "
                         "(heed_context_encode) before evaluating decoder tokens",
                         c->m->arch->name);
    for (int done = 0; done < n; done += c->batch) {
        const int b = n - done < c->batch ? n - done : c->batch;
        float *out = NULL;
        int first = b; /* no logits from this batch */
        if (logits && all_logits) {
            out = logits + (int64_t)done * n_vocab;
            first = 0;
        } else if (logits && done + b == n) {
            out = logits;
            first = b - 1;
        }
        forward_batch(c, ids + done, b, first, out);
    }
    return HEED_OK;
}

/* Whether c's tokens can share a pass with other contexts' rows: nothing
 * watches or edits its pass but an attention capture (recorded sequence by
 * sequence), and it has no encoding to cross-attend. A mixture of experts
 * records its routing by pass, so its captured contexts run alone. */
static bool batchable(const heed_context *c)
{
    return !(c->capture && c->m->hp.n_expert) && !c->hook_points && !c->edits && !c->qk_tap &&
           !c->residual && !c->cross_k;
}

heed_status heed_context_eval_many(heed_context *const *c, const int32_t *const *ids,
                                   const int *n_ids, int n, float *logits)
{
    if (n < 1 || !c || !ids || !n_ids)
        return heed_fail(HEED_ERR_ARG, "no contexts to evaluate");
    heed_context *ws = NULL; /* whose buffers and threads run the passes */
    for (int i = 0; i < n; i++) {
        if (!c[i] || c[i]->m != c[0]->m)
            return heed_fail(HEED_ERR_ARG, "context %d is %s", i,
                             c[i] ? "of another model than context 0" : "NULL");
        for (int j = 0; j < i; j++)
            if (c[j] == c[i])
                return heed_fail(HEED_ERR_ARG, "contexts %d and %d are the same", j, i);
        if (heed_model_is_encoder(c[i]->m))
            return heed_fail(HEED_ERR_UNSUPPORTED, "'%s' is an encoder: it has no next-token "
                             "logits", c[i]->m->arch->name);
        const heed_status st = check_tokens(c[i], ids[i], n_ids[i]);
        if (st) {
            char why[512];
            snprintf(why, sizeof why, "%s", heed_last_error());
            return heed_fail(st, "context %d: %s", i, why);
        }
        if (batchable(c[i]) && (!ws || c[i]->n_ctx > ws->n_ctx))
            ws = c[i]; /* its attention scratch holds any other's keys */
    }
    const int64_t V = c[0]->m->hp.n_vocab;
    int32_t *row_ids = ws ? malloc(sizeof *row_ids * (size_t)ws->batch) : NULL;
    heed_seq *seqs = ws ? malloc(sizeof *seqs * (size_t)ws->batch) : NULL;
    if (ws && (!row_ids || !seqs)) {
        free(row_ids);
        free(seqs);
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    }
    heed_status st = HEED_OK;
    for (int i = 0, done = 0; i < n && !st;) {
        if (!batchable(c[i])) {
            st = heed_context_eval(c[i], ids[i], n_ids[i], logits ? logits + i * V : NULL, false);
            i++;
            continue;
        }
        /* a pass: the batchable contexts from i on, as many rows as fit;
         * those that end in it are consecutive, so their logits are too */
        const int first_ctx = i;
        int rows = 0, n_seqs = 0;
        while (i < n && rows < ws->batch && batchable(c[i])) {
            const int left = n_ids[i] - done, take = left < ws->batch - rows ? left : ws->batch - rows;
            memcpy(row_ids + rows, ids[i] + done, sizeof *row_ids * (size_t)take);
            seqs[n_seqs++] = (heed_seq){c[i], rows, take, c[i]->n_past,
                                        take == left ? take - 1 : take};
            rows += take;
            done = take == left ? 0 : done + take;
            i += take == left;
        }
        forward_rows(ws, row_ids, seqs, n_seqs, logits ? logits + first_ctx * V : NULL);
    }
    free(row_ids);
    free(seqs);
    return st;
}

heed_status heed_context_embed(heed_context *c, const int32_t *ids, int n,
                               heed_pooling pooling, float *out)
{
    const heed_model *m = c->m;
    const int64_t E = m->hp.n_embd;
    if ((unsigned)pooling > HEED_POOLING_LAST)
        return heed_fail(HEED_ERR_ARG, "unknown pooling %d", (int)pooling);
    if (m->enc_layers)
        return heed_fail(HEED_ERR_UNSUPPORTED, "'%s' is an encoder-decoder: heed embeds "
                         "with its encoder-only form (t5encoder)", m->arch->name);
    heed_context_reset(c);
    heed_status st = check_tokens(c, ids, n);
    if (st)
        return st;
    if (heed_model_is_encoder(m) && n > c->batch)
        return heed_fail(HEED_ERR_ARG, "%d tokens do not fit the encoder's context of %d", n,
                         c->batch);
    /* Every token's final state: rows of c->x after each batch, normed by
     * the output norm where the model has one. */
    float *rows = pooling == HEED_POOLING_NONE ? out : malloc(sizeof(float) * (size_t)(n * E));
    if (!rows)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for %d x %lld embeddings", n,
                         (long long)E);
    for (int done = 0; done < n; done += c->batch) {
        const int b = n - done < c->batch ? n - done : c->batch;
        forward_batch(c, ids + done, b, b, NULL);
        if (m->output_norm)
            heed_forward_norm_rows(c, rows + done * E, c->x, m->output_norm, m->output_norm_b, b);
        else
            memcpy(rows + done * E, c->x, sizeof(float) * (size_t)(b * E));
    }
    if (pooling == HEED_POOLING_MEAN) {
        for (int64_t i = 0; i < E; i++) {
            double sum = 0;
            for (int t = 0; t < n; t++)
                sum += rows[t * E + i];
            out[i] = (float)(sum / n);
        }
    } else if (pooling != HEED_POOLING_NONE) {
        const int t = pooling == HEED_POOLING_CLS ? 0 : n - 1;
        memcpy(out, rows + t * E, sizeof(float) * (size_t)E);
    }
    if (rows != out)
        free(rows);
    return HEED_OK;
}

heed_status heed_context_capture(heed_context *c, const int32_t *ids, int n, int64_t max_bytes,
                                 heed_capture **out)
{
    *out = NULL;
    heed_capture_params p = heed_capture_default_params(n);
    p.max_bytes = max_bytes;
    heed_capture *cap;
    heed_status st = heed_capture_new(c->m, &p, &cap);
    if (st)
        return st;
    float *pooled = NULL;
    heed_context_reset(c);
    heed_context_set_capture(c, cap);
    if (!heed_model_is_encoder(c->m))
        st = heed_context_eval(c, ids, n, NULL, false);
    else if (!(pooled = malloc(sizeof *pooled * (size_t)c->m->hp.n_embd)))
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
    else /* the pooling is thrown away: the capture is the point */
        st = heed_context_embed(c, ids, n, HEED_POOLING_CLS, pooled);
    heed_context_set_capture(c, NULL);
    free(pooled);
    if (st)
        heed_capture_free(cap);
    else
        *out = cap;
    return st;
}

heed_status heed_context_lens(heed_context *c, const float *hidden, float *logits)
{
    const heed_model *m = c->m;
    if (heed_model_is_encoder(m))
        return heed_fail(HEED_ERR_UNSUPPORTED, "'%s' is an encoder: it has no output head",
                         m->arch->name);
    heed_forward_norm_rows(c, c->h, hidden, m->output_norm, m->output_norm_b, 1);
    output_head(c, c->h, 1, logits);
    return HEED_OK;
}
