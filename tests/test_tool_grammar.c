/*
 * test_tool_grammar.c — the tool-choice grammars (heed_chat_tool_grammar):
 * the call each format's template writes is a sentence of its grammar
 * and parses back to the same call; named, parallel, auto and an open
 * reasoning block; the refusals; and the default model sampling at
 * temperature 1 under each format's grammar, whose outputs must parse
 * into calls whose arguments validate against the function's schema.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"

static const char tools[] =
    "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": "
    "{\"type\": \"object\", \"properties\": {"
    "\"location\": {\"type\": \"string\", \"enum\": [\"Paris\", \"Rome\", \"Oslo\"]}, "
    "\"days\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 7}, "
    "\"metric\": {\"type\": \"boolean\"}}, \"required\": [\"location\", \"days\"]}}}, "
    "{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"parameters\": "
    "{\"type\": \"object\", \"properties\": {\"zone\": {\"type\": \"string\", \"maxLength\": 8}}, "
    "\"required\": [\"zone\"]}}}, "
    "{\"type\": \"web_search\"}]";

/* get_weather(location: "Paris", days: 3) as each format's template
 * writes it (the first call: %s is where a second one goes). */
static const char *const written[][2] = {
    {"generic", "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", "
                "\"days\": 3}}}"},
    {"hermes", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", "
               "\"days\": 3}}\n</tool_call>"},
    {"qwen3-coder", "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n"
                    "</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"},
    {"seed-oss", "<seed:tool_call>\n<function=get_weather>\n<parameter=location>Paris"
                 "</parameter>\n<parameter=days>3</parameter>\n</function>\n</seed:tool_call>"},
    {"glm-4.5", "<tool_call>get_weather\n<arg_key>location</arg_key>\n<arg_value>Paris"
                "</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"},
    {"llama3", "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\", \"days\": 3}}"},
    {"mistral-nemo", "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": "
                     "\"Paris\", \"days\": 3}, \"id\": \"abcDEF123\"}]"},
    {"mistral", "[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Paris\", \"days\": 3}"},
    {"functionary-v3.1", "<function=get_weather>{\"location\": \"Paris\", \"days\": 3}</function>"},
    {"functionary-v3.2", "get_weather\n{\"location\": \"Paris\", \"days\": 3}"},
    {"firefunction-v2", " functools[{\"name\": \"get_weather\", \"arguments\": {\"location\": "
                        "\"Paris\", \"days\": 3}}]"},
    {"command-r7b", "<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": "
                    "\"get_weather\", \"parameters\": {\"location\": \"Paris\", \"days\": 3}}\n]"
                    "<|END_ACTION|>"},
    {"deepseek-r1", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
                    "```json\n{\"location\": \"Paris\", \"days\": 3}\n```<｜tool▁call▁end｜>"
                    "<｜tool▁calls▁end｜>"},
    {"deepseek-v3.1", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>"
                      "{\"location\": \"Paris\", \"days\": 3}<｜tool▁call▁end｜><｜tool▁calls▁end｜>"},
    {"gpt-oss", "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
                "{\"location\": \"Paris\", \"days\": 3}"},
    {"kimi-k2", "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
                "<|tool_call_argument_begin|>{\"location\": \"Paris\", \"days\": 3}"
                "<|tool_call_end|><|tool_calls_section_end|>"},
    {"granite", "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", "
                "\"days\": 3}}]"},
};
#define N_FORMATS (sizeof written / sizeof *written)

static heed_grammar *grammar(const char *fmt, const char *choice, bool parallel,
                             const char *prompt, const heed_vocab *v)
{
    char *gbnf;
    cr_assert_eq(heed_chat_tool_grammar(fmt, tools, choice, parallel, prompt, &gbnf), HEED_OK,
                 "%s %s: %s", fmt, choice, heed_last_error());
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(v, gbnf, NULL, &g), HEED_OK, "%s: %s\n%s", fmt,
                 heed_last_error(), gbnf);
    free(gbnf);
    return g;
}

/* 1: text is a whole sentence of g; 0: it begins one; -1: neither. */
static int match(const heed_grammar *g, const char *text)
{
    bool prefix, complete;
    cr_assert_eq(heed_grammar_match(g, text, strlen(text), &prefix, &complete), HEED_OK, "%s",
                 heed_last_error());
    return complete ? 1 : prefix ? 0 : -1;
}

/* The calls of a message as "name args;name args" (malloc'd). */
static char *calls_of(const char *fmt, const char *text)
{
    const heed_chat_parse_params p = {.format = fmt, .tool_calls = true, .tools = tools,
                                      .id_seed = 1};
    char *msg;
    cr_assert_eq(heed_chat_parse(&p, text, strlen(text), &msg), HEED_OK, "%s", heed_last_error());
    cJSON *m = cJSON_Parse(msg);
    char *out;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "tool_calls"))
    {
        const cJSON *fn = cJSON_GetObjectItem(c, "function");
        fprintf(f, "%s%s %s", i++ ? ";" : "", cJSON_GetObjectItem(fn, "name")->valuestring,
                cJSON_GetObjectItem(fn, "arguments")->valuestring);
    }
    fclose(f);
    cJSON_Delete(m);
    free(msg);
    return out;
}

Test(tool_grammar, what_templates_write_is_a_sentence)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        const char *fmt = written[i][0], *text = written[i][1];
        heed_grammar *g = grammar(fmt, "\"required\"", false, NULL, NULL);
        cr_expect_eq(match(g, text), 1, "%s: %s", fmt, text);
        char *c = calls_of(fmt, text);
        cr_expect_str_eq(c, "get_weather {\"location\":\"Paris\",\"days\":3}", "%s", fmt);
        free(c);
        /* an argument outside the schema, or a missing one, is no sentence */
        char *bad = strdup(text), *p = strstr(bad, "Paris");
        memcpy(p, "Pisa!", 5);
        cr_expect_eq(match(g, bad), -1, "%s: %s", fmt, bad);
        free(bad);
        heed_grammar_free(g);
        /* named: only that function */
        g = grammar(fmt, "{\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}", false,
                    NULL, NULL);
        cr_expect_eq(match(g, text), -1, "%s named get_time: %s", fmt, text);
        heed_grammar_free(g);
    }
}

Test(tool_grammar, parallel_calls)
{
    const char *two = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n"
                      "</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                      "{\"location\": \"Oslo\", \"days\": 7, \"metric\": true}}\n</tool_call>";
    heed_grammar *one = grammar("hermes", "required", false, NULL, NULL);
    heed_grammar *many = grammar("hermes", "required", true, NULL, NULL);
    cr_expect_eq(match(one, two), -1);
    cr_expect_eq(match(many, two), 1);
    heed_grammar_free(one);
    heed_grammar_free(many);
    char *c = calls_of("hermes", two);
    cr_expect_str_eq(c, "get_time {\"zone\":\"UTC\"};get_weather {\"location\":\"Oslo\",\"days\":7,"
                        "\"metric\":true}");
    free(c);
    const char *kimi = "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_time:0"
                       "<|tool_call_argument_begin|>{\"zone\": \"UTC\"}<|tool_call_end|>"
                       "<|tool_call_begin|>functions.get_time:1<|tool_call_argument_begin|>"
                       "{\"zone\": \"CET\"}<|tool_call_end|><|tool_calls_section_end|>";
    many = grammar("kimi-k2", NULL, true, NULL, NULL); /* auto */
    cr_expect_eq(match(many, kimi), 1);
    heed_grammar_free(many);
}

/* auto: text without the marker, then maybe the calls. */
Test(tool_grammar, auto_is_text_then_calls)
{
    heed_grammar *g = grammar("hermes", "\"auto\"", false, NULL, NULL);
    cr_expect_eq(match(g, ""), 1);
    cr_expect_eq(match(g, "Paris is sunny <tool_"), 1);
    cr_expect_eq(match(g, "Let me look.\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": "
                          "{\"zone\": \"UTC\"}}\n</tool_call>"), 1);
    cr_expect_eq(match(g, "Let me look.\n<tool_call>\n{\"name\": \"get_time\""), 0);
    cr_expect_eq(match(g, "<tool_call>\n{\"name\": \"nope\""), -1);
    cr_expect_eq(match(g, "<tool_call>x"), -1);
    heed_grammar_free(g);
    /* the formats without a marker */
    g = grammar("llama3", "auto", false, NULL, NULL);
    cr_expect_eq(match(g, "It is sunny."), 1);
    cr_expect_eq(match(g, "\n It is sunny."), 1);
    cr_expect_eq(match(g, written[5][1]), 1);
    cr_expect_eq(match(g, "{\"answer\": 1}"), -1);
    heed_grammar_free(g);
    g = grammar("functionary-v3.2", "auto", true, NULL, NULL);
    cr_expect_eq(match(g, "all\nIt is sunny."), 1);
    cr_expect_eq(match(g, "all\nLet me see.>>>get_time\n{\"zone\": \"UTC\"}"), 1);
    heed_grammar_free(g);
    g = grammar("generic", "auto", false, NULL, NULL);
    cr_expect_eq(match(g, "{\"response\": \"It is sunny.\"}"), 1);
    cr_expect_eq(match(g, written[0][1]), 1);
    heed_grammar_free(g);
    g = grammar("gpt-oss", "auto", false, NULL, NULL);
    cr_expect_eq(match(g, "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant"
                          "<|channel|>final<|message|>Sunny."), 1);
    cr_expect_eq(match(g, written[14][1]), 1);
    heed_grammar_free(g);
    char *gbnf = (char *)1;
    cr_expect_eq(heed_chat_tool_grammar("hermes", tools, "\"none\"", false, NULL, &gbnf), HEED_OK);
    cr_expect_null(gbnf);
}

/* After a prompt that opens the reasoning, the calls follow its end. */
Test(tool_grammar, after_open_reasoning)
{
    const char *prompt = "<|im_start|>assistant\n<think>\n";
    heed_grammar *g = grammar("hermes", "required", false, prompt, NULL);
    const char *call = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n"
                       "</tool_call>";
    char text[512];
    snprintf(text, sizeof text, "Time first.\n</think>\n\n%s", call);
    cr_expect_eq(match(g, text), 1, "%s", text);
    cr_expect_eq(match(g, call), 0, "still the reasoning: the block must end first");
    heed_grammar_free(g);
    const heed_chat_parse_params p = {.format = "hermes", .tool_calls = true, .prompt = prompt};
    char *msg;
    cr_assert_eq(heed_chat_parse(&p, text, strlen(text), &msg), HEED_OK);
    cr_expect(strstr(msg, "\"reasoning_content\":\"Time first.\""), "%s", msg);
    cr_expect(strstr(msg, "\"name\":\"get_time\""), "%s", msg);
    free(msg);
}

Test(tool_grammar, refusals)
{
    char *gbnf;
    cr_expect_eq(heed_chat_tool_grammar("nonesuch", tools, "required", false, NULL, &gbnf),
                 HEED_ERR_ARG);
    cr_expect_eq(heed_chat_tool_grammar("hermes", tools, "{\"type\": \"function\", \"function\": "
                 "{\"name\": \"nope\"}}", false, NULL, &gbnf), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "nope"), "%s", heed_last_error());
    cr_expect_eq(heed_chat_tool_grammar("hermes", tools, "\"sometimes\"", false, NULL, &gbnf),
                 HEED_ERR_ARG);
    cr_expect_eq(heed_chat_tool_grammar("hermes", "{}", "required", false, NULL, &gbnf),
                 HEED_ERR_ARG);
    cr_expect_eq(heed_chat_tool_grammar("hermes", "[]", "required", false, NULL, &gbnf),
                 HEED_ERR_ARG);
    cr_expect_eq(heed_chat_tool_grammar("hermes", "[{\"type\": \"function\", \"function\": "
                 "{\"name\": \"a b\"}}]", "required", false, NULL, &gbnf), HEED_ERR_ARG);
    const char *patterned = "[{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                            "\"parameters\": {\"type\": \"object\", \"properties\": {\"x\": "
                            "{\"type\": \"string\", \"pattern\": \"^a+$\"}}}}}]";
    cr_expect_eq(heed_chat_tool_grammar("glm-4.5", patterned, "required", false, NULL, &gbnf),
                 HEED_ERR_UNSUPPORTED);
    cr_expect(strstr(heed_last_error(), "pattern"), "%s", heed_last_error());
    cr_expect_eq(heed_chat_tool_grammar("hermes", patterned, "required", false, NULL, &gbnf),
                 HEED_OK, "JSON formats take patterns: %s", heed_last_error());
    free(gbnf);
    const char *multiple = "[{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                           "\"parameters\": {\"type\": \"object\", \"properties\": {\"x\": "
                           "{\"type\": \"number\", \"multipleOf\": 3}}}}}]";
    cr_expect_eq(heed_chat_tool_grammar("hermes", multiple, "required", false, NULL, &gbnf),
                 HEED_ERR_UNSUPPORTED);
    cr_expect(strstr(heed_last_error(), "'f'"), "names the function: %s", heed_last_error());
    cr_expect_eq(heed_chat_tool_grammar("hermes", tools, "required", false, NULL, NULL),
                 HEED_ERR_ARG);
}

/* ------------------------------------------ the default model, sampled */

/* Whether v validates against schema s (the keywords the tools use). */
static bool valid(const cJSON *v, const cJSON *s)
{
    const cJSON *type = cJSON_GetObjectItem(s, "type"), *en = cJSON_GetObjectItem(s, "enum");
    const char *t = type ? type->valuestring : "";
    if (en) {
        const cJSON *e;
        bool in = false;
        cJSON_ArrayForEach(e, en) in = in || cJSON_Compare(v, e, true);
        if (!in)
            return false;
    }
    if (!strcmp(t, "object")) {
        if (!cJSON_IsObject(v))
            return false;
        const cJSON *r, *m;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "required"))
            if (!cJSON_GetObjectItem(v, r->valuestring))
                return false;
        cJSON_ArrayForEach(m, v)
        {
            const cJSON *ps = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), m->string);
            if (ps && !valid(m, ps))
                return false;
        }
        return true;
    }
    if (!strcmp(t, "string")) {
        const cJSON *max = cJSON_GetObjectItem(s, "maxLength");
        size_t chars = 0;
        for (const char *p = cJSON_IsString(v) ? v->valuestring : ""; *p; p++)
            chars += ((unsigned char)*p & 0xC0) != 0x80;
        return cJSON_IsString(v) && (!max || chars <= (size_t)max->valuedouble);
    }
    if (!strcmp(t, "integer")) {
        const cJSON *lo = cJSON_GetObjectItem(s, "minimum"), *hi = cJSON_GetObjectItem(s, "maximum");
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
               (!lo || v->valuedouble >= lo->valuedouble) &&
               (!hi || v->valuedouble <= hi->valuedouble);
    }
    return !strcmp(t, "boolean") && cJSON_IsBool(v);
}

/* Generates under fmt's grammar (tool_choice required) from seed: the
 * output must end by itself, parse into one call, and validate. With
 * markers, the format's markers that are tokens of v are preserved (and
 * favoured by bias, so the model writes them as tokens, not spelled):
 * returns how many tokens of the output are markers. */
static int sample(heed_context *c, const heed_vocab *v, const int32_t *ids, int n_ids,
                  const char *fmt, uint64_t seed, const cJSON *tool_list, bool markers,
                  float bias)
{
    heed_grammar *g = grammar(fmt, "required", false, NULL, v);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.temp = 1;
    p.sampler.seed = seed;
    p.max_tokens = 300;
    p.grammar = g;
    int32_t marker_ids[HEED_GEN_MAX_PRESERVED];
    heed_logit_bias favour[HEED_GEN_MAX_PRESERVED];
    int n_markers = 0;
    for (const char *const *mk = heed_chat_format_markers(fmt); markers && *mk; mk++) {
        const int32_t id = heed_vocab_token_id(v, *mk, strlen(*mk));
        if (id >= 0) {
            favour[n_markers] = (heed_logit_bias){id, bias};
            marker_ids[n_markers++] = id;
        }
    }
    p.preserved = marker_ids;
    p.n_preserved = n_markers;
    p.logit_bias = favour;
    p.n_logit_bias = n_markers;
    heed_generator *gen;
    cr_assert_eq(heed_generator_new(c, v, ids, n_ids, &p, &gen), HEED_OK, "%s", heed_last_error());
    char *out = calloc(1, 1);
    size_t len = 0;
    int n_written = 0;
    for (bool more = true; more;) {
        const char *t;
        size_t n;
        heed_gen_token tok;
        more = heed_generator_step(gen, &t, &n, &tok);
        for (int k = 0; k < n_markers; k++)
            n_written += tok.id == marker_ids[k];
        out = realloc(out, len + n + 1);
        memcpy(out + len, t, n);
        out[len += n] = 0;
    }
    cr_expect_eq(heed_generator_finish(gen), HEED_GEN_EOG, "%s seed %d: %s", fmt, (int)seed, out);
    heed_generator_free(gen);
    heed_grammar_free(g);
    const heed_chat_parse_params pp = {.format = fmt, .tool_calls = true, .tools = tools,
                                       .id_seed = 1};
    char *msg;
    cr_assert_eq(heed_chat_parse(&pp, out, len, &msg), HEED_OK);
    cJSON *m = cJSON_Parse(msg);
    const cJSON *calls = cJSON_GetObjectItem(m, "tool_calls");
    cr_expect_eq(cJSON_GetArraySize(calls), 1, "%s seed %d: %s\n-> %s", fmt, (int)seed, out, msg);
    const cJSON *fn = cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 0), "function");
    const cJSON *t;
    bool ok = false;
    cJSON_ArrayForEach(t, tool_list)
    {
        const cJSON *tf = cJSON_GetObjectItem(t, "function");
        if (!fn || !tf || strcmp(cJSON_GetObjectItem(tf, "name")->valuestring,
                                 cJSON_GetObjectItem(fn, "name")->valuestring))
            continue;
        cJSON *args = cJSON_Parse(cJSON_GetObjectItem(fn, "arguments")->valuestring);
        ok = valid(args, cJSON_GetObjectItem(tf, "parameters"));
        cJSON_Delete(args);
    }
    cr_expect(ok, "%s seed %d: %s\n-> %s", fmt, (int)seed, out, msg);
    cr_log_info("%s seed %d: %s", fmt, (int)seed, out);
    cJSON_Delete(m);
    free(msg);
    free(out);
    return n_written;
}

/* The model at path, its vocabulary and a context of 512 on one thread. */
static void load(const char *path, heed_model **m, heed_vocab **v, heed_context **c)
{
    cr_assert_eq(heed_model_load(path, m), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_vocab_load(heed_model_gguf(*m), v), HEED_OK, "%s", heed_last_error());
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = 512;
    cp.n_threads = 1;
    cr_assert_eq(heed_context_new(*m, &cp, c), HEED_OK, "%s", heed_last_error());
}

Test(tool_grammar, default_model_calls_validate, .timeout = 600)
{
    heed_model *m;
    heed_vocab *v;
    heed_context *c;
    load(DEFAULT_MODEL, &m, &v, &c);
    const char *prompt = "And he called for the weather of the city, saying";
    int32_t *ids;
    size_t n_ids;
    cr_assert_eq(heed_tokenize(v, prompt, strlen(prompt), true, false, &ids, &n_ids), HEED_OK);
    cJSON *tool_list = cJSON_Parse(tools);
    for (size_t i = 0; i < N_FORMATS; i++)
        for (uint64_t seed = 0; seed < 3; seed++)
            sample(c, v, ids, (int)n_ids, written[i][0], seed, tool_list, false, 0);
    cJSON_Delete(tool_list);
    free(ids);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
}

/* A vocabulary that holds the formats' markers as control tokens (heed
 * synth's tiny-chat, as Llama 3 holds <|python_tag|>, Mistral [TOOL_CALLS],
 * gpt-oss its channels): preserved, the model writes them as tokens, the
 * text shows them and the calls parse; not preserved, the grammar never
 * lets them through (their text would be lost), and the call is spelled
 * in ordinary tokens instead. */
Test(tool_grammar, markers_written_as_control_tokens)
{
    const char *path = test_tmp_path("tiny-chat.gguf");
    cr_assert_eq(heed_synth("tiny-chat", HEED_TYPE_F32, 5, 1, path), HEED_OK, "%s",
                 heed_last_error());
    heed_model *m;
    heed_vocab *v;
    heed_context *c;
    load(path, &m, &v, &c);
    /* gpt-oss's harmony, as ik_llama.cpp reads it: <|return|> and <|call|>
     * end a reply, <|end|> closes a message inside one; channels are text */
    cr_expect(heed_vocab_is_eog(v, heed_vocab_token_id(v, "<|call|>", 8)));
    cr_expect(heed_vocab_is_eog(v, heed_vocab_token_id(v, "<|return|>", 10)));
    cr_expect(heed_vocab_is_eog(v, heed_vocab_token_id(v, "<|im_end|>", 10)));
    cr_expect_not(heed_vocab_is_eog(v, heed_vocab_token_id(v, "<|end|>", 7)));
    size_t n;
    cr_expect(heed_token_to_piece(v, heed_vocab_token_id(v, "<|channel|>", 11), false, &n) &&
              n == 11);
    const char *prompt = "<|im_start|>user\nThe weather?<|im_end|>\n<|im_start|>assistant\n";
    int32_t *ids;
    size_t n_ids;
    cr_assert_eq(heed_tokenize(v, prompt, strlen(prompt), false, true, &ids, &n_ids), HEED_OK);
    cr_assert_eq(ids[0], heed_vocab_token_id(v, "<|im_start|>", 12), "the turn tokens are tokens");
    cJSON *tool_list = cJSON_Parse(tools);
    int formats = 0;
    for (size_t i = 0; i < N_FORMATS; i++) {
        const char *fmt = written[i][0];
        bool control = false; /* is a marker of the format's call a control token here */
        for (const char *const *mk = heed_chat_format_markers(fmt); *mk; mk++) {
            const int32_t id = heed_vocab_token_id(v, *mk, strlen(*mk));
            control = control || (id >= 0 && heed_token_to_piece(v, id, false, &n) && !n &&
                                  strstr(written[i][1], *mk));
        }
        if (!control)
            continue;
        formats++;
        for (uint64_t seed = 0; seed < 2; seed++) {
            cr_expect_gt(sample(c, v, ids, (int)n_ids, fmt, seed, tool_list, true, 30), 0,
                         "%s: the markers are written as tokens", fmt);
            cr_expect_eq(sample(c, v, ids, (int)n_ids, fmt, seed, tool_list, false, 30), 0,
                         "%s: a control token not preserved never passes the grammar", fmt);
        }
    }
    cr_expect_geq(formats, 13, "formats whose markers are control tokens here: %d", formats);
    cJSON_Delete(tool_list);
    free(ids);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
}
