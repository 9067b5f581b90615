/* test_perplexity.c — llama.cpp's perplexity procedure, recomputed here
 * step by step from plain logits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static int calls;

static void count_progress(void *user, int done, int total, double ppl)
{
    (void)user;
    (void)ppl;
    cr_expect_leq(done, total);
    calls++;
}

Test(perplexity, matches_the_procedure_step_by_step)
{
    char path[4096];
    FIXTURE_PATH(path, "stories260K.bin");
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    const int32_t V = heed_model_n_vocab(m);
    enum { N = 200, CTX = 64 };
    int32_t tokens[N];
    for (int i = 0; i < N; i++)
        tokens[i] = (int32_t)((i * 37 + 11) % V);
    heed_context *c;
    cr_assert_eq(heed_context_new(m, NULL, &c), HEED_OK);
    heed_perplexity_result r;
    cr_assert_eq(heed_perplexity(c, tokens, N, CTX, 1, count_progress, NULL, &r), HEED_OK,
                 "%s", heed_last_error());
    cr_expect_eq(r.n_chunks, N / CTX);
    cr_expect_eq(calls, N / CTX);
    cr_expect_eq(r.n_scored, (int64_t)(N / CTX) * (CTX - 1 - CTX / 2));

    /* The same, by hand: windows of CTX from an empty cache, BOS first,
     * predictions CTX/2 .. CTX-2 scored. */
    double nll = 0, nll2 = 0;
    int count = 0;
    float *logits = malloc(sizeof(float) * CTX * (size_t)V);
    for (int k = 0; k < N / CTX; k++) {
        int32_t w[CTX];
        memcpy(w, tokens + k * CTX, sizeof w);
        w[0] = 1;
        heed_context *fresh;
        cr_assert_eq(heed_context_new(m, NULL, &fresh), HEED_OK);
        cr_assert_eq(heed_context_eval(fresh, w, CTX, logits, true), HEED_OK);
        for (int j = CTX / 2; j < CTX - 1; j++) {
            const float *l = logits + (size_t)j * V;
            double sum = 0, max = l[0];
            for (int i = 0; i < V; i++)
                max = fmax(max, l[i]);
            for (int i = 0; i < V; i++)
                sum += exp(l[i] - max);
            double v = -(l[tokens[k * CTX + j + 1]] - max - log(sum));
            nll += v;
            nll2 += v * v;
            count++;
        }
        heed_context_free(fresh);
    }
    double mean = nll / count, ppl = exp(mean);
    double err = sqrt((nll2 / count - mean * mean) / (count - 1)) * ppl;
    cr_expect_float_eq(r.ppl, ppl, 1e-6 * ppl, "%g vs %g", r.ppl, ppl);
    cr_expect_float_eq(r.ppl_err, err, 1e-4 * err, "%g vs %g", r.ppl_err, err);
    cr_expect_gt(r.ppl, 1.0);
    free(logits);

    cr_expect_eq(heed_perplexity(c, tokens, 2 * CTX - 1, CTX, 1, NULL, NULL, &r), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "needs at least 128 tokens"), "%s", heed_last_error());
    heed_context_free(c);
    heed_model_free(m);
}
