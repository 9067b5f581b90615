/* serve_template.c — a chat template applied as llama-server's minja
 * (llama.cpp c392e50, common/minja/chat-template.hpp) applies it. What the
 * template can render is probed once, by rendering small conversations
 * and looking for what they hold (minja's capabilities); a request's
 * messages are then rewritten for what it cannot (minja's polyfills): a
 * system message folded into the next user turn, the tools described in
 * the system message with an example of the template's own call syntax,
 * calls and results written as JSON content, JSON-string arguments given
 * as the objects they spell, content as typed text parts. A template that
 * needs none of that gets the messages as the client sent them. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_error.h"
#include "serve.h"

/* The text of token id as a string member of ctx ("" for none). */
static bool add_token(cJSON *ctx, const char *key, const heed_vocab *v, int32_t id)
{
    size_t len = 0;
    const char *t = id >= 0 ? heed_vocab_token_text(v, id, &len) : NULL;
    char *text = malloc(len + 1);
    if (!text)
        return false;
    memcpy(text, t ? t : "", t ? len : 0);
    text[t ? len : 0] = 0;
    const bool ok = cJSON_AddStringToObject(ctx, key, text) != NULL;
    free(text);
    return ok;
}

/* JSON text of v indented by 2, as Python's json.dumps(indent=2) (and
 * nlohmann's dump(2), which minja uses) write it; NULL when out of memory. */
char *serve_json_indent2(const cJSON *v)
{
    cJSON *ctx = cJSON_CreateObject();
    char *text = NULL;
    if (ctx && cJSON_AddItemReferenceToObject(ctx, "v", (cJSON *)v)) {
        char *json = cJSON_PrintUnformatted(ctx);
        if (json && heed_template_render("{{ v | tojson(indent=2) }}", json, &text, NULL))
            text = NULL;
        cJSON_free(json);
    }
    cJSON_Delete(ctx);
    return text;
}

/* The messages with system_prompt as the first message's content (after
 * its own, if it is a system message) or in a system message put first. */
cJSON *serve_add_system(const cJSON *msgs, const char *system_prompt)
{
    cJSON *out = cJSON_Duplicate(msgs, true);
    const cJSON *first = cJSON_GetArrayItem(out, 0);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(first, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(first, "content");
    const bool joins = cJSON_IsString(role) && !strcmp(role->valuestring, "system");
    const char *before = joins && cJSON_IsString(content) ? content->valuestring : "";
    const size_t n = strlen(before) + strlen(system_prompt) + 3;
    char *text = malloc(n);
    if (text)
        snprintf(text, n, "%s%s%s", before, joins ? "\n\n" : "", system_prompt);
    cJSON *sys = cJSON_CreateObject();
    const bool ok = out && text && sys && cJSON_AddStringToObject(sys, "role", "system") &&
                    cJSON_AddStringToObject(sys, "content", text) &&
                    (joins ? cJSON_ReplaceItemInArray(out, 0, sys)
                           : cJSON_InsertItemInArray(out, 0, sys));
    free(text);
    if (!ok) {
        cJSON_Delete(sys);
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

/* Parses each function call's JSON-string arguments in place, kept as
 * written (a raw item: 1.0 stays 1.0 for the template); left as they are
 * where they are not JSON. */
static void parse_arguments(cJSON *calls)
{
    cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
        cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "function") ||
            !cJSON_IsString(args))
            continue;
        cJSON *parsed = cJSON_ParseWithOpts(args->valuestring, NULL, true); /* all of it */
        cJSON *raw = parsed ? cJSON_CreateRaw(args->valuestring) : NULL;
        cJSON_Delete(parsed);
        if (raw && !cJSON_ReplaceItemInObjectCaseSensitive(fn, "arguments", raw))
            cJSON_Delete(raw);
    }
}

/* Replaces m's content with obj written as JSON (indent 2); false when out
 * of memory. Takes obj. */
static bool content_as_json(cJSON *m, cJSON *obj)
{
    char *text = obj ? serve_json_indent2(obj) : NULL;
    cJSON *s = text ? cJSON_CreateString(text) : NULL;
    free(text);
    cJSON_Delete(obj);
    if (s && cJSON_GetObjectItemCaseSensitive(m, "content"))
        return cJSON_ReplaceItemInObjectCaseSensitive(m, "content", s) || (cJSON_Delete(s), false);
    return s && (cJSON_AddItemToObject(m, "content", s) || (cJSON_Delete(s), false));
}

/* A tool call message's calls as minja writes them for a template that
 * cannot: {"tool_calls": [{"name", "arguments", "id"}], "content"}. */
static bool calls_as_content(cJSON *m)
{
    cJSON *obj = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(obj, "tool_calls"), *c;
    bool ok = list != NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m, "tool_calls")) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "function"))
            continue;
        cJSON *tc = cJSON_CreateObject();
        ok = ok && tc && cJSON_AddItemToArray(list, tc) &&
             cJSON_AddItemToObject(tc, "name", cJSON_Duplicate(
                 cJSON_GetObjectItemCaseSensitive(fn, "name"), true)) &&
             cJSON_AddItemToObject(tc, "arguments", cJSON_Duplicate(
                 cJSON_GetObjectItemCaseSensitive(fn, "arguments"), true)) &&
             (!id || cJSON_AddItemToObject(tc, "id", cJSON_Duplicate(id, true)));
    }
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (ok && content && !cJSON_IsNull(content) &&
        !(cJSON_IsString(content) && !*content->valuestring))
        ok = cJSON_AddItemToObject(obj, "content", cJSON_Duplicate(content, true));
    cJSON_DeleteItemFromObjectCaseSensitive(m, "tool_calls");
    return ok ? content_as_json(m, obj) : (cJSON_Delete(obj), false);
}

/* A tool result as minja writes it for a template that cannot: a user
 * message of {"tool_response": {"content", "name", "tool_call_id"}}. */
static bool response_as_user(cJSON *m)
{
    cJSON *obj = cJSON_CreateObject(), *r = cJSON_AddObjectToObject(obj, "tool_response");
    static const char *const keys[] = {"content", "name", "tool_call_id"};
    bool ok = r != NULL;
    for (int k = 0; k < 3 && ok; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[k]);
        if (v || !k)
            ok = cJSON_AddItemToObject(r, keys[k], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    }
    cJSON_DeleteItemFromObjectCaseSensitive(m, "name");
    ok = ok && cJSON_ReplaceItemInObjectCaseSensitive(m, "role", cJSON_CreateString("user"));
    return ok ? content_as_json(m, obj) : (cJSON_Delete(obj), false);
}

/* Appends m (taken) to out, its string content as one text part where the
 * template wants typed content (minja keeps only role and content then). */
static bool add_message(cJSON *out, cJSON *m, bool typed)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (typed && cJSON_IsString(content)) {
        cJSON *t = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(t, "content");
        cJSON *part = cJSON_CreateObject();
        bool ok = parts && part && cJSON_AddItemToArray(parts, part) &&
                  cJSON_AddStringToObject(part, "type", "text") &&
                  cJSON_AddItemToObject(part, "text", cJSON_Duplicate(content, true)) &&
                  cJSON_AddItemToObjectCS(t, "role", cJSON_Duplicate(
                      cJSON_GetObjectItemCaseSensitive(m, "role"), true));
        cJSON_Delete(m);
        if (!ok) {
            cJSON_Delete(t);
            return false;
        }
        m = t;
    }
    return cJSON_AddItemToArray(out, m) || (cJSON_Delete(m), false);
}

/* A user message of the system text waiting for one. */
static bool flush_system(cJSON *out, char **pending, bool typed)
{
    if (!*pending || !**pending)
        return true;
    cJSON *m = cJSON_CreateObject();
    const bool ok = m && cJSON_AddStringToObject(m, "role", "user") &&
                    cJSON_AddStringToObject(m, "content", *pending);
    free(*pending);
    *pending = NULL;
    return ok ? add_message(out, m, typed) : (cJSON_Delete(m), false);
}

/* Appends text to *pending (a newline between), or false. */
static bool append(char **pending, const char *text)
{
    const size_t had = *pending ? strlen(*pending) : 0, n = had + strlen(text) + 2;
    char *p = realloc(*pending, n);
    if (!p)
        return false;
    snprintf(p + had, n - had, "%s%s", had ? "\n" : "", text);
    *pending = p;
    return true;
}

/* msgs rewritten for what caps says the template cannot render; NULL with
 * *why set (a message without role or content, as minja refuses it), or
 * when out of memory (*why NULL). */
static cJSON *polyfill(const serve_template_caps *caps, const cJSON *msgs, const cJSON *tools,
                       const char **why)
{
    bool has_calls = false, has_results = false, has_string = false;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        has_calls = has_calls || (calls && !cJSON_IsNull(calls));
        has_results = has_results || (cJSON_IsString(role) && !strcmp(role->valuestring, "tool"));
        has_string = has_string || cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "content"));
    }
    const bool system = !caps->system_role;
    const bool describe = cJSON_GetArraySize(tools) > 0 && !caps->tools;
    const bool calls = has_calls && !caps->tool_calls, results = has_results && !caps->tool_results;
    const bool objects = has_calls && caps->object_arguments;
    const bool typed = has_string && caps->typed_content;
    *why = NULL;
    if (!system && !describe && !calls && !results && !objects && !typed)
        return cJSON_Duplicate(msgs, true);
    cJSON *adjusted;
    if (describe) {
        char *list = serve_json_indent2(tools);
        const char *ex = caps->tool_call_example;
        const size_t n = (list ? strlen(list) : 0) + (ex ? strlen(ex) : 0) + 160;
        char *text = malloc(n);
        if (text && list)
            snprintf(text, n, "You can call any of the following tools to satisfy the user's "
                     "requests: %s%s%s%s", list, ex ? "\n\nExample tool call syntax:\n\n" : "",
                     ex ? ex : "", ex ? "\n\n" : "");
        adjusted = text && list ? serve_add_system(msgs, text) : NULL;
        free(text);
        free(list);
    } else {
        adjusted = cJSON_Duplicate(msgs, true);
    }
    cJSON *out = cJSON_CreateArray();
    char *pending = NULL;
    bool ok = adjusted && out;
    while (ok && adjusted->child) {
        cJSON *msg = cJSON_DetachItemViaPointer(adjusted, adjusted->child);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
        if (!cJSON_IsString(role) || !cJSON_GetObjectItemCaseSensitive(msg, "content")) {
            *why = "a message must have 'role' and 'content' fields";
            cJSON_Delete(msg);
            ok = false;
            break;
        }
        char r[16];
        snprintf(r, sizeof r, "%s", role->valuestring);
        cJSON *tc = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
        if (tc && (objects || calls))
            parse_arguments(tc);
        if (tc && calls)
            ok = calls_as_content(msg);
        if (ok && results && !strcmp(r, "tool"))
            ok = response_as_user(msg);
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (ok && system && !cJSON_IsNull(content)) {
            if (!cJSON_IsString(content)) {
                *why = "a template without a system role needs string contents";
                ok = false;
            } else if (!strcmp(r, "system")) {
                ok = append(&pending, content->valuestring);
                cJSON_Delete(msg);
                continue;
            } else if (!strcmp(r, "user") && pending) {
                char *joined = pending;
                pending = NULL;
                if (*content->valuestring)
                    ok = append(&joined, content->valuestring);
                ok = ok && cJSON_ReplaceItemInObjectCaseSensitive(msg, "content",
                                                                  cJSON_CreateString(joined));
                free(joined);
            } else if (strcmp(r, "user")) {
                ok = flush_system(out, &pending, typed);
            }
        }
        if (ok)
            ok = add_message(out, msg, typed);
        else
            cJSON_Delete(msg);
    }
    ok = ok && flush_system(out, &pending, typed);
    free(pending);
    cJSON_Delete(adjusted);
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

heed_status serve_template_apply(const server *s, const cJSON *msgs, const cJSON *tools,
                                 const cJSON *extra, bool add_generation_prompt, bool polyfills,
                                 char **out)
{
    *out = NULL;
    const char *why = NULL;
    cJSON *m = polyfills ? polyfill(&s->caps, msgs, tools, &why) : cJSON_Duplicate(msgs, true);
    if (why)
        return cli_set_error(HEED_ERR_FORMAT, "%s", why);
    cJSON *ctx = cJSON_CreateObject();
    bool ok = m && ctx && cJSON_AddItemToObject(ctx, "messages", m);
    if (!ok)
        cJSON_Delete(m);
    ok = ok && cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt) &&
         add_token(ctx, "bos_token", s->vocab, heed_vocab_bos(s->vocab)) &&
         add_token(ctx, "eos_token", s->vocab, heed_vocab_eos(s->vocab)) &&
         (!tools || cJSON_IsNull(tools) ||
          cJSON_AddItemToObject(ctx, "tools", cJSON_Duplicate(tools, true)));
    const cJSON *x;
    cJSON_ArrayForEach(x, extra) {
        cJSON_DeleteItemFromObjectCaseSensitive(ctx, x->string);
        ok = ok && cJSON_AddItemToObject(ctx, x->string, cJSON_Duplicate(x, true));
    }
    char *json = ok ? cJSON_PrintUnformatted(ctx) : NULL;
    cJSON_Delete(ctx);
    const heed_status st = json ? heed_template_render(s->chat_jinja, json, out, NULL)
                                : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    cJSON_free(json);
    return st;
}

/* ------------------------------------------------------------- probing */

/* The template's rendering of the conversation written as JSON text;
 * "" where it fails (minja's try_raw_render). Firefunction v2's template
 * fails without the variables llama.cpp gives it, where minja does not
 * (an undefined value is null to it): they are given. */
static char *try_render(server *s, const char *msgs_json, const char *tools_json, bool polyfills,
                        bool add_generation_prompt)
{
    cJSON *m = cJSON_Parse(msgs_json), *t = tools_json ? cJSON_Parse(tools_json) : NULL;
    cJSON *extra = strcmp(s->chat_format, "firefunction-v2") ? NULL : serve_format_context(NULL);
    char *out = NULL;
    if (!m || serve_template_apply(s, m, t, extra, add_generation_prompt, polyfills, &out)) {
        free(out);
        out = strdup("");
        (void)cli_error_message(); /* a probe's failure is no one's to report */
    }
    cJSON_Delete(extra);
    cJSON_Delete(m);
    cJSON_Delete(t);
    return out;
}

static bool holds(server *s, const char *msgs, const char *tools, const char *needle,
                  const char *needle2)
{
    char *out = try_render(s, msgs, tools, false, false);
    const bool found = out && (strstr(out, needle) || (needle2 && strstr(out, needle2)));
    free(out);
    return found;
}

#define USER_STR "{\"role\": \"user\", \"content\": \"<User Needle>\"}"
#define USER_TYPED "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"<User Needle>\"}]}"
#define CALL(name, args) "{\"id\": \"call_1___\", \"type\": \"function\", \"function\": " \
                         "{\"arguments\": " args ", \"name\": \"" name "\"}}"
#define CALLS_MSG(calls) "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [" calls "]}"
#define ARGS_OBJ "{\"argument_needle\": \"print('Hello, World!')\"}"
#define ARGS_STR "\"{\\\"argument_needle\\\":\\\"print('Hello, World!')\\\"}\""

/* How the template writes a call, for the tools it cannot describe: the
 * rendering of a call past what a generation prompt shares with it. */
static char *call_example(server *s)
{
    const bool obj = s->caps.object_arguments;
    char full_msgs[512];
    snprintf(full_msgs, sizeof full_msgs,
             "[{\"role\": \"user\", \"content\": \"Hey\"}, {\"role\": \"assistant\", \"content\": "
             "null, \"tool_calls\": [{\"id\": \"call_1___\", \"type\": \"function\", \"function\": "
             "{\"name\": \"tool_name\", \"arguments\": %s}}]}]",
             obj ? "{\"arg1\": \"some_value\"}" : "\"{\\\"arg1\\\": \\\"some_value\\\"}\"");
    char *prefix = try_render(s, "[{\"role\": \"user\", \"content\": \"Hey\"}]", NULL, true, true);
    char *full = try_render(s, full_msgs, NULL, true, false);
    char *example = NULL;
    if (prefix && full && *full) {
        size_t len = 0;
        const int32_t eos = heed_vocab_eos(s->vocab);
        const char *e = eos >= 0 ? heed_vocab_token_text(s->vocab, eos, &len) : "";
        const size_t pn = strlen(prefix), fn = strlen(full);
        /* the last eos in full, if it ends the prefix's length or the text
         * (before a newline), is cut with what follows (minja's test, its
         * unsigned arithmetic included) */
        size_t last = (size_t)-1;
        for (size_t i = fn >= len ? fn - len + 1 : 0; i-- > 0;)
            if (!memcmp(full + i, e, len)) {
                last = i;
                break;
            }
        if (last != (size_t)-1 && (last == pn - len || (full[fn - 1] == '\n' && last == fn - len - 1)))
            full[last] = 0;
        size_t common = 0;
        for (size_t i = 0; prefix[i] && full[i] && prefix[i] == full[i]; i++)
            if (prefix[i] != '<') /* DeepSeek R1's <think> against <｜tool▁calls▁begin｜> */
                common = i + 1;
        const char *ex = full + common;
        if (strstr(ex, "tool_name") || strstr(ex, "some_value"))
            example = strdup(ex);
    }
    free(prefix);
    free(full);
    return example;
}

void serve_template_probe(server *s)
{
    serve_template_caps *c = &s->caps;
    *c = (serve_template_caps){0};
    c->typed_content = !holds(s, "[" USER_STR "]", NULL, "<User Needle>", NULL) &&
                       holds(s, "[" USER_TYPED "]", NULL, "<User Needle>", NULL);
    const char *user = c->typed_content ? USER_TYPED : USER_STR;
    char msgs[1024];
    snprintf(msgs, sizeof msgs, "[{\"role\": \"system\", \"content\": %s}, %s]",
             c->typed_content ? "[{\"type\": \"text\", \"text\": \"<System Needle>\"}]"
                              : "\"<System Needle>\"", user);
    c->system_role = holds(s, msgs, NULL, "<System Needle>", NULL);
    snprintf(msgs, sizeof msgs, "[%s]", user);
    c->tools = holds(s, msgs,
                     "[{\"name\": \"some_tool\", \"type\": \"function\", \"function\": {\"name\": "
                     "\"some_tool\", \"description\": \"Some tool.\", \"parameters\": {\"type\": "
                     "\"object\", \"properties\": {\"arg\": {\"type\": \"string\", "
                     "\"description\": \"Some argument.\"}}, \"required\": [\"arg\"]}}}]",
                     "some_tool", NULL);
    snprintf(msgs, sizeof msgs, "[%s, " CALLS_MSG(CALL("ipython", ARGS_STR)) "]", user);
    const bool str_args = holds(s, msgs, NULL, "\"argument_needle\":", "'argument_needle':");
    snprintf(msgs, sizeof msgs, "[%s, " CALLS_MSG(CALL("ipython", ARGS_OBJ)) "]", user);
    const bool obj_args = holds(s, msgs, NULL, "\"argument_needle\":", "'argument_needle':");
    c->tool_calls = str_args || obj_args;
    c->object_arguments = !str_args && obj_args;
    if (c->tool_calls) {
        const bool o = c->object_arguments;
        snprintf(msgs, sizeof msgs, "[%s, %s]", user,
                 o ? CALLS_MSG(CALL("test_tool1", ARGS_OBJ) ", " CALL("test_tool2", ARGS_OBJ))
                   : CALLS_MSG(CALL("test_tool1", ARGS_STR) ", " CALL("test_tool2", ARGS_STR)));
        char *out = try_render(s, msgs, NULL, false, false);
        c->parallel_tool_calls = out && strstr(out, "test_tool1") && strstr(out, "test_tool2");
        free(out);
        snprintf(msgs, sizeof msgs,
                 "[%s, %s, {\"role\": \"tool\", \"name\": \"test_tool1\", \"content\": "
                 "\"Some response!\", \"tool_call_id\": \"call_911_\"}]", user,
                 o ? CALLS_MSG(CALL("test_tool1", ARGS_OBJ)) : CALLS_MSG(CALL("test_tool1", ARGS_STR)));
        c->tool_results = holds(s, msgs, NULL, "Some response!", NULL);
    }
    if (!c->tools)
        c->tool_call_example = call_example(s);
}
