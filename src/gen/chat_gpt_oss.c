/*
 * chat_gpt_oss.c — gpt-oss's output (chat_parse.h): "harmony" messages,
 * each a header up to <|message|> and a body up to <|end|> (or the end),
 * joined by <|start|>assistant:
 *   <|channel|>analysis<|message|>...          reasoning
 *   <|channel|>final<|message|>...             content (commentary alike)
 *   <|channel|>commentary to=functions.f <|constrain|>json<|message|>{...}
 *    to=functions.f<|channel|>commentary json<|message|>{...}   tool calls
 * (llama.cpp's common_chat_parse_gpt_oss reads the same).
 */
#include <string.h>

#include "gen/chat_parse.h"

#define HEADER_MAX 256 /* a header longer than this is text */

static const char MESSAGE[] = "<|message|>", END[] = "<|end|>", START[] = "<|start|>assistant",
                  CHANNEL[] = "<|channel|>", RECIPIENT[] = "to=functions.";

/* The word at s[i..stop) up to a space or tag: its length. */
static size_t word_len(const char *s, size_t i, size_t stop)
{
    size_t k = i;
    while (k < stop && s[k] != ' ' && s[k] != '<')
        k++;
    return k - i;
}

/* Adds the tool call whose arguments start at i: CALL_OK with *end past
 * them (and past <|call|>). */
static call_res call(chat_scan *s, const char *name, size_t name_len, size_t i, size_t *end)
{
    strbuf a = {0};
    call_res r = chat_json(s, i, end, &a);
    if (r == CALL_OK && (a.s[0] != '{' ||
                         (s->calls && !chat_add_call(s->m, name, name_len, a.s, a.n, NULL, 0))))
        r = CALL_BAD;
    sb_free(&a);
    if (r == CALL_OK) {
        const call_res tag = chat_lit(s, *end, "<|call|>");
        if (tag == CALL_MORE)
            return CALL_MORE;
        *end += tag == CALL_OK ? strlen("<|call|>") : 0;
    }
    return r;
}

bool chat_body_gpt_oss(chat_scan *s, size_t i, bool reasoning)
{
    const char *t = s->s;
    const char *const end_lit[] = {END};
    for (;;) {
        const size_t h = chat_find(s, i, MESSAGE);
        if (h == s->n || h - i > HEADER_MAX) { /* not harmony: text, once that is sure */
            if (s->final || s->n >= i + HEADER_MAX + strlen(MESSAGE))
                chat_content(s, i, s->n - chat_held(s, i, NULL, 0));
            break;
        }
        const size_t body = h + strlen(MESSAGE);
        const char *rec = memmem(t + i, h - i, RECIPIENT, strlen(RECIPIENT));
        const char *ch = memmem(t + i, h - i, CHANNEL, strlen(CHANNEL));
        const size_t ch_at = ch ? (size_t)(ch - t) + strlen(CHANNEL) : h;
        const size_t ch_len = word_len(t, ch_at, h);
        size_t next;
        if (rec) {
            const size_t name = (size_t)(rec - t) + strlen(RECIPIENT);
            const call_res r = call(s, t + name, word_len(t, name, h), body, &next);
            if (r == CALL_MORE)
                break;
            if (r == CALL_BAD) { /* the message as text */
                const size_t e = chat_find(s, body, END);
                chat_content(s, i, e == s->n ? s->n - chat_held(s, i, end_lit, 1) : e);
                if (e == s->n)
                    break;
                next = e + strlen(END);
            }
        } else {
            const size_t e = chat_find(s, body, END);
            const size_t stop = e == s->n ? s->n - chat_held(s, body, end_lit, 1) : e;
            const bool analysis = ch_len == 8 && !memcmp(t + ch_at, "analysis", 8);
            if (analysis && reasoning)
                chat_reason(s, body, stop);
            else if (analysis) /* as written, tags and all */
                chat_content(s, i, e == s->n ? stop : e + strlen(END));
            else
                chat_content(s, body, stop);
            if (e == s->n)
                break;
            next = e + strlen(END);
        }
        const call_res more = chat_lit(s, next, START);
        if (more == CALL_OK) {
            i = next + strlen(START);
            continue;
        }
        if (more == CALL_BAD || s->final)
            chat_content(s, next, s->n - chat_held(s, next, NULL, 0));
        break;
    }
    chat_msg *m = s->m;
    return !m->content.oom && !m->reasoning.oom;
}
