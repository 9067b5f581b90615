/* serve_chat.c — a chat request's messages to its prompt text, as
 * llama-server makes it: the model's Jinja template (or
 * --chat-template-file's) renders the messages as the client sent them,
 * with content parts joined and tool calls' JSON-string arguments given as
 * the objects they spell; a leading bos_token and a trailing eos_token are
 * then dropped, since tokenizing adds the model's own. --chat-template
 * NAME renders with a built-in format instead, and an encoder-decoder with
 * no template takes its messages joined by newlines. */
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

/* A JSON-string argument that spells JSON becomes that JSON, kept as
 * written (a raw item: 1.0 stays 1.0 for the template). */
static bool object_arguments(cJSON *msg, serve_reply *out)
{
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"), *c;
    if (!cJSON_IsArray(calls))
        return true;
    cJSON_ArrayForEach(c, calls) {
        cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (!cJSON_IsString(args))
            continue;
        cJSON *parsed = cJSON_Parse(args->valuestring);
        const bool spells_json = parsed != NULL;
        cJSON_Delete(parsed);
        if (!spells_json)
            continue;
        cJSON *raw = cJSON_CreateRaw(args->valuestring);
        if (!raw || !cJSON_ReplaceItemInObjectCaseSensitive(fn, "arguments", raw)) {
            cJSON_Delete(raw);
            no_memory(out);
            return false;
        }
    }
    return true;
}

/* The messages as templates get them; NULL after a 400 or 500. */
static cJSON *template_messages(const cJSON *msgs, serve_reply *out)
{
    const int n = cJSON_IsArray(msgs) ? cJSON_GetArraySize(msgs) : 0;
    if (n < 1 || n > 1024) {
        bad(out, "'%s' must be an array of 1 to 1024 messages", "messages");
        return NULL;
    }
    cJSON *copy = cJSON_Duplicate(msgs, true), *m;
    if (!copy) {
        no_memory(out);
        return NULL;
    }
    cJSON_ArrayForEach(m, copy) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
            (!cJSON_IsString(content) && !cJSON_IsNull(content) && !cJSON_IsArray(content))) {
            bad(out, "'%s' must be objects with a string 'role' and a 'content' that is a "
                     "string, an array of content parts, or null", "messages");
            cJSON_Delete(copy);
            return NULL;
        }
        if (cJSON_IsArray(content)) {
            char *text = join_parts(content, out);
            cJSON *s = text ? cJSON_CreateString(text) : NULL;
            free(text);
            if (!s || !cJSON_ReplaceItemInObjectCaseSensitive(m, "content", s)) {
                if (text && !s)
                    no_memory(out);
                cJSON_Delete(s);
                cJSON_Delete(copy);
                return NULL;
            }
        }
        if (!object_arguments(m, out)) {
            cJSON_Delete(copy);
            return NULL;
        }
    }
    return copy;
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

static char *render(const server *s, const cJSON *msgs, const char *tools, const cJSON *kwargs,
                    serve_reply *out)
{
    char *m = cJSON_PrintUnformatted(msgs), *extra = kwargs ? cJSON_PrintUnformatted(kwargs) : NULL;
    char *context = NULL, *text = NULL;
    heed_status st = !m || (kwargs && !extra) ? HEED_ERR_NOMEM : HEED_OK;
    if (!st)
        st = heed_chat_context(s->vocab, m, tools, true, extra, &context);
    if (!st)
        st = heed_template_render(s->chat_jinja, context, &text, NULL);
    cJSON_free(m);
    cJSON_free(extra);
    free(context);
    if (st == HEED_ERR_NOMEM)
        no_memory(out);
    else if (st)
        serve_error(out, 400, "invalid_request_error", "chat_template_error", "%s",
                    heed_last_error());
    else
        strip_special(s, text);
    return text;
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

/* The generic tool format (a template that shows none) is told to the
 * model in the system message, as llama-server tells it: the tools, and
 * to answer in JSON. */
static bool tell_generic(cJSON *msgs, const char *tools, serve_reply *out)
{
    static const char ask[] = "Respond in JSON format, either with `tool_call` (a request to "
                              "call tools) or with `response` reply to the user's request";
    static const char list[] = "You can call any of the following tools to satisfy the "
                               "user's requests: ";
    cJSON *first = cJSON_GetArrayItem(msgs, 0);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(first, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(first, "content");
    const bool system = cJSON_IsString(role) && !strcmp(role->valuestring, "system") &&
                        cJSON_IsString(content);
    const char *before = system ? content->valuestring : "";
    const size_t n = strlen(before) + sizeof list + strlen(tools) + sizeof ask + 4;
    char *text = malloc(n);
    if (!text) {
        no_memory(out);
        return false;
    }
    snprintf(text, n, "%s%s%s%s\n\n%s", before, *before ? "\n\n" : "", list, tools, ask);
    cJSON *str = cJSON_CreateString(text), *msg = system ? NULL : cJSON_CreateObject();
    free(text);
    bool ok = str != NULL;
    if (ok && system)
        ok = cJSON_ReplaceItemInObjectCaseSensitive(first, "content", str);
    else if (ok && msg) {
        cJSON_AddStringToObject(msg, "role", "system");
        cJSON_AddItemToObject(msg, "content", str);
        ok = cJSON_InsertItemInArray(msgs, 0, msg);
    } else {
        cJSON_Delete(str);
        ok = false;
    }
    if (!ok)
        no_memory(out);
    return ok;
}

char *serve_chat_prompt(const server *s, const cJSON *msgs, const char *tools,
                        const cJSON *kwargs, bool *special, serve_reply *out)
{
    if (kwargs && !cJSON_IsNull(kwargs) && !cJSON_IsObject(kwargs)) {
        bad(out, "'%s' must be an object", "chat_template_kwargs");
        return NULL;
    }
    cJSON *m = template_messages(msgs, out);
    if (!m)
        return NULL;
    if (tools && !strcmp(s->chat_format, "generic") && !tell_generic(m, tools, out)) {
        cJSON_Delete(m);
        return NULL;
    }
    char *text = s->chat_jinja ? render(s, m, tools, cJSON_IsObject(kwargs) ? kwargs : NULL, out)
                               : render_builtin(s, m, out);
    cJSON_Delete(m);
    /* a template's markup is special tokens; joined messages are plain text */
    *special = s->chat_jinja || s->chat_template;
    return text;
}
