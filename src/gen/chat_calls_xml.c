/*
 * chat_calls_xml.c — the call parsers of the formats that write each
 * argument in tags of its own (chat_parse.h): Qwen3-Coder and Seed-OSS
 * (<parameter=key>value</parameter>), GLM 4.5 (<arg_key>key</arg_key>
 * <arg_value>value</arg_value>). Values are text: an argument whose schema
 * says string is that text; any other is the JSON the text is, or the
 * text as a string where it is not JSON (llama.cpp's rule, which without
 * the tools is the rule for all).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "gen/chat_parse.h"
#include "gen/json_text.h"
#include "util/error.h"

struct chat_tools {
    cJSON *root; /* the request's tools: [{"type": "function", "function": {...}}] */
};

heed_status chat_tools_new(const char *json, chat_tools **out)
{
    *out = NULL;
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return heed_fail(HEED_ERR_FORMAT, "tools: not a JSON array");
    }
    if (!(*out = malloc(sizeof **out))) {
        cJSON_Delete(root);
        return heed_fail(HEED_ERR_NOMEM, "tools: out of memory");
    }
    (*out)->root = root;
    return HEED_OK;
}

void chat_tools_free(chat_tools *t)
{
    if (t)
        cJSON_Delete(t->root);
    free(t);
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool chat_schema_is_string(const cJSON *schema)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(schema, "type");
    return cJSON_IsString(type) && !strcmp(type->valuestring, "string");
}

/* Whether the schema of argument key of function name says string. */
static bool string_arg(const chat_tools *t, const char *name, const char *key, size_t key_len)
{
    const cJSON *tool, *tools = t ? t->root : NULL;
    cJSON_ArrayForEach(tool, tools)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(tool, "function");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, name))
            continue;
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(f, "parameters"), "properties");
        const cJSON *p;
        cJSON_ArrayForEach(p, props)
        {
            if (strlen(p->string) != key_len || memcmp(p->string, key, key_len))
                continue;
            return chat_schema_is_string(p);
        }
    }
    return false;
}

void chat_xml_arg(const chat_scan *s, const char *name, const char *key, size_t key_len,
                  const char *v, size_t len, strbuf *args)
{
    sb_putc(args, args->n > 1 ? ',' : '{');
    json_put_string(args, key, key_len);
    sb_putc(args, ':');
    size_t end;
    const size_t mark = args->n;
    if (!string_arg(s->tools, name, key, key_len) &&
        json_value(v, len, true, &end, args) == JSON_OK) {
        while (end < len && (blank(v[end]) || v[end] == '\n'))
            end++;
        if (end == len)
            return;
    }
    sb_cut(args, mark);
    json_put_string(args, v, len);
}

/* The text from i to literal close: CALL_OK with *at where close is. */
static call_res until(const chat_scan *s, size_t i, const char *close, size_t *at)
{
    *at = chat_find(s, i, close);
    return *at < s->n ? CALL_OK : s->final ? CALL_BAD : CALL_MORE;
}

/* A name between i and close (the text between, with no '<' or line
 * break in it). */
static call_res tag_name(const chat_scan *s, size_t i, const char *close, size_t *at)
{
    const call_res r = until(s, i, close, at);
    const size_t stop = r == CALL_OK ? *at : s->n;
    for (size_t k = i; k < stop; k++)
        if (s->s[k] == '<' || s->s[k] == '\n' || k - i > 256)
            return CALL_BAD;
    return r == CALL_OK && *at == i ? CALL_BAD : r;
}

/* Adds the call, args being its arguments so far (not closed). */
static call_res add(chat_scan *s, const char *name, size_t name_len, strbuf *args)
{
    if (args->n == 0)
        sb_putc(args, '{');
    sb_putc(args, '}');
    return !args->oom && chat_add_call(s->m, name, name_len, args->s, args->n, NULL, 0)
               ? CALL_OK : CALL_BAD;
}

/* <tool_call>\n<function=name>\n<parameter=key>\nvalue\n</parameter>\n...
 * </function>\n</tool_call>, in <seed:tool_call> for Seed-OSS; a block
 * may hold several functions. */
call_res chat_call_qwen3_coder(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    const char *close = s->fmt == CF_SEED_OSS ? "</seed:tool_call>" : "</tool_call>";
    size_t i = at + mlen, e;
    for (int n = 0;; n++) {
        call_res r = chat_expect(s, &i, close);
        if (r == CALL_OK && n) {
            *end = i;
            return CALL_OK;
        }
        if (r == CALL_MORE || (r = chat_expect(s, &i, "<function=")) != CALL_OK ||
            (r = tag_name(s, i, ">", &e)) != CALL_OK)
            return r;
        char *name = strndup(s->s + i, e - i);
        strbuf args = {0};
        i = e + 1;
        for (;;) {
            if ((r = chat_expect(s, &i, "</function>")) != CALL_BAD ||
                (r = chat_expect(s, &i, "<parameter=")) != CALL_OK ||
                (r = tag_name(s, i, ">", &e)) != CALL_OK)
                break;
            const size_t key = i, key_len = e - i;
            size_t v = e + 1, v_end, closed;
            if ((r = until(s, v, "</parameter>", &closed)) != CALL_OK)
                break;
            /* Qwen3-Coder's template writes "\n" around the value */
            const bool nl = s->fmt == CF_QWEN3_CODER;
            v_end = closed - (nl && closed > v && s->s[closed - 1] == '\n');
            v += nl && v < v_end && s->s[v] == '\n';
            if (name)
                chat_xml_arg(s, name, s->s + key, key_len, s->s + v, v_end - v, &args);
            i = closed + strlen("</parameter>");
        }
        if (r == CALL_OK)
            r = name ? add(s, name, strlen(name), &args) : CALL_BAD;
        free(name);
        sb_free(&args);
        if (r != CALL_OK)
            return r;
    }
}

/* <tool_call>name\n<arg_key>key</arg_key>\n<arg_value>value</arg_value>\n
 * ...</tool_call> (GLM 4.5 and later). */
call_res chat_call_glm(chat_scan *s, size_t at, size_t mlen, size_t *end)
{
    size_t i = at + mlen;
    /* the name ends at the line's end, the first key, or the call's end */
    size_t stop = i;
    while (stop < s->n && stop - i <= 256 && s->s[stop] != '\n' && s->s[stop] != '<')
        stop++;
    if (stop == s->n)
        return s->final ? CALL_BAD : CALL_MORE;
    if (s->s[stop] == '<') {
        const call_res key = chat_lit(s, stop, "<arg_key>");
        const call_res close = chat_lit(s, stop, "</tool_call>");
        if (key != CALL_OK && close != CALL_OK)
            return key == CALL_MORE || close == CALL_MORE ? CALL_MORE : CALL_BAD;
    }
    while (i < stop && blank(s->s[i]))
        i++;
    size_t name_end = stop;
    while (name_end > i && blank(s->s[name_end - 1]))
        name_end--;
    if (name_end == i || stop - i > 256)
        return CALL_BAD;
    char *name = strndup(s->s + i, name_end - i);
    strbuf args = {0};
    call_res r;
    i = stop;
    for (;;) {
        size_t e, v, v_end;
        if ((r = chat_expect(s, &i, "</tool_call>")) != CALL_BAD ||
            (r = chat_expect(s, &i, "<arg_key>")) != CALL_OK ||
            (r = until(s, i, "</arg_key>", &e)) != CALL_OK)
            break;
        const size_t key = i;
        i = e + strlen("</arg_key>");
        if ((r = chat_expect(s, &i, "<arg_value>")) != CALL_OK)
            break;
        v = i;
        if ((r = until(s, v, "</arg_value>", &v_end)) != CALL_OK)
            break;
        if (name)
            chat_xml_arg(s, name, s->s + key, e - key, s->s + v, v_end - v, &args);
        i = v_end + strlen("</arg_value>");
    }
    if (r == CALL_OK) {
        r = name ? add(s, name, strlen(name), &args) : CALL_BAD;
        *end = i;
    }
    free(name);
    sb_free(&args);
    return r;
}
