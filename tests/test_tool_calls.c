/*
 * test_tool_calls.c — tool calls (heed.h, "tool calls"): every format's
 * output parsed from what its models write (content before, several
 * calls, reasoning, malformed calls), the same text streamed byte by byte
 * and in token-sized pieces giving deltas that add up to the whole parse,
 * the formats told from templates, and the tool-choice grammars: the
 * text each template writes is a sentence of them, and the default model
 * sampling under them writes calls that parse and whose arguments
 * validate against their schemas.
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static heed_chat_parse_params params(const char *fmt)
{
    return (heed_chat_parse_params){.format = fmt, .tool_calls = true, .id_seed = 7};
}

static char *parse(const heed_chat_parse_params *p, const char *text)
{
    char *msg;
    cr_assert_eq(heed_chat_parse(p, text, strlen(text), &msg), HEED_OK, "%s: %s", p->format,
                 heed_last_error());
    return msg;
}

static const char *str_or(const cJSON *v, const char *def)
{
    return cJSON_IsString(v) ? v->valuestring : def;
}

/* A message as "reasoning|content|name args;name args" (malloc'd). */
static char *summary(const char *msg)
{
    cJSON *m = cJSON_Parse(msg);
    cr_assert(m, "not JSON: %s", msg);
    cr_assert_str_eq(str_or(cJSON_GetObjectItem(m, "role"), ""), "assistant");
    char *out;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    fprintf(f, "%s|%s|", str_or(cJSON_GetObjectItem(m, "reasoning_content"), ""),
            str_or(cJSON_GetObjectItem(m, "content"), ""));
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "tool_calls"))
    {
        const cJSON *fn = cJSON_GetObjectItem(c, "function");
        cr_assert_str_eq(str_or(cJSON_GetObjectItem(c, "type"), ""), "function");
        fprintf(f, "%s%s %s", i++ ? ";" : "", str_or(cJSON_GetObjectItem(fn, "name"), "?"),
                str_or(cJSON_GetObjectItem(fn, "arguments"), "?"));
    }
    fclose(f);
    cJSON_Delete(m);
    return out;
}

typedef struct pcase {
    const char *fmt, *text, *want;
} pcase;

static const pcase cases[] = {
    /* generic: llama.cpp's JSON */
    {"generic", "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}}",
     "||get_weather {\"location\":\"Paris\"}"},
    {"generic", "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", "
                "\"arguments\": \"{\\\"q\\\": 1}\"}]}", "||a {};b {\"q\":1}"},
    {"generic", "{\"response\": \"Hello \\u00e9\"}", "|Hello \xc3\xa9|"},
    {"generic", "plain text", "|plain text|"},
    {"generic", " {\"response\": \"cut sh", "|cut sh|"}, /* a response cut short: its text */
    {"generic", "{\"response\": \"a\\qb\"}", "|a\\qb\"}|"}, /* not JSON from \\q on */
    /* Hermes, Qwen 2.5 / 3 */
    {"hermes", "Sure.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1.50}}\n</tool_call>\n"
               "<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>",
     "|Sure.\n|a {\"x\":1.50};b {}"},
    {"hermes", "<think>\nI need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", "
               "\"arguments\": {\"location\": \"Paris\"}}\n</tool_call>",
     "I need the weather.||get_weather {\"location\":\"Paris\"}"},
    {"hermes", "<function=get_weather>{\"location\": \"Paris\"}</function>",
     "||get_weather {\"location\":\"Paris\"}"},
    {"hermes", "<function name=\"f\">{}</function> done", "|done|f {}"},
    {"hermes", "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>oops</tool_call>"
               "<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>",
     "|<tool_call>oops</tool_call>|a {};b {}"},
    {"hermes", "x<tool_call>\n{\"name\": \"a\", \"argu", "|x<tool_call>\n{\"name\": \"a\", \"argu|"},
    {"hermes", "<tool_call>{\"name\": \"a\", \"arguments\": {}}", "|<tool_call>{\"name\": \"a\", "
                                                               "\"arguments\": {}}|"},
    {"hermes", "<tool_call>{\"arguments\": {}}</tool_call>", "|<tool_call>{\"arguments\": {}}"
                                                            "</tool_call>|"},
    {"hermes", "<think>never closed", "never closed||"},
    /* bytes that are no character where they stand stay none once joined */
    {"hermes", "x\xca<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\x9by",
     "|x\xef\xbf\xbd\xef\xbf\xbdy|f {}"},
    /* Qwen3-Coder, Seed-OSS, GLM: arguments in tags */
    {"qwen3-coder", "I will write it.\n<tool_call>\n<function=write_file>\n<parameter=path>\n/tmp/a\n"
                    "</parameter>\n<parameter=content>\nline1\n  line2\n</parameter>\n"
                    "<parameter=n>\n42\n</parameter>\n</function>\n</tool_call>",
     "|I will write it.\n|write_file {\"path\":\"/tmp/a\",\"content\":\"line1\\n  line2\",\"n\":42}"},
    {"qwen3-coder", "<tool_call>\n<function=f>\n</function>\n<function=g>\n<parameter=x>\n[1, 2]\n"
                    "</parameter>\n</function>\n</tool_call>", "||f {};g {\"x\":[1,2]}"},
    {"seed-oss", "<seed:think>plan</seed:think><seed:tool_call>\n<function=f>\n<parameter=x>\n1"
                 "</parameter>\n</function>\n</seed:tool_call>", "plan||f {\"x\":1}"},
    {"glm-4.5", "<think>plan</think>\n<tool_call>get_weather\n<arg_key>location</arg_key>\n"
                "<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n"
                "</tool_call>", "plan||get_weather {\"location\":\"Paris\",\"days\":3}"},
    {"glm-4.5", "<tool_call>f\n<arg_key>a</arg_key><arg_value>x", "|<tool_call>f\n<arg_key>a"
                                                             "</arg_key><arg_value>x|"},
    /* Llama 3.x */
    {"llama3", "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}",
     "||get_weather {\"location\":\"Paris\"}"},
    {"llama3", " {\"type\": \"function\", \"name\": \"f\", \"parameters\": {}}", "||f {}"},
    {"llama3", "{\"answer\": 1}", "|{\"answer\": 1}|"},
    {"llama3", "<|python_tag|>brave_search.call(query=\"weather in Paris\", n=3)",
     "||brave_search {\"query\":\"weather in Paris\",\"n\":3}"},
    {"llama3", "Hi <|python_tag|>{\"name\": \"f\", \"parameters\": {}}", "|Hi |f {}"},
    /* Mistral */
    {"mistral-nemo", "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}, "
                     "\"id\": \"abcDEF123\"}, {\"name\": \"f\", \"arguments\": {}, \"id\": \"a\"}]",
     "||get_weather {\"location\":\"Paris\"};f {}"},
    {"mistral", "[THINK]reason[/THINK]Ok.[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Paris\"}"
                "[TOOL_CALLS]get_time[CALL_ID]abc123XYZ[ARGS]{}",
     "reason|Ok.|get_weather {\"location\":\"Paris\"};get_time {}"},
    {"mistral", "[TOOL_CALLS]bad name[ARGS]{}", "|[TOOL_CALLS]bad name[ARGS]{}|"},
    /* Functionary, Firefunction */
    {"functionary-v3.1", "Calling <function=get_weather>{\"location\": \"Paris\"}</function>"
                         "<function=f>{}</function>", "|Calling |get_weather {\"location\":\"Paris\"};f {}"},
    {"functionary-v3.1", "<|python_tag|>print(1+1)", "||python {\"code\":\"print(1+1)\"}"},
    {"functionary-v3.2", "get_weather\n{\"location\": \"Paris\"}>>>get_time\n{}",
     "||get_weather {\"location\":\"Paris\"};get_time {}"},
    {"functionary-v3.2", "all\nHello there>>>get_weather\n{\"location\": \"Paris\"}",
     "|Hello there|get_weather {\"location\":\"Paris\"}"},
    {"functionary-v3.2", "python\nprint(3)", "||python {\"code\":\"print(3)\"}"},
    {"functionary-v3.2", "Just text", "|Just text|"},
    {"firefunction-v2", "ok functools[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}]",
     "|ok|get_weather {\"location\":\"Paris\"}"},
    /* Command R7B */
    {"command-r7b", "<|START_THINKING|>I should look<|END_THINKING|><|START_ACTION|>[\n    "
                    "{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": "
                    "{\"location\": \"Paris\"}}\n]<|END_ACTION|>",
     "I should look||get_weather {\"location\":\"Paris\"}"},
    {"command-r7b", "<|START_RESPONSE|>Hello!<|END_RESPONSE|>", "|Hello!|"},
    /* DeepSeek */
    {"deepseek-r1", "<think>\nhmm\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
                    "<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Paris\"}\n```"
                    "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
     "hmm||get_weather {\"location\":\"Paris\"}"},
    {"deepseek-r1", "<｜tool▁calls▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```"
                    "<｜tool▁call▁end｜>", "|<｜tool▁calls▁begin｜>function<｜tool▁sep｜>f\n```json\n"
                                           "{}\n```<｜tool▁call▁end｜>|"},
    {"deepseek-v3.1", "answer<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>"
                      "{\"location\": \"Paris\"}<｜tool▁call▁end｜>f<｜tool▁sep｜>{}<｜tool▁call▁end｜>"
                      "<｜tool▁calls▁end｜>", "|answer|get_weather {\"location\":\"Paris\"};f {}"},
    /* gpt-oss */
    {"gpt-oss", "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
                "commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": "
                "\"Paris\"}<|call|>", "Need weather.||get_weather {\"location\":\"Paris\"}"},
    {"gpt-oss", "<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final"
                "<|message|>Hello!", "think|Hello!|"},
    {"gpt-oss", " to=functions.f<|channel|>commentary json<|message|>{}", "||f {}"},
    {"gpt-oss", "no channels at all", "|no channels at all|"},
    /* Kimi K2, Granite */
    {"kimi-k2", "Let me see.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
                "<|tool_call_argument_begin|>{\"location\": \"Paris\"}<|tool_call_end|>"
                "<|tool_call_begin|>functions.f:1<|tool_call_argument_begin|>{}<|tool_call_end|>"
                "<|tool_calls_section_end|>",
     "|Let me see.|get_weather {\"location\":\"Paris\"};f {}"},
    {"granite", "<think>x</think><response>Hi</response>", "x|Hi|"},
    {"granite", "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}]",
     "||get_weather {\"location\":\"Paris\"}"},
};

#define N_CASES (sizeof cases / sizeof *cases)

Test(tool_calls, parse_every_format)
{
    for (size_t i = 0; i < N_CASES; i++) {
        const heed_chat_parse_params p = params(cases[i].fmt);
        char *msg = parse(&p, cases[i].text), *s = summary(msg);
        cr_expect_str_eq(s, cases[i].want, "%s: %s\n  gives %s", cases[i].fmt, cases[i].text, msg);
        free(s);
        free(msg);
    }
}

/* ---------------------------------------------------------- streaming */

typedef struct assembled {
    char *content, *reasoning;
    cJSON *calls; /* [{id, name, arguments}] */
} assembled;

static void append(char **s, const char *add)
{
    const size_t n = *s ? strlen(*s) : 0;
    *s = realloc(*s, n + strlen(add) + 1);
    strcpy(*s + n, add);
}

/* Adds one feed's deltas to a. */
static void add_deltas(assembled *a, const char *json)
{
    cJSON *d = cJSON_Parse(json), *x;
    cr_assert(cJSON_IsArray(d), "deltas not an array: %s", json);
    cJSON_ArrayForEach(x, d)
    {
        cr_assert_eq(cJSON_GetArraySize(x), 1, "one field per delta: %s", json);
        const cJSON *v;
        if ((v = cJSON_GetObjectItem(x, "content")))
            append(&a->content, v->valuestring);
        if ((v = cJSON_GetObjectItem(x, "reasoning_content")))
            append(&a->reasoning, v->valuestring);
        const cJSON *tc = cJSON_GetArrayItem(cJSON_GetObjectItem(x, "tool_calls"), 0);
        if (!tc)
            continue;
        const int i = cJSON_GetObjectItem(tc, "index")->valueint;
        const cJSON *fn = cJSON_GetObjectItem(tc, "function");
        if (cJSON_GetObjectItem(tc, "id")) { /* a new call: its name first, no arguments yet */
            cr_assert_eq(i, cJSON_GetArraySize(a->calls));
            cr_assert_str_eq(str_or(cJSON_GetObjectItem(fn, "arguments"), "?"), "");
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "id", cJSON_GetObjectItem(tc, "id")->valuestring);
            cJSON_AddStringToObject(c, "name", cJSON_GetObjectItem(fn, "name")->valuestring);
            cJSON_AddStringToObject(c, "arguments", "");
            cJSON_AddItemToArray(a->calls, c);
        } else {
            cJSON *c = cJSON_GetArrayItem(a->calls, i);
            cr_assert(c, "arguments of a call not begun: %s", json);
            char *args = strdup(cJSON_GetObjectItem(c, "arguments")->valuestring);
            append(&args, cJSON_GetObjectItem(fn, "arguments")->valuestring);
            cJSON_ReplaceItemInObject(c, "arguments", cJSON_CreateString(args));
            free(args);
        }
    }
    cJSON_Delete(d);
}

/* Streams text in pieces (seed 0: bytes; else 1 to 8 bytes at random):
 * the deltas add up to the whole parse, and the final message is it. */
static void expect_stream(const heed_chat_parse_params *p, const char *text, uint64_t seed)
{
    char *whole = parse(p, text);
    heed_chat_parser *c;
    cr_assert_eq(heed_chat_parser_new(p, &c), HEED_OK, "%s", heed_last_error());
    assembled a = {.calls = cJSON_CreateArray()};
    append(&a.content, "");
    append(&a.reasoning, "");
    const size_t n = strlen(text);
    char *d;
    for (size_t i = 0; i < n;) {
        size_t k = seed ? 1 + heed_splitmix64(&seed) % 8 : 1;
        k = k > n - i ? n - i : k;
        cr_assert_eq(heed_chat_parser_feed(c, text + i, k, &d), HEED_OK, "%s", heed_last_error());
        add_deltas(&a, d);
        free(d);
        i += k;
    }
    char *msg;
    cr_assert_eq(heed_chat_parser_finish(c, &d, &msg), HEED_OK, "%s", heed_last_error());
    add_deltas(&a, d);
    free(d);
    heed_chat_parser_free(c);
    cr_expect_str_eq(msg, whole, "%s: %s", p->format, text);
    cJSON *m = cJSON_Parse(whole);
    cr_expect_str_eq(a.content, str_or(cJSON_GetObjectItem(m, "content"), ""), "%s: %s",
                     p->format, text);
    cr_expect_str_eq(a.reasoning, str_or(cJSON_GetObjectItem(m, "reasoning_content"), ""),
                     "%s: %s", p->format, text);
    const cJSON *tc = cJSON_GetObjectItem(m, "tool_calls"), *x;
    cr_expect_eq(cJSON_GetArraySize(a.calls), cJSON_GetArraySize(tc), "%s: %s", p->format, text);
    int i = 0;
    cJSON_ArrayForEach(x, tc)
    {
        const cJSON *got = cJSON_GetArrayItem(a.calls, i++), *fn = cJSON_GetObjectItem(x, "function");
        cr_expect_str_eq(str_or(cJSON_GetObjectItem(got, "id"), ""),
                         cJSON_GetObjectItem(x, "id")->valuestring);
        cr_expect_str_eq(str_or(cJSON_GetObjectItem(got, "name"), ""),
                         cJSON_GetObjectItem(fn, "name")->valuestring);
        cr_expect_str_eq(str_or(cJSON_GetObjectItem(got, "arguments"), ""),
                         cJSON_GetObjectItem(fn, "arguments")->valuestring);
    }
    cJSON_Delete(m);
    cJSON_Delete(a.calls);
    free(a.content);
    free(a.reasoning);
    free(msg);
    free(whole);
}

Test(tool_calls, streams_add_up_to_the_parse)
{
    for (size_t i = 0; i < N_CASES; i++) {
        heed_chat_parse_params p = params(cases[i].fmt);
        for (uint64_t seed = 0; seed < 4; seed++)
            expect_stream(&p, cases[i].text, seed);
        p.reasoning_format = "none";
        expect_stream(&p, cases[i].text, 0);
        p.tool_calls = false;
        expect_stream(&p, cases[i].text, 1);
    }
}

/* What is sure goes out at once; what may begin a marker waits. */
Test(tool_calls, streaming_holds_back_only_what_may_be_a_marker)
{
    const heed_chat_parse_params p = params("hermes");
    heed_chat_parser *c;
    cr_assert_eq(heed_chat_parser_new(&p, &c), HEED_OK);
    const char *feeds[] = {"Hello ", "wor", "ld <tool", "_call>\n{\"name\": \"f\", ",
                           "\"arguments\": {}}\n</tool_call>", " bye"};
    const char *want[] = {"[{\"content\":\"Hello \"}]", "[{\"content\":\"wor\"}]",
                          "[{\"content\":\"ld \"}]", "[]",
                          "[{\"tool_calls\":[{\"index\":0,\"id\":\"", "[{\"content\":\"bye\"}]"};
    for (int i = 0; i < 6; i++) {
        char *d;
        cr_assert_eq(heed_chat_parser_feed(c, feeds[i], strlen(feeds[i]), &d), HEED_OK);
        cr_expect(!strncmp(d, want[i], strlen(want[i])), "feed %d: %s", i, d);
        free(d);
    }
    char *d, *msg;
    cr_assert_eq(heed_chat_parser_finish(c, &d, &msg), HEED_OK);
    cr_expect_str_eq(d, "[]");
    char *again;
    cr_expect_eq(heed_chat_parser_feed(c, "x", 1, &again), HEED_ERR_ARG);
    free(d);
    free(msg);
    heed_chat_parser_free(c);
    /* the generic format's response streams as it comes */
    const heed_chat_parse_params g = params("generic");
    cr_assert_eq(heed_chat_parser_new(&g, &c), HEED_OK);
    cr_assert_eq(heed_chat_parser_feed(c, "{\"response\": \"Hel", 17, &d), HEED_OK);
    cr_expect_str_eq(d, "[{\"content\":\"Hel\"}]");
    free(d);
    cr_assert_eq(heed_chat_parser_feed(c, "lo\\", 3, &d), HEED_OK);
    cr_expect_str_eq(d, "[{\"content\":\"lo\"}]");
    free(d);
    heed_chat_parser_free(c);
    /* a character split across feeds waits for its end */
    cr_assert_eq(heed_chat_parser_new(&p, &c), HEED_OK);
    cr_assert_eq(heed_chat_parser_feed(c, "\xc3", 1, &d), HEED_OK);
    cr_expect_str_eq(d, "[]");
    free(d);
    cr_assert_eq(heed_chat_parser_feed(c, "\xa9", 1, &d), HEED_OK);
    cr_expect_str_eq(d, "[{\"content\":\"\xc3\xa9\"}]");
    free(d);
    heed_chat_parser_free(c);
}

/* ------------------------------------------------- message and options */

Test(tool_calls, message_shape_and_ids)
{
    const heed_chat_parse_params p = params("mistral");
    char *msg = parse(&p, "[TOOL_CALLS]f[ARGS]{\"a\": [1, {\"b\": null}]}[TOOL_CALLS]g[CALL_ID]"
                          "abc123XYZ[ARGS]{}");
    cJSON *m = cJSON_Parse(msg);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(m, "content")), "%s", msg);
    cr_expect(!cJSON_GetObjectItem(m, "reasoning_content"));
    const char *id = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "tool_calls"), 0)
                         ->child->valuestring; /* "id" comes first */
    cr_expect_eq(strlen(id), 32, "%s", msg);
    cr_expect_eq(strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), 32);
    cr_expect(strstr(msg, "\"id\":\"abc123XYZ\""), "the model's id is kept: %s", msg);
    cr_expect(strstr(msg, "\"arguments\":\"{\\\"a\\\":[1,{\\\"b\\\":null}]}\""), "%s", msg);
    char *same = parse(&p, "[TOOL_CALLS]f[ARGS]{\"a\": [1, {\"b\": null}]}[TOOL_CALLS]g[CALL_ID]"
                           "abc123XYZ[ARGS]{}");
    cr_expect_str_eq(same, msg, "the same seed, the same ids");
    heed_chat_parse_params q = p;
    q.id_seed = 0; /* random */
    char *other = parse(&q, "[TOOL_CALLS]f[ARGS]{}"), *other2 = parse(&q, "[TOOL_CALLS]f[ARGS]{}");
    cr_expect_str_neq(other, other2);
    free(other);
    free(other2);
    free(same);
    cJSON_Delete(m);
    free(msg);
    /* no calls: content a string, even empty */
    msg = parse(&p, "");
    cr_expect_str_eq(msg, "{\"role\":\"assistant\",\"content\":\"\"}");
    free(msg);
}

Test(tool_calls, reasoning_formats_and_open_prompts)
{
    heed_chat_parse_params p = params("hermes");
    const char *text = "<think>\nplan\n</think>\n\nanswer";
    char *m = parse(&p, text), *s = summary(m);
    cr_expect_str_eq(s, "plan|answer|");
    free(m), free(s);
    p.reasoning_format = "deepseek";
    m = parse(&p, text), s = summary(m);
    cr_expect_str_eq(s, "plan|answer|");
    free(m), free(s);
    p.reasoning_format = "none";
    m = parse(&p, text), s = summary(m);
    cr_expect_str_eq(s, "|<think>\nplan\n</think>\n\nanswer|");
    free(m), free(s);
    /* a prompt that opened the block: the output starts inside it */
    p.reasoning_format = NULL;
    p.prompt = "<|im_start|>assistant\n<think>\n";
    m = parse(&p, "plan\n</think>\n\nanswer"), s = summary(m);
    cr_expect_str_eq(s, "plan|answer|");
    free(m), free(s);
    m = parse(&p, "still thinking"), s = summary(m);
    cr_expect_str_eq(s, "still thinking||");
    free(m), free(s);
    p.prompt = "<|im_start|>assistant\n<think>\n\n</think>\n\n"; /* thinking off */
    m = parse(&p, "answer"), s = summary(m);
    cr_expect_str_eq(s, "|answer|");
    free(m), free(s);
    p = params("command-r7b");
    p.prompt = "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|><|START_THINKING|>";
    m = parse(&p, "look<|END_THINKING|><|START_RESPONSE|>Hi<|END_RESPONSE|>"), s = summary(m);
    cr_expect_str_eq(s, "look|Hi|");
    free(m), free(s);
    /* gpt-oss's analysis channel, as written with none */
    p = params("gpt-oss");
    p.reasoning_format = "none";
    m = parse(&p, "<|channel|>analysis<|message|>t<|end|><|start|>assistant<|channel|>final"
                  "<|message|>Hi"), s = summary(m);
    cr_expect_str_eq(s, "|<|channel|>analysis<|message|>t<|end|>Hi|");
    free(m), free(s);
}

/* With the tools, a string argument of an XML format stays a string. */
Test(tool_calls, xml_arguments_follow_the_schema)
{
    heed_chat_parse_params p = params("glm-4.5");
    const char *text = "<tool_call>f\n<arg_key>zip</arg_key>\n<arg_value>01234</arg_value>\n"
                       "<arg_key>n</arg_key>\n<arg_value>7</arg_value>\n</tool_call>";
    char *m = parse(&p, text), *s = summary(m);
    cr_expect_str_eq(s, "||f {\"zip\":\"01234\",\"n\":7}"); /* 01234 is no JSON number */
    free(m), free(s);
    p.tools = "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": "
              "\"object\", \"properties\": {\"zip\": {\"type\": \"string\"}, \"n\": {\"type\": "
              "\"string\"}}}}}]";
    m = parse(&p, text), s = summary(m);
    cr_expect_str_eq(s, "||f {\"zip\":\"01234\",\"n\":\"7\"}");
    free(m), free(s);
}

Test(tool_calls, refusals)
{
    heed_chat_parser *c = (heed_chat_parser *)1;
    heed_chat_parse_params p = params("nonesuch");
    cr_expect_eq(heed_chat_parser_new(&p, &c), HEED_ERR_ARG);
    cr_expect_null(c);
    cr_expect(strstr(heed_last_error(), "hermes"), "lists the formats: %s", heed_last_error());
    p = params("hermes");
    p.reasoning_format = "deepseek-legacy";
    cr_expect_eq(heed_chat_parser_new(&p, &c), HEED_ERR_ARG);
    p = params("hermes");
    p.tools = "{\"not\": \"an array\"}";
    cr_expect_eq(heed_chat_parser_new(&p, &c), HEED_ERR_FORMAT);
    cr_expect_eq(heed_chat_parser_new(NULL, &c), HEED_ERR_ARG);
    char *msg = (char *)1;
    cr_expect_eq(heed_chat_parse(&p, NULL, 3, &msg), HEED_ERR_FORMAT);
    p.tools = NULL;
    cr_expect_eq(heed_chat_parse(&p, NULL, 3, &msg), HEED_ERR_ARG);
    cr_expect_null(msg);
    heed_chat_parser_free(NULL);
}

/* Bytes that are not UTF-8 become U+FFFD in the JSON, which stays valid. */
Test(tool_calls, invalid_utf8_is_replaced)
{
    const heed_chat_parse_params p = params("hermes");
    char *m = parse(&p, "a\xff" "b\xc3");
    cr_expect_str_eq(m, "{\"role\":\"assistant\",\"content\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"}");
    free(m);
}

/* ------------------------------------------------------------ detection */

Test(chat_format, detect_telltales)
{
    static const char *const t[][2] = {
        {"{{'<｜tool▁calls▁begin｜>' + tool['type']}}", "deepseek-r1"},
        {"message['prefix'] is defined and message['prefix'] and thinking <｜tool▁calls▁begin｜>",
         "deepseek-v3.1"},
        {"<|START_THINKING|>{{x}}<|END_THINKING|><|START_ACTION|>[...]<|END_ACTION|>", "command-r7b"},
        {"{%- elif thinking %} ... <|tool_call|>", "granite"},
        {"[gMASK]<sop> <tool_call>{{name}} <arg_key>k</arg_key><arg_value>", "glm-4.5"},
        {"<seed:tool_call>\n<function=x>\n<parameter=y>", "seed-oss"},
        {"<tool_call>\n<function=x>\n<parameter=y>", "qwen3-coder"},
        {"<|im_start|>... <tool_call>\n{\"name\": ...}\n</tool_call>", "hermes"},
        {"<|start|>assistant<|channel|>final<|message|>", "gpt-oss"},
        {"<|tool_calls_section_begin|><|tool_call_begin|>", "kimi-k2"},
        {">>>all\n{{content}}", "functionary-v3.2"},
        {" functools[{{calls}}]", "firefunction-v2"},
        {"<|start_header_id|>assistant<|end_header_id|><function={{name}}>", "functionary-v3.1"},
        {"<|start_header_id|>ipython<|end_header_id|>", "llama3"},
        {"[TOOL_CALLS]{{name}}[ARGS]{{args}}", "mistral"},
        {"[TOOL_CALLS][{{calls}}]", "mistral-nemo"},
        {"<|im_start|>{{role}}\n{{content}}<|im_end|>", "generic"},
        {"hermes", "hermes"}, /* a name gives itself */
        {"", "generic"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        cr_expect_str_eq(heed_chat_format_detect(t[i][0]), t[i][1], "%s", t[i][0]);
    cr_expect_str_eq(heed_chat_format_detect(NULL), "generic");
    /* every name is listed, and detected as itself */
    char names[512];
    snprintf(names, sizeof names, "%s", heed_chat_format_names());
    int n = 0;
    for (char *s = strtok(names, ", "); s; s = strtok(NULL, ", "), n++)
        cr_expect_str_eq(heed_chat_format_detect(s), s);
    cr_expect_eq(n, 17);
}

/* The real templates of llama.cpp's and ik_llama.cpp's models/templates
 * (not in this repository: HEED_TEMPLATES=dir:dir names them, or the test
 * is skipped), each against the format tests/data/chat_formats.tsv gives
 * its file name. */
Test(chat_format, real_templates)
{
    const char *dirs = getenv("HEED_TEMPLATES");
    if (!dirs || !*dirs)
        cr_skip_test("HEED_TEMPLATES (folders of .jinja templates, ':'-separated) is not set");
    size_t size;
    char *table = test_read_file(HEED_SOURCE_DIR "/tests/data/chat_formats.tsv", &size);
    cr_assert(table);
    int checked = 0, rows = 0;
    char *copy = strdup(dirs);
    for (char *line = strtok(table, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || !tab)
            continue;
        *tab = 0;
        rows++;
        strcpy(copy, dirs);
        char *save, path[1024];
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(path, sizeof path, "%s/%s", d, line);
            char *t = test_read_file(path, &size);
            if (!t)
                continue;
            cr_expect_str_eq(heed_chat_format_detect(t), tab + 1, "%s", path);
            checked++;
            free(t);
        }
    }
    cr_log_info("chat formats: %d template files checked against %d rows", checked, rows);
    cr_expect_gt(checked, 0, "no template of the table found in %s", dirs);
    free(copy);
    free(table);
}
