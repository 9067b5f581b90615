/* cmd_train.c — `heed train CORPUS -o OUT.gguf [options]`: trains a small
 * Llama-style model on a text file (see heed_train). Ctrl-C stops after the
 * current step and saves a checkpoint; --resume continues from one. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"

static volatile int stop_requested;

static void on_signal(int sig)
{
    stop_requested = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends at once */
}

typedef struct progress_state {
    bool tty, quiet;
    int64_t every;
} progress_state;

static void clock_text(double s, char *buf, size_t size)
{
    const long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void show_progress(void *user, const heed_train_progress *p)
{
    const progress_state *ps = user;
    if (ps->quiet)
        return;
    const bool mark = p->validated || p->checkpointed || p->step == p->n_steps;
    if (!ps->tty && !mark && p->step % ps->every)
        return;
    char eta[32], el[32], val[32] = "";
    clock_text(p->eta_s, eta, sizeof eta);
    clock_text(p->elapsed_s, el, sizeof el);
    if (!isnan(p->val_loss))
        snprintf(val, sizeof val, " val %.3f", p->val_loss);
    enum { W = 20 };
    const int fill = (int)((double)W * (double)p->step / (double)p->n_steps);
    char bar[W + 1];
    for (int i = 0; i < W; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    fprintf(stderr, "%s[%s] %lld/%lld loss %.3f%s lr %.1e | %.0f tok/s mfu %.1f%% | %s eta %s%s",
            ps->tty ? "\r\033[K" : "", bar, (long long)p->step, (long long)p->n_steps, p->loss,
            val, p->lr, p->tokens_per_s, 100.0 * p->mfu, el, eta,
            p->checkpointed ? " (saved)" : "");
    if (!ps->tty || mark)
        fputc('\n', stderr);
}

int cmd_train(int argc, char **argv)
{
    heed_train_params p = heed_train_default_params();
    bool quiet = false;
    /* a preset first, so that explicit sizes override it wherever they are */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--preset") && heed_train_preset(argv[i + 1], &p))
            return cli_fail("train", HEED_ERR_ARG);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        struct { const char *name; int *dst; long lo, hi; } ints[] = {
            {"--vocab", &p.n_vocab, 258, 1 << 20}, {"--ctx", &p.n_ctx, 2, 65536},
            {"--embd", &p.n_embd, 2, 65536}, {"--layers", &p.n_layer, 1, 1024},
            {"--heads", &p.n_head, 1, 4096}, {"--ff", &p.n_ff, 1, 262144},
            {"--batch", &p.batch, 1, 4096}, {"--accum", &p.accum, 1, 4096},
            {"--warmup", &p.warmup, 0, 1L << 30}, {"--val-every", &p.val_every, 0, 1L << 30},
            {"--val-batches", &p.val_batches, 0, 1L << 20},
            {"--ckpt-every", &p.checkpoint_every, 0, 1L << 30}, {"-t", &p.n_threads, 1, 1024},
        };
        struct { const char *name; float *dst; double lo, hi; } floats[] = {
            {"--lr", &p.lr, 0, 10}, {"--min-lr", &p.min_lr, 0, 10},
            {"--wd", &p.weight_decay, 0, 10}, {"--clip", &p.clip, 0, 1e6},
            {"--val-fraction", &p.val_fraction, 0, 0.5},
        };
        bool done = false;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0] && !done; k++)
            if (!strcmp(a, ints[k].name)) {
                long x;
                if (!cli_parse_int("train", a, v, ints[k].lo, ints[k].hi, &x))
                    return EXIT_BAD_INPUT;
                *ints[k].dst = (int)x;
                done = true;
            }
        for (size_t k = 0; k < sizeof floats / sizeof floats[0] && !done; k++)
            if (!strcmp(a, floats[k].name)) {
                double x;
                if (!cli_parse_float("train", a, v, floats[k].lo, floats[k].hi, &x))
                    return EXIT_BAD_INPUT;
                *floats[k].dst = (float)x;
                done = true;
            }
        if (done) {
            i++;
            continue;
        }
        long x;
        if (!strcmp(a, "--steps") || !strcmp(a, "--seed")) {
            const bool steps = !strcmp(a, "--steps");
            if (!cli_parse_int("train", a, v, steps ? 1 : 0, 1L << 62, &x))
                return EXIT_BAD_INPUT;
            if (steps)
                p.steps = x;
            else
                p.seed = (uint64_t)x;
            i++;
        } else if (!strcmp(a, "-o") && v)
            p.out = argv[++i];
        else if (!strcmp(a, "--preset") && v)
            i++;
        else if (!strcmp(a, "--ckpt") && v)
            p.checkpoint = argv[++i];
        else if (!strcmp(a, "--resume") && v)
            p.resume = argv[++i];
        else if (!strcmp(a, "--name") && v)
            p.name = argv[++i];
        else if (!strcmp(a, "--type") && v) {
            p.out_type = heed_type_from_name(argv[++i]);
            if (p.out_type == HEED_TYPE_NONE) {
                fprintf(stderr, "heed train: unknown type '%s'\n", argv[i]);
                return EXIT_BAD_INPUT;
            }
        } else if (!strcmp(a, "--quiet"))
            quiet = true;
        else if (a[0] != '-' && !p.corpus)
            p.corpus = a;
        else
            return cli_usage_error("train", USAGE_TRAIN, "unknown or incomplete option");
    }
    if (!p.corpus || !p.out)
        return cli_usage_error("train", USAGE_TRAIN, "needs a corpus file and -o OUT.gguf");
    progress_state ps = {isatty(2), quiet, p.steps / 100 > 0 ? p.steps / 100 : 1};
    p.progress = show_progress;
    p.user = &ps;
    p.stop = &stop_requested;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    const double t0 = cli_seconds();
    heed_status st = heed_train(&p);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (st)
        return cli_fail("train", st);
    if (stop_requested) {
        fprintf(stderr, "heed train: stopped; continue with --resume %s%s\n",
                p.checkpoint ? p.checkpoint : p.out, p.checkpoint ? "" : ".ckpt");
        return EXIT_RUNTIME;
    }
    fprintf(stderr, "heed train: wrote %s in %.1f s\n", p.out, cli_seconds() - t0);
    return EXIT_OK;
}
