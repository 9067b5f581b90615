/*
 * sampler.c — the sampler chain: logits in, one token id out.
 *
 * The chain, in llama.cpp's default order (common/sampling.cpp and
 * src/llama-sampling.cpp at c392e50; heed leaves out its DRY, typical-p
 * and XTC stages, which are off by default there):
 *
 *   1. penalties    for each token in the last repeat_last_n accepted:
 *                   l = l > 0 ? l / repeat_penalty : l * repeat_penalty,
 *                   then l -= count * frequency_penalty + presence_penalty
 *   2. top-k        keep the k highest logits
 *   3. top-p        softmax over what is left; keep the smallest prefix (by
 *                   probability, descending) whose sum reaches top_p
 *   4. min-p        keep tokens with p >= min_p * max p
 *   5. temperature  l /= temp (temp <= 0: keep only the argmax)
 *   6. draw         softmax; one uniform double u in [0,1) from
 *                   xoshiro256** (seeded by splitmix64); the first token
 *                   whose cumulative probability exceeds u
 *
 * Invariants:
 *  - Ranking is a total order: higher logit first, equal logits by lower
 *    id, NaN treated as -infinity. So every filter and the greedy choice
 *    are deterministic, and ties never depend on the sort algorithm.
 *  - Top-p and min-p both keep a prefix of that ranking, and min-p's
 *    threshold depends only on the maximum, which top-p always keeps; so
 *    the two commute and the code applies min-p first, where it is a cheap
 *    O(n) filter that shrinks what top-p must rank. Top-p's probabilities
 *    are normalised over the top-k survivors, as in llama.cpp.
 *  - Without top-k, top-p does not sort the vocabulary: it sums the mass
 *    in bands of logits and ranks only the band where the mass reaches
 *    top_p (see top_p_cut).
 *  - count[t] is the number of times t occurs in the window: the ring for
 *    repeat_last_n > 0, every accepted token for -1.
 */
#include "gen/sampler.h"

#include "util/error.h"
#include "util/splitmix.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The first ring the window gets; it doubles, up to repeat_last_n, as
 * tokens arrive, so a huge window costs only what is accepted. */
#define RING_START 256
/* Top-p without top-k sorts up to this many candidates outright; more
 * are first split into bands of logits: 512 bands of 1/16 over the top 32
 * (a token further down weighs under e^-32 of the maximum). */
#define TOP_P_RANK_ALL 256
#define TOP_P_BUCKETS 512
#define TOP_P_RANGE 32.0f

struct heed_sampler {
    heed_sampler_params par;
    int32_t n_vocab;
    heed_sampler_cand *cand;  /* [n_vocab] scratch: this call's candidates */
    bool penalize;            /* a penalty is on: the history is tracked   */
    int32_t *count;           /* [n_vocab] occurrences in the window, or NULL */
    int32_t *ring;            /* [ring_cap] the window (repeat_last_n > 0)  */
    int32_t ring_cap;
    int32_t ring_len;         /* tokens in the ring, <= repeat_last_n       */
    int32_t ring_head;        /* the oldest once the ring is full           */
    uint64_t rng[4];          /* xoshiro256** state                         */
};

/* ------------------------------------------------------------ random */

/* splitmix64 outputs are distinct, so the state is never all zero. */
static void rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        s[i] = heed_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro256ss(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1): the top 53 bits, exact in a double. */
static double rng_uniform(uint64_t s[4])
{
    return (double)(xoshiro256ss(s) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------ params */

heed_sampler_params heed_sampler_default_params(void)
{
    heed_sampler_params p = {
        .temp = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .frequency_penalty = 0.0f,
        .presence_penalty = 0.0f,
        .seed = HEED_SAMPLER_DEFAULT_SEED,
    };
    return p;
}

static heed_status check_params(const heed_sampler_params *p, int32_t n_vocab)
{
    if (n_vocab <= 0)
        return heed_fail(HEED_ERR_ARG, "sampler: n_vocab is %d, expected at least 1", (int)n_vocab);
    if (!isfinite(p->temp))
        return heed_fail(HEED_ERR_ARG, "sampler: temp is %g, expected a finite number (<= 0: greedy)",
                         (double)p->temp);
    if (isnan(p->top_p) || p->top_p < 0)
        return heed_fail(HEED_ERR_ARG, "sampler: top_p is %g, expected a number >= 0 (>= 1: off)",
                         (double)p->top_p);
    if (isnan(p->min_p))
        return heed_fail(HEED_ERR_ARG, "sampler: min_p is nan, expected a number (<= 0: off)");
    if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0)
        return heed_fail(HEED_ERR_ARG, "sampler: repeat_penalty is %g, expected a finite number > 0 (1: off)",
                         (double)p->repeat_penalty);
    if (p->repeat_last_n < -1)
        return heed_fail(HEED_ERR_ARG,
                         "sampler: repeat_last_n is %d, expected >= 0 (0: off) or -1 (whole history)",
                         (int)p->repeat_last_n);
    if (!isfinite(p->frequency_penalty))
        return heed_fail(HEED_ERR_ARG, "sampler: frequency_penalty is %g, expected a finite number (0: off)",
                         (double)p->frequency_penalty);
    if (!isfinite(p->presence_penalty))
        return heed_fail(HEED_ERR_ARG, "sampler: presence_penalty is %g, expected a finite number (0: off)",
                         (double)p->presence_penalty);
    return HEED_OK;
}

/* ------------------------------------------------------- new / free */

heed_status heed_sampler_new(const heed_sampler_params *params, int32_t n_vocab,
                             heed_sampler **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "sampler: out is NULL");
    *out = NULL;
    if (!params)
        return heed_fail(HEED_ERR_ARG, "sampler: params is NULL");
    heed_status st = check_params(params, n_vocab);
    if (st != HEED_OK)
        return st;

    heed_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return heed_fail(HEED_ERR_NOMEM, "sampler: out of memory");
    s->par = *params;
    s->n_vocab = n_vocab;
    s->penalize = params->repeat_last_n != 0 &&
                  (params->repeat_penalty != 1.0f || params->frequency_penalty != 0.0f ||
                   params->presence_penalty != 0.0f);
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    bool ok = s->cand != NULL;
    if (ok && s->penalize) {
        s->count = calloc((size_t)n_vocab, sizeof *s->count);
        ok = s->count != NULL;
        if (ok && params->repeat_last_n > 0) {
            s->ring_cap = params->repeat_last_n < RING_START ? params->repeat_last_n : RING_START;
            s->ring = malloc((size_t)s->ring_cap * sizeof *s->ring);
            ok = s->ring != NULL;
        }
    }
    if (!ok) {
        heed_sampler_free(s);
        return heed_fail(HEED_ERR_NOMEM, "sampler: out of memory for a vocabulary of %d tokens",
                         (int)n_vocab);
    }
    rng_seed(s->rng, params->seed);
    *out = s;
    return HEED_OK;
}

void heed_sampler_free(heed_sampler *s)
{
    if (!s)
        return;
    free(s->cand);
    free(s->count);
    free(s->ring);
    free(s);
}

void heed_sampler_reset(heed_sampler *s)
{
    if (!s)
        return;
    if (s->count)
        memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->ring_len = 0;
    s->ring_head = 0;
    rng_seed(s->rng, s->par.seed);
}

/* ---------------------------------------------------------- history */

heed_status heed_sampler_accept(heed_sampler *s, int32_t token)
{
    if (!s)
        return heed_fail(HEED_ERR_ARG, "sampler: accept on a NULL sampler");
    if (token < 0 || token >= s->n_vocab)
        return heed_fail(HEED_ERR_ARG, "sampler: accepted token %d is outside the vocabulary [0, %d)",
                         (int)token, (int)s->n_vocab);
    if (!s->penalize)
        return HEED_OK;
    int32_t last_n = s->par.repeat_last_n;
    if (last_n < 0) {
        /* Whole history: only counts; saturating keeps them meaningful. */
        if (s->count[token] < INT32_MAX)
            s->count[token]++;
        return HEED_OK;
    }
    if (s->ring_len < last_n) {
        /* Not full yet: the ring is a plain array [0, ring_len). */
        if (s->ring_len == s->ring_cap) {
            int32_t cap = s->ring_cap > last_n / 2 ? last_n : s->ring_cap * 2;
            int32_t *r = realloc(s->ring, (size_t)cap * sizeof *r);
            if (!r)
                return heed_fail(HEED_ERR_NOMEM, "sampler: out of memory growing the penalty window to %d tokens",
                                 (int)cap);
            s->ring = r;
            s->ring_cap = cap;
        }
        s->ring[s->ring_len++] = token;
    } else {
        s->count[s->ring[s->ring_head]]--;
        s->ring[s->ring_head] = token;
        s->ring_head = s->ring_head + 1 == last_n ? 0 : s->ring_head + 1;
    }
    s->count[token]++;
    return HEED_OK;
}

/* --------------------------------------------------------- ranking */

/* The chain's total order: a ranks before b. */
static bool better(const heed_sampler_cand *a, const heed_sampler_cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static void swap(heed_sampler_cand *a, heed_sampler_cand *b)
{
    heed_sampler_cand t = *a;
    *a = *b;
    *b = t;
}

/* Restores the heap property below i in h[0..n), a heap whose root is the
 * worst-ranked element. */
static void sift_down(heed_sampler_cand *h, int32_t n, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(&h[w], &h[l]))
            w = l;
        if (r < n && better(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        swap(&h[i], &h[w]);
        i = w;
    }
}

/*
 * Moves the k best-ranked of c[0..n) to c[0..k), best first; the rest
 * stay in c[k..n) in some order. O(n log k): a heap of the k best so far,
 * whose root (the worst of them) is all most tokens are compared with.
 */
static void select_top(heed_sampler_cand *c, int32_t n, int32_t k)
{
    for (int32_t i = k / 2 - 1; i >= 0; i--)
        sift_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (better(&c[i], &c[0])) {
            swap(&c[i], &c[0]);
            sift_down(c, k, 0);
        }
    }
    /* Heap sort: the worst goes to the end each time. */
    for (int32_t m = k - 1; m > 0; m--) {
        swap(&c[0], &c[m]);
        sift_down(c, m, 0);
    }
}

/* ------------------------------------------------------------ chain */

static float penalized(const heed_sampler *s, float l, int32_t count)
{
    /* Dividing a negative logit would raise it; llama.cpp multiplies. */
    if (l <= 0)
        l *= s->par.repeat_penalty;
    else
        l /= s->par.repeat_penalty;
    return l - ((float)count * s->par.frequency_penalty + (float)(count > 0) * s->par.presence_penalty);
}

void heed_sampler_penalize(const heed_sampler *s, const float *logits, float *out)
{
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float l = isnan(logits[i]) ? -INFINITY : logits[i];
        out[i] = s->count && s->count[i] > 0 ? penalized(s, l, s->count[i]) : l;
    }
}

/* exp(l - max) as softmax needs it; when the maximum is infinite the
 * tokens equal to it share all the probability. */
static float weight(float l, float max, float temp)
{
    if (isinf(max))
        return l == max ? 1.0f : 0.0f;
    return expf((l - max) / temp);
}

/* Min-p on c[0..m) (ranked if sorted): keeps l >= max + log(min_p), and
 * always the maximum (min_p > 1 would otherwise keep nothing). */
static int32_t min_p_filter(heed_sampler_cand *c, int32_t m, bool sorted, float max, float min_p)
{
    float thr = max + logf(min_p);
    if (sorted) {
        int32_t i = 1;
        while (i < m && (c[i].logit >= thr || c[i].logit == max))
            i++;
        return i;
    }
    int32_t j = 0;
    for (int32_t i = 0; i < m; i++)
        if (c[i].logit >= thr || c[i].logit == max)
            c[j++] = c[i];
    return j;
}

/* Which of TOP_P_BUCKETS logit bands below max l falls in: band b holds
 * max - l in [b, b+1) / scale; the last band everything further down. */
static int32_t band_of(float l, float max, float scale)
{
    float d = l == max ? 0.0f : (max - l) * scale; /* l == max: max may be inf */
    return d < TOP_P_BUCKETS - 1 ? (int32_t)d : TOP_P_BUCKETS - 1;
}

/*
 * Top-p on c[0..m) (ranked if sorted): the length of the shortest ranked
 * prefix whose weight reaches target (= top_p times the total weight), or
 * m; that prefix is then c[0..len), in no particular order unless sorted.
 * Unsorted, it ranks only the band of logits where the prefix ends: bands
 * follow the ranking, so the bands above it are kept whole and the bands
 * below dropped whole. O(m) plus ranking one band.
 */
static int32_t top_p_cut(heed_sampler_cand *c, int32_t m, bool sorted, float max, double target)
{
    int32_t lo = 0, hi = m; /* rank and walk c[lo..hi), after cum */
    double cum = 0;
    if (!sorted && m > TOP_P_RANK_ALL) {
        double mass[TOP_P_BUCKETS] = {0};
        float scale = TOP_P_BUCKETS / TOP_P_RANGE;
        for (int32_t i = 0; i < m; i++)
            mass[band_of(c[i].logit, max, scale)] += weight(c[i].logit, max, 1.0f);
        int32_t b = 0;
        while (b < TOP_P_BUCKETS && cum + mass[b] < target)
            cum += mass[b++];
        if (b == TOP_P_BUCKETS) /* rounding: the total fell just short */
            return m;
        /* Three-way partition by band: above b, b, below b. */
        for (int32_t i = 0; i < hi;) {
            int32_t bi = band_of(c[i].logit, max, scale);
            if (bi < b)
                swap(&c[lo++], &c[i++]);
            else if (bi == b)
                i++;
            else
                swap(&c[i], &c[--hi]);
        }
    }
    if (!sorted)
        select_top(c + lo, hi - lo, hi - lo);
    for (int32_t i = lo; i < hi; i++) {
        cum += weight(c[i].logit, max, 1.0f);
        if (cum >= target)
            return i + 1;
    }
    return hi;
}

int32_t heed_sampler_candidates(heed_sampler *s, const float *logits,
                                const heed_sampler_cand **out)
{
    const heed_sampler_params *p = &s->par;
    heed_sampler_cand *c = s->cand;
    int32_t n = s->n_vocab;

    /* 1. penalties (NaN -> -inf, so the ranking is total) */
    for (int32_t i = 0; i < n; i++) {
        float l = isnan(logits[i]) ? -INFINITY : logits[i];
        if (s->count && s->count[i] > 0)
            l = penalized(s, l, s->count[i]);
        c[i] = (heed_sampler_cand){.id = i, .logit = l, .p = 0};
    }
    *out = c;

    /* Greedy: every filter keeps the argmax, and temp <= 0 keeps only it. */
    if (p->temp <= 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (better(&c[i], &c[best]))
                best = i;
        c[0] = c[best];
        c[0].p = 1.0f;
        return 1;
    }

    /* 2. top-k */
    int32_t m = n;
    bool sorted = false;
    if (p->top_k > 0 && p->top_k < n) {
        select_top(c, n, p->top_k);
        m = p->top_k;
        sorted = true;
    }
    float max = c[0].logit;
    if (!sorted)
        for (int32_t i = 1; i < m; i++)
            max = c[i].logit > max ? c[i].logit : max;

    /* 3. top-p's total, over the top-k survivors, before min-p shrinks them */
    double total = 0;
    if (p->top_p < 1)
        for (int32_t i = 0; i < m; i++)
            total += weight(c[i].logit, max, 1.0f);

    /* 4. min-p, then 3. top-p: they commute (see the top of the file) */
    if (p->min_p > 0)
        m = min_p_filter(c, m, sorted, max, p->min_p);
    if (p->top_p < 1)
        m = top_p_cut(c, m, sorted, max, (double)p->top_p * total);

    /* 5. temperature, 6. softmax; max survived every filter, so sum >= 1 */
    double sum = 0;
    for (int32_t i = 0; i < m; i++) {
        c[i].p = weight(c[i].logit, max, p->temp);
        sum += c[i].p;
    }
    for (int32_t i = 0; i < m; i++)
        c[i].p = (float)(c[i].p / sum);
    return m;
}

int32_t heed_sampler_sample(heed_sampler *s, const float *logits)
{
    if (!s || !logits)
        return -1;
    const heed_sampler_cand *c;
    int32_t m = heed_sampler_candidates(s, logits, &c);
    if (s->par.temp <= 0)
        return c[0].id;

    /* 6. draw: the first token whose cumulative probability exceeds u;
     * rounding can leave the sum just below u, then the last one wins. */
    double u = rng_uniform(s->rng), cum = 0;
    int32_t last = 0;
    for (int32_t i = 0; i < m; i++) {
        if (c[i].p > 0) {
            cum += c[i].p;
            last = i;
            if (u < cum)
                return c[i].id;
        }
    }
    return c[last].id;
}
