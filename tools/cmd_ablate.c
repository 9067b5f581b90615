/*
 * cmd_ablate.c — `heed ablate MODEL (-p TEXT | --ids 1,2,3) --heads 3.1,4.0
 * [--mean-over FILE] [-k 10]`: the next-token table with chosen heads'
 * outputs zeroed (or set to their mean over the text of FILE) beside the
 * table without, and the KL divergence between the two distributions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

/* Parses "3.1,4.0,5.*" (layer.head, * for every head of a layer) into
 * pairs (layer, head), head -1 for *. */
static heed_status parse_heads(const char *text, int n_layer, int n_head, int **pairs, int *n)
{
    *n = 0;
    *pairs = malloc(sizeof **pairs * 2 * (strlen(text) / 2 + 1));
    if (!*pairs)
        return cli_set_error(HEED_ERR_NOMEM, "out of memory");
    for (const char *p = text; *p;) {
        char *end;
        const long l = strtol(p, &end, 10);
        long h = -1;
        if (end == p || *end != '.')
            return cli_set_error(HEED_ERR_ARG, "--heads: '%s' is not a list of LAYER.HEAD "
                                 "(like 3.1,4.0 or 5.* for a whole layer)", text);
        p = end + 1;
        if (*p == '*') {
            p++;
        } else {
            h = strtol(p, &end, 10);
            if (end == p)
                return cli_set_error(HEED_ERR_ARG, "--heads: '%s' is not a list of LAYER.HEAD",
                                     text);
            p = end;
        }
        if (l < 0 || l >= n_layer || h >= n_head || (h < 0 && h != -1))
            return cli_set_error(HEED_ERR_ARG, "--heads: %ld.%ld is out of range (the model "
                                 "has %d layers of %d heads)", l, h, n_layer, n_head);
        (*pairs)[2 * *n] = (int)l;
        (*pairs)[2 * *n + 1] = (int)h;
        ++*n;
        if (*p == ',')
            p++;
        else if (*p)
            return cli_set_error(HEED_ERR_ARG, "--heads: '%s' is not a list of LAYER.HEAD", text);
    }
    if (!*n)
        return cli_set_error(HEED_ERR_ARG, "--heads: no heads given");
    return HEED_OK;
}

/* The mean z of every layer over the text of path (its first n_ctx
 * tokens), [n_layer + 1][n_head × head_dim]. */
static heed_status mean_over(const char *path, const heed_model *m, const heed_vocab *v,
                             float **out)
{
    size_t len;
    char *text = cli_read_file("ablate", path, &len);
    if (!text)
        return cli_set_error(HEED_ERR_IO, "%s: cannot read the --mean-over text", path);
    int32_t *ids = NULL;
    size_t n = 0;
    heed_status st = heed_tokenize(v, text, len, true, false, &ids, &n);
    free(text);
    const int n_ctx = heed_model_n_ctx_train(m) > 0 ? heed_model_n_ctx_train(m) : 2048;
    if (!st && n == 0)
        st = cli_set_error(HEED_ERR_ARG, "%s: the --mean-over text has no tokens", path);
    if (n > (size_t)n_ctx)
        n = (size_t)n_ctx;
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = (int)n;
    heed_context *c = NULL;
    const size_t width = (size_t)heed_model_n_head(m) * (size_t)heed_model_head_dim(m);
    if (!st && !(*out = malloc(sizeof **out * width * (size_t)(heed_model_n_layer(m) + 1))))
        st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st)
        st = heed_context_mean_activation(c, HEED_HOOK_Z, ids, (int)n, *out);
    heed_context_free(c);
    free(ids);
    return st;
}

/* Log-probabilities of logits, in place. */
static void log_softmax(float *logits, int n)
{
    const double lse = heed_log_sum_exp(logits, n);
    for (int i = 0; i < n; i++)
        logits[i] = (float)(logits[i] - lse);
}

int cmd_ablate(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *ids_text = NULL, *heads_text = NULL;
    const char *mean_path = NULL;
    long k = 10, threads = 0;
    const cli_string_opt strings[] = {{"-p", &prompt}, {"--ids", &ids_text},
                                      {"--heads", &heads_text}, {"--mean-over", &mean_path}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_take_string(strings, sizeof strings / sizeof *strings, a, v))
            i++;
        else if (!strcmp(a, "-k") || !strcmp(a, "-t")) {
            if (!cli_parse_int("ablate", a, v, a[1] == 'k' ? 1 : 0, 1000,
                               a[1] == 'k' ? &k : &threads))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("ablate", USAGE_ABLATE, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !prompt == !ids_text || !heads_text)
        return cli_usage_error("ablate", USAGE_ABLATE,
                               "needs MODEL, --heads and either -p TEXT or --ids");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    heed_edits *e = NULL;
    int32_t *ids = NULL, *best_before = NULL, *best_after = NULL;
    int *pairs = NULL, n = 0, n_pairs = 0, V = 0;
    float *before = NULL, *after = NULL, *means = NULL;
    heed_status st = cli_load(model, true, &m, &v);
    if (!st)
        st = cli_prompt("ablate", v, prompt, ids_text, false, &ids, &n);
    const int L = m ? heed_model_n_layer(m) : 0, H = m ? heed_model_n_head(m) : 0;
    const int D = m ? heed_model_head_dim(m) : 0;
    if (!st)
        st = parse_heads(heads_text, L, H, &pairs, &n_pairs);
    if (!st && mean_path)
        st = mean_over(mean_path, m, v, &means);
    if (!st) {
        V = heed_model_n_vocab(m);
        if (k > V)
            k = V;
        before = malloc(sizeof *before * (size_t)V);
        after = malloc(sizeof *after * (size_t)V);
        best_before = malloc(sizeof *best_before * (size_t)k);
        best_after = malloc(sizeof *best_after * (size_t)k);
        if (!before || !after || !best_before || !best_after)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = heed_edits_new(m, &e);
    for (int i = 0; !st && i < n_pairs; i++)
        for (int h = 0; !st && h < H; h++)
            if (pairs[2 * i + 1] < 0 || pairs[2 * i + 1] == h)
                st = heed_edits_ablate_head(e, pairs[2 * i], h,
                                            means ? means + ((size_t)pairs[2 * i] * (size_t)H +
                                                             (size_t)h) * (size_t)D
                                                  : NULL);
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n;
    cp.n_threads = (int)threads;
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st)
        st = heed_context_eval(c, ids, n, before, false);
    if (!st) {
        heed_context_reset(c);
        st = heed_context_set_edits(c, e);
    }
    if (!st)
        st = heed_context_eval(c, ids, n, after, false);
    int rc = EXIT_OK;
    if (st) {
        rc = cli_fail("ablate", st);
    } else {
        log_softmax(before, V);
        log_softmax(after, V);
        double kl = 0;
        for (int i = 0; i < V; i++)
            kl += exp(before[i]) * (before[i] - after[i]);
        heed_top_k(before, V, (int)k, best_before);
        heed_top_k(after, V, (int)k, best_after);
        printf("ablated (%s): %s\n", means ? "mean over --mean-over" : "zero", heads_text);
        printf("next token after %d tokens:\n       %-34s %s\n", n, "before", "after");
        char a[80], b[80];
        for (int j = 0; j < k; j++)
            printf("  %3d  %-24s %7.4f   %-24s %7.4f\n", j + 1,
                   cli_piece(v, best_before[j], a, sizeof a), exp(before[best_before[j]]),
                   cli_piece(v, best_after[j], b, sizeof b), exp(after[best_after[j]]));
        printf("%s: %.4f before, %.4f after\n", cli_piece(v, best_before[0], a, sizeof a),
               exp(before[best_before[0]]), exp(after[best_before[0]]));
        printf("KL(before || after) = %.6f nats\n", kl);
    }
    heed_context_free(c);
    heed_edits_free(e);
    free(pairs);
    free(means);
    free(before);
    free(after);
    free(best_before);
    free(best_after);
    free(ids);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
