/*
 * chat_parse.c — the left-to-right parse of chat_parse.h: the reasoning
 * block at the start, then content with tool calls found by their
 * markers; and the helpers the call parsers share.
 */
#include "gen/chat_parse.h"

#include <stdlib.h>
#include <string.h>

#include "gen/json_text.h"
#include "text/unicode.h"

/* A marker: where a call (fn) starts, or a tag that is dropped from the
 * content (fn NULL). */
typedef struct marker {
    const char *text;
    chat_call_fn fn;
} marker;

#define MAX_MARKERS 5

/* lead: text dropped where the output begins with it; start: a call the
 * output may begin with, tried there. */
static const struct spec {
    const char *lead;
    chat_call_fn start;
    marker markers[MAX_MARKERS];
} specs[CF_COUNT] = {
    [CF_GENERIC] = {NULL, chat_call_generic, {{0}}},
    [CF_HERMES] = {NULL, NULL, {{"<tool_call>", chat_call_hermes},
                          {"<function=", chat_call_function_tag},
                          {"<function name=\"", chat_call_function_tag}}},
    [CF_QWEN3_CODER] = {NULL, NULL, {{"<tool_call>", chat_call_qwen3_coder}}},
    [CF_SEED_OSS] = {NULL, NULL, {{"<seed:tool_call>", chat_call_qwen3_coder}}},
    [CF_GLM_4_5] = {NULL, NULL, {{"<tool_call>", chat_call_glm}}},
    [CF_LLAMA3] = {NULL, chat_call_llama3_json,
                   {{"<|python_tag|>", chat_call_python_tag}}},
    [CF_MISTRAL_NEMO] = {NULL, NULL, {{"[TOOL_CALLS]", chat_call_mistral}}},
    [CF_MISTRAL] = {NULL, NULL, {{"[TOOL_CALLS]", chat_call_mistral}}},
    [CF_FUNCTIONARY_V31] = {NULL, NULL, {{"<function=", chat_call_function_tag},
                                   {"<|python_tag|>", chat_call_python_code}}},
    [CF_FUNCTIONARY_V32] = {"all\n", chat_call_functionary_v32,
                            {{">>>", chat_call_functionary_v32}}},
    [CF_FIREFUNCTION_V2] = {NULL, NULL, {{" functools[", chat_call_json_array}}},
    [CF_COMMAND_R7B] = {NULL, NULL, {{"<|START_ACTION|>", chat_call_command_r7b},
                               {"<|START_RESPONSE|>", NULL},
                               {"<|END_RESPONSE|>", NULL}}},
    /* DeepSeek's distilled models write the block's opening in variants */
    [CF_DEEPSEEK_R1] = {NULL, NULL, {{"<｜tool▁calls▁begin｜>", chat_call_deepseek},
                               {"<｜tool_calls_begin｜>", chat_call_deepseek},
                               {"<｜tool calls begin｜>", chat_call_deepseek},
                               {"<｜tool\\_calls\\_begin｜>", chat_call_deepseek},
                               {"<｜tool▁calls｜>", chat_call_deepseek}}},
    [CF_DEEPSEEK_V31] = {NULL, NULL, {{"<｜tool▁calls▁begin｜>", chat_call_deepseek},
                                {"<｜tool_calls_begin｜>", chat_call_deepseek},
                                {"<｜tool calls begin｜>", chat_call_deepseek},
                                {"<｜tool\\_calls\\_begin｜>", chat_call_deepseek},
                                {"<｜tool▁calls｜>", chat_call_deepseek}}},
    [CF_KIMI_K2] = {NULL, NULL, {{"<|tool_calls_section_begin|>", chat_call_kimi_k2}}},
    [CF_GRANITE] = {NULL, NULL, {{"<|tool_call|>", chat_call_json_array},
                           {"<response>", NULL},
                           {"</response>", NULL}}},
};

/* ------------------------------------------------------------- helpers */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

size_t chat_ws(const chat_scan *s, size_t i)
{
    while (i < s->n && is_space(s->s[i]))
        i++;
    return i;
}

call_res chat_lit(const chat_scan *s, size_t i, const char *lit)
{
    for (; *lit; lit++, i++) {
        if (i >= s->n)
            return s->final ? CALL_BAD : CALL_MORE;
        if (s->s[i] != *lit)
            return CALL_BAD;
    }
    return CALL_OK;
}

call_res chat_expect(const chat_scan *s, size_t *i, const char *lit)
{
    *i = chat_ws(s, *i);
    const call_res r = chat_lit(s, *i, lit);
    if (r == CALL_OK)
        *i += strlen(lit);
    return r;
}

size_t chat_find(const chat_scan *s, size_t i, const char *lit)
{
    if (i >= s->n)
        return s->n;
    const char *p = memmem(s->s + i, s->n - i, lit, strlen(lit));
    return p ? (size_t)(p - s->s) : s->n;
}

call_res chat_json(const chat_scan *s, size_t i, size_t *end, strbuf *out)
{
    size_t len;
    const json_scan r = json_value(s->s + i, s->n - i, s->final, &len, out);
    *end = i + len;
    return r == JSON_OK ? CALL_OK : r == JSON_MORE ? CALL_MORE : CALL_BAD;
}

bool chat_add_call(chat_msg *m, const char *name, size_t name_len, const char *args,
                   size_t args_len, const char *id, size_t id_len)
{
    if (m->n_calls == m->cap_calls) {
        const int cap = m->cap_calls ? 2 * m->cap_calls : 4;
        chat_call *p = realloc(m->calls, sizeof *p * (size_t)cap);
        if (!p)
            return false;
        m->calls = p;
        m->cap_calls = cap;
    }
    chat_call *c = &m->calls[m->n_calls];
    c->name = strndup(name, name_len);
    c->args = strndup(args, args_len);
    c->id = id ? strndup(id, id_len) : NULL;
    if (!c->name || !c->args || (id && !c->id)) {
        free(c->name);
        free(c->args);
        free(c->id);
        return false;
    }
    m->n_calls++;
    return true;
}

call_res chat_add_call_object(chat_scan *s, const char *obj, size_t len, const char *name_key,
                              const char *args_key, const char *id_key)
{
    const char *name, *args, *id = NULL;
    size_t name_len, args_len, id_len = 0;
    strbuf nm = {0}, a = {0}, ids = {0};
    call_res r = CALL_BAD;
    if (json_member(obj, len, name_key, &name, &name_len) &&
        json_string_bytes(name, name_len, &nm) && nm.n &&
        (!id_key || !json_member(obj, len, id_key, &id, &id_len) ||
         json_string_bytes(id, id_len, &ids))) {
        if (!json_member(obj, len, args_key, &args, &args_len)) {
            args = "{}";
            args_len = 2;
        } else if (args[0] == '"') { /* a string holding the arguments' JSON */
            strbuf text = {0};
            size_t end;
            json_string_bytes(args, args_len, &text);
            if (text.s && json_value(text.s, text.n, true, &end, &a) == JSON_OK &&
                end == text.n && a.s[0] == '{') {
                args = a.s;
                args_len = a.n;
            }
            sb_free(&text);
        }
        if (args[0] == '{')
            r = chat_add_call(s->m, nm.s, nm.n, args, args_len, id ? ids.s : NULL, ids.n)
                    ? CALL_OK : CALL_BAD;
    }
    sb_free(&nm);
    sb_free(&a);
    sb_free(&ids);
    return r;
}

bool chat_prompt_opens(const char *prompt, const char *open)
{
    size_t n = prompt ? strlen(prompt) : 0;
    while (n && is_space(prompt[n - 1]))
        n--;
    const size_t len = strlen(open);
    return n >= len && !memcmp(prompt + n - len, open, len);
}

/* Forgets the calls past n (a call parser's that did not finish). */
static void drop_calls(chat_msg *m, int n)
{
    while (m->n_calls > n) {
        chat_call *c = &m->calls[--m->n_calls];
        free(c->id);
        free(c->name);
        free(c->args);
    }
}

void chat_msg_free(chat_msg *m)
{
    drop_calls(m, 0);
    free(m->calls);
    sb_free(&m->content);
    sb_free(&m->reasoning);
    *m = (chat_msg){0};
}

/* ------------------------------------------------------------ the parse */

size_t chat_held(const chat_scan *s, size_t from, const char *const *lits, int n)
{
    if (s->final)
        return 0;
    size_t hold = 0;
    for (int k = 0; k < n; k++) {
        for (size_t h = strlen(lits[k]) - 1; h > hold; h--)
            if (h <= s->n - from && !memcmp(s->s + s->n - h, lits[k], h)) {
                hold = h;
                break;
            }
    }
    for (size_t b = 1; b <= 3 && b <= s->n - from && !hold; b++) /* a character's start */
        if (heed_utf8_strict_len(s->s + s->n - b, b) < 0)
            hold = b;
    return hold;
}

/* Adds text[0..n) to b with each byte that is not part of a UTF-8
 * character as U+FFFD: pieces of the text joined in the content must not
 * make a character of bytes that were none where they stood (the stream
 * has already sent them). */
static void add_text(strbuf *b, const char *text, size_t n)
{
    size_t done = 0; /* text[done..i) is whole characters, not yet added */
    for (size_t i = 0; i < n;) {
        const int len = heed_utf8_strict_len(text + i, n - i);
        if (len > 0) {
            i += (size_t)len;
            continue;
        }
        sb_add(b, text + done, i - done);
        sb_add(b, "\xef\xbf\xbd", 3);
        done = ++i;
    }
    sb_add(b, text + done, n - done);
}

void chat_content(chat_scan *s, size_t from, size_t to)
{
    add_text(&s->m->content, s->s + from, to - from);
}

/* Notes that a later parse may start again at pos (not when final: a
 * final parse reads it all). */
static void checkpoint(chat_scan *s, int at, size_t pos, bool lstrip)
{
    if (s->resume && !s->final)
        *s->resume = (chat_resume){at, pos, lstrip, s->m->content.n, s->m->reasoning.n,
                                   s->m->n_calls};
}

/* Content and calls from pos on; at_start: pos is where the body begins;
 * skip: white space there is dropped (it follows a call). */
static void body(chat_scan *s, size_t pos, bool at_start, bool skip)
{
    const struct spec *f = &specs[s->fmt];
    chat_msg *m = s->m;
    const char *lits[MAX_MARKERS]; /* the markers looked for */
    chat_call_fn fns[MAX_MARKERS];
    int n = 0;
    for (int k = 0; k < MAX_MARKERS && f->markers[k].text; k++)
        if (s->calls || !f->markers[k].fn) {
            lits[n] = f->markers[k].text;
            fns[n++] = f->markers[k].fn;
        }
    if (at_start && f->lead) {
        const call_res r = chat_lit(s, pos, f->lead);
        if (r == CALL_MORE)
            return;
        pos += r == CALL_OK ? strlen(f->lead) : 0;
    }
    if (at_start && f->start && s->calls) {
        /* (what it adds to the content before it needs more stays: the
         * generic format's response as it comes) */
        const int n_calls = m->n_calls;
        const size_t n_content = m->content.n;
        size_t end;
        const call_res r = f->start(s, pos, 0, &end);
        if (r != CALL_OK) {
            drop_calls(m, n_calls);
            if (r == CALL_MORE)
                return;
            sb_cut(&m->content, n_content);
        } else {
            pos = end;
            skip = true;
        }
    }
    size_t next[MAX_MARKERS]; /* each marker's next place (searched again once passed) */
    for (int j = 0; j < n; j++)
        next[j] = chat_find(s, pos, lits[j]);
    for (;;) {
        /* (a parse from here drops the same white space, however much follows) */
        checkpoint(s, RESUME_BODY, pos, skip);
        pos = skip ? chat_ws(s, pos) : pos;
        skip = false;
        size_t at = s->n;
        int k = -1;
        for (int j = 0; j < n; j++) {
            if (next[j] < pos)
                next[j] = chat_find(s, pos, lits[j]);
            if (next[j] < at) {
                at = next[j];
                k = j;
            }
        }
        if (k < 0) { /* (no marker can begin before what is held) */
            const size_t end = s->n - chat_held(s, pos, lits, n);
            chat_content(s, pos, end);
            if (end > pos) /* (else the white space dropped may go on) */
                checkpoint(s, RESUME_BODY, end, false);
            return;
        }
        chat_content(s, pos, at);
        pos = at + strlen(lits[k]);
        if (!fns[k])
            continue;
        const int n_calls = m->n_calls;
        size_t end;
        const call_res r = fns[k](s, at, pos - at, &end);
        if (r == CALL_OK) {
            pos = end;
            skip = true;
            continue;
        }
        drop_calls(m, n_calls);
        if (r == CALL_MORE)
            return;
        chat_content(s, at, pos);
    }
}

/* Adds s[from..to) to the reasoning without the white space at its end,
 * nor at its start when lstrip; gives where what it added ends (from when
 * nothing). */
static size_t reason_part(chat_scan *s, size_t from, size_t to, bool lstrip)
{
    const size_t start = lstrip ? chat_ws(s, from) : from;
    while (to > start && is_space(s->s[to - 1]))
        to--;
    if (to <= start)
        return from;
    add_text(&s->m->reasoning, s->s + start, to - start);
    return to;
}

void chat_reason(chat_scan *s, size_t from, size_t to)
{
    reason_part(s, from, to, true);
}

/* The reasoning block(s) from cur, inside one (lstrip: none of it added
 * yet): where the body begins, or s->n when the text ends inside them. */
static size_t reasoning_from(chat_scan *s, size_t cur, bool lstrip)
{
    const char *open = chat_fmts[s->fmt].think_open, *close = chat_fmts[s->fmt].think_close;
    for (;;) {
        const size_t e = chat_find(s, cur, close);
        if (e == s->n) { /* still open */
            const size_t added = reason_part(s, cur, s->n - chat_held(s, cur, &close, 1), lstrip);
            checkpoint(s, RESUME_REASONING, added, lstrip && added == cur);
            return s->n;
        }
        reason_part(s, cur, e, lstrip);
        cur = chat_ws(s, e + strlen(close));
        const call_res again = chat_lit(s, cur, open);
        if (again == CALL_MORE)
            return s->n;
        if (again == CALL_BAD)
            return cur;
        cur += strlen(open);
        lstrip = true;
        checkpoint(s, RESUME_REASONING, cur, true);
    }
}

/* The reasoning block(s) at the start: where the body begins, or s->n
 * when the text ends inside them. */
static size_t reasoning_blocks(chat_scan *s, bool think_open)
{
    const size_t ws = chat_ws(s, 0);
    const char *open = chat_fmts[s->fmt].think_open;
    const call_res at_open = chat_lit(s, ws, open);
    if (at_open == CALL_MORE)
        return s->n;
    if (at_open == CALL_OK) {
        chat_content(s, 0, ws);
        return reasoning_from(s, ws + strlen(open), true);
    }
    return think_open ? reasoning_from(s, ws, true) : 0;
}

bool chat_parse(chat_scan *s, bool think_open, bool reasoning)
{
    chat_msg *m = s->m;
    const chat_resume r = s->resume ? *s->resume : (chat_resume){0};
    sb_cut(&m->content, r.content);
    sb_cut(&m->reasoning, r.reasoning);
    drop_calls(m, r.calls);
    if (s->fmt == CF_GPT_OSS)
        return chat_body_gpt_oss(s, 0, reasoning);
    if (r.at == RESUME_BODY) {
        body(s, r.pos, false, r.lstrip);
    } else {
        const size_t pos = r.at == RESUME_REASONING ? reasoning_from(s, r.pos, r.lstrip)
                           : reasoning ? reasoning_blocks(s, think_open) : 0;
        if (pos < s->n || s->final)
            body(s, pos, true, false);
    }
    return !m->content.oom && !m->reasoning.oom;
}
