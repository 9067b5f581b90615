/* jinja_render.c — the public entry points of the Jinja interpreter:
 * heed_template_render (a template and its variables as JSON) and
 * heed_chat_context (those variables for a model's chat). Each call runs
 * in an arena of its own; a failure anywhere lands back here. */
#include <stdlib.h>
#include <string.h>

#include "text/jinja.h"
#include "text/unicode.h"
#include "util/error.h"

static void arena_free(jx *J)
{
    void *b = J->blocks;
    while (b) {
        void *next = *(void **)b;
        free(b);
        b = next;
    }
}

/* The template with newlines made "\n" and one trailing newline dropped,
 * as jinja2's lexer reads its source (keep_trailing_newline is off). */
static void load_source(jx *J, const char *tmpl)
{
    const size_t n = strlen(tmpl);
    if (heed_utf8_invalid_at(tmpl, n) != n)
        jx_fail(J, SIZE_MAX, "the template is not valid UTF-8 (at byte %zu)",
                heed_utf8_invalid_at(tmpl, n));
    char *s = jx_alloc(J, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (tmpl[i] == '\r') {
            s[o++] = '\n';
            if (i + 1 < n && tmpl[i + 1] == '\n')
                i++;
        } else {
            s[o++] = tmpl[i];
        }
    }
    if (o && s[o - 1] == '\n')
        o--;
    s[o] = 0;
    J->src = s;
    J->src_len = o;
}

typedef struct render_job {
    const char *tmpl, *context;
    char *out;
    size_t len;
} render_job;

static void render(jx *J, void *arg)
{
    render_job *r = arg;
    jx_val ctx = jx_dict_new(J);
    if (r->context) {
        J->status = HEED_ERR_ARG;
        ctx = jx_json_read(J, r->context, strlen(r->context), "the template's context");
        if (ctx.kind != JX_DICT)
            jx_fail(J, SIZE_MAX, "the template's context must be a JSON object");
        J->status = HEED_ERR_FORMAT;
    }
    load_source(J, r->tmpl);
    const jx_node *body = jx_parse(J);
    jx_buf root = {0};
    jx_buf_put(J, &root, "", 0);
    J->root = J->out = &root;
    jx_run(J, body, ctx);
    r->out = malloc(root.len + 1);
    if (!r->out) {
        J->status = HEED_ERR_NOMEM;
        jx_fail(J, SIZE_MAX, "out of memory");
    }
    memcpy(r->out, root.p, root.len + 1);
    r->len = root.len;
}

/* Runs fn in a fresh interpreter; its failure becomes the message. */
static heed_status run(const char *prefix, const jx_limits *lim, void (*fn)(jx *, void *),
                       void *arg)
{
    jx *J = calloc(1, sizeof *J);
    if (!J)
        return heed_fail(HEED_ERR_NOMEM, "template: out of memory");
    J->lim = *lim;
    J->prefix = prefix;
    J->status = HEED_ERR_FORMAT;
    const char *now = getenv("HEED_TEMPLATE_NOW");
    J->now = now && *now ? strtoll(now, NULL, 10) : -1;
    heed_status st = HEED_OK;
    if (setjmp(J->fail) == 0)
        fn(J, arg);
    else
        st = heed_fail(J->status, "%s", J->err);
    arena_free(J);
    free(J);
    return st;
}

heed_status jx_render_limited(const char *tmpl, const char *context_json, const jx_limits *lim,
                              char **out, size_t *out_len)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!tmpl || !out)
        return heed_fail(HEED_ERR_ARG, "template: no template or no output pointer");
    render_job r = {.tmpl = tmpl, .context = context_json};
    const heed_status st = run("template", lim, render, &r);
    if (st)
        return st;
    *out = r.out;
    if (out_len)
        *out_len = r.len;
    return HEED_OK;
}

heed_status heed_template_render(const char *tmpl, const char *context_json, char **out,
                                 size_t *out_len)
{
    return jx_render_limited(tmpl, context_json, &jx_default_limits, out, out_len);
}

/* ------------------------------------------------------- a chat's context */

typedef struct context_job {
    const char *messages, *tools, *extra;
    const char *bos, *eos;
    size_t bos_len, eos_len;
    bool add_generation_prompt;
    char *out;
} context_job;

static void put_json_str(jx *J, jx_buf *b, const char *s, size_t n)
{
    const jx_json_opts o = {.item_sep = ", ", .key_sep = ": "};
    const jx_val v = jx_json_dump(J, jx_str(J, s, n), &o, SIZE_MAX);
    jx_buf_put(J, b, v.s->s, v.s->len);
}

/* The parts are spliced as given (so numbers keep their spelling: 1.0
 * stays a float for the template) after each is read once to check it. */
static void context(jx *J, void *arg)
{
    context_job *c = arg;
    J->status = HEED_ERR_ARG;
    if (!c->messages || jx_json_read(J, c->messages, strlen(c->messages), "messages").kind != JX_LIST)
        jx_fail(J, SIZE_MAX, "the messages must be a JSON array");
    if (c->tools && jx_json_read(J, c->tools, strlen(c->tools), "tools").kind != JX_LIST)
        jx_fail(J, SIZE_MAX, "the tools must be a JSON array");
    if (c->extra && jx_json_read(J, c->extra, strlen(c->extra), "the extra variables").kind != JX_DICT)
        jx_fail(J, SIZE_MAX, "the extra variables must be a JSON object");
    if (heed_utf8_invalid_at(c->bos, c->bos_len) != c->bos_len ||
        heed_utf8_invalid_at(c->eos, c->eos_len) != c->eos_len)
        jx_fail(J, SIZE_MAX, "the bos or eos token is not valid UTF-8");
    jx_buf b = {0};
    jx_buf_puts(J, &b, "{\"messages\": ");
    jx_buf_puts(J, &b, c->messages);
    jx_buf_puts(J, &b, ", \"tools\": ");
    jx_buf_puts(J, &b, c->tools ? c->tools : "null");
    jx_buf_puts(J, &b, c->add_generation_prompt ? ", \"add_generation_prompt\": true"
                                                : ", \"add_generation_prompt\": false");
    jx_buf_puts(J, &b, ", \"bos_token\": ");
    put_json_str(J, &b, c->bos, c->bos_len);
    jx_buf_puts(J, &b, ", \"eos_token\": ");
    put_json_str(J, &b, c->eos, c->eos_len);
    if (c->extra) {
        /* the object's members, after the others: a repeated key wins */
        const char *open = strchr(c->extra, '{'), *close = strrchr(c->extra, '}');
        size_t i = (size_t)(open - c->extra) + 1;
        while (c->extra + i < close && strchr(" \t\r\n", c->extra[i]))
            i++;
        if (c->extra + i < close) {
            jx_buf_puts(J, &b, ", ");
            jx_buf_put(J, &b, c->extra + i, (size_t)(close - c->extra) - i);
        }
    }
    jx_buf_puts(J, &b, "}");
    c->out = strdup(b.p);
    if (!c->out) {
        J->status = HEED_ERR_NOMEM;
        jx_fail(J, SIZE_MAX, "out of memory");
    }
}

static const char *token_text(const heed_vocab *v, int32_t id, size_t *len)
{
    *len = 0;
    if (!v || id < 0)
        return "";
    const char *t = heed_vocab_token_text(v, id, len);
    return t ? t : "";
}

heed_status heed_chat_context(const heed_vocab *v, const char *messages_json,
                              const char *tools_json, bool add_generation_prompt,
                              const char *extra_json, char **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "chat context: no output pointer");
    *out = NULL;
    context_job c = {.messages = messages_json, .tools = tools_json, .extra = extra_json,
                     .add_generation_prompt = add_generation_prompt};
    c.bos = token_text(v, v ? heed_vocab_bos(v) : -1, &c.bos_len);
    c.eos = token_text(v, v ? heed_vocab_eos(v) : -1, &c.eos_len);
    const heed_status st = run("chat context", &jx_default_limits, context, &c);
    if (st)
        return st;
    *out = c.out;
    return HEED_OK;
}
