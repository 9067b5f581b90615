/* chat_template.c — recognising a model's chat template and rendering a
 * conversation with it, as llama.cpp's built-in renderer does
 * (llm_chat_detect_template / llm_chat_apply_template in llama-chat.cpp). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"

typedef enum tmpl {
    T_CHATML,
    T_LLAMA2,
    T_LLAMA2_SYS,
    T_LLAMA2_SYS_BOS,
    T_LLAMA2_SYS_STRIP,
    T_MISTRAL_V1,
    T_MISTRAL_V3,
    T_MISTRAL_V3_TEKKEN,
    T_MISTRAL_V7,
    T_PHI3,
    T_GEMMA,
    T_ZEPHYR,
    T_LLAMA3,
    T_COUNT,
    /* llama.cpp knows it but heed does not render it: detecting it must
     * still stop the search, or a later, looser test would misname it */
    T_OTHER = T_COUNT,
    T_UNKNOWN,
} tmpl;

static const char *const names[T_COUNT] = {
    [T_CHATML] = "chatml",
    [T_LLAMA2] = "llama2",
    [T_LLAMA2_SYS] = "llama2-sys",
    [T_LLAMA2_SYS_BOS] = "llama2-sys-bos",
    [T_LLAMA2_SYS_STRIP] = "llama2-sys-strip",
    [T_MISTRAL_V1] = "mistral-v1",
    [T_MISTRAL_V3] = "mistral-v3",
    [T_MISTRAL_V3_TEKKEN] = "mistral-v3-tekken",
    [T_MISTRAL_V7] = "mistral-v7",
    [T_PHI3] = "phi3",
    [T_GEMMA] = "gemma",
    [T_ZEPHYR] = "zephyr",
    [T_LLAMA3] = "llama3",
};

/* Kept by hand beside names[]; "mistral" is an alias (see detect). */
static const char name_list[] =
    "chatml, llama2, llama2-sys, llama2-sys-bos, llama2-sys-strip, mistral-v1, "
    "mistral-v3, mistral-v3-tekken, mistral-v7, phi3, gemma, zephyr, llama3, mistral";

const char *heed_chat_template_names(void) { return name_list; }

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* llm_chat_detect_template's tests, in its order. The branches for
 * templates heed does not render are kept so that their templates are not
 * taken for one it does (a phi4 template holds "<|im_start|>", a falcon3
 * one "<|user|>" and "<|assistant|>"). */
static tmpl detect(const char *s)
{
    for (int t = 0; t < T_COUNT; t++)
        if (strcmp(s, names[t]) == 0)
            return (tmpl)t;

    if (has(s, "<|im_start|>"))
        return has(s, "<|im_sep|>") ? T_OTHER /* phi4 */ : T_CHATML;
    /* a leading "mistral" makes any name an alias of the Mistral family,
     * which without further tells is the pre-v1 (llama2) format */
    if (strncmp(s, "mistral", 7) == 0 || has(s, "[INST]")) {
        if (has(s, "[SYSTEM_PROMPT]"))
            return T_MISTRAL_V7;
        if (has(s, "' [INST] ' + system_message") || has(s, "[AVAILABLE_TOOLS]")) {
            if (has(s, " [INST]"))
                return T_MISTRAL_V1;
            if (has(s, "\"[INST]\""))
                return T_MISTRAL_V3_TEKKEN;
            return T_MISTRAL_V3;
        }
        if (has(s, "content.strip()"))
            return T_LLAMA2_SYS_STRIP;
        if (has(s, "bos_token + '[INST]"))
            return T_LLAMA2_SYS_BOS;
        if (has(s, "<<SYS>>"))
            return T_LLAMA2_SYS;
        return T_LLAMA2;
    }
    if (has(s, "<|assistant|>") && has(s, "<|end|>"))
        return T_PHI3;
    if (has(s, "<|assistant|>") && has(s, "<|user|>"))
        return T_OTHER; /* falcon3 or glmedge */
    if (has(s, "<|user|>") && has(s, "<|endoftext|>"))
        return T_ZEPHYR;
    if (has(s, "bos_token + message['role']"))
        return T_OTHER; /* monarch */
    if (has(s, "<start_of_turn>"))
        return T_GEMMA;
    /* orion, openchat, vicuna, deepseek and command-r come before llama3 */
    if (has(s, "'\\n\\nAssistant: ' + eos_token") || has(s, "GPT4 Correct ") ||
        (has(s, "USER: ") && has(s, "ASSISTANT: ")) ||
        (has(s, "### Instruction:") && has(s, "<|EOT|>")) ||
        (has(s, "<|START_OF_TURN_TOKEN|>") && has(s, "<|USER_TOKEN|>")))
        return T_OTHER;
    if (has(s, "<|start_header_id|>") && has(s, "<|end_header_id|>"))
        return T_LLAMA3;
    return T_UNKNOWN; /* whatever llama.cpp tests after llama3 is not heed's */
}

const char *heed_chat_template_detect(const char *jinja)
{
    if (!jinja)
        return NULL;
    tmpl t = detect(jinja);
    return t < T_COUNT ? names[t] : NULL;
}

/* ------------------------------------------------------------ rendering */

/* llama.cpp's trim: ASCII white space (isspace in the C locale) at both
 * ends; bytes of multi-byte UTF-8 sequences are never white space. */
static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static const char *trimmed(const char *s, size_t *n)
{
    size_t len = strlen(s);
    while (len && is_ws(*s))
        s++, len--;
    while (len && is_ws(s[len - 1]))
        len--;
    *n = len;
    return s;
}

static void put_trim(strbuf *b, const char *s)
{
    size_t n;
    s = trimmed(s, &n);
    sb_add(b, s, n);
}

static bool is(const char *role, const char *want) { return strcmp(role, want) == 0; }

/* mistral-v1, -v3, -v3-tekken: they differ in the spaces around [INST] and
 * whether assistant replies are trimmed. No reply prefix is added. */
static void render_mistral(strbuf *b, tmpl t, const heed_chat_message *m, size_t n)
{
    const char *lead = t == T_MISTRAL_V1 ? " " : "";
    const char *trail = t == T_MISTRAL_V3_TEKKEN ? "" : " ";
    bool inside = false;
    for (size_t i = 0; i < n; i++) {
        if (!inside) {
            sb_puts(b, lead), sb_puts(b, "[INST]"), sb_puts(b, trail);
            inside = true;
        }
        if (is(m[i].role, "system")) {
            sb_puts(b, m[i].content), sb_puts(b, "\n\n");
        } else if (is(m[i].role, "user")) {
            sb_puts(b, m[i].content), sb_puts(b, lead), sb_puts(b, "[/INST]");
        } else {
            sb_puts(b, trail);
            if (t == T_MISTRAL_V3)
                put_trim(b, m[i].content);
            else
                sb_puts(b, m[i].content);
            sb_puts(b, "</s>");
            inside = false;
        }
    }
}

static void render_mistral_v7(strbuf *b, const heed_chat_message *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (is(m[i].role, "system"))
            sb_puts(b, "[SYSTEM_PROMPT] "), sb_puts(b, m[i].content),
                sb_puts(b, "[/SYSTEM_PROMPT]");
        else if (is(m[i].role, "user"))
            sb_puts(b, "[INST] "), sb_puts(b, m[i].content), sb_puts(b, "[/INST]");
        else
            sb_puts(b, " "), sb_puts(b, m[i].content), sb_puts(b, "</s>");
    }
}

/* llama2 and its variants: -sys wraps the system message in <<SYS>>, -bos
 * writes <s> before each later [INST], -strip trims every message. The
 * first [INST] has no <s> (the tokenizer adds BOS); no reply prefix. */
static void render_llama2(strbuf *b, tmpl t, const heed_chat_message *m, size_t n)
{
    bool sys = t != T_LLAMA2;
    bool strip = t == T_LLAMA2_SYS_STRIP;
    bool inside = true;
    sb_puts(b, "[INST] ");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *c = strip ? trimmed(m[i].content, &len) : m[i].content;
        if (!strip)
            len = strlen(c);
        if (!inside) {
            inside = true;
            sb_puts(b, t == T_LLAMA2_SYS_BOS ? "<s>[INST] " : "[INST] ");
        }
        if (is(m[i].role, "system")) {
            sb_puts(b, sys ? "<<SYS>>\n" : "");
            sb_add(b, c, len);
            sb_puts(b, sys ? "\n<</SYS>>\n\n" : "\n");
        } else if (is(m[i].role, "user")) {
            sb_add(b, c, len), sb_puts(b, " [/INST]");
        } else {
            sb_add(b, c, len), sb_puts(b, "</s>");
            inside = false;
        }
    }
}

/* gemma has no system role: the last system message (trimmed) opens the
 * next non-assistant turn; "assistant" is "model". */
static void render_gemma(strbuf *b, const heed_chat_message *m, size_t n, bool add_assistant)
{
    const char *sys = NULL;
    size_t sys_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) {
            sys = trimmed(m[i].content, &sys_len);
            continue;
        }
        bool model = is(m[i].role, "assistant") || is(m[i].role, "model");
        sb_puts(b, "<start_of_turn>"), sb_puts(b, is(m[i].role, "assistant") ? "model" : m[i].role);
        sb_puts(b, "\n");
        if (sys_len && !model) {
            sb_add(b, sys, sys_len), sb_puts(b, "\n\n");
            sys_len = 0;
        }
        put_trim(b, m[i].content), sb_puts(b, "<end_of_turn>\n");
    }
    if (add_assistant)
        sb_puts(b, "<start_of_turn>model\n");
}

/* chatml, phi3, zephyr and llama3: one fixed frame around role and content. */
static void render_framed(strbuf *b, tmpl t, const heed_chat_message *m, size_t n,
                          bool add_assistant)
{
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case T_CHATML:
            sb_puts(b, "<|im_start|>"), sb_puts(b, m[i].role), sb_puts(b, "\n");
            sb_puts(b, m[i].content), sb_puts(b, "<|im_end|>\n");
            break;
        case T_PHI3:
            sb_puts(b, "<|"), sb_puts(b, m[i].role), sb_puts(b, "|>\n");
            sb_puts(b, m[i].content), sb_puts(b, "<|end|>\n");
            break;
        case T_ZEPHYR:
            sb_puts(b, "<|"), sb_puts(b, m[i].role), sb_puts(b, "|>\n");
            sb_puts(b, m[i].content), sb_puts(b, "<|endoftext|>\n");
            break;
        default: /* T_LLAMA3 */
            sb_puts(b, "<|start_header_id|>"), sb_puts(b, m[i].role),
                sb_puts(b, "<|end_header_id|>\n\n");
            put_trim(b, m[i].content), sb_puts(b, "<|eot_id|>");
            break;
        }
    }
    if (!add_assistant)
        return;
    switch (t) {
    case T_CHATML: sb_puts(b, "<|im_start|>assistant\n"); break;
    case T_PHI3:
    case T_ZEPHYR: sb_puts(b, "<|assistant|>\n"); break;
    default: sb_puts(b, "<|start_header_id|>assistant<|end_header_id|>\n\n"); break;
    }
}

heed_status heed_chat_apply(const char *template_name, const heed_chat_message *msgs,
                            size_t n, bool add_assistant, char **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "chat template: no output pointer");
    *out = NULL;
    tmpl t = template_name ? detect(template_name) : T_UNKNOWN;
    if (t >= T_COUNT) {
        /* the "name" may be a whole Jinja template: show only its start */
        const char *shown = template_name ? template_name : "(null)";
        return heed_fail(HEED_ERR_ARG, "chat template: unknown template \"%.48s%s\"; known: %s",
                         shown, strlen(shown) > 48 ? "..." : "", name_list);
    }
    if (!msgs && n)
        return heed_fail(HEED_ERR_ARG, "chat template: %zu messages but no array", n);
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return heed_fail(HEED_ERR_ARG, "chat template: message %zu has no %s", i,
                             msgs[i].role ? "content" : "role");

    strbuf b = {0};
    sb_puts(&b, ""); /* an empty conversation still gives a string */
    switch (t) {
    case T_LLAMA2:
    case T_LLAMA2_SYS:
    case T_LLAMA2_SYS_BOS:
    case T_LLAMA2_SYS_STRIP: render_llama2(&b, t, msgs, n); break;
    case T_MISTRAL_V1:
    case T_MISTRAL_V3:
    case T_MISTRAL_V3_TEKKEN: render_mistral(&b, t, msgs, n); break;
    case T_MISTRAL_V7: render_mistral_v7(&b, msgs, n); break;
    case T_GEMMA: render_gemma(&b, msgs, n, add_assistant); break;
    default: render_framed(&b, t, msgs, n, add_assistant); break;
    }
    if (b.oom) {
        free(b.s);
        return heed_fail(HEED_ERR_NOMEM, "chat template: out of memory rendering %zu messages", n);
    }
    *out = b.s;
    return HEED_OK;
}
