/*
 * trainer.c — heed_train: from a text file to a trained model file.
 *
 * The corpus is tokenized once with a BPE vocabulary learnt on it (or the
 * checkpoint's, when resuming); its first (1 − val_fraction) of tokens
 * trains, the rest validates. Each step draws batch × accum windows of
 * n_ctx tokens at offsets that depend only on (seed, step), so a resumed
 * run continues exactly as an uninterrupted one would.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heed.h"
#include "kernels/peak.h"
#include "text/unicode.h"
#include "train/adamw.h"
#include "train/bpe_train.h"
#include "train/train_io.h"
#include "train/train_model.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/file_map.h"
#include "util/splitmix.h"

typedef struct preset {
    const char *name;
    int n_vocab, n_ctx, n_embd, n_layer, n_head, n_ff;
} preset;

static const preset presets[] = {
    {"tiny", 512, 64, 64, 2, 4, 192},
    {"small", 4096, 256, 256, 6, 8, 768},
    {"base", 8192, 512, 512, 8, 8, 1408},
};

const char *heed_train_preset_names(void)
{
    return "tiny (0.1M parameters), small (6M), base (30M)";
}

heed_status heed_train_preset(const char *name, heed_train_params *p)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(presets[i].name, name)) {
            const preset *s = &presets[i];
            p->n_vocab = s->n_vocab;
            p->n_ctx = s->n_ctx;
            p->n_embd = s->n_embd;
            p->n_layer = s->n_layer;
            p->n_head = s->n_head;
            p->n_ff = s->n_ff;
            return HEED_OK;
        }
    return heed_fail(HEED_ERR_ARG, "unknown preset '%s' (known: %s)", name,
                     heed_train_preset_names());
}

heed_train_params heed_train_default_params(void)
{
    heed_train_params p = {
        .batch = 8, .accum = 1, .steps = 1000, .warmup = 100, .lr = 1e-3f, .min_lr = 1e-4f,
        .weight_decay = 0.1f, .clip = 1.0f, .beta1 = 0.9f, .beta2 = 0.95f,
        .val_fraction = 0.05f, .val_every = 100, .val_batches = 4, .checkpoint_every = 500,
        .seed = 1337, .out_type = HEED_TYPE_F32,
    };
    heed_train_preset("small", &p);
    return p;
}

static heed_status check_params(const heed_train_params *p)
{
    if (!p->corpus || !p->out)
        return heed_fail(HEED_ERR_ARG, "training needs a corpus file and an output path");
    if (p->batch < 1 || p->batch > 4096 || p->accum < 1 || p->accum > 4096)
        return heed_fail(HEED_ERR_ARG, "batch (%d) and accum (%d) must be in 1..4096", p->batch,
                         p->accum);
    if (p->steps < 1 || p->warmup < 0 || p->warmup >= p->steps + 1)
        return heed_fail(HEED_ERR_ARG, "steps must be >= 1 and warmup in 0..steps (%lld, %d)",
                         (long long)p->steps, p->warmup);
    if (!(p->lr > 0 && p->lr < 10) || !(p->min_lr >= 0 && p->min_lr <= p->lr))
        return heed_fail(HEED_ERR_ARG, "the learning rate must be in (0, 10) and min_lr in "
                         "[0, lr] (%g, %g)", p->lr, p->min_lr);
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1) ||
        !(p->weight_decay >= 0) || !(p->clip >= 0))
        return heed_fail(HEED_ERR_ARG, "betas must be in [0, 1), weight decay and clip >= 0");
    if (!(p->val_fraction >= 0 && p->val_fraction <= 0.5f))
        return heed_fail(HEED_ERR_ARG, "the validation fraction must be in [0, 0.5] (%g)",
                         p->val_fraction);
    if (p->val_every < 0 || p->val_batches < 0 || p->checkpoint_every < 0)
        return heed_fail(HEED_ERR_ARG, "val_every, val_batches and checkpoint_every must be >= 0");
    const heed_type_traits *tt = heed_type_get(p->out_type);
    if (!tt || !tt->from_float)
        return heed_fail(HEED_ERR_ARG, "heed cannot write models of type %s",
                         heed_type_name(p->out_type));
    return HEED_OK;
}

/* The run: everything heed_train holds, freed in one place. */
typedef struct run {
    const heed_train_params *p;
    const void *text;
    uint64_t text_len;
    heed_gguf *tok;        /* the tokenizer's keys (checkpoint, or a memory GGUF) */
    void *tok_mem;
    heed_vocab *vocab;
    int32_t *ids;
    int64_t n_ids, n_train, n_val;
    train_config cfg;
    train_model *m;
    float *mom, *vel;
    int32_t *x, *y;        /* one micro-batch of windows */
    train_info info;
    char corpus_name[256];
} run;

static void run_free(run *r)
{
    train_model_free(r->m);
    free(r->mom);
    free(r->vel);
    free(r->x);
    free(r->y);
    free(r->ids);
    heed_vocab_free(r->vocab);
    heed_gguf_close(r->tok);
    free(r->tok_mem);
    if (r->text)
        heed_file_unmap(r->text, r->text_len);
}

/* A tokenizer learnt on the corpus, as a GGUF in memory. */
static heed_status learn_tokenizer(run *r)
{
    heed_bpe_vocab bv;
    heed_status st = heed_bpe_train(r->text, (size_t)r->text_len, r->p->n_vocab, &bv);
    if (st)
        return heed_fail_prefix(st, "%s: ", r->p->corpus);
    heed_gguf_writer *w = NULL;
    size_t size = 0;
    st = heed_gguf_writer_new(&w);
    if (!st)
        st = heed_bpe_vocab_write(&bv, w);
    if (!st)
        st = heed_gguf_writer_write_memory(w, &r->tok_mem, &size);
    if (!st)
        st = heed_gguf_open_memory(r->tok_mem, size, "the learnt tokenizer", &r->tok);
    heed_gguf_writer_free(w);
    heed_bpe_vocab_free(&bv);
    return st;
}

static heed_status prepare(run *r)
{
    const heed_train_params *p = r->p;
    heed_status st = heed_file_map(p->corpus, &r->text, &r->text_len);
    if (st)
        return st;
    const char *base = strrchr(p->corpus, '/');
    snprintf(r->corpus_name, sizeof r->corpus_name, "%s", base ? base + 1 : p->corpus);
    if (r->text_len == 0)
        return heed_fail(HEED_ERR_ARG, "%s: the corpus is empty", p->corpus);
    if (r->text_len > ((uint64_t)1 << 31))
        return heed_fail(HEED_ERR_ARG, "%s: the corpus is %llu bytes; heed trains on up to 2 GiB",
                         p->corpus, (unsigned long long)r->text_len);
    const size_t bad = heed_utf8_invalid_at(r->text, (size_t)r->text_len);
    if (bad < r->text_len)
        return heed_fail(HEED_ERR_FORMAT, "%s: the corpus is not UTF-8 text: byte 0x%02x at "
                         "offset %zu", p->corpus, ((const unsigned char *)r->text)[bad], bad);
    if (p->resume) {
        if ((st = heed_gguf_open(p->resume, &r->tok)) || (st = train_checkpoint_config(r->tok, &r->cfg)))
            return st;
    } else {
        r->cfg = (train_config){p->n_vocab, p->n_ctx, p->n_embd, p->n_layer, p->n_head, p->n_ff,
                                10000.0f, 1e-5f};
        if ((st = train_config_check(&r->cfg)) || (st = learn_tokenizer(r)))
            return st;
    }
    if ((st = heed_vocab_load(r->tok, &r->vocab)))
        return st;
    r->cfg.n_vocab = heed_vocab_n_tokens(r->vocab);
    size_t n = 0;
    if ((st = heed_tokenize(r->vocab, r->text, (size_t)r->text_len, false, false, &r->ids, &n)))
        return st;
    r->n_ids = (int64_t)n;
    r->n_val = (int64_t)((double)r->n_ids * p->val_fraction);
    r->n_train = r->n_ids - r->n_val;
    const int64_t need = r->cfg.n_ctx + 1;
    if (r->n_train < need || (p->val_fraction > 0 && r->n_val < need))
        return heed_fail(HEED_ERR_ARG, "%s: the corpus gives %lld tokens, too few to train with a "
                         "context of %d: it needs %lld for training%s", p->corpus,
                         (long long)r->n_ids, r->cfg.n_ctx, (long long)need,
                         p->val_fraction > 0 ? " and as many for validation (or set the "
                                               "validation fraction to 0)" : "");
    const int64_t bytes = train_model_bytes(&r->cfg, p->batch, r->cfg.n_ctx);
    const double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (phys > 0 && (double)bytes > 0.8 * phys)
        return heed_fail(HEED_ERR_ARG, "training this model with batches of %d × %d tokens "
                         "needs %.0f MiB, more than 80%% of this machine's %.0f MiB: lower the "
                         "batch, the context or the model's size", p->batch, r->cfg.n_ctx,
                         bytes / 1048576.0, phys / 1048576.0);
    const int threads = p->n_threads > 0 ? p->n_threads : heed_cpu_cores();
    if ((st = train_model_new(&r->cfg, p->batch, r->cfg.n_ctx, p->seed, threads, &r->m)))
        return st;
    const size_t np = (size_t)r->m->n_params;
    r->mom = calloc(np, sizeof *r->mom);
    r->vel = calloc(np, sizeof *r->vel);
    r->x = malloc(sizeof *r->x * (size_t)p->batch * (size_t)r->cfg.n_ctx);
    r->y = malloc(sizeof *r->y * (size_t)p->batch * (size_t)r->cfg.n_ctx);
    if (!r->mom || !r->vel || !r->x || !r->y)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for the optimiser");
    r->info = (train_info){.corpus = r->corpus_name, .corpus_bytes = (int64_t)r->text_len,
                           .corpus_tokens = r->n_ids, .n_steps = p->steps,
                           .train_loss = NAN, .val_loss = NAN};
    if (p->resume &&
        (st = train_checkpoint_load(r->tok, r->m, r->mom, r->vel, &r->info.step,
                                    &r->info.tokens_seen, &r->info.seconds)))
        return st;
    return HEED_OK;
}

/* Fills r->x, r->y with window b of a micro-batch starting at token off. */
static void window(run *r, int b, int64_t off)
{
    const int T = r->cfg.n_ctx;
    memcpy(r->x + (int64_t)b * T, r->ids + off, sizeof(int32_t) * (size_t)T);
    memcpy(r->y + (int64_t)b * T, r->ids + off + 1, sizeof(int32_t) * (size_t)T);
}

/* The mean validation loss over val_batches × batch windows spread evenly
 * over the held-out tokens. */
static heed_status validate(run *r, double *out)
{
    const heed_train_params *p = r->p;
    const int T = r->cfg.n_ctx;
    const int64_t count = (int64_t)p->val_batches * p->batch, span = r->n_val - T - 1;
    double sum = 0.0;
    int64_t done = 0;
    for (int64_t i = 0; i < count; i += p->batch) {
        int nb = 0;
        for (; nb < p->batch && i + nb < count; nb++)
            window(r, nb, r->n_train + (count > 1 ? span * (i + nb) / (count - 1) : 0));
        double loss;
        heed_status st = train_model_step(r->m, r->x, r->y, nb, false, 0, &loss, NULL);
        if (st)
            return st;
        sum += loss;
        done += (int64_t)nb * T;
    }
    *out = sum / (double)done;
    return HEED_OK;
}

heed_status heed_train(const heed_train_params *p)
{
    heed_status st = check_params(p);
    if (st)
        return st;
    run r = {.p = p};
    if ((st = prepare(&r))) {
        run_free(&r);
        return st;
    }
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s", p->checkpoint ? p->checkpoint : p->out);
    if (!p->checkpoint)
        strncat(ckpt, ".ckpt", sizeof ckpt - strlen(ckpt) - 1);
    const int T = r.cfg.n_ctx, B = p->batch;
    const int64_t tokens_per_step = (int64_t)B * T * p->accum;
    /* Model FLOPs: 6 per parameter per token (forward 2, backward 4), plus
     * the attention products q·k and p·v, 12·layers·width per visible key
     * (forward and backward), T/2 keys on average under the causal mask */
    const double flops_per_token = 6.0 * (double)r.m->n_params +
                                   12.0 * r.cfg.n_layer * r.cfg.n_embd * (T / 2.0);
    const double peak = heed_peak_flops(r.m->pool);
    const adamw_params ap0 = {p->lr, p->beta1, p->beta2, 1e-8f, p->weight_decay};
    const double t_start = heed_seconds(), seconds_before = r.info.seconds;
    const int64_t step0 = r.info.step;
    bool stopped = false;
    for (int64_t step = step0; step < p->steps && !st; step++) {
        adamw_params ap = ap0;
        ap.lr = (float)train_lr_at(step, p->steps, p->warmup, p->lr, p->min_lr);
        train_model_zero_grads(r.m);
        double loss_sum = 0.0;
        for (int a = 0; a < p->accum && !st; a++) {
            uint64_t s = p->seed ^ ((uint64_t)step * 0x9e3779b97f4a7c15u) ^ ((uint64_t)a << 48);
            for (int b = 0; b < B; b++)
                window(&r, b, (int64_t)(heed_splitmix64(&s) % (uint64_t)(r.n_train - T)));
            double loss;
            st = train_model_step(r.m, r.x, r.y, B, true, 1.0f / (float)tokens_per_step, &loss, NULL);
            loss_sum += loss;
        }
        if (st)
            break;
        const double gn = train_grad_norm(r.m);
        const float scale = p->clip > 0 && gn > p->clip ? (float)(p->clip / gn) : 1.0f;
        adamw_update(r.m, r.mom, r.vel, step + 1, &ap, scale);
        r.info.step = step + 1;
        r.info.tokens_seen += tokens_per_step;
        r.info.train_loss = loss_sum / (double)tokens_per_step;
        const bool last = step + 1 == p->steps;
        stopped = p->stop && *p->stop;
        heed_train_progress pr = {.step = step + 1, .n_steps = p->steps,
                                  .loss = r.info.train_loss, .lr = ap.lr, .grad_norm = gn};
        if (r.n_val > T && p->val_batches > 0 &&
            (last || (p->val_every > 0 && (step + 1) % p->val_every == 0))) {
            if ((st = validate(&r, &r.info.val_loss)))
                break;
            pr.validated = true;
        }
        pr.val_loss = r.info.val_loss;
        const double elapsed = heed_seconds() - t_start;
        r.info.seconds = seconds_before + elapsed;
        if (last || stopped || (p->checkpoint_every > 0 && (step + 1) % p->checkpoint_every == 0)) {
            if ((st = train_save(r.m, r.tok, p, &r.info, r.mom, r.vel, HEED_TYPE_F32, ckpt)))
                break;
            pr.checkpointed = true;
        }
        const double done = (double)(step + 1 - step0);
        pr.elapsed_s = r.info.seconds;
        pr.tokens_per_s = done * (double)tokens_per_step / elapsed;
        pr.mfu = peak > 0 ? pr.tokens_per_s * flops_per_token / peak : 0;
        pr.eta_s = elapsed / done * (double)(p->steps - step - 1);
        if (p->progress)
            p->progress(p->user, &pr);
        if (!stopped && p->stop && *p->stop) { /* asked for during the callback */
            stopped = true;
            st = train_save(r.m, r.tok, p, &r.info, r.mom, r.vel, HEED_TYPE_F32, ckpt);
        }
        if (stopped)
            break;
    }
    if (!st && !stopped)
        st = train_save(r.m, r.tok, p, &r.info, NULL, NULL, p->out_type, p->out);
    run_free(&r);
    return st;
}
