/*
 * chat_parser.c — the streaming parser of heed.h (heed_chat_parser_*): on
 * each feed the output so far is parsed again from the last point where
 * everything before was sure (chat_parse.c gives only what is sure), and
 * what the message holds past what was sent goes out as OpenAI deltas.
 * The final message is a parse of the whole output from its start.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gen/chat_parse.h"
#include "gen/json_text.h"
#include "util/error.h"
#include "util/splitmix.h"

enum { ID_LEN = 32 };

struct heed_chat_parser {
    chat_fmt fmt;
    bool calls, reasoning, think_open, finished;
    chat_tools *tools;
    strbuf text;
    chat_msg live;        /* the message so far, kept between feeds */
    chat_resume resume;   /* where the next feed's parse starts */
    size_t sent_content, sent_reasoning;
    int sent_calls;
    char *ids;     /* the sent calls' ids, ID_LEN + 1 bytes each */
    uint64_t rng;
};

void heed_chat_parser_free(heed_chat_parser *p)
{
    if (!p)
        return;
    chat_tools_free(p->tools);
    sb_free(&p->text);
    chat_msg_free(&p->live);
    free(p->ids);
    free(p);
}

heed_status heed_chat_parser_new(const heed_chat_parse_params *p, heed_chat_parser **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "chat parser: out is NULL");
    *out = NULL;
    if (!p)
        return heed_fail(HEED_ERR_ARG, "chat parser: no parameters");
    const chat_fmt fmt = chat_fmt_named(p->format);
    if (fmt == CF_COUNT)
        return heed_fail(HEED_ERR_ARG, "chat parser: unknown format '%.40s' (%s)",
                         p->format ? p->format : "(null)", heed_chat_format_names());
    const char *rf = p->reasoning_format ? p->reasoning_format : "auto";
    if (strcmp(rf, "auto") && strcmp(rf, "deepseek") && strcmp(rf, "none"))
        return heed_fail(HEED_ERR_ARG, "chat parser: unknown reasoning format '%.40s' (auto, "
                         "deepseek, none)", rf);
    heed_chat_parser *c = calloc(1, sizeof *c);
    if (!c)
        return heed_fail(HEED_ERR_NOMEM, "chat parser: out of memory");
    c->fmt = fmt;
    c->calls = p->tool_calls;
    c->reasoning = strcmp(rf, "none") != 0;
    c->think_open = fmt != CF_GPT_OSS && chat_prompt_opens(p->prompt, chat_fmts[fmt].think_open);
    c->rng = p->id_seed;
    while (!c->rng && getrandom(&c->rng, sizeof c->rng, 0) != sizeof c->rng)
        c->rng = 0;
    heed_status st = p->tools ? chat_tools_new(p->tools, &c->tools) : HEED_OK;
    if (st) {
        heed_chat_parser_free(c);
        return st;
    }
    *out = c;
    return HEED_OK;
}

/* ------------------------------------------------------------ the JSON */

static void member_string(strbuf *o, const char *key, const char *s, size_t n)
{
    json_put_string(o, key, strlen(key));
    sb_putc(o, ':');
    json_put_string(o, s, n);
}

static void delta_text(strbuf *o, const char *key, const char *s, size_t n)
{
    sb_puts(o, o->n > 1 ? ",{" : "{");
    member_string(o, key, s, n);
    sb_putc(o, '}');
}

/* The id of call i (sent calls keep theirs). */
static const char *call_id(heed_chat_parser *p, const chat_call *c, int i)
{
    return c->id ? c->id : p->ids + (size_t)i * (ID_LEN + 1);
}

/* The deltas from what was sent to m, into o ("[...]"); the new calls get
 * their ids. false when out of memory. */
static bool deltas(heed_chat_parser *p, const chat_msg *m, strbuf *o)
{
    sb_putc(o, '[');
    if (m->reasoning.n > p->sent_reasoning)
        delta_text(o, "reasoning_content", m->reasoning.s + p->sent_reasoning,
                   m->reasoning.n - p->sent_reasoning);
    if (m->content.n > p->sent_content)
        delta_text(o, "content", m->content.s + p->sent_content,
                   m->content.n - p->sent_content);
    p->sent_reasoning = m->reasoning.n > p->sent_reasoning ? m->reasoning.n : p->sent_reasoning;
    p->sent_content = m->content.n > p->sent_content ? m->content.n : p->sent_content;
    if (m->n_calls > p->sent_calls) {
        char *ids = realloc(p->ids, (size_t)m->n_calls * (ID_LEN + 1));
        if (!ids)
            return false;
        p->ids = ids;
    }
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char num[24];
    for (int i = p->sent_calls; i < m->n_calls; i++) {
        const chat_call *c = &m->calls[i];
        char *id = p->ids + (size_t)i * (ID_LEN + 1);
        for (int k = 0; k < ID_LEN; k++)
            id[k] = alnum[heed_splitmix64(&p->rng) % 62];
        id[ID_LEN] = 0;
        snprintf(num, sizeof num, "%d", i);
        sb_puts(o, o->n > 1 ? ",{" : "{");
        sb_puts(o, "\"tool_calls\":[{\"index\":");
        sb_puts(o, num);
        sb_putc(o, ',');
        member_string(o, "id", call_id(p, c, i), strlen(call_id(p, c, i)));
        sb_puts(o, ",\"type\":\"function\",\"function\":{");
        member_string(o, "name", c->name, strlen(c->name));
        sb_puts(o, ",\"arguments\":\"\"}}]},{\"tool_calls\":[{\"index\":");
        sb_puts(o, num);
        sb_puts(o, ",\"function\":{");
        member_string(o, "arguments", c->args, strlen(c->args));
        sb_puts(o, "}}]}");
    }
    p->sent_calls = m->n_calls > p->sent_calls ? m->n_calls : p->sent_calls;
    sb_putc(o, ']');
    return !o->oom;
}

static void message(heed_chat_parser *p, const chat_msg *m, strbuf *o)
{
    sb_puts(o, "{\"role\":\"assistant\",\"content\":");
    if (m->content.n || !m->n_calls)
        json_put_string(o, m->content.s, m->content.n);
    else
        sb_puts(o, "null");
    if (m->reasoning.n) {
        sb_putc(o, ',');
        member_string(o, "reasoning_content", m->reasoning.s, m->reasoning.n);
    }
    if (m->n_calls)
        sb_puts(o, ",\"tool_calls\":[");
    for (int i = 0; i < m->n_calls; i++) {
        const chat_call *c = &m->calls[i];
        sb_puts(o, i ? ",{" : "{");
        member_string(o, "id", call_id(p, c, i), strlen(call_id(p, c, i)));
        sb_puts(o, ",\"type\":\"function\",\"function\":{");
        member_string(o, "name", c->name, strlen(c->name));
        sb_putc(o, ',');
        member_string(o, "arguments", c->args, strlen(c->args));
        sb_puts(o, "}}");
    }
    sb_puts(o, m->n_calls ? "]}" : "}");
}

/* ------------------------------------------------------------- parsing */

/* Parses the text (final: all of it, from the start; else from the last
 * resume point into p->live) into m, and the deltas since the last. */
static heed_status parse(heed_chat_parser *p, bool final, chat_msg *m, char **delta_json)
{
    chat_scan s = {p->text.s ? p->text.s : "", p->text.n, final, p->fmt, p->calls, p->tools, m,
                   final ? NULL : &p->resume};
    strbuf o = {0};
    if (!chat_parse(&s, p->think_open, p->reasoning) || !deltas(p, m, &o)) {
        sb_free(&o);
        return heed_fail(HEED_ERR_NOMEM, "chat parser: out of memory");
    }
    if (delta_json && !(*delta_json = sb_take(&o)))
        return heed_fail(HEED_ERR_NOMEM, "chat parser: out of memory");
    sb_free(&o);
    return HEED_OK;
}

heed_status heed_chat_parser_feed(heed_chat_parser *p, const char *text, size_t len,
                                  char **delta_json)
{
    if (delta_json)
        *delta_json = NULL;
    if (!p || (!text && len) || !delta_json)
        return heed_fail(HEED_ERR_ARG, "chat parser: NULL argument");
    if (p->finished)
        return heed_fail(HEED_ERR_ARG, "chat parser: fed after heed_chat_parser_finish");
    sb_add(&p->text, text, len);
    if (p->text.oom)
        return heed_fail(HEED_ERR_NOMEM, "chat parser: out of memory");
    return parse(p, false, &p->live, delta_json);
}

heed_status heed_chat_parser_finish(heed_chat_parser *p, char **delta_json, char **msg_json)
{
    if (delta_json)
        *delta_json = NULL;
    if (msg_json)
        *msg_json = NULL;
    if (!p || !msg_json)
        return heed_fail(HEED_ERR_ARG, "chat parser: NULL argument");
    if (p->finished)
        return heed_fail(HEED_ERR_ARG, "chat parser: finished twice");
    p->finished = true;
    chat_msg m = {0};
    heed_status st = parse(p, true, &m, delta_json);
    strbuf o = {0};
    if (!st) {
        message(p, &m, &o);
        if (!(*msg_json = sb_take(&o)))
            st = heed_fail(HEED_ERR_NOMEM, "chat parser: out of memory");
    }
    if (st && delta_json) {
        free(*delta_json);
        *delta_json = NULL;
    }
    chat_msg_free(&m);
    return st;
}

heed_status heed_chat_parse(const heed_chat_parse_params *params, const char *text, size_t len,
                            char **msg_json)
{
    if (msg_json)
        *msg_json = NULL;
    heed_chat_parser *p;
    heed_status st = heed_chat_parser_new(params, &p);
    if (!st && (text || !len))
        sb_add(&p->text, text, len);
    if (!st && (p->text.oom || (!text && len)))
        st = heed_fail(p->text.oom ? HEED_ERR_NOMEM : HEED_ERR_ARG, "chat parser: %s",
                       p->text.oom ? "out of memory" : "text is NULL");
    if (!st)
        st = heed_chat_parser_finish(p, NULL, msg_json);
    heed_chat_parser_free(p);
    return st;
}
