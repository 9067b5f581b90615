/*
 * fuzz_tool_calls.c — libFuzzer harness for tool calls: byte 0 picks the
 * format, byte 1 the options (bit 0: look for calls, 1: reasoning
 * "none", 2: a prompt that opens the reasoning, 3: the rest is tools
 * JSON for a grammar instead), byte 2 how the rest is cut into feeds.
 * The message must be JSON with calls whose arguments are JSON objects;
 * the streamed deltas must add up to it, and the streamed final message
 * must be it; a grammar made from any tools must compile.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"

static const char *const formats[] = {
    "generic", "hermes", "qwen3-coder", "seed-oss", "glm-4.5", "llama3", "mistral-nemo",
    "mistral", "functionary-v3.1", "functionary-v3.2", "firefunction-v2", "command-r7b",
    "deepseek-r1", "deepseek-v3.1", "gpt-oss", "kimi-k2", "granite"};

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void grow(char **s, const char *add)
{
    const size_t n = strlen(*s);
    *s = realloc(*s, n + strlen(add) + 1);
    check(*s != NULL);
    strcpy(*s + n, add);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 3)
        return 0;
    const char *fmt = formats[data[0] % (sizeof formats / sizeof *formats)];
    const unsigned opt = data[1];
    uint64_t cut = data[2];
    const size_t n = size - 3;
    char *text = malloc(n + 1); /* NULs as 0x01: cJSON's strings end at a NUL */
    check(text != NULL);
    for (size_t i = 0; i < n; i++)
        text[i] = data[3 + i] ? (char)data[3 + i] : 1;
    text[n] = 0;
    if (opt & 8) { /* tools JSON */
        char *tools = strdup(text), *gbnf = NULL;
        heed_grammar *g = NULL;
        if (!heed_chat_tool_grammar(fmt, tools, opt & 16 ? "required" : "auto", opt & 32,
                                    opt & 4 ? "<think>\n" : NULL, &gbnf)) {
            const heed_status st = heed_grammar_new(NULL, gbnf, NULL, &g);
            check(!st || st == HEED_ERR_UNSUPPORTED);
        }
        heed_grammar_free(g);
        free(gbnf);
        free(tools);
        free(text);
        return 0;
    }
    const heed_chat_parse_params p = {fmt, opt & 2 ? "none" : NULL, opt & 1, NULL,
                                      opt & 4 ? "x<think>\n" : NULL, 1};
    char *whole = NULL;
    check(!heed_chat_parse(&p, text, n, &whole));
    cJSON *m = cJSON_Parse(whole);
    check(m != NULL);
    heed_chat_parser *c;
    check(!heed_chat_parser_new(&p, &c));
    char *content = calloc(1, 1), *reasoning = calloc(1, 1), *d, *msg;
    cJSON *calls = cJSON_CreateArray(); /* [[name, arguments], ...] */
    for (size_t i = 0; i <= n;) {
        const size_t k = i == n ? 0 : 1 + (cut = cut * 6364136223846793005u + 1) % 9 % (n - i);
        const heed_status st = i == n ? heed_chat_parser_finish(c, &d, &msg)
                                      : heed_chat_parser_feed(c, text + i, k, &d);
        check(!st);
        cJSON *ds = cJSON_Parse(d), *x;
        check(cJSON_IsArray(ds));
        cJSON_ArrayForEach(x, ds)
        {
            grow(&content, str(x, "content"));
            grow(&reasoning, str(x, "reasoning_content"));
            const cJSON *tc = cJSON_GetArrayItem(cJSON_GetObjectItem(x, "tool_calls"), 0);
            const cJSON *fn = cJSON_GetObjectItem(tc, "function");
            if (cJSON_GetObjectItem(tc, "id"))
                cJSON_AddItemToArray(calls, cJSON_CreateStringArray(
                    (const char *[]){str(fn, "name"), ""}, 2));
            else if (tc) {
                cJSON *call = cJSON_GetArrayItem(calls, cJSON_GetObjectItem(tc, "index")->valueint);
                check(call != NULL);
                cJSON_ReplaceItemInArray(call, 1, cJSON_CreateString(str(fn, "arguments")));
            }
        }
        cJSON_Delete(ds);
        free(d);
        if (i == n)
            break;
        i += k;
    }
    heed_chat_parser_free(c);
    check(!strcmp(msg, whole));
    check(!strcmp(content, str(m, "content")) && !strcmp(reasoning, str(m, "reasoning_content")));
    const cJSON *tc = cJSON_GetObjectItem(m, "tool_calls"), *x;
    check(cJSON_GetArraySize(tc) == cJSON_GetArraySize(calls));
    int i = 0;
    cJSON_ArrayForEach(x, tc)
    {
        const cJSON *fn = cJSON_GetObjectItem(x, "function"), *got = cJSON_GetArrayItem(calls, i++);
        check(!strcmp(str(fn, "name"), cJSON_GetArrayItem(got, 0)->valuestring));
        check(!strcmp(str(fn, "arguments"), cJSON_GetArrayItem(got, 1)->valuestring));
        cJSON *args = cJSON_Parse(str(fn, "arguments"));
        check(cJSON_IsObject(args));
        cJSON_Delete(args);
    }
    cJSON_Delete(calls);
    cJSON_Delete(m);
    free(content);
    free(reasoning);
    free(msg);
    free(whole);
    free(text);
    return 0;
}
