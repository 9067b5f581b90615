/*
 * control_vector_make.c — control-vector directions from pairs of prompts,
 * as llama.cpp's cvector-generator (examples/cvector-generator, c392e50)
 * makes them:
 *   - each pair's shorter sequence is padded to the longer's length, and
 *     both run from an empty cache;
 *   - every position gives, for each K = 1 .. n_layer - 1, a row: the
 *     residual stream out of block K - 1 of the positive prompt minus the
 *     negative's (llama.cpp takes the "l_out" tensors that have a row per
 *     token, which the last block's has not: it keeps only the rows whose
 *     logits are wanted; the row of block K - 1 becomes direction.K);
 *   - rows that are zero (a shared prefix) are dropped; llama.cpp drops a
 *     row when no element is above 1e-6 (a negative one included), heed
 *     when none is above it in magnitude — the same rows in practice;
 *   - mean: the rows' mean, scaled to unit length;
 *   - pca: the top eigenvector of Σ row rowᵀ (not centred) by power
 *     iteration from a random positive unit vector, stopping once it moves
 *     by less than the tolerance. llama.cpp's start vector is seeded by the
 *     clock and the sign it ends with is left as it falls (its TODO); and
 *     what it returns is not always sound (every eighth element 0, some
 *     layers far from the principal direction: see the README). heed seeds
 *     the start vector, turns the result to agree with the mean (so a
 *     positive scale steers towards the positive prompts) and returns it
 *     whole, unit length.
 * The power iteration multiplies by the rows twice (u = R v, then Rᵀ u) in
 * double rather than forming the n_embd² matrix; each layer is one
 * thread's job, so the result does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "model/context.h"
#include "util/error.h"
#include "util/splitmix.h"

heed_control_vector_params heed_control_vector_default_params(void)
{
    heed_control_vector_params p = {
        .method = HEED_CONTROL_VECTOR_PCA,
        .pca_iterations = 1000,
        .pca_tolerance = 1e-7,
        .seed = HEED_SAMPLER_DEFAULT_SEED,
    };
    return p;
}

typedef struct cv_job {
    const heed_control_vector_params *p;
    int E, k0;              /* n_embd; the first direction computed          */
    const int64_t *n_rows;  /* [layer] rows kept                             */
    const double *sum;      /* [layer][E] their sum                          */
    float *const *rows;     /* [layer] -> [n_rows][E] (PCA only)             */
    float *directions;      /* [n_layer][E], row k0 + layer                  */
} cv_job;

/* Scales v[0..n) to unit length; false when it is zero. */
static bool unit(double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i] * v[i];
    if (!(s > 0))
        return false;
    const double inv = 1 / sqrt(s);
    for (int i = 0; i < n; i++)
        v[i] *= inv;
    return true;
}

/* The top eigenvector of Rᵀ R (R: m rows of E) into v (unit length), by
 * power iteration from v's contents; u has room for m doubles, w for E. */
static void power_iteration(const float *R, int64_t m, int E, const heed_control_vector_params *p,
                            double *v, double *u, double *w)
{
    for (int it = 0; it < p->pca_iterations; it++) {
        for (int64_t r = 0; r < m; r++) {
            const float *row = R + r * E;
            double s = 0;
            for (int i = 0; i < E; i++)
                s += row[i] * v[i];
            u[r] = s;
        }
        memset(w, 0, sizeof *w * (size_t)E);
        for (int64_t r = 0; r < m; r++) {
            const float *row = R + r * E;
            for (int i = 0; i < E; i++)
                w[i] += u[r] * row[i];
        }
        if (!unit(w, E))
            return; /* v is orthogonal to every row: keep it (cannot happen
                       from a positive start unless the rows are zero) */
        double d = 0;
        for (int i = 0; i < E; i++) {
            d += (w[i] - v[i]) * (w[i] - v[i]);
            v[i] = w[i];
        }
        if (sqrt(d) < p->pca_tolerance)
            return;
    }
}

static void reduce_layers(void *ctx, int64_t begin, int64_t end, int ith)
{
    (void)ith;
    const cv_job *j = ctx;
    const int E = j->E;
    double *buf = NULL;
    for (int64_t l = begin; l < end; l++) {
        const double *mean = j->sum + l * E; /* its direction is the mean's */
        double *v = NULL;
        if (j->p->method == HEED_CONTROL_VECTOR_PCA) {
            free(buf);
            buf = malloc(sizeof *buf * (size_t)(2 * E + j->n_rows[l]));
            if (!buf) /* the caller checks every direction is finite */
                goto fail;
            v = buf;
            /* the start vector: uniform in [0, 1), seeded per layer */
            uint64_t s = j->p->seed ^ (uint64_t)(j->k0 + l) * 0x9E3779B97F4A7C15u;
            for (int i = 0; i < E; i++)
                v[i] = (double)(heed_splitmix64(&s) >> 11) * 0x1p-53;
            unit(v, E);
            power_iteration(j->rows[l], j->n_rows[l], E, j->p, v, buf + 2 * E, buf + E);
            double dot = 0;
            for (int i = 0; i < E; i++)
                dot += v[i] * mean[i];
            for (int i = 0; dot < 0 && i < E; i++)
                v[i] = -v[i];
        } else {
            free(buf);
            if (!(buf = malloc(sizeof *buf * (size_t)E)))
                goto fail;
            v = buf;
            memcpy(v, mean, sizeof *v * (size_t)E);
            unit(v, E);
        }
        for (int i = 0; i < E; i++)
            j->directions[(j->k0 + l) * E + i] = (float)v[i];
        continue;
fail:
        for (int i = 0; i < E; i++)
            j->directions[(j->k0 + l) * E + i] = NAN;
    }
    free(buf);
}

heed_status heed_control_vector_compute(heed_context *c, const int32_t *const *pos,
                                        const int *n_pos, const int32_t *const *neg,
                                        const int *n_neg, int n_pairs, int32_t pad,
                                        const heed_control_vector_params *p, float *directions)
{
    const heed_control_vector_params defaults = heed_control_vector_default_params();
    if (!p)
        p = &defaults;
    if (!c || !pos || !n_pos || !neg || !n_neg || !directions || n_pairs < 1)
        return heed_fail(HEED_ERR_ARG, "heed_control_vector_compute: want a context, at least "
                         "one pair of prompts and directions");
    const heed_model *m = c->m;
    const int E = m->hp.n_embd, L = m->hp.n_layer;
    if (heed_model_is_encoder(m))
        return heed_fail(HEED_ERR_UNSUPPORTED, "'%s' is an encoder: control vectors steer a "
                         "decoder", m->arch->name);
    if (L < 2)
        return heed_fail(HEED_ERR_UNSUPPORTED, "the model has %d block: a control vector has "
                         "directions for blocks 1 .. n_layer - 1", L);
    int k0 = p->layer_start, k1 = p->layer_end;
    if (!k0 && !k1) {
        k0 = 1;
        k1 = L - 1;
    }
    if (k0 < 1 || k1 < k0 || k1 > L - 1)
        return heed_fail(HEED_ERR_ARG, "layers %d..%d: want 1 <= layer_start <= layer_end <= "
                         "%d (the model has %d blocks; direction K is added after block K)",
                         k0, k1, L - 1, L);
    if ((unsigned)p->method > HEED_CONTROL_VECTOR_MEAN)
        return heed_fail(HEED_ERR_ARG, "unknown control-vector method %d", (int)p->method);
    if (p->method == HEED_CONTROL_VECTOR_PCA && (p->pca_iterations < 1 || !(p->pca_tolerance >= 0)))
        return heed_fail(HEED_ERR_ARG, "pca_iterations %d, pca_tolerance %g: want at least one "
                         "iteration and a tolerance >= 0", p->pca_iterations, p->pca_tolerance);
    int longest = 0;
    int64_t total = 0; /* positions, each pair's longer length */
    for (int i = 0; i < n_pairs; i++) {
        if (!pos[i] || !neg[i] || n_pos[i] < 1 || n_neg[i] < 1)
            return heed_fail(HEED_ERR_ARG, "pair %d: its %s prompt has no tokens", i + 1,
                             !pos[i] || n_pos[i] < 1 ? "positive" : "negative");
        const int n = n_pos[i] > n_neg[i] ? n_pos[i] : n_neg[i];
        if (n > c->n_ctx)
            return heed_fail(HEED_ERR_ARG, "pair %d has %d tokens (the longer prompt), more than "
                             "the context holds (n_ctx = %d)", i + 1, n, c->n_ctx);
        longest = n > longest ? n : longest;
        total += n;
    }
    if (pad < 0 || pad >= m->hp.n_vocab)
        return heed_fail(HEED_ERR_ARG, "pad token %d is out of range (the vocabulary has %d "
                         "tokens)", pad, m->hp.n_vocab);

    const int nl = k1 - k0 + 1;
    const bool pca = p->method == HEED_CONTROL_VECTOR_PCA;
    const size_t seq_floats = (size_t)longest * (size_t)(L + 1) * (size_t)E;
    float *res_pos = malloc(sizeof(float) * seq_floats);
    float *res_neg = malloc(sizeof(float) * seq_floats);
    int32_t *ids = malloc(sizeof *ids * (size_t)longest);
    double *sum = calloc((size_t)nl * (size_t)E, sizeof *sum);
    int64_t *n_rows = calloc((size_t)nl, sizeof *n_rows);
    float **rows = calloc((size_t)nl, sizeof *rows);
    heed_status st = HEED_OK;
    if (!res_pos || !res_neg || !ids || !sum || !n_rows || !rows)
        st = heed_fail(HEED_ERR_NOMEM, "out of memory for the residual streams of %d tokens",
                       longest);
    for (int l = 0; !st && pca && l < nl; l++)
        if (!(rows[l] = malloc(sizeof(float) * (size_t)total * (size_t)E)))
            st = heed_fail(HEED_ERR_NOMEM, "out of memory for %lld difference rows of %d",
                           (long long)total * nl, E);

    /* the caller's residual tap, restored at the end */
    float *const saved_res = c->residual;
    const int saved_begin = c->res_begin, saved_end = c->res_end;
    for (int i = 0; !st && i < n_pairs; i++) {
        const int n = n_pos[i] > n_neg[i] ? n_pos[i] : n_neg[i];
        for (int side = 0; !st && side < 2; side++) {
            const int32_t *src = side ? neg[i] : pos[i];
            const int len = side ? n_neg[i] : n_pos[i];
            memcpy(ids, src, sizeof *ids * (size_t)len);
            for (int t = len; t < n; t++)
                ids[t] = pad;
            heed_context_reset(c);
            heed_context_set_residual(c, side ? res_neg : res_pos, 0, n);
            st = heed_context_eval(c, ids, n, NULL, false);
            if (st)
                heed_fail_prefix(st, "pair %d, %s prompt", i + 1, side ? "negative" : "positive");
        }
        for (int t = 0; !st && t < n; t++)
            for (int l = 0; l < nl; l++) {
                /* entry K of a position's slots: the stream out of block K - 1 */
                const size_t at = ((size_t)t * (size_t)(L + 1) + (size_t)(k0 + l)) * (size_t)E;
                float *d = pca ? rows[l] + n_rows[l] * E : res_pos + at;
                bool zero = true;
                for (int e = 0; e < E; e++) {
                    d[e] = res_pos[at + e] - res_neg[at + e];
                    zero = zero && fabsf(d[e]) <= 1e-6f;
                }
                if (zero)
                    continue;
                for (int e = 0; e < E; e++)
                    sum[(size_t)l * E + e] += d[e];
                n_rows[l]++;
            }
        if (!st && p->progress)
            p->progress(p->user, i + 1, n_pairs);
    }
    heed_context_set_residual(c, saved_res, saved_begin, saved_end);
    heed_context_reset(c);
    for (int l = 0; !st && l < nl; l++)
        if (!n_rows[l])
            st = heed_fail(HEED_ERR_ARG, "direction %d: every pair's prompts give the same "
                           "stream out of block %d (are the positive and negative prompts the "
                           "same?)", k0 + l, k0 + l - 1);
    if (!st) {
        for (int l = 0; l < nl; l++)
            for (int e = 0; e < E; e++)
                sum[(size_t)l * E + e] /= (double)n_rows[l];
        cv_job job = {p, E, k0, n_rows, sum, rows, directions};
        heed_pool_for(c->pool, nl, reduce_layers, &job);
        for (int64_t i = (int64_t)k0 * E; !st && i < (int64_t)(k1 + 1) * E; i++)
            if (!isfinite(directions[i]))
                st = heed_fail(HEED_ERR_NOMEM, "out of memory for the power iteration");
    }
    for (int l = 0; l < nl && rows; l++)
        free(rows[l]);
    free(rows);
    free(n_rows);
    free(sum);
    free(ids);
    free(res_neg);
    free(res_pos);
    return st;
}
