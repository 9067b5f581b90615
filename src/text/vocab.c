/* vocab.c — reading a vocabulary from a GGUF file's tokenizer.* keys, with
 * llama.cpp's defaults per tokenizer model and its fix-ups (control-looking
 * tokens made control, end-of-generation set, Phi-3's rstrip). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/token_trie.h"
#include "text/unicode.h"
#include "text/vocab.h"
#include "util/error.h"

heed_status heed_ids_push(heed_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t nc = ids->cap ? 2 * ids->cap : 64;
        int32_t *p = realloc(ids->v, nc * sizeof *p);
        if (!p)
            return heed_fail(HEED_ERR_NOMEM, "tokenize: out of memory for %zu ids", nc);
        ids->v = p;
        ids->cap = nc;
    }
    ids->v[ids->n++] = id;
    return HEED_OK;
}

void heed_vocab_free(heed_vocab *v)
{
    if (!v)
        return;
    heed_strmap_free(&v->text_to_id);
    heed_strmap_free(&v->merges);
    heed_pretok_free(v->pretok);
    heed_ugm_free(v->ugm);
    free(v->tokens);
    free(v->texts);
    free(v->pieces);
    free(v->eog);
    free(v->specials);
    token_trie_free(v->trie);
    free(v);
}

/* An optional key: HEED_OK with found=false when absent, an error when it
 * has the wrong type. */
static heed_status opt_bool(const heed_gguf *g, const char *key, bool *out)
{
    if (!heed_gguf_get(g, key))
        return HEED_OK;
    return heed_gguf_get_bool(g, key, out);
}

static heed_status opt_id(const heed_gguf *g, const char *key, int32_t n_tokens, int32_t *id)
{
    uint64_t u;
    if (!heed_gguf_get(g, key))
        return HEED_OK;
    heed_status st = heed_gguf_get_uint(g, key, &u);
    if (st)
        return st;
    if (u < (uint64_t)n_tokens) /* llama.cpp keeps its default for an id out of range */
        *id = (int32_t)u;
    return HEED_OK;
}

static int32_t id_of(const heed_vocab *v, const char *text)
{
    return heed_strmap_get(&v->text_to_id, text, strlen(text));
}

static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|eom_id|>", "<EOT>",
                                        "<|return|>", "<|call|>", NULL};

/* llama.cpp finds EOT / EOM / FIM tokens by their text when the file does
 * not name them, and makes the one it picks a control token. Where several
 * texts exist, heed picks the lowest id (llama.cpp's pick depends on hash
 * order). */
static void autodetect(heed_vocab *v, int32_t *id, const char *const *texts)
{
    if (*id >= 0)
        return;
    int32_t best = -1;
    for (int i = 0; texts[i]; i++) {
        int32_t t = id_of(v, texts[i]);
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    if (best >= 0) {
        *id = best;
        v->tokens[best].attr |= HEED_TOK_CONTROL;
    }
}

/* gpt-oss's o200k_harmony, as ik_llama.cpp reads it (llama.cpp c392e50
 * predates it): <|return|> and <|call|> end a reply, so <|end|>, which
 * closes each message inside one, does not; the channel markers render
 * as text. */
static void harmony(heed_vocab *v)
{
    static const char *const shown[] = {"<|channel|>", "<|message|>", "<|start|>",
                                        "<|constrain|>"};
    for (size_t i = 0; i < sizeof shown / sizeof *shown; i++) {
        const int32_t t = id_of(v, shown[i]);
        if (t >= 0)
            v->tokens[t].attr = HEED_TOK_USER_DEFINED;
    }
    const int32_t ret = id_of(v, "<|return|>"), call = id_of(v, "<|call|>");
    const int32_t end = id_of(v, "<|end|>");
    if (ret >= 0 && call >= 0 && end >= 0 && v->eog[ret] && v->eog[call] && v->eog[end]) {
        v->eog[end] = 0;
        v->tokens[end].attr = HEED_TOK_USER_DEFINED;
    }
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
    const heed_vocab *v = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->tokens[x].len != v->tokens[y].len)
        return v->tokens[x].len > v->tokens[y].len ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The decoded text of token id with special=true (the piece cache). */
static size_t make_piece(const heed_vocab *v, int32_t id, char *out)
{
    const heed_token *t = &v->tokens[id];
    if (t->attr & (HEED_TOK_UNKNOWN | HEED_TOK_CONTROL | HEED_TOK_USER_DEFINED)) {
        memcpy(out, t->text, t->len);
        return t->len;
    }
    if (v->kind == HEED_VOCAB_BPE) {
        if (!(t->attr & HEED_TOK_NORMAL))
            return 0;
        size_t k = 0, off = 0;
        while (off < t->len) {
            uint32_t c = heed_utf8_decode(t->text, t->len, &off);
            int byte = heed_cpt_to_byte(c);
            if (byte >= 0) {
                out[k++] = (char)byte;
            } else { /* llama.cpp's marker for a code point that is no byte */
                k += (size_t)sprintf(out + k, "[UNK_BYTE_0x");
                char u[4];
                size_t m = heed_utf8_encode(c, u);
                for (size_t j = 0; j < m; j++)
                    k += (size_t)sprintf(out + k, "%02x", (unsigned char)u[j]);
                memcpy(out + k, t->text, t->len);
                k += t->len;
                out[k++] = ']';
            }
        }
        return k;
    }
    if (t->attr & HEED_TOK_NORMAL) { /* SPM / WPM: the space marker becomes a space */
        size_t k = 0;
        for (size_t i = 0; i < t->len; i++) {
            if (i + 2 < t->len && !memcmp(t->text + i, "\xE2\x96\x81", 3)) {
                out[k++] = ' ';
                i += 2;
            } else {
                out[k++] = t->text[i];
            }
        }
        return k;
    }
    if (t->attr & HEED_TOK_BYTE) {
        unsigned b = 0;
        if (t->len >= 5)
            sscanf(t->text + 3, "%2x", &b);
        out[0] = (char)b;
        return 1;
    }
    return 0;
}

static heed_status load(const heed_gguf *g, heed_vocab *v)
{
    heed_status st;
    heed_gguf_str s;
    if ((st = heed_gguf_get_str(g, "tokenizer.ggml.model", &s)))
        return st;
    snprintf(v->model, sizeof v->model, "%.*s", (int)(s.len < 15 ? s.len : 15), s.ptr);
    if (s.len < sizeof v->model && !strcmp(v->model, "llama")) {
        v->kind = HEED_VOCAB_SPM;
        v->bos = 1, v->eos = 2, v->unk = 0, v->sep = -1, v->pad = -1, v->mask = -1;
        v->add_space_prefix = true, v->add_bos = true;
    } else if (s.len < sizeof v->model && !strcmp(v->model, "gpt2")) {
        v->kind = HEED_VOCAB_BPE;
        v->bos = 11, v->eos = 11, v->unk = -1, v->sep = -1, v->pad = -1, v->mask = -1;
        v->clean_spaces = true;
    } else if (s.len < sizeof v->model && !strcmp(v->model, "bert")) {
        v->kind = HEED_VOCAB_WPM;
        v->bos = 101, v->eos = -1, v->unk = 100, v->sep = 102, v->pad = 0, v->mask = 103;
        v->clean_spaces = true, v->add_bos = true;
    } else if (s.len < sizeof v->model && !strcmp(v->model, "t5")) {
        v->kind = HEED_VOCAB_UGM; /* no space prefix unless the key says so */
        v->bos = -1, v->eos = 1, v->unk = 2, v->sep = -1, v->pad = 0, v->mask = -1;
        v->add_eos = true;
    } else {
        return heed_fail(HEED_ERR_UNSUPPORTED,
                         "tokenizer.ggml.model: unsupported tokenizer '%.*s' "
                         "(heed knows llama, gpt2, bert, t5)", (int)(s.len > 64 ? 64 : s.len), s.ptr);
    }
    v->eot = v->eom = -1;

    if (v->kind == HEED_VOCAB_BPE) {
        /* llama.cpp uses "default" (with a loud warning) when the key is absent */
        if (heed_gguf_get(g, "tokenizer.ggml.pre")) {
            if ((st = heed_gguf_get_str(g, "tokenizer.ggml.pre", &s)))
                return st;
            if (s.len >= sizeof v->pre || memchr(s.ptr, 0, s.len))
                return heed_fail(HEED_ERR_UNSUPPORTED,
                                 "tokenizer.ggml.pre: unknown pre-tokenizer '%.*s'",
                                 (int)(s.len > 64 ? 64 : s.len), s.ptr);
            memcpy(v->pre, s.ptr, s.len);
        }
        heed_pretok_info info;
        if ((st = heed_pretok_new(v->pre, &v->pretok, &info)))
            return st;
        v->ignore_merges = info.ignore_merges;
        v->add_bos = info.add_bos;
        v->clean_spaces = info.clean_spaces;
        if (info.no_bos)
            v->bos = -1;
    }
    if ((st = opt_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix)))
        return st;

    const heed_gguf_value *tokens, *scores = NULL, *types = NULL;
    if ((st = heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &tokens)))
        return st;
    uint64_t n = tokens->v.arr.n;
    if (n == 0 || n > INT32_MAX)
        return heed_fail(HEED_ERR_FORMAT, "tokenizer.ggml.tokens: %llu tokens (expected 1 .. %d)",
                         (unsigned long long)n, INT32_MAX);
    if (heed_gguf_get(g, "tokenizer.ggml.scores")) {
        if ((st = heed_gguf_get_arr(g, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, &scores)))
            return st;
        if (scores->v.arr.n != n)
            return heed_fail(HEED_ERR_FORMAT, "tokenizer.ggml.scores: %llu scores for %llu tokens",
                             (unsigned long long)scores->v.arr.n, (unsigned long long)n);
    }
    if (heed_gguf_get(g, "tokenizer.ggml.token_type")) {
        if ((st = heed_gguf_get_arr(g, "tokenizer.ggml.token_type", HEED_GGUF_INT32, &types)))
            return st;
        if (types->v.arr.n != n)
            return heed_fail(HEED_ERR_FORMAT,
                             "tokenizer.ggml.token_type: %llu types for %llu tokens",
                             (unsigned long long)types->v.arr.n, (unsigned long long)n);
    }
    v->n_tokens = (int32_t)n;
    size_t bytes = 0;
    for (uint64_t i = 0; i < n; i++)
        bytes += (tokens->v.arr.strs[i].len ? tokens->v.arr.strs[i].len : 24) + 1;
    v->tokens = calloc(n, sizeof *v->tokens);
    v->texts = malloc(bytes);
    v->eog = calloc(n, 1);
    if (!v->tokens || !v->texts || !v->eog)
        return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory for %llu tokens",
                         (unsigned long long)n);
    if ((st = heed_strmap_init(&v->text_to_id, n)))
        return st;
    char *p = v->texts;
    for (uint64_t i = 0; i < n; i++) {
        heed_token *t = &v->tokens[i];
        const heed_gguf_str *ts = &tokens->v.arr.strs[i];
        if (ts->len) {
            memcpy(p, ts->ptr, ts->len);
            t->len = (uint32_t)ts->len;
        } else { /* llama.cpp names empty tokens so they stay distinct */
            t->len = (uint32_t)sprintf(p, "[EMPTY_%llu]", (unsigned long long)i);
        }
        t->text = p;
        p[t->len] = 0;
        p += t->len + 1;
        if ((int)t->len > v->max_token_len)
            v->max_token_len = (int)t->len;
        if ((st = heed_strmap_put(&v->text_to_id, t->text, t->len, (int32_t)i, true)))
            return st;
        if (scores) {
            heed_gguf_value e = heed_gguf_arr_get(scores, i);
            t->score = (float)e.v.f;
        }
        t->attr = HEED_TOK_NORMAL;
        if (types) {
            static const uint32_t attr_of_type[7] = {0, HEED_TOK_NORMAL, HEED_TOK_UNKNOWN,
                                                     HEED_TOK_CONTROL, HEED_TOK_USER_DEFINED,
                                                     HEED_TOK_UNUSED, HEED_TOK_BYTE};
            int64_t ty = heed_gguf_arr_get(types, i).v.i;
            t->attr = ty >= 0 && ty < 7 ? attr_of_type[ty] : 0;
        }
    }

    if (v->kind == HEED_VOCAB_BPE) {
        const heed_gguf_value *merges;
        if ((st = heed_gguf_get_arr(g, "tokenizer.ggml.merges", HEED_GGUF_STRING, &merges)))
            return st;
        if ((st = heed_strmap_init(&v->merges, merges->v.arr.n)))
            return st;
        size_t cap = 256;
        char *key = malloc(cap);
        for (uint64_t i = 0; key && i < merges->v.arr.n && i < INT32_MAX; i++) {
            const heed_gguf_str *m = &merges->v.arr.strs[i];
            /* "left right", split at the first space after the first byte;
             * a merge without one is ("", "") as in llama.cpp */
            const char *sp = m->len > 1 ? memchr(m->ptr + 1, ' ', m->len - 1) : NULL;
            uint32_t ll = sp ? (uint32_t)(sp - m->ptr) : 0;
            size_t rl = sp ? m->len - ll - 1 : 0;
            if (4 + ll + rl > cap) {
                cap = 4 + ll + rl;
                char *k2 = realloc(key, cap);
                if (!k2)
                    break;
                key = k2;
            }
            memcpy(key, &ll, 4);
            if (sp) {
                memcpy(key + 4, m->ptr, ll);
                memcpy(key + 4 + ll, sp + 1, rl);
            }
            if ((st = heed_strmap_put(&v->merges, key, 4 + ll + rl, (int32_t)i, false))) {
                free(key);
                return st;
            }
        }
        if (!key)
            return heed_fail(HEED_ERR_NOMEM, "tokenizer.ggml.merges: out of memory");
        free(key);
        for (int b = 0; b < 256; b++)
            v->byte_utf8_len[b] =
                (unsigned char)heed_utf8_encode(heed_byte_to_cpt((unsigned char)b), v->byte_utf8[b]);
    }

    static const struct { const char *key; size_t off; } ids[] = {
        {"tokenizer.ggml.bos_token_id", offsetof(heed_vocab, bos)},
        {"tokenizer.ggml.eos_token_id", offsetof(heed_vocab, eos)},
        {"tokenizer.ggml.eot_token_id", offsetof(heed_vocab, eot)},
        {"tokenizer.ggml.eom_token_id", offsetof(heed_vocab, eom)},
        {"tokenizer.ggml.unknown_token_id", offsetof(heed_vocab, unk)},
        {"tokenizer.ggml.seperator_token_id", offsetof(heed_vocab, sep)},
        {"tokenizer.ggml.padding_token_id", offsetof(heed_vocab, pad)},
        {"tokenizer.ggml.mask_token_id", offsetof(heed_vocab, mask)},
    };
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if ((st = opt_id(g, ids[i].key, v->n_tokens, (int32_t *)((char *)v + ids[i].off))))
            return st;
    /* llama.cpp's default ids can lie outside a small vocabulary: none then */
    int32_t *defaults[] = {&v->bos, &v->eos, &v->unk, &v->sep, &v->pad, &v->mask};
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
        if (*defaults[i] >= v->n_tokens)
            *defaults[i] = -1;
    if ((st = opt_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos)) ||
        (st = opt_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos)))
        return st;

    static const char *const eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>",
        "<end_of_turn>", "<|endoftext|>", "<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", NULL};
    static const char *const eom_texts[] = {"<|eom_id|>", NULL};
    static const char *const fim_texts[6][5] = {
        {"<|fim_prefix|>", "<fim-prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>", NULL},
        {"<|fim_suffix|>", "<fim-suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>", NULL},
        {"<|fim_middle|>", "<fim-middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>", NULL},
        {"<|fim_pad|>", "<fim-pad>", "<PAD>", NULL},
        {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", NULL},
        {"<|file_sep|>", NULL},
    };
    int32_t fim[6];
    static const char *const fim_keys[6] = {
        "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id",
        "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.fim_pad_token_id",
        "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id"};
    static const char *const fim_old_keys[3] = {"tokenizer.ggml.prefix_token_id",
        "tokenizer.ggml.suffix_token_id", "tokenizer.ggml.middle_token_id"};
    for (int i = 0; i < 6; i++) {
        fim[i] = -1;
        if ((st = opt_id(g, fim_keys[i], v->n_tokens, &fim[i])))
            return st;
        if (i < 3 && (st = opt_id(g, fim_old_keys[i], v->n_tokens, &fim[i])))
            return st;
    }
    autodetect(v, &v->eot, eot_texts);
    autodetect(v, &v->eom, eom_texts);
    for (int i = 0; i < 6; i++)
        autodetect(v, &fim[i], fim_texts[i]);
    for (int i = 3; i < 6; i++)
        if (fim[i] >= 0)
            v->eog[fim[i]] = 1;
    for (int i = 0; eog_texts[i]; i++) {
        int32_t t = id_of(v, eog_texts[i]);
        if (t >= 0) {
            v->eog[t] = 1;
            v->tokens[t].attr |= HEED_TOK_CONTROL;
        }
    }
    if (v->eos >= 0)
        v->eog[v->eos] = 1;
    if (v->eot >= 0)
        v->eog[v->eot] = 1;
    if (v->eom >= 0)
        v->eog[v->eom] = 1;
    harmony(v);

    /* tokens matched in text before the tokenizer runs, longest first */
    v->specials = malloc((size_t)n * sizeof *v->specials);
    if (!v->specials)
        return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].attr & (HEED_TOK_CONTROL | HEED_TOK_USER_DEFINED | HEED_TOK_UNKNOWN))
            v->specials[v->n_specials++] = i;
    qsort_r(v->specials, (size_t)v->n_specials, sizeof *v->specials, cmp_special, v);

    /* the piece cache (before the strip attributes, as in llama.cpp); a
     * byte-level token whose characters are not bytes decodes to llama.cpp's
     * [UNK_BYTE_...] marker, which repeats the token: the bound below */
    size_t cap = 1 << 16, at = 0;
    char *scratch = NULL;
    size_t scratch_cap = 0;
    if (!(v->pieces = malloc(cap)))
        return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++) {
        size_t len = v->tokens[i].len;
        size_t bound = v->kind == HEED_VOCAB_BPE ? 16 + len * (len + 24) : 16 + len;
        if (bound > (1u << 24)) {
            free(scratch);
            return heed_fail(HEED_ERR_FORMAT, "tokenizer.ggml.tokens: token %d is too long "
                             "(%zu bytes) to decode", i, len);
        }
        if (bound > scratch_cap) {
            free(scratch);
            scratch_cap = bound * 2;
            if (!(scratch = malloc(scratch_cap)))
                return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory");
        }
        size_t k = make_piece(v, i, scratch);
        if (at + k > cap) {
            while (at + k > cap)
                cap *= 2;
            char *np = realloc(v->pieces, cap);
            if (!np) {
                free(scratch);
                return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory");
            }
            v->pieces = np;
        }
        memcpy(v->pieces + at, scratch, k);
        v->tokens[i].piece = (const char *)(uintptr_t)at; /* an offset until the arena settles */
        v->tokens[i].piece_len = (uint32_t)k;
        at += k;
    }
    free(scratch);
    for (int32_t i = 0; i < v->n_tokens; i++)
        v->tokens[i].piece = v->pieces + (uintptr_t)v->tokens[i].piece;

    /* per-model token attributes llama.cpp sets by name */
    char name[256] = "";
    if (heed_gguf_get_str(g, "general.name", &s) == HEED_OK) {
        snprintf(name, sizeof name, "%.*s", (int)(s.len > 255 ? 255 : s.len), s.ptr);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    heed_clear_error();
    if (strstr(v->pre, "jina-v2-de") || strstr(v->pre, "jina-v2-es") ||
        strstr(v->pre, "jina-v2-code")) {
        int32_t t = id_of(v, "<mask>");
        if (t >= 0)
            v->tokens[t].attr |= HEED_TOK_LSTRIP;
    } else if (strstr(name, "phi-3") || strstr(name, "phi3")) {
        for (int32_t i = 0; i < v->n_specials; i++)
            v->tokens[v->specials[i]].attr |= HEED_TOK_RSTRIP;
        int32_t t = id_of(v, "</s>");
        if (t >= 0)
            v->tokens[t].attr |= HEED_TOK_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (int i = 0; i < 3; i++)
            if ((t = id_of(v, keep[i])) >= 0)
                v->tokens[t].attr &= ~(uint32_t)HEED_TOK_RSTRIP;
    }
    if (v->kind == HEED_VOCAB_UGM) /* its tables see the final attributes */
        return heed_ugm_new(g, v, &v->ugm);
    return HEED_OK;
}

heed_status heed_vocab_load(const heed_gguf *g, heed_vocab **out)
{
    *out = NULL;
    heed_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return heed_fail(HEED_ERR_NOMEM, "vocabulary: out of memory");
    heed_status st = load(g, v);
    if (st) {
        heed_vocab_free(v);
        return heed_fail_prefix(st, "%s", heed_gguf_path(g));
    }
    *out = v;
    return HEED_OK;
}

heed_status heed_vocab_load_file(const char *path, heed_vocab **out)
{
    heed_gguf *g;
    *out = NULL;
    heed_status st = heed_gguf_open(path, &g);
    if (st)
        return st;
    st = heed_vocab_load(g, out);
    heed_gguf_close(g);
    return st;
}

int32_t heed_vocab_n_tokens(const heed_vocab *v) { return v->n_tokens; }
const char *heed_vocab_model(const heed_vocab *v) { return v->model; }
const char *heed_vocab_pre(const heed_vocab *v) { return v->pre; }
int32_t heed_vocab_bos(const heed_vocab *v) { return v->bos; }
int32_t heed_vocab_eos(const heed_vocab *v) { return v->eos; }
int32_t heed_vocab_eot(const heed_vocab *v) { return v->eot; }
int32_t heed_vocab_unk(const heed_vocab *v) { return v->unk; }
int32_t heed_vocab_sep(const heed_vocab *v) { return v->sep; }
int32_t heed_vocab_pad(const heed_vocab *v) { return v->pad; }
bool heed_vocab_add_bos(const heed_vocab *v) { return v->add_bos; }
bool heed_vocab_add_eos(const heed_vocab *v) { return v->add_eos; }

bool heed_vocab_is_eog(const heed_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n_tokens && v->eog[id];
}

bool heed_vocab_is_control(const heed_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n_tokens &&
           (v->tokens[id].attr & (HEED_TOK_CONTROL | HEED_TOK_UNKNOWN));
}

const char *heed_vocab_token_text(const heed_vocab *v, int32_t id, size_t *len)
{
    if (id < 0 || id >= v->n_tokens)
        return NULL;
    *len = v->tokens[id].len;
    return v->tokens[id].text;
}

int32_t heed_vocab_token_id(const heed_vocab *v, const char *text, size_t len)
{
    return heed_strmap_get(&v->text_to_id, text, len);
}

int32_t heed_bpe_rank(const heed_vocab *v, const char *l, size_t ll, const char *r, size_t rl)
{
    char stack[256], *key = 4 + ll + rl <= sizeof stack ? stack : malloc(4 + ll + rl);
    if (!key)
        return -1;
    uint32_t l32 = (uint32_t)ll;
    memcpy(key, &l32, 4);
    memcpy(key + 4, l, ll);
    memcpy(key + 4 + ll, r, rl);
    int32_t rank = heed_strmap_get(&v->merges, key, 4 + ll + rl);
    if (key != stack)
        free(key);
    return rank;
}
