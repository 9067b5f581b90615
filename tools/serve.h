/*
 * serve.h — `heed serve`: an OpenAI-compatible HTTP server (libmicrohttpd,
 * cJSON). The pieces: serve_http.c (the event loop and the threads
 * requests run on: bodies, the API key, errors, the request log),
 * serve_gen.c (slots: a fixed set of contexts that requests take turns
 * on, and token-by-token generation), serve_api.c (the endpoints),
 * serve_batch.c (the thread that runs every slot's generation, its next
 * tokens in one forward pass), serve_chat.c (a chat's messages to its
 * prompt), serve_template.c (a Jinja chat template rendered as
 * llama-server's minja renders it).
 */
#ifndef HEED_SERVE_H
#define HEED_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heed.h"

typedef struct serve_slot {
    heed_context *ctx;
    heed_edits *edits;       /* the current request's head ablations */
    bool busy;
    /* what it is doing, for /slots (read under the server's mutex) */
    char path[32];
    double since;            /* when the request took it (cli_seconds)     */
    int n_prompt;
    /* the prompt its cache holds from position 0, which the next request
     * may reuse the longest common prefix of (NULL/0: nothing reusable) */
    int32_t *cached;
    int n_cached;
} serve_slot;

/* Counters for /metrics, updated as each request ends (under the mutex). */
enum { SERVE_STATUS_KINDS = 16 };
typedef struct serve_stats {
    int status[SERVE_STATUS_KINDS];          /* HTTP statuses seen, ...        */
    long long by_status[SERVE_STATUS_KINDS]; /* ... and how many of each      */
    int n_status;
    long long prompt_tokens, generated_tokens;
    long long cache_hits, cached_tokens;     /* prompt-cache reuse           */
    double generating_seconds;               /* requests that generated: wall */
    long long batch_rounds, batch_tokens;    /* decoding passes, and the tokens
                                                they decoded (serve_batch.c)  */
    double batch_seconds[3];                 /* the batch thread's time: waiting
                                                for stragglers, decoding, prefill */
} serve_stats;

/* A control vector loaded at start (--control-vector FILE, or
 * --control-vector-scaled FILE SCALE), which requests name. */
typedef struct serve_cvec {
    char name[128];          /* the file's name without directory and extension */
    float scale;             /* its start-up scale (1 for --control-vector) */
    float *dir;              /* its directions at scale 1: [n_layer][n_embd] */
} serve_cvec;

/* What one request changes in the forward pass, for that request only. */
typedef struct serve_interventions {
    const float *steering;   /* [n_layer][n_embd] (the start-up sum, or owned); NULL: none */
    float *owned;            /* the request's own sum of named vectors */
    int steer_first, steer_last;
    int (*heads)[2];         /* heads to ablate (zeroed): [layer, head] */
    int n_heads;
} serve_interventions;

typedef struct serve_batch serve_batch;

/* What a chat template renders (minja's capabilities, serve_template.c):
 * for what it cannot, the messages are rewritten. */
typedef struct serve_template_caps {
    bool system_role, tools, tool_calls, tool_results, parallel_tool_calls;
    bool object_arguments;   /* calls' arguments as objects, not JSON text */
    bool typed_content;      /* content as [{"type": "text", ...}] parts   */
    char *tool_call_example; /* the template's call syntax, for describing
                                tools it cannot (NULL: none)              */
} serve_template_caps;

typedef struct server {
    heed_model *model;
    heed_vocab *vocab;
    char model_id[256];      /* the model file's name, as /v1/models lists it */
    char *chat_jinja;            /* the Jinja template chats are rendered with:
                                    the model's own or --chat-template-file's;
                                    NULL, then:                              */
    const char *chat_format;     /* how its chats write tool calls
                                    (heed_chat_format_detect of the template) */
    serve_template_caps caps;    /* chat_jinja's, probed at start          */
    int32_t chat_markers[HEED_GEN_MAX_PRESERVED]; /* the format's markers that
                                    are tokens of the vocabulary: a chat's
                                    output shows them as text            */
    int n_chat_markers;
    const char *chat_template;   /* a built-in format's name (--chat-template
                                    NAME, or chatml for a decoder with no
                                    template); NULL: an encoder-decoder with
                                    none, whose chat is its messages joined  */
    int n_ctx, n_slots, max_queue, max_tokens, n_threads;
    size_t max_body;
    double timeout_s;            /* per request: waiting for a slot plus generating */
    int read_timeout_s;          /* a connection silent this long while the server
                                    waits on it (headers, body, reading) is closed */
    int max_conns, max_conns_per_ip; /* open connections: in all, and from one
                                        client address (0: any number) */
    const atomic_int *stop;      /* set when the server stops: generation ends */
    const char *api_key;         /* NULL: no key needed */
    serve_slot *slots;
    int queued;                  /* requests waiting for a slot */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    long created;                /* start time, for the "created" fields */
    serve_cvec *cvecs;           /* the control vectors loaded at start */
    int n_cvecs;
    float *steer_default;        /* their sum at their start-up scales (NULL: none),
                                    for requests that name no control vectors */
    int steer_first, steer_last; /* the blocks steered unless a request says */
    serve_stats stats;
    serve_batch *batch;          /* runs the generations (serve_batch.c) */
} server;

/* One HTTP request, from its first byte to the log line. */
typedef struct serve_request {
    server *srv;
    char method[8], path[128];
    char *body;
    size_t len;
    bool too_big;
    double t0;
    int status;
    int n_prompt, n_gen;         /* tokens, for the log */
    int n_cached;                /* prompt tokens taken from the slot's cache */
} serve_request;

/* An HTTP answer: a status and a body (JSON, or a stream that
 * serve_http.c pulls from while the client reads). */
typedef struct serve_stream serve_stream;
typedef struct serve_reply {
    int status;
    char *body;                  /* malloc'd; NULL when streaming */
    const char *content_type;
    int retry_after;             /* seconds, for 503 */
    serve_stream *stream;
} serve_reply;

/* ---- serve_gen.c */

/* Takes n free slots into got[] at once (never some of them), waiting up
 * to the deadline (a monotonic time) while fewer than max_queue others
 * wait; returns n, or 0 when the queue is full or the wait timed out. */
int serve_slot_take(server *s, const serve_request *r, int n, double deadline,
                    serve_slot **got);
/* Gives the slot back, its interventions cleared. */
void serve_slot_give(server *s, serve_slot *slot);
/* Sets the request's steering and head ablations on the slot's context
 * (iv NULL: none); on failure, none. */
heed_status serve_slot_intervene(serve_slot *slot, const serve_interventions *iv);

typedef struct serve_gen_params {
    heed_sampler_params sp;
    int max_tokens;
    char **stops;                /* stop strings (not part of the output) */
    int n_stops;
    int top_logprobs;            /* -1: no logprobs; else this many alternatives */
    int lookup;                  /* draft tokens per step from prompt lookup (0: off) */
    heed_logit_bias *logit_bias; /* the request's "logit_bias" (owned by it) */
    int n_logit_bias;
    bool ignore_eos;             /* an end-of-generation token is text (llama-server's) */
    bool cache_prompt;           /* reuse the slot's cached prefix (and leave
                                    this prompt there): "cache_prompt", and
                                    no interventions                         */
    const heed_grammar *grammar; /* "response_format" / "grammar", or NULL */
    const int32_t *preserved;    /* control tokens shown as text: a chat's markers */
    int n_preserved;
    const heed_capture_params *attention; /* the layers, heads and top_k of the
                                    attention to capture for each generated
                                    token (NULL: none)                      */
    const serve_slot *share;     /* a slot whose cache holds this prompt (NULL:
                                    none): this one's (evaluated for echo's
                                    log-probabilities), or another choice's,
                                    copied                                    */
    double deadline;
} serve_gen_params;

/* The choices one request may ask for ("n"), each a generation on a slot. */
enum { SERVE_MAX_CHOICES = 16 };

typedef struct serve_gen serve_gen;

/* Evaluates the prompt on slot's context and gets ready to generate. */
heed_status serve_gen_start(server *s, serve_slot *slot, const int32_t *prompt, int n_prompt,
                            const serve_gen_params *p, serve_gen **out);
/* One generation's step: the text that is final now, the token sampled
 * (sampled: whether one was), the position of the query whose row of
 * logits it was drawn from, and whether it goes on. */
typedef struct serve_piece {
    const char *text;
    size_t len;
    heed_gen_token tok;
    int query;
    bool sampled, more;
} serve_piece;
/* Steps the running generations of g[0..n) (at most SERVE_MAX_CHOICES, one
 * request's) in one batch round, or ends those past the deadline or
 * stopped by the server (their held-back text in out[i]); a finished one
 * gives no text. Returns how many still run. */
int serve_gen_step(serve_gen *const *g, int n, serve_piece *out);
/* "stop" or "length" once finished, else NULL. */
const char *serve_gen_finish(const serve_gen *g);
int serve_gen_count(const serve_gen *g);
/* The prompt tokens it took from the slot's cache. */
int serve_gen_cached(const serve_gen *g);
/* With params.attention: the capture of the rows of the queries its tokens
 * were drawn from (serve_piece.query); else NULL. */
const heed_capture *serve_gen_capture(const serve_gen *g);
void serve_gen_free(serve_gen *g);

/* ---- serve_batch.c */

typedef enum serve_want { SERVE_IDLE, SERVE_START, SERVE_STEP } serve_want;

/* A request's generation as the batch thread runs it: the request fills
 * the start's fields, asks, and reads the answer when want is IDLE again. */
typedef struct serve_job {
    heed_context *ctx;
    const int32_t *prompt;       /* the request's, until the start is answered */
    int n_prompt, prefilled;     /* prompt tokens in the cache so far */
    heed_generate_params gp;
    heed_generator *gen;         /* once started (NULL: the start failed) */
    heed_status status;          /* the start's, with its message: */
    char error[256];
    serve_want want;             /* what the request waits for; IDLE: answered */
    bool running;                /* its generation goes on (a round waits for it) */
    const char *text;            /* a step's answer, as heed_generator_step's */
    size_t len;
    heed_gen_token tok;
    struct serve_job *next;
} serve_job;

/* Starts (stops) the batch thread. */
heed_status serve_batch_start(server *s);
void serve_batch_stop(server *s);
/* Asks the batch thread for want for jobs j[0..n) (a start joins them to
 * the rounds) and waits for all the answers. */
void serve_batch_ask(server *s, serve_job *const *j, int n, serve_want want);
/* Takes j out of the rounds (before its generator is freed). */
void serve_batch_leave(server *s, serve_job *j);

/* ---- serve_api.c */

/* Answers method/path with body (may be NULL). */
void serve_route(serve_request *r, serve_reply *out);

/* ---- serve_metrics.c */

/* Counts a finished request in s->stats. */
void serve_metrics_count(server *s, const serve_request *r, double seconds);
/* GET /metrics: the counters in Prometheus's text format. */
void serve_metrics_handler(serve_request *r, serve_reply *out);
/* GET /slots: what each slot is doing, and the queue. */
void serve_slots_handler(serve_request *r, serve_reply *out);
/* The next bytes of a streamed reply: fills buf (cap bytes), returns the
 * count, 0 at the end. */
size_t serve_stream_read(serve_stream *st, char *buf, size_t cap);
void serve_stream_free(serve_stream *st);

/* ---- serve_http.c */

/* An OpenAI-style error reply: {"error": {message, type, param, code}}. */
struct cJSON;
/* serve_chat.c: a chat request's prompt text (malloc'd) from its
 * "messages", "tools" (JSON text, or NULL), whether calls are asked for
 * (tools, and tool_choice not "none") and "chat_template_kwargs";
 * *special: whether its special tokens are parsed. NULL when the request
 * is bad (the 400 in out). */
char *serve_chat_prompt(const server *s, const struct cJSON *messages, const char *tools,
                        bool calls, const struct cJSON *kwargs, bool *special,
                        serve_reply *out);

/* The variables Firefunction v2's template wants, as llama.cpp gives them:
 * a date, and the tools (NULL: none) as JSON text ("" for none). */
struct cJSON *serve_format_context(const struct cJSON *tools);

/* serve_template.c: s->chat_jinja rendered as llama-server's minja renders
 * it. Probes what the template renders, into s->caps (at start). */
void serve_template_probe(server *s);
/* JSON text of v indented by 2, as Python's json.dumps(indent=2) and
 * nlohmann's dump(2) write it (malloc'd; NULL when out of memory). */
char *serve_json_indent2(const struct cJSON *v);
/* messages with system_prompt added as minja's add_system adds it (NULL
 * when out of memory). */
struct cJSON *serve_add_system(const struct cJSON *messages, const char *system_prompt);
/* Renders messages and tools (NULL or null: none; else the template's
 * "tools") with extra's members in the context; with polyfills, the
 * messages rewritten for what s->caps says the template cannot render.
 * *out malloc'd; HEED_ERR_FORMAT for a template or message that fails
 * (the message: cli_error_message). */
heed_status serve_template_apply(const server *s, const struct cJSON *messages,
                                 const struct cJSON *tools, const struct cJSON *extra,
                                 bool add_generation_prompt, bool polyfills, char **out);

void serve_error(serve_reply *out, int status, const char *type, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Serves until *stop is set; then ends the generations under way, sends
 * their replies, and returns. */
heed_status serve_run(server *s, const char *host, int port, const atomic_int *stop);

#endif
