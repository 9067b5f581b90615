/*
 * chat_grammar.c — the grammars that make a model write tool calls
 * (heed.h: heed_chat_tool_grammar), in each format's own text as its chat
 * template writes it, the arguments by the function's JSON schema
 * (json_schema.c, one converter for all of them).
 *
 * "auto" is llama.cpp's lazy grammar written as a plain one: free text
 * that cannot contain the format's call marker, then optionally the
 * calls, forced once the marker begins. Free text "without L" is the
 * Knuth-Morris-Pratt automaton of L over code points, one rule a state.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "gen/chat_parse.h"
#include "gen/json_schema.h"
#include "text/unicode.h"
#include "util/error.h"

typedef char rule[SCHEMA_RULE_NAME];

#define MAX_LIT 32 /* code points of a literal that free text excludes */

/* One call's text: %N the function's name, %A its arguments (JSON), %X
 * its arguments as the XML formats write them, %I a 9-character id, %D a
 * number; open / close around the calls, sep between them; marker what
 * the parser finds a call by (NULL: "auto" is written by hand). */
static const struct gspec {
    const char *open, *item, *sep, *close, *marker;
    bool parallel;
} gspecs[CF_COUNT] = {
    [CF_GENERIC] = {"", "{\"name\": \"%N\", \"arguments\": %A}", ", ", "", NULL, true},
    [CF_HERMES] = {"", "<tool_call>\n{\"name\": \"%N\", \"arguments\": %A}\n</tool_call>", "\n",
                   "", "<tool_call>", true},
    [CF_QWEN3_CODER] = {"", "<tool_call>\n<function=%N>\n%X</function>\n</tool_call>", "\n", "",
                        "<tool_call>", true},
    [CF_SEED_OSS] = {"", "<seed:tool_call>\n<function=%N>\n%X</function>\n</seed:tool_call>",
                     "\n", "", "<seed:tool_call>", true},
    [CF_GLM_4_5] = {"", "<tool_call>%N\n%X</tool_call>", "\n", "", "<tool_call>", true},
    [CF_LLAMA3] = {"", "{\"name\": \"%N\", \"parameters\": %A}", "", "", NULL, false},
    [CF_MISTRAL_NEMO] = {"[TOOL_CALLS][", "{\"name\": \"%N\", \"arguments\": %A, \"id\": \"%I\"}",
                         ", ", "]", "[TOOL_CALLS]", true},
    [CF_MISTRAL] = {"", "[TOOL_CALLS]%N[ARGS]%A", "", "", "[TOOL_CALLS]", true},
    [CF_FUNCTIONARY_V31] = {"", "<function=%N>%A</function>", "", "", "<function=", true},
    [CF_FUNCTIONARY_V32] = {"", "%N\n%A", ">>>", "", NULL, true},
    [CF_FIREFUNCTION_V2] = {" functools[", "{\"name\": \"%N\", \"arguments\": %A}", ", ", "]",
                            " functools[", true},
    [CF_COMMAND_R7B] = {"<|START_ACTION|>[\n    ",
                        "{\"tool_call_id\": \"%D\", \"tool_name\": \"%N\", \"parameters\": %A}",
                        ",\n    ", "\n]<|END_ACTION|>", "<|START_ACTION|>", true},
    [CF_DEEPSEEK_R1] = {"<｜tool▁calls▁begin｜>",
                        "<｜tool▁call▁begin｜>function<｜tool▁sep｜>%N\n```json\n%A\n```"
                        "<｜tool▁call▁end｜>", "", "<｜tool▁calls▁end｜>",
                        "<｜tool▁calls▁begin｜>", true},
    [CF_DEEPSEEK_V31] = {"<｜tool▁calls▁begin｜>",
                         "<｜tool▁call▁begin｜>%N<｜tool▁sep｜>%A<｜tool▁call▁end｜>", "",
                         "<｜tool▁calls▁end｜>", "<｜tool▁calls▁begin｜>", true},
    [CF_GPT_OSS] = {"", "<|channel|>commentary to=functions.%N <|constrain|>json<|message|>%A",
                    "", "", NULL, false},
    [CF_KIMI_K2] = {"<|tool_calls_section_begin|>",
                    "<|tool_call_begin|>functions.%N:%D<|tool_call_argument_begin|>%A"
                    "<|tool_call_end|>", "", "<|tool_calls_section_end|>",
                    "<|tool_calls_section_begin|>", true},
    [CF_GRANITE] = {"<|tool_call|>[", "{\"name\": \"%N\", \"arguments\": %A}", ", ", "]",
                    "<|tool_call|>", true},
};

/* How the XML formats write one argument: before the key, between key and
 * value, after the value. */
static const struct xml_style {
    const char *key, *value, *end;
} xml_styles[] = {
    {"<parameter=", ">\n", "\n</parameter>\n"},         /* Qwen3-Coder */
    {"<parameter=", ">", "</parameter>\n"},             /* Seed-OSS    */
    {"<arg_key>", "</arg_key>\n<arg_value>", "</arg_value>\n"}, /* GLM */
};

typedef struct gb {
    schema_conv *sc;
    FILE *f;
    chat_fmt fmt;
} gb;

static heed_status nomem(void) { return heed_fail(HEED_ERR_NOMEM, "tool grammar: out of memory"); }

/* A GBNF character class holding code point u, escaped. */
static void class_char(FILE *f, uint32_t u)
{
    if (u == ']' || u == '\\' || u == '^' || u == '-')
        fprintf(f, "\\%c", (char)u);
    else if (u < 0x20)
        fprintf(f, "\\x%02X", u);
    else {
        char buf[4];
        fwrite(buf, 1, heed_utf8_encode(u, buf), f);
    }
}

/* A rule for the texts that do not contain lit: state j has matched lit's
 * first j code points. */
static heed_status without(gb *g, const char *lit, rule name)
{
    uint32_t cp[MAX_LIT]; /* (the literals are the formats' own tags) */
    int m = 0;
    for (size_t off = 0, len = strlen(lit); off < len && m < MAX_LIT;)
        cp[m++] = heed_utf8_decode(lit, len, &off);
    int fail[MAX_LIT + 1] = {0}; /* the longest proper border of cp[0..j) */
    for (int j = 2, k = 0; j <= m; j++) {
        while (k && cp[j - 1] != cp[k])
            k = fail[k];
        k += cp[j - 1] == cp[k];
        fail[j] = k;
    }
    rule state[MAX_LIT];
    heed_status st = schema_conv_name(g->sc, "text", name);
    snprintf(state[0], sizeof state[0], "%s", name);
    for (int j = 1; j < m && !st; j++)
        st = schema_conv_name(g->sc, name, state[j]);
    for (int j = 0; j < m && !st; j++) {
        fprintf(g->f, "%s ::= \"\" | [^", state[j]);
        for (int i = 0; i < m; i++)
            class_char(g->f, cp[i]);
        fprintf(g->f, "] %s", state[0]);
        for (int i = 0; i < m; i++) { /* each distinct code point of lit once */
            bool seen = false;
            for (int k = 0; k < i && !seen; k++)
                seen = cp[k] == cp[i];
            if (seen)
                continue;
            int k = j; /* where cp[i] takes state j */
            while (k && cp[k] != cp[i])
                k = fail[k];
            k += cp[k] == cp[i];
            if (k == m)
                continue; /* lit whole: not allowed */
            char buf[8] = {0};
            heed_utf8_encode(cp[i], buf);
            fputs(" | ", g->f);
            gbnf_literal(g->f, buf);
            fprintf(g->f, " %s", state[k]);
        }
        fputc('\n', g->f);
    }
    return st;
}

/* The function's name as given, or a clear error. */
static heed_status fn_name(const cJSON *fn, const char **name)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(fn, "name");
    if (!cJSON_IsString(n))
        return heed_fail(HEED_ERR_ARG, "tool grammar: a tool's function has no \"name\"");
    size_t len = strlen(n->valuestring), ok = len > 0 && len <= 64;
    for (size_t i = 0; i < len && ok; i++)
        ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
                    n->valuestring[i]) != NULL;
    if (!ok)
        return heed_fail(HEED_ERR_ARG, "tool grammar: function name '%.80s' is not 1 to 64 "
                         "letters, digits, '_', '.' or '-'", n->valuestring);
    *name = n->valuestring;
    return HEED_OK;
}

/* A string argument's raw value (the XML formats): its enum or const as
 * written; with a length bound, that many characters that are no line
 * break or "<" (the value cannot run into its end tag; fewer strings than
 * the schema takes, never more); else any text without end. */
static heed_status raw_value(gb *g, const cJSON *schema, const char *end, const char *fname,
                             rule out)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(schema, "const");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(schema, "minLength");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(schema, "maxLength");
    static const char *const unsupported[] = {"pattern", "format"};
    for (int k = 0; k < 2; k++)
        if (cJSON_GetObjectItemCaseSensitive(schema, unsupported[k]))
            return heed_fail(HEED_ERR_UNSUPPORTED, "tool grammar: function '%s': '%s' on a "
                             "string argument is not supported in this format", fname,
                             unsupported[k]);
    if ((lo && (!cJSON_IsNumber(lo) || lo->valuedouble < 0 || lo->valuedouble > 10000)) ||
        (hi && (!cJSON_IsNumber(hi) || hi->valuedouble < 0 || hi->valuedouble > 10000)))
        return heed_fail(HEED_ERR_UNSUPPORTED, "tool grammar: function '%s': minLength and "
                         "maxLength must be numbers from 0 to 10000", fname);
    if (!en && !one && !lo && !hi)
        return without(g, end, out);
    heed_status st = schema_conv_name(g->sc, "value", out);
    if (st)
        return st;
    fprintf(g->f, "%s ::= ", out);
    if (!en && !one) {
        fprintf(g->f, "[^<\\n]{%d,", lo ? (int)lo->valuedouble : 0);
        if (hi)
            fprintf(g->f, "%d", (int)hi->valuedouble);
        fputs("}\n", g->f);
        return HEED_OK;
    }
    int n = 0;
    for (const cJSON *v = one ? one : en->child; v; v = one ? NULL : v->next)
        if (cJSON_IsString(v)) {
            fputs(n++ ? " | " : "", g->f);
            gbnf_literal(g->f, v->valuestring);
        }
    if (!n)
        return heed_fail(HEED_ERR_UNSUPPORTED, "tool grammar: function '%s': a string "
                         "argument's enum holds no string", fname);
    fputc('\n', g->f);
    return HEED_OK;
}

/* The arguments as an XML format writes them, in the schema's order, the
 * required ones always. */
static heed_status xml_args(gb *g, const char *fname, const cJSON *params, rule out)
{
    const struct xml_style *x = &xml_styles[g->fmt == CF_QWEN3_CODER ? 0
                                            : g->fmt == CF_SEED_OSS ? 1 : 2];
    const char *value_end = g->fmt == CF_GLM_4_5 ? "</arg_value>" : "</parameter>";
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(params, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(params, "required");
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return nomem();
    heed_status st = HEED_OK;
    const cJSON *p;
    fputs("\"\"", f);
    cJSON_ArrayForEach(p, props)
    {
        bool required = false;
        for (const cJSON *r = req ? req->child : NULL; r && !required; r = r->next)
            required = cJSON_IsString(r) && !strcmp(r->valuestring, p->string);
        if (strpbrk(p->string, "<>\n\r")) {
            st = heed_fail(HEED_ERR_UNSUPPORTED, "tool grammar: function '%s': an argument "
                           "named with '<', '>' or a line break cannot be written in this format",
                           fname);
            break;
        }
        rule v;
        char base[96];
        snprintf(base, sizeof base, "%s-%s", fname, p->string);
        st = chat_schema_is_string(p) ? raw_value(g, p, value_end, fname, v)
                                      : schema_conv_add(g->sc, p, base, v);
        if (st)
            break;
        fputs(required ? " " : " (", f);
        gbnf_literal(f, x->key);
        fputc(' ', f);
        gbnf_literal(f, p->string);
        fputc(' ', f);
        gbnf_literal(f, x->value);
        fprintf(f, " %s ", v);
        gbnf_literal(f, x->end);
        fputs(required ? "" : ")?", f);
    }
    if (fclose(f) && !st)
        st = nomem();
    if (!st && !(st = schema_conv_name(g->sc, fname, out)))
        fprintf(g->f, "%s ::= %s\n", out, body);
    free(body);
    return st;
}

/* Writes the text of item (a gspec's) for function fn into f. */
static heed_status item_text(gb *g, FILE *f, const char *item, const cJSON *fn)
{
    const char *name = "";
    heed_status st = fn_name(fn, &name);
    if (st)
        return st;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
    cJSON *any = NULL;
    if (!params)
        params = any = cJSON_Parse("{\"type\": \"object\"}");
    for (const char *p = item; *p && !st;) {
        const char *q = strchr(p, '%');
        const size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n) {
            char *lit = strndup(p, n);
            if (!lit) {
                st = nomem();
                break;
            }
            gbnf_literal(f, lit);
            fputc(' ', f);
            free(lit);
        }
        if (!q)
            break;
        rule r;
        switch (q[1]) {
        case 'N':
            gbnf_literal(f, name);
            break;
        case 'A':
            if ((st = schema_conv_add(g->sc, params, name, r)))
                heed_fail_prefix(st, "tool grammar: function '%s': parameters", name);
            else
                fputs(r, f);
            break;
        case 'X':
            if (!(st = xml_args(g, name, params, r)))
                fputs(r, f);
            break;
        case 'I':
            fputs("[a-zA-Z0-9]{9}", f);
            break;
        default: /* 'D' */
            fputs("[0-9]{1,4}", f);
        }
        fputc(' ', f);
        p = q + 2;
    }
    cJSON_Delete(any);
    return st;
}

/* The rule of the calls: one of fns (several with parallel) in the
 * format's open ... close. */
static heed_status calls_rule(gb *g, const cJSON *const *fns, int n, bool parallel, rule out)
{
    const struct gspec *sp = &gspecs[g->fmt];
    const bool many = parallel && sp->parallel;
    const char *open = sp->open, *close = sp->close;
    if (g->fmt == CF_GENERIC) { /* llama.cpp's schema */
        open = many ? "{\"tool_calls\": [" : "{\"tool_call\": ";
        close = many ? "]}" : "}";
    }
    rule one;
    heed_status st = schema_conv_name(g->sc, "call", one);
    char *body = NULL;
    size_t len = 0;
    FILE *f = st ? NULL : open_memstream(&body, &len);
    if (!st && !f)
        st = nomem();
    for (int i = 0; i < n && !st; i++) {
        fputs(i ? " | " : "", f);
        st = item_text(g, f, sp->item, fns[i]);
    }
    if (f && fclose(f) && !st)
        st = nomem();
    if (!st) {
        fprintf(g->f, "%s ::= %s\n", one, body);
        st = schema_conv_name(g->sc, "calls", out);
    }
    free(body);
    if (st)
        return st;
    fprintf(g->f, "%s ::= ", out);
    if (*open)
        gbnf_literal(g->f, open);
    fprintf(g->f, " %s", one);
    if (many) {
        fputs(" (", g->f);
        if (*sp->sep)
            gbnf_literal(g->f, sp->sep);
        fprintf(g->f, " %s)*", one);
    }
    fputc(' ', g->f);
    if (*close)
        gbnf_literal(g->f, close);
    fputc('\n', g->f);
    return HEED_OK;
}

/* ------------------------------------------------------------ the root */

typedef enum { CHOICE_NONE, CHOICE_AUTO, CHOICE_REQUIRED, CHOICE_NAMED } choice;

/* tool_choice's JSON text (or a bare word): what it asks, and the name
 * for CHOICE_NAMED. */
static heed_status read_choice(const char *text, choice *c, char **named)
{
    *named = NULL;
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    const char *word = !text ? "auto" : cJSON_IsString(v) ? v->valuestring : v ? NULL : text;
    heed_status st = HEED_OK;
    if (word && !strcmp(word, "auto"))
        *c = CHOICE_AUTO;
    else if (word && !strcmp(word, "none"))
        *c = CHOICE_NONE;
    else if (word && !strcmp(word, "required"))
        *c = CHOICE_REQUIRED;
    else {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(v, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn ? fn : v, "name");
        *c = CHOICE_NAMED;
        if (!cJSON_IsString(name))
            st = heed_fail(HEED_ERR_ARG, "tool grammar: tool_choice must be \"auto\", \"none\", "
                           "\"required\" or {\"type\": \"function\", \"function\": {\"name\": "
                           "...}}");
        else if (!(*named = strdup(name->valuestring)))
            st = nomem();
    }
    cJSON_Delete(v);
    return st;
}

/* The text before the calls with tool_choice auto, where the format has
 * no marker to wait for. */
static heed_status auto_special(gb *g, const char *body, const char *calls)
{
    rule free_text;
    heed_status st = HEED_OK;
    switch (g->fmt) {
    case CF_GENERIC: /* the response or the calls, as one JSON object */
        fprintf(g->f, "%s ::= %s | \"{\\\"response\\\": \" %s \"}\"\n", body, calls,
                schema_conv_shared(g->sc, "json-string"));
        break;
    case CF_LLAMA3: /* a call, or text that does not begin with "{" */
        fprintf(g->f, "%s ::= [ \\t\\n\\r]* (%s | ([^{ \\t\\n\\r] .*)?)\n", body, calls);
        break;
    case CF_FUNCTIONARY_V32: /* all\n text, then maybe >>> calls */
        if (!(st = without(g, ">>>", free_text)))
            fprintf(g->f, "%s ::= %s | \"all\\n\" %s (\">>>\" %s)?\n", body, calls, free_text,
                    calls);
        break;
    default: /* CF_GPT_OSS: maybe the analysis channel, then the final one or a call */
        if (!(st = without(g, "<|end|>", free_text)))
            fprintf(g->f, "%s ::= (\"<|channel|>analysis<|message|>\" %s \"<|end|><|start|>"
                    "assistant\")? (%s | \"<|channel|>final<|message|>\" .*)\n", body,
                    free_text, calls);
    }
    return st;
}

heed_status heed_chat_tool_grammar(const char *format, const char *tools, const char *tool_choice,
                                   bool parallel, const char *prompt, char **gbnf)
{
    if (!gbnf)
        return heed_fail(HEED_ERR_ARG, "tool grammar: gbnf is NULL");
    *gbnf = NULL;
    const chat_fmt fmt = chat_fmt_named(format);
    if (fmt == CF_COUNT)
        return heed_fail(HEED_ERR_ARG, "tool grammar: unknown format '%.40s' (%s)",
                         format ? format : "(null)", heed_chat_format_names());
    choice c;
    char *named;
    heed_status st = read_choice(tool_choice, &c, &named);
    if (st || c == CHOICE_NONE)
        return st;
    const size_t len = tools ? strlen(tools) : 0;
    const size_t bad = tools ? heed_utf8_invalid_at(tools, len) : 0;
    if (bad < len) {
        free(named);
        return heed_fail(HEED_ERR_FORMAT, "tool grammar: tools: byte %zu is not valid UTF-8", bad);
    }
    cJSON *root = tools ? cJSON_Parse(tools) : NULL;
    const int n_tools = cJSON_GetArraySize(root);
    const cJSON **fns = calloc((size_t)n_tools + 1, sizeof *fns);
    int n = 0;
    if (!cJSON_IsArray(root))
        st = heed_fail(HEED_ERR_ARG, "tool grammar: tools is not a JSON array");
    else if (!fns)
        st = nomem();
    const cJSON *tool, *list = st ? NULL : root;
    cJSON_ArrayForEach(tool, list)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(tool, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "function") && fn &&
            (!named || (cJSON_IsString(name) && !strcmp(name->valuestring, named))))
            fns[n++] = fn;
    }
    if (!st && !n)
        st = heed_fail(HEED_ERR_ARG, named ? "tool grammar: no function '%.64s' among the tools"
                                           : "tool grammar: no function among the tools%s",
                       named ? named : "");
    const struct gspec *sp = &gspecs[fmt];
    gb g = {.fmt = fmt};
    rule top, body, think, calls, text;
    if (!st && !(st = schema_conv_new(&g.sc))) { /* (the first names: as asked) */
        g.f = schema_conv_out(g.sc);
        if (!(st = schema_conv_name(g.sc, "root", top)) &&
            !(st = schema_conv_name(g.sc, "body", body)))
            st = schema_conv_name(g.sc, "think", think);
    }
    if (!st)
        st = calls_rule(&g, fns, n, parallel, calls);
    /* a reasoning block the prompt opened ends before the rest (no new one
     * is opened before required calls) */
    const bool open = fmt != CF_GPT_OSS && chat_prompt_opens(prompt, chat_fmts[fmt].think_open);
    if (!st && open && !(st = without(&g, chat_fmts[fmt].think_close, text))) {
        fprintf(g.f, "%s ::= %s ", think, text);
        gbnf_literal(g.f, chat_fmts[fmt].think_close);
        fputs(" [ \\n]{0,3}\n", g.f);
    }
    if (st) {
    } else if (c != CHOICE_AUTO) {
        fprintf(g.f, "%s ::= %s\n", body, calls);
    } else if (sp->marker) {
        if (!(st = without(&g, sp->marker, text)))
            fprintf(g.f, "%s ::= %s %s?\n", body, text, calls);
    } else {
        st = auto_special(&g, body, calls);
    }
    if (!st) {
        fprintf(g.f, "%s ::= %s %s\n", top, open ? think : "", body);
        st = schema_conv_finish(g.sc, gbnf);
        g.sc = NULL;
    }
    schema_conv_free(g.sc);
    free(fns);
    free(named);
    cJSON_Delete(root);
    return st;
}
