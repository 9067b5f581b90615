/* test_chat_template.c — chat templates against llama.cpp (commit c392e50):
 * the conversation of its tests/test-chat-template.cpp rendered by every
 * template, detection from real tokenizer.chat_template texts (taken from
 * that file), and the error paths. Expected strings are that file's; those
 * it lacks (llama2-sys, zephyr, add_assistant off, the odd-roles
 * conversation) are what llama.cpp's llama_chat_apply_template returned. */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static const heed_chat_message conv[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};
#define N_CONV (sizeof conv / sizeof conv[0])

static void check_render(const char *name, const heed_chat_message *m, size_t n, bool add,
                         const char *want)
{
    char *out = NULL;
    cr_assert_eq(heed_chat_apply(name, m, n, add, &out), HEED_OK, "%s: %s", name,
                 heed_last_error());
    cr_assert_not_null(out);
    cr_expect_str_eq(out, want, "template %s (add_assistant %d)", name, add);
    free(out);
}

/* ------------------------------------------------------------ rendering */

static const struct {
    const char *name;
    const char *want;
} rendered[] = {
    {"chatml",
     "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
     "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
     "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother "
     "question<|im_end|>\n<|im_start|>assistant\n"},
    {"llama2",
     "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   "
     "I am an assistant   </s>[INST] Another question [/INST]"},
    {"llama2-sys",
     "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] "
     "Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]"},
    {"llama2-sys-bos",
     "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s><s>[INST] "
     "Who are you [/INST]   I am an assistant   </s><s>[INST] Another question [/INST]"},
    {"llama2-sys-strip",
     "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] "
     "Who are you [/INST]I am an assistant</s>[INST] Another question [/INST]"},
    {"mistral-v1",
     " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you "
     "[/INST]    I am an assistant   </s> [INST] Another question [/INST]"},
    {"mistral-v3",
     "[INST] You are a helpful assistant\n\nHello[/INST] Hi there</s>[INST] Who are you[/INST] "
     "I am an assistant</s>[INST] Another question[/INST]"},
    {"mistral-v3-tekken",
     "[INST]You are a helpful assistant\n\nHello[/INST]Hi there</s>[INST]Who are you[/INST]   "
     "I am an assistant   </s>[INST]Another question[/INST]"},
    {"mistral-v7",
     "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi "
     "there</s>[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another "
     "question[/INST]"},
    {"phi3",
     "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi "
     "there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   "
     "<|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n"},
    {"gemma",
     "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>"
     "model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n"
     "<start_of_turn>model\nI am an assistant<end_of_turn>\n<start_of_turn>user\nAnother "
     "question<end_of_turn>\n<start_of_turn>model\n"},
    {"zephyr",
     "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n"
     "<|assistant|>\nHi there<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n<|assistant|>\n"
     "   I am an assistant   <|endoftext|>\n<|user|>\nAnother question<|endoftext|>\n"
     "<|assistant|>\n"},
    {"llama3",
     "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant"
     "<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are "
     "you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|><|start_header_id|>"
     "assistant<|end_header_id|>\n\n"},
    /* llama.cpp's alias for the pre-v1 Mistral format */
    {"mistral",
     "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   "
     "I am an assistant   </s>[INST] Another question [/INST]"},
};

Test(chat_template, renders_llama_cpp_conversation)
{
    for (size_t i = 0; i < sizeof rendered / sizeof rendered[0]; i++)
        check_render(rendered[i].name, conv, N_CONV, true, rendered[i].want);
}

Test(chat_template, every_listed_name_renders)
{
    /* the list heed_chat_template_names gives is what the table covers */
    char *list = strdup(heed_chat_template_names());
    size_t count = 0;
    for (char *tok = strtok(list, ", "); tok; tok = strtok(NULL, ", ")) {
        bool found = false;
        for (size_t i = 0; i < sizeof rendered / sizeof rendered[0]; i++)
            found |= strcmp(rendered[i].name, tok) == 0;
        cr_expect(found, "listed name %s has no expected rendering", tok);
        count++;
    }
    cr_expect_eq(count, sizeof rendered / sizeof rendered[0]);
    free(list);
}

Test(chat_template, without_assistant_prefix)
{
    check_render("chatml", conv, N_CONV, false,
                 "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n"
                 "Hello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\n"
                 "Who are you<|im_end|>\n<|im_start|>assistant\n   I am an assistant   "
                 "<|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n");
    check_render("gemma", conv, N_CONV, false,
                 "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n"
                 "<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are "
                 "you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n"
                 "<start_of_turn>user\nAnother question<end_of_turn>\n");
    check_render("llama3", conv, N_CONV, false,
                 "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant"
                 "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>");
    check_render("phi3", conv, N_CONV, false,
                 "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n"
                 "<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n"
                 "   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n");
    /* the llama2 and mistral formats have no reply prefix: the same either way */
    check_render("mistral-v7", conv, N_CONV, false,
                 "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST]"
                 " Hi there</s>[INST] Who are you[/INST]    I am an assistant   </s>[INST] "
                 "Another question[/INST]");
}

/* System messages after the first, empty ones, roles beyond the three,
 * white space at both ends: where the templates differ most. */
Test(chat_template, odd_roles_and_white_space)
{
    static const heed_chat_message m[] = {
        {"system", " \t first \n"}, {"user", "  a  "},      {"model", " m "},
        {"system", "\tsecond\n"},   {"tool", " t "},        {"assistant", "  b  "},
        {"system", "   "},          {"user", "c"},
    };
    size_t n = sizeof m / sizeof m[0];
    check_render("gemma", m, n, true,
                 "<start_of_turn>user\nfirst\n\na<end_of_turn>\n<start_of_turn>model\nm"
                 "<end_of_turn>\n<start_of_turn>tool\nsecond\n\nt<end_of_turn>\n<start_of_turn>"
                 "model\nb<end_of_turn>\n<start_of_turn>user\nc<end_of_turn>\n<start_of_turn>"
                 "model\n");
    check_render("llama2-sys-strip", m, n, true,
                 "[INST] <<SYS>>\nfirst\n<</SYS>>\n\na [/INST]m</s>[INST] <<SYS>>\nsecond\n"
                 "<</SYS>>\n\nt</s>[INST] b</s>[INST] <<SYS>>\n\n<</SYS>>\n\nc [/INST]");
    check_render("mistral-v3", m, n, true,
                 "[INST]  \t first \n\n\n  a  [/INST] m</s>[INST] \tsecond\n\n\n t</s>[INST]  "
                 "b</s>[INST]    \n\nc[/INST]");
    check_render("llama3", m, n, true,
                 "<|start_header_id|>system<|end_header_id|>\n\nfirst<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\na<|eot_id|><|start_header_id|>"
                 "model<|end_header_id|>\n\nm<|eot_id|><|start_header_id|>system"
                 "<|end_header_id|>\n\nsecond<|eot_id|><|start_header_id|>tool<|end_header_id|>"
                 "\n\nt<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nb<|eot_id|>"
                 "<|start_header_id|>system<|end_header_id|>\n\n<|eot_id|><|start_header_id|>"
                 "user<|end_header_id|>\n\nc<|eot_id|><|start_header_id|>assistant"
                 "<|end_header_id|>\n\n");
}

Test(chat_template, empty_conversation)
{
    check_render("chatml", NULL, 0, true, "<|im_start|>assistant\n");
    check_render("chatml", NULL, 0, false, "");
    check_render("llama2", NULL, 0, true, "[INST] ");
    check_render("mistral-v7", NULL, 0, true, "");
}

/* ------------------------------------------------------------ detection */

/* Real tokenizer.chat_template texts from llama.cpp's test file; the long
 * Mistral v3 ones are cut to their tell-tale part, and llama2-sys and
 * zephyr (which that file lacks) are written to have theirs. */
static const struct {
    const char *want;
    const char *jinja;
} detected[] = {
    {"chatml", /* teknium/OpenHermes-2.5-Mistral-7B */
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
     "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"llama2", /* mistralai/Mistral-7B-Instruct-v0.2, pre-v1 */
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
     "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
     "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
     "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
     "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
     "roles are supported!') }}{% endif %}{% endfor %}"},
    {"llama2-sys",
     "{% for message in messages %}{% if message['role'] == 'system' %}{{ '[INST] <<SYS>>\\n' + "
     "message['content'] + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == 'user' %}"
     "{{ message['content'] + ' [/INST]' }}{% endif %}{% endfor %}"},
    {"llama2-sys-bos", /* TheBloke/FusionNet_34Bx2_MoE-AWQ */
     "{%- for idx in range(0, messages|length) -%}\n{%- if messages[idx]['role'] == 'user' -%}\n"
     "{%- if idx > 1 -%}\n{{- bos_token + '[INST] ' + messages[idx]['content'] + ' [/INST]' -}}\n"
     "{%- else -%}\n{{- messages[idx]['content'] + ' [/INST]' -}}\n{%- endif -%}\n"
     "{% elif messages[idx]['role'] == 'system' %}\n{{- '[INST] <<SYS>>\\n' + "
     "messages[idx]['content'] + '\\n<</SYS>>\\n\\n' -}}\n{%- elif messages[idx]['role'] == "
     "'assistant' -%}\n{{- ' '  + messages[idx]['content'] + ' ' + eos_token -}}\n{% endif %}\n"
     "{% endfor %}"},
    {"llama2-sys-strip", /* bofenghuang/vigogne-2-70b-chat */
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = "
     "messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif true == true and "
     "not '<<SYS>>' in messages[0]['content'] %}{% set loop_messages = messages %}{% set "
     "system_message = 'Vous êtes Vigogne, un assistant IA créé par Zaion Lab. Vous suivez "
     "extrêmement bien les instructions. Aidez autant que vous le pouvez.' %}{% else %}{% set "
     "loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in "
     "loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
     "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') "
     "}}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = "
     "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}"
     "{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
     "{{ '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'system' %}"
     "{{ '<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == "
     "'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"},
    {"mistral-v1", /* mistralai/Mistral-7B-Instruct-v0.2, 'v1' with a system prompt */
     "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = "
     "messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    "
     "{%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in "
     "loop_messages %}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n   "
     "     {{- raise_exception('After the optional system message, conversation roles must "
     "alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if "
     "message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n"
     "            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}"
     "\n        {%- else %}\n            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n   "
     "     {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + "
     "message['content'] + eos_token}}\n    {%- else %}\n        {{- raise_exception('Only user "
     "and assistant roles are supported, with the exception of an initial optional system "
     "message!') }}\n    {%- endif %}\n{%- endfor %}\n"},
    {"mistral-v3", /* Mistral-Large-Instruct-2407, its user turn */
     "{%- if message[\"role\"] == \"user\" %}\n        {%- if tools is not none and (message == "
     "user_messages[-1]) %}\n            {{- \"[AVAILABLE_TOOLS] [\" }}\n            {%- endif "
     "%}\n        {%- if loop.last and system_message is defined %}\n            {{- \"[INST] \" "
     "+ system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}\n        {%- else "
     "%}\n            {{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}\n        {%- endif "
     "%}"},
    {"mistral-v3-tekken", /* Mistral-Nemo-Instruct-2407, its user turn */
     "{%- if message[\"role\"] == \"user\" %}\n        {%- if tools is not none and (message == "
     "user_messages[-1]) %}\n            {{- \"[AVAILABLE_TOOLS][\" }}\n            {%- endif "
     "%}\n        {%- if loop.last and system_message is defined %}\n            {{- \"[INST]\" "
     "+ system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}\n        {%- else "
     "%}\n            {{- \"[INST]\" + message[\"content\"] + \"[/INST]\" }}\n        {%- endif "
     "%}"},
    {"mistral-v7", /* mistralai/Mistral-Large-Instruct-2411 */
     "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
     "{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}"
     "{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] "
     "== 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ raise_exception("
     "'Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}"},
    {"phi3", /* Phi-3-mini */
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}"
     "{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}"
     "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}"
     "{% endif %}{% endfor %}"},
    {"phi3", /* Phi-3-small */
     "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + "
     "message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"},
    {"phi3", /* Phi-3-vision */
     "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] "
     "+ '<|end|>\n' }}{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != "
     "'assistant' %}{{- '<|assistant|>\n' -}}{% endif %}"},
    {"gemma", /* google/gemma-7b-it */
     "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') "
     "}}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != "
     "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
     "user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}"
     "{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
     "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
     "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"},
    {"zephyr",
     "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + "
     "message['content'] + '<|endoftext|>\\n' }}{% else %}{{ '<|' + message['role'] + '|>\\n' "
     "+ message['content'] + '<|endoftext|>\\n' }}{% endif %}{% endfor %}"},
    {"llama3", /* Llama-3 */
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
     "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | "
     "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
     "{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' "
     "}}"},
};

Test(chat_template, detects_real_templates)
{
    for (size_t i = 0; i < sizeof detected / sizeof detected[0]; i++) {
        const char *got = heed_chat_template_detect(detected[i].jinja);
        cr_expect(got && strcmp(got, detected[i].want) == 0, "template %zu: want %s, got %s", i,
                  detected[i].want, got ? got : "NULL");
    }
}

Test(chat_template, detected_template_renders_as_its_name)
{
    /* apply takes a template text too, as llama_chat_apply_template does */
    check_render(detected[0].jinja, conv, N_CONV, true, rendered[0].want);
}

Test(chat_template, names_detect_as_themselves)
{
    for (size_t i = 0; i < sizeof rendered / sizeof rendered[0]; i++) {
        const char *got = heed_chat_template_detect(rendered[i].name);
        const char *want = strcmp(rendered[i].name, "mistral") == 0 ? "llama2" : rendered[i].name;
        cr_expect(got && strcmp(got, want) == 0, "%s detected as %s", rendered[i].name,
                  got ? got : "NULL");
    }
    cr_expect_str_eq(heed_chat_template_detect("mistral-large"), "llama2");
}

Test(chat_template, unknown_templates_detect_as_null)
{
    static const char *const unknown[] = {
        "",
        "some template",
        "Chatml", /* names are case-sensitive, as in llama.cpp */
        /* llama.cpp templates heed does not render, which hold tells of
         * ones it does: each must stop the search where llama.cpp does */
        "phi4",
        "{% for message in messages %}{% if (message['role'] == 'system') %}"
        "{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}{% endif %}"
        "{% endfor %}", /* phi-4 */
        "{% for message in messages %}{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\n "
        "{{ message['content'] }}{% else %}<|{{ message['role'] }}|>\n {{ message['content'] }}"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}", /* chatglm3 */
        /* stablelm-2-zephyr: llama.cpp takes <|user|> with <|assistant|> for glmedge */
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + "
        "message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n"
        "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% endfor %}",
        /* vicuna is tested before llama3 */
        "<|start_header_id|><|end_header_id|>USER: ASSISTANT: ",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        cr_expect_null(heed_chat_template_detect(unknown[i]), "template %zu detected as %s", i,
                       heed_chat_template_detect(unknown[i]));
    cr_expect_null(heed_chat_template_detect(NULL));
}

/* ---------------------------------------------------------------- errors */

Test(chat_template, unknown_name_lists_known_ones)
{
    char dummy = 0, *out = &dummy;
    cr_assert_eq(heed_chat_apply("vicuna-9000", conv, N_CONV, true, &out), HEED_ERR_ARG);
    cr_expect_null(out);
    cr_expect(strstr(heed_last_error(), "vicuna-9000"), "%s", heed_last_error());
    cr_expect(strstr(heed_last_error(), heed_chat_template_names()), "%s", heed_last_error());

    /* a long unknown template text is cut in the message, the list is whole */
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(heed_chat_apply(big, conv, N_CONV, true, &out), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), heed_chat_template_names()), "%s", heed_last_error());

    cr_expect_eq(heed_chat_apply(NULL, conv, N_CONV, true, &out), HEED_ERR_ARG);
    cr_expect_null(out);
}

Test(chat_template, null_role_or_content_is_an_error)
{
    heed_chat_message m[] = {{"user", "Hello"}, {"assistant", NULL}};
    char *out = NULL;
    cr_expect_eq(heed_chat_apply("chatml", m, 2, true, &out), HEED_ERR_ARG);
    cr_expect_null(out);
    cr_expect(strstr(heed_last_error(), "message 1"), "%s", heed_last_error());

    m[1] = (heed_chat_message){NULL, "Hi"};
    for (size_t i = 0; i < sizeof rendered / sizeof rendered[0]; i++) {
        cr_expect_eq(heed_chat_apply(rendered[i].name, m, 2, true, &out), HEED_ERR_ARG, "%s",
                     rendered[i].name);
        cr_expect_null(out);
    }
    cr_expect_eq(heed_chat_apply("chatml", NULL, 2, true, &out), HEED_ERR_ARG);
    cr_expect_eq(heed_chat_apply("chatml", m, 1, true, NULL), HEED_ERR_ARG);
}
