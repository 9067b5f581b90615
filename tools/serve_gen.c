/* serve_gen.c — slots and token-by-token generation for `heed serve`
 * (see serve.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_error.h"
#include "clock.h"
#include "serve.h"

serve_slot *serve_slot_take(server *s, double deadline)
{
    pthread_mutex_lock(&s->mu);
    serve_slot *got = NULL;
    bool waiting = false;
    for (;;) {
        for (int i = 0; i < s->n_slots && !got; i++)
            if (!s->slots[i].busy)
                got = &s->slots[i];
        if (got) {
            got->busy = true;
            break;
        }
        if (!waiting) {
            if (s->queued >= s->max_queue)
                break;
            s->queued++;
            waiting = true;
        }
        const double left = deadline - cli_seconds();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        const double until = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + left;
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&s->freed, &s->mu, &ts);
    }
    if (waiting)
        s->queued--;
    pthread_mutex_unlock(&s->mu);
    return got;
}

void serve_slot_give(server *s, serve_slot *slot)
{
    pthread_mutex_lock(&s->mu);
    slot->busy = false;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->mu);
}

struct serve_gen {
    server *srv;
    serve_slot *slot;
    heed_sampler *smp;
    heed_detok_stream *ds;
    serve_gen_params p;
    char *stops[4];       /* p.stops points here: the gen owns its copies */
    float *logits;        /* [lookup + 1][V]: a row per token of the last batch */
    const float *next;    /* the row that follows the last confirmed token */
    int32_t *hist;        /* lookup: the context's tokens, which it searches */
    int32_t *batch;       /* lookup: the last token evaluated and its drafts */
    int n_hist, n_draft, at; /* drafts in the cache, and how many confirmed */
    int V, n;
    char *text;
    size_t len, cap, sent, max_stop;
    const char *finish;
};

void serve_gen_free(serve_gen *g)
{
    if (!g)
        return;
    heed_sampler_free(g->smp);
    heed_detok_stream_free(g->ds);
    for (int i = 0; i < g->p.n_stops; i++)
        free(g->stops[i]);
    free(g->logits);
    free(g->hist);
    free(g->batch);
    free(g->text);
    free(g);
}

heed_status serve_gen_start(server *s, serve_slot *slot, const int32_t *prompt, int n_prompt,
                            const serve_gen_params *p, serve_gen **out)
{
    *out = NULL;
    serve_gen *g = calloc(1, sizeof *g);
    if (!g)
        return cli_set_error(HEED_ERR_NOMEM, "out of memory");
    g->srv = s;
    g->slot = slot;
    g->p = *p;
    g->V = heed_model_n_vocab(s->model);
    g->logits = malloc(sizeof *g->logits * (size_t)g->V * (size_t)(p->lookup + 1));
    g->next = g->logits;
    heed_status st = heed_detok_stream_new(s->vocab, false, &g->ds);
    bool have = g->logits && g->ds;
    if (p->lookup) {
        g->hist = malloc(sizeof *g->hist * (size_t)(heed_context_n_ctx(slot->ctx) + 1));
        g->batch = malloc(sizeof *g->batch * (size_t)(p->lookup + 1));
        have = have && g->hist && g->batch;
        for (int i = 0; have && i < n_prompt; i++)
            g->hist[g->n_hist++] = prompt[i];
    }
    if (!st)
        st = have ? heed_sampler_new(&p->sp, g->V, &g->smp)
                  : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    g->p.n_stops = 0;
    g->p.stops = g->stops;
    for (int i = 0; i < p->n_stops && i < 4 && !st; i++) {
        if (!(g->stops[i] = strdup(p->stops[i])))
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
        g->p.n_stops = i + 1;
        const size_t l = strlen(p->stops[i]);
        g->max_stop = l > g->max_stop ? l : g->max_stop;
    }
    heed_context_reset(slot->ctx);
    for (int i = 0; i < n_prompt && !st; i++)
        st = heed_sampler_accept(g->smp, prompt[i]);
    if (!st)
        st = heed_context_eval(slot->ctx, prompt, n_prompt, g->logits, false);
    if (st) {
        serve_gen_free(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}

/* The log-probability of tok under the next row of logits, and the n most
 * likely. */
static void logprobs(const serve_gen *g, serve_token *t, int n)
{
    const float *l = g->next;
    double max = -INFINITY, sum = 0.0;
    for (int i = 0; i < g->V; i++)
        max = l[i] > max ? l[i] : max;
    for (int i = 0; i < g->V; i++)
        sum += exp((double)l[i] - max);
    const double lse = max + log(sum);
    t->logprob = (float)(l[t->id] - lse);
    t->n_top = n < 20 ? n : 20;
    int have = 0; /* the most likely so far, best first; ties keep the lower id */
    for (int i = 0; i < g->V && t->n_top; i++) {
        if (have == t->n_top && !(l[i] > l[t->top_ids[have - 1]]))
            continue;
        int k = have < t->n_top ? have++ : have - 1;
        for (; k > 0 && l[i] > l[t->top_ids[k - 1]]; k--)
            t->top_ids[k] = t->top_ids[k - 1];
        t->top_ids[k] = i;
    }
    for (int k = 0; k < t->n_top; k++)
        t->top_logprobs[k] = (float)(l[t->top_ids[k]] - lse);
}

static bool append(serve_gen *g, const char *s, size_t n)
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

/* Cuts the text at the first stop string that now appears in it. */
static void find_stop(serve_gen *g, size_t from)
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
        g->finish = "stop";
    }
}

/* Positions of the cache that hold confirmed tokens (not drafts). */
static int confirmed(const serve_gen *g)
{
    return heed_context_n_past(g->slot->ctx) - (g->n_draft - g->at);
}

/* Puts id, just sampled and accepted, into the cache and sets the next
 * row of logits. With lookup, as heed run --lookup: a drafted token the
 * sampler agreed with is there already; otherwise the unconfirmed drafts
 * go, and id is evaluated with a new draft from the context, in one
 * batch, so the output is plain decoding's. */
static heed_status advance(serve_gen *g, int32_t id)
{
    heed_context *c = g->slot->ctx;
    if (!g->p.lookup)
        return heed_context_eval(c, &id, 1, g->logits, false);
    g->hist[g->n_hist++] = id;
    if (g->at < g->n_draft && id == g->batch[1 + g->at]) {
        g->next = g->logits + (size_t)(++g->at) * (size_t)g->V;
        return HEED_OK;
    }
    const int n_past = confirmed(g);
    heed_status st = g->n_draft > g->at ? heed_context_truncate(c, n_past) : HEED_OK;
    const int room = heed_context_n_ctx(c) - n_past - 1, left = g->p.max_tokens - g->n - 1;
    int max = g->p.lookup < room ? g->p.lookup : room;
    max = left < max ? left : max;
    g->batch[0] = id;
    g->n_draft = max > 0 ? heed_lookup_draft(g->hist, g->n_hist, 2, 4, g->batch + 1, max) : 0;
    g->at = 0;
    g->next = g->logits;
    return st ? st : heed_context_eval(c, g->batch, g->n_draft + 1, g->logits, g->n_draft > 0);
}

bool serve_gen_step(serve_gen *g, const char **text, size_t *len, serve_token *tok)
{
    *text = "";
    *len = 0;
    if (g->finish)
        return false;
    const int32_t id = heed_sampler_sample(g->smp, g->next);
    tok->id = id;
    tok->n_top = 0;
    if (g->p.top_logprobs >= 0)
        logprobs(g, tok, g->p.top_logprobs);
    const size_t before = g->len;
    const char *piece = "";
    size_t n = 0;
    if (heed_vocab_is_eog(g->srv->vocab, id)) {
        heed_detok_stream_flush(g->ds, &piece, &n);
        g->finish = "stop";
    } else {
        heed_sampler_accept(g->smp, id);
        if (heed_detok_stream_push(g->ds, id, &piece, &n))
            n = 0;
        g->n++;
    }
    if (!append(g, piece, n))
        g->finish = "length";
    if (!g->finish && g->p.n_stops)
        find_stop(g, before > g->max_stop ? before - g->max_stop : 0);
    if (!g->finish && (g->n >= g->p.max_tokens || cli_seconds() > g->p.deadline ||
                       confirmed(g) >= heed_context_n_ctx(g->slot->ctx)))
        g->finish = "length";
    if (!g->finish && advance(g, id))
        g->finish = "length";
    /* a stop string could still begin in the last max_stop - 1 bytes */
    size_t ready = g->len;
    if (!g->finish && g->max_stop > 1) {
        ready = g->len > g->max_stop - 1 ? g->len - (g->max_stop - 1) : 0;
        while (ready > g->sent && ((unsigned char)g->text[ready] & 0xC0) == 0x80)
            ready--; /* never split a character */
        ready = ready < g->sent ? g->sent : ready;
    }
    *text = g->text + g->sent;
    *len = ready - g->sent;
    g->sent = ready;
    return !g->finish;
}

const char *serve_gen_finish(const serve_gen *g) { return g->finish; }
int serve_gen_count(const serve_gen *g) { return g->n; }
