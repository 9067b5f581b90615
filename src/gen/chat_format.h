/*
 * chat_format.h — the tool-call formats of chat models (heed.h, "tool
 * calls"): their names, their reasoning tags, and which one a chat
 * template uses (chat_format.c).
 */
#ifndef HEED_GEN_CHAT_FORMAT_H
#define HEED_GEN_CHAT_FORMAT_H

typedef enum chat_fmt {
    CF_GENERIC,         /* {"tool_call": ...} / {"tool_calls": [...]} / {"response": ...} */
    CF_HERMES,          /* <tool_call>{"name": ..., "arguments": ...}</tool_call>   */
    CF_QWEN3_CODER,     /* <tool_call><function=f><parameter=k>v</parameter>...    */
    CF_SEED_OSS,        /* the same in <seed:tool_call>                             */
    CF_GLM_4_5,         /* <tool_call>f<arg_key>k</arg_key><arg_value>v</arg_value> */
    CF_LLAMA3,          /* {"name": ..., "parameters": ...}; <|python_tag|>f.call(k=v) */
    CF_MISTRAL_NEMO,    /* [TOOL_CALLS][{"name": ..., "arguments": ..., "id": ...}] */
    CF_MISTRAL,         /* [TOOL_CALLS]f[ARGS]{...}, [THINK] reasoning              */
    CF_FUNCTIONARY_V31, /* <function=f>{...}</function>, <|python_tag|>code        */
    CF_FUNCTIONARY_V32, /* f\n{...}>>>g\n{...}, all\ntext                          */
    CF_FIREFUNCTION_V2, /*  functools[{"name": ..., "arguments": ...}]             */
    CF_COMMAND_R7B,     /* <|START_ACTION|>[{"tool_name": ..., ...}]<|END_ACTION|>  */
    CF_DEEPSEEK_R1,     /* <｜tool▁calls▁begin｜>...function<｜tool▁sep｜>f\n```json */
    CF_DEEPSEEK_V31,    /* <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{...} */
    CF_GPT_OSS,         /* harmony channels: analysis, final, to=functions.f       */
    CF_KIMI_K2,         /* <|tool_calls_section_begin|><|tool_call_begin|>functions.f:0 */
    CF_GRANITE,         /* <|tool_call|>[{"name": ..., "arguments": ...}]           */
    CF_COUNT
} chat_fmt;

typedef struct chat_fmt_info {
    const char *name;
    const char *think_open, *think_close; /* the reasoning block's tags */
    const char *const *markers; /* heed_chat_format_markers              */
} chat_fmt_info;

extern const chat_fmt_info chat_fmts[CF_COUNT];

/* The format named name, or CF_COUNT. */
chat_fmt chat_fmt_named(const char *name);

#endif
