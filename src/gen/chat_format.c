/*
 * chat_format.c — which tool-call format a chat template uses, told by the
 * substrings its tool-calling part writes, in about the order llama.cpp's
 * common_chat_templates_apply_jinja tests them (narrower tests first: a
 * Qwen3-Coder or GLM template also writes "<tool_call>"). A template none
 * of them fits gets the generic JSON format, as in llama.cpp.
 */
#include "gen/chat_format.h"

#include <string.h>

#include "heed.h"

/* The markers: what llama.cpp's chat.cpp lists as each format's preserved
 * tokens and grammar triggers, and its reasoning tags. */
#define MARKERS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define THINK "<think>", "</think>"
#define DEEPSEEK_CALLS "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", \
    "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>"

const chat_fmt_info chat_fmts[CF_COUNT] = {
    [CF_GENERIC] = {"generic", "<think>", "</think>", MARKERS(THINK)},
    [CF_HERMES] = {"hermes", "<think>", "</think>",
                   MARKERS(THINK, "<tool_call>", "</tool_call>")},
    [CF_QWEN3_CODER] = {"qwen3-coder", "<think>", "</think>",
                        MARKERS(THINK, "<tool_call>", "</tool_call>", "<function=", "</function>",
                                "<parameter=", "</parameter>")},
    [CF_SEED_OSS] = {"seed-oss", "<seed:think>", "</seed:think>",
                     MARKERS("<seed:think>", "</seed:think>", "<seed:tool_call>",
                             "</seed:tool_call>", "<function=", "</function>", "<parameter=",
                             "</parameter>")},
    [CF_GLM_4_5] = {"glm-4.5", "<think>", "</think>",
                    MARKERS(THINK, "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>",
                            "<arg_value>", "</arg_value>")},
    [CF_LLAMA3] = {"llama3", "<think>", "</think>", MARKERS(THINK, "<|python_tag|>")},
    [CF_MISTRAL_NEMO] = {"mistral-nemo", "<think>", "</think>", MARKERS(THINK, "[TOOL_CALLS]")},
    [CF_MISTRAL] = {"mistral", "[THINK]", "[/THINK]",
                    MARKERS("[THINK]", "[/THINK]", "[TOOL_CALLS]", "[ARGS]")},
    [CF_FUNCTIONARY_V31] = {"functionary-v3.1", "<think>", "</think>",
                            MARKERS(THINK, "<function=", "<|python_tag|>")},
    [CF_FUNCTIONARY_V32] = {"functionary-v3.2", "<think>", "</think>", MARKERS(THINK, ">>>")},
    [CF_FIREFUNCTION_V2] = {"firefunction-v2", "<think>", "</think>",
                            MARKERS(THINK, " functools[")},
    [CF_COMMAND_R7B] = {"command-r7b", "<|START_THINKING|>", "<|END_THINKING|>",
                        MARKERS("<|START_THINKING|>", "<|END_THINKING|>", "<|START_RESPONSE|>",
                                "<|END_RESPONSE|>", "<|START_ACTION|>", "<|END_ACTION|>")},
    [CF_DEEPSEEK_R1] = {"deepseek-r1", "<think>", "</think>", MARKERS(THINK, DEEPSEEK_CALLS)},
    [CF_DEEPSEEK_V31] = {"deepseek-v3.1", "<think>", "</think>", MARKERS(THINK, DEEPSEEK_CALLS)},
    [CF_GPT_OSS] = {"gpt-oss", "<|channel|>analysis<|message|>", "<|end|>",
                    MARKERS("<|channel|>", "<|constrain|>", "<|message|>", "<|start|>",
                            "<|end|>")},
    [CF_KIMI_K2] = {"kimi-k2", "<think>", "</think>",
                    MARKERS(THINK, "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>",
                            "<|tool_call_begin|>", "<|tool_call_argument_begin|>",
                            "<|tool_call_end|>")},
    [CF_GRANITE] = {"granite", "<think>", "</think>",
                    MARKERS(THINK, "<response>", "</response>", "<|tool_call|>")},
};

static const char names[] =
    "generic, hermes, qwen3-coder, seed-oss, glm-4.5, llama3, mistral-nemo, mistral, "
    "functionary-v3.1, functionary-v3.2, firefunction-v2, command-r7b, deepseek-r1, "
    "deepseek-v3.1, gpt-oss, kimi-k2, granite";

const char *heed_chat_format_names(void) { return names; }

const char *const *heed_chat_format_markers(const char *format)
{
    const chat_fmt f = chat_fmt_named(format);
    return f < CF_COUNT ? chat_fmts[f].markers : NULL;
}

chat_fmt chat_fmt_named(const char *name)
{
    int f = 0;
    while (f < CF_COUNT && (!name || strcmp(name, chat_fmts[f].name)))
        f++;
    return (chat_fmt)f;
}

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static chat_fmt detect(const char *t)
{
    if (has(t, "message['prefix'] is defined and message['prefix'] and thinking"))
        return CF_DEEPSEEK_V31;
    if (has(t, "<｜tool▁calls▁begin｜>"))
        return CF_DEEPSEEK_R1;
    /* llama.cpp wants "<|END_THINKING|><|START_ACTION|>", which Cohere's
     * later templates split with a tag */
    if (has(t, "<|START_ACTION|>") && has(t, "<|END_ACTION|>"))
        return CF_COMMAND_R7B;
    if (has(t, "elif thinking") && has(t, "<|tool_call|>"))
        return CF_GRANITE;
    if (has(t, "[gMASK]<sop>") && has(t, "<arg_key>") && has(t, "<arg_value>"))
        return CF_GLM_4_5;
    if (has(t, "<seed:tool_call>"))
        return CF_SEED_OSS;
    if (has(t, "<tool_call>") && has(t, "<function=") && has(t, "<parameter="))
        return CF_QWEN3_CODER;
    if (has(t, "<tool_call>"))
        return CF_HERMES;
    if (has(t, "<|channel|>"))
        return CF_GPT_OSS;
    if (has(t, "<|tool_calls_section_begin|>") && has(t, "<|tool_call_begin|>"))
        return CF_KIMI_K2;
    if (has(t, ">>>all"))
        return CF_FUNCTIONARY_V32;
    if (has(t, " functools["))
        return CF_FIREFUNCTION_V2;
    if (has(t, "<|start_header_id|>") && has(t, "<function="))
        return CF_FUNCTIONARY_V31;
    if (has(t, "<|start_header_id|>ipython<|end_header_id|>"))
        return CF_LLAMA3;
    if (has(t, "[TOOL_CALLS]"))
        return has(t, "[ARGS]") ? CF_MISTRAL : CF_MISTRAL_NEMO;
    return CF_GENERIC;
}

const char *heed_chat_format_detect(const char *template_text)
{
    if (!template_text)
        return chat_fmts[CF_GENERIC].name;
    const chat_fmt named = chat_fmt_named(template_text);
    return chat_fmts[named < CF_COUNT ? named : detect(template_text)].name;
}
