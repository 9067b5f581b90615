/*
 * serve_api.c — the endpoints of `heed serve` (see serve.h), in OpenAI's
 * shapes: /v1/completions, /v1/chat/completions (both streamed as
 * server-sent events with "stream": true), /v1/embeddings, /v1/models,
 * heed's /v1/attention, and llama.cpp's /tokenize, /detokenize, /health.
 *
 * On an encoder-decoder (t5) the prompt is the source, the completion the
 * target its decoder generates, and /v1/attention takes a target too.
 *
 * Requests are checked the way OpenAI's API checks them: a field of the
 * wrong type, out of range or unknown is a 400 naming it.
 *
 * "response_format" (OpenAI's json_object and json_schema) and "grammar"
 * (llama.cpp's GBNF text) constrain the output with a heed_grammar.
 *
 * heed's own request fields change the forward pass for that request only:
 * "control_vectors" (the vectors loaded at start, by name, with scales),
 * "control_vector_layer_range" and "ablate_heads" (heads zeroed).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_error.h"
#include "serve.h"

/* ----------------------------------------------------------- helpers */

static void reply_json(serve_reply *out, int status, cJSON *root)
{
    *out = (serve_reply){.status = status, .body = cJSON_PrintUnformatted(root),
                         .content_type = "application/json"};
    cJSON_Delete(root);
}

static void bad(serve_reply *out, const char *fmt, const char *arg)
{
    serve_error(out, 400, "invalid_request_error", NULL, fmt, arg);
}

static char *utf8_string(const char *s, size_t len)
{
    char *buf = malloc(3 * len + 1);
    if (buf)
        buf[cli_utf8_append(buf, 0, s, len)] = 0;
    return buf;
}

/* The text of token id, as valid UTF-8 (partial characters become U+FFFD);
 * a control token's is its stored text, as llama-server shows it in
 * log-probabilities and pieces. */
static char *piece_text(const server *s, int32_t id)
{
    size_t len;
    const char *p = heed_token_to_piece(s->vocab, id, true, &len);
    return p ? utf8_string(p, len) : utf8_string("", 0);
}

/* Each field of obj must be one of the names (NULL-terminated list). */
static bool known_fields(const cJSON *obj, const char *const *names, serve_reply *out)
{
    for (const cJSON *f = obj->child; f; f = f->next) {
        bool ok = false;
        for (int i = 0; names[i] && !ok; i++)
            ok = !strcmp(f->string, names[i]);
        if (!ok) {
            bad(out, "Unrecognized request argument supplied: %s", f->string);
            return false;
        }
    }
    return true;
}

/* A number field within [lo, hi]; absent or null keeps *v. */
static bool number(const cJSON *obj, const char *name, double lo, double hi, double *v,
                   serve_reply *out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!f || cJSON_IsNull(f))
        return true;
    if (!cJSON_IsNumber(f) || !(f->valuedouble >= lo && f->valuedouble <= hi)) {
        char msg[160];
        snprintf(msg, sizeof msg, "'%%s' must be a number in [%g, %g]", lo, hi);
        bad(out, msg, name);
        return false;
    }
    *v = f->valuedouble;
    return true;
}

static bool integer(const cJSON *obj, const char *name, double lo, double hi, int *v,
                    serve_reply *out)
{
    double d = *v;
    if (!number(obj, name, lo, hi, &d, out))
        return false;
    if (d != floor(d)) {
        bad(out, "'%s' must be an integer", name);
        return false;
    }
    *v = (int)d;
    return true;
}

static bool boolean(const cJSON *obj, const char *name, bool *v, serve_reply *out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!f || cJSON_IsNull(f))
        return true;
    if (!cJSON_IsBool(f)) {
        bad(out, "'%s' must be a boolean", name);
        return false;
    }
    *v = cJSON_IsTrue(f);
    return true;
}

/* Parses the body as one JSON object. */
static cJSON *parse_object(const serve_request *r, serve_reply *out)
{
    cJSON *root = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        serve_error(out, 400, "invalid_request_error", NULL,
                    "The body must be a JSON object (%s)", r->body ? "malformed" : "empty");
        return NULL;
    }
    return root;
}

static atomic_ulong next_id;

/* ------------------------------------------------------ interventions */

/* The JSON of a value, cut to fit an error message. */
static void json_snippet(const cJSON *v, char *buf, size_t cap)
{
    char *j = cJSON_PrintUnformatted(v);
    snprintf(buf, cap, "%.60s%s", j ? j : "?", j && strlen(j) > 60 ? "..." : "");
    free(j);
}

static void interventions_free(serve_interventions *iv)
{
    free(iv->owned);
    free(iv->heads);
    *iv = (serve_interventions){0};
}

/* "control_vectors": [{"name": NAME, "scale": S}, ...] — the named vectors
 * loaded at start, summed at these scales (scale defaults to 1; 0 adds
 * nothing); absent or null: the start-up vectors at their start-up
 * scales; []: none. */
static bool read_control_vectors(const server *s, const cJSON *root, serve_interventions *iv,
                                 serve_reply *out)
{
    iv->steering = s->steer_default;
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(root, "control_vectors");
    if (!cv || cJSON_IsNull(cv))
        return true;
    iv->steering = NULL;
    if (!cJSON_IsArray(cv) || cJSON_GetArraySize(cv) > 256) {
        bad(out, "'%s' must be an array of up to 256 {\"name\": NAME, \"scale\": NUMBER} objects",
            "control_vectors");
        return false;
    }
    const size_t count = (size_t)heed_model_n_layer(s->model) * (size_t)heed_model_n_embd(s->model);
    for (const cJSON *e = cv->child; e; e = e->next) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        char what[96];
        json_snippet(e, what, sizeof what);
        if (!cJSON_IsObject(e) || !cJSON_IsString(name)) {
            serve_error(out, 400, "invalid_request_error", NULL,
                        "'control_vectors' has %s: each must be {\"name\": NAME, \"scale\": "
                        "NUMBER}", what);
            return false;
        }
        for (const cJSON *f = e->child; f; f = f->next)
            if (strcmp(f->string, "name") && strcmp(f->string, "scale")) {
                serve_error(out, 400, "invalid_request_error", NULL,
                            "'control_vectors' has %s: unknown field '%.40s' (each is "
                            "{\"name\": NAME, \"scale\": NUMBER})", what, f->string);
                return false;
            }
        double scale = 1;
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(e, "scale");
        if (sc && !cJSON_IsNull(sc) &&
            (!cJSON_IsNumber(sc) || !(sc->valuedouble >= -1e6 && sc->valuedouble <= 1e6))) {
            serve_error(out, 400, "invalid_request_error", NULL,
                        "'control_vectors' has %s: 'scale' must be a number in [-1e6, 1e6]",
                        what);
            return false;
        }
        if (sc && cJSON_IsNumber(sc))
            scale = sc->valuedouble;
        const serve_cvec *v = NULL;
        for (int i = 0; i < s->n_cvecs && !v; i++)
            if (!strcmp(s->cvecs[i].name, name->valuestring))
                v = &s->cvecs[i];
        if (!v) {
            char names[256] = "";
            size_t at = 0;
            for (int i = 0; i < s->n_cvecs && at < sizeof names; i++)
                at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", i ? ", " : "",
                                       s->cvecs[i].name);
            if (s->n_cvecs)
                serve_error(out, 400, "invalid_request_error", "unknown_control_vector",
                            "'control_vectors' names '%.80s', which is not loaded (loaded: %s)",
                            name->valuestring, names);
            else
                serve_error(out, 400, "invalid_request_error", "unknown_control_vector",
                            "'control_vectors' names '%.80s', but the server loaded none (start "
                            "heed serve with --control-vector FILE)", name->valuestring);
            return false;
        }
        if ((float)scale == 0)
            continue;
        if (!iv->owned && !(iv->owned = calloc(count, sizeof *iv->owned))) {
            serve_error(out, 500, "server_error", NULL, "out of memory");
            return false;
        }
        for (size_t j = 0; j < count; j++)
            iv->owned[j] += v->dir[j] * (float)scale;
    }
    iv->steering = iv->owned;
    return true;
}

/* "control_vector_layer_range": [START, END] — the blocks steered. */
static bool read_layer_range(const server *s, const cJSON *root, serve_interventions *iv,
                             serve_reply *out)
{
    iv->steer_first = s->steer_first;
    iv->steer_last = s->steer_last;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "control_vector_layer_range");
    if (!r || cJSON_IsNull(r))
        return true;
    const int L = heed_model_n_layer(s->model);
    const cJSON *a = cJSON_IsArray(r) ? cJSON_GetArrayItem(r, 0) : NULL;
    const cJSON *b = a ? a->next : NULL;
    if (!b || b->next || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
        a->valuedouble != floor(a->valuedouble) || b->valuedouble != floor(b->valuedouble) ||
        !(a->valuedouble >= 0 && a->valuedouble <= b->valuedouble && b->valuedouble <= L)) {
        char what[96];
        json_snippet(r, what, sizeof what);
        serve_error(out, 400, "invalid_request_error", NULL,
                    "'control_vector_layer_range' is %s: it must be [START, END], integers with "
                    "0 <= START <= END <= %d", what, L);
        return false;
    }
    iv->steer_first = (int)a->valuedouble;
    iv->steer_last = (int)b->valuedouble;
    return true;
}

/* One head of "ablate_heads": "LAYER.HEAD" or [LAYER, HEAD]; false when
 * it is neither. */
static bool head_of(const cJSON *e, long *layer, long *head)
{
    if (cJSON_IsString(e)) {
        const char *p = e->valuestring;
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        *layer = strtol(p, &end, 10);
        if (*end != '.' || end[1] < '0' || end[1] > '9')
            return false;
        *head = strtol(end + 1, &end, 10);
        return !*end;
    }
    const cJSON *a = cJSON_IsArray(e) ? cJSON_GetArrayItem(e, 0) : NULL;
    const cJSON *b = a ? a->next : NULL;
    if (!b || b->next || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
        a->valuedouble != floor(a->valuedouble) || b->valuedouble != floor(b->valuedouble) ||
        fabs(a->valuedouble) > 1e9 || fabs(b->valuedouble) > 1e9)
        return false;
    *layer = (long)a->valuedouble;
    *head = (long)b->valuedouble;
    return true;
}

/* "ablate_heads": ["3.1", [4, 0], ...] — heads whose output is zeroed. */
static bool read_ablate_heads(const server *s, const cJSON *root, serve_interventions *iv,
                              serve_reply *out)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "ablate_heads");
    if (!h || cJSON_IsNull(h))
        return true;
    const int L = heed_model_n_layer(s->model), H = heed_model_n_head(s->model);
    const int n = cJSON_IsArray(h) ? cJSON_GetArraySize(h) : -1;
    if (n < 0 || n > 65536) {
        bad(out, "'%s' must be an array of heads, each \"LAYER.HEAD\" or [LAYER, HEAD]",
            "ablate_heads");
        return false;
    }
    if (n && !(iv->heads = malloc(sizeof *iv->heads * (size_t)n))) {
        serve_error(out, 500, "server_error", NULL, "out of memory");
        return false;
    }
    for (const cJSON *e = h->child; e; e = e->next) {
        long layer, head;
        char what[96];
        json_snippet(e, what, sizeof what);
        if (!head_of(e, &layer, &head)) {
            serve_error(out, 400, "invalid_request_error", NULL,
                        "'ablate_heads' has %s, which is not a head: write \"LAYER.HEAD\" or "
                        "[LAYER, HEAD]", what);
            return false;
        }
        if (layer < 0 || layer >= L || head < 0 || head >= H) {
            serve_error(out, 400, "invalid_request_error", NULL,
                        "'ablate_heads' has %s, which is out of range: the model has layers 0 "
                        "to %d, each of heads 0 to %d", what, L - 1, H - 1);
            return false;
        }
        iv->heads[iv->n_heads][0] = (int)layer;
        iv->heads[iv->n_heads][1] = (int)head;
        iv->n_heads++;
    }
    return true;
}

/* The request's interventions: steering by control vectors, head ablation. */
static bool read_interventions(const server *s, const cJSON *root, serve_interventions *iv,
                               serve_reply *out)
{
    return read_control_vectors(s, root, iv, out) && read_layer_range(s, root, iv, out) &&
           read_ablate_heads(s, root, iv, out);
}

/* Takes effect on the slot now; a failure is the 400 the library's
 * message explains, the slot given back. */
static bool intervene(server *s, serve_slot *slot, const serve_interventions *iv,
                      serve_reply *out)
{
    if (!serve_slot_intervene(slot, iv))
        return true;
    serve_error(out, 400, "invalid_request_error", NULL, "%s", cli_error_message());
    serve_slot_give(s, slot);
    return false;
}

/* Memory each attention capture may take. */
#define CAPTURE_BYTES ((int64_t)256 << 20)

/* ------------------------------------------------- generation requests */

typedef enum { KIND_COMPLETION, KIND_CHAT } kind_t;

/* What a completion or chat request asks for, checked. */
typedef struct gen_request {
    kind_t kind;
    int32_t *prompt;
    int n_prompt;
    serve_gen_params gp;
    char *stops[4];
    bool stream, include_usage;
    int n;                 /* choices */
    heed_capture_params attention; /* "heed": {"attention": ...} (top_k 0: not asked) */
    int *layers, *heads;   /* its lists (NULL: all)                          */
    char *chat_text;       /* a chat's rendered prompt                        */
    char *tools;           /* "tools" (a JSON array), or NULL                 */
    char *tool_choice;     /* "tool_choice" as JSON text ("auto" by default)  */
    bool parallel;         /* "parallel_tool_calls"                           */
    char reasoning[16];    /* "reasoning_format": auto, deepseek, none        */
    char *echo;            /* the prompt, to begin each choice's text ("echo"), or NULL */
    serve_interventions iv;
    heed_grammar *grammar;
} gen_request;

static void gen_request_free(gen_request *g)
{
    free(g->prompt);
    free(g->echo);
    free(g->layers);
    free(g->heads);
    free(g->chat_text);
    free(g->tools);
    free(g->tool_choice);
    heed_grammar_free(g->grammar);
    free(g->gp.logit_bias);
    interventions_free(&g->iv);
    for (int i = 0; i < g->gp.n_stops; i++)
        free(g->stops[i]);
}

static bool tokenize(const server *s, const char *text, bool special, gen_request *g,
                     serve_reply *out)
{
    size_t n = 0;
    if (heed_tokenize(s->vocab, text, strlen(text), true, special, &g->prompt, &n) || !n) {
        serve_error(out, 400, "invalid_request_error", NULL, "The prompt gives no tokens");
        return false;
    }
    g->n_prompt = (int)n;
    return true;
}

/* "tools" (function tools), "tool_choice" ("none", "auto", "required" or
 * a function by name), "parallel_tool_calls" and "reasoning_format". */
static bool read_tools(const cJSON *root, gen_request *g, serve_reply *out)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(root, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(root, "tool_choice");
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "reasoning_format");
    g->parallel = false;
    if (!boolean(root, "parallel_tool_calls", &g->parallel, out))
        return false;
    snprintf(g->reasoning, sizeof g->reasoning, "auto");
    if (rf && !cJSON_IsNull(rf)) {
        if (!cJSON_IsString(rf) || (strcmp(rf->valuestring, "auto") &&
                                    strcmp(rf->valuestring, "deepseek") &&
                                    strcmp(rf->valuestring, "none"))) {
            bad(out, "'%s' must be \"auto\", \"deepseek\" or \"none\"", "reasoning_format");
            return false;
        }
        snprintf(g->reasoning, sizeof g->reasoning, "%s", rf->valuestring);
    }
    if (tools && !cJSON_IsNull(tools)) {
        const cJSON *t;
        bool ok = cJSON_IsArray(tools) && cJSON_GetArraySize(tools) > 0;
        cJSON_ArrayForEach(t, tools) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
            ok = ok && cJSON_IsString(type) && !strcmp(type->valuestring, "function") &&
                 cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fn, "name"));
        }
        if (!ok) {
            bad(out, "'%s' must be a non-empty array of {\"type\": \"function\", "
                "\"function\": {\"name\": ..., \"parameters\": ...}}", "tools");
            return false;
        }
        /* as llama-server passes them on: each {type, function: {name,
         * description, parameters}}, nothing else */
        cJSON *list = cJSON_CreateArray();
        cJSON_ArrayForEach(t, tools) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            cJSON *tool = cJSON_CreateObject();
            cJSON_AddItemToArray(list, tool);
            cJSON_AddStringToObject(tool, "type", "function");
            cJSON *f = cJSON_AddObjectToObject(tool, "function");
            static const char *const keys[] = {"name", "description", "parameters"};
            for (int k = 0; k < 3; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(fn, keys[k]);
                if (v && f)
                    cJSON_AddItemToObject(f, keys[k], cJSON_Duplicate(v, true));
            }
        }
        g->tools = cJSON_PrintUnformatted(list);
        cJSON_Delete(list);
        if (!g->tools) {
            serve_error(out, 500, "server_error", NULL, "out of memory");
            return false;
        }
    }
    if (choice && !cJSON_IsNull(choice)) {
        const bool word = cJSON_IsString(choice) && (!strcmp(choice->valuestring, "none") ||
                                                      !strcmp(choice->valuestring, "auto") ||
                                                      !strcmp(choice->valuestring, "required"));
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(choice, "function");
        if (!word && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fn, "name"))) {
            bad(out, "'%s' must be \"none\", \"auto\", \"required\" or {\"type\": "
                "\"function\", \"function\": {\"name\": NAME}}", "tool_choice");
            return false;
        }
        if (!g->tools && !(word && !strcmp(choice->valuestring, "none"))) {
            bad(out, "'%s' needs 'tools'", "tool_choice");
            return false;
        }
        g->tool_choice = cJSON_PrintUnformatted(choice);
    }
    return true;
}

/* Whether the request's output is searched for tool calls. */
static bool wants_tools(const gen_request *g)
{
    return g->tools && !(g->tool_choice && !strcmp(g->tool_choice, "\"none\""));
}

/* How a chat's output is read: its template's format, the reasoning. */
static heed_chat_parse_params parse_params(const server *s, const gen_request *g)
{
    return (heed_chat_parse_params){.format = s->chat_format, .reasoning_format = g->reasoning,
                                    .tool_calls = wants_tools(g), .tools = g->tools,
                                    .prompt = g->chat_text};
}

/* The request's messages and tools rendered as serve_chat.c says, into
 * g->chat_text; *special: whether its control tokens are to be parsed. */
static bool render_chat(const server *s, const cJSON *root, gen_request *g, bool *special,
                        serve_reply *out)
{
    if (!read_tools(root, g, out))
        return false;
    g->chat_text = serve_chat_prompt(s, cJSON_GetObjectItemCaseSensitive(root, "messages"),
                                     g->tools, wants_tools(g),
                                     cJSON_GetObjectItemCaseSensitive(root, "chat_template_kwargs"),
                                     special, out);
    return g->chat_text != NULL;
}

/* The chat messages rendered as serve_chat.c says, then tokenized; with
 * tools, the grammar that makes the model write its calls as its template
 * does (tool_choice "auto": text, or calls). */
static bool chat_prompt(const server *s, const cJSON *root, gen_request *g, serve_reply *out)
{
    bool special;
    if (!render_chat(s, root, g, &special, out) || !tokenize(s, g->chat_text, special, g, out))
        return false;
    g->gp.preserved = s->chat_markers;
    g->gp.n_preserved = s->n_chat_markers;
    if (!wants_tools(g))
        return true;
    if (g->grammar) {
        bad(out, "'%s' and 'response_format' or 'grammar' cannot both be given", "tools");
        return false;
    }
    char *gbnf = NULL;
    heed_status st = heed_chat_tool_grammar(s->chat_format, g->tools,
                                            g->tool_choice ? g->tool_choice : "\"auto\"",
                                            g->parallel, g->chat_text, &gbnf);
    if (!st && gbnf)
        st = heed_grammar_new(s->vocab, gbnf, "root", &g->grammar);
    free(gbnf);
    if (st)
        serve_error(out, st == HEED_ERR_NOMEM ? 500 : 400, "invalid_request_error", NULL,
                    "'tools': %s", heed_last_error());
    return !st;
}

static bool read_stops(const cJSON *root, gen_request *g, serve_reply *out)
{
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (!stop || cJSON_IsNull(stop))
        return true;
    const cJSON *one = cJSON_IsString(stop) ? stop : NULL;
    const int n = one ? 1 : cJSON_IsArray(stop) ? cJSON_GetArraySize(stop) : -1;
    if (n < 0 || n > 4) {
        bad(out, "'%s' must be a string or an array of up to 4 strings", "stop");
        return false;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *e = one ? one : cJSON_GetArrayItem(stop, i);
        if (!cJSON_IsString(e) || !e->valuestring[0] || strlen(e->valuestring) > 256) {
            bad(out, "'%s' must hold non-empty strings of up to 256 bytes", "stop");
            return false;
        }
        g->stops[g->gp.n_stops++] = strdup(e->valuestring);
    }
    g->gp.stops = g->stops;
    return true;
}

/* "logit_bias": OpenAI's {"TOKEN_ID": bias, ...}, or llama.cpp's
 * [[TOKEN_ID, bias], ...]; a bias of false bans the token (llama.cpp's). */
static bool read_logit_bias(const server *s, const cJSON *root, gen_request *g, serve_reply *out)
{
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(root, "logit_bias");
    if (!lb || cJSON_IsNull(lb))
        return true;
    if (!cJSON_IsObject(lb) && !cJSON_IsArray(lb)) {
        bad(out, "'%s' must be an object of token ids to biases", "logit_bias");
        return false;
    }
    const int n = cJSON_GetArraySize(lb), V = heed_model_n_vocab(s->model);
    if (n > HEED_GEN_MAX_BIAS) {
        serve_error(out, 400, "invalid_request_error", NULL,
                    "'logit_bias' has %d entries; at most %d", n, HEED_GEN_MAX_BIAS);
        return false;
    }
    g->gp.logit_bias = calloc((size_t)(n ? n : 1), sizeof *g->gp.logit_bias);
    if (!g->gp.logit_bias) {
        serve_error(out, 500, "server_error", "out_of_memory", "Out of memory");
        return false;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, lb) {
        const cJSON *id = e, *b = e;
        if (cJSON_IsArray(lb)) {
            id = cJSON_GetArrayItem(e, 0);
            b = cJSON_GetArrayItem(e, 1);
        }
        char *end = NULL;
        const long t = cJSON_IsArray(lb) ? (cJSON_IsNumber(id) ? (long)id->valuedouble : -1)
                                         : strtol(e->string, &end, 10);
        const bool id_ok = cJSON_IsArray(lb) ? cJSON_IsNumber(id) && id->valuedouble == (double)t
                                             : end != e->string && !*end;
        if (!id_ok || t < 0 || t >= V || !(cJSON_IsNumber(b) || cJSON_IsFalse(b)) ||
            (cJSON_IsArray(lb) && cJSON_GetArraySize(e) != 2)) {
            serve_error(out, 400, "invalid_request_error", NULL,
                        "'logit_bias' wants token ids 0..%d mapped to numbers (or false, to ban "
                        "one); got '%.40s'", V - 1, cJSON_IsArray(lb) ? "an entry" : e->string);
            return false;
        }
        heed_logit_bias *lbias = &g->gp.logit_bias[g->gp.n_logit_bias++];
        lbias->token = (int32_t)t;
        lbias->bias = cJSON_IsFalse(b) ? -INFINITY : (float)b->valuedouble;
    }
    return true;
}

/* "response_format": {"type": "text" | "json_object" | "json_schema",
 * "json_schema": {"name", "schema", "strict", "description"}} (OpenAI's),
 * or "grammar": GBNF text (llama.cpp's), into g->grammar. */
static bool read_grammar(const server *s, const cJSON *root, gen_request *g, serve_reply *out)
{
    static const char *const format_fields[] = {"type", "json_schema", NULL};
    static const char *const schema_fields[] = {"name", "schema", "strict", "description", NULL};
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    const cJSON *gbnf = cJSON_GetObjectItemCaseSensitive(root, "grammar");
    rf = cJSON_IsNull(rf) ? NULL : rf;
    gbnf = cJSON_IsNull(gbnf) ? NULL : gbnf;
    if (rf && gbnf) {
        bad(out, "'%s' and 'grammar' cannot both be given", "response_format");
        return false;
    }
    heed_status st = HEED_OK;
    if (gbnf && !cJSON_IsString(gbnf)) {
        bad(out, "'%s' must be a string (GBNF)", "grammar");
        return false;
    } else if (gbnf) {
        st = heed_grammar_new(s->vocab, gbnf->valuestring, "root", &g->grammar);
    } else if (rf) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(rf, "type");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
        if (!cJSON_IsObject(rf) || !cJSON_IsString(type)) {
            bad(out, "'%s' must be an object with a string 'type'", "response_format");
            return false;
        }
        if (!known_fields(rf, format_fields, out))
            return false;
        if (!strcmp(type->valuestring, "json_object")) {
            st = heed_grammar_from_json_schema(s->vocab, "{\"type\": \"object\"}", &g->grammar);
        } else if (!strcmp(type->valuestring, "json_schema")) {
            const cJSON *schema = cJSON_GetObjectItemCaseSensitive(js, "schema");
            if (!cJSON_IsObject(js) ||
                (schema && !cJSON_IsObject(schema) && !cJSON_IsBool(schema))) {
                bad(out, "'%s' wants {\"type\": \"json_schema\", \"json_schema\": {\"name\": "
                    "NAME, \"schema\": SCHEMA}}", "response_format");
                return false;
            }
            if (!known_fields(js, schema_fields, out))
                return false;
            char *text = schema ? cJSON_PrintUnformatted(schema) : strdup("{}");
            st = text ? heed_grammar_from_json_schema(s->vocab, text, &g->grammar)
                      : cli_set_error(HEED_ERR_NOMEM, "out of memory");
            free(text);
        } else if (strcmp(type->valuestring, "text")) {
            bad(out, "'%s' type must be 'text', 'json_object' or 'json_schema'",
                "response_format");
            return false;
        }
    }
    if (st == HEED_ERR_NOMEM)
        serve_error(out, 500, "server_error", NULL, "%s", cli_error_message());
    else if (st)
        serve_error(out, 400, "invalid_request_error", NULL, "%s: %s",
                    gbnf ? "'grammar'" : "'response_format'", cli_error_message());
    return !st;
}

/* A list of distinct indices below limit, of at most limit entries:
 * *list malloc'd, *n of them; absent or null: NULL (all). */
static bool index_list(const cJSON *obj, const char *name, int limit, int **list, int *n,
                       serve_reply *out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);
    *list = NULL;
    *n = 0;
    if (!a || cJSON_IsNull(a))
        return true;
    const int count = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (count < 1 || count > limit || !(*list = calloc((size_t)count, sizeof **list))) {
        serve_error(out, 400, "invalid_request_error", NULL, "'heed.attention.%s' must be an "
                    "array of 1 to %d indices (0 to %d)", name, limit, limit - 1);
        return false;
    }
    for (const cJSON *e = a->child; e; e = e->next) {
        const double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        bool seen = false;
        for (int i = 0; i < *n; i++)
            seen |= (*list)[i] == (int)v;
        if (v != floor(v) || v < 0 || v >= limit || seen) {
            serve_error(out, 400, "invalid_request_error", NULL, "'heed.attention.%s' must "
                        "hold distinct integers from 0 to %d", name, limit - 1);
            return false;
        }
        (*list)[(*n)++] = (int)v;
    }
    return true;
}

/* heed's "heed": {"attention": {"top_k": K, "layers": [...], "heads": [...]}}:
 * each generated token's top K attended positions in those layers and
 * heads (default 5, every layer and head). */
static bool read_attention(const server *s, const cJSON *root, gen_request *g,
                           serve_reply *out)
{
    static const char *const heed_fields[] = {"attention", NULL};
    static const char *const fields[] = {"top_k", "layers", "heads", NULL};
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "heed");
    if (!h || cJSON_IsNull(h))
        return true;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(h, "attention");
    if (!cJSON_IsObject(h) || !cJSON_IsObject(a)) {
        bad(out, "'%s' must be an object: {\"attention\": {\"top_k\": K, \"layers\": "
            "[...], \"heads\": [...]}}", "heed");
        return false;
    }
    if (!known_fields(h, heed_fields, out))
        return false;
    if (heed_model_decoder_start(s->model) >= 0) {
        bad(out, "'%s' is a decoder-only model's: an encoder-decoder's three attentions are "
            "at /v1/attention", "heed.attention");
        return false;
    }
    int top_k = 5;
    if (!known_fields(a, fields, out) || !integer(a, "top_k", 1, 32, &top_k, out) ||
        !index_list(a, "layers", heed_model_n_layer(s->model), &g->layers,
                    &g->attention.n_layers, out) ||
        !index_list(a, "heads", heed_model_n_head(s->model), &g->heads, &g->attention.n_heads,
                    out))
        return false;
    g->attention.top_k = top_k;
    g->attention.layers = g->layers;
    g->attention.heads = g->heads;
    g->attention.max_bytes = CAPTURE_BYTES;
    return true;
}

static bool parse_gen(const server *s, const serve_request *r, kind_t kind, gen_request *g,
                      serve_reply *out)
{
    static const char *const completion_fields[] = {
        "model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p", "n", "stream",
        "stream_options", "logprobs", "stop", "presence_penalty", "frequency_penalty",
        "repeat_penalty", "seed", "user", "echo", "best_of", "lookup", "control_vectors",
        "control_vector_layer_range", "ablate_heads", "logit_bias", "cache_prompt", "ignore_eos",
        "response_format", "grammar", "heed", NULL};
    static const char *const chat_fields[] = {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
        "top_k", "min_p", "n", "stream", "stream_options", "logprobs", "top_logprobs", "stop",
        "presence_penalty", "frequency_penalty", "repeat_penalty", "seed", "user", "lookup",
        "control_vectors", "control_vector_layer_range", "ablate_heads", "logit_bias",
        "cache_prompt", "ignore_eos", "response_format", "grammar", "chat_template_kwargs", "heed",
        "tools", "tool_choice", "parallel_tool_calls", "reasoning_format",
        NULL};
    *g = (gen_request){.kind = kind, .gp.cache_prompt = true};
    cJSON *root = parse_object(r, out);
    if (!root)
        return false;
    bool ok = known_fields(root, kind == KIND_CHAT ? chat_fields : completion_fields, out);
    heed_sampler_params sp = heed_sampler_default_params();
    sp.repeat_last_n = 64;
    double temp = 1.0, top_p = 1.0, min_p = 0.0, pres = 0, freq = 0, rep = 1;
    int top_k = 0, n = 1, seed = -1, max_tokens = kind == KIND_CHAT ? s->max_tokens : 16;
    int logprobs = -1, top_logprobs = 0, lookup = 0;
    bool want_logprobs = false, echo = false;
    ok = ok && number(root, "temperature", 0, 2, &temp, out) &&
         number(root, "top_p", 0, 1, &top_p, out) && number(root, "min_p", 0, 1, &min_p, out) &&
         integer(root, "top_k", 0, 1 << 20, &top_k, out) &&
         number(root, "presence_penalty", -2, 2, &pres, out) &&
         number(root, "frequency_penalty", -2, 2, &freq, out) &&
         number(root, "repeat_penalty", 0.01, 10, &rep, out) &&
         integer(root, "n", 1, s->n_slots < SERVE_MAX_CHOICES ? s->n_slots : SERVE_MAX_CHOICES,
                 &n, out) &&
         integer(root, "seed", -1, 2147483647, &seed, out) &&
         integer(root, "lookup", 0, 64, &lookup, out) &&
         (kind == KIND_CHAT || boolean(root, "echo", &echo, out)) &&
         integer(root, "max_tokens", !echo, s->max_tokens, &max_tokens, out) &&
         integer(root, "max_completion_tokens", 1, s->max_tokens, &max_tokens, out) &&
         boolean(root, "stream", &g->stream, out) && read_stops(root, g, out) &&
         read_interventions(s, root, &g->iv, out) && read_logit_bias(s, root, g, out) &&
         boolean(root, "cache_prompt", &g->gp.cache_prompt, out) &&
         boolean(root, "ignore_eos", &g->gp.ignore_eos, out) && read_grammar(s, root, g, out) &&
         read_attention(s, root, g, out);
    if (ok && kind == KIND_COMPLETION) {
        ok = integer(root, "logprobs", 0, 20, &logprobs, out);
    } else if (ok) {
        ok = boolean(root, "logprobs", &want_logprobs, out) &&
             integer(root, "top_logprobs", 0, 20, &top_logprobs, out);
        logprobs = want_logprobs ? top_logprobs : -1;
    }
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (ok && so && !cJSON_IsNull(so) && !cJSON_IsObject(so)) {
        bad(out, "'%s' must be an object", "stream_options");
        ok = false;
    } else if (ok && so && !cJSON_IsNull(so))
        ok = boolean(so, "include_usage", &g->include_usage, out);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (ok && model && !cJSON_IsString(model)) {
        bad(out, "'%s' must be a string", "model");
        ok = false;
    }
    if (ok && kind == KIND_CHAT) {
        ok = chat_prompt(s, root, g, out);
    } else if (ok) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 &&
            cJSON_IsString(cJSON_GetArrayItem(p, 0)))
            p = cJSON_GetArrayItem(p, 0);
        if (!cJSON_IsString(p)) {
            bad(out, "'%s' must be a string (or an array of one string)", "prompt");
            ok = false;
        } else if ((ok = tokenize(s, p->valuestring, false, g, out)) && echo &&
                   !(g->echo = strdup(p->valuestring))) {
            serve_error(out, 500, "server_error", NULL, "out of memory");
            ok = false;
        }
    }
    cJSON_Delete(root);
    if (!ok)
        return false;
    /* a decoder's prompt leaves room for a token; an encoder-decoder's
     * source is encoded apart, up to the context */
    const bool enc_dec = heed_model_decoder_start(s->model) >= 0;
    if (g->n_prompt >= s->n_ctx + enc_dec) {
        serve_error(out, 400, "invalid_request_error", "context_length_exceeded",
                    "This model's maximum context length is %d tokens. However, your %s "
                    "resulted in %d tokens. Please reduce the length of the %s (or start "
                    "heed serve with a larger -c).", s->n_ctx,
                    kind == KIND_CHAT ? "messages" : "prompt", g->n_prompt,
                    kind == KIND_CHAT ? "messages" : "prompt");
        return false;
    }
    sp.temp = (float)temp;
    sp.top_p = (float)top_p;
    sp.top_k = top_k;
    sp.min_p = (float)min_p;
    sp.presence_penalty = (float)pres;
    sp.frequency_penalty = (float)freq;
    sp.repeat_penalty = (float)rep;
    if (seed >= 0)
        sp.seed = (uint64_t)seed;
    g->gp.sp = sp;
    g->gp.max_tokens = max_tokens;
    g->gp.top_logprobs = logprobs;
    g->gp.lookup = lookup;
    g->gp.grammar = g->grammar;
    g->gp.attention = g->attention.top_k ? &g->attention : NULL;
    g->n = n;
    return true;
}

/* The logprobs of one token, in the request kind's shape (n_top < 0: a first
 * prompt token's, which has none). */
static void add_logprobs(const server *s, kind_t kind, cJSON *lp, const heed_gen_token *t,
                         size_t offset)
{
    if (kind == KIND_COMPLETION) {
        char *text = piece_text(s, t->id);
        cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "tokens"), cJSON_CreateString(text));
        free(text);
        cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "token_logprobs"),
                             t->n_top < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(t->logprob));
        cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "text_offset"),
                             cJSON_CreateNumber((double)offset));
        cJSON *top = t->n_top < 0 ? cJSON_CreateNull() : cJSON_CreateObject();
        for (int k = 0; k < t->n_top; k++) {
            char *pt = piece_text(s, t->top_ids[k]);
            if (!cJSON_GetObjectItemCaseSensitive(top, pt))
                cJSON_AddNumberToObject(top, pt, t->top_logprobs[k]);
            free(pt);
        }
        cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "top_logprobs"), top);
    } else {
        cJSON *e = cJSON_CreateObject(), *top = cJSON_CreateArray();
        for (int k = -1; k < t->n_top; k++) {
            const int32_t id = k < 0 ? t->id : t->top_ids[k];
            size_t len;
            const char *raw = heed_token_to_piece(s->vocab, id, false, &len);
            cJSON *item = k < 0 ? e : cJSON_CreateObject(), *bytes = cJSON_CreateArray();
            char *pt = piece_text(s, id);
            cJSON_AddStringToObject(item, "token", pt);
            cJSON_AddNumberToObject(item, "logprob", k < 0 ? t->logprob : t->top_logprobs[k]);
            for (size_t b = 0; raw && b < len; b++)
                cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)raw[b]));
            cJSON_AddItemToObject(item, "bytes", bytes);
            if (k >= 0)
                cJSON_AddItemToArray(top, item);
            free(pt);
        }
        cJSON_AddItemToObject(e, "top_logprobs", top);
        cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "content"), e);
    }
}

static cJSON *new_logprobs(kind_t kind)
{
    cJSON *lp = cJSON_CreateObject();
    if (kind == KIND_COMPLETION) {
        cJSON_AddArrayToObject(lp, "tokens");
        cJSON_AddArrayToObject(lp, "token_logprobs");
        cJSON_AddArrayToObject(lp, "top_logprobs");
        cJSON_AddArrayToObject(lp, "text_offset");
    } else
        cJSON_AddArrayToObject(lp, "content");
    return lp;
}

static cJSON *usage(int n_prompt, int n_gen, int n_cached)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", n_prompt + n_gen);
    cJSON *details = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(details, "cached_tokens", n_cached);
    return u;
}

/* The envelope every completion / chat object shares. */
static cJSON *envelope(const server *s, kind_t kind, bool chunk, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", kind == KIND_COMPLETION ? "text_completion"
                                         : chunk ? "chat.completion.chunk" : "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)time(NULL));
    cJSON_AddStringToObject(o, "model", s->model_id);
    cJSON_AddStringToObject(o, "system_fingerprint", "heed");
    return o;
}

/* One choice: text (completion), message (chat) or delta (chat chunk). */
static cJSON *choice(kind_t kind, int index, bool chunk, const char *text, const char *finish,
                     cJSON *logprobs, bool role)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", index);
    if (kind == KIND_COMPLETION)
        cJSON_AddStringToObject(c, "text", text);
    else {
        cJSON *m = cJSON_AddObjectToObject(c, chunk ? "delta" : "message");
        if (role || !chunk)
            cJSON_AddStringToObject(m, "role", "assistant");
        if (text)
            cJSON_AddStringToObject(m, "content", text);
    }
    if (logprobs)
        cJSON_AddItemToObject(c, "logprobs", logprobs);
    else
        cJSON_AddNullToObject(c, "logprobs");
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    return c;
}

/* ------------------------------------------------------------ choices */

/* A request's choices as they run: each a generation on a slot of its own
 * (the first evaluates the prompt, the others copy its cache), and, with
 * "echo" and "logprobs", the prompt's log-probabilities every choice's
 * begin with. */
typedef struct choices {
    int n;
    serve_slot *slot[SERVE_MAX_CHOICES];
    serve_gen *gen[SERVE_MAX_CHOICES];
    cJSON *echo_logprobs;
} choices;

static void choices_end(server *s, choices *c)
{
    for (int i = 0; i < c->n; i++) {
        serve_gen_free(c->gen[i]);
        if (c->slot[i])
            serve_slot_give(s, c->slot[i]);
    }
    cJSON_Delete(c->echo_logprobs);
    *c = (choices){0};
}

/* Prompt rows a pass of prompt_logprobs takes (their logits held at once). */
enum { ECHO_ROWS = 16 };

/* "echo" with "logprobs": each prompt token's log-probability after those
 * before it (the first has none, as OpenAI's), from an evaluation of the
 * prompt on c, which leaves it in c's cache. */
static heed_status prompt_logprobs(const server *s, heed_context *c, const gen_request *g,
                                   cJSON **out)
{
    const int64_t V = heed_model_n_vocab(s->model);
    float *rows = malloc(sizeof *rows * (size_t)V * ECHO_ROWS);
    if (!rows)
        return cli_set_error(HEED_ERR_NOMEM, "out of memory");
    cJSON *lp = *out = new_logprobs(KIND_COMPLETION);
    heed_gen_token t = {.id = g->prompt[0], .n_top = -1}; /* the first: nothing before */
    add_logprobs(s, KIND_COMPLETION, lp, &t, 0);
    size_t offset = 0;
    heed_context_reset(c);
    heed_status st = HEED_OK;
    for (int at = 0; at < g->n_prompt && !st; at += ECHO_ROWS) {
        const int n = g->n_prompt - at < ECHO_ROWS ? g->n_prompt - at : ECHO_ROWS;
        st = heed_context_eval(c, g->prompt + at, n, rows, true);
        for (int p = at; !st && p < at + n && p + 1 < g->n_prompt; p++) {
            size_t len;
            heed_token_to_piece(s->vocab, g->prompt[p], false, &len);
            offset += len;
            const float *row = rows + (int64_t)(p - at) * V; /* what follows position p */
            const double lse = heed_log_sum_exp(row, V);
            t = (heed_gen_token){.id = g->prompt[p + 1]};
            t.logprob = (float)(row[t.id] - lse);
            t.n_top = heed_top_k(row, V, g->gp.top_logprobs, t.top_ids);
            for (int k = 0; k < t.n_top; k++)
                t.top_logprobs[k] = (float)(row[t.top_ids[k]] - lse);
            add_logprobs(s, KIND_COMPLETION, lp, &t, offset);
        }
    }
    free(rows);
    return st;
}

/* Takes the request's slots and starts its choices (choice i's seed is
 * the request's + i, so they differ); false: the error reply is made and
 * nothing is held. */
static bool start_choices(server *s, serve_request *r, gen_request *g, choices *c,
                          serve_reply *out)
{
    *c = (choices){0};
    if (serve_slot_take(s, r, g->n, g->gp.deadline, c->slot) != g->n) {
        serve_error(out, 503, "server_error", "server_busy",
                    "The server is busy (%d requests generating, %d waiting); retry later",
                    s->n_slots, s->max_queue);
        out->retry_after = 1;
        return false;
    }
    c->n = g->n;
    /* a steered or ablated run's cache is its own; an encoder-decoder's
     * holds the decoder's tokens, not the prompt (encoded afresh each time) */
    const bool enc_dec = heed_model_decoder_start(s->model) >= 0;
    g->gp.cache_prompt = g->gp.cache_prompt && !g->iv.steering && !g->iv.n_heads && !enc_dec;
    for (int i = 0; i < c->n; i++)
        if (serve_slot_intervene(c->slot[i], &g->iv)) {
            choices_end(s, c);
            serve_error(out, 400, "invalid_request_error", NULL, "%s", cli_error_message());
            return false;
        }
    heed_status st = HEED_OK;
    serve_gen_params p = g->gp;
    if (g->echo && g->gp.top_logprobs >= 0 && !enc_dec &&
        !(st = prompt_logprobs(s, c->slot[0]->ctx, g, &c->echo_logprobs)))
        p.share = c->slot[0]; /* its cache holds the prompt now */
    for (int i = 0; i < c->n && !st && g->gp.max_tokens > 0; i++) {
        if (i) {
            p.sp.seed = g->gp.sp.seed + (uint64_t)i;
            p.share = enc_dec ? NULL : c->slot[0];
        }
        st = serve_gen_start(s, c->slot[i], g->prompt, g->n_prompt, &p, &c->gen[i]);
    }
    if (st) {
        choices_end(s, c);
        serve_error(out, 500, "server_error", NULL, "%s", cli_error_message());
        return false;
    }
    r->n_cached = c->gen[0] ? serve_gen_cached(c->gen[0]) : 0;
    return true;
}

/* The finish reason of choice i ("length" for echo's max_tokens 0). */
static const char *finish_of(const choices *c, int i)
{
    return c->gen[i] ? serve_gen_finish(c->gen[i]) : "length";
}

static int generated(const choices *c)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += c->gen[i] ? serve_gen_count(c->gen[i]) : 0;
    return n;
}

/* Whether a token is shown (its log-probabilities, its attention): not
 * the end-of-generation token that stopped a choice (it adds no text). */
static bool shown(const serve_piece *p, const char *finish)
{
    return p->sampled && (p->more || p->len || !finish || strcmp(finish, "stop"));
}

static bool shows_logprobs(const gen_request *g, const serve_piece *p, const char *finish)
{
    return g->gp.top_logprobs >= 0 && shown(p, finish);
}

/* What a choice's attention is over, with its first chunk: the prompt's
 * tokens, and the layers and heads each token's "attention" lists. */
static cJSON *attention_start(const server *s, const gen_request *g)
{
    cJSON *h = cJSON_CreateObject(), *toks = cJSON_AddArrayToObject(h, "prompt_tokens");
    cJSON *ids = cJSON_AddArrayToObject(h, "prompt_ids");
    for (int i = 0; i < g->n_prompt; i++) {
        char *t = piece_text(s, g->prompt[i]);
        cJSON_AddItemToArray(toks, cJSON_CreateString(t));
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(g->prompt[i]));
        free(t);
    }
    const int L = heed_model_n_layer(s->model), H = heed_model_n_head(s->model);
    cJSON *layers = cJSON_AddArrayToObject(h, "layers"), *heads = cJSON_AddArrayToObject(h, "heads");
    for (int i = 0; i < (g->layers ? g->attention.n_layers : L); i++)
        cJSON_AddItemToArray(layers, cJSON_CreateNumber(g->layers ? g->layers[i] : i));
    for (int i = 0; i < (g->heads ? g->attention.n_heads : H); i++)
        cJSON_AddItemToArray(heads, cJSON_CreateNumber(g->heads ? g->heads[i] : i));
    return h;
}

/* The attention token id was drawn with: its query's row (query: the
 * position before it) in each listed layer and head — keys[l][h] its
 * top_k positions, weights[l][h] their weights, largest first. */
static cJSON *token_attention(const heed_capture *cap, int32_t id, int query, const cJSON *start)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "id", id);
    cJSON_AddNumberToObject(a, "query", query);
    cJSON *keys = cJSON_AddArrayToObject(a, "keys"), *weights = cJSON_AddArrayToObject(a, "weights");
    const cJSON *layers = cJSON_GetObjectItem(start, "layers"), *heads = cJSON_GetObjectItem(start, "heads");
    for (const cJSON *l = layers->child; l; l = l->next) {
        cJSON *kl = cJSON_CreateArray(), *wl = cJSON_CreateArray();
        for (const cJSON *h = heads->child; h; h = h->next) {
            const int32_t *k;
            const float *w;
            const int n = heed_capture_top(cap, l->valueint, h->valueint, query, &k, &w);
            cJSON *kh = cJSON_CreateArray(), *wh = cJSON_CreateArray();
            for (int i = 0; i < n; i++) {
                cJSON_AddItemToArray(kh, cJSON_CreateNumber(k[i]));
                cJSON_AddItemToArray(wh, cJSON_CreateNumber(round(w[i] * 1e6) / 1e6));
            }
            cJSON_AddItemToArray(kl, kh);
            cJSON_AddItemToArray(wl, wh);
        }
        cJSON_AddItemToArray(keys, kl);
        cJSON_AddItemToArray(weights, wl);
    }
    return a;
}

/* ------------------------------------------------------------ streams */

struct serve_stream {
    server *srv;
    serve_request *req;   /* valid while MHD pulls from the stream */
    choices c;
    bool ended[SERVE_MAX_CHOICES]; /* its finish reason is sent */
    gen_request g;
    cJSON *attention;     /* attention_start's, when asked (NULL: not) */
    heed_chat_parser *parser[SERVE_MAX_CHOICES]; /* a chat's: its output to deltas */
    bool called[SERVE_MAX_CHOICES]; /* a tool call was sent */
    char id[48];
    char *pending;        /* bytes ready to send */
    size_t len, off;
    int state;            /* 0 start, 1 generating, 2 done: [DONE] queued, 3 ended */
};

static void queue_event(serve_stream *st, cJSON *obj)
{
    char *json = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    const char *data = json ? json : "[DONE]";
    const size_t n = strlen(data) + 8;
    char *buf = realloc(st->pending, st->len + n + 1);
    if (buf) {
        st->pending = buf;
        st->len += (size_t)snprintf(buf + st->len, n + 1, "data: %s\n\n", data);
    }
    free(json);
}

/* One chunk: choice i's text (NULL: none), finish reason, logprobs and
 * heed's additions (may be NULL). */
static void queue_choice(serve_stream *st, int i, const char *text, const char *finish,
                         cJSON *lp, bool role, cJSON *heed)
{
    cJSON *o = envelope(st->srv, st->g.kind, true, st->id);
    cJSON *c = choice(st->g.kind, i, true, text, finish, lp, role);
    if (heed)
        cJSON_AddItemToObject(c, "heed", heed);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), c);
    queue_event(st, o);
}

/* One chat chunk: choice i's delta (owned), logprobs and heed's additions. */
static void queue_delta(serve_stream *st, int i, cJSON *delta, cJSON *lp, cJSON *heed)
{
    cJSON *o = envelope(st->srv, KIND_CHAT, true, st->id), *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", i);
    cJSON_AddItemToObject(c, "delta", delta);
    cJSON_AddItemToObject(c, "logprobs", lp ? lp : cJSON_CreateNull());
    cJSON_AddNullToObject(c, "finish_reason");
    if (heed)
        cJSON_AddItemToObject(c, "heed", heed);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), c);
    queue_event(st, o);
}

/* A chat's text through its parser: a chunk per delta (content, reasoning,
 * tool calls), the first carrying lp and heed (an empty delta if none). */
static void queue_parsed(serve_stream *st, int i, const char *text, size_t len, bool end,
                         cJSON *lp, cJSON *heed)
{
    char *deltas = NULL, *message = NULL;
    const heed_status ps = end ? heed_chat_parser_finish(st->parser[i], &deltas, &message)
                               : heed_chat_parser_feed(st->parser[i], text, len, &deltas);
    cJSON *list = !ps && deltas ? cJSON_Parse(deltas) : NULL, *d;
    free(deltas);
    free(message);
    while (list && (d = cJSON_DetachItemFromArray(list, 0))) {
        st->called[i] |= cJSON_GetObjectItemCaseSensitive(d, "tool_calls") != NULL;
        queue_delta(st, i, d, lp, heed);
        lp = heed = NULL;
    }
    cJSON_Delete(list);
    if (lp || heed)
        queue_delta(st, i, cJSON_CreateObject(), lp, heed);
}

/* Makes the next events: each choice's beginning (the role of a chat, the
 * echoed prompt), a round's tokens, or the end. */
static void produce(serve_stream *st)
{
    const kind_t kind = st->g.kind;
    choices *c = &st->c;
    if (st->state == 0) {
        st->state = 1;
        for (int i = 0; i < c->n; i++) {
            cJSON *heed = st->attention ? cJSON_Duplicate(st->attention, true) : NULL;
            if (kind == KIND_CHAT)
                queue_choice(st, i, "", NULL, NULL, true, heed);
            else if (st->g.echo || heed)
                queue_choice(st, i, st->g.echo ? st->g.echo : "", NULL,
                             c->echo_logprobs ? cJSON_Duplicate(c->echo_logprobs, true) : NULL,
                             false, heed);
        }
        if (st->len)
            return;
    }
    if (st->state == 1) {
        serve_piece piece[SERVE_MAX_CHOICES];
        bool live = false;
        for (int i = 0; i < c->n; i++)
            live |= c->gen[i] != NULL;
        const int running = live ? serve_gen_step(c->gen, c->n, piece) : 0;
        st->req->n_gen = generated(c);
        for (int i = 0; i < c->n; i++) {
            if (st->ended[i])
                continue;
            const char *finish = finish_of(c, i);
            cJSON *lp = NULL;
            if (c->gen[i] && shows_logprobs(&st->g, &piece[i], finish)) {
                lp = new_logprobs(kind);
                add_logprobs(st->srv, kind, lp, &piece[i].tok, 0);
            }
            cJSON *heed = NULL;
            if (c->gen[i] && st->attention && shown(&piece[i], finish)) {
                heed = cJSON_CreateObject();
                cJSON_AddItemToObject(heed, "attention",
                                      token_attention(serve_gen_capture(c->gen[i]),
                                                      piece[i].tok.id, piece[i].query,
                                                      st->attention));
            }
            if (st->parser[i] && c->gen[i]) {
                queue_parsed(st, i, piece[i].text, piece[i].len, false, lp, heed);
            } else if (c->gen[i] && (piece[i].len || lp || heed)) {
                char *t = utf8_string(piece[i].text, piece[i].len);
                queue_choice(st, i, t, NULL, lp, false, heed);
                free(t);
            }
            if (finish) {
                if (st->parser[i])
                    queue_parsed(st, i, "", 0, true, NULL, NULL);
                queue_choice(st, i, kind == KIND_CHAT ? NULL : "",
                             st->called[i] ? "tool_calls" : finish, NULL, false, NULL);
                st->ended[i] = true;
            }
        }
        if (!running) {
            if (st->g.include_usage) {
                cJSON *o = envelope(st->srv, kind, true, st->id);
                cJSON_AddArrayToObject(o, "choices");
                cJSON_AddItemToObject(o, "usage", usage(st->g.n_prompt, generated(c),
                                                        st->req->n_cached));
                queue_event(st, o);
            }
            queue_event(st, NULL);
            st->state = 2;
            choices_end(st->srv, c);
        }
        return;
    }
    st->state = 3;
}

size_t serve_stream_read(serve_stream *st, char *buf, size_t cap)
{
    while (st->off == st->len && st->state < 3) {
        st->len = st->off = 0;
        produce(st);
    }
    const size_t n = st->len - st->off < cap ? st->len - st->off : cap;
    if (n)
        memcpy(buf, st->pending + st->off, n);
    st->off += n;
    return n;
}

void serve_stream_free(serve_stream *st)
{
    if (!st)
        return;
    choices_end(st->srv, &st->c);
    gen_request_free(&st->g);
    cJSON_Delete(st->attention);
    for (int i = 0; i < SERVE_MAX_CHOICES; i++)
        heed_chat_parser_free(st->parser[i]);
    free(st->pending);
    free(st);
}

/* ----------------------------------------------------------- handlers */

/* A choice's text as it grows, for a reply that is not streamed. */
typedef struct whole {
    char *text;
    size_t len;
    cJSON *lp;
    cJSON *heed;   /* attention_start's, its tokens' attention added */
} whole;

static void grow(whole *w, const char *s, size_t n)
{
    char *t = realloc(w->text, w->len + n + 1);
    if (!t)
        return;
    memcpy(t + w->len, s, n);
    w->text = t;
    w->len += n;
    t[w->len] = 0;
}

static void generate(serve_request *r, kind_t kind, serve_reply *out)
{
    server *s = r->srv;
    if (heed_model_is_encoder(s->model)) {
        serve_error(out, 400, "invalid_request_error", "model_not_generative",
                    "%s is a %s encoder: it embeds text (/v1/embeddings) and generates none",
                    s->model_id, heed_model_arch(s->model));
        return;
    }
    gen_request g;
    if (!parse_gen(s, r, kind, &g, out)) {
        gen_request_free(&g);
        return;
    }
    r->n_prompt = g.n_prompt;
    g.gp.deadline = r->t0 + s->timeout_s;
    /* an encoder-decoder's decoder holds its start token and the output */
    const bool enc_dec = heed_model_decoder_start(s->model) >= 0;
    const int room = s->n_ctx - (enc_dec ? 1 : g.n_prompt);
    if (g.gp.max_tokens > room)
        g.gp.max_tokens = room;
    choices c;
    if (!start_choices(s, r, &g, &c, out)) {
        gen_request_free(&g);
        return;
    }
    char id[48];
    snprintf(id, sizeof id, "%s-%lu", kind == KIND_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long)atomic_fetch_add(&next_id, 1));
    if (g.stream) {
        serve_stream *st = calloc(1, sizeof *st);
        if (!st) {
            choices_end(s, &c);
            gen_request_free(&g);
            serve_error(out, 500, "server_error", NULL, "out of memory");
            return;
        }
        *st = (serve_stream){.srv = s, .req = r, .c = c, .g = g,
                             .attention = g.attention.top_k ? attention_start(s, &g) : NULL};
        const heed_chat_parse_params pp = parse_params(s, &st->g);
        for (int i = 0; kind == KIND_CHAT && i < c.n; i++)
            if (heed_chat_parser_new(&pp, &st->parser[i]))
                st->parser[i] = NULL; /* (cannot be: the format is known) the text as it is */
        snprintf(st->id, sizeof st->id, "%s", id);
        *out = (serve_reply){.status = 200, .content_type = "text/event-stream", .stream = st};
        return;
    }
    whole w[SERVE_MAX_CHOICES] = {0};
    for (int i = 0; i < c.n; i++) {
        w[i].lp = g.gp.top_logprobs < 0 ? NULL : c.echo_logprobs
                  ? cJSON_Duplicate(c.echo_logprobs, true) : new_logprobs(kind);
        if (g.echo)
            grow(&w[i], g.echo, strlen(g.echo));
        if (g.attention.top_k)
            cJSON_AddArrayToObject(w[i].heed = attention_start(s, &g), "attention");
    }
    for (int running = c.gen[0] != NULL; running;) {
        serve_piece piece[SERVE_MAX_CHOICES];
        running = serve_gen_step(c.gen, c.n, piece);
        for (int i = 0; i < c.n; i++) {
            if (w[i].lp && shows_logprobs(&g, &piece[i], finish_of(&c, i)))
                add_logprobs(s, kind, w[i].lp, &piece[i].tok, w[i].len);
            if (w[i].heed && shown(&piece[i], finish_of(&c, i)))
                cJSON_AddItemToArray(cJSON_GetObjectItem(w[i].heed, "attention"),
                                     token_attention(serve_gen_capture(c.gen[i]), piece[i].tok.id,
                                                     piece[i].query, w[i].heed));
            grow(&w[i], piece[i].text, piece[i].len);
        }
    }
    r->n_gen = generated(&c);
    cJSON *o = envelope(s, kind, false, id), *list = cJSON_AddArrayToObject(o, "choices");
    for (int i = 0; i < c.n; i++) {
        char *clean = utf8_string(w[i].text ? w[i].text : "", w[i].len);
        cJSON *one = choice(kind, i, false, clean, finish_of(&c, i), w[i].lp, false);
        const heed_chat_parse_params pp = parse_params(s, &g);
        char *message = NULL;
        cJSON *m = kind == KIND_CHAT && !heed_chat_parse(&pp, clean, strlen(clean), &message)
                       ? cJSON_Parse(message) : NULL;
        free(message);
        if (m) { /* its content, reasoning and tool calls */
            if (cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
                cJSON_ReplaceItemInObjectCaseSensitive(one, "finish_reason",
                                                       cJSON_CreateString("tool_calls"));
            cJSON_ReplaceItemInObjectCaseSensitive(one, "message", m);
        }
        if (w[i].heed)
            cJSON_AddItemToObject(one, "heed", w[i].heed);
        cJSON_AddItemToArray(list, one);
        free(clean);
        free(w[i].text);
    }
    cJSON_AddItemToObject(o, "usage", usage(g.n_prompt, r->n_gen, r->n_cached));
    choices_end(s, &c);
    gen_request_free(&g);
    reply_json(out, 200, o);
}

/* A field's array of the model's token ids: *ids malloc'd (NULL when
 * empty), *n of them. */
static bool token_ids(const server *s, const cJSON *arr, const char *name, int32_t **ids, int *n,
                      serve_reply *out)
{
    const int count = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    const int V = heed_model_n_vocab(s->model);
    *ids = NULL;
    *n = 0;
    if (count < 0) {
        bad(out, "'%s' must be an array of token ids", name);
        return false;
    }
    if (count && !(*ids = malloc(sizeof **ids * (size_t)count))) {
        serve_error(out, 500, "server_error", NULL, "out of memory");
        return false;
    }
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble < V) ||
            e->valuedouble != floor(e->valuedouble)) {
            char msg[96];
            snprintf(msg, sizeof msg, "'%%s' must hold token ids in [0, %d)", V);
            bad(out, msg, name);
            free(*ids);
            *ids = NULL;
            *n = 0;
            return false;
        }
        (*ids)[(*n)++] = (int32_t)e->valuedouble;
    }
    return true;
}

static void tokenize_handler(serve_request *r, serve_reply *out)
{
    static const char *const fields[] = {"content", "add_special", "parse_special",
                                         "with_pieces", NULL};
    server *s = r->srv;
    cJSON *root = parse_object(r, out);
    if (!root)
        return;
    bool add = false, special = true, pieces = false;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (known_fields(root, fields, out) && boolean(root, "add_special", &add, out) &&
        boolean(root, "parse_special", &special, out) &&
        boolean(root, "with_pieces", &pieces, out)) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (!cJSON_IsString(content))
            bad(out, "'%s' must be a string", "content");
        else if (heed_tokenize(s->vocab, content->valuestring, strlen(content->valuestring), add,
                               special, &ids, &n))
            serve_error(out, 500, "server_error", NULL, "%s", cli_error_message());
        else {
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "tokens");
            for (size_t i = 0; i < n; i++) {
                if (!pieces) {
                    cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
                    continue;
                }
                cJSON *e = cJSON_CreateObject();
                char *t = piece_text(s, ids[i]);
                cJSON_AddNumberToObject(e, "id", ids[i]);
                cJSON_AddStringToObject(e, "piece", t);
                free(t);
                cJSON_AddItemToArray(arr, e);
            }
            free(ids);
            reply_json(out, 200, o);
        }
    }
    cJSON_Delete(root);
}

static void detokenize_handler(serve_request *r, serve_reply *out)
{
    static const char *const fields[] = {"tokens", NULL};
    server *s = r->srv;
    cJSON *root = parse_object(r, out);
    if (!root)
        return;
    int32_t *ids = NULL;
    int n = 0;
    if (known_fields(root, fields, out) &&
        token_ids(s, cJSON_GetObjectItemCaseSensitive(root, "tokens"), "tokens", &ids, &n, out)) {
        char *text = NULL;
        size_t len = 0;
        if (heed_detokenize(s->vocab, ids, (size_t)n, false, false, &text, &len))
            serve_error(out, 500, "server_error", NULL, "%s", cli_error_message());
        else {
            char *clean = utf8_string(text ? text : "", len);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "content", clean);
            free(clean);
            reply_json(out, 200, o);
        }
        free(text);
    }
    free(ids);
    cJSON_Delete(root);
}

/* Takes a slot for work outside generation (the slots bound how much runs
 * at once); answers 503 when none comes. */
static serve_slot *take_or_busy(serve_request *r, serve_reply *out)
{
    serve_slot *slot = NULL;
    if (serve_slot_take(r->srv, r, 1, r->t0 + r->srv->timeout_s, &slot))
        slot->n_cached = 0; /* what it does next overwrites the cache */
    if (!slot) {
        serve_error(out, 503, "server_error", "server_busy", "The server is busy; retry later");
        out->retry_after = 1;
    }
    return slot;
}

/* An encoder-decoder's decoder tokens for /v1/attention: its start token,
 * then "target" (text, tokenized without special tokens) or "target_ids"
 * (none: the start token alone). */
static bool read_target(const server *s, const cJSON *root, int32_t **ids, int *n,
                        serve_reply *out)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "target");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "target_ids");
    text = cJSON_IsNull(text) ? NULL : text;
    list = cJSON_IsNull(list) ? NULL : list;
    int32_t *tgt = NULL;
    int n_tgt = 0;
    size_t len = 0;
    *ids = NULL;
    if (text && list) {
        bad(out, "'%s' and 'target_ids' exclude each other: give the target as text or as ids",
            "target");
        return false;
    }
    if (text && !cJSON_IsString(text)) {
        bad(out, "'%s' must be a string: the decoder's text after its start token", "target");
        return false;
    }
    if (text && heed_tokenize(s->vocab, text->valuestring, strlen(text->valuestring), false,
                              false, &tgt, &len)) {
        serve_error(out, 500, "server_error", NULL, "%s", cli_error_message());
        return false;
    }
    n_tgt = (int)len;
    if (list && !token_ids(s, list, "target_ids", &tgt, &n_tgt, out))
        return false;
    if (n_tgt >= s->n_ctx) {
        serve_error(out, 400, "invalid_request_error", "context_length_exceeded",
                    "The decoder's context is %d tokens: its start token and the target's %d "
                    "do not fit", s->n_ctx, n_tgt);
    } else if (!(*ids = malloc(sizeof **ids * (size_t)(n_tgt + 1)))) {
        serve_error(out, 500, "server_error", NULL, "out of memory");
    } else {
        (*ids)[0] = heed_model_decoder_start(s->model);
        if (n_tgt)
            memcpy(*ids + 1, tgt, sizeof *tgt * (size_t)n_tgt);
        *n = n_tgt + 1;
    }
    free(tgt);
    return *ids != NULL;
}

/* An encoder-decoder's three attentions: src encoded, then the decoder over
 * ids, each attention captured whole into caps (its self-attention, the
 * encoder's, the cross-attention; the caller frees them). */
static heed_status capture_enc_dec(heed_context *c, const int32_t *src, int n_src,
                                   const int32_t *ids, int n, heed_capture *caps[3])
{
    static const heed_attn_kind kinds[3] = {HEED_ATTN_SELF, HEED_ATTN_ENCODER, HEED_ATTN_CROSS};
    heed_status st = HEED_OK;
    for (int k = 0; k < 3 && !st; k++) {
        heed_capture_params p = heed_capture_default_params(kinds[k] == HEED_ATTN_ENCODER ? n_src
                                                                                      : n);
        p.max_bytes = CAPTURE_BYTES;
        p.kind = kinds[k];
        p.n_keys = kinds[k] == HEED_ATTN_CROSS ? n_src : 0;
        if (!(st = heed_capture_new(heed_context_model(c), &p, &caps[k])))
            heed_context_set_capture(c, caps[k]);
    }
    if (!st)
        st = heed_context_encode(c, src, n_src);
    if (!st)
        st = heed_context_eval(c, ids, n, NULL, false);
    heed_context_set_capture(c, NULL);
    return st;
}

/* Answers with d as `heed attend --json` writes it. */
static void reply_capture(serve_reply *out, const heed_capture_doc *d)
{
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    const heed_status st = f ? heed_capture_write_json(f, d) : HEED_ERR_NOMEM;
    if (f && fclose(f) && !st)
        serve_error(out, 500, "server_error", NULL, "out of memory");
    else if (st)
        serve_error(out, 500, "server_error", NULL, "%s", cli_error_message());
    else {
        *out = (serve_reply){.status = 200, .body = json, .content_type = "application/json"};
        json = NULL;
    }
    free(json);
}

/* POST /v1/attention {"prompt": TEXT} — the capture of every layer and
 * head over the prompt, as `heed attend --json` writes it; with the
 * request's control vectors and head ablations as generation takes them.
 * An encoder-decoder's prompt is its source, and "target" or "target_ids"
 * its decoder's tokens after the start token: the three attentions. */
static void attention_handler(serve_request *r, serve_reply *out)
{
    static const char *const fields[] = {"model", "prompt", "add_special", "target", "target_ids",
                                         "control_vectors", "control_vector_layer_range",
                                         "ablate_heads", NULL};
    server *s = r->srv;
    const bool enc_dec = heed_model_decoder_start(s->model) >= 0;
    cJSON *root = parse_object(r, out);
    if (!root)
        return;
    bool add = true;
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    int32_t *ids = NULL, *dec = NULL; /* the prompt (a source); a decoder's tokens */
    size_t n = 0;
    int n_dec = 0;
    serve_interventions iv = {0};
    bool ok = known_fields(root, fields, out) && boolean(root, "add_special", &add, out) &&
              read_interventions(s, root, &iv, out);
    int n_ids = 0; /* the prompt as token ids, taken as they are */
    if (ok && cJSON_IsArray(prompt)) {
        ok = token_ids(s, prompt, "prompt", &ids, &n_ids, out);
        n = (size_t)n_ids;
    }
    if (ok && (cJSON_IsArray(prompt) ? !n
                                     : !cJSON_IsString(prompt) ||
                                       heed_tokenize(s->vocab, prompt->valuestring,
                                                     strlen(prompt->valuestring), add, false,
                                                     &ids, &n) || !n)) {
        bad(out, "'%s' must be a string that gives at least one token, or token ids", "prompt");
        ok = false;
    }
    if (ok && (int)n > s->n_ctx) {
        serve_error(out, 400, "invalid_request_error", "context_length_exceeded",
                    "This model's maximum context length is %d tokens; the prompt has %zu",
                    s->n_ctx, n);
        ok = false;
    }
    if (ok && enc_dec)
        ok = read_target(s, root, &dec, &n_dec, out);
    else if (ok && (cJSON_GetObjectItemCaseSensitive(root, "target") ||
                    cJSON_GetObjectItemCaseSensitive(root, "target_ids"))) {
        serve_error(out, 400, "invalid_request_error", NULL,
                    "'target' and 'target_ids' are an encoder-decoder's (t5) decoder tokens; "
                    "%s is a %s, whose attention is over the prompt alone", s->model_id,
                    heed_model_arch(s->model));
        ok = false;
    }
    cJSON_Delete(root);
    r->n_prompt = (int)n;
    serve_slot *slot = ok ? take_or_busy(r, out) : NULL;
    if (slot && !intervene(s, slot, &iv, out))
        slot = NULL;
    heed_capture *caps[3] = {NULL};
    const heed_status st = !slot     ? HEED_OK
                           : enc_dec ? capture_enc_dec(slot->ctx, ids, (int)n, dec, n_dec, caps)
                                     : heed_context_capture(slot->ctx, ids, (int)n, CAPTURE_BYTES,
                                                            &caps[0]);
    if (slot && st)
        serve_error(out, 400, "invalid_request_error", NULL, "%s", cli_error_message());
    else if (slot && enc_dec)
        reply_capture(out, &(heed_capture_doc){.m = s->model, .v = s->vocab, .cap = caps[0],
                                               .ids = dec, .n = n_dec, .n_prompt = 1,
                                               .row_end = n_dec, .enc = caps[1],
                                               .cross = caps[2], .src = ids, .n_src = (int)n});
    else if (slot)
        reply_capture(out, &(heed_capture_doc){.m = s->model, .v = s->vocab, .cap = caps[0],
                                               .ids = ids, .n = (int)n, .n_prompt = (int)n,
                                               .row_end = (int)n});
    if (slot)
        serve_slot_give(s, slot);
    for (int k = 0; k < 3; k++)
        heed_capture_free(caps[k]);
    interventions_free(&iv);
    free(ids);
    free(dec);
}

/* The floats' little-endian bytes in base64, as OpenAI's encoding_format
 * "base64" sends an embedding (x86-64 is little-endian). */
static cJSON *base64_floats(const float *v, int n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *b = (const unsigned char *)v;
    const size_t len = (size_t)n * sizeof *v;
    char *s = malloc(4 * ((len + 2) / 3) + 1), *o = s;
    if (!s)
        return cJSON_CreateNull();
    for (size_t i = 0; i < len; i += 3) {
        const unsigned x = (unsigned)b[i] << 16 | (i + 1 < len ? (unsigned)b[i + 1] << 8 : 0) |
                           (i + 2 < len ? b[i + 2] : 0);
        *o++ = abc[x >> 18 & 63];
        *o++ = abc[x >> 12 & 63];
        *o++ = i + 1 < len ? abc[x >> 6 & 63] : '=';
        *o++ = i + 2 < len ? abc[x & 63] : '=';
    }
    *o = 0;
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

/* POST /v1/embeddings {"input": TEXT or [TEXT, ...]} — an encoder's pooled,
 * L2-normalised embeddings, as OpenAI's are unit vectors: one per input, so
 * a model whose metadata pools nothing (t5encoder) is mean-pooled, as
 * Sentence-T5 pools T5's encoder. */
static void embeddings_handler(serve_request *r, serve_reply *out)
{
    static const char *const fields[] = {"model", "input", "encoding_format", "user", NULL};
    server *s = r->srv;
    if (!heed_model_is_encoder(s->model)) {
        serve_error(out, 400, "invalid_request_error", "model_not_embedding",
                    "%s is a %s %s; /v1/embeddings needs an encoder model (bert, t5encoder)",
                    s->model_id, heed_model_arch(s->model),
                    heed_model_decoder_start(s->model) >= 0 ? "encoder-decoder" : "decoder");
        return;
    }
    const heed_pooling pooling = heed_model_pooling(s->model) == HEED_POOLING_NONE
                                     ? HEED_POOLING_MEAN
                                     : heed_model_pooling(s->model);
    cJSON *root = parse_object(r, out);
    if (!root)
        return;
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "encoding_format");
    const int n_in = cJSON_IsString(input) ? 1 : cJSON_IsArray(input) ? cJSON_GetArraySize(input)
                                                                        : 0;
    bool ok = known_fields(root, fields, out);
    bool b64 = false;
    if (ok && fmt && !cJSON_IsNull(fmt)) {
        b64 = cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "base64");
        if (!b64 && !(cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "float"))) {
            bad(out, "'%s' must be \"float\" or \"base64\"", "encoding_format");
            ok = false;
        }
    }
    if (ok && (n_in < 1 || n_in > 256)) {
        bad(out, "'%s' must be a string or an array of 1 to 256 strings", "input");
        ok = false;
    }
    for (int i = 0; ok && i < n_in; i++)
        if (!cJSON_IsString(cJSON_IsString(input) ? input : cJSON_GetArrayItem(input, i))) {
            bad(out, "'%s' must hold strings", "input");
            ok = false;
        }
    serve_slot *slot = ok ? take_or_busy(r, out) : NULL;
    const int dim = heed_model_n_embd(s->model);
    float *e = slot ? malloc(sizeof *e * (size_t)dim) : NULL;
    cJSON *o = slot ? cJSON_CreateObject() : NULL, *data = NULL;
    if (o) {
        cJSON_AddStringToObject(o, "object", "list");
        data = cJSON_AddArrayToObject(o, "data");
    }
    int total = 0;
    for (int i = 0; o && i < n_in; i++) {
        const cJSON *t = cJSON_IsString(input) ? input : cJSON_GetArrayItem(input, i);
        int32_t *ids = NULL;
        size_t n = 0;
        heed_status st = heed_tokenize(s->vocab, t->valuestring, strlen(t->valuestring), true,
                                       false, &ids, &n);
        if (!st && (n == 0 || (int)n > s->n_ctx))
            st = cli_set_error(HEED_ERR_ARG, "input %d has %zu tokens; the model takes 1 to %d", i,
                               n, s->n_ctx);
        if (!st && e)
            st = heed_context_embed(slot->ctx, ids, (int)n, pooling, e);
        free(ids);
        if (st || !e) {
            serve_error(out, 400, "invalid_request_error", NULL, "%s",
                        e ? cli_error_message() : "out of memory");
            cJSON_Delete(o);
            o = NULL;
            break;
        }
        total += (int)n;
        double norm = 0;
        for (int k = 0; k < dim; k++)
            norm += (double)e[k] * e[k];
        norm = norm > 0 ? 1.0 / sqrt(norm) : 0;
        for (int k = 0; k < dim; k++)
            e[k] = (float)(e[k] * norm);
        cJSON *item = cJSON_CreateObject(), *vec = b64 ? base64_floats(e, dim)
                                                       : cJSON_CreateArray();
        for (int k = 0; !b64 && k < dim; k++)
            cJSON_AddItemToArray(vec, cJSON_CreateNumber(e[k]));
        cJSON_AddStringToObject(item, "object", "embedding");
        cJSON_AddNumberToObject(item, "index", i);
        cJSON_AddItemToObject(item, "embedding", vec);
        cJSON_AddItemToArray(data, item);
    }
    if (slot)
        serve_slot_give(s, slot);
    r->n_prompt = total;
    if (o) {
        cJSON_AddStringToObject(o, "model", s->model_id);
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", total);
        cJSON_AddNumberToObject(u, "total_tokens", total);
        reply_json(out, 200, o);
    }
    free(e);
    cJSON_Delete(root);
}

static void models_handler(serve_request *r, serve_reply *out)
{
    cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON_AddStringToObject(m, "id", r->srv->model_id);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)r->srv->created);
    cJSON_AddStringToObject(m, "owned_by", "heed");
    /* as llama-server's "meta", with what heed's own request fields name:
     * the heads ablate_heads takes, the control vectors loaded */
    const server *s = r->srv;
    cJSON *meta = cJSON_AddObjectToObject(m, "meta");
    cJSON_AddNumberToObject(meta, "n_vocab", heed_model_n_vocab(s->model));
    cJSON_AddNumberToObject(meta, "n_ctx", s->n_ctx);
    cJSON_AddNumberToObject(meta, "n_embd", heed_model_n_embd(s->model));
    cJSON_AddNumberToObject(meta, "n_layer", heed_model_n_layer(s->model));
    cJSON_AddNumberToObject(meta, "n_head", heed_model_n_head(s->model));
    /* T5's: the prompt is a source, and /v1/attention takes a target */
    cJSON_AddBoolToObject(meta, "encoder_decoder", heed_model_decoder_start(s->model) >= 0);
    cJSON *cv = cJSON_AddArrayToObject(meta, "control_vectors");
    for (int i = 0; i < s->n_cvecs; i++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", s->cvecs[i].name);
        char scale[32]; /* the float as it was written, not its binary expansion */
        snprintf(scale, sizeof scale, "%g", (double)s->cvecs[i].scale);
        cJSON_AddNumberToObject(v, "scale", strtod(scale, NULL));
        cJSON_AddItemToArray(cv, v);
    }
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "data"), m);
    reply_json(out, 200, o);
}

/* generated at build time from tools/page/serve.html and attend.html */
extern const unsigned char serve_page_html[], attend_page_html[];
extern const size_t serve_page_html_len, attend_page_html_len;

/* The built-in pages: GET / (the page) and /attend.html (the attention
 * page's template, which the page draws captures with). No file is read. */
static bool page(const serve_request *r, serve_reply *out)
{
    const unsigned char *p = !strcmp(r->path, "/") ? serve_page_html
                             : !strcmp(r->path, "/attend.html") ? attend_page_html : NULL;
    if (!p || strcmp(r->method, "GET"))
        return false;
    const size_t len = p == serve_page_html ? serve_page_html_len : attend_page_html_len;
    char *body = malloc(len + 1);
    if (!body) {
        serve_error(out, 500, "server_error", NULL, "out of memory");
        return true;
    }
    memcpy(body, p, len);
    body[len] = 0;
    *out = (serve_reply){.status = 200, .body = body, .content_type = "text/html; charset=utf-8"};
    return true;
}

static void health_handler(serve_request *r, serve_reply *out)
{
    (void)r;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    reply_json(out, 200, o);
}

static void completions_handler(serve_request *r, serve_reply *out)
{
    generate(r, KIND_COMPLETION, out);
}

static void chat_handler(serve_request *r, serve_reply *out)
{
    generate(r, KIND_CHAT, out);
}

/* POST /apply-template (llama-server's): the prompt a chat request's
 * messages, tools and chat_template_kwargs render to, not generated from;
 * the request's other fields are let be. */
static void apply_template_handler(serve_request *r, serve_reply *out)
{
    const server *s = r->srv;
    cJSON *root = parse_object(r, out);
    if (!root)
        return;
    gen_request g = {0};
    bool special;
    if (render_chat(s, root, &g, &special, out)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "prompt", g.chat_text);
        reply_json(out, 200, o);
    }
    gen_request_free(&g);
    cJSON_Delete(root);
}

void serve_route(serve_request *r, serve_reply *out)
{
    const bool get = !strcmp(r->method, "GET"), post = !strcmp(r->method, "POST");
    if (page(r, out))
        return;
    static const struct {
        const char *path;
        bool post;
        void (*handler)(serve_request *, serve_reply *);
    } routes[] = {
        {"/health", false, health_handler},
        {"/metrics", false, serve_metrics_handler},
        {"/slots", false, serve_slots_handler},
        {"/v1/models", false, models_handler},
        {"/v1/completions", true, completions_handler},
        {"/v1/chat/completions", true, chat_handler},
        {"/apply-template", true, apply_template_handler},
        {"/tokenize", true, tokenize_handler},
        {"/detokenize", true, detokenize_handler},
        {"/v1/embeddings", true, embeddings_handler},
        {"/v1/attention", true, attention_handler},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(r->path, routes[i].path))
            continue;
        if (routes[i].post ? !post : !get)
            serve_error(out, 405, "invalid_request_error", "method_not_allowed",
                        "%s %s: use %s", r->method, r->path, routes[i].post ? "POST" : "GET");
        else
            routes[i].handler(r, out);
        return;
    }
    serve_error(out, 404, "invalid_request_error", "unknown_url", "Unknown request URL: %s %s",
                r->method, r->path);
}
