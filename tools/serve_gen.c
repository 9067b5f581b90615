/* serve_gen.c — slots and token-by-token generation for `heed serve`
 * (see serve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "clock.h"
#include "serve.h"

int serve_slot_take(server *s, const serve_request *r, int n, double deadline,
                    serve_slot **got)
{
    pthread_mutex_lock(&s->mu);
    int free_slots = 0;
    bool waiting = false;
    for (;;) {
        free_slots = 0;
        for (int i = 0; i < s->n_slots; i++)
            free_slots += !s->slots[i].busy;
        if (free_slots >= n)
            break;
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
        cli_realtime_after(left, &ts);
        pthread_cond_timedwait(&s->freed, &s->mu, &ts);
    }
    if (waiting)
        s->queued--;
    int k = 0; /* all n at once, or none: two requests each holding some
                  of what both wait for would wait forever */
    for (int i = 0; i < s->n_slots && k < n && free_slots >= n; i++)
        if (!s->slots[i].busy) {
            serve_slot *slot = got[k++] = &s->slots[i];
            slot->busy = true;
            snprintf(slot->path, sizeof slot->path, "%.31s", r->path);
            slot->since = cli_seconds();
            slot->n_prompt = r->n_prompt;
        }
    pthread_mutex_unlock(&s->mu);
    return k;
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
    pthread_cond_broadcast(&s->freed); /* a request waiting for several may need it */
    pthread_mutex_unlock(&s->mu);
}

/* A request's generation: the library's generator on the slot's context,
 * run by the batch thread, under the request's deadline. */
struct serve_gen {
    server *srv;
    serve_job job;
    double deadline;
    int n_prompt;
    int reused;                  /* prompt tokens taken from the slot's cache */
    heed_capture *cap;           /* params.attention's, attached to the context */
    const atomic_int *stop;      /* the server's: set, it ends as at the deadline */
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
    serve_batch_leave(g->srv, &g->job);
    heed_generator_free(g->job.gen);
    if (g->cap)
        heed_context_set_capture(g->job.ctx, NULL);
    heed_capture_free(g->cap);
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
    g->deadline = p->deadline;
    g->stop = s->stop;
    g->n_prompt = n_prompt;
    serve_job *j = &g->job;
    j->ctx = slot->ctx;
    if (p->attention) { /* from the prompt's last row, which draws the first token */
        heed_capture_params cp = *p->attention;
        cp.n_tokens = heed_context_n_ctx(slot->ctx);
        cp.row_begin = n_prompt - 1;
        cp.row_end = n_prompt + p->max_tokens < cp.n_tokens ? n_prompt + p->max_tokens
                                                            : cp.n_tokens;
        const heed_status st = heed_capture_new(s->model, &cp, &g->cap);
        if (st) {
            free(g);
            return cli_set_error(st, "%s", heed_last_error());
        }
        heed_context_set_capture(slot->ctx, g->cap);
    }
    j->prompt = prompt;
    j->n_prompt = n_prompt;
    j->gp = heed_generate_default_params();
    j->gp.sampler = p->sp;
    j->gp.max_tokens = p->max_tokens;
    j->gp.stops = (const char *const *)p->stops;
    j->gp.n_stops = p->n_stops;
    j->gp.top_logprobs = p->top_logprobs;
    j->gp.lookup = p->lookup;
    j->gp.logit_bias = p->logit_bias;
    j->gp.n_logit_bias = p->n_logit_bias;
    j->gp.ignore_eos = p->ignore_eos;
    j->gp.grammar = p->grammar;
    j->gp.preserved = p->preserved;
    j->gp.n_preserved = p->n_preserved;
    /* the cache keeps the prefix this prompt shares with the last (the
     * slot is this request's: its context is idle), or holds the prompt
     * already (share: this slot, or another choice's to copy); the batch
     * thread evaluates the rest in chunks */
    const int keep = p->share ? n_prompt - 1
                     : p->cache_prompt ? common_prefix(slot->cached, slot->n_cached, prompt,
                                                       n_prompt < 1 ? 0 : n_prompt - 1)
                                       : 0;
    if (!keep || (p->share && p->share != slot
                      ? heed_context_copy_cache(slot->ctx, p->share->ctx, keep)
                      : heed_context_truncate(slot->ctx, keep)))
        heed_context_reset(slot->ctx);
    j->prefilled = g->reused = heed_context_n_past(slot->ctx);
    serve_batch_ask(s, &j, 1, SERVE_START);
    remember(slot, !j->status && p->cache_prompt ? prompt : NULL, n_prompt);
    if (j->status) {
        const heed_status st = cli_set_error(j->status, "%s", j->error);
        serve_gen_free(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}

int serve_gen_step(serve_gen *const *g, int n, serve_piece *out)
{
    serve_job *ask[SERVE_MAX_CHOICES];
    int k = 0, running = 0;
    for (int i = 0; i < n; i++) {
        heed_generator *gen = g[i]->job.gen;
        out[i] = (serve_piece){.text = ""};
        if (heed_generator_finish(gen) != HEED_GEN_RUNNING)
            continue;
        if (cli_seconds() > g[i]->deadline || (g[i]->stop && *g[i]->stop))
            heed_generator_stop(gen, &out[i].text, &out[i].len);
        else {
            ask[k++] = &g[i]->job;
            out[i].sampled = true;
        }
        /* the last token's row: the prompt's last, or the last generated's */
        out[i].query = g[i]->n_prompt - 1 + heed_generator_n_tokens(gen);
    }
    if (k) /* one round for all of them */
        serve_batch_ask(g[0]->srv, ask, k, SERVE_STEP);
    for (int i = 0; i < n; i++) {
        const serve_job *j = &g[i]->job;
        if (out[i].sampled) {
            out[i].text = j->text;
            out[i].len = j->len;
            out[i].tok = j->tok;
        }
        out[i].more = heed_generator_finish(j->gen) == HEED_GEN_RUNNING;
        running += out[i].more;
    }
    return running;
}

const char *serve_gen_finish(const serve_gen *g)
{
    switch (heed_generator_finish(g->job.gen)) {
    case HEED_GEN_RUNNING:
        return NULL;
    case HEED_GEN_EOG:
    case HEED_GEN_STOP:
        return "stop";
    default:
        return "length";
    }
}

const heed_capture *serve_gen_capture(const serve_gen *g) { return g->cap; }

int serve_gen_count(const serve_gen *g) { return heed_generator_n_tokens(g->job.gen); }
int serve_gen_cached(const serve_gen *g) { return g->reused; }
