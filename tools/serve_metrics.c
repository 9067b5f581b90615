/*
 * serve_metrics.c — what `heed serve` has done and is doing: GET /metrics
 * (Prometheus's text exposition format 0.0.4, the counters since start)
 * and GET /slots (each slot's current request, and the queue), for
 * dashboards and for people watching a loaded server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "serve.h"

void serve_metrics_count(server *s, const serve_request *r, double seconds)
{
    serve_stats *st = &s->stats;
    pthread_mutex_lock(&s->mu);
    int k = 0;
    while (k < st->n_status && st->status[k] != r->status)
        k++;
    if (k == st->n_status && k < SERVE_STATUS_KINDS)
        st->status[st->n_status++] = r->status;
    if (k < SERVE_STATUS_KINDS)
        st->by_status[k]++;
    st->prompt_tokens += r->n_prompt;
    st->generated_tokens += r->n_gen;
    st->cache_hits += r->n_cached > 0;
    st->cached_tokens += r->n_cached;
    if (r->n_gen > 0)
        st->generating_seconds += seconds;
    pthread_mutex_unlock(&s->mu);
}

void serve_metrics_handler(serve_request *r, serve_reply *out)
{
    server *s = r->srv;
    char *b = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&b, &len);
    if (!f) {
        serve_error(out, 500, "server_error", "out_of_memory", "Out of memory");
        return;
    }
    pthread_mutex_lock(&s->mu);
    const serve_stats st = s->stats;
    int busy = 0;
    for (int i = 0; i < s->n_slots; i++)
        busy += s->slots[i].busy;
    const int queued = s->queued;
    pthread_mutex_unlock(&s->mu);
    fprintf(f, "# HELP heed_requests_total Requests answered, by HTTP status.\n"
               "# TYPE heed_requests_total counter\n");
    for (int k = 0; k < st.n_status; k++)
        fprintf(f, "heed_requests_total{status=\"%d\"} %lld\n", st.status[k], st.by_status[k]);
    fprintf(f,
        "# HELP heed_prompt_tokens_total Prompt tokens evaluated.\n"
        "# TYPE heed_prompt_tokens_total counter\nheed_prompt_tokens_total %lld\n"
        "# HELP heed_generated_tokens_total Tokens generated.\n"
        "# TYPE heed_generated_tokens_total counter\nheed_generated_tokens_total %lld\n"
        "# HELP heed_generating_seconds_total Wall time of the requests that generated.\n"
        "# TYPE heed_generating_seconds_total counter\nheed_generating_seconds_total %.6f\n"
        "# HELP heed_generated_tokens_per_second Generated tokens over those requests' time.\n"
        "# TYPE heed_generated_tokens_per_second gauge\nheed_generated_tokens_per_second %.3f\n"
        "# HELP heed_prompt_cache_hits_total Requests that reused a slot's cached prompt.\n"
        "# TYPE heed_prompt_cache_hits_total counter\nheed_prompt_cache_hits_total %lld\n"
        "# HELP heed_prompt_cache_tokens_total Prompt tokens taken from the cache.\n"
        "# TYPE heed_prompt_cache_tokens_total counter\nheed_prompt_cache_tokens_total %lld\n"
        "# HELP heed_batch_rounds_total Forward passes that decoded running requests' tokens.\n"
        "# TYPE heed_batch_rounds_total counter\nheed_batch_rounds_total %lld\n"
        "# HELP heed_batch_tokens_total Tokens those passes decoded (over the rounds: the mean batch).\n"
        "# TYPE heed_batch_tokens_total counter\nheed_batch_tokens_total %lld\n"
        "# HELP heed_slots_busy Slots running a request.\n"
        "# TYPE heed_slots_busy gauge\nheed_slots_busy %d\n"
        "# HELP heed_slots Slots the server has.\n# TYPE heed_slots gauge\nheed_slots %d\n"
        "# HELP heed_queue_depth Requests waiting for a slot.\n"
        "# TYPE heed_queue_depth gauge\nheed_queue_depth %d\n",
        st.prompt_tokens, st.generated_tokens, st.generating_seconds,
        st.generating_seconds > 0 ? (double)st.generated_tokens / st.generating_seconds : 0.0,
        st.cache_hits, st.cached_tokens, st.batch_rounds, st.batch_tokens, busy, s->n_slots,
        queued);
    fprintf(f, "# HELP heed_batch_seconds_total The batch thread's time in its rounds: waiting "
               "for streams still to ask, decoding, evaluating joining prompts.\n"
               "# TYPE heed_batch_seconds_total counter\n");
    static const char *const phase[] = {"gather", "decode", "prefill"};
    for (int k = 0; k < 3; k++)
        fprintf(f, "heed_batch_seconds_total{phase=\"%s\"} %.6f\n", phase[k], st.batch_seconds[k]);
    if (fclose(f)) {
        free(b);
        serve_error(out, 500, "server_error", "out_of_memory", "Out of memory");
        return;
    }
    *out = (serve_reply){.status = 200, .body = b,
                         .content_type = "text/plain; version=0.0.4; charset=utf-8"};
}

void serve_slots_handler(serve_request *r, serve_reply *out)
{
    server *s = r->srv;
    cJSON *o = cJSON_CreateObject(), *slots = cJSON_AddArrayToObject(o, "slots");
    const double now = cli_seconds();
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_slots; i++) {
        const serve_slot *sl = &s->slots[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "id", i);
        cJSON_AddBoolToObject(j, "busy", sl->busy);
        if (sl->busy) {
            cJSON_AddStringToObject(j, "path", sl->path);
            cJSON_AddNumberToObject(j, "seconds", now - sl->since);
            cJSON_AddNumberToObject(j, "prompt_tokens", sl->n_prompt);
        }
        cJSON_AddItemToArray(slots, j);
    }
    cJSON_AddNumberToObject(o, "queued", s->queued);
    pthread_mutex_unlock(&s->mu);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!json) {
        serve_error(out, 500, "server_error", "out_of_memory", "Out of memory");
        return;
    }
    *out = (serve_reply){.status = 200, .body = json, .content_type = "application/json"};
}
