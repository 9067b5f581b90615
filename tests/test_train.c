/* test_train.c — training: every operation's gradient and a whole model's
 * against finite differences, a model overfitting one batch, the trained
 * model's forward equal to `heed logits` of its saved file, resuming equal
 * to running on, and clear errors for bad corpora. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "kernels/ops.h"
#include "train/adamw.h"
#include "train/grad_ops.h"
#include "train/train_io.h"
#include "train/train_model.h"
#include "testutil.h"

static uint64_t rng_state = 42;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (float)((double)(rng_state >> 11) * 0x1.0p-52 - 1.0);
}

static void fill(float *x, int n, float scale)
{
    for (int i = 0; i < n; i++)
        x[i] = scale * frand();
}

/*
 * Checks a gradient by directional finite differences: for random
 * directions u, (L(x + h·u) − L(x − h·u)) / 2h against grad·u. L is
 * computed in float, so h = 1e-2 and a relative tolerance of 2e-2 (the
 * O(h²) curvature term and float rounding of L, over |grad·u|).
 */
typedef double (*loss_fn)(void *ctx);

static void check_directional(const char *what, loss_fn L, void *ctx, float *x, const float *grad,
                              int n)
{
    const float h = 1e-2f;
    float *x0 = malloc(sizeof *x0 * (size_t)n), *u = malloc(sizeof *u * (size_t)n);
    memcpy(x0, x, sizeof *x * (size_t)n);
    for (int trial = 0; trial < 4; trial++) {
        fill(u, n, 1.0f);
        double gu = 0.0, gnorm = 0.0;
        for (int i = 0; i < n; i++) {
            gu += (double)grad[i] * u[i];
            gnorm += (double)grad[i] * grad[i];
        }
        for (int i = 0; i < n; i++)
            x[i] = x0[i] + h * u[i];
        const double lp = L(ctx);
        for (int i = 0; i < n; i++)
            x[i] = x0[i] - h * u[i];
        const double lm = L(ctx);
        memcpy(x, x0, sizeof *x * (size_t)n);
        const double fd = (lp - lm) / (2.0 * h);
        /* the scale of grad·u for a random u: |grad|·√(n/3) */
        const double scale = sqrt(gnorm * n / 3.0) + 1e-6;
        cr_expect(fabs(fd - gu) <= 2e-2 * scale, "%s: finite difference %.6g, gradient %.6g",
                  what, fd, gu);
    }
    free(x0);
    free(u);
}

/* ------------------------------------------------------ single ops */

enum { N_ = 24 };

typedef struct op_ctx {
    float x[N_], w[N_], c[N_], y[N_], g[N_], u[N_];
} op_ctx;

static double weighted(const float *c, const float *y, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)c[i] * y[i];
    return s;
}

static double rmsnorm_loss(void *vp)
{
    op_ctx *o = vp;
    grad_rmsnorm_fwd(o->y, o->x, o->w, N_, 1e-5f);
    return weighted(o->c, o->y, N_);
}

Test(train_grad, rmsnorm)
{
    op_ctx o;
    fill(o.x, N_, 2.0f);
    fill(o.w, N_, 1.5f);
    fill(o.c, N_, 1.0f);
    float dx[N_] = {0}, dw[N_] = {0};
    const float r = grad_rmsnorm_fwd(o.y, o.x, o.w, N_, 1e-5f);
    grad_rmsnorm_bwd(dx, dw, o.c, o.x, o.w, r, N_);
    check_directional("rmsnorm dx", rmsnorm_loss, &o, o.x, dx, N_);
    check_directional("rmsnorm dw", rmsnorm_loss, &o, o.w, dw, N_);
    /* the forward is heed's inference norm, bit for bit */
    float ref[N_];
    rmsnorm_loss(&o);
    heed_rms_norm(ref, o.x, o.w, N_, 1e-5f);
    cr_expect(!memcmp(ref, o.y, sizeof ref));
}

static double swiglu_loss(void *vp)
{
    op_ctx *o = vp;
    grad_swiglu_fwd(o->y, o->g, o->u, N_);
    return weighted(o->c, o->y, N_);
}

Test(train_grad, swiglu)
{
    op_ctx o;
    fill(o.g, N_, 4.0f);
    fill(o.u, N_, 2.0f);
    fill(o.c, N_, 1.0f);
    float dg[N_], du[N_];
    grad_swiglu_bwd(dg, du, o.c, o.g, o.u, N_);
    check_directional("swiglu dg", swiglu_loss, &o, o.g, dg, N_);
    check_directional("swiglu du", swiglu_loss, &o, o.u, du, N_);
}

Test(train_grad, rope_backward_is_the_inverse_rotation)
{
    enum { H = 3, D = 8 };
    float x[H * D], cs[D], back[D], c[H * D];
    fill(x, H * D, 1.0f);
    fill(c, H * D, 1.0f);
    const heed_rope rope = heed_rope_plain(10000.0f);
    heed_rope_angles(cs, 7, D, &rope);
    grad_rope_back_angles(back, cs, D);
    /* L = c·R(x): dL/dx = Rᵀc, which rotating c with the back angles gives */
    float g[H * D];
    memcpy(g, c, sizeof c);
    heed_rope_apply(g, H, D, D, back, 0);
    for (int i = 0; i < H * D; i++) {
        float e[H * D] = {0};
        e[i] = 1.0f;
        heed_rope_apply(e, H, D, D, cs, 0); /* column i of R */
        cr_expect_float_eq(g[i], (float)weighted(c, e, H * D), 1e-5f);
    }
    /* and back after forth is the identity */
    float y[H * D];
    memcpy(y, x, sizeof x);
    heed_rope_apply(y, H, D, D, cs, 0);
    heed_rope_apply(y, H, D, D, back, 0);
    for (int i = 0; i < H * D; i++)
        cr_expect_float_eq(y[i], x[i], 1e-6f);
}

enum { AT = 6, AD = 4, AS = 3 * AD }; /* tokens, head size, q|k|v row stride */

typedef struct attn_ctx {
    float qkv[AT * AS], o[AT * AD], P[AT * AT], c[AT * AD];
} attn_ctx;

static double attn_loss(void *vp)
{
    attn_ctx *a = vp;
    float tmp[GRAD_ATTN_TMP(AT, AD)];
    grad_attn_fwd(a->o, a->P, tmp, a->qkv, a->qkv + AD, a->qkv + 2 * AD, AT, AS, AD, AD, 0.5f);
    return weighted(a->c, a->o, AT * AD);
}

Test(train_grad, causal_attention)
{
    attn_ctx a;
    fill(a.qkv, AT * AS, 1.5f);
    fill(a.c, AT * AD, 1.0f);
    attn_loss(&a);
    for (int t = 0; t < AT; t++) { /* rows are distributions over keys 0..t */
        double s = 0.0;
        for (int j = 0; j <= t; j++)
            s += a.P[t * AT + j];
        cr_expect(fabs(s - 1.0) < 1e-6);
    }
    float d[AT * AS], tmp[GRAD_ATTN_TMP(AT, AD)];
    grad_attn_bwd(d, d + AD, d + 2 * AD, tmp, a.c, a.P, a.qkv, a.qkv + AD, a.qkv + 2 * AD, AT, AS,
                  AD, AD, 0.5f);
    check_directional("attention dq dk dv", attn_loss, &a, a.qkv, d, AT * AS);
}

typedef struct xent_ctx {
    float logits[N_], d[N_];
} xent_ctx;

static double xent_loss(void *vp)
{
    xent_ctx *x = vp;
    return grad_xent(x->d, x->logits, N_, 5, 1.0f);
}

Test(train_grad, cross_entropy)
{
    xent_ctx x;
    fill(x.logits, N_, 3.0f);
    float d[N_];
    const float loss = grad_xent(d, x.logits, N_, 5, 1.0f);
    double sum = 0.0;
    for (int i = 0; i < N_; i++)
        sum += exp((double)x.logits[i]);
    cr_expect(fabs(loss - (log(sum) - x.logits[5])) < 1e-5);
    check_directional("cross-entropy", xent_loss, &x, x.logits, d, N_);
}

/* ------------------------------------------------------ whole model */

static const train_config tiny = {.n_vocab = 40, .n_ctx = 8, .n_embd = 16, .n_layer = 2,
                                  .n_head = 2, .n_ff = 24, .rope_base = 10000.0f,
                                  .norm_eps = 1e-5f};

typedef struct model_ctx {
    train_model *m;
    int32_t x[2 * 8], y[2 * 8];
} model_ctx;

static double model_loss(void *vp)
{
    model_ctx *c = vp;
    double loss;
    cr_assert_eq(train_model_step(c->m, c->x, c->y, 2, false, 0, &loss, NULL), HEED_OK);
    return loss;
}

Test(train_grad, whole_model_every_tensor)
{
    model_ctx c;
    cr_assert_eq(train_model_new(&tiny, 2, 8, 7, 2, &c.m), HEED_OK, "%s", heed_last_error());
    for (int i = 0; i < 16; i++) {
        c.x[i] = (i * 7 + 3) % tiny.n_vocab;
        c.y[i] = (i * 11 + 1) % tiny.n_vocab;
    }
    /* larger weights than the initialisation, so every path carries gradient */
    for (int i = 0; i < c.m->n_tensors; i++) {
        const train_tensor *t = &c.m->tensors[i];
        if (t->decay)
            fill(c.m->params + t->offset, (int)(t->rows * t->cols), 0.3f);
    }
    double loss;
    cr_assert_eq(train_model_step(c.m, c.x, c.y, 2, true, 1.0f, &loss, NULL), HEED_OK);
    cr_expect(fabs(loss - model_loss(&c)) < 1e-6 * fabs(loss), "the loss does not depend on backward");
    for (int i = 0; i < c.m->n_tensors; i++) {
        const train_tensor *t = &c.m->tensors[i];
        check_directional(t->name, model_loss, &c, c.m->params + t->offset,
                          c.m->grads + t->offset, (int)(t->rows * t->cols));
    }
    train_model_free(c.m);
}

Test(train, accumulated_micro_batches_give_the_whole_batch_gradient)
{
    train_model *whole, *parts;
    cr_assert_eq(train_model_new(&tiny, 4, 8, 5, 2, &whole), HEED_OK);
    cr_assert_eq(train_model_new(&tiny, 2, 8, 5, 2, &parts), HEED_OK);
    int32_t x[32], y[32];
    for (int i = 0; i < 32; i++) {
        x[i] = (i * 7 + 1) % tiny.n_vocab;
        y[i] = (i * 5 + 3) % tiny.n_vocab;
    }
    double l4, la, lb;
    cr_assert_eq(train_model_step(whole, x, y, 4, true, 1.0f / 32, &l4, NULL), HEED_OK);
    cr_assert_eq(train_model_step(parts, x, y, 2, true, 1.0f / 32, &la, NULL), HEED_OK);
    cr_assert_eq(train_model_step(parts, x + 16, y + 16, 2, true, 1.0f / 32, &lb, NULL), HEED_OK);
    cr_expect(fabs(l4 - (la + lb)) < 1e-5 * l4);
    double worst = 0, norm = 0;
    for (int64_t i = 0; i < whole->n_params; i++) {
        worst = fmax(worst, fabs((double)whole->grads[i] - parts->grads[i]));
        norm = fmax(norm, fabs((double)whole->grads[i]));
    }
    /* the same sums in another order: float rounding only */
    cr_expect(worst <= 1e-5 * norm, "gradients differ by %g (largest %g)", worst, norm);
    train_model_free(whole);
    train_model_free(parts);
}

Test(train, overfits_one_batch)
{
    train_model *m;
    cr_assert_eq(train_model_new(&tiny, 2, 8, 3, 2, &m), HEED_OK);
    int32_t x[16], y[16];
    for (int i = 0; i < 16; i++) {
        x[i] = (i * 13 + 5) % tiny.n_vocab;
        y[i] = (i * 17 + 2) % tiny.n_vocab;
    }
    float *mom = calloc((size_t)m->n_params, sizeof *mom), *vel = calloc((size_t)m->n_params, 4);
    const adamw_params ap = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.0f};
    double first = 0, loss = 0;
    for (int step = 0; step < 300; step++) {
        train_model_zero_grads(m);
        cr_assert_eq(train_model_step(m, x, y, 2, true, 1.0f / 16, &loss, NULL), HEED_OK);
        if (!step)
            first = loss / 16;
        adamw_update(m, mom, vel, step + 1, &ap, 1.0f);
    }
    cr_expect(first > 3.0, "starts near ln(40) = 3.7: %g", first);
    cr_expect(loss / 16 < 0.05, "a memorised batch: loss %g", loss / 16);
    free(mom);
    free(vel);
    train_model_free(m);
}

Test(train, learning_rate_schedule)
{
    cr_expect_float_eq(train_lr_at(0, 100, 10, 1.0, 0.1), 0.1, 1e-12);
    cr_expect_float_eq(train_lr_at(9, 100, 10, 1.0, 0.1), 1.0, 1e-12);
    cr_expect_float_eq(train_lr_at(99, 100, 10, 1.0, 0.1), 0.1, 1e-12);
    cr_expect_float_eq(train_lr_at(10 + 89 / 2.0, 100, 10, 1.0, 0.1), 0.55, 1e-2);
}

/* ------------------------------------------------------- heed_train */

/* A corpus for short runs: the perplexity sample text, several times. */
static const char *write_corpus(const char *name, int copies)
{
    size_t n;
    char *text = test_read_file(HEED_SOURCE_DIR "/tests/data/perplexity.txt", &n);
    cr_assert(text);
    static char path[512];
    snprintf(path, sizeof path, "%s", test_tmp_path(name));
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    for (int i = 0; i < copies; i++)
        fwrite(text, 1, n, f);
    fclose(f);
    free(text);
    return path;
}

static heed_train_params short_run(const char *corpus, const char *out)
{
    heed_train_params p = heed_train_default_params();
    cr_assert_eq(heed_train_preset("tiny", &p), HEED_OK);
    p.corpus = corpus;
    p.out = out;
    p.n_ctx = 32;
    p.batch = 4;
    p.steps = 6;
    p.warmup = 2;
    p.val_every = 3;
    p.val_batches = 2;
    p.checkpoint_every = 0;
    p.n_threads = 2;
    return p;
}

static int stop_flag;

static void stop_at_3(void *user, const heed_train_progress *pr)
{
    (void)user;
    if (pr->step == 3)
        stop_flag = 1;
}

/* Every tensor of a and b holds the same bytes. */
static void expect_same_tensors(const char *a, const char *b)
{
    heed_gguf *ga, *gb;
    cr_assert_eq(heed_gguf_open(a, &ga), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_gguf_open(b, &gb), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_gguf_n_tensors(ga), heed_gguf_n_tensors(gb));
    for (int64_t i = 0; i < heed_gguf_n_tensors(ga); i++) {
        const heed_gguf_tensor *ta = heed_gguf_tensor_at(ga, i);
        const heed_gguf_tensor *tb = heed_gguf_find_tensor(gb, ta->name);
        cr_assert(tb && ta->nbytes == tb->nbytes, "%s", ta->name);
        cr_expect(!memcmp(ta->data, tb->data, ta->nbytes), "tensor %s differs", ta->name);
    }
    heed_gguf_close(ga);
    heed_gguf_close(gb);
}

Test(train, resuming_a_stopped_run_equals_running_on)
{
    const char *corpus = write_corpus("resume.txt", 8);
    char a[512], b[512], ckpt[600];
    snprintf(a, sizeof a, "%s", test_tmp_path("straight.gguf"));
    snprintf(b, sizeof b, "%s", test_tmp_path("resumed.gguf"));
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", b);
    heed_train_params p = short_run(corpus, a);
    cr_assert_eq(heed_train(&p), HEED_OK, "%s", heed_last_error());

    p = short_run(corpus, b);
    stop_flag = 0;
    p.stop = &stop_flag;
    p.progress = stop_at_3;
    cr_assert_eq(heed_train(&p), HEED_OK, "%s", heed_last_error());
    FILE *f = fopen(b, "rb");
    cr_expect(!f, "a stopped run writes only its checkpoint");
    if (f)
        fclose(f);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(ckpt, &g), HEED_OK, "%s", heed_last_error());
    uint64_t steps;
    cr_expect_eq(heed_gguf_get_uint(g, "training.steps", &steps), HEED_OK);
    cr_expect_eq(steps, 3);
    heed_gguf_close(g);

    p = short_run(corpus, b);
    p.resume = ckpt;
    cr_assert_eq(heed_train(&p), HEED_OK, "%s", heed_last_error());
    expect_same_tensors(a, b);
}

Test(train, trainer_forward_equals_heed_logits_of_the_saved_model)
{
    const char *corpus = write_corpus("fwd.txt", 8);
    char out[512], ckpt[600];
    snprintf(out, sizeof out, "%s", test_tmp_path("fwd.gguf"));
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    heed_train_params p = short_run(corpus, out);
    p.steps = 20;
    cr_assert_eq(heed_train(&p), HEED_OK, "%s", heed_last_error());

    /* the trainer's model, from the checkpoint written at the end */
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(ckpt, &g), HEED_OK, "%s", heed_last_error());
    train_config cfg;
    cr_assert_eq(train_checkpoint_config(g, &cfg), HEED_OK, "%s", heed_last_error());
    train_model *m;
    cr_assert_eq(train_model_new(&cfg, 1, cfg.n_ctx, 1, 2, &m), HEED_OK);
    float *mom = malloc(sizeof *mom * (size_t)m->n_params);
    float *vel = malloc(sizeof *vel * (size_t)m->n_params);
    int64_t step, seen;
    double secs;
    cr_assert_eq(train_checkpoint_load(g, m, mom, vel, &step, &seen, &secs), HEED_OK, "%s",
                 heed_last_error());
    cr_expect_eq(step, 20);
    heed_gguf_close(g);
    const int T = cfg.n_ctx, V = cfg.n_vocab;
    int32_t ids[64];
    char list[64 * 8] = "";
    for (int t = 0; t < T; t++) {
        ids[t] = (t * 37 + 11) % V;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", t ? "," : "", ids[t]);
    }
    float *mine = malloc(sizeof *mine * (size_t)T * (size_t)V);
    cr_assert_eq(train_model_step(m, ids, NULL, 1, false, 0, NULL, mine), HEED_OK);

    char args[2048];
    const char *lf = test_tmp_path("fwd.logits");
    char logits_path[512];
    snprintf(logits_path, sizeof logits_path, "%s", lf);
    snprintf(args, sizeof args, "logits '%s' --ids %s -o '%s'", out, list, logits_path);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    size_t n;
    float *theirs = test_read_file(logits_path, &n);
    cr_assert_eq(n, sizeof(float) * (size_t)T * (size_t)V);
    /* The same kernels but for attention: heed's tiled online softmax
     * against the trainer's materialised one (agreeing within 1.1e-6
     * relative, test_attention.c), carried through two layers. */
    double worst = 0;
    for (int i = 0; i < T * V; i++)
        worst = fmax(worst, fabs((double)mine[i] - theirs[i]));
    cr_expect(worst < 1e-4, "logits differ by up to %g", worst);
    free(theirs);
    free(mine);
    free(mom);
    free(vel);
    train_model_free(m);

    /* the model says how it was made */
    heed_model *hm;
    cr_assert_eq(heed_model_load(out, &hm), HEED_OK, "%s", heed_last_error());
    heed_gguf_str s;
    cr_expect_eq(heed_gguf_get_str(heed_model_gguf(hm), "training.corpus", &s), HEED_OK);
    cr_expect(s.len == 7 && !memcmp(s.ptr, "fwd.txt", 7));
    double val;
    cr_expect_eq(heed_gguf_get_float(heed_model_gguf(hm), "training.val_loss", &val), HEED_OK);
    cr_expect(val > 0 && val < 7, "validation loss %g", val);
    heed_model_free(hm);
}

/* `heed train` on corpus `text` (len bytes) fails with exit code 2 and a
 * message containing `why`. */
static void expect_refused(const char *text, size_t len, const char *extra, const char *why)
{
    const char *path = test_tmp_path("bad.txt");
    char corpus[512];
    snprintf(corpus, sizeof corpus, "%s", path);
    FILE *f = fopen(corpus, "wb");
    cr_assert(f);
    fwrite(text, 1, len, f);
    fclose(f);
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "train '%s' -o '%s' --preset tiny %s 2>&1", corpus,
             test_tmp_path("bad.gguf"), extra);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", args);
    cr_expect(out && strstr(out, why), "%s: wanted '%s' in: %s", args, why, out ? out : "");
    free(out);
}

Test(train, bad_corpora_are_refused_before_training)
{
    expect_refused("", 0, "", "the corpus is empty");
    expect_refused("In the beginning.", 17, "", "too few to train");
    expect_refused("good text \xff\xfe then bad", 22, "", "offset 10");
    const char *big = write_corpus("big.txt", 2);
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "train '%s' -o '%s' --ctx 16 --val-fraction 0 --embd 65536 "
             "--layers 1024 --heads 256 2>&1", big, test_tmp_path("huge.gguf"));
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(out && strstr(out, "MiB"), "%s", out ? out : "");
    free(out);
    snprintf(args, sizeof args, "train /nonexistent/corpus.txt -o '%s' 2>&1",
             test_tmp_path("x.gguf"));
    cr_expect_neq(test_run_cli(args, NULL), 0);
}

Test(train, interrupt_saves_a_checkpoint_to_resume_from)
{
    const char *corpus = write_corpus("sigint.txt", 8);
    char out[512], cmd[1600], text[4096] = "";
    snprintf(out, sizeof out, "%s", test_tmp_path("sigint.gguf"));
    /* SIGINT 2 s after heed has installed its handler (SigCgt bit 1, as
     * /proc shows it; a cold start on a loaded machine can take longer
     * than 2 s), during the first steps of a long run: it must stop after
     * the step under way and write the checkpoint, not the model */
    snprintf(cmd, sizeof cmd,
             "'%s' train '%s' -o '%s' --preset tiny --steps 1000000 -t 1 2>&1 & p=$!; i=0; "
             "while [ $i -lt 600 ] && [ -e /proc/$p ]; do "
             "m=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/$p/status); "
             "[ -n \"$m\" ] && [ $((0x$m & 2)) -ne 0 ] && break; sleep 0.1; i=$((i + 1)); done; "
             "sleep 2; kill -INT $p; wait $p; echo \"exit $?\"",
             HEED_CLI, corpus, out);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    const size_t n = fread(text, 1, sizeof text - 1, p);
    text[n] = 0;
    pclose(p);
    cr_expect(strstr(text, "exit 1"), "%s", text);
    cr_expect(strstr(text, "continue with --resume"), "%s", text);
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(ckpt, &g), HEED_OK, "%s", heed_last_error());
    uint64_t steps = 0;
    cr_expect_eq(heed_gguf_get_uint(g, "training.steps", &steps), HEED_OK);
    cr_expect(steps >= 1);
    heed_gguf_close(g);
    FILE *f = fopen(out, "rb");
    cr_expect(!f, "an interrupted run writes no model");
    if (f)
        fclose(f);
}
