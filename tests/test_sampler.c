/* test_sampler.c — the sampler chain: each filter's support exactly as
 * defined, frequencies against the distribution within chi-square bounds,
 * the penalties to the bit, determinism, and hostile parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/sampler.h"
#include "heed.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static heed_sampler *make(const heed_sampler_params *p, int32_t n)
{
    heed_sampler *s = NULL;
    cr_assert_eq(heed_sampler_new(p, n, &s), HEED_OK, "%s", heed_last_error());
    return s;
}

/* Temperature 1, every filter and penalty off. */
static heed_sampler_params plain(void)
{
    heed_sampler_params p = heed_sampler_default_params();
    p.temp = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static uint32_t rnd_state;

static float rnd_logit(float scale)
{
    rnd_state = rnd_state * 1664525u + 1013904223u;
    return ((float)(rnd_state >> 8) / 16777216.0f - 0.5f) * scale;
}

/* Draws n tokens; counts[id]++ for each. Fails the test on an id out of range. */
static void draw(heed_sampler *s, const float *logits, int32_t n_vocab, int n, int *counts)
{
    for (int i = 0; i < n; i++) {
        int32_t t = heed_sampler_sample(s, logits);
        cr_assert(t >= 0 && t < n_vocab, "token %d out of range", (int)t);
        counts[t]++;
    }
}

/* Pearson's statistic of counts against probs over the ids where
 * probs > 0; *outside gets the draws that fell where probs == 0. */
static double chi_square(const int *counts, const double *probs, int n_vocab, int n_draws,
                         int *outside)
{
    double chi = 0;
    *outside = 0;
    for (int i = 0; i < n_vocab; i++) {
        if (probs[i] > 0) {
            double e = probs[i] * n_draws;
            chi += (counts[i] - e) * (counts[i] - e) / e;
        } else {
            *outside += counts[i];
        }
    }
    return chi;
}

/* A bound the statistic with df degrees of freedom exceeds with
 * probability below about 1e-5 (mean df, standard deviation sqrt(2 df)).
 * The draws are seeded, so a pass is a pass on every run. */
static double chi_bound(int df)
{
    return df + 7.0 * sqrt(2.0 * df) + 10.0;
}

/* logits = log(probs): the softmax at temperature 1 gives probs back. */
static void logits_of(const double *probs, int n, float *logits)
{
    for (int i = 0; i < n; i++)
        logits[i] = probs[i] > 0 ? (float)log(probs[i]) : -INFINITY;
}

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The surviving ids of the chain, ascending, into ids; returns the count.
 * probs_by_id (if not NULL) gets each survivor's probability, -1 for the
 * tokens filtered out. */
static int support(heed_sampler *s, const float *logits, int32_t *ids, double *probs_by_id,
                   int n_vocab)
{
    const heed_sampler_cand *c;
    int m = heed_sampler_candidates(s, logits, &c);
    if (probs_by_id)
        for (int i = 0; i < n_vocab; i++)
            probs_by_id[i] = -1;
    for (int i = 0; i < m; i++) {
        ids[i] = c[i].id;
        if (probs_by_id)
            probs_by_id[c[i].id] = c[i].p;
    }
    qsort(ids, (size_t)m, sizeof *ids, cmp_id);
    return m;
}

/* -------------------------------------------- a reference chain to check against */

typedef struct {
    int32_t id;
    float logit;
} ref_tok;

static int ref_cmp(const void *a, const void *b)
{
    const ref_tok *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * The chain as its definition reads, with a full sort: top-k, then top-p
 * (softmax over the top-k survivors), then min-p, then temperature.
 * Takes already-penalised logits. Returns the survivors' count; probs_by_id
 * gets each survivor's final probability, -1 for the tokens filtered out.
 */
static int ref_chain(const float *logits, int n, const heed_sampler_params *p, double *probs_by_id)
{
    ref_tok *a = malloc((size_t)n * sizeof *a);
    for (int i = 0; i < n; i++)
        a[i] = (ref_tok){i, logits[i]};
    qsort(a, (size_t)n, sizeof *a, ref_cmp);
    for (int i = 0; i < n; i++)
        probs_by_id[i] = -1;
    int m = n;
    if (p->temp <= 0)
        m = 1;
    if (p->top_k > 0 && p->top_k < m)
        m = p->top_k;
    float max = a[0].logit;
    if (p->top_p < 1) {
        double z = 0, cum = 0;
        for (int i = 0; i < m; i++)
            z += expf(a[i].logit - max);
        for (int i = 0; i < m; i++) {
            cum += expf(a[i].logit - max);
            if (cum >= p->top_p * z) {
                m = i + 1;
                break;
            }
        }
    }
    if (p->min_p > 0) {
        int i = 1;
        while (i < m && a[i].logit >= max + logf(p->min_p))
            i++;
        m = i;
    }
    double z = 0;
    for (int i = 0; i < m; i++)
        z += p->temp > 0 ? exp((a[i].logit - max) / p->temp) : 1;
    for (int i = 0; i < m; i++)
        probs_by_id[a[i].id] = (p->temp > 0 ? exp((a[i].logit - max) / p->temp) : 1) / z;
    free(a);
    return m;
}

/* ------------------------------------------------------------ params */

Test(sampler, default_params_are_llama_cpp_defaults)
{
    heed_sampler_params p = heed_sampler_default_params();
    cr_expect_eq(p.temp, 0.8f);
    cr_expect_eq(p.top_k, 40);
    cr_expect_eq(p.top_p, 0.95f);
    cr_expect_eq(p.min_p, 0.05f);
    cr_expect_eq(p.repeat_penalty, 1.0f);
    cr_expect_eq(p.repeat_last_n, 64);
    cr_expect_eq(p.frequency_penalty, 0.0f);
    cr_expect_eq(p.presence_penalty, 0.0f);
    cr_expect_eq(p.seed, HEED_SAMPLER_DEFAULT_SEED);
}

Test(sampler, invalid_params_are_refused_by_name)
{
    struct {
        const char *name; /* must appear in the message */
        heed_sampler_params p;
        int32_t n_vocab;
    } cases[16];
    int n = 0;
    heed_sampler_params d = heed_sampler_default_params();
#define CASE(field, value, nv)                                                 \
    do {                                                                       \
        cases[n].name = #field;                                                \
        cases[n].p = d;                                                        \
        cases[n].p.field = (value);                                            \
        cases[n].n_vocab = (nv);                                               \
        n++;                                                                   \
    } while (0)
    CASE(temp, NAN, 10);
    CASE(temp, INFINITY, 10);
    CASE(top_p, -0.1f, 10);
    CASE(top_p, NAN, 10);
    CASE(min_p, NAN, 10);
    CASE(repeat_penalty, 0.0f, 10);
    CASE(repeat_penalty, -1.0f, 10);
    CASE(repeat_penalty, NAN, 10);
    CASE(repeat_penalty, INFINITY, 10);
    CASE(repeat_last_n, -2, 10);
    CASE(frequency_penalty, NAN, 10);
    CASE(presence_penalty, -INFINITY, 10);
    CASE(temp, 1.0f, 0); /* a valid temp: the vocabulary is what is wrong */
    cases[n - 1].name = "n_vocab";
    CASE(temp, 1.0f, -5);
    cases[n - 1].name = "n_vocab";
#undef CASE
    for (int i = 0; i < n; i++) {
        static char dummy;
        heed_sampler *s = (heed_sampler *)&dummy; /* must be reset to NULL */
        cr_expect_eq(heed_sampler_new(&cases[i].p, cases[i].n_vocab, &s), HEED_ERR_ARG, "case %d (%s)", i,
                     cases[i].name);
        cr_expect_null(s, "case %d", i);
        cr_expect_not_null(strstr(heed_last_error(), cases[i].name), "case %d: message '%s' does not name %s",
                           i, heed_last_error(), cases[i].name);
    }

    heed_sampler *s = NULL;
    cr_expect_eq(heed_sampler_new(NULL, 10, &s), HEED_ERR_ARG);
    cr_expect_eq(heed_sampler_new(&d, 10, NULL), HEED_ERR_ARG);

    /* The edges of the valid ranges are accepted. */
    heed_sampler_params ok = d;
    ok.temp = -1.0f;
    ok.top_p = 0.0f;
    ok.min_p = -1.0f;
    ok.top_k = -3;
    ok.repeat_last_n = -1;
    ok.frequency_penalty = -2.0f;
    heed_sampler_free(make(&ok, 1));
    heed_sampler_free(NULL);
}

/* ------------------------------------------------------------ greedy */

Test(sampler, greedy_is_argmax_with_ties_to_lowest_id)
{
    float logits[8] = {0.5f, 2.0f, -1.0f, 3.0f, 3.0f, NAN, 3.0f, -INFINITY};
    heed_sampler_params p = heed_sampler_default_params();
    for (int k = 0; k < 2; k++) {
        p.temp = k ? -1.0f : 0.0f;
        heed_sampler *s = make(&p, 8);
        for (int i = 0; i < 5; i++)
            cr_expect_eq(heed_sampler_sample(s, logits), 3);
        heed_sampler_free(s);
    }

    /* Random rows with a planted tie for the maximum. */
    enum { N = 1000 };
    float row[N];
    rnd_state = 7;
    p.temp = 0;
    heed_sampler *s = make(&p, N);
    for (int trial = 0; trial < 50; trial++) {
        for (int i = 0; i < N; i++)
            row[i] = rnd_logit(20);
        int a = (int)(rnd_state % N), b = (int)((rnd_state >> 12) % N);
        row[a] = row[b] = 11.0f;
        int expect = a < b ? a : b;
        cr_expect_eq(heed_sampler_sample(s, row), expect, "trial %d", trial);
    }
    heed_sampler_free(s);
}

Test(sampler, top_k_1_is_greedy_at_any_temperature)
{
    enum { N = 500 };
    float row[N];
    const float temps[] = {0.05f, 0.8f, 1.0f, 5.0f, 1000.0f};
    rnd_state = 11;
    for (size_t t = 0; t < sizeof temps / sizeof *temps; t++) {
        heed_sampler_params p = plain();
        p.temp = temps[t];
        p.top_k = 1;
        p.seed = t;
        heed_sampler *s = make(&p, N);
        p.temp = 0;
        heed_sampler *g = make(&p, N);
        for (int trial = 0; trial < 40; trial++) {
            for (int i = 0; i < N; i++)
                row[i] = rnd_logit(4);
            if (trial % 2) /* a tie for first place */
                row[(trial * 37) % N] = row[(trial * 91) % N] = 3.0f;
            cr_expect_eq(heed_sampler_sample(s, row), heed_sampler_sample(g, row), "temp %g trial %d",
                         (double)temps[t], trial);
        }
        heed_sampler_free(s);
        heed_sampler_free(g);
    }
}

/* ------------------------------------------------------------ top-k */

Test(sampler, top_k_keeps_the_k_best_and_is_a_noop_from_n_vocab)
{
    enum { N = 300 };
    float row[N];
    double with[N], without[N];
    int32_t ids[N];
    rnd_state = 3;
    for (int i = 0; i < N; i++)
        row[i] = rnd_logit(8);
    row[10] = row[20] = row[30] = 5.0f; /* ties at the k boundary below: lower ids win */
    row[40] = 6.0f;

    heed_sampler_params p = plain();
    heed_sampler *off = make(&p, N);
    cr_assert_eq(support(off, row, ids, without, N), N);
    const int32_t ks[] = {N, N + 1, 1 << 30};
    for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
        p.top_k = ks[k];
        heed_sampler *s = make(&p, N);
        cr_expect_eq(support(s, row, ids, with, N), N, "top_k %d", (int)ks[k]);
        for (int i = 0; i < N; i++)
            cr_expect_eq(with[i], without[i], "top_k %d id %d", (int)ks[k], i);
        heed_sampler_free(s);
    }

    p.top_k = 3;
    heed_sampler *s = make(&p, N);
    cr_assert_eq(support(s, row, ids, NULL, N), 3);
    cr_expect(ids[0] == 10 && ids[1] == 20 && ids[2] == 40, "kept %d %d %d", ids[0], ids[1], ids[2]);
    heed_sampler_free(s);
    heed_sampler_free(off);
}

/* ------------------------------------------------------------ top-p */

Test(sampler, top_p_keeps_exactly_the_smallest_set_reaching_p)
{
    /* Probabilities in scrambled id order; ranked: .40 .25 .15 .10 .06 .04. */
    enum { N = 6 };
    const double probs[N] = {0.10, 0.40, 0.04, 0.15, 0.06, 0.25};
    float logits[N];
    logits_of(probs, N, logits);
    struct {
        float top_p;
        int n;
        int32_t ids[N]; /* ascending */
    } cases[] = {
        {0.00f, 1, {1}},          /* at least one token */
        {0.39f, 1, {1}},
        {0.41f, 2, {1, 5}},       /* .40 < p: the next one is needed */
        {0.75f, 3, {1, 3, 5}},    /* .80 reaches it */
        {0.85f, 4, {0, 1, 3, 5}},
        {0.97f, 6, {0, 1, 2, 3, 4, 5}},
    };
    int32_t ids[N];
    double got[N];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        heed_sampler_params p = plain();
        p.top_p = cases[k].top_p;
        heed_sampler *s = make(&p, N);
        int m = support(s, logits, ids, got, N);
        cr_expect_eq(m, cases[k].n, "top_p %g: %d survivors", (double)cases[k].top_p, m);
        cr_expect_arr_eq(ids, cases[k].ids, (size_t)cases[k].n * sizeof *ids, "top_p %g",
                         (double)cases[k].top_p);

        /* Sampled: the support is exactly the set, the frequencies are the
         * probabilities renormalised over it. */
        double mass = 0, expect[N] = {0};
        for (int i = 0; i < cases[k].n; i++)
            mass += probs[cases[k].ids[i]];
        for (int i = 0; i < cases[k].n; i++)
            expect[cases[k].ids[i]] = probs[cases[k].ids[i]] / mass;
        int counts[N] = {0};
        for (int seed = 0; seed < 20; seed++) {
            p.seed = 1000 + seed;
            heed_sampler *t = make(&p, N);
            draw(t, logits, N, 1000, counts);
            heed_sampler_free(t);
        }
        int outside;
        double chi = chi_square(counts, expect, N, 20000, &outside);
        cr_expect_eq(outside, 0, "top_p %g: %d draws outside the support", (double)cases[k].top_p, outside);
        cr_expect_leq(chi, chi_bound(cases[k].n - 1 > 0 ? cases[k].n - 1 : 1), "top_p %g: chi2 %g",
                      (double)cases[k].top_p, chi);
        heed_sampler_free(s);
    }
}

Test(sampler, top_p_renormalises_over_the_top_k_survivors)
{
    /* .40 alone does not reach .6 of everything, but it is .40/.65 = .615
     * of what top-k 2 leaves: llama.cpp's order keeps one token. */
    const double probs[6] = {0.40, 0.25, 0.15, 0.10, 0.06, 0.04};
    float logits[6];
    int32_t ids[6];
    logits_of(probs, 6, logits);
    heed_sampler_params p = plain();
    p.top_p = 0.6f;
    heed_sampler *s = make(&p, 6);
    cr_expect_eq(support(s, logits, ids, NULL, 6), 2);
    heed_sampler_free(s);
    p.top_k = 2;
    s = make(&p, 6);
    cr_expect_eq(support(s, logits, ids, NULL, 6), 1);
    cr_expect_eq(ids[0], 0);
    heed_sampler_free(s);
}

/* ------------------------------------------------------------ min-p */

Test(sampler, min_p_keeps_exactly_p_at_least_min_p_times_max)
{
    /* Relative to the maximum: 1, .5, .2, .11, .09, .05, 0. */
    enum { N = 7 };
    const double rel[N] = {0.09, 1.0, 0.05, 0.5, 0.11, 0.2, 0.0};
    float logits[N];
    logits_of(rel, N, logits);
    int32_t ids[N];
    double got[N];
    const int32_t expect_01[] = {1, 3, 4, 5};   /* >= .1 */
    const int32_t expect_03[] = {1, 3};         /* >= .3 */
    for (int sorted = 0; sorted < 2; sorted++) {
        /* top_k 6 (< n_vocab) takes the ranked path, 0 the unranked one. */
        heed_sampler_params p = plain();
        p.top_k = sorted ? 6 : 0;
        p.min_p = 0.1f;
        heed_sampler *s = make(&p, N);
        int m = support(s, logits, ids, got, N);
        cr_expect_eq(m, 4, "top_k %d", p.top_k);
        cr_expect_arr_eq(ids, expect_01, sizeof expect_01, "top_k %d", p.top_k);
        heed_sampler_free(s);

        p.min_p = 0.3f;
        s = make(&p, N);
        cr_expect_eq(support(s, logits, ids, NULL, N), 2);
        cr_expect_arr_eq(ids, expect_03, sizeof expect_03);
        heed_sampler_free(s);

        p.min_p = 2.0f; /* above 1: only the maximum can stay */
        s = make(&p, N);
        cr_expect_eq(support(s, logits, ids, NULL, N), 1);
        cr_expect_eq(ids[0], 1);
        heed_sampler_free(s);

        /* Sampled with min_p .1: the support and renormalised frequencies. */
        p.min_p = 0.1f;
        p.seed = 99 + (uint64_t)sorted;
        s = make(&p, N);
        int counts[N] = {0};
        draw(s, logits, N, 20000, counts);
        double expect[N] = {0}, mass = 1.0 + 0.5 + 0.2 + 0.11;
        for (int i = 0; i < 4; i++)
            expect[expect_01[i]] = rel[expect_01[i]] / mass;
        int outside;
        double chi = chi_square(counts, expect, N, 20000, &outside);
        cr_expect_eq(outside, 0);
        cr_expect_leq(chi, chi_bound(3), "chi2 %g", chi);
        heed_sampler_free(s);
    }
}

/* ------------------------------------------------------- temperature */

Test(sampler, temperature_frequencies_match_softmax_of_l_over_t)
{
    enum { N = 5, DRAWS = 20000 };
    const float logits[N] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};
    const float temps[] = {0.5f, 1.0f, 2.0f};
    for (size_t t = 0; t < sizeof temps / sizeof *temps; t++) {
        heed_sampler_params p = plain();
        p.temp = temps[t];
        p.seed = 7 + t;
        heed_sampler *s = make(&p, N);
        int counts[N] = {0};
        draw(s, logits, N, DRAWS, counts);
        double want[N], untempered[N], zw = 0, zu = 0;
        for (int i = 0; i < N; i++) {
            zw += want[i] = exp(logits[i] / temps[t]);
            zu += untempered[i] = exp(logits[i]);
        }
        for (int i = 0; i < N; i++) {
            want[i] /= zw;
            untempered[i] /= zu;
        }
        int outside;
        double chi = chi_square(counts, want, N, DRAWS, &outside);
        cr_expect_leq(chi, chi_bound(N - 1), "temp %g: chi2 %g", (double)temps[t], chi);
        /* The test can tell: temperature 1's distribution fails it. */
        if (temps[t] != 1.0f) {
            double wrong = chi_square(counts, untempered, N, DRAWS, &outside);
            cr_expect_gt(wrong, 10 * chi_bound(N - 1), "temp %g: chi2 against softmax(l) only %g",
                         (double)temps[t], wrong);
        }
        heed_sampler_free(s);
    }
}

/* --------------------------------------------- the chain, against a reference */

Test(sampler, chain_matches_a_full_sort_reference)
{
    const int sizes[] = {1, 2, 50, 3000};
    const heed_sampler_params base = plain();
    int checked = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int n = sizes[si];
        float *row = malloc((size_t)n * sizeof *row);
        double *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
        int32_t *ids = malloc((size_t)n * sizeof *ids);
        rnd_state = 1234 + (uint32_t)n;
        for (int trial = 0; trial < 60; trial++) {
            /* A sharp or a flat row, with ties from coarse rounding. */
            float scale = trial % 3 == 0 ? 30.0f : trial % 3 == 1 ? 3.0f : 0.3f;
            for (int i = 0; i < n; i++)
                row[i] = roundf(rnd_logit(scale) * 64.0f) / 64.0f;
            heed_sampler_params p = base;
            const int32_t ks[] = {0, 1, 5, 40, 200, 5000};
            const float ps[] = {1.0f, 0.0f, 0.5f, 0.9f, 0.95f, 0.999f};
            const float mins[] = {0.0f, 0.01f, 0.05f, 0.3f};
            const float ts[] = {0.0f, 0.3f, 0.8f, 1.5f};
            p.top_k = ks[trial % 6];
            p.top_p = ps[(trial / 6) % 6];
            p.min_p = mins[(trial / 2) % 4];
            p.temp = ts[(trial / 5) % 4];
            heed_sampler *s = make(&p, n);
            int m = support(s, row, ids, got, n);
            int mr = ref_chain(row, n, &p, want);
            cr_expect_eq(m, mr, "n %d trial %d (k %d p %g min %g t %g)", n, trial, p.top_k,
                         (double)p.top_p, (double)p.min_p, (double)p.temp);
            for (int i = 0; i < n; i++) {
                cr_expect((got[i] < 0) == (want[i] < 0), "n %d trial %d: id %d kept by one, not the other", n,
                          trial, i);
                if (want[i] >= 0)
                    cr_expect_leq(fabs(got[i] - want[i]), 1e-5 * want[i] + 1e-7, "n %d trial %d id %d: %g vs %g",
                                  n, trial, i, got[i], want[i]);
            }
            heed_sampler_free(s);
            checked++;
        }
        free(row);
        free(want);
        free(got);
        free(ids);
    }
    cr_expect_eq(checked, 240);
}

Test(sampler, top_p_alone_matches_the_reference_on_many_shapes)
{
    /* Top-p without top-k ranks only one band of logits: rows whose mass
     * ends in every kind of place, ties across the boundary included. */
    enum { N = 2000 };
    float row[N];
    double want[N], got[N];
    int32_t ids[N];
    const float scales[] = {0.01f, 1.0f, 8.0f, 40.0f, 200.0f};
    const float ps[] = {0.0f, 0.1f, 0.5f, 0.8f, 0.95f, 0.99f, 0.99999f};
    rnd_state = 77;
    int trial = 0;
    for (size_t si = 0; si < sizeof scales / sizeof *scales; si++)
        for (size_t pi = 0; pi < sizeof ps / sizeof *ps; pi++)
            for (int rep = 0; rep < 3; rep++, trial++) {
                for (int i = 0; i < N; i++)
                    row[i] = rnd_logit(scales[si]);
                if (rep == 1) /* coarse: many exact ties */
                    for (int i = 0; i < N; i++)
                        row[i] = roundf(row[i] * 4.0f / scales[si]) * scales[si] / 4.0f;
                if (rep == 2) /* one token far above the rest */
                    row[(trial * 131) % N] += 20.0f;
                heed_sampler_params p = plain();
                p.top_p = ps[pi];
                heed_sampler *s = make(&p, N);
                int m = support(s, row, ids, got, N);
                int mr = ref_chain(row, N, &p, want);
                cr_expect_eq(m, mr, "scale %g top_p %g rep %d: %d survivors, expected %d", (double)scales[si],
                             (double)ps[pi], rep, m, mr);
                int diff = 0;
                for (int i = 0; i < N; i++)
                    diff += (got[i] < 0) != (want[i] < 0);
                cr_expect_eq(diff, 0, "scale %g top_p %g rep %d", (double)scales[si], (double)ps[pi], rep);
                heed_sampler_free(s);
            }
}

/* ------------------------------------------------------- determinism */

Test(sampler, same_seed_same_tokens_other_seed_other_tokens)
{
    enum { N = 1000, T = 200 };
    float row[N];
    for (int i = 0; i < N; i++)
        row[i] = 0.0f; /* uniform: every draw matters */
    heed_sampler_params p = plain();
    p.seed = 42;
    heed_sampler *a = make(&p, N), *b = make(&p, N);
    p.seed = 43;
    heed_sampler *c = make(&p, N);
    int32_t seq[T];
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < T; i++) {
        seq[i] = heed_sampler_sample(a, row);
        same_ab += seq[i] == heed_sampler_sample(b, row);
        same_ac += seq[i] == heed_sampler_sample(c, row);
    }
    cr_expect_eq(same_ab, T);
    cr_expect_lt(same_ac, 10, "seeds 42 and 43 agree on %d of %d tokens", same_ac, T);

    /* Reset replays the sequence. */
    heed_sampler_reset(a);
    for (int i = 0; i < T; i++)
        cr_expect_eq(heed_sampler_sample(a, row), seq[i], "after reset, token %d", i);

    /* Pinned: xoshiro256** seeded by splitmix64(42), u in [0,1) from the top
     * 53 bits, walked over 1000 probabilities of 0.001f — the same on
     * every platform (computed independently of this code). */
    const int32_t golden[8] = {83, 378, 680, 924, 991, 769, 719, 850};
    cr_expect_arr_eq(seq, golden, sizeof golden, "first tokens %d %d %d %d %d %d %d %d", seq[0], seq[1],
                     seq[2], seq[3], seq[4], seq[5], seq[6], seq[7]);
    heed_sampler_free(a);
    heed_sampler_free(b);
    heed_sampler_free(c);
}

/* --------------------------------------------------------- penalties */

/* count of t in the last `window` of hist[0..n) (window < 0: all). */
static int count_in(const int32_t *hist, int n, int window, int32_t t)
{
    int c = 0;
    for (int i = (window < 0 || window > n) ? 0 : n - window; i < n; i++)
        c += hist[i] == t;
    return c;
}

/* What the penalties must turn l into, written as llama.cpp writes it. */
static float expect_penalised(float l, int count, const heed_sampler_params *p)
{
    if (count == 0)
        return l;
    if (l <= 0)
        l *= p->repeat_penalty;
    else
        l /= p->repeat_penalty;
    l -= (float)count * p->frequency_penalty + (float)(count > 0) * p->presence_penalty;
    return l;
}

static void check_penalties(const heed_sampler_params *p, int n_vocab, const int32_t *hist, int n_hist)
{
    float *row = malloc((size_t)n_vocab * sizeof *row), *out = malloc((size_t)n_vocab * sizeof *out);
    rnd_state = 5;
    for (int i = 0; i < n_vocab; i++)
        row[i] = i % 7 == 0 ? 0.0f : rnd_logit(10); /* both signs, and zeros */
    heed_sampler *s = make(p, n_vocab);
    for (int i = 0; i < n_hist; i++)
        cr_assert_eq(heed_sampler_accept(s, hist[i]), HEED_OK, "%s", heed_last_error());
    heed_sampler_penalize(s, row, out);
    int penalised = 0;
    for (int t = 0; t < n_vocab; t++) {
        int c = p->repeat_last_n == 0 ? 0 : count_in(hist, n_hist, p->repeat_last_n, t);
        float want = expect_penalised(row[t], c, p);
        cr_expect(out[t] == want, "last_n %d token %d (count %d): %.9g, expected %.9g", p->repeat_last_n, t,
                  c, (double)out[t], (double)want);
        penalised += out[t] != row[t];
    }
    /* The candidates see the same logits. */
    const heed_sampler_cand *c;
    int m = heed_sampler_candidates(s, row, &c);
    for (int i = 0; i < m; i++)
        cr_expect(c[i].logit == out[c[i].id], "candidate %d", c[i].id);
    if (p->repeat_last_n != 0 && n_hist > 0)
        cr_expect_gt(penalised, 0, "nothing was penalised");

    /* Reset forgets the history. */
    heed_sampler_reset(s);
    heed_sampler_penalize(s, row, out);
    cr_expect_arr_eq(out, row, (size_t)n_vocab * sizeof *row, "after reset");
    heed_sampler_free(s);
    free(row);
    free(out);
}

Test(sampler, penalties_change_logits_exactly_as_defined)
{
    const int32_t hist[] = {3, 5, 3, 7, 3, 0, 14, 5, 21, 9, 3};
    const int nh = sizeof hist / sizeof *hist;
    heed_sampler_params p = plain();
    p.repeat_penalty = 1.3f;
    p.frequency_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    const int32_t windows[] = {64, 4, 1, -1, 0};
    for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
        p.repeat_last_n = windows[w];
        check_penalties(&p, 30, hist, nh);
    }
    /* Each penalty alone. */
    p.repeat_last_n = 64;
    heed_sampler_params one = p;
    one.frequency_penalty = one.presence_penalty = 0;
    check_penalties(&one, 30, hist, nh);
    one = p;
    one.repeat_penalty = 1;
    one.presence_penalty = 0;
    one.frequency_penalty = -0.75f; /* negative: encourages repeats */
    check_penalties(&one, 30, hist, nh);
    one = p;
    one.repeat_penalty = 1;
    one.frequency_penalty = 0;
    check_penalties(&one, 30, hist, nh);
}

Test(sampler, penalty_window_slides_and_grows)
{
    /* Windows past the ring's first size, and a long history over them. */
    enum { V = 97, H = 5000 };
    int32_t *hist = malloc(H * sizeof *hist);
    rnd_state = 17;
    for (int i = 0; i < H; i++) {
        rnd_state = rnd_state * 1664525u + 1013904223u;
        hist[i] = (int32_t)((rnd_state >> 10) % (i % 3 ? V : 5)); /* some tokens far more often */
    }
    heed_sampler_params p = plain();
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.01f;
    const int32_t windows[] = {255, 256, 257, 1000, 4999, 5000, 100000, -1};
    const int lens[] = {1, 300, 4321, H};
    for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
        p.repeat_last_n = windows[w];
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
            check_penalties(&p, V, hist, lens[l]);
    }
    free(hist);
}

Test(sampler, penalties_steer_the_choice)
{
    const float logits[3] = {2.0f, 1.9f, -5.0f};
    heed_sampler_params p = plain();
    p.temp = 0;
    p.repeat_penalty = 1.1f; /* 2 / 1.1 = 1.82 < 1.9 */
    heed_sampler *s = make(&p, 3);
    cr_expect_eq(heed_sampler_sample(s, logits), 0);
    cr_expect_eq(heed_sampler_accept(s, 0), HEED_OK);
    cr_expect_eq(heed_sampler_sample(s, logits), 1);
    heed_sampler_free(s);

    /* A window of 2: the token comes back once it slides out. */
    p.repeat_last_n = 2;
    s = make(&p, 3);
    heed_sampler_accept(s, 0);
    cr_expect_eq(heed_sampler_sample(s, logits), 1);
    heed_sampler_accept(s, 2);
    heed_sampler_accept(s, 2);
    cr_expect_eq(heed_sampler_sample(s, logits), 0);
    heed_sampler_free(s);
}

Test(sampler, accept_refuses_tokens_outside_the_vocabulary)
{
    heed_sampler_params p = plain();
    p.repeat_penalty = 1.5f;
    heed_sampler *s = make(&p, 10);
    cr_expect_eq(heed_sampler_accept(s, 10), HEED_ERR_ARG);
    cr_expect_not_null(strstr(heed_last_error(), "10"), "%s", heed_last_error());
    cr_expect_eq(heed_sampler_accept(s, -1), HEED_ERR_ARG);
    cr_expect_eq(heed_sampler_accept(s, INT32_MIN), HEED_ERR_ARG);
    cr_expect_eq(heed_sampler_accept(NULL, 1), HEED_ERR_ARG);
    /* Nothing was recorded. */
    float row[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, out[10];
    heed_sampler_penalize(s, row, out);
    cr_expect_arr_eq(out, row, sizeof row);
    heed_sampler_free(s);
    /* Penalties off: still checked. */
    p = plain();
    s = make(&p, 10);
    cr_expect_eq(heed_sampler_accept(s, 3), HEED_OK);
    cr_expect_eq(heed_sampler_accept(s, 11), HEED_ERR_ARG);
    heed_sampler_free(s);
}

/* ------------------------------------------------------------ robustness */

Test(sampler, logits_are_not_modified)
{
    enum { N = 2000 };
    float row[N], copy[N];
    rnd_state = 23;
    for (int i = 0; i < N; i++)
        copy[i] = row[i] = rnd_logit(10);
    heed_sampler_params p = heed_sampler_default_params();
    p.repeat_penalty = 1.2f;
    p.presence_penalty = 0.3f;
    heed_sampler *s = make(&p, N);
    for (int i = 0; i < 50; i++)
        heed_sampler_accept(s, heed_sampler_sample(s, row));
    cr_expect_arr_eq(row, copy, sizeof row);
    cr_expect_eq(heed_sampler_sample(NULL, row), -1);
    cr_expect_eq(heed_sampler_sample(s, NULL), -1);
    heed_sampler_free(s);
}

Test(sampler, non_finite_logits)
{
    heed_sampler_params p = plain();
    /* NaN is never chosen. */
    float nan_row[4] = {NAN, 0.0f, NAN, 0.0f};
    heed_sampler *s = make(&p, 4);
    int counts[4] = {0};
    draw(s, nan_row, 4, 2000, counts);
    cr_expect(counts[0] == 0 && counts[2] == 0 && counts[1] > 800 && counts[3] > 800, "%d %d %d %d",
              counts[0], counts[1], counts[2], counts[3]);
    /* +inf takes everything; two of them share it. */
    float inf_row[4] = {1e30f, INFINITY, -3.0f, INFINITY};
    memset(counts, 0, sizeof counts);
    draw(s, inf_row, 4, 2000, counts);
    cr_expect(counts[0] == 0 && counts[2] == 0 && counts[1] > 800 && counts[3] > 800, "%d %d %d %d",
              counts[0], counts[1], counts[2], counts[3]);
    /* All -inf (or NaN): uniform, never out of range. */
    float none[4] = {-INFINITY, NAN, -INFINITY, -INFINITY};
    memset(counts, 0, sizeof counts);
    draw(s, none, 4, 2000, counts);
    for (int i = 0; i < 4; i++)
        cr_expect_gt(counts[i], 300, "token %d: %d", i, counts[i]);
    heed_sampler_free(s);

    /* The default chain on the same rows. */
    p = heed_sampler_default_params();
    s = make(&p, 4);
    for (int i = 0; i < 100; i++) {
        int32_t t = heed_sampler_sample(s, inf_row);
        cr_expect(t == 1 || t == 3);
        t = heed_sampler_sample(s, none);
        cr_expect(t >= 0 && t < 4);
        cr_expect_neq(heed_sampler_sample(s, nan_row), 0);
    }
    heed_sampler_free(s);
}

Test(sampler, large_vocabulary)
{
    enum { N = 151936 }; /* Qwen2's */
    float *row = malloc(N * sizeof *row);
    double *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    int32_t *ids = malloc(N * sizeof *ids);
    rnd_state = 31;
    for (int i = 0; i < N; i++)
        row[i] = rnd_logit(12);
    /* Top-p alone ranks only a growing prefix: it must still be exact. */
    heed_sampler_params p = plain();
    const float ps[] = {0.5f, 0.95f};
    for (size_t k = 0; k < 2; k++) {
        p.top_p = ps[k];
        heed_sampler *s = make(&p, N);
        int m = support(s, row, ids, got, N);
        int mr = ref_chain(row, N, &p, want);
        cr_expect_eq(m, mr, "top_p %g", (double)p.top_p);
        int diff = 0;
        for (int i = 0; i < N; i++)
            diff += (got[i] < 0) != (want[i] < 0);
        cr_expect_eq(diff, 0, "top_p %g: supports differ in %d ids", (double)p.top_p, diff);
        heed_sampler_free(s);
    }
    /* The default chain stays in the top 40. */
    p = heed_sampler_default_params();
    heed_sampler *s = make(&p, N);
    int m = support(s, row, ids, got, N);
    cr_expect_leq(m, 40);
    for (int i = 0; i < 200; i++) {
        int32_t t = heed_sampler_sample(s, row);
        cr_expect(got[t] >= 0, "token %d is not a candidate", t);
    }
    heed_sampler_free(s);
    free(row);
    free(want);
    free(got);
    free(ids);
}
