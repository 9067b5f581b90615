/* pretokenize.c — see pretokenize.h. The regex lists are llama.cpp's for
 * each tokenizer.ggml.pre value (llama-vocab.cpp at the reference commit),
 * written as the tokenizer configs write them. Where llama.cpp adapted a
 * regex (the (?i:...) group spelled out), the adapted form is used.
 *
 * Classes are llama.cpp's, not PCRE2's (whose Unicode tables are older
 * and count U+180E as \s): a regex naming a \p{..} class runs, as in
 * llama.cpp, on the text "collapsed" to one stand-in code point per class
 * (heed_cpt_flags), and the others on the code points themselves, with
 * white space beyond ASCII as VT in both. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/pretokenize.h"
#include "text/unicode.h"
#include "util/error.h"

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|" \
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" \
    "\\s+(?!\\S)|\\s+"
#define RE_QWEN2 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|" \
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" \
    "\\s+(?!\\S)|\\s+"
#define RE_BLOOM " ?[^(\\s|.,!?…。，、।۔،)]+"

static const char *const re_default[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL};
static const char *const re_llama3[] = {RE_LLAMA3, NULL};
static const char *const re_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[A-Za-z\xC2\xB5" "\xC3\x80" "-\xC3\x96" "\xC3\x98" "-\xC3\xB6" "\xC3\xB8" "-\xC6\xBA" "\xC6\xBC" "-\xC6\xBF" "\xC7\x84" "-\xCA\x93" "\xCA\x95" "-\xCA\xAF" "\xCD\xB0" "-\xCD\xB3" "\xCD\xB6" "\xCD\xB7" "\xCD\xBB" "-\xCD\xBD" "\xCD\xBF" "\xCE\x86" "\xCE\x88" "-\xCE\x8A" "\xCE\x8C" "\xCE\x8E" "-\xCE\xA1" "\xCE\xA3" "-\xCF\xB5" "\xCF\xB7" "-\xD2\x81" "\xD2\x8A" "-\xD4\xAF" "\xD4\xB1" "-\xD5\x96" "\xE1\x82\xA0" "-\xE1\x83\x85" "\xE1\x8E\xA0" "-\xE1\x8F\xB5" "\xE1\x8F\xB8" "-\xE1\x8F\xBD" "\xE1\xB2\x90" "-\xE1\xB2\xBA" "\xE1\xB2\xBD" "-\xE1\xB2\xBF" "\xE1\xB4\x80" "-\xE1\xB4\xAB" "\xE1\xB5\xAB" "-\xE1\xB5\xB7" "\xE1\xB5\xB9" "-\xE1\xB6\x9A" "\xE1\xB8\x80" "-\xE1\xBC\x95" "\xE1\xBC\x98" "-\xE1\xBC\x9D" "\xE1\xBC\xA0" "-\xE1\xBD\x85" "\xE1\xBD\x88" "-\xE1\xBD\x8D" "\xE1\xBD\x90" "-\xE1\xBD\x97" "\xE1\xBD\x99" "\xE1\xBD\x9B" "\xE1\xBD\x9D" "\xE1\xBD\x9F" "-\xE1\xBD\xBD" "\xE1\xBE\x80" "-\xE1\xBE\xB4" "\xE1\xBE\xB6" "-\xE1\xBE\xBC" "\xE1\xBE\xBE" "\xE1\xBF\x82" "-\xE1\xBF\x84" "\xE1\xBF\x86" "-\xE1\xBF\x8C" "\xE1\xBF\x90" "-\xE1\xBF\x93" "\xE1\xBF\x96" "-\xE1\xBF\x9B" "\xE1\xBF\xA0" "-\xE1\xBF\xAC" "\xE1\xBF\xB2" "-\xE1\xBF\xB4" "\xE1\xBF\xB6" "-\xE1\xBF\xBC" "\xE2\x84\x82" "\xE2\x84\x87" "\xE2\x84\x8A" "-\xE2\x84\x93" "\xE2\x84\x95" "\xE2\x84\x99" "-\xE2\x84\x9D" "\xE2\x84\xA4" "\xE2\x84\xA6" "\xE2\x84\xA8" "\xE2\x84\xAA" "-\xE2\x84\xAD" "\xE2\x84\xAF" "-\xE2\x84\xB4" "\xE2\x84\xB9" "\xE2\x84\xBC" "-\xE2\x84\xBF" "\xE2\x85\x85" "-\xE2\x85\x89" "\xE2\x85\x8E" "\xE2\x86\x83" "\xE2\x86\x84" "\xE2\xB0\x80" "-\xE2\xB1\xBB" "\xE2\xB1\xBE" "-\xE2\xB3\xA4" "\xE2\xB3\xAB" "-\xE2\xB3\xAE" "\xE2\xB3\xB2" "\xE2\xB3\xB3" "\xEA\x99\x80" "-\xEA\x99\xAD" "\xEA\x9A\x80" "-\xEA\x9A\x9B" "\xEA\x9C\xA2" "-\xEA\x9D\xAF" "\xEA\x9D\xB1" "-\xEA\x9E\x87" "\xEA\x9E\x8B" "-\xEA\x9E\x8E" "\xEA\xAD\xB0" "-\xEA\xAE\xBF" "\xEF\xAC\x80" "-\xEF\xAC\x86" "\xEF\xAC\x93" "-\xEF\xAC\x97" "\xEF\xBC\xA1" "-\xEF\xBC\xBA" "\xEF\xBD\x81" "-\xEF\xBD\x9A" "\xF0\x90\x90\x80" "-\xF0\x90\x91\x8F" "\xF0\x90\x92\xB0" "-\xF0\x90\x93\x93" "\xF0\x90\x93\x98" "-\xF0\x90\x93\xBB" "\xF0\x90\xB2\x80" "-\xF0\x90\xB2\xB2" "\xF0\x90\xB3\x80" "-\xF0\x90\xB3\xB2" "\xF0\x91\xA2\xA0" "-\xF0\x91\xA3\x9F" "\xF0\x9E\xA4\x80" "-\xF0\x9E\xA5\x83" "]+",
    "\\s?[!-/:-~\xEF\xBC\x81" "-\xEF\xBC\x8F" "\xEF\xBC\x9A" "-\xEF\xBD\x9E" "\xE2\x80\x98" "-\xE2\x80\x9F" "\xE3\x80\x80" "-\xE3\x80\x82" "]+",
    "\\s+$",
    "[\xE4\xB8\x80" "-\xE9\xBE\xA5" "\xE0\xA0\x80" "-\xE4\xB8\x80" "\xEA\xB0\x80" "-\xED\x9F\xBF" "]+",
    "\\p{N}+",
    NULL};
static const char *const re_deepseek_v3[] = {
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_deepseek_coder[] = {
    "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}", NULL};
static const char *const re_falcon[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL};
static const char *const re_starcoder[] = {"\\p{N}", RE_GPT2, NULL};
static const char *const re_gpt2[] = {RE_GPT2, NULL};
static const char *const re_qwen2[] = {RE_QWEN2, NULL};
static const char *const re_bloom[] = {RE_BLOOM, NULL};
static const char *const re_viking[] = {RE_BLOOM, "\\p{N}", NULL};
static const char *const re_tekken[] = {
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|"
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
/* o200k (gpt-4o, gpt-oss): tekken's words with English contractions
 * (either case) kept on them, numbers in threes */
#define RE_CONTRACTION "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
static const char *const re_gpt4o[] = {
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" RE_CONTRACTION "|"
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" RE_CONTRACTION "|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_chameleon[] = {
    "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )",
    "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2, NULL};

enum { F_IGNORE_MERGES = 1, F_ADD_BOS = 2, F_NO_CLEAN = 4, F_NO_BOS = 8 };

static const struct pre_def {
    const char *name;
    const char *const *re;
    unsigned flags;
} pre_defs[] = {
    {"default", re_default, 0},
    {"llama3", re_llama3, F_IGNORE_MERGES | F_ADD_BOS},
    {"llama-v3", re_llama3, F_IGNORE_MERGES | F_ADD_BOS},
    {"llama-bpe", re_llama3, F_IGNORE_MERGES | F_ADD_BOS},
    {"falcon3", re_llama3, F_IGNORE_MERGES | F_ADD_BOS},
    {"deepseek-llm", re_deepseek_llm, F_NO_CLEAN},
    {"deepseek-coder", re_deepseek_coder, F_NO_CLEAN},
    {"deepseek-v3", re_deepseek_v3, F_NO_CLEAN},
    {"falcon", re_falcon, 0},
    {"mpt", re_gpt2, 0},
    {"starcoder", re_starcoder, 0},
    {"gpt-2", re_gpt2, 0},
    {"phi-2", re_gpt2, 0},
    {"jina-es", re_gpt2, 0},
    {"jina-de", re_gpt2, 0},
    {"gigachat", re_gpt2, 0},
    {"jina-v1-en", re_gpt2, 0},
    {"jina-v2-es", re_gpt2, 0},
    {"jina-v2-de", re_gpt2, 0},
    {"jina-v2-code", re_gpt2, 0},
    {"roberta-bpe", re_gpt2, 0},
    {"refact", re_starcoder, 0},
    {"command-r", re_starcoder, F_NO_CLEAN},
    {"qwen2", re_qwen2, F_NO_CLEAN},
    {"deepseek-r1-qwen", re_qwen2, F_NO_CLEAN},
    {"stablelm2", re_qwen2, 0},
    {"olmo", re_gpt2, 0},
    {"dbrx", re_llama3, 0},
    {"smaug-bpe", re_llama3, 0},
    {"poro-chat", re_bloom, F_NO_CLEAN},
    {"chatglm-bpe", re_llama3, F_NO_BOS},
    {"viking", re_viking, F_NO_CLEAN},
    {"jais", re_gpt2, 0},
    {"tekken", re_tekken, F_NO_CLEAN | F_IGNORE_MERGES | F_ADD_BOS},
    {"gpt-4o", re_gpt4o, F_NO_CLEAN},
    {"llama4", re_gpt4o, F_NO_CLEAN},
    {"smollm", re_starcoder, F_NO_CLEAN},
    {"codeshell", re_starcoder, 0},
    {"bloom", re_bloom, 0},
    {"gpt3-finnish", re_bloom, 0},
    {"exaone", re_starcoder, 0},
    {"chameleon", re_chameleon, F_ADD_BOS | F_NO_CLEAN},
    {"minerva-7b", re_starcoder, 0},
    {"megrez", re_qwen2, 0},
};

struct heed_pretok {
    int n;
    pcre2_code *code[8];
    bool collapsed[8]; /* the regex names a \p{..} class */
};

void heed_pretok_free(heed_pretok *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        pcre2_code_free(p->code[i]);
    free(p);
}

/* llama.cpp writes \p{S} in a collapsed regex as its stand-in and
 * "$+<=>^`|": ASCII '~', a math symbol, is left out. Here it becomes the
 * symbol classes less Sm, with Sm's ASCII members but '~' (a symbol
 * beyond ASCII is So's stand-in by then). NULL when out of memory. */
static char *spell_symbols(const char *re)
{
    static const char sym[] = "\\p{Sc}\\p{Sk}\\p{So}+<=>|";
    char *out = malloc(strlen(re) * (sizeof sym + 1) + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    bool in_class = false;
    for (size_t i = 0; re[i]; i++) {
        if (!strncmp(re + i, "\\p{S}", 5)) {
            k += (size_t)sprintf(out + k, in_class ? "%s" : "[%s]", sym);
            i += 4;
            continue;
        }
        if (re[i] == '\\' && re[i + 1]) {
            out[k++] = re[i++];
        } else if (re[i] == '[') {
            in_class = true;
        } else if (re[i] == ']') {
            in_class = false;
        }
        out[k++] = re[i];
    }
    out[k] = 0;
    return out;
}

heed_status heed_pretok_compile(const char *const *re, const char *name, heed_pretok **out)
{
    *out = NULL;
    heed_pretok *p = calloc(1, sizeof *p);
    if (!p)
        return heed_fail(HEED_ERR_NOMEM, "pre-tokenizer '%s': out of memory", name);
    for (int i = 0; re[i]; i++) {
        if (i == 8) {
            heed_pretok_free(p);
            return heed_fail(HEED_ERR_UNSUPPORTED, "pre-tokenizer '%s': over 8 regexes", name);
        }
        bool collapsed = strstr(re[i], "\\p{") != NULL;
        char *spelled = collapsed ? spell_symbols(re[i]) : NULL;
        if (collapsed && !spelled) {
            heed_pretok_free(p);
            return heed_fail(HEED_ERR_NOMEM, "pre-tokenizer '%s': out of memory", name);
        }
        int err;
        PCRE2_SIZE at;
        /* DOLLAR_ENDONLY: `$` means the end of the piece, as in std::regex.
         * Without a \p{..} class, \s is ASCII's (as std::wregex's). */
        p->code[i] = pcre2_compile((PCRE2_SPTR)(collapsed ? spelled : re[i]),
                                   PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | (collapsed ? PCRE2_UCP : 0),
                                   &err, &at, NULL);
        free(spelled);
        if (!p->code[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            heed_pretok_free(p);
            return heed_fail(HEED_ERR_UNSUPPORTED, "pre-tokenizer '%s': regex %d at %zu: %s",
                             name, i, (size_t)at, (const char *)msg);
        }
        p->collapsed[i] = collapsed;
        p->n = i + 1;
        pcre2_jit_compile(p->code[i], PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    }
    *out = p;
    return HEED_OK;
}

heed_status heed_pretok_new(const char *name, heed_pretok **out, heed_pretok_info *info)
{
    *out = NULL;
    const struct pre_def *d = NULL;
    if (!*name)
        name = "default";
    for (size_t i = 0; i < sizeof pre_defs / sizeof *pre_defs; i++)
        if (!strcmp(pre_defs[i].name, name))
            d = &pre_defs[i];
    if (!d) {
        char known[1024];
        size_t k = 0;
        for (size_t i = 0; i < sizeof pre_defs / sizeof *pre_defs && k < sizeof known - 32; i++)
            k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? " " : "",
                                  pre_defs[i].name);
        return heed_fail(HEED_ERR_UNSUPPORTED,
                         "tokenizer.ggml.pre: unknown pre-tokenizer '%s' (known: %s)", name, known);
    }
    info->ignore_merges = d->flags & F_IGNORE_MERGES;
    info->add_bos = d->flags & F_ADD_BOS;
    info->clean_spaces = !(d->flags & F_NO_CLEAN);
    info->no_bos = d->flags & F_NO_BOS;
    return heed_pretok_compile(d->re, name, out);
}

typedef struct span_list { heed_span *v; size_t n, cap; } span_list;

static int span_push(span_list *l, size_t s, size_t e)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        heed_span *p = realloc(l->v, nc * sizeof *p);
        if (!p)
            return -1;
        l->v = p;
        l->cap = nc;
    }
    l->v[l->n++] = (heed_span){s, e};
    return 0;
}

/* The code point a regex sees for c: ASCII as is, other white space as
 * VT (\s, but neither \r, \n nor ' '); a collapsed regex sees one
 * stand-in per class, of that class in PCRE2's tables too (Co for the
 * rest); the others see c (U+FFFD for what UTF-8 cannot carry). */
static uint32_t stand_in(uint32_t c, bool collapsed)
{
    if (c < 0x80)
        return c;
    unsigned f = heed_cpt_flags(c);
    if (f & HEED_CPT_WHITESPACE)
        return 0x0B;
    if (!collapsed)
        return (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF ? 0xFFFD : c;
    switch (f) {
    case HEED_CPT_NUMBER: return 0x0660;      /* ARABIC-INDIC DIGIT ZERO, Nd */
    case HEED_CPT_LETTER: return 0x05D0;      /* HEBREW LETTER ALEF, Lo */
    case HEED_CPT_PUNCTUATION: return 0x00A1; /* INVERTED EXCLAMATION MARK, Po */
    case HEED_CPT_MARK: return 0x0300;        /* COMBINING GRAVE ACCENT, Mn */
    case HEED_CPT_SYMBOL: return 0x00A9;      /* COPYRIGHT SIGN, So */
    default: return 0xE000;                   /* private use, Co */
    }
}

/* The UTF-8 subject PCRE2 matches, with byte offset <-> code point index
 * maps. */
typedef struct subject { char *s; size_t *sofs, *cidx; } subject;

static int subject_build(subject *sj, const uint32_t *cpts, size_t n, bool collapsed)
{
    sj->sofs = malloc((n + 1) * sizeof *sj->sofs);
    sj->s = malloc(4 * n + 1);
    sj->cidx = malloc((4 * n + 1) * sizeof *sj->cidx);
    if (!sj->sofs || !sj->s || !sj->cidx)
        return -1;
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        sj->sofs[i] = b;
        size_t k = heed_utf8_encode(stand_in(cpts[i], collapsed), sj->s + b);
        for (size_t j = 0; j < k; j++)
            sj->cidx[b + j] = i;
        b += k;
    }
    sj->sofs[n] = b;
    sj->cidx[b] = n;
    return 0;
}

static void subject_free(subject *sj)
{
    free(sj->s);
    free(sj->sofs);
    free(sj->cidx);
}

heed_status heed_pretok_split(const heed_pretok *p, const uint32_t *cpts, size_t n,
                              heed_span **spans, size_t *n_spans)
{
    *spans = NULL;
    *n_spans = 0;
    subject sjs[2] = {{0}}; /* [collapsed] */
    span_list cur = {0}, next = {0};
    pcre2_match_data *md = NULL;
    heed_status st = HEED_OK;
    for (int r = 0; r < p->n; r++) {
        subject *sj = &sjs[p->collapsed[r]];
        if (!sj->s && subject_build(sj, cpts, n, p->collapsed[r]))
            goto nomem;
    }
    if (n && span_push(&cur, 0, n))
        goto nomem;
    for (int r = 0; r < p->n; r++) {
        const subject *sj = &sjs[p->collapsed[r]];
        md = pcre2_match_data_create_from_pattern(p->code[r], NULL);
        if (!md)
            goto nomem;
        next.n = 0;
        for (size_t s = 0; s < cur.n; s++) {
            size_t bs = sj->sofs[cur.v[s].start], blen = sj->sofs[cur.v[s].end] - bs;
            size_t last = cur.v[s].start, o = 0;
            while (o < blen) {
                int rc = pcre2_match(p->code[r], (PCRE2_SPTR)(sj->s + bs), blen, o,
                                     PCRE2_NO_UTF_CHECK | PCRE2_NOTEMPTY, md, NULL);
                if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter uses the heap */
                    rc = pcre2_match(p->code[r], (PCRE2_SPTR)(sj->s + bs), blen, o,
                                     PCRE2_NO_UTF_CHECK | PCRE2_NOTEMPTY | PCRE2_NO_JIT, md,
                                     NULL);
                if (rc == PCRE2_ERROR_NOMATCH)
                    break;
                if (rc < 0) {
                    PCRE2_UCHAR msg[256];
                    pcre2_get_error_message(rc, msg, sizeof msg);
                    st = heed_fail(HEED_ERR_UNSUPPORTED, "pre-tokenizer regex %d: %s", r,
                                   (const char *)msg);
                    goto done;
                }
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                size_t ms = sj->cidx[bs + ov[0]], me = sj->cidx[bs + ov[1]];
                if (ms > last && span_push(&next, last, ms))
                    goto nomem;
                if (span_push(&next, ms, me))
                    goto nomem;
                last = me;
                o = ov[1];
            }
            if (last < cur.v[s].end && span_push(&next, last, cur.v[s].end))
                goto nomem;
        }
        pcre2_match_data_free(md);
        md = NULL;
        span_list t = cur;
        cur = next;
        next = t;
    }
    *spans = cur.v;
    *n_spans = cur.n;
    cur.v = NULL;
    goto done;
nomem:
    st = heed_fail(HEED_ERR_NOMEM, "pre-tokenizer: out of memory for %zu code points", n);
done:
    pcre2_match_data_free(md);
    free(cur.v);
    free(next.v);
    subject_free(&sjs[0]);
    subject_free(&sjs[1]);
    return st;
}
