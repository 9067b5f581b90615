/*
 * serve_batch.c — continuous batching for `heed serve`: one thread runs
 * every slot's generation. Request threads post what they want (a
 * generation started, or its next token) and wait; each round the batch
 * thread steps every generation that waits for a token in one forward pass
 * (heed_generator_step_many), then evaluates the joining requests'
 * prompts, at most PREFILL_CHUNK tokens of them in one more pass
 * (heed_context_eval_many), so a long prompt delays the running streams by
 * a chunk at a time rather than by all of it.
 *
 * A round waits briefly for the generations still turning their last
 * token into text, so that they join it instead of the next round.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "serve.h"

/* Prompt tokens a round evaluates of the joining requests (~0.2 s on a
 * 0.5B model on two cores), and how long a round waits for stragglers. */
enum { PREFILL_CHUNK = 64 };
static const double GATHER_S = 0.002;

struct serve_batch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t posted, answered;
    serve_job *jobs;             /* started or starting */
    bool quit;
    /* a round's generations and their answers, and its joining requests
     * with their prompts' next tokens: [n_slots] each */
    serve_job **step, **start;
    heed_context **ctx;
    const int32_t **ids;
    int *n_ids;
    float *logits;               /* [n_slots][n_vocab]: the prefill pass's rows */
    heed_generator **gens;
    const char **text;
    size_t *len;
    heed_gen_token *tok;
};

/* Whether a round should wait for j: its generation runs, but its request
 * has not asked for the next token yet. */
static bool straggling(const serve_job *j)
{
    return j->want == SERVE_IDLE && j->running;
}

/* The joining requests' prompts, PREFILL_CHUNK tokens of them at most
 * (the earliest first) in one pass; each whose prompt is then all in the
 * cache gets its generator, from the pass's row after its last token (an
 * encoder-decoder's generator encodes its prompt itself, whole). Returns
 * how many of start[] are answered, moved to its front. */
static int prefill(server *s, serve_batch *b, serve_job **start, int n)
{
    const bool enc_dec = heed_model_decoder_start(s->model) >= 0;
    const int64_t V = heed_model_n_vocab(s->model);
    int k = 0, budget = PREFILL_CHUNK;
    for (int i = 0; i < n && budget > 0 && !enc_dec; i++) {
        serve_job *j = start[i];
        const int left = j->n_prompt - j->prefilled, take = left < budget ? left : budget;
        b->ctx[k] = j->ctx;
        b->ids[k] = j->prompt + j->prefilled;
        b->n_ids[k++] = take;
        j->prefilled += take;
        budget -= take;
    }
    const heed_status st = k ? heed_context_eval_many(b->ctx, b->ids, b->n_ids, k, b->logits)
                             : HEED_OK;
    int answered = 0;
    for (int i = 0; i < n; i++) {
        serve_job *j = start[i];
        int row = -1; /* its place in the pass */
        for (int m = 0; m < k; m++)
            row = b->ctx[m] == j->ctx ? m : row;
        if (st && row >= 0)
            j->status = st;
        else if (enc_dec)
            j->status = heed_generator_new(j->ctx, s->vocab, j->prompt, j->n_prompt, &j->gp,
                                           &j->gen);
        else if (row >= 0 && j->prefilled == j->n_prompt)
            j->status = heed_generator_new_evaluated(j->ctx, s->vocab, j->prompt, j->n_prompt,
                                                     &j->gp, b->logits + row * V, &j->gen);
        else
            continue;
        if (j->status) /* the message is this thread's: it goes with the answer */
            snprintf(j->error, sizeof j->error, "%s", heed_last_error());
        start[i] = start[answered];
        start[answered++] = j;
    }
    return answered;
}

static void *batch_main(void *arg)
{
    server *s = arg;
    serve_batch *b = s->batch;
    serve_job **step = b->step;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        serve_job *j;
        bool any = false;
        for (j = b->jobs; j; j = j->next)
            any |= j->want != SERVE_IDLE;
        if (b->quit)
            break;
        if (!any) {
            pthread_cond_wait(&b->posted, &b->mu);
            continue;
        }
        const double t0 = cli_seconds();
        struct timespec until;
        cli_realtime_after(GATHER_S, &until);
        for (bool wait = true; wait;) {
            wait = false;
            for (j = b->jobs; j; j = j->next)
                wait |= straggling(j);
            if (wait && pthread_cond_timedwait(&b->posted, &b->mu, &until) == ETIMEDOUT)
                break;
        }
        int n = 0, n_start = 0;
        for (j = b->jobs; j; j = j->next)
            if (j->want == SERVE_STEP) {
                step[n] = j;
                b->gens[n++] = j->gen;
            } else if (j->want == SERVE_START) {
                b->start[n_start++] = j;
            }
        for (int i = 0; i < n_start / 2; i++) { /* jobs join at the front: earliest first */
            j = b->start[i];
            b->start[i] = b->start[n_start - 1 - i];
            b->start[n_start - 1 - i] = j;
        }
        pthread_mutex_unlock(&b->mu);
        const double t1 = cli_seconds();
        if (n)
            heed_generator_step_many(b->gens, n, b->text, b->len, b->tok);
        const double t2 = cli_seconds();
        const int started = n_start ? prefill(s, b, b->start, n_start) : 0;
        pthread_mutex_lock(&s->mu);
        s->stats.batch_rounds += n > 0;
        s->stats.batch_tokens += n;
        s->stats.batch_seconds[0] += t1 - t0;
        s->stats.batch_seconds[1] += t2 - t1;
        s->stats.batch_seconds[2] += cli_seconds() - t2;
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&b->mu);
        for (int i = 0; i < n; i++) {
            step[i]->text = b->text[i];
            step[i]->len = b->len[i];
            step[i]->tok = b->tok[i];
            step[i]->running = heed_generator_finish(step[i]->gen) == HEED_GEN_RUNNING;
            step[i]->want = SERVE_IDLE;
        }
        for (int i = 0; i < started; i++) {
            b->start[i]->running = b->start[i]->gen != NULL;
            b->start[i]->want = SERVE_IDLE;
        }
        if (n || started)
            pthread_cond_broadcast(&b->answered);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void batch_free(serve_batch *b)
{
    free(b->step);
    free(b->start);
    free(b->ctx);
    free(b->ids);
    free(b->n_ids);
    free(b->logits);
    free(b->gens);
    free(b->text);
    free(b->len);
    free(b->tok);
    free(b);
}

heed_status serve_batch_start(server *s)
{
    serve_batch *b = calloc(1, sizeof *b);
    const size_t n = (size_t)s->n_slots;
    if (b) {
        b->step = malloc(sizeof *b->step * n);
        b->start = malloc(sizeof *b->start * n);
        b->ctx = malloc(sizeof *b->ctx * n);
        b->ids = malloc(sizeof *b->ids * n);
        b->n_ids = malloc(sizeof *b->n_ids * n);
        b->logits = malloc(sizeof *b->logits * n * (size_t)heed_model_n_vocab(s->model));
        b->gens = malloc(sizeof *b->gens * n);
        b->text = malloc(sizeof *b->text * n);
        b->len = malloc(sizeof *b->len * n);
        b->tok = malloc(sizeof *b->tok * n);
    }
    if (!b || !b->step || !b->start || !b->ctx || !b->ids || !b->n_ids || !b->logits ||
        !b->gens || !b->text || !b->len || !b->tok) {
        if (b)
            batch_free(b);
        return HEED_ERR_NOMEM;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->posted, NULL);
    pthread_cond_init(&b->answered, NULL);
    s->batch = b;
    if (pthread_create(&b->thread, NULL, batch_main, s)) {
        s->batch = NULL;
        batch_free(b);
        return HEED_ERR_NOMEM;
    }
    return HEED_OK;
}

void serve_batch_stop(server *s)
{
    serve_batch *b = s->batch;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->quit = true;
    pthread_cond_signal(&b->posted);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->posted);
    pthread_cond_destroy(&b->answered);
    batch_free(b);
    s->batch = NULL;
}

void serve_batch_ask(server *s, serve_job *const *j, int n, serve_want want)
{
    serve_batch *b = s->batch;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < n; i++) {
        if (want == SERVE_START) { /* it joins the rounds */
            j[i]->next = b->jobs;
            b->jobs = j[i];
        }
        j[i]->want = want;
    }
    pthread_cond_signal(&b->posted);
    for (int i = 0; i < n; i++)
        while (j[i]->want != SERVE_IDLE)
            pthread_cond_wait(&b->answered, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

void serve_batch_leave(server *s, serve_job *j)
{
    serve_batch *b = s->batch;
    pthread_mutex_lock(&b->mu);
    for (serve_job **p = &b->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    pthread_cond_signal(&b->posted); /* a round waiting for it waits no longer */
    pthread_mutex_unlock(&b->mu);
}
