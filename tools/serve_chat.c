/* serve_chat.c — a chat request's messages to its prompt text, as
 * llama-server makes it (llama.cpp c392e50's common/chat.cpp): the
 * messages as it passes them on to the template, each tool format's
 * additions (its handler's), then the template rendered with minja's
 * rewrites (serve_template.c); a leading bos_token and a trailing
 * eos_token are then dropped, since tokenizing adds the model's own.
 * --chat-template NAME renders a plain chat with a built-in format
 * instead, and an encoder-decoder with no template takes its messages
 * joined by newlines. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_error.h"
#include "serve.h"

static void bad(serve_reply *out, const char *fmt, const char *arg)
{
    serve_error(out, 400, "invalid_request_error", NULL, fmt, arg);
}

static void no_memory(serve_reply *out)
{
    serve_error(out, 500, "server_error", NULL, "out of memory");
}

/* The text parts of content, joined as llama-server joins them (a newline
 * before each part once there is text); NULL after a 400 for any other
 * part: heed's models take text only. */
static char *join_parts(const cJSON *parts, serve_reply *out)
{
    size_t len = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsString(type)) {
            bad(out, "'%s' must be objects with a string 'type'", "messages[].content");
            return NULL;
        }
        if (strcmp(type->valuestring, "text")) {
            const char *t = type->valuestring;
            if (!strcmp(t, "image_url") || !strcmp(t, "input_audio") || !strcmp(t, "image") ||
                !strcmp(t, "audio") || !strcmp(t, "input_image") || !strcmp(t, "file") ||
                !strcmp(t, "video_url"))
                serve_error(out, 400, "invalid_request_error", NULL,
                            "Content part type '%s': this model takes text only", t);
            else
                serve_error(out, 400, "invalid_request_error", NULL,
                            "Unsupported content part type '%.40s'", t);
            return NULL;
        }
        if (!cJSON_IsString(text)) {
            bad(out, "'%s' must have a string 'text'", "messages[].content[] of type text");
            return NULL;
        }
        len += strlen(text->valuestring) + 1;
    }
    char *joined = malloc(len + 1), *o = joined;
    if (!joined) {
        no_memory(out);
        return NULL;
    }
    *o = 0;
    cJSON_ArrayForEach(p, parts) {
        if (o != joined)
            *o++ = '\n';
        const char *t = cJSON_GetObjectItemCaseSensitive(p, "text")->valuestring;
        const size_t n = strlen(t);
        memcpy(o, t, n + 1);
        o += n;
    }
    return joined;
}

/* The parts of message m (the client's) a template sees, as llama-server
 * passes them (common_chat_msgs_to_json_oaicompat): role; content, a
 * string or null ("" is null), parts joined — kept as typed parts for a
 * template that wants them; reasoning_content when not empty; name;
 * tool_call_id; tool_calls, each {type, function: {name, arguments: JSON
 * text}, id}. NULL after a 400 or 500. */
static cJSON *template_message(const server *s, const cJSON *m, serve_reply *out)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
        (!cJSON_IsString(content) && !cJSON_IsNull(content) && !cJSON_IsArray(content))) {
        bad(out, "'%s' must be objects with a string 'role' and a 'content' that is a "
                 "string, an array of content parts, or null", "messages");
        return NULL;
    }
    cJSON *t = cJSON_CreateObject();
    bool ok = t && cJSON_AddStringToObject(t, "role", role->valuestring);
    if (ok && cJSON_IsArray(content) && s->caps.typed_content) {
        char *text = join_parts(content, out); /* checks the parts */
        free(text);
        if (!text) {
            cJSON_Delete(t);
            return NULL;
        }
        cJSON *parts = cJSON_AddArrayToObject(t, "content"), *p;
        cJSON_ArrayForEach(p, content) {
            cJSON *part = cJSON_CreateObject();
            ok = ok && parts && part && cJSON_AddItemToArray(parts, part) &&
                 cJSON_AddStringToObject(part, "type", "text") &&
                 cJSON_AddItemToObject(part, "text", cJSON_Duplicate(
                     cJSON_GetObjectItemCaseSensitive(p, "text"), true));
        }
    } else if (ok) {
        char *text = cJSON_IsArray(content) ? join_parts(content, out) : NULL;
        if (cJSON_IsArray(content) && !text) {
            cJSON_Delete(t);
            return NULL;
        }
        const char *c = text ? text : cJSON_IsString(content) ? content->valuestring : "";
        ok = *c ? cJSON_AddStringToObject(t, "content", c) != NULL
                : cJSON_AddNullToObject(t, "content") != NULL;
        free(text);
    }
    static const char *const strings[] = {"reasoning_content", "name", "tool_call_id"};
    for (int i = 0; i < 3 && ok; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, strings[i]);
        if (v && !cJSON_IsString(v) && !cJSON_IsNull(v)) {
            cJSON_Delete(t);
            bad(out, "'messages[].%s' must be a string", strings[i]);
            return NULL;
        }
        if (cJSON_IsString(v) && (*v->valuestring || i))
            ok = cJSON_AddStringToObject(t, strings[i], v->valuestring) != NULL;
    }
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), *c;
    if (ok && calls && !cJSON_IsNull(calls) && cJSON_GetArraySize(calls) > 0) {
        cJSON *list = cJSON_AddArrayToObject(t, "tool_calls");
        cJSON_ArrayForEach(c, calls) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") ||
                !cJSON_IsString(name) || (id && !cJSON_IsString(id))) {
                cJSON_Delete(t);
                bad(out, "'%s' must be {\"type\": \"function\", \"function\": {\"name\": ..., "
                         "\"arguments\": ...}, \"id\": ...}", "messages[].tool_calls[]");
                return NULL;
            }
            /* arguments are JSON text; an object a client sent is written so */
            char *text = cJSON_IsString(args) ? NULL : args ? cJSON_PrintUnformatted(args) : NULL;
            cJSON *tc = cJSON_CreateObject();
            cJSON *f = NULL;
            ok = ok && list && tc && cJSON_AddStringToObject(tc, "type", "function") &&
                 (f = cJSON_AddObjectToObject(tc, "function")) &&
                 cJSON_AddStringToObject(f, "name", name->valuestring) &&
                 cJSON_AddStringToObject(f, "arguments", cJSON_IsString(args) ? args->valuestring
                                                          : text ? text : "") &&
                 (!id || cJSON_AddStringToObject(tc, "id", id->valuestring));
            if (!ok || !cJSON_AddItemToArray(list, tc)) {
                cJSON_Delete(tc);
                ok = false;
            }
            cJSON_free(text);
        }
    }
    if (!ok) {
        cJSON_Delete(t);
        no_memory(out);
        return NULL;
    }
    return t;
}

/* The messages as templates get them; NULL after a 400 or 500. */
static cJSON *template_messages(const server *s, const cJSON *msgs, serve_reply *out)
{
    const int n = cJSON_IsArray(msgs) ? cJSON_GetArraySize(msgs) : 0;
    if (n < 1 || n > 1024) {
        bad(out, "'%s' must be an array of 1 to 1024 messages", "messages");
        return NULL;
    }
    cJSON *list = cJSON_CreateArray();
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        cJSON *t = list ? template_message(s, m, out) : NULL;
        if (!t || !cJSON_AddItemToArray(list, t)) {
            if (!list)
                no_memory(out);
            cJSON_Delete(t);
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

/* Drops a leading bos_token text and a trailing eos_token text. */
static void strip_special(const server *s, char *text)
{
    size_t n = strlen(text), len;
    const int32_t bos = heed_vocab_bos(s->vocab), eos = heed_vocab_eos(s->vocab);
    const char *t = bos >= 0 ? heed_vocab_token_text(s->vocab, bos, &len) : NULL;
    if (t && len && len <= n && !memcmp(text, t, len)) {
        memmove(text, text + len, n - len + 1);
        n -= len;
    }
    t = eos >= 0 ? heed_vocab_token_text(s->vocab, eos, &len) : NULL;
    if (t && len && len <= n && !memcmp(text + n - len, t, len))
        text[n - len] = 0;
}

cJSON *serve_format_context(const cJSON *tools)
{
    cJSON *extra = cJSON_CreateObject();
    char *list = tools ? serve_json_indent2(tools) : strdup("");
    const bool ok = list && extra &&
                    cJSON_AddStringToObject(extra, "datetime", "Jan 29 2025 13:00:00 GMT") &&
                    cJSON_AddStringToObject(extra, "functions", list);
    free(list);
    if (!ok) {
        cJSON_Delete(extra);
        return NULL;
    }
    return extra;
}

/* DeepSeek R1's official template leaves a conversation dangling after
 * tool results and its calls unclosed; llama.cpp mends the prompt. */
static char *mend_deepseek_r1(const server *s, char *text, serve_reply *out)
{
    static const char call_end[] = "<｜tool▁call▁end｜>", outputs_end[] = "<｜tool▁outputs▁end｜>";
    static const char outputs_begin[] = "<｜tool▁outputs▁begin｜>", user[] = "<｜User｜>";
    static const char insert[] = "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>";
    if (!strstr(s->chat_jinja, "{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}"))
        return text;
    size_t n = strlen(text);
    /* each insertion (53 bytes) follows a call's end and precedes a turn
     * (37 bytes at least): the text at most 2.5 times as long, then the
     * ending's 51 */
    const size_t cap = 3 * n + 128;
    char *m = malloc(cap), *o = m;
    if (!m) {
        free(text);
        no_memory(out);
        return NULL;
    }
    for (const char *p = text; *p;) { /* (call_end)\s*(outputs_begin|user): insert between */
        const char *at = strstr(p, call_end);
        const size_t upto = at ? (size_t)(at - p) + strlen(call_end) : strlen(p);
        memcpy(o, p, upto);
        o += upto;
        p += upto;
        if (!at)
            break;
        const char *q = p + strspn(p, " \t\n\r\f\v");
        if (!strncmp(q, outputs_begin, strlen(outputs_begin)) || !strncmp(q, user, strlen(user))) {
            o += sprintf(o, "%s", insert);
            p = q;
        }
    }
    *o = 0;
    n = (size_t)(o - m);
    if (n >= strlen(outputs_end) && !strcmp(m + n - strlen(outputs_end), outputs_end))
        strcat(strcat(m, "<｜end▁of▁sentence｜>"), "<｜Assistant｜>");
    free(text);
    return m;
}

/* The prompt as llama-server's chat.cpp makes it for the template's
 * format (common_chat_templates_apply_jinja): each format's handler
 * adjusts the messages or the context, then minja renders with its
 * polyfills. */
static char *render(const server *s, const cJSON *msgs, const cJSON *tools, bool calls,
                    const cJSON *kwargs, serve_reply *out)
{
    const char *fmt = s->chat_format;
    cJSON *m = cJSON_Duplicate(msgs, true), *extra = cJSON_CreateObject(), *msg;
    const cJSON *t = tools;
    bool ok = m && extra;
    if (ok && !strcmp(fmt, "firefunction-v2")) { /* a date, and the tools as text */
        cJSON_Delete(extra);
        ok = (extra = serve_format_context(tools)) != NULL;
        t = NULL;
    } else if (ok && !strcmp(fmt, "command-r7b")) { /* a call's reasoning is its tool_plan */
        cJSON_ArrayForEach(msg, m) {
            cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_content");
            if (cJSON_IsString(r) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(msg, "tool_calls")))
                ok = ok && cJSON_AddItemToObject(msg, "tool_plan",
                                                 cJSON_DetachItemViaPointer(msg, r));
        }
    } else if (ok && calls && !strcmp(fmt, "generic")) {
        cJSON *told = serve_add_system(m, "Respond in JSON format, either with `tool_call` (a "
                                          "request to call tools) or with `response` reply to "
                                          "the user's request");
        cJSON_Delete(m);
        ok = (m = told) != NULL;
    } else if (ok && calls && !strcmp(fmt, "llama3")) { /* the tools in the system turn */
        ok = cJSON_AddFalseToObject(extra, "tools_in_user_message") != NULL;
    }
    const cJSON *kw;
    cJSON_ArrayForEach(kw, kwargs) { /* the client's variables win */
        cJSON_DeleteItemFromObjectCaseSensitive(extra, kw->string);
        ok = ok && cJSON_AddItemToObject(extra, kw->string, cJSON_Duplicate(kw, true));
    }
    char *text = NULL;
    heed_status st = ok ? serve_template_apply(s, m, t, extra, true, true, &text) : HEED_ERR_NOMEM;
    cJSON_Delete(m);
    cJSON_Delete(extra);
    if (st == HEED_ERR_NOMEM)
        no_memory(out);
    else if (st)
        serve_error(out, 400, "invalid_request_error", "chat_template_error", "%s",
                    cli_error_message());
    if (st)
        return NULL;
    strip_special(s, text);
    return mend_deepseek_r1(s, text, out);
}

/* A built-in format's rendering, or the messages joined (an
 * encoder-decoder with no template). */
static char *render_builtin(const server *s, const cJSON *msgs, serve_reply *out)
{
    const int n = cJSON_GetArraySize(msgs);
    heed_chat_message *m = calloc((size_t)n, sizeof *m);
    if (!m) {
        no_memory(out);
        return NULL;
    }
    int i = 0;
    size_t len = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, msgs) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        m[i].role = cJSON_GetObjectItemCaseSensitive(e, "role")->valuestring;
        m[i].content = cJSON_IsString(c) ? c->valuestring : "";
        len += strlen(m[i++].content) + 1;
    }
    char *text = NULL;
    heed_status st = HEED_OK;
    if (s->chat_template) {
        st = heed_chat_apply(s->chat_template, m, (size_t)n, true, &text);
    } else if ((text = malloc(len))) {
        char *o = text;
        for (i = 0; i < n; i++)
            o += sprintf(o, "%s%s", i ? "\n" : "", m[i].content);
    } else {
        st = HEED_ERR_NOMEM;
    }
    free(m);
    if (st == HEED_ERR_NOMEM)
        no_memory(out);
    else if (st)
        serve_error(out, 400, "invalid_request_error", NULL, "%s", heed_last_error());
    return text;
}

char *serve_chat_prompt(const server *s, const cJSON *msgs, const char *tools, bool calls,
                        const cJSON *kwargs, bool *special, serve_reply *out)
{
    if (kwargs && !cJSON_IsNull(kwargs) && !cJSON_IsObject(kwargs)) {
        bad(out, "'%s' must be an object", "chat_template_kwargs");
        return NULL;
    }
    if (tools && !s->chat_jinja) {
        bad(out, "'%s' needs a Jinja chat template (the model's own, or --chat-template-file); "
                 "--chat-template NAME renders plain chats only", "tools");
        return NULL;
    }
    cJSON *m = template_messages(s, msgs, out);
    cJSON *t = tools ? cJSON_Parse(tools) : NULL;
    char *text = NULL;
    if (m && (!tools || t))
        text = s->chat_jinja ? render(s, m, t, calls, cJSON_IsObject(kwargs) ? kwargs : NULL, out)
                             : render_builtin(s, m, out);
    else if (m)
        no_memory(out);
    cJSON_Delete(m);
    cJSON_Delete(t);
    /* a template's markup is special tokens; joined messages are plain text */
    *special = s->chat_jinja || s->chat_template;
    return text;
}
