/* serve_gen.c — slots and token-by-token generation for `heed serve`
 * (see serve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_error.h"
#include "clock.h"
#include "serve.h"

serve_slot *serve_slot_take(server *s, const serve_request *r, double deadline)
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
            snprintf(got->path, sizeof got->path, "%.31s", r->path);
            got->since = cli_seconds();
            got->n_prompt = r->n_prompt;
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

heed_status serve_slot_intervene(serve_slot *slot, const serve_interventions *iv)
{
    heed_context_set_edits(slot->ctx, NULL);
    heed_context_set_steering(slot->ctx, NULL, 0, 0);
    heed_edits_clear(slot->edits);
    heed_status st = HEED_OK;
    if (iv && iv->steering)
        st = heed_context_set_steering(slot->ctx, iv->steering, iv->steer_first, iv->steer_last);
    for (int i = 0; iv && !st && i < iv->n_heads; i++)
        st = heed_edits_ablate_head(slot->edits, iv->heads[i][0], iv->heads[i][1], NULL);
    if (!st && iv && iv->n_heads)
        st = heed_context_set_edits(slot->ctx, slot->edits);
    if (st)
        serve_slot_intervene(slot, NULL);
    return st;
}

void serve_slot_give(server *s, serve_slot *slot)
{
    serve_slot_intervene(slot, NULL);
    pthread_mutex_lock(&s->mu);
    slot->busy = false;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->mu);
}

/* A request's generation: the library's generator on the slot's context,
 * under the request's deadline. */
struct serve_gen {
    heed_generator *gen;
    double deadline;
};

/* How many first tokens a and b share. */
static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb)
{
    int n = 0;
    while (n < na && n < nb && a[n] == b[n])
        n++;
    return n;
}

/* Remembers the prompt slot's cache now holds, or forgets (prompt NULL). */
static void remember(serve_slot *slot, const int32_t *prompt, int n)
{
    int32_t *kept = prompt ? realloc(slot->cached, sizeof *kept * (size_t)n) : NULL;
    if (kept)
        memcpy(kept, prompt, sizeof *kept * (size_t)n);
    else
        free(slot->cached);
    slot->cached = kept;
    slot->n_cached = kept ? n : 0;
}

void serve_gen_free(serve_gen *g)
{
    if (!g)
        return;
    heed_generator_free(g->gen);
    free(g);
}

heed_status serve_gen_start(server *s, serve_slot *slot, const int32_t *prompt, int n_prompt,
                            const serve_gen_params *p, serve_gen **out)
{
    *out = NULL;
    serve_gen *g = calloc(1, sizeof *g);
    if (!g)
        return cli_set_error(HEED_ERR_NOMEM, "out of memory");
    g->deadline = p->deadline;
    heed_generate_params gp = heed_generate_default_params();
    gp.sampler = p->sp;
    gp.max_tokens = p->max_tokens;
    gp.stops = (const char *const *)p->stops;
    gp.n_stops = p->n_stops;
    gp.top_logprobs = p->top_logprobs;
    gp.lookup = p->lookup;
    gp.logit_bias = p->logit_bias;
    gp.n_logit_bias = p->n_logit_bias;
    gp.grammar = p->grammar;
    gp.n_cached = p->cache_prompt ? common_prefix(slot->cached, slot->n_cached, prompt, n_prompt)
                                  : 0;
    heed_status st = heed_generator_new(slot->ctx, s->vocab, prompt, n_prompt, &gp, &g->gen);
    remember(slot, !st && p->cache_prompt ? prompt : NULL, n_prompt);
    if (st) {
        free(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}

bool serve_gen_step(serve_gen *g, const char **text, size_t *len, heed_gen_token *tok)
{
    if (heed_generator_finish(g->gen) == HEED_GEN_RUNNING && cli_seconds() > g->deadline) {
        heed_generator_stop(g->gen, text, len);
        tok->n_top = 0;
        return false;
    }
    return heed_generator_step(g->gen, text, len, tok);
}

const char *serve_gen_finish(const serve_gen *g)
{
    switch (heed_generator_finish(g->gen)) {
    case HEED_GEN_RUNNING:
        return NULL;
    case HEED_GEN_EOG:
    case HEED_GEN_STOP:
        return "stop";
    default:
        return "length";
    }
}

int serve_gen_count(const serve_gen *g) { return heed_generator_n_tokens(g->gen); }
int serve_gen_cached(const serve_gen *g) { return heed_generator_n_cached(g->gen); }
