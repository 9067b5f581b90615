/*
 * perplexity.c — perplexity of a token sequence, computed as llama.cpp's
 * llama-perplexity does so the numbers compare: the tokens are cut into
 * non-overlapping windows of n_ctx; each window is evaluated from an empty
 * cache (its first token replaced by BOS when the model adds one), and
 * only the predictions in its second half are scored, so every scored
 * token has at least n_ctx/2 tokens of context.
 *
 *   PPL = exp(mean NLL),  ± = PPL · sqrt(var(NLL) / (count - 1))
 */
#include <math.h>
#include <stdlib.h>

#include "heed.h"
#include "util/error.h"

heed_status heed_perplexity(heed_context *c, const int32_t *tokens, int64_t n_tokens,
                            int n_ctx, int32_t bos, heed_perplexity_progress progress,
                            void *user, heed_perplexity_result *out)
{
    *out = (heed_perplexity_result){0};
    if (n_ctx < 4 || n_ctx > heed_context_n_ctx(c))
        return heed_fail(HEED_ERR_ARG, "perplexity window %d must be 4..%d (the context "
                         "size)", n_ctx, heed_context_n_ctx(c));
    if (n_tokens < 2 * (int64_t)n_ctx)
        return heed_fail(HEED_ERR_ARG, "perplexity with a window of %d needs at least %d "
                         "tokens; the text has %lld", n_ctx, 2 * n_ctx, (long long)n_tokens);
    const int32_t n_vocab = heed_model_n_vocab(heed_context_model(c));
    float *logits = malloc(sizeof *logits * (size_t)n_ctx * (size_t)n_vocab);
    int32_t *window = malloc(sizeof *window * (size_t)n_ctx);
    if (!logits || !window) {
        free(logits);
        free(window);
        return heed_fail(HEED_ERR_NOMEM, "out of memory for %d x %d logits", n_ctx, n_vocab);
    }
    const int64_t n_chunk = n_tokens / n_ctx;
    const int first = n_ctx / 2;
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    heed_status st = HEED_OK;
    for (int64_t k = 0; k < n_chunk && !st; k++) {
        const int32_t *chunk = tokens + k * n_ctx;
        for (int i = 0; i < n_ctx; i++)
            window[i] = chunk[i];
        if (bos >= 0)
            window[0] = bos;
        heed_context_reset(c);
        if ((st = heed_context_eval(c, window, n_ctx, logits, true)))
            break;
        for (int j = first; j < n_ctx - 1; j++) {
            const float *row = logits + (size_t)j * (size_t)n_vocab;
            const double v = heed_log_sum_exp(row, n_vocab) - (double)row[chunk[j + 1]];
            nll += v;
            nll2 += v * v;
            count++;
        }
        if (progress)
            progress(user, (int)(k + 1), (int)n_chunk, exp(nll / (double)count));
    }
    free(logits);
    free(window);
    if (st)
        return st;
    const double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
    out->ppl = exp(mean);
    out->ppl_err = var > 0 && count > 1 ? sqrt(var / (double)(count - 1)) * out->ppl : 0.0;
    out->n_scored = count;
    out->n_chunks = (int)n_chunk;
    return HEED_OK;
}
