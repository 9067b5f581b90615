/*
 * chat_calls.c — the call parsers of the formats whose arguments are JSON
 * (chat_parse.h): what follows each format's marker, as the model's chat
 * template writes it and llama.cpp's common/chat.cpp reads it.
 */
#include <string.h>

#include "gen/chat_parse.h"
#include "gen/json_text.h"

#define NAME_MAX_LEN 256

/* A name from i to the first byte of stops: CALL_OK with *end there,
 * CALL_BAD for white space or an empty or over-long name, CALL_MORE when
 * the text ends first. */
static call_res name_until(const chat_scan *s, size_t i, const char *stops, size_t *end)
{
    for (size_t k = i; k < s->n && k - i <= NAME_MAX_LEN; k++) {
        const char c = s->s[k];
        if (strchr(stops, c) && c) {
            *end = k;
            return k > i ? CALL_OK : CALL_BAD;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<' || c == '>' ||
            c == '{' || c == '"')
            return CALL_BAD;
    }
    return s->n - i > NAME_MAX_LEN || s->final ? CALL_BAD : CALL_MORE;
}

/* A JSON object at i: the arguments of call name. */
static call_res args_object(chat_scan *s, size_t i, const char *name, size_t name_len,
                            size_t *end)
{
    strbuf a = {0};
    call_res r = chat_json(s, i, end, &a);
    if (r == CALL_OK)
        r = a.s[0] != '{' ? CALL_BAD
            : chat_add_call(s->m, name, name_len, a.s, a.n, NULL, 0) ? CALL_OK : CALL_BAD;
    sb_free(&a);
    return r;
}

/* <tool_call>{"name": ..., "arguments": ...}</tool_call> (Hermes, Qwen) */
call_res chat_call_hermes(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    strbuf obj = {0};
    size_t i;
    call_res r = chat_json(s, at + mlen, &i, &obj);
    if (r == CALL_OK)
        r = chat_add_call_object(s, obj.s, obj.n, "name", "arguments", NULL);
    sb_free(&obj);
    if (r == CALL_OK && (r = chat_expect(s, &i, "</tool_call>")) == CALL_OK)
        *end = i;
    return r;
}

/* <function=name>{...}</function> or <function name="name">{...}</function> */
call_res chat_call_function_tag(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    const bool quoted = s->s[at + mlen - 1] == '"';
    const size_t i = at + mlen;
    size_t e;
    call_res r = name_until(s, i, quoted ? "\"" : ">", &e);
    if (r == CALL_OK && quoted)
        r = chat_lit(s, e + 1, ">");
    if (r != CALL_OK)
        return r;
    size_t j;
    r = args_object(s, e + 1 + quoted, s->s + i, e - i, &j);
    if (r == CALL_OK && (r = chat_expect(s, &j, "</function>")) == CALL_OK)
        *end = j;
    return r;
}

/* {"response": "..."}: its text goes to the content as it comes (the
 * string's characters so far, which no later text changes); where the
 * text stops being that object, the rest is content as written. */
static call_res generic_response(chat_scan *s, size_t i, size_t *end)
{
    static const char *const head[] = {"{", "\"response\"", ":", "\""};
    for (int k = 0; k < 4; k++) {
        i = chat_ws(s, i);
        const call_res r = chat_lit(s, i, head[k]);
        if (r != CALL_OK)
            return r;
        i += k < 3 ? strlen(head[k]) : 0;
    }
    size_t e;
    const json_scan r = json_string_prefix(s->s + i, s->n - i, s->final, &e, &s->m->content);
    *end = i + e;
    if (r == JSON_MORE)
        return CALL_MORE;
    if (r == JSON_OK) {
        size_t j = *end;
        const call_res close = chat_expect(s, &j, "}");
        if (close == CALL_MORE)
            return CALL_MORE;
        *end = close == CALL_OK ? j : *end;
    }
    return CALL_OK;
}

/* The generic format's one JSON object: {"tool_calls": [...]},
 * {"tool_call": {...}} or {"response": ...} (llama.cpp's schema). */
call_res chat_call_generic(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    const call_res response = generic_response(s, at + mlen, end);
    if (response != CALL_BAD)
        return response;
    strbuf obj = {0};
    call_res r = chat_json(s, at + mlen, end, &obj);
    const char *v;
    size_t len;
    if (r != CALL_OK || obj.s[0] != '{') {
        r = r == CALL_OK ? CALL_BAD : r;
    } else if (json_member(obj.s, obj.n, "tool_calls", &v, &len) && v[0] == '[') {
        const char *item;
        size_t item_len, pos = 0;
        while (r == CALL_OK && json_next_item(v, len, &pos, &item, &item_len))
            r = chat_add_call_object(s, item, item_len, "name", "arguments", "id");
    } else if (json_member(obj.s, obj.n, "tool_call", &v, &len)) {
        r = chat_add_call_object(s, v, len, "name", "arguments", "id");
    } else {
        r = CALL_BAD;
    }
    sb_free(&obj);
    return r;
}

/* Llama 3.x's call: {"name": ..., "parameters": {...}} (with "type":
 * "function" before, or "arguments" for "parameters", as models write
 * it), at the start of the output only. */
call_res chat_call_llama3_json(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    const size_t i = chat_ws(s, at + mlen);
    if (i == s->n)
        return s->final ? CALL_BAD : CALL_MORE;
    if (s->s[i] != '{')
        return CALL_BAD;
    strbuf obj = {0};
    call_res r = chat_json(s, i, end, &obj);
    if (r == CALL_OK) {
        const char *v, *item;
        size_t len, item_len, pos = 0;
        int n = 0;
        while (json_next_item(obj.s, obj.n, &pos, &item, &item_len))
            n++;
        const bool type = json_member(obj.s, obj.n, "type", &v, &len) && len == 10 &&
                          !memcmp(v, "\"function\"", 10);
        const bool params = json_member(obj.s, obj.n, "parameters", &v, &len);
        const bool args = json_member(obj.s, obj.n, "arguments", &v, &len);
        r = params != args && n == 2 + type
                ? chat_add_call_object(s, obj.s, obj.n, "name", params ? "parameters" : "arguments",
                                       NULL)
                : CALL_BAD;
    }
    sb_free(&obj);
    return r;
}

static bool word_char(char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A word (\w+) at i: CALL_OK with *end past it, CALL_MORE when the text
 * ends in it, CALL_BAD when there is none. */
static call_res word(const chat_scan *s, size_t i, size_t *end)
{
    size_t k = i;
    while (k < s->n && word_char(s->s[k]) && k - i <= NAME_MAX_LEN)
        k++;
    *end = k;
    if (k == s->n && !s->final && k - i <= NAME_MAX_LEN)
        return CALL_MORE;
    return k > i && k - i <= NAME_MAX_LEN ? CALL_OK : CALL_BAD;
}

/* <|python_tag|>name.call(key=value, ...), Llama 3.1's built-in tools, or
 * a JSON call after the tag. */
call_res chat_call_python_tag(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    size_t i = chat_ws(s, at + mlen), e;
    if (i < s->n && s->s[i] == '{')
        return chat_call_llama3_json(s, i, 0, end);
    call_res r = word(s, i, &e);
    const size_t name = i, name_len = e - i;
    i = e;
    if (r != CALL_OK || (r = chat_expect(s, &i, ".")) != CALL_OK ||
        (r = chat_expect(s, &i, "call(")) != CALL_OK)
        return r;
    strbuf a = {0};
    sb_putc(&a, '{');
    for (int k = 0;; k++) {
        if ((r = chat_expect(s, &i, ")")) != CALL_BAD)
            break;
        if (k && (r = chat_expect(s, &i, ",")) != CALL_OK)
            break;
        i = chat_ws(s, i);
        const size_t key = i;
        if ((r = word(s, key, &e)) != CALL_OK)
            break;
        i = e;
        if ((r = chat_expect(s, &i, "=")) != CALL_OK)
            break;
        sb_puts(&a, k ? "," : "");
        json_put_string(&a, s->s + key, e - key);
        sb_putc(&a, ':');
        if ((r = chat_json(s, i, &i, &a)) != CALL_OK)
            break;
    }
    if (r == CALL_OK) {
        sb_putc(&a, '}');
        *end = i;
        r = !a.oom && chat_add_call(s->m, s->s + name, name_len, a.s, a.n, NULL, 0) ? CALL_OK
                                                                                   : CALL_BAD;
    }
    sb_free(&a);
    return r;
}

/* Raw code to the end of the output, as the python tool's "code"
 * (Functionary's <|python_tag|>, its python call without JSON). */
call_res chat_call_python_code(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    if (!s->final)
        return CALL_MORE;
    strbuf a = {0};
    sb_puts(&a, "{\"code\":");
    json_put_string(&a, s->s + at + mlen, s->n - at - mlen);
    sb_putc(&a, '}');
    const bool ok = !a.oom && chat_add_call(s->m, "python", 6, a.s, a.n, NULL, 0);
    sb_free(&a);
    *end = s->n;
    return ok ? CALL_OK : CALL_BAD;
}

/* The items of a JSON array at i, each a call object. */
static call_res call_array(chat_scan *s, size_t i, size_t *end, const char *name_key,
                           const char *args_key, const char *id_key)
{
    strbuf arr = {0};
    call_res r = chat_json(s, i, end, &arr);
    if (r == CALL_OK && arr.s[0] != '[')
        r = CALL_BAD;
    const char *item;
    size_t len, pos = 0;
    while (r == CALL_OK && json_next_item(arr.s, arr.n, &pos, &item, &len))
        r = chat_add_call_object(s, item, len, name_key, args_key, id_key);
    sb_free(&arr);
    return r;
}

/* [TOOL_CALLS][{"name": ..., "arguments": ..., "id": ...}] (Mistral Nemo)
 * or [TOOL_CALLS]name[CALL_ID]id[ARGS]{...} (later Mistral models). */
call_res chat_call_mistral(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    size_t i = chat_ws(s, at + mlen), e;
    if (i < s->n && s->s[i] == '[')
        return call_array(s, i, end, "name", "arguments", "id");
    call_res r = name_until(s, i, "[", &e);
    if (r != CALL_OK)
        return r;
    const size_t name = i, name_len = e - i;
    size_t id = 0, id_len = 0;
    i = e;
    if ((r = chat_lit(s, i, "[CALL_ID]")) == CALL_OK) {
        id = i + 9;
        if ((r = name_until(s, id, "[", &e)) != CALL_OK)
            return r;
        id_len = e - id;
        i = e;
    }
    if (r == CALL_MORE || (r = chat_lit(s, i, "[ARGS]")) != CALL_OK)
        return r;
    strbuf a = {0};
    r = chat_json(s, i + 6, end, &a);
    if (r == CALL_OK)
        r = a.s[0] == '{' && chat_add_call(s->m, s->s + name, name_len, a.s, a.n,
                                           id_len ? s->s + id : NULL, id_len)
                ? CALL_OK : CALL_BAD;
    sb_free(&a);
    return r;
}

/* Functionary v3.2: name\n{...} at the start or after >>>; "all\n"
 * introduces text, and "python\n" code that is not JSON. */
call_res chat_call_functionary_v32(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    const size_t i = at + mlen;
    size_t e;
    call_res r = name_until(s, i, "\n", &e);
    if (r != CALL_OK)
        return r;
    for (size_t k = i; k < e; k++)
        if (!word_char(s->s[k]))
            return CALL_BAD;
    if (e - i == 3 && !memcmp(s->s + i, "all", 3)) {
        *end = e + 1;
        return CALL_OK;
    }
    if (e - i == 6 && !memcmp(s->s + i, "python", 6)) {
        if (e + 1 == s->n && !s->final)
            return CALL_MORE;
        if (e + 1 == s->n || s->s[e + 1] != '{')
            return chat_call_python_code(s, e + 1, 0, end);
    }
    return args_object(s, e + 1, s->s + i, e - i, end);
}

/*  functools[{...}] (Firefunction v2: the marker ends with the array's
 * "["), <|tool_call|>[{...}] (Granite). */
call_res chat_call_json_array(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    const size_t i = s->s[at + mlen - 1] == '[' ? at + mlen - 1 : at + mlen;
    return call_array(s, i, end, "name", "arguments", "id");
}

/* <|START_ACTION|>[{"tool_call_id": ..., "tool_name": ..., "parameters":
 * ...}]<|END_ACTION|> (Command R7B) */
call_res chat_call_command_r7b(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    size_t i;
    call_res r = call_array(s, at + mlen, &i, "tool_name", "parameters", "tool_call_id");
    if (r == CALL_OK && (r = chat_expect(s, &i, "<|END_ACTION|>")) == CALL_OK)
        *end = i;
    return r;
}

/* DeepSeek R1: <｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```
 * <｜tool▁call▁end｜>, V3.1: <｜tool▁call▁begin｜>name<｜tool▁sep｜>{...}
 * <｜tool▁call▁end｜>; as many as there are, then <｜tool▁calls▁end｜>. */
call_res chat_call_deepseek(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    static const char calls_end[] = "<｜tool▁calls▁end｜>", begin[] = "<｜tool▁call▁begin｜>",
                      sep[] = "<｜tool▁sep｜>", call_end[] = "<｜tool▁call▁end｜>";
    const bool r1 = s->fmt == CF_DEEPSEEK_R1;
    size_t i = at + mlen;
    for (;;) {
        i = chat_ws(s, i);
        const call_res done = chat_lit(s, i, calls_end), opened = chat_lit(s, i, begin);
        if (done == CALL_OK) {
            *end = i + strlen(calls_end);
            return CALL_OK;
        }
        if (opened == CALL_OK)
            i += strlen(begin); /* (models leave it out) */
        else if (done == CALL_MORE || opened == CALL_MORE)
            return CALL_MORE;
        call_res r;
        size_t e;
        if (r1) {
            static const char head[] = "function<｜tool▁sep｜>";
            if ((r = chat_lit(s, i, head)) != CALL_OK ||
                (r = name_until(s, i + strlen(head), "\n", &e)) != CALL_OK)
                return r;
            const size_t name = i + strlen(head);
            if ((r = chat_lit(s, e, "\n```json\n")) != CALL_OK ||
                (r = args_object(s, e + 9, s->s + name, e - name, &i)) != CALL_OK ||
                (r = chat_expect(s, &i, "```")) != CALL_OK)
                return r;
        } else {
            if ((r = name_until(s, i, "<", &e)) != CALL_OK ||
                (r = chat_lit(s, e, sep)) != CALL_OK ||
                (r = args_object(s, e + strlen(sep), s->s + i, e - i, &i)) != CALL_OK)
                return r;
        }
        if ((r = chat_expect(s, &i, call_end)) != CALL_OK)
            return r;
    }
}

/* <|tool_calls_section_begin|><|tool_call_begin|>functions.name:0
 * <|tool_call_argument_begin|>{...}<|tool_call_end|>...
 * <|tool_calls_section_end|> (Kimi K2; the id is the model's). */
call_res chat_call_kimi_k2(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    size_t i = at + mlen, e;
    for (;;) {
        call_res r = chat_expect(s, &i, "<|tool_calls_section_end|>");
        if (r != CALL_BAD) {
            *end = i;
            return r;
        }
        if ((r = chat_expect(s, &i, "<|tool_call_begin|>")) != CALL_OK)
            return r;
        i = chat_ws(s, i);
        if ((r = name_until(s, i, "<", &e)) != CALL_OK ||
            (r = chat_lit(s, e, "<|tool_call_argument_begin|>")) != CALL_OK)
            return r;
        const char *id = s->s + i, *name = id;
        size_t name_len = e - i;
        if (name_len > 10 && !memcmp(name, "functions.", 10)) {
            name += 10;
            name_len -= 10;
        }
        for (size_t k = name_len; k > 0; k--) /* functions.name:index */
            if (name[k - 1] == ':') {
                name_len = k - 1;
                break;
            } else if (name[k - 1] < '0' || name[k - 1] > '9') {
                break;
            }
        strbuf a = {0};
        r = chat_json(s, e + strlen("<|tool_call_argument_begin|>"), &i, &a);
        if (r == CALL_OK)
            r = name_len && a.s[0] == '{' &&
                chat_add_call(s->m, name, name_len, a.s, a.n, id, e - (size_t)(id - s->s))
                    ? CALL_OK : CALL_BAD;
        sb_free(&a);
        if (r != CALL_OK || (r = chat_expect(s, &i, "<|tool_call_end|>")) != CALL_OK)
            return r;
    }
}
