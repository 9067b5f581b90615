/*
 * cmd_bench.c — `heed bench MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS]`
 * and `heed bench --membw [-t THREADS]`. With -d DEPTH the cache is
 * first filled with DEPTH tokens (once) and every run starts from there:
 * generation at a long context.
 *
 * An encoder-decoder (T5): pp = the encoder over a prompt of p tokens
 * (heed_context_encode, what llama-cli counts as its prompt); tg = n
 * decoder tokens, their cross-attention reading that encoding of p tokens
 * (of one with -p 0), made once before the runs.
 *
 * As llama-bench measures: pp = one prompt of p tokens evaluated as a
 * batch into an empty cache; tg = n tokens generated one at a time from an
 * empty cache. Each is run once to warm up, then REPS times; the median
 * and the standard deviation of the tokens/s are printed. Generation reads
 * every matrix once per token, so matrix bytes × tokens/s is the memory
 * bandwidth it achieves, compared with the machine's read bandwidth
 * (measured after the runs by heed_cpu_membw: threads summing a 1 GiB
 * buffer, best of 5). It also reports the model's load time (packing
 * included) and the peak resident memory of the runs. --capture also measures pp with
 * every layer and head's attention captured (dense rows in memory): what
 * capture costs. -np N also measures tg with N streams decoding together
 * (heed_context_eval_many: one forward pass per step for all N), as tokens
 * per second of all of them: what continuous batching serves.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "cli_error.h"
#include "clock.h"

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double median, sd;
} stats;

static stats summarize(double *x, int n)
{
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += x[i] / n;
    for (int i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean) / (n > 1 ? n - 1 : 1);
    qsort(x, (size_t)n, sizeof *x, by_value);
    return (stats){n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]), sqrt(var)};
}

/* ---- pp and tg */

/* The cache emptied and filled with the first `depth` ids. */
static heed_status fill(heed_context *c, const int32_t *ids, int depth)
{
    heed_status st = HEED_OK;
    heed_context_reset(c);
    for (int done = 0, chunk; !st && done < depth; done += chunk) {
        chunk = depth - done < 512 ? depth - done : 512;
        st = heed_context_eval(c, ids + done, chunk, NULL, false);
    }
    return st;
}

/* Tokens/s of one run: a prompt of p tokens (an encoder-decoder's
 * encoded), or n single-token steps, after the first `depth` positions of
 * the cache (filled again, untimed, where a sliding-window layer or an
 * encoding has dropped what the run needs). */
static heed_status run_once(heed_context *c, int depth, const int32_t *ids, int p, int n,
                            float *logits, double *tps)
{
    const bool encode = p && heed_model_decoder_start(heed_context_model(c)) >= 0;
    heed_status st = encode ? HEED_OK : heed_context_truncate(c, depth);
    if (st)
        st = fill(c, ids, depth);
    if (st)
        return st;
    const double t0 = cli_seconds();
    if (encode)
        st = heed_context_encode(c, ids, p);
    else if (p)
        st = heed_context_eval(c, ids, p, logits, false);
    for (int i = 0; !st && i < n; i++)
        st = heed_context_eval(c, ids + i, 1, logits, false);
    *tps = (p ? p : n) / (cli_seconds() - t0);
    return st;
}

/* Tokens/s of n steps of np streams together, each from `depth`
 * positions (c[0]'s cache filled again, untimed, and copied to the others
 * the same way: each fills its own). */
static heed_status run_streams(heed_context **c, int np, int depth, const int32_t *ids, int n,
                               float *logits, double *tps)
{
    const int32_t **at = malloc(sizeof *at * (size_t)np);
    int *ones = malloc(sizeof *ones * (size_t)np);
    heed_status st = at && ones ? HEED_OK : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    for (int s = 0; !st && s < np; s++) {
        ones[s] = 1;
        if ((st = heed_context_truncate(c[s], depth)))
            st = fill(c[s], ids, depth);
    }
    const double t0 = cli_seconds();
    for (int i = 0; !st && i < n; i++) {
        for (int s = 0; s < np; s++)
            at[s] = ids + (i + s) % n;
        st = heed_context_eval_many(c, at, ones, np, logits);
    }
    *tps = (double)np * n / (cli_seconds() - t0);
    free(at);
    free(ones);
    return st;
}

/* Median and spread of `reps` runs after one to warm up (with cap
 * attached, or none). */
static heed_status measure(heed_context *c, heed_capture *cap, int depth, const int32_t *ids,
                           int p, int n, int reps, float *logits, stats *out)
{
    heed_context_set_capture(c, cap);
    double *tps = malloc(sizeof *tps * (size_t)reps), t;
    heed_status st = tps ? run_once(c, depth, ids, p, n, logits, &t)
                         : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    for (int r = 0; !st && r < reps; r++)
        st = run_once(c, depth, ids, p, n, logits, &tps[r]);
    if (!st)
        *out = summarize(tps, reps);
    free(tps);
    heed_context_set_capture(c, NULL);
    return st;
}

/* tg with np streams: c and np - 1 more contexts like it (steered alike),
 * each step one heed_context_eval_many. */
static heed_status measure_streams(const heed_model *m, const heed_context_params *cp,
                                   heed_context *c, int np, int depth, const int32_t *ids, int n,
                                   int reps, const cli_cvecs *cvecs, stats *out)
{
    heed_context **cs = calloc((size_t)np, sizeof *cs);
    float *logits = malloc(sizeof *logits * (size_t)heed_model_n_vocab(m) * (size_t)np);
    double *tps = malloc(sizeof *tps * (size_t)reps), t;
    heed_status st = cs && logits && tps ? HEED_OK : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (cs)
        cs[0] = c;
    for (int s = 1; !st && s < np; s++)
        if (!(st = heed_context_new(m, cp, &cs[s])))
            st = cli_cvec_apply(cvecs, cs[s]);
    if (!st)
        st = run_streams(cs, np, depth, ids, n, logits, &t);
    for (int r = 0; !st && r < reps; r++)
        st = run_streams(cs, np, depth, ids, n, logits, &tps[r]);
    if (!st)
        *out = summarize(tps, reps);
    for (int s = 1; cs && s < np; s++)
        heed_context_free(cs[s]);
    free(cs);
    free(logits);
    free(tps);
    return st;
}

int cmd_bench(int argc, char **argv)
{
    const char *model = NULL;
    long p = 512, n = 128, threads = 0, reps = 5, depth = 0, np = 0;
    bool membw_only = false, capture = false;
    heed_context_params cp = heed_context_default_params();
    cli_cvecs cvecs = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int kv = cli_cache_type("bench", argc, argv, &i, &cp);
        if (!kv)
            kv = cli_cvec_option("bench", argc, argv, &i, &cvecs);
        if (kv < 0)
            return EXIT_BAD_INPUT;
        if (kv)
            continue;
        long *num = !strcmp(a, "-p") ? &p : !strcmp(a, "-n") ? &n : !strcmp(a, "-t") ? &threads
                    : !strcmp(a, "-r") ? &reps : !strcmp(a, "-d") ? &depth
                    : !strcmp(a, "-np") ? &np : NULL;
        if (num) {
            if (!cli_parse_int("bench", a, v, num == &reps || num == &threads ? 1 : 0,
                               num == &threads || num == &np ? 512 : 1 << 20, num))
                return EXIT_BAD_INPUT;
            i++;
        } else if (!strcmp(a, "--membw")) {
            membw_only = true;
        } else if (!strcmp(a, "--capture")) {
            capture = true;
        } else if (a[0] == '-' || model) {
            return cli_usage_error("bench", USAGE_BENCH, "unknown or incomplete option");
        } else {
            model = a;
        }
    }
    if (!model && !membw_only)
        return cli_usage_error("bench", USAGE_BENCH, "needs MODEL (or --membw)");
    if (!threads)
        threads = heed_cpu_cores();
    double membw = 0;
    heed_status st;
    if (membw_only) {
        if ((st = heed_cpu_membw((int)threads, &membw)))
            return cli_fail("bench", st);
        printf("memory read bandwidth: %.1f GB/s (%ld threads)\n", membw, threads);
        return EXIT_OK;
    }

    heed_model *m = NULL;
    heed_context *c = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    heed_capture *cap = NULL;
    stats pp = {0}, tg = {0}, ppc = {0};
    cp.n_ctx = (int)(depth + (p > n ? p : n));
    cp.n_threads = (int)threads;
    const double t_load = cli_seconds();
    st = heed_model_load(model, &m);
    const double load_s = cli_seconds() - t_load;
    if (!st && heed_model_is_encoder(m))
        st = cli_set_error(HEED_ERR_UNSUPPORTED, "'%s' is an encoder: bench measures decoders",
                           heed_model_arch(m));
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st)
        st = cli_cvec_apply(&cvecs, c);
    if (!st) {
        ids = malloc(sizeof *ids * (size_t)cp.n_ctx);
        logits = malloc(sizeof *logits * (size_t)heed_model_n_vocab(m));
        if (!ids || !logits)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
        for (int i = 0; ids && i < cp.n_ctx; i++) /* arbitrary ids: speed ignores them */
            ids[i] = (int32_t)((i * 7919 + 11) % heed_model_n_vocab(m));
    }
    const bool encdec = !st && heed_model_decoder_start(m) >= 0;
    if (encdec && np) /* heed_context_eval_many evaluates them one by one */
        st = cli_set_error(HEED_ERR_UNSUPPORTED, "-np: an encoder-decoder's streams do not "
                           "share a forward pass");
    else if (encdec) /* what the decoder reads */
        st = heed_context_encode(c, ids, p ? (int)p : 1);
    if (!st && depth) { /* fill the cache once; each run starts from it */
        const double t0 = cli_seconds();
        st = fill(c, ids, (int)depth);
        if (!st)
            printf("depth %ld: the cache filled in %.1f s\n", depth, cli_seconds() - t0);
    }
    const double gb = st ? 0 : (double)heed_model_matrix_bytes(m) / 1e9;
    if (!st)
        printf("%s: %s, matrices %.2f GB, %ld threads, kernels %s, KV cache %s/%s of %.1f "
               "MiB, %ld reps, loaded in %.2f s\n", model, heed_model_arch(m), gb, threads,
               heed_cpu_isa(), heed_type_name(cp.type_k), heed_type_name(cp.type_v),
               (double)heed_context_kv_bytes(c) / 1048576.0, reps, load_s);
    if (!st && p) {
        st = measure(c, NULL, (int)depth, ids, (int)p, 0, (int)reps, logits, &pp);
        if (!st)
            printf("pp%-5ld %10.2f t/s ± %.2f\n", p, pp.median, pp.sd);
    }
    if (!st && p && capture) {
        /* an encoder-decoder's: the encoder's, of positions 0..p-1 */
        heed_capture_params cpar = heed_capture_default_params((int)(encdec ? p : depth + p));
        cpar.row_begin = encdec ? 0 : (int)depth;
        cpar.kind = encdec ? HEED_ATTN_ENCODER : HEED_ATTN_SELF;
        cpar.max_bytes = INT64_MAX;
        st = heed_capture_new(m, &cpar, &cap);
        if (!st)
            st = measure(c, cap, (int)depth, ids, (int)p, 0, (int)reps, logits, &ppc);
        if (!st)
            printf("pp%-5ld %10.2f t/s ± %.2f   with capture (%.1f MiB): %+.1f%% time\n", p,
                   ppc.median, ppc.sd, (double)heed_capture_bytes(m, &cpar) / 1048576.0,
                   100.0 * (pp.median / ppc.median - 1.0));
    }
    if (!st && n)
        st = measure(c, NULL, (int)depth, ids, 0, (int)n, (int)reps, logits, &tg);
    stats tgp = {0}; /* with np streams */
    if (!st && n && np)
        st = measure_streams(m, &cp, c, (int)np, (int)depth, ids, (int)n, (int)reps, &cvecs, &tgp);
    /* the peak before measuring the bandwidth, whose buffer would count */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double peak_mib = (double)ru.ru_maxrss / 1024.0;
    if (!st && n)
        st = heed_cpu_membw((int)threads, &membw);
    if (!st && n)
        printf("tg%-5ld %10.2f t/s ± %.2f   %.1f GB/s, %.0f%% of the measured %.1f GB/s\n", n,
               tg.median, tg.sd, gb * tg.median, 100.0 * gb * tg.median / membw, membw);
    if (!st && n && np)
        printf("tg%-5ld %10.2f t/s ± %.2f   %ld streams together: %.2f t/s each, %.2fx one "
               "stream\n", n, tgp.median, tgp.sd, np, tgp.median / (double)np,
               tgp.median / tg.median);
    int rc = EXIT_OK;
    if (st)
        rc = cli_fail("bench", st);
    else {
        printf("peak resident memory %.1f MiB\n", peak_mib);
        printf("pp%ld %.2f tg%ld %.2f bw %.2f roofline %.1f load %.2f peak_mib %.1f", p,
               pp.median, n, tg.median, gb * tg.median,
               membw > 0 ? 100.0 * gb * tg.median / membw : 0.0, load_s, peak_mib);
        if (np)
            printf(" np %ld tg%ld_np %.2f", np, n, tgp.median);
        putchar('\n');
    }
    free(ids);
    free(logits);
    heed_capture_free(cap);
    heed_context_free(c);
    heed_model_free(m);
    return rc;
}
