/*
 * attribute.c — direct logit attribution: a token's logit at the last
 * position split into what each part of the model wrote into the residual
 * stream there — the embedding, each head of each layer, each MLP, the
 * steering vectors and the biases — read through the final norm with its
 * scale frozen at the run's value, as TransformerLens does. The stream is
 * the sum of those writes, so the parts sum to the logit.
 *
 * A head's write is W_O's columns for that head times its z, computed by
 * the model's own matrix product on z with every other head zeroed; a
 * sub-block normed after it (gemma's post norms) is frozen the same way.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "model/context.h"
#include "tensor/quant.h"
#include "util/error.h"

/* The rows of the last position the forward pass showed the hook. */
typedef struct taps {
    int pos, n_embd, q_width;
    float *embed;  /* [n_embd] the stream into block 0                        */
    float *z;      /* [n_layer][q_width] each layer's head outputs             */
    float *mlp;    /* [n_layer][n_embd]                                       */
    float *final;  /* [n_embd] the stream out of the last block              */
    float *normed; /* [n_embd] the final norm's output                        */
    int n_layer;
} taps;

static void on_tap(void *user, heed_activation *a)
{
    taps *t = user;
    const int row = t->pos - a->pos0;
    if (row < 0 || row >= a->n)
        return;
    const float *src = a->data + (int64_t)row * a->width;
    float *dst = NULL;
    switch (a->point) {
    case HEED_HOOK_RESID_PRE: dst = a->layer == 0 ? t->embed : NULL; break;
    case HEED_HOOK_Z: dst = t->z + (int64_t)a->layer * t->q_width; break;
    case HEED_HOOK_MLP_OUT: dst = t->mlp + (int64_t)a->layer * t->n_embd; break;
    case HEED_HOOK_RESID_POST: dst = a->layer == t->n_layer - 1 ? t->final : NULL; break;
    case HEED_HOOK_LN_FINAL: dst = t->normed; break;
    default: break;
    }
    if (dst)
        memcpy(dst, src, sizeof *dst * (size_t)a->width);
}

/* A norm with its statistics frozen: y = w ⊙ (x - centre) · inv + b, with
 * centre the mean of x for a layer norm (0 for RMS) — linear in x but for
 * b, which goes to the biases. */
typedef struct frozen_norm {
    const float *w;
    double inv;
    bool layer_norm;
} frozen_norm;

static frozen_norm freeze(const heed_model *m, const float *w, const double *x)
{
    const int64_t E = m->hp.n_embd;
    const bool ln = m->arch->norm == NORM_LAYER;
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < E; i++)
        mean += x[i];
    mean = ln ? mean / (double)E : 0;
    for (int64_t i = 0; i < E; i++)
        sq += (x[i] - mean) * (x[i] - mean);
    return (frozen_norm){w, 1 / sqrt(sq / (double)E + m->hp.norm_eps), ln};
}

/* y = the frozen norm of x (its linear part), n_embd doubles. */
static void apply_frozen(const frozen_norm *f, const double *x, double *y, int64_t E)
{
    double mean = 0;
    for (int64_t i = 0; f->layer_norm && i < E; i++)
        mean += x[i];
    mean = f->layer_norm ? mean / (double)E : 0;
    for (int64_t i = 0; i < E; i++)
        y[i] = (f->w ? f->w[i] : 1.0) * (x[i] - mean) * f->inv;
}

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void to_double(double *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i];
}

/* The output matrix's row of token as floats: the file's row where the
 * model keeps a packed copy. */
static heed_status output_row(const heed_model *m, int32_t token, float *out)
{
    const heed_weight *w = &m->output;
    const void *rows = w->data;
    if (w->packed) {
        const heed_gguf_tensor *t = m->gguf ? heed_gguf_find_tensor(m->gguf, "output.weight")
                                            : NULL;
        rows = t ? t->data : m->token_embd.data;
        if (!rows)
            return heed_fail(HEED_ERR_ARG, "attribution: the output matrix's rows are not at hand");
    }
    const size_t row = heed_type_row_size(w->type, w->n_in);
    heed_type_get(w->type)->to_float((const char *)rows + row * (size_t)token, out, w->n_in);
    return HEED_OK;
}

/* Each head's write of layer il at the tapped position, after the layer's
 * post norm where it has one: heads[h] for its n_embd doubles; the bias's
 * write into bias. */
static void head_writes(heed_context *c, int il, const float *z, float *masked, float *y,
                        double *heads, double *bias, double *sum)
{
    const heed_model *m = c->m;
    const heed_layer *L = &m->layers[il];
    const int H = m->hp.n_head, D = m->hp.head_dim;
    const int64_t E = m->hp.n_embd, Q = (int64_t)H * D;
    memset(masked, 0, sizeof *masked * (size_t)(H * Q));
    for (int h = 0; h < H; h++)
        memcpy(masked + h * Q + h * D, z + h * D, sizeof *z * (size_t)D);
    heed_forward_matmul(c, &L->wo, masked, H, y);
    for (int64_t i = 0; i < H * E; i++)
        heads[i] = y[i];
    for (int64_t i = 0; i < E; i++)
        bias[i] = L->bo ? L->bo[i] : 0;
    if (!L->attn_post_norm)
        return;
    for (int64_t i = 0; i < E; i++) {
        sum[i] = bias[i];
        for (int h = 0; h < H; h++)
            sum[i] += heads[h * E + i];
    }
    const frozen_norm f = freeze(m, L->attn_post_norm, sum);
    for (int h = 0; h < H; h++) {
        memcpy(sum, heads + h * E, sizeof *sum * (size_t)E);
        apply_frozen(&f, sum, heads + h * E, E);
    }
    memcpy(sum, bias, sizeof *sum * (size_t)E);
    apply_frozen(&f, sum, bias, E);
}

void heed_attribution_free(heed_attribution *a)
{
    if (!a)
        return;
    free(a->heads);
    free(a->mlp);
    memset(a, 0, sizeof *a);
}

heed_status heed_context_attribute(heed_context *c, const int32_t *ids, int n, int32_t token,
                                   int32_t foil, heed_attribution *out)
{
    memset(out, 0, sizeof *out);
    const heed_model *m = c->m;
    const heed_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim;
    if (m->arch->post_norm || m->arch->mask != HEED_MASK_CAUSAL)
        return heed_fail(HEED_ERR_ARG, "attribution: %s normalises the stream after each block; "
                         "the parts do not add up to its logits", m->arch->name);
    if (!ids || n <= 0 || token < 0 || token >= hp->n_vocab || foil >= hp->n_vocab)
        return heed_fail(HEED_ERR_ARG, "attribution: no prompt, or a token out of range");
    if (hp->n_head > c->batch)
        return heed_fail(HEED_ERR_ARG, "attribution: %d heads do not fit a batch", hp->n_head);

    taps t = {.pos = n - 1, .n_embd = (int)E, .q_width = (int)Q, .n_layer = hp->n_layer};
    t.embed = malloc(sizeof(float) * (size_t)E);
    t.z = malloc(sizeof(float) * (size_t)(hp->n_layer * Q));
    t.mlp = malloc(sizeof(float) * (size_t)(hp->n_layer * E));
    t.final = malloc(sizeof(float) * (size_t)E);
    t.normed = malloc(sizeof(float) * (size_t)E);
    float *logits = malloc(sizeof(float) * (size_t)hp->n_vocab);
    float *row = malloc(sizeof(float) * (size_t)E);
    float *masked = malloc(sizeof(float) * (size_t)(hp->n_head * Q));
    float *y = malloc(sizeof(float) * (size_t)(hp->n_head * E));
    double *u = malloc(sizeof(double) * (size_t)E);   /* the logit's direction */
    double *v = calloc((size_t)E, sizeof(double));
    double *w = calloc((size_t)E, sizeof(double));
    double *heads = malloc(sizeof(double) * (size_t)(hp->n_head * E));
    double *bias = malloc(sizeof(double) * (size_t)E);
    out->heads = calloc((size_t)(hp->n_layer * hp->n_head), sizeof *out->heads);
    out->mlp = calloc((size_t)hp->n_layer, sizeof *out->mlp);
    heed_status st = HEED_OK;
    if (!t.embed || !t.z || !t.mlp || !t.final || !t.normed || !logits || !row || !masked || !y || !u ||
        !v || !w || !heads || !bias || !out->heads || !out->mlp)
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");

    if (!st)
        st = heed_forward_eval_tapped(c, ids, n, logits, false,
                                      1u << HEED_HOOK_RESID_PRE | 1u << HEED_HOOK_Z |
                                          1u << HEED_HOOK_MLP_OUT | 1u << HEED_HOOK_RESID_POST |
                                          1u << HEED_HOOK_LN_FINAL,
                                      on_tap, &t);
    if (!st)
        st = output_row(m, token, row);
    if (!st) {
        out->token = token;
        out->foil = foil;
        out->position = n - 1;
        out->model_logit = logits[token] - (foil >= 0 ? logits[foil] : 0);
        for (int64_t i = 0; i < E; i++)
            u[i] = row[i];
        if (foil >= 0 && !(st = output_row(m, foil, row)))
            for (int64_t i = 0; i < E; i++)
                u[i] -= row[i];
    }
    if (!st) {
        to_double(v, t.normed, E);
        out->logit = dot(u, v, E);
    }
    if (!st) {
        /* the final norm, frozen: a part's logit is u · norm(part) */
        to_double(v, t.final, E);
        const frozen_norm final = freeze(m, m->output_norm, v);
        out->scale = final.inv;
#define PART(x) (apply_frozen(&final, (x), w, E), dot(u, w, E))
        to_double(v, t.embed, E);
        out->embed = PART(v);
        double bias_sum = 0;
        for (int64_t i = 0; m->output_norm_b && i < E; i++)
            bias_sum += u[i] * m->output_norm_b[i];
        for (int il = 0; il < hp->n_layer; il++) {
            const heed_layer *L = &m->layers[il];
            head_writes(c, il, t.z + il * Q, masked, y, heads, bias, v);
            for (int h = 0; h < hp->n_head; h++)
                out->heads[il * hp->n_head + h] = PART(heads + h * E);
            bias_sum += PART(bias);
            /* the FFN's output bias is a bias, where no norm follows it */
            const float *b = L->ffn_post_norm ? NULL : L->b_down;
            for (int64_t i = 0; i < E; i++) {
                v[i] = t.mlp[il * E + i] - (b ? b[i] : 0);
                bias[i] = b ? b[i] : 0;
            }
            out->mlp[il] = PART(v);
            bias_sum += PART(bias);
            if (c->steering && il >= c->steer_begin && il <= c->steer_end) {
                to_double(v, c->steering + il * E, E);
                out->steer += PART(v);
            }
        }
#undef PART
        out->bias = bias_sum;
        out->total = out->embed + out->bias + out->steer;
        for (int i = 0; i < hp->n_layer * hp->n_head; i++)
            out->total += out->heads[i];
        for (int il = 0; il < hp->n_layer; il++)
            out->total += out->mlp[il];
    }
    heed_context_reset(c);
    free(t.embed);
    free(t.z);
    free(t.mlp);
    free(t.final);
    free(t.normed);
    free(logits);
    free(row);
    free(masked);
    free(y);
    free(u);
    free(v);
    free(w);
    free(heads);
    free(bias);
    if (st)
        heed_attribution_free(out);
    return st;
}
