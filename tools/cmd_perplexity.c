/*
 * cmd_perplexity.c — `heed perplexity MODEL -f FILE [-c CTX] [-t THREADS]`:
 * the perplexity of a text file as llama.cpp's llama-perplexity computes it
 * (windows of CTX tokens, second halves scored; see src/gen/perplexity.c),
 * with a progress line on stderr and the result on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"

static void show_progress(void *user, int done, int total, double ppl)
{
    const double t0 = *(const double *)user;
    const double elapsed = cli_seconds() - t0;
    const int width = 30, filled = width * done / total;
    fprintf(stderr, "\r[%.*s%*s] %d/%d windows, PPL %.4f, %.0f s left ", filled,
            "##############################", width - filled, "", done, total, ppl,
            elapsed / done * (total - done));
    if (done == total)
        fputc('\n', stderr);
}

int cmd_perplexity(int argc, char **argv)
{
    const char *model = NULL, *file = NULL;
    long n_ctx = 512, threads = 0;
    heed_context_params cp = heed_context_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const int kv = cli_cache_type("perplexity", argc, argv, &i, &cp);
        if (kv < 0)
            return EXIT_BAD_INPUT;
        if (kv)
            continue;
        if (!strcmp(a, "-f") && v)
            file = argv[++i];
        else if (!strcmp(a, "-c")) {
            if (!cli_parse_int("perplexity", "-c", v, 4, 1 << 20, &n_ctx))
                return EXIT_BAD_INPUT;
            i++;
        } else if (!strcmp(a, "-t")) {
            if (!cli_parse_int("perplexity", "-t", v, 1, 1024, &threads))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("perplexity", USAGE_PERPLEXITY, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !file)
        return cli_usage_error("perplexity", USAGE_PERPLEXITY, "needs MODEL and -f FILE");
    size_t len;
    char *text = cli_read_file("perplexity", file, &len);
    if (!text)
        return EXIT_BAD_INPUT;
    heed_vocab *v = NULL;
    heed_model *m = NULL;
    heed_context *c = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    cp.n_ctx = (int)n_ctx;
    cp.n_threads = (int)threads;
    heed_perplexity_result r;
    double t0 = cli_seconds();
    heed_status st = cli_load(model, true, &m, &v);
    if (!st)
        st = heed_tokenize(v, text, len, true, false, &ids, &n_ids);
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st) {
        fprintf(stderr, "heed perplexity: %zu tokens, %zu windows of %ld\n", n_ids,
                n_ids / (size_t)n_ctx, n_ctx);
        st = heed_perplexity(c, ids, (int64_t)n_ids, (int)n_ctx,
                             heed_vocab_add_bos(v) ? heed_vocab_bos(v) : -1, show_progress,
                             &t0, &r);
    }
    int rc = EXIT_OK;
    if (st)
        rc = cli_fail("perplexity", st);
    else
        printf("PPL = %.4f +/- %.5f (%lld predictions in %d windows of %ld tokens)\n", r.ppl,
               r.ppl_err, (long long)r.n_scored, r.n_chunks, n_ctx);
    free(text);
    free(ids);
    heed_context_free(c);
    heed_model_free(m);
    heed_vocab_free(v);
    return rc;
}
