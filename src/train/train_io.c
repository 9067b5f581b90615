/* train_io.c — saving and loading a model in training (see train_io.h). */
#include "train/train_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/convert.h"
#include "util/error.h"

/* One GGUF tensor cut from a training tensor: q, k, v are stored apart,
 * as Llama files name them, and so are gate and up. */
typedef struct piece {
    char name[48];
    int64_t offset, rows, cols;
} piece;

/* The pieces of m's tensors, in file order; returns their count (≤ cap). */
static int pieces_of(const train_model *m, piece *out, int cap)
{
    int n = 0;
    for (int i = 0; i < m->n_tensors && n < cap; i++) {
        const train_tensor *t = &m->tensors[i];
        const char *cut = strstr(t->name, "attn_qkv") ? "qkv" : strstr(t->name, "ffn_gate_up") ? "gu"
                                                                                               : NULL;
        if (!cut) {
            piece p = {.offset = t->offset, .rows = t->rows, .cols = t->cols};
            snprintf(p.name, sizeof p.name, "%s", t->name);
            out[n++] = p;
            continue;
        }
        int layer = 0;
        sscanf(t->name, "blk.%d.", &layer);
        static const char *const qkv[] = {"attn_q", "attn_k", "attn_v"};
        static const char *const gu[] = {"ffn_gate", "ffn_up"};
        const int parts = cut[0] == 'q' ? 3 : 2;
        for (int j = 0; j < parts && n < cap; j++) {
            piece p = {.rows = t->rows / parts, .cols = t->cols};
            p.offset = t->offset + j * p.rows * p.cols;
            snprintf(p.name, sizeof p.name, "blk.%d.%s.weight", layer, parts == 3 ? qkv[j] : gu[j]);
            out[n++] = p;
        }
    }
    return n;
}

enum { MAX_PIECES = 16 + 9 * 1024 };

typedef struct float_rows {
    const float *data;
} float_rows;

static void copy_row(const void *ctx, int64_t row, float *out, int64_t ne0)
{
    memcpy(out, ((const float_rows *)ctx)->data + row * ne0, sizeof(float) * (size_t)ne0);
}

static heed_status set_metadata(heed_gguf_writer *w, const train_model *m, const heed_gguf *tok,
                                const heed_train_params *p, const train_info *info, int type)
{
    const train_config *c = &m->cfg;
    heed_status st = HEED_OK;
    char name[256];
    snprintf(name, sizeof name, "%s", p->name ? p->name : info->corpus);
#define SET(call) if (!st) st = (call)
    SET(heed_gguf_writer_set_str(w, "general.architecture", "llama"));
    SET(heed_gguf_writer_set_str(w, "general.name", name));
    SET(heed_gguf_writer_set_u32(w, "general.file_type", (uint32_t)heed_file_type_of(type)));
    SET(heed_gguf_writer_set_u32(w, "general.quantization_version", 2));
    SET(heed_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)c->n_ctx));
    SET(heed_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)c->n_embd));
    SET(heed_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)c->n_layer));
    SET(heed_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)c->n_ff));
    SET(heed_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)c->n_head));
    SET(heed_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_head));
    SET(heed_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps));
    SET(heed_gguf_writer_set_f32(w, "llama.rope.freq_base", c->rope_base));
    SET(heed_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)(c->n_embd / c->n_head)));
    SET(heed_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)c->n_vocab));
    for (int64_t i = 0; i < heed_gguf_n_kv(tok) && !st; i++)
        if (!strncmp(heed_gguf_kv_key(tok, i), "tokenizer.", 10))
            st = heed_gguf_writer_set(w, heed_gguf_kv_key(tok, i), heed_gguf_kv_value(tok, i));
    SET(heed_gguf_writer_set_str(w, "training.corpus", info->corpus));
    SET(heed_gguf_writer_set_u64(w, "training.corpus_bytes", (uint64_t)info->corpus_bytes));
    SET(heed_gguf_writer_set_u64(w, "training.corpus_tokens", (uint64_t)info->corpus_tokens));
    SET(heed_gguf_writer_set_u64(w, "training.steps", (uint64_t)info->step));
    SET(heed_gguf_writer_set_u64(w, "training.planned_steps", (uint64_t)info->n_steps));
    SET(heed_gguf_writer_set_u64(w, "training.tokens_seen", (uint64_t)info->tokens_seen));
    SET(heed_gguf_writer_set_f32(w, "training.train_loss", (float)info->train_loss));
    SET(heed_gguf_writer_set_f32(w, "training.val_loss", (float)info->val_loss));
    SET(heed_gguf_writer_set_f32(w, "training.seconds", (float)info->seconds));
    SET(heed_gguf_writer_set_u64(w, "training.seed", p->seed));
    SET(heed_gguf_writer_set_u32(w, "training.batch", (uint32_t)p->batch));
    SET(heed_gguf_writer_set_u32(w, "training.accum", (uint32_t)p->accum));
    SET(heed_gguf_writer_set_u32(w, "training.warmup", (uint32_t)p->warmup));
    SET(heed_gguf_writer_set_f32(w, "training.lr", p->lr));
    SET(heed_gguf_writer_set_f32(w, "training.min_lr", p->min_lr));
    SET(heed_gguf_writer_set_f32(w, "training.weight_decay", p->weight_decay));
    SET(heed_gguf_writer_set_f32(w, "training.clip", p->clip));
    SET(heed_gguf_writer_set_f32(w, "training.val_fraction", p->val_fraction));
#undef SET
    return st;
}

heed_status train_save(const train_model *m, const heed_gguf *tok, const heed_train_params *p,
                       const train_info *info, const float *mom, const float *vel, int type,
                       const char *path)
{
    if (mom)
        type = HEED_TYPE_F32;
    piece *ps = malloc(sizeof *ps * MAX_PIECES);
    void **bufs = calloc(MAX_PIECES, sizeof *bufs);
    heed_gguf_writer *w = NULL;
    heed_status st = ps && bufs ? heed_gguf_writer_new(&w)
                                : heed_fail(HEED_ERR_NOMEM, "out of memory");
    if (!st)
        st = set_metadata(w, m, tok, p, info, type);
    const int n = st ? 0 : pieces_of(m, ps, MAX_PIECES);
    for (int i = 0; i < n && !st; i++) {
        const piece *pc = &ps[i];
        const float *src = m->params + pc->offset;
        const bool matrix = pc->rows > 1;
        const int t = matrix ? heed_type_for_rows(type, pc->cols) : HEED_TYPE_F32;
        const void *data = src;
        if (t != HEED_TYPE_F32) {
            const size_t bytes = heed_type_row_size(t, pc->cols) * (size_t)pc->rows;
            if (!(bufs[i] = malloc(bytes))) {
                st = heed_fail(HEED_ERR_NOMEM, "out of memory converting '%s'", pc->name);
                break;
            }
            float_rows fr = {src};
            st = heed_convert_rows(copy_row, &fr, pc->rows, pc->cols, t, bufs[i],
                                   heed_pool_size(m->pool));
            data = bufs[i];
        }
        const int64_t ne[2] = {pc->cols, pc->rows};
        if (!st)
            st = heed_gguf_writer_add_tensor(w, pc->name, t, matrix ? 2 : 1, ne, data);
    }
    if (!st && mom) {
        const int64_t ne[1] = {m->n_params};
        st = heed_gguf_writer_add_tensor(w, "training.adam_m", HEED_TYPE_F32, 1, ne, mom);
        if (!st)
            st = heed_gguf_writer_add_tensor(w, "training.adam_v", HEED_TYPE_F32, 1, ne, vel);
    }
    if (!st)
        st = heed_gguf_writer_write(w, path);
    for (int i = 0; bufs && i < MAX_PIECES; i++)
        free(bufs[i]);
    free(bufs);
    free(ps);
    heed_gguf_writer_free(w);
    return st;
}

static heed_status get_int(const heed_gguf *g, const char *key, int *out)
{
    uint64_t v;
    heed_status st = heed_gguf_get_uint(g, key, &v);
    if (st)
        return heed_fail(st, "%s: the checkpoint lacks '%s' (%s)", heed_gguf_path(g), key,
                         heed_last_error());
    if (v > (1u << 30))
        return heed_fail(HEED_ERR_FORMAT, "%s: '%s' = %llu is out of range", heed_gguf_path(g), key,
                         (unsigned long long)v);
    *out = (int)v;
    return HEED_OK;
}

heed_status train_checkpoint_config(const heed_gguf *g, train_config *c)
{
    heed_status st = HEED_OK;
    double eps = 0, base = 0;
    if (!heed_gguf_find_tensor(g, "training.adam_m"))
        return heed_fail(HEED_ERR_FORMAT, "%s: not a heed training checkpoint (no optimiser "
                         "state; a checkpoint is the file heed_train writes at "
                         "heed_train_params.checkpoint)",
                         heed_gguf_path(g));
#define INT(key, f) if (!st) st = get_int(g, key, &c->f)
    INT("llama.vocab_size", n_vocab);
    INT("llama.context_length", n_ctx);
    INT("llama.embedding_length", n_embd);
    INT("llama.block_count", n_layer);
    INT("llama.attention.head_count", n_head);
    INT("llama.feed_forward_length", n_ff);
#undef INT
    if (!st && (heed_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps) ||
                heed_gguf_get_float(g, "llama.rope.freq_base", &base)))
        st = heed_fail(HEED_ERR_FORMAT, "%s: the checkpoint lacks its norm epsilon or rope base",
                       heed_gguf_path(g));
    c->norm_eps = (float)eps;
    c->rope_base = (float)base;
    return st ? st : train_config_check(c);
}

static heed_status load_f32(const heed_gguf *g, const char *name, float *dst, int64_t n)
{
    const heed_gguf_tensor *t = heed_gguf_find_tensor(g, name);
    if (!t)
        return heed_fail(HEED_ERR_NOT_FOUND, "%s: the checkpoint has no tensor '%s'",
                         heed_gguf_path(g), name);
    if (t->type != HEED_TYPE_F32 || t->nbytes != (uint64_t)n * sizeof(float))
        return heed_fail(HEED_ERR_FORMAT, "%s: tensor '%s' should be %lld f32 values",
                         heed_gguf_path(g), name, (long long)n);
    memcpy(dst, t->data, sizeof(float) * (size_t)n);
    return HEED_OK;
}

heed_status train_checkpoint_load(const heed_gguf *g, train_model *m, float *mom, float *vel,
                                  int64_t *step, int64_t *tokens_seen, double *seconds)
{
    piece *ps = malloc(sizeof *ps * MAX_PIECES);
    if (!ps)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    const int n = pieces_of(m, ps, MAX_PIECES);
    heed_status st = HEED_OK;
    for (int i = 0; i < n && !st; i++)
        st = load_f32(g, ps[i].name, m->params + ps[i].offset, ps[i].rows * ps[i].cols);
    free(ps);
    if (!st)
        st = load_f32(g, "training.adam_m", mom, m->n_params);
    if (!st)
        st = load_f32(g, "training.adam_v", vel, m->n_params);
    uint64_t s = 0, k = 0;
    double sec = 0;
    if (!st && (heed_gguf_get_uint(g, "training.steps", &s) ||
                heed_gguf_get_uint(g, "training.tokens_seen", &k) ||
                heed_gguf_get_float(g, "training.seconds", &sec)))
        st = heed_fail(HEED_ERR_FORMAT, "%s: the checkpoint lacks training.steps, "
                       "training.tokens_seen or training.seconds", heed_gguf_path(g));
    *step = (int64_t)s;
    *tokens_seen = (int64_t)k;
    *seconds = sec;
    return st;
}
