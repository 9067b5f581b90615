/*
 * cmd_next.c — `heed next MODEL (-p TEXT | --ids 1,2,3) [-k 10] [--temp T]
 * [--lens]`: the next-token probability table after a prompt ("I love" →
 * you, it, this, ...), with probabilities and log-probabilities; --lens adds
 * the logit lens, the tokens the residual stream already predicts after
 * each layer (the output head applied to it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

/* Divides logits by temp in place and ranks them: best[0..k) the k most
 * probable ids; returns the normaliser of their log-probabilities. */
static double rank(float *logits, int n, double temp, int k, int32_t *best)
{
    for (int i = 0; i < n; i++)
        logits[i] = (float)(logits[i] / temp);
    heed_top_k(logits, n, k, best);
    return heed_log_sum_exp(logits, n);
}

int cmd_next(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *ids_text = NULL;
    long k = 10;
    double temp = 1.0;
    bool lens = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") && v)
            prompt = argv[++i];
        else if (!strcmp(a, "--ids") && v)
            ids_text = argv[++i];
        else if (!strcmp(a, "--lens"))
            lens = true;
        else if (!strcmp(a, "-k")) {
            if (!cli_parse_int("next", "-k", v, 1, 1000, &k))
                return EXIT_BAD_INPUT;
            i++;
        } else if (!strcmp(a, "--temp")) {
            if (!cli_parse_float("next", "--temp", v, 1e-3, 1e3, &temp))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("next", USAGE_NEXT, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !prompt == !ids_text)
        return cli_usage_error("next", USAGE_NEXT, "needs MODEL and either -p TEXT or --ids");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    int32_t *ids = NULL;
    int n = 0, n_vocab = 0, n_layer = 0;
    float *logits = NULL, *resid = NULL;
    int32_t *best = NULL;
    heed_status st = cli_load(model, true, &m, &v);
    if (!st)
        st = cli_prompt("next", v, prompt, ids_text, false, &ids, &n);
    if (!st) {
        n_vocab = heed_model_n_vocab(m);
        n_layer = heed_model_n_layer(m);
        if (k > n_vocab)
            k = n_vocab;
        logits = malloc(sizeof *logits * (size_t)n_vocab);
        best = malloc(sizeof *best * (size_t)k);
        resid = malloc(sizeof *resid * (size_t)(n_layer + 1) * (size_t)heed_model_n_embd(m));
        if (!logits || !best || !resid)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    }
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n;
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st) {
        heed_context_set_residual(c, lens ? resid : NULL, n - 1, n);
        st = heed_context_eval(c, ids, n, logits, false);
    }
    int rc = EXIT_OK;
    if (st) {
        rc = cli_fail("next", st);
    } else {
        const double lse = rank(logits, n_vocab, temp, (int)k, best);
        printf("next token after %d tokens (temperature %g):\n", n, temp);
        char text[80];
        for (int j = 0; j < k; j++) {
            const double logp = logits[best[j]] - lse;
            printf("  %3d  %-24s %7.4f  log %8.4f  ", j + 1,
                   cli_piece(v, best[j], text, sizeof text), exp(logp), logp);
            cli_bar(exp(logp));
            putchar('\n');
        }
        for (int l = 0; lens && l < n_layer; l++) {
            if ((st = heed_context_lens(c, resid + (size_t)(l + 1) * heed_model_n_embd(m), logits))) {
                rc = cli_fail("next", st);
                break;
            }
            const double lse_l = rank(logits, n_vocab, temp, (int)(k < 5 ? k : 5), best);
            printf(l ? "" : "logit lens (top tokens after each layer):\n");
            printf("  layer %2d ", l);
            for (int j = 0; j < (k < 5 ? k : 5); j++)
                printf("%s%s %.3f", j ? "  " : "", cli_piece(v, best[j], text, sizeof text),
                       exp(logits[best[j]] - lse_l));
            putchar('\n');
        }
    }
    free(logits);
    free(best);
    free(resid);
    free(ids);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
