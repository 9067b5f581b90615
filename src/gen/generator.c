/*
 * generator.c — the generation loop (heed.h, "generation"): sample, turn
 * the token into text, watch for stop strings, evaluate it; with prompt
 * lookup, evaluate the token with a draft of the tokens likely to follow
 * and keep the drafts the sampler agrees with.
 *
 * With a grammar, the sampler draws first from the row as it is and the
 * matcher checks that one token, which is all most steps cost; only when
 * the grammar rejects it are all tokens checked (a walk of the token
 * trie), the rejected ones set to -infinity and the draw made again — as
 * llama.cpp does. With log-probabilities the row is masked first, so
 * they are those of the distribution the token is drawn from.
 *
 * The text is kept whole (stop strings are searched in it), and a step
 * hands out only what can no longer change: with stop strings, the last
 * longest-stop - 1 bytes wait until the text grows past them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/grammar.h"
#include "heed.h"
#include "text/vocab.h"
#include "util/error.h"

struct heed_generator {
    heed_context *c;
    const heed_vocab *v;
    heed_sampler *smp;
    heed_detok_stream *ds;
    grammar_matcher *gm;  /* with a grammar: where the text is in it */
    heed_generate_params p;
    char *stops[HEED_GEN_MAX_STOPS]; /* p.stops points here: the generator's copies */
    heed_logit_bias *bias;           /* p.logit_bias points here: a copy           */
    int32_t preserved[HEED_GEN_MAX_PRESERVED]; /* p.preserved points here        */
    size_t max_stop;
    int V, n;
    float *logits;        /* [lookup + 1][V]: a row per token of the last batch */
    float *next;          /* the row that follows the last confirmed token
                             (the logit biases are added to it in place)   */
    int32_t *hist;        /* lookup: the context's tokens, which it searches */
    int32_t *batch;       /* lookup: the last token evaluated and its drafts */
    int n_hist, n_draft, at; /* drafts in the cache, and how many confirmed */
    char *text;
    size_t len, cap, sent;
    heed_gen_finish finish;
    heed_status error;
    int n_cached;         /* prompt tokens kept from the cache */
};

heed_generate_params heed_generate_default_params(void)
{
    return (heed_generate_params){.sampler = heed_sampler_default_params(), .top_logprobs = -1};
}

void heed_generator_free(heed_generator *g)
{
    if (!g)
        return;
    heed_sampler_free(g->smp);
    heed_detok_stream_free(g->ds);
    grammar_matcher_free(g->gm);
    for (int i = 0; i < g->p.n_stops; i++)
        free(g->stops[i]);
    free(g->logits);
    free(g->hist);
    free(g->bias);
    free(g->batch);
    free(g->text);
    free(g);
}

static heed_status check_params(const heed_generate_params *p, const heed_vocab *v, int V)
{
    if (p->n_logit_bias < 0 || p->n_logit_bias > HEED_GEN_MAX_BIAS ||
        (p->n_logit_bias && !p->logit_bias))
        return heed_fail(HEED_ERR_ARG, "n_logit_bias %d is out of range (0..%d)",
                         p->n_logit_bias, HEED_GEN_MAX_BIAS);
    for (int i = 0; i < p->n_logit_bias; i++)
        if (p->logit_bias[i].token < 0 || p->logit_bias[i].token >= V ||
            isnan(p->logit_bias[i].bias))
            return heed_fail(HEED_ERR_ARG, "logit bias %d: token %d is out of range (0..%d), "
                             "or its bias is not a number", i, p->logit_bias[i].token, V - 1);
    if (p->n_stops < 0 || p->n_stops > HEED_GEN_MAX_STOPS || (p->n_stops && !p->stops))
        return heed_fail(HEED_ERR_ARG, "n_stops %d is out of range (0..%d)", p->n_stops,
                         HEED_GEN_MAX_STOPS);
    if (p->n_stops && !v)
        return heed_fail(HEED_ERR_ARG, "stop strings need a vocabulary");
    for (int i = 0; i < p->n_stops; i++)
        if (!p->stops[i] || !*p->stops[i])
            return heed_fail(HEED_ERR_ARG, "stop string %d is empty", i);
    if (p->top_logprobs > HEED_GEN_MAX_TOP)
        return heed_fail(HEED_ERR_ARG, "top_logprobs %d is out of range (-1..%d)",
                         p->top_logprobs, HEED_GEN_MAX_TOP);
    if (p->grammar && p->grammar->v != v)
        return heed_fail(HEED_ERR_ARG, v ? "the grammar was made for another vocabulary than "
                         "the generator's" : "a grammar needs the generator's vocabulary");
    if (p->n_preserved < 0 || p->n_preserved > HEED_GEN_MAX_PRESERVED ||
        (p->n_preserved && (!p->preserved || !v)))
        return heed_fail(HEED_ERR_ARG, "n_preserved %d is out of range (0..%d), or no tokens "
                         "or vocabulary", p->n_preserved, HEED_GEN_MAX_PRESERVED);
    for (int i = 0; i < p->n_preserved; i++)
        if (p->preserved[i] < 0 || p->preserved[i] >= heed_vocab_n_tokens(v))
            return heed_fail(HEED_ERR_ARG, "preserved token %d: id %d is out of range (0..%d)",
                             i, p->preserved[i], heed_vocab_n_tokens(v) - 1);
    if (p->n_cached < 0)
        return heed_fail(HEED_ERR_ARG, "n_cached %d is negative", p->n_cached);
    if (p->lookup < 0 || p->lookup > 256)
        return heed_fail(HEED_ERR_ARG, "lookup %d is out of range (0..256)", p->lookup);
    return HEED_OK;
}

/* A generator for prompt on c, all but the prompt's evaluation. */
static heed_status make(heed_context *c, const heed_vocab *v, const int32_t *prompt,
                        int n_prompt, const heed_generate_params *p, heed_generator **out)
{
    *out = NULL;
    const heed_status bad = check_params(p, v, heed_model_n_vocab(heed_context_model(c)));
    if (bad)
        return bad;
    if (n_prompt < 1 || !prompt)
        return heed_fail(HEED_ERR_ARG, "the prompt is empty");
    heed_generator *g = calloc(1, sizeof *g);
    if (!g)
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    g->c = c;
    g->v = v;
    g->p = *p;
    g->V = heed_model_n_vocab(heed_context_model(c));
    g->logits = malloc(sizeof *g->logits * (size_t)g->V * (size_t)(p->lookup + 1));
    g->next = g->logits;
    heed_status st = v ? heed_detok_stream_new(v, false, &g->ds) : HEED_OK;
    bool have = g->logits != NULL;
    if (p->lookup) {
        const int n_ctx = heed_context_n_ctx(c);
        g->hist = malloc(sizeof *g->hist * (size_t)(n_ctx > n_prompt ? n_ctx : n_prompt));
        g->batch = malloc(sizeof *g->batch * (size_t)(p->lookup + 1));
        have = have && g->hist && g->batch;
        if (have)
            memcpy(g->hist, prompt, sizeof *prompt * (size_t)n_prompt);
        g->n_hist = n_prompt;
    }
    if (p->n_logit_bias) {
        g->bias = malloc(sizeof *g->bias * (size_t)p->n_logit_bias);
        have = have && g->bias;
        if (g->bias)
            memcpy(g->bias, p->logit_bias, sizeof *g->bias * (size_t)p->n_logit_bias);
        g->p.logit_bias = g->bias;
    }
    if (!st)
        st = have ? heed_sampler_new(&p->sampler, g->V, &g->smp)
                  : heed_fail(HEED_ERR_NOMEM, "out of memory");
    if (p->n_preserved)
        memcpy(g->preserved, p->preserved, sizeof *p->preserved * (size_t)p->n_preserved);
    g->p.preserved = g->preserved;
    if (!st && p->grammar)
        st = grammar_matcher_new(p->grammar, p->ignore_eos, g->preserved, p->n_preserved,
                                 &g->gm);
    g->p.stops = (const char *const *)g->stops;
    g->p.n_stops = 0;
    for (int i = 0; i < p->n_stops && !st; i++) {
        if (!(g->stops[i] = strdup(p->stops[i])))
            st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        g->p.n_stops = i + 1;
        const size_t l = strlen(p->stops[i]);
        g->max_stop = l > g->max_stop ? l : g->max_stop;
    }
    if (st) {
        heed_generator_free(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}

/* The sampler's penalties see the prompt; on failure g is freed. */
static heed_status accept_prompt(heed_generator *g, const int32_t *prompt, int n_prompt,
                                 heed_generator **out)
{
    heed_status st = HEED_OK;
    for (int i = 0; i < n_prompt && !st; i++)
        st = heed_sampler_accept(g->smp, prompt[i]);
    if (st) {
        heed_generator_free(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}

heed_status heed_generator_new(heed_context *c, const heed_vocab *v, const int32_t *prompt,
                               int n_prompt, const heed_generate_params *p,
                               heed_generator **out)
{
    *out = NULL;
    heed_generator *g;
    heed_status st = make(c, v, prompt, n_prompt, p, &g);
    if (st)
        return st;
    /* an encoder-decoder encodes the prompt; its decoder starts from its
     * start token */
    const int32_t start = heed_model_decoder_start(heed_context_model(c));
    int keep = start < 0 && p->n_cached > 0 ? p->n_cached : 0;
    keep = keep < n_prompt ? keep : n_prompt - 1; /* the last token's logits are needed */
    keep = keep <= heed_context_n_past(c) ? keep : 0;
    if (!keep || heed_context_truncate(c, keep) != HEED_OK) {
        keep = 0;
        heed_context_reset(c);
    }
    g->n_cached = keep;
    if (start >= 0) {
        if (!(st = heed_context_encode(c, prompt, n_prompt)))
            st = heed_context_eval(c, &start, 1, g->logits, false);
    } else { /* first, as it names a bad id best */
        st = heed_context_eval(c, prompt + keep, n_prompt - keep, g->logits, false);
    }
    if (st) {
        heed_generator_free(g);
        return st;
    }
    return accept_prompt(g, prompt, n_prompt, out);
}

heed_status heed_generator_new_evaluated(heed_context *c, const heed_vocab *v,
                                         const int32_t *prompt, int n_prompt,
                                         const heed_generate_params *p, const float *logits,
                                         heed_generator **out)
{
    *out = NULL;
    if (heed_model_decoder_start(heed_context_model(c)) >= 0)
        return heed_fail(HEED_ERR_UNSUPPORTED, "an encoder-decoder's generator encodes its "
                         "prompt: use heed_generator_new");
    if (!logits || heed_context_n_past(c) != n_prompt)
        return heed_fail(HEED_ERR_ARG, "the context holds %d positions, not the prompt's %d "
                         "(or no logits were given)", heed_context_n_past(c), n_prompt);
    heed_generator *g;
    const heed_status st = make(c, v, prompt, n_prompt, p, &g);
    if (st)
        return st;
    memcpy(g->logits, logits, sizeof *logits * (size_t)g->V);
    g->n_cached = n_prompt;
    return accept_prompt(g, prompt, n_prompt, out);
}

/* tok's log-probability under the next row, and the likeliest ids. */
static void logprobs(const heed_generator *g, heed_gen_token *tok)
{
    const double lse = heed_log_sum_exp(g->next, g->V);
    tok->logprob = (float)(g->next[tok->id] - lse);
    tok->n_top = heed_top_k(g->next, g->V, g->p.top_logprobs, tok->top_ids);
    for (int k = 0; k < tok->n_top; k++)
        tok->top_logprobs[k] = (float)(g->next[tok->top_ids[k]] - lse);
    /* what a grammar or a bias of -infinity forbids is no alternative */
    while (tok->n_top && isinf(tok->top_logprobs[tok->n_top - 1]))
        tok->n_top--;
}

static bool append(heed_generator *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        while (cap < g->len + n + 1)
            cap *= 2;
        char *t = realloc(g->text, cap);
        if (!t)
            return false;
        g->text = t;
        g->cap = cap;
    }
    memcpy(g->text + g->len, s, n);
    g->len += n;
    g->text[g->len] = 0;
    return true;
}

/* Cuts the text at the first stop string that now appears in it (a new
 * one can only start in the last max_stop - 1 bytes before `from`). */
static void find_stop(heed_generator *g, size_t from)
{
    size_t cut = g->len;
    for (int i = 0; i < g->p.n_stops; i++) {
        const char *hit = strstr(g->text + from, g->p.stops[i]);
        if (hit && (size_t)(hit - g->text) < cut)
            cut = (size_t)(hit - g->text);
    }
    if (cut < g->len) {
        g->len = cut;
        g->text[cut] = 0;
        g->finish = HEED_GEN_STOP;
    }
}

/* Positions of the cache that hold confirmed tokens (not drafts). */
static int confirmed(const heed_generator *g)
{
    return heed_context_n_past(g->c) - (g->n_draft - g->at);
}

/* Puts id, just sampled, into the cache and sets the next row of logits.
 * With lookup: a drafted token the sampler agreed with is there already;
 * otherwise the unconfirmed drafts go, and id is evaluated with a new
 * draft from the context in one batch. */
static heed_status advance(heed_generator *g, int32_t id)
{
    if (!g->p.lookup)
        return heed_context_eval(g->c, &id, 1, g->logits, false);
    g->hist[g->n_hist++] = id;
    if (g->at < g->n_draft && id == g->batch[1 + g->at]) {
        g->next = g->logits + (size_t)(++g->at) * (size_t)g->V;
        return HEED_OK;
    }
    const int n_past = confirmed(g);
    heed_status st = g->n_draft > g->at ? heed_context_truncate(g->c, n_past) : HEED_OK;
    const int room = heed_context_n_ctx(g->c) - n_past - 1;
    const int left = g->p.max_tokens > 0 ? g->p.max_tokens - g->n - 1 : room;
    int max = g->p.lookup < room ? g->p.lookup : room;
    max = left < max ? left : max;
    g->batch[0] = id;
    g->n_draft = max > 0 ? heed_lookup_draft(g->hist, g->n_hist, 2, 4, g->batch + 1, max) : 0;
    g->at = 0;
    g->next = g->logits;
    return st ? st : heed_context_eval(g->c, g->batch, g->n_draft + 1, g->logits, g->n_draft > 0);
}

static void fail(heed_generator *g, heed_status st)
{
    g->error = st;
    g->finish = HEED_GEN_ERROR;
}

static void add_text(heed_generator *g, const char *s, size_t n)
{
    if (!append(g, s, n))
        fail(g, heed_fail(HEED_ERR_NOMEM, "out of memory"));
}

/* At the end, the stream's held-back bytes end the text (not after a
 * stop string, which cut it before them). */
static void end_text(heed_generator *g)
{
    if (!g->ds)
        return;
    const char *rest;
    size_t n;
    heed_detok_stream_flush(g->ds, &rest, &n);
    if (g->finish != HEED_GEN_STOP)
        add_text(g, rest, n);
}

/* Hands out the text from `sent` up to what is final. */
static void release(heed_generator *g, const char **text, size_t *len)
{
    size_t ready = g->len;
    if (!g->finish && g->max_stop > 1) {
        ready = g->len > g->max_stop - 1 ? g->len - (g->max_stop - 1) : 0;
        while (ready > g->sent && ((unsigned char)g->text[ready] & 0xC0) == 0x80)
            ready--; /* never split a character */
        ready = ready < g->sent ? g->sent : ready;
    }
    *text = g->text ? g->text + g->sent : "";
    *len = ready - g->sent;
    g->sent = ready;
}

/* The next token, drawn from the next row; with a grammar, one it allows
 * (see the top of the file). */
static heed_status draw(heed_generator *g, int32_t *id)
{
    *id = -1;
    bool ok = false;
    heed_status st = HEED_OK;
    if (!g->gm || g->p.top_logprobs < 0) {
        *id = heed_sampler_sample(g->smp, g->next);
        if (!g->gm || (st = grammar_matcher_allows(g->gm, *id, &ok)) || ok)
            return st;
    }
    int32_t n_allowed;
    if ((st = grammar_matcher_mask(g->gm, g->next, g->V, &n_allowed)))
        return st;
    if (!n_allowed)
        return heed_fail(HEED_ERR_UNSUPPORTED, "the grammar allows no token of the vocabulary "
                         "after the text so far");
    *id = heed_sampler_sample(g->smp, g->next);
    return HEED_OK;
}

/* The first half of a step: samples the next token, adds its text and
 * sees whether the generation ends; *id is set. Returns whether the token
 * must go into the cache (the generation goes on). */
static bool pick(heed_generator *g, heed_gen_token *tok, int32_t *id)
{
    for (int i = 0; i < g->p.n_logit_bias; i++)
        g->next[g->p.logit_bias[i].token] += g->p.logit_bias[i].bias;
    tok->n_top = 0;
    tok->logprob = 0;
    if (g->gm && grammar_matcher_done(g->gm)) { /* a grammar of the empty text alone */
        *id = tok->id = g->v ? heed_vocab_eos(g->v) : -1;
        g->finish = HEED_GEN_EOG;
        return false;
    }
    heed_status st = draw(g, id);
    tok->id = *id;
    if (st) {
        fail(g, st);
        return false;
    }
    if (g->p.top_logprobs >= 0)
        logprobs(g, tok);
    const bool eog = g->v ? heed_vocab_is_eog(g->v, *id)
                          : *id == heed_model_eos(heed_context_model(g->c));
    const size_t before = g->len;
    const char *piece = "";
    size_t n = 0;
    if (eog && !g->p.ignore_eos) {
        if (g->ds)
            heed_detok_stream_flush(g->ds, &piece, &n);
        g->finish = HEED_GEN_EOG;
    } else {
        st = heed_sampler_accept(g->smp, *id);
        if (!st && g->gm)
            st = grammar_matcher_accept(g->gm, *id);
        if (!st && g->ds)
            st = detok_stream_push_as(g->ds, *id,
                                      grammar_preserves(g->preserved, g->p.n_preserved, *id),
                                      &piece, &n);
        g->n++;
    }
    if (st)
        fail(g, st);
    else
        add_text(g, piece, n);
    if (!g->finish && g->p.n_stops)
        find_stop(g, before > g->max_stop ? before - g->max_stop : 0);
    if (!g->finish && g->gm && grammar_matcher_done(g->gm)) { /* whole: nothing can follow */
        g->finish = HEED_GEN_EOG;
        end_text(g);
    }
    if (!g->finish && g->p.max_tokens > 0 && g->n >= g->p.max_tokens)
        g->finish = HEED_GEN_LENGTH;
    if (!g->finish && confirmed(g) >= heed_context_n_ctx(g->c))
        g->finish = HEED_GEN_CONTEXT_FULL;
    return !g->finish;
}

/* The last half: the text that is final now. Returns whether it goes on. */
static bool hand_out(heed_generator *g, const char **text, size_t *len)
{
    if (g->finish && g->finish != HEED_GEN_EOG) /* EOG flushed the stream already */
        end_text(g);
    release(g, text, len);
    return !g->finish;
}

bool heed_generator_step(heed_generator *g, const char **text, size_t *len,
                         heed_gen_token *tok)
{
    heed_gen_token scratch;
    int32_t id;
    *text = "";
    *len = 0;
    if (g->finish)
        return false;
    heed_status st;
    if (pick(g, tok ? tok : &scratch, &id) && (st = advance(g, id)))
        fail(g, st);
    return hand_out(g, text, len);
}

int heed_generator_step_many(heed_generator *const *g, int n, const char **text, size_t *len,
                             heed_gen_token *tok)
{
    /* per generator: its context, token and its place among those
     * evaluated together; whether it was running when the step began */
    heed_context **ctx = malloc(sizeof *ctx * (size_t)n);
    int32_t *ids = malloc(sizeof *ids * (size_t)n);
    const int32_t **id_of = malloc(sizeof *id_of * (size_t)n);
    int *ones = malloc(sizeof *ones * (size_t)n), *who = malloc(sizeof *who * (size_t)n);
    bool *live = malloc(sizeof *live * (size_t)n);
    float *logits = NULL;
    int k = 0, running = 0;
    if (!ctx || !ids || !id_of || !ones || !who || !live) { /* one at a time, then */
        for (int i = 0; i < n; i++)
            running += heed_generator_step(g[i], &text[i], &len[i], tok ? &tok[i] : NULL);
        k = -1;
    }
    for (int i = 0; k >= 0 && i < n; i++) {
        heed_gen_token scratch;
        int32_t id;
        text[i] = "";
        len[i] = 0;
        live[i] = !g[i]->finish;
        if (!live[i] || !pick(g[i], tok ? &tok[i] : &scratch, &id))
            continue;
        if (g[i]->p.lookup) { /* its draft is a batch of its own */
            const heed_status st = advance(g[i], id);
            if (st)
                fail(g[i], st);
            continue;
        }
        ctx[k] = g[i]->c;
        ids[k] = id;
        id_of[k] = &ids[k];
        ones[k] = 1;
        who[k++] = i;
    }
    const int64_t V = k > 0 ? g[who[0]]->V : 0;
    if (k > 0 && !(logits = malloc(sizeof *logits * (size_t)V * (size_t)k))) {
        for (int j = 0; j < k; j++)
            fail(g[who[j]], heed_fail(HEED_ERR_NOMEM, "out of memory"));
    } else if (k > 0) {
        const heed_status st = heed_context_eval_many(ctx, id_of, ones, k, logits);
        for (int j = 0; j < k; j++)
            if (st)
                fail(g[who[j]], st);
            else
                memcpy(g[who[j]]->logits, logits + j * V, sizeof *logits * (size_t)V);
    }
    for (int i = 0; k >= 0 && i < n; i++)
        running += live[i] && hand_out(g[i], &text[i], &len[i]);
    free(logits);
    free(ctx);
    free(ids);
    free(id_of);
    free(ones);
    free(who);
    free(live);
    return running;
}

int heed_generator_n_cached(const heed_generator *g)
{
    return g->n_cached;
}

void heed_generator_stop(heed_generator *g, const char **text, size_t *len)
{
    if (!g->finish) {
        g->finish = HEED_GEN_LENGTH;
        end_text(g);
    }
    release(g, text, len);
}

heed_gen_finish heed_generator_finish(const heed_generator *g) { return g->finish; }
heed_status heed_generator_status(const heed_generator *g) { return g->error; }
int heed_generator_n_tokens(const heed_generator *g) { return g->n; }
