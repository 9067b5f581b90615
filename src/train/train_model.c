/*
 * train_model.c — forward and backward passes of the decoder being
 * trained (see train_model.h), on the f32 matrix kernels and a thread
 * pool.
 *
 * Every matrix product is C = A·Bᵀ with both operands row-major along
 * the summed dimension — the form heed's f32 kernels tile (matmul.c).
 * For a linear layer Y = X·Wᵀ the backward products are dX = dY·W and
 * dW = dYᵀ·X; transposing W, X and dY first puts them in that form too.
 */
#include "train/train_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "train/grad_ops.h"
#include "util/error.h"
#include "util/splitmix.h"

/* Saved activations and scratch, for batch × seq = N rows. */
struct train_acts {
    int32_t *tokens;        /* [N] the batch's inputs, for the embedding backward */
    float *x;               /* [L+1][N][E] residual stream entering each layer, and the last */
    float *xb;              /* [L][N][E] after the attention residual */
    float *h1, *h2;         /* [L][N][E] normed inputs of attention and feed-forward */
    float *r1, *r2;         /* [L][N] their 1/rms */
    float *qkv;             /* [L][N][3E] q, k (rotated), v */
    float *P;               /* [L][B][H][T][T] attention weights */
    float *att;             /* [L][N][E] attention output, before attn_output */
    float *gu;              /* [L][N][2F] gate, up */
    float *a;               /* [L][N][F] silu(gate)·up */
    float *hf, *rf;         /* [N][E], [N] final norm */
    float *logits;          /* [N][V], then their gradient */
    double *row_loss;       /* [N] */
    float *rope;            /* [2][T][D] angles: rotating, then rotating back */
    /* backward scratch */
    float *dx, *dh, *dbig, *da, *wt, *xt, *dyt, *dw, *attn_tmp;
};

/* -------------------------------------------------------- parameters */

heed_status train_config_check(const train_config *c)
{
    if (c->n_vocab < 2 || c->n_ctx < 2 || c->n_embd < 2 || c->n_layer < 1 || c->n_head < 1 ||
        c->n_ff < 1)
        return heed_fail(HEED_ERR_ARG, "model sizes must be positive (vocab %d, ctx %d, embd %d, "
                         "layers %d, heads %d, ff %d)", c->n_vocab, c->n_ctx, c->n_embd,
                         c->n_layer, c->n_head, c->n_ff);
    if (c->n_embd % c->n_head || (c->n_embd / c->n_head) % 2)
        return heed_fail(HEED_ERR_ARG, "the width %d must split into %d heads of an even size",
                         c->n_embd, c->n_head);
    if (c->n_embd > 65536 || c->n_ff > 262144 || c->n_layer > 1024 || c->n_ctx > 65536 ||
        c->n_vocab > (1 << 20))
        return heed_fail(HEED_ERR_ARG, "model sizes are out of range");
    return HEED_OK;
}

static int64_t add_tensor(train_tensor *t, int *n, int64_t off, bool decay, int64_t rows,
                          int64_t cols, const char *fmt, int layer)
{
    if (t) {
        train_tensor *e = &t[*n];
        snprintf(e->name, sizeof e->name, fmt, layer);
        e->offset = off;
        e->rows = rows;
        e->cols = cols;
        e->decay = decay;
    }
    (*n)++;
    return off + rows * cols;
}

/* Lays the tensors out (t may be NULL to count); returns the parameter count. */
static int64_t layout(const train_config *c, train_tensor *t, int *n)
{
    const int64_t V = c->n_vocab, E = c->n_embd, F = c->n_ff;
    int64_t off = 0;
    *n = 0;
    off = add_tensor(t, n, off, true, V, E, "token_embd.weight", 0);
    for (int l = 0; l < c->n_layer; l++) {
        off = add_tensor(t, n, off, false, 1, E, "blk.%d.attn_norm.weight", l);
        off = add_tensor(t, n, off, true, 3 * E, E, "blk.%d.attn_qkv.weight", l);
        off = add_tensor(t, n, off, true, E, E, "blk.%d.attn_output.weight", l);
        off = add_tensor(t, n, off, false, 1, E, "blk.%d.ffn_norm.weight", l);
        off = add_tensor(t, n, off, true, 2 * F, E, "blk.%d.ffn_gate_up.weight", l);
        off = add_tensor(t, n, off, true, E, F, "blk.%d.ffn_down.weight", l);
    }
    off = add_tensor(t, n, off, false, 1, E, "output_norm.weight", 0);
    return off;
}

int64_t train_config_params(const train_config *cfg)
{
    int n;
    return layout(cfg, NULL, &n);
}

/* Float counts of the activations and scratch (see struct train_acts). */
typedef struct acts_size {
    int64_t x, xb, h, r, qkv, P, gu, a, hf, logits, rope, dbig, wt, xt, dyt;
} acts_size;

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
    const int64_t m = a > b ? a : b;
    return m > c ? m : c;
}

static acts_size sizes_of(const train_config *c, int batch, int seq)
{
    const int64_t N = (int64_t)batch * seq, E = c->n_embd, F = c->n_ff, V = c->n_vocab;
    const int64_t L = c->n_layer, H = c->n_head;
    acts_size s = {
        .x = (L + 1) * N * E, .xb = L * N * E, .h = L * N * E, .r = L * N,
        .qkv = L * N * 3 * E, .P = L * batch * H * seq * seq, .gu = L * N * 2 * F,
        .a = L * N * F, .hf = N * E, .logits = N * V, .rope = 2 * (int64_t)seq * (E / H),
        .dbig = N * (3 * E > 2 * F ? 3 * E : 2 * F),
        .wt = max3(V * E, 3 * E * E, 2 * F * E),
        .xt = N * (E > F ? E : F),
        .dyt = N * max3(V, 3 * E, 2 * F),
    };
    return s;
}

int64_t train_model_bytes(const train_config *c, int batch, int seq)
{
    const acts_size s = sizes_of(c, batch, seq);
    const int64_t N = (int64_t)batch * seq, E = c->n_embd;
    const int64_t floats = s.x + s.xb + 2 * s.h + 2 * s.r + s.qkv + s.P + s.h /* att */ + s.gu +
                           s.a + s.hf + N + s.logits + s.rope + 2 * N * E + s.dbig + N * c->n_ff +
                           2 * s.wt + s.xt + s.dyt + 64 * GRAD_ATTN_TMP(seq, E);
    return floats * 4 + N * (8 + 4) + train_config_params(c) * 4 * 4 /* θ, grad, Adam m, v */;
}

/* A standard normal number (Box–Muller). */
static double normal(uint64_t *s)
{
    const double u1 = ((double)(heed_splitmix64(s) >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = (double)(heed_splitmix64(s) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* GPT-2's initialisation: N(0, 0.02), the projections back into the
 * residual stream scaled by 1/√(2·layers), norms 1. */
static void init_params(train_model *m, uint64_t seed)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        const int64_t n = t->rows * t->cols;
        if (!t->decay) {
            for (int64_t j = 0; j < n; j++)
                p[j] = 1.0f;
            continue;
        }
        const bool proj = strstr(t->name, "attn_output") || strstr(t->name, "ffn_down");
        const double sd = proj ? 0.02 / sqrt(2.0 * m->cfg.n_layer) : 0.02;
        uint64_t s = seed ^ ((uint64_t)(i + 1) * 0xd1b54a32d192ed03u);
        for (int64_t j = 0; j < n; j++)
            p[j] = (float)(sd * normal(&s));
    }
}

void train_model_free(train_model *m)
{
    if (!m)
        return;
    if (m->acts) {
        struct train_acts *a = m->acts;
        float **bufs[] = {&a->x, &a->xb, &a->h1, &a->h2, &a->r1, &a->r2, &a->qkv, &a->P,
                          &a->att, &a->gu, &a->a, &a->hf, &a->rf, &a->logits, &a->rope, &a->dx,
                          &a->dh, &a->dbig, &a->da, &a->wt, &a->xt, &a->dyt, &a->dw,
                          &a->attn_tmp};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            free(*bufs[i]);
        free(a->row_loss);
        free(a->tokens);
        free(a);
    }
    heed_pool_free(m->pool);
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m);
}

static float *falloc(int64_t n, bool *ok)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p)
        *ok = false;
    return p;
}

heed_status train_model_new(const train_config *cfg, int batch, int seq, uint64_t seed,
                            int n_threads, train_model **out)
{
    *out = NULL;
    heed_status st = train_config_check(cfg);
    if (st)
        return st;
    if (batch < 1 || seq < 1 || seq > cfg->n_ctx)
        return heed_fail(HEED_ERR_ARG, "a batch needs at least one sequence of 1..%d tokens",
                         cfg->n_ctx);
    train_model *m = calloc(1, sizeof *m);
    if (!m)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    m->cfg = *cfg;
    m->batch = batch;
    m->seq = seq;
    m->n_params = layout(cfg, NULL, &m->n_tensors);
    m->tensors = calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->acts = calloc(1, sizeof *m->acts);
    bool ok = m->tensors && m->acts;
    if (ok) {
        int n;
        layout(cfg, m->tensors, &n);
    }
    m->params = falloc(m->n_params, &ok);
    m->grads = falloc(m->n_params, &ok);
    if ((st = heed_pool_new(n_threads, &m->pool))) {
        train_model_free(m);
        return st;
    }
    const acts_size s = sizes_of(cfg, batch, seq);
    const int64_t N = (int64_t)batch * seq, E = cfg->n_embd;
    struct train_acts *a = m->acts;
    if (a) {
        a->x = falloc(s.x, &ok);
        a->xb = falloc(s.xb, &ok);
        a->h1 = falloc(s.h, &ok);
        a->h2 = falloc(s.h, &ok);
        a->r1 = falloc(s.r, &ok);
        a->r2 = falloc(s.r, &ok);
        a->qkv = falloc(s.qkv, &ok);
        a->P = falloc(s.P, &ok);
        a->att = falloc(s.h, &ok);
        a->gu = falloc(s.gu, &ok);
        a->a = falloc(s.a, &ok);
        a->hf = falloc(s.hf, &ok);
        a->rf = falloc(N, &ok);
        a->logits = falloc(s.logits, &ok);
        a->rope = falloc(s.rope, &ok);
        a->dx = falloc(N * E, &ok);
        a->dh = falloc(N * E, &ok);
        a->dbig = falloc(s.dbig, &ok);
        a->da = falloc(N * cfg->n_ff, &ok);
        a->wt = falloc(s.wt, &ok);
        a->dw = falloc(s.wt, &ok);
        a->xt = falloc(s.xt, &ok);
        a->dyt = falloc(s.dyt, &ok);
        a->attn_tmp = falloc(heed_pool_size(m->pool) * GRAD_ATTN_TMP(seq, E / cfg->n_head), &ok);
        a->row_loss = malloc(sizeof *a->row_loss * (size_t)N);
        a->tokens = malloc(sizeof *a->tokens * (size_t)N);
        ok = ok && a->row_loss && a->tokens;
    }
    if (!ok) {
        train_model_free(m);
        return heed_fail(HEED_ERR_NOMEM, "out of memory for a model of %lld parameters with "
                         "batches of %d × %d tokens (%.0f MiB)", (long long)train_config_params(cfg),
                         batch, seq, train_model_bytes(cfg, batch, seq) / 1048576.0);
    }
    const int D = cfg->n_embd / cfg->n_head;
    for (int t = 0; t < seq; t++) {
        float *cs = a->rope + (int64_t)t * D;
        const heed_rope rope = heed_rope_plain(cfg->rope_base);
        heed_rope_angles(cs, t, D, &rope);
        grad_rope_back_angles(cs + (int64_t)seq * D, cs, D);
    }
    init_params(m, seed);
    train_model_zero_grads(m);
    *out = m;
    return HEED_OK;
}

void train_model_zero_grads(train_model *m)
{
    memset(m->grads, 0, sizeof *m->grads * (size_t)m->n_params);
}

/* ---------------------------------------------------- parallel pieces */

/* C[n·M + m] = A[m]·B[n] over K, the threads sharing A's rows. */
typedef struct gemm_job {
    float *C;
    const float *A, *B;
    int64_t M, N, K;
} gemm_job;

static void gemm_rows(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const gemm_job *g = ctx;
    heed_matmul_rows(HEED_TYPE_F32, g->A, g->K, b, e, g->B, g->N, g->C, g->M);
}

static void gemm_abt(heed_pool *p, float *C, const float *A, int64_t M, const float *B, int64_t N,
                     int64_t K)
{
    gemm_job g = {C, A, B, M, N, K};
    heed_pool_for(p, M, gemm_rows, &g);
}

/* dst[c][r] = src[r][c], src rows × cols; the threads share column blocks. */
typedef struct transpose_job {
    float *dst;
    const float *src;
    int64_t rows, cols;
} transpose_job;

static void transpose_cols(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const transpose_job *t = ctx;
    enum { BLK = 32 };
    for (int64_t r0 = 0; r0 < t->rows; r0 += BLK)
        for (int64_t c0 = b; c0 < e; c0 += BLK) {
            const int64_t r1 = r0 + BLK < t->rows ? r0 + BLK : t->rows;
            const int64_t c1 = c0 + BLK < e ? c0 + BLK : e;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++)
                    t->dst[c * t->rows + r] = t->src[r * t->cols + c];
        }
}

static void transpose(heed_pool *p, float *dst, const float *src, int64_t rows, int64_t cols)
{
    transpose_job t = {dst, src, rows, cols};
    heed_pool_for(p, cols, transpose_cols, &t);
}

/* dst[i] += src[i] */
typedef struct add_job {
    float *dst;
    const float *src;
} add_job;

static void add_range(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const add_job *j = ctx;
    for (int64_t i = b; i < e; i++)
        j->dst[i] += j->src[i];
}

static void add(heed_pool *p, float *dst, const float *src, int64_t n)
{
    add_job j = {dst, src};
    heed_pool_for(p, n, add_range, &j);
}

/* Y[N][O] = X[N][K]·W[O][K]ᵀ */
static void linear_fwd(train_model *m, float *Y, const float *X, const float *W, int64_t N,
                       int64_t K, int64_t O)
{
    gemm_abt(m->pool, Y, W, O, X, N, K);
}

/* dX[N][K] = dY·W (set; skipped if dX is NULL) and dW[O][K] += dYᵀ·X. */
static void linear_bwd(train_model *m, float *dX, float *dW, const float *dY, const float *X,
                       const float *W, int64_t N, int64_t K, int64_t O)
{
    struct train_acts *a = m->acts;
    if (dX) {
        transpose(m->pool, a->wt, W, O, K);
        gemm_abt(m->pool, dX, a->wt, K, dY, N, O);
    }
    transpose(m->pool, a->xt, X, N, K);
    transpose(m->pool, a->dyt, dY, N, O);
    gemm_abt(m->pool, a->dw, a->xt, K, a->dyt, O, N);
    add(m->pool, dW, a->dw, O * K);
}

/* ------------------------------------------------------- row passes */

typedef struct norm_job {
    float *y, *r, *dx, *dw;
    const float *x, *w, *dy;
    int n;
    float eps;
} norm_job;

static void norm_fwd_rows(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const norm_job *j = ctx;
    for (int64_t t = b; t < e; t++)
        j->r[t] = grad_rmsnorm_fwd(j->y + t * j->n, j->x + t * j->n, j->w, j->n, j->eps);
}

static void norm_bwd_rows(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const norm_job *j = ctx;
    for (int64_t t = b; t < e; t++)
        grad_rmsnorm_bwd(j->dx + t * j->n, NULL, j->dy + t * j->n, j->x + t * j->n, j->w, j->r[t],
                         j->n);
}

/* dw[c] += Σ_t dy[t][c]·x[t][c]·r[t], the threads sharing columns. */
typedef struct norm_dw_job {
    const norm_job *j;
    int64_t rows;
} norm_dw_job;

static void norm_dw_cols(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const norm_dw_job *d = ctx;
    const norm_job *j = d->j;
    for (int64_t c = b; c < e; c++) {
        double s = 0.0;
        for (int64_t t = 0; t < d->rows; t++)
            s += (double)j->dy[t * j->n + c] * j->x[t * j->n + c] * j->r[t];
        j->dw[c] += (float)s;
    }
}

static void norm_fwd(train_model *m, float *y, float *r, const float *x, const float *w, int64_t N)
{
    norm_job j = {.y = y, .r = r, .x = x, .w = w, .n = m->cfg.n_embd, .eps = m->cfg.norm_eps};
    heed_pool_for(m->pool, N, norm_fwd_rows, &j);
}

/* dx += d/dx, dw += d/dw of y = rmsnorm(x)·w, given dy. */
static void norm_bwd(train_model *m, float *dx, float *dw, const float *dy, const float *x,
                     const float *w, const float *r, int64_t N)
{
    norm_job j = {.r = (float *)r, .dx = dx, .dw = dw, .x = x, .w = w, .dy = dy,
                  .n = m->cfg.n_embd};
    heed_pool_for(m->pool, N, norm_bwd_rows, &j);
    norm_dw_job d = {&j, N};
    heed_pool_for(m->pool, m->cfg.n_embd, norm_dw_cols, &d);
}

typedef struct rope_job {
    float *qkv;
    const float *angles; /* [T][D] */
    int seq, n_head, D;
    int64_t E;
} rope_job;

static void rope_rows(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const rope_job *j = ctx;
    for (int64_t t = b; t < e; t++) {
        const float *cs = j->angles + (t % j->seq) * j->D;
        heed_rope_apply(j->qkv + t * 3 * j->E, j->n_head, j->D, j->D, cs, 0);        /* q */
        heed_rope_apply(j->qkv + t * 3 * j->E + j->E, j->n_head, j->D, j->D, cs, 0); /* k */
    }
}

/* Rotates q and k of N rows (sign 1), or their gradients back (sign -1). */
static void rope(train_model *m, float *qkv, int64_t N, int sign)
{
    const int D = m->cfg.n_embd / m->cfg.n_head;
    const float *angles = m->acts->rope + (sign < 0 ? (int64_t)m->seq * D : 0);
    rope_job j = {qkv, angles, m->seq, m->cfg.n_head, D, m->cfg.n_embd};
    heed_pool_for(m->pool, N, rope_rows, &j);
}

typedef struct attn_job {
    train_model *m;
    int layer;
    const float *dO;
    float *dqkv;
} attn_job;

/* One (sequence, head) pair per item. */
static void attn_items(void *ctx, int64_t b, int64_t e, int ith)
{
    const attn_job *j = ctx;
    const train_config *c = &j->m->cfg;
    struct train_acts *a = j->m->acts;
    const int T = j->m->seq, H = c->n_head, D = c->n_embd / H;
    const int64_t E = c->n_embd, N = (int64_t)j->m->batch * T;
    const float scale = 1.0f / sqrtf((float)D);
    for (int64_t it = b; it < e; it++) {
        const int64_t s = it / H, h = it % H;
        const float *qkv = a->qkv + j->layer * N * 3 * E + s * T * 3 * E + h * D;
        float *P = a->P + (((int64_t)j->layer * j->m->batch + s) * H + h) * T * T;
        if (!j->dO) {
            float *o = a->att + j->layer * N * E + s * T * E + h * D;
            grad_attn_fwd(o, P, a->attn_tmp + ith * GRAD_ATTN_TMP(T, D), qkv, qkv + E,
                          qkv + 2 * E, T, 3 * E, E, D, scale);
        } else {
            float *d = j->dqkv + s * T * 3 * E + h * D;
            grad_attn_bwd(d, d + E, d + 2 * E, a->attn_tmp + ith * GRAD_ATTN_TMP(T, D),
                          j->dO + s * T * E + h * D, P, qkv, qkv + E, qkv + 2 * E, T, 3 * E, E,
                          D, scale);
        }
    }
}

typedef struct swiglu_job {
    float *a, *dgu;
    const float *gu, *da;
    int64_t F;
} swiglu_job;

static void swiglu_rows(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const swiglu_job *j = ctx;
    for (int64_t t = b; t < e; t++) {
        const float *g = j->gu + t * 2 * j->F;
        if (!j->da)
            grad_swiglu_fwd(j->a + t * j->F, g, g + j->F, (int)j->F);
        else
            grad_swiglu_bwd(j->dgu + t * 2 * j->F, j->dgu + t * 2 * j->F + j->F,
                            j->da + t * j->F, g, g + j->F, (int)j->F);
    }
}

typedef struct xent_job {
    float *logits;
    const int32_t *targets;
    double *loss;
    int V;
    float scale;
} xent_job;

static void xent_rows(void *ctx, int64_t b, int64_t e, int ith)
{
    (void)ith;
    const xent_job *j = ctx;
    for (int64_t t = b; t < e; t++)
        j->loss[t] = grad_xent(j->logits + t * j->V, j->logits + t * j->V, j->V, j->targets[t],
                               j->scale);
}

/* -------------------------------------------------------- the passes */

#define LAYER(base, per) ((base) + (int64_t)l * (per))

heed_status train_model_step(train_model *m, const int32_t *tokens, const int32_t *targets,
                             int n_seqs, bool backward, float grad_scale, double *loss,
                             float *logits)
{
    const train_config *c = &m->cfg;
    struct train_acts *a = m->acts;
    if (n_seqs < 1 || n_seqs > m->batch)
        return heed_fail(HEED_ERR_ARG, "a step takes 1..%d sequences", m->batch);
    const int64_t T = m->seq, N = n_seqs * T, E = c->n_embd, F = c->n_ff, V = c->n_vocab;
    const int L = c->n_layer;
    for (int64_t t = 0; t < N; t++)
        if (tokens[t] < 0 || tokens[t] >= V || (targets && (targets[t] < 0 || targets[t] >= V)))
            return heed_fail(HEED_ERR_ARG, "token id out of range at row %lld", (long long)t);
    const float *P = m->params;
    float *G = m->grads;
    const train_tensor *tt = m->tensors; /* embd, then 6 per layer, then output_norm */
#define W(l, i) (P + tt[1 + 6 * (l) + (i)].offset)
#define DW(l, i) (G + tt[1 + 6 * (l) + (i)].offset)
    const float *embd = P + tt[0].offset, *out_norm = P + tt[1 + 6 * L].offset;

    /* the batch may be smaller than the buffers: rows keep their stride,
     * attention runs over the sequences given */
    const int batch = m->batch;
    m->batch = n_seqs;
    memcpy(a->tokens, tokens, sizeof *tokens * (size_t)N);
    for (int64_t t = 0; t < N; t++)
        memcpy(a->x + t * E, embd + (int64_t)tokens[t] * E, sizeof(float) * (size_t)E);
    for (int l = 0; l < L; l++) {
        float *x = LAYER(a->x, N * E), *xb = LAYER(a->xb, N * E), *xn = LAYER(a->x, N * E) + N * E;
        float *h1 = LAYER(a->h1, N * E), *h2 = LAYER(a->h2, N * E);
        float *qkv = LAYER(a->qkv, N * 3 * E), *att = LAYER(a->att, N * E);
        float *gu = LAYER(a->gu, N * 2 * F), *act = LAYER(a->a, N * F);
        norm_fwd(m, h1, LAYER(a->r1, N), x, W(l, 0), N);
        linear_fwd(m, qkv, h1, W(l, 1), N, E, 3 * E);
        rope(m, qkv, N, 1);
        attn_job aj = {m, l, NULL, NULL};
        heed_pool_for(m->pool, (int64_t)n_seqs * c->n_head, attn_items, &aj);
        linear_fwd(m, xb, att, W(l, 2), N, E, E);
        add(m->pool, xb, x, N * E);
        norm_fwd(m, h2, LAYER(a->r2, N), xb, W(l, 3), N);
        linear_fwd(m, gu, h2, W(l, 4), N, E, 2 * F);
        swiglu_job sj = {act, NULL, gu, NULL, F};
        heed_pool_for(m->pool, N, swiglu_rows, &sj);
        linear_fwd(m, xn, act, W(l, 5), N, F, E);
        add(m->pool, xn, xb, N * E);
    }
    const float *xL = a->x + (int64_t)L * N * E;
    norm_fwd(m, a->hf, a->rf, xL, out_norm, N);
    linear_fwd(m, a->logits, a->hf, embd, N, E, V);
    if (logits)
        memcpy(logits, a->logits, sizeof *logits * (size_t)(N * V));
    if (!targets) {
        m->batch = batch;
        return HEED_OK;
    }
    xent_job xj = {a->logits, targets, a->row_loss, (int)V, backward ? grad_scale : 0.0f};
    heed_pool_for(m->pool, N, xent_rows, &xj);
    double sum = 0.0;
    for (int64_t t = 0; t < N; t++)
        sum += a->row_loss[t];
    if (loss)
        *loss = sum;
    if (!backward) {
        m->batch = batch;
        return HEED_OK;
    }

    /* backward: a->logits now holds dL/dlogits */
    float *dx = a->dx, *dh = a->dh;
    float *dembd = G + tt[0].offset;
    linear_bwd(m, dh, dembd, a->logits, a->hf, embd, N, E, V);
    memset(dx, 0, sizeof *dx * (size_t)(N * E));
    norm_bwd(m, dx, G + tt[1 + 6 * L].offset, dh, xL, out_norm, a->rf, N);
    for (int l = L - 1; l >= 0; l--) {
        float *x = LAYER(a->x, N * E), *xb = LAYER(a->xb, N * E);
        float *h1 = LAYER(a->h1, N * E), *h2 = LAYER(a->h2, N * E), *att = LAYER(a->att, N * E);
        float *gu = LAYER(a->gu, N * 2 * F), *act = LAYER(a->a, N * F);
        linear_bwd(m, a->da, DW(l, 5), dx, act, W(l, 5), N, F, E);
        swiglu_job sj = {NULL, a->dbig, gu, a->da, F};
        heed_pool_for(m->pool, N, swiglu_rows, &sj);
        linear_bwd(m, dh, DW(l, 4), a->dbig, h2, W(l, 4), N, E, 2 * F);
        norm_bwd(m, dx, DW(l, 3), dh, xb, W(l, 3), LAYER(a->r2, N), N);
        linear_bwd(m, dh, DW(l, 2), dx, att, W(l, 2), N, E, E);
        attn_job aj = {m, l, dh, a->dbig};
        heed_pool_for(m->pool, (int64_t)n_seqs * c->n_head, attn_items, &aj);
        rope(m, a->dbig, N, -1);
        linear_bwd(m, dh, DW(l, 1), a->dbig, h1, W(l, 1), N, E, 3 * E);
        norm_bwd(m, dx, DW(l, 0), dh, x, W(l, 0), LAYER(a->r1, N), N);
    }
    for (int64_t t = 0; t < N; t++) { /* rows of one token add up: serial */
        float *d = dembd + (int64_t)tokens[t] * E;
        for (int64_t i = 0; i < E; i++)
            d[i] += dx[t * E + i];
    }
    m->batch = batch;
    return HEED_OK;
#undef W
#undef DW
}
