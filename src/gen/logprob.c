/*
 * logprob.c — the two reductions of a row of logits that generation,
 * perplexity, `heed next` and the server all need: log Σ exp (for
 * log-probabilities) and the k largest entries.
 */
#include <math.h>

#include "heed.h"

double heed_log_sum_exp(const float *x, int64_t n)
{
    double max = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    if (!isfinite(max))
        return max; /* all -inf (or n 0): -inf; any +inf: +inf */
    for (int64_t i = 0; i < n; i++)
        sum += exp((double)x[i] - max);
    return max + log(sum);
}

int heed_top_k(const float *x, int64_t n, int k, int32_t *ids)
{
    int have = 0; /* best first; a later entry displaces only a smaller one */
    for (int64_t i = 0; i < n && k > 0; i++) {
        if (isnan(x[i]) || (have == k && !(x[i] > x[ids[have - 1]])))
            continue;
        int j = have < k ? have++ : have - 1;
        for (; j > 0 && x[i] > x[ids[j - 1]]; j--)
            ids[j] = ids[j - 1];
        ids[j] = (int32_t)i;
    }
    return have;
}
